// The weight gradients of one short sequence at small H as sums of outer
// products (eq. 7.15's dW = Σ δ(t) x(t)ᵀ, dU = Σ δ(t) h(t−1)ᵀ, dV =
// Σ e(t) h(t)ᵀ), with the tile of the gradient in registers for all steps.
// The GEMM computes the same sums (C = Aᵀ B over the T rows), but at H = 32
// its blocking, packing of B and 4 × 2 tiles cost it as much as its FMAs:
// 438 ns for dU at (32 × 32, T = 24) where its 1 536 FMAs take 215 at the
// measured FMA peak (226 GFLOP/s, Zen 5), and 41 ns for each one-row
// product (dWᵀ, dV at I = O = 1). Here every step's a(t) and b(t) are read
// in place (one short sequence's Δ, H and X sit in L1 or L2), the tiles
// are as tall as the registers allow, and single rows split the steps over
// several accumulators for enough independent FMA chains.
//
// Memory contract, as for the GEMM (src/kernels/gemm-inl.h): each b(t)
// must stay readable one vector past n (elman's buffers keep that slack);
// lanes past n are never stored. a(t) is read exactly, C written exactly.
#if defined(ELMAN_SRC_KERNELS_OUTER_PRODUCT_INL_H_) == \
    defined(HWY_TARGET_TOGGLE)
#ifdef ELMAN_SRC_KERNELS_OUTER_PRODUCT_INL_H_
#undef ELMAN_SRC_KERNELS_OUTER_PRODUCT_INL_H_
#else
#define ELMAN_SRC_KERNELS_OUTER_PRODUCT_INL_H_
#endif

#include <algorithm>
#include <cstddef>

#include "hwy/highway.h"
#include "src/kernels/lambda_inline.h"
#include "src/kernels/partial-inl.h"

HWY_BEFORE_NAMESPACE();
namespace elman::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Targets whose vectors have a size only: the tile is an array of
// accumulators. Sizeless ones (SVE, RVV) take the GEMM.
#if !HWY_HAVE_SCALABLE

namespace outer_product_detail {

// Rows of the tall tile, two vectors wide: its accumulators, the two
// vectors of b(t) and a broadcast of a(t) fill the register file (27 of 32
// on AVX-512, 15 of 16 elsewhere).
#if HWY_TARGET <= HWY_AVX3
inline constexpr size_t kTallRows = 12;
#else
inline constexpr size_t kTallRows = 6;
#endif
// Rows of the short tile, for the rows a tall tile leaves over.
inline constexpr size_t kShortRows = 4;

// Accumulator sets along the steps, for at least 8 independent FMA chains
// (2 FMA pipes × 4 cycles of latency on Zen 5 and Ice Lake): a single row
// one vector wide (dWᵀ and dV at I = O = 1, H ≤ 16) would otherwise wait
// on one chain of T FMAs.
constexpr size_t Splits(size_t rows, size_t vecs) {
  const size_t chains = rows * vecs;
  return chains >= 8 ? 1 : chains >= 4 ? 2 : chains >= 2 ? 4 : 8;
}

// acc[kFirst][i][v] + … + acc[kFirst + kCount − 1][i][v], a balanced tree
// (fixed order: the same bits every call), by recursion on constants so
// that the accumulators stay in registers.
template <size_t kFirst, size_t kCount, class V, size_t kSplits, size_t kRows,
          size_t kVecs>
HWY_INLINE V SumSplits(const V (&acc)[kSplits][kRows][kVecs], size_t i,
                       size_t v) {
  if constexpr (kCount == 1) {
    return acc[kFirst][i][v];
  } else {
    constexpr size_t kHalf = kCount / 2;
    return hn::Add(SumSplits<kFirst, kHalf>(acc, i, v),
                   SumSplits<kFirst + kHalf, kCount - kHalf>(acc, i, v));
  }
}

// C(row0 + i, col0 + j) = Σ_t a(t)[row0 + i] · b(t)[col0 + j] for
// i < rows ≤ kRows, j < cols ≤ kVecs·Lanes (only the last vector partial).
// Rows of the tile past `rows` repeat the last valid row and are not
// stored. Step t goes to accumulator set t % kSplits.
template <size_t kRows, size_t kVecs, class D>
HWY_NOINLINE void Tile(D d, const float* HWY_RESTRICT a, size_t lda,
                       const float* HWY_RESTRICT b, size_t ldb, size_t steps,
                       size_t row0, size_t rows, size_t col0, size_t cols,
                       float* HWY_RESTRICT c, size_t ldc) {
  using V = hn::Vec<D>;
  constexpr size_t kSplits = Splits(kRows, kVecs);
  const size_t lanes = hn::Lanes(d);
  size_t row_of[kRows];
#pragma GCC unroll 16
  for (size_t i = 0; i < kRows; ++i) row_of[i] = row0 + std::min(i, rows - 1);
  V acc[kSplits][kRows][kVecs];
#pragma GCC unroll 8
  for (size_t s = 0; s < kSplits; ++s) {
#pragma GCC unroll 16
    for (size_t i = 0; i < kRows; ++i) {
#pragma GCC unroll 2
      for (size_t v = 0; v < kVecs; ++v) acc[s][i][v] = hn::Zero(d);
    }
  }
  auto add_step = [&](size_t split, size_t t) HWY_ATTR ELMAN_LAMBDA_INLINE {
    const float* HWY_RESTRICT a_t = a + t * lda;
    const float* HWY_RESTRICT b_t = b + t * ldb + col0;
    V b_vec[kVecs];
#pragma GCC unroll 2
    for (size_t v = 0; v < kVecs; ++v) b_vec[v] = hn::LoadU(d, b_t + v * lanes);
#pragma GCC unroll 16
    for (size_t i = 0; i < kRows; ++i) {
      const V broadcast = hn::Set(d, a_t[row_of[i]]);
#pragma GCC unroll 2
      for (size_t v = 0; v < kVecs; ++v) {
        acc[split][i][v] = hn::MulAdd(broadcast, b_vec[v], acc[split][i][v]);
      }
    }
  };
  size_t t = 0;
  for (; t + kSplits <= steps; t += kSplits) {
#pragma GCC unroll 8
    for (size_t s = 0; s < kSplits; ++s) add_step(s, t + s);
  }
  // The last steps % kSplits steps, one per set: a guard in an unrolled
  // loop (a runtime set index would send the accumulators to memory).
#pragma GCC unroll 8
  for (size_t s = 0; s + 1 < kSplits; ++s) {
    if (t + s < steps) add_step(s, t + s);
  }
#pragma GCC unroll 16
  for (size_t i = 0; i < kRows; ++i) {
    if (i >= rows) break;
#pragma GCC unroll 2
    for (size_t v = 0; v < kVecs; ++v) {
      StorePartial(d, SumSplits<0, kSplits>(acc, i, v),
                   c + (row0 + i) * ldc + col0 + v * lanes,
                   std::min(lanes, cols - v * lanes));
    }
  }
}

// All rows of one column panel of kVecs vectors: tall tiles, then short
// ones, then a single row.
template <size_t kVecs, class D>
HWY_INLINE void Panel(D d, const float* a, size_t lda, size_t m, const float* b,
                      size_t ldb, size_t steps, size_t col0, size_t cols,
                      float* c, size_t ldc) {
  size_t row0 = 0;
  for (; row0 + kTallRows <= m; row0 += kTallRows) {
    Tile<kTallRows, kVecs>(d, a, lda, b, ldb, steps, row0, kTallRows, col0,
                           cols, c, ldc);
  }
  while (m - row0 >= 2) {
    const size_t rows = std::min(kShortRows, m - row0);
    Tile<kShortRows, kVecs>(d, a, lda, b, ldb, steps, row0, rows, col0, cols, c,
                            ldc);
    row0 += rows;
  }
  if (row0 < m) {
    Tile<1, kVecs>(d, a, lda, b, ldb, steps, row0, 1, col0, cols, c, ldc);
  }
}

}  // namespace outer_product_detail

/// C (m × n, row stride ldc) = Σ_{t < steps} a(t) b(t)ᵀ, where a(t) = a +
/// t·lda holds m floats and b(t) = b + t·ldb holds n: C = Aᵀ B for A
/// (steps × m) and B (steps × n) stored by steps, as Δ, E, X and H are.
/// Overwrites C (zeros for steps = 0). Each element is summed in a fixed
/// order: the same bits every call. Meant for one short sequence at small
/// H, whose operands fit in L2: it reads all of B once per tile of rows.
HWY_INLINE void OuterProductSum(const float* a, size_t lda, size_t m,
                                const float* b, size_t ldb, size_t n,
                                size_t steps, float* c, size_t ldc) {
  const hn::ScalableTag<float> d;
  const size_t lanes = hn::Lanes(d);
  for (size_t col0 = 0; col0 < n;) {
    const size_t cols = std::min(n - col0, 2 * lanes);
    if (cols > lanes) {
      outer_product_detail::Panel<2>(d, a, lda, m, b, ldb, steps, col0, cols, c,
                                     ldc);
    } else {
      outer_product_detail::Panel<1>(d, a, lda, m, b, ldb, steps, col0, cols, c,
                                     ldc);
    }
    col0 += cols;
  }
}
#endif  // !HWY_HAVE_SCALABLE

}  // namespace elman::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // ELMAN_SRC_KERNELS_OUTER_PRODUCT_INL_H_
