// The forward pass of eq. 7.10 over a run of steps, shaped as DESIGN.md §3
// describes:
//   1. P = X Wᵀ + b for all steps·B rows at once (one product);
//   2. ĥ(t) = P(t) + h(t−1) Uᵀ, h(t) = f(ĥ(t)) step by step — the only
//      sequential part, with f fused into the product's store;
//   3. Ŷ = H Vᵀ + c, y = g(Ŷ) for all rows at once.
// Shared by the training Forward (the whole sequence, storing ĥ, h and ŷ for
// Backward) and Stream::Run (one chunk of steps at a time).
//
// One sequence (B = 1) of a small H (internal::UsesFusedSteps) runs step by
// step instead, each step one FusedStep: the projections of a step are then
// too small for a product over all steps to pay for its call and extra pass,
// and the input and output projections of step t overlap, out of order, with
// the latency-bound chain h(t−1) → ĥ(t) → h(t) of the recurrence. Up to
// internal::kMatVecMaxHidden, one sequence's recurrence (step 2) runs on the
// matrix-vector kernel rather than the GEMM, and above it over Uᵀ in panels
// (src/panels.h) where the caller provides them.
#if defined(ELMAN_SRC_FORWARD_SEQUENCE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ELMAN_SRC_FORWARD_SEQUENCE_INL_H_
#undef ELMAN_SRC_FORWARD_SEQUENCE_INL_H_
#else
#define ELMAN_SRC_FORWARD_SEQUENCE_INL_H_
#endif

#include <algorithm>
#include <cstddef>

#include "elman/model.h"
#include "hwy/highway.h"
#include "src/forward_sequence_args.h"
#include "src/fused_path.h"
#include "src/kernels/activation-inl.h"
#include "src/kernels/gemm-inl.h"
#include "src/kernels/matvec-inl.h"
#include "src/panels.h"
#include "src/parallel_gemm-inl.h"
#include "src/thread_pool.h"

HWY_BEFORE_NAMESPACE();
namespace elman::HWY_NAMESPACE {

// The struct is target-independent (src/forward_sequence_args.h), so that
// a Stream can hold one, built when it is made.
using ForwardSequenceArgs = internal::ForwardSequenceArgs;

/// FusedStep's dense layer y = g(c + h·Vᵀ), off the recurrence's critical
/// path, with g applied to the sums in registers: one dot product per
/// output for O ≤ kRowFormMaxOutputs (MatVecRows), else the column form.
HWY_INLINE void DenseLayer(const ForwardSequenceArgs& s, const float* hidden,
                           float* pre_output, float* y) {
  const Dims dims = s.dims;
  WithActivation(s.output_activation, [&](auto tag) HWY_ATTR {
    constexpr Activation kOutputActivation = decltype(tag)::value;
    if (dims.output <= kRowFormMaxOutputs) {
      MatVecRows<kOutputActivation>(s.v, dims.hidden, dims.output, hidden,
                                    dims.hidden, s.bias_output, pre_output, y);
    } else {
      const MatVecTerm output_term{hidden, dims.hidden, s.v_transposed,
                                   dims.output};
      MatVecColumns(&output_term, 1, dims.output, s.bias_output,
                    StoreAndActivate<kOutputActivation>{pre_output, y});
    }
  });
}

#if HWY_TARGET <= HWY_AVX2 && !HWY_HAVE_SCALABLE
/// H's whole vectors where a fused step is one kernel (PanelFusedStep, and
/// on AVX-512 QuadFusedSteps): 1, 2 or 4; else 0, the generic FusedStep.
constexpr size_t PanelFusedHiddenVecs(size_t hidden) {
  constexpr size_t kLanes = hn::MaxLanes(hn::ScalableTag<float>());
  const size_t vecs = hidden % kLanes == 0 ? hidden / kLanes : 0;
  return vecs == 1 || vecs == 2 || vecs == 4 ? vecs : 0;
}
#endif

/// Whether the fused steps' dense layer reads Vᵀ (s.v_transposed) at these
/// dims on this target, so that Forward copies it only then: where H is 1,
/// 2 or 4 whole vectors on AVX2 and AVX-512 (PanelFusedStep, and
/// QuadFusedSteps, whose dense layer is PanelFusedStep's) above a vector of
/// outputs, which V's rows serve up to (PanelDenseLayer); elsewhere
/// (FusedStep's generic form, DenseLayer) above kRowFormMaxOutputs.
HWY_INLINE bool FusedDenseLayerReadsTransposed(const Dims& dims) {
#if HWY_TARGET <= HWY_AVX2 && !HWY_HAVE_SCALABLE
  if (PanelFusedHiddenVecs(dims.hidden) != 0) {
    return dims.output > hn::MaxLanes(hn::ScalableTag<float>());
  }
#endif
  return dims.output > kRowFormMaxOutputs;
}

#if HWY_TARGET <= HWY_AVX2 && !HWY_HAVE_SCALABLE
/// PanelFusedStep's ĥ = b + x·Wᵀ + h·Uᵀ and h = f(ĥ) in column form, f
/// chosen per vector of sums; h_previous == nullptr means h(−1) = 0.
template <size_t kHiddenVecs>
HWY_INLINE void ColumnFormHidden(const ForwardSequenceArgs& s, const float* x,
                                 const float* h_previous, float* pre_hidden,
                                 float* hidden) {
  using matvec_detail::ColumnPanel;
  const hn::ScalableTag<float> d;
  constexpr size_t kHidden = kHiddenVecs * hn::MaxLanes(d);
  const MatVecTerm terms[2] = {{x, s.dims.input, s.w_transposed, kHidden},
                               {h_previous, kHidden, s.u_transposed, kHidden}};
  const StoreAndActivateAny epilogue{pre_hidden, hidden, s.hidden_activation};
  if (h_previous != nullptr) {
    ColumnPanel<kHiddenVecs, kHidden, kHidden>(d, terms, 2, kHidden, 0,
                                               s.bias_hidden, epilogue);
  } else {  // x·Wᵀ alone
    ColumnPanel<kHiddenVecs, 0, kHidden>(d, terms, 1, kHidden, 0, s.bias_hidden,
                                         epilogue);
  }
}

// PanelFusedStep's dense layer from h in memory: the reduced rows up to a
// vector of outputs, a panel of two vectors with H's depth unrolled,
// DenseLayer's forms otherwise.
template <size_t kHiddenVecs>
HWY_INLINE void PanelDenseLayer(const ForwardSequenceArgs& s,
                                const float* hidden, float* pre_output,
                                float* y) {
  using matvec_detail::ColumnPanel;
  const hn::ScalableTag<float> d;
  constexpr size_t kLanes = hn::MaxLanes(d);
  constexpr size_t kHidden = kHiddenVecs * kLanes;
  const size_t outputs = s.dims.output;
  if (outputs <= kRowFormMaxOutputs || outputs > 2 * kLanes) {
    return DenseLayer(s, hidden, pre_output, y);
  }
  const StoreAndActivateAny output_epilogue{pre_output, y, s.output_activation};
  if (outputs <= kLanes) {
    MatVecRowsReduced<kHiddenVecs>(s.v, outputs, hidden, s.bias_output,
                                   output_epilogue);
  } else {
    const MatVecTerm output_term{hidden, kHidden, s.v_transposed, outputs};
    ColumnPanel<2, kHidden>(d, &output_term, 1, outputs, 0, s.bias_output,
                            output_epilogue);
  }
}

#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
// h = f(ĥ) into `h` for ĥ in registers (QuadFusedSteps' sums), f applied to
// all of ĥ under one branch: the activation's constants are loaded once for
// all kHiddenVecs vectors, where choosing per vector loaded them once each
// (the tanh's: about 17 per vector). ĥ is stored at pre_hidden unless that
// is null.
template <size_t kHiddenVecs, class D>
HWY_INLINE void QuadsActivate(D d, const ForwardSequenceArgs& s,
                              const hn::Vec<D> (&sums)[kHiddenVecs],
                              float* pre_hidden, hn::Vec<D> (&h)[kHiddenVecs]) {
  if (pre_hidden != nullptr) {
#pragma GCC unroll 4
    for (size_t v = 0; v < kHiddenVecs; ++v) {
      hn::StoreU(sums[v], d, pre_hidden + v * hn::MaxLanes(d));
    }
  }
  WithActivation(s.hidden_activation, [&](auto tag) HWY_ATTR {
#pragma GCC unroll 4
    for (size_t v = 0; v < kHiddenVecs; ++v) {
      h[v] = Activate<decltype(tag)::value>(d, sums[v]);
    }
  });
}

// The dense layer of QuadFusedSteps, up to a vector of outputs from h in
// registers (reloading the h just stored made Stream::Step at H = 64,
// I = O = 16 1.04× slower on Zen 5, and at H = 16, I = O = 4 1.2×), wider
// ones from `hidden`, which holds the same h.
template <size_t kHiddenVecs, class D>
HWY_INLINE void QuadsDenseLayer(D d, const ForwardSequenceArgs& s,
                                const hn::Vec<D> (&h)[kHiddenVecs],
                                const float* hidden, float* pre_output,
                                float* y) {
  const size_t outputs = s.dims.output;
  if (outputs <= kRowFormMaxOutputs) {
    return WithActivation(s.output_activation, [&](auto tag) HWY_ATTR {
      MatVecRowsOf<kHiddenVecs, decltype(tag)::value>(
          d, s.v, outputs, h, s.bias_output, pre_output, y);
    });
  }
  if (outputs <= hn::MaxLanes(d)) {
    const StoreAndActivateAny output_epilogue{pre_output, y,
                                              s.output_activation};
    return MatVecRowsReducedOf<kHiddenVecs>(d, s.v, outputs, h, s.bias_output,
                                            output_epilogue);
  }
  PanelDenseLayer<kHiddenVecs>(s, hidden, pre_output, y);
}

/// `steps` steps of one sequence over the weights in quads (s.w_quads set),
/// the whole of each step in one kernel as in PanelFusedStep: Stream::Run,
/// Stream::Step (steps = 1) and the training Forward (kKeepAll) of one
/// sequence at H = 16, 32 or 64 on AVX-512, the same kernel, so the same
/// bits. Each step's ĥ loads 15 % fewer times at H = 64 than the column
/// form (src/quads.h). h(t) stays in registers from one step to the next,
/// and each step's ĥ takes h(t−1) by in-register block broadcasts
/// (MatVecQuads). Of what inference does not keep, ĥ is not stored and
/// ŷ(t) goes to the same O floats at pre_output every step; the last h is
/// stored at `hidden` (H floats), and every h(t) where the dense layer
/// reads it from memory (O above a vector). With kKeepAll (the training
/// forward), ĥ(t), h(t) and ŷ(t) of every step go to row t of
/// s.pre_hidden, `hidden` and pre_output. h_initial (H floats) is h(−1), or
/// nullptr for h(−1) = 0. Measured against the same operations a call a
/// step, h through memory (Zen 5, alternated): Run 1.08–1.10× faster at
/// H = 16 and 32 and at the seed's shape, Step 1.02× at H = 64, and Run at
/// H = 64, I = O = 16 0.98×; that form also took twice as long whenever
/// the core did not forward the h just stored to the next step's broadcast
/// loads (see MatVecQuads). A dense layer wider than a vector still reads
/// h(t) back from memory.
template <size_t kHiddenVecs, bool kKeepAll = false,
          bool kDenseLayerLate = kKeepAll>
HWY_NOINLINE void QuadFusedSteps(const ForwardSequenceArgs& s, const float* x,
                                 size_t steps, const float* h_initial,
                                 float* hidden, float* pre_output, float* y) {
  const hn::ScalableTag<float> d;
  using V = hn::Vec<decltype(d)>;
  constexpr size_t kLanes = hn::MaxLanes(d);
  const Dims dims = s.dims;
  // Only a dense layer wider than a vector reads h(t) from memory.
  const bool h_in_memory = kKeepAll || dims.output > kLanes;
  V h[kHiddenVecs];
#pragma GCC unroll 4
  for (size_t v = 0; v < kHiddenVecs; ++v) {
    h[v] = h_initial != nullptr ? hn::LoadU(d, h_initial + v * kLanes)
                                : hn::Zero(d);
  }
  // ŷ(step) = c + V·h(step), h(step) in h (and at its row of `hidden` where
  // the dense layer reads it from memory).
  auto dense_layer = [&](size_t step) HWY_ATTR ELMAN_LAMBDA_INLINE {
    QuadsDenseLayer<kHiddenVecs>(
        d, s, h, hidden + (kKeepAll ? step * dims.hidden : 0),
        pre_output + (kKeepAll ? step * dims.output : 0),
        y + step * dims.output);
  };
  // kDenseLayerLate (the training forward, and Stream::Run) issues ŷ(t − 1)
  // after step t's product: on the chain h(t−1) → ĥ(t) → h(t) the core
  // issues ready operations oldest first, and a dense layer placed before
  // that product took the FMA and shuffle ports from it as soon as h(t−1)
  // was ready (Forward at the seed's shape 0.773 → 0.734 µs, Zen 5). The
  // loop then runs once more than there are steps, for the last ŷ alone.
  // Stream::Step keeps ŷ(t) right after h(t): so ordered, it took
  // 1.05–1.09× as long at H = 64 in elman_bench_peers (ĥ(t) and h(t − 1)
  // live across the dense layer, and GCC spilled them at H = 64).
  const size_t passes = kDenseLayerLate ? steps + 1 : steps;
  for (size_t t = 0; t < passes; ++t) {
    V sums[kHiddenVecs];
    if (!kDenseLayerLate || t < steps) {
      MatVecQuads(d, x + t * dims.input, dims.input, s.w_quads, h, s.u_quads,
                  s.b_quads, sums);
    }
    if (kDenseLayerLate) {
      if (t > 0) dense_layer(t - 1);  // h holds h(t − 1)
      if (t == steps) break;
    }
    const size_t hidden_row = kKeepAll ? t * dims.hidden : 0;
    // h(t) into its own array, then copied: the same step with h updated
    // in place made Run at H = 32, I = O = 8 1.03–1.05× slower (Zen 5,
    // alternated; the same bits, another schedule from GCC).
    V h_next[kHiddenVecs];
    QuadsActivate<kHiddenVecs>(
        d, s, sums, kKeepAll ? s.pre_hidden + hidden_row : nullptr, h_next);
#pragma GCC unroll 4
    for (size_t v = 0; v < kHiddenVecs; ++v) h[v] = h_next[v];
    if (h_in_memory) {
#pragma GCC unroll 4
      for (size_t v = 0; v < kHiddenVecs; ++v) {
        hn::StoreU(h[v], d, hidden + hidden_row + v * kLanes);
      }
    }
    if (!kDenseLayerLate) dense_layer(t);
  }
  if (!kKeepAll) {
#pragma GCC unroll 4
    for (size_t v = 0; v < kHiddenVecs; ++v) {
      hn::StoreU(h[v], d, hidden + v * kLanes);
    }
  }
}

// QuadFusedSteps for the sequence's H (16, 32 or 64: one, two or four
// units): Stream's steps, and with kKeepAll the training forward.
template <bool kKeepAll = false, bool kDenseLayerLate = kKeepAll>
HWY_INLINE void QuadFusedStepsOfHidden(const ForwardSequenceArgs& s,
                                       const float* x, size_t steps,
                                       const float* h_initial, float* hidden,
                                       float* pre_output, float* y) {
  WithQuadUnits(s.dims.hidden, [&](auto units) HWY_ATTR {
    QuadFusedSteps<decltype(units)::value, kKeepAll, kDenseLayerLate>(
        s, x, steps, h_initial, hidden, pre_output, y);
  });
}
#endif

/// FusedStep where H is 1, 2 or 4 whole vectors, on AVX2 and AVX-512 (the
/// targets that carry the latency path on x86-64): the whole step in one
/// kernel, every loop over H unrolled with constant offsets (ColumnPanel's
/// kFixedDepth and kFixedLd), f and g chosen per vector of sums rather than
/// per kernel, and for O up to a vector the dense layer by rows
/// (MatVecRowsReduced). Through the generic kernels one Stream::Step at
/// H = 32, I = O = 8 executed 830 instructions for its 112 FMAs (counted by
/// single-stepping it): loop counters, address updates, remainder tests
/// and two calls with their frames, 282 of them around the dense layer's
/// 32 FMAs. It also issued about 220 loads (broadcasts and vectors), 65 of
/// them in the dense layer, and on Zen 5, which completes two a cycle, the
/// loads weigh most: reduced rows take 19. Each change measured alone on
/// Zen 5: README, "What limits it". (A Stream on AVX-512 holds its weights
/// in quads and runs QuadFusedSteps instead.)
/// Every step of a shape takes this path, h(−1) = 0 included, so Run and
/// Step agree bit for bit where both step through FusedStep.
template <size_t kHiddenVecs>
HWY_NOINLINE void PanelFusedStep(const ForwardSequenceArgs& s, const float* x,
                                 const float* h_previous, float* pre_hidden,
                                 float* hidden, float* pre_output, float* y) {
  // The column form's f is applied inside its epilogue, one branch per
  // vector, so its h is in memory for the dense layer.
  ColumnFormHidden<kHiddenVecs>(s, x, h_previous, pre_hidden, hidden);
  PanelDenseLayer<kHiddenVecs>(s, hidden, pre_output, y);
}
#endif

/// One step of one sequence, eq. 7.10:
///   ĥ = b + x·Wᵀ + h_previous·Uᵀ, h = f(ĥ)   (one column-form product with
///                                              two terms, f in registers)
///   ŷ = c + h·Vᵀ (column form) or V·h (row form for O ≤
///   kRowFormMaxOutputs), y = g(ŷ) in registers
/// h_previous == nullptr means h(−1) = 0. `hidden` must not overlap
/// h_previous (a panel of h is stored while the next panel still reads
/// h(t−1)).
HWY_INLINE void FusedStep(const ForwardSequenceArgs& s, const float* x,
                          const float* h_previous, float* pre_hidden,
                          float* hidden, float* pre_output, float* y) {
  const Dims dims = s.dims;
#if HWY_TARGET <= HWY_AVX2 && !HWY_HAVE_SCALABLE
  switch (PanelFusedHiddenVecs(dims.hidden)) {
    case 1:
      return PanelFusedStep<1>(s, x, h_previous, pre_hidden, hidden, pre_output,
                               y);
    case 2:
      return PanelFusedStep<2>(s, x, h_previous, pre_hidden, hidden, pre_output,
                               y);
    case 4:
      return PanelFusedStep<4>(s, x, h_previous, pre_hidden, hidden, pre_output,
                               y);
    default:
      break;  // the generic form below
  }
#endif
  const MatVecTerm terms[2] = {
      {x, dims.input, s.w_transposed, dims.hidden},
      {h_previous, dims.hidden, s.u_transposed, dims.hidden}};
  const size_t num_terms = h_previous != nullptr ? 2 : 1;
  WithActivation(s.hidden_activation, [&](auto tag) {
    MatVecColumns(terms, num_terms, dims.hidden, s.bias_hidden,
                  StoreAndActivate<decltype(tag)::value>{pre_hidden, hidden});
  });
  DenseLayer(s, hidden, pre_output, y);
}

// The recurrence as products of B rows per step, on the team's threads
// (TeamRecurrence). Step 0 reads h(−1); step t > 0 reads h(t−1), one block
// back in `hidden`, and every pointer moves on a block per step.
HWY_INLINE void GemmRecurrence(const ForwardSequenceArgs& s) {
  const Dims dims = s.dims;
  const size_t block = s.batch * dims.hidden;  // one step of ĥ or h
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
  recurrence.b_panels = s.u_panels;
  GemmArgs rest = recurrence;
  rest.k = dims.hidden;
  rest.a = s.hidden;
  rest.a_row = dims.hidden;
  rest.c = s.pre_hidden + block;
  rest.activated = s.hidden + block;
  const auto one_block = static_cast<ptrdiff_t>(block);
  TeamRecurrence(s.team, &recurrence, rest,
                 GemmSteps{s.steps - 1, one_block, one_block, one_block});
}

// The recurrence of one sequence, a matrix-vector product a step with P(t)
// (already in ĥ(t)) as its init and f in registers.
HWY_INLINE void MatVecRecurrence(const ForwardSequenceArgs& s) {
  const size_t n = s.dims.hidden;
  WithActivation(s.hidden_activation, [&](auto tag) {
    const float* h_previous = s.h_initial;
    for (size_t t = 0; t < s.steps; ++t) {
      float* pre_hidden = s.pre_hidden + t * n;
      float* hidden = s.hidden + t * n;
      const MatVecTerm term{h_previous, n, s.u_transposed, n};
      MatVecColumns(&term, h_previous != nullptr ? 1 : 0, n, pre_hidden,
                    StoreAndActivate<decltype(tag)::value>{pre_hidden, hidden});
      h_previous = hidden;
    }
  });
}

// The recurrence of one sequence above kMatVecMaxHidden: a matrix-vector
// product a step over Uᵀ in panels, with P(t) (already in ĥ(t)) as its init
// and f in registers. On a team each part computes its share of the panels
// of every step, and all wait for each other between steps (step t + 1
// reads all of h(t)) — only where a part's share of a step pays for that
// barrier, as for the GEMM (TeamRecurrence). Every column's sum is the
// one-thread bits. Odd steps read the panels in descending order, so each
// step starts on the end of U that the step before left in cache
// (MatVecPanels).
HWY_INLINE void PanelRecurrence(const ForwardSequenceArgs& s) {
  const size_t n = s.dims.hidden;
  const internal::PanelLayout layout{n, n};
  const size_t parts =
      PanelParts(s.team, n, n, layout.panels(), kMinWorkPerPartStep);
  internal::RunParts(s.team, parts, [&](const internal::Part& part) HWY_ATTR {
    const internal::Range mine = part.Share(layout.panels());
    WithActivation(s.hidden_activation, [&](auto tag) HWY_ATTR {
      const float* h_previous = s.h_initial;
      for (size_t t = 0; t < s.steps; ++t) {
        float* pre_hidden = s.pre_hidden + t * n;
        float* hidden = s.hidden + t * n;
        const PanelTerm term{h_previous, s.u_panels, layout};
        MatVecPanels(&term, h_previous != nullptr ? 1 : 0, n, mine.begin,
                     mine.end, pre_hidden,
                     StoreAndActivate<decltype(tag)::value>{pre_hidden, hidden},
                     /*descending=*/(t & 1) != 0);
        part.Sync();
        h_previous = hidden;
      }
    });
  });
}

// C = 1·biasᵀ + A·Wᵀ over all `rows` rows at once (A: rows × k, W: n × k,
// given as Wᵀ, k × n, where `transposed` is not null, else as W itself,
// packed by transposing copies: GemmArgs::b_transposed; all row-major): a
// projection hoisted out of the time loop, row-invariant when the sequence
// asks for it.
HWY_INLINE GemmArgs HoistedProjection(const ForwardSequenceArgs& s, size_t rows,
                                      const float* a, size_t k,
                                      const float* transposed,
                                      const float* weights, size_t n,
                                      const float* bias, float* c) {
  GemmArgs projection;
  projection.m = rows;
  projection.n = n;
  projection.k = k;
  projection.a = a;
  projection.a_row = k;
  projection.b = transposed != nullptr ? transposed : weights;
  projection.ldb = transposed != nullptr ? n : k;
  projection.b_transposed = transposed == nullptr;
  projection.c = c;
  projection.ldc = n;
  projection.init = GemmInit::kBias;
  projection.bias = bias;
  projection.pack = s.pack;
  // A row comes out the same however many rows share the product, so a
  // sequence cut into chunks (Stream::Run, or Forward in truncated BPTT with
  // final_hidden() carried as h0) gives the bits of one whole run. It costs
  // only the last row tile, computed full height.
  projection.row_invariant = true;
  return projection;
}

HWY_INLINE void ForwardSequence(const ForwardSequenceArgs& s) {
  const Dims dims = s.dims;
  if (internal::UsesFusedSteps(s.batch, dims.hidden)) {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
    // The Stream's kernel, keeping every step's ĥ, h and ŷ, so that Forward
    // gives Stream::Run's bits. Against the column form (Zen 4, alternated,
    // medians of 4–6 minima): the training step 1.02× faster at
    // (4,16,4,50,1) and 1.03× at (16,64,16,100,1), 1.00× at the seed's shape.
    if (s.w_quads != nullptr) {
      return QuadFusedStepsOfHidden</*kKeepAll=*/true>(
          s, s.x, s.steps, s.h_initial, s.hidden, s.pre_output, s.y);
    }
#endif
    const float* h_previous = s.h_initial;
    for (size_t t = 0; t < s.steps; ++t) {
      float* hidden = s.hidden + t * dims.hidden;
      FusedStep(s, s.x + t * dims.input, h_previous,
                s.pre_hidden + t * dims.hidden, hidden,
                s.pre_output + t * dims.output, s.y + t * dims.output);
      h_previous = hidden;
    }
    return;
  }
  const size_t rows = s.steps * s.batch;

  // 1. P = X Wᵀ + b, written into ĥ.
  TeamGemm(s.team,
           HoistedProjection(s, rows, s.x, dims.input, s.w_transposed, s.w,
                             dims.hidden, s.bias_hidden, s.pre_hidden));

  // 2. The recurrence: ĥ(t) = P(t) + h(t−1)·Uᵀ, h(t) = f(ĥ(t)).
  if (internal::UsesMatVec(s.batch, dims.hidden)) {
    MatVecRecurrence(s);
  } else if (s.u_panels != nullptr &&
             internal::UsesPanels(s.batch, dims.hidden)) {
    PanelRecurrence(s);
  } else {
    GemmRecurrence(s);
  }

  // 3. Ŷ = H Vᵀ + c, y = g(Ŷ).
  GemmArgs output_projection =
      HoistedProjection(s, rows, s.hidden, dims.hidden, s.v_transposed, s.v,
                        dims.output, s.bias_output, s.pre_output);
  output_projection.epilogue = GemmEpilogue::kStoreAndActivate;
  output_projection.activation = s.output_activation;
  output_projection.activated = s.y;
  output_projection.ld_extra = dims.output;
  TeamGemm(s.team, output_projection);
}

}  // namespace elman::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // ELMAN_SRC_FORWARD_SEQUENCE_INL_H_
