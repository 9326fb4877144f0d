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
namespace elman {
HWY_EXPORT(TransposeRowsOnTarget);

namespace internal {

void TransposeRows(const float* src, size_t cols, float* dst, size_t dst_stride,
                   size_t row_begin, size_t row_end) {
  ELMAN_DISPATCH(TransposeRowsOnTarget)
  (src, cols, dst, dst_stride, row_begin, row_end);
}

}  // namespace internal
}  // namespace elman
#endif  // HWY_ONCE
