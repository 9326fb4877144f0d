// AllFinite: whether a run of floats holds no NaN and no ±∞, in SIMD. The
// check behind every "every value must be finite" (internal::CheckFinite)
// and Stream::Step's check of its input.
#if defined(ELMAN_SRC_KERNELS_FINITE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ELMAN_SRC_KERNELS_FINITE_INL_H_
#undef ELMAN_SRC_KERNELS_FINITE_INL_H_
#else
#define ELMAN_SRC_KERNELS_FINITE_INL_H_
#endif

#include <cstddef>

#include "hwy/highway.h"
#include "src/kernels/partial-inl.h"

HWY_BEFORE_NAMESPACE();
namespace elman::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

/// Whether every in[i], i < n, is finite: x − x is 0 for a finite x and NaN
/// for ±∞ and NaN, and a sum of such differences is NaN as soon as one is.
/// No early exit: valid input, the case that matters, is read once at the
/// load ports' pace (the failing element, if any, is found by the caller).
HWY_INLINE bool AllFinite(const float* in, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t lanes = hn::Lanes(d);
  // Two sums, so that consecutive vectors do not wait for each other's add.
  auto differences0 = hn::Zero(d);
  auto differences1 = hn::Zero(d);
  size_t i = 0;
  for (; i + 2 * lanes <= n; i += 2 * lanes) {
    const auto v0 = hn::LoadU(d, in + i);
    const auto v1 = hn::LoadU(d, in + i + lanes);
    differences0 = hn::Add(differences0, hn::Sub(v0, v0));
    differences1 = hn::Add(differences1, hn::Sub(v1, v1));
  }
  if (i + lanes <= n) {
    const auto v = hn::LoadU(d, in + i);
    differences0 = hn::Add(differences0, hn::Sub(v, v));
    i += lanes;
  }
  if (i < n) {
    const auto v = LoadPartial(d, in + i, n - i);
    differences1 = hn::Add(differences1, hn::Sub(v, v));
  }
  return hn::AllFalse(d, hn::IsNaN(hn::Add(differences0, differences1)));
}

}  // namespace elman::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // ELMAN_SRC_KERNELS_FINITE_INL_H_
