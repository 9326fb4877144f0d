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
// Memory contract (why the kernel never needs masked loads in its K loop):
// B must stay readable for a whole vector past the last element of each row
// it uses (elman's own buffers and Parameters keep that slack). Lanes past N
// then hold garbage that is never stored. C, `bias`, `activated` and
// `pre_activation` are read and written exactly: partial vectors go through
// LoadPartial/StorePartial.
#if defined(ELMAN_SRC_KERNELS_GEMM_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ELMAN_SRC_KERNELS_GEMM_INL_H_
#undef ELMAN_SRC_KERNELS_GEMM_INL_H_
#else
#define ELMAN_SRC_KERNELS_GEMM_INL_H_
#endif

#include <algorithm>
#include <cstddef>

#include "hwy/highway.h"
#include "src/kernels/activation-inl.h"
#include "src/kernels/partial-inl.h"

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
  kTimesDerivative,   ///< C = Z ⊙ a'(pre_activation)
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
  const float* pre_activation = nullptr;  ///< for kTimesDerivative; ld_extra
  size_t ld_extra = 0;
};

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
// A single-row tile (matrix-vector) may be twice as wide.
inline constexpr size_t kMaxVecsOneRow = 2 * kMaxVecs;

// Independent accumulator sets along K: enough that rows·vecs·splits ≥ 8
// FMA chains are in flight (2 FMA/cycle × 4 cycles latency).
constexpr size_t KSplits(size_t rows, size_t vecs) {
  const size_t chains = rows * vecs;
  return chains >= 8 ? 1 : chains >= 4 ? 2 : 4;
}

template <size_t kRows, size_t kVecs, GemmEpilogue kEpilogue,
          Activation kActivation, class D>
HWY_INLINE void Tile(D d, const GemmArgs& args, size_t row0, size_t col0) {
  using V = hn::Vec<D>;
  constexpr size_t kSplits = KSplits(kRows, kVecs);
  const size_t lanes = hn::Lanes(d);
  const size_t cols = std::min(args.n - col0, kVecs * lanes);
  // Valid lanes of vector v of this tile.
  auto valid = [&](size_t v) { return std::min(lanes, cols - v * lanes); };

  V acc[kSplits][kRows][kVecs];
#pragma GCC unroll 4
  for (size_t s = 0; s < kSplits; ++s) {
#pragma GCC unroll 4
    for (size_t r = 0; r < kRows; ++r) {
#pragma GCC unroll 8
      for (size_t v = 0; v < kVecs; ++v) acc[s][r][v] = hn::Zero(d);
    }
  }
  if (args.init == GemmInit::kAccumulate) {
    for (size_t r = 0; r < kRows; ++r) {
      const float* c_row = args.c + (row0 + r) * args.ldc + col0;
      for (size_t v = 0; v < kVecs; ++v) {
        acc[0][r][v] = LoadPartial(d, c_row + v * lanes, valid(v));
      }
    }
  } else if (args.init == GemmInit::kBias) {
    for (size_t v = 0; v < kVecs; ++v) {
      const V bias = LoadPartial(d, args.bias + col0 + v * lanes, valid(v));
      for (size_t r = 0; r < kRows; ++r) acc[0][r][v] = bias;
    }
  }

  const float* HWY_RESTRICT a = args.a + row0 * args.a_row;
  const float* HWY_RESTRICT b = args.b + col0;
  const size_t a_row = args.a_row, a_col = args.a_col, ldb = args.ldb;
  auto step = [&](size_t split, size_t k) HWY_ATTR {
    V b_vec[kVecs];
#pragma GCC unroll 8
    for (size_t v = 0; v < kVecs; ++v) {
      b_vec[v] = hn::LoadU(d, b + k * ldb + v * lanes);
    }
#pragma GCC unroll 4
    for (size_t r = 0; r < kRows; ++r) {
      const V a_broadcast = hn::Set(d, a[r * a_row + k * a_col]);
#pragma GCC unroll 8
      for (size_t v = 0; v < kVecs; ++v) {
        acc[split][r][v] = hn::MulAdd(a_broadcast, b_vec[v], acc[split][r][v]);
      }
    }
  };
  size_t k = 0;
  for (; k + kSplits <= args.k; k += kSplits) {
#pragma GCC unroll 4
    for (size_t s = 0; s < kSplits; ++s) step(s, k + s);
  }
  for (; k < args.k; ++k) step(0, k);
  // Fixed summation order: results are bit-identical run to run.
  for (size_t s = 1; s < kSplits; ++s) {
    for (size_t r = 0; r < kRows; ++r) {
      for (size_t v = 0; v < kVecs; ++v) {
        acc[0][r][v] = hn::Add(acc[0][r][v], acc[s][r][v]);
      }
    }
  }

  for (size_t r = 0; r < kRows; ++r) {
    float* c_row = args.c + (row0 + r) * args.ldc + col0;
    const size_t extra = (row0 + r) * args.ld_extra + col0;
    for (size_t v = 0; v < kVecs; ++v) {
      V z = acc[0][r][v];
      if constexpr (kEpilogue == GemmEpilogue::kTimesDerivative) {
        const V pre =
            LoadPartial(d, args.pre_activation + extra + v * lanes, valid(v));
        z = hn::Mul(z, Derivative<kActivation>(d, pre));
      }
      StorePartial(d, z, c_row + v * lanes, valid(v));
      if constexpr (kEpilogue == GemmEpilogue::kStoreAndActivate) {
        StorePartial(d, Activate<kActivation>(d, z),
                     args.activated + extra + v * lanes, valid(v));
      }
    }
  }
}

// Runtime (rows, vecs) → the Tile specialised for them.
template <size_t kRows, GemmEpilogue kEpilogue, Activation kActivation, class D>
HWY_INLINE void TileWithVecs(D d, const GemmArgs& args, size_t row0,
                             size_t col0, size_t vecs) {
  constexpr size_t kLimit = kRows == 1 ? kMaxVecsOneRow : kMaxVecs;
  switch (vecs) {
    case 1:
      return Tile<kRows, 1, kEpilogue, kActivation>(d, args, row0, col0);
    case 2:
      return Tile<kRows, HWY_MIN(2, kLimit), kEpilogue, kActivation>(
          d, args, row0, col0);
    case 3:
      return Tile<kRows, HWY_MIN(3, kLimit), kEpilogue, kActivation>(
          d, args, row0, col0);
    case 4:
      return Tile<kRows, HWY_MIN(4, kLimit), kEpilogue, kActivation>(
          d, args, row0, col0);
    default:
      if constexpr (kLimit > 4) {
        if (vecs == 6) {
          return Tile<kRows, 6, kEpilogue, kActivation>(d, args, row0, col0);
        }
        return Tile<kRows, kLimit, kEpilogue, kActivation>(d, args, row0, col0);
      }
  }
}

template <GemmEpilogue kEpilogue, Activation kActivation>
HWY_INLINE void GemmSpecialised(const GemmArgs& args) {
  const hn::ScalableTag<float> d;
  const size_t lanes = hn::Lanes(d);
  for (size_t row0 = 0; row0 < args.m; row0 += kMaxRows) {
    const size_t rows = std::min(kMaxRows, args.m - row0);
    const size_t max_vecs = rows == 1 ? kMaxVecsOneRow : kMaxVecs;
    for (size_t col0 = 0; col0 < args.n;) {
      const size_t vecs_left = (args.n - col0 + lanes - 1) / lanes;
      // 5 and 7 have no Tile of their own: take 4 or 6 and leave the rest
      // to the next tile, so that only a tile's last vector is partial.
      size_t vecs = std::min(max_vecs, vecs_left);
      if (vecs == 5 || vecs == 7) --vecs;
      switch (rows) {
        case 1:
          TileWithVecs<1, kEpilogue, kActivation>(d, args, row0, col0, vecs);
          break;
        case 2:
          TileWithVecs<2, kEpilogue, kActivation>(d, args, row0, col0, vecs);
          break;
        case 3:
          TileWithVecs<3, kEpilogue, kActivation>(d, args, row0, col0, vecs);
          break;
        default:
          TileWithVecs<4, kEpilogue, kActivation>(d, args, row0, col0, vecs);
          break;
      }
      col0 += vecs * lanes;
    }
  }
}

}  // namespace gemm_detail

/// C = init + A·B with the chosen epilogue (see GemmArgs). Does nothing when
/// m or n is 0; with k = 0 the result is init alone.
HWY_INLINE void Gemm(const GemmArgs& args) {
  using gemm_detail::GemmSpecialised;
  switch (args.epilogue) {
    case GemmEpilogue::kStore:
      return GemmSpecialised<GemmEpilogue::kStore, Activation::kIdentity>(args);
    case GemmEpilogue::kStoreAndActivate:
      return WithActivation(args.activation, [&](auto tag) {
        GemmSpecialised<GemmEpilogue::kStoreAndActivate, decltype(tag)::value>(
            args);
      });
    case GemmEpilogue::kTimesDerivative:
      return WithActivation(args.activation, [&](auto tag) {
        GemmSpecialised<GemmEpilogue::kTimesDerivative, decltype(tag)::value>(
            args);
      });
  }
}

}  // namespace elman::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // ELMAN_SRC_KERNELS_GEMM_INL_H_
