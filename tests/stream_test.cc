// The inference Stream on every SIMD target: Run is T Steps within rounding,
// a chunked Run is one Run bit for bit, and the outputs are eq. 7.10's — the
// same as the training Forward and as the double-precision reference, within
// a rounding bound; Reset, Reset(h0), hidden() and Load do what they say.
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "elman/elman.h"
#include "gtest/gtest.h"
#include "hwy/tests/hwy_gtest.h"
#include "src/fused_path.h"
#include "tests/test_util.h"

namespace elman {
namespace {

using test::ExpectClose;
using test::RandomVector;
using test::SameBytes;
using test::Widen;

// Shapes that are not multiples of any vector width (H = 17, 33, 100 straddle
// 4-, 8- and 16-lane vectors), B = 1 (the latency path) and B = 3.
struct Case {
  Dims dims;
  size_t steps, batch;
  Activation f, g;
};

std::string Describe(const Case& c) {
  return "I=" + std::to_string(c.dims.input) +
         " H=" + std::to_string(c.dims.hidden) +
         " O=" + std::to_string(c.dims.output) +
         " T=" + std::to_string(c.steps) + " B=" + std::to_string(c.batch) +
         " f=" + ActivationName(c.f) + " g=" + ActivationName(c.g) +
         " target=" + CurrentTarget();
}

// Every (f, g) pair once, spread over the four shapes and both batches (each
// shape meets both), then long sequences. With B = 1 (src/fused_path.h),
// H = 17 runs every step fused, H = 33 the matrix-vector kernels, H = 100
// and 131 the GEMM-structured passes.
std::vector<Case> AllCases() {
  const Dims shapes[] = {{3, 17, 2}, {5, 33, 7}, {4, 100, 9}, {6, 131, 3}};
  std::vector<Case> cases;
  size_t i = 0;
  for (Activation f : test::kAllActivations) {
    for (Activation g : test::kAllActivations) {
      cases.push_back({shapes[i % 4], 7 + i % 5, (i / 4) % 2 ? 3u : 1u, f, g});
      ++i;
    }
  }
  // Long sequences: Run works in chunks of max(1, 64 / B) steps, so these
  // cross 3 (B = 1, H = 131), 8 (B = 3), 50 (B = 17) and 150 (B = 70)
  // chunks; the fused path (B = 1, H = 33) has no chunks.
  for (size_t batch : {1, 3, 17, 70}) {
    cases.push_back({shapes[batch % 3], 150, batch, Activation::kTanh,
                     Activation::kIdentity});
  }
  cases.push_back(
      {shapes[3], 150, 1, Activation::kTanh, Activation::kIdentity});
  // Step of one sequence at large H reads its weights in panels of 64
  // columns (src/panels.h): H = 200 and O = 70 end in partial panels, and
  // O > 64 takes more than one.
  cases.push_back(
      {{37, 200, 70}, 9, 1, Activation::kTanh, Activation::kSigmoid});
  // FusedStep's one-kernel path (PanelFusedStep) takes H of 1, 2 or 4 whole
  // vectors (8, 16, 32 on AVX2; 16, 32, 64 on AVX-512), and its dense layer
  // the row form (O ≤ 7), the reduced rows (up to a vector; O = 13 ends in
  // a partial group of four), a panel of two vectors, or the generic product
  // beyond: O = 24 is two vectors on AVX-512 and three on AVX2, O = 32 and
  // 48 several panels on either.
  const size_t hiddens[] = {8, 16, 32, 64};
  const size_t outputs[] = {3, 8, 13, 16, 24, 32, 40, 48};
  size_t pair = 0;
  for (size_t hidden : hiddens) {
    for (size_t output : outputs) {
      const Activation f = test::kAllActivations[pair % 4];
      const Activation g = test::kAllActivations[(pair / 4 + pair) % 4];
      cases.push_back({{2 + pair % 7, hidden, output}, 6 + pair % 3, 1, f, g});
      ++pair;
    }
  }
  return cases;
}

// A model with random (nonzero) biases: Initialize leaves them zero.
Model MakeModel(const Case& c, uint64_t seed) {
  Model model({c.dims, c.f, c.g}, seed);
  std::mt19937_64 random(seed + 100);
  const auto b = RandomVector(c.dims.hidden, random, 0.5f);
  const auto bias = RandomVector(c.dims.output, random, 0.5f);
  std::copy(b.begin(), b.end(), model.parameters().b().begin());
  std::copy(bias.begin(), bias.end(), model.parameters().c().begin());
  return model;
}

// Tolerance on ‖got − want‖∞ / ‖want‖∞ for y and h, against the reference
// (exact to float's eyes). One step's ĥ is a dot product of length I + H + 1
// (x, h(t−1), the bias) and y's another of length H + 1; the errors of the T
// steps ride the recurrence and add up (Glorot-scaled U and |f'| ≤ 1 do not
// amplify them on average), so y(T−1) has met n = T·(I + 2H + O + 2)
// roundings. The worst case, n·u (u = 2⁻²⁴, Higham's γ_n), is three orders
// above what is seen; rounding errors behave as independent zero-mean
// variables, for which |error| ≤ λ·√n·u holds with probability at least
// 1 − 2·exp(−λ²/2) (Higham & Mary, SIAM J. Sci. Comput. 2019). λ = 8 makes a
// spurious failure impossible in practice. Stream and Forward are two such
// float computations with different association (their products are tiled
// differently), so they may differ by twice that.
// Measured on this machine over all targets: at most 0.49·√n·u against the
// reference and 0.62·√n·u between Stream and Forward (13–16× margin).
double Tolerance(const Case& c) {
  const double n = static_cast<double>(
      c.steps * (c.dims.input + 2 * c.dims.hidden + c.dims.output + 2));
  return 8.0 * std::sqrt(n) * std::ldexp(1.0, -24);
}

struct Inputs {
  std::vector<float> x, h0;
};

Inputs MakeInputs(const Case& c, uint64_t seed) {
  std::mt19937_64 random(seed);
  return {RandomVector(c.steps * c.batch * c.dims.input, random),
          RandomVector(c.batch * c.dims.hidden, random, 0.9f)};
}

// y from the training Forward (with h0 unless empty), plus its last h.
struct TrainingResult {
  std::vector<float> y, last_hidden;
};

TrainingResult TrainingForward(const Model& model, const Case& c,
                               const std::vector<float>& x,
                               const std::vector<float>& h0) {
  Workspace ws(c.dims, c.steps, c.batch);
  TrainingResult r;
  r.y.resize(c.steps * c.batch * c.dims.output);
  Forward(model, x, {c.steps, c.batch}, h0, ws, r.y);
  const auto h = ws.hidden();
  const size_t block = c.batch * c.dims.hidden;
  r.last_hidden.assign(h.end() - block, h.end());
  return r;
}

// The hidden states of all sequences, [B][H].
std::vector<float> State(const Stream& stream) {
  const size_t h = stream.dims().hidden;
  std::vector<float> state(stream.batch() * h);
  for (size_t b = 0; b < stream.batch(); ++b) {
    std::copy_n(stream.hidden(b).data(), h, state.data() + b * h);
  }
  return state;
}

// y of c.steps Steps over x, [T][B][O].
std::vector<float> Steps(Stream& stream, const Case& c,
                         const std::vector<float>& x) {
  const size_t x_step = c.batch * c.dims.input;
  const size_t y_size = c.batch * c.dims.output;
  std::vector<float> y(c.steps * y_size);
  for (size_t t = 0; t < c.steps; ++t) {
    stream.Step({x.data() + t * x_step, x_step},
                {y.data() + t * y_size, y_size});
  }
  return y;
}

class StreamTest : public hwy::TestWithParamTarget {};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P(StreamTest);

// Run (projections over chunks of steps) and Step (one fused product per
// step) associate ĥ's sums differently: equal within rounding. On the fused
// latency path (one sequence, H ≤ 64) both run the same FusedStep: equal
// bit for bit.
TEST_P(StreamTest, RunEqualsSteps) {
  uint64_t seed = 1;
  for (const Case& c : AllCases()) {
    SCOPED_TRACE(Describe(c));
    const Model model = MakeModel(c, seed);
    const Inputs in = MakeInputs(c, seed++);
    Stream run(model, c.batch), step(model, c.batch);
    std::vector<float> y_run(c.steps * c.batch * c.dims.output);
    run.Run(in.x, c.steps, y_run);
    const std::vector<float> y_step = Steps(step, c, in.x);
    if (internal::UsesMatVec(c.batch, c.dims.hidden)) {
      EXPECT_TRUE(SameBytes(y_run, y_step));
      EXPECT_TRUE(SameBytes(State(run), State(step)));
    }
    const double tol = 2 * Tolerance(c);
    ExpectClose(y_run, Widen(y_step), tol, "y of Run vs Steps");
    for (size_t b = 0; b < c.batch; ++b) {
      const auto h_step = step.hidden(b);
      ExpectClose(run.hidden(b),
                  Widen(std::vector<float>(h_step.begin(), h_step.end())), tol,
                  "h of Run vs Steps");
    }
  }
}

TEST_P(StreamTest, ChunkedRunEqualsOneRunBitForBit) {
  uint64_t seed = 50;
  for (const Case& c : AllCases()) {
    SCOPED_TRACE(Describe(c));
    const Model model = MakeModel(c, seed);
    const Inputs in = MakeInputs(c, seed++);
    Stream whole(model, c.batch), chunked(model, c.batch);
    std::vector<float> y_whole(c.steps * c.batch * c.dims.output);
    std::vector<float> y_chunked(y_whole.size());
    whole.Run(in.x, c.steps, y_whole);
    // Three chunks of 1, 2 and T − 3 steps.
    const size_t chunks[] = {1, 2, c.steps - 3};
    size_t t = 0;
    for (size_t n : chunks) {
      const size_t xs = c.batch * c.dims.input, ys = c.batch * c.dims.output;
      chunked.Run({in.x.data() + t * xs, n * xs}, n,
                  {y_chunked.data() + t * ys, n * ys});
      t += n;
    }
    ASSERT_EQ(t, c.steps);
    EXPECT_TRUE(SameBytes(y_whole, y_chunked));
  }
}

// From zeros and from a given h0: y equals the training Forward's and the
// reference's, and hidden(b) equals the training Forward's last h.
TEST_P(StreamTest, MatchesTrainingForwardAndReference) {
  uint64_t seed = 100;
  for (const Case& c : AllCases()) {
    for (bool with_h0 : {false, true}) {
      SCOPED_TRACE(Describe(c) + (with_h0 ? " h0" : ""));
      const Model model = MakeModel(c, seed);
      const Inputs in = MakeInputs(c, seed++);
      const std::vector<float> h0 = with_h0 ? in.h0 : std::vector<float>{};
      Stream stream(model, c.batch);
      if (with_h0) stream.Reset(h0);
      std::vector<float> y(c.steps * c.batch * c.dims.output);
      stream.Run(in.x, c.steps, y);

      const double tol = Tolerance(c);
      const TrainingResult training = TrainingForward(model, c, in.x, h0);
      ExpectClose(y, Widen(training.y), 2 * tol, "y vs Forward");
      const auto ref = reference::Forward(reference::Model(model), Widen(in.x),
                                          {c.steps, c.batch}, Widen(h0));
      ExpectClose(y, ref.output, tol, "y vs reference");
      ExpectClose(State(stream), Widen(training.last_hidden), 2 * tol,
                  "hidden vs Forward");
    }
  }
}

// Reset() restarts from zeros: after some history, Reset() then Run gives
// exactly what a fresh stream gives; Reset(h0) exactly what Reset(h0) on a
// fresh stream gives.
TEST_P(StreamTest, ResetRestarts) {
  uint64_t seed = 200;
  for (const Case& c : AllCases()) {
    SCOPED_TRACE(Describe(c));
    const Model model = MakeModel(c, seed);
    const Inputs in = MakeInputs(c, seed++);
    std::vector<float> y_used(c.steps * c.batch * c.dims.output);
    std::vector<float> y_fresh(y_used.size());
    Stream used(model, c.batch);
    used.Run(in.x, c.steps, y_used);
    used.Reset();
    for (size_t b = 0; b < c.batch; ++b) {
      for (float v : used.hidden(b)) ASSERT_EQ(v, 0.0f);
    }
    used.Run(in.x, c.steps, y_used);
    Stream fresh(model, c.batch);
    fresh.Run(in.x, c.steps, y_fresh);
    EXPECT_TRUE(SameBytes(y_used, y_fresh)) << "Reset()";

    used.Reset(in.h0);
    for (size_t b = 0; b < c.batch; ++b) {
      EXPECT_TRUE(SameBytes(used.hidden(b),
                            {in.h0.data() + b * c.dims.hidden, c.dims.hidden}));
    }
    used.Run(in.x, c.steps, y_used);
    Stream fresh_h0(model, c.batch);
    fresh_h0.Reset(in.h0);
    fresh_h0.Run(in.x, c.steps, y_fresh);
    EXPECT_TRUE(SameBytes(y_used, y_fresh)) << "Reset(h0)";
  }
}

// One sequence on the fused path whose H is one, two or four whole vectors
// (8 … 64): the training Forward runs the Stream's kernel (QuadFusedSteps
// on AVX-512, the column form elsewhere) over copies of the same weights, so
// from the same h0 it gives Run's y and last h bit for bit, on every target.
TEST_P(StreamTest, TrainingForwardEqualsRunBitForBitOnTheFusedPath) {
  uint64_t seed = 400;
  for (const Case& c : AllCases()) {
    if (c.batch != 1 || c.dims.hidden % 8 != 0 ||
        !internal::UsesFusedSteps(1, c.dims.hidden)) {
      continue;
    }
    SCOPED_TRACE(Describe(c));
    const Model model = MakeModel(c, seed);
    const Inputs in = MakeInputs(c, seed++);
    for (bool with_h0 : {false, true}) {
      SCOPED_TRACE(with_h0 ? "h0" : "h0 = 0");
      Stream stream(model);
      if (with_h0) stream.Reset(in.h0);
      std::vector<float> y_run(c.steps * c.dims.output);
      stream.Run(in.x, c.steps, y_run);
      const TrainingResult training = TrainingForward(
          model, c, in.x, with_h0 ? in.h0 : std::vector<float>{});
      EXPECT_TRUE(SameBytes(training.y, y_run)) << "y";
      EXPECT_TRUE(SameBytes(training.last_hidden, State(stream))) << "h";
    }
  }
}

// Above H = 64 every other Step reads the weights backwards and associates
// its sums the other way round (src/stream.cc, PanelStep), so a step's bits
// depend on the parity of the steps since construction or Reset. Both
// Resets restart that count: after an odd number of Steps, Reset() or
// Reset(h0) and the same Steps give the bits of a fresh stream.
TEST_P(StreamTest, StepsAfterResetDoNotDependOnHistory) {
  uint64_t seed = 250;
  for (const Case& c : AllCases()) {
    SCOPED_TRACE(Describe(c));
    const Model model = MakeModel(c, seed);
    const Inputs in = MakeInputs(c, seed++);
    const size_t x_step = c.batch * c.dims.input;
    for (bool with_h0 : {false, true}) {
      Stream used(model, c.batch), fresh(model, c.batch);
      std::vector<float> y(c.batch * c.dims.output);
      used.Step({in.x.data(), x_step}, y);
      if (with_h0) {
        used.Reset(in.h0);
        fresh.Reset(in.h0);
      } else {
        used.Reset();
      }
      EXPECT_TRUE(SameBytes(Steps(used, c, in.x), Steps(fresh, c, in.x)))
          << (with_h0 ? "Reset(h0)" : "Reset()");
      EXPECT_TRUE(SameBytes(State(used), State(fresh)));
    }
  }
}

// The constructor takes a snapshot (changing the model afterwards has no
// effect); Load takes a new one and keeps the state.
TEST_P(StreamTest, LoadPicksUpNewWeights) {
  uint64_t seed = 300;
  for (const Case& c : AllCases()) {
    SCOPED_TRACE(Describe(c));
    Model model = MakeModel(c, seed);
    const Model original = model;
    const Model other = MakeModel(c, seed + 1000);
    const Inputs in = MakeInputs(c, seed++);
    std::vector<float> y(c.steps * c.batch * c.dims.output);
    std::vector<float> y_want(y.size());

    Stream stream(model, c.batch);
    stream.Run(in.x, c.steps, y);
    model.parameters() = other.parameters();
    Stream old_weights(original, c.batch);
    old_weights.Reset(State(stream));
    stream.Run(in.x, c.steps, y);
    old_weights.Run(in.x, c.steps, y_want);
    EXPECT_TRUE(SameBytes(y, y_want)) << "the snapshot followed the model";

    stream.Load(model);
    Stream new_weights(other, c.batch);
    new_weights.Reset(State(stream));
    stream.Run(in.x, c.steps, y);
    new_weights.Run(in.x, c.steps, y_want);
    EXPECT_TRUE(SameBytes(y, y_want)) << "Load: new weights, state kept";
    old_weights.Run(in.x, c.steps, y_want);
    EXPECT_FALSE(SameBytes(y, y_want)) << "Load did not change the weights";
  }
}

}  // namespace
}  // namespace elman
