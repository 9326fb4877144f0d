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

template <Activation kActivation, class D, class V>
HWY_INLINE V Activate(D d, V z) {
  if constexpr (kActivation == Activation::kTanh) {
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
