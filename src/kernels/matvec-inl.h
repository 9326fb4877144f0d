// The latency path's products: one vector times small matrices, with the
// accumulators of a panel of the result in registers for the whole sum.
// DESIGN.md §3 leaves B = 1 and small H to a per-step loop: there the
// sequential chain ĥ(t) → h(t) → ĥ(t+1) is the critical path, and a generic
// GEMM call per product costs as much as the product. These kernels have no
// blocking, packing or per-call setup beyond a handful of pointers.
//
// Column form, out = init + Σ_terms in·M: row k of M (ld floats apart) is
// what in[k] contributes, so in[k] is broadcast once and each loaded vector
// of M feeds one FMA. Two terms share one set of accumulators, so
//   ĥ(t) = b + x(t)·Wᵀ + h(t−1)·Uᵀ                (eq. 7.10; M = Wᵀ, Uᵀ)
//   dh(t) = e(t)·V + δ(t+1)·U                      (eq. 7.14 + 7.15)
// are each one call. The sum over k is split over several accumulator sets
// so that at least 8 FMA chains are in flight (2 FMA ports × 4 cycles of
// latency on both Zen 5 and Ice Lake, DESIGN.md §7), then added in a fixed
// tree: results are bit-identical run to run.
//
// Row form, out[j] = init[j] + M(j, ·)·in: one dot product per output, for
// results narrower than half a vector (a dense layer with O = 1 would
// otherwise use one lane in 16 of every FMA).
//
// Memory contract, as for the GEMM (src/kernels/gemm-inl.h): in the column
// form each row of M must be readable one vector past n (elman's buffers and
// Parameters keep that slack); lanes past n are never stored. `in`, `init`
// and `out` are read and written exactly; the row form reads M exactly too.

#if defined(ELMAN_SRC_KERNELS_MATVEC_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ELMAN_SRC_KERNELS_MATVEC_INL_H_
#undef ELMAN_SRC_KERNELS_MATVEC_INL_H_
#else
#define ELMAN_SRC_KERNELS_MATVEC_INL_H_
#endif

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "elman/model.h"
#include "hwy/highway.h"
#include "src/kernels/activation-inl.h"
#include "src/kernels/lambda_inline.h"
#include "src/kernels/partial-inl.h"
#include "src/kernels/vector_pack-inl.h"
#include "src/panels.h"
#include "src/quads.h"

HWY_BEFORE_NAMESPACE();
namespace elman::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

/// One term of a column-form product: in (k floats) times M (k rows).
struct MatVecTerm {
  const float* in = nullptr;
  size_t k = 0;
  const float* matrix = nullptr;  ///< M(k, j) = matrix[k·ld + j]
  size_t ld = 0;
};

/// Outputs below this many use the row form (MatVecRows).
inline constexpr size_t kRowFormMaxOutputs = 7;

/// What a column-form product does with its finished sums z (in registers),
/// for columns j < n:
///   StoreSums:                 out[j] = z
///   StoreAndActivate<a>:       out[j] = z, activated[j] = a(z)
///                              (ĥ and h = f(ĥ), eq. 7.10)
///   TimesDerivative<a>:        out[j] = z · a'(·), from output[j], the
///                              activation's value there (δ = dh ⊙ f'(ĥ)
///                              from the stored h, eq. 7.15)
/// The activation is applied while the sums are still in registers: on the
/// latency path a store and a reload between the product and f would sit on
/// the critical chain h(t−1) → h(t).
struct StoreSums {
  float* out;
  template <class D, class V>
  HWY_INLINE void operator()(D d, V z, size_t j, size_t valid) const {
    StorePartial(d, z, out + j, valid);
  }
};

template <Activation kActivation>
struct StoreAndActivate {
  float* out;
  float* activated;
  template <class D, class V>
  HWY_INLINE void operator()(D d, V z, size_t j, size_t valid) const {
    StorePartial(d, z, out + j, valid);
    StorePartial(d, Activate<kActivation>(d, z), activated + j, valid);
  }
};

/// StoreAndActivate with the activation chosen at run time, for a kernel
/// that applies two (f and g, FusedStep): a branch per vector of sums
/// rather than a copy of the kernel per pair of activations.
struct StoreAndActivateAny {
  float* out;
  float* activated;
  Activation activation;
  template <class D, class V>
  HWY_INLINE void operator()(D d, V z, size_t j, size_t valid) const {
    WithActivation(activation, [&](auto tag) HWY_ATTR {
      StoreAndActivate<decltype(tag)::value>{out, activated}(d, z, j, valid);
    });
  }
};

template <Activation kActivation>
struct TimesDerivative {
  float* out;
  const float* output;
  template <class D, class V>
  HWY_INLINE void operator()(D d, V z, size_t j, size_t valid) const {
    const V derivative =
        DerivativeFromOutput<kActivation>(d, LoadPartial(d, output + j, valid));
    StorePartial(d, hn::Mul(z, derivative), out + j, valid);
  }
};

namespace matvec_detail {

// Widest panel, in vectors: its accumulators, its loaded row of M and one
// broadcast must fit the register file (32 vectors on AVX-512, 16
// elsewhere). Panels are 4, 2 or 1 vectors wide — enough for the latency
// path's H ≤ 64 in one panel on AVX-512 — and no more widths are
// instantiated: each is compiled once per epilogue and per target.
inline constexpr size_t kMaxPanelVecs = 4;
#if HWY_TARGET <= HWY_AVX3 || HWY_TARGET == HWY_SCALAR
inline constexpr size_t kChains = 16;
#else
inline constexpr size_t kChains = 8;
#endif

// Accumulator sets along k, for kChains independent FMA chains: at least 8
// (2 FMA ports × 4 cycles of latency), and on AVX-512, whose 32 registers
// allow it, 16, which halves the depth of each chain — on the latency path
// the chain's depth, not the FMA count, sets the time of a step.
constexpr size_t SplitsFor(size_t vecs) {
  return vecs >= kChains ? 1 : std::min<size_t>(8, kChains / vecs);
}

#if !HWY_HAVE_SCALABLE
// acc[kFirst][v] + … + acc[kFirst + kCount − 1][v] as a balanced tree, in
// a fixed order (results are bit-identical run to run). Recursion on
// constants rather than a loop whose bounds depend on an outer loop: GCC
// does not fully unroll the latter, and an accumulator array indexed at run
// time is kept in memory.
template <size_t kFirst, size_t kCount, class V, size_t kSplits, size_t kVecs>
HWY_INLINE V SumOfSplits(const V (&acc)[kSplits][kVecs], size_t v) {
  if constexpr (kCount == 1) {
    return acc[kFirst][v];
  } else {
    constexpr size_t kHalf = kCount / 2;
    return hn::Add(SumOfSplits<kFirst, kHalf>(acc, v),
                   SumOfSplits<kFirst + kHalf, kCount - kHalf>(acc, v));
  }
}

// kFixedDepth > 0: the last term has kFixedDepth rows (U or Uᵀ, or the
// dense layer's Vᵀ), and its loop is unrolled completely. kFixedLd > 0: the
// rows of every term are kFixedLd floats apart (the recurrence's terms, all
// H wide). With both, every load has a constant offset and no loop counter,
// address or remainder test sits between the FMAs of the recurrence's
// latency-bound product (this file's top comment). The terms go to the same
// accumulators in the same order as with runtime sizes, so the results are
// the same bits.
//
// `last_row_first` (runtime depths only) feeds every accumulator set the
// same rows in the opposite order, the last term's last row first: other
// bits, the same accuracy (MatVecPanels).
template <size_t kVecs, size_t kFixedDepth = 0, size_t kFixedLd = 0, class D,
          class Epilogue>
HWY_INLINE void ColumnPanel(D d, const MatVecTerm* terms, size_t num_terms,
                            size_t n, size_t col0, const float* init,
                            const Epilogue& epilogue,
                            bool last_row_first = false) {
  using V = hn::Vec<D>;
  constexpr size_t kSplits = SplitsFor(kVecs);
  const size_t lanes = hn::Lanes(d);
  auto valid = [&](size_t v) {
    return std::min(lanes, n - std::min(n, col0 + v * lanes));
  };
  // Fully unrolled everywhere: an accumulator indexed by a runtime loop
  // would live in memory.
  V acc[kSplits][kVecs];
#pragma GCC unroll 8
  for (size_t s = 0; s < kSplits; ++s) {
#pragma GCC unroll 8
    for (size_t v = 0; v < kVecs; ++v) acc[s][v] = hn::Zero(d);
  }
  if (init != nullptr) {
#pragma GCC unroll 8
    for (size_t v = 0; v < kVecs; ++v) {
      acc[0][v] = LoadPartial(d, init + col0 + v * lanes, valid(v));
    }
  }
  auto multiply_add =
      [&](size_t split, float scalar, const float* HWY_RESTRICT row)
          HWY_ATTR ELMAN_LAMBDA_INLINE {
            const V broadcast = hn::Set(d, scalar);
#pragma GCC unroll 8
            for (size_t v = 0; v < kVecs; ++v) {
              acc[split][v] = hn::MulAdd(
                  broadcast, hn::LoadU(d, row + v * lanes), acc[split][v]);
            }
          };
  const size_t runtime_terms = num_terms - (kFixedDepth > 0 ? 1 : 0);
  if (kFixedDepth == 0 && last_row_first) {
    // Row k of a term to set k % kSplits, as below, from the last row down.
    // The unrolled loops count up (GCC does not unroll a loop counting down)
    // and index the sets from the top.
    for (size_t t = runtime_terms; t-- > 0;) {
      const float* HWY_RESTRICT in = terms[t].in;
      const float* HWY_RESTRICT row = terms[t].matrix + col0;
      const size_t depth = terms[t].k;
      const size_t ld = kFixedLd > 0 ? kFixedLd : terms[t].ld;
      const size_t whole = depth - depth % kSplits;  // rows in whole groups
#pragma GCC unroll 8
      for (size_t i = 1; i < kSplits; ++i) {
        const size_t s = kSplits - 1 - i;
        if (whole + s < depth) {
          multiply_add(s, in[whole + s], row + (whole + s) * ld);
        }
      }
      for (size_t k = whole; k > 0;) {
        k -= kSplits;
#pragma GCC unroll 8
        for (size_t i = 0; i < kSplits; ++i) {
          const size_t s = kSplits - 1 - i;
          multiply_add(s, in[k + s], row + (k + s) * ld);
        }
      }
    }
  } else {
    for (size_t t = 0; t < runtime_terms; ++t) {
      const float* HWY_RESTRICT in = terms[t].in;
      const float* HWY_RESTRICT row = terms[t].matrix + col0;
      const size_t depth = terms[t].k;
      const size_t ld = kFixedLd > 0 ? kFixedLd : terms[t].ld;
      size_t k = 0;
      for (; k + kSplits <= depth; k += kSplits) {
#pragma GCC unroll 8
        for (size_t s = 0; s < kSplits; ++s) {
          multiply_add(s, in[k + s], row + (k + s) * ld);
        }
      }
      // The last depth % kSplits terms, one per accumulator set. A guard in
      // an unrolled loop, not a loop over the rest: a runtime split index
      // would send every accumulator to memory.
#pragma GCC unroll 8
      for (size_t s = 0; s + 1 < kSplits; ++s) {
        if (k + s < depth) multiply_add(s, in[k + s], row + (k + s) * ld);
      }
    }
  }
  if constexpr (kFixedDepth > 0) {
    const float* HWY_RESTRICT in = terms[runtime_terms].in;
    const float* HWY_RESTRICT row = terms[runtime_terms].matrix + col0;
    const size_t ld = kFixedLd > 0 ? kFixedLd : terms[runtime_terms].ld;
#pragma GCC unroll 64
    for (size_t k = 0; k < kFixedDepth; ++k) {
      multiply_add(k % kSplits, in[k], row + k * ld);
    }
  }
#pragma GCC unroll 8
  for (size_t v = 0; v < kVecs; ++v) {
    epilogue(d, SumOfSplits<0, kSplits>(acc, v), col0 + v * lanes, valid(v));
  }
}
#else   // HWY_HAVE_SCALABLE
// The panel on targets whose vectors are sizeless (src/kernels/
// vector_pack-inl.h): accumulator acc[s][v] of the array version above is
// parameter number s·kVecs + v of a pack, and each loop over the
// accumulators a fold expression over it, with the same operations in the
// same order. The broadcasts of in[k] that a split's vectors share are
// merged by the compiler.

// acc + in[k]·M(k, ·) for accumulator kAcc's vector of the panel.
template <size_t kVecs, size_t kAcc, class D, class V>
HWY_INLINE V PanelMulAdd(D d, const float* HWY_RESTRICT in,
                         const float* HWY_RESTRICT row, size_t ld, size_t k,
                         V acc) {
  const V matrix = hn::LoadU(d, row + k * ld + kAcc % kVecs * hn::Lanes(d));
  return hn::MulAdd(hn::Set(d, in[k]), matrix, acc);
}

// The epilogue of each vector kVec of the panel, on the sum of its kSplits
// accumulators as a balanced tree (SumOfSplits' order).
template <size_t kVecs, size_t kSplits, class D, class Epilogue, size_t... kVec,
          class... V>
HWY_INLINE void PanelFinish(D d, size_t n, size_t col0,
                            const Epilogue& epilogue,
                            std::index_sequence<kVec...>, V... acc) {
  const size_t lanes = hn::Lanes(d);
  (epilogue(d, SumStridedTree<kVec, kVecs, kSplits>(acc...),
            col0 + kVec * lanes,
            std::min(lanes, n - std::min(n, col0 + kVec * lanes))),
   ...);
}

// The terms' sums into the accumulators `acc` (holding their starting
// values), then the epilogue of each vector of the panel.
template <size_t kVecs, class D, class Epilogue, size_t... kAcc, class... V>
HWY_INLINE void PanelLoop(D d, const MatVecTerm* terms, size_t num_terms,
                          size_t n, size_t col0, const Epilogue& epilogue,
                          std::index_sequence<kAcc...>, V... acc) {
  constexpr size_t kSplits = SplitsFor(kVecs);
  static_assert(sizeof...(kAcc) == kSplits * kVecs);
  for (size_t t = 0; t < num_terms; ++t) {
    const float* HWY_RESTRICT in = terms[t].in;
    const float* HWY_RESTRICT row = terms[t].matrix + col0;
    const size_t depth = terms[t].k, ld = terms[t].ld;
    size_t k = 0;
    for (; k + kSplits <= depth; k += kSplits) {
      ((acc = PanelMulAdd<kVecs, kAcc>(d, in, row, ld, k + kAcc / kVecs, acc)),
       ...);
    }
    // The last depth % kSplits terms, one per accumulator set.
    ((acc =
          kAcc / kVecs + 1 < kSplits && k + kAcc / kVecs < depth
              ? PanelMulAdd<kVecs, kAcc>(d, in, row, ld, k + kAcc / kVecs, acc)
              : acc),
     ...);
  }
  PanelFinish<kVecs, kSplits>(d, n, col0, epilogue,
                              std::make_index_sequence<kVecs>(), acc...);
}

template <size_t kVecs, class D, class Epilogue, size_t... kAcc>
HWY_INLINE void ColumnPanelFrom(D d, const MatVecTerm* terms, size_t num_terms,
                                size_t n, size_t col0, const float* init,
                                const Epilogue& epilogue,
                                std::index_sequence<kAcc...> accs) {
  const size_t lanes = hn::Lanes(d);
  // Split 0 starts from init, the others from zero.
  auto start = [&](size_t acc_index) HWY_ATTR ELMAN_LAMBDA_INLINE {
    if (acc_index >= kVecs || init == nullptr) return hn::Zero(d);
    const size_t j = col0 + acc_index * lanes;
    return LoadPartial(d, init + j, std::min(lanes, n - std::min(n, j)));
  };
  PanelLoop<kVecs>(d, terms, num_terms, n, col0, epilogue, accs,
                   start(kAcc)...);
}

// Sizeless vectors read the rows in one order only: `last_row_first` is
// ignored (the same bits both ways).
template <size_t kVecs, class D, class Epilogue>
HWY_INLINE void ColumnPanel(D d, const MatVecTerm* terms, size_t num_terms,
                            size_t n, size_t col0, const float* init,
                            const Epilogue& epilogue,
                            bool /*last_row_first*/ = false) {
  ColumnPanelFrom<kVecs>(d, terms, num_terms, n, col0, init, epilogue,
                         std::make_index_sequence<SplitsFor(kVecs) * kVecs>());
}
#endif  // HWY_HAVE_SCALABLE

// Columns [col_begin, col_end) of the product, in ColumnPanels of 4
// vectors, then one of 2 and one of 1 for the rest. `last_row_first` runs
// them from the right, each reading its rows last to first: the whole run
// read backwards.
template <class D, class Epilogue>
HWY_INLINE void ColumnRun(D d, const MatVecTerm* terms, size_t num_terms,
                          size_t n, size_t col_begin, size_t col_end,
                          const float* init, const Epilogue& epilogue,
                          bool last_row_first = false) {
  const size_t lanes = hn::Lanes(d);
  const size_t vecs = (col_end - col_begin + lanes - 1) / lanes;
  const size_t fours = vecs / 4, rest = vecs % 4;
  const size_t col_two = col_begin + 4 * fours * lanes;  // the 2, if any
  const size_t col_one = col_two + (rest & 2) * lanes;   // the 1, if any
  // The panels left to right: `fours` of 4 vectors, then the 2 and the 1.
  const size_t panels = fours + (rest & 2) / 2 + (rest & 1);
  for (size_t i = 0; i < panels; ++i) {
    const size_t panel = last_row_first ? panels - 1 - i : i;
    if (panel < fours) {
      ColumnPanel<4>(d, terms, num_terms, n, col_begin + 4 * panel * lanes,
                     init, epilogue, last_row_first);
    } else if (panel == fours && (rest & 2)) {
      ColumnPanel<2>(d, terms, num_terms, n, col_two, init, epilogue,
                     last_row_first);
    } else {
      ColumnPanel<1>(d, terms, num_terms, n, col_one, init, epilogue,
                     last_row_first);
    }
  }
}

}  // namespace matvec_detail

/// z[j] = (init ? init[j] : 0) + Σ_t Σ_k terms[t].in[k] · M_t(k, j), for
/// j < n, handed to the epilogue (StoreSums, StoreAndActivate,
/// TimesDerivative). The epilogue's outputs must not overlap any `in`: a
/// panel of columns is stored while later panels still read the inputs.
/// They may be `init` itself (ĥ(t) = P(t) + …, in place): each panel reads
/// its columns of init before it stores them.
// Out of line: the callers' loops (one call a step) gain nothing from
// inlining it, and each epilogue's code is then compiled once per target
// rather than once per call site.
template <class Epilogue>
HWY_NOINLINE void MatVecColumns(const MatVecTerm* terms, size_t num_terms,
                                size_t n, const float* init,
                                const Epilogue& epilogue) {
  using matvec_detail::ColumnPanel;
  const hn::ScalableTag<float> d;
#if HWY_TARGET <= HWY_AVX2 && !HWY_HAVE_SCALABLE
  // The recurrent product of one sequence whose H is one panel below, of 1,
  // 2 or 4 whole vectors, every term's rows H floats apart: the depth of U's
  // term and every row's offset become compile-time constants, and the sums
  // are the bits of the loop below (the same panel width). Only the AVX2 and
  // AVX-512 targets, which carry the latency path on x86-64, compile these
  // panels: H = 16, 32, 64 on AVX-512 and 8, 16, 32 on AVX2.
  constexpr size_t kLanes = hn::MaxLanes(d);  // = Lanes(d), a constant
  bool fixed = num_terms > 0 && terms[num_terms - 1].k == n && n % kLanes == 0;
  for (size_t t = 0; t < num_terms; ++t) fixed = fixed && terms[t].ld == n;
  if (fixed) {
    switch (n / kLanes) {  // other widths take the loop below
      case 1:
        return ColumnPanel<1, kLanes, kLanes>(d, terms, num_terms, n, 0, init,
                                              epilogue);
      case 2:
        return ColumnPanel<2, 2 * kLanes, 2 * kLanes>(d, terms, num_terms, n, 0,
                                                      init, epilogue);
      case 4:
        return ColumnPanel<4, 4 * kLanes, 4 * kLanes>(d, terms, num_terms, n, 0,
                                                      init, epilogue);
      default:
        break;
    }
  }
#endif
  matvec_detail::ColumnRun(d, terms, num_terms, n, 0, n, init, epilogue);
}

/// One term of MatVecPanels: in (layout.k floats) times the layout.k ×
/// layout.n matrix stored at `panels` in the layout of src/panels.h.
struct PanelTerm {
  const float* in = nullptr;
  const float* panels = nullptr;
  internal::PanelLayout layout;
};

/// MatVecColumns over matrices in panels (up to two terms, all n columns
/// wide: ĥ = b + x·Wᵀ + h·Uᵀ), for the columns of panels [first_panel,
/// end_panel) only. Each panel of each term is read as one sequential
/// stream. Threads that take disjoint ranges of panels together compute
/// every column, each the same bits as one thread: a column's sum does not
/// depend on the panels around it — nor on their order. `descending` runs
/// the range from its last panel down: a recurrence that alternates the
/// order from step to step starts each step on the panels the step before
/// read last, still in cache, where a matrix a little larger than the cache
/// read in the same order every step would miss on every line (LRU evicts
/// each line just before it is read again). Measured on Zen 5 (48 KiB L1d,
/// 1 MiB L2): Stream::Run at B = 1 15 % faster at H = 128 (U: 64 KiB) and
/// 12 % at H = 512 (1 MiB), unchanged at H = 256.
///
/// Reversing the panels alone leaves the rows of each in the same order, so
/// a step's first panel starts on the rows the step before read first —
/// long evicted when the panel is larger than L1. `last_row_first` also
/// reads every panel's rows from the last term's last row up, so that with
/// `descending` the whole product is read backwards and starts on the last
/// L1-full of the ascending step before: at H = 128 (W, U, V: 96 KiB
/// against 48 KiB of L1d on Zen 5) Stream::Step took 0.88× the time.
/// The sums then associate in the opposite order, other bits
/// (ColumnPanel), which is why only Step, whose bits promise nothing across
/// steps, does so: Run and the training passes keep the bits of a sequence
/// independent of where it was cut.
template <class Epilogue>
HWY_NOINLINE void MatVecPanels(const PanelTerm* terms, size_t num_terms,
                               size_t n, size_t first_panel, size_t end_panel,
                               const float* init, const Epilogue& epilogue,
                               bool descending = false,
                               bool last_row_first = false) {
  const hn::ScalableTag<float> d;
  constexpr size_t kMaxTerms = 2;
  HWY_DASSERT(num_terms <= kMaxTerms);
  for (size_t i = first_panel; i < end_panel; ++i) {
    const size_t p = descending ? end_panel - 1 - (i - first_panel) : i;
    const size_t col0 = p * internal::kPanelFloats;
    // Row r, column j of panel p is at panels[Offset(p) + r·width + j −
    // col0]; ColumnPanel adds col0 back.
    MatVecTerm panel_terms[kMaxTerms];
    for (size_t t = 0; t < num_terms; ++t) {
      const internal::PanelLayout& layout = terms[t].layout;
      panel_terms[t] = {terms[t].in, layout.k,
                        terms[t].panels + layout.Offset(p) - col0,
                        layout.Width(p)};
    }
    matvec_detail::ColumnRun(d, panel_terms, num_terms, n, col0,
                             std::min(n, col0 + internal::kPanelFloats), init,
                             epilogue, last_row_first);
  }
}

/// out[j] = (init ? init[j] : 0) + Σ_k matrix[j·ld + k] · in[k], j < n: one
/// dot product per output (for n ≤ kRowFormMaxOutputs). Reads exactly k
/// floats of `in` and of each row. With `activated`, also activated[j] =
/// a(out[j]) (y = g(ŷ), eq. 7.10), from the sum in a register: a pass of
/// its own would reload the outputs just stored one float at a time, which
/// no core forwards to a vector load.
template <Activation kActivation = Activation::kIdentity>
HWY_INLINE void MatVecRows(const float* matrix, size_t ld, size_t n,
                           const float* in, size_t k, const float* init,
                           float* out, float* activated = nullptr) {
  const hn::ScalableTag<float> d;
  using V = hn::Vec<decltype(d)>;
  const size_t lanes = hn::Lanes(d);
  for (size_t j = 0; j < n; ++j) {
    const float* HWY_RESTRICT row = matrix + j * ld;
    // Two accumulators, alternating vectors, for two chains per row (the
    // rows' chains are independent of each other as well).
    V even = hn::Zero(d), odd = hn::Zero(d);
    size_t i = 0;
    for (; i + 2 * lanes <= k; i += 2 * lanes) {
      even = hn::MulAdd(hn::LoadU(d, row + i), hn::LoadU(d, in + i), even);
      odd = hn::MulAdd(hn::LoadU(d, row + i + lanes),
                       hn::LoadU(d, in + i + lanes), odd);
    }
    for (; i < k; i += lanes) {
      const size_t rest = std::min(lanes, k - i);
      even = hn::MulAdd(LoadPartial(d, row + i, rest),
                        LoadPartial(d, in + i, rest), even);
    }
    const float sum = hn::GetLane(hn::SumOfLanes(d, hn::Add(even, odd)));
    const float z = init != nullptr ? init[j] + sum : sum;
    out[j] = z;
    if (activated != nullptr) {
      activated[j] = hn::GetLane(Activate<kActivation>(d, hn::Set(d, z)));
    }
  }
}

#if HWY_TARGET <= HWY_AVX2 && !HWY_HAVE_SCALABLE
namespace matvec_detail {

// Lanes of one 128-bit block: the x86 shuffles below work within blocks.
inline constexpr size_t kBlockLanes = 4;

// Per block, [a0+a2, b0+b2, a1+a3, b1+b3]: a and b each summed to two lanes.
template <class D, class V>
HWY_INLINE V SumPairs(D d, V a, V b) {
  return hn::Add(hn::InterleaveLower(d, a, b), hn::InterleaveUpper(d, a, b));
}

// From ab = SumPairs(a, b) and ce = SumPairs(c, e), per block [a, b, c, e]:
// each of the four summed over the whole block.
template <class D, class V>
HWY_INLINE V SumQuads(D d, V ab, V ce) {
  const hn::Repartition<double, D> dd;  // pairs of lanes as one
  const auto lower =
      hn::InterleaveLower(dd, hn::BitCast(dd, ab), hn::BitCast(dd, ce));
  const auto upper =
      hn::InterleaveUpper(dd, hn::BitCast(dd, ab), hn::BitCast(dd, ce));
  return hn::BitCast(d, hn::Add(hn::BitCast(d, lower), hn::BitCast(d, upper)));
}

}  // namespace matvec_detail

/// out[j] = init[j] + M(j, ·)·in for j < n ≤ Lanes, where M's rows and `in`
/// (in registers: vector_in) are kDepthVecs whole vectors (k =
/// kDepthVecs·Lanes, rows k floats apart): the latency path's dense layer
/// ŷ = c + V·h at O ≤ one vector, V read by rows. Each output's lane
/// products (kDepthVecs multiply-adds, no broadcast) are then summed by one
/// transposing tree for all outputs at once: pairs and quads of outputs
/// within each 128-bit block, then the blocks. Against the column form (one
/// broadcast of h[k] and one row of Vᵀ per FMA, half the lanes idle at
/// O = 8) it loads about a quarter as often: 19 loads instead of 65 at
/// H = 32, O = 8, on a core whose load ports bound the step (Zen 5, README
/// "What limits it"). The sum of each output is a fixed tree: the same bits
/// every call. `init` (n floats) is required. AVX2 and AVX-512 only (their
/// blocks are 128 bits).
template <size_t kDepthVecs, class Epilogue, class D, class V>
HWY_INLINE void MatVecRowsReducedOf(D d, const float* matrix, size_t n,
                                    const V (&vector_in)[kDepthVecs],
                                    const float* init,
                                    const Epilogue& epilogue) {
  using matvec_detail::kBlockLanes;
  using matvec_detail::SumPairs;
  using matvec_detail::SumQuads;
  constexpr size_t kLanes = hn::MaxLanes(d);
  constexpr size_t kDepth = kDepthVecs * kLanes;
  constexpr size_t kGroups = kLanes / kBlockLanes;  // 2 (AVX2) or 4
  static_assert(kGroups == 2 || kGroups == 4);
  // Output j's lane products; zero beyond n.
  auto products = [&](size_t j) HWY_ATTR ELMAN_LAMBDA_INLINE {
    if (j >= n) return hn::Zero(d);
    const float* HWY_RESTRICT row = matrix + j * kDepth;
    V sum = hn::Mul(hn::LoadU(d, row), vector_in[0]);
#pragma GCC unroll 4
    for (size_t v = 1; v < kDepthVecs; ++v) {
      sum = hn::MulAdd(hn::LoadU(d, row + v * kLanes), vector_in[v], sum);
    }
    return sum;
  };
  // Four outputs per group, each summed within every block; on AVX-512 the
  // groups hold outputs 0–3, 8–11, 4–7 and 12–15, the order the blocks'
  // sums below come out in.
  V group[kGroups];
#pragma GCC unroll 4
  for (size_t g = 0; g < kGroups; ++g) {
    const size_t swapped = kGroups == 4 && (g == 1 || g == 2) ? 3 - g : g;
    const size_t j = swapped * kBlockLanes;
    group[g] = SumQuads(d, SumPairs(d, products(j), products(j + 1)),
                        SumPairs(d, products(j + 2), products(j + 3)));
  }
  // Then across blocks: the lower and upper halves of two groups added.
  const V halves01 = hn::Add(hn::ConcatLowerLower(d, group[1], group[0]),
                             hn::ConcatUpperUpper(d, group[1], group[0]));
  V sums;
  if constexpr (kGroups == 2) {
    sums = halves01;  // [group 0, group 1]: outputs in order
  } else {
    const V halves23 = hn::Add(hn::ConcatLowerLower(d, group[3], group[2]),
                               hn::ConcatUpperUpper(d, group[3], group[2]));
    // Adjacent blocks added: [g0, g0, g1, g1] and [g2, g2, g3, g3], then
    // the even blocks of the first and the odd of the second: [g0, g2, g1,
    // g3], outputs 0–15 in order.
    const V pairs01 = hn::Add(halves01, hn::SwapAdjacentBlocks(halves01));
    const V pairs23 = hn::Add(halves23, hn::SwapAdjacentBlocks(halves23));
    sums = hn::OddEvenBlocks(pairs23, pairs01);
  }
  epilogue(d, hn::Add(sums, LoadPartial(d, init, n)), 0, n);
}

/// MatVecRowsReducedOf with `in` (k floats) loaded from memory.
template <size_t kDepthVecs, class Epilogue>
HWY_INLINE void MatVecRowsReduced(const float* matrix, size_t n,
                                  const float* in, const float* init,
                                  const Epilogue& epilogue) {
  const hn::ScalableTag<float> d;
  constexpr size_t kLanes = hn::MaxLanes(d);
  hn::Vec<decltype(d)> vector_in[kDepthVecs];
#pragma GCC unroll 4
  for (size_t v = 0; v < kDepthVecs; ++v) {
    vector_in[v] = hn::LoadU(d, in + v * kLanes);
  }
  MatVecRowsReducedOf<kDepthVecs>(d, matrix, n, vector_in, init, epilogue);
}

/// MatVecRows with `in` (k = kDepthVecs·Lanes floats, M's rows k floats
/// apart) in registers: the same operations in the same order, so the same
/// bits. AVX2 and AVX-512 only, as the reduced rows.
template <size_t kDepthVecs, Activation kActivation, class D, class V>
HWY_INLINE void MatVecRowsOf(D d, const float* matrix, size_t n,
                             const V (&in)[kDepthVecs], const float* init,
                             float* out, float* activated) {
  constexpr size_t kLanes = hn::MaxLanes(d);
  for (size_t j = 0; j < n; ++j) {
    const float* HWY_RESTRICT row = matrix + j * kDepthVecs * kLanes;
    V even = hn::Zero(d), odd = hn::Zero(d);
#pragma GCC unroll 4
    for (size_t v = 0; v < kDepthVecs; v += 2) {
      even = hn::MulAdd(hn::LoadU(d, row + v * kLanes), in[v], even);
      if (v + 1 < kDepthVecs) {
        odd = hn::MulAdd(hn::LoadU(d, row + (v + 1) * kLanes), in[v + 1], odd);
      }
    }
    const float z =
        init[j] + hn::GetLane(hn::SumOfLanes(d, hn::Add(even, odd)));
    out[j] = z;
    activated[j] = hn::GetLane(Activate<kActivation>(d, hn::Set(d, z)));
  }
}
#endif

#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
namespace matvec_detail {

// Block kBlock of v in every block (vshuff32x4; Highway 1.0 has no op for
// it): inputs 4·kBlock…4·kBlock + 3 of a vector of h as one quad.
template <size_t kBlock, class V>
HWY_INLINE V BroadcastBlock(V v) {
  constexpr int kAllFour = static_cast<int>(kBlock) * 0x55;
  return V{_mm512_shuffle_f32x4(v.raw, v.raw, kAllFour)};
}

}  // namespace matvec_detail

/// Calls fn(std::integral_constant<size_t, kUnits>{}) for H = 16·kUnits,
/// kUnits 1, 2 or 4 (internal::UsesQuads' shapes): the one runtime choice
/// of a kernel over quads (the steps, QuadFusedSteps; the carry,
/// QuadCarrySteps), outside its loop over steps.
template <class Fn>
HWY_INLINE void WithQuadUnits(size_t hidden, Fn&& fn) {
  switch (hidden / internal::kQuadUnit) {
    case 1:
      return fn(std::integral_constant<size_t, 1>{});
    case 2:
      return fn(std::integral_constant<size_t, 2>{});
    default:
      return fn(std::integral_constant<size_t, 4>{});
  }
}

/// sums[r] = (b + x·Wᵀ + h·Uᵀ)[16r, 16r + 16) for H = 16·kUnits outputs:
/// the streaming step's recurrent product with Wᵀ and Uᵀ in quads
/// (src/quads.h; w_quads: I × H, u_quads: H × H, and b_quads: b as a 1 × H
/// matrix, each output's bias in the first lane of its block, which the
/// accumulators start from, or nullptr for none), and eq. 7.15's carry
/// e(t)·V + δ(t+1)·U with V and U in their place (QuadCarrySteps,
/// src/carry-inl.h). Each 128-bit broadcast of
/// 4 inputs serves 4 rows of the matrix for every output, so ĥ loads 1 +
/// 4/H times per FMA instead of the column form's 1 + 16/H. The sums are
/// returned in registers, for the caller to apply f to all of them under
/// one choice of activation (its constants then loaded once, not once per
/// vector). `x` is read exactly (the caller's input: its last, partial quad
/// through a masked load); b_quads is read whole. h(t−1) is kUnits vectors
/// in registers (a run of steps keeps h there: a 128-bit broadcast load of
/// the h just stored depends on the core forwarding part of a 512-bit
/// store, and on Zen 5 the step took 2× as long whenever it did not, which
/// the mere order of the step's stores decided), or nullptr for h(−1) = 0.
/// The sum of each output is a fixed order: the same bits every call. AVX-512
/// only: at H = 64 the 16 accumulators, one quad of inputs and one vector of
/// weights take 18 of its 32 registers; AVX2's 16 would hold the accumulators
/// of H = 16 alone.
template <size_t kUnits, class D>
HWY_INLINE void MatVecQuads(D d, const float* HWY_RESTRICT x, size_t input,
                            const float* HWY_RESTRICT w_quads,
                            const hn::Vec<D>* h,
                            const float* HWY_RESTRICT u_quads,
                            const float* HWY_RESTRICT b_quads,
                            hn::Vec<D> (&sums)[kUnits]) {
  using internal::kQuadRows;
  using internal::kQuadUnit;
  using matvec_detail::SumPairs;
  using matvec_detail::SumQuads;
  using V = hn::Vec<D>;
  static_assert(hn::MaxLanes(d) == kQuadUnit);
  constexpr size_t kAccs = 4 * kUnits;  // vectors of weights per quad
  constexpr size_t kQuadFloats = kAccs * kQuadUnit;
  // 16 FMA chains, as the column form keeps on AVX-512 (SplitsFor): at
  // H = 32 two sets of accumulators (even and odd quads), at H = 16 four.
  // On the latency path each chain's depth, not the FMA count, sets the
  // time of a step: one set at H = 32 (9 FMAs deep at I ≤ 4) made Run 1.10×
  // slower than the column form, whose chains are 5 deep.
  constexpr size_t kSets = 16 / kAccs;
  constexpr size_t kHidden = kUnits * kQuadUnit;
  V acc[kSets][kAccs];
#pragma GCC unroll 16
  for (size_t s = 0; s < kSets; ++s) {
#pragma GCC unroll 16
    for (size_t q = 0; q < kAccs; ++q) acc[s][q] = hn::Zero(d);
  }
  // The bias from the start, off the chain that ends the step (an add after
  // the lane sums would lengthen it by one latency).
  if (b_quads != nullptr) {
#pragma GCC unroll 16
    for (size_t q = 0; q < kAccs; ++q) {
      acc[0][q] = hn::LoadU(d, b_quads + q * kQuadUnit);
    }
  }
  auto multiply_add =
      [&](size_t set, V quad, const float* HWY_RESTRICT weights)
          HWY_ATTR ELMAN_LAMBDA_INLINE {
#pragma GCC unroll 16
            for (size_t q = 0; q < kAccs; ++q) {
              acc[set][q] = hn::MulAdd(
                  quad, hn::LoadU(d, weights + q * kQuadUnit), acc[set][q]);
            }
          };
  // x·Wᵀ: whole groups of kSets quads, then the rest one per set, the last
  // one partial (its weights past I are zero).
  const size_t quads = (input + kQuadRows - 1) / kQuadRows;
  size_t quad = 0;
  for (; (quad + kSets) * kQuadRows <= input; quad += kSets) {
#pragma GCC unroll 4
    for (size_t s = 0; s < kSets; ++s) {
      multiply_add(s, hn::LoadDup128(d, x + (quad + s) * kQuadRows),
                   w_quads + (quad + s) * kQuadFloats);
    }
  }
#pragma GCC unroll 4
  for (size_t s = 0; s < kSets; ++s) {
    if (quad + s >= quads) break;
    const size_t row = (quad + s) * kQuadRows;
    V inputs;
    if (row + kQuadRows <= input) {
      inputs = hn::LoadDup128(d, x + row);
    } else {
      // The masked load reads no memory past x[I − 1]; one permute copies
      // its first block to the others. (A copy to a zero-padded array on
      // the stack instead made Stream::Run 1.9× slower at I = 1 and 3,
      // H = 32, on Zen 5: a 128-bit load of scalar stores is not forwarded.)
      alignas(64) static constexpr int32_t kFirstBlock[kQuadUnit] = {
          0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3};
      inputs = hn::TableLookupLanes(
          hn::MaskedLoad(hn::FirstN(d, input - row), d, x + row),
          hn::SetTableIndices(d, kFirstBlock));
    }
    multiply_add(s, inputs, w_quads + (quad + s) * kQuadFloats);
  }
  // h·Uᵀ, its depth a constant: fully unrolled, quad by quad in order, each
  // quad a block of h's vectors broadcast in registers.
  if (h != nullptr) {
    constexpr size_t kQuadsPerVec = kQuadUnit / kQuadRows;
    [&]<size_t... kQuad>(std::index_sequence<kQuad...>)
        HWY_ATTR ELMAN_LAMBDA_INLINE {
      (multiply_add(kQuad % kSets,
                    matvec_detail::BroadcastBlock<kQuad % kQuadsPerVec>(
                        h[kQuad / kQuadsPerVec]),
                    u_quads + kQuad * kQuadFloats),
       ...);
    }
    (std::make_index_sequence<kHidden / kQuadRows>());
  }
  // The sets added in a fixed tree, then per unit the 4 lane sums of each
  // output.
  V total[kAccs];
#pragma GCC unroll 16
  for (size_t q = 0; q < kAccs; ++q) {
    total[q] = matvec_detail::SumOfSplits<0, kSets>(acc, q);
  }
#pragma GCC unroll 4
  for (size_t r = 0; r < kUnits; ++r) {
    const V* unit = total + 4 * r;
    sums[r] = SumQuads(d, SumPairs(d, unit[0], unit[1]),
                       SumPairs(d, unit[2], unit[3]));
  }
}
#endif

}  // namespace elman::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // ELMAN_SRC_KERNELS_MATVEC_INL_H_
