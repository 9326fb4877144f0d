// The one-call training step for the common case: forward (eq. 7.10), loss
// (eq. 7.11–7.13), backpropagation through time (eq. 7.14–7.15), optional
// clipping by global norm, and the optimizer's update. Forward, Loss,
// Backward, ClipGradNorm and Optimizer::Step stay available for anything
// this does not cover.
#ifndef ELMAN_TRAINER_H_
#define ELMAN_TRAINER_H_

#include <cstddef>
#include <span>
#include <vector>

#include "elman/export.h"
#include "elman/model.h"
#include "elman/optim.h"
#include "elman/threads.h"
#include "elman/train.h"

namespace elman {

/// One batch of training sequences, time-major as everywhere in elman.
struct Batch {
  std::span<const float> x;       ///< [T][B][I]
  std::span<const float> target;  ///< Y, [T][B][O]
  SequenceShape seq;
  std::span<const float> h0 = {};  ///< [B][H], or empty for zeros
  /// Per-step loss weights as in elman::Loss ([T], or empty for all ones);
  /// (0, …, 0, 1) trains many-to-one.
  std::span<const float> step_weights = {};
};

/// What the loss is a sum or a mean of.
enum class Reduction {
  /// L = Σ_t w(t) Σ_b ½‖y(t,b) − Y(t,b)‖², the seed text's loss.
  kSum,
  /// L / (B · Σ_t w(t)): the mean over the samples that count, so that a
  /// learning rate does not depend on T, B or the step weights.
  kMean,
};

struct TrainerOptions {
  size_t max_steps = 0;  ///< the longest sequence a Step takes (T)
  size_t max_batch = 1;  ///< the most sequences per Step (B)
  Reduction reduction = Reduction::kMean;
  /// Clip the gradients to this global 2-norm before the update
  /// (ClipGradNorm); 0 disables clipping.
  double max_gradient_norm = 0.0;
  /// Forward and Backward share their work with this pool (elman/threads.h:
  /// the same results, bit for bit); it must outlive the Trainer. nullptr:
  /// the calling thread alone.
  ThreadPool* threads = nullptr;
};

struct TrainStepResult {
  double loss = 0.0;           ///< before the update, reduced as asked
  double gradient_norm = 0.0;  ///< of the reduced loss, before clipping
  /// False when the loss or the gradient norm was not finite: the update was
  /// skipped, the model and the optimizer's state are unchanged.
  bool updated = false;
};

/// Trains one model with one optimizer. Owns the Workspace, the gradients
/// and the outputs, all sized at construction; Step allocates nothing. The
/// model and the optimizer are the caller's and must outlive the Trainer.
/// Not thread-safe.
class ELMAN_EXPORT Trainer {
 public:
  /// Throws Error if max_steps or max_batch is 0, max_gradient_norm is
  /// negative or not finite, or the optimizer's dims are not the model's.
  Trainer(Model& model, Optimizer& optimizer, const TrainerOptions& options);

  /// One step at the optimizer's learning rate; returns the loss.
  TrainStepResult Step(const Batch& batch);
  /// One step at `learning_rate` (a schedule computed by the caller).
  TrainStepResult Step(const Batch& batch, float learning_rate);

  /// y of the last Step's forward (before its update), [T][B][O].
  std::span<const float> output() const;
  /// h(T−1) of the last Step's forward, [B][H]: the next chunk's h0 when a
  /// long sequence is trained in chunks (truncated BPTT).
  std::span<const float> final_hidden() const;
  /// The gradients of the last Step, after clipping.
  const Gradients& gradients() const { return gradients_; }
  const TrainerOptions& options() const { return options_; }

 private:
  Model& model_;
  Optimizer& optimizer_;
  TrainerOptions options_;
  Workspace workspace_;
  Gradients gradients_;
  std::vector<float> output_;        // y, [max_steps][max_batch][O]
  std::vector<float> step_weights_;  // the batch's, times the reduction
  size_t output_size_ = 0;           // floats of output_ the last Step wrote
};

}  // namespace elman

#endif  // ELMAN_TRAINER_H_
