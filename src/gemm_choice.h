// Whether the products that read A with a stride along K — the weight
// gradients dW = Δᵀ X, dU = Δᵀ H₋₁ and dV = Eᵀ H — pack A first
// (GemmArgs::pack_strided_a), chosen per process and SIMD target by timing
// both (issue 7: "if the best depends on the CPU model, pick it at run
// time").
//
// Unpacked, a tile broadcasts its rows' values of each k from a new cache
// line, K apart (Δ's rows are H floats long). Packed, it reads them from one
// contiguous run, at the price of a copy per row block and K block. Which
// costs more depends on the core: on Zen 5 the strided lines stay in L1
// across the row tiles that share them, and packing took 1.10–1.17× the
// time at the passes' shapes (elman_bench_gemm, BM_GemmPackedA); on cores
// with fewer loads per flop (Ice Lake, DESIGN.md §7) the strided broadcasts
// are what the product waits on. Either way every element of the gradient
// is the same sum in the same order (the tile does not change), so the
// choice changes the speed, never the bits.
//
// The measurement runs once per process and target, when a Workspace whose
// weight gradients go through the GEMM is built (ChoosePackStridedA): a
// dU-like product, 256 × 256 with K = 512, timed four times each way
// alternately (a few milliseconds). ELMAN_GEMM_PACK_A=1 or 0 in the
// environment skips it and packs always or never ("auto", or unset,
// measures).
#ifndef ELMAN_SRC_GEMM_CHOICE_H_
#define ELMAN_SRC_GEMM_CHOICE_H_

#include <cstdint>
#include <optional>
#include <string>

namespace elman::internal {

/// Whether the strided products pack A on `target` (a HWY_TARGET bit): false
/// until ChoosePackStridedA has run on that target. One relaxed atomic load.
bool PacksStridedA(int64_t target);

/// Decides for the target the next dispatch on this thread uses, once per
/// process and target (later calls return at once): from ELMAN_GEMM_PACK_A
/// if it is set, else by timing. Thread-safe. Throws elman::Error if
/// ELMAN_GEMM_PACK_A holds anything but 0, 1 or auto.
void ChoosePackStridedA();

/// How the current target's choice was made, for the benchmarks' context
/// line: e.g. "no (measured: packed 1.12x the time)", "yes
/// (ELMAN_GEMM_PACK_A=1)", "no (not measured)".
std::string PackStridedADecision();

/// The timing's rule: pack where the packed product took under 0.97 of the
/// unpacked one's time (`ratio` = packed / unpacked; 0 = not measured).
bool PackingPays(double ratio);

/// ELMAN_GEMM_PACK_A's value: nullopt for unset (nullptr), empty or "auto",
/// else true for "1", false for "0"; throws elman::Error naming the
/// variable for anything else.
std::optional<bool> ParsePackStridedAOverride(const char* value);

/// Tests: every target packs (true) or not (false) from now on, measured or
/// not; nullopt forgets every choice, so that the next ChoosePackStridedA
/// decides again.
void ForcePackStridedAForTest(std::optional<bool> pack);

}  // namespace elman::internal

#endif  // ELMAN_SRC_GEMM_CHOICE_H_
