// A matrix stored as column panels, for the column-form matrix-vector
// product of one sequence at large H (src/kernels/matvec-inl.h,
// MatVecPanels): the k × n row-major matrix M is cut into panels of
// kPanelFloats columns, and each panel's k rows are stored one after another,
// kPanelFloats floats apart (the last panel: its columns rounded up to
// kPanelAlignFloats, zero-padded). The product then reads the weights as one
// sequential stream. In M's own layout a panel reads 256 bytes of every
// 4·n-byte row: at H = 256 that stride is 1 KiB and the rows of a panel fall
// on a quarter of L1's sets. A harness of a streaming step's three products
// (Zen 5) ran the same sums over panels 2.0× as fast at H = 256 (5.0 against
// 2.5 µs), 1.4× at 128 and 1.7× at 512; Stream::Step went from 3.7 to 2.7 µs
// at H = 256 (README, "How it is built").
//
// The layout is the same on every target: a target whose vectors are
// narrower reads a panel in several runs of vectors, one whose vectors are
// wider than the last panel reads into the next rows or the buffer's slack,
// lanes it never stores.
#ifndef ELMAN_SRC_PANELS_H_
#define ELMAN_SRC_PANELS_H_

#include <algorithm>
#include <cstddef>

#include "src/buffer.h"
#include "src/thread_pool.h"
#include "src/transpose.h"

namespace elman::internal {

/// Columns of a panel: 4 vectors of AVX-512 (one panel is one ColumnPanel of
/// 16 accumulators there), 8 of AVX2.
inline constexpr size_t kPanelFloats = 64;
/// The last panel's width is a multiple of this (AVX-512's vector).
inline constexpr size_t kPanelAlignFloats = 16;

/// Where each panel of a k × n matrix lives in its panel layout.
struct PanelLayout {
  size_t k = 0, n = 0;

  size_t panels() const { return (n + kPanelFloats - 1) / kPanelFloats; }
  /// Floats between two rows of panel p.
  size_t Width(size_t p) const {
    const size_t columns = std::min(kPanelFloats, n - p * kPanelFloats);
    return (columns + kPanelAlignFloats - 1) / kPanelAlignFloats *
           kPanelAlignFloats;
  }
  /// Offset of panel p's first row; every panel before it is full width.
  size_t Offset(size_t p) const { return p * kPanelFloats * k; }
  /// Floats the whole layout takes.
  size_t size() const {
    return n == 0 ? 0 : Offset(panels() - 1) + Width(panels() - 1) * k;
  }
};

/// Panels [first, end) of PackPanels(matrix, layout, packed): a thread's
/// share of the packing.
inline void PackPanelRange(const float* matrix, const PanelLayout& layout,
                           size_t first, size_t end, float* packed) {
  for (size_t p = first; p < end; ++p) {
    const size_t col0 = p * kPanelFloats, width = layout.Width(p);
    const size_t columns = std::min(width, layout.n - col0);
    float* out = packed + layout.Offset(p);
    for (size_t row = 0; row < layout.k; ++row, out += width) {
      std::copy_n(matrix + row * layout.n + col0, columns, out);
      std::fill(out + columns, out + width, 0.0f);
    }
  }
}

/// packed (layout.size() floats) = matrix (k × n, row-major) in panels, the
/// padding columns zero.
inline void PackPanels(const float* matrix, const PanelLayout& layout,
                       float* packed) {
  PackPanelRange(matrix, layout, 0, layout.panels(), packed);
}

/// PackPanelRange from the matrix's transpose: `transposed` is Mᵀ (n × k,
/// row-major), and panel p, M's columns [p·kPanelFloats, …), is the
/// transpose of Mᵀ's rows of the same numbers. Uᵀ's panels are then packed
/// straight from U, with no transposed copy of U written and read in
/// between: at H = 512 that copy is a 1 MiB write and a 1 MiB read, L2's
/// whole size on Zen 4, and took Forward 80 µs of its 300 µs of copies.
inline void PackTransposedPanelRange(const float* transposed,
                                     const PanelLayout& layout, size_t first,
                                     size_t end, float* packed) {
  for (size_t p = first; p < end; ++p) {
    const size_t col0 = p * kPanelFloats, width = layout.Width(p);
    const size_t columns = std::min(width, layout.n - col0);
    float* out = packed + layout.Offset(p);
    TransposeRows(transposed + col0 * layout.k, layout.k, out, width, 0,
                  columns);
    if (columns == width) continue;
    for (size_t row = 0; row < layout.k; ++row) {
      std::fill(out + row * width + columns, out + (row + 1) * width, 0.0f);
    }
  }
}

/// A matrix a pass packs into panels, if it reads it so (`wanted`): from
/// the matrix itself, or (`from_transpose`) from its transpose.
struct PanelCopy {
  bool wanted;
  const float* matrix;  ///< M (k × n), or Mᵀ (n × k) if from_transpose
  PanelLayout layout;
  float* packed;
  bool from_transpose = false;

  /// `part`'s share of the packing: whole panels.
  void PackShare(const Part& part) const {
    if (!wanted) return;
    const Range mine = part.Share(layout.panels());
    if (from_transpose) {
      PackTransposedPanelRange(matrix, layout, mine.begin, mine.end, packed);
    } else {
      PackPanelRange(matrix, layout, mine.begin, mine.end, packed);
    }
  }
};

}  // namespace elman::internal

#endif  // ELMAN_SRC_PANELS_H_
