// The probes of this machine's single-core limits that the roofline bound
// of the benchmark tables is built from (bench/summarize.py, Roofline): the
// FP32 FMA peak ("GFLOP/s") and the load bandwidth of a working-set size
// ("GB/s"), each way of reading it. Highway kernels on the best target this
// CPU supports (chosen at run time, as elman chooses its own; no -march
// flags); the target's name is each benchmark's label.
//
// elman_bench_roofline registers them over a ladder of sizes.
// elman_bench_peers registers them at the sizes its shapes' bounds read, so
// that with --benchmark_enable_random_interleaving they run between the
// repetitions of the code they bound: on a shared VM the bandwidth of L2
// and beyond changes by tens of percent from minute to minute, and a probe
// timed minutes away from a step can be beaten by it (the streaming step
// at H = 512 once read at 102 % of a bound taken from probes before and
// after the peers).
#ifndef ELMAN_BENCH_ROOFLINE_PROBES_H_
#define ELMAN_BENCH_ROOFLINE_PROBES_H_

#include <cstdint>

namespace elman::bench {

/// Working-set sizes are multiples of this many bytes: 8 vectors of the
/// widest target (64-byte AVX-512 vectors), as the reading kernels need.
inline constexpr int64_t kProbeSizeGrain = 512;

/// The SIMD target the probes run on (Highway's name for it).
const char* ProbeTarget();

/// BM_FmaPeak: FP32 FMAs in 12 independent chains.
void RegisterFmaPeak();

/// BM_FmaLoadPeak: FP32 FMAs that each load their vector from L1, as a
/// matrix-vector product's do. Informative (the bound charges every flop
/// at BM_FmaPeak): whether the load ports hold such products below it.
void RegisterFmaLoadPeak();

/// BM_LoadBandwidth/bytes:N/streams:S/zigzag:Z at N = `bytes` (a multiple
/// of kProbeSizeGrain), every general way of reading it: one stream front
/// to back (S = 1, Z = 0); its four quarters side by side (S = 4), as a
/// matrix-vector product reads four rows at once; one stream alternating
/// direction from pass to pass (Z = 1); one stream alternating the order of
/// its blocks of 16 KiB (a third of L1) and 128 KiB, each block read
/// forwards (Z = 2, …/block:B), where the array holds more than one.
void RegisterLoadBandwidth(int64_t bytes);

/// The reads of elman's weights stored in panels at H (a multiple of 64,
/// src/panels.h): U's 4·H² bytes as blocks of one panel (H rows of 64
/// floats; Z = 2) in alternating order, as the recurrences of one sequence
/// walk it, and W, U and V of a streaming step (I = O = H/4, 6·H² bytes)
/// in the order its product reads them (Z = 3, …/hidden:H). With
/// RegisterLoadBandwidth at both sizes, every probe the bound takes there.
void RegisterPanelReads(int64_t hidden);

}  // namespace elman::bench

#endif  // ELMAN_BENCH_ROOFLINE_PROBES_H_
