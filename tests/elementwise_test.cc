// The loss-side kernels of src/kernels/elementwise-inl.h on every compiled
// SIMD target, against loops in double: OutputError (e(t) of eq. 7.14 with a
// step weight), SumSquaredDifference (2·L(t), eq. 7.11–7.13) and ColumnSums
// (db = Σ δ(t), dc = Σ e(t)), and AllFinite (src/kernels/finite-inl.h, the
// finiteness check of every input), on every length at every misalignment,
// with NaN around the inputs and canaries around the outputs.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tests/kernel_test_util.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/elementwise_test.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/tests/test_util-inl.h"
#include "src/kernels/elementwise-inl.h"
#include "src/kernels/finite-inl.h"

HWY_BEFORE_NAMESPACE();
namespace elman {
namespace HWY_NAMESPACE {
namespace {

namespace kt = ::elman::kernel_test;
using kt::GuardedMatrix;
using kt::kU;

// The worst error of a check, as a multiple of its tolerance.
struct Worst {
  double ratio = 0.0;
  size_t at = 0;
  double got = 0.0, want = 0.0, tolerance = 0.0;
  void Update(size_t i, double got_i, double want_i, double tolerance_i) {
    const double error = std::abs(got_i - want_i);
    double q =
        tolerance_i > 0.0 ? error / tolerance_i : (error > 0.0 ? 1e300 : 0.0);
    if (std::isnan(error)) q = 1e300;
    if (q > ratio) {
      ratio = q, at = i, got = got_i, want = want_i, tolerance = tolerance_i;
    }
  }
  std::string Describe() const {
    std::ostringstream s;
    s.precision(9);
    s << "[" << at << "]: got " << got << ", want " << want << ", tolerance "
      << tolerance << " (" << hwy::TargetName(HWY_TARGET) << ")";
    return s.str();
  }
};

void TestOutputError() {
  std::mt19937_64 random(21);
  for (Activation g : kt::kActivations) {
    for (float weight : {0.0f, 1.0f, 0.37f}) {
      for (size_t n : kt::kLengths) {
        for (size_t offset = 0; offset < 8; ++offset) {
          SCOPED_TRACE(std::string(ActivationName(g)) + " weight " +
                       std::to_string(weight) + " n=" + std::to_string(n) +
                       " offset case " + std::to_string(offset));
          GuardedMatrix pre(1, n, n, offset % 4, 0, kt::kNaN);
          GuardedMatrix target(1, n, n, offset / 2 % 4, 0, kt::kNaN);
          GuardedMatrix error(1, n, n, (offset + 1) % 4);
          pre.FillRandom(random, -6.0f, 6.0f);
          target.FillRandom(random);
          OutputError(g, pre.data(), target.data(), weight, error.data(), n);

          // e = w·(g(z) − y)·g'(z). g(z) is off by eg (its ulp bound), the
          // residual r adds one rounding, g' is off by dg (absolute), and the
          // two products add one rounding each:
          //   |Δe| ≤ |w|·[(eg + u|r|)(|g'| + dg) + |r|·dg + 2u(|r| + eg)(|g'| +
          //   dg)].
          // With w = 0 the error must be exactly 0.
          Worst worst;
          const double dg = kt::DerivativeTolerance(g);
          for (size_t i = 0; i < n; ++i) {
            const double z = pre.at(0, i), y = target.at(0, i);
            const double gz = reference::Activate(g, z);
            const double d = reference::Derivative(g, z);
            const double r = gz - y;
            const double eg = kt::ActivationTolerance(g, gz);
            const double tolerance =
                std::abs(weight) *
                ((eg + kU * std::abs(r)) * (std::abs(d) + dg) +
                 std::abs(r) * dg +
                 2.0 * kU * (std::abs(r) + eg) * (std::abs(d) + dg));
            worst.Update(i, error.at(0, i), weight * r * d, tolerance);
          }
          EXPECT_LE(worst.ratio, 1.0) << worst.Describe();
          EXPECT_TRUE(error.CanariesIntact());
          if (::testing::Test::HasFailure()) return;
        }
      }
    }
  }
}

void TestSumSquaredDifference() {
  std::mt19937_64 random(22);
  std::vector<size_t> lengths(std::begin(kt::kLengths), std::end(kt::kLengths));
  lengths.insert(lengths.end(), {0, 1000, 1024, 1025, 4099, 20000});
  for (size_t n : lengths) {
    for (size_t offset = 0; offset < 16; ++offset) {
      SCOPED_TRACE("n=" + std::to_string(n) + " offsets " +
                   std::to_string(offset % 4) + "," +
                   std::to_string(offset / 4));
      GuardedMatrix y(1, n, n, offset % 4, 0, kt::kNaN);
      GuardedMatrix target(1, n, n, offset / 4, 0, kt::kNaN);
      y.FillRandom(random);
      target.FillRandom(random);
      double want = 0.0;
      for (size_t i = 0; i < n; ++i) {
        const double r = static_cast<double>(y.at(0, i)) - target.at(0, i);
        want += r * r;
      }
      const double got = SumSquaredDifference(y.data(), target.data(), n);
      // Each term r² carries ≤ 3u (the difference, the square), and any
      // order of float summation of n terms is within γ_n of Σ r²: all
      // terms are ≥ 0. The kernel sums chunks of ≤ 1024 terms in float and
      // the chunk totals in double, so n is at most 1024 there, plus one
      // rounding per chunk total: (min(n, 1024) + 4)·u·Σ r². n = 0 gives 0.
      const double terms = static_cast<double>(std::min<size_t>(n, 1024) + 4);
      EXPECT_LE(std::abs(got - want), terms * kU * want)
          << "got " << got << ", want " << want << " ("
          << hwy::TargetName(HWY_TARGET) << ")";
      if (::testing::Test::HasFailure()) return;
    }
  }
}

void TestColumnSums() {
  std::mt19937_64 random(23);
  constexpr size_t kPads[] = {0, 1, 5, 16};
  size_t index = 0;
  for (size_t rows = 1; rows <= 50; ++rows) {
    for (size_t cols : kt::kLengths) {
      for (size_t pad : kPads) {
        const size_t ld = cols + pad;
        ++index;
        SCOPED_TRACE(
            "rows=" + std::to_string(rows) + " cols=" + std::to_string(cols) +
            " ld=" + std::to_string(ld) + " case " + std::to_string(index));
        // The matrix must be readable a vector past each row's last used
        // element: kSlack floats after the last row; its gaps and slack
        // hold NaN, which must never reach a stored sum.
        GuardedMatrix matrix(rows, cols, ld, index % 4, kt::kSlack, kt::kNaN);
        GuardedMatrix sums(1, cols, cols, index / 4 % 4);
        matrix.FillRandom(random);
        sums.FillRandom(random, 100.0f, 200.0f);  // must be overwritten
        ColumnSums(matrix.data(), rows, cols, ld, sums.data());

        // A float sum of `rows` terms in any order: ≤ (rows − 1)·u·Σ|x|.
        Worst worst;
        for (size_t c = 0; c < cols; ++c) {
          double want = 0.0, abs_sum = 0.0;
          for (size_t r = 0; r < rows; ++r) {
            want += matrix.at(r, c);
            abs_sum += std::abs(matrix.at(r, c));
          }
          worst.Update(c, sums.at(0, c), want,
                       static_cast<double>(rows) * kU * abs_sum);
        }
        EXPECT_LE(worst.ratio, 1.0) << worst.Describe();
        EXPECT_TRUE(sums.CanariesIntact());
        if (::testing::Test::HasFailure()) return;
      }
    }
  }
}

// AllFinite: true on finite values up to ±FLT_MAX, subnormals and −0, with
// NaN all around the run; false with one NaN, +∞ or −∞ at any position.
void TestAllFinite() {
  const float extremes[] = {std::numeric_limits<float>::max(),
                            -std::numeric_limits<float>::max(),
                            std::numeric_limits<float>::denorm_min(), -0.0f};
  const float not_finite[] = {kt::kNaN, std::numeric_limits<float>::infinity(),
                              -std::numeric_limits<float>::infinity()};
  std::mt19937_64 random(23);
  std::vector<size_t> lengths(std::begin(kt::kLengths), std::end(kt::kLengths));
  lengths.push_back(0);
  for (size_t n : lengths) {
    for (size_t offset = 0; offset < 4; ++offset) {
      SCOPED_TRACE("n=" + std::to_string(n) + " offset " +
                   std::to_string(offset) + " " + hwy::TargetName(HWY_TARGET));
      GuardedMatrix values(1, n, n, offset, 0, kt::kNaN);
      values.FillRandom(random, -1e30f, 1e30f);
      for (size_t i = 0; i < n; i += 5) values.at(0, i) = extremes[i / 5 % 4];
      ASSERT_TRUE(AllFinite(values.data(), n));
      for (size_t i = 0; i < n; ++i) {
        const float kept = values.at(0, i);
        for (float bad : not_finite) {
          values.at(0, i) = bad;
          ASSERT_FALSE(AllFinite(values.data(), n))
              << bad << " at [" << i << "]";
        }
        values.at(0, i) = kept;
      }
    }
  }
}

}  // namespace
// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace elman
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace elman {
HWY_BEFORE_TEST(ElementwiseTest);
HWY_EXPORT_AND_TEST_P(ElementwiseTest, TestOutputError);
HWY_EXPORT_AND_TEST_P(ElementwiseTest, TestSumSquaredDifference);
HWY_EXPORT_AND_TEST_P(ElementwiseTest, TestColumnSums);
HWY_EXPORT_AND_TEST_P(ElementwiseTest, TestAllFinite);
}  // namespace elman
#endif
