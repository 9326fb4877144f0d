// The forward pass of eq. 7.10 over a run of steps, shaped as DESIGN.md §3
// describes:
//   1. P = X Wᵀ + b for all steps·B rows at once (one product);
//   2. ĥ(t) = P(t) + h(t−1) Uᵀ, h(t) = f(ĥ(t)) step by step — the only
//      sequential part, with f fused into the product's store;
//   3. Ŷ = H Vᵀ + c, y = g(Ŷ) for all rows at once.
// Shared by the training Forward (the whole sequence, storing ĥ, h and ŷ for
// Backward) and Stream::Run (one chunk of steps at a time).
#if defined(ELMAN_SRC_FORWARD_SEQUENCE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ELMAN_SRC_FORWARD_SEQUENCE_INL_H_
#undef ELMAN_SRC_FORWARD_SEQUENCE_INL_H_
#else
#define ELMAN_SRC_FORWARD_SEQUENCE_INL_H_
#endif

#include <cstddef>

#include "elman/model.h"
#include "hwy/highway.h"
#include "src/kernels/gemm-inl.h"

HWY_BEFORE_NAMESPACE();
namespace elman::HWY_NAMESPACE {

struct ForwardSequenceArgs {
  Dims dims;
  size_t steps = 0, batch = 0;
  Activation hidden_activation = Activation::kTanh;
  Activation output_activation = Activation::kIdentity;
  const float* x = nullptr;             ///< [steps][B][I]
  const float* w_transposed = nullptr;  ///< Wᵀ, I×H
  const float* u_transposed = nullptr;  ///< Uᵀ, H×H
  const float* v_transposed = nullptr;  ///< Vᵀ, H×O
  const float* bias_hidden = nullptr;   ///< b
  const float* bias_output = nullptr;   ///< c
  /// h(−1): B rows, h_initial_stride floats apart; nullptr means zero (step
  /// 0 is then P(0) alone, no product).
  const float* h_initial = nullptr;
  size_t h_initial_stride = 0;
  float* pre_hidden = nullptr;  ///< ĥ, [steps][B][H]
  float* hidden = nullptr;      ///< h, [steps][B][H]
  float* pre_output = nullptr;  ///< ŷ, [steps][B][O]
  float* y = nullptr;           ///< [steps][B][O]
  float* pack = nullptr;        ///< GemmArgs::pack
  /// The projections (1, 3) as row-invariant products (GemmArgs).
  bool row_invariant = false;
};

HWY_INLINE void ForwardSequence(const ForwardSequenceArgs& s) {
  const Dims dims = s.dims;
  const size_t rows = s.steps * s.batch;
  const size_t block = s.batch * dims.hidden;  // one step of ĥ or h

  // 1. P = X Wᵀ + b, written into ĥ.
  GemmArgs input_projection;
  input_projection.m = rows;
  input_projection.n = dims.hidden;
  input_projection.k = dims.input;
  input_projection.a = s.x;
  input_projection.a_row = dims.input;
  input_projection.b = s.w_transposed;
  input_projection.ldb = dims.hidden;
  input_projection.c = s.pre_hidden;
  input_projection.ldc = dims.hidden;
  input_projection.init = GemmInit::kBias;
  input_projection.bias = s.bias_hidden;
  input_projection.pack = s.pack;
  input_projection.row_invariant = s.row_invariant;
  Gemm(input_projection);

  // 2. The recurrence. Step 0 reads h(−1); step t > 0 reads h(t−1), one
  // block back in `hidden`, and every pointer moves on a block per step.
  GemmArgs recurrence;
  recurrence.m = s.batch;
  recurrence.n = dims.hidden;
  recurrence.k = s.h_initial != nullptr ? dims.hidden : 0;
  recurrence.a = s.h_initial;
  recurrence.a_row = s.h_initial_stride;
  recurrence.b = s.u_transposed;
  recurrence.ldb = dims.hidden;
  recurrence.c = s.pre_hidden;
  recurrence.ldc = dims.hidden;
  recurrence.init = GemmInit::kAccumulate;
  recurrence.epilogue = GemmEpilogue::kStoreAndActivate;
  recurrence.activation = s.hidden_activation;
  recurrence.activated = s.hidden;
  recurrence.ld_extra = dims.hidden;
  recurrence.pack = s.pack;
  Gemm(recurrence);
  if (s.steps > 1) {
    recurrence.k = dims.hidden;
    recurrence.a = s.hidden;
    recurrence.a_row = dims.hidden;
    recurrence.c = s.pre_hidden + block;
    recurrence.activated = s.hidden + block;
    const auto one_block = static_cast<ptrdiff_t>(block);
    GemmSequence(recurrence,
                 GemmSteps{s.steps - 1, one_block, one_block, one_block});
  }

  // 3. Ŷ = H Vᵀ + c, y = g(Ŷ).
  GemmArgs output_projection;
  output_projection.m = rows;
  output_projection.n = dims.output;
  output_projection.k = dims.hidden;
  output_projection.a = s.hidden;
  output_projection.a_row = dims.hidden;
  output_projection.b = s.v_transposed;
  output_projection.ldb = dims.output;
  output_projection.c = s.pre_output;
  output_projection.ldc = dims.output;
  output_projection.init = GemmInit::kBias;
  output_projection.bias = s.bias_output;
  output_projection.epilogue = GemmEpilogue::kStoreAndActivate;
  output_projection.activation = s.output_activation;
  output_projection.activated = s.y;
  output_projection.ld_extra = dims.output;
  output_projection.pack = s.pack;
  output_projection.row_invariant = s.row_invariant;
  Gemm(output_projection);
}

}  // namespace elman::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // ELMAN_SRC_FORWARD_SEQUENCE_INL_H_
