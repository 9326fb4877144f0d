// Inference: a forward pass that keeps only the hidden state, usable one time
// step at a time (x(t) in, y(t) out) or over a whole sequence.
#ifndef ELMAN_STREAM_H_
#define ELMAN_STREAM_H_

#include <cstddef>
#include <memory>
#include <span>

#include "elman/export.h"
#include "elman/model.h"
#include "elman/threads.h"

namespace elman {

/// Runs `batch` independent sequences forward, keeping h(t) between calls.
/// The constructor takes a packed snapshot of the model's weights (so the
/// model may change or go away afterwards; call Load to take a new snapshot).
/// Step and Run never allocate. Not thread-safe; one Stream per thread.
class ELMAN_EXPORT Stream {
 public:
  /// Throws Error if batch is 0 or a weight is not finite.
  explicit Stream(const Model& model, size_t batch = 1);
  /// The same, and Step and Run share their work with `threads`
  /// (elman/threads.h: the same results, bit for bit), which must outlive
  /// the stream.
  Stream(const Model& model, size_t batch, ThreadPool& threads);
  ~Stream();
  Stream(Stream&&) noexcept;
  Stream& operator=(Stream&&) noexcept;

  /// New weights snapshot (same dims and activations), state kept.
  void Load(const Model& model);

  size_t batch() const;
  Dims dims() const;

  /// h := 0.
  void Reset();
  /// h := h0, [B][H].
  void Reset(std::span<const float> h0);

  /// One time step: x(t) [B][I] in, y(t) [B][O] out; h(t−1) → h(t). For
  /// one sequence with H > 64 every other Step reads the weights backwards,
  /// starting on what the Step before left in cache, and so associates its
  /// sums the other way round: a Step's bits depend on its inputs, the state
  /// and the parity of the Steps since construction or Reset (Reset and the
  /// same Steps give the same bits, whatever came before).
  void Step(std::span<const float> x, std::span<float> y);
  /// `steps` consecutive steps: x [T][B][I] in, y [T][B][O] out. Faster
  /// than T Steps for a whole sequence: for one sequence with H ≤ 64 it
  /// runs the Step's fused kernel T times without the per-call checks, and
  /// otherwise the W and V products over blocks of steps at once. The same
  /// results as T Steps up to rounding (the sums associate differently; for
  /// one sequence with H ≤ 64 both run the same fused step, bit for bit),
  /// and a sequence cut into several Runs gives bit for bit the result of
  /// one Run.
  void Run(std::span<const float> x, size_t steps, std::span<float> y);

  /// The current hidden state h of one sequence (b < batch()), [H].
  std::span<const float> hidden(size_t sequence = 0) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace elman

#endif  // ELMAN_STREAM_H_
