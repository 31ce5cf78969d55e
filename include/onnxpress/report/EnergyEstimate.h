// EnergyEstimate: a first-order estimate of the energy of one inference, from
// operation counts and bytes moved. It is an ESTIMATE, never a measurement, and
// every place that shows it says so.
//
// Per-operation energies are Horowitz, "Computing's Energy Problem (and what we
// can do about it)", ISSCC 2014, 45 nm CMOS at 0.9 V; the 32-bit SRAM and DRAM
// read energies are the 32-bit figures Han et al. ("Learning both Weights and
// Connections for Efficient Neural Networks", NeurIPS 2015, Fig. 1) derive from it:
//
//   op (pJ)      add    mult          memory, per 32-bit read (pJ)
//   fp32         0.9    3.7           SRAM (8 KB)    5
//   fp16         0.4    1.1           DRAM         640
//   int32        0.1    3.1
//   int8         0.03   0.2
//
// The model:
//
//   energy = sum over nodes  MACs(node) * (mult + add)[class of the node's weights]
//          + weight_bytes     * DRAM_read / 4       (every parameter read once from DRAM)
//          + activation_bytes * SRAM_read / 4       (each node's activation inputs read
//                                                    and outputs written once, at SRAM cost)
//
// Assumptions (see docs/report.md):
// - A MAC is one multiply and one add in the class of the node's weights: the dtype of
//   its largest constant input, or, when a weight goes through DequantizeLinear (QDQ
//   form), of the quantized constant behind it. A node without constant inputs uses
//   its first input's dtype. float32/float64 count as fp32, float16/bfloat16 as fp16,
//   8- and 4-bit integers as int8, other integers as int32.
// - Weights (every constant tensor, as in `inspect`) are fetched once per inference
//   from DRAM; nothing stays cached between inferences.
// - Activations live in on-chip SRAM; writes cost the same as reads. A DequantizeLinear
//   of a constant is part of its weight and moves no activations.
// - Ops without MACs (Relu, pooling, elementwise) cost only their data movement.
// - Nodes whose shapes are not static add no activation bytes and no MACs; they are
//   counted in unknownNodes and the estimate is then a lower bound.
// - Control, caches beyond one level, leakage and the host are ignored.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "onnxpress/ir/Model.h"

namespace onnxpress {

/// Arithmetic classes of the energy table.
enum class MacClass { Fp32 = 0, Fp16 = 1, Int32 = 2, Int8 = 3 };
constexpr size_t kMacClasses = 4;

struct OperationEnergy {
  double addPj, multPj;
};

/// Horowitz ISSCC 2014, 45 nm, indexed by MacClass.
constexpr std::array<OperationEnergy, kMacClasses> kOperationEnergy = {{
    {0.9, 3.7},   // fp32
    {0.4, 1.1},   // fp16
    {0.1, 3.1},   // int32
    {0.03, 0.2},  // int8
}};
constexpr double kSramRead32Pj = 5.0;    // 32-bit read, 8 KB SRAM
constexpr double kDramRead32Pj = 640.0;  // 32-bit read, DRAM
constexpr std::string_view kEnergySource = "Horowitz, ISSCC 2014, 45 nm";

std::string_view macClassName(MacClass c);  // "fp32", "fp16", "int32", "int8"

/// What the estimate is computed from.
struct EnergyCounts {
  std::array<int64_t, kMacClasses> macs{};  // indexed by MacClass
  int64_t weightBytes = 0;
  int64_t activationBytes = 0;  // read + written
  int64_t unknownNodes = 0;     // nodes whose shapes were not static (estimate is a lower bound)
};

struct EnergyEstimate {
  EnergyCounts counts;
  double computePj = 0;     // MACs * (mult + add)
  double weightPj = 0;      // weight bytes from DRAM
  double activationPj = 0;  // activation bytes at SRAM cost
  double totalPj() const { return computePj + weightPj + activationPj; }
  int64_t totalMacs() const;
};

/// Applies the formula above to `counts`.
EnergyEstimate estimateEnergy(const EnergyCounts& counts);

/// Counts MACs by class, weight bytes and activation bytes of `model` (run
/// inferShapes() first so that activation shapes are known).
EnergyCounts countEnergyEvents(const Model& model);

/// Both steps: the estimate for one inference of `model`.
inline EnergyEstimate estimateEnergy(const Model& model) { return estimateEnergy(countEnergyEvents(model)); }

}  // namespace onnxpress
