// swap-activation: replace one activation function by a cheaper approximation.
//
// Before:                                  After:
//   x ─ Sigmoid ─ y                          x ─ HardSigmoid(alpha=1/6, beta=0.5) ─ y
//   x ─ Sigmoid ─ s ─ Mul(x, s) ─ y          x ─ HardSwish ─ y
//   x ─ Div(√2) ─ Erf ─ Add(1) ─ Mul(x) ─ Mul(0.5) ─ y
//                                            x ─ Gelu(approximate="tanh") ─ y        (opset >= 20)
//                                            x ─ 0.5·x·(1 + Tanh(√(2/π)·(x + 0.044715·x³))) ─ y
//                                                from Mul/Add/Tanh                   (opset < 20)
//
// The table (from -> to: what is emitted; max |f(x) - g(x)| over all x):
//   Sigmoid    -> HardSigmoid: HardSigmoid(alpha=1/6, beta=0.5), torch's hardsigmoid; 0.0692
//   Swish|SiLU -> HardSwish:   the pattern x*Sigmoid(x) (either operand order) becomes
//                              HardSwish(x) = x*clip(x/6+0.5, 0, 1); needs opset 14; 0.1423
//   Gelu       -> GeluTanh:    Gelu(approximate="none") gets approximate="tanh"; the erf
//                              subgraph x*0.5*(1+Erf(x/√2)) (Div by √2 or Mul by 1/√2, the
//                              0.5 applied first, last or to the sum) becomes the tanh
//                              form, as one Gelu at opset >= 20, else from primitives; 4.74e-4
//   Tanh       -> HardTanh:    Clip(x, -1, 1) (attributes before opset 11, inputs after); 0.2384
//   LeakyRelu  -> Relu:        unbounded (alpha*|x| for x < 0)
//   Elu        -> Relu:        alpha (for x < 0)
//   Relu6      -> Relu:        Clip(x, 0, 6) becomes Relu; unbounded (x - 6 for x > 6)
// Names match case-insensitively, ignoring '-' and '_'; an empty `to` takes the table's.
//
// Preconditions: the model imports an opset where the emitted op exists (else a
// usage error naming op and opset). Pattern intermediates must have no other
// readers (a Sigmoid also read elsewhere stays for those readers). Nodes inside
// If/Loop/Scan bodies are swapped too. Graph input/output names and shapes stay.
//
// Math: the emitted functions are the closed forms above; constants are stored in the
// activation's element type.
#pragma once

#include <string>

#include "onnxpress/pass/Pass.h"

namespace onnxpress {

struct SwapActivationOptions {
  std::string from;
  std::string to;

  template <class V>
  void visitOptions(V& v) {
    v("from", from, "activation to replace: Sigmoid, Swish (SiLU), Gelu, Tanh, LeakyRelu, Elu or Relu6");
    v("to", to, "its approximation (HardSigmoid, HardSwish, GeluTanh, HardTanh, Relu); empty: the table's");
  }
  Status validate() const;
};

class SwapActivationPass final : public PassBase<SwapActivationPass, SwapActivationOptions> {
 public:
  static constexpr std::string_view kName = "swap-activation";
  using PassBase::PassBase;
  Expected<PassResult> run(Model& model, PassContext& context) override;
};

}  // namespace onnxpress
