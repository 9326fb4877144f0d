// Loads and stores of the first n ≤ Lanes(d) floats at p, touching no memory
// beyond p[n−1]: used wherever a vector would run past the end of a caller's
// buffer. (Highway 1.0.3 has no LoadN/StoreN, and its SSE4 MaskedLoad and
// BlendedStore access the whole vector.)
#if defined(ELMAN_SRC_KERNELS_PARTIAL_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ELMAN_SRC_KERNELS_PARTIAL_INL_H_
#undef ELMAN_SRC_KERNELS_PARTIAL_INL_H_
#else
#define ELMAN_SRC_KERNELS_PARTIAL_INL_H_
#endif

#include <cstddef>
#include <cstring>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace elman::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

/// Lanes ≥ n are zero.
template <class D>
HWY_INLINE hn::Vec<D> LoadPartial(D d, const float* HWY_RESTRICT p, size_t n) {
  if (n >= hn::Lanes(d)) return hn::LoadU(d, p);
  HWY_ALIGN float lanes[hn::MaxLanes(d)] = {};
  std::memcpy(lanes, p, n * sizeof(float));
  return hn::Load(d, lanes);
}

template <class D>
HWY_INLINE void StorePartial(D d, hn::Vec<D> v, float* HWY_RESTRICT p,
                             size_t n) {
  if (n >= hn::Lanes(d)) return hn::StoreU(v, d, p);
  HWY_ALIGN float lanes[hn::MaxLanes(d)];
  hn::Store(v, d, lanes);
  std::memcpy(p, lanes, n * sizeof(float));
}

}  // namespace elman::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // ELMAN_SRC_KERNELS_PARTIAL_INL_H_
