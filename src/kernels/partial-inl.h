// Loads and stores of the first n ≤ Lanes(d) floats at p, touching no memory
// beyond p[n−1]: used wherever a vector would run past the end of a caller's
// buffer. Highway 1.0.3 has no LoadN/StoreN. On AVX2 and AVX-512 its
// MaskedLoad and BlendedStore are the hardware's masked moves, and on SVE
// its predicated loads and stores, none of which faults on masked-off
// lanes; elsewhere (its SSE4 and NEON versions access the whole vector) the
// partial vector goes through a stack copy.
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
#if (HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2) || HWY_HAVE_SCALABLE
  return hn::MaskedLoad(hn::FirstN(d, n), d, p);
#else
  HWY_ALIGN float lanes[hn::MaxLanes(d)] = {};
  std::memcpy(lanes, p, n * sizeof(float));
  return hn::Load(d, lanes);
#endif
}

template <class D>
HWY_INLINE void StorePartial(D d, hn::Vec<D> v, float* HWY_RESTRICT p,
                             size_t n) {
  if (n >= hn::Lanes(d)) return hn::StoreU(v, d, p);
#if (HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2) || HWY_HAVE_SCALABLE
  hn::BlendedStore(v, hn::FirstN(d, n), d, p);
#else
  HWY_ALIGN float lanes[hn::MaxLanes(d)];
  hn::Store(v, d, lanes);
  std::memcpy(p, lanes, n * sizeof(float));
#endif
}

}  // namespace elman::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // ELMAN_SRC_KERNELS_PARTIAL_INL_H_
