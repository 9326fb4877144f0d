// internal::TransposeRows (src/transpose.h): the tile kernel of
// src/kernels/transpose-inl.h, compiled for every target and dispatched.
#include "src/transpose.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/transpose.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
// Must come after foreach_target.h.
#include "hwy/highway.h"
#include "src/dispatch.h"
#include "src/kernels/transpose-inl.h"

HWY_BEFORE_NAMESPACE();
namespace elman::HWY_NAMESPACE {

// The kernel as one target's entry of the dispatch table.
void TransposeRowsOnTarget(const float* src, size_t cols, float* dst,
                           size_t dst_stride, size_t row_begin,
                           size_t row_end) {
  TransposeRows(src, cols, dst, dst_stride, row_begin, row_end);
}

}  // namespace elman::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <algorithm>

namespace elman {
HWY_EXPORT(TransposeRowsOnTarget);

namespace internal {

void TransposeRows(const float* src, size_t cols, float* dst, size_t dst_stride,
                   size_t row_begin, size_t row_end) {
  // A single column (W at I = 1), or a single row into a single column
  // (dst_stride 1, so row_end ≤ 1: V or dWᵀ at O or I = 1), holds the same
  // floats in the same order as its transpose: a copy, not a dispatched
  // element-by-element transpose (14–20 ns each, three times a 2 µs
  // training step at (1,32,1,25,1)).
  if (cols == 1) {
    std::copy(src + row_begin, src + row_end, dst + row_begin);
    return;
  }
  if (dst_stride == 1) {
    if (row_begin < row_end) std::copy(src, src + cols, dst);
    return;
  }
  ELMAN_DISPATCH(TransposeRowsOnTarget)
  (src, cols, dst, dst_stride, row_begin, row_end);
}

}  // namespace internal
}  // namespace elman
#endif  // HWY_ONCE
