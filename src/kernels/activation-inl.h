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

/// tanh(z), within 2 ulp (tests/activation_test.cc), at two thirds of the
/// latency of Highway's hn::Tanh: on the latency path (B = 1, small H) f
/// sits on the chain h(t−1) → ĥ(t) → h(t), and on Zen 5 a chain of
/// dependent calls took 26 ns a call with hn::Tanh (Expm1, then a divide)
/// against 18 ns with this one. Two branches, both computed and one kept
/// per lane:
///   |z| < 0.55:  a + a³·P(a²), a = |z| (P a minimax fit on [0, 0.55],
///                0.07 ulp before rounding; no cancellation near 0);
///   otherwise:   1 − 2/(e^{2a} + 1), with a capped at 9.1, past which
///                tanh rounds to 1 in float. There the quotient is < ½, so
///                its error lands at most half an ulp of the result.
/// e^{2a} = 2^n·e^r, n = round(2a/ln 2), r = 2a − n·ln 2 (ln 2 split in two
/// so that n·ln2_hi is exact without FMA), e^r = 1 + r + r²·R(r) (R a
/// minimax fit on |r| ≤ ln2/2, 0.18 ulp), and 2^n added to the exponent
/// field: n ≤ 27, so no overflow or subnormal is formed. The polynomials use
/// Estrin's scheme, whose depth is that of two FMAs per power of r² rather
/// than one per coefficient. A NaN z takes the first branch, whose
/// arithmetic carries it through; ±∞ gives ±1; the sign (−0 too) is z's.
template <class D, class V>
HWY_INLINE V LowLatencyTanh(D d, V z) {
  const hn::RebindToSigned<D> di;
  const V one = hn::Set(d, 1.0f);
  const V a = hn::Abs(z);

  const V y = hn::Mul(a, a);
  const V y2 = hn::Mul(y, y);
  const V p01 =
      hn::MulAdd(hn::Set(d, 0.133331135f), y, hn::Set(d, -0.333333313f));
  const V p23 =
      hn::MulAdd(hn::Set(d, 0.0213095099f), y, hn::Set(d, -0.0539094545f));
  const V p234 = hn::MulAdd(hn::Set(d, -0.00661042053f), y2, p23);
  const V series = hn::MulAdd(hn::Mul(a, y), hn::MulAdd(p234, y2, p01), a);

  // Adding 1.5·2^23 rounds 2a/ln 2 to the integer n, held in the low bits.
  const V magic = hn::Set(d, 12582912.0f);
  const V capped = hn::Min(a, hn::Set(d, 9.1f));
  const V shifted = hn::MulAdd(capped, hn::Set(d, 2.88539004f), magic);
  const V n = hn::Sub(shifted, magic);
  const V r = hn::MulAdd(
      n, hn::Set(d, -1.42860677e-06f),
      hn::MulAdd(n, hn::Set(d, -0.693145752f), hn::Add(capped, capped)));
  const V r2 = hn::Mul(r, r);
  const V e01 = hn::MulAdd(hn::Set(d, 0.166665897f), r, hn::Set(d, 0.5f));
  const V e23 =
      hn::MulAdd(hn::Set(d, 0.00836198404f), r, hn::Set(d, 0.0416663848f));
  const V e234 = hn::MulAdd(hn::Set(d, 0.00139236217f), r2, e23);
  const V exp_r = hn::MulAdd(r2, hn::MulAdd(e234, r2, e01), hn::Add(r, one));
  const V exp_2a =
      hn::BitCast(d, hn::Add(hn::BitCast(di, exp_r),
                             hn::ShiftLeft<23>(hn::BitCast(di, shifted))));
  const V quotient = hn::Div(hn::Set(d, 2.0f), hn::Add(exp_2a, one));
  const V saturating = hn::Sub(one, quotient);

  const V magnitude =
      hn::IfThenElse(hn::Ge(a, hn::Set(d, 0.55f)), saturating, series);
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
