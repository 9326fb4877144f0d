// Tests of the naive scalar reference (elman::reference) on its own: against
// central finite differences of its own loss, a hand-worked case, an
// independent many-to-one loop and the DESIGN.md §5 bug catchers. Nothing here
// touches the SIMD path.

#include "elman/reference.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <random>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "elman/error.h"
#include "elman/model.h"

namespace elman::reference {
namespace {

constexpr Activation kAllActivations[] = {
    Activation::kTanh, Activation::kSigmoid, Activation::kRelu,
    Activation::kIdentity};

// Own spelling, so that this test does not depend on src/model.cc.
const char* Name(Activation a) {
  switch (a) {
    case Activation::kTanh:
      return "tanh";
    case Activation::kSigmoid:
      return "sigmoid";
    case Activation::kRelu:
      return "relu";
    case Activation::kIdentity:
      return "identity";
  }
  return "?";
}

// One complete problem: model, inputs, initial state, targets, step weights.
struct Problem {
  Model model;
  SequenceShape seq;
  std::vector<double> x, h0, target, weights;
};

std::vector<double> Uniform(std::mt19937_64& rng, size_t n, double lo,
                            double hi) {
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(n);
  for (double& value : v) value = dist(rng);
  return v;
}

// Random parameters, inputs, targets and a random non-zero h0. With
// random_weights the step weights are drawn from [0.25, 2], else all ones.
Problem RandomProblem(Dims d, Activation f, Activation g, size_t steps,
                      size_t batch, uint64_t seed, bool random_weights) {
  std::mt19937_64 rng(seed);
  Problem p{Model(d, f, g), {steps, batch}, {}, {}, {}, {}};
  p.model.W = Uniform(rng, d.hidden * d.input, -1.0, 1.0);
  p.model.U = Uniform(rng, d.hidden * d.hidden, -0.8, 0.8);
  p.model.b = Uniform(rng, d.hidden, -0.5, 0.5);
  p.model.V = Uniform(rng, d.output * d.hidden, -1.0, 1.0);
  p.model.c = Uniform(rng, d.output, -0.5, 0.5);
  p.x = Uniform(rng, steps * batch * d.input, -1.0, 1.0);
  p.h0 = Uniform(rng, batch * d.hidden, -0.9, 0.9);
  p.target = Uniform(rng, steps * batch * d.output, -1.0, 1.0);
  p.weights = random_weights ? Uniform(rng, steps, 0.25, 2.0)
                             : std::vector<double>(steps, 1.0);
  return p;
}

// True if every pre-activation is at least 1e-3 away from 0. relu has a kink
// at 0: a finite difference straddling it measures neither one-sided slope, so
// a perturbation of 1e-6 (which moves ĥ and ŷ by about 1e-6 times a modest
// factor) must not cross 0 anywhere. 1e-3 leaves a margin of ~1000.
bool AwayFromKinks(const Problem& p) {
  const ForwardResult r = Forward(p.model, p.x, p.seq, p.h0);
  auto far = [](double z) { return std::abs(z) > 1e-3; };
  return std::all_of(r.pre_hidden.begin(), r.pre_hidden.end(), far) &&
         std::all_of(r.pre_output.begin(), r.pre_output.end(), far);
}

// RandomProblem with the seed re-drawn (deterministically) until
// AwayFromKinks holds; applied to every activation for uniformity.
Problem SmoothProblem(Dims d, Activation f, Activation g, size_t steps,
                      size_t batch, uint64_t seed, bool random_weights) {
  for (uint64_t k = 0;; ++k) {
    Problem p =
        RandomProblem(d, f, g, steps, batch, seed + 7919 * k, random_weights);
    if (AwayFromKinks(p)) return p;
  }
}

double LossOf(const Problem& p) {
  return Loss(Forward(p.model, p.x, p.seq, p.h0), p.target, p.weights);
}

GradientsResult GradientsOf(const Problem& p) {
  const ForwardResult r = Forward(p.model, p.x, p.seq, p.h0);
  return Backward(p.model, p.x, p.h0, r, p.target, p.weights);
}

// A differentiable quantity: where it lives in Problem and in the gradients.
struct Quantity {
  const char* name;
  std::vector<double>& (*of)(Problem&);
  std::vector<double> GradientsResult::*gradient;
};

const Quantity kQuantities[] = {
    {"W", [](Problem& p) -> std::vector<double>& { return p.model.W; },
     &GradientsResult::W},
    {"U", [](Problem& p) -> std::vector<double>& { return p.model.U; },
     &GradientsResult::U},
    {"b", [](Problem& p) -> std::vector<double>& { return p.model.b; },
     &GradientsResult::b},
    {"V", [](Problem& p) -> std::vector<double>& { return p.model.V; },
     &GradientsResult::V},
    {"c", [](Problem& p) -> std::vector<double>& { return p.model.c; },
     &GradientsResult::c},
    {"h0", [](Problem& p) -> std::vector<double>& { return p.h0; },
     &GradientsResult::h0},
    {"x", [](Problem& p) -> std::vector<double>& { return p.x; },
     &GradientsResult::x},
};

// Compares every entry of every gradient with a central finite difference
// (L(θ+h) − L(θ−h)) / 2h, h = 1e-6, all in double.
//
// Tolerance: the difference has truncation error h²/6·|L'''| ≈ 2e-13·|L'''|
// and rounding error ≈ ε_L/h, where ε_L, the rounding error of one evaluation
// of L, is a few hundred ulps of the summed terms at most for these tiny
// shapes: ≈ 100·2.2e-16·(1 + |L|) → 2.2e-8·(1 + |L|) after dividing by h.
// Errors compound through the recurrence as T grows, but so does |L| (one
// term a step), which the bound scales with. So we allow
// 1e-7·(1 + |L|) + 1e-7·|dL/dθ|, still some six orders of magnitude below the
// O(0.01…1) change a dropped carry, a dropped grad_dense(t) or a missing t = 0
// term causes in these problems.
//
// `loss_of` and `gradients_of` default to the squared-error loss and
// Backward; BackwardFromOutputGradient is checked with another loss.
void ExpectMatchesFiniteDifferences(
    Problem p, const std::function<double(const Problem&)>& loss_of = LossOf,
    const std::function<GradientsResult(const Problem&)>& gradients_of =
        GradientsOf) {
  constexpr double kStep = 1e-6;
  const GradientsResult grads = gradients_of(p);
  const double abs_tol = 1e-7 * (1.0 + std::abs(loss_of(p)));
  for (const Quantity& q : kQuantities) {
    std::vector<double>& values = q.of(p);
    const std::vector<double>& analytic = grads.*q.gradient;
    ASSERT_EQ(analytic.size(), values.size()) << q.name;
    for (size_t k = 0; k < values.size(); ++k) {
      const double original = values[k];
      values[k] = original + kStep;
      const double plus = loss_of(p);
      values[k] = original - kStep;
      const double minus = loss_of(p);
      values[k] = original;
      const double numeric = (plus - minus) / (2 * kStep);
      EXPECT_NEAR(analytic[k], numeric, abs_tol + 1e-7 * std::abs(numeric))
          << "d" << q.name << "[" << k << "]";
    }
  }
}

double MaxAbs(const std::vector<double>& v) {
  double m = 0.0;
  for (double value : v) m = std::max(m, std::abs(value));
  return m;
}

// --- Finite differences, every (f, g) pair, T ∈ {1,2,3,5}, B ∈ {1,3} --------

using FdParam = std::tuple<Activation, Activation, size_t, size_t, Dims>;

class FiniteDifferenceTest : public ::testing::TestWithParam<FdParam> {};

TEST_P(FiniteDifferenceTest, EveryGradientEntry) {
  const auto [f, g, steps, batch, dims] = GetParam();
  const uint64_t seed = 1000 * steps + 100 * batch + 10 * static_cast<int>(f) +
                        static_cast<int>(g) + dims.hidden;
  ExpectMatchesFiniteDifferences(SmoothProblem(dims, f, g, steps, batch, seed,
                                               /*random_weights=*/true));
}

std::string FdName(const ::testing::TestParamInfo<FdParam>& info) {
  const Activation f = std::get<0>(info.param), g = std::get<1>(info.param);
  const Dims d = std::get<4>(info.param);
  return std::string(Name(f)) + "_" + Name(g) + "_T" +
         std::to_string(std::get<2>(info.param)) + "_B" +
         std::to_string(std::get<3>(info.param)) + "_I" +
         std::to_string(d.input) + "H" + std::to_string(d.hidden) + "O" +
         std::to_string(d.output);
}

INSTANTIATE_TEST_SUITE_P(
    AllActivations, FiniteDifferenceTest,
    ::testing::Combine(::testing::ValuesIn(kAllActivations),
                       ::testing::ValuesIn(kAllActivations),
                       ::testing::Values(size_t{1}, size_t{2}, size_t{3},
                                         size_t{5}),
                       ::testing::Values(size_t{1}, size_t{3}),
                       ::testing::Values(Dims{3, 5, 2}, Dims{2, 7, 3})),
    FdName);

// --- A hand-worked case -----------------------------------------------------

// I = H = O = 1, T = 2, B = 1, f = tanh, g = identity, all step weights 1.
// W = 0.5, U = −0.3, b = 0.1, V = 2, c = −0.2, x = (1, −1), Y = (0.5, 0.25),
// h0 = 0.2. Numbers below from python3 with 40-digit decimals, rounded to 17.
//
// Forward (eq. 7.10):
//   ĥ(0) = 0.5·1 − 0.3·0.2 + 0.1 = 0.54
//   h(0) = tanh(0.54) = 0.49298796667532434
//   ŷ(0) = y(0) = 2·h(0) − 0.2 = 0.78597593335064867
//   ĥ(1) = 0.5·(−1) − 0.3·h(0) + 0.1 = −0.54789639000259730
//   h(1) = tanh(ĥ(1)) = −0.49894193914940582
//   ŷ(1) = y(1) = 2·h(1) − 0.2 = −1.1978838782988116
// Loss: e(0) = y(0) − 0.5 = 0.28597593335064867,
//       e(1) = y(1) − 0.25 = −1.4478838782988116 (g' = 1),
//   L = ½(e(0)² + e(1)²) = 1.0890749797466913
// Backward (eq. 7.14–7.15):
//   grad_dense(1) = V e(1) = −2.8957677565976233 = dh(1)
//   δ(1) = dh(1)·(1 − h(1)²) = −2.1748864741528379
//   dh(0) = V e(0) + U δ(1) = 0.57195186670129734 + 0.65246594224585136
//         = 1.2244178089471487
//   δ(0) = dh(0)·(1 − h(0)²) = 0.92683881226665161
//   dW  = δ(0)·1 + δ(1)·(−1) = 3.1017252864194895
//   dU  = δ(0)·h0 + δ(1)·h(0) = −0.88682509818894256
//   db  = δ(0) + δ(1) = −1.2480476618861863
//   dV  = e(0)·h(0) + e(1)·h(1) = 0.86339268380218575
//   dc  = e(0) + e(1) = −1.1619079449481630
//   dx  = (W δ(0), W δ(1)) = (0.46341940613332581, −1.0874432370764189)
//   dh0 = U δ(0) = −0.27805164367999548
TEST(ReferenceHandWorked, TanhIdentityTwoSteps) {
  Model m(Dims{1, 1, 1}, Activation::kTanh, Activation::kIdentity);
  m.W = {0.5};
  m.U = {-0.3};
  m.b = {0.1};
  m.V = {2.0};
  m.c = {-0.2};
  const std::vector<double> x = {1.0, -1.0}, h0 = {0.2}, y = {0.5, 0.25};
  const ForwardResult r = Forward(m, x, {2, 1}, h0);
  constexpr double kTol = 1e-12;
  ASSERT_EQ(r.pre_hidden.size(), 2u);
  EXPECT_NEAR(r.pre_hidden[0], 0.54, kTol);
  EXPECT_NEAR(r.pre_hidden[1], -0.54789639000259730, kTol);
  EXPECT_NEAR(r.hidden[0], 0.49298796667532434, kTol);
  EXPECT_NEAR(r.hidden[1], -0.49894193914940582, kTol);
  EXPECT_NEAR(r.pre_output[0], 0.78597593335064867, kTol);
  EXPECT_NEAR(r.pre_output[1], -1.1978838782988116, kTol);
  EXPECT_NEAR(r.output[0], 0.78597593335064867, kTol);
  EXPECT_NEAR(r.output[1], -1.1978838782988116, kTol);
  EXPECT_NEAR(Loss(r, y), 1.0890749797466913, kTol);

  const GradientsResult d = Backward(m, x, h0, r, y);
  EXPECT_NEAR(d.W[0], 3.1017252864194895, kTol);
  EXPECT_NEAR(d.U[0], -0.88682509818894256, kTol);
  EXPECT_NEAR(d.b[0], -1.2480476618861863, kTol);
  EXPECT_NEAR(d.V[0], 0.86339268380218575, kTol);
  EXPECT_NEAR(d.c[0], -1.1619079449481630, kTol);
  ASSERT_EQ(d.x.size(), 2u);
  EXPECT_NEAR(d.x[0], 0.46341940613332581, kTol);
  EXPECT_NEAR(d.x[1], -1.0874432370764189, kTol);
  ASSERT_EQ(d.h0.size(), 1u);
  EXPECT_NEAR(d.h0[0], -0.27805164367999548, kTol);
}

// --- Many-to-one through the mask -------------------------------------------

// The seed text's many-to-one BPTT, written independently: the loss only at
// T−1, so grad_dense enters only at the last step and earlier steps see only
// the carry Uᵀδ(t+1). Uses the stored forward values; returns all gradients.
GradientsResult ManyToOneByHand(const Problem& p, const ForwardResult& r) {
  const size_t I = p.model.dims.input, H = p.model.dims.hidden,
               O = p.model.dims.output, T = p.seq.steps, B = p.seq.batch;
  const Activation f = p.model.hidden_activation;
  const Activation g = p.model.output_activation;
  GradientsResult d{std::vector<double>(H * I), std::vector<double>(H * H),
                    std::vector<double>(H),     std::vector<double>(O * H),
                    std::vector<double>(O),     std::vector<double>(T * B * I),
                    std::vector<double>(B * H)};
  for (size_t s = 0; s < B; ++s) {
    const size_t last_o = ((T - 1) * B + s) * O;
    const size_t last_h = ((T - 1) * B + s) * H;
    std::vector<double> e(O), delta(H), carried(H);
    for (size_t o = 0; o < O; ++o) {
      e[o] = (r.output[last_o + o] - p.target[last_o + o]) *
             Derivative(g, r.pre_output[last_o + o]);
      d.c[o] += e[o];
      for (size_t i = 0; i < H; ++i)
        d.V[o * H + i] += e[o] * r.hidden[last_h + i];
    }
    for (size_t i = 0; i < H; ++i) {  // dh(T−1) = Vᵀ e(T−1)
      for (size_t o = 0; o < O; ++o) carried[i] += p.model.V[o * H + i] * e[o];
    }
    for (size_t t = T; t-- > 0;) {
      const size_t row = t * B + s;
      for (size_t i = 0; i < H; ++i) {
        delta[i] = carried[i] * Derivative(f, r.pre_hidden[row * H + i]);
      }
      for (size_t i = 0; i < H; ++i) {
        d.b[i] += delta[i];
        for (size_t k = 0; k < I; ++k) {
          d.W[i * I + k] += delta[i] * p.x[row * I + k];
          d.x[row * I + k] += p.model.W[i * I + k] * delta[i];
        }
        for (size_t j = 0; j < H; ++j) {
          const double prev =
              t == 0 ? p.h0[s * H + j] : r.hidden[((t - 1) * B + s) * H + j];
          d.U[i * H + j] += delta[i] * prev;
        }
      }
      std::fill(carried.begin(), carried.end(), 0.0);  // Uᵀ δ(t), no dense
      for (size_t i = 0; i < H; ++i) {
        for (size_t j = 0; j < H; ++j) {
          carried[j] += p.model.U[i * H + j] * delta[i];
        }
      }
    }
    for (size_t j = 0; j < H; ++j) d.h0[s * H + j] = carried[j];
  }
  return d;
}

void ExpectVectorsNear(const std::vector<double>& a,
                       const std::vector<double>& b, double tol,
                       const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t k = 0; k < a.size(); ++k) {
    EXPECT_NEAR(a[k], b[k], tol) << what << "[" << k << "]";
  }
}

void ExpectGradientsNear(const GradientsResult& got,
                         const GradientsResult& want, double tol) {
  ExpectVectorsNear(got.W, want.W, tol, "dW");
  ExpectVectorsNear(got.U, want.U, tol, "dU");
  ExpectVectorsNear(got.b, want.b, tol, "db");
  ExpectVectorsNear(got.V, want.V, tol, "dV");
  ExpectVectorsNear(got.c, want.c, tol, "dc");
  ExpectVectorsNear(got.x, want.x, tol, "dx");
  ExpectVectorsNear(got.h0, want.h0, tol, "dh0");
}

TEST(ReferenceManyToOne, LastStepMaskEqualsSeedLoop) {
  for (const auto& [f, g] :
       {std::pair{Activation::kTanh, Activation::kIdentity},
        std::pair{Activation::kRelu, Activation::kSigmoid}}) {
    for (size_t steps : {1, 2, 3, 5}) {
      SCOPED_TRACE(std::string(Name(f)) + "/" + Name(g) +
                   " T=" + std::to_string(steps));
      Problem p = SmoothProblem({3, 5, 2}, f, g, steps, 3, 42 + steps, false);
      p.weights.assign(steps, 0.0);
      p.weights[steps - 1] = 1.0;
      const ForwardResult r = Forward(p.model, p.x, p.seq, p.h0);
      const GradientsResult got =
          Backward(p.model, p.x, p.h0, r, p.target, p.weights);
      const GradientsResult want = ManyToOneByHand(p, r);
      // Same sums, possibly in another order: a few ulps of O(1) values.
      constexpr double kTol = 1e-12;
      ExpectGradientsNear(got, want, kTol);

      // The loss is that of the last step alone.
      double last = 0.0;
      for (size_t k = (steps - 1) * 3 * 2; k < steps * 3 * 2; ++k) {
        last += 0.5 * (r.output[k] - p.target[k]) * (r.output[k] - p.target[k]);
      }
      EXPECT_NEAR(Loss(r, p.target, p.weights), last, 1e-14);

      // The mask matters: many-to-many (all ones) gives a different dW.
      if (steps > 1) {
        const GradientsResult all = Backward(p.model, p.x, p.h0, r, p.target);
        double diff = 0.0;
        for (size_t k = 0; k < all.W.size(); ++k) {
          diff = std::max(diff, std::abs(all.W[k] - got.W[k]));
        }
        EXPECT_GT(diff, 1e-3);
      }
    }
  }
}

// --- BackwardFromOutputGradient ---------------------------------------------

// L = Σ G ⊙ y + Σ G_h ⊙ h(T−1) for fixed random G ([T][B][O]) and G_h
// ([B][H]): a loss whose ∂L/∂y = G and ∂L/∂h(T−1) = G_h, so that
// BackwardFromOutputGradient(G, G_h) must give its gradient. Every (f, g)
// pair, with and without G_h, against finite differences.
TEST(ReferenceOutputGradient, EveryGradientEntry) {
  uint64_t seed = 300;
  for (const Activation f : kAllActivations) {
    for (const Activation g : kAllActivations) {
      for (const auto& [steps, batch, with_final] :
           {std::tuple{1u, 1u, true}, std::tuple{3u, 2u, true},
            std::tuple{4u, 3u, false}}) {
        SCOPED_TRACE(std::string(Name(f)) + "/" + Name(g) + " T=" +
                     std::to_string(steps) + " B=" + std::to_string(batch));
        const Problem p =
            SmoothProblem({3, 5, 2}, f, g, steps, batch, ++seed, false);
        std::mt19937_64 rng(seed);
        const std::vector<double> grad_y =
            Uniform(rng, p.target.size(), -1.0, 1.0);
        const std::vector<double> grad_h =
            with_final ? Uniform(rng, p.h0.size(), -1.0, 1.0)
                       : std::vector<double>{};
        const size_t last = (steps - 1) * batch * 5;  // h(T−1) in hidden
        auto loss_of = [&](const Problem& q) {
          const ForwardResult r = Forward(q.model, q.x, q.seq, q.h0);
          double loss = 0.0;
          for (size_t k = 0; k < grad_y.size(); ++k) {
            loss += grad_y[k] * r.output[k];
          }
          for (size_t k = 0; k < grad_h.size(); ++k) {
            loss += grad_h[k] * r.hidden[last + k];
          }
          return loss;
        };
        auto gradients_of = [&](const Problem& q) {
          const ForwardResult r = Forward(q.model, q.x, q.seq, q.h0);
          return BackwardFromOutputGradient(q.model, q.x, q.h0, r, grad_y,
                                            grad_h);
        };
        ExpectMatchesFiniteDifferences(p, loss_of, gradients_of);
      }
    }
  }
}

// With G = w(t)·(y − Y) and no G_h, the squared-error loss's gradients.
TEST(ReferenceOutputGradient, SquaredErrorGradientIsBackward) {
  const Problem p = RandomProblem({3, 5, 2}, Activation::kRelu,
                                  Activation::kSigmoid, 4, 3, 77, true);
  const ForwardResult r = Forward(p.model, p.x, p.seq, p.h0);
  std::vector<double> grad_y(r.output.size());
  for (size_t k = 0; k < grad_y.size(); ++k) {
    grad_y[k] = p.weights[k / (3 * 2)] * (r.output[k] - p.target[k]);
  }
  const GradientsResult want =
      Backward(p.model, p.x, p.h0, r, p.target, p.weights);
  const GradientsResult got =
      BackwardFromOutputGradient(p.model, p.x, p.h0, r, grad_y);
  constexpr double kTol = 1e-12;
  ExpectGradientsNear(got, want, kTol);
}

// --- DESIGN.md §5 bug catchers ----------------------------------------------

// The target at a single step t0 (one-hot weights), t0 swept over the sequence:
// a dropped carry or a dropped grad_dense(t0) shows up at some t0.
TEST(ReferenceBugCatchers, SingleTargetSweep) {
  for (const Activation f : {Activation::kTanh, Activation::kRelu}) {
    for (size_t steps : {2, 3, 5}) {
      for (size_t t0 = 0; t0 < steps; ++t0) {
        SCOPED_TRACE(std::string(Name(f)) + " T=" + std::to_string(steps) +
                     " t0=" + std::to_string(t0));
        Problem p = SmoothProblem({3, 5, 2}, f, Activation::kIdentity, steps, 3,
                                  7 + 10 * steps + t0, false);
        p.weights.assign(steps, 0.0);
        p.weights[t0] = 1.0;
        ExpectMatchesFiniteDifferences(p);

        // Causality: inputs after t0 cannot affect the loss at t0, inputs up
        // to t0 do.
        const GradientsResult d = GradientsOf(p);
        const size_t per_step = p.seq.batch * p.model.dims.input;
        const std::vector<double> before(d.x.begin(),
                                         d.x.begin() + (t0 + 1) * per_step);
        const std::vector<double> after(d.x.begin() + (t0 + 1) * per_step,
                                        d.x.end());
        EXPECT_GT(MaxAbs(before), 1e-3);
        EXPECT_EQ(MaxAbs(after), 0.0);
      }
    }
  }
}

// dU's t = 0 term uses h0, and dh0 = Uᵀ δ(0); random non-zero h0, T ∈ {1,2,3}.
TEST(ReferenceBugCatchers, FirstStepTermWithNonZeroH0) {
  for (size_t steps : {1, 2, 3}) {
    for (size_t batch : {1, 3}) {
      SCOPED_TRACE("T=" + std::to_string(steps) +
                   " B=" + std::to_string(batch));
      ExpectMatchesFiniteDifferences(
          SmoothProblem({3, 5, 2}, Activation::kTanh, Activation::kIdentity,
                        steps, batch, 99 + steps + batch, true));
    }
  }
  // T = B = 1: δ(0) = db, so dU must be exactly db h0ᵀ and dh0 = Uᵀ db. Reading
  // h(T−1) = h(0) instead of h0 at t = 0 breaks the first identity.
  const Problem p = SmoothProblem({3, 5, 2}, Activation::kTanh,
                                  Activation::kIdentity, 1, 1, 5, false);
  const GradientsResult d = GradientsOf(p);
  const size_t H = 5;
  ASSERT_GT(MaxAbs(d.U), 1e-3);
  for (size_t i = 0; i < H; ++i) {
    double dh0 = 0.0;
    for (size_t j = 0; j < H; ++j) {
      EXPECT_DOUBLE_EQ(d.U[i * H + j], d.b[i] * p.h0[j]);
      dh0 += p.model.U[j * H + i] * d.b[j];
    }
    EXPECT_NEAR(d.h0[i], dh0, 1e-15);
  }
}

// --- Loss, activations, the empty h0, the widening constructor --------------

TEST(ReferenceLoss, MatchesDirectSum) {
  const Problem p = RandomProblem({3, 5, 2}, Activation::kSigmoid,
                                  Activation::kTanh, 4, 3, 11, true);
  const ForwardResult r = Forward(p.model, p.x, p.seq, p.h0);
  double want = 0.0, unweighted = 0.0;
  for (size_t t = 0; t < 4; ++t) {
    for (size_t s = 0; s < 3; ++s) {
      for (size_t o = 0; o < 2; ++o) {
        const size_t k = (t * 3 + s) * 2 + o;
        const double diff = r.output[k] - p.target[k];
        want += p.weights[t] * 0.5 * diff * diff;
        unweighted += 0.5 * diff * diff;
      }
    }
  }
  EXPECT_NEAR(Loss(r, p.target, p.weights), want, 1e-13);
  EXPECT_NEAR(Loss(r, p.target), unweighted, 1e-13);
  EXPECT_GT(std::abs(want - unweighted), 1e-3);  // the weights do matter
  // y = g(ŷ) is what the loss compares, not ŷ.
  for (size_t k = 0; k < r.output.size(); ++k) {
    EXPECT_DOUBLE_EQ(r.output[k], std::tanh(r.pre_output[k]));
  }
}

TEST(ReferenceActivation, ValuesAndDerivatives) {
  EXPECT_EQ(Activate(Activation::kRelu, 0.0), 0.0);
  EXPECT_EQ(Derivative(Activation::kRelu, 0.0), 0.0);  // relu'(0) = 0
  EXPECT_EQ(Derivative(Activation::kRelu, -1e-300), 0.0);
  EXPECT_EQ(Derivative(Activation::kRelu, 1e-300), 1.0);
  EXPECT_EQ(Activate(Activation::kSigmoid, 0.0), 0.5);
  EXPECT_EQ(Activate(Activation::kIdentity, -3.25), -3.25);
  for (const Activation a : kAllActivations) {
    for (double z : {-2.5, -0.7, 0.3, 1.9}) {
      const double h = 1e-6;
      const double numeric =
          (Activate(a, z + h) - Activate(a, z - h)) / (2 * h);
      EXPECT_NEAR(Derivative(a, z), numeric, 1e-9) << Name(a) << " z=" << z;
    }
  }
  EXPECT_THROW(Activate(static_cast<Activation>(9), 0.0), Error);
  EXPECT_THROW(Derivative(static_cast<Activation>(9), 0.0), Error);
}

TEST(ReferenceForward, EmptyH0MeansZeros) {
  Problem p = RandomProblem({3, 5, 2}, Activation::kTanh, Activation::kIdentity,
                            3, 3, 21, true);
  const std::vector<double> zeros(p.h0.size(), 0.0);
  const ForwardResult a = Forward(p.model, p.x, p.seq, {});
  const ForwardResult b = Forward(p.model, p.x, p.seq, zeros);
  EXPECT_EQ(a.hidden, b.hidden);
  EXPECT_EQ(a.output, b.output);
  const GradientsResult ga = Backward(p.model, p.x, {}, a, p.target);
  const GradientsResult gb = Backward(p.model, p.x, zeros, b, p.target);
  EXPECT_EQ(ga.U, gb.U);
  EXPECT_EQ(ga.h0, gb.h0);
  EXPECT_EQ(ga.h0.size(), zeros.size());
}

TEST(ReferenceModel, WidensFloatModel) {
  elman::Model fm(Config{{2, 3, 4}, Activation::kRelu, Activation::kSigmoid},
                  123);
  Parameters& fp = fm.parameters();
  fp.b()[1] = 0.1f;  // not exactly representable: widening must be exact
  fp.c()[3] = -2.5f;
  const Model m(fm);
  EXPECT_EQ(m.dims, (Dims{2, 3, 4}));
  EXPECT_EQ(m.hidden_activation, Activation::kRelu);
  EXPECT_EQ(m.output_activation, Activation::kSigmoid);
  auto same = [](std::span<const float> f, const std::vector<double>& d) {
    return f.size() == d.size() && std::equal(f.begin(), f.end(), d.begin());
  };
  EXPECT_TRUE(same(fp.W(), m.W));
  EXPECT_TRUE(same(fp.U(), m.U));
  EXPECT_TRUE(same(fp.b(), m.b));
  EXPECT_TRUE(same(fp.V(), m.V));
  EXPECT_TRUE(same(fp.c(), m.c));
  EXPECT_EQ(m.b[1], static_cast<double>(0.1f));
}

// --- Bad inputs -------------------------------------------------------------

// Runs `call`, expects elman::Error, and that what() contains every piece.
template <typename Call>
void ExpectError(Call call, std::initializer_list<const char*> pieces) {
  try {
    call();
    ADD_FAILURE() << "no elman::Error thrown";
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const char* piece : pieces) {
      EXPECT_NE(message.find(piece), std::string::npos)
          << "\"" << message << "\" does not mention \"" << piece << "\"";
    }
  }
}

TEST(ReferenceErrors, BadInputsNameTheArgument) {
  const Problem p = RandomProblem({3, 5, 2}, Activation::kTanh,
                                  Activation::kIdentity, 2, 3, 1, true);
  const ForwardResult r = Forward(p.model, p.x, p.seq, p.h0);
  std::vector<double> short_x(p.x.begin(), p.x.end() - 1);

  // Model construction.
  ExpectError(
      [] {
        Model({0, 5, 2}, Activation::kTanh, Activation::kTanh);
      },
      {"elman::reference::Model", "input"});
  ExpectError(
      [] {
        Model({3, 0, 2}, Activation::kTanh, Activation::kTanh);
      },
      {"hidden"});
  ExpectError(
      [] {
        Model({3, 5, 0}, Activation::kTanh, Activation::kTanh);
      },
      {"output"});

  // Forward.
  ExpectError([&] { Forward(p.model, short_x, p.seq, p.h0); },
              {"elman::reference::Forward", "x has 17",
               "expected steps*batch*input = 18"});
  ExpectError([&] { Forward(p.model, p.x, {0, 3}, p.h0); }, {"steps"});
  ExpectError([&] { Forward(p.model, p.x, {2, 0}, p.h0); }, {"batch"});
  ExpectError(
      [&] {
        Forward(p.model, p.x, p.seq, {1.0, 2.0});
      },
      {"h0 has 2", "batch*hidden = 15"});
  Model bad = p.model;
  bad.U.pop_back();
  ExpectError([&] { Forward(bad, p.x, p.seq, p.h0); },
              {"model.U has 24", "hidden*hidden = 25"});
  bad = p.model;
  bad.c.push_back(0.0);
  ExpectError([&] { Forward(bad, p.x, p.seq, p.h0); }, {"model.c"});
  bad = p.model;
  bad.hidden_activation = static_cast<Activation>(7);
  ExpectError([&] { Forward(bad, p.x, p.seq, p.h0); },
              {"model.hidden_activation"});

  // Loss.
  ExpectError(
      [&] {
        Loss(r, {1.0, 2.0});
      },
      {"elman::reference::Loss", "target has 2"});
  ExpectError(
      [&] {
        Loss(r, p.target, {1.0, 1.0, 1.0});
      },
      {"step_weights has 3", "steps = 2"});

  // Backward.
  ExpectError([&] { Backward(p.model, short_x, p.h0, r, p.target); },
              {"elman::reference::Backward", "x has 17"});
  ExpectError([&] { Backward(p.model, p.x, {0.5}, r, p.target); }, {"h0"});
  ExpectError([&] { Backward(p.model, p.x, p.h0, r, {0.5}); }, {"target"});
  ExpectError([&] { Backward(p.model, p.x, p.h0, r, p.target, {1.0}); },
              {"step_weights"});
  ForwardResult stale = r;
  stale.seq.steps = 3;  // no longer matches the stored vectors
  ExpectError([&] { Backward(p.model, p.x, p.h0, stale, p.target); }, {"x"});
  stale = r;
  stale.seq.steps = 0;
  ExpectError([&] { Backward(p.model, p.x, p.h0, stale, p.target); },
              {"steps"});
  stale = r;
  stale.pre_hidden.pop_back();
  ExpectError([&] { Backward(p.model, p.x, p.h0, stale, p.target); },
              {"forward.pre_hidden"});
  bad = p.model;
  bad.W.clear();
  ExpectError([&] { Backward(bad, p.x, p.h0, r, p.target); }, {"model.W"});

  // BackwardFromOutputGradient: its own two arguments, and the shared ones.
  const std::vector<double>& grad_y = p.target;
  ExpectError([&] { BackwardFromOutputGradient(p.model, p.x, p.h0, r, {0.5}); },
              {"elman::reference::BackwardFromOutputGradient",
               "output_gradient has 1 values", "steps*batch*output = 12"});
  ExpectError(
      [&] {
        BackwardFromOutputGradient(p.model, p.x, p.h0, r, grad_y, {1.0, 2.0});
      },
      {"final_hidden_gradient has 2 values", "batch*hidden = 15"});
  ExpectError(
      [&] { BackwardFromOutputGradient(p.model, short_x, p.h0, r, grad_y); },
      {"elman::reference::BackwardFromOutputGradient", "x has 17"});
  ExpectError(
      [&] { BackwardFromOutputGradient(p.model, p.x, p.h0, stale, grad_y); },
      {"forward.pre_hidden"});
}

}  // namespace
}  // namespace elman::reference
