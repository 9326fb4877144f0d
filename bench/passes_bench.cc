// Whole-pass benchmarks, single thread: the training forward (eq. 7.10), a
// training step (forward + loss + BPTT, eq. 7.10–7.15) and inference
// (Stream::Run, Stream::Step), for elman's SIMD path and, where affordable,
// the scalar double reference in the same binary. Shapes and flop counts are
// in bench_util.h. Every benchmark reports "GFLOP/s" and "ns_per_step".
//
// Names: BM_Forward/elman/I:64/H:128/O:64/T:100/B:1, .../reference/...,
// BM_TrainStep/{elman,reference}/..., BM_Inference/elman/...,
// BM_StreamStep/elman/H:32 (I = O = H/4), BM_StreamStepBatch/elman/H:64/B:16,
// BM_StreamStepOverhead/elman,
// BM_DispatchIndex/{elman,highway}.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "bench/bench_util.h"
#include "elman/elman.h"
#include "hwy/targets.h"
#include "src/dispatch.h"

namespace elman::bench {
namespace {

// Fixed seeds: every run benchmarks the same weights and data.
constexpr uint64_t kModelSeed = 1;
constexpr uint64_t kInputSeed = 2;
constexpr uint64_t kTargetSeed = 3;

// Everything a pass needs for one shape, allocated before the timed loop.
struct Problem {
  explicit Problem(const Shape& shape)
      : dims(DimsOf(shape)),
        seq(SequenceOf(shape)),
        model(Config{dims}, kModelSeed),
        x(RandomInputs(seq.steps * seq.batch * dims.input, kInputSeed)),
        target(RandomInputs(seq.steps * seq.batch * dims.output, kTargetSeed)),
        y(seq.steps * seq.batch * dims.output) {}

  Dims dims;
  SequenceShape seq;
  Model model;
  std::vector<float> x, target, y;
};

void ForwardElman(benchmark::State& state) {
  const Shape shape = ShapeFromState(state);
  Problem p(shape);
  Workspace workspace(p.dims, p.seq.steps, p.seq.batch);
  for (auto _ : state) {
    Forward(p.model, p.x, p.seq, {}, workspace, p.y);
    benchmark::DoNotOptimize(p.y.data());
    benchmark::ClobberMemory();
  }
  SetPassCounters(state, ForwardFlops(shape), shape.steps);
}

void TrainStepElman(benchmark::State& state) {
  const Shape shape = ShapeFromState(state);
  Problem p(shape);
  Workspace workspace(p.dims, p.seq.steps, p.seq.batch);
  Gradients gradients(p.dims);
  // dx and dh0 too, so that elman does the same work as the reference.
  std::vector<float> dx(p.x.size());
  std::vector<float> dh0(p.seq.batch * p.dims.hidden);
  const BackwardOutputs outputs{&gradients, dx, dh0};
  for (auto _ : state) {
    Forward(p.model, p.x, p.seq, {}, workspace, p.y);
    double loss = Loss(p.y, p.target, p.seq, p.dims.output);
    benchmark::DoNotOptimize(loss);
    Backward(p.model, p.target, {}, workspace, outputs);
    benchmark::DoNotOptimize(gradients.U().data());
    benchmark::DoNotOptimize(dx.data());
    benchmark::ClobberMemory();
  }
  SetPassCounters(state, TrainStepFlops(shape), shape.steps);
}

// The reference works on double vectors and returns its results in new ones:
// its allocations are part of what it costs.
void ForwardReference(benchmark::State& state) {
  const Shape shape = ShapeFromState(state);
  const Problem p(shape);
  const reference::Model model(p.model);
  const std::vector<double> x(p.x.begin(), p.x.end());
  for (auto _ : state) {
    reference::ForwardResult result = reference::Forward(model, x, p.seq);
    benchmark::DoNotOptimize(result.output.data());
    benchmark::ClobberMemory();
  }
  SetPassCounters(state, ForwardFlops(shape), shape.steps);
}

void TrainStepReference(benchmark::State& state) {
  const Shape shape = ShapeFromState(state);
  const Problem p(shape);
  const reference::Model model(p.model);
  const std::vector<double> x(p.x.begin(), p.x.end());
  const std::vector<double> target(p.target.begin(), p.target.end());
  for (auto _ : state) {
    reference::ForwardResult forward = reference::Forward(model, x, p.seq);
    double loss = reference::Loss(forward, target);
    benchmark::DoNotOptimize(loss);
    reference::GradientsResult gradients =
        reference::Backward(model, x, {}, forward, target);
    benchmark::DoNotOptimize(gradients.U.data());
    benchmark::ClobberMemory();
  }
  SetPassCounters(state, TrainStepFlops(shape), shape.steps);
}

// Inference over the whole sequence: Reset (h := 0), then T steps in one Run.
// Stores nothing but h, so this is the forward without the training stores.
void InferenceElman(benchmark::State& state) {
  const Shape shape = ShapeFromState(state);
  Problem p(shape);
  Stream stream(p.model, p.seq.batch);
  for (auto _ : state) {
    stream.Reset();
    stream.Run(p.x, p.seq.steps, p.y);
    benchmark::DoNotOptimize(p.y.data());
    benchmark::ClobberMemory();
  }
  SetPassCounters(state, ForwardFlops(shape), shape.steps);
}

// One streaming step, B = 1, I = O = H/4: the latency an embedding program
// sees per sample. The state runs on from one iteration to the next, as in a
// real stream (tanh keeps it bounded).
void StreamStepElman(benchmark::State& state) {
  const int64_t hidden = state.range(0);
  const Shape shape{hidden / 4, hidden, hidden / 4, 1, 1};
  Problem p(shape);
  Stream stream(p.model, 1);
  for (auto _ : state) {
    stream.Step(p.x, p.y);
    benchmark::DoNotOptimize(p.y.data());
    benchmark::ClobberMemory();
  }
  SetPassCounters(state, ForwardFlops(shape), 1);
}

// A step of B sequences at once (I = O = H/4): the batched products of
// Stream::Step (a server's many streams).
void StreamStepBatchElman(benchmark::State& state) {
  const int64_t hidden = state.range(0), batch = state.range(1);
  const Shape shape{hidden / 4, hidden, hidden / 4, 1, batch};
  Problem p(shape);
  Stream stream(p.model, static_cast<size_t>(batch));
  for (auto _ : state) {
    stream.Step(p.x, p.y);
    benchmark::DoNotOptimize(p.y.data());
    benchmark::ClobberMemory();
  }
  SetPassCounters(state, ForwardFlops(shape), 1);
}

// The smallest model there is (I = H = O = 1): what a Step costs besides its
// arithmetic — argument checks, the dispatch to the SIMD target, the call.
void StreamStepOverhead(benchmark::State& state) {
  Problem p(Shape{1, 1, 1, 1, 1});
  Stream stream(p.model, 1);
  for (auto _ : state) {
    stream.Step(p.x, p.y);
    benchmark::DoNotOptimize(p.y.data());
    benchmark::ClobberMemory();
  }
  SetPassCounters(state, ForwardFlops(Shape{1, 1, 1, 1, 1}), 1);
}

// What choosing the SIMD target costs a call: ELMAN_DISPATCH's index (a
// thread-local read for the TargetPin, then Highway's atomic) against
// Highway's own HWY_DYNAMIC_DISPATCH index (the atomic alone).
void DispatchIndexElman(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(internal::DispatchIndex());
}
void DispatchIndexHighway(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(hwy::GetChosenTarget().GetIndex());
  }
}

void RegisterPass(const char* name, void (*function)(benchmark::State&),
                  bool is_reference) {
  benchmark::internal::Benchmark* b =
      benchmark::RegisterBenchmark(name, function);
  b->ArgNames(ShapeArgNames())->Unit(benchmark::kMicrosecond);
  for (const Shape& s : kShapes) {
    if (is_reference && ForwardFlops(s) > kReferenceMaxForwardFlops) continue;
    b->Args({s.input, s.hidden, s.output, s.steps, s.batch});
  }
}

void RegisterAll() {
  RegisterPass("BM_Forward/elman", ForwardElman, false);
  RegisterPass("BM_Forward/reference", ForwardReference, true);
  RegisterPass("BM_TrainStep/elman", TrainStepElman, false);
  RegisterPass("BM_TrainStep/reference", TrainStepReference, true);
  RegisterPass("BM_Inference/elman", InferenceElman, false);
  benchmark::RegisterBenchmark("BM_StreamStep/elman", StreamStepElman)
      ->ArgName("H")
      ->Arg(32)
      ->Arg(64)
      ->Arg(128)
      ->Arg(256)
      ->Arg(512)
      ->Unit(benchmark::kNanosecond);
  benchmark::RegisterBenchmark("BM_StreamStepBatch/elman", StreamStepBatchElman)
      ->ArgNames({"H", "B"})
      ->ArgsProduct({{64, 128, 512}, {16, 64}})
      ->Unit(benchmark::kNanosecond);
  benchmark::RegisterBenchmark("BM_StreamStepOverhead/elman",
                               StreamStepOverhead)
      ->Unit(benchmark::kNanosecond);
  benchmark::RegisterBenchmark("BM_DispatchIndex/elman", DispatchIndexElman)
      ->Unit(benchmark::kNanosecond);
  benchmark::RegisterBenchmark("BM_DispatchIndex/highway", DispatchIndexHighway)
      ->Unit(benchmark::kNanosecond);
}

}  // namespace
}  // namespace elman::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  // Which SIMD path the numbers are for (also in the JSON's "context").
  benchmark::AddCustomContext("elman_target", elman::CurrentTarget());
  elman::bench::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
