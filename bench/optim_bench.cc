// Optimizer steps, single thread: elman's Adam and SGD-with-momentum Step
// (one dispatched, fused SIMD pass per tensor) against a plain loop of the
// same update over one flat array, as a user would write it (the compiler
// may vectorize it for the baseline ISA, SSE2). Shapes: H = 32, 128, 512 with
// I = O = H/2, i.e. 2 080, 32 960 and 525 056 parameters; Adam streams four
// arrays of that size (θ, g, m, v), SGD three (θ, g, buf). Every benchmark
// reports "ns_per_param": time per Step divided by the parameter count.
//
// Names: BM_AdamStep/{elman,scalar}/H:32, BM_SgdMomentumStep/{elman,scalar}/...
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "elman/elman.h"

namespace elman::bench {
namespace {

Dims DimsOf(const benchmark::State& state) {
  const auto hidden = static_cast<size_t>(state.range(0));
  return {hidden / 2, hidden, hidden / 2};
}

std::vector<float> RandomValues(size_t n, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> values(n);
  for (float& value : values) value = uniform(random);
  return values;
}

void SetCounters(benchmark::State& state, size_t parameters) {
  state.counters["ns_per_param"] =
      benchmark::Counter(static_cast<double>(parameters) * 1e-9,
                         benchmark::Counter::kIsIterationInvariantRate |
                             benchmark::Counter::kInvert);
}

constexpr float kLearningRate = 1e-3f;
constexpr float kMomentum = 0.9f;

void AdamElman(benchmark::State& state) {
  const Dims dims = DimsOf(state);
  Parameters parameters(dims);
  Gradients gradients(dims);
  parameters.CopyFrom(RandomValues(parameters.size(), 1));
  gradients.CopyFrom(RandomValues(gradients.size(), 2));
  Adam adam(dims, {.learning_rate = kLearningRate});
  for (auto _ : state) {
    adam.Step(parameters, gradients);
    benchmark::DoNotOptimize(parameters.W().data());
    benchmark::ClobberMemory();
  }
  SetCounters(state, parameters.size());
}

// torch.optim.Adam's update (no weight decay), per element, in float.
void AdamScalar(benchmark::State& state) {
  const Dims dims = DimsOf(state);
  const size_t n = Parameters(dims).size();
  std::vector<float> theta = RandomValues(n, 1), grad = RandomValues(n, 2);
  std::vector<float> exp_avg(n), exp_avg_sq(n);
  const double beta1 = 0.9, beta2 = 0.999;
  const float epsilon = 1e-8f;
  uint64_t step = 0;
  for (auto _ : state) {
    ++step;
    const double t = static_cast<double>(step);
    const float step_size =
        static_cast<float>(kLearningRate / (1.0 - std::pow(beta1, t)));
    const float correction2_sqrt =
        static_cast<float>(std::sqrt(1.0 - std::pow(beta2, t)));
    for (size_t i = 0; i < n; ++i) {
      const float g = grad[i];
      exp_avg[i] = 0.9f * exp_avg[i] + 0.1f * g;
      exp_avg_sq[i] = 0.999f * exp_avg_sq[i] + 0.001f * g * g;
      const float denom = std::sqrt(exp_avg_sq[i]) / correction2_sqrt + epsilon;
      theta[i] -= step_size * exp_avg[i] / denom;
    }
    benchmark::DoNotOptimize(theta.data());
    benchmark::ClobberMemory();
  }
  SetCounters(state, n);
}

void SgdMomentumElman(benchmark::State& state) {
  const Dims dims = DimsOf(state);
  Parameters parameters(dims);
  Gradients gradients(dims);
  parameters.CopyFrom(RandomValues(parameters.size(), 1));
  gradients.CopyFrom(RandomValues(gradients.size(), 2));
  Sgd sgd(dims, {.learning_rate = kLearningRate, .momentum = kMomentum});
  for (auto _ : state) {
    sgd.Step(parameters, gradients);
    benchmark::DoNotOptimize(parameters.W().data());
    benchmark::ClobberMemory();
  }
  SetCounters(state, parameters.size());
}

// torch.optim.SGD's update with momentum (no dampening), in float.
void SgdMomentumScalar(benchmark::State& state) {
  const Dims dims = DimsOf(state);
  const size_t n = Parameters(dims).size();
  std::vector<float> theta = RandomValues(n, 1), grad = RandomValues(n, 2);
  std::vector<float> buffer(n);
  bool first = true;
  for (auto _ : state) {
    for (size_t i = 0; i < n; ++i) {
      buffer[i] = first ? grad[i] : kMomentum * buffer[i] + grad[i];
      theta[i] -= kLearningRate * buffer[i];
    }
    first = false;
    benchmark::DoNotOptimize(theta.data());
    benchmark::ClobberMemory();
  }
  SetCounters(state, n);
}

void Shapes(benchmark::internal::Benchmark* b) {
  b->ArgName("H");
  for (int64_t hidden : {32, 128, 512}) b->Arg(hidden);
}

BENCHMARK(AdamElman)->Name("BM_AdamStep/elman")->Apply(Shapes);
BENCHMARK(AdamScalar)->Name("BM_AdamStep/scalar")->Apply(Shapes);
BENCHMARK(SgdMomentumElman)->Name("BM_SgdMomentumStep/elman")->Apply(Shapes);
BENCHMARK(SgdMomentumScalar)->Name("BM_SgdMomentumStep/scalar")->Apply(Shapes);

}  // namespace
}  // namespace elman::bench

BENCHMARK_MAIN();
