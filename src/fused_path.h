// Which kernels the passes use for one sequence (B = 1), by H: the fused
// per-step path, the matrix-vector recurrence, or the GEMM-structured passes
// of DESIGN.md §3 with their sequential products over weights in panels
// (src/panels.h); several sequences always take the GEMM. The thresholds are
// measured (bench/passes_bench.cc, README "How it is built").
#ifndef ELMAN_SRC_FUSED_PATH_H_
#define ELMAN_SRC_FUSED_PATH_H_

#include <algorithm>
#include <cstddef>

namespace elman::internal {

// ELMAN_*_OVERRIDE: for measuring one choice against another in the same
// run (two builds of the benchmark); never set in the library's build.
#ifdef ELMAN_FUSED_STEP_MAX_HIDDEN_OVERRIDE
inline constexpr size_t kFusedStepMaxHidden =
    ELMAN_FUSED_STEP_MAX_HIDDEN_OVERRIDE;
inline constexpr size_t kFusedStepOneKernelHidden = 0;  // none above it
#else
/// Largest H for which a whole sequence runs step by step, every step one
/// FusedStep (the input, recurrent and output products of the step, with f
/// and g) and every step of eq. 7.15 one product with e(t)·V as a term. Below
/// it, a product over all steps does not pay for its call and its extra pass
/// over ĥ; above it, the hoisted projections' shared loads (4 rows per load of
/// W or V) win.
inline constexpr size_t kFusedStepMaxHidden = 32;
/// Also H = 64, four AVX-512 vectors, whose step is one kernel
/// (PanelFusedStep): the training step at I = O = 16, T = 100 took 0.96×
/// the time of the hoisted passes on AVX-512 and on AVX2 (Zen 5, both
/// targets, three alternated runs). At H = 33, 40 and 48, whose steps take
/// the generic kernels, it took 1.07–1.10×.
inline constexpr size_t kFusedStepOneKernelHidden = 64;
#endif

#ifdef ELMAN_MATVEC_MAX_HIDDEN_OVERRIDE
inline constexpr size_t kMatVecMaxHidden = ELMAN_MATVEC_MAX_HIDDEN_OVERRIDE;
#else
/// Largest H for which the sequential products of one sequence — the
/// recurrence of eq. 7.10, eq. 7.15's carry, and Stream::Step — use the
/// matrix-vector kernels of src/kernels/matvec-inl.h rather than the GEMM.
inline constexpr size_t kMatVecMaxHidden = 64;
#endif

constexpr bool UsesFusedSteps(size_t batch, size_t hidden) {
  return batch == 1 &&
         (hidden <= kFusedStepMaxHidden || hidden == kFusedStepOneKernelHidden);
}

constexpr bool UsesMatVec(size_t batch, size_t hidden) {
  return batch == 1 && hidden <= kMatVecMaxHidden;
}

/// One sequence above kMatVecMaxHidden: its sequential products
/// (Stream::Step, the recurrence of eq. 7.10, eq. 7.15's carry) are
/// matrix-vector products over copies of the weights in panels
/// (src/panels.h) rather than GEMMs.
constexpr bool UsesPanels(size_t batch, size_t hidden) {
  return batch == 1 && hidden > kMatVecMaxHidden;
}

/// Floats of a weight gradient's two operands (rows · (H + the other
/// side's width)) up to which one sequence's gradient is summed where its
/// operands lie (OuterProductSum, src/backward.cc) rather than by the GEMM:
/// every tile of rows reads all the inputs again, so they must sit in L2.
inline constexpr size_t kInPlaceGradientMaxFloats = size_t{1} << 16;

/// Whether a Workspace of these sizes may take its weight gradients through
/// the GEMM with a strided A (several sequences, or one too long to sum in
/// place) in products large enough that packing A may matter: at least
/// 2²⁰ multiply-adds in the largest, some 10 µs, where the one-off timing of
/// src/gemm_choice.h takes a few milliseconds. Such a workspace has that
/// choice made when it is built, and scratch enough to pack A.
constexpr bool WeightGradientsMayPackA(size_t input, size_t hidden,
                                       size_t output, size_t steps,
                                       size_t batch) {
  const size_t widest = std::max({input, hidden, output});
  const size_t rows = steps * batch;
  const bool through_gemm =
      batch > 1 || rows * (hidden + widest) > kInPlaceGradientMaxFloats;
  return through_gemm && rows * hidden * widest >= (size_t{1} << 20);
}

}  // namespace elman::internal

#endif  // ELMAN_SRC_FUSED_PATH_H_
