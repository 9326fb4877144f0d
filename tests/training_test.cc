// A short training run in the seed text's sine-wave setting (I = 1, H = 32,
// O = 1, T = 25, f = tanh, g = identity): predict sin(n + 1) from sin(n),
// n counting radians, over windows of 25 samples, with plain SGD on elman's
// gradients. If the gradients pointed the wrong way, were scaled wrongly or
// dropped a term that matters, the loss would not fall by the factor asked
// here. Runs on the best target only: the per-target agreement of the
// gradients is tested elsewhere.
#include <cmath>
#include <cstdio>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "elman/elman.h"
#include "gtest/gtest.h"

namespace elman {
namespace {

constexpr Dims kDims{1, 32, 1};
constexpr size_t kSteps = 25;
constexpr size_t kBatch = 8;
// The series sin(n) for n = 0 … kSeriesLength + kSteps: windows start below
// kSeriesLength.
constexpr size_t kSeriesLength = 200;
// Measured on AVX3 with the seeds below: mean loss 0.680 -> 0.00835, a factor
// of 81; asked: 20. (Other model seeds start lower, 0.07-0.6, and all end at
// 0.0083, so the factor is a property of this seed, the floor below is not.)
constexpr double kRequiredFactor = 20.0;

// x(t, b) = sin(start_b + t), target(t, b) = sin(start_b + t + 1), [T][B].
void FillWindows(const std::vector<size_t>& starts, std::vector<float>& x,
                 std::vector<float>& target) {
  const size_t batch = starts.size();
  x.resize(kSteps * batch);
  target.resize(kSteps * batch);
  for (size_t t = 0; t < kSteps; ++t) {
    for (size_t b = 0; b < batch; ++b) {
      const double n = static_cast<double>(starts[b] + t);
      x[t * batch + b] = static_cast<float>(std::sin(n));
      target[t * batch + b] = static_cast<float>(std::sin(n + 1.0));
    }
  }
}

// Mean loss per predicted sample over a fixed set of windows.
double EvaluationLoss(const Model& model, Workspace& ws,
                      const std::vector<float>& x,
                      const std::vector<float>& target, size_t batch) {
  std::vector<float> y(target.size());
  Forward(model, x, {kSteps, batch}, {}, ws, y);
  return Loss(y, target, {kSteps, batch}, kDims.output) /
         static_cast<double>(target.size());
}

// The first step of a window cannot be predicted: x(0) = sin k leaves the
// sign of cos k open, so the best guess of sin(k + 1) = sin k cos 1 +
// cos k sin 1 is sin k cos 1, and its loss ½ (sin 1 cos k)² is left however
// well the model learns. Mean over the windows' T·B samples.
double FirstStepFloor(const std::vector<size_t>& starts) {
  double floor = 0.0;
  for (size_t k : starts) {
    const double miss = std::sin(1.0) * std::cos(static_cast<double>(k));
    floor += 0.5 * miss * miss;
  }
  return floor / static_cast<double>(kSteps * starts.size());
}

// θ −= rate · ∇θ, tensor by tensor.
void SgdUpdate(Parameters& params, const Gradients& grads, float rate) {
  const std::span<float> p[] = {params.W(), params.U(), params.b(), params.V(),
                                params.c()};
  const std::span<const float> g[] = {grads.W(), grads.U(), grads.b(),
                                      grads.V(), grads.c()};
  for (int i = 0; i < 5; ++i) {
    for (size_t j = 0; j < p[i].size(); ++j) p[i][j] -= rate * g[i][j];
  }
}

TEST(TrainingTest, SineWaveLossFalls) {
  UseBestTarget();
  Model model({kDims, Activation::kTanh, Activation::kIdentity}, 42);

  // Held-out windows: every 13th start, 16 of them.
  const size_t eval_batch = 16;
  std::vector<size_t> eval_starts;
  for (size_t i = 0; i < eval_batch; ++i) eval_starts.push_back(5 + 13 * i);
  std::vector<float> eval_x, eval_target;
  FillWindows(eval_starts, eval_x, eval_target);
  Workspace eval_ws(kDims, kSteps, eval_batch);
  const double initial =
      EvaluationLoss(model, eval_ws, eval_x, eval_target, eval_batch);

  // SGD on the mean over the batch's T·B samples (Backward returns sums).
  constexpr int kIterations = 300;
  constexpr float kLearningRate = 0.1f;
  const float rate = kLearningRate / static_cast<float>(kSteps * kBatch);
  std::mt19937_64 random(7);
  std::uniform_int_distribution<size_t> pick(0, kSeriesLength - 1);
  Workspace ws(kDims, kSteps, kBatch);
  Gradients grads(kDims);
  std::vector<size_t> starts(kBatch);
  std::vector<float> x, target, y(kSteps * kBatch);
  for (int iteration = 0; iteration < kIterations; ++iteration) {
    for (size_t& s : starts) s = pick(random);
    FillWindows(starts, x, target);
    Forward(model, x, {kSteps, kBatch}, {}, ws, y);
    Backward(model, target, {}, ws, {&grads});
    SgdUpdate(model.parameters(), grads, rate);
  }

  const double final_loss =
      EvaluationLoss(model, eval_ws, eval_x, eval_target, eval_batch);
  RecordProperty("initial_loss", std::to_string(initial));
  RecordProperty("final_loss", std::to_string(final_loss));
  std::printf("sine wave: mean loss %.5f -> %.5f (x%.1f, floor %.5f) on %s\n",
              initial, final_loss, initial / final_loss,
              FirstStepFloor(eval_starts), CurrentTarget().c_str());
  EXPECT_TRUE(std::isfinite(final_loss));
  EXPECT_LT(final_loss * kRequiredFactor, initial);
  // Measured 1.26× the floor (0.00663): the rest of the sequence is learnt.
  // Its speed is a benchmark's business (elman_bench_passes), not a test's:
  // a wall-time bound fails on a loaded machine.
  EXPECT_LT(final_loss, 2.0 * FirstStepFloor(eval_starts));
}

}  // namespace
}  // namespace elman
