// BackwardFromOutputGradient, the backward pass from ∂L/∂y and ∂L/∂h(T−1)
// that another framework's autograd hands in, on every SIMD target compiled
// into the library: against the double-precision reference (whose own entry
// is checked against finite differences in reference_test.cc), against
// Backward where the two must agree, and composed across two chunks of a
// sequence, where the final hidden gradient carries the gradient back.
#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "elman/elman.h"
#include "gtest/gtest.h"
#include "hwy/tests/hwy_gtest.h"
#include "src/tools/verify_cases.h"
#include "tests/test_util.h"

namespace elman {
namespace {

using test::ExpectClose;
using test::RandomVector;
using test::Widen;

struct Case {
  Dims dims;
  SequenceShape seq;
  Activation f, g;
  bool with_h0, with_final, with_dx, with_dh0;
};

std::string Describe(const Case& c) {
  return test::DescribePass(c.dims, c.seq, c.f, c.g) +
         (c.with_h0 ? " h0" : "") + (c.with_final ? " final" : "");
}

// A model with Glorot weights and random biases.
Model RandomModel(const Config& config, uint64_t seed) {
  std::mt19937_64 random(seed + 17);
  Model model(config, seed);
  const auto b = RandomVector(config.dims.hidden, random, 0.5f);
  const auto c = RandomVector(config.dims.output, random, 0.5f);
  std::copy(b.begin(), b.end(), model.parameters().b().begin());
  std::copy(c.begin(), c.end(), model.parameters().c().begin());
  return model;
}

void RunCase(const Case& c, uint64_t seed) {
  SCOPED_TRACE(Describe(c) + " target=" + CurrentTarget());
  std::mt19937_64 random(seed);
  const Model model = RandomModel({c.dims, c.f, c.g}, seed);
  const size_t rows = c.seq.steps * c.seq.batch;
  const size_t state = c.seq.batch * c.dims.hidden;
  const auto x = RandomVector(rows * c.dims.input, random);
  const auto h0 =
      c.with_h0 ? RandomVector(state, random) : std::vector<float>{};
  const auto grad_y = RandomVector(rows * c.dims.output, random);
  const auto grad_h =
      c.with_final ? RandomVector(state, random) : std::vector<float>{};

  Workspace ws(c.dims, c.seq.steps + 1, c.seq.batch + 1);
  std::vector<float> y(rows * c.dims.output);
  Forward(model, x, c.seq, h0, ws, y);
  Gradients grads(c.dims);
  std::vector<float> dx(c.with_dx ? rows * c.dims.input : 0);
  std::vector<float> dh0(c.with_dh0 ? state : 0);
  BackwardFromOutputGradient(model, grad_y, grad_h, ws, {&grads, dx, dh0});

  const reference::Model ref_model(model);
  const auto ref_forward =
      reference::Forward(ref_model, Widen(x), c.seq, Widen(h0));
  const auto ref = reference::BackwardFromOutputGradient(
      ref_model, Widen(x), Widen(h0), ref_forward, Widen(grad_y),
      Widen(grad_h));
  const double tol = verify::PassTolerance(c.dims, c.seq);
  test::ExpectGradientsClose(grads, dx, dh0, ref, tol);
}

class OutputGradientTest : public hwy::TestWithParamTarget {};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P(OutputGradientTest);

// Every activation pair on shapes that are not multiples of any vector width
// (H = 17: the fused per-step path at B = 1; H = 33: the matrix-vector
// carry), T ∈ {1, 2, 5}, B ∈ {1, 3}, with and without h0 and the final
// hidden gradient.
TEST_P(OutputGradientTest, EveryActivationPairMatchesReference) {
  const Dims shapes[] = {{1, 1, 1}, {3, 17, 2}, {5, 33, 7}};
  uint64_t seed = 1;
  for (Activation f : test::kAllActivations) {
    for (Activation g : test::kAllActivations) {
      for (const Dims& dims : shapes) {
        for (size_t steps : {1u, 2u, 5u}) {
          for (size_t batch : {1u, 3u}) {
            const bool a = seed % 2 == 0, b = seed % 3 != 0;
            RunCase({dims, {steps, batch}, f, g, a, b, !a, b}, seed);
            ++seed;
          }
        }
      }
    }
  }
}

// Every kernel path of the reverse-time loop (src/fused_path.h): B = 1 with
// H in the fused range (the column form, and the quads at H = 16, 32 and 64
// on AVX-512, QuadCarrySteps, with and without the final hidden gradient),
// the matrix-vector range and beyond (GEMM), and B > 1 across tile
// boundaries.
TEST_P(OutputGradientTest, EveryPathMatchesReference) {
  const auto tanh = Activation::kTanh, sigmoid = Activation::kSigmoid,
             relu = Activation::kRelu, identity = Activation::kIdentity;
  const Case cases[] = {
      {{3, 31, 2}, {9, 1}, tanh, sigmoid, true, true, true, true},
      {{4, 16, 5}, {7, 1}, sigmoid, tanh, false, true, true, true},
      {{1, 32, 1}, {11, 1}, tanh, identity, true, true, true, true},
      {{6, 64, 17}, {5, 1}, tanh, sigmoid, true, false, true, true},
      {{9, 63, 3}, {6, 1}, tanh, identity, true, true, true, true},
      {{9, 130, 3}, {6, 1}, relu, tanh, false, true, true, true},
      {{17, 100, 15}, {7, 4}, sigmoid, tanh, true, true, true, true},
      {{2, 33, 3}, {50, 5}, tanh, identity, true, true, false, true},
  };
  uint64_t seed = 500;
  for (const Case& c : cases) RunCase(c, seed++);
}

// With ∂L/∂y = y − Y and no final hidden gradient, the loss gradient of
// Backward: e(t) is then formed from the same floats in the same order, so
// the results are identical bit for bit. With step weights ∂L/∂y =
// w(t)·(y − Y) rounds differently from Backward's (y − Y)·g'·w(t): close.
TEST_P(OutputGradientTest, AgreesWithBackwardOnTheSquaredError) {
  for (size_t batch : {1u, 4u}) {
    SCOPED_TRACE("B=" + std::to_string(batch));
    const Dims dims{4, 21, 3};
    const SequenceShape seq{6, batch};
    const size_t rows = seq.steps * seq.batch;
    std::mt19937_64 random(batch);
    const Model model =
        RandomModel({dims, Activation::kTanh, Activation::kSigmoid}, batch);
    const auto x = RandomVector(rows * dims.input, random);
    const auto h0 = RandomVector(batch * dims.hidden, random);
    const auto target = RandomVector(rows * dims.output, random);
    const auto weights = RandomVector(seq.steps, random);
    Workspace ws(dims, seq.steps, batch);
    std::vector<float> y(rows * dims.output);
    Forward(model, x, seq, h0, ws, y);

    std::vector<float> residual(y.size()), weighted(y.size());
    for (size_t k = 0; k < y.size(); ++k) {
      residual[k] = y[k] - target[k];
      weighted[k] = weights[k / (batch * dims.output)] * residual[k];
    }
    Gradients want(dims), got(dims);
    std::vector<float> dx_want(x.size()), dx_got(x.size());
    std::vector<float> dh0_want(h0.size()), dh0_got(h0.size());
    Backward(model, target, {}, ws, {&want, dx_want, dh0_want});
    BackwardFromOutputGradient(model, residual, {}, ws,
                               {&got, dx_got, dh0_got});
    EXPECT_TRUE(test::SameBytes(test::Flat(got), test::Flat(want)));
    EXPECT_TRUE(test::SameBytes(dx_got, dx_want));
    EXPECT_TRUE(test::SameBytes(dh0_got, dh0_want));

    Backward(model, target, weights, ws, {&want});
    BackwardFromOutputGradient(model, weighted, {}, ws, {&got});
    const auto want_flat = test::Flat(want);
    ExpectClose(test::Flat(got), Widen(want_flat), 1e-5, "weighted");
  }
}

// A sequence run as two chunks, the second starting from the first's final
// hidden state: the second chunk's dh0, handed to the first as its final
// hidden gradient, makes the two chunks' gradients sum to those of the whole
// sequence (full BPTT across the boundary, not truncated).
TEST_P(OutputGradientTest, FinalHiddenGradientCarriesAcrossChunks) {
  for (size_t batch : {1u, 3u}) {
    SCOPED_TRACE("B=" + std::to_string(batch));
    const Dims dims{3, 19, 2};
    const size_t first = 4, second = 5, steps = first + second;
    const size_t in_block = batch * dims.input, out_block = batch * dims.output;
    std::mt19937_64 random(40 + batch);
    const Model model =
        RandomModel({dims, Activation::kTanh, Activation::kTanh}, 3);
    const auto x = RandomVector(steps * in_block, random);
    const auto h0 = RandomVector(batch * dims.hidden, random);
    const auto grad_y = RandomVector(steps * out_block, random);

    Workspace whole(dims, steps, batch);
    std::vector<float> y(steps * out_block);
    Forward(model, x, {steps, batch}, h0, whole, y);
    Gradients want(dims);
    std::vector<float> dx_want(x.size()), dh0_want(h0.size());
    BackwardFromOutputGradient(model, grad_y, {}, whole,
                               {&want, dx_want, dh0_want});

    Workspace ws1(dims, first, batch), ws2(dims, second, batch);
    std::vector<float> y1(first * out_block), y2(second * out_block);
    Forward(model, {x.data(), first * in_block}, {first, batch}, h0, ws1, y1);
    const std::vector<float> h1(ws1.final_hidden().begin(),
                                ws1.final_hidden().end());
    Forward(model, {x.data() + first * in_block, second * in_block},
            {second, batch}, h1, ws2, y2);
    Gradients g1(dims), g2(dims);
    std::vector<float> dx(x.size()), dh1(h1.size()), dh0(h0.size());
    BackwardFromOutputGradient(
        model, {grad_y.data() + first * out_block, second * out_block}, {}, ws2,
        {&g2, {dx.data() + first * in_block, second * in_block}, dh1});
    BackwardFromOutputGradient(model, {grad_y.data(), first * out_block}, dh1,
                               ws1, {&g1, {dx.data(), first * in_block}, dh0});

    std::vector<float> sum = test::Flat(g1);
    const std::vector<float> part = test::Flat(g2);
    for (size_t k = 0; k < sum.size(); ++k) sum[k] += part[k];
    const double tol = verify::PassTolerance(dims, {steps, batch});
    ExpectClose(sum, Widen(test::Flat(want)), tol, "dW, dU, db, dV, dc");
    ExpectClose(dx, Widen(dx_want), tol, "dx");
    ExpectClose(dh0, Widen(dh0_want), tol, "dh0");
  }
}

}  // namespace
}  // namespace elman
