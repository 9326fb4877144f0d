// The roofline probes (bench/roofline_probes.h): the reading and FMA
// kernels, once per target, and their Google Benchmark registration.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "bench/roofline_probes.cc"
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

// FMAs that each take a vector loaded from memory, as the FMAs of a
// matrix-vector product do (each weight is used once per product): 16
// accumulators over `n` floats that fit L1, the input a constant in a
// register. Beside FmaChains it tells whether the load ports hold such
// products below the FMA peak. Each pass adds 1e-3 · (0 … 15) per lane to
// an accumulator: no overflow, no subnormals. n is a multiple of 16
// vectors.
float FmaWithLoads(const float* HWY_RESTRICT weights, size_t n, size_t passes) {
  const hn::ScalableTag<float> d;
  const size_t lanes = hn::Lanes(d);
  const auto x = hn::Set(d, 1e-3f);
  auto a0 = hn::Zero(d), a1 = hn::Zero(d), a2 = hn::Zero(d);
  auto a3 = hn::Zero(d), a4 = hn::Zero(d), a5 = hn::Zero(d);
  auto a6 = hn::Zero(d), a7 = hn::Zero(d), a8 = hn::Zero(d);
  auto a9 = hn::Zero(d), a10 = hn::Zero(d), a11 = hn::Zero(d);
  auto a12 = hn::Zero(d), a13 = hn::Zero(d), a14 = hn::Zero(d);
  auto a15 = hn::Zero(d);
  for (size_t pass = 0; pass < passes; ++pass) {
    for (size_t i = 0; i < n; i += 16 * lanes) {
      const float* HWY_RESTRICT row = weights + i;
      a0 = hn::MulAdd(x, hn::Load(d, row + 0 * lanes), a0);
      a1 = hn::MulAdd(x, hn::Load(d, row + 1 * lanes), a1);
      a2 = hn::MulAdd(x, hn::Load(d, row + 2 * lanes), a2);
      a3 = hn::MulAdd(x, hn::Load(d, row + 3 * lanes), a3);
      a4 = hn::MulAdd(x, hn::Load(d, row + 4 * lanes), a4);
      a5 = hn::MulAdd(x, hn::Load(d, row + 5 * lanes), a5);
      a6 = hn::MulAdd(x, hn::Load(d, row + 6 * lanes), a6);
      a7 = hn::MulAdd(x, hn::Load(d, row + 7 * lanes), a7);
      a8 = hn::MulAdd(x, hn::Load(d, row + 8 * lanes), a8);
      a9 = hn::MulAdd(x, hn::Load(d, row + 9 * lanes), a9);
      a10 = hn::MulAdd(x, hn::Load(d, row + 10 * lanes), a10);
      a11 = hn::MulAdd(x, hn::Load(d, row + 11 * lanes), a11);
      a12 = hn::MulAdd(x, hn::Load(d, row + 12 * lanes), a12);
      a13 = hn::MulAdd(x, hn::Load(d, row + 13 * lanes), a13);
      a14 = hn::MulAdd(x, hn::Load(d, row + 14 * lanes), a14);
      a15 = hn::MulAdd(x, hn::Load(d, row + 15 * lanes), a15);
    }
  }
  return Total(d, a0, a1, a2, a3, a4, a5, a6, a7) +
         Total(d, a8, a9, a10, a11, a12, a13, a14, a15);
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

// Adds p[begin, end) into the accumulators backwards: its blocks of 8
// vectors last to first, each block's vectors last to first. end − begin is
// a multiple of 8 vectors.
template <class D, class V>
HWY_INLINE void AddBackwards(D d, const float* HWY_RESTRICT p, size_t begin,
                             size_t end, V& s0, V& s1, V& s2, V& s3, V& s4,
                             V& s5, V& s6, V& s7) {
  const size_t lanes = hn::Lanes(d);
  for (size_t i = end; i > begin;) {
    i -= 8 * lanes;
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

// The one-stream read with every other pass backwards (last vector first).
// A working set a little larger than a cache level loses all of it to a
// front-to-back cyclic read (each line is evicted just before its turn
// comes) but keeps most of it when the direction alternates: a kernel may
// walk U so (a recurrence step forward, the next backward), so the bound
// must grant it. n is a multiple of 8 vectors.
float SumZigZag(const float* HWY_RESTRICT p, size_t n, size_t passes) {
  const hn::ScalableTag<float> d;
  auto s0 = hn::Zero(d), s1 = hn::Zero(d), s2 = hn::Zero(d);
  auto s3 = hn::Zero(d), s4 = hn::Zero(d), s5 = hn::Zero(d);
  auto s6 = hn::Zero(d), s7 = hn::Zero(d);
  for (size_t pass = 0; pass < passes; ++pass) {
    if (pass % 2 == 0) {
      AddForwards(d, p, 0, n, s0, s1, s2, s3, s4, s5, s6, s7);
    } else {
      AddBackwards(d, p, 0, n, s0, s1, s2, s3, s4, s5, s6, s7);
    }
  }
  return Total(d, s0, s1, s2, s3, s4, s5, s6, s7);
}

// The weights of a streaming step at large H read in the order elman's
// PanelStep reads them (src/stream.cc), with no arithmetic but the adds: W,
// U and V stored as column panels of 64 floats (src/panels.h), W's and U's
// panel p read one after the other (ĥ's panel p sums x·Wᵀ, then h·Uᵀ), all
// of ĥ's panels, then V's (the dense layer reads all of h). Every other
// pass reads each of the two products backwards, last panel first, as the
// steps alternate. The step's working set is three arrays read as several
// streams whose order keeps part of each in cache from one step to the
// next, which the one-array reads above do not reproduce: on Zen 5
// Stream::Step at H = 512 read its 1.5 MiB 2 % faster than the best of
// them. `hidden` is a multiple of 64, `input` and `output` of 32 (V's
// panels are then whole, or one of 32 floats); p holds
// hidden·(input + hidden + output) floats.
float SumStepOrder(const float* HWY_RESTRICT p, size_t input, size_t hidden,
                   size_t output, size_t passes) {
  const hn::ScalableTag<float> d;
  constexpr size_t kPanel = 64;
  auto s0 = hn::Zero(d), s1 = hn::Zero(d), s2 = hn::Zero(d);
  auto s3 = hn::Zero(d), s4 = hn::Zero(d), s5 = hn::Zero(d);
  auto s6 = hn::Zero(d), s7 = hn::Zero(d);
  const size_t hidden_panels = hidden / kPanel;
  const size_t output_panels = (output + kPanel - 1) / kPanel;
  const float* HWY_RESTRICT w = p;
  const float* HWY_RESTRICT u = w + input * hidden;
  const float* HWY_RESTRICT v = u + hidden * hidden;
  // Panel q of V: hidden rows of its width, 64 or the last's rest.
  auto v_width = [&](size_t q) { return HWY_MIN(kPanel, output - q * kPanel); };
  for (size_t pass = 0; pass < passes; ++pass) {
    if (pass % 2 == 0) {
      for (size_t q = 0; q < hidden_panels; ++q) {
        const size_t w0 = q * input * kPanel, u0 = q * hidden * kPanel;
        AddForwards(d, w, w0, w0 + input * kPanel, s0, s1, s2, s3, s4, s5, s6,
                    s7);
        AddForwards(d, u, u0, u0 + hidden * kPanel, s0, s1, s2, s3, s4, s5, s6,
                    s7);
      }
      for (size_t q = 0; q < output_panels; ++q) {
        const size_t v0 = q * hidden * kPanel;
        AddForwards(d, v, v0, v0 + hidden * v_width(q), s0, s1, s2, s3, s4, s5,
                    s6, s7);
      }
    } else {
      for (size_t q = hidden_panels; q-- > 0;) {
        const size_t w0 = q * input * kPanel, u0 = q * hidden * kPanel;
        AddBackwards(d, u, u0, u0 + hidden * kPanel, s0, s1, s2, s3, s4, s5, s6,
                     s7);
        AddBackwards(d, w, w0, w0 + input * kPanel, s0, s1, s2, s3, s4, s5, s6,
                     s7);
      }
      for (size_t q = output_panels; q-- > 0;) {
        const size_t v0 = q * hidden * kPanel;
        AddBackwards(d, v, v0, v0 + hidden * v_width(q), s0, s1, s2, s3, s4, s5,
                     s6, s7);
      }
    }
  }
  return Total(d, s0, s1, s2, s3, s4, s5, s6, s7);
}

}  // namespace elman::bench::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "bench/roofline_probes.h"
#include "hwy/aligned_allocator.h"

namespace elman::bench {
HWY_EXPORT(FmaChains);
HWY_EXPORT(FmaWithLoads);
HWY_EXPORT(FloatLanes);
HWY_EXPORT(CompiledTarget);
HWY_EXPORT(SumOneStream);
HWY_EXPORT(SumFourStreams);
HWY_EXPORT(SumZigZag);
HWY_EXPORT(SumBlockZigZag);
HWY_EXPORT(SumStepOrder);
namespace {

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
  state.SetLabel(ProbeTarget());
}

// FP32 FMAs that each load their vector from a 16 KiB array (in L1 on
// every core elman meets): 2 flops per float per pass.
void FmaLoadPeak(benchmark::State& state) {
  constexpr size_t kFloats = 4096;
  constexpr size_t kPasses = 4096;
  hwy::AlignedFreeUniquePtr<float[]> weights =
      hwy::AllocateAligned<float>(kFloats);
  for (size_t i = 0; i < kFloats; ++i) {
    weights[i] = static_cast<float>(i & 15);
  }
  benchmark::DoNotOptimize(
      HWY_DYNAMIC_DISPATCH(FmaWithLoads)(weights.get(), kFloats, 1));
  for (auto _ : state) {
    float result =
        HWY_DYNAMIC_DISPATCH(FmaWithLoads)(weights.get(), kFloats, kPasses);
    benchmark::DoNotOptimize(result);
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * kFloats * kPasses * 1e-9,
                         benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(ProbeTarget());
}

// Bytes one timed call reads at least (and at least two passes): small
// arrays are read many times per call so that the call and the timer cost
// nothing measurable.
constexpr size_t kBytesPerCall = size_t{4} << 20;

// Load bandwidth at one working-set size: state.range(0) bytes, read
// state.range(1) streams at a time, over and over, alternating direction if
// state.range(2) is 1, alternating the order of its blocks of
// state.range(3) bytes if it is 2, and in a streaming step's order at
// H = state.range(3), I = O = H/4 if it is 3 (state.range(0) is then that
// step's 6·H² bytes). The array is read once before timing, so that it sits
// in the fastest level that holds it.
void LoadBandwidth(benchmark::State& state) {
  const size_t bytes = static_cast<size_t>(state.range(0));
  const bool four_streams = state.range(1) == 4;
  const int64_t order = state.range(2);
  // Floats of a block of the block zig-zag (order 2), else 0.
  const size_t block =
      order == 2 ? static_cast<size_t>(state.range(3)) / sizeof(float) : 0;
  // H of the step order (order 3), else 0.
  const size_t hidden = order == 3 ? static_cast<size_t>(state.range(3)) : 0;
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
    if (hidden > 0) {
      return HWY_DYNAMIC_DISPATCH(SumStepOrder)(data.get(), hidden / 4, hidden,
                                                hidden / 4, repeat);
    }
    if (order == 1) {
      return HWY_DYNAMIC_DISPATCH(SumZigZag)(data.get(), n, repeat);
    }
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
  state.SetLabel(ProbeTarget());
}

// The largest of the repetitions' values: with --benchmark_repetitions, the
// "max" aggregate, whose counters are the best rate any repetition reached.
// That is the estimate of a limit: on a shared machine, noise only ever
// slows a probe down, and a bound from a median limit is one that code
// timed at a quieter moment would beat. (Its time is the slowest.)
double Largest(const std::vector<double>& values) {
  return values.empty() ? 0.0 : *std::max_element(values.begin(), values.end());
}

// One BM_LoadBandwidth: `args` for the names "bytes", "streams", "zigzag"
// and, if there is a fourth, `last_name`.
void RegisterRead(std::vector<int64_t> args, const char* last_name = nullptr) {
  std::vector<std::string> names = {"bytes", "streams", "zigzag"};
  if (last_name != nullptr) names.push_back(last_name);
  benchmark::RegisterBenchmark("BM_LoadBandwidth", LoadBandwidth)
      ->ArgNames(names)
      ->Args(args)
      ->ComputeStatistics("max", Largest)
      ->Unit(benchmark::kMicrosecond);
}

// The blocks of RegisterLoadBandwidth's block zig-zag.
constexpr int64_t kGeneralBlocks[] = {int64_t{16} << 10, int64_t{128} << 10};

}  // namespace

const char* ProbeTarget() {
  return hwy::TargetName(HWY_DYNAMIC_DISPATCH(CompiledTarget)());
}

void RegisterFmaPeak() {
  benchmark::RegisterBenchmark("BM_FmaPeak", FmaPeak)
      ->ComputeStatistics("max", Largest);
}

void RegisterFmaLoadPeak() {
  benchmark::RegisterBenchmark("BM_FmaLoadPeak", FmaLoadPeak)
      ->ComputeStatistics("max", Largest);
}

void RegisterLoadBandwidth(int64_t bytes) {
  // (streams, zigzag): one stream, four, one alternating direction.
  for (const auto& [streams, zigzag] :
       {std::pair<int64_t, int64_t>{1, 0}, {4, 0}, {1, 1}}) {
    RegisterRead({bytes, streams, zigzag});
  }
  for (const int64_t block : kGeneralBlocks) {
    if (bytes > block) RegisterRead({bytes, 1, 2, block}, "block");
  }
}

void RegisterPanelReads(int64_t hidden) {
  const int64_t panel = hidden * 64 * int64_t{sizeof(float)};
  const int64_t u_bytes = 4 * hidden * hidden;
  if (std::find(std::begin(kGeneralBlocks), std::end(kGeneralBlocks), panel) ==
          std::end(kGeneralBlocks) &&
      u_bytes > panel) {
    RegisterRead({u_bytes, 1, 2, panel}, "block");
  }
  RegisterRead({6 * hidden * hidden, 1, 3, hidden}, "hidden");
}

}  // namespace elman::bench
#endif  // HWY_ONCE
