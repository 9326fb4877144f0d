// Register tiles on targets whose vectors are sizeless types (SVE, SVE2,
// SVE_256, SVE2_128; Highway's HWY_HAVE_SCALABLE): a vector of unknown size
// at compile time cannot be an array element, a class member or captured by
// value, so the accumulator arrays of the GEMM and matrix-vector kernels
// (src/gemm.cc, src/kernels/matvec-inl.h) cannot be written as arrays there.
// Their scalable paths keep the accumulators as a function parameter pack
// instead, one parameter per accumulator, with a std::index_sequence of the
// same length giving each its place in the tile: each loop over the array
// becomes a fold expression over the pack, and the compiler still sees as
// many separate values, each kept in a register. The helpers below read one
// accumulator of such a pack.
#if defined(ELMAN_SRC_KERNELS_VECTOR_PACK_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ELMAN_SRC_KERNELS_VECTOR_PACK_INL_H_
#undef ELMAN_SRC_KERNELS_VECTOR_PACK_INL_H_
#else
#define ELMAN_SRC_KERNELS_VECTOR_PACK_INL_H_
#endif

#include <cstddef>
#include <utility>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace elman::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

/// The vector at position kIndex of `vectors` (by value: inlined, it costs
/// nothing).
template <size_t kIndex, class V, class... Rest>
HWY_INLINE V PackElement(V first, Rest... rest) {
  static_assert(kIndex <= sizeof...(Rest), "index past the pack");
  if constexpr (kIndex == 0) {
    return first;
  } else {
    return PackElement<kIndex - 1>(rest...);
  }
}

// SumStrided's terms past the first, kTerm = 0…kCount − 2.
template <size_t kFirst, size_t kStride, size_t... kTerm, class... V>
HWY_INLINE auto SumStridedTerms(std::index_sequence<kTerm...>, V... vectors) {
  auto sum = PackElement<kFirst>(vectors...);
  ((sum =
        hn::Add(sum, PackElement<kFirst + (kTerm + 1) * kStride>(vectors...))),
   ...);
  return sum;
}

/// v[kFirst] + v[kFirst + kStride] + … + v[kFirst + (kCount − 1)·kStride]
/// of the pack `vectors`, added left to right (the order of a loop over the
/// terms), kCount ≥ 1.
template <size_t kFirst, size_t kStride, size_t kCount, class... V>
HWY_INLINE auto SumStrided(V... vectors) {
  static_assert(kCount >= 1);
  return SumStridedTerms<kFirst, kStride>(
      std::make_index_sequence<kCount - 1>(), vectors...);
}

/// The same kCount terms added as a balanced tree: the first half's sum
/// plus the second half's, recursively.
template <size_t kFirst, size_t kStride, size_t kCount, class... V>
HWY_INLINE auto SumStridedTree(V... vectors) {
  static_assert(kCount >= 1);
  if constexpr (kCount == 1) {
    return PackElement<kFirst>(vectors...);
  } else {
    constexpr size_t kHalf = kCount / 2;
    return hn::Add(
        SumStridedTree<kFirst, kStride, kHalf>(vectors...),
        SumStridedTree<kFirst + kHalf * kStride, kStride, kCount - kHalf>(
            vectors...));
  }
}

}  // namespace elman::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // ELMAN_SRC_KERNELS_VECTOR_PACK_INL_H_
