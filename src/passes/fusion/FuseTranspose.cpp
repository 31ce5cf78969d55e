#include "onnxpress/passes/fusion/FuseTranspose.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "onnxpress/analysis/ShapeInference.h"
#include "onnxpress/ir/GraphUtil.h"
#include "onnxpress/passes/fusion/FusionUtil.h"

namespace onnxpress {
namespace {
using namespace fusion;

using Permutation = std::vector<int64_t>;

bool isPermutation(const Permutation& p) {
  std::vector<bool> seen(p.size(), false);
  for (int64_t axis : p) {
    if (axis < 0 || axis >= static_cast<int64_t>(p.size()) || seen[axis]) return false;
    seen[axis] = true;
  }
  return true;
}

bool isIdentity(const Permutation& p) {
  for (size_t i = 0; i < p.size(); ++i)
    if (p[i] != static_cast<int64_t>(i)) return false;
  return true;
}

// The node's perm, or reversed dims when it is absent and the rank is known.
std::optional<Permutation> permutationOf(const Node* transpose, std::optional<int64_t> rank) {
  if (const Attribute* perm = transpose->attribute("perm")) {
    if (!isPermutation(perm->ints)) return std::nullopt;
    return perm->ints;
  }
  if (!rank) rank = knownRank(transpose->input(0));
  if (!rank) return std::nullopt;
  Permutation reversed(static_cast<size_t>(*rank));
  std::iota(reversed.rbegin(), reversed.rend(), 0);
  return reversed;
}

int64_t foldIntoGemm(Node* gemm) {
  if (!isOp(gemm, "Gemm")) return 0;
  int64_t folded = 0;
  for (size_t operand = 0; operand < 2; ++operand) {
    Node* transpose = producerOp(gemm->input(operand), "Transpose");
    // Gemm operands have rank 2, so an absent perm is [1, 0] too.
    if (!transpose || !transpose->input(0)) continue;
    if (const Attribute* perm = transpose->attribute("perm"); perm && perm->ints != Permutation{1, 0}) continue;
    const std::string flag = operand == 0 ? "transA" : "transB";
    gemm->setInput(operand, transpose->input(0));
    gemm->setAttribute(Attribute::makeInt(flag, gemm->intAttr(flag, 0) != 0 ? 0 : 1));
    eraseIfDead({transpose});
    ++folded;
  }
  return folded;
}

// x ─ T(p1) ─ T(p2): rewires the second onto x with the composed perm, or forwards x.
enum class PairOutcome { None, Merged, Cancelled };
PairOutcome mergePair(Node* second) {
  Node* first = producerOp(second->input(0), "Transpose");
  if (!first || !first->input(0)) return PairOutcome::None;
  Value* x = first->input(0);
  // Either perm may be implicit; the other one's length is then the rank.
  auto length = [](const std::optional<Permutation>& p) {
    return p ? std::optional<int64_t>(static_cast<int64_t>(p->size())) : std::nullopt;
  };
  std::optional<Permutation> p1 = permutationOf(first, std::nullopt);
  std::optional<Permutation> p2 = permutationOf(second, length(p1));
  if (!p1 && p2) p1 = permutationOf(first, length(p2));
  if (!p1 || !p2 || p1->size() != p2->size()) return PairOutcome::None;
  Permutation composed(p1->size());
  for (size_t i = 0; i < composed.size(); ++i) composed[i] = (*p1)[(*p2)[i]];
  if (isIdentity(composed) && replaceKeepingInterface(second->output(0), x)) {
    eraseIfDead({first});
    return PairOutcome::Cancelled;
  }
  second->setInput(0, x);
  second->setAttribute(Attribute::makeInts("perm", composed));
  eraseIfDead({first});
  return PairOutcome::Merged;
}

bool dropIdentity(Node* transpose) {
  std::optional<Permutation> p = permutationOf(transpose, std::nullopt);
  Value* out = transpose->output(0);
  return p && isIdentity(*p) && replaceKeepingInterface(out, transpose->input(0));
}

// Every reader is a Gemm operand A or B that foldIntoGemm() will absorb this into.
bool gemmWillAbsorb(const Node* transpose) {
  const Attribute* perm = transpose->attribute("perm");
  if (perm && perm->ints != Permutation{1, 0}) return false;
  const Value* out = transpose->output(0);
  if (!out->hasUses()) return false;
  return std::all_of(out->uses().begin(), out->uses().end(), [&](const Use& u) {
    return u.node && u.node->graph() == out->graph() && isOp(u.node, "Gemm") && u.index < 2;
  });
}

std::optional<Tensor> transposed(const Tensor& in, const Permutation& perm) {
  const int bits = dataTypeBits(in.dtype());
  if (bits == 0 || bits % 8 != 0 || perm.size() != in.dims().size()) return std::nullopt;
  const size_t elemBytes = static_cast<size_t>(bits / 8);
  const size_t rank = perm.size();
  std::vector<int64_t> outDims(rank), inStrides(rank, 1);
  for (size_t i = rank; i-- > 1;) inStrides[i - 1] = inStrides[i] * in.dims()[i];
  for (size_t i = 0; i < rank; ++i) outDims[i] = in.dims()[perm[i]];
  Tensor out(in.dtype(), outDims);
  std::span<const uint8_t> src = in.bytes();
  std::span<uint8_t> dst = out.mutableBytes();
  if (src.size() < dst.size()) return std::nullopt;
  // Walk the output in order with a counter over its dims, tracking the source offset.
  std::vector<int64_t> index(rank, 0);
  int64_t source = 0;
  const int64_t count = elementCount(outDims);
  for (int64_t e = 0; e < count; ++e) {
    std::memcpy(dst.data() + e * elemBytes, src.data() + source * elemBytes, elemBytes);
    for (size_t k = rank; k-- > 0;) {
      source += inStrides[perm[k]];
      if (++index[k] < outDims[k]) break;
      source -= inStrides[perm[k]] * outDims[k];
      index[k] = 0;
    }
  }
  return out;
}

bool foldIntoConstant(Node* transpose) {
  Value* in = transpose->input(0);
  if (!isConstant(in) || gemmWillAbsorb(transpose)) return false;
  std::optional<Tensor> value = constantValue(in);
  if (!value) return false;
  std::optional<Permutation> perm = permutationOf(transpose, static_cast<int64_t>(value->dims().size()));
  std::optional<Tensor> folded = perm ? transposed(*value, *perm) : std::nullopt;
  if (!folded) return false;
  Value* out = transpose->output(0);
  Graph& g = *transpose->graph();
  Value* constant = addInitializer(g, out->name(), std::move(*folded));
  if (!replaceKeepingInterface(out, constant)) {
    g.removeInitializer(constant);
    return false;
  }
  releaseIfUnused({in});
  return true;
}

}  // namespace

Expected<PassResult> FuseTransposePass::run(Model& model, PassContext&) {
  PassResult result;
  (void)inferShapes(model);  // ranks for Transposes without perm
  forEachFusionSweep(model, [&](Node* n) {
    if (int64_t folded = foldIntoGemm(n)) {
      result.bump("Transposes folded into Gemm", folded);
      return true;
    }
    if (!isOp(n, "Transpose") || !n->input(0)) return false;
    switch (mergePair(n)) {
      case PairOutcome::Merged: result.bump("Transpose pairs merged"); return true;
      case PairOutcome::Cancelled: result.bump("Transposes cancelled"); return true;
      case PairOutcome::None: break;
    }
    if (dropIdentity(n)) {
      result.bump("Transposes cancelled");
      return true;
    }
    if (foldIntoConstant(n)) {
      result.bump("Transposes folded into constants");
      return true;
    }
    return false;
  });
  return result;
}

}  // namespace onnxpress
