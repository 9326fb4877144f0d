// Trainer: Forward, Loss, Backward, clipping and the optimizer's update in one
// call. The reduction (a mean instead of the seed's sum) is folded into the
// per-step loss weights that Loss and Backward already take, so it costs no
// pass over the gradients.
#include "elman/trainer.h"

#include <cmath>
#include <numeric>
#include <string>

#include "elman/error.h"
#include "src/dispatch.h"
#include "src/validate.h"

namespace elman {
namespace {

constexpr const char* kStep = "elman::Trainer::Step";

const TrainerOptions& CheckedOptions(const TrainerOptions& options,
                                     const Model& model,
                                     const Optimizer& optimizer) {
  constexpr const char* kFunction = "elman::Trainer";
  if (options.max_steps == 0) internal::Fail(kFunction, "max_steps is 0");
  if (options.max_batch == 0) internal::Fail(kFunction, "max_batch is 0");
  if (!std::isfinite(options.max_gradient_norm) ||
      options.max_gradient_norm < 0.0) {
    internal::Fail(kFunction,
                   ("max_gradient_norm must be finite and >= 0 (0: no "
                    "clipping), got " +
                    std::to_string(options.max_gradient_norm))
                       .c_str());
  }
  internal::CheckSameDims(kFunction, "optimizer", optimizer.dims(),
                          model.dims());
  return options;
}

}  // namespace

Trainer::Trainer(Model& model, Optimizer& optimizer,
                 const TrainerOptions& options)
    : model_(model),
      optimizer_(optimizer),
      options_(CheckedOptions(options, model, optimizer)),
      workspace_(
          options.threads != nullptr
              ? Workspace(model.dims(), options.max_steps, options.max_batch,
                          *options.threads)
              : Workspace(model.dims(), options.max_steps, options.max_batch)),
      gradients_(model.dims()),
      output_(options.max_steps * options.max_batch * model.dims().output),
      step_weights_(options.max_steps) {}

TrainStepResult Trainer::Step(const Batch& batch) {
  return Step(batch, optimizer_.learning_rate());
}

TrainStepResult Trainer::Step(const Batch& batch, float learning_rate) {
  // Everything Forward does not check is checked first, so that a bad
  // argument throws before the model, the optimizer or the last Step's
  // results change.
  const Dims dims = model_.dims();
  internal::CheckSameDims(kStep, "optimizer", optimizer_.dims(), dims);
  if (!std::isfinite(learning_rate) || learning_rate < 0.0f) {
    internal::Fail(kStep, ("learning_rate must be finite and >= 0, got " +
                           std::to_string(learning_rate))
                              .c_str());
  }
  internal::CheckSequence(kStep, batch.seq, options_.max_steps,
                          options_.max_batch);
  const size_t steps = batch.seq.steps;
  const size_t rows = steps * batch.seq.batch;
  internal::CheckSize(kStep, "target", batch.target.size(), rows * dims.output,
                      "steps*batch*output");
  internal::CheckOptionalSize(kStep, "step_weights", batch.step_weights.size(),
                              steps, "steps");
  internal::CheckFinite(kStep, "target", batch.target);
  internal::CheckFinite(kStep, "step_weights", batch.step_weights);

  // The per-step weights Loss and Backward see: the batch's (or ones) times
  // 1 / (B Σ w) for the mean.
  double scale = 1.0;
  if (options_.reduction == Reduction::kMean) {
    const double weight_sum =
        batch.step_weights.empty()
            ? static_cast<double>(steps)
            : std::accumulate(batch.step_weights.begin(),
                              batch.step_weights.end(), 0.0);
    if (!(weight_sum > 0.0)) {
      internal::Fail(kStep,
                     "step_weights sum to 0 or less: Reduction::kMean "
                     "divides by the sum");
    }
    scale = 1.0 / (static_cast<double>(batch.seq.batch) * weight_sum);
  }
  std::span<const float> weights;  // empty: all ones
  if (scale != 1.0 || !batch.step_weights.empty()) {
    for (size_t t = 0; t < steps; ++t) {
      const double weight =
          batch.step_weights.empty() ? 1.0 : batch.step_weights[t];
      step_weights_[t] = static_cast<float>(weight * scale);
      // Finite weights can still overflow here (FLT_MAX, −FLT_MAX and a
      // denormal sum to a denormal): refuse them now, not in Backward after
      // Forward has overwritten the outputs.
      if (!std::isfinite(step_weights_[t])) {
        internal::Fail(kStep,
                       ("step_weights[" + std::to_string(t) +
                        "] / (batch * sum of step_weights) is not finite in "
                        "float: Reduction::kMean cannot scale these weights")
                           .c_str());
      }
    }
    weights = {step_weights_.data(), steps};
  }

  // Forward, Loss, Backward, clipping and the update all run on the target
  // chosen now, even if another thread calls UseTarget meanwhile.
  const internal::TargetPin pin;
  // Forward checks x, h0 and the sequence before it writes anything. (h0 may
  // be final_hidden(): Forward reads it before overwriting the workspace.)
  const std::span<float> y(output_.data(), rows * dims.output);
  Forward(model_, batch.x, batch.seq, batch.h0, workspace_, y);
  output_size_ = y.size();
  TrainStepResult result;
  result.loss = Loss(y, batch.target, batch.seq, dims.output, weights);
  Backward(model_, batch.target, weights, workspace_,
           {.gradients = &gradients_});
  result.gradient_norm =
      options_.max_gradient_norm > 0.0
          ? ClipGradNorm(gradients_, options_.max_gradient_norm)
          : GradNorm(gradients_);
  // A non-finite loss or gradient would poison every weight it touches:
  // report it and leave the model as it was.
  if (!std::isfinite(result.loss) || !std::isfinite(result.gradient_norm)) {
    return result;
  }
  optimizer_.Step(model_.parameters(), gradients_, learning_rate);
  result.updated = true;
  return result;
}

std::span<const float> Trainer::output() const {
  return {output_.data(), output_size_};
}

std::span<const float> Trainer::final_hidden() const {
  return workspace_.final_hidden();
}

}  // namespace elman
