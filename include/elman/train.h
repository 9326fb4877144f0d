// Training passes (DESIGN.md §1): forward (eq. 7.10), loss (eq. 7.11–7.13)
// and backpropagation through time (eq. 7.14–7.15), on SIMD kernels chosen at
// run time for this CPU. All results go to caller-owned memory; once a
// Workspace exists none of these functions allocates.
#ifndef ELMAN_TRAIN_H_
#define ELMAN_TRAIN_H_

#include <cstddef>
#include <memory>
#include <span>

#include "elman/export.h"
#include "elman/model.h"
#include "elman/threads.h"

namespace elman {

/// Memory for one training step, sized once for (dims, max_steps, max_batch).
/// Forward stores here what Backward needs: a copy of x, h0, the
/// pre-activations ĥ and ŷ and the hidden states h, plus packed copies of the
/// weights. One Workspace serves any sequence with steps ≤ max_steps and
/// batch ≤ max_batch; it is not thread-safe (use one per thread).
class ELMAN_EXPORT Workspace {
 public:
  /// Throws Error if any size is 0.
  Workspace(Dims dims, size_t max_steps, size_t max_batch = 1);
  /// The same, and Forward and Backward on it share their work with
  /// `threads` (elman/threads.h: the same results, bit for bit), which must
  /// outlive the workspace.
  Workspace(Dims dims, size_t max_steps, size_t max_batch, ThreadPool& threads);
  ~Workspace();
  Workspace(Workspace&&) noexcept;
  Workspace& operator=(Workspace&&) noexcept;

  Dims dims() const;
  size_t max_steps() const;
  size_t max_batch() const;

  /// The sequence of the last successful Forward (steps == 0 before any).
  SequenceShape sequence() const;
  /// Views of what the last Forward stored, time-major.
  std::span<const float> pre_hidden() const;  ///< ĥ, [T][B][H]
  std::span<const float> hidden() const;      ///< h,  [T][B][H]
  std::span<const float> pre_output() const;  ///< ŷ,  [T][B][O]
  /// h(T−1) of each sequence, [B][H]: the last block of hidden(). Pass it as
  /// the next chunk's h0 to carry the state across chunks of a long sequence
  /// (truncated BPTT). Backward treats h0 as a constant, so no gradient
  /// crosses the boundary, as with PyTorch's `h.detach()`. It may be passed
  /// straight to the next Forward on this same workspace.
  std::span<const float> final_hidden() const;

  struct Impl;
  Impl& impl() { return *impl_; }
  const Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

/// Training forward, eq. 7.10: for t = 0…T−1,
///   ĥ(t) = W x(t) + U h(t−1) + b,  h(t) = f(ĥ(t)),
///   ŷ(t) = V h(t) + c,             y(t) = g(ŷ(t)),
/// with h(−1) = h0 ([B][H]; zeros if h0 is empty). x is [T][B][I], y receives
/// [T][B][O]. Stores ĥ, h, ŷ (and x, h0) in `workspace` for Backward.
ELMAN_EXPORT void Forward(const Model& model, std::span<const float> x,
                          SequenceShape seq, std::span<const float> h0,
                          Workspace& workspace, std::span<float> y);

/// Loss, eq. 7.11–7.13: L = Σ_t w(t) Σ_b ½‖y(t,b) − Y(t,b)‖², where w is the
/// per-step weight `step_weights` ([T]; all ones if empty). A weight of 0 drops
/// a step: w = (0, …, 0, 1) is the many-to-one loss. Each step is summed in
/// float SIMD lanes, the steps in double.
ELMAN_EXPORT double Loss(std::span<const float> y,
                         std::span<const float> target, SequenceShape seq,
                         size_t outputs,
                         std::span<const float> step_weights = {});

/// Where Backward puts its results. The gradient tensors are OVERWRITTEN (not
/// accumulated into): calling Backward twice gives the same gradients.
struct BackwardOutputs {
  Gradients* gradients = nullptr;  ///< dW, dU, db, dV, dc (sums over t and b)
  std::span<float> dx = {};        ///< optional: ∂L/∂x, [T][B][I]
  std::span<float> dh0 = {};  ///< optional: ∂L/∂h0 = Uᵀ δ(0), [B][H]
};

/// Backpropagation through time, eq. 7.14–7.15, for the sequence of the last
/// Forward on `workspace` with the same `model`:
///   e(t) = w(t) (y(t) − Y(t)) ⊙ g'(ŷ(t)),    grad_dense(t) = Vᵀ e(t),
///   dh(T−1) = grad_dense(T−1),
///   dh(t) = grad_dense(t) + Uᵀ (dh(t+1) ⊙ f'(ĥ(t+1))),   δ(t) = dh(t) ⊙
///   f'(ĥ(t)), dW = Σ δ xᵀ, dU = Σ δ(t) h(t−1)ᵀ, db = Σ δ, dV = Σ e hᵀ, dc = Σ
///   e, dx(t) = Wᵀ δ(t), dh0 = Uᵀ δ(0).
/// f' and g' are evaluated at the stored pre-activations. target is
/// [T][B][O]; step_weights as in Loss.
ELMAN_EXPORT void Backward(const Model& model, std::span<const float> target,
                           std::span<const float> step_weights,
                           Workspace& workspace,
                           const BackwardOutputs& outputs);

/// Backpropagation through time from the gradient of any loss, for use
/// inside another framework's autograd (e.g. the PyTorch module in python/):
/// given ∂L/∂y = output_gradient ([T][B][O]) and, optionally,
/// ∂L/∂h(T−1) = final_hidden_gradient ([B][H]; empty for zeros, i.e. when the
/// final hidden state is not used downstream), for the sequence of the last
/// Forward on `workspace` with the same `model`:
///   e(t) = output_gradient(t) ⊙ g'(ŷ(t)),
///   dh(T−1) = Vᵀ e(T−1) + final_hidden_gradient,
/// and the rest as in Backward (same outputs, overwritten). With
/// output_gradient = w(t)·(y − Y) and no final_hidden_gradient it computes
/// what Backward(model, Y, w, …) does. Both gradients must be finite.
ELMAN_EXPORT void BackwardFromOutputGradient(
    const Model& model, std::span<const float> output_gradient,
    std::span<const float> final_hidden_gradient, Workspace& workspace,
    const BackwardOutputs& outputs);

}  // namespace elman

#endif  // ELMAN_TRAIN_H_
