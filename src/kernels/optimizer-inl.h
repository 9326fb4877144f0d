// Optimizer updates and gradient-norm kernels: torch.optim.SGD, Adam and AdamW
// and torch.nn.utils.clip_grad_norm_ of PyTorch 1.13, one fused pass per
// tensor (read θ, g and the state once, write θ and the state once).
//
// The operations mirror PyTorch's, one for one and in its order, so that the
// float results track torch's: where torch calls add(x, alpha=a) its CPU
// kernel computes fmadd(x, a, self), here MulAdd; addcmul's
// self + (value·t1)·t2 comes out of torch's (GCC-built) kernel with its last
// multiply-add fused, here too; addcdiv's self + (value·t1)/t2 cannot fuse.
// Nothing else may fuse: src/optim.cc is compiled with -ffp-contract=off.
// With that, the AVX2 and AVX3 targets reproduce Debian's torch 1.13 bit for
// bit (tests/optim_torch_test.cc); on SSSE3/SSE4 MulAdd is a multiply and an
// add, so those differ in the last bits. Arguments: src/kernels/optimizer.h.
#if defined(ELMAN_SRC_KERNELS_OPTIMIZER_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ELMAN_SRC_KERNELS_OPTIMIZER_INL_H_
#undef ELMAN_SRC_KERNELS_OPTIMIZER_INL_H_
#else
#define ELMAN_SRC_KERNELS_OPTIMIZER_INL_H_
#endif

#include <cstddef>
#include <type_traits>

#include "hwy/highway.h"
#include "src/kernels/optimizer.h"
#include "src/kernels/partial-inl.h"

HWY_BEFORE_NAMESPACE();
namespace elman::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

/// Calls body(i, count) for each whole vector of [0, n) (count = Lanes(d)),
/// then once for the rest (0 < count < Lanes(d)) if there is one. Bodies load
/// and store through LoadPartial/StorePartial, which are LoadU/StoreU for a
/// whole vector: the tail runs the body's operations, so an element's result
/// depends neither on its position nor on the tensor's length, and nothing
/// past element n − 1 is read or written.
template <class D, class Body>
HWY_INLINE void ForEachVector(D d, size_t n, const Body& body) {
  const size_t lanes = hn::Lanes(d);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) body(i, lanes);
  if (i < n) body(i, n - i);
}

/// Calls fn(std::true_type()) or fn(std::false_type()): turns a flag that is
/// fixed for a whole Step into a template argument, so that the element loop
/// has no branches.
template <class Fn>
HWY_INLINE void WithFlag(bool flag, const Fn& fn) {
  if (flag) {
    fn(std::true_type());
  } else {
    fn(std::false_type());
  }
}

enum class Momentum { kNone, kFirstStep, kRunning };

/// torch.optim.SGD (_single_tensor_sgd) on one tensor:
///   d_p = g + wd·θ                                   (if wd ≠ 0)
///   buf = d_p (first step) or momentum·buf + (1 − dampening)·d_p
///   d_p = d_p + momentum·buf (Nesterov) or buf       (if momentum ≠ 0)
///   θ = θ − lr·d_p
template <bool kWeightDecay, Momentum kMomentum, bool kNesterov>
HWY_INLINE void SgdTensorPass(const internal::SgdTensor& t,
                              const internal::SgdStepArgs& args) {
  const hn::ScalableTag<float> d;
  const auto weight_decay = hn::Set(d, args.weight_decay);
  const auto momentum = hn::Set(d, args.momentum);
  const auto one_minus_dampening = hn::Set(d, args.one_minus_dampening);
  const auto negative_learning_rate = hn::Set(d, -args.learning_rate);
  float* HWY_RESTRICT parameters = t.parameters;
  const float* HWY_RESTRICT gradients = t.gradients;
  float* HWY_RESTRICT buffer = t.momentum_buffer;
  ForEachVector(d, t.size, [&](size_t i, size_t count) HWY_ATTR {
    const auto theta = LoadPartial(d, parameters + i, count);
    auto step = LoadPartial(d, gradients + i, count);  // torch's d_p
    if constexpr (kWeightDecay) step = hn::MulAdd(theta, weight_decay, step);
    if constexpr (kMomentum != Momentum::kNone) {
      auto running = step;  // first step: torch.clone(d_p)
      if constexpr (kMomentum == Momentum::kRunning) {
        running =
            hn::MulAdd(step, one_minus_dampening,
                       hn::Mul(LoadPartial(d, buffer + i, count), momentum));
      }
      StorePartial(d, running, buffer + i, count);
      step = kNesterov ? hn::MulAdd(running, momentum, step) : running;
    }
    StorePartial(d, hn::MulAdd(step, negative_learning_rate, theta),
                 parameters + i, count);
  });
}

template <bool kWeightDecay, Momentum kMomentum, bool kNesterov>
HWY_INLINE void SgdAllTensors(const internal::SgdStepArgs& args) {
  for (const internal::SgdTensor& tensor : args.tensors) {
    SgdTensorPass<kWeightDecay, kMomentum, kNesterov>(tensor, args);
  }
}

/// All five tensors, with the step's flags resolved once.
HWY_INLINE void SgdUpdate(const internal::SgdStepArgs& args) {
  WithFlag(args.weight_decay != 0.0f, [&](auto decay) HWY_ATTR {
    constexpr bool kDecay = decltype(decay)::value;
    if (args.momentum == 0.0f) {
      SgdAllTensors<kDecay, Momentum::kNone, false>(args);
      return;
    }
    WithFlag(args.nesterov, [&](auto nesterov) HWY_ATTR {
      constexpr bool kNesterov = decltype(nesterov)::value;
      if (args.first_step) {
        SgdAllTensors<kDecay, Momentum::kFirstStep, kNesterov>(args);
      } else {
        SgdAllTensors<kDecay, Momentum::kRunning, kNesterov>(args);
      }
    });
  });
}

enum class WeightDecay { kNone, kCoupled, kDecoupled };

/// torch.optim.Adam / AdamW (_single_tensor_adam, _single_tensor_adamw) on
/// one tensor, with step_size = lr / (1 − β1^t) and
/// bias_correction2_sqrt = sqrt(1 − β2^t) computed by the caller:
///   θ = θ·(1 − lr·wd) (AdamW)  or  g = g + wd·θ (Adam, if wd ≠ 0)
///   m = β1·m + (1 − β1)·g            (exp_avg.mul_(β1).add_(g, alpha=1 − β1))
///   v = β2·v + ((1 − β2)·g)·g        (exp_avg_sq.mul_(β2).addcmul_(g, g, ...),
///                                     the last multiply-add fused)
///   v̂ = max(v̂, v) with amsgrad, else v
///   denom = sqrt(v̂) / bias_correction2_sqrt + ε
///   θ = θ + (−step_size·m) / denom   (param.addcdiv_(m, denom, −step_size))
template <WeightDecay kWeightDecay, bool kAmsgrad>
HWY_INLINE void AdamTensorPass(const internal::AdamTensor& t,
                               const internal::AdamStepArgs& args) {
  const hn::ScalableTag<float> d;
  const auto beta1 = hn::Set(d, args.beta1);
  const auto one_minus_beta1 = hn::Set(d, args.one_minus_beta1);
  const auto beta2 = hn::Set(d, args.beta2);
  const auto one_minus_beta2 = hn::Set(d, args.one_minus_beta2);
  const auto epsilon = hn::Set(d, args.epsilon);
  const auto negative_step_size = hn::Set(d, -args.step_size);
  const auto bias_correction2_sqrt = hn::Set(d, args.bias_correction2_sqrt);
  const auto weight_decay = hn::Set(d, args.weight_decay);
  const auto decay_factor = hn::Set(d, args.decay_factor);
  float* HWY_RESTRICT parameters = t.parameters;
  const float* HWY_RESTRICT gradients = t.gradients;
  float* HWY_RESTRICT first_moment = t.exp_avg;
  float* HWY_RESTRICT second_moment = t.exp_avg_sq;
  float* HWY_RESTRICT max_second_moment = t.max_exp_avg_sq;
  ForEachVector(d, t.size, [&](size_t i, size_t count) HWY_ATTR {
    auto theta = LoadPartial(d, parameters + i, count);
    auto g = LoadPartial(d, gradients + i, count);
    if constexpr (kWeightDecay == WeightDecay::kDecoupled) {
      theta = hn::Mul(theta, decay_factor);
    } else if constexpr (kWeightDecay == WeightDecay::kCoupled) {
      g = hn::MulAdd(theta, weight_decay, g);
    }
    const auto m =
        hn::MulAdd(g, one_minus_beta1,
                   hn::Mul(LoadPartial(d, first_moment + i, count), beta1));
    const auto v =
        hn::MulAdd(hn::Mul(one_minus_beta2, g), g,
                   hn::Mul(LoadPartial(d, second_moment + i, count), beta2));
    StorePartial(d, m, first_moment + i, count);
    StorePartial(d, v, second_moment + i, count);
    auto v_used = v;
    if constexpr (kAmsgrad) {
      v_used = hn::Max(LoadPartial(d, max_second_moment + i, count), v);
      StorePartial(d, v_used, max_second_moment + i, count);
    }
    const auto denom =
        hn::Add(hn::Div(hn::Sqrt(v_used), bias_correction2_sqrt), epsilon);
    theta = hn::Add(theta, hn::Div(hn::Mul(negative_step_size, m), denom));
    StorePartial(d, theta, parameters + i, count);
  });
}

template <WeightDecay kWeightDecay, bool kAmsgrad>
HWY_INLINE void AdamAllTensors(const internal::AdamStepArgs& args) {
  for (const internal::AdamTensor& tensor : args.tensors) {
    AdamTensorPass<kWeightDecay, kAmsgrad>(tensor, args);
  }
}

/// All five tensors, with the step's flags resolved once. A decay factor of
/// exactly 1 (AdamW with wd = 0 or lr = 0) multiplies by one: skipped.
HWY_INLINE void AdamUpdate(const internal::AdamStepArgs& args) {
  WithFlag(args.amsgrad, [&](auto amsgrad) HWY_ATTR {
    constexpr bool kAmsgrad = decltype(amsgrad)::value;
    if (args.decay_factor != 1.0f) {
      AdamAllTensors<WeightDecay::kDecoupled, kAmsgrad>(args);
    } else if (args.weight_decay != 0.0f) {
      AdamAllTensors<WeightDecay::kCoupled, kAmsgrad>(args);
    } else {
      AdamAllTensors<WeightDecay::kNone, kAmsgrad>(args);
    }
  });
}

/// Σ x² over `n` floats, in double lanes: each float is widened, so its
/// square is exact (48 significant bits), and the sum carries double's
/// rounding only — relative error ≲ n·2⁻⁵³, fine for any tensor size
/// (float partial sums would lose about n·2⁻²⁴).
HWY_INLINE double SumOfSquares(const float* HWY_RESTRICT x, size_t n) {
  const hn::ScalableTag<double> dd;
  const hn::Rebind<float, decltype(dd)> df;  // as many floats as double lanes
  const size_t lanes = hn::Lanes(dd);
  auto sum0 = hn::Zero(dd), sum1 = hn::Zero(dd);
  auto sum2 = hn::Zero(dd), sum3 = hn::Zero(dd);
  size_t i = 0;
  for (; i + 4 * lanes <= n; i += 4 * lanes) {
    const auto x0 = hn::PromoteTo(dd, hn::LoadU(df, x + i));
    const auto x1 = hn::PromoteTo(dd, hn::LoadU(df, x + i + lanes));
    const auto x2 = hn::PromoteTo(dd, hn::LoadU(df, x + i + 2 * lanes));
    const auto x3 = hn::PromoteTo(dd, hn::LoadU(df, x + i + 3 * lanes));
    sum0 = hn::MulAdd(x0, x0, sum0);
    sum1 = hn::MulAdd(x1, x1, sum1);
    sum2 = hn::MulAdd(x2, x2, sum2);
    sum3 = hn::MulAdd(x3, x3, sum3);
  }
  ForEachVector(dd, n - i, [&](size_t j, size_t count) HWY_ATTR {
    const auto xj = hn::PromoteTo(dd, LoadPartial(df, x + i + j, count));
    sum0 = hn::MulAdd(xj, xj, sum0);
  });
  const auto sum = hn::Add(hn::Add(sum0, sum1), hn::Add(sum2, sum3));
  return hn::GetLane(hn::SumOfLanes(dd, sum));
}

/// x[i] *= factor for i < n.
HWY_INLINE void Scale(float factor, float* HWY_RESTRICT x, size_t n) {
  const hn::ScalableTag<float> d;
  const auto factor_vec = hn::Set(d, factor);
  ForEachVector(d, n, [&](size_t i, size_t count) HWY_ATTR {
    StorePartial(d, hn::Mul(LoadPartial(d, x + i, count), factor_vec), x + i,
                 count);
  });
}

}  // namespace elman::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // ELMAN_SRC_KERNELS_OPTIMIZER_INL_H_
