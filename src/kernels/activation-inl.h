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

template <Activation kActivation, class D, class V>
HWY_INLINE V Activate(D d, V z) {
  if constexpr (kActivation == Activation::kTanh) {
    return hn::Tanh(d, z);
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
