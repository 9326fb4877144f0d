// Optimizers and gradient clipping with PyTorch's update rules
// (torch.optim.SGD, Adam, AdamW and torch.nn.utils.clip_grad_norm_ of
// PyTorch 1.13), so that a model moved from PyTorch follows the same
// trajectory. Each update is one vectorized pass over each of the five
// tensors, dispatched once per call. Optimizers allocate their state when
// constructed and never in Step.
#ifndef ELMAN_OPTIM_H_
#define ELMAN_OPTIM_H_

#include <cstddef>
#include <cstdint>
#include <optional>

#include "elman/export.h"
#include "elman/model.h"

namespace elman {

/// torch.optim.SGD. PyTorch has no default learning rate for SGD; neither
/// does elman (0 is rejected by the constructor).
struct SgdOptions {
  float learning_rate = 0.0f;
  float momentum = 0.0f;
  float dampening = 0.0f;
  float weight_decay = 0.0f;  ///< L2 penalty: g += weight_decay · θ
  bool nesterov = false;      ///< needs momentum > 0 and dampening = 0
};

/// torch.optim.Adam (decoupled_weight_decay = false) and torch.optim.AdamW
/// (true). The defaults are Adam's; AdamWOptions() gives AdamW's.
struct AdamOptions {
  float learning_rate = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float epsilon = 1e-8f;
  float weight_decay = 0.0f;
  bool decoupled_weight_decay = false;  ///< AdamW: θ *= 1 − lr · wd first
  bool amsgrad = false;
};

/// AdamW's defaults: Adam's, with weight_decay = 0.01, decoupled.
ELMAN_EXPORT AdamOptions AdamWOptions();

/// An optimizer for the five tensors of one model. Step updates `parameters`
/// in place from `gradients` (of the same dims). Not thread-safe.
///
/// Validation: dims of parameters, gradients and the optimizer must agree and
/// a per-step learning rate must be finite and ≥ 0, else Error (nothing
/// written). Like torch.optim, Step does not look at the values: a NaN
/// gradient makes NaN weights. Check first with ClipGradNorm (it reports a
/// non-finite norm) or use TrainStep, which skips such an update.
class ELMAN_EXPORT Optimizer {
 public:
  virtual ~Optimizer();
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// One update at the configured learning rate.
  void Step(Parameters& parameters, const Gradients& gradients);
  /// One update at `learning_rate` for this step only: the hook for a
  /// learning-rate schedule computed by the caller.
  void Step(Parameters& parameters, const Gradients& gradients,
            float learning_rate);

  Dims dims() const { return dims_; }
  float learning_rate() const { return learning_rate_; }
  /// Throws Error unless finite and ≥ 0.
  void set_learning_rate(float learning_rate);
  /// Updates applied since construction or Reset.
  uint64_t steps() const { return steps_; }
  /// Forgets the state (momentum, moments, step count), as a new optimizer.
  void Reset();

 protected:
  Optimizer(Dims dims, float learning_rate);
  /// `steps_` already counts this update.
  virtual void Update(Parameters& parameters, const Gradients& gradients,
                      float learning_rate) = 0;
  virtual void ResetState() = 0;

 private:
  Dims dims_;
  float learning_rate_;
  uint64_t steps_ = 0;
};

class ELMAN_EXPORT Sgd final : public Optimizer {
 public:
  /// Throws Error for a learning rate that is not finite and > 0, a negative
  /// or non-finite momentum, dampening or weight decay, or Nesterov without
  /// momentum or with dampening (PyTorch's rules).
  Sgd(Dims dims, const SgdOptions& options);
  ~Sgd() override;
  const SgdOptions& options() const { return options_; }

 private:
  void Update(Parameters& parameters, const Gradients& gradients,
              float learning_rate) override;
  void ResetState() override;

  SgdOptions options_;
  std::optional<Parameters> momentum_buffer_;  // only when momentum > 0
};

class ELMAN_EXPORT Adam final : public Optimizer {
 public:
  /// Throws Error for a learning rate or epsilon that is not finite and ≥ 0
  /// (epsilon > 0), betas outside [0, 1), or a negative weight decay.
  Adam(Dims dims, const AdamOptions& options = {});
  ~Adam() override;
  const AdamOptions& options() const { return options_; }

 private:
  void Update(Parameters& parameters, const Gradients& gradients,
              float learning_rate) override;
  void ResetState() override;

  AdamOptions options_;
  Parameters first_moment_;                      // exp_avg
  Parameters second_moment_;                     // exp_avg_sq
  std::optional<Parameters> max_second_moment_;  // only with amsgrad
};

/// torch.nn.utils.clip_grad_norm_ over all five tensors with the 2-norm:
/// norm = sqrt(Σ g²) (accumulated in double), then every gradient is scaled
/// by min(1, max_norm / (norm + 1e-6)). Returns the norm before
/// clipping. A non-finite norm is returned and the gradients are left as they
/// were (PyTorch would scale them by NaN). Throws Error if max_norm is not
/// finite and > 0.
ELMAN_EXPORT double ClipGradNorm(Gradients& gradients, double max_norm);

/// sqrt(Σ g²) over all five tensors, accumulated in double.
ELMAN_EXPORT double GradNorm(const Gradients& gradients);

}  // namespace elman

#endif  // ELMAN_OPTIM_H_
