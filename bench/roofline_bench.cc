// This machine's single-core limits, the roofline each pass benchmark is
// judged against: the FP32 FMA peak ("GFLOP/s") and the load bandwidth as a
// function of the working-set size ("GB/s"), measured with Highway kernels on
// the best target this CPU supports (chosen at run time, as elman chooses its
// own; no -march flags). The target's name is each benchmark's label.
//
// Names: BM_FmaPeak; BM_LoadBandwidth/bytes:N/streams:S/zigzag:Z, the
// bandwidth of a repeated streaming read of an N-byte array, S streams at a
// time (1: front to back; 4: its four quarters side by side, as a
// matrix-vector product reads four rows at once), Z = 1: one stream whose
// direction alternates from pass to pass, Z = 2 (…/block:N): one stream
// whose order of N-byte blocks alternates, each block read forwards. The
// sizes are a ladder (4 KiB to 64 MiB, a factor of √2 apart) plus the exact
// working sets the bound needs: U's 4·H² bytes and the streaming step's
// 4·H·(I+H+O) = 6·H² bytes of W, U and V (I = O = H/4), H = 32 … 1024.
// bench/summarize.py takes, at each size, the best of these reads: the
// bound must grant any kernel what the best way to read that many bytes
// gets.

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

// The sum of all lanes of the eight accumulators of a read below (kept in
// named registers there: an accumulator array could live in memory).
template <class D, class V>
HWY_INLINE float Total(D d, V s0, V s1, V s2, V s3, V s4, V s5, V s6, V s7) {
  const V sum = hn::Add(hn::Add(hn::Add(s0, s1), hn::Add(s2, s3)),
                        hn::Add(hn::Add(s4, s5), hn::Add(s6, s7)));
  return hn::GetLane(hn::SumOfLanes(d, sum));
}

// Adds p[begin, end) into the eight accumulators, 8 vectors at a time,
// front to back; end − begin is a multiple of 8 vectors.
template <class D, class V>
HWY_INLINE void AddForwards(D d, const float* HWY_RESTRICT p, size_t begin,
                            size_t end, V& s0, V& s1, V& s2, V& s3, V& s4,
                            V& s5, V& s6, V& s7) {
  const size_t lanes = hn::Lanes(d);
  for (size_t i = begin; i < end; i += 8 * lanes) {
    s0 = hn::Add(s0, hn::Load(d, p + i + 0 * lanes));
    s1 = hn::Add(s1, hn::Load(d, p + i + 1 * lanes));
    s2 = hn::Add(s2, hn::Load(d, p + i + 2 * lanes));
    s3 = hn::Add(s3, hn::Load(d, p + i + 3 * lanes));
    s4 = hn::Add(s4, hn::Load(d, p + i + 4 * lanes));
    s5 = hn::Add(s5, hn::Load(d, p + i + 5 * lanes));
    s6 = hn::Add(s6, hn::Load(d, p + i + 6 * lanes));
    s7 = hn::Add(s7, hn::Load(d, p + i + 7 * lanes));
  }
}

// `passes` sums of the n floats at p, one stream front to back, n a multiple
// of 8 vectors, p vector-aligned. Eight accumulators keep two loads a cycle
// in flight despite the add latency; they carry over from pass to pass, so
// that a pass of a small array costs no reduction and no call.
float SumOneStream(const float* HWY_RESTRICT p, size_t n, size_t passes) {
  const hn::ScalableTag<float> d;
  auto s0 = hn::Zero(d), s1 = hn::Zero(d), s2 = hn::Zero(d);
  auto s3 = hn::Zero(d), s4 = hn::Zero(d), s5 = hn::Zero(d);
  auto s6 = hn::Zero(d), s7 = hn::Zero(d);
  for (size_t pass = 0; pass < passes; ++pass) {
    AddForwards(d, p, 0, n, s0, s1, s2, s3, s4, s5, s6, s7);
  }
  return Total(d, s0, s1, s2, s3, s4, s5, s6, s7);
}

// The zig-zag at the grain of blocks of `block` floats: every other pass
// visits the blocks last to first, each block still read front to back, so
// that what the zig-zag below keeps in cache is kept while every stream runs
// forwards, as the prefetchers like best. That is how elman's recurrences at
// B = 1 walk U's panels (MatVecPanels, descending every other step), which
// read 1.5 MiB at 114 GB/s on Zen 5 where the plain zig-zag got 106. n and
// block are multiples of 8 vectors.
float SumBlockZigZag(const float* HWY_RESTRICT p, size_t n, size_t block,
                     size_t passes) {
  const hn::ScalableTag<float> d;
  auto s0 = hn::Zero(d), s1 = hn::Zero(d), s2 = hn::Zero(d);
  auto s3 = hn::Zero(d), s4 = hn::Zero(d), s5 = hn::Zero(d);
  auto s6 = hn::Zero(d), s7 = hn::Zero(d);
  const size_t blocks = (n + block - 1) / block;
  for (size_t pass = 0; pass < passes; ++pass) {
    for (size_t visited = 0; visited < blocks; ++visited) {
      const size_t first =
          (pass % 2 == 0 ? visited : blocks - 1 - visited) * block;
      AddForwards(d, p, first, HWY_MIN(n, first + block), s0, s1, s2, s3, s4,
                  s5, s6, s7);
    }
  }
  return Total(d, s0, s1, s2, s3, s4, s5, s6, s7);
}

// The same read as four streams side by side: the four quarters of the
// array, two vectors of each per iteration, as a matrix-vector product
// walks four rows of U at once. n is a multiple of 8 vectors.
float SumFourStreams(const float* HWY_RESTRICT p, size_t n, size_t passes) {
  const hn::ScalableTag<float> d;
  const size_t lanes = hn::Lanes(d);
  const size_t quarter = n / 4;
  const float* HWY_RESTRICT q0 = p;
  const float* HWY_RESTRICT q1 = p + quarter;
  const float* HWY_RESTRICT q2 = p + 2 * quarter;
  const float* HWY_RESTRICT q3 = p + 3 * quarter;
  auto s0 = hn::Zero(d), s1 = hn::Zero(d), s2 = hn::Zero(d);
  auto s3 = hn::Zero(d), s4 = hn::Zero(d), s5 = hn::Zero(d);
  auto s6 = hn::Zero(d), s7 = hn::Zero(d);
  for (size_t pass = 0; pass < passes; ++pass) {
    for (size_t i = 0; i < quarter; i += 2 * lanes) {
      s0 = hn::Add(s0, hn::Load(d, q0 + i));
      s1 = hn::Add(s1, hn::Load(d, q1 + i));
      s2 = hn::Add(s2, hn::Load(d, q2 + i));
      s3 = hn::Add(s3, hn::Load(d, q3 + i));
      s4 = hn::Add(s4, hn::Load(d, q0 + i + lanes));
      s5 = hn::Add(s5, hn::Load(d, q1 + i + lanes));
      s6 = hn::Add(s6, hn::Load(d, q2 + i + lanes));
      s7 = hn::Add(s7, hn::Load(d, q3 + i + lanes));
    }
  }
  return Total(d, s0, s1, s2, s3, s4, s5, s6, s7);
}

// The one-stream read with every other pass backwards (last vector first).
// A working set a little larger than a cache level loses all of it to a
// front-to-back cyclic read (each line is evicted just before its turn
// comes) but keeps most of it when the direction alternates: a kernel may
// walk U so (a recurrence step forward, the next backward), so the bound
// must grant it. n is a multiple of 8 vectors.
float SumZigZag(const float* HWY_RESTRICT p, size_t n, size_t passes) {
  const hn::ScalableTag<float> d;
  const size_t lanes = hn::Lanes(d);
  auto s0 = hn::Zero(d), s1 = hn::Zero(d), s2 = hn::Zero(d);
  auto s3 = hn::Zero(d), s4 = hn::Zero(d), s5 = hn::Zero(d);
  auto s6 = hn::Zero(d), s7 = hn::Zero(d);
  for (size_t pass = 0; pass < passes; ++pass) {
    for (size_t block = 0; block < n; block += 8 * lanes) {
      const size_t i = pass % 2 == 0 ? block : n - 8 * lanes - block;
      s0 = hn::Add(s0, hn::Load(d, p + i + 7 * lanes));
      s1 = hn::Add(s1, hn::Load(d, p + i + 6 * lanes));
      s2 = hn::Add(s2, hn::Load(d, p + i + 5 * lanes));
      s3 = hn::Add(s3, hn::Load(d, p + i + 4 * lanes));
      s4 = hn::Add(s4, hn::Load(d, p + i + 3 * lanes));
      s5 = hn::Add(s5, hn::Load(d, p + i + 2 * lanes));
      s6 = hn::Add(s6, hn::Load(d, p + i + 1 * lanes));
      s7 = hn::Add(s7, hn::Load(d, p + i + 0 * lanes));
    }
  }
  return Total(d, s0, s1, s2, s3, s4, s5, s6, s7);
}

}  // namespace elman::bench::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "hwy/aligned_allocator.h"

namespace elman::bench {
HWY_EXPORT(FmaChains);
HWY_EXPORT(FloatLanes);
HWY_EXPORT(CompiledTarget);
HWY_EXPORT(SumOneStream);
HWY_EXPORT(SumFourStreams);
HWY_EXPORT(SumZigZag);
HWY_EXPORT(SumBlockZigZag);
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

// Bytes one timed call reads at least (and at least two passes): small
// arrays are read many times per call so that the call and the timer cost
// nothing measurable.
constexpr size_t kBytesPerCall = size_t{4} << 20;

// Array sizes are multiples of this many bytes: 8 vectors of the widest
// target (64-byte AVX-512 vectors), as the three Sum kernels need.
constexpr int64_t kSizeGrain = 512;

// Load bandwidth at one working-set size: state.range(0) bytes, read
// state.range(1) streams at a time, over and over, alternating direction if
// state.range(2) is 1, alternating the order of its blocks of
// state.range(3) bytes if it is 2. The array is read once before timing, so
// that it sits in the fastest level that holds it.
void LoadBandwidth(benchmark::State& state) {
  const size_t bytes = static_cast<size_t>(state.range(0));
  const bool four_streams = state.range(1) == 4;
  const bool zigzag = state.range(2) == 1;
  // Floats of a block of the block zig-zag (zigzag 2), else 0.
  const size_t block = state.range(2) == 2
                           ? static_cast<size_t>(state.range(3)) / sizeof(float)
                           : 0;
  const size_t n = bytes / sizeof(float);
  // An even number of passes, so that a zig-zag read that ends backwards
  // starts the next call forwards, however large the array.
  const size_t passes =
      std::max<size_t>(2, (kBytesPerCall / bytes + 1) / 2 * 2);
  hwy::AlignedFreeUniquePtr<float[]> data = hwy::AllocateAligned<float>(n);
  for (size_t i = 0; i < n; ++i) data[i] = static_cast<float>(i & 15);
  auto sum = [&](size_t repeat) {
    if (four_streams) {
      return HWY_DYNAMIC_DISPATCH(SumFourStreams)(data.get(), n, repeat);
    }
    if (block > 0) {
      return HWY_DYNAMIC_DISPATCH(SumBlockZigZag)(data.get(), n, block, repeat);
    }
    if (zigzag) return HWY_DYNAMIC_DISPATCH(SumZigZag)(data.get(), n, repeat);
    return HWY_DYNAMIC_DISPATCH(SumOneStream)(data.get(), n, repeat);
  };
  benchmark::DoNotOptimize(sum(1));
  for (auto _ : state) {
    float result = sum(passes);
    benchmark::DoNotOptimize(result);
  }
  state.counters["GB/s"] = benchmark::Counter(
      static_cast<double>(bytes) * static_cast<double>(passes) * 1e-9,
      benchmark::Counter::kIsIterationInvariantRate);
  state.counters["bytes"] = static_cast<double>(bytes);
  state.SetLabel(DispatchedTargetName());
}

// The working-set sizes, ascending and distinct: 4 KiB · √2^k up to 64 MiB,
// U's 4·H² and the streaming step's 6·H² bytes for H = 32, 64, … 1024, each
// rounded down to kSizeGrain.
std::vector<int64_t> WorkingSetSizes() {
  std::vector<int64_t> sizes;
  for (int k = 0; k <= 28; ++k) {
    const double size = 4096.0 * std::pow(2.0, 0.5 * k);
    sizes.push_back(static_cast<int64_t>(size) / kSizeGrain * kSizeGrain);
  }
  for (int64_t h = 32; h <= 1024; h *= 2) {
    sizes.push_back(4 * h * h);  // U
    sizes.push_back(4 * h * (h / 4 + h + h / 4) / kSizeGrain * kSizeGrain);
  }
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  return sizes;
}

// The first processor's entries of /proc/cpuinfo that name the CPU, as
// context keys: "cpu_vendor", "cpu_model_name", "cpu_family" and
// "cpu_model" (decimal, as the file has them), so that the tables made from
// this file name the machine that measured it. Absent keys are left out.
void AddCpuContext() {
  static constexpr std::pair<const char*, const char*> kKeys[] = {
      {"vendor_id", "cpu_vendor"},
      {"model name", "cpu_model_name"},
      {"cpu family", "cpu_family"},
      {"model", "cpu_model"}};
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line) && !line.empty()) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    key.erase(key.find_last_not_of(" \t") + 1);
    const size_t start = line.find_first_not_of(' ', colon + 1);
    const std::string value =
        start == std::string::npos ? std::string() : line.substr(start);
    for (const auto& [file_key, context_key] : kKeys) {
      if (key == file_key) benchmark::AddCustomContext(context_key, value);
    }
  }
}

// The largest of the repetitions' values: with --benchmark_repetitions, the
// "max" aggregate, whose counters are the best rate any repetition reached.
// That is the estimate of a limit: on a shared machine, noise only ever
// slows a probe down, and a bound from a median limit is one that code
// timed at a quieter moment would beat. (Its time is the slowest.)
double Largest(const std::vector<double>& values) {
  return values.empty() ? 0.0 : *std::max_element(values.begin(), values.end());
}

void RegisterAll() {
  benchmark::RegisterBenchmark("BM_FmaPeak", FmaPeak)
      ->ComputeStatistics("max", Largest);
  for (const int64_t bytes : WorkingSetSizes()) {
    // (streams, zigzag): one stream, four, one alternating direction.
    for (const auto& [streams, zigzag] :
         {std::pair<int64_t, int64_t>{1, 0}, {4, 0}, {1, 1}}) {
      benchmark::RegisterBenchmark("BM_LoadBandwidth", LoadBandwidth)
          ->ArgNames({"bytes", "streams", "zigzag"})
          ->Args({bytes, streams, zigzag})
          ->ComputeStatistics("max", Largest)
          ->Unit(benchmark::kMicrosecond);
    }
    // One stream alternating the order of its blocks: 16 KiB (a third of
    // L1) and 128 KiB (a panel of U at H = 512), where the array has more
    // than one.
    for (const int64_t block : {int64_t{16} << 10, int64_t{128} << 10}) {
      if (bytes <= block) continue;
      benchmark::RegisterBenchmark("BM_LoadBandwidth", LoadBandwidth)
          ->ArgNames({"bytes", "streams", "zigzag", "block"})
          ->Args({bytes, 1, 2, block})
          ->ComputeStatistics("max", Largest)
          ->Unit(benchmark::kMicrosecond);
    }
  }
}

}  // namespace
}  // namespace elman::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("hwy_target",
                              elman::bench::DispatchedTargetName());
  elman::bench::AddCpuContext();
  elman::bench::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
#endif  // HWY_ONCE
