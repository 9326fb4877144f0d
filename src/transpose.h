// Transposes of row-major float matrices on the SIMD target chosen at run
// time (the kernel: src/kernels/transpose-inl.h). The passes copy weights
// into the layouts their products read with these: Wᵀ, Uᵀ and Vᵀ for the
// Stream, Uᵀ for Forward's recurrence above the fused steps, Uᵀ's panels
// straight from U (src/panels.h), dW from dWᵀ.
#ifndef ELMAN_SRC_TRANSPOSE_H_
#define ELMAN_SRC_TRANSPOSE_H_

#include <cstddef>

namespace elman::internal {

/// Rows a thread's share of a transpose starts at a multiple of (Forward's
/// copies split the source rows so), a whole number of tiles.
inline constexpr size_t kTransposeStrip = 16;

/// dst(c, r) = src(r, c) for the source rows [row_begin, row_end) and every
/// column c < cols: src is row-major, `cols` floats a row; dst's rows are
/// dst_stride (≥ row_end) floats apart — the source's row count for the
/// plain transpose, a panel's width for one panel of src/panels.h. Writes
/// nothing else: threads that take disjoint row ranges together write all of
/// dst. src and dst must not overlap.
void TransposeRows(const float* src, size_t cols, float* dst, size_t dst_stride,
                   size_t row_begin, size_t row_end);

/// dst (cols × rows) = srcᵀ, src being rows × cols, both row-major.
inline void Transpose(const float* src, size_t rows, size_t cols, float* dst) {
  TransposeRows(src, cols, dst, rows, 0, rows);
}

}  // namespace elman::internal

#endif  // ELMAN_SRC_TRANSPOSE_H_
