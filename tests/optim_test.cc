// The optimizers of include/elman/optim.h on every SIMD target, against a
// double-precision implementation of PyTorch 1.13's update rules written
// here: every SGD and Adam option, several steps, shapes whose tensors are
// not multiples of any vector width; a tensor's tail against its body; the
// per-step learning rate, set_learning_rate and Reset. Clipping and argument
// errors are in optim_clip_test.cc.
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

using test::RandomVector;
using test::SameBytes;

constexpr double kUnitRoundoff = 0x1p-24;  // u, float's unit roundoff
constexpr size_t kSteps = 8;

// I·H, H·H, H, O·H, O: 51, 289, 17, 85, 5 / all 1 / 3300, 10000, 100, 700, 7
// floats — every tensor straddles 4-, 8- and 16-lane vectors somewhere.
constexpr Dims kShapes[] = {{3, 17, 5}, {1, 1, 1}, {33, 100, 7}};

std::vector<float> Flat(const Parameters& parameters) {
  std::vector<float> flat(parameters.size());
  parameters.CopyTo(flat);
  return flat;
}

// PyTorch 1.13's _single_tensor_sgd / _single_tensor_adam(w) in double, on
// the flat list of all five tensors (every rule is elementwise). The options'
// floats are widened, so both sides use the same hyperparameters.
struct ReferenceState {
  std::vector<double> theta, buffer, exp_avg, exp_avg_sq, max_exp_avg_sq;
  uint64_t steps = 0;
  explicit ReferenceState(const std::vector<float>& initial)
      : theta(initial.begin(), initial.end()),
        buffer(initial.size()),
        exp_avg(initial.size()),
        exp_avg_sq(initial.size()),
        max_exp_avg_sq(initial.size()) {}
};

// Returns max |Δθ| of the step.
double ReferenceSgdStep(const SgdOptions& o, double lr,
                        const std::vector<double>& grad, ReferenceState& s) {
  ++s.steps;
  const double momentum = o.momentum, dampening = o.dampening;
  double max_update = 0.0;
  for (size_t i = 0; i < grad.size(); ++i) {
    double d_p = grad[i];
    if (o.weight_decay != 0.0f) d_p += double{o.weight_decay} * s.theta[i];
    if (momentum != 0.0) {
      s.buffer[i] =
          s.steps == 1 ? d_p : momentum * s.buffer[i] + (1.0 - dampening) * d_p;
      d_p = o.nesterov ? d_p + momentum * s.buffer[i] : s.buffer[i];
    }
    s.theta[i] -= lr * d_p;
    max_update = std::max(max_update, std::abs(lr * d_p));
  }
  return max_update;
}

double ReferenceAdamStep(const AdamOptions& o, double lr,
                         const std::vector<double>& grad, ReferenceState& s) {
  ++s.steps;
  const double beta1 = o.beta1, beta2 = o.beta2, wd = o.weight_decay;
  const double t = static_cast<double>(s.steps);
  const double bias_correction1 = 1.0 - std::pow(beta1, t);
  const double bias_correction2 = 1.0 - std::pow(beta2, t);
  double max_update = 0.0;
  for (size_t i = 0; i < grad.size(); ++i) {
    double g = grad[i];
    if (o.decoupled_weight_decay) {
      s.theta[i] *= 1.0 - lr * wd;
    } else {
      g += wd * s.theta[i];
    }
    s.exp_avg[i] = beta1 * s.exp_avg[i] + (1.0 - beta1) * g;
    s.exp_avg_sq[i] = beta2 * s.exp_avg_sq[i] + (1.0 - beta2) * g * g;
    double v = s.exp_avg_sq[i];
    if (o.amsgrad) {
      s.max_exp_avg_sq[i] = std::max(s.max_exp_avg_sq[i], v);
      v = s.max_exp_avg_sq[i];
    }
    const double denom =
        std::sqrt(v) / std::sqrt(bias_correction2) + double{o.epsilon};
    const double update = lr / bias_correction1 * s.exp_avg[i] / denom;
    s.theta[i] -= update;
    max_update = std::max(max_update, std::abs(update));
  }
  return max_update;
}

// Error budget, per step, on max_i |θ_elman − θ_reference|: the kernels round
// θ at most twice (decay, update) and the update at most 8 times (d_p, buf,
// m, v, sqrt, the divisions, the product), each by ≤ u relative; state errors
// ride on into later updates, damped by momentum (β1) each step, so an
// update's carried error adds up to at most 1/(1 − momentum) of its own.
// Budget: Σ_steps 2u·max|θ| + 8u·max|Δθ|/(1 − damping), doubled for the
// bounds' slack (roundings of the hyperparameters to float, sqrt and the
// max of amsgrad are within it). Measured: at most 0.27 of the budget (AdamW,
// SSE4).
double StepBudget(double max_theta, double max_update, double damping) {
  return 2.0 * (2.0 * kUnitRoundoff * max_theta +
                8.0 * kUnitRoundoff * max_update / (1.0 - damping));
}

double MaxAbsError(const std::vector<float>& got,
                   const std::vector<double>& want) {
  double error = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    error = std::max(error, std::abs(double{got[i]} - want[i]));
  }
  return error;
}

// Runs `optimizer` and the reference step by step from the same random θ,
// with fresh random gradients each step (per-step learning rates `rates`, or
// the configured one if empty), checking θ after every step.
template <typename ReferenceStep>
void ExpectTracksReference(Optimizer& optimizer, ReferenceStep reference_step,
                           double damping, const std::string& what,
                           const std::vector<float>& rates = {}) {
  const Dims dims = optimizer.dims();
  std::mt19937_64 random(dims.hidden * 1000 + dims.input);
  Parameters parameters(dims);
  Gradients gradients(dims);
  parameters.CopyFrom(RandomVector(parameters.size(), random));
  ReferenceState state(Flat(parameters));
  double budget = 0.0;
  for (size_t step = 0; step < kSteps; ++step) {
    const auto grad = RandomVector(gradients.size(), random);
    gradients.CopyFrom(grad);
    const double max_theta = test::MaxAbs(state.theta);
    double lr = optimizer.learning_rate();
    if (rates.empty()) {
      optimizer.Step(parameters, gradients);
    } else {
      lr = rates[step];
      optimizer.Step(parameters, gradients, rates[step]);
    }
    const double max_update = reference_step(lr, test::Widen(grad), state);
    budget += StepBudget(max_theta, max_update, damping);
    const double error = MaxAbsError(Flat(parameters), state.theta);
    ASSERT_LE(error, budget)
        << what << " step " << step + 1 << " I=" << dims.input
        << " H=" << dims.hidden << " O=" << dims.output
        << " target=" << CurrentTarget();
  }
  EXPECT_EQ(optimizer.steps(), kSteps);
}

struct NamedSgd {
  const char* name;
  SgdOptions options;
};

const NamedSgd kSgdCases[] = {
    {"plain", {.learning_rate = 0.1f}},
    {"weight decay", {.learning_rate = 0.1f, .weight_decay = 0.05f}},
    {"momentum", {.learning_rate = 0.05f, .momentum = 0.9f}},
    {"dampening",
     {.learning_rate = 0.05f, .momentum = 0.8f, .dampening = 0.3f}},
    {"nesterov", {.learning_rate = 0.05f, .momentum = 0.9f, .nesterov = true}},
    {"all",
     {.learning_rate = 0.05f,
      .momentum = 0.7f,
      .weight_decay = 0.01f,
      .nesterov = true}},
    {"momentum, dampening, weight decay",
     {.learning_rate = 0.05f,
      .momentum = 0.5f,
      .dampening = 0.5f,
      .weight_decay = 0.1f}},
};

struct NamedAdam {
  const char* name;
  AdamOptions options;
};

AdamOptions With(AdamOptions o, float lr, float wd, bool amsgrad) {
  o.learning_rate = lr;
  o.weight_decay = wd;
  o.amsgrad = amsgrad;
  return o;
}

const NamedAdam kAdamCases[] = {
    {"Adam", With({}, 0.01f, 0.0f, false)},
    {"Adam weight decay", With({}, 0.01f, 0.1f, false)},
    {"Adam amsgrad", With({}, 0.01f, 0.0f, true)},
    {"Adam weight decay amsgrad", With({}, 0.01f, 0.05f, true)},
    {"AdamW", With(AdamWOptions(), 0.01f, 0.01f, false)},
    {"AdamW strong decay amsgrad", With(AdamWOptions(), 0.02f, 0.5f, true)},
    {"Adam beta1 = 0",
     {.learning_rate = 0.003f, .beta1 = 0.0f, .beta2 = 0.5f, .epsilon = 1e-3f}},
};

class OptimTest : public hwy::TestWithParamTarget {};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P(OptimTest);

TEST_P(OptimTest, SgdTracksDoubleReference) {
  for (const Dims& dims : kShapes) {
    for (const NamedSgd& c : kSgdCases) {
      Sgd sgd(dims, c.options);
      ExpectTracksReference(
          sgd,
          [&](double lr, const std::vector<double>& g, ReferenceState& s) {
            return ReferenceSgdStep(c.options, lr, g, s);
          },
          c.options.momentum, c.name);
    }
  }
}

TEST_P(OptimTest, AdamTracksDoubleReference) {
  for (const Dims& dims : kShapes) {
    for (const NamedAdam& c : kAdamCases) {
      Adam adam(dims, c.options);
      ExpectTracksReference(
          adam,
          [&](double lr, const std::vector<double>& g, ReferenceState& s) {
            return ReferenceAdamStep(c.options, lr, g, s);
          },
          c.options.beta1, c.name);
    }
  }
}

// The schedule hook: Step(p, g, rate) uses `rate` for that step only (Adam's
// step_size and AdamW's decay factor included) and leaves learning_rate().
TEST_P(OptimTest, PerStepLearningRateIsThatStepsRate) {
  std::vector<float> rates;
  for (size_t k = 0; k < kSteps; ++k) rates.push_back(0.1f / float(k + 1));
  rates[3] = 0.0f;  // a zero step still advances the state
  const Dims dims = kShapes[0];
  const SgdOptions sgd_options = kSgdCases[5].options;
  Sgd sgd(dims, sgd_options);
  ExpectTracksReference(
      sgd,
      [&](double lr, const std::vector<double>& g, ReferenceState& s) {
        return ReferenceSgdStep(sgd_options, lr, g, s);
      },
      sgd_options.momentum, "SGD schedule", rates);
  EXPECT_EQ(sgd.learning_rate(), sgd_options.learning_rate);
  const AdamOptions adam_options = With(AdamWOptions(), 0.01f, 0.1f, true);
  Adam adam(dims, adam_options);
  ExpectTracksReference(
      adam,
      [&](double lr, const std::vector<double>& g, ReferenceState& s) {
        return ReferenceAdamStep(adam_options, lr, g, s);
      },
      adam_options.beta1, "AdamW schedule", rates);
  EXPECT_EQ(adam.learning_rate(), adam_options.learning_rate);
}

// set_learning_rate changes the rate of the following Step(p, g) calls: the
// same as passing it to each step.
TEST_P(OptimTest, SetLearningRateAppliesToLaterSteps) {
  const Dims dims = kShapes[2];
  std::mt19937_64 random(5);
  Parameters by_setter(dims), by_argument(dims);
  by_setter.CopyFrom(RandomVector(by_setter.size(), random));
  by_argument = by_setter;
  Adam setter(dims), argument(dims);
  Gradients gradients(dims);
  for (float rate : {0.01f, 0.001f, 0.02f}) {
    gradients.CopyFrom(RandomVector(gradients.size(), random));
    setter.set_learning_rate(rate);
    EXPECT_EQ(setter.learning_rate(), rate);
    setter.Step(by_setter, gradients);
    argument.Step(by_argument, gradients, rate);
  }
  EXPECT_TRUE(SameBytes(Flat(by_setter), Flat(by_argument)));
}

// Reset forgets momentum, moments and the step count: the next steps are a
// new optimizer's, bit for bit.
TEST_P(OptimTest, ResetIsANewOptimizer) {
  const Dims dims = kShapes[0];
  std::mt19937_64 random(6);
  std::vector<std::vector<float>> grads;
  for (int k = 0; k < 3; ++k) grads.push_back(RandomVector(447, random));
  const auto initial = RandomVector(447, random);
  auto run = [&](Optimizer& optimizer) {
    Parameters parameters(dims);
    Gradients gradients(dims);
    parameters.CopyFrom(initial);
    for (const auto& g : grads) {
      gradients.CopyFrom(g);
      optimizer.Step(parameters, gradients);
    }
    return Flat(parameters);
  };
  Sgd sgd(dims, kSgdCases[5].options), fresh_sgd(dims, kSgdCases[5].options);
  Adam adam(dims, kAdamCases[5].options);
  Adam fresh_adam(dims, kAdamCases[5].options);
  run(sgd);
  run(adam);
  EXPECT_EQ(sgd.steps(), 3u);
  sgd.Reset();
  adam.Reset();
  EXPECT_EQ(sgd.steps(), 0u);
  EXPECT_EQ(adam.steps(), 0u);
  EXPECT_TRUE(SameBytes(run(sgd), run(fresh_sgd)));
  EXPECT_TRUE(SameBytes(run(adam), run(fresh_adam)));
}

// A tensor's last, partial vector gets the operations of the whole vectors:
// b (17 floats: its 17th is in a tail on every target with ≥ 2 lanes) holds
// the first 17 values of W (51 floats: its 17th is in a whole vector on
// targets up to 16 lanes), and so do the gradients; after several steps the
// two agree bit for bit.
TEST_P(OptimTest, TailMatchesBody) {
  const Dims dims = kShapes[0];
  std::mt19937_64 random(7);
  Parameters parameters(dims);
  Gradients gradients(dims);
  auto mirror = [](Parameters& p) {
    std::copy_n(p.W().begin(), p.b().size(), p.b().begin());
  };
  parameters.CopyFrom(RandomVector(parameters.size(), random));
  mirror(parameters);
  Sgd sgd(dims, kSgdCases[5].options);
  Adam adam(dims, kAdamCases[3].options);
  Adam adamw(dims, kAdamCases[5].options);
  for (size_t step = 0; step < kSteps; ++step) {
    gradients.CopyFrom(RandomVector(gradients.size(), random));
    mirror(gradients);
    for (Optimizer* optimizer :
         {static_cast<Optimizer*>(&sgd), static_cast<Optimizer*>(&adam),
          static_cast<Optimizer*>(&adamw)}) {
      optimizer->Step(parameters, gradients);
    }
  }
  EXPECT_TRUE(SameBytes(parameters.b(), parameters.W().first(17)))
      << CurrentTarget();
}

}  // namespace
}  // namespace elman
