// What ForwardSequence and FusedStep (src/forward_sequence-inl.h) read:
// the shape, the weights in the layouts the kernels take, and the buffers of
// a run of steps. It holds nothing that depends on the SIMD target, so a
// Stream keeps one, filled when it is made, and Step passes it by
// reference instead of assembling it at every call (at H = 32 on Zen 5 that
// assembly, a dozen stores read back at once by the kernel, was 3 ns of a
// 49 ns step).
#ifndef ELMAN_SRC_FORWARD_SEQUENCE_ARGS_H_
#define ELMAN_SRC_FORWARD_SEQUENCE_ARGS_H_

#include <cstddef>

#include "elman/model.h"
#include "src/thread_pool.h"

namespace elman::internal {

struct ForwardSequenceArgs {
  Dims dims;
  size_t steps = 0, batch = 0;
  Activation hidden_activation = Activation::kTanh;
  Activation output_activation = Activation::kIdentity;
  const float* x = nullptr;  ///< [steps][B][I]
  /// Wᵀ, I×H, and Vᵀ, H×O: the column form's layout (FusedStep). Where
  /// they are null, the hoisted projections (ForwardSequence above the
  /// fused path) read W and V themselves (GemmArgs::b_transposed); on the
  /// fused path they are null where the steps do not read them (quads; a
  /// dense layer by V's rows, FusedDenseLayerReadsTransposed).
  const float* w_transposed = nullptr;
  const float* v_transposed = nullptr;
  const float* u_transposed = nullptr;  ///< Uᵀ, H×H
  const float* w = nullptr;             ///< W, H×I
  const float* v = nullptr;             ///< V, O×H (FusedStep's row form)
  const float* bias_hidden = nullptr;   ///< b
  const float* bias_output = nullptr;   ///< c
  /// Wᵀ, Uᵀ and b (as a 1 × H matrix) in quads (src/quads.h), or nullptr:
  /// where a Stream or Forward's workspace holds them (internal::UsesQuads,
  /// AVX-512), their steps run QuadFusedSteps over them.
  const float* w_quads = nullptr;
  const float* u_quads = nullptr;
  const float* b_quads = nullptr;
  /// Uᵀ in panels (src/panels.h), or nullptr. One sequence above
  /// kMatVecMaxHidden (internal::UsesPanels) then runs its recurrence as
  /// matrix-vector products over them; B > 1 reads them as the recurrence's
  /// GemmArgs::b_panels, packed once a pass instead of once a step.
  const float* u_panels = nullptr;
  /// h(−1): B rows, h_initial_stride floats apart; nullptr means zero (step
  /// 0 is then P(0) alone, no product).
  const float* h_initial = nullptr;
  size_t h_initial_stride = 0;
  float* pre_hidden = nullptr;  ///< ĥ, [steps][B][H]
  float* hidden = nullptr;      ///< h, [steps][B][H]
  float* pre_output = nullptr;  ///< ŷ, [steps][B][O]
  float* y = nullptr;           ///< [steps][B][O]
  float* pack = nullptr;        ///< GemmArgs::pack
  /// The threads the products run on (src/parallel_gemm-inl.h); by default
  /// the calling thread alone.
  internal::Team team;
};

}  // namespace elman::internal

#endif  // ELMAN_SRC_FORWARD_SEQUENCE_ARGS_H_
