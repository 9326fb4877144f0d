// The latency path's kernels of src/kernels/matvec-inl.h on every compiled
// SIMD target, against sums in double: MatVecColumns with one and two terms
// (ĥ = b + x·Wᵀ + h·Uᵀ and dh = e·V + δ·U) and its fused epilogues (f and
// f'), MatVecPanels (over weights in panels), MatVecRows (the dense layer
// for few outputs), MatVecRowsReduced (for up to a vector of outputs), their
// forms with the input in registers (MatVecRowsOf, MatVecRowsReducedOf: the
// same bits) and MatVecQuads (the streaming step's ĥ over weights in quads,
// h in registers), on lengths below, at and above every vector width and
// panel width, with row strides that are not multiples of a vector, NaN in
// every float a kernel may read but must not use, and canaries around the
// outputs.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "elman/reference.h"
#include "tests/kernel_test_util.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/matvec_test.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/tests/test_util-inl.h"
#include "src/kernels/matvec-inl.h"
#include "src/transpose.h"

HWY_BEFORE_NAMESPACE();
namespace elman {
namespace HWY_NAMESPACE {
namespace {

namespace kt = ::elman::kernel_test;
using kt::GuardedMatrix;
using kt::kU;

// Output widths: every panel width on every target (1–8 vectors of 4, 8 or
// 16 floats) and the ragged sizes between them.
constexpr size_t kWidths[] = {1,  2,  3,  7,  8,  15,  16,  17, 31,
                              33, 48, 63, 64, 65, 100, 128, 129};
constexpr size_t kDepths[] = {1, 2, 3, 8, 17, 33, 64};

// A float sum of `terms` products, each rounded once, in any order: within
// (terms + 1)·u·Σ|term| of the exact sum (the init adds one more term).
double SumTolerance(size_t terms, double abs_sum) {
  return static_cast<double>(terms + 2) * kU * abs_sum;
}

// want += Σ_k in[k]·m(k, j) in double, and abs_sum += Σ_k |in[k]·m(k, j)|.
void AddTermInDouble(const GuardedMatrix& in, const GuardedMatrix& m,
                     size_t depth, size_t j, double& want, double& abs_sum) {
  for (size_t k = 0; k < depth; ++k) {
    const double term = double{in.at(0, k)} * m.at(k, j);
    want += term;
    abs_sum += std::abs(term);
  }
}

// Row j of a row-form product in double, init + Σ_i m(j, i)·in[i] (want),
// and init's and the terms' magnitudes summed (abs_sum).
struct RowSum {
  double want, abs_sum;
};
RowSum RowSumInDouble(const GuardedMatrix& m, const GuardedMatrix& in, size_t k,
                      size_t j, double init) {
  RowSum sum{init, std::abs(init)};
  for (size_t i = 0; i < k; ++i) {
    const double term = double{m.at(j, i)} * in.at(0, i);
    sum.want += term;
    sum.abs_sum += std::abs(term);
  }
  return sum;
}

std::string Where(size_t j, double got, double want) {
  std::ostringstream s;
  s.precision(9);
  s << "[" << j << "]: got " << got << ", want " << want << " ("
    << hwy::TargetName(HWY_TARGET) << ")";
  return s.str();
}

void TestColumns() {
  std::mt19937_64 random(31);
  size_t index = 0;
  for (size_t n : kWidths) {
    for (size_t k0 : kDepths) {
      for (size_t k1 : {size_t{0}, size_t{1}, size_t{5}, size_t{32}, n}) {
        ++index;
        const size_t pad = index % 3 == 0 ? 0 : index % 3 == 1 ? 3 : 16;
        const bool with_init = index % 2 == 0;
        SCOPED_TRACE("n=" + std::to_string(n) + " k0=" + std::to_string(k0) +
                     " k1=" + std::to_string(k1) + " pad=" +
                     std::to_string(pad) + (with_init ? " init" : ""));
        // Matrices may be read a vector past each row (kSlack floats of slack
        // after the last one): NaN there must never reach an output.
        GuardedMatrix m0(k0, n, n + pad, index % 4, kt::kSlack, kt::kNaN);
        GuardedMatrix m1(std::max<size_t>(k1, 1), n, n + pad / 2,
                         (index + 1) % 4, kt::kSlack, kt::kNaN);
        GuardedMatrix in0(1, k0, k0, (index + 2) % 4, 0, kt::kNaN);
        GuardedMatrix in1(1, std::max<size_t>(k1, 1), std::max<size_t>(k1, 1),
                          (index + 3) % 4, 0, kt::kNaN);
        GuardedMatrix init(1, n, n, index / 4 % 4, 0, kt::kNaN);
        GuardedMatrix out(1, n, n, index / 2 % 4);
        m0.FillRandom(random);
        m1.FillRandom(random);
        in0.FillRandom(random);
        in1.FillRandom(random);
        init.FillRandom(random);
        out.FillRandom(random, 100.0f, 200.0f);  // must be overwritten

        const MatVecTerm terms[2] = {{in0.data(), k0, m0.data(), m0.ld()},
                                     {in1.data(), k1, m1.data(), m1.ld()}};
        MatVecColumns(terms, k1 > 0 ? 2 : 1, n,
                      with_init ? init.data() : nullptr, StoreSums{out.data()});

        for (size_t j = 0; j < n; ++j) {
          double want = with_init ? init.at(0, j) : 0.0;
          double abs_sum = std::abs(want);
          AddTermInDouble(in0, m0, k0, j, want, abs_sum);
          AddTermInDouble(in1, m1, k1, j, want, abs_sum);
          const double got = out.at(0, j);
          ASSERT_LE(std::abs(got - want), SumTolerance(k0 + k1, abs_sum))
              << Where(j, got, want);
        }
        ASSERT_TRUE(out.CanariesIntact());
      }
    }
  }
}

void TestRows() {
  std::mt19937_64 random(32);
  size_t index = 0;
  for (size_t n = 1; n <= kRowFormMaxOutputs; ++n) {
    for (size_t k : kWidths) {
      for (size_t pad : {size_t{0}, size_t{1}, size_t{16}}) {
        ++index;
        const bool with_init = index % 2 == 0;
        SCOPED_TRACE("n=" + std::to_string(n) + " k=" + std::to_string(k) +
                     " pad=" + std::to_string(pad) +
                     (with_init ? " init" : ""));
        // The row form reads exactly: NaN right after each row and after
        // the input.
        GuardedMatrix matrix(n, k, k + pad, index % 4, 0, kt::kNaN);
        GuardedMatrix in(1, k, k, (index + 1) % 4, 0, kt::kNaN);
        GuardedMatrix init(1, n, n, (index + 2) % 4, 0, kt::kNaN);
        GuardedMatrix out(1, n, n, (index + 3) % 4);
        matrix.FillRandom(random);
        in.FillRandom(random);
        init.FillRandom(random);
        MatVecRows(matrix.data(), matrix.ld(), n, in.data(), k,
                   with_init ? init.data() : nullptr, out.data());
        // With an output activation: the same sums, and a(sum) beside them.
        const Activation a = kt::kActivations[index % 4];
        GuardedMatrix sums(1, n, n, index % 3), activated(1, n, n, 1);
        WithActivation(a, [&](auto tag) {
          MatVecRows<decltype(tag)::value>(
              matrix.data(), matrix.ld(), n, in.data(), k,
              with_init ? init.data() : nullptr, sums.data(), activated.data());
        });
        for (size_t j = 0; j < n; ++j) {
          ASSERT_EQ(sums.at(0, j), out.at(0, j)) << "[" << j << "]";
          const double want_a = reference::Activate(a, out.at(0, j));
          ASSERT_LE(std::abs(activated.at(0, j) - want_a),
                    kt::ActivationTolerance(a, want_a))
              << ActivationName(a) << Where(j, activated.at(0, j), want_a);
        }
        ASSERT_TRUE(sums.CanariesIntact());
        ASSERT_TRUE(activated.CanariesIntact());
        for (size_t j = 0; j < n; ++j) {
          const RowSum want =
              RowSumInDouble(matrix, in, k, j, with_init ? init.at(0, j) : 0.0);
          const double got = out.at(0, j);
          ASSERT_LE(std::abs(got - want.want), SumTolerance(k, want.abs_sum))
              << Where(j, got, want.want);
        }
        ASSERT_TRUE(out.CanariesIntact());
      }
    }
  }
}

// MatVecRowsReduced (the dense layer of FusedStep's one-kernel path, AVX2
// and AVX-512 only): every output count up to a vector, H of 1, 2 and 4
// vectors, every activation. It reads exactly: NaN after the matrix, the
// input and the init.
#if HWY_TARGET <= HWY_AVX2 && !HWY_HAVE_SCALABLE
template <size_t kDepthVecs>
void TestRowsReducedAtDepth(std::mt19937_64& random, size_t& index) {
  constexpr size_t kLanes = hn::MaxLanes(hn::ScalableTag<float>());
  constexpr size_t k = kDepthVecs * kLanes;
  for (size_t n = 1; n <= kLanes; ++n) {
    ++index;
    SCOPED_TRACE("n=" + std::to_string(n) + " k=" + std::to_string(k));
    GuardedMatrix matrix(n, k, k, index % 4, 0, kt::kNaN);
    GuardedMatrix in(1, k, k, (index + 1) % 4, 0, kt::kNaN);
    GuardedMatrix init(1, n, n, (index + 2) % 4, 0, kt::kNaN);
    GuardedMatrix sums(1, n, n, (index + 3) % 4), activated(1, n, n, 1);
    matrix.FillRandom(random);
    in.FillRandom(random);
    init.FillRandom(random);
    const Activation a = kt::kActivations[index % 4];
    MatVecRowsReduced<kDepthVecs>(
        matrix.data(), n, in.data(), init.data(),
        StoreAndActivateAny{sums.data(), activated.data(), a});
    ASSERT_TRUE(sums.CanariesIntact());
    ASSERT_TRUE(activated.CanariesIntact());
    // The register forms QuadFusedSteps' dense layer takes: the
    // reduced rows' bits, and for the row form MatVecRows' bits, with `in`
    // in registers instead of memory.
    const hn::ScalableTag<float> d;
    hn::Vec<decltype(d)> in_vecs[kDepthVecs];
    for (size_t v = 0; v < kDepthVecs; ++v) {
      in_vecs[v] = hn::LoadU(d, in.data() + v * kLanes);
    }
    GuardedMatrix of_sums(1, n, n, index % 3), of_activated(1, n, n, 2);
    MatVecRowsReducedOf<kDepthVecs>(
        d, matrix.data(), n, in_vecs, init.data(),
        StoreAndActivateAny{of_sums.data(), of_activated.data(), a});
    GuardedMatrix row_sums(1, n, n, 1), row_activated(1, n, n, 3);
    GuardedMatrix rows_of_sums(1, n, n, 2), rows_of_activated(1, n, n, 0);
    WithActivation(a, [&](auto tag) HWY_ATTR {
      MatVecRows<decltype(tag)::value>(matrix.data(), k, n, in.data(), k,
                                       init.data(), row_sums.data(),
                                       row_activated.data());
      MatVecRowsOf<kDepthVecs, decltype(tag)::value>(
          d, matrix.data(), n, in_vecs, init.data(), rows_of_sums.data(),
          rows_of_activated.data());
    });
    // Bit for bit, the sign of zero included.
    const auto same = [n](GuardedMatrix& a, GuardedMatrix& b) {
      return std::memcmp(a.data(), b.data(), n * sizeof(float)) == 0;
    };
    ASSERT_TRUE(same(of_sums, sums));
    ASSERT_TRUE(same(of_activated, activated));
    ASSERT_TRUE(same(rows_of_sums, row_sums));
    ASSERT_TRUE(same(rows_of_activated, row_activated));
    ASSERT_TRUE(of_sums.CanariesIntact() && of_activated.CanariesIntact());
    ASSERT_TRUE(rows_of_sums.CanariesIntact() &&
                rows_of_activated.CanariesIntact());
    for (size_t j = 0; j < n; ++j) {
      const RowSum want = RowSumInDouble(matrix, in, k, j, init.at(0, j));
      const double got = sums.at(0, j);
      ASSERT_LE(std::abs(got - want.want), SumTolerance(k, want.abs_sum))
          << Where(j, got, want.want);
      const double want_a = reference::Activate(a, got);
      ASSERT_LE(std::abs(activated.at(0, j) - want_a),
                kt::ActivationTolerance(a, want_a))
          << ActivationName(a) << Where(j, activated.at(0, j), want_a);
    }
  }
}
#endif

void TestRowsReduced() {
#if HWY_TARGET <= HWY_AVX2 && !HWY_HAVE_SCALABLE
  std::mt19937_64 random(38);
  size_t index = 0;
  TestRowsReducedAtDepth<1>(random, index);
  TestRowsReducedAtDepth<2>(random, index);
  TestRowsReducedAtDepth<4>(random, index);
#else
  GTEST_SKIP() << "MatVecRowsReduced is compiled for AVX2 and AVX-512 only";
#endif
}

// MatVecQuads (the streaming step's ĥ on AVX-512, weights in quads): H of
// 1, 2 and 4 units, inputs in whole and partial quads (I = 1, 2, 3, 4, 5,
// 8, 17, 33), h given (in registers) and h = 0 (nullptr). The input is
// read exactly: NaN right after x[I − 1] must not reach a sum.
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
template <size_t kUnits>
void TestQuadsAtWidth(std::mt19937_64& random, size_t& index) {
  const hn::ScalableTag<float> d;
  constexpr size_t n = kUnits * internal::kQuadUnit;
  for (size_t k0 : {1, 2, 3, 4, 5, 8, 17, 33}) {
    for (bool with_h : {true, false}) {
      ++index;
      SCOPED_TRACE("n=" + std::to_string(n) + " k0=" + std::to_string(k0) +
                   (with_h ? " h" : " h=0"));
      GuardedMatrix w(k0, n, n, 0), u(n, n, n, 0), bias(1, n, n, 0);
      GuardedMatrix x(1, k0, k0, index % 4, 0, kt::kNaN);
      GuardedMatrix h(1, n, n, 0);
      w.FillRandom(random);
      u.FillRandom(random);
      bias.FillRandom(random);
      x.FillRandom(random);
      h.FillRandom(random);
      // The quads packed from the matrices' transposes, the rows of W and U
      // as a model holds them.
      auto quads_of = [](const GuardedMatrix& m, size_t k, size_t n_out) {
        std::vector<float> rows(n_out * k);
        for (size_t j = 0; j < n_out; ++j) {
          for (size_t kk = 0; kk < k; ++kk) rows[j * k + kk] = m.at(kk, j);
        }
        std::vector<float> quads(internal::QuadFloats(k, n_out));
        internal::PackQuadsFromRows(rows.data(), k, n_out, quads.data());
        return quads;
      };
      const std::vector<float> w_quads = quads_of(w, k0, n);
      const std::vector<float> u_quads = quads_of(u, n, n);
      const std::vector<float> b_quads = quads_of(bias, 1, n);
      using V = hn::Vec<decltype(d)>;
      V h_vecs[kUnits];
      for (size_t r = 0; r < kUnits; ++r) {
        h_vecs[r] = hn::LoadU(d, h.data() + r * internal::kQuadUnit);
      }
      V sums[kUnits];
      MatVecQuads(d, x.data(), k0, w_quads.data(), with_h ? h_vecs : nullptr,
                  u_quads.data(), b_quads.data(), sums);
      float got[n];
      for (size_t r = 0; r < kUnits; ++r) {
        hn::StoreU(sums[r], d, got + r * internal::kQuadUnit);
      }
      for (size_t j = 0; j < n; ++j) {
        double want = bias.at(0, j), abs_sum = std::abs(want);
        AddTermInDouble(x, w, k0, j, want, abs_sum);
        if (with_h) AddTermInDouble(h, u, n, j, want, abs_sum);
        ASSERT_LE(std::abs(got[j] - want),
                  SumTolerance(k0 + (with_h ? n : 0), abs_sum))
            << Where(j, got[j], want);
      }
    }
  }
}
#endif

void TestQuads() {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
  std::mt19937_64 random(41);
  size_t index = 0;
  TestQuadsAtWidth<1>(random, index);
  TestQuadsAtWidth<2>(random, index);
  TestQuadsAtWidth<4>(random, index);
#else
  GTEST_SKIP() << "MatVecQuads is compiled for AVX-512 only";
#endif
}

// The fused epilogues: ĥ and h = f(ĥ) stored together (StoreAndActivate),
// and dh ⊙ f'(ĥ) from the stored h (TimesDerivative), for every activation.
// The sums themselves are TestColumns' business: here the epilogue's input
// is the kernel's own sum (StoreSums on the same terms gives the same bits),
// and what it stores is checked against the activation in double.
void TestEpilogues() {
  std::mt19937_64 random(34);
  size_t index = 0;
  for (Activation a : kt::kActivations) {
    for (size_t n : kWidths) {
      ++index;
      SCOPED_TRACE(std::string(ActivationName(a)) + " n=" + std::to_string(n));
      const size_t k = 1 + index % 40;
      GuardedMatrix matrix(k, n, n + 1, index % 4, kt::kSlack, kt::kNaN);
      GuardedMatrix in(1, k, k, (index + 1) % 4, 0, kt::kNaN);
      GuardedMatrix output(1, n, n, (index + 2) % 4, 0, kt::kNaN);
      matrix.FillRandom(random);
      in.FillRandom(random, -2.0f, 2.0f);
      output.FillRandom(random, -0.99f, 0.99f);
      if (a == Activation::kSigmoid) output.FillRandom(random, 0.01f, 0.99f);
      const MatVecTerm term{in.data(), k, matrix.data(), matrix.ld()};

      GuardedMatrix sums(1, n, n, index % 3), pre(1, n, n, (index + 1) % 3);
      GuardedMatrix activated(1, n, n, (index + 2) % 3);
      GuardedMatrix scaled(1, n, n, index / 3 % 3);
      MatVecColumns(&term, 1, n, nullptr, StoreSums{sums.data()});
      WithActivation(a, [&](auto tag) {
        constexpr Activation kA = decltype(tag)::value;
        MatVecColumns(&term, 1, n, nullptr,
                      StoreAndActivate<kA>{pre.data(), activated.data()});
        MatVecColumns(&term, 1, n, nullptr,
                      TimesDerivative<kA>{scaled.data(), output.data()});
      });
      for (size_t j = 0; j < n; ++j) {
        const double z = sums.at(0, j);
        ASSERT_EQ(pre.at(0, j), sums.at(0, j)) << "[" << j << "]";
        const double want_a = reference::Activate(a, z);
        ASSERT_LE(std::abs(activated.at(0, j) - want_a),
                  kt::ActivationTolerance(a, want_a))
            << Where(j, activated.at(0, j), want_a);
        // z·a'(·) with a' formed from the given output: a' is off by the
        // derivative's absolute bound, and the product adds one rounding.
        const double derivative =
            kt::DerivativeFromOutputRef(a, output.at(0, j));
        const double want_scaled = z * derivative;
        const double tolerance =
            std::abs(z) * (kt::DerivativeTolerance(a) + kU * derivative) +
            1e-30;
        ASSERT_LE(std::abs(scaled.at(0, j) - want_scaled), tolerance)
            << Where(j, scaled.at(0, j), want_scaled);
      }
      ASSERT_TRUE(pre.CanariesIntact());
      ASSERT_TRUE(activated.CanariesIntact());
      ASSERT_TRUE(scaled.CanariesIntact());
    }
  }
}

// A square last term whose rows are n floats apart, n a whole number of
// vectors up to a panel (U in ĥ = b + x·Wᵀ + h·Uᵀ, or in dh = e·V + δ·U, at
// H = 8, 16, …, 64): MatVecColumns unrolls its depth at compile time on the
// AVX2 and AVX-512 targets. It must give the bits of the runtime-depth loop,
// which the same matrix stored with a longer row stride takes, with every
// epilogue, with and without a first term and an init; and those bits must be
// the sums (against double).
void TestSquareLastTerm() {
  std::mt19937_64 random(35);
  size_t index = 0;
  for (size_t n : {4, 8, 12, 16, 24, 32, 40, 48, 56, 64, 65}) {
    for (size_t k0 : {size_t{0}, size_t{1}, size_t{3}, size_t{17}}) {
      ++index;
      const bool with_init = index % 2 == 0;
      const Activation a = kt::kActivations[index % 4];
      SCOPED_TRACE("n=" + std::to_string(n) + " k0=" + std::to_string(k0) +
                   (with_init ? " init " : " ") + ActivationName(a));
      GuardedMatrix m0(std::max<size_t>(k0, 1), n, n + 3, index % 4, kt::kSlack,
                       kt::kNaN);
      GuardedMatrix in0(1, std::max<size_t>(k0, 1), std::max<size_t>(k0, 1),
                        (index + 1) % 4, 0, kt::kNaN);
      GuardedMatrix square(n, n, n, (index + 2) % 4, kt::kSlack, kt::kNaN);
      GuardedMatrix strided(n, n, n + 5, (index + 3) % 4, kt::kSlack, kt::kNaN);
      GuardedMatrix in1(1, n, n, index % 3, 0, kt::kNaN);
      GuardedMatrix init(1, n, n, (index + 1) % 3, 0, kt::kNaN);
      GuardedMatrix output(1, n, n, (index + 2) % 3, 0, kt::kNaN);
      m0.FillRandom(random);
      in0.FillRandom(random);
      square.FillRandom(random);
      for (size_t r = 0; r < n; ++r) {
        for (size_t c = 0; c < n; ++c) strided.at(r, c) = square.at(r, c);
      }
      in1.FillRandom(random);
      init.FillRandom(random);
      output.FillRandom(random, 0.01f, 0.99f);
      const float* init_or_null = with_init ? init.data() : nullptr;
      auto terms_with = [&](const GuardedMatrix& last) {
        return std::vector<MatVecTerm>{{in0.data(), k0, m0.data(), m0.ld()},
                                       {in1.data(), n, last.data(), last.ld()}};
      };
      const std::vector<MatVecTerm> fixed = terms_with(square);
      const std::vector<MatVecTerm> runtime = terms_with(strided);
      // Without a first term, the square one is the only term.
      const size_t first = k0 > 0 ? 0 : 1, count = 2 - first;

      GuardedMatrix sums(1, n, n, 0), want_sums(1, n, n, 1);
      MatVecColumns(&fixed[first], count, n, init_or_null,
                    StoreSums{sums.data()});
      MatVecColumns(&runtime[first], count, n, init_or_null,
                    StoreSums{want_sums.data()});
      GuardedMatrix pre(1, n, n, 2), activated(1, n, n, 0);
      GuardedMatrix want_pre(1, n, n, 1), want_activated(1, n, n, 2);
      GuardedMatrix scaled(1, n, n, 1), want_scaled(1, n, n, 0);
      WithActivation(a, [&](auto tag) {
        constexpr Activation kA = decltype(tag)::value;
        MatVecColumns(&fixed[first], count, n, init_or_null,
                      StoreAndActivate<kA>{pre.data(), activated.data()});
        MatVecColumns(
            &runtime[first], count, n, init_or_null,
            StoreAndActivate<kA>{want_pre.data(), want_activated.data()});
        MatVecColumns(&fixed[first], count, n, init_or_null,
                      TimesDerivative<kA>{scaled.data(), output.data()});
        MatVecColumns(&runtime[first], count, n, init_or_null,
                      TimesDerivative<kA>{want_scaled.data(), output.data()});
      });
      for (size_t j = 0; j < n; ++j) {
        ASSERT_EQ(sums.at(0, j), want_sums.at(0, j)) << "[" << j << "]";
        ASSERT_EQ(pre.at(0, j), want_pre.at(0, j)) << "[" << j << "]";
        ASSERT_EQ(activated.at(0, j), want_activated.at(0, j))
            << "[" << j << "]";
        ASSERT_EQ(scaled.at(0, j), want_scaled.at(0, j)) << "[" << j << "]";
        double want = with_init ? init.at(0, j) : 0.0;
        double abs_sum = std::abs(want);
        AddTermInDouble(in0, m0, k0, j, want, abs_sum);
        AddTermInDouble(in1, square, n, j, want, abs_sum);
        ASSERT_LE(std::abs(sums.at(0, j) - want), SumTolerance(k0 + n, abs_sum))
            << Where(j, sums.at(0, j), want);
      }
      for (const GuardedMatrix* m : {&sums, &pre, &activated, &scaled}) {
        ASSERT_TRUE(m->CanariesIntact());
      }
    }
  }
}

// The column form's sum is split over accumulator sets and added in a fixed
// tree: the same inputs give the same bits, whatever the output buffer held
// and wherever it sits.
void TestColumnsDeterministic() {
  std::mt19937_64 random(33);
  for (size_t n : {size_t{17}, size_t{64}, size_t{129}}) {
    GuardedMatrix matrix(n, n, n, 0, kt::kSlack, kt::kNaN);
    GuardedMatrix in(1, n, n, 1, 0, kt::kNaN);
    matrix.FillRandom(random);
    in.FillRandom(random);
    const MatVecTerm term{in.data(), n, matrix.data(), matrix.ld()};
    std::vector<float> first(n, 7.0f), second(n + 3, -3.0f);
    MatVecColumns(&term, 1, n, nullptr, StoreSums{first.data()});
    MatVecColumns(&term, 1, n, nullptr, StoreSums{second.data() + 3});
    for (size_t j = 0; j < n; ++j) {
      ASSERT_EQ(first[j], second[j + 3]) << "n=" << n << " j=" << j;
    }
  }
}

// A k × n matrix in the panel layout of src/panels.h, with NaN in the slack
// after it: targets whose vectors are wider than the last panel read past
// it, and that must not reach an output.
struct PanelMatrix {
  PanelMatrix(const GuardedMatrix& m, size_t k, size_t n)
      : layout{k, n},
        panels(1, layout.size(), layout.size(), 0, kt::kSlack, kt::kNaN) {
    internal::PackPanels(m.data(), layout, panels.data());
  }
  internal::PanelLayout layout;
  GuardedMatrix panels;
};

// MatVecPanels with one term (h·Uᵀ) and two (x·Wᵀ + h·Uᵀ) over matrices in
// panels: sums in double; where a panel is a whole number of 4-vector runs
// (every x86 target), the bits of MatVecColumns on the row-major matrices
// (the same runs of the same widths); and a range of panels, in either
// order, writes its columns only, with the bits of the whole product.
void TestPanels() {
  std::mt19937_64 random(34);
  size_t index = 0;
  const size_t lanes = hn::Lanes(hn::ScalableTag<float>());
  const bool same_runs = internal::kPanelFloats % (4 * lanes) == 0;
  for (size_t n : {size_t{1}, size_t{3}, size_t{17}, size_t{63}, size_t{64},
                   size_t{65}, size_t{100}, size_t{129}, size_t{200}}) {
    for (size_t k0 : {size_t{1}, size_t{3}, size_t{33}, size_t{70}}) {
      ++index;
      const bool with_init = index % 2 == 0;
      const size_t num_terms = 1 + index / 2 % 2;
      const size_t k1 = 1 + index % 37;
      SCOPED_TRACE("n=" + std::to_string(n) + " k0=" + std::to_string(k0) +
                   (num_terms == 2 ? " k1=" + std::to_string(k1) : "") +
                   (with_init ? " init" : ""));
      GuardedMatrix m0(k0, n, n, index % 4, kt::kSlack, kt::kNaN);
      GuardedMatrix m1(k1, n, n, (index + 1) % 4, kt::kSlack, kt::kNaN);
      GuardedMatrix in0(1, k0, k0, (index + 1) % 4, 0, kt::kNaN);
      GuardedMatrix in1(1, k1, k1, (index + 3) % 4, 0, kt::kNaN);
      GuardedMatrix init(1, n, n, (index + 2) % 4, 0, kt::kNaN);
      for (GuardedMatrix* m : {&m0, &m1, &in0, &in1, &init}) {
        m->FillRandom(random);
      }
      const PanelMatrix p0(m0, k0, n), p1(m1, k1, n);
      const float* init_or_null = with_init ? init.data() : nullptr;

      GuardedMatrix out(1, n, n, index / 2 % 4);
      out.FillRandom(random, 100.0f, 200.0f);  // must be overwritten
      const PanelTerm terms[2] = {{in0.data(), p0.panels.data(), p0.layout},
                                  {in1.data(), p1.panels.data(), p1.layout}};
      MatVecPanels(terms, num_terms, n, 0, p0.layout.panels(), init_or_null,
                   StoreSums{out.data()});
      GuardedMatrix columns(1, n, n, 0);
      const MatVecTerm row_major[2] = {{in0.data(), k0, m0.data(), m0.ld()},
                                       {in1.data(), k1, m1.data(), m1.ld()}};
      MatVecColumns(row_major, num_terms, n, init_or_null,
                    StoreSums{columns.data()});
      for (size_t j = 0; j < n; ++j) {
        double want = with_init ? init.at(0, j) : 0.0;
        double abs_sum = std::abs(want);
        AddTermInDouble(in0, m0, k0, j, want, abs_sum);
        if (num_terms == 2) AddTermInDouble(in1, m1, k1, j, want, abs_sum);
        const double got = out.at(0, j);
        ASSERT_LE(std::abs(got - want),
                  SumTolerance(k0 + (num_terms == 2 ? k1 : 0), abs_sum))
            << Where(j, got, want);
        if (same_runs) {
          ASSERT_EQ(out.at(0, j), columns.at(0, j)) << "[" << j << "]";
        }
      }
      ASSERT_TRUE(out.CanariesIntact());

      // The panels in descending order (every other step of a recurrence),
      // all of them and a share [1, panels): each of its columns the same
      // bits, every other column keeping what it held.
      const size_t panels = p0.layout.panels();
      for (size_t first : {size_t{0}, size_t{1}}) {
        if (first >= panels) continue;
        std::vector<float> descending(n, -5.0f);
        MatVecPanels(terms, num_terms, n, first, panels, init_or_null,
                     StoreSums{descending.data()}, /*descending=*/true);
        for (size_t j = 0; j < n; ++j) {
          const bool mine = j / internal::kPanelFloats >= first;
          ASSERT_EQ(descending[j], mine ? out.at(0, j) : -5.0f)
              << "descending from panel " << first << " [" << j << "]";
        }
      }

      // Panel 1 alone (as one thread's share): its columns, the same bits;
      // every other column keeps what it held.
      if (panels < 2) continue;
      std::vector<float> share(n, -5.0f);
      MatVecPanels(terms, num_terms, n, 1, 2, init_or_null,
                   StoreSums{share.data()});
      for (size_t j = 0; j < n; ++j) {
        const bool mine = j / internal::kPanelFloats == 1;
        ASSERT_EQ(share[j], mine ? out.at(0, j) : -5.0f) << "[" << j << "]";
      }
    }
  }
}

// MatVecPanels with last_row_first (Stream::Step's odd steps read the whole
// product backwards): every column within the double sum's tolerance, and
// only its panels' columns written, for all panels and a share [1, panels),
// in both panel orders. Where each term's depth is a multiple of 8 and there
// is no init, also bit for bit the forward product of the terms in reverse
// order, each with its rows and inputs reversed: row k then feeds set
// S − 1 − k % S in place of k % S, each set sees the same rows in the same
// order, and the sets' balanced tree is its own mirror image (float adds
// commute) — so a row skipped, read twice or sent to another set shows.
// Sizeless vectors ignore last_row_first: there, the forward bits.
void TestPanelsLastRowFirst() {
  std::mt19937_64 random(35);
  size_t index = 0;
  for (size_t n : {size_t{1}, size_t{3}, size_t{17}, size_t{63}, size_t{64},
                   size_t{65}, size_t{100}, size_t{129}, size_t{200}}) {
    for (size_t k0 : {size_t{1}, size_t{8}, size_t{33}, size_t{72}}) {
      for (size_t k1 : {size_t{0}, size_t{16}, size_t{21}, size_t{40}}) {
        ++index;
        const bool with_init = index % 3 == 0;
        const size_t num_terms = k1 == 0 ? 1 : 2;
        const bool exact = k0 % 8 == 0 && k1 % 8 == 0 && !with_init;
        SCOPED_TRACE("n=" + std::to_string(n) + " k0=" + std::to_string(k0) +
                     " k1=" + std::to_string(k1) + (with_init ? " init" : ""));
        const size_t depths[2] = {k0, std::max<size_t>(k1, 1)};
        std::vector<GuardedMatrix> matrices, reversed_matrices, ins,
            reversed_ins;
        std::vector<PanelMatrix> panels, reversed_panels;
        // Built in place, never moved: each holds pointers into itself.
        for (auto* v : {&matrices, &reversed_matrices, &ins, &reversed_ins}) {
          v->reserve(2);
        }
        panels.reserve(2);
        reversed_panels.reserve(2);
        for (size_t t = 0; t < 2; ++t) {
          const size_t k = depths[t];
          matrices.emplace_back(k, n, n, (index + t) % 4, kt::kSlack, kt::kNaN);
          matrices.back().FillRandom(random);
          ins.emplace_back(1, k, k, (index + t + 1) % 4, 0, kt::kNaN);
          ins.back().FillRandom(random);
          reversed_matrices.emplace_back(k, n, n, 0, kt::kSlack, kt::kNaN);
          reversed_ins.emplace_back(1, k, k, 0, 0, kt::kNaN);
          for (size_t r = 0; r < k; ++r) {
            reversed_ins.back().at(0, r) = ins.back().at(0, k - 1 - r);
            for (size_t j = 0; j < n; ++j) {
              reversed_matrices.back().at(r, j) =
                  matrices.back().at(k - 1 - r, j);
            }
          }
        }
        for (size_t t = 0; t < 2; ++t) {
          panels.emplace_back(matrices[t], depths[t], n);
          reversed_panels.emplace_back(reversed_matrices[t], depths[t], n);
        }
        GuardedMatrix init(1, n, n, index % 4, 0, kt::kNaN);
        init.FillRandom(random);
        const float* init_or_null = with_init ? init.data() : nullptr;
        const PanelTerm terms[2] = {
            {ins[0].data(), panels[0].panels.data(), panels[0].layout},
            {ins[1].data(), panels[1].panels.data(), panels[1].layout}};
        // The forward product of the reversed terms, last term first.
        const PanelTerm mirror[2] = {
            {reversed_ins[num_terms - 1].data(),
             reversed_panels[num_terms - 1].panels.data(),
             reversed_panels[num_terms - 1].layout},
            {reversed_ins[0].data(), reversed_panels[0].panels.data(),
             reversed_panels[0].layout}};
        const size_t panel_count = panels[0].layout.panels();
        std::vector<float> forward(n), mirrored(n);
        MatVecPanels(terms, num_terms, n, 0, panel_count, init_or_null,
                     StoreSums{forward.data()});
        MatVecPanels(mirror, num_terms, n, 0, panel_count, init_or_null,
                     StoreSums{mirrored.data()});
        for (size_t first : {size_t{0}, size_t{1}}) {
          if (first >= panel_count) continue;
          for (bool descending : {false, true}) {
            std::vector<float> out(n, -5.0f);
            MatVecPanels(terms, num_terms, n, first, panel_count, init_or_null,
                         StoreSums{out.data()}, descending,
                         /*last_row_first=*/true);
            for (size_t j = 0; j < n; ++j) {
              const bool mine = j / internal::kPanelFloats >= first;
              if (!mine) {
                ASSERT_EQ(out[j], -5.0f) << "[" << j << "] written";
                continue;
              }
              double want = with_init ? init.at(0, j) : 0.0;
              double abs_sum = std::abs(want);
              AddTermInDouble(ins[0], matrices[0], k0, j, want, abs_sum);
              if (num_terms == 2) {
                AddTermInDouble(ins[1], matrices[1], k1, j, want, abs_sum);
              }
              ASSERT_LE(std::abs(out[j] - want), SumTolerance(k0 + k1, abs_sum))
                  << Where(j, out[j], want);
#if HWY_HAVE_SCALABLE
              ASSERT_EQ(out[j], forward[j]) << "[" << j << "]";
#else
              if (exact) {
                ASSERT_EQ(out[j], mirrored[j]) << "[" << j << "] mirror";
              }
#endif
            }
          }
        }
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
HWY_BEFORE_TEST(MatVecTest);
HWY_EXPORT_AND_TEST_P(MatVecTest, TestColumns);
HWY_EXPORT_AND_TEST_P(MatVecTest, TestRows);
HWY_EXPORT_AND_TEST_P(MatVecTest, TestRowsReduced);
HWY_EXPORT_AND_TEST_P(MatVecTest, TestQuads);
HWY_EXPORT_AND_TEST_P(MatVecTest, TestEpilogues);
HWY_EXPORT_AND_TEST_P(MatVecTest, TestColumnsDeterministic);
HWY_EXPORT_AND_TEST_P(MatVecTest, TestSquareLastTerm);
HWY_EXPORT_AND_TEST_P(MatVecTest, TestPanels);
HWY_EXPORT_AND_TEST_P(MatVecTest, TestPanelsLastRowFirst);

// Panels packed from the matrix's transpose (Forward packs Uᵀ's panels
// straight from U) are the panels of the transpose, byte for byte: every
// panel, the last one's zero padding, and packed a panel range at a time
// (a pool's parts). The buffer starts as NaN, so a float left unwritten
// shows.
TEST(PanelsTest, PackFromTransposeEqualsPackOfTranspose) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  for (size_t k : {1, 3, 17, 33, 130}) {
    for (size_t n : {1, 3, 16, 17, 33, 64, 65, 100, 130, 200}) {
      SCOPED_TRACE("k=" + std::to_string(k) + " n=" + std::to_string(n));
      std::vector<float> transposed(n * k);  // Mᵀ, n × k
      for (float& value : transposed) value = uniform(rng);
      std::vector<float> matrix(k * n);  // M, k × n
      internal::Transpose(transposed.data(), n, k, matrix.data());
      const internal::PanelLayout layout{k, n};
      std::vector<float> want(layout.size());
      internal::PackPanels(matrix.data(), layout, want.data());
      for (size_t step : {layout.panels(), size_t{1}}) {
        std::vector<float> got(layout.size(), std::nanf(""));
        for (size_t first = 0; first < layout.panels(); first += step) {
          internal::PackTransposedPanelRange(
              transposed.data(), layout, first,
              std::min(layout.panels(), first + step), got.data());
        }
        EXPECT_EQ(0, std::memcmp(want.data(), got.data(),
                                 want.size() * sizeof(float)));
      }
    }
  }
}
}  // namespace elman
#endif
