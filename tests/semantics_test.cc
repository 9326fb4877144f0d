// What the training passes promise beyond "the numbers are right", on every
// SIMD target: bit-identical repeats, Backward overwriting its outputs,
// many-to-one via step weights, the DESIGN.md §5 bug catchers (single target
// step swept over t, the t = 0 term with h0, relu'(0) = 0) and Workspace
// reuse at smaller T and B.
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "elman/elman.h"
#include "gtest/gtest.h"
#include "hwy/tests/hwy_gtest.h"
#include "tests/test_util.h"

namespace elman {
namespace {

using test::ExpectClose;
using test::RandomVector;
using test::SameBytes;
using test::Widen;

// A problem with random weights, biases, x, target, h0 (empty if !with_h0).
struct Problem {
  Model model;
  SequenceShape seq;
  std::vector<float> x, h0, target;
};

Problem MakeProblem(Dims dims, Activation f, Activation g, SequenceShape seq,
                    bool with_h0, uint64_t seed) {
  std::mt19937_64 random(seed);
  Problem p{Model({dims, f, g}, seed), seq, {}, {}, {}};
  const auto b = RandomVector(dims.hidden, random, 0.5f);
  const auto c = RandomVector(dims.output, random, 0.5f);
  std::copy(b.begin(), b.end(), p.model.parameters().b().begin());
  std::copy(c.begin(), c.end(), p.model.parameters().c().begin());
  const size_t rows = seq.steps * seq.batch;
  p.x = RandomVector(rows * dims.input, random);
  p.target = RandomVector(rows * dims.output, random);
  if (with_h0) p.h0 = RandomVector(seq.batch * dims.hidden, random, 0.9f);
  return p;
}

// Everything one Forward + Loss + Backward produces, as floats.
struct Result {
  std::vector<float> y, gradients, dx, dh0;
  double loss = 0.0;
};

std::vector<float> Flat(const Parameters& parameters) {
  std::vector<float> flat(parameters.size());
  parameters.CopyTo(flat);
  return flat;
}

Result TrainStep(const Problem& p, Workspace& ws,
                 const std::vector<float>& weights = {}) {
  const Dims d = p.model.dims();
  const size_t rows = p.seq.steps * p.seq.batch;
  Result r;
  r.y.resize(rows * d.output);
  Forward(p.model, p.x, p.seq, p.h0, ws, r.y);
  r.loss = Loss(r.y, p.target, p.seq, d.output, weights);
  Gradients grads(d);
  r.dx.resize(rows * d.input);
  r.dh0.resize(p.seq.batch * d.hidden);
  Backward(p.model, p.target, weights, ws, {&grads, r.dx, r.dh0});
  r.gradients = Flat(grads);
  return r;
}

void ExpectIdentical(const Result& a, const Result& b) {
  EXPECT_TRUE(SameBytes(a.y, b.y)) << "y";
  EXPECT_EQ(a.loss, b.loss) << "loss";
  EXPECT_TRUE(SameBytes(a.gradients, b.gradients)) << "gradients";
  EXPECT_TRUE(SameBytes(a.dx, b.dx)) << "dx";
  EXPECT_TRUE(SameBytes(a.dh0, b.dh0)) << "dh0";
}

// Every gradient against the reference, each judged against the ∞-norm of
// the whole reference gradient (see passes_test.cc for why). Tolerance:
// float products of length K carry ≤ K·u relative error (u = 2⁻²⁴); backward
// chains T of length H through U and sums T·B rows into the weight
// gradients, so 16·u·(K + T·H + T·B + 16) bounds it with margin 16.
void ExpectMatchesReference(const Problem& p,
                            const std::vector<float>& weights) {
  const Dims d = p.model.dims();
  Workspace ws(d, p.seq.steps, p.seq.batch);
  const Result r = TrainStep(p, ws, weights);
  const reference::Model model(p.model);
  const auto forward =
      reference::Forward(model, Widen(p.x), p.seq, Widen(p.h0));
  const auto ref = reference::Backward(model, Widen(p.x), Widen(p.h0), forward,
                                       Widen(p.target), Widen(weights));
  const double u = std::ldexp(1.0, -24);
  const double k = static_cast<double>(std::max({d.input, d.hidden, d.output}));
  const double tol =
      16.0 * u *
      (k + static_cast<double>(p.seq.steps * (d.hidden + p.seq.batch)) + 16.0);
  const double norm =
      test::MaxAbsOf({&ref.W, &ref.U, &ref.b, &ref.V, &ref.c, &ref.x, &ref.h0});
  ASSERT_GT(norm, 0.0);
  Parameters grads(d);
  grads.CopyFrom(r.gradients);
  ExpectClose(grads.W(), ref.W, tol, "dW", norm);
  ExpectClose(grads.U(), ref.U, tol, "dU", norm);
  ExpectClose(grads.b(), ref.b, tol, "db", norm);
  ExpectClose(grads.V(), ref.V, tol, "dV", norm);
  ExpectClose(grads.c(), ref.c, tol, "dc", norm);
  ExpectClose(r.dx, ref.x, tol, "dx", norm);
  ExpectClose(r.dh0, ref.h0, tol, "dh0", norm);
  EXPECT_NEAR(r.loss, reference::Loss(forward, Widen(p.target), Widen(weights)),
              tol * std::max(1.0, r.loss));
}

class SemanticsTest : public hwy::TestWithParamTarget {};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P(SemanticsTest);

TEST_P(SemanticsTest, RepeatedRunsAreBitIdentical) {
  for (bool with_h0 : {false, true}) {
    const Problem p = MakeProblem({5, 33, 7}, Activation::kTanh,
                                  Activation::kSigmoid, {9, 3}, with_h0, 1);
    Workspace first(p.model.dims(), 9, 3), second(p.model.dims(), 12, 4);
    const Result a = TrainStep(p, first);
    ExpectIdentical(a, TrainStep(p, first));   // same workspace again
    ExpectIdentical(a, TrainStep(p, second));  // another, larger workspace
  }
}

TEST_P(SemanticsTest, BackwardOverwritesItsOutputs) {
  const Problem p = MakeProblem({3, 17, 2}, Activation::kTanh,
                                Activation::kIdentity, {6, 2}, true, 2);
  const Dims d = p.model.dims();
  Workspace ws(d, 6, 2);
  const Result once = TrainStep(p, ws);
  // Backward again on the same stored pass, into garbage-filled buffers.
  Gradients grads(d);
  std::vector<float> garbage(grads.size());
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = 1e3f + i;
  grads.CopyFrom(garbage);
  std::vector<float> dx(once.dx.size(), -5e2f), dh0(once.dh0.size(), 7e2f);
  Backward(p.model, p.target, {}, ws, {&grads, dx, dh0});
  EXPECT_TRUE(SameBytes(Flat(grads), once.gradients)) << "accumulated?";
  EXPECT_TRUE(SameBytes(dx, once.dx));
  EXPECT_TRUE(SameBytes(dh0, once.dh0));
  Backward(p.model, p.target, {}, ws, {&grads, dx, dh0});  // and a third time
  EXPECT_TRUE(SameBytes(Flat(grads), once.gradients));
}

// Many-to-one (the seed's remark: grad_dense(t) only at t = T−1) is the
// weight vector (0, …, 0, 1); steps before T−1 then contribute no loss.
TEST_P(SemanticsTest, ManyToOneMatchesReference) {
  uint64_t seed = 10;
  for (Activation f : test::kAllActivations) {
    for (size_t batch : {1u, 3u}) {
      SCOPED_TRACE(std::string(ActivationName(f)) +
                   " B=" + std::to_string(batch));
      const Problem p = MakeProblem({5, 33, 7}, f, Activation::kIdentity,
                                    {8, batch}, true, seed++);
      std::vector<float> weights(8, 0.0f);
      weights.back() = 1.0f;
      ExpectMatchesReference(p, weights);
      // The loss is the last step's alone.
      const Dims d = p.model.dims();
      Workspace ws(d, 8, batch);
      const Result r = TrainStep(p, ws, weights);
      const size_t last = 7 * batch * d.output;
      const SequenceShape one{1, batch};
      EXPECT_EQ(r.loss, Loss({r.y.data() + last, batch * d.output},
                             {p.target.data() + last, batch * d.output}, one,
                             d.output));
    }
  }
}

// DESIGN.md §5: the loss at a single step t, swept over t. A dropped carry or
// grad_dense at an intermediate step shows in some gradient; causality shows
// in dx: no step after t can influence L, so dx(s) = 0 exactly for s > t.
TEST_P(SemanticsTest, SingleTargetStepSweep) {
  const size_t steps = 6, batch = 2;
  for (Activation f : {Activation::kTanh, Activation::kSigmoid}) {
    const Problem p =
        MakeProblem({3, 17, 2}, f, Activation::kTanh, {steps, batch}, true, 20);
    const Dims d = p.model.dims();
    for (size_t t = 0; t < steps; ++t) {
      SCOPED_TRACE(std::string(ActivationName(f)) + " t=" + std::to_string(t));
      std::vector<float> weights(steps, 0.0f);
      weights[t] = 1.0f;
      ExpectMatchesReference(p, weights);
      Workspace ws(d, steps, batch);
      const Result r = TrainStep(p, ws, weights);
      const size_t row = batch * d.input;  // one step of dx
      for (size_t i = (t + 1) * row; i < r.dx.size(); ++i) {
        ASSERT_EQ(r.dx[i], 0.0f) << "dx after the target step, index " << i;
      }
      EXPECT_NE(*std::max_element(
                    r.dx.begin(), r.dx.begin() + row,
                    [](float a, float b) { return std::abs(a) < std::abs(b); }),
                0.0f)
          << "dx(0) lost the carry";
    }
  }
}

// DESIGN.md §5: dU's t = 0 term uses h0, and dh0 = Uᵀ δ(0). Short sequences
// make that term a large share of dU (all of it at T = 1).
TEST_P(SemanticsTest, FirstStepTermWithH0) {
  uint64_t seed = 30;
  for (size_t steps : {1u, 2u, 3u}) {
    for (size_t batch : {1u, 3u}) {
      for (Activation f : test::kAllActivations) {
        SCOPED_TRACE("T=" + std::to_string(steps) +
                     " B=" + std::to_string(batch) + " f=" + ActivationName(f));
        const Problem p = MakeProblem({4, 19, 3}, f, Activation::kIdentity,
                                      {steps, batch}, true, seed++);
        ExpectMatchesReference(p, {});
      }
    }
  }
}

// A workspace that held a larger pass (with h0) gives, for a smaller T and B
// (without h0), exactly what a fresh workspace gives: nothing stale is read.
TEST_P(SemanticsTest, WorkspaceReuseAtSmallerShape) {
  const Dims dims{5, 33, 7};
  const Problem large = MakeProblem(dims, Activation::kTanh,
                                    Activation::kIdentity, {10, 4}, true, 40);
  for (bool with_h0 : {false, true}) {
    const Problem small = MakeProblem(
        dims, Activation::kTanh, Activation::kIdentity, {3, 2}, with_h0, 41);
    Workspace reused(dims, 10, 4);
    TrainStep(large, reused);
    const Result again = TrainStep(small, reused);
    Workspace fresh(dims, 3, 2);
    ExpectIdentical(again, TrainStep(small, fresh));
    EXPECT_EQ(reused.sequence().steps, 3u);
    EXPECT_EQ(reused.sequence().batch, 2u);
    EXPECT_EQ(reused.hidden().size(), 3u * 2u * dims.hidden);
    EXPECT_TRUE(SameBytes(reused.hidden(), fresh.hidden()));
  }
}

// relu'(0) = 0 (model.h), on an exactly zero pre-activation. Hidden unit 0
// gets ĥ₀(t) = W₀·x(t) + b₀ = 2·0.5 − 1 = 0 exactly at every step (its row
// of U is zero, and every operand and sum is exact in float), while unit 1
// stays positive. With relu'(0) = 0, δ₀(t) = 0, so row 0 of dW and dU and
// db₀ are exactly 0 although V carries a nonzero error back to unit 0.
TEST_P(SemanticsTest, ReluDerivativeAtZeroIsZero) {
  const Dims dims{1, 2, 1};
  const SequenceShape seq{4, 2};
  Problem p{Model({dims, Activation::kRelu, Activation::kIdentity}),
            seq,
            std::vector<float>(8, 0.5f),
            {0.25f, 0.5f, 0.75f, 1.0f},
            {1.0f, -1.0f, 0.5f, 2.0f, -0.5f, 1.5f, 0.25f, 3.0f}};
  const float weights[] = {2.0f,  1.0f,                 // W, unit 0 then 1
                           0.0f,  0.0f,   0.25f, 0.5f,  // U, row 0 zero
                           -1.0f, 0.25f,                // b
                           1.5f,  -0.75f,               // V
                           0.125f};                     // c
  p.model.parameters().CopyFrom(weights);
  EXPECT_EQ(reference::Derivative(Activation::kRelu, 0.0), 0.0);

  Workspace ws(dims, seq.steps, seq.batch);
  const Result r = TrainStep(p, ws);
  for (size_t row = 0; row < seq.steps * seq.batch; ++row) {
    ASSERT_EQ(ws.pre_hidden()[row * 2], 0.0f)
        << "ĥ₀ not exactly 0, row " << row;
    ASSERT_GT(ws.pre_hidden()[row * 2 + 1], 0.0f);
  }
  Parameters grads(dims);
  grads.CopyFrom(r.gradients);
  EXPECT_EQ(grads.W()[0], 0.0f);
  EXPECT_EQ(grads.U()[0], 0.0f);
  EXPECT_EQ(grads.U()[1], 0.0f);
  EXPECT_EQ(grads.b()[0], 0.0f);
  EXPECT_NE(grads.b()[1], 0.0f);  // unit 1 does learn

  const reference::Model model(p.model);
  const auto forward = reference::Forward(model, Widen(p.x), seq, Widen(p.h0));
  const auto ref = reference::Backward(model, Widen(p.x), Widen(p.h0), forward,
                                       Widen(p.target));
  for (size_t row = 0; row < seq.steps * seq.batch; ++row) {
    ASSERT_EQ(forward.pre_hidden[row * 2], 0.0);
  }
  EXPECT_EQ(ref.W[0], 0.0);
  EXPECT_EQ(ref.U[0], 0.0);
  EXPECT_EQ(ref.U[1], 0.0);
  EXPECT_EQ(ref.b[0], 0.0);
  ExpectMatchesReference(p, {});
}

}  // namespace
}  // namespace elman
