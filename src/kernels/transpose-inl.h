// dst = srcᵀ for row-major float matrices, in register tiles: each pass
// copies weights into the layout its products read (Wᵀ, Uᵀ and Vᵀ for the
// fused steps, Uᵀ's panels packed from U, the GEMM's panels of B packed
// from W and V, dW from dWᵀ), and at H = 512 those copies were a tenth of
// Forward when they moved one float at a time (a scalar load and a scalar
// store each, about a cycle per float on Zen 5). At the end, on AVX-512,
// the two packers of the quad layout (src/quads.h): the forward's, from the
// weights' rows, transposes 128-bit blocks; the carry's, from the matrix
// itself, transposes within them.
//
// A tile is L × L floats (L = 8 with 256-bit vectors, 4 with 128-bit): L
// row loads, a transpose in registers (interleaves of 32-bit and 64-bit
// lanes within 128-bit blocks, then, for L = 8, swaps of 128-bit halves),
// and L stores of L contiguous floats. Exact: every float is moved, never
// computed, so each target writes the same bits.
//
// The order in which tiles are visited follows where the destination rows
// lie. Near one another (a panel of src/panels.h, rows 256 bytes apart),
// strips of 16 source rows are read left to right: source and destination
// both advance as sequential streams. Far apart (a whole matrix's transpose,
// rows 1 KiB and more apart), those strips write each tile's L rows into
// lines that fall on few L1 sets and that alias the loads' addresses modulo
// 4 KiB; there a block of 16 columns is walked down all the rows, which
// keeps 16 destination streams, each written line by line. Measured on Zen
// 5 (µs, one thread): 512 × 256 → 12.7 against 31 a float at a time (row
// strips: 90); Uᵀ's panels packed from a 512 × 512 U, 30 against 68 (column
// blocks: 45).
#if defined(ELMAN_SRC_KERNELS_TRANSPOSE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ELMAN_SRC_KERNELS_TRANSPOSE_INL_H_
#undef ELMAN_SRC_KERNELS_TRANSPOSE_INL_H_
#else
#define ELMAN_SRC_KERNELS_TRANSPOSE_INL_H_
#endif

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "hwy/highway.h"
#include "src/kernels/lambda_inline.h"
#include "src/quads.h"

HWY_BEFORE_NAMESPACE();
namespace elman::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

namespace transpose_detail {

/// Source rows a row strip reads at once, and source columns a column block
/// walks down (see the top of the file).
inline constexpr size_t kStripRows = 16;
inline constexpr size_t kBlockColumns = 16;
/// Destination rows at least this many floats apart (1 KiB) are visited in
/// column blocks.
inline constexpr size_t kFarRowsFloats = 256;

// Every float of rows [row_begin, row_end) × columns [col_begin, cols), one
// at a time: what the tiles leave over. src's rows are src_stride floats
// apart.
inline void TransposeScalar(const float* HWY_RESTRICT src, size_t src_stride,
                            size_t cols, float* HWY_RESTRICT dst,
                            size_t dst_stride, size_t row_begin, size_t row_end,
                            size_t col_begin) {
  for (size_t c = col_begin; c < cols; ++c) {
    for (size_t r = row_begin; r < row_end; ++r) {
      dst[c * dst_stride + r] = src[r * src_stride + c];
    }
  }
}

// Tiles on every target with 128-bit or wider vectors of fixed size; the
// scalar target and SVE's sizeless vectors move one float at a time.
#if HWY_TARGET != HWY_SCALAR && !HWY_HAVE_SCALABLE
// 8 lanes where vectors have 256 bits or more, else 4.
using TileTag = hn::CappedTag<float, 8>;

// Within each 128-bit block b, a 4 × 4 transpose of four rows: pairs of
// rows interleaved by float, then pairs of those by two floats. quads[j]
// then holds, in block b, column 4b + j of rows[0…3]: [rows[0][4b + j],
// rows[1][4b + j], rows[2][4b + j], rows[3][4b + j]].
template <class D, class V = hn::Vec<D>>
HWY_INLINE void TransposeWithinBlocks(D d, const V* rows, V* quads) {
  const hn::Repartition<uint64_t, D> d64;
  const auto low01 = hn::BitCast(d64, hn::InterleaveLower(d, rows[0], rows[1]));
  const auto high01 =
      hn::BitCast(d64, hn::InterleaveUpper(d, rows[0], rows[1]));
  const auto low23 = hn::BitCast(d64, hn::InterleaveLower(d, rows[2], rows[3]));
  const auto high23 =
      hn::BitCast(d64, hn::InterleaveUpper(d, rows[2], rows[3]));
  quads[0] = hn::BitCast(d, hn::InterleaveLower(d64, low01, low23));
  quads[1] = hn::BitCast(d, hn::InterleaveUpper(d64, low01, low23));
  quads[2] = hn::BitCast(d, hn::InterleaveLower(d64, high01, high23));
  quads[3] = hn::BitCast(d, hn::InterleaveUpper(d64, high01, high23));
}

// dst(j, i) = src(i, j) for an L × L tile, L = Lanes(d): src's rows are
// src_stride floats apart, dst's dst_stride.
template <class D>
HWY_INLINE void TransposeTile(D d, const float* HWY_RESTRICT src,
                              size_t src_stride, float* HWY_RESTRICT dst,
                              size_t dst_stride) {
  using V = hn::Vec<D>;
  constexpr size_t kLanes = hn::MaxLanes(d);
  static_assert(kLanes == 4 || kLanes == 8, "tiles are 4 × 4 or 8 × 8");
  V rows[kLanes];
#pragma GCC unroll 8
  for (size_t i = 0; i < kLanes; ++i)
    rows[i] = hn::LoadU(d, src + i * src_stride);
  // quads[4g + j] holds, in block b, column 4b + j of rows 4g…4g+3.
  V quads[kLanes];
#pragma GCC unroll 2
  for (size_t g = 0; g < kLanes; g += 4) {
    TransposeWithinBlocks(d, rows + g, quads + g);
  }
  if constexpr (kLanes == 4) {
#pragma GCC unroll 4
    for (size_t j = 0; j < 4; ++j)
      hn::StoreU(quads[j], d, dst + j * dst_stride);
  } else {
    // Column j (j < 4) is block 0 of rows 0…3 and of rows 4…7; column j + 4
    // is block 1 of both.
#pragma GCC unroll 4
    for (size_t j = 0; j < 4; ++j) {
      hn::StoreU(hn::ConcatLowerLower(d, quads[j + 4], quads[j]), d,
                 dst + j * dst_stride);
      hn::StoreU(hn::ConcatUpperUpper(d, quads[j + 4], quads[j]), d,
                 dst + (j + 4) * dst_stride);
    }
  }
}
#endif

}  // namespace transpose_detail

/// dst(c, r) = src(r, c) for the source rows [row_begin, row_end) and every
/// column c < cols: src is row-major with `cols` floats a row, dst's rows
/// are dst_stride (≥ row_end) floats apart. Writes nothing else, so threads
/// that take disjoint row ranges together write all of dst.
HWY_INLINE void TransposeRows(const float* HWY_RESTRICT src, size_t cols,
                              float* HWY_RESTRICT dst, size_t dst_stride,
                              size_t row_begin, size_t row_end) {
  namespace td = transpose_detail;
  size_t tiled_rows_end = row_begin, tiled_cols = 0;
#if HWY_TARGET != HWY_SCALAR && !HWY_HAVE_SCALABLE
  const td::TileTag d;
  constexpr size_t kLanes = hn::MaxLanes(d);
  tiled_rows_end = row_begin + (row_end - row_begin) / kLanes * kLanes;
  tiled_cols = cols / kLanes * kLanes;
  auto tile = [&](size_t r, size_t c) HWY_ATTR {
    td::TransposeTile(d, src + r * cols + c, cols, dst + c * dst_stride + r,
                      dst_stride);
  };
  if (dst_stride >= td::kFarRowsFloats) {
    for (size_t c0 = 0; c0 < tiled_cols; c0 += td::kBlockColumns) {
      const size_t c_end = std::min(tiled_cols, c0 + td::kBlockColumns);
      for (size_t r = row_begin; r < tiled_rows_end; r += kLanes) {
        for (size_t c = c0; c < c_end; c += kLanes) tile(r, c);
      }
    }
  } else {
    for (size_t r0 = row_begin; r0 < tiled_rows_end; r0 += td::kStripRows) {
      const size_t r_end = std::min(tiled_rows_end, r0 + td::kStripRows);
      for (size_t c = 0; c < tiled_cols; c += kLanes) {
        for (size_t r = r0; r < r_end; r += kLanes) tile(r, c);
      }
    }
  }
#endif
  // The columns right of the last whole tile, then the rows below it.
  td::TransposeScalar(src, cols, cols, dst, dst_stride, row_begin,
                      tiled_rows_end, tiled_cols);
  td::TransposeScalar(src, cols, cols, dst, dst_stride, tiled_rows_end, row_end,
                      0);
}

/// dst(c, r) = src(r, c) for r < rows and c < cols: a block of a larger
/// matrix, src's rows src_stride floats apart and dst's dst_stride (≥ rows).
/// Strips of source rows read left to right, for destinations whose rows
/// lie near one another (the GEMM's panel of B packed from Bᵀ: 64 floats a
/// row; GemmArgs::b_transposed).
HWY_INLINE void TransposeBlock(const float* HWY_RESTRICT src, size_t src_stride,
                               size_t rows, size_t cols,
                               float* HWY_RESTRICT dst, size_t dst_stride) {
  namespace td = transpose_detail;
  size_t tiled_rows = 0, tiled_cols = 0;
#if HWY_TARGET != HWY_SCALAR && !HWY_HAVE_SCALABLE
  const td::TileTag d;
  constexpr size_t kLanes = hn::MaxLanes(d);
  tiled_rows = rows / kLanes * kLanes;
  tiled_cols = cols / kLanes * kLanes;
  for (size_t r0 = 0; r0 < tiled_rows; r0 += td::kStripRows) {
    const size_t r_end = std::min(tiled_rows, r0 + td::kStripRows);
    for (size_t c = 0; c < tiled_cols; c += kLanes) {
      for (size_t r = r0; r < r_end; r += kLanes) {
        td::TransposeTile(d, src + r * src_stride + c, src_stride,
                          dst + c * dst_stride + r, dst_stride);
      }
    }
  }
#endif
  td::TransposeScalar(src, src_stride, cols, dst, dst_stride, 0, tiled_rows,
                      tiled_cols);
  td::TransposeScalar(src, src_stride, cols, dst, dst_stride, tiled_rows, rows,
                      0);
}

#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
/// packed = M in quads (src/quads.h: QuadFloats(k, n) floats, zero past
/// M's last row) from M itself, k × n and row-major, n a multiple of
/// kQuadUnit: eq. 7.15's carry reads V and U so (δ(t) = e(t)·V +
/// δ(t+1)·U), where the forward's quads are Wᵀ and Uᵀ, packed from W's
/// and U's rows (PackQuadsFromRows). The vectors of one block of 4 rows
/// and one unit of 16 columns are those 4 rows' loads transposed within
/// blocks: vector a holds M(4K + kk, 16r + 4jj + a) in lane 4jj + kk.
HWY_INLINE void PackQuadsFromMatrix(const float* HWY_RESTRICT matrix, size_t k,
                                    size_t n, float* HWY_RESTRICT packed) {
  using internal::kQuadRows;
  using internal::kQuadUnit;
  const hn::FixedTag<float, kQuadUnit> d;
  using V = hn::Vec<decltype(d)>;
  for (size_t row = 0; row < k; row += kQuadRows) {
    for (size_t col = 0; col < n; col += kQuadUnit) {
      V rows[kQuadRows];
#pragma GCC unroll 4
      for (size_t kk = 0; kk < kQuadRows; ++kk) {
        rows[kk] = row + kk < k ? hn::LoadU(d, matrix + (row + kk) * n + col)
                                : hn::Zero(d);
      }
      V quads[kQuadRows];
      transpose_detail::TransposeWithinBlocks(d, rows, quads);
#pragma GCC unroll 4
      for (size_t a = 0; a < kQuadRows; ++a) {
        hn::StoreU(quads[a], d, packed + a * kQuadUnit);
      }
      packed += kQuadRows * kQuadUnit;
    }
  }
}

namespace transpose_detail {

// The 4 × 4 transpose of 128-bit blocks: block m of out[j] is block j of
// in[m]. Two rounds of vshuff32x4, each block from either of two vectors
// (Highway 1.0 has no op for it): first the low and the high halves of
// pairs of rows, then their even and odd blocks.
template <class V>
HWY_INLINE void TransposeBlocks(const V (&in)[4], V (&out)[4]) {
  const __m512 low01 = _mm512_shuffle_f32x4(in[0].raw, in[1].raw, 0x44);
  const __m512 high01 = _mm512_shuffle_f32x4(in[0].raw, in[1].raw, 0xEE);
  const __m512 low23 = _mm512_shuffle_f32x4(in[2].raw, in[3].raw, 0x44);
  const __m512 high23 = _mm512_shuffle_f32x4(in[2].raw, in[3].raw, 0xEE);
  out[0] = V{_mm512_shuffle_f32x4(low01, low23, 0x88)};
  out[1] = V{_mm512_shuffle_f32x4(low01, low23, 0xDD)};
  out[2] = V{_mm512_shuffle_f32x4(high01, high23, 0x88)};
  out[3] = V{_mm512_shuffle_f32x4(high01, high23, 0xDD)};
}

}  // namespace transpose_detail

/// internal::PackQuadsFromRows (src/quads.h: M = Rᵀ in quads, from R's
/// rows, n × k) by vectors, for Forward, which packs W, U and b at every
/// call. Each vector (K, r, a) of the layout holds the 4 floats
/// R(j, 4K…4K+3) of the rows j = 16r + 4jj + a, jj = 0…3. Sixteen columns
/// at a time, those 4 rows' 512-bit loads hold the vectors of 4 blocks K,
/// which one transpose of 128-bit blocks takes apart (4 loads and 8
/// shuffles for 4 vectors); the columns past the last 16 are put together
/// from 128-bit loads, a masked one for the last quad (zero past column
/// k − 1). Measured on Zen 5, Forward alone at T = 1 (pinned, two builds
/// alternated): 136 → 111 ns at I = 1, H = 32 and 381 → 298 ns at I = 16,
/// H = 64 against 128-bit loads for every quad; the copies one quad at a
/// time before those had taken 92 ns for b (k = 1) and 99 ns for U at
/// H = 32. A single column (k = 1: b, and W at I = 1) takes one zeroing
/// permute per vector: 114 → 108 ns for the same Forward at I = 1, H = 32.
HWY_INLINE void PackQuadsFromRowsByVectors(const float* HWY_RESTRICT rows,
                                           size_t k, size_t n,
                                           float* HWY_RESTRICT packed) {
  using internal::kQuadRows;
  using internal::kQuadUnit;
  const hn::FixedTag<float, kQuadUnit> d;
  const hn::FixedTag<float, kQuadUnit / 2> d_half;
  const hn::FixedTag<float, kQuadRows> d_quad;
  using V = hn::Vec<decltype(d)>;
  const size_t block_floats = kQuadRows * n;  // one block K of the layout
  if (k == 1) {
    // R one column (b, and W at I = 1): vector (0, r, a) holds R(16r + 4jj
    // + a, 0) in lane 4jj and zeros elsewhere, one zeroing permute of the
    // 16 rows' floats (not four masked 32-bit loads and three inserts).
    for (size_t unit = 0; unit < n; unit += kQuadUnit) {
      const __m512 column = _mm512_loadu_ps(rows + unit);
#pragma GCC unroll 4
      for (size_t a = 0; a < 4; ++a) {
        const __m512i from = _mm512_set_epi32(0, 0, 0, 12 + a, 0, 0, 0, 8 + a,
                                              0, 0, 0, 4 + a, 0, 0, 0, a);
        _mm512_storeu_ps(packed + 4 * unit + a * kQuadUnit,
                         _mm512_maskz_permutexvar_ps(0x1111, from, column));
      }
    }
    return;
  }
  size_t begin = 0;
  for (; begin + kQuadUnit <= k; begin += kQuadUnit) {
    float* HWY_RESTRICT blocks = packed + begin / kQuadRows * block_floats;
    for (size_t unit = 0; unit < n; unit += kQuadUnit) {
#pragma GCC unroll 4
      for (size_t a = 0; a < 4; ++a) {
        V row_columns[4];  // jj: row unit + 4jj + a, columns begin…begin+15
#pragma GCC unroll 4
        for (size_t jj = 0; jj < 4; ++jj) {
          row_columns[jj] =
              hn::LoadU(d, rows + (unit + 4 * jj + a) * k + begin);
        }
        V vectors[4];  // m: the vector (begin/4 + m, unit/16, a)
        transpose_detail::TransposeBlocks(row_columns, vectors);
#pragma GCC unroll 4
        for (size_t m = 0; m < 4; ++m) {
          hn::StoreU(vectors[m], d,
                     blocks + m * block_floats + 4 * unit + a * kQuadUnit);
        }
      }
    }
  }
  packed += begin / kQuadRows * block_floats;
  for (; begin < k; begin += kQuadRows) {
    const auto columns = hn::FirstN(d_quad, std::min(kQuadRows, k - begin));
    for (size_t unit = 0; unit < n; unit += kQuadUnit) {
#pragma GCC unroll 4
      for (size_t a = 0; a < 4; ++a) {
        // Block jj: row unit + 4jj + a.
        auto quad = [&](size_t jj) HWY_ATTR ELMAN_LAMBDA_INLINE {
          return hn::MaskedLoad(columns, d_quad,
                                rows + (unit + 4 * jj + a) * k + begin);
        };
        const auto low = hn::Combine(d_half, quad(1), quad(0));
        const auto high = hn::Combine(d_half, quad(3), quad(2));
        hn::StoreU(hn::Combine(d, high, low), d, packed);
        packed += kQuadUnit;
      }
    }
  }
}
#endif

}  // namespace elman::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // ELMAN_SRC_KERNELS_TRANSPOSE_INL_H_
