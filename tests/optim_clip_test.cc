// GradNorm and ClipGradNorm (torch.nn.utils.clip_grad_norm_) on every SIMD
// target, against double sums; and the optimizers' argument errors (once:
// validation does not depend on the target): the message names the function
// and the argument, and nothing is written — parameters, gradients and the
// optimizer's state and settings are as before.
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "elman/elman.h"
#include "gtest/gtest.h"
#include "hwy/tests/hwy_gtest.h"
#include "tests/test_util.h"

namespace elman {
namespace {

using test::ExpectError;
using test::Flat;
using test::RandomVector;
using test::SameBytes;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

double DoubleNorm(const std::vector<float>& flat) {
  double sum = 0.0;
  for (float g : flat) sum += double{g} * double{g};
  return std::sqrt(sum);
}

class ClipTest : public hwy::TestWithParamTarget {};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P(ClipTest);

// Squares are exact in double and summed in double lanes: the only error is
// double's, ≲ n·2⁻⁵³ ≈ 1e-12 relative for n = 10⁴; 1e-12 allows for it.
TEST_P(ClipTest, NormMatchesDoubleSum) {
  for (const Dims& dims : {Dims{1, 1, 1}, Dims{3, 17, 5}, Dims{33, 100, 7}}) {
    std::mt19937_64 random(dims.hidden);
    Gradients gradients(dims);
    gradients.CopyFrom(RandomVector(gradients.size(), random, 3.0f));
    const double want = DoubleNorm(Flat(gradients));
    EXPECT_NEAR(GradNorm(gradients), want, 1e-12 * want) << CurrentTarget();
  }
}

// 2.25 million equal values in U: summed in float lanes (35 000 terms each on
// AVX3) the norm would be off by ~1e-4 relative; in double lanes the bound is
// double's n·2⁻⁵³ ≈ 2.5e-10 (measured: 7e-13).
TEST_P(ClipTest, NormOfAHugeTensorStaysAccurate) {
  const Dims dims{1, 1500, 1};
  Gradients gradients(dims);
  for (float& g : gradients.U()) g = 0.1f;
  const double n = 1500.0 * 1500.0;
  const double want = std::sqrt(n) * double{0.1f};
  EXPECT_NEAR(GradNorm(gradients), want, n * 0x1p-53 * want) << CurrentTarget();
}

// Over max_norm: every gradient scaled by the float of
// max_norm / (norm + 1e-6) (one rounded product each, as torch's mul_), and
// the new norm is max_norm to float's precision.
TEST_P(ClipTest, ClipScalesAboveMaxNorm) {
  const Dims dims{33, 100, 7};
  std::mt19937_64 random(3);
  Gradients gradients(dims);
  const auto before = RandomVector(gradients.size(), random);
  gradients.CopyFrom(before);
  const double norm = DoubleNorm(before);
  const double max_norm = norm / 7.0;
  EXPECT_NEAR(ClipGradNorm(gradients, max_norm), norm, 1e-12 * norm);
  const float scale = static_cast<float>(max_norm / (norm + 1e-6));
  std::vector<float> want(before.size());
  for (size_t i = 0; i < want.size(); ++i) want[i] = before[i] * scale;
  EXPECT_TRUE(SameBytes(Flat(gradients), want)) << CurrentTarget();
  EXPECT_NEAR(GradNorm(gradients), max_norm, 1e-6 * max_norm);
}

// With max_norm ≥ norm + 1e-6 the coefficient clamps to 1: nothing changes.
// (At max_norm = norm, torch's max_norm / (norm + 1e-6) is just below 1 and
// scales, and so does elman.)
TEST_P(ClipTest, ClipLeavesSmallGradients) {
  const Dims dims{3, 17, 5};
  std::mt19937_64 random(4);
  Gradients gradients(dims);
  gradients.CopyFrom(RandomVector(gradients.size(), random));
  const auto before = Flat(gradients);
  const double norm = DoubleNorm(before);
  for (double max_norm : {1.001 * norm, 2.0 * norm, 1e30}) {
    EXPECT_NEAR(ClipGradNorm(gradients, max_norm), norm, 1e-12 * norm);
    EXPECT_TRUE(SameBytes(Flat(gradients), before)) << max_norm;
  }
}

// A NaN or an infinity anywhere: the norm says so and nothing is scaled.
TEST_P(ClipTest, NonFiniteNormLeavesGradients) {
  const Dims dims{3, 17, 5};
  std::mt19937_64 random(5);
  for (int which = 0; which < 3; ++which) {
    Gradients gradients(dims);
    gradients.CopyFrom(RandomVector(gradients.size(), random, 100.0f));
    if (which != 1) gradients.U()[200] = kNaN;
    if (which != 0) gradients.c()[4] = -kInf;
    const auto before = Flat(gradients);
    const double norm = ClipGradNorm(gradients, 1.0);
    if (which == 1) {
      EXPECT_EQ(norm, std::numeric_limits<double>::infinity());
    } else {
      EXPECT_TRUE(std::isnan(norm));
    }
    EXPECT_TRUE(SameBytes(Flat(gradients), before)) << which;
  }
}

// ------------------------------------------------------------------ Errors

TEST(OptimErrorsTest, BadSgdOptions) {
  const Dims dims{3, 17, 5};
  auto sgd = [&](SgdOptions o) { return [=] { Sgd sgd(dims, o); }; };
  ExpectError(sgd({}), {"elman::Sgd", "learning_rate is 0", "> 0"});
  ExpectError(sgd({.learning_rate = -1.0f}), {"learning_rate is -1"});
  ExpectError(sgd({.learning_rate = kNaN}), {"learning_rate is nan"});
  ExpectError(sgd({.learning_rate = 0.1f, .momentum = -0.5f}),
              {"elman::Sgd", "momentum is -0.5", ">= 0"});
  ExpectError(sgd({.learning_rate = 0.1f, .dampening = kInf}),
              {"dampening is inf"});
  ExpectError(sgd({.learning_rate = 0.1f, .weight_decay = -1e-3f}),
              {"weight_decay is -0.001"});
  ExpectError(sgd({.learning_rate = 0.1f, .nesterov = true}),
              {"elman::Sgd", "nesterov requires momentum"});
  ExpectError(sgd({.learning_rate = 0.1f,
                   .momentum = 0.9f,
                   .dampening = 0.1f,
                   .nesterov = true}),
              {"dampening is 0.1", "nesterov"});
  ExpectError(
      [] {
        Sgd sgd(Dims{0, 3, 2}, {.learning_rate = 0.1f});
      },
      {"elman::Sgd", "at least 1"});
}

TEST(OptimErrorsTest, BadAdamOptions) {
  const Dims dims{3, 17, 5};
  auto adam = [&](AdamOptions o) { return [=] { Adam adam(dims, o); }; };
  ExpectError(adam({.learning_rate = -1e-3f}),
              {"elman::Adam", "learning_rate is -0.001"});
  ExpectError(adam({.learning_rate = kInf}), {"learning_rate is inf"});
  ExpectError(adam({.epsilon = 0.0f}), {"epsilon is 0", "> 0"});
  ExpectError(adam({.beta1 = 1.0f}), {"beta1 is 1", "[0, 1)"});
  ExpectError(adam({.beta2 = -0.1f}), {"beta2 is -0.1"});
  ExpectError(adam({.beta2 = kNaN}), {"beta2 is nan"});
  ExpectError(adam({.weight_decay = -0.01f}), {"weight_decay is -0.01"});
  ExpectError([] { Adam adam(Dims{3, 0, 2}); }, {"elman::Adam", "at least 1"});
}

// A failed Step, set_learning_rate or ClipGradNorm changes nothing: the
// parameters are as before, and the optimizer's next step (its step count,
// moments, momentum buffer and rate) is that of an optimizer that never saw
// the failed call.
TEST(OptimErrorsTest, FailedCallsChangeNothing) {
  const Dims dims{3, 17, 5};
  std::mt19937_64 random(8);
  const auto initial = RandomVector(447, random);
  const auto grad1 = RandomVector(447, random);
  const auto grad2 = RandomVector(447, random);
  const Parameters wrong(Dims{3, 17, 4});
  Parameters wrong_parameters(Dims{2, 17, 5});
  const SgdOptions sgd_options{.learning_rate = 0.1f, .momentum = 0.9f};
  const AdamOptions adam_options{.weight_decay = 0.1f, .amsgrad = true};
  for (int kind = 0; kind < 2; ++kind) {
    std::unique_ptr<Optimizer> tried, clean;
    if (kind == 0) {
      tried = std::make_unique<Sgd>(dims, sgd_options);
      clean = std::make_unique<Sgd>(dims, sgd_options);
    } else {
      tried = std::make_unique<Adam>(dims, adam_options);
      clean = std::make_unique<Adam>(dims, adam_options);
    }
    Parameters a(dims), b(dims);
    Gradients gradients(dims);
    a.CopyFrom(initial);
    b.CopyFrom(initial);
    gradients.CopyFrom(grad1);
    tried->Step(a, gradients);
    clean->Step(b, gradients);
    const auto after_one = Flat(a);
    const std::string step = "elman::Optimizer::Step";
    ExpectError([&] { tried->Step(a, wrong); },
                {step, "gradients has dims (I=3, H=17, O=4)", "O=5"});
    ExpectError([&] { tried->Step(wrong_parameters, gradients); },
                {step, "parameters has dims (I=2"});
    ExpectError([&] { tried->Step(a, a); }, {step, "same object"});
    ExpectError([&] { tried->Step(a, gradients, -0.1f); },
                {step, "learning_rate is -0.1", ">= 0"});
    ExpectError([&] { tried->Step(a, gradients, kNaN); },
                {step, "learning_rate is nan"});
    ExpectError(
        [&] { tried->set_learning_rate(kInf); },
        {"elman::Optimizer::set_learning_rate", "learning_rate is inf"});
    ExpectError([&] { ClipGradNorm(gradients, 0.0); },
                {"elman::ClipGradNorm", "max_norm is 0", "> 0"});
    ExpectError([&] { ClipGradNorm(gradients, kNaN); }, {"max_norm is nan"});
    EXPECT_TRUE(SameBytes(Flat(a), after_one));
    EXPECT_TRUE(SameBytes(Flat(gradients), grad1));
    EXPECT_EQ(tried->steps(), 1u);
    EXPECT_EQ(tried->learning_rate(), clean->learning_rate());
    gradients.CopyFrom(grad2);
    tried->Step(a, gradients);
    clean->Step(b, gradients);
    EXPECT_TRUE(SameBytes(Flat(a), Flat(b))) << kind;
  }
}

}  // namespace
}  // namespace elman
