// A matrix stored in quads, for the matrix-vector products of one sequence
// on AVX-512 at H = 16, 32 or 64 (src/kernels/matvec-inl.h, MatVecQuads):
// the step's ĥ = b + x·Wᵀ + h·Uᵀ (Stream and Forward), and eq. 7.15's carry
// e(t)·V + δ(t+1)·U (Backward, src/carry-inl.h).
//
// The column form loads one broadcast of in[k] per row of M and feeds it to
// H/16 FMAs: at H = 64 that is 5 loads for 4 FMAs, and on a core that
// completes two loads a cycle (Zen 5, Ice Lake) the loads set the pace of
// the step (README, "What limits it"). In quads, one 128-bit broadcast of
// in[4K…4K+3] to every block of a vector serves the 4 rows 4K…4K+3 of M
// and every output: each 128-bit block of an accumulator holds 4 of those
// rows for one output j, and each loaded vector of weights feeds one FMA
// with 16 useful products, as in the column form. Loads per FMA fall from
// 1 + 16/H to 1 + 4/H (at H = 64 and I = 16, 400 → 340 for ĥ). Each
// output's 4 lane sums are added at the end by one transposing tree per 16
// outputs (SumPairs, SumQuads).
//
// Layout of the k × n matrix M (row-major, M(k, j) = in[k]'s weight for
// output j; n a multiple of 16): for each block of 4 rows K, then each 16
// outputs r, then a = 0…3, then jj = 0…3, then kk = 0…3, the weight
// M(4K + kk, 16r + 4jj + a), zero past k's last row. The 16 floats of one
// (K, r, a) are one AVX-512 vector, accumulator a of unit r, whose block jj
// sums output 16r + 4jj + a: SumQuads(SumPairs(a0, a1), SumPairs(a2, a3))
// then puts output 16r + i in lane i, the outputs in order.
#ifndef ELMAN_SRC_QUADS_H_
#define ELMAN_SRC_QUADS_H_

#include <cstddef>
#include <cstring>

namespace elman::internal {

/// Rows of M per quad: the floats of a 128-bit block.
inline constexpr size_t kQuadRows = 4;
/// Outputs per unit: AVX-512's lanes.
inline constexpr size_t kQuadUnit = 16;

/// Floats the quad layout of a k × n matrix takes.
constexpr size_t QuadFloats(size_t k, size_t n) {
  return (k + kQuadRows - 1) / kQuadRows * kQuadRows * n;
}

/// Whether one sequence's Stream, and a workspace, hold weights in quads
/// (Wᵀ, Uᵀ and b for the steps, V and U for the carry): H = 16, 32 or 64,
/// one, two or four units (the shapes of QuadFusedSteps and QuadCarrySteps
/// on AVX-512).
constexpr bool UsesQuads(size_t batch, size_t hidden) {
  return batch == 1 && (hidden == 16 || hidden == 32 || hidden == 64);
}

/// QuadFloats(k, hidden) where `batch` sequences of `hidden` units read
/// their weights in quads (UsesQuads), else 0: a buffer's size.
constexpr size_t QuadFloatsIfUsed(size_t batch, size_t k, size_t hidden) {
  return UsesQuads(batch, hidden) ? QuadFloats(k, hidden) : 0;
}

/// packed (QuadFloats(k, n) floats) = M = Rᵀ in quads, from R itself (n × k,
/// row-major: a weight matrix as the model holds it, W, U, or b as n × 1);
/// n must be a multiple of kQuadUnit. Each (K, r, a, jj) of the layout is
/// the 4 floats R(j, 4K…4K+3) of one row: one 16-byte copy. The layout's
/// definition, and the Stream's packer (once, when it is made or loaded, on
/// whatever target); Forward, which packs at every call, does the same by
/// vectors (PackQuadsFromRowsByVectors, src/kernels/transpose-inl.h,
/// tested equal to this).
inline void PackQuadsFromRows(const float* rows, size_t k, size_t n,
                              float* packed) {
  const size_t blocks = (k + kQuadRows - 1) / kQuadRows;
  for (size_t block = 0; block < blocks; ++block) {
    for (size_t r = 0; r < n / kQuadUnit; ++r) {
      for (size_t a = 0; a < 4; ++a) {
        for (size_t jj = 0; jj < 4; ++jj) {
          const float* row =
              rows + (r * kQuadUnit + jj * 4 + a) * k + block * kQuadRows;
          if ((block + 1) * kQuadRows <= k) {  // one 16-byte copy
            std::memcpy(packed, row, kQuadRows * sizeof(float));
          } else {
            for (size_t kk = 0; kk < kQuadRows; ++kk) {
              packed[kk] = block * kQuadRows + kk < k ? row[kk] : 0.0f;
            }
          }
          packed += kQuadRows;
        }
      }
    }
  }
}

}  // namespace elman::internal

#endif  // ELMAN_SRC_QUADS_H_
