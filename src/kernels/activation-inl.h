// Activations f, g and their derivatives, per vector and per array. f' and g'
// are evaluated at the pre-activations ĥ and ŷ (DESIGN.md §1), but always
// through the activation's own output a = a(z): tanh'(z) = 1 − a²,
// sigmoid'(z) = a(1 − a), relu'(z) = [a > 0] = [z > 0] (so relu'(0) = 0),
// identity'(z) = 1. The backward pass passes the h = f(ĥ) that the forward
// stored: the same floats this target's f produced from ĥ, so f'(ĥ) comes
// out bit for bit as if re-evaluated, without a second tanh or exp per
// element of the reverse-time loop.
#if defined(ELMAN_SRC_KERNELS_ACTIVATION_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ELMAN_SRC_KERNELS_ACTIVATION_INL_H_
#undef ELMAN_SRC_KERNELS_ACTIVATION_INL_H_
#else
#define ELMAN_SRC_KERNELS_ACTIVATION_INL_H_
#endif

#include <cstddef>
#include <type_traits>

#include "elman/model.h"
#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"
#include "src/kernels/partial-inl.h"

HWY_BEFORE_NAMESPACE();
namespace elman::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <Activation kActivation>
using ActivationTag = std::integral_constant<Activation, kActivation>;

/// Calls fn(ActivationTag<a>{}) so that one runtime switch, outside any loop,
/// selects a loop specialised for the activation.
template <class Fn>
HWY_INLINE void WithActivation(Activation activation, Fn&& fn) {
  switch (activation) {
    case Activation::kTanh:
      return fn(ActivationTag<Activation::kTanh>{});
    case Activation::kSigmoid:
      return fn(ActivationTag<Activation::kSigmoid>{});
    case Activation::kRelu:
      return fn(ActivationTag<Activation::kRelu>{});
    case Activation::kIdentity:
      return fn(ActivationTag<Activation::kIdentity>{});
  }
}

/// 1 / (1 + e^−z), and 0 where that is below FLT_MIN = 2^−126
/// (z < −ln 2^126 = −87.34): no subnormal is ever formed, neither h(t), which
/// every product with U would read for as long as the unit stays
/// saturated, nor the quotient itself. On Zen 5 a divide with a subnormal
/// result alone made a Stream::Step at H = 32 take 1.4× as long
/// (elman_bench_long_run, regime "sigmoid tiny"); cores that take microcode
/// assists for subnormals lose more. So e^−z is capped at e^87, whose
/// quotient 1.6·10⁻³⁸ is normal, and the masked lanes are set to 0: both
/// move the result by less than 2^−126, the absolute error the activation
/// is tested to anyway.
template <class D, class V>
HWY_INLINE V Sigmoid(D d, V z) {
  const V one = hn::Set(d, 1.0f);
  const V exp_minus_z = hn::Exp(d, hn::Min(hn::Neg(z), hn::Set(d, 87.0f)));
  const V sigmoid = hn::Div(one, hn::Add(one, exp_minus_z));
  return hn::IfThenZeroElse(hn::Lt(z, hn::Set(d, -87.3365f)), sigmoid);
}

/// tanh(z), within 2 ulp (tests/activation_test.cc), with a short
/// dependency chain: on the latency path (B = 1, small H) f sits on the
/// chain h(t−1) → ĥ(t) → h(t). On Zen 5 a chain of dependent calls took
/// 26 ns a call with Highway's hn::Tanh (Expm1, then a divide), 18.5 with
/// this kernel's former form (a series, and 1 − 2/(e^{2a} + 1) built from a
/// range-reduced exponential) and 13 with this one. Two branches, both
/// computed and one kept per lane, a = |z|:
///   a < 1:  a + a·a²·P(a²), P of degree 6 (a minimax fit of
///           (tanh a − a)/a³, 0.08 ulp before rounding). The correction
///           a³·P is at most a third of a, so its rounding errors reach the
///           result damped, and near 0 there is no cancellation.
///   a ≥ 1:  1 − q, q = N(b)/M(b) ≈ 1 − tanh b = 2/(e^{2b} + 1), b =
///           min(a, 9.5), N and M of degree 6 (a minimax fit in absolute
///           error, 0.06 ulp of the result before rounding). q ≤ 0.24
///           there, so its relative rounding errors reach the result at a
///           quarter of their size or less; past b = 9.5, where
///           q < 2^−25, the result rounds to exactly 1.
/// No range reduction and no exponent arithmetic: polynomials in Estrin's
/// scheme (depth two FMAs per doubling of the degree) and one divide. The
/// coefficients come from tools/fit_tanh.py. Measured over every float of
/// [2^−149, 30] with the kernel's operations: 1.50 ulp at most with FMA
/// (at a = 1.034), 1.72 with a separate multiply and add (SSE4). A NaN z
/// fails a ≥ 1 and takes the first branch, whose arithmetic carries it;
/// ±∞ gives ±1; the sign (−0 too) is z's.
template <class D, class V>
HWY_INLINE V LowLatencyTanh(D d, V z) {
  const V a = hn::Abs(z);
  // The powers of b serve both branches: where the series is kept, a < 1
  // and b = a.
  const V b = hn::Min(a, hn::Set(d, 9.5f));
  const V b2 = hn::Mul(b, b);
  const V b4 = hn::Mul(b2, b2);

  const V b8 = hn::Mul(b4, b4);  // a⁸ for the series' last term
  const V p01 =
      hn::MulAdd(hn::Set(d, 0.13332345f), b2, hn::Set(d, -0.33333296f));
  const V p23 =
      hn::MulAdd(hn::Set(d, 0.021486657f), b2, hn::Set(d, -0.0538798f));
  const V p45 =
      hn::MulAdd(hn::Set(d, 0.0023013644f), b2, hn::Set(d, -0.007946107f));
  const V p03 = hn::MulAdd(p23, b4, p01);
  const V p46 = hn::MulAdd(hn::Set(d, -0.00035845194f), b4, p45);
  // a, not b, in the last FMA: a NaN z (which Min may turn into 9.5) comes
  // out NaN.
  const V series = hn::MulAdd(hn::Mul(a, b2), hn::MulAdd(p46, b8, p03), a);

  const V n01 = hn::MulAdd(hn::Set(d, -0.66642547f), b, hn::Set(d, 0.9973342f));
  const V n23 =
      hn::MulAdd(hn::Set(d, -0.02960681f), b, hn::Set(d, 0.19021691f));
  const V n45 =
      hn::MulAdd(hn::Set(d, -0.00012790895f), b, hn::Set(d, 0.002642843f));
  const V n03 = hn::MulAdd(n23, b2, n01);
  const V n46 = hn::MulAdd(hn::Set(d, 2.6147095e-06f), b2, n45);
  const V numerator = hn::MulAdd(n46, b4, n03);
  const V m01 = hn::MulAdd(hn::Set(d, 0.31803983f), b, hn::Set(d, 1.0f));
  const V m23 = hn::MulAdd(hn::Set(d, 0.12912522f), b, hn::Set(d, 0.54753494f));
  const V m45 =
      hn::MulAdd(hn::Set(d, 0.002227564f), b, hn::Set(d, 0.07176472f));
  const V m03 = hn::MulAdd(m23, b2, m01);
  const V m46 = hn::MulAdd(hn::Set(d, 0.0035570597f), b2, m45);
  const V denominator = hn::MulAdd(m46, b4, m03);
  const V saturating =
      hn::Sub(hn::Set(d, 1.0f), hn::Div(numerator, denominator));

  const V magnitude =
      hn::IfThenElse(hn::Ge(a, hn::Set(d, 1.0f)), saturating, series);
  return hn::CopySignToAbs(magnitude, z);
}

#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
/// tanh(z) on AVX-512 from a table of 16 polynomials, one per interval of a =
/// |z|, picked by one permute per coefficient: the chain from z is the index
/// (two float operations and a shift), one permute and three FMAs, with no
/// divide (LowLatencyTanh's two branches and divide were the longest part of a
/// step at B = 1, small H); and 10 multiplies and FMAs a vector where
/// LowLatencyTanh has 22 and a divide, on the FMA ports the steps at H = 64 are
/// short of (the permutes go to the shuffle ports). Intervals: 0 is [0, 1/16),
/// where tanh a = a·(1 + a²·(c3 + a²·c5)); then the halves of each octave from
/// 1/16 to 8, [2^k, 1.5·2^k) and [1.5·2^k, 2^(k+1)), and [8, 12), found from
/// the exponent and first mantissa bit of a (bits >> 22), where tanh a = c0 +
/// t·Q(t), t = a − lo ≥ 0 from the interval's start lo (a's bits with the rest
/// of the mantissa cleared), c0 = tanh(lo) as a float and Q of degree 5
/// (Estrin). The last step adds c0 alone, so that the rounding errors of t·Q
/// reach the result damped; t and c0 carry z's sign into it, off the chain (the
/// sign, −0 too, is z's). a ≥ 12 is taken as 11.999999 (tanh rounds to 1 from
/// 9.5). vpermps reads the low 4 bits of an index only, so bits >> 22 indexes
/// the tables as it is: each interval sits at that number's low 4 bits
/// (interval i at (i + 5) mod 16), and a below 1/16 reads interval 0 from the
/// bits of max(a, 3/64). A chain of dependent calls took 34 cycles a call,
/// against 40 with this kernel's former form (intervals from 1/8, the index
/// shifted and clamped in integers, a seventh coefficient for the first
/// interval) and 43 with LowLatencyTanh (Zen 5). Coefficients:
/// tools/fit_tanh_table.py. Every positive float, 2⁻¹⁴⁹ to +∞, checked against
/// tanh in double: 1.46 ulp at most, at a = 0.06176 (LowLatencyTanh: 1.50 up to
/// 30); tests/activation_test.cc checks 2 on every target. A NaN z stays NaN
/// (x86's min returns its second operand, a, when either is NaN); ±∞ gives ±1.
template <class D, class V>
HWY_INLINE V TableTanh(D d, V z) {
  // One slot a column, four a line; slot 5 is interval 0.
  // clang-format off
  alignas(64) static constexpr float kC0[16] = {
      0.9640276f,      0.9950548f,      0.9993293f,      0.9999877f,
      0.99999976f,     0.0f,            0.062418748f,    0.0934763f,
      0.124353f,       0.1853332f,      0.24491866f,     0.3583574f,
      0.46211717f,     0.63514894f,     0.7615942f,      0.90514827f};
  alignas(64) static constexpr float kC1[16] = {
      0.07065032f,     0.009863829f,    0.0013389613f,   2.4206938e-05f,
      6.803815e-07f,   1.0f,            0.99610174f,     0.9912646f,
      0.98453945f,     0.9656433f,      0.94001657f,     0.87157923f,
      0.7864454f,      0.5965886f,      0.4199719f,      0.18070486f};
  alignas(64) static constexpr float kC2[16] = {
      -0.06810236f,    -0.009788239f,   -0.0013219801f,  -2.2275724e-05f,
      -1.0951458e-06f, 0.0f,            -0.061375212f,   -0.093545906f,
      -0.12300973f,    -0.17741418f,    -0.23038979f,    -0.31226557f,
      -0.36332026f,    -0.37905025f,    -0.31980342f,    -0.16353025f};
  alignas(64) static constexpr float kC3[16] = {
      0.04208126f,     0.0063368003f,   0.0008312203f,   1.1014012e-05f,
      9.4465463e-07f,  -0.333333f,      -0.43724987f,    -0.20093566f,
      -0.27344567f,    -0.39456978f,    -0.25140986f,    -0.18103902f,
      -0.09613599f,    0.043993093f,    0.10330644f,     0.08756869f};
  alignas(64) static constexpr float kC4[16] = {
      -0.017882548f,   -0.0028374696f,  -0.00034426624f, -2.1982355e-06f,
      -4.1618074e-07f, 0.0f,            6.7673173f,      -7.388182f,
      -1.1381958f,     3.3762844f,      0.05425259f,     0.20577972f,
      0.18013915f,     0.08317946f,     0.02835505f,     -0.024378106f};
  alignas(64) static constexpr float kC5[16] = {
      0.0049769604f,   0.0008029712f,   8.543951e-05f,   -2.7601357e-07f,
      8.8372126e-08f,  0.13304038f,     -191.06195f,     211.86713f,
      17.426428f,      -46.2805f,       0.6795486f,      -0.24959049f,
      -0.08590207f,    -0.0070445696f,  -0.046111677f,   -0.0023491478f};
  alignas(64) static constexpr float kC6[16] = {
      -0.0006964596f,  -0.00010334621f, -9.487944e-06f,  1.3506565e-07f,
      -7.173477e-09f,  0.0f,            2038.3356f,      -2257.5183f,
      -92.323715f,     247.16013f,      -1.6899806f,     0.64938474f,
      0.042212304f,    -0.06857127f,    0.017567456f,    0.0038665733f};
  // clang-format on
  const hn::RebindToSigned<D> di;
  const V a = hn::Abs(z);
  const V clamped = hn::Min(hn::Set(d, 11.999999f), a);
  // max(a, 3/64) by one vrangeps from z (the absolute values' maximum, its
  // sign cleared), then clamped: every a below 1/16 has the bits of
  // [3/64, 1/16), whose bits >> 22 end in interval 0's slot.
  const V floored = V{_mm512_range_ps(z.raw, _mm512_set1_ps(0.046875f), 0x0B)};
  const auto index = hn::ShiftRight<22>(
      hn::BitCast(di, hn::Min(hn::Set(d, 11.999999f), floored)));
  const auto first = hn::Lt(a, hn::Set(d, 0.0625f));
  const V lo = hn::IfThenZeroElse(
      first, hn::BitCast(d, hn::And(hn::BitCast(di, clamped),
                                    hn::Set(di, -(1 << 22)))));
  const V t = hn::Sub(clamped, lo);
  auto coefficient = [&](const float* table) HWY_ATTR {
    return V{_mm512_permutexvar_ps(index.raw, _mm512_load_ps(table))};
  };
  const V t2 = hn::Mul(t, t);
  const V t4 = hn::Mul(t2, t2);
  const V p12 = hn::MulAdd(coefficient(kC2), t, coefficient(kC1));
  const V p34 = hn::MulAdd(coefficient(kC4), t, coefficient(kC3));
  const V p56 = hn::MulAdd(coefficient(kC6), t, coefficient(kC5));
  const V q = hn::MulAdd(p56, t4, hn::MulAdd(p34, t2, p12));
  return hn::MulAdd(q, hn::CopySignToAbs(t, z),
                    hn::CopySignToAbs(coefficient(kC0), z));
}
#endif

template <Activation kActivation, class D, class V>
HWY_INLINE V Activate(D d, V z) {
  if constexpr (kActivation == Activation::kTanh) {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
    if constexpr (hn::MaxLanes(D()) == 16) return TableTanh(d, z);
#endif
    return LowLatencyTanh(d, z);

  } else if constexpr (kActivation == Activation::kSigmoid) {
    return Sigmoid(d, z);
  } else if constexpr (kActivation == Activation::kRelu) {
    return hn::Max(z, hn::Zero(d));
  } else {
    return z;
  }
}

/// a'(z) from a = a(z), the activation's output at z.
template <Activation kActivation, class D, class V>
HWY_INLINE V DerivativeFromOutput(D d, V a) {
  const V one = hn::Set(d, 1.0f);
  if constexpr (kActivation == Activation::kTanh) {
    return hn::NegMulAdd(a, a, one);
  } else if constexpr (kActivation == Activation::kSigmoid) {
    return hn::Mul(a, hn::Sub(one, a));
  } else if constexpr (kActivation == Activation::kRelu) {
    return hn::IfThenElseZero(hn::Gt(a, hn::Zero(d)), one);
  } else {
    return one;
  }
}

/// a'(z) at the pre-activation z.
template <Activation kActivation, class D, class V>
HWY_INLINE V Derivative(D d, V z) {
  return DerivativeFromOutput<kActivation>(d, Activate<kActivation>(d, z));
}

/// out[i] = a(in[i]) for i < n. in and out may be the same array.
HWY_INLINE void ActivateArray(Activation activation, const float* in,
                              float* out, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t lanes = hn::Lanes(d);
  WithActivation(activation, [&](auto tag) {
    size_t i = 0;
    for (; i + lanes <= n; i += lanes) {
      hn::StoreU(Activate<decltype(tag)::value>(d, hn::LoadU(d, in + i)), d,
                 out + i);
    }
    if (i < n) {
      const auto z = LoadPartial(d, in + i, n - i);
      StorePartial(d, Activate<decltype(tag)::value>(d, z), out + i, n - i);
    }
  });
}

/// out[i] = a'(pre[i]) for i < n.
HWY_INLINE void DerivativeArray(Activation activation, const float* pre,
                                float* out, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t lanes = hn::Lanes(d);
  WithActivation(activation, [&](auto tag) {
    size_t i = 0;
    for (; i + lanes <= n; i += lanes) {
      hn::StoreU(Derivative<decltype(tag)::value>(d, hn::LoadU(d, pre + i)), d,
                 out + i);
    }
    if (i < n) {
      const auto z = LoadPartial(d, pre + i, n - i);
      StorePartial(d, Derivative<decltype(tag)::value>(d, z), out + i, n - i);
    }
  });
}

/// inout[i] *= a'(z[i]) for i < n, from output[i] = a(z[i]): δ = dh ⊙ f'(ĥ)
/// (eq. 7.15) with the stored h.
HWY_INLINE void MultiplyByDerivative(Activation activation, const float* output,
                                     float* inout, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t lanes = hn::Lanes(d);
  WithActivation(activation, [&](auto tag) {
    constexpr Activation kA = decltype(tag)::value;
    size_t i = 0;
    for (; i + lanes <= n; i += lanes) {
      const auto scale = DerivativeFromOutput<kA>(d, hn::LoadU(d, output + i));
      hn::StoreU(hn::Mul(hn::LoadU(d, inout + i), scale), d, inout + i);
    }
    if (i < n) {
      const auto scale =
          DerivativeFromOutput<kA>(d, LoadPartial(d, output + i, n - i));
      const auto value = LoadPartial(d, inout + i, n - i);
      StorePartial(d, hn::Mul(value, scale), inout + i, n - i);
    }
  });
}

}  // namespace elman::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // ELMAN_SRC_KERNELS_ACTIVATION_INL_H_
