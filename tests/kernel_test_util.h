// Shared helpers for the per-target kernel tests (gemm_test, activation_test,
// elementwise_test): the lengths every kernel is swept over, the activations
// in double precision, their measured error bounds, and a buffer that places
// its data at a chosen misalignment inside canaries, so that a test can prove
// a kernel wrote exactly its region and nothing around it.
#ifndef ELMAN_TESTS_KERNEL_TEST_UTIL_H_
#define ELMAN_TESTS_KERNEL_TEST_UTIL_H_

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include "elman/model.h"
#include "elman/reference.h"
#include "gtest/gtest.h"
#include "hwy/aligned_allocator.h"
#include "src/buffer.h"

namespace elman::kernel_test {

/// Below, at, above and far past every vector width (4, 8, 16 floats) and
/// the GEMM's tile widths (up to 8 vectors on a single row).
inline constexpr size_t kLengths[] = {1,  2,  3,  7,  15,  16,
                                      17, 31, 33, 64, 100, 257};

/// The slack an input matrix must stay readable for after its last row (the
/// kernels' memory contract): one vector of the widest target compiled in,
/// 16 floats on x86 and, with SVE's vectors of up to 2048 bits, 64 on
/// AArch64.
inline constexpr size_t kSlack = internal::kMaxVectorFloats;

inline constexpr Activation kActivations[] = {
    Activation::kTanh, Activation::kSigmoid, Activation::kRelu,
    Activation::kIdentity};

/// Unit roundoff of float: every correctly rounded operation has relative
/// error ≤ u.
inline constexpr double kU = 0x1p-24;

/// a'(z) from a = a(z), in double: what DerivativeFromOutput computes. (a(z)
/// and a'(z) at z themselves come from elman::reference::Activate and
/// Derivative, which share nothing with the kernels.)
inline double DerivativeFromOutputRef(Activation activation, double a) {
  switch (activation) {
    case Activation::kTanh:
      return 1.0 - a * a;
    case Activation::kSigmoid:
      return a * (1.0 - a);
    case Activation::kRelu:
      return a > 0.0 ? 1.0 : 0.0;
    case Activation::kIdentity:
      return 1.0;
  }
  return 0.0;
}

/// Size of one unit in the last place of float at |x| (the spacing of floats
/// there; the smallest subnormal spacing for tiny x).
inline double FloatUlp(double x) {
  const float f = std::abs(static_cast<float>(x));
  if (!std::isfinite(f)) return std::numeric_limits<double>::infinity();
  return static_cast<double>(
             std::nextafter(f, std::numeric_limits<float>::infinity())) -
         static_cast<double>(f);
}

/// How far an activation value may be from the exact one. Measured on this
/// machine over every third float of [-20, 20] (7.3·10⁸ inputs) and every
/// float of [-110, -20] (sigmoid), then checked on every target by
/// activation_test.cc over a dense sweep and the special values:
///   tanh    ≤ 2 ulp (measured over every float of [2⁻¹⁴⁹, 30], near
///           the kernel's branch point |z| = 1: 1.50 with FMA, at
///           |z| = 1.034; 1.72 with a separate multiply and add, as on
///           SSE4 and SSSE3, at |z| = 1.024);
///   sigmoid ≤ 3 ulp (measured 2.48, near z = −16.6: Exp's error, the
///           rounding of 1 + e^−z and of the divide) where the result is a
///           normal float; below 2⁻¹²⁶ (z < −87.3) the kernel returns 0
///           (no subnormal h), so only the absolute error is small (< 2⁻¹²⁶);
///   relu and identity are exact.
/// kActivationAbs, 2⁻¹²⁶, is the absolute floor for results near 0.
inline double ActivationUlps(Activation a) {
  switch (a) {
    case Activation::kTanh:
      return 2.0;
    case Activation::kSigmoid:
      return 3.0;
    default:
      return 0.0;
  }
}
inline constexpr double kActivationAbs = 0x1p-126;

/// |a(z)_kernel − a(z)| may be at most this.
inline double ActivationTolerance(Activation a, double exact) {
  const double ulps = ActivationUlps(a);
  return ulps == 0.0 ? kActivationAbs : ulps * FloatUlp(exact) + kActivationAbs;
}

/// The derivatives are formed as 1 − t² and s·(1 − s) from the activation
/// value, so their error is absolute, not relative (a derivative is at most
/// 1). With t within 2 ulp (≤ 2u on [0.5, 1)), 1 − t² is off by at most
/// 2·|t|·2u plus half an ulp of rounding: 5u. With s within 3 ulp,
/// s·(1 − s) moves by |1 − 2s|·3u ≤ 3u, plus the roundings: 4u. Measured:
/// 3.45u (tanh) and 1.50u (sigmoid). Far out (|z| ≳ 9 for tanh, 17 for
/// sigmoid) 1 − t² and 1 − s round to 0 while the exact derivative is a few
/// u at most: within the same bounds. relu' and identity' are exact.
inline double DerivativeTolerance(Activation a) {
  switch (a) {
    case Activation::kTanh:
      return 5.0 * kU;
    case Activation::kSigmoid:
      return 4.0 * kU;
    default:
      return 0.0;
  }
}

/// A matrix of rows × cols floats with row stride ld, placed `offset` floats
/// past a 64-byte boundary, between guard zones of kGuard floats; the gaps
/// between rows, the `slack` floats after the last row and the guards all
/// hold `outside`. For an output, `outside` is the canary and
/// CanariesIntact() proves the kernel wrote only the rows × cols region; for
/// an input, `outside` = NaN proves that lanes read past a row's end (which
/// the memory contract allows) never reach a stored result.
class GuardedMatrix {
 public:
  static constexpr size_t kGuard = 16;  // one AVX-512 vector: keeps alignment
  static constexpr float kCanary = 1234.5678f;

  GuardedMatrix(size_t rows, size_t cols, size_t ld, size_t offset,
                size_t slack = 0, float outside = kCanary)
      : rows_(rows),
        cols_(cols),
        ld_(ld),
        outside_(outside),
        total_(kGuard + offset + rows * ld + slack + kGuard),
        storage_(hwy::AllocateAligned<float>(total_)),
        data_(storage_.get() + kGuard + offset) {
    for (size_t i = 0; i < total_; ++i) storage_[i] = outside;
  }

  float* data() { return data_; }
  const float* data() const { return data_; }
  size_t ld() const { return ld_; }
  float& at(size_t r, size_t c) { return data_[r * ld_ + c]; }
  float at(size_t r, size_t c) const { return data_[r * ld_ + c]; }

  /// Fills the region with uniform values in [lo, hi].
  void FillRandom(std::mt19937_64& random, float lo = -1.0f, float hi = 1.0f) {
    std::uniform_real_distribution<float> uniform(lo, hi);
    for (size_t r = 0; r < rows_; ++r) {
      for (size_t c = 0; c < cols_; ++c) at(r, c) = uniform(random);
    }
  }

  /// Every float outside the region still holds `outside`, bit for bit.
  ::testing::AssertionResult CanariesIntact() const {
    uint32_t want;
    std::memcpy(&want, &outside_, sizeof(want));
    const ptrdiff_t begin = data_ - storage_.get();
    for (size_t i = 0; i < total_; ++i) {
      const ptrdiff_t pos = static_cast<ptrdiff_t>(i) - begin;
      const bool inside = pos >= 0 && static_cast<size_t>(pos) < rows_ * ld_ &&
                          static_cast<size_t>(pos) % ld_ < cols_;
      if (inside) continue;
      uint32_t got;
      std::memcpy(&got, &storage_[i], sizeof(got));
      if (got != want) {
        return ::testing::AssertionFailure()
               << "canary overwritten at offset " << pos
               << " from the data start (region " << rows_ << "x" << cols_
               << ", ld " << ld_ << "): " << storage_[i];
      }
    }
    return ::testing::AssertionSuccess();
  }

 private:
  size_t rows_, cols_, ld_;
  float outside_;
  size_t total_;
  hwy::AlignedFreeUniquePtr<float[]> storage_;
  float* data_;
};

inline constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

}  // namespace elman::kernel_test

#endif  // ELMAN_TESTS_KERNEL_TEST_UTIL_H_
