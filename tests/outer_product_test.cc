// OuterProductSum (src/kernels/outer_product-inl.h), the weight gradients
// of one short sequence at small H, on every compiled SIMD target against
// sums in double: every tile height (tall, short, single row, and the rows
// a tall tile leaves over), panels of one and two vectors with a partial
// last vector, 0 to 40 steps (every remainder of the single rows' split
// accumulators), row strides wider than the rows with NaN in the gaps and
// past each row of B (lanes the kernel may read but must not use), and
// canaries around C.
#include <cmath>
#include <cstddef>
#include <cstring>
#include <random>
#include <sstream>
#include <string>

#include "tests/kernel_test_util.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/outer_product_test.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/tests/test_util-inl.h"
#include "src/kernels/outer_product-inl.h"

HWY_BEFORE_NAMESPACE();
namespace elman {
namespace HWY_NAMESPACE {
namespace {

namespace kt = ::elman::kernel_test;
using kt::GuardedMatrix;

#if !HWY_HAVE_SCALABLE
// Rows of C: 1, 2, 3 (single row and short tiles), 4, 5, 6 (AVX2's tall
// tile), 11–13 (AVX-512's), 17, 32 and 33 (tall tiles then the rest).
constexpr size_t kRows[] = {1, 2, 3, 4, 5, 6, 7, 11, 12, 13, 17, 32, 33};
// Columns of C: below, at and above one and two vectors of every target.
constexpr size_t kCols[] = {1, 3, 4, 5, 8, 9, 15, 16, 17, 31, 32, 33, 48, 100};
constexpr size_t kSteps[] = {0, 1, 2, 3, 5, 7, 8, 9, 24, 25, 40};

std::string Case(size_t m, size_t n, size_t steps, size_t i, size_t j) {
  std::ostringstream s;
  s << "m " << m << ", n " << n << ", steps " << steps << ", C(" << i << ", "
    << j << ") (" << hwy::TargetName(HWY_TARGET) << ")";
  return s.str();
}

void TestAgainstDouble() {
  std::mt19937_64 random(17);
  const size_t lanes = hn::Lanes(hn::ScalableTag<float>());
  for (const size_t m : kRows) {
    for (const size_t n : kCols) {
      for (const size_t steps : kSteps) {
        // Strides wider than the rows, offsets off the vector alignment, and
        // NaN wherever the kernel may read but must not use (B one vector
        // past its rows; A exactly).
        GuardedMatrix a(steps, m, m + 3, 1, 0, kt::kNaN);
        GuardedMatrix b(steps, n, n + 5, 2, lanes, kt::kNaN);
        GuardedMatrix c(m, n, n + 2, 3);
        a.FillRandom(random);
        b.FillRandom(random);
        OuterProductSum(a.data(), a.ld(), m, b.data(), b.ld(), n, steps,
                        c.data(), c.ld());
        ASSERT_TRUE(c.CanariesIntact()) << Case(m, n, steps, 0, 0);
        for (size_t i = 0; i < m; ++i) {
          for (size_t j = 0; j < n; ++j) {
            double want = 0.0, abs_sum = 0.0;
            for (size_t t = 0; t < steps; ++t) {
              const double term = double{a.at(t, i)} * b.at(t, j);
              want += term;
              abs_sum += std::abs(term);
            }
            // A float sum of `steps` products, each rounded once, in any
            // order.
            const double tolerance =
                static_cast<double>(steps + 1) * kt::kU * abs_sum;
            ASSERT_LE(std::abs(c.at(i, j) - want), tolerance)
                << Case(m, n, steps, i, j) << ": got " << c.at(i, j)
                << ", want " << want;
          }
        }
      }
    }
  }
}

// The same inputs give the same bits, and C is overwritten, not added to.
void TestOverwritesDeterministically() {
  std::mt19937_64 random(5);
  const size_t lanes = hn::Lanes(hn::ScalableTag<float>());
  const size_t m = 33, n = 33, steps = 25;
  GuardedMatrix a(steps, m, m, 0, 0, kt::kNaN);
  GuardedMatrix b(steps, n, n, 0, lanes, kt::kNaN);
  GuardedMatrix first(m, n, n, 0), second(m, n, n, 0);
  a.FillRandom(random);
  b.FillRandom(random);
  second.FillRandom(random, 100.0f, 200.0f);  // stale values to overwrite
  OuterProductSum(a.data(), m, m, b.data(), n, n, steps, first.data(), n);
  OuterProductSum(a.data(), m, m, b.data(), n, n, steps, second.data(), n);
  for (size_t i = 0; i < m; ++i) {
    ASSERT_EQ(0,
              std::memcmp(&first.at(i, 0), &second.at(i, 0), n * sizeof(float)))
        << "row " << i << " (" << hwy::TargetName(HWY_TARGET) << ")";
  }
}
#else
// Sizeless vectors (SVE, RVV) sum the weight gradients with the GEMM.
void TestAgainstDouble() {
  GTEST_SKIP() << "OuterProductSum is compiled for targets with sized vectors";
}
void TestOverwritesDeterministically() { TestAgainstDouble(); }
#endif

}  // namespace
// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace elman
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace elman {
HWY_BEFORE_TEST(OuterProductTest);
HWY_EXPORT_AND_TEST_P(OuterProductTest, TestAgainstDouble);
HWY_EXPORT_AND_TEST_P(OuterProductTest, TestOverwritesDeterministically);
}  // namespace elman
#endif  // HWY_ONCE
