// Training forward, eq. 7.10, restructured as DESIGN.md §3 describes:
//   1. P = X Wᵀ + b for all T·B rows at once (one product, before the loop);
//   2. for t = 0…T−1: ĥ(t) = P(t) + h(t−1) Uᵀ, h(t) = f(ĥ(t)) — the only
//      sequential part, one matrix-vector product (B = 1) or small product
//      (B > 1) per step with the activation fused into its store;
//   3. Ŷ = H Vᵀ + c for all steps at once, y = g(Ŷ) fused into its store.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/forward.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
// Must come after foreach_target.h.
#include "hwy/highway.h"
#include "src/kernels/gemm-inl.h"
#include "src/workspace_impl.h"

HWY_BEFORE_NAMESPACE();
namespace elman::HWY_NAMESPACE {

// Runs on a workspace whose x, h0 block and transposed weights are filled.
void ForwardPass(const Model* model, Workspace::Impl* ws, float* y) {
  const Dims dims = model->dims();
  const size_t steps = ws->seq.steps, batch = ws->seq.batch;
  const size_t rows = steps * batch;
  const size_t block = batch * dims.hidden;  // one time step of h or ĥ
  const Parameters& params = model->parameters();

  // 1. P = X Wᵀ + b, written into ĥ.
  GemmArgs input_projection;
  input_projection.m = rows;
  input_projection.n = dims.hidden;
  input_projection.k = dims.input;
  input_projection.a = ws->x.data();
  input_projection.a_row = dims.input;
  input_projection.b = ws->w_transposed.data();
  input_projection.ldb = dims.hidden;
  input_projection.c = ws->pre_hidden.data();
  input_projection.ldc = dims.hidden;
  input_projection.init = GemmInit::kBias;
  input_projection.bias = params.b().data();
  input_projection.pack = ws->gemm_pack.data();
  Gemm(input_projection);

  // 2. The recurrence. Without h0, h(−1) = 0 and step 0 is P(0) alone.
  GemmArgs recurrence;
  recurrence.m = batch;
  recurrence.n = dims.hidden;
  recurrence.a_row = dims.hidden;
  recurrence.b = ws->u_transposed.data();
  recurrence.ldb = dims.hidden;
  recurrence.ldc = dims.hidden;
  recurrence.init = GemmInit::kAccumulate;
  recurrence.epilogue = GemmEpilogue::kStoreAndActivate;
  recurrence.activation = model->hidden_activation();
  recurrence.ld_extra = dims.hidden;
  recurrence.pack = ws->gemm_pack.data();
  // Step t reads h(t−1) (hidden block t), completes ĥ(t) and writes h(t)
  // (block t + 1); every pointer moves on by one block per step.
  recurrence.k = dims.hidden;
  recurrence.a = ws->hidden.data();
  recurrence.c = ws->pre_hidden.data();
  recurrence.activated = ws->hidden.data() + block;
  const auto one_block = static_cast<ptrdiff_t>(block);
  GemmSteps forward_in_time{steps, one_block, one_block, one_block};
  if (!ws->has_h0) {
    recurrence.k = 0;  // ĥ(0) = P(0): activate it alone
    Gemm(recurrence);
    recurrence.k = dims.hidden;
    recurrence.a += block;
    recurrence.c += block;
    recurrence.activated += block;
    --forward_in_time.count;
  }
  GemmSequence(recurrence, forward_in_time);

  // 3. Ŷ = H Vᵀ + c, y = g(Ŷ).
  GemmArgs output_projection;
  output_projection.m = rows;
  output_projection.n = dims.output;
  output_projection.k = dims.hidden;
  output_projection.a = ws->hidden.data() + block;
  output_projection.a_row = dims.hidden;
  output_projection.b = ws->v_transposed.data();
  output_projection.ldb = dims.output;
  output_projection.c = ws->pre_output.data();
  output_projection.ldc = dims.output;
  output_projection.init = GemmInit::kBias;
  output_projection.bias = params.c().data();
  output_projection.epilogue = GemmEpilogue::kStoreAndActivate;
  output_projection.activation = model->output_activation();
  output_projection.activated = y;
  output_projection.ld_extra = dims.output;
  output_projection.pack = ws->gemm_pack.data();
  Gemm(output_projection);
}

}  // namespace elman::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <algorithm>

#include "elman/train.h"
#include "src/validate.h"

namespace elman {
HWY_EXPORT(ForwardPass);

void Forward(const Model& model, std::span<const float> x, SequenceShape seq,
             std::span<const float> h0, Workspace& workspace,
             std::span<float> y) {
  constexpr const char* kFunction = "elman::Forward";
  Workspace::Impl& ws = workspace.impl();
  const Dims dims = model.dims();
  internal::CheckSameDims(kFunction, "workspace", ws.dims, dims);
  internal::CheckSequence(kFunction, seq, ws.max_steps, ws.max_batch);
  const size_t rows = seq.steps * seq.batch;
  internal::CheckSize(kFunction, "x", x.size(), rows * dims.input,
                      "steps*batch*input");
  internal::CheckOptionalSize(kFunction, "h0", h0.size(),
                              seq.batch * dims.hidden, "batch*hidden");
  internal::CheckSize(kFunction, "y", y.size(), rows * dims.output,
                      "steps*batch*output");
  internal::CheckFinite(kFunction, "x", x);
  internal::CheckFinite(kFunction, "h0", h0);

  // Everything is valid: from here on nothing throws.
  const Parameters& params = model.parameters();
  ws.seq = seq;
  ws.has_h0 = !h0.empty();
  std::copy(x.begin(), x.end(), ws.x.data());
  float* h_initial = ws.hidden.data();
  if (ws.has_h0) {
    std::copy(h0.begin(), h0.end(), h_initial);
  } else {
    std::fill_n(h_initial, seq.batch * dims.hidden, 0.0f);
  }
  internal::Transpose(params.W().data(), dims.hidden, dims.input,
                      ws.w_transposed.data());
  internal::Transpose(params.U().data(), dims.hidden, dims.hidden,
                      ws.u_transposed.data());
  internal::Transpose(params.V().data(), dims.output, dims.hidden,
                      ws.v_transposed.data());
  HWY_DYNAMIC_DISPATCH(ForwardPass)(&model, &ws, y.data());
}

}  // namespace elman
#endif  // HWY_ONCE
