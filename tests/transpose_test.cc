// TransposeRows (src/kernels/transpose-inl.h) on every compiled SIMD target
// against the definition dst(c, r) = src(r, c): every shape of
// kernel_test::kLengths in both dimensions (below, at and past the 4 × 4 and
// 8 × 8 tiles), destination rows near (row strips) and far apart (column
// blocks), row ranges that start and end anywhere, and a sentinel in every
// destination float the call must not write; TransposeBlock (a block of a
// larger matrix, the GEMM's panels packed from Bᵀ) likewise, and on AVX-512
// the two quad packers against their layout. Then the
// dispatched internal::TransposeRows and internal::Transpose once each.
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "tests/kernel_test_util.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/transpose_test.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/tests/test_util-inl.h"
#include "src/kernels/transpose-inl.h"
#include "src/transpose.h"

// Shared by every target's pass through this file (foreach_target.h
// includes it once per target).
#ifndef ELMAN_TESTS_TRANSPOSE_TEST_HELPERS_
#define ELMAN_TESTS_TRANSPOSE_TEST_HELPERS_
namespace elman::transpose_test {

/// A value no source float has: a destination float still holding it was
/// never written.
inline constexpr float kSentinel = -7.5f;

/// Source floats that tell their position apart: src(r, c) = r · 1000 + c +
/// 1 (exact in float for the shapes here).
inline std::vector<float> NumberedSource(size_t rows, size_t cols) {
  std::vector<float> src(rows * cols);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) {
      src[r * cols + c] = static_cast<float>(r * 1000 + c + 1);
    }
  }
  return src;
}

/// "" if dst holds src(r, c) at c·dst_stride + r for every r in [row_begin,
/// row_end) and c < cols, and the sentinel everywhere else; else the first
/// float that is wrong.
inline std::string CheckTranspose(const std::vector<float>& src, size_t cols,
                                  const std::vector<float>& dst,
                                  size_t dst_stride, size_t row_begin,
                                  size_t row_end) {
  for (size_t i = 0; i < dst.size(); ++i) {
    const size_t c = i / dst_stride, r = i % dst_stride;
    const bool written = c < cols && r >= row_begin && r < row_end;
    const float want = written ? src[r * cols + c] : kSentinel;
    if (std::memcmp(&dst[i], &want, sizeof(float)) != 0) {
      std::ostringstream message;
      message << "dst[" << c << "][" << r << "] = " << dst[i] << ", want "
              << want << (written ? "" : " (must not be written)");
      return message.str();
    }
  }
  return "";
}

}  // namespace elman::transpose_test
#endif  // ELMAN_TESTS_TRANSPOSE_TEST_HELPERS_

HWY_BEFORE_NAMESPACE();
namespace elman {
namespace HWY_NAMESPACE {
namespace {

namespace tt = ::elman::transpose_test;

// Every shape, the plain transpose (dst_stride = rows) and rows a panel
// apart or far apart (dst_stride past rows: near, and at least
// kFarRowsFloats, which takes the column-block order).
void TestWholeMatrix() {
  for (size_t rows : kernel_test::kLengths) {
    for (size_t cols : kernel_test::kLengths) {
      const std::vector<float> src = tt::NumberedSource(rows, cols);
      for (size_t dst_stride : {rows, rows + 5, rows + 300}) {
        std::vector<float> dst(cols * dst_stride + 3, tt::kSentinel);
        TransposeRows(src.data(), cols, dst.data(), dst_stride, 0, rows);
        const std::string error =
            tt::CheckTranspose(src, cols, dst, dst_stride, 0, rows);
        ASSERT_EQ(error, "")
            << rows << " × " << cols << ", dst_stride " << dst_stride << ", "
            << hwy::TargetName(HWY_TARGET);
      }
    }
  }
}

// Row ranges that start and end off the tiles' grid, each writing only its
// own columns of dst; disjoint ranges together write all of it.
void TestRowRanges() {
  constexpr size_t kRows = 100;
  for (size_t cols : {1, 9, 17, 64}) {
    const std::vector<float> src = tt::NumberedSource(kRows, cols);
    for (size_t dst_stride : {kRows, kRows + 300}) {
      for (size_t begin : {0, 1, 5, 16, 33}) {
        for (size_t end :
             {begin, begin + 1, begin + 7, begin + 8, begin + 19, kRows}) {
          if (end > kRows) continue;
          std::vector<float> dst(cols * dst_stride, tt::kSentinel);
          TransposeRows(src.data(), cols, dst.data(), dst_stride, begin, end);
          const std::string error =
              tt::CheckTranspose(src, cols, dst, dst_stride, begin, end);
          ASSERT_EQ(error, "")
              << "rows [" << begin << ", " << end << ") of " << kRows << " × "
              << cols << ", dst_stride " << dst_stride << ", "
              << hwy::TargetName(HWY_TARGET);
        }
      }
      std::vector<float> dst(cols * dst_stride, tt::kSentinel);
      for (size_t begin = 0; begin < kRows; begin += 16) {
        TransposeRows(src.data(), cols, dst.data(), dst_stride, begin,
                      std::min(kRows, begin + 16));
      }
      ASSERT_EQ(tt::CheckTranspose(src, cols, dst, dst_stride, 0, kRows), "")
          << "shares of 16 rows, " << kRows << " × " << cols << ", "
          << hwy::TargetName(HWY_TARGET);
    }
  }
}

// TransposeBlock: a rows × cols block at (3, 2) of a larger matrix whose
// rows are 5 floats wider than the block reaches, into destination rows
// exactly `rows` long, longer, and a 64-float panel's width; every shape of
// kLengths up to 64 rows; nothing outside the block's image written.
void TestBlock() {
  for (size_t rows : kernel_test::kLengths) {
    if (rows > 64) continue;
    for (size_t cols : kernel_test::kLengths) {
      const size_t row0 = 3, col0 = 2, src_cols = col0 + cols + 5;
      const std::vector<float> src =
          tt::NumberedSource(row0 + rows + 1, src_cols);
      for (size_t dst_stride : {rows, rows + 3, size_t{64}}) {
        std::vector<float> dst(cols * dst_stride + 3, tt::kSentinel);
        TransposeBlock(src.data() + row0 * src_cols + col0, src_cols, rows,
                       cols, dst.data(), dst_stride);
        for (size_t i = 0; i < dst.size(); ++i) {
          const size_t c = i / dst_stride, r = i % dst_stride;
          const bool written = c < cols && r < rows;
          const float want =
              written ? src[(row0 + r) * src_cols + col0 + c] : tt::kSentinel;
          ASSERT_EQ(dst[i], want)
              << "dst[" << c << "][" << r << "] of the " << rows << " × "
              << cols << " block, dst_stride " << dst_stride << ", "
              << hwy::TargetName(HWY_TARGET)
              << (written ? "" : " (must not be written)");
        }
      }
    }
  }
}

// PackQuadsFromMatrix (AVX-512 only): M in quads from M itself, against the
// layout's definition (src/quads.h), at every k of kLengths (the last block
// of 4 rows partial or whole) and 1, 2 and 4 units of columns; the floats
// past M's last row zero, nothing past the layout written.
void TestQuadsFromMatrix() {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
  using internal::kQuadRows;
  using internal::kQuadUnit;
  for (size_t k : kernel_test::kLengths) {
    for (size_t n : {16, 32, 64}) {
      const std::vector<float> matrix = tt::NumberedSource(k, n);
      const size_t floats = internal::QuadFloats(k, n);
      std::vector<float> packed(floats + kQuadUnit, tt::kSentinel);
      PackQuadsFromMatrix(matrix.data(), k, n, packed.data());
      for (size_t i = 0; i < packed.size(); ++i) {
        // i = (((block · units + unit) · 4 + a) · 4 + jj) · 4 + kk.
        const size_t kk = i % kQuadRows, jj = i / kQuadRows % 4,
                     a = i / (4 * kQuadRows) % 4, vector = i / kQuadUnit / 4;
        const size_t unit = vector % (n / kQuadUnit),
                     block = vector / (n / kQuadUnit);
        const size_t row = block * kQuadRows + kk,
                     col = unit * kQuadUnit + jj * 4 + a;
        const float want = i >= floats ? tt::kSentinel
                           : row < k   ? matrix[row * n + col]
                                       : 0.0f;
        ASSERT_EQ(packed[i], want)
            << "packed[" << i << "] (row " << row << ", column " << col
            << ") of " << k << " × " << n << ", " << hwy::TargetName(HWY_TARGET)
            << (i >= floats ? " (must not be written)" : "");
      }
    }
  }
#else
  GTEST_SKIP() << "PackQuadsFromMatrix is compiled for AVX-512 only";
#endif
}

// PackQuadsFromRowsByVectors (AVX-512 only) against the layout's
// definition, internal::PackQuadsFromRows, bit for bit: R (n × k) at every
// k of kLengths (its last block of columns read through a masked load) and
// 1, 2 and 4 units of rows; nothing past the layout written.
void TestQuadsFromRows() {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
  for (size_t k : kernel_test::kLengths) {
    for (size_t n : {16, 32, 64}) {
      const std::vector<float> rows = tt::NumberedSource(n, k);
      const size_t floats = internal::QuadFloats(k, n);
      std::vector<float> want(floats + internal::kQuadUnit, tt::kSentinel);
      internal::PackQuadsFromRows(rows.data(), k, n, want.data());
      std::vector<float> packed(want.size(), tt::kSentinel);
      PackQuadsFromRowsByVectors(rows.data(), k, n, packed.data());
      for (size_t i = 0; i < packed.size(); ++i) {
        ASSERT_EQ(packed[i], want[i])
            << "packed[" << i << "] of R " << n << " × " << k << ", "
            << hwy::TargetName(HWY_TARGET)
            << (i >= floats ? " (must not be written)" : "");
      }
    }
  }
#else
  GTEST_SKIP() << "PackQuadsFromRowsByVectors is compiled for AVX-512 only";
#endif
}

}  // namespace
// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace elman
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace elman {
HWY_BEFORE_TEST(TransposeTest);
HWY_EXPORT_AND_TEST_P(TransposeTest, TestWholeMatrix);
HWY_EXPORT_AND_TEST_P(TransposeTest, TestRowRanges);
HWY_EXPORT_AND_TEST_P(TransposeTest, TestBlock);
HWY_EXPORT_AND_TEST_P(TransposeTest, TestQuadsFromMatrix);
HWY_EXPORT_AND_TEST_P(TransposeTest, TestQuadsFromRows);

// The library's entry point, on whichever target the process chose.
TEST(TransposeDispatchTest, TransposeAndRowsMatchTheDefinition) {
  namespace tt = transpose_test;
  const size_t rows = 37, cols = 21;
  const std::vector<float> src = tt::NumberedSource(rows, cols);
  std::vector<float> dst(cols * rows, tt::kSentinel);
  internal::Transpose(src.data(), rows, cols, dst.data());
  EXPECT_EQ(tt::CheckTranspose(src, cols, dst, rows, 0, rows), "");
  std::vector<float> panel(cols * 64, tt::kSentinel);
  internal::TransposeRows(src.data(), cols, panel.data(), 64, 3, 30);
  EXPECT_EQ(tt::CheckTranspose(src, cols, panel, 64, 3, 30), "");
}

// A single column, or a single row into a single column, is copied
// (internal::TransposeRows' shortcut): the same definition, every row range
// and stride, nothing written outside dst(c, r) for the rows asked.
TEST(TransposeDispatchTest, VectorsMatchTheDefinition) {
  namespace tt = transpose_test;
  for (const size_t rows : {1, 2, 17, 33}) {
    const std::vector<float> column = tt::NumberedSource(rows, 1);
    for (const size_t dst_stride : {rows, rows + 5}) {
      for (size_t begin = 0; begin <= rows; ++begin) {
        for (size_t end = begin; end <= rows; ++end) {
          std::vector<float> dst(dst_stride + 3, tt::kSentinel);
          internal::TransposeRows(column.data(), 1, dst.data(), dst_stride,
                                  begin, end);
          ASSERT_EQ(tt::CheckTranspose(column, 1, dst, dst_stride, begin, end),
                    "")
              << rows << " × 1, rows [" << begin << ", " << end << ")";
        }
      }
    }
  }
  for (const size_t cols : {2, 17, 33}) {
    const std::vector<float> row = tt::NumberedSource(1, cols);
    for (const size_t end : {0, 1}) {
      std::vector<float> dst(cols + 3, tt::kSentinel);
      internal::TransposeRows(row.data(), cols, dst.data(), 1, 0, end);
      ASSERT_EQ(tt::CheckTranspose(row, cols, dst, 1, 0, end), "")
          << "1 × " << cols << ", rows [0, " << end << ")";
    }
  }
}
}  // namespace elman
#endif
