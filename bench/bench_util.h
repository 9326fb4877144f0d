// What the pass benchmarks share: the table of shapes they run, the flop
// counts their GFLOP/s counters are computed from, the counters themselves
// and reproducible random inputs.
#ifndef ELMAN_BENCH_BENCH_UTIL_H_
#define ELMAN_BENCH_BENCH_UTIL_H_

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "elman/elman.h"

namespace elman::bench {

/// One benchmarked shape: I, H, O, T, B (DESIGN.md §1).
struct Shape {
  int64_t input, hidden, output, steps, batch;
};

/// The shapes of the pass benchmarks. The first is the seed text's sine-wave
/// setting; then latency shapes (B = 1, H = 64…512) and throughput shapes
/// (B = 32, 64).
inline constexpr Shape kShapes[] = {
    {1, 32, 1, 25, 1},       {16, 64, 16, 100, 1},   {64, 128, 64, 100, 1},
    {128, 256, 128, 100, 1}, {256, 512, 256, 50, 1}, {64, 128, 64, 100, 32},
    {256, 512, 256, 50, 64},
};

/// The scalar double reference is skipped at shapes above this many forward
/// flops: at (256,512,256,50,64) one of its train steps takes seconds, which
/// five repetitions in CI cannot afford.
inline constexpr double kReferenceMaxForwardFlops = 1e9;

/// The argument names of every pass benchmark, in kShapes' order.
inline const std::vector<std::string>& ShapeArgNames() {
  static const std::vector<std::string> names = {"I", "H", "O", "T", "B"};
  return names;
}

inline Shape ShapeFromState(const benchmark::State& state) {
  return {state.range(0), state.range(1), state.range(2), state.range(3),
          state.range(4)};
}

inline Dims DimsOf(const Shape& s) {
  return {static_cast<size_t>(s.input), static_cast<size_t>(s.hidden),
          static_cast<size_t>(s.output)};
}

inline SequenceShape SequenceOf(const Shape& s) {
  return {static_cast<size_t>(s.steps), static_cast<size_t>(s.batch)};
}

// Flop counts. A multiply-add counts as 2 flops; elementwise work (biases,
// activations and their derivatives, the output error, db and dc) is ignored:
// it is O(T·B·(H+O)), against O(T·B·H·(I+H+O)) for the products.

/// Forward, eq. 7.10: W x(t), U h(t−1) and V h(t) for every (t, b):
/// 2·T·B·H·(I+H+O). This is the nominal count: with h0 = 0 elman skips the
/// U h(−1) product, so it runs 2·B·H² flops fewer (a fraction 1/T of the
/// recurrence term).
inline double ForwardFlops(const Shape& s) {
  return 2.0 * static_cast<double>(s.steps * s.batch * s.hidden) *
         static_cast<double>(s.input + s.hidden + s.output);
}

/// Backward, eq. 7.14–7.15, as the products elman runs them (backward.cc):
///   G = E V               2·T·B·O·H   (grad_dense for all steps)
///   carry δ(t+1) U        2·(T−1)·B·H²
///   dW = Δᵀ X             2·T·B·H·I
///   dU = Δᵀ H₋₁           2·(T−1)·B·H²  (t = 0 skipped: h0 = 0 here)
///   dV = Eᵀ H             2·T·B·O·H
///   dx = Δ W              2·T·B·H·I   (only if `with_dx`)
///   dh0 = δ(0) U          2·B·H²      (only if `with_dx`: requested together)
/// i.e. about twice the forward, plus dx.
inline double BackwardFlops(const Shape& s, bool with_dx) {
  const double t = static_cast<double>(s.steps);
  const double b = static_cast<double>(s.batch);
  const double i = static_cast<double>(s.input);
  const double h = static_cast<double>(s.hidden);
  const double o = static_cast<double>(s.output);
  double flops = 2.0 * t * b * o * h                            // G = E V
                 + 2.0 * (t - 1) * b * h * h                    // carry
                 + 2.0 * t * b * h * i                          // dW
                 + 2.0 * (t - 1) * b * h * h                    // dU
                 + 2.0 * t * b * o * h;                         // dV
  if (with_dx) flops += 2.0 * t * b * h * i + 2.0 * b * h * h;  // dx, dh0
  return flops;
}

/// One training step: forward + loss (elementwise, ignored) + backward with
/// dx and dh0 requested (the reference always computes them).
inline double TrainStepFlops(const Shape& s) {
  return ForwardFlops(s) + BackwardFlops(s, /*with_dx=*/true);
}

/// Sets the two counters every pass benchmark reports: "GFLOP/s" from
/// `flops_per_iteration`, and "ns_per_step", the time of one iteration
/// divided by the T time steps it covers.
inline void SetPassCounters(benchmark::State& state, double flops_per_iteration,
                            int64_t steps) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops_per_iteration * 1e-9,
                         benchmark::Counter::kIsIterationInvariantRate);
  // (steps · 1e-9 · iterations / seconds)⁻¹ = nanoseconds per step.
  state.counters["ns_per_step"] =
      benchmark::Counter(static_cast<double>(steps) * 1e-9,
                         benchmark::Counter::kIsIterationInvariantRate |
                             benchmark::Counter::kInvert);
}

/// n values uniform in [−1, 1), the same on every run for the same seed.
inline std::vector<float> RandomInputs(size_t n, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& value : v) value = uniform(random);
  return v;
}

}  // namespace elman::bench

#endif  // ELMAN_BENCH_BENCH_UTIL_H_
