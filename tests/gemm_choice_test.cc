// Packing A in the weight gradients, chosen at run time (src/gemm_choice.h),
// on every SIMD target: a Workspace whose gradients go through the GEMM
// makes the choice when it is built, by timing or from ELMAN_GEMM_PACK_A;
// a bad value of that variable is an error naming it; and packed or not,
// alone or on two threads, a training step gives the same bits, which agree
// with the double-precision reference. (The GEMM's own tests compare packed
// and unpacked A product by product: tests/gemm_test.cc.)
#include "src/gemm_choice.h"

#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "elman/elman.h"
#include "gtest/gtest.h"
#include "hwy/tests/hwy_gtest.h"
#include "src/fused_path.h"
#include "src/thread_pool.h"
#include "src/tools/verify_cases.h"
#include "tests/test_util.h"

namespace elman {
namespace {

using test::RandomVector;
using test::SameBytes;
using test::Widen;

constexpr const char* kVariable = "ELMAN_GEMM_PACK_A";

// ELMAN_GEMM_PACK_A set to `value` (nullptr: unset) for a scope, then back
// to what it was.
class ScopedOverride {
 public:
  explicit ScopedOverride(const char* value) {
    const char* before = std::getenv(kVariable);
    if (before != nullptr) before_ = before;
    Set(value);
  }
  ~ScopedOverride() { Set(before_ ? before_->c_str() : nullptr); }
  ScopedOverride(const ScopedOverride&) = delete;
  ScopedOverride& operator=(const ScopedOverride&) = delete;

 private:
  static void Set(const char* value) {
    if (value == nullptr) {
      unsetenv(kVariable);
    } else {
      setenv(kVariable, value, 1);
    }
  }
  std::optional<std::string> before_;
};

TEST(GemmChoiceOverride, ParsesOneZeroAndAuto) {
  EXPECT_EQ(internal::ParsePackStridedAOverride(nullptr), std::nullopt);
  EXPECT_EQ(internal::ParsePackStridedAOverride(""), std::nullopt);
  EXPECT_EQ(internal::ParsePackStridedAOverride("auto"), std::nullopt);
  EXPECT_EQ(internal::ParsePackStridedAOverride("1"), std::optional(true));
  EXPECT_EQ(internal::ParsePackStridedAOverride("0"), std::optional(false));
}

// The timing's rule at its line: packing must take under 0.97 of the time.
TEST(GemmChoiceRule, PacksOnlyBelowTheLine) {
  EXPECT_TRUE(internal::PackingPays(0.5));
  EXPECT_TRUE(internal::PackingPays(0.9699));
  EXPECT_FALSE(internal::PackingPays(0.97));
  EXPECT_FALSE(internal::PackingPays(1.13));
  EXPECT_FALSE(internal::PackingPays(0.0));  // not measured
}

TEST(GemmChoiceOverride, RejectsAnythingElseNamingTheVariable) {
  for (const char* value : {"yes", "2", " 1", "on", "AUTO"}) {
    test::ExpectError(
        [&] { internal::ParsePackStridedAOverride(value); },
        {kVariable, std::string("\"") + value + "\"", "1 (pack)"});
  }
}

// Dims of a workspace whose weight gradients go through the GEMM with A
// strided (internal::WeightGradientsMayPackA), and of one too small to.
constexpr Dims kLarge{17, 65, 9};
constexpr SequenceShape kLargeSequence{50, 8};
constexpr Dims kSmall{4, 16, 4};
static_assert(internal::WeightGradientsMayPackA(kLarge.input, kLarge.hidden,
                                                kLarge.output,
                                                kLargeSequence.steps,
                                                kLargeSequence.batch));
static_assert(!internal::WeightGradientsMayPackA(kSmall.input, kSmall.hidden,
                                                 kSmall.output, 100, 1));

class GemmChoiceTest : public hwy::TestWithParamTarget {
 protected:
  void SetUp() override {
    hwy::TestWithParamTarget::SetUp();
    internal::ForcePackStridedAForTest(std::nullopt);
  }
  void TearDown() override {
    internal::ForcePackStridedAForTest(std::nullopt);
    hwy::TestWithParamTarget::TearDown();
  }
};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P(GemmChoiceTest);

TEST_P(GemmChoiceTest, ALargeWorkspaceTimesBothOnItsTarget) {
  const ScopedOverride unset(nullptr);
  EXPECT_EQ(internal::PackStridedADecision(), "no (not measured)");
  const Workspace small(kSmall, 100, 1);
  EXPECT_EQ(internal::PackStridedADecision(), "no (not measured)");
  const Workspace large(kLarge, kLargeSequence.steps, kLargeSequence.batch);
  const std::string decision = internal::PackStridedADecision();
  SCOPED_TRACE(decision);
  const std::string marker = "(measured: packed ";
  const size_t at = decision.find(marker);
  ASSERT_NE(at, std::string::npos);
  // The ratio is a time over a time of the same product: far from 0 and ∞.
  const double ratio = std::atof(decision.c_str() + at + marker.size());
  EXPECT_GT(ratio, 0.2);
  EXPECT_LT(ratio, 5.0);
  // It decides by PackingPays (GemmChoiceRule tests its line), but is printed
  // to two decimals: a ratio printed as 0.97 lies on either side of the line
  // (ASan's SCALAR run once read "yes (… 0.97x …)").
  if (ratio < 0.965) {
    EXPECT_EQ(decision.rfind("yes", 0), 0u);
  }
  if (ratio > 0.975) {
    EXPECT_EQ(decision.rfind("no", 0), 0u);
  }
  // Once per process and target: a second workspace keeps the choice.
  const Workspace again(kLarge, kLargeSequence.steps, kLargeSequence.batch);
  EXPECT_EQ(internal::PackStridedADecision(), decision);
}

TEST_P(GemmChoiceTest, TheVariableDecidesWithoutTiming) {
  {
    const ScopedOverride pack("1");
    const Workspace large(kLarge, kLargeSequence.steps, kLargeSequence.batch);
    EXPECT_EQ(internal::PackStridedADecision(), "yes (ELMAN_GEMM_PACK_A=1)");
  }
  internal::ForcePackStridedAForTest(std::nullopt);
  {
    const ScopedOverride never("0");
    const Workspace large(kLarge, kLargeSequence.steps, kLargeSequence.batch);
    EXPECT_EQ(internal::PackStridedADecision(), "no (ELMAN_GEMM_PACK_A=0)");
  }
  internal::ForcePackStridedAForTest(std::nullopt);
  {
    const ScopedOverride wrong("sometimes");
    test::ExpectError(
        [] {
          Workspace large(kLarge, kLargeSequence.steps, kLargeSequence.batch);
        },
        {kVariable, "\"sometimes\""});
    // Only a workspace that would time it reads the variable.
    const Workspace small(kSmall, 100, 1);
  }
}

// Workspaces built on several threads at once: one of them times, the
// others wait for its decision (and .ci/sanitize runs this under
// ThreadSanitizer). A test that starts threads says "Thread" in its name:
// .ci/arm leaves those out, qemu-user cannot start a thread.
TEST_P(GemmChoiceTest, WorkspacesOnThreeThreadsShareOneDecision) {
  const ScopedOverride unset(nullptr);
  std::vector<std::string> decisions(3);
  std::vector<std::thread> threads;
  for (std::string& decision : decisions) {
    threads.emplace_back([&decision] {
      const Workspace large(kLarge, kLargeSequence.steps, kLargeSequence.batch);
      decision = internal::PackStridedADecision();
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_NE(decisions[0].find("(measured: packed "), std::string::npos)
      << decisions[0];
  EXPECT_EQ(decisions[1], decisions[0]);
  EXPECT_EQ(decisions[2], decisions[0]);
}

struct Case {
  Dims dims;
  SequenceShape seq;
};

// Δᵀ·X with I ≥ a vector (dW as it is) and below one (dWᵀ = Xᵀ·Δ, A then X
// read transposed), both with more rows than the packed block of A holds
// (192) in dU and past one K block (128 rows of Δ).
constexpr Case kCases[] = {{kLarge, kLargeSequence}, {{3, 200, 7}, {40, 9}}};

// A case's model, inputs and targets, from one seed.
struct CaseData {
  Model model;
  std::vector<float> x, target;
};

CaseData MakeCaseData(const Case& c, uint64_t seed) {
  std::mt19937_64 random(seed);
  const size_t rows = c.seq.steps * c.seq.batch;
  std::vector<float> x = RandomVector(rows * c.dims.input, random);
  std::vector<float> target = RandomVector(rows * c.dims.output, random);
  return {Model({c.dims}, seed), std::move(x), std::move(target)};
}

// One training step with the weight gradients' A packed or not, on `pool`
// unless it is null: the gradients into `gradients`, and they and dx as
// one vector of floats.
std::vector<float> TrainingStep(const Case& c, const CaseData& data,
                                bool pack_strided_a, ThreadPool* pool,
                                Gradients& gradients) {
  internal::ForcePackStridedAForTest(pack_strided_a);
  Workspace ws = pool != nullptr
                     ? Workspace(c.dims, c.seq.steps, c.seq.batch, *pool)
                     : Workspace(c.dims, c.seq.steps, c.seq.batch);
  std::vector<float> y(c.seq.steps * c.seq.batch * c.dims.output);
  std::vector<float> dx(c.seq.steps * c.seq.batch * c.dims.input);
  Forward(data.model, data.x, c.seq, {}, ws, y);
  Backward(data.model, data.target, {}, ws, {&gradients, dx, {}});
  std::vector<float> floats = test::Flat(gradients);
  floats.insert(floats.end(), dx.begin(), dx.end());
  return floats;
}

std::string Describe(const Case& c) {
  return test::DescribePass(c.dims, c.seq, Activation::kTanh,
                            Activation::kIdentity) +
         " target=" + CurrentTarget();
}

TEST_P(GemmChoiceTest, PackedOrNotTheSameBitsAsTheReferenceWants) {
  uint64_t seed = 1;
  for (const Case& c : kCases) {
    SCOPED_TRACE(Describe(c));
    const CaseData data = MakeCaseData(c, seed++);
    Gradients unpacked_gradients(c.dims), packed_gradients(c.dims);
    EXPECT_TRUE(
        SameBytes(TrainingStep(c, data, true, nullptr, packed_gradients),
                  TrainingStep(c, data, false, nullptr, unpacked_gradients)));

    const reference::Model reference_model(data.model);
    const auto forward =
        reference::Forward(reference_model, Widen(data.x), c.seq, {});
    const auto want = reference::Backward(reference_model, Widen(data.x), {},
                                          forward, Widen(data.target), {});
    test::ExpectGradientsClose(packed_gradients, {}, {}, want,
                               verify::PassTolerance(c.dims, c.seq));
  }
}

// On two threads, cut as finely as the tiles allow, each part packing into
// its own scratch: the same bits as unpacked on one thread.
TEST_P(GemmChoiceTest, PackedOnAThreadPoolTheSameBitsAsUnpacked) {
  uint64_t seed = 1;
  for (const Case& c : kCases) {
    SCOPED_TRACE(Describe(c));
    const CaseData data = MakeCaseData(c, seed++);
    ThreadPool pool(2);
    pool.impl().min_work_scale = 0.0;
    Gradients unpacked_gradients(c.dims), threaded_gradients(c.dims);
    EXPECT_TRUE(
        SameBytes(TrainingStep(c, data, true, &pool, threaded_gradients),
                  TrainingStep(c, data, false, nullptr, unpacked_gradients)));
  }
}

}  // namespace
}  // namespace elman
