// Selection and conversion kernels: Where (broadcast over three inputs), Cast
// and CastLike (every numeric type, bool, float16/bfloat16, and strings).
#include "ElementwiseCommon.h"
#include <fmt/format.h>

namespace onnxpress::runtime {
namespace {
using namespace elementwise;

// ---- Where -------------------------------------------------------------------------------

// Where copies elements, so it dispatches on element size only.
template <typename S>
void whereTyped(const TensorData& c, const TensorData& x, const TensorData& y, TensorData& out, int threads) {
  const bool* pc = c.data<bool>();
  const S* px = x.data<S>();
  const S* py = y.data<S>();
  S* po = out.data<S>();
  if (c.shape() == out.shape() && x.shape() == out.shape() && y.shape() == out.shape()) {
    parallelFor(out.numElements(), threads, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) po[i] = pc[i] ? px[i] : py[i];
    });
    return;
  }
  broadcastRows<3>(out.shape(), {&c.shape(), &x.shape(), &y.shape()}, threads,
                   [&](int64_t o, const std::array<int64_t, 3>& off, const std::array<int64_t, 3>& st, int64_t n) {
                     for (int64_t j = 0; j < n; ++j)
                       po[o + j] = pc[off[0] + j * st[0]] ? px[off[1] + j * st[1]] : py[off[2] + j * st[2]];
                   });
}

Expected<KernelFn> makeWhere(const KernelBuildContext&) {
  return KernelFn([](KernelContext& ctx) -> Status {
    const TensorData& c = ctx.input(0);
    const TensorData& x = ctx.input(1);
    const TensorData& y = ctx.input(2);
    if (c.dtype() != DataType::Bool) return kernelError(ctx, "condition must be bool");
    if (x.dtype() != y.dtype())
      return kernelError(ctx, "X and Y types differ: {} and {}", dataTypeName(x.dtype()), dataTypeName(y.dtype()));
    ASSIGN_OR_RETURN(Shape s1, broadcastShapes(c.shape(), x.shape(), ctx.where()));
    ASSIGN_OR_RETURN(Shape shape, broadcastShapes(s1, y.shape(), ctx.where()));
    TensorData out = TensorData::allocate(x.dtype(), shape);
    if (x.dtype() == DataType::String) {
      const bool* pc = c.data<bool>();
      const auto& sx = *x.strings;
      const auto& sy = *y.strings;
      auto& so = *out.strings;
      broadcastRows<3>(shape, {&c.shape(), &x.shape(), &y.shape()}, ctx.threads,
                       [&](int64_t o, const std::array<int64_t, 3>& off, const std::array<int64_t, 3>& st, int64_t n) {
                         for (int64_t j = 0; j < n; ++j)
                           so[static_cast<size_t>(o + j)] = pc[off[0] + j * st[0]]
                                                                ? sx[static_cast<size_t>(off[1] + j * st[1])]
                                                                : sy[static_cast<size_t>(off[2] + j * st[2])];
                       });
    } else {
      switch (dataTypeBits(x.dtype())) {
        case 8: whereTyped<uint8_t>(c, x, y, out, ctx.threads); break;
        case 16: whereTyped<uint16_t>(c, x, y, out, ctx.threads); break;
        case 32: whereTyped<uint32_t>(c, x, y, out, ctx.threads); break;
        case 64: whereTyped<uint64_t>(c, x, y, out, ctx.threads); break;
        default: return unsupportedType(ctx, x.dtype());
      }
    }
    ctx.outputs[0] = std::move(out);
    return Status::ok();
  });
}

// ---- Cast --------------------------------------------------------------------------------

// Number -> string as numpy's str(): shortest round-trip digits, positional for
// 1e-4 <= |x| < 1e16, scientific otherwise.
template <typename T>
std::string numberToString(T v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v ? "True" : "False";
  } else if constexpr (std::is_integral_v<T>) {
    return std::to_string(v);
  } else {
    using C = Calc<T>;
    const C f = static_cast<C>(v);
    if (std::isnan(f)) return "nan";
    if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
    char buf[64];
    std::string sci;
    if constexpr (kHalfLike<T>) {
      // Shortest digits that read back to the same 16-bit value.
      for (int prec = 0; prec <= 9; ++prec) {
        const auto res = std::to_chars(buf, buf + sizeof(buf) - 1, f, std::chars_format::scientific, prec);
        *res.ptr = '\0';
        sci.assign(buf, res.ptr);
        if (static_cast<float>(static_cast<T>(std::strtof(buf, nullptr))) == f) break;
      }
    } else {
      const auto res = std::to_chars(buf, buf + sizeof(buf), f, std::chars_format::scientific);
      sci.assign(buf, res.ptr);
    }
    const double mag = std::fabs(static_cast<double>(f));
    if (mag != 0 && (mag < 1e-4 || mag >= 1e16)) return sci;
    // Split "-d.ddde+XX" into sign, digits and exponent, then print positionally.
    const size_t epos = sci.find('e');
    std::string mant = sci.substr(0, epos);
    const int exp10 = std::atoi(sci.c_str() + epos + 1);
    std::string sign;
    if (!mant.empty() && mant[0] == '-') {
      sign = "-";
      mant.erase(0, 1);
    }
    std::string digits;
    for (char ch : mant)
      if (ch != '.') digits += ch;
    std::string ip, fp;
    if (exp10 >= 0) {
      const size_t n = static_cast<size_t>(exp10) + 1;
      if (digits.size() < n) digits.append(n - digits.size(), '0');
      ip = digits.substr(0, n);
      fp = digits.substr(n);
    } else {
      ip = "0";
      fp.assign(static_cast<size_t>(-exp10 - 1), '0');
      fp += digits;
    }
    if (fp.empty()) fp.push_back('0');
    return fmt::format("{}{}.{}", sign, ip, fp);
  }
}

// String -> number: accepts what strtod accepts (incl. "NaN", "INF", "+INF", "-INF").
template <typename T>
T stringToNumber(const std::string& s) {
  if constexpr (std::is_same_v<T, bool>) {
    if (s == "True" || s == "true") return true;
    if (s == "False" || s == "false") return false;
    return std::strtod(s.c_str(), nullptr) != 0.0;
  } else if constexpr (std::is_same_v<T, float>) {
    return std::strtof(s.c_str(), nullptr);
  } else if constexpr (kFloatLike<T>) {
    return static_cast<T>(std::strtod(s.c_str(), nullptr));
  } else if constexpr (std::is_signed_v<T>) {
    return static_cast<T>(std::strtoll(s.c_str(), nullptr, 10));
  } else {
    return static_cast<T>(std::strtoull(s.c_str(), nullptr, 10));
  }
}

bool castSupported(DataType t) { return t == DataType::String || dispatch<AllTypes>(t, [](auto) {}); }

Status castTensor(KernelContext& ctx, const TensorData& x, DataType to) {
  if (x.dtype() == to) {
    ctx.outputs[0] = x;
    return Status::ok();
  }
  if (!castSupported(x.dtype()) || !castSupported(to))
    return kernelError(ctx, "unsupported cast {} -> {}", dataTypeName(x.dtype()), dataTypeName(to));
  TensorData y = TensorData::allocate(to, x.shape());
  const int64_t n = x.numElements();
  if (x.dtype() == DataType::String) {
    const auto& sx = *x.strings;
    dispatch<AllTypes>(to, [&](auto tag) {
      using To = decltype(tag);
      To* py = y.data<To>();
      for (int64_t i = 0; i < n; ++i) py[i] = stringToNumber<To>(sx[static_cast<size_t>(i)]);
    });
  } else if (to == DataType::String) {
    auto& sy = *y.strings;
    dispatch<AllTypes>(x.dtype(), [&](auto tag) {
      using From = decltype(tag);
      const From* px = x.data<From>();
      for (int64_t i = 0; i < n; ++i) sy[static_cast<size_t>(i)] = numberToString(px[i]);
    });
  } else {
    dispatch<AllTypes>(x.dtype(), [&](auto tf) {
      using From = decltype(tf);
      dispatch<AllTypes>(to, [&](auto tt) {
        using To = decltype(tt);
        const From* px = x.data<From>();
        To* py = y.data<To>();
        parallelFor(n, ctx.threads, [&](int64_t s, int64_t e) {
          for (int64_t i = s; i < e; ++i) py[i] = convertValue<To>(px[i]);
        });
      });
    });
  }
  ctx.outputs[0] = std::move(y);
  return Status::ok();
}

Expected<KernelFn> makeCast(const KernelBuildContext& b) {
  const int64_t to = b.node.intAttr("to", 0);
  if (!isKnownDataType(static_cast<int32_t>(to)) || !castSupported(static_cast<DataType>(to)))
    return buildError(b, "unsupported Cast target type {}", to);
  const DataType dt = static_cast<DataType>(to);
  return KernelFn([dt](KernelContext& ctx) -> Status { return castTensor(ctx, ctx.input(0), dt); });
}
Expected<KernelFn> makeCastLike(const KernelBuildContext&) {
  return KernelFn([](KernelContext& ctx) -> Status { return castTensor(ctx, ctx.input(0), ctx.input(1).dtype()); });
}

}  // namespace

std::vector<KernelEntry> elementwiseKernels() {
  return {
      {"", "Where", makeWhere},
      {"", "Cast", makeCast},
      {"", "CastLike", makeCastLike},
  };
}

}  // namespace onnxpress::runtime
