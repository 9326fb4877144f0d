// An owned, 64-byte aligned float array with a vector's worth of zeroed slack
// after its end, so kernels may load a whole vector starting at any element
// (the memory contract in src/kernels/gemm-inl.h).
#ifndef ELMAN_SRC_BUFFER_H_
#define ELMAN_SRC_BUFFER_H_

#include <algorithm>
#include <cstddef>

#include "hwy/aligned_allocator.h"

namespace elman::internal {

class Buffer {
 public:
  // Larger than any Highway vector of floats (HWY_MAX_BYTES / 4).
  static constexpr size_t kSlackFloats = 64;

  Buffer() = default;
  explicit Buffer(size_t size)
      : size_(size), data_(hwy::AllocateAligned<float>(size + kSlackFloats)) {
    std::fill_n(data_.get(), size + kSlackFloats, 0.0f);
  }

  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  size_t size() const { return size_; }

 private:
  size_t size_ = 0;
  hwy::AlignedFreeUniquePtr<float[]> data_;
};

/// dst (cols × rows) = srcᵀ, src being rows × cols, both row-major. Done in
/// 16×16 blocks: a row-by-column loop writes one float per cache line and,
/// at H = 512, cost Forward more than its arithmetic.
inline void Transpose(const float* src, size_t rows, size_t cols, float* dst) {
  constexpr size_t kBlock = 16;
  for (size_t r0 = 0; r0 < rows; r0 += kBlock) {
    const size_t r_end = std::min(rows, r0 + kBlock);
    for (size_t c0 = 0; c0 < cols; c0 += kBlock) {
      const size_t c_end = std::min(cols, c0 + kBlock);
      for (size_t r = r0; r < r_end; ++r) {
        for (size_t c = c0; c < c_end; ++c)
          dst[c * rows + r] = src[r * cols + c];
      }
    }
  }
}

}  // namespace elman::internal

#endif  // ELMAN_SRC_BUFFER_H_
