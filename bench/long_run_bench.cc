// Long sequences and extreme values (issue 9, item 3): is the time per step
// flat in T, and does it depend on the values — activations driven into
// saturation, or values in the denormal range, which some cores handle with
// slow microcode assists?
//
// Regimes (I = O = 4, g = identity, weights Glorot-uniform):
//   tanh            x uniform in [−1, 1]: the pre-activations of a trained
//                   model
//   tanh saturated  x = ±1e30: h = ±1 exactly, f' = 0 — the carry of eq.
//                   7.15 and the weight gradients are sums of zeros
//   sigmoid         x uniform in [−1, 1]
//   sigmoid tiny    x = −1e30: ĥ ≈ −1e29, h(t) and f'(ĥ(t)) are the
//                   smallest value the sigmoid returns — subnormal, unless
//                   the kernel flushes it — and every product with U reads
//                   them
// BM_LongStream: T calls of Stream::Step; counters give ns per step over the
// first and the last 1000 steps of the run (flat in T: the same).
// BM_LongTraining: Forward + Loss + Backward over T steps of one sequence;
// ns per step (flat in T: the same at T = 1000 and 100 000).
#include <benchmark/benchmark.h>
#include <time.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "elman/elman.h"

namespace elman::bench {
namespace {

enum Regime : int64_t { kTanh, kTanhSaturated, kSigmoid, kSigmoidTiny };

constexpr size_t kInputs = 4;
constexpr size_t kOutputs = 4;

Config ConfigFor(Regime regime, size_t hidden) {
  const bool sigmoid = regime == kSigmoid || regime == kSigmoidTiny;
  return {
      .dims = {kInputs, hidden, kOutputs},
      .hidden_activation = sigmoid ? Activation::kSigmoid : Activation::kTanh,
      .output_activation = Activation::kIdentity};
}

std::vector<float> InputsFor(Regime regime, size_t steps) {
  std::mt19937_64 random(steps);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> x(steps * kInputs);
  for (float& value : x) {
    const float u = uniform(random);
    value = regime == kTanhSaturated ? (u < 0 ? -1e30f : 1e30f)
            : regime == kSigmoidTiny ? -1e30f
                                     : u;
  }
  return x;
}

const char* RegimeName(Regime regime) {
  switch (regime) {
    case kTanh:
      return "tanh";
    case kTanhSaturated:
      return "tanh saturated";
    case kSigmoid:
      return "sigmoid";
    case kSigmoidTiny:
      return "sigmoid tiny";
  }
  return "";
}

// CPU time of this thread: the windows below are a few microseconds long,
// and on a shared machine wall time would count other processes' slices.
double ThreadSeconds() {
  timespec now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) +
         1e-9 * static_cast<double>(now.tv_nsec);
}

void BM_LongStream(benchmark::State& state) {
  const size_t steps = static_cast<size_t>(state.range(0));
  const size_t hidden = static_cast<size_t>(state.range(1));
  const auto regime = static_cast<Regime>(state.range(2));
  state.SetLabel(RegimeName(regime));
  const Model model(ConfigFor(regime, hidden), 1);
  const std::vector<float> x = InputsFor(regime, steps);
  Stream stream(model);
  std::vector<float> y(kOutputs);
  constexpr size_t kWindow = 1000;
  double first_seconds = 0.0, last_seconds = 0.0;
  for (auto _ : state) {
    stream.Reset();
    double window_start = ThreadSeconds();
    for (size_t t = 0; t < steps; ++t) {
      if (t == steps - kWindow) window_start = ThreadSeconds();
      stream.Step({x.data() + t * kInputs, kInputs}, y);
      if (t == kWindow - 1) first_seconds += ThreadSeconds() - window_start;
    }
    last_seconds += ThreadSeconds() - window_start;
    benchmark::DoNotOptimize(y.data());
  }
  const double iterations = static_cast<double>(state.iterations());
  state.counters["first_1k_ns_per_step"] =
      1e9 * first_seconds / (iterations * kWindow);
  state.counters["last_1k_ns_per_step"] =
      1e9 * last_seconds / (iterations * kWindow);
  state.counters["ns_per_step"] =
      benchmark::Counter(static_cast<double>(steps),
                         benchmark::Counter::kIsIterationInvariantRate |
                             benchmark::Counter::kInvert);
  state.counters["y0"] = y[0];  // finite, and not optimised away
}

void BM_LongTraining(benchmark::State& state) {
  const size_t steps = static_cast<size_t>(state.range(0));
  const size_t hidden = static_cast<size_t>(state.range(1));
  const auto regime = static_cast<Regime>(state.range(2));
  state.SetLabel(RegimeName(regime));
  const Config config = ConfigFor(regime, hidden);
  const Model model(config, 1);
  const std::vector<float> x = InputsFor(regime, steps);
  std::vector<float> target(steps * kOutputs, 0.5f);
  std::vector<float> y(steps * kOutputs);
  Workspace workspace(config.dims, steps);
  Gradients gradients(config.dims);
  double loss = 0.0;
  for (auto _ : state) {
    Forward(model, x, {steps, 1}, {}, workspace, y);
    loss = Loss(y, target, {steps, 1}, kOutputs);
    Backward(model, target, {}, workspace, {.gradients = &gradients});
    benchmark::DoNotOptimize(gradients.U().data());
  }
  state.counters["ns_per_step"] =
      benchmark::Counter(static_cast<double>(steps),
                         benchmark::Counter::kIsIterationInvariantRate |
                             benchmark::Counter::kInvert);
  state.counters["loss_per_step"] = loss / static_cast<double>(steps);
}

void LongArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"T", "H", "regime"});
  for (int64_t hidden : {32, 128}) {
    for (int64_t regime : {kTanh, kTanhSaturated, kSigmoid, kSigmoidTiny}) {
      for (int64_t steps : {1000, 100000}) b->Args({steps, hidden, regime});
    }
  }
}

BENCHMARK(BM_LongStream)
    ->Apply([](benchmark::internal::Benchmark* b) {
      b->ArgNames({"T", "H", "regime"});
      for (int64_t hidden : {32, 128}) {
        for (int64_t regime : {kTanh, kTanhSaturated, kSigmoid, kSigmoidTiny}) {
          b->Args({100000, hidden, regime});
        }
      }
    })
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LongTraining)->Apply(LongArgs)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace elman::bench

BENCHMARK_MAIN();
