// The GEMM kernel (contract in src/kernels/gemm-inl.h, compiled per target
// in src/gemm.cc) on every compiled SIMD target, against plain loops in
// double: every shape class of the tiling (M around the 4-row tile, N and K
// below, at and past each vector width and tile width, K across the K-block
// edges), A plain and transposed, every GemmInit and GemmEpilogue with every
// activation, strides wider than the rows, starts misaligned by 0..3 floats,
// NaN in the readable slack of B (lanes past N must never reach a store) and
// canaries around C and `activated` (the kernel must write exactly M×N);
// packed panels of B (M ≥ 16) and packed blocks of transposed A against the
// same cases unpacked; B read from its copy in panels (GemmArgs::b_panels)
// and packed from Bᵀ (GemmArgs::b_transposed), bit for bit as from B itself;
// wide single-row tiles; GemmSequence against one Gemm call per step;
// row-invariant products, row by row against M = 1.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tests/kernel_test_util.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/gemm_test.cc"
#include "hwy/aligned_allocator.h"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/tests/test_util-inl.h"
#include "src/kernels/gemm-inl.h"
#include "src/panels.h"

HWY_BEFORE_NAMESPACE();
namespace elman {
namespace HWY_NAMESPACE {
namespace {

namespace kt = ::elman::kernel_test;
using kt::GuardedMatrix;
using kt::kU;

constexpr size_t kRowCounts[] = {1, 2, 3, 4, 5, 9};
// Extra row-stride padding for B, C and activated/activation_output.
constexpr size_t kPads[] = {0, 1, 5, 16};
// One vector of the widest target: B's last row must be readable that far.
using kt::kSlack;

struct GemmCase {
  size_t m = 0, n = 0, k = 0;
  bool a_transposed = false;
  GemmInit init = GemmInit::kZero;
  GemmEpilogue epilogue = GemmEpilogue::kStore;
  Activation activation = Activation::kIdentity;
  size_t index = 0;     // selects the misalignments and paddings
  bool packed = false;  // gives the kernel a pack buffer
  bool row_invariant = false;
  bool pack_a = false;        // GemmArgs::pack_strided_a (with `packed`)
  bool b_panels = false;      // GemmArgs::b_panels
  bool b_transposed = false;  // GemmArgs::b_transposed

  std::string Describe() const {
    static constexpr const char* kInits[] = {"zero", "bias", "accumulate"};
    static constexpr const char* kEpilogues[] = {"store", "activate",
                                                 "times-derivative"};
    std::ostringstream s;
    s << "M=" << m << " N=" << n << " K=" << k
      << (a_transposed ? " A transposed" : " A plain")
      << " init=" << kInits[static_cast<int>(init)]
      << " epilogue=" << kEpilogues[static_cast<int>(epilogue)] << " "
      << ActivationName(activation) << (packed ? " packed" : "")
      << (pack_a ? " A packed" : "") << (row_invariant ? " row-invariant" : "")
      << (b_panels ? " B in panels" : "")
      << (b_transposed ? " B transposed" : "") << " case " << index << " ("
      << hwy::TargetName(HWY_TARGET) << ")";
    return s.str();
  }
};

// For kTimesDerivative, the activation's outputs a(z) (the stored h): z
// with |z| in [0.1, 3], either sign, so that relu' is never asked for its
// value at 0, and a(z) rounded to float.
void FillActivationOutputs(GuardedMatrix& outputs, Activation activation,
                           size_t rows, size_t cols, std::mt19937_64& random) {
  std::uniform_real_distribution<float> magnitude(0.1f, 3.0f);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) {
      const double z = (random() & 1) ? magnitude(random) : -magnitude(random);
      outputs.at(r, c) = static_cast<float>(reference::Activate(activation, z));
    }
  }
}

// The worst error of a case, as a multiple of its tolerance.
struct Worst {
  double ratio = 0.0;
  size_t row = 0, col = 0;
  double got = 0.0, want = 0.0, tolerance = 0.0;
  void Update(size_t r, size_t c, double got_rc, double want_rc,
              double tolerance_rc) {
    const double error = std::abs(got_rc - want_rc);
    double q =
        tolerance_rc > 0.0 ? error / tolerance_rc : (error > 0.0 ? 1e300 : 0.0);
    if (std::isnan(error)) q = 1e300;
    if (q > ratio) {
      ratio = q, row = r, col = c;
      got = got_rc, want = want_rc, tolerance = tolerance_rc;
    }
  }
  std::string Describe(const char* what) const {
    std::ostringstream s;
    s.precision(9);
    s << what << "(" << row << "," << col << "): got " << got << ", want "
      << want << ", tolerance " << tolerance;
    return s.str();
  }
};

void RunCase(const GemmCase& c, std::mt19937_64& random) {
  SCOPED_TRACE(c.Describe());
  const size_t i = c.index;
  const size_t off_a = i % 4, off_b = i / 4 % 4, off_c = i / 16 % 4,
               off_e = i / 64 % 4;
  const size_t ldb = c.n + kPads[i % 4], ldc = c.n + kPads[(i + 1) % 4],
               ld_extra = c.n + kPads[(i + 2) % 4];

  // A is M×K, or stored K×M when transposed; B is K×N with a vector of
  // readable slack after its last row. Inputs have NaN outside their region.
  GuardedMatrix a = c.a_transposed
                        ? GuardedMatrix(c.k, c.m, c.m, off_a, 0, kt::kNaN)
                        : GuardedMatrix(c.m, c.k, c.k, off_a, 0, kt::kNaN);
  GuardedMatrix b(c.k, c.n, ldb, off_b, kSlack, kt::kNaN);
  GuardedMatrix bias(1, c.n, c.n, off_c, 0, kt::kNaN);
  GuardedMatrix out(c.m, c.n, ldc, off_c);
  GuardedMatrix activated(c.m, c.n, ld_extra, off_e);
  GuardedMatrix activation_output(c.m, c.n, ld_extra, off_e, 0, kt::kNaN);
  a.FillRandom(random);
  b.FillRandom(random);
  bias.FillRandom(random);
  if (c.init == GemmInit::kAccumulate) out.FillRandom(random);
  FillActivationOutputs(activation_output, c.activation, c.m, c.n, random);
  auto a_at = [&](size_t r, size_t kk) {
    return static_cast<double>(c.a_transposed ? a.at(kk, r) : a.at(r, kk));
  };
  auto init_at = [&](size_t r, size_t col) -> double {
    switch (c.init) {
      case GemmInit::kZero:
        return 0.0;
      case GemmInit::kBias:
        return bias.at(0, col);
      case GemmInit::kAccumulate:
        return out.at(r, col);
    }
    return 0.0;
  };

  // Z = init + A·B in double, and S = |init| + Σ|A||B| for the bound.
  std::vector<double> z(c.m * c.n), s(c.m * c.n);
  for (size_t r = 0; r < c.m; ++r) {
    for (size_t col = 0; col < c.n; ++col) {
      double sum = init_at(r, col), abs_sum = std::abs(sum);
      for (size_t kk = 0; kk < c.k; ++kk) {
        const double product = a_at(r, kk) * b.at(kk, col);
        sum += product;
        abs_sum += std::abs(product);
      }
      z[r * c.n + col] = sum;
      s[r * c.n + col] = abs_sum;
    }
  }

  GemmArgs args;
  args.m = c.m, args.n = c.n, args.k = c.k;
  args.a = a.data();
  args.a_row = c.a_transposed ? 1 : c.k;
  args.a_col = c.a_transposed ? c.m : 1;
  args.b = b.data(), args.ldb = ldb;
  args.c = out.data(), args.ldc = ldc;
  args.init = c.init;
  args.bias = bias.data();
  args.epilogue = c.epilogue;
  args.activation = c.activation;
  if (c.epilogue == GemmEpilogue::kStoreAndActivate) {
    args.activated = activated.data();
  }
  if (c.epilogue == GemmEpilogue::kTimesDerivative) {
    args.activation_output = activation_output.data();
  }
  args.ld_extra = ld_extra;
  args.row_invariant = c.row_invariant;
  args.pack_strided_a = c.pack_a;
  // Filled with NaN: nothing the kernel did not pack may reach C.
  auto pack = hwy::AllocateAligned<float>(kGemmPackFloats);
  if (c.packed) {
    std::fill_n(pack.get(), kGemmPackFloats, kt::kNaN);
    args.pack = pack.get();
  }
  // B in panels, NaN in the padding of the last panel (its lanes must
  // never be stored). Where the kernel reads the panels (x86, SVE ≤ 512
  // bits; M > 1 or row-invariant) `b` points at NaN instead, so that a
  // kernel that silently read `b` fails; elsewhere it must read `b`.
  const internal::PanelLayout layout{c.k, c.n};
  std::vector<float> panels;
  GuardedMatrix nan_b(c.k, c.n, ldb, off_b, kSlack, kt::kNaN);
  if (c.b_panels) {
    panels.assign(layout.size() + kSlack, kt::kNaN);
    for (size_t p = 0; p < layout.panels(); ++p) {
      const size_t col0 = p * internal::kPanelFloats;
      const size_t cols = std::min(internal::kPanelFloats, c.n - col0);
      for (size_t kk = 0; kk < c.k; ++kk) {
        for (size_t j = 0; j < cols; ++j) {
          panels[layout.Offset(p) + kk * layout.Width(p) + j] =
              b.at(kk, col0 + j);
        }
      }
    }
    args.b_panels = panels.data();
    const bool reads_panels =
        hn::Lanes(hn::ScalableTag<float>()) <= internal::kPanelAlignFloats &&
        (c.m > 1 || c.row_invariant);
    if (reads_panels) args.b = nan_b.data();
  }
  // Bᵀ, its rows padded, NaN around it and in the padding: the kernel reads
  // K floats of each of its N rows and nothing else.
  const size_t ldbt = c.k + kPads[(i + 3) % 4];
  GuardedMatrix bt(c.n, c.k, ldbt, off_b, 0, kt::kNaN);
  if (c.b_transposed) {
    for (size_t col = 0; col < c.n; ++col) {
      for (size_t kk = 0; kk < c.k; ++kk) bt.at(col, kk) = b.at(kk, col);
    }
    args.b = bt.data();
    args.ldb = ldbt;
    args.b_transposed = true;
  }
  // With B in panels or transposed, or A packed, the same product from B
  // itself and A unpacked, for the bits (packing A decides nothing but the
  // speed: src/gemm_choice.h).
  const bool compare_plain = c.b_panels || c.b_transposed || c.pack_a;
  std::vector<float> plain_c;
  if (compare_plain) {
    GuardedMatrix plain_out(c.m, c.n, ldc, off_c);
    for (size_t r = 0; r < c.m; ++r) {
      for (size_t col = 0; col < c.n; ++col) {
        plain_out.at(r, col) = out.at(r, col);  // kAccumulate's init
      }
    }
    GuardedMatrix plain_activated(c.m, c.n, ld_extra, off_e);
    GemmArgs plain = args;
    plain.b_panels = nullptr;
    plain.b = b.data();
    plain.ldb = ldb;
    plain.b_transposed = false;
    plain.pack_strided_a = false;
    plain.c = plain_out.data();
    if (plain.activated != nullptr) plain.activated = plain_activated.data();
    Gemm(plain);
    for (size_t r = 0; r < c.m; ++r) {
      for (size_t col = 0; col < c.n; ++col) {
        plain_c.push_back(plain_out.at(r, col));
      }
    }
  }
  Gemm(args);
  if (compare_plain) {
    size_t differ = 0;
    for (size_t r = 0; r < c.m; ++r) {
      for (size_t col = 0; col < c.n; ++col) {
        const float got = out.at(r, col), want = plain_c[r * c.n + col];
        differ += std::memcmp(&got, &want, sizeof(float)) != 0;
      }
    }
    EXPECT_EQ(differ, 0u)
        << "elements of C that differ from B given plainly and A unpacked";
  }

  // Any order of summing K + 1 terms (K products, rounded or fused, and the
  // init) is within γ_{K+1} ≈ (K+1)·u of S (Higham, Thm 3.1 / 4.1): the
  // bound is (K + 2)·u·S. With K = 0 the result is init exactly.
  // a' from a(z): one or two roundings of a value ≤ 1.
  const double dtol = 2.0 * kU;
  Worst worst_c, worst_activated;
  for (size_t r = 0; r < c.m; ++r) {
    for (size_t col = 0; col < c.n; ++col) {
      const double zz = z[r * c.n + col], ss = s[r * c.n + col];
      const double sum_tolerance = static_cast<double>(c.k + 2) * kU * ss *
                                   static_cast<double>(c.k != 0);
      const double got = out.at(r, col);
      if (c.epilogue == GemmEpilogue::kTimesDerivative) {
        // C = Z·a'(z) from a(z): Z's error times |a'| ≤ 1 + dtol, plus
        // |Z| ≤ S times a''s error, plus the rounding of the product.
        const double d = kt::DerivativeFromOutputRef(
            c.activation, activation_output.at(r, col));
        const double want = zz * d;
        worst_c.Update(r, col, got, want,
                       sum_tolerance * (std::abs(d) + dtol) + ss * dtol +
                           kU * std::abs(want));
      } else {
        worst_c.Update(r, col, got, zz, sum_tolerance);
      }
      if (c.epilogue == GemmEpilogue::kStoreAndActivate) {
        // activated = a(C): judged against a applied to the C actually
        // stored, so that only the activation's own error counts here.
        const double want = reference::Activate(c.activation, got);
        worst_activated.Update(r, col, activated.at(r, col), want,
                               kt::ActivationTolerance(c.activation, want));
      }
    }
  }
  EXPECT_LE(worst_c.ratio, 1.0) << worst_c.Describe("C");
  EXPECT_LE(worst_activated.ratio, 1.0)
      << worst_activated.Describe("activated");
  EXPECT_TRUE(out.CanariesIntact()) << "C";
  EXPECT_TRUE(activated.CanariesIntact()) << "activated";
}

constexpr GemmInit kInits[] = {GemmInit::kZero, GemmInit::kBias,
                               GemmInit::kAccumulate};

// How a case is run beyond its shape, epilogue and activation (GemmCase).
struct Options {
  bool packed = false, row_invariant = false, pack_a = false;
  bool b_panels = false, b_transposed = false;
};

// Runs every layout and init of (m, n, k) with the given epilogue.
void RunLayoutsAndInits(size_t m, size_t n, size_t k, GemmEpilogue epilogue,
                        Activation activation, size_t& index,
                        std::mt19937_64& random, const Options& options = {}) {
  for (bool transposed : {false, true}) {
    for (GemmInit init : kInits) {
      GemmCase c;
      c.m = m, c.n = n, c.k = k;
      c.a_transposed = transposed;
      c.init = init;
      c.epilogue = epilogue;
      c.activation = activation;
      c.index = index++;
      c.packed = options.packed;
      c.row_invariant = options.row_invariant;
      c.pack_a = options.pack_a;
      c.b_panels = options.b_panels;
      c.b_transposed = options.b_transposed;
      RunCase(c, random);
    }
  }
}

// kStore (the identity), then kStoreAndActivate and kTimesDerivative with
// `activation`, each over every layout and init.
void RunEveryEpilogue(size_t m, size_t n, size_t k, Activation activation,
                      size_t& index, std::mt19937_64& random,
                      const Options& options = {}) {
  RunLayoutsAndInits(m, n, k, GemmEpilogue::kStore, Activation::kIdentity,
                     index, random, options);
  RunLayoutsAndInits(m, n, k, GemmEpilogue::kStoreAndActivate, activation,
                     index, random, options);
  RunLayoutsAndInits(m, n, k, GemmEpilogue::kTimesDerivative, activation, index,
                     random, options);
}

// kStore on the full cross product M × N × K.
void TestGemmStore() {
  std::mt19937_64 random(1);
  size_t index = 0;
  for (size_t m : kRowCounts) {
    for (size_t n : kt::kLengths) {
      for (size_t k : kt::kLengths) {
        RunLayoutsAndInits(m, n, k, GemmEpilogue::kStore, Activation::kIdentity,
                           index, random);
        if (::testing::Test::HasFailure()) return;
      }
    }
  }
}

// An epilogue with every activation on the full cross product M × N × K.
void SweepEpilogue(GemmEpilogue epilogue, uint64_t seed) {
  std::mt19937_64 random(seed);
  size_t index = 0;
  for (Activation activation : kt::kActivations) {
    for (size_t m : kRowCounts) {
      for (size_t n : kt::kLengths) {
        for (size_t k : kt::kLengths) {
          RunLayoutsAndInits(m, n, k, epilogue, activation, index, random);
          if (::testing::Test::HasFailure()) return;
        }
      }
    }
  }
}

void TestGemmStoreAndActivate() {
  SweepEpilogue(GemmEpilogue::kStoreAndActivate, 2);
}

void TestGemmTimesDerivative() {
  SweepEpilogue(GemmEpilogue::kTimesDerivative, 3);
}

// K = 0: no products, the result is init alone (then the epilogue), for
// every M, N, init and epilogue.
void TestGemmZeroK() {
  std::mt19937_64 random(4);
  size_t index = 0;
  for (size_t m : kRowCounts) {
    for (size_t n : kt::kLengths) {
      RunLayoutsAndInits(m, n, 0, GemmEpilogue::kStore, Activation::kIdentity,
                         index, random);
      for (Activation activation : kt::kActivations) {
        RunLayoutsAndInits(m, n, 0, GemmEpilogue::kStoreAndActivate, activation,
                           index, random);
        RunLayoutsAndInits(m, n, 0, GemmEpilogue::kTimesDerivative, activation,
                           index, random);
      }
      if (::testing::Test::HasFailure()) return;
    }
  }
}

// K on both sides of the K-block edges of src/gemm.cc (blocks of 128 when
// M > 4: C holds raw partial sums between blocks, and only the last block
// may run the epilogue), with every epilogue and every activation.
void TestGemmKBlocks() {
  std::mt19937_64 random(5);
  size_t index = 0;
  for (size_t m : {size_t{4}, size_t{5}, size_t{9}}) {
    for (size_t n : {size_t{1}, size_t{17}, size_t{64}, size_t{100}}) {
      for (size_t k : {127, 128, 129, 255, 256, 385}) {
        const Activation activation =
            kt::kActivations[index % std::size(kt::kActivations)];
        RunEveryEpilogue(m, n, k, activation, index, random);
        if (::testing::Test::HasFailure()) return;
      }
    }
  }
}

// Packed panels of B (M ≥ 16: several row tiles share each packed K block),
// across panel widths, partial last vectors and K-block edges, with every
// epilogue; the same cases unpacked must agree as well.
void TestGemmPacked() {
  std::mt19937_64 random(6);
  size_t index = 0;
  for (size_t m : {size_t{16}, size_t{17}, size_t{33}}) {
    for (size_t n : {size_t{1}, size_t{17}, size_t{64}, size_t{100}}) {
      for (size_t k : {size_t{1}, size_t{17}, size_t{128}, size_t{300}}) {
        const Activation activation =
            kt::kActivations[index % std::size(kt::kActivations)];
        for (bool packed : {true, false}) {
          for (bool pack_a : {false, packed}) {
            RunEveryEpilogue(m, n, k, activation, index, random,
                             {.packed = packed, .pack_a = pack_a});
            if (!packed) break;
          }
        }
        if (::testing::Test::HasFailure()) return;
      }
    }
  }
}

// Packed A (GemmArgs::pack_strided_a, A transposed, M ≥ 16): more rows than
// one packed block of A (192 rows) with a partial last row tile, K across the
// K blocks; with B alone packed and nothing packed as well.
void TestGemmPackedA() {
  std::mt19937_64 random(10);
  size_t index = 0;
  for (size_t m : {size_t{193}, size_t{386}}) {
    for (size_t n : {size_t{17}, size_t{100}}) {
      for (size_t k : {size_t{129}, size_t{300}}) {
        const Activation activation =
            kt::kActivations[index % std::size(kt::kActivations)];
        // B packed with and without A packed, and nothing packed.
        for (int mode = 0; mode < 3; ++mode) {
          const bool packed = mode < 2, pack_a = mode == 0;
          const Options options{.packed = packed, .pack_a = pack_a};
          RunLayoutsAndInits(m, n, k, GemmEpilogue::kStore,
                             Activation::kIdentity, index, random, options);
          RunLayoutsAndInits(m, n, k, GemmEpilogue::kTimesDerivative,
                             activation, index, random, options);
        }
        if (::testing::Test::HasFailure()) return;
      }
    }
  }
}

// B read from its copy in panels (GemmArgs::b_panels, the recurrences'
// weights): M from a single row (which reads B itself unless row-invariant)
// to several row tiles, N across the layout's 64-column panels with a
// partial last one, K across the K blocks; with and without the pack
// scratch (the panels replace packing), row-invariant or not, every
// epilogue.
void TestGemmBPanels() {
  std::mt19937_64 random(11);
  size_t index = 0;
  for (size_t m : {size_t{1}, size_t{2}, size_t{5}, size_t{16}, size_t{33}}) {
    for (size_t n :
         {size_t{1}, size_t{17}, size_t{64}, size_t{100}, size_t{130}}) {
      for (size_t k : {size_t{1}, size_t{17}, size_t{129}, size_t{300}}) {
        const Activation activation =
            kt::kActivations[index % std::size(kt::kActivations)];
        const bool packed = index % 2 == 0;
        for (bool row_invariant : {false, true}) {
          RunEveryEpilogue(m, n, k, activation, index, random,
                           {.packed = packed,
                            .row_invariant = row_invariant,
                            .b_panels = true});
        }
        if (::testing::Test::HasFailure()) return;
      }
    }
  }
}

// B given transposed (GemmArgs::b_transposed, Forward's projections with W
// and V): M from one row (row-invariant) to several row tiles and past the
// 16 rows where plain B is packed too, N across the panel widths with a
// partial last vector, K across the K blocks and below a tile; every
// epilogue, bit for bit as from B itself.
void TestGemmBTransposed() {
  std::mt19937_64 random(12);
  size_t index = 0;
  for (size_t m : {size_t{1}, size_t{3}, size_t{5}, size_t{16}, size_t{33}}) {
    for (size_t n :
         {size_t{1}, size_t{17}, size_t{64}, size_t{100}, size_t{130}}) {
      for (size_t k :
           {size_t{1}, size_t{7}, size_t{17}, size_t{129}, size_t{300}}) {
        const Activation activation =
            kt::kActivations[index % std::size(kt::kActivations)];
        for (bool row_invariant : {true, false}) {
          if (!row_invariant && m <= 4) break;  // needs K in blocks
          RunEveryEpilogue(m, n, k, activation, index, random,
                           {.packed = true,
                            .row_invariant = row_invariant,
                            .b_transposed = true});
        }
        if (::testing::Test::HasFailure()) return;
      }
    }
  }
}

// The single-row (matrix-vector) tiles and the panel widths chosen around
// them (8, 6, 4 and the rest: N = 200 is 12.5 AVX-512 vectors, 8 + 4 + 1),
// with every epilogue.
void TestGemmWideRow() {
  std::mt19937_64 random(7);
  size_t index = 0;
  for (size_t n : {129, 200, 256, 300, 513}) {
    for (size_t k : {1, 17, 64, 130}) {
      for (Activation activation : kt::kActivations) {
        RunLayoutsAndInits(1, n, k, GemmEpilogue::kStoreAndActivate, activation,
                           index, random);
        RunLayoutsAndInits(1, n, k, GemmEpilogue::kTimesDerivative, activation,
                           index, random);
      }
      RunLayoutsAndInits(1, n, k, GemmEpilogue::kStore, Activation::kIdentity,
                         index, random);
      if (::testing::Test::HasFailure()) return;
    }
  }
}

// GemmSequence against the same products as separate Gemm calls, bit for
// bit, where each step's output is the next step's A: the forward
// recurrence (kStoreAndActivate, pointers moving forward a block per step)
// and eq. 7.15's carry (kTimesDerivative, moving backward).
void TestGemmSequence() {
  std::mt19937_64 random(8);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  for (size_t m : {size_t{1}, size_t{3}, size_t{5}}) {
    for (size_t n : {size_t{17}, size_t{64}}) {
      for (size_t count : {size_t{0}, size_t{1}, size_t{5}}) {
        for (bool forward : {true, false}) {
          SCOPED_TRACE("M=" + std::to_string(m) + " N=" + std::to_string(n) +
                       " steps=" + std::to_string(count) +
                       (forward ? " forward" : " backward"));
          const size_t block = m * n;
          // B is N×N (the recurrence is square), with a vector of slack.
          std::vector<float> b(n * n + kSlack);
          // [count + 1] blocks: the states and the per-step C.
          std::vector<float> states((count + 1) * block), sums(count * block);
          for (float& v : b) v = uniform(random) / static_cast<float>(n);
          for (float& v : states) v = uniform(random);
          for (float& v : sums) v = uniform(random);
          std::vector<float> states_loop = states, sums_loop = sums;

          GemmArgs args;
          args.m = m, args.n = n, args.k = n;
          args.a_row = n;
          args.b = b.data(), args.ldb = n;
          args.ldc = n, args.ld_extra = n;
          args.init = GemmInit::kAccumulate;
          args.activation = Activation::kTanh;
          const auto one = static_cast<ptrdiff_t>(block);
          // Step s uses C block c(s), A = states block a(s) and the epilogue
          // operand = states block e(s).
          auto a_of = [&](size_t s) { return forward ? s : count - s; };
          auto c_of = [&](size_t s) { return forward ? s : count - 1 - s; };
          auto e_of = [&](size_t s) { return forward ? s + 1 : count - 1 - s; };
          args.epilogue = forward ? GemmEpilogue::kStoreAndActivate
                                  : GemmEpilogue::kTimesDerivative;
          auto place = [&](GemmArgs& step_args, std::vector<float>& st,
                           std::vector<float>& su, size_t s) {
            step_args.a = st.data() + a_of(s) * block;
            step_args.c = su.data() + c_of(s) * block;
            if (forward) {
              step_args.activated = st.data() + e_of(s) * block;
            } else {
              step_args.activation_output = st.data() + e_of(s) * block;
            }
          };
          if (count > 0) {
            GemmArgs first = args;
            place(first, states, sums, 0);
            GemmSequence(first,
                         GemmSteps{count, forward ? one : -one,
                                   forward ? one : -one, forward ? one : -one});
          } else {
            GemmSequence(args, GemmSteps{0, 0, 0, 0});  // touches nothing
          }
          for (size_t s = 0; s < count; ++s) {
            GemmArgs step_args = args;
            place(step_args, states_loop, sums_loop, s);
            Gemm(step_args);
          }
          EXPECT_EQ(states, states_loop);
          EXPECT_EQ(sums, sums_loop);
          if (::testing::Test::HasFailure()) return;
        }
      }
    }
  }
}

// Row-invariant products: right (against double, every epilogue), and each
// row of C bit for bit what the same row alone (M = 1) gives, for M on both
// sides of the 4-row tile and of packing, K across the K blocks.
void TestGemmRowInvariant() {
  std::mt19937_64 random(9);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  size_t index = 0;
  for (size_t m : {1, 2, 3, 5, 9, 17}) {
    for (size_t n : {1, 17, 64, 100}) {
      for (size_t k : {1, 17, 130}) {
        SCOPED_TRACE("M=" + std::to_string(m) + " N=" + std::to_string(n) +
                     " K=" + std::to_string(k));
        const Activation activation =
            kt::kActivations[index % std::size(kt::kActivations)];
        RunLayoutsAndInits(
            m, n, k, GemmEpilogue::kStore, Activation::kIdentity, index, random,
            {.packed = true, .row_invariant = true, .pack_a = true});
        RunLayoutsAndInits(m, n, k, GemmEpilogue::kStoreAndActivate, activation,
                           index, random,
                           {.packed = true, .row_invariant = true});

        std::vector<float> a(m * k), b(k * n + kSlack), bias(n);
        for (float& v : a) v = uniform(random);
        for (float& v : b) v = uniform(random);
        for (float& v : bias) v = uniform(random);
        auto pack = hwy::AllocateAligned<float>(kGemmPackFloats);
        GemmArgs args;
        args.n = n, args.k = k;
        args.a_row = k;
        args.b = b.data(), args.ldb = n;
        args.ldc = n, args.ld_extra = n;
        args.init = GemmInit::kBias;
        args.bias = bias.data();
        args.epilogue = GemmEpilogue::kStoreAndActivate;
        args.activation = Activation::kTanh;
        args.pack = pack.get();
        args.row_invariant = true;
        std::vector<float> c_all(m * n), h_all(m * n);
        GemmArgs all = args;
        all.m = m, all.a = a.data(), all.c = c_all.data();
        all.activated = h_all.data();
        Gemm(all);
        std::vector<float> c_row(n), h_row(n);
        for (size_t r = 0; r < m; ++r) {
          GemmArgs one = args;
          one.m = 1, one.a = a.data() + r * k, one.c = c_row.data();
          one.activated = h_row.data();
          Gemm(one);
          EXPECT_TRUE(
              std::equal(c_row.begin(), c_row.end(), c_all.begin() + r * n))
              << "row " << r << " of C";
          EXPECT_TRUE(
              std::equal(h_row.begin(), h_row.end(), h_all.begin() + r * n))
              << "row " << r << " of activated";
        }
        if (::testing::Test::HasFailure()) return;
      }
    }
  }
}

}  // namespace
// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace elman
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace elman {
HWY_BEFORE_TEST(GemmTest);
HWY_EXPORT_AND_TEST_P(GemmTest, TestGemmStore);
HWY_EXPORT_AND_TEST_P(GemmTest, TestGemmStoreAndActivate);
HWY_EXPORT_AND_TEST_P(GemmTest, TestGemmTimesDerivative);
HWY_EXPORT_AND_TEST_P(GemmTest, TestGemmZeroK);
HWY_EXPORT_AND_TEST_P(GemmTest, TestGemmKBlocks);
HWY_EXPORT_AND_TEST_P(GemmTest, TestGemmPacked);
HWY_EXPORT_AND_TEST_P(GemmTest, TestGemmPackedA);
HWY_EXPORT_AND_TEST_P(GemmTest, TestGemmBPanels);
HWY_EXPORT_AND_TEST_P(GemmTest, TestGemmBTransposed);
HWY_EXPORT_AND_TEST_P(GemmTest, TestGemmWideRow);
HWY_EXPORT_AND_TEST_P(GemmTest, TestGemmSequence);
HWY_EXPORT_AND_TEST_P(GemmTest, TestGemmRowInvariant);
}  // namespace elman
#endif
