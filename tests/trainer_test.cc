// Trainer::Step on every SIMD target: the same bits as the separate calls it
// stands for (Forward, Loss, Backward, ClipGradNorm, Optimizer::Step) with
// the reduction folded into the step weights; a skipped update on a
// non-finite loss; and the error policy (nothing changes on bad input).
#include "elman/trainer.h"

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "elman/elman.h"
#include "elman/optim.h"
#include "gtest/gtest.h"
#include "hwy/tests/hwy_gtest.h"
#include "tests/test_util.h"

namespace elman {
namespace {

using test::Flat;
using test::RandomVector;
using test::SameBytes;

struct Data {
  std::vector<float> x, target, h0, step_weights;
  Batch batch;
};

Data MakeData(Dims dims, SequenceShape seq, bool with_h0, bool with_weights,
              uint64_t seed) {
  std::mt19937_64 random(seed);
  Data data;
  data.x = RandomVector(seq.steps * seq.batch * dims.input, random);
  data.target = RandomVector(seq.steps * seq.batch * dims.output, random);
  if (with_h0) data.h0 = RandomVector(seq.batch * dims.hidden, random);
  if (with_weights) {
    data.step_weights = RandomVector(seq.steps, random);
    for (float& w : data.step_weights) w = std::abs(w) + 0.1f;
  }
  data.batch = {data.x, data.target, seq, data.h0, data.step_weights};
  return data;
}

class TrainerTest : public hwy::TestWithParamTarget {};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P(TrainerTest);

// Three Steps against three rounds of the separate calls on a copy of the
// model, with the mean's scale applied to the step weights by hand.
TEST_P(TrainerTest, StepIsTheSeparateCallsBitForBit) {
  struct Case {
    Dims dims;
    SequenceShape seq;
    Reduction reduction;
    double max_norm;
    bool with_h0, with_weights, adam;
  };
  const Case cases[] = {
      {{1, 32, 1}, {25, 1}, Reduction::kMean, 0.0, false, false, true},
      {{3, 17, 5}, {7, 3}, Reduction::kSum, 0.5, true, true, false},
      {{2, 50, 3}, {9, 1}, Reduction::kMean, 1e-3, true, false, true},
      {{4, 70, 2}, {5, 4}, Reduction::kMean, 0.0, false, true, false},
  };
  uint64_t seed = 1;
  for (const Case& c : cases) {
    SCOPED_TRACE("H=" + std::to_string(c.dims.hidden) +
                 " target=" + CurrentTarget());
    const Config config{c.dims, Activation::kTanh, Activation::kIdentity};
    Model trained(config, seed);
    Model by_hand(config, seed);
    const Data data = MakeData(c.dims, c.seq, c.with_h0, c.with_weights, seed);
    ++seed;
    const SgdOptions sgd{.learning_rate = 0.05f, .momentum = 0.9f};
    const AdamOptions adam{.learning_rate = 0.01f};
    std::unique_ptr<Optimizer> optimizer, hand_optimizer;
    if (c.adam) {
      optimizer = std::make_unique<Adam>(c.dims, adam);
      hand_optimizer = std::make_unique<Adam>(c.dims, adam);
    } else {
      optimizer = std::make_unique<Sgd>(c.dims, sgd);
      hand_optimizer = std::make_unique<Sgd>(c.dims, sgd);
    }
    Trainer trainer(trained, *optimizer,
                    {.max_steps = c.seq.steps,
                     .max_batch = c.seq.batch,
                     .reduction = c.reduction,
                     .max_gradient_norm = c.max_norm});

    Workspace ws(c.dims, c.seq.steps, c.seq.batch);
    Gradients grads(c.dims);
    std::vector<float> y(c.seq.steps * c.seq.batch * c.dims.output);
    std::vector<float> weights(c.seq.steps, 1.0f);
    if (c.with_weights) weights = data.step_weights;
    double weight_sum = 0.0;
    for (float w : weights) weight_sum += w;
    const double scale =
        c.reduction == Reduction::kMean
            ? 1.0 / (static_cast<double>(c.seq.batch) * weight_sum)
            : 1.0;
    for (float& w : weights) w = static_cast<float>(w * scale);
    const bool plain = c.reduction == Reduction::kSum && !c.with_weights;
    const std::span<const float> hand_weights =
        plain ? std::span<const float>() : std::span<const float>(weights);

    for (int round = 0; round < 3; ++round) {
      const TrainStepResult result = trainer.Step(data.batch);
      Forward(by_hand, data.x, c.seq, data.h0, ws, y);
      const double loss =
          Loss(y, data.target, c.seq, c.dims.output, hand_weights);
      Backward(by_hand, data.target, hand_weights, ws, {&grads});
      const double norm =
          c.max_norm > 0.0 ? ClipGradNorm(grads, c.max_norm) : GradNorm(grads);
      hand_optimizer->Step(by_hand.parameters(), grads);

      EXPECT_TRUE(result.updated);
      EXPECT_EQ(result.loss, loss);
      EXPECT_EQ(result.gradient_norm, norm);
      EXPECT_TRUE(SameBytes(trainer.output(), y));
      EXPECT_TRUE(SameBytes(trainer.final_hidden(), ws.final_hidden()));
      EXPECT_TRUE(SameBytes(Flat(trainer.gradients()), Flat(grads)));
      EXPECT_TRUE(
          SameBytes(Flat(trained.parameters()), Flat(by_hand.parameters())));
      if (c.max_norm > 0.0 && norm > c.max_norm) {
        EXPECT_LE(GradNorm(trainer.gradients()), c.max_norm * (1 + 1e-6));
      }
    }
  }
}

// The mean is the sum over B·Σw: the seed's loss over T·B samples, or over
// the B last steps in many-to-one training.
TEST_P(TrainerTest, MeanIsTheSumOverTheSamplesThatCount) {
  const Dims dims{2, 9, 3};
  const SequenceShape seq{6, 4};
  const Data data = MakeData(dims, seq, false, false, 3);
  Model model({dims}, 3);
  Sgd optimizer(dims, {.learning_rate = 1e-9f});
  Trainer sum(model, optimizer,
              {.max_steps = 6, .max_batch = 4, .reduction = Reduction::kSum});
  Trainer mean(model, optimizer, {.max_steps = 6, .max_batch = 4});
  const double sum_loss = sum.Step(data.batch, 0.0f).loss;
  const double mean_loss = mean.Step(data.batch, 0.0f).loss;
  EXPECT_NEAR(mean_loss, sum_loss / 24.0, 1e-6 * sum_loss);

  const std::vector<float> last_only = {0, 0, 0, 0, 0, 1};
  Batch many_to_one = data.batch;
  many_to_one.step_weights = last_only;
  const double last_sum = sum.Step(many_to_one, 0.0f).loss;
  const double last_mean = mean.Step(many_to_one, 0.0f).loss;
  EXPECT_NEAR(last_mean, last_sum / 4.0, 1e-6 * last_sum);
}

// An overflowing output layer makes the loss infinite: the update is
// skipped, and the model and the optimizer are as they were.
TEST_P(TrainerTest, NonFiniteLossSkipsTheUpdate) {
  const Dims dims{2, 5, 2};
  Model model({dims}, 5);
  for (float& v : model.parameters().V()) v = 3e38f;
  const Data data = MakeData(dims, {4, 2}, false, false, 5);
  Adam optimizer(dims);
  Trainer trainer(model, optimizer, {.max_steps = 4, .max_batch = 2});
  const std::vector<float> before = Flat(model.parameters());
  const TrainStepResult result = trainer.Step(data.batch);
  EXPECT_FALSE(std::isfinite(result.loss) &&
               std::isfinite(result.gradient_norm));
  EXPECT_FALSE(result.updated);
  EXPECT_TRUE(SameBytes(Flat(model.parameters()), before));
  EXPECT_EQ(optimizer.steps(), 0u);
}

// Each bad argument: an Error naming it; model, optimizer and the last
// Step's results unchanged.
TEST(TrainerErrorsTest, BadInputChangesNothing) {
  const Dims dims{2, 5, 3};
  Model model({dims}, 9);
  Adam optimizer(dims);
  Trainer trainer(model, optimizer, {.max_steps = 4, .max_batch = 2});
  const Data data = MakeData(dims, {4, 2}, true, true, 9);
  trainer.Step(data.batch);
  const std::vector<float> model_before = Flat(model.parameters());
  const std::vector<float> output_before(trainer.output().begin(),
                                         trainer.output().end());
  const std::vector<float> hidden_before(trainer.final_hidden().begin(),
                                         trainer.final_hidden().end());

  const auto expect_error = [&](Batch batch, float rate,
                                const std::string& words) {
    try {
      trainer.Step(batch, rate);
      ADD_FAILURE() << "no error for " << words;
    } catch (const Error& error) {
      EXPECT_NE(std::string(error.what()).find("elman::"), std::string::npos);
      EXPECT_NE(std::string(error.what()).find(words), std::string::npos)
          << error.what();
    }
    EXPECT_TRUE(SameBytes(Flat(model.parameters()), model_before));
    EXPECT_TRUE(SameBytes(trainer.output(), output_before));
    EXPECT_TRUE(SameBytes(trainer.final_hidden(), hidden_before));
    EXPECT_EQ(optimizer.steps(), 1u);
  };
  Batch short_target = data.batch;
  short_target.target = short_target.target.first(5);
  expect_error(short_target, 0.1f, "target");
  Batch short_x = data.batch;
  short_x.x = short_x.x.first(3);
  expect_error(short_x, 0.1f, "x has 3 floats");
  Batch too_long = data.batch;
  too_long.seq.steps = 5;
  expect_error(too_long, 0.1f, "steps");
  Batch no_steps = data.batch;
  no_steps.seq.steps = 0;
  expect_error(no_steps, 0.1f, "steps");
  Batch zero_weights = data.batch;
  const std::vector<float> zeros(4, 0.0f);
  zero_weights.step_weights = zeros;
  expect_error(zero_weights, 0.1f, "step_weights sum");
  // Finite weights whose mean scaling overflows float: FLT_MAX, −FLT_MAX and
  // a denormal sum to a denormal (found by tests/fuzz/api_fuzzer's
  // contract; Backward used to refuse them after Forward had run).
  Batch overflowing_weights = data.batch;
  const float max = std::numeric_limits<float>::max();
  const std::vector<float> huge = {max, -max, 1e-45f, 0.0f};
  overflowing_weights.step_weights = huge;
  expect_error(overflowing_weights, 0.1f, "step_weights[0]");
  Batch nan_target = data.batch;
  std::vector<float> target(data.target);
  target[3] = std::numeric_limits<float>::quiet_NaN();
  nan_target.target = target;
  expect_error(nan_target, 0.1f, "target");
  expect_error(data.batch, -1.0f, "learning_rate");
  expect_error(data.batch, std::numeric_limits<float>::infinity(),
               "learning_rate");

  Sgd other(Dims{2, 6, 3}, {.learning_rate = 0.1f});
  EXPECT_THROW(Trainer(model, other, {.max_steps = 4}), Error);
  EXPECT_THROW(Trainer(model, optimizer, {.max_steps = 0}), Error);
  EXPECT_THROW(Trainer(model, optimizer, {.max_steps = 4, .max_batch = 0}),
               Error);
  EXPECT_THROW(
      Trainer(model, optimizer, {.max_steps = 4, .max_gradient_norm = -1.0}),
      Error);
}

// A long sequence trained in chunks (truncated BPTT): each chunk's h0 is the
// previous chunk's final hidden state, passed straight from the Trainer.
TEST(TrainerTbpttTest, ChunksCarryTheHiddenState) {
  const Dims dims{1, 8, 1};
  Model model({dims}, 2);
  Model reference_model({dims}, 2);
  Sgd optimizer(dims, {.learning_rate = 0.1f});
  Trainer trainer(model, optimizer, {.max_steps = 5});
  std::mt19937_64 random(2);
  const auto x = RandomVector(15, random);
  const auto target = RandomVector(15, random);
  // At a rate of 0 the chunks see the same model as one Forward.
  Workspace ws(dims, 15, 1);
  std::vector<float> y(15);
  Forward(reference_model, x, {15, 1}, {}, ws, y);
  for (size_t chunk = 0; chunk < 3; ++chunk) {
    const Batch batch{
        std::span(x).subspan(chunk * 5, 5),
        std::span(target).subspan(chunk * 5, 5),
        {5, 1},
        chunk == 0 ? std::span<const float>() : trainer.final_hidden()};
    trainer.Step(batch, 0.0f);
    EXPECT_TRUE(SameBytes(trainer.output(),
                          std::span<const float>(y).subspan(chunk * 5, 5)));
  }
}

}  // namespace
}  // namespace elman
