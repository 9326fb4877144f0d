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

}  // namespace elman::internal

#endif  // ELMAN_SRC_BUFFER_H_
