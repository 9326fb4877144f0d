// elman_bench_threads: what one synchronisation costs, for elman's pool
// (src/thread_pool.h) and for OpenMP (libgomp, the runtime oneDNN uses here),
// on the same machine in the same run: the numbers issue 10 asked for before
// choosing between them.
//
//   BM_Barrier/<runtime>/threads:N   one barrier inside a running job, all N
//                                    threads arriving together (the B = 1
//                                    recurrence's one sync per time step)
//   BM_ForkJoin/<runtime>/threads:N  one whole job of N empty parts: start
//                                    the workers, wait for them (each split
//                                    product pays this once)
//   BM_ForkJoin/elman_asleep/...     the same with no spin: every job wakes
//                                    sleeping workers, as after a pause
//                                    longer than the pool's spin time
//
// Wall-clock time (several threads). With N above the core count
// (oversubscribed), a barrier costs scheduler time slices: shown, not a
// recommendation.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "elman/threads.h"
#include "src/thread_pool.h"

namespace elman::bench {
namespace {

// Barriers per job in BM_Barrier: enough that the job's start and end are
// noise.
constexpr int kBarriersPerJob = 1000;

void SetPerSync(benchmark::State& state, double syncs_per_iteration) {
  state.counters["ns_per_sync"] =
      benchmark::Counter(syncs_per_iteration * 1e-9,
                         benchmark::Counter::kIsIterationInvariantRate |
                             benchmark::Counter::kInvert);
}

void BarrierPool(benchmark::State& state) {
  const auto threads = static_cast<size_t>(state.range(0));
  ThreadPool pool(threads);
  const internal::Team team{&pool.impl(), nullptr, 0};
  for (auto _ : state) {
    internal::RunParts(team, threads, [](const internal::Part& part) {
      for (int i = 0; i < kBarriersPerJob; ++i) part.Sync();
    });
  }
  SetPerSync(state, kBarriersPerJob);
}

void ForkJoin(benchmark::State& state, std::chrono::microseconds spin) {
  const auto threads = static_cast<size_t>(state.range(0));
  ThreadPool pool(threads, spin);
  const internal::Team team{&pool.impl(), nullptr, 0};
  int64_t parts_run = 0;
  for (auto _ : state) {
    internal::RunParts(team, threads, [&](const internal::Part& part) {
      if (part.index() == 0) ++parts_run;
    });
  }
  benchmark::DoNotOptimize(parts_run);
  SetPerSync(state, 1);
}

void ForkJoinPool(benchmark::State& state) {
  ForkJoin(state, ThreadPool::kDefaultSpin);
}

void ForkJoinPoolAsleep(benchmark::State& state) {
  ForkJoin(state, std::chrono::microseconds(0));
}

void BarrierOpenMp(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
#pragma omp parallel num_threads(threads)
    {
      for (int i = 0; i < kBarriersPerJob; ++i) {
#pragma omp barrier
      }
    }
  }
  SetPerSync(state, kBarriersPerJob);
}

void ForkJoinOpenMp(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  int64_t parts_run = 0;
  for (auto _ : state) {
#pragma omp parallel num_threads(threads)
    {
      if (omp_get_thread_num() == 0) ++parts_run;
    }
  }
  benchmark::DoNotOptimize(parts_run);
  SetPerSync(state, 1);
}

void Register(const char* name, void (*run)(benchmark::State&)) {
  benchmark::RegisterBenchmark(name, run)
      ->ArgName("threads")
      ->Arg(1)
      ->Arg(2)
      ->Arg(3)
      ->UseRealTime()
      ->Unit(benchmark::kNanosecond);
}

}  // namespace
}  // namespace elman::bench

int main(int argc, char** argv) {
  using namespace elman::bench;  // NOLINT(build/namespaces)
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  Register("BM_Barrier/elman", BarrierPool);
  Register("BM_Barrier/openmp", BarrierOpenMp);
  Register("BM_ForkJoin/elman", ForkJoinPool);
  Register("BM_ForkJoin/elman_asleep", ForkJoinPoolAsleep);
  Register("BM_ForkJoin/openmp", ForkJoinOpenMp);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
