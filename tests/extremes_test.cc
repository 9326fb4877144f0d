// Long runs and extreme values (issue 9, item 3), on every SIMD target:
//  - inputs of ±1e30 and ±FLT_MAX, which drive tanh and sigmoid units into
//    saturation, give finite outputs, losses and gradients;
//  - a sequence of T = 100 000 steps trains and streams without a NaN, and
//    the streamed outputs agree with the training forward's;
//  - the NaN/Inf policy of the Error policy section: what each entry point
//    rejects, and what it lets through (non-finite weights propagate).
// Time per step over such runs is a benchmark's business
// (elman_bench_long_run), not a test's.
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "elman/elman.h"
#include "gtest/gtest.h"
#include "hwy/tests/hwy_gtest.h"
#include "tests/test_util.h"

namespace elman {
namespace {

using test::RandomVector;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kMax = std::numeric_limits<float>::max();

bool AllFinite(std::span<const float> values) {
  for (float v : values) {
    if (!std::isfinite(v)) return false;
  }
  return true;
}

class ExtremesTest : public hwy::TestWithParamTarget {};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P(ExtremesTest);

// Every bounded activation pair, on each path of one sequence and at B > 1,
// with inputs at ±1e30, ±FLT_MAX and mixed signs: h stays in f's range and
// everything that comes out is finite.
TEST_P(ExtremesTest, SaturatingInputsGiveFiniteResults) {
  const Activation bounded[] = {Activation::kTanh, Activation::kSigmoid};
  const Dims shapes[] = {{3, 17, 2}, {2, 50, 3}, {5, 100, 4}};
  const float magnitudes[] = {1e30f, kMax};
  uint64_t seed = 1;
  for (Activation f : bounded) {
    for (Activation g :
         {Activation::kTanh, Activation::kSigmoid, Activation::kIdentity}) {
      for (const Dims& dims : shapes) {
        for (size_t batch : {1u, 3u}) {
          for (float magnitude : magnitudes) {
            SCOPED_TRACE(
                std::string(ActivationName(f)) + "/" + ActivationName(g) +
                " H=" + std::to_string(dims.hidden) +
                " B=" + std::to_string(batch) +
                " |x|=" + std::to_string(magnitude) + " " + CurrentTarget());
            std::mt19937_64 random(seed);
            const Model model({dims, f, g}, seed++);
            const SequenceShape seq{7, batch};
            std::vector<float> x =
                RandomVector(seq.steps * batch * dims.input, random);
            for (float& v : x) v = v < 0 ? -magnitude : magnitude;
            const auto target =
                RandomVector(seq.steps * batch * dims.output, random);
            Workspace ws(dims, seq.steps, batch);
            std::vector<float> y(target.size());
            Forward(model, x, seq, {}, ws, y);
            EXPECT_TRUE(AllFinite(y));
            for (float h : ws.hidden()) {
              ASSERT_LE(std::abs(h), 1.0f);
              if (f == Activation::kSigmoid) {
                ASSERT_GE(h, 0.0f);
              }
            }
            EXPECT_TRUE(std::isfinite(Loss(y, target, seq, dims.output)));
            Gradients grads(dims);
            std::vector<float> dx(x.size()), dh0(batch * dims.hidden);
            Backward(model, target, {}, ws, {&grads, dx, dh0});
            std::vector<float> flat(grads.size());
            grads.CopyTo(flat);
            EXPECT_TRUE(AllFinite(flat));
            EXPECT_TRUE(AllFinite(dx));
            EXPECT_TRUE(AllFinite(dh0));

            Stream stream(model, batch);
            std::vector<float> streamed(y.size());
            stream.Run(x, seq.steps, streamed);
            EXPECT_TRUE(AllFinite(streamed));
          }
        }
      }
    }
  }
}

// T = 100 000 steps of one sequence (the fused path at H = 32, the
// matrix-vector path at H = 48): the training pass and the stream stay
// finite to the end and agree with each other.
TEST_P(ExtremesTest, HundredThousandStepsStayFinite) {
  constexpr size_t kSteps = 100000;
  for (size_t hidden : {32u, 48u}) {
    SCOPED_TRACE("H=" + std::to_string(hidden) + " " + CurrentTarget());
    const Dims dims{2, hidden, 1};
    std::mt19937_64 random(hidden);
    const Model model({dims, Activation::kTanh, Activation::kIdentity}, 3);
    // A slow sine with noise: a long, non-periodic drive.
    std::vector<float> x(kSteps * dims.input), target(kSteps);
    std::uniform_real_distribution<float> noise(-0.1f, 0.1f);
    for (size_t t = 0; t < kSteps; ++t) {
      const float phase = 0.01f * static_cast<float>(t);
      x[2 * t] = std::sin(phase) + noise(random);
      x[2 * t + 1] = std::cos(3.0f * phase) + noise(random);
      target[t] = std::sin(phase + 0.1f);
    }
    Workspace ws(dims, kSteps);
    std::vector<float> y(kSteps);
    Forward(model, x, {kSteps, 1}, {}, ws, y);
    EXPECT_TRUE(AllFinite(y));
    EXPECT_TRUE(std::isfinite(Loss(y, target, {kSteps, 1}, 1)));
    Gradients grads(dims);
    Backward(model, target, {}, ws, {&grads});
    std::vector<float> flat(grads.size());
    grads.CopyTo(flat);
    EXPECT_TRUE(AllFinite(flat));

    // The stream in chunks of 1000 steps: its outputs follow the training
    // forward's to rounding all the way (no drift that grows with t).
    Stream stream(model);
    std::vector<float> streamed(kSteps);
    for (size_t begin = 0; begin < kSteps; begin += 1000) {
      stream.Run({x.data() + begin * dims.input, 1000 * dims.input}, 1000,
                 {streamed.data() + begin, 1000});
    }
    double worst = 0.0;
    for (size_t t = 0; t < kSteps; ++t) {
      worst =
          std::max(worst, static_cast<double>(std::abs(streamed[t] - y[t])));
    }
    EXPECT_LT(worst, 1e-4) << "largest |stream − forward| over all steps";
  }
}

// What is checked (an Error, nothing written) and what propagates (NaN in,
// NaN out, no error): the NaN/Inf rules of the README's Error policy, for
// each entry point.
TEST_P(ExtremesTest, NonFinitePolicyForEveryEntryPoint) {
  const Dims dims{3, 17, 2};
  const SequenceShape seq{5, 2};
  std::mt19937_64 random(9);
  Model model({dims, Activation::kTanh, Activation::kIdentity}, 9);
  const auto x = RandomVector(seq.steps * seq.batch * dims.input, random);
  const auto target = RandomVector(seq.steps * seq.batch * dims.output, random);
  Workspace ws(dims, seq.steps, seq.batch);
  std::vector<float> y(target.size());
  Gradients grads(dims);

  for (float bad : {kNaN, kInf, -kInf}) {
    // Checked: the inputs of Forward, Backward and Stream.
    std::vector<float> bad_x = x;
    bad_x[4] = bad;
    EXPECT_THROW(Forward(model, bad_x, seq, {}, ws, y), Error);
    std::vector<float> bad_h0(seq.batch * dims.hidden, 0.0f);
    bad_h0[1] = bad;
    EXPECT_THROW(Forward(model, x, seq, bad_h0, ws, y), Error);
    Forward(model, x, seq, {}, ws, y);
    std::vector<float> bad_target = target;
    bad_target[0] = bad;
    EXPECT_THROW(Backward(model, bad_target, {}, ws, {&grads}), Error);
    std::vector<float> bad_weights(seq.steps, 1.0f);
    bad_weights[2] = bad;
    EXPECT_THROW(Backward(model, target, bad_weights, ws, {&grads}), Error);
    Stream stream(model, seq.batch);
    std::vector<float> y_step(seq.batch * dims.output);
    EXPECT_THROW(stream.Step({bad_x.data(), seq.batch * dims.input}, y_step),
                 Error);
    EXPECT_THROW(stream.Reset(bad_h0), Error);

    // Checked: a Stream's weights, when it takes them.
    Model bad_model = model;
    bad_model.parameters().U()[7] = bad;
    EXPECT_THROW(Stream(bad_model, seq.batch), Error);
    EXPECT_THROW(stream.Load(bad_model), Error);
    // Checked: weight files, both ways.
    EXPECT_THROW(SaveModelToBuffer(bad_model), Error);

    // Propagates: non-finite weights in Forward and Backward (scanning them
    // would cost a pass over the weights every call). In the output bias c
    // they reach y directly; in W or U a saturating f may absorb an ∞.
    Model propagating = model;
    propagating.parameters().c()[1] = bad;
    std::vector<float> y_bad(y.size());
    Forward(propagating, x, seq, {}, ws, y_bad);
    EXPECT_FALSE(AllFinite(y_bad));
    Backward(propagating, target, {}, ws, {&grads});
    std::vector<float> flat(grads.size());
    grads.CopyTo(flat);
    EXPECT_FALSE(AllFinite(flat));
    // Propagates: Loss of a non-finite output.
    EXPECT_FALSE(std::isfinite(Loss(y_bad, target, seq, dims.output)));
    // Propagates: Optimizer::Step with a non-finite gradient, as in
    // torch.optim; ClipGradNorm reports it and leaves the gradients.
    Parameters params = model.parameters();
    Sgd sgd(dims, {.learning_rate = 0.1f});
    EXPECT_FALSE(std::isfinite(ClipGradNorm(grads, 1.0)));
    std::vector<float> after_clip(grads.size());
    grads.CopyTo(after_clip);
    EXPECT_TRUE(test::SameBytes(after_clip, flat));
    sgd.Step(params, grads);
    std::vector<float> updated(params.size());
    params.CopyTo(updated);
    EXPECT_FALSE(AllFinite(updated));
  }
}

}  // namespace
}  // namespace elman
