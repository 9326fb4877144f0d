// dst = srcᵀ for row-major float matrices, in register tiles: each pass
// copies weights into the layout its products read (Wᵀ, Uᵀ and Vᵀ for the
// fused steps, Uᵀ's panels packed from U, the GEMM's panels of B packed
// from W and V, dW from dWᵀ), and at H = 512 those copies were a tenth of
// Forward when they moved one float at a time (a scalar load and a scalar
// store each, about a cycle per float on Zen 5).
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

// dst(j, i) = src(i, j) for an L × L tile, L = Lanes(d): src's rows are
// src_stride floats apart, dst's dst_stride.
template <class D>
HWY_INLINE void TransposeTile(D d, const float* HWY_RESTRICT src,
                              size_t src_stride, float* HWY_RESTRICT dst,
                              size_t dst_stride) {
  using V = hn::Vec<D>;
  constexpr size_t kLanes = hn::MaxLanes(d);
  static_assert(kLanes == 4 || kLanes == 8, "tiles are 4 × 4 or 8 × 8");
  const hn::Repartition<uint64_t, D> d64;
  V rows[kLanes];
#pragma GCC unroll 8
  for (size_t i = 0; i < kLanes; ++i)
    rows[i] = hn::LoadU(d, src + i * src_stride);
  // Within each 128-bit block b of every row (columns 4b…4b+3), a 4 × 4
  // transpose over each group of four rows: pairs of rows interleaved by
  // float, then pairs of those by two floats. quads[4g + j] then holds, in
  // block b, column 4b + j of rows 4g…4g+3.
  V quads[kLanes];
#pragma GCC unroll 2
  for (size_t g = 0; g < kLanes; g += 4) {
    const auto low01 =
        hn::BitCast(d64, hn::InterleaveLower(d, rows[g], rows[g + 1]));
    const auto high01 =
        hn::BitCast(d64, hn::InterleaveUpper(d, rows[g], rows[g + 1]));
    const auto low23 =
        hn::BitCast(d64, hn::InterleaveLower(d, rows[g + 2], rows[g + 3]));
    const auto high23 =
        hn::BitCast(d64, hn::InterleaveUpper(d, rows[g + 2], rows[g + 3]));
    quads[g] = hn::BitCast(d, hn::InterleaveLower(d64, low01, low23));
    quads[g + 1] = hn::BitCast(d, hn::InterleaveUpper(d64, low01, low23));
    quads[g + 2] = hn::BitCast(d, hn::InterleaveLower(d64, high01, high23));
    quads[g + 3] = hn::BitCast(d, hn::InterleaveUpper(d64, high01, high23));
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

}  // namespace elman::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // ELMAN_SRC_KERNELS_TRANSPOSE_INL_H_
