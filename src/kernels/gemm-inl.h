// One register-blocked product, C = init + A·B, that carries every matrix
// product of the forward pass and of BPTT (DESIGN.md §3):
//   - A(m, k) is read at a[m·a_row + k·a_col], one broadcast scalar at a time,
//     so A may be used transposed for free (dW = Δᵀ X reads Δ down its
//     columns);
//   - B is K×N row-major and is streamed one row at a time in whole vectors:
//     this is how Uᵀδ(t+1) in the reverse-time loop (eq. 7.15) reads U row by
//     row instead of striding down its columns;
//   - the tile of C stays in registers for the whole K loop, then an epilogue
//     stores it, optionally fused with an activation (h = f(ĥ)) or with a
//     derivative (δ = dh ⊙ f'(ĥ)).
// With M = 1 the product is a matrix-vector product: each loaded vector of B
// row k feeds one FMA per accumulator, and the K loop is split over several
// accumulator sets so that a small tile still has enough independent FMA
// chains to hide their latency.
//
// Packing: when M spans several row tiles, each K block of a column panel of
// B is first copied into `pack`, contiguous. Unpacked, consecutive rows of a
// panel sit ldb floats apart; with ldb a multiple of 512 floats (2 KiB) they
// fall into a handful of L1 sets and evict each other long before the panel
// is reused by the next row tile. A read with a stride along K (a_col ≠ 1,
// e.g. Δᵀ) may be packed too (GemmArgs::pack_strided_a), per block of rows
// and K, so that each tile broadcasts from one contiguous run instead of one
// cache line per k.
//
// Memory contract (why the kernel never needs masked loads in its K loop):
// B must stay readable for a whole vector past the last element of each row
// it uses (elman's own buffers and Parameters keep that slack). Lanes past N
// then hold garbage that is never stored. C, `bias`, `activated` and
// `activation_output` are read and written exactly: partial vectors go through
// LoadPartial/StorePartial.
#ifndef ELMAN_SRC_KERNELS_GEMM_PACK_FLOATS_
#define ELMAN_SRC_KERNELS_GEMM_PACK_FLOATS_
#include <cstddef>

#include "hwy/base.h"  // HWY_ARCH_ARM_A64
#include "src/buffer.h"
namespace elman {
/// The widest panel of B of any target compiled in, in floats: 4 vectors
/// (src/gemm.cc, kMaxVecs) of AVX-512 on x86; on AArch64 2 vectors of the
/// widest SVE (internal::kMaxVectorFloats, 2048 bits; 128 to 512 on today's
/// cores).
#if HWY_ARCH_ARM_A64
inline constexpr size_t kGemmWidestPanelFloats = 2 * internal::kMaxVectorFloats;
#else
inline constexpr size_t kGemmWidestPanelFloats = 4 * internal::kMaxVectorFloats;
#endif
/// The B panel's part of the pack scratch, one K block (128 rows) of the
/// widest panel (32 KiB on AVX-512, stays in L1 while the row tiles stream
/// past it; the panels of a narrower vector use the start of it): enough for
/// every product that does not ask to pack A (GemmArgs::pack_strided_a): a
/// Stream's, and a Workspace's unless its weight gradients may pack A
/// (src/gemm_choice.h), which then has kGemmPackFloats a thread.
inline constexpr size_t kGemmPackBFloats = 128 * kGemmWidestPanelFloats;
/// Size of the scratch (GemmArgs::pack) that Gemm packs its operands into:
/// the B panel's part, then one block of 192 rows × 128 of A when A is read
/// with a stride along K (96 KiB, stays in L2 while the column panels
/// stream past it).
inline constexpr size_t kGemmPackFloats = kGemmPackBFloats + 192 * 128;
}  // namespace elman
#endif  // ELMAN_SRC_KERNELS_GEMM_PACK_FLOATS_

#if defined(ELMAN_SRC_KERNELS_GEMM_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ELMAN_SRC_KERNELS_GEMM_INL_H_
#undef ELMAN_SRC_KERNELS_GEMM_INL_H_
#else
#define ELMAN_SRC_KERNELS_GEMM_INL_H_
#endif

#include <cstddef>

#include "elman/model.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace elman::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

/// What C starts from before A·B is added.
enum class GemmInit {
  kZero,        ///< C = A·B
  kBias,        ///< C = 1·biasᵀ + A·B  (bias: N floats, the same every row)
  kAccumulate,  ///< C = C + A·B
};

/// What the epilogue does with the finished tile Z = init + A·B.
enum class GemmEpilogue {
  kStore,             ///< C = Z
  kStoreAndActivate,  ///< C = Z, activated = a(Z)
  kTimesDerivative,   ///< C = Z ⊙ a'(z), from activation_output = a(z)
};

struct GemmArgs {
  size_t m = 0, n = 0, k = 0;
  const float* a = nullptr;  ///< A(m, k) = a[m·a_row + k·a_col]
  size_t a_row = 0, a_col = 1;
  const float* b = nullptr;  ///< B(k, n) = b[k·ldb + n]
  size_t ldb = 0;
  float* c = nullptr;  ///< C(m, n) = c[m·ldc + n]
  size_t ldc = 0;
  GemmInit init = GemmInit::kZero;
  const float* bias = nullptr;  ///< for kBias
  GemmEpilogue epilogue = GemmEpilogue::kStore;
  Activation activation = Activation::kIdentity;
  float* activated = nullptr;  ///< for kStoreAndActivate; row stride ld_extra
  /// for kTimesDerivative: a(z) at the pre-activations z (δ = dh ⊙ f'(ĥ)
  /// takes the stored h = f(ĥ)); row stride ld_extra
  const float* activation_output = nullptr;
  size_t ld_extra = 0;
  /// kGemmPackFloats floats of scratch (kGemmPackBFloats unless
  /// pack_strided_a), 64-byte aligned, not overlapping any operand; nullptr
  /// never packs (fine for M ≤ 4: one row tile).
  float* pack = nullptr;
  /// Each row of C comes out bit for bit the same whatever M is (every row
  /// in a full-height tile, K always in the same blocks): the streaming
  /// step's projections, so that one Run over T steps equals T Steps.
  bool row_invariant = false;
  /// B again, stored in panels (src/panels.h, PanelLayout{k, n}), or
  /// nullptr. Where the target's column panels fit in those (every x86
  /// target; not SVE wider than 512 bits) and M > 1, the product reads B
  /// from there instead of packing it: a recurrence's weights, packed once
  /// for every step of a pass rather than once per step. `b` is still
  /// required (the other cases read it); a column part (GemmColumnPart)
  /// reads `b`.
  const float* b_panels = nullptr;
  /// B given as its transpose: B(k, n) = b[n·ldb + k] (N rows of ldb ≥ K
  /// floats), so that a product with Wᵀ reads the weights W as they are:
  /// Forward's X·Wᵀ and H·Vᵀ above the fused path. Each K block of a
  /// column panel is packed by a transposing copy (TransposeBlock), instead
  /// of a transposed copy of the whole matrix made first, which moved it
  /// through the caches once more. Needs `pack` and a product blocked along
  /// K (row_invariant, or M > 4); not with b_panels. The same bits as B
  /// given plainly.
  bool b_transposed = false;
  /// Also pack A, when it is read with a stride along K (a_col ≠ 1: Δᵀ in
  /// the weight gradients) and `pack` is given, so that each tile
  /// broadcasts from one contiguous run; the same bits as unpacked. Needs
  /// kGemmPackFloats of `pack`. Whether the weight gradients ask for it is
  /// timed once per process and target (src/gemm_choice.h): on Zen 5 it
  /// costs 10–17 % (the strided lines stay in L1 across the row tiles that
  /// share them); it is meant for cores where loads are scarcer per flop
  /// (DESIGN.md §7). Ignored by row-invariant products.
  bool pack_strided_a = false;
};

/// How a sequence of same-shaped products moves from one time step to the
/// next: these many floats (negative to run backward in time) are added to
/// GemmArgs::a, ::c and the epilogue's operand (::activated or
/// ::activation_output) between one product and the next.
struct GemmSteps {
  size_t count = 1;  ///< products to run
  ptrdiff_t a = 0, c = 0, extra = 0;
};

/// `steps.count` products in order: `first`, then `first` moved by `steps`,
/// and so on. One product's C or `activated` may be the next one's A, so the
/// recurrence ĥ(t) = P(t) + h(t−1)·Uᵀ, h(t) = f(ĥ(t)) and eq. 7.15's
/// δ(t) = (G(t) + δ(t+1)·U) ⊙ f'(ĥ(t)) are each one call: the epilogue and
/// activation are dispatched once, not at every time step.
void GemmSequence(const GemmArgs& first, const GemmSteps& steps);

/// C = init + A·B with the chosen epilogue (see GemmArgs). Does nothing when
/// m or n is 0; with k = 0 the result is init alone. Defined once per target
/// in src/gemm.cc (so that the many tile specialisations are compiled once,
/// not in every pass that uses them).
void Gemm(const GemmArgs& args);

/// Moves `args` on to the next product of a sequence (see GemmSteps).
HWY_INLINE void MoveBySteps(GemmArgs& args, const GemmSteps& steps) {
  args.a += steps.a;
  args.c += steps.c;
  if (args.epilogue == GemmEpilogue::kStoreAndActivate) {
    args.activated += steps.extra;
  } else if (args.epilogue == GemmEpilogue::kTimesDerivative) {
    args.activation_output += steps.extra;
  }
}

// Cutting one product into parts that threads compute independently, each
// part a product of its own (src/parallel_gemm-inl.h). The cuts follow the
// kernel's own tiles, so that every element of C is summed in the same order
// as by the whole product: the parts' results are bit for bit the whole's.
//   - Rows: parts start at a multiple of the row tile, and, unless the
//     product is row-invariant, each part has more rows than one tile (a
//     product of a single row tile sums K in one block, not in kBlockK
//     blocks).
//   - Columns: parts start at a multiple of the panel width (a single-row
//     product's panels are wider).
// Packing (GemmArgs::pack) only copies operands: each part needs its own
// scratch, and the cut does not change what is summed.

/// The most parts (≤ max_parts, ≥ 1) the rows of `args` can be cut into.
size_t GemmRowParts(const GemmArgs& args, size_t max_parts);
/// Part `part` of `parts` ≤ GemmRowParts(args, parts) of the rows, as a
/// product of its own (its pack scratch still to be set).
GemmArgs GemmRowPart(const GemmArgs& args, size_t part, size_t parts);
/// The most parts (≤ max_parts, ≥ 1) the columns of `args` can be cut into.
size_t GemmColumnParts(const GemmArgs& args, size_t max_parts);
/// Part `part` of `parts` ≤ GemmColumnParts(args, parts) of the columns.
GemmArgs GemmColumnPart(const GemmArgs& args, size_t part, size_t parts);

}  // namespace elman::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // ELMAN_SRC_KERNELS_GEMM_INL_H_
