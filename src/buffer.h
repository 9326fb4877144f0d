// An owned, 64-byte aligned float array with a vector's worth of zeroed slack
// after its end, so kernels may load a whole vector starting at any element
// (the memory contract in src/kernels/gemm-inl.h).
#ifndef ELMAN_SRC_BUFFER_H_
#define ELMAN_SRC_BUFFER_H_

#include <algorithm>
#include <cstddef>

#include "hwy/aligned_allocator.h"
#include "hwy/base.h"  // HWY_ARCH_ARM_A64

namespace elman::internal {

/// Floats in the widest vector of any target compiled in: AVX-512's 16 on
/// x86; on AArch64 SVE's, whose length is known only at run time, up to
/// 2048 bits. Kernels may load a whole vector starting at any element of a
/// Buffer or of Parameters: both end with at least this much slack.
#if HWY_ARCH_ARM_A64
inline constexpr size_t kMaxVectorFloats = 64;
#else
inline constexpr size_t kMaxVectorFloats = 16;
#endif

class Buffer {
 public:
  // At least one vector of the widest target (kMaxVectorFloats).
  static constexpr size_t kSlackFloats = 64;
  static_assert(kSlackFloats >= kMaxVectorFloats);

  Buffer() = default;
  explicit Buffer(size_t size)
      : size_(size), data_(hwy::AllocateAligned<float>(size + kSlackFloats)) {
    std::fill_n(data_.get(), size + kSlackFloats, 0.0f);
  }

  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  size_t size() const { return size_; }
  /// data(), or nullptr for an empty buffer (an optional operand).
  const float* data_or_null() const { return size_ > 0 ? data() : nullptr; }

 private:
  size_t size_ = 0;
  hwy::AlignedFreeUniquePtr<float[]> data_;
};

/// dst (cols × rows) = srcᵀ, src being rows × cols, both row-major. Strips
/// of 16 source rows: each destination row gets 16 contiguous floats from 16
/// loads that stay in L1 (the strip's 16 source lines), so the writes stream.
/// A row-by-column loop writes one float per cache line and, at H = 512,
/// cost Forward more than its arithmetic; 16×16 tiles written column-wise
/// still took 1.6× as long as these strips (512×512, this machine).
inline constexpr size_t kTransposeStrip = 16;

/// Transpose for the source rows [row_begin, row_end) only: the columns
/// [row_begin, row_end) of every destination row. Threads that take
/// disjoint row ranges (starting at multiples of kTransposeStrip) together
/// write all of dst. Destination rows are dst_stride floats apart: the
/// source's row count when dst is the plain transpose, a panel's width when it
/// is one panel of src/panels.h.
inline void TransposeRows(const float* src, size_t cols, float* dst,
                          size_t dst_stride, size_t row_begin, size_t row_end) {
  constexpr size_t kStrip = kTransposeStrip;
  size_t r0 = row_begin;
  for (; r0 + kStrip <= row_end; r0 += kStrip) {
    for (size_t c = 0; c < cols; ++c) {
      const float* from = src + r0 * cols + c;
      float* to = dst + c * dst_stride + r0;
#pragma GCC unroll 16
      for (size_t r = 0; r < kStrip; ++r) to[r] = from[r * cols];
    }
  }
  for (size_t c = 0; c < cols; ++c) {
    for (size_t r = r0; r < row_end; ++r) {
      dst[c * dst_stride + r] = src[r * cols + c];
    }
  }
}

inline void Transpose(const float* src, size_t rows, size_t cols, float* dst) {
  TransposeRows(src, cols, dst, rows, 0, rows);
}

}  // namespace elman::internal

#endif  // ELMAN_SRC_BUFFER_H_
