// What a training Workspace holds (private to the library).
#ifndef ELMAN_SRC_WORKSPACE_IMPL_H_
#define ELMAN_SRC_WORKSPACE_IMPL_H_

#include "elman/export.h"
#include "elman/model.h"
#include "elman/threads.h"
#include "elman/train.h"
#include "src/buffer.h"
#include "src/fused_path.h"
#include "src/kernels/gemm-inl.h"
#include "src/thread_pool.h"

namespace elman {

// Nested in an exported class, Impl would be exported too: it is not API.
struct ELMAN_NO_EXPORT Workspace::Impl {
  Impl(Dims dims, size_t max_steps, size_t max_batch,
       ThreadPool* threads = nullptr);

  Dims dims;
  size_t max_steps;
  size_t max_batch;
  SequenceShape seq{0, 1};  // of the last successful Forward

  // Stored by Forward for Backward, time-major, rows of B sequences.
  internal::Buffer x;           // copy of x, [T][B][I]
  internal::Buffer pre_hidden;  // ĥ, [T][B][H]
  internal::Buffer hidden;      // [T+1][B][H]: block 0 is h0 (or zeros),
                                // block t+1 is h(t), so H₋₁ and H are
                                // contiguous row ranges of one matrix
  internal::Buffer pre_output;  // ŷ, [T][B][O]
  bool has_h0 = false;

  // Scratch of Backward.
  internal::Buffer output_error;  // E: e(t), [T][B][O]
  internal::Buffer delta;         // Δ: grad_dense(t), then δ(t), [T][B][H]

  // dWᵀ, I×H, where Backward forms dW transposed (I narrower than the
  // target's vector; allocated when I < Buffer::kSlackFloats, the widest
  // vector's floats, and empty otherwise).
  internal::Buffer weight_gradient_transposed;

  // Weights transposed by Forward so that its products stream them by rows:
  // Wᵀ and Vᵀ for the fused steps only (empty where H never takes them;
  // ReadsTransposedWeights; Wᵀ not made where the steps read quads, Vᵀ only
  // for a dense layer that reads it, FusedDenseLayerReadsTransposed), Uᵀ
  // where the recurrence may read it in place (empty where every sequence
  // reads it in panels: B = 1 above kMatVecMaxHidden).
  internal::Buffer w_transposed;  // Wᵀ, I×H
  internal::Buffer u_transposed;  // Uᵀ, H×H
  internal::Buffer v_transposed;  // Vᵀ, H×O
  // W, U and b in quads (src/quads.h) where one sequence's fused steps may
  // read them (internal::UsesQuads; the AVX-512 targets pack and read them,
  // in ForwardPass), else empty.
  internal::Buffer w_quads, u_quads, b_quads;
  // V and U themselves in quads (PackQuadsFromMatrix), for eq. 7.15's carry
  // over the same shapes (src/carry-inl.h, QuadCarrySteps; Backward packs
  // them), else empty.
  internal::Buffer v_carry_quads, u_carry_quads;
  // U in panels (src/panels.h): Uᵀ for Forward's recurrence, U for
  // Backward's carry, each packed once by its pass. One sequence above
  // kMatVecMaxHidden (internal::UsesPanels) runs its recurrences as
  // matrix-vector products over them, and B > 1 reads them as the
  // products' GemmArgs::b_panels (rather than packing U at every step).
  // Empty when neither can happen (max_batch = 1, H ≤ kMatVecMaxHidden).
  internal::Buffer u_transposed_panels;
  internal::Buffer u_panels;
  // Whether the passes of the current sequence (seq) read them.
  bool ReadsRecurrentPanels() const {
    return !internal::UsesMatVec(seq.batch, dims.hidden);
  }
  // Whether Forward of the current sequence may read w_transposed and
  // v_transposed (the fused steps; CopyFusedStepWeights makes the copies
  // its steps read). Above the fused path the hoisted projections read W
  // and V themselves (GemmArgs::b_transposed), and no copy is made.
  bool ReadsTransposedWeights() const {
    return internal::UsesFusedSteps(seq.batch, dims.hidden);
  }

  // The pool the passes share their work with (nullptr: none), and where
  // the products pack their panels of B (GemmArgs::pack), gemm_pack_stride
  // floats per thread: kGemmPackBFloats (32 KiB on x86-64), or
  // kGemmPackFloats (128 KiB) where the weight gradients may pack A as well
  // (internal::WeightGradientsMayPackA; src/gemm_choice.h).
  ThreadPool::Impl* pool = nullptr;
  size_t gemm_pack_stride;
  internal::Buffer gemm_pack;

  internal::Team team() { return {pool, gemm_pack.data(), gemm_pack_stride}; }
};

}  // namespace elman

#endif  // ELMAN_SRC_WORKSPACE_IMPL_H_
