// Loss, eq. 7.11–7.13: L = Σ_t w(t) Σ_b ½‖y(t,b) − Y(t,b)‖².

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/loss.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
// Must come after foreach_target.h.
#include "hwy/highway.h"
#include "src/kernels/elementwise-inl.h"

HWY_BEFORE_NAMESPACE();
namespace elman::HWY_NAMESPACE {

double LossPass(const float* y, const float* target, size_t steps,
                size_t step_size, const float* step_weights) {
  // Unweighted, the whole sequence is one sum: no per-step reduction.
  if (step_weights == nullptr) {
    return 0.5 * SumSquaredDifference(y, target, steps * step_size);
  }
  double loss = 0.0;
  for (size_t t = 0; t < steps; ++t) {
    const double weight = step_weights[t];
    if (weight == 0.0) continue;
    const size_t offset = t * step_size;
    loss += 0.5 * weight *
            SumSquaredDifference(y + offset, target + offset, step_size);
  }
  return loss;
}

}  // namespace elman::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "elman/train.h"
#include "src/dispatch.h"
#include "src/validate.h"

namespace elman {
HWY_EXPORT(LossPass);

double Loss(std::span<const float> y, std::span<const float> target,
            SequenceShape seq, size_t outputs,
            std::span<const float> step_weights) {
  constexpr const char* kFunction = "elman::Loss";
  internal::CheckSequence(kFunction, seq, seq.steps, seq.batch);
  if (outputs == 0) internal::Fail(kFunction, "outputs (O) is 0");
  const size_t size = seq.steps * seq.batch * outputs;
  internal::CheckSize(kFunction, "y", y.size(), size, "steps*batch*outputs");
  internal::CheckSize(kFunction, "target", target.size(), size,
                      "steps*batch*outputs");
  internal::CheckOptionalSize(kFunction, "step_weights", step_weights.size(),
                              seq.steps, "steps");
  return ELMAN_DISPATCH(LossPass)(
      y.data(), target.data(), seq.steps, seq.batch * outputs,
      step_weights.empty() ? nullptr : step_weights.data());
}

}  // namespace elman
#endif  // HWY_ONCE
