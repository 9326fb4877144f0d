// The register-blocked product behind every matrix product of the passes;
// its contract is in src/kernels/gemm-inl.h. Compiled once per SIMD target.
//
// Compile time: the tile kernel knows nothing of the epilogue. It stores
// the raw sums; the activation or derivative is then applied by a small
// loop per (epilogue, activation) over the tile just stored, still in L1.
// Fusing them into the tile multiplied the unrolled tile specialisations by
// nine (kStore, and four activations each for the other two epilogues).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/gemm.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
// Must come after foreach_target.h.
#include <algorithm>
#include <cstddef>
#include <utility>

#include "hwy/highway.h"
#include "src/kernels/activation-inl.h"
#include "src/kernels/gemm-inl.h"
#include "src/kernels/partial-inl.h"
#include "src/kernels/transpose-inl.h"
#include "src/kernels/vector_pack-inl.h"
#include "src/panels.h"

HWY_BEFORE_NAMESPACE();
namespace elman::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

namespace gemm_detail {

// Register budget: 32 vector registers on AVX-512, 16 on AVX2/SSE4 and NEON.
// A tile of kRows × kVecs accumulators plus kVecs loaded B vectors and one
// broadcast must fit. The scalar fallback takes the small tile too: only
// correctness matters there, and each tile shape costs compile time.
#if HWY_TARGET <= HWY_AVX3
inline constexpr size_t kMaxVecs = 4;  // 4×4 tile: 16 + 4 + 1 registers
#else
inline constexpr size_t kMaxVecs = 2;  // 4×2 tile: 8 + 2 + 1 registers
#endif
inline constexpr size_t kMaxRows = 4;
// The row tile of a product with many rows (M > 4, not row-invariant).
// A taller AVX-512 tile, 6 × 4 vectors (24 accumulators + 4 B vectors + 1
// broadcast of the 32 registers; per k 4 loads of B and 6 broadcasts of A
// feed 24 FMAs: 0.42 loads per FMA against 0.5 for 4 × 4), runs even with
// 4 × 4 on Zen 5, where loads are plentiful (DESIGN.md §7): the median
// ratio of the two builds' GEMM times, timed in turn, was 0.98–1.05 at the
// passes' shapes, in the VM's fast minutes and in its slow ones, when the
// loads slow most (bench/README.md). Set kTallRows = 6 under HWY_AVX3 to
// try it on Ice Lake, whose loads are scarcer per flop.
inline constexpr size_t kTallRows = kMaxRows;
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
// starts from args.init (first block) or from C (raw sums of the blocks
// before it).
struct KBlock {
  size_t begin, end;
  bool first, last;
};

// The block of A a tile multiplies: A(row0 + r, block.begin + k) is
// data[r·row + k·col], in args.a itself or in its packed copy (row = 1,
// col = kMaxRows: the tile's values of one k adjacent).
struct APanel {
  const float* data;
  size_t row, col;
};

// The panel of B a tile multiplies: B(block.begin + k, col0 + j) is
// panel[k·ldb + j], in args.b itself or in its packed copy.
struct Panel {
  const float* data;
  size_t ldb;
};

// C(row0…, col0…) = init + A·B for one tile, stored raw (no epilogue).
// Out of line, one function per shape: all of them inlined into the loops
// below made one function in which GCC 12 spilled the accumulators
// (AVX-512: 65 against 170 GFLOP/s at 3200×512×256).
// Rows of the tile at and past `rows` (1 ≤ rows ≤ kRows) are computed from
// a copy of the last valid row of A and never stored: a row-invariant
// product (GemmArgs::row_invariant) runs every row in a full-height tile.
// Targets with sizeless vectors (SVE) compute the same tile, in the same
// order, without an array of accumulators: see the #else branch.
#if !HWY_HAVE_SCALABLE
template <size_t kRows, size_t kVecs, class D>
HWY_INLINE void TileBody(D d, const GemmArgs& args, APanel a_panel, Panel panel,
                         size_t row0, size_t rows, size_t col0, KBlock block) {
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

  const float* HWY_RESTRICT a = a_panel.data;
  const float* HWY_RESTRICT b = panel.data;
  const size_t a_col = a_panel.col, ldb = panel.ldb;
  const size_t depth = block.end - block.begin;
  size_t a_offset[kRows];
#pragma GCC unroll 8
  for (size_t r = 0; r < kRows; ++r) {
    a_offset[r] = std::min(r, rows - 1) * a_panel.row;
  }
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
#pragma GCC unroll 8
    for (size_t v = 0; v < kVecs; ++v) {
      StorePartial(d, acc[0][r][v], c_row + v * lanes, valid(v));
    }
  }
}
#else   // HWY_HAVE_SCALABLE
// The tile on targets whose vectors are sizeless (src/kernels/
// vector_pack-inl.h): accumulator acc[s][r][v] of the array version above is
// parameter number (s·kRows + r)·kVecs + v of a pack, and each of its loops
// over the accumulators a fold expression over the pack. Each accumulator
// gets the same operations in the same order as there. Within one fold, the
// loads of B row k and the broadcasts of A(r, k) that several accumulators
// share are the same expressions, merged by the compiler (kVecs loads and
// kRows broadcasts per k, as in the array version).

// Where the tile reads A and B along its K block: A(row0 + r, block.begin +
// k) at a[row_offset[r] + k·a_col], B(block.begin + k, col0 + j) at
// b[k·ldb + j].
template <size_t kRows>
struct TileOperands {
  const float* HWY_RESTRICT a;
  size_t row_offset[kRows];
  size_t a_col;
  const float* HWY_RESTRICT b;
  size_t ldb;
};

// Accumulator kAcc's place in a kRows × kVecs tile: split, row and vector.
template <size_t kRows, size_t kVecs, size_t kAcc>
struct TilePlace {
  static constexpr size_t kSplit = kAcc / (kRows * kVecs);
  static constexpr size_t kRow = kAcc / kVecs % kRows;
  static constexpr size_t kVec = kAcc % kVecs;
};

// acc + A(row, k)·B(k, vector) for accumulator kAcc's row and vector.
template <size_t kRows, size_t kVecs, size_t kAcc, class D, class V>
HWY_INLINE V TileMulAdd(D d, const TileOperands<kRows>& in, size_t k, V acc) {
  using Place = TilePlace<kRows, kVecs, kAcc>;
  const V a_broadcast =
      hn::Set(d, in.a[in.row_offset[Place::kRow] + k * in.a_col]);
  const V b_vec = hn::LoadU(d, in.b + k * in.ldb + Place::kVec * hn::Lanes(d));
  return hn::MulAdd(a_broadcast, b_vec, acc);
}

// Accumulator kAcc's value before the K loop: C, the bias or zero in split
// 0, as the array version initialises it; zero in the other splits.
template <size_t kRows, size_t kVecs, size_t kAcc, class D>
HWY_INLINE hn::Vec<D> TileStart(D d, const GemmArgs& args, GemmInit init,
                                size_t row0, size_t rows, size_t col0,
                                size_t cols) {
  using Place = TilePlace<kRows, kVecs, kAcc>;
  const size_t lanes = hn::Lanes(d);
  const size_t offset = Place::kVec * lanes;
  const size_t valid = std::min(lanes, cols - offset);
  if (Place::kSplit == 0 && init == GemmInit::kAccumulate &&
      Place::kRow < rows) {
    return LoadPartial(
        d, args.c + (row0 + Place::kRow) * args.ldc + col0 + offset, valid);
  }
  if (Place::kSplit == 0 && init == GemmInit::kBias) {
    return LoadPartial(d, args.bias + col0 + offset, valid);
  }
  return hn::Zero(d);
}

// Stores the tile's row-and-vector kAcc < kRows·kVecs (split 0's numbering):
// the sum of its kSplits accumulators, added in split order.
template <size_t kRows, size_t kVecs, size_t kSplits, size_t kAcc, class D,
          class... V>
HWY_INLINE void TileStoreOne(D d, const GemmArgs& args, size_t row0,
                             size_t rows, size_t col0, size_t cols, V... acc) {
  using Place = TilePlace<kRows, kVecs, kAcc>;
  if (Place::kRow >= rows) return;  // rows past `rows` are never stored
  const size_t lanes = hn::Lanes(d);
  const size_t offset = Place::kVec * lanes;
  StorePartial(d, SumStrided<kAcc, kRows * kVecs, kSplits>(acc...),
               args.c + (row0 + Place::kRow) * args.ldc + col0 + offset,
               std::min(lanes, cols - offset));
}

template <size_t kRows, size_t kVecs, size_t kSplits, class D,
          size_t... kStored, class... V>
HWY_INLINE void TileStore(D d, const GemmArgs& args, size_t row0, size_t rows,
                          size_t col0, size_t cols,
                          std::index_sequence<kStored...>, V... acc) {
  (TileStoreOne<kRows, kVecs, kSplits, kStored>(d, args, row0, rows, col0, cols,
                                                acc...),
   ...);
}

// The K loop and the store, the accumulators `acc` holding their starting
// values.
template <size_t kRows, size_t kVecs, class D, size_t... kAcc, class... V>
HWY_INLINE void TileLoop(D d, const GemmArgs& args,
                         const TileOperands<kRows>& in, size_t depth,
                         size_t row0, size_t rows, size_t col0, size_t cols,
                         std::index_sequence<kAcc...>, V... acc) {
  constexpr size_t kSplits = KSplits(kRows, kVecs);
  static_assert(sizeof...(kAcc) == kSplits * kRows * kVecs);
  size_t k = 0;
  for (; k + kSplits <= depth; k += kSplits) {
    ((acc = TileMulAdd<kRows, kVecs, kAcc>(
          d, in, k + TilePlace<kRows, kVecs, kAcc>::kSplit, acc)),
     ...);
  }
  for (; k < depth; ++k) {  // the rest, into split 0
    ((acc = TilePlace<kRows, kVecs, kAcc>::kSplit == 0
                ? TileMulAdd<kRows, kVecs, kAcc>(d, in, k, acc)
                : acc),
     ...);
  }
  TileStore<kRows, kVecs, kSplits>(d, args, row0, rows, col0, cols,
                                   std::make_index_sequence<kRows * kVecs>(),
                                   acc...);
}

template <size_t kRows, size_t kVecs, class D, size_t... kAcc>
HWY_INLINE void TileFromStart(D d, const GemmArgs& args,
                              const TileOperands<kRows>& in, size_t depth,
                              GemmInit init, size_t row0, size_t rows,
                              size_t col0, size_t cols,
                              std::index_sequence<kAcc...> accs) {
  TileLoop<kRows, kVecs>(
      d, args, in, depth, row0, rows, col0, cols, accs,
      TileStart<kRows, kVecs, kAcc>(d, args, init, row0, rows, col0, cols)...);
}

template <size_t kRows, size_t kVecs, class D>
HWY_INLINE void TileBody(D d, const GemmArgs& args, APanel a_panel, Panel panel,
                         size_t row0, size_t rows, size_t col0, KBlock block) {
  constexpr size_t kSplits = KSplits(kRows, kVecs);
  const size_t cols = std::min(args.n - col0, kVecs * hn::Lanes(d));
  TileOperands<kRows> in{a_panel.data, {}, a_panel.col, panel.data, panel.ldb};
  for (size_t r = 0; r < kRows; ++r) {
    in.row_offset[r] = std::min(r, rows - 1) * a_panel.row;
  }
  TileFromStart<kRows, kVecs>(
      d, args, in, block.end - block.begin,
      block.first ? args.init : GemmInit::kAccumulate, row0, rows, col0, cols,
      std::make_index_sequence<kSplits * kRows * kVecs>());
}
#endif  // HWY_HAVE_SCALABLE

// Single-row tiles (the matrix-vector products of the recurrence, one tile
// per call at H ≤ 128) are inlined into the loops: out of line, H = 128 was
// 12 % slower. They are small enough not to crowd the registers.
// APanel and KBlock (three words each) go by reference: by value, they are
// passed on the stack, and GCC 12 assembled each from a 16-byte store that
// the callee's loads only partly overlapped, a failed store-to-load
// forwarding per call. By reference, on Zen 5: 178 → 195 GFLOP/s at
// 512×512×50 (Aᵀ), where K is short, and 3–5 % at the other passes' shapes.
template <size_t kRows, size_t kVecs, class D>
HWY_NOINLINE void TileOutOfLine(D d, const GemmArgs& args,
                                const APanel& a_panel, Panel panel, size_t row0,
                                size_t rows, size_t col0, const KBlock& block) {
  TileBody<kRows, kVecs>(d, args, a_panel, panel, row0, rows, col0, block);
}
template <size_t kRows, size_t kVecs, class D>
HWY_INLINE void Tile(D d, const GemmArgs& args, APanel a_panel, Panel panel,
                     size_t row0, size_t rows, size_t col0, KBlock block) {
  if constexpr (kRows == 1) {
    TileBody<kRows, kVecs>(d, args, a_panel, panel, row0, rows, col0, block);
  } else {
    TileOutOfLine<kRows, kVecs>(d, args, a_panel, panel, row0, rows, col0,
                                block);
  }
}

// Runtime (rows, vecs) → the Tile specialised for them: kRows tall, of
// which `rows` are stored (rows < kRows only in a row-invariant product).
// Only the shapes the loops below ask for are instantiated: kRows × 1…
// kMaxVecs, and single-row tiles 6 and 8 vectors wide (OneRowPanelVecs).
template <size_t kRows, class D>
HWY_INLINE void TileWithVecs(D d, const GemmArgs& args, APanel a, Panel panel,
                             size_t row0, size_t rows, size_t col0, size_t vecs,
                             KBlock block) {
  constexpr size_t kLimit = kRows == 1 ? kMaxVecsOneRow : kMaxVecs;
  switch (vecs) {
    case 1:
      return Tile<kRows, 1>(d, args, a, panel, row0, rows, col0, block);
    case 2:
      return Tile<kRows, HWY_MIN(2, kLimit)>(d, args, a, panel, row0, rows,
                                             col0, block);
    default:
      break;
  }
  if constexpr (kLimit >= 4) {
    if (vecs == 3) {
      return Tile<kRows, 3>(d, args, a, panel, row0, rows, col0, block);
    }
    if (vecs == 4) {
      return Tile<kRows, 4>(d, args, a, panel, row0, rows, col0, block);
    }
  }
  if constexpr (kLimit >= 8) {
    if (vecs == 6) {
      return Tile<kRows, 6>(d, args, a, panel, row0, rows, col0, block);
    }
    if (vecs == 8) {
      return Tile<kRows, 8>(d, args, a, panel, row0, rows, col0, block);
    }
  }
  HWY_DASSERT(false);  // GemmOne only asks for the widths above
}

// A row tile of `rows` rows: exactly that tall, or, for a row-invariant
// product, always kMaxRows tall with only `rows` stored, so that every row
// is summed in the same order whatever M is.
template <class D>
HWY_INLINE void TileWithRows(D d, const GemmArgs& args, APanel a, Panel panel,
                             size_t row0, size_t rows, size_t col0, size_t vecs,
                             KBlock block) {
  if (args.row_invariant) {
    return TileWithVecs<kMaxRows>(d, args, a, panel, row0, rows, col0, vecs,
                                  block);
  }
  switch (rows) {
    case 1:
      return TileWithVecs<1>(d, args, a, panel, row0, 1, col0, vecs, block);
    case 2:
      return TileWithVecs<2>(d, args, a, panel, row0, 2, col0, vecs, block);
    case 3:
      return TileWithVecs<3>(d, args, a, panel, row0, 3, col0, vecs, block);
    default:
      return TileWithVecs<4>(d, args, a, panel, row0, 4, col0, vecs, block);
  }
}

// The epilogue of one stored tile, C(row0 + r, col0 + j) for r < rows,
// j < cols: activated = a(C), or C = C ⊙ a'(z) from activation_output.
// The same float operations as when fused into the tile, so the same bits.
using EpilogueFn = void (*)(const GemmArgs& args, size_t row0, size_t rows,
                            size_t col0, size_t cols);

template <GemmEpilogue kEpilogue, Activation kActivation>
void EpilogueRows(const GemmArgs& args, size_t row0, size_t rows, size_t col0,
                  size_t cols) {
  const hn::ScalableTag<float> d;
  const size_t lanes = hn::Lanes(d);
  for (size_t r = row0; r < row0 + rows; ++r) {
    float* HWY_RESTRICT c_row = args.c + r * args.ldc + col0;
    const size_t extra = r * args.ld_extra + col0;
    for (size_t j = 0; j < cols; j += lanes) {
      const size_t valid = std::min(lanes, cols - j);
      const auto z = LoadPartial(d, c_row + j, valid);
      if constexpr (kEpilogue == GemmEpilogue::kTimesDerivative) {
        const auto output =
            LoadPartial(d, args.activation_output + extra + j, valid);
        StorePartial(d,
                     hn::Mul(z, DerivativeFromOutput<kActivation>(d, output)),
                     c_row + j, valid);
      } else {
        StorePartial(d, Activate<kActivation>(d, z), args.activated + extra + j,
                     valid);
      }
    }
  }
}

// The epilogue of `args`, chosen once per Gemm/GemmSequence; nullptr for
// kStore.
HWY_INLINE EpilogueFn ChooseEpilogue(const GemmArgs& args) {
  EpilogueFn fn = nullptr;
  switch (args.epilogue) {
    case GemmEpilogue::kStore:
      break;
    case GemmEpilogue::kStoreAndActivate:
      WithActivation(args.activation, [&](auto tag) {
        fn = &EpilogueRows<GemmEpilogue::kStoreAndActivate,
                           decltype(tag)::value>;
      });
      break;
    case GemmEpilogue::kTimesDerivative:
      WithActivation(args.activation, [&](auto tag) {
        fn =
            &EpilogueRows<GemmEpilogue::kTimesDerivative, decltype(tag)::value>;
      });
      break;
  }
  return fn;
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

// The loops around the tiles (GotoBLAS order, DESIGN.md §7): blocks of
// kBlockM rows of A (only when A is packed), within them blocks of kBlockK
// along K, within those the column panels of B (kMaxVecs vectors wide),
// innermost the row tiles.
//   - Each K block of a panel of B (kBlockK × kMaxVecs vectors: 32 KiB on
//     AVX-512) is packed contiguous when several row tiles share it, and
//     stays in L1 while the block's row tiles stream past it.
//   - A read with a stride along K (a_col ≠ 1: the weight gradients
//     dW = Δᵀ X, dU = Δᵀ H₋₁, dV = Eᵀ H), if GemmArgs::pack_strided_a asks
//     for it (off by default, see there), is packed once per row block × K
//     block (96 KiB, in L2) and reused by every column panel: each tile then
//     broadcasts its rows' values of one k from one contiguous run,
//     instead of touching a new cache line (and, 2 KiB apart, a new page
//     every other k) per k. On Ice Lake, where loads are ~3× scarcer per
//     flop than on Zen 5, those strided broadcasts made the product
//     load-bound. On Zen 5 the strided lines stay in L1 across the few
//     row tiles that share them, and packing cost ~10 % at the dW, dU and
//     dV shapes (150–158 against 180 GFLOP/s, M = 512 and 256, K = 3200).
// A single row tile (M ≤ 4, the matrix-vector case of the recurrence) reads
// each element of B once: no blocks, no packing.
inline constexpr size_t kBlockK = 128;
inline constexpr size_t kBlockM = 192;  // a multiple of 4 and 6
inline constexpr size_t kPackMinRows = 4 * kMaxRows;
// The pack scratch: B's panel first, then A's block.
inline constexpr size_t kPackBFloats = kGemmPackBFloats;
static_assert(kPackBFloats == kBlockK * kGemmWidestPanelFloats);
static_assert(kPackBFloats + kBlockM * kBlockK <= kGemmPackFloats);
static_assert(kBlockM % kMaxRows == 0 && kBlockM % kTallRows == 0);

// Copies B(k0…k0+depth−1, col0…col0+vecs·lanes−1) into `pack`, rows of
// vecs·lanes floats. Whole vectors: B's rows are readable one vector past N
// (the kernel's contract); the lanes past N are never stored.
template <class D>
HWY_INLINE Panel PackPanel(D d, const GemmArgs& args, size_t k0, size_t depth,
                           size_t col0, size_t vecs) {
  const size_t lanes = hn::Lanes(d);
  const size_t width = vecs * lanes;
  HWY_DASSERT(depth * width <= kPackBFloats);
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

// PackPanel from B given transposed (GemmArgs::b_transposed): the panel's
// `cols` columns are rows of Bᵀ, read within their K block only, and the
// lanes past them are zero (no row of Bᵀ lies there to read).
template <class D>
HWY_INLINE Panel PackTransposedPanel(D d, const GemmArgs& args, size_t k0,
                                     size_t depth, size_t col0, size_t cols,
                                     size_t vecs) {
  const size_t width = vecs * hn::Lanes(d);
  HWY_DASSERT(depth * width <= kPackBFloats);
  TransposeBlock(args.b + col0 * args.ldb + k0, args.ldb, cols, depth,
                 args.pack, width);
  if (cols < width) {
    for (size_t k = 0; k < depth; ++k) {
      std::fill(args.pack + k * width + cols, args.pack + (k + 1) * width,
                0.0f);
    }
  }
  return {args.pack, width};
}

// Whether B's copy in panels (GemmArgs::b_panels) can serve this product's
// column panels: each of them (kMaxVecs vectors, starting at a multiple of
// that) must lie within one panel of the layout, and reading whole vectors
// must stay within the last one's width (a multiple of kPanelAlignFloats).
template <class D>
HWY_INLINE bool ReadsBPanels(D d, const GemmArgs& args) {
  const size_t lanes = hn::Lanes(d);
  return args.b_panels != nullptr && (args.m > 1 || args.row_invariant) &&
         kMaxVecs * lanes <= internal::kPanelFloats &&
         internal::kPanelFloats % (kMaxVecs * lanes) == 0 &&
         internal::kPanelAlignFloats % lanes == 0;
}

// The K block from k0 of the column panel at col0, in B's copy in panels.
HWY_INLINE Panel PanelOfLayout(const GemmArgs& args, size_t k0, size_t col0) {
  const internal::PanelLayout layout{args.k, args.n};
  const size_t p = col0 / internal::kPanelFloats;
  const size_t width = layout.Width(p);
  return {args.b_panels + layout.Offset(p) + k0 * width +
              col0 % internal::kPanelFloats,
          width};
}

// Copies the rows ≤ kGroup rows of A from (row0, k0), `depth` of them,
// into one group of packed A at `to`, k-major: A(row0 + r, k0 + k) at
// to[k·kGroup + r]. A partial group's rows past `rows` are left unwritten
// (no tile reads them).
template <size_t kGroup>
HWY_INLINE void PackAGroup(const GemmArgs& args, size_t row0, size_t rows,
                           size_t k0, size_t depth, float* HWY_RESTRICT to) {
  const hn::CappedTag<float, 4> dr;
  const size_t step = hn::Lanes(dr);
  static_assert(kGroup >= 4);
  const float* HWY_RESTRICT from = args.a + row0 * args.a_row + k0 * args.a_col;
  if (rows == kGroup && args.a_row == 1) {  // A transposed: rows adjacent
    for (size_t k = 0; k < depth; ++k) {
      // Whole vectors, the last one overlapping when kGroup % 4 ≠ 0.
      for (size_t j = 0; j < kGroup; j += step) {
        const size_t at = HWY_MIN(j, kGroup - step);
        hn::StoreU(hn::LoadU(dr, from + at), dr, to + at);
      }
      from += args.a_col;
      to += kGroup;
    }
    return;
  }
  for (size_t k = 0; k < depth; ++k) {
    for (size_t r = 0; r < rows; ++r) to[r] = from[r * args.a_row];
    from += args.a_col;
    to += kGroup;
  }
}

// One product (GemmArgs), its epilogue already chosen.
inline constexpr size_t kGroupRows = kTallRows;  // packed A's row groups
HWY_NOINLINE void GemmOne(const GemmArgs& args, EpilogueFn epilogue) {
  const hn::ScalableTag<float> d;
  const size_t lanes = hn::Lanes(d);
  static_assert(hn::MaxLanes(d) <= internal::kMaxVectorFloats);
  static_assert(kBlockK * kMaxVecs * hn::MaxLanes(d) <= kPackBFloats);
  const bool blocked = args.m > kMaxRows || args.row_invariant;
  const size_t block_k = blocked ? kBlockK : HWY_MAX(args.k, 1);
  // Row blocks only to keep a packed block of A in L2: otherwise all rows
  // stream past each K block of a panel, which packs each block of B once
  // (row blocks measured 16 % slower at 3200×512×256 on Zen 5).
  const size_t block_m = blocked && args.pack_strided_a ? kBlockM : args.m;
  const bool read_b_panels = ReadsBPanels(d, args);
  // B given transposed is always packed, which needs K in blocks.
  HWY_DASSERT(!args.b_transposed ||
              (args.pack != nullptr && blocked && args.b_panels == nullptr));
  const bool pack_b = !read_b_panels && args.pack != nullptr &&
                      (args.m >= kPackMinRows || args.b_transposed);
  // Not for row-invariant products: their rows must not depend on M.
  const bool pack_a =
      pack_b && args.pack_strided_a && args.a_col != 1 && !args.row_invariant;
  // Row-invariant products keep kMaxRows-tall tiles: their rows must be
  // summed the same way at M = 1 (the streaming step) as at any M.
  const bool tall = kTallRows > kMaxRows && blocked && !args.row_invariant;
  for (size_t m0 = 0; m0 < args.m; m0 += block_m) {
    const size_t m_rows = std::min(block_m, args.m - m0);
    for (size_t k0 = 0; k0 < args.k || k0 == 0; k0 += block_k) {
      const KBlock block{k0, std::min(args.k, k0 + block_k), k0 == 0,
                         k0 + block_k >= args.k};
      const size_t depth = block.end - k0;
      // Packed A: row i of the block in group i / kGroupRows, at
      // [i / kGroupRows · kGroupRows·depth + k·kGroupRows + i % kGroupRows].
      float* packed_a = pack_a ? args.pack + kPackBFloats : nullptr;
      for (size_t col0 = 0; col0 < args.n;) {
        const size_t vecs_left = (args.n - col0 + lanes - 1) / lanes;
        // Panel width: as wide as the widest tile its rows may use.
        const size_t vecs = args.m == 1 && !args.row_invariant
                                ? OneRowPanelVecs(vecs_left)
                                : std::min(kMaxVecs, vecs_left);
        const size_t cols = std::min(args.n - col0, vecs * lanes);
        const Panel panel =
            read_b_panels ? PanelOfLayout(args, k0, col0)
            : args.b_transposed
                ? PackTransposedPanel(d, args, k0, depth, col0, cols, vecs)
            : pack_b ? PackPanel(d, args, k0, depth, col0, vecs)
                     : Panel{args.b + k0 * args.ldb + col0, args.ldb};
        for (size_t row0 = m0; row0 < m0 + m_rows;) {
          const size_t i = row0 - m0, rows_left = m_rows - i;
          // Each group is packed by the first column panel, just before its
          // first tile: the strided reads of A (from L3 or memory for the
          // weight gradients) then overlap the FMAs of the tiles around
          // them instead of stalling in one burst.
          if (pack_a && col0 == 0 && i % kGroupRows == 0) {
            PackAGroup<kGroupRows>(args, row0, HWY_MIN(kGroupRows, rows_left),
                                   k0, depth, packed_a + i * depth);
          }
          const APanel a =
              pack_a ? APanel{packed_a + i / kGroupRows * kGroupRows * depth +
                                  i % kGroupRows,
                              1, kGroupRows}
                     : APanel{args.a + row0 * args.a_row + k0 * args.a_col,
                              args.a_row, args.a_col};
          // Tall tiles while kTallRows rows are left, then at most two of
          // 1…4 rows (5 = 4 + 1).
          size_t rows = std::min(kMaxRows, rows_left);
          if (tall && rows_left >= kTallRows) {
            rows = kTallRows;
            TileWithVecs<kTallRows>(d, args, a, panel, row0, rows, col0, vecs,
                                    block);
          } else {
            TileWithRows(d, args, a, panel, row0, rows, col0, vecs, block);
          }
          if (block.last && epilogue != nullptr) {
            epilogue(args, row0, rows, col0, cols);
          }
          row0 += rows;
        }
        col0 += cols;
      }
      if (args.k == 0) break;
    }
  }
}

}  // namespace gemm_detail

// The products of a GemmSequence, in order, each moved by `steps` from the
// one before (moved only between products, so no pointer ever leaves its
// buffer). The epilogue and activation are chosen once for all of them.
void GemmSequence(const GemmArgs& first, const GemmSteps& steps) {
  if (steps.count == 0) return;
  const gemm_detail::EpilogueFn epilogue = gemm_detail::ChooseEpilogue(first);
  GemmArgs args = first;
  for (size_t step = 0;;) {
    gemm_detail::GemmOne(args, epilogue);
    if (++step == steps.count) break;
    MoveBySteps(args, steps);
  }
}

void Gemm(const GemmArgs& args) { GemmSequence(args, GemmSteps{}); }

namespace gemm_detail {

// Rows per unit of a row cut: the height of GemmOne's row tiles (the tall
// tile's when it uses them).
HWY_INLINE size_t RowUnit(const GemmArgs& args) {
  return kTallRows > kMaxRows && !args.row_invariant ? kTallRows : kMaxRows;
}

// Columns per unit of a column cut: GemmOne's panel width.
HWY_INLINE size_t ColumnUnit(const GemmArgs& args) {
  const hn::ScalableTag<float> d;
  const bool one_row = args.m == 1 && !args.row_invariant;
  return (one_row ? kMaxVecsOneRow : kMaxVecs) * hn::Lanes(d);
}

// [begin, end) of `part` of `parts` of `extent` cut in whole `unit`s (the
// last unit may be partial), the parts within a unit of the same size.
struct Cut {
  size_t begin, end;
};
HWY_INLINE Cut CutInUnits(size_t extent, size_t unit, size_t part,
                          size_t parts) {
  const size_t units = (extent + unit - 1) / unit;
  return {std::min(extent, units * part / parts * unit),
          std::min(extent, units * (part + 1) / parts * unit)};
}

}  // namespace gemm_detail

size_t GemmRowParts(const GemmArgs& args, size_t max_parts) {
  const size_t unit = gemm_detail::RowUnit(args);
  const size_t units = (args.m + unit - 1) / unit;
  // Two units make more than kMaxRows rows, even when the second is the
  // last, partial one: every part then runs blocked along K, as the whole.
  const size_t most = args.row_invariant ? units : units / 2;
  return std::max<size_t>(1, std::min(max_parts, most));
}

GemmArgs GemmRowPart(const GemmArgs& args, size_t part, size_t parts) {
  const auto [begin, end] =
      gemm_detail::CutInUnits(args.m, gemm_detail::RowUnit(args), part, parts);
  GemmArgs rows = args;
  rows.m = end - begin;
  // A is null in a product with k = 0 (the first step of a recurrence
  // from h(−1) = 0).
  if (args.a != nullptr) rows.a += begin * args.a_row;
  rows.c += begin * args.ldc;
  if (args.activated != nullptr) rows.activated += begin * args.ld_extra;
  if (args.activation_output != nullptr) {
    rows.activation_output += begin * args.ld_extra;
  }
  return rows;
}

size_t GemmColumnParts(const GemmArgs& args, size_t max_parts) {
  const size_t unit = gemm_detail::ColumnUnit(args);
  const size_t units = (args.n + unit - 1) / unit;
  return std::max<size_t>(1, std::min(max_parts, units));
}

GemmArgs GemmColumnPart(const GemmArgs& args, size_t part, size_t parts) {
  const auto [begin, end] = gemm_detail::CutInUnits(
      args.n, gemm_detail::ColumnUnit(args), part, parts);
  GemmArgs columns = args;
  columns.n = end - begin;
  // The panels' layout is that of all N columns: the part reads `b`.
  columns.b_panels = nullptr;
  if (args.b != nullptr)
    columns.b += args.b_transposed ? begin * args.ldb : begin;
  columns.c += begin;
  if (args.bias != nullptr) columns.bias += begin;
  if (args.activated != nullptr) columns.activated += begin;
  if (args.activation_output != nullptr) columns.activation_output += begin;
  return columns;
}

}  // namespace elman::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();
