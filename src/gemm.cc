// The register-blocked product behind every matrix product of the passes;
// its contract is in src/kernels/gemm-inl.h. Compiled once per SIMD target.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/gemm.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
// Must come after foreach_target.h.
#include <algorithm>
#include <cstddef>

#include "hwy/highway.h"
#include "src/kernels/activation-inl.h"
#include "src/kernels/gemm-inl.h"
#include "src/kernels/partial-inl.h"

HWY_BEFORE_NAMESPACE();
namespace elman::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

namespace gemm_detail {

// Register budget: 32 vector registers on AVX-512, 16 on AVX2/SSE4 and NEON.
// A tile of kRows × kVecs accumulators plus kVecs loaded B vectors and one
// broadcast must fit.
#if HWY_TARGET <= HWY_AVX3 || HWY_TARGET == HWY_SCALAR
inline constexpr size_t kMaxVecs = 4;  // 4×4 tile: 16 + 4 + 1 registers
#else
inline constexpr size_t kMaxVecs = 2;  // 4×2 tile: 8 + 2 + 1 registers
#endif
inline constexpr size_t kMaxRows = 4;
// A single-row tile (the matrix-vector product of the recurrence at B = 1)
// may be twice as wide: its B vectors are each used by one FMA. (16 vectors
// on AVX-512, one contiguous pass over Uᵀ at H = 256, measured slower: 103
// against 136 GB/s at H = 256, 75 against 102 at H = 512.)
inline constexpr size_t kMaxVecsOneRow = 2 * kMaxVecs;

// Independent accumulator sets along K: enough that rows·vecs·splits ≥ 8
// FMA chains are in flight (2 FMA/cycle × 4 cycles latency).
constexpr size_t KSplits(size_t rows, size_t vecs) {
  const size_t chains = rows * vecs;
  return chains >= 8 ? 1 : chains >= 4 ? 2 : 4;
}

// Which part of a tile's work one call does: the K range and whether it
// starts from args.init (first block) or from C. Blocks before the last are
// run with the plain kStore epilogue, so C holds raw sums between blocks.
struct KBlock {
  size_t begin, end;
  bool first, last;
};

// The panel of B a tile multiplies: B(block.begin + k, col0 + j) is
// panel[k·ldb + j], in args.b itself or in its packed copy.
struct Panel {
  const float* data;
  size_t ldb;
};

// Rows of the tile at and past `rows` (1 ≤ rows ≤ kRows) are computed from
// a copy of the last valid row of A and never stored: a row-invariant
// product (GemmArgs::row_invariant) runs every row in a full-height tile.
template <size_t kRows, size_t kVecs, GemmEpilogue kEpilogue,
          Activation kActivation, class D>
HWY_INLINE void Tile(D d, const GemmArgs& args, Panel panel, size_t row0,
                     size_t rows, size_t col0, KBlock block) {
  using V = hn::Vec<D>;
  constexpr size_t kSplits = KSplits(kRows, kVecs);
  const size_t lanes = hn::Lanes(d);
  const size_t cols = std::min(args.n - col0, kVecs * lanes);
  // Valid lanes of vector v of this tile (only the last may be partial).
  auto valid = [&](size_t v) { return std::min(lanes, cols - v * lanes); };

  // Every loop over the accumulators is fully unrolled: an accumulator array
  // indexed by a runtime loop anywhere would be kept in memory by the
  // compiler, and every FMA would then go through a store.
  V acc[kSplits][kRows][kVecs];
#pragma GCC unroll 4
  for (size_t s = 0; s < kSplits; ++s) {
#pragma GCC unroll 8
    for (size_t r = 0; r < kRows; ++r) {
#pragma GCC unroll 8
      for (size_t v = 0; v < kVecs; ++v) acc[s][r][v] = hn::Zero(d);
    }
  }
  const GemmInit init = block.first ? args.init : GemmInit::kAccumulate;
  if (init == GemmInit::kAccumulate) {
#pragma GCC unroll 8
    for (size_t r = 0; r < kRows; ++r) {
      // A guard, not a break: loops with early exits may not be unrolled.
      if (r < rows) {
        const float* c_row = args.c + (row0 + r) * args.ldc + col0;
#pragma GCC unroll 8
        for (size_t v = 0; v < kVecs; ++v) {
          acc[0][r][v] = LoadPartial(d, c_row + v * lanes, valid(v));
        }
      }
    }
  } else if (init == GemmInit::kBias) {
#pragma GCC unroll 8
    for (size_t v = 0; v < kVecs; ++v) {
      const V bias = LoadPartial(d, args.bias + col0 + v * lanes, valid(v));
#pragma GCC unroll 8
      for (size_t r = 0; r < kRows; ++r) acc[0][r][v] = bias;
    }
  }

  const float* HWY_RESTRICT a =
      args.a + row0 * args.a_row + block.begin * args.a_col;
  const float* HWY_RESTRICT b = panel.data;
  const size_t a_row = args.a_row, a_col = args.a_col, ldb = panel.ldb;
  const size_t depth = block.end - block.begin;
  size_t a_offset[kRows];
#pragma GCC unroll 8
  for (size_t r = 0; r < kRows; ++r)
    a_offset[r] = std::min(r, rows - 1) * a_row;
  // One k: kVecs loads of B row k, kRows broadcasts of A(·, k), and
  // kRows·kVecs FMAs into accumulator set `split`.
  auto multiply_add = [&](size_t split, size_t k) HWY_ATTR {
    const float* HWY_RESTRICT b_row = b + k * ldb;
    V b_vec[kVecs];
#pragma GCC unroll 8
    for (size_t v = 0; v < kVecs; ++v) {
      b_vec[v] = hn::LoadU(d, b_row + v * lanes);
    }
#pragma GCC unroll 8
    for (size_t r = 0; r < kRows; ++r) {
      const V a_broadcast = hn::Set(d, a[a_offset[r] + k * a_col]);
#pragma GCC unroll 8
      for (size_t v = 0; v < kVecs; ++v) {
        acc[split][r][v] = hn::MulAdd(a_broadcast, b_vec[v], acc[split][r][v]);
      }
    }
  };
  size_t k = 0;
  for (; k + kSplits <= depth; k += kSplits) {
#pragma GCC unroll 4
    for (size_t s = 0; s < kSplits; ++s) multiply_add(s, k + s);
  }
  for (; k < depth; ++k) multiply_add(0, k);
    // Fixed summation order: results are bit-identical run to run.
#pragma GCC unroll 4
  for (size_t s = 1; s < kSplits; ++s) {
#pragma GCC unroll 8
    for (size_t r = 0; r < kRows; ++r) {
#pragma GCC unroll 8
      for (size_t v = 0; v < kVecs; ++v) {
        acc[0][r][v] = hn::Add(acc[0][r][v], acc[s][r][v]);
      }
    }
  }

#pragma GCC unroll 8
  for (size_t r = 0; r < kRows; ++r) {
    if (r >= rows) continue;  // rows past `rows` are never stored
    float* c_row = args.c + (row0 + r) * args.ldc + col0;
    const size_t extra = (row0 + r) * args.ld_extra + col0;
#pragma GCC unroll 8
    for (size_t v = 0; v < kVecs; ++v) {
      V z = acc[0][r][v];
      if constexpr (kEpilogue == GemmEpilogue::kTimesDerivative) {
        const V output = LoadPartial(
            d, args.activation_output + extra + v * lanes, valid(v));
        z = hn::Mul(z, DerivativeFromOutput<kActivation>(d, output));
      }
      StorePartial(d, z, c_row + v * lanes, valid(v));
      if constexpr (kEpilogue == GemmEpilogue::kStoreAndActivate) {
        StorePartial(d, Activate<kActivation>(d, z),
                     args.activated + extra + v * lanes, valid(v));
      }
    }
  }
}

// Runtime (rows, vecs) → the Tile specialised for them: kRows tall, of
// which `rows` are stored (rows < kRows only in a row-invariant product).
template <size_t kRows, GemmEpilogue kEpilogue, Activation kActivation, class D>
HWY_INLINE void TileWithVecs(D d, const GemmArgs& args, Panel panel,
                             size_t row0, size_t rows, size_t col0, size_t vecs,
                             KBlock block) {
  constexpr size_t kLimit = kRows == 1 ? kMaxVecsOneRow : kMaxVecs;
  // Explicit calls rather than a generic lambda: GCC then inlines every
  // Tile (a lambda in between left some out of line, 1.4× slower per call).
  switch (vecs) {
    case 1:
      return Tile<kRows, 1, kEpilogue, kActivation>(d, args, panel, row0, rows,
                                                    col0, block);
    case 2:
      return Tile<kRows, HWY_MIN(2, kLimit), kEpilogue, kActivation>(
          d, args, panel, row0, rows, col0, block);
    case 3:
      return Tile<kRows, HWY_MIN(3, kLimit), kEpilogue, kActivation>(
          d, args, panel, row0, rows, col0, block);
    case 4:
      return Tile<kRows, HWY_MIN(4, kLimit), kEpilogue, kActivation>(
          d, args, panel, row0, rows, col0, block);
    default:
      break;
  }
  // Wider single-row tiles: only these widths (OneRowPanelVecs).
  if constexpr (kLimit >= 8) {
    if (vecs == 6) {
      return Tile<kRows, 6, kEpilogue, kActivation>(d, args, panel, row0, rows,
                                                    col0, block);
    }
    if (vecs == 8) {
      return Tile<kRows, 8, kEpilogue, kActivation>(d, args, panel, row0, rows,
                                                    col0, block);
    }
  }
  HWY_DASSERT(false);  // GemmSpecialised only asks for the widths above
}

// A row tile of `rows` rows: exactly that tall, or, for a row-invariant
// product, always kMaxRows tall with only `rows` stored, so that every row
// is summed in the same order whatever M is.
template <GemmEpilogue kEpilogue, Activation kActivation, class D>
HWY_INLINE void TileWithRows(D d, const GemmArgs& args, Panel panel,
                             size_t row0, size_t rows, size_t col0, size_t vecs,
                             KBlock block) {
  if (args.row_invariant) {
    return TileWithVecs<kMaxRows, kEpilogue, kActivation>(
        d, args, panel, row0, rows, col0, vecs, block);
  }
  switch (rows) {
    case 1:
      return TileWithVecs<1, kEpilogue, kActivation>(d, args, panel, row0, 1,
                                                     col0, vecs, block);
    case 2:
      return TileWithVecs<2, kEpilogue, kActivation>(d, args, panel, row0, 2,
                                                     col0, vecs, block);
    case 3:
      return TileWithVecs<3, kEpilogue, kActivation>(d, args, panel, row0, 3,
                                                     col0, vecs, block);
    default:
      return TileWithVecs<4, kEpilogue, kActivation>(d, args, panel, row0, 4,
                                                     col0, vecs, block);
  }
}

// The panel width, in vectors, of a single-row product with vecs_left
// vectors of columns to go: the widest single-row tile that fits, so that
// only a panel's last vector is ever partial.
HWY_INLINE size_t OneRowPanelVecs(size_t vecs_left) {
  if (vecs_left >= kMaxVecsOneRow) return kMaxVecsOneRow;
  if (vecs_left <= 4) return vecs_left;
  if (vecs_left >= 8) return 8;
  return vecs_left == 5 ? 4 : 6;  // 7: 6 then 1
}

// The loops around the tiles. Column panels are outermost; within a panel
// K is cut into blocks of kBlockK so that the panel's slice of B (kBlockK ×
// kMaxVecs vectors: 32 KiB on AVX-512) stays in L1 while every row tile of
// the panel streams past it, packed contiguous when there are several row
// tiles to share the copy. A single row tile (M ≤ 4, the matrix-vector case
// of the recurrence) reads each element of B once: no blocks, no packing.
inline constexpr size_t kBlockK = 128;
inline constexpr size_t kPackMinRows = 4 * kMaxRows;

// Copies B(k0…k0+depth−1, col0…col0+vecs·lanes−1) into `pack`, rows of
// vecs·lanes floats. Whole vectors: B's rows are readable one vector past N
// (the kernel's contract); the lanes past N are never stored.
template <class D>
HWY_INLINE Panel PackPanel(D d, const GemmArgs& args, size_t k0, size_t depth,
                           size_t col0, size_t vecs) {
  const size_t lanes = hn::Lanes(d);
  const size_t width = vecs * lanes;
  HWY_DASSERT(depth * width <= kGemmPackFloats);
  const float* HWY_RESTRICT from = args.b + k0 * args.ldb + col0;
  float* HWY_RESTRICT to = args.pack;
  for (size_t k = 0; k < depth; ++k) {
    for (size_t v = 0; v < vecs; ++v) {
      hn::Store(hn::LoadU(d, from + v * lanes), d, to + v * lanes);
    }
    from += args.ldb;
    to += width;
  }
  return {args.pack, width};
}

template <GemmEpilogue kEpilogue, Activation kActivation>
HWY_INLINE void GemmSpecialised(const GemmArgs& args) {
  const hn::ScalableTag<float> d;
  const size_t lanes = hn::Lanes(d);
  static_assert(kBlockK * kMaxVecs * hn::MaxLanes(d) <= kGemmPackFloats);
  const size_t block_k =
      args.m > kMaxRows || args.row_invariant ? kBlockK : HWY_MAX(args.k, 1);
  const bool pack = args.pack != nullptr && args.m >= kPackMinRows;
  for (size_t col0 = 0; col0 < args.n;) {
    const size_t vecs_left = (args.n - col0 + lanes - 1) / lanes;
    // Panel width: as wide as the widest tile its rows may use.
    const size_t vecs = args.m == 1 && !args.row_invariant
                            ? OneRowPanelVecs(vecs_left)
                            : std::min(kMaxVecs, vecs_left);
    for (size_t k0 = 0; k0 < args.k || k0 == 0; k0 += block_k) {
      const KBlock block{k0, std::min(args.k, k0 + block_k), k0 == 0,
                         k0 + block_k >= args.k};
      const Panel panel =
          pack ? PackPanel(d, args, k0, block.end - k0, col0, vecs)
               : Panel{args.b + k0 * args.ldb + col0, args.ldb};
      for (size_t row0 = 0; row0 < args.m; row0 += kMaxRows) {
        const size_t rows = std::min(kMaxRows, args.m - row0);
        if (block.last) {
          TileWithRows<kEpilogue, kActivation>(d, args, panel, row0, rows, col0,
                                               vecs, block);
        } else {
          TileWithRows<GemmEpilogue::kStore, Activation::kIdentity>(
              d, args, panel, row0, rows, col0, vecs, block);
        }
      }
      if (args.k == 0) break;
    }
    col0 += vecs * lanes;
  }
}

// The products of a GemmSequence, in order, each moved by `steps` from the
// one before (moved only between products, so no pointer ever leaves its
// buffer). The epilogue and activation are chosen once for all of them.
template <GemmEpilogue kEpilogue, Activation kActivation>
HWY_INLINE void GemmStepsSpecialised(const GemmArgs& first,
                                     const GemmSteps& steps) {
  GemmArgs args = first;
  for (size_t step = 0;;) {
    GemmSpecialised<kEpilogue, kActivation>(args);
    if (++step == steps.count) break;
    args.a += steps.a;
    args.c += steps.c;
    if constexpr (kEpilogue == GemmEpilogue::kStoreAndActivate) {
      args.activated += steps.extra;
    } else if constexpr (kEpilogue == GemmEpilogue::kTimesDerivative) {
      args.activation_output += steps.extra;
    }
  }
}

}  // namespace gemm_detail

void GemmSequence(const GemmArgs& first, const GemmSteps& steps) {
  using gemm_detail::GemmStepsSpecialised;
  if (steps.count == 0) return;
  switch (first.epilogue) {
    case GemmEpilogue::kStore:
      return GemmStepsSpecialised<GemmEpilogue::kStore, Activation::kIdentity>(
          first, steps);
    case GemmEpilogue::kStoreAndActivate:
      return WithActivation(first.activation, [&](auto tag) {
        GemmStepsSpecialised<GemmEpilogue::kStoreAndActivate,
                             decltype(tag)::value>(first, steps);
      });
    case GemmEpilogue::kTimesDerivative:
      return WithActivation(first.activation, [&](auto tag) {
        GemmStepsSpecialised<GemmEpilogue::kTimesDerivative,
                             decltype(tag)::value>(first, steps);
      });
  }
}

void Gemm(const GemmArgs& args) { GemmSequence(args, GemmSteps{}); }

}  // namespace elman::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();
