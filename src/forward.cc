// Training forward, eq. 7.10, restructured as DESIGN.md §3 describes (the
// input projection for all T·B rows, the recurrence step by step, the output
// projection for all rows; src/forward_sequence-inl.h), storing ĥ, h and ŷ
// in the workspace for Backward.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/forward.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
// Must come after foreach_target.h.
#include "hwy/highway.h"
#include "src/forward_sequence-inl.h"
#include "src/kernels/transpose-inl.h"
#include "src/quads.h"
#include "src/workspace_impl.h"

HWY_BEFORE_NAMESPACE();
namespace elman::HWY_NAMESPACE {

// The fused steps' copies of the weights (one sequence, H ≤ 64: a few
// thousand floats, made here, on this target, so that they are the layout
// this target's steps read): on AVX-512 at H = 16, 32 and 64 W, U and b in
// quads, packed from the model's rows, for the Stream's kernel
// (QuadFusedSteps); otherwise Wᵀ and Uᵀ for the column form. Vᵀ where the
// dense layer reads it (FusedDenseLayerReadsTransposed: wider layers; the
// narrower read V's rows). Each copy's pointer is set in `sequence` where,
// and only where, the copy is made.
void CopyFusedStepWeights(const Parameters& params, Workspace::Impl* ws,
                          ForwardSequenceArgs& sequence) {
  const Dims dims = ws->dims;
  if (FusedDenseLayerReadsTransposed(dims)) {
    TransposeRows(params.V().data(), dims.hidden, ws->v_transposed.data(),
                  dims.output, 0, dims.output);
    sequence.v_transposed = ws->v_transposed.data();
  }
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
  if (internal::UsesQuads(ws->seq.batch, dims.hidden)) {
    PackQuadsFromRowsByVectors(params.W().data(), dims.input, dims.hidden,
                               ws->w_quads.data());
    PackQuadsFromRowsByVectors(params.U().data(), dims.hidden, dims.hidden,
                               ws->u_quads.data());
    PackQuadsFromRowsByVectors(params.b().data(), 1, dims.hidden,
                               ws->b_quads.data());
    sequence.w_quads = ws->w_quads.data();
    sequence.u_quads = ws->u_quads.data();
    sequence.b_quads = ws->b_quads.data();
    return;
  }
#endif
  TransposeRows(params.W().data(), dims.input, ws->w_transposed.data(),
                dims.hidden, 0, dims.hidden);
  TransposeRows(params.U().data(), dims.hidden, ws->u_transposed.data(),
                dims.hidden, 0, dims.hidden);
  sequence.w_transposed = ws->w_transposed.data();
  sequence.u_transposed = ws->u_transposed.data();
}

// Runs on a workspace whose x and h0 block are filled, and Uᵀ where a pass
// above the fused steps reads it.
void ForwardPass(const Model* model, Workspace::Impl* ws, float* y) {
  const Dims dims = model->dims();
  const Parameters& params = model->parameters();
  const size_t block = ws->seq.batch * dims.hidden;  // one step of h
  ForwardSequenceArgs sequence;
  sequence.dims = dims;
  sequence.steps = ws->seq.steps;
  sequence.batch = ws->seq.batch;
  sequence.hidden_activation = model->hidden_activation();
  sequence.output_activation = model->output_activation();
  sequence.x = ws->x.data();
  if (ws->ReadsRecurrentPanels()) {
    sequence.u_panels = ws->u_transposed_panels.data();
  }
  sequence.w = params.W().data();
  sequence.v = params.V().data();
  if (ws->ReadsTransposedWeights()) {
    CopyFusedStepWeights(params, ws, sequence);
  } else {
    // Uᵀ as Forward copied it, where a pass above the fused steps reads it.
    sequence.u_transposed = ws->u_transposed.data();
  }
  sequence.bias_hidden = params.b().data();
  sequence.bias_output = params.c().data();
  // Hidden block 0 is h0; without h0, h(−1) = 0 and step 0 is P(0) alone.
  sequence.h_initial = ws->has_h0 ? ws->hidden.data() : nullptr;
  sequence.h_initial_stride = dims.hidden;
  sequence.pre_hidden = ws->pre_hidden.data();
  sequence.hidden = ws->hidden.data() + block;  // h(t) is block t + 1
  sequence.pre_output = ws->pre_output.data();
  sequence.y = y;
  sequence.pack = ws->gemm_pack.data();
  sequence.team = ws->team();
  ForwardSequence(sequence);
}

}  // namespace elman::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <algorithm>

#include "elman/train.h"
#include "src/dispatch.h"
#include "src/fused_path.h"
#include "src/panels.h"
#include "src/thread_pool.h"
#include "src/transpose.h"
#include "src/validate.h"

namespace elman {
HWY_EXPORT(ForwardPass);

namespace {

// Copies are shared out only in parts of at least this many floats (a few
// microseconds each, against the fork and join's one).
constexpr double kMinCopyFloatsPerPart = 1 << 16;

// `part`'s share of dst = srcᵀ (src: rows × cols): whole strips of rows.
void TransposeShare(const internal::Part& part, const float* src, size_t rows,
                    size_t cols, float* dst) {
  const size_t strips =
      (rows + internal::kTransposeStrip - 1) / internal::kTransposeStrip;
  const internal::Range mine = part.Share(strips);
  internal::TransposeRows(src, cols, dst, rows,
                          mine.begin * internal::kTransposeStrip,
                          std::min(rows, mine.end * internal::kTransposeStrip));
}

}  // namespace

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
  float* h_initial = ws.hidden.data();
  // h0 may be this workspace's own final_hidden() (truncated BPTT): block T
  // of the previous sequence, T ≥ 1, so it never overlaps block 0, and it is
  // read here before the pass overwrites it.
  if (ws.has_h0) {
    std::copy(h0.begin(), h0.end(), h_initial);
  } else {
    std::fill_n(h_initial, seq.batch * dims.hidden, 0.0f);
  }
  // The copy of x and of Uᵀ, each thread of the pool (if any) its share of
  // the rows. (At H = 512, B = 1, moving one float at a time, the copies of
  // the weights were 8 % of a training step on one thread; the tile
  // transposes, src/kernels/transpose-inl.h, took that step 9 % less time.)
  const internal::Team team = ws.team();
  // Uᵀ itself, for the passes above the fused steps that may read it in
  // place (up to kMatVecMaxHidden; B > 1's GEMM on a target whose column
  // panels do not fit the layout). One sequence above that reads Uᵀ in
  // panels only. The fused steps' copies are ForwardPass's; the hoisted
  // projections pack their panels from W and V themselves (at H = 512,
  // I = O = 256, B = 1 on Zen 4 perf had put the transposed copies of W and
  // V at 3.5 % of Forward, 13 % in one of the VM's slow spells; the
  // transposing packs cost about what the plain ones did, and Forward
  // measured 0–3 % faster without the copies).
  const bool transpose_u = !ws.ReadsTransposedWeights() &&
                           !internal::UsesPanels(seq.batch, dims.hidden);
  const double floats = static_cast<double>(
      x.size() + (transpose_u ? dims.hidden * dims.hidden : 0));
  const auto copy_share = [&](const internal::Part& part) {
    const internal::Range x_rows = part.Share(rows);
    std::copy(x.begin() + x_rows.begin * dims.input,
              x.begin() + x_rows.end * dims.input,
              ws.x.data() + x_rows.begin * dims.input);
    if (transpose_u) {
      TransposeShare(part, params.U().data(), dims.hidden, dims.hidden,
                     ws.u_transposed.data());
    }
  };
  // Then Uᵀ in panels, where the recurrence reads it so, packed straight
  // from U: no part waits for Uᵀ to be whole.
  const internal::PanelCopy u_copy{ws.ReadsRecurrentPanels(),
                                   params.U().data(),
                                   {dims.hidden, dims.hidden},
                                   ws.u_transposed_panels.data(),
                                   /*from_transpose=*/true};
  internal::RunParts(team, team.PartsFor(floats, kMinCopyFloatsPerPart),
                     [&](const internal::Part& part) {
                       copy_share(part);
                       u_copy.PackShare(part);
                     });
  ELMAN_DISPATCH(ForwardPass)(&model, &ws, y.data());
}

}  // namespace elman
#endif  // HWY_ONCE
