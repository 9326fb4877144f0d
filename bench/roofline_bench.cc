// This machine's single-core limits, the roofline each pass benchmark is
// judged against: the FP32 FMA peak ("GFLOP/s") and the load bandwidth from
// L1, L2, L3 and memory ("GB/s"), measured with Highway kernels on the best
// target this CPU supports (chosen at run time, as elman chooses its own; no
// -march flags). The target's name is each benchmark's label.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "bench/roofline_bench.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
// Must come after foreach_target.h.
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace elman::bench::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Twelve independent multiply-add chains: an FMA's latency (4 cycles on
// current x86) times the number of FMA pipes (2) is 8 in flight, and 12
// leaves margin while fitting, with the two constants, in the 16 registers of
// AVX2 (AVX-512 has 32). Each chain is acc := acc·m + a, which converges to
// a/(1 − m) and so never overflows nor turns subnormal. Returns a value that
// depends on every chain so that none can be dropped.
float FmaChains(size_t repetitions) {
  const hn::ScalableTag<float> d;
  const auto m = hn::Set(d, 0.999f);
  const auto a = hn::Set(d, 1e-3f);
  auto v0 = hn::Set(d, 0.0f), v1 = hn::Set(d, 0.1f), v2 = hn::Set(d, 0.2f);
  auto v3 = hn::Set(d, 0.3f), v4 = hn::Set(d, 0.4f), v5 = hn::Set(d, 0.5f);
  auto v6 = hn::Set(d, 0.6f), v7 = hn::Set(d, 0.7f), v8 = hn::Set(d, 0.8f);
  auto v9 = hn::Set(d, 0.9f), v10 = hn::Set(d, 1.0f), v11 = hn::Set(d, 1.1f);
  for (size_t r = 0; r < repetitions; ++r) {
    v0 = hn::MulAdd(v0, m, a);
    v1 = hn::MulAdd(v1, m, a);
    v2 = hn::MulAdd(v2, m, a);
    v3 = hn::MulAdd(v3, m, a);
    v4 = hn::MulAdd(v4, m, a);
    v5 = hn::MulAdd(v5, m, a);
    v6 = hn::MulAdd(v6, m, a);
    v7 = hn::MulAdd(v7, m, a);
    v8 = hn::MulAdd(v8, m, a);
    v9 = hn::MulAdd(v9, m, a);
    v10 = hn::MulAdd(v10, m, a);
    v11 = hn::MulAdd(v11, m, a);
  }
  const auto sum = hn::Add(hn::Add(hn::Add(hn::Add(v0, v1), hn::Add(v2, v3)),
                                   hn::Add(hn::Add(v4, v5), hn::Add(v6, v7))),
                           hn::Add(hn::Add(v8, v9), hn::Add(v10, v11)));
  return hn::GetLane(hn::SumOfLanes(d, sum));
}

// Floats one FmaChains repetition processes per chain.
size_t FloatLanes() { return hn::Lanes(hn::ScalableTag<float>()); }

// The target this code was compiled for (to name the dispatched one).
int64_t CompiledTarget() { return HWY_TARGET; }

// Σ p[i] over n floats, n a multiple of 8 vectors, p vector-aligned. Eight
// accumulators keep two loads a cycle in flight despite the add latency.
float SumArray(const float* HWY_RESTRICT p, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t lanes = hn::Lanes(d);
  auto s0 = hn::Zero(d), s1 = hn::Zero(d), s2 = hn::Zero(d);
  auto s3 = hn::Zero(d), s4 = hn::Zero(d), s5 = hn::Zero(d);
  auto s6 = hn::Zero(d), s7 = hn::Zero(d);
  for (size_t i = 0; i < n; i += 8 * lanes) {
    s0 = hn::Add(s0, hn::Load(d, p + i + 0 * lanes));
    s1 = hn::Add(s1, hn::Load(d, p + i + 1 * lanes));
    s2 = hn::Add(s2, hn::Load(d, p + i + 2 * lanes));
    s3 = hn::Add(s3, hn::Load(d, p + i + 3 * lanes));
    s4 = hn::Add(s4, hn::Load(d, p + i + 4 * lanes));
    s5 = hn::Add(s5, hn::Load(d, p + i + 5 * lanes));
    s6 = hn::Add(s6, hn::Load(d, p + i + 6 * lanes));
    s7 = hn::Add(s7, hn::Load(d, p + i + 7 * lanes));
  }
  const auto sum = hn::Add(hn::Add(hn::Add(s0, s1), hn::Add(s2, s3)),
                           hn::Add(hn::Add(s4, s5), hn::Add(s6, s7)));
  return hn::GetLane(hn::SumOfLanes(d, sum));
}

}  // namespace elman::bench::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <benchmark/benchmark.h>

#include <cstdint>

#include "hwy/aligned_allocator.h"

namespace elman::bench {
HWY_EXPORT(FmaChains);
HWY_EXPORT(FloatLanes);
HWY_EXPORT(CompiledTarget);
HWY_EXPORT(SumArray);
namespace {

const char* DispatchedTargetName() {
  return hwy::TargetName(HWY_DYNAMIC_DISPATCH(CompiledTarget)());
}

// FP32 FMA peak: 12 chains × lanes × 2 flops per repetition.
void FmaPeak(benchmark::State& state) {
  constexpr size_t kRepetitions = size_t{1} << 16;
  constexpr size_t kChains = 12;
  const size_t lanes = HWY_DYNAMIC_DISPATCH(FloatLanes)();
  for (auto _ : state) {
    float result = HWY_DYNAMIC_DISPATCH(FmaChains)(kRepetitions);
    benchmark::DoNotOptimize(result);
  }
  const double flops = 2.0 * kChains * static_cast<double>(lanes) *
                       static_cast<double>(kRepetitions);
  state.counters["GFLOP/s"] = benchmark::Counter(
      flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(DispatchedTargetName());
}

// Load bandwidth: the sum of a float array of state.range(0) KiB, which is
// read once before timing so that it sits in the cache level it fits.
void LoadBandwidth(benchmark::State& state) {
  const size_t bytes = static_cast<size_t>(state.range(0)) * 1024;
  const size_t n = bytes / sizeof(float);
  hwy::AlignedFreeUniquePtr<float[]> data = hwy::AllocateAligned<float>(n);
  for (size_t i = 0; i < n; ++i) data[i] = static_cast<float>(i & 15);
  benchmark::DoNotOptimize(HWY_DYNAMIC_DISPATCH(SumArray)(data.get(), n));
  for (auto _ : state) {
    float sum = HWY_DYNAMIC_DISPATCH(SumArray)(data.get(), n);
    benchmark::DoNotOptimize(sum);
  }
  state.counters["GB/s"] =
      benchmark::Counter(static_cast<double>(bytes) * 1e-9,
                         benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(DispatchedTargetName());
}

void RegisterAll() {
  benchmark::RegisterBenchmark("BM_FmaPeak", FmaPeak);
  // Sizes well inside L1 (48 KiB on Zen 5, 32 KiB or more elsewhere), L2
  // (1 MiB), L3 (32 MiB here, shared) and far beyond any cache. All are
  // multiples of 8 vectors of 64 bytes, as SumArray needs.
  struct Level {
    const char* name;
    int64_t kib;
  };
  constexpr Level kLevels[] = {{"BM_LoadBandwidth/L1", 16},
                               {"BM_LoadBandwidth/L2", 512},
                               {"BM_LoadBandwidth/L3", 8 * 1024},
                               {"BM_LoadBandwidth/memory", 256 * 1024}};
  for (const Level& level : kLevels) {
    benchmark::RegisterBenchmark(level.name, LoadBandwidth)
        ->ArgName("KiB")
        ->Arg(level.kib)
        ->Unit(benchmark::kMicrosecond);
  }
}

}  // namespace
}  // namespace elman::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("hwy_target",
                              elman::bench::DispatchedTargetName());
  elman::bench::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
#endif  // HWY_ONCE
