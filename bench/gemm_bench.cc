// The GEMM kernel alone (src/kernels/gemm-inl.h), single thread, on the best
// SIMD target of this CPU: the square 256³ product and the products the
// passes run at the throughput shapes, with A plain or read transposed as
// the weight-gradient sums read it. Reports "GFLOP/s" (2·M·N·K per call).
//
// Names: BM_Gemm/M:256/N:256/K:256/At:0/Pack:1 (At:1 = A read transposed;
// Pack:0 = no pack buffer, B read in place: what packing buys).
// BM_GemmPackedA: the weight-gradient shapes with A transposed packed as well
// (GemmArgs::pack_strided_a), to compare with their BM_Gemm rows.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "bench/bench_util.h"
#include "hwy/aligned_allocator.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "bench/gemm_bench.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
// Must come after foreach_target.h.
#include "hwy/highway.h"
#include "src/kernels/gemm-inl.h"

HWY_BEFORE_NAMESPACE();
namespace elman::HWY_NAMESPACE {

// C(m×n) = A·B with A(m×k) row-major, or stored k×m when `a_transposed`.
void RunGemm(size_t m, size_t n, size_t k, bool a_transposed, const float* a,
             const float* b, float* c, float* pack, bool pack_a) {
  GemmArgs args;
  args.m = m;
  args.n = n;
  args.k = k;
  args.a = a;
  args.a_row = a_transposed ? 1 : k;
  args.a_col = a_transposed ? m : 1;
  args.b = b;
  args.ldb = n;
  args.c = c;
  args.ldc = n;
  args.pack = pack;
  args.pack_strided_a = pack_a;
  Gemm(args);
}

const char* TargetName() { return hwy::TargetName(HWY_TARGET); }

}  // namespace elman::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace elman::bench {
namespace {

HWY_EXPORT(RunGemm);
HWY_EXPORT(TargetName);

void RunBenchmark(benchmark::State& state, bool pack_a) {
  const size_t m = static_cast<size_t>(state.range(0));
  const size_t n = static_cast<size_t>(state.range(1));
  const size_t k = static_cast<size_t>(state.range(2));
  const bool a_transposed = state.range(3) != 0;
  const bool packed = state.range(4) != 0;
  // B rows must stay readable one vector past N (the kernel's contract).
  const std::vector<float> a = RandomInputs(m * k, 1);
  std::vector<float> b = RandomInputs(k * n + 16, 2);
  std::vector<float> c(m * n);
  auto pack = hwy::AllocateAligned<float>(kGemmPackFloats);
  for (auto _ : state) {
    HWY_DYNAMIC_DISPATCH(RunGemm)
    (m, n, k, a_transposed, a.data(), b.data(), c.data(),
     packed ? pack.get() : nullptr, pack_a);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  // B's bytes per second: what bounds the matrix-vector products (M = 1),
  // where each element of B feeds a single FMA.
  state.counters["B_GB/s"] =
      benchmark::Counter(4e-9 * static_cast<double>(k * n),
                         benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] =
      benchmark::Counter(2e-9 * static_cast<double>(m * n * k),
                         benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(HWY_DYNAMIC_DISPATCH(TargetName)());
}

void BM_Gemm(benchmark::State& state) { RunBenchmark(state, false); }
void BM_GemmPackedA(benchmark::State& state) { RunBenchmark(state, true); }

// M, N, K, A transposed. The pass products at (I,H,O,T,B) = (256,512,256,50,
// 64), T·B = 3200 rows: X·Wᵀ (and E·V), H·Vᵀ; dW = ΔᵀX, dU = ΔᵀH₋₁, dV = EᵀH.
// At B = 1 (T·B = 50): X·Wᵀ and dU; and one step of the recurrence,
// h(t−1)·Uᵀ at H = 128, 256, 512 (M = 1: a matrix-vector product, bound by
// the bandwidth of the cache level U sits in, reported as B_GB/s).
BENCHMARK(BM_Gemm)
    ->ArgNames({"M", "N", "K", "At", "Pack"})
    ->Args({256, 256, 256, 0, 0})
    ->Args({256, 256, 256, 0, 1})
    ->Args({256, 256, 256, 1, 1})
    ->Args({3200, 512, 256, 0, 1})
    ->Args({3200, 256, 512, 0, 1})
    ->Args({512, 256, 3200, 1, 1})
    ->Args({512, 512, 3200, 1, 1})
    ->Args({256, 512, 3200, 1, 1})
    ->Args({50, 512, 256, 0, 1})
    ->Args({512, 512, 50, 1, 1})
    ->Args({1, 128, 128, 0, 0})
    ->Args({1, 256, 256, 0, 0})
    ->Args({1, 512, 512, 0, 0})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_GemmPackedA)
    ->ArgNames({"M", "N", "K", "At", "Pack"})
    ->Args({512, 256, 3200, 1, 1})
    ->Args({512, 512, 3200, 1, 1})
    ->Args({256, 512, 3200, 1, 1})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace elman::bench

BENCHMARK_MAIN();
#endif  // HWY_ONCE
