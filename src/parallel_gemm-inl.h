// The products of the passes on a Team's threads (src/thread_pool.h), cut as
// issue 10 and DESIGN.md §3 suggest:
//   - a product over all steps (X·Wᵀ, H·Vᵀ, E·V, the weight gradients,
//     Δ·W) into parts by rows or by columns of its result (TeamGemm): one
//     fork and join;
//   - the recurrence (eq. 7.10) and the carry (eq. 7.15) by sequences when
//     B is large enough, each part running its own rows through every step
//     with no synchronisation; otherwise (B = 1) by columns of the result,
//     i.e. by rows of U for h(t−1)·Uᵀ and by columns of U for δ(t+1)·U, each
//     thread streaming its own part of U from its own cache, with one
//     barrier per step (TeamRecurrence).
// The cuts follow the kernel's tiles (src/kernels/gemm-inl.h): the results
// are bit for bit those of one thread, for any number of threads. A product
// too small to pay for the synchronisation is not cut.
#if defined(ELMAN_SRC_PARALLEL_GEMM_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ELMAN_SRC_PARALLEL_GEMM_INL_H_
#undef ELMAN_SRC_PARALLEL_GEMM_INL_H_
#else
#define ELMAN_SRC_PARALLEL_GEMM_INL_H_
#endif

#include <algorithm>
#include <cstddef>

#include "hwy/highway.h"
#include "src/kernels/gemm-inl.h"
#include "src/thread_pool.h"

HWY_BEFORE_NAMESPACE();
namespace elman::HWY_NAMESPACE {

/// A product's work, in flops at the rate of the large products: its flops,
/// or, for a product of few rows, what streaming B costs. A single-row
/// product (the recurrence at B = 1, a streaming step) uses each element of
/// B for one FMA and runs at memory speed: 1×512×512 at 40 GFLOP/s against
/// 165 for the large products (README, GEMM kernel alone), i.e. about 8
/// flops' time per element of B.
inline constexpr double kWorkPerElementOfB = 8.0;
HWY_INLINE double GemmWork(const GemmArgs& args) {
  const double b_elements =
      static_cast<double>(args.n) * static_cast<double>(args.k);
  return std::max(2.0 * static_cast<double>(args.m) * b_elements,
                  kWorkPerElementOfB * b_elements);
}

/// A product of a few rows (a streaming step, one step of a recurrence) is
/// cut only into parts of at least this much work: a fork and join of the
/// pool costs about 1 µs on Zen 5 (elman_bench_threads), 2^19 flops about
/// 4 µs of the kernel. Each thread then streams its own part of B (the
/// weights), which stays in its own cache from one step to the next.
inline constexpr double kMinWorkPerPart = 1 << 19;
/// A product over many rows (the hoisted projections, the weight gradients)
/// also moves its rows of A and C between the cores' caches: the next phase
/// of the pass reads on one thread what the other wrote. On Zen 5 that made
/// products of 2^20–2^21.6 flops slower on two threads than on one (the
/// training step at (64,128,64,100,1): 0.78–0.83×); cut only into parts of
/// at least this much, nothing of one sequence of 100 steps with H ≤ 128 is
/// cut.
inline constexpr double kMinWorkPerPartManyRows = 1 << 21;
/// Rows up to which a product counts as a few.
inline constexpr size_t kFewRows = 4;
/// A recurrence cut by columns synchronises at every step: it is cut only
/// when each part's share of one step is at least this much work (at B = 1:
/// H ≥ 256; H = 128, 0.5 µs a step on one thread, would gain less than a
/// barrier costs).
inline constexpr double kMinWorkPerPartStep = 1 << 17;

/// Parts for a single-row product over a k × n matrix in `panels` panels
/// (src/panels.h; one sequence's step above kMatVecMaxHidden): costed like
/// the GEMM's single-row products (GemmWork), each part at least
/// `min_work_per_part`, and no more parts than panels — a part takes whole
/// panels.
HWY_INLINE size_t PanelParts(const internal::Team& team, size_t k, size_t n,
                             size_t panels, double min_work_per_part) {
  const double work =
      kWorkPerElementOfB * static_cast<double>(k) * static_cast<double>(n);
  return std::min(panels, team.PartsFor(work, min_work_per_part));
}

/// `args` as `part` runs it: with that part's own pack scratch.
HWY_INLINE GemmArgs WithPartPack(GemmArgs args, const internal::Team& team,
                                 const internal::Part& part) {
  if (args.pack != nullptr && part.count() > 1) {
    args.pack = team.PackOf(part.index());
  }
  return args;
}

/// The least work TeamGemm gives each part of `args`: a product of a few
/// rows is cut more finely than one of many.
HWY_INLINE double GemmMinWorkPerPart(const GemmArgs& args) {
  return args.m <= kFewRows ? kMinWorkPerPart : kMinWorkPerPartManyRows;
}

/// Gemm(args) on the team: by rows where every part gets its own rows (A
/// and C disjoint), else by columns.
HWY_INLINE void TeamGemm(const internal::Team& team, const GemmArgs& args) {
  const size_t wanted = team.PartsFor(GemmWork(args), GemmMinWorkPerPart(args));
  const size_t row_parts = wanted > 1 ? GemmRowParts(args, wanted) : 1;
  const size_t column_parts =
      row_parts < wanted ? GemmColumnParts(args, wanted) : 1;
  const bool by_rows = row_parts >= column_parts;
  const size_t parts = by_rows ? row_parts : column_parts;
  if (parts <= 1) {
    Gemm(args);
    return;
  }
  internal::RunParts(team, parts, [&](const internal::Part& part) HWY_ATTR {
    const size_t index = part.index(), count = part.count();
    Gemm(WithPartPack(by_rows ? GemmRowPart(args, index, count)
                              : GemmColumnPart(args, index, count),
                      team, part));
  });
}

/// A recurrence on the team: `head` (if not null), then GemmSequence(first,
/// steps), each product reading what the one before wrote (h(t−1) → ĥ(t),
/// δ(t+1) → δ(t)). Cut by rows (sequences: no synchronisation) when that
/// gives as many parts as columns would, else by columns with a barrier
/// between products.
HWY_INLINE void TeamRecurrence(const internal::Team& team, const GemmArgs* head,
                               const GemmArgs& first, const GemmSteps& steps) {
  const double step_work = GemmWork(first);
  const size_t wanted_rows = team.PartsFor(
      step_work * static_cast<double>(steps.count), kMinWorkPerPart);
  const size_t row_parts =
      wanted_rows > 1 ? GemmRowParts(first, wanted_rows) : 1;
  const size_t wanted_columns = team.PartsFor(step_work, kMinWorkPerPartStep);
  const size_t column_parts =
      wanted_columns > 1 ? GemmColumnParts(first, wanted_columns) : 1;
  if (row_parts <= 1 && column_parts <= 1) {
    if (head != nullptr) Gemm(*head);
    if (steps.count > 0) GemmSequence(first, steps);
    return;
  }
  if (row_parts >= column_parts) {
    internal::RunParts(
        team, row_parts, [&](const internal::Part& part) HWY_ATTR {
          const size_t index = part.index(), count = part.count();
          if (head != nullptr) {
            Gemm(WithPartPack(GemmRowPart(*head, index, count), team, part));
          }
          if (steps.count > 0) {
            GemmSequence(
                WithPartPack(GemmRowPart(first, index, count), team, part),
                steps);
          }
        });
    return;
  }
  internal::RunParts(
      team, column_parts, [&](const internal::Part& part) HWY_ATTR {
        const size_t index = part.index(), count = part.count();
        if (head != nullptr) {
          Gemm(WithPartPack(GemmColumnPart(*head, index, count), team, part));
        }
        GemmArgs product =
            WithPartPack(GemmColumnPart(first, index, count), team, part);
        for (size_t step = 0; step < steps.count; ++step) {
          // The next product reads every column of the last one's output.
          if (step > 0 || head != nullptr) part.Sync();
          if (step > 0) MoveBySteps(product, steps);
          Gemm(product);
        }
      });
}

}  // namespace elman::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // ELMAN_SRC_PARALLEL_GEMM_INL_H_
