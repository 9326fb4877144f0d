// Elementwise and reduction kernels around the loss (eq. 7.11–7.13) and the
// bias gradients: the output error e(t) (from a target or from ∂L/∂y), the
// squared error of a step, and the column sums db = Σ δ(t), dc = Σ e(t).
#if defined(ELMAN_SRC_KERNELS_ELEMENTWISE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ELMAN_SRC_KERNELS_ELEMENTWISE_INL_H_
#undef ELMAN_SRC_KERNELS_ELEMENTWISE_INL_H_
#else
#define ELMAN_SRC_KERNELS_ELEMENTWISE_INL_H_
#endif

#include <algorithm>
#include <cstddef>

#include "hwy/highway.h"
#include "src/kernels/activation-inl.h"
#include "src/kernels/partial-inl.h"

HWY_BEFORE_NAMESPACE();
namespace elman::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

/// out[i] = op(a, b)[i] for i < n, op taking the vectors of a and b at i: the
/// loop of the two-input kernels below, a whole vector at a time and the last
/// one partial.
template <class D, class Op>
HWY_INLINE void ZipWith(D d, const float* a, const float* b, float* out,
                        size_t n, const Op& op) {
  const size_t lanes = hn::Lanes(d);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    hn::StoreU(op(hn::LoadU(d, a + i), hn::LoadU(d, b + i)), d, out + i);
  }
  if (i < n) {
    const size_t rest = n - i;
    StorePartial(d,
                 op(LoadPartial(d, a + i, rest), LoadPartial(d, b + i, rest)),
                 out + i, rest);
  }
}

/// error[i] = weight · (g(pre[i]) − target[i]) · g'(pre[i]) for i < n:
/// e(t) = ∂L/∂ŷ(t), the start of eq. 7.14, with the step's loss weight.
HWY_INLINE void OutputError(Activation output_activation, const float* pre,
                            const float* target, float weight, float* error,
                            size_t n) {
  const hn::ScalableTag<float> d;
  const auto weight_vec = hn::Set(d, weight);
  WithActivation(output_activation, [&](auto tag) {
    constexpr Activation kG = decltype(tag)::value;
    // g evaluated once: g'(ŷ) comes from y = g(ŷ).
    ZipWith(d, pre, target, error, n, [&](auto z, auto y_target) HWY_ATTR {
      const auto y = Activate<kG>(d, z);
      const auto residual = hn::Sub(y, y_target);
      return hn::Mul(hn::Mul(residual, DerivativeFromOutput<kG>(d, y)),
                     weight_vec);
    });
  });
}

/// error[i] = gradient[i] · g'(pre[i]) for i < n: e(t) from ∂L/∂y(t) given
/// by the caller (BackwardFromOutputGradient), g' formed from g(pre[i]) as in
/// OutputError.
HWY_INLINE void OutputGradientError(Activation output_activation,
                                    const float* pre, const float* gradient,
                                    float* error, size_t n) {
  const hn::ScalableTag<float> d;
  WithActivation(output_activation, [&](auto tag) {
    constexpr Activation kG = decltype(tag)::value;
    ZipWith(d, pre, gradient, error, n, [&](auto z, auto upstream) HWY_ATTR {
      return hn::Mul(upstream, DerivativeFromOutput<kG>(d, Activate<kG>(d, z)));
    });
  });
}

/// Σ_i (y[i] − target[i])² for i < n. Float lanes accumulate chunks of at
/// most kChunk elements; each chunk's total is added in double, so that the
/// error stays that of a chunk however long the sequence (one call covers a
/// whole unweighted sequence).
HWY_INLINE double SumSquaredDifference(const float* y, const float* target,
                                       size_t n) {
  constexpr size_t kChunk = 1024;
  const hn::ScalableTag<float> d;
  const size_t lanes = hn::Lanes(d);
  double total = 0.0;
  for (size_t begin = 0; begin < n; begin += kChunk) {
    const size_t end = std::min(n, begin + kChunk);
    auto sum0 = hn::Zero(d), sum1 = hn::Zero(d);
    size_t i = begin;
    for (; i + 2 * lanes <= end; i += 2 * lanes) {
      const auto r0 = hn::Sub(hn::LoadU(d, y + i), hn::LoadU(d, target + i));
      const auto r1 = hn::Sub(hn::LoadU(d, y + i + lanes),
                              hn::LoadU(d, target + i + lanes));
      sum0 = hn::MulAdd(r0, r0, sum0);
      sum1 = hn::MulAdd(r1, r1, sum1);
    }
    for (; i < end; i += lanes) {
      const size_t count = std::min(lanes, end - i);
      const auto r = hn::Sub(LoadPartial(d, y + i, count),
                             LoadPartial(d, target + i, count));
      sum0 = hn::MulAdd(r, r, sum0);
    }
    total += static_cast<double>(
        hn::GetLane(hn::SumOfLanes(d, hn::Add(sum0, sum1))));
  }
  return total;
}

/// sums[j] = Σ_r matrix[r·ld + j] for j < cols (overwrites sums). The matrix
/// must be readable a whole vector past each row's last used element.
HWY_INLINE void ColumnSums(const float* matrix, size_t rows, size_t cols,
                           size_t ld, float* sums) {
  const hn::ScalableTag<float> d;
  const size_t lanes = hn::Lanes(d);
  if (cols == 1 && ld == 1) {
    // One column stored contiguously (dc at O = 1, the seed's shape): the
    // panels below would add `rows` vectors in one dependent chain for one
    // useful lane each; here two vectors of the column at a time, then
    // across lanes (the training step at the seed's shape: 1.7 → 1.3 % of
    // its time in dc's sum, Zen 5). A fixed order: the same bits every
    // call, whatever the team (one column is one part).
    auto even = hn::Zero(d), odd = hn::Zero(d);
    size_t r = 0;
    for (; r + 2 * lanes <= rows; r += 2 * lanes) {
      even = hn::Add(even, hn::LoadU(d, matrix + r));
      odd = hn::Add(odd, hn::LoadU(d, matrix + r + lanes));
    }
    for (; r < rows; r += lanes) {
      even =
          hn::Add(even, LoadPartial(d, matrix + r, std::min(lanes, rows - r)));
    }
    sums[0] = hn::GetLane(hn::SumOfLanes(d, hn::Add(even, odd)));
    return;
  }
  constexpr size_t kVecs = 4;
#if HWY_HAVE_SCALABLE
  // Sizeless vectors (SVE) cannot be array elements: the same panels of
  // kVecs vectors, summed into four named accumulators, of which those past
  // `vecs` stay unused.
  for (size_t col0 = 0; col0 < cols; col0 += kVecs * lanes) {
    const size_t vecs = std::min(kVecs, (cols - col0 + lanes - 1) / lanes);
    auto acc0 = hn::Zero(d), acc1 = hn::Zero(d), acc2 = hn::Zero(d),
         acc3 = hn::Zero(d);
    for (size_t r = 0; r < rows; ++r) {
      const float* row = matrix + r * ld + col0;
      acc0 = hn::Add(acc0, hn::LoadU(d, row));
      if (vecs > 1) acc1 = hn::Add(acc1, hn::LoadU(d, row + lanes));
      if (vecs > 2) acc2 = hn::Add(acc2, hn::LoadU(d, row + 2 * lanes));
      if (vecs > 3) acc3 = hn::Add(acc3, hn::LoadU(d, row + 3 * lanes));
    }
    const auto store = [&](size_t v, hn::Vec<decltype(d)> sum) HWY_ATTR {
      const size_t start = col0 + v * lanes;
      StorePartial(d, sum, sums + start, std::min(lanes, cols - start));
    };
    store(0, acc0);
    if (vecs > 1) store(1, acc1);
    if (vecs > 2) store(2, acc2);
    if (vecs > 3) store(3, acc3);
  }
#else
  for (size_t col0 = 0; col0 < cols; col0 += kVecs * lanes) {
    hn::Vec<decltype(d)> acc[kVecs];
    for (size_t v = 0; v < kVecs; ++v) acc[v] = hn::Zero(d);
    const size_t vecs = std::min(kVecs, (cols - col0 + lanes - 1) / lanes);
    for (size_t r = 0; r < rows; ++r) {
      const float* row = matrix + r * ld + col0;
      for (size_t v = 0; v < vecs; ++v) {
        acc[v] = hn::Add(acc[v], hn::LoadU(d, row + v * lanes));
      }
    }
    for (size_t v = 0; v < vecs; ++v) {
      const size_t start = col0 + v * lanes;
      StorePartial(d, acc[v], sums + start, std::min(lanes, cols - start));
    }
  }
#endif  // HWY_HAVE_SCALABLE
}

}  // namespace elman::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // ELMAN_SRC_KERNELS_ELEMENTWISE_INL_H_
