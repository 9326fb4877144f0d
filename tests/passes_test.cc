// The whole dispatched forward / loss / backward on every SIMD target compiled
// into the library, against the double-precision reference (itself checked
// against finite differences in reference_test.cc).
#include <cmath>
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
  bool with_h0, with_dx, with_dh0, with_weights;
};

std::string Describe(const Case& c) {
  return test::DescribePass(c.dims, c.seq, c.f, c.g) +
         (c.with_h0 ? " h0" : "") + (c.with_weights ? " weights" : "");
}

// The bound elman_verify uses too (src/tools/verify_cases.h explains it).
double Tolerance(const Case& c) { return verify::PassTolerance(c.dims, c.seq); }

void RunCase(const Case& c, uint64_t seed) {
  SCOPED_TRACE(Describe(c) + " target=" + CurrentTarget());
  std::mt19937_64 random(seed);
  Model model({c.dims, c.f, c.g}, seed);
  // Random biases too (Initialize leaves them zero).
  auto b = RandomVector(c.dims.hidden, random, 0.5f);
  auto cc = RandomVector(c.dims.output, random, 0.5f);
  std::copy(b.begin(), b.end(), model.parameters().b().begin());
  std::copy(cc.begin(), cc.end(), model.parameters().c().begin());

  const size_t rows = c.seq.steps * c.seq.batch;
  const auto x = RandomVector(rows * c.dims.input, random);
  const auto target = RandomVector(rows * c.dims.output, random);
  const auto h0 = c.with_h0 ? RandomVector(c.seq.batch * c.dims.hidden, random)
                            : std::vector<float>{};
  const auto weights =
      c.with_weights ? RandomVector(c.seq.steps, random) : std::vector<float>{};

  Workspace ws(c.dims, c.seq.steps + 1, c.seq.batch + 1);
  std::vector<float> y(rows * c.dims.output);
  Forward(model, x, c.seq, h0, ws, y);
  const double loss = Loss(y, target, c.seq, c.dims.output, weights);
  Gradients grads(c.dims);
  std::vector<float> dx(c.with_dx ? rows * c.dims.input : 0);
  std::vector<float> dh0(c.with_dh0 ? c.seq.batch * c.dims.hidden : 0);
  Backward(model, target, weights, ws, {&grads, dx, dh0});

  const reference::Model ref_model(model);
  const auto ref_forward =
      reference::Forward(ref_model, Widen(x), c.seq, Widen(h0));
  const double ref_loss =
      reference::Loss(ref_forward, Widen(target), Widen(weights));
  const auto ref =
      reference::Backward(ref_model, Widen(x), Widen(h0), ref_forward,
                          Widen(target), Widen(weights));
  const double tol = Tolerance(c);
  EXPECT_NEAR(loss, ref_loss, tol * std::max(1.0, std::abs(ref_loss)));
  ExpectClose(y, ref_forward.output, tol, "y");
  ExpectClose(ws.pre_hidden(), ref_forward.pre_hidden, tol, "pre_hidden");
  ExpectClose(ws.hidden(), ref_forward.hidden, tol, "hidden");
  ExpectClose(ws.pre_output(), ref_forward.pre_output, tol, "pre_output");
  test::ExpectGradientsClose(grads, dx, dh0, ref, tol);
}

class PassesTest : public hwy::TestWithParamTarget {};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P(PassesTest);

// Every activation pair on small shapes that are not multiples of any vector
// width, T ∈ {1, 2, 5, 50}, B ∈ {1, 3, 8}, with and without h0, dx, dh0.
TEST_P(PassesTest, EveryActivationPairMatchesReference) {
  const Dims shapes[] = {{1, 1, 1}, {3, 17, 2}, {5, 33, 7}};
  const size_t steps[] = {1, 2, 5, 50};
  const size_t batches[] = {1, 3, 8};
  uint64_t seed = 1;
  for (Activation f : test::kAllActivations) {
    for (Activation g : test::kAllActivations) {
      for (const Dims& dims : shapes) {
        for (size_t t : steps) {
          for (size_t b : batches) {
            const bool flag = (seed % 2) == 0;
            RunCase({dims, {t, b}, f, g, flag, !flag, flag, !flag}, seed);
            ++seed;
          }
        }
      }
    }
  }
}

// Larger shapes that cross every tile and vector boundary of the kernels.
TEST_P(PassesTest, LargerShapesMatchReference) {
  const auto tanh = Activation::kTanh, sigmoid = Activation::kSigmoid,
             relu = Activation::kRelu, identity = Activation::kIdentity;
  const Case cases[] = {
      {{17, 100, 15}, {7, 1}, tanh, identity, true, true, true, false},
      {{64, 129, 31}, {5, 3}, tanh, sigmoid, false, true, true, true},
      {{100, 257, 64}, {3, 8}, relu, tanh, true, true, true, true},
      // B = 1 far above the matrix-vector kernels' largest H
      // (src/fused_path.h): the GEMM-structured passes for one sequence.
      {{9, 130, 3}, {6, 1}, tanh, identity, true, true, true, true},
      {{2, 33, 3}, {50, 5}, sigmoid, identity, true, true, true, false},
      // B = 1 at H = 16, 32 and 64, the Stream's kernel on AVX-512
      // (QuadFusedSteps keeping ĥ, h and ŷ) and the carry on quads
      // (QuadCarrySteps, db summed on its way): the dense layer in rows (O ≤
      // 7), reduced rows (O ≤ 16) and from memory (O > 16; at H = 16 also
      // e(t)·V over whole groups of quads); T = 1 (no δ(t+1)); identity f.
      {{5, 16, 3}, {9, 1}, tanh, sigmoid, true, true, true, true},
      {{1, 32, 13}, {12, 1}, relu, identity, false, true, false, true},
      {{7, 64, 24}, {6, 1}, sigmoid, tanh, true, false, true, false},
      {{3, 16, 20}, {5, 1}, tanh, identity, true, true, true, false},
      {{4, 16, 5}, {1, 1}, tanh, sigmoid, true, true, true, true},
      {{2, 64, 9}, {1, 1}, relu, identity, false, true, true, false},
      {{5, 32, 3}, {7, 1}, identity, tanh, true, true, true, true},
      {{3, 64, 16}, {6, 1}, tanh, sigmoid, true, true, true, false},
      {{2, 32, 32}, {5, 1}, relu, tanh, false, true, true, true},
      {{4, 16, 48}, {4, 1}, tanh, identity, true, false, true, false},
      // B = 1 in the fused range with H not whole vectors (FusedStep's
      // generic form) and a dense layer that reads Vᵀ (O above
      // kRowFormMaxOutputs).
      {{6, 20, 12}, {8, 1}, tanh, identity, true, true, true, false},
  };
  uint64_t seed = 1000;
  for (const Case& c : cases) RunCase(c, seed++);
}

}  // namespace
}  // namespace elman
