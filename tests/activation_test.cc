// The activation kernels of src/kernels/activation-inl.h on every compiled
// SIMD target: Activate and Derivative per vector against the formulas in
// double (ulp bounds for the values, absolute bounds for the derivatives, see
// tests/kernel_test_util.h), and the array ops on every length at every
// misalignment, with canaries after the end and in place.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tests/kernel_test_util.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "tests/activation_test.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/tests/test_util-inl.h"
#include "src/kernels/activation-inl.h"

HWY_BEFORE_NAMESPACE();
namespace elman {
namespace HWY_NAMESPACE {
namespace {

namespace kt = ::elman::kernel_test;
using kt::GuardedMatrix;

// The sweep: every 2⁻¹⁰ over [-20, 20], then the special values: signed
// zeros, subnormal, tiny and huge magnitudes, the points where sigmoid's cap
// on e^−z and float's exp range bite (±87, ±88, ±89, ±100), and ±∞.
std::vector<float> SweepInputs() {
  std::vector<float> z;
  for (int i = -20 * 1024; i <= 20 * 1024; ++i) z.push_back(i / 1024.0f);
  const float big = std::numeric_limits<float>::max();
  const float inf = std::numeric_limits<float>::infinity();
  for (float s : {1.0f, -1.0f}) {
    for (float v : {0.0f, 1e-40f, 1e-30f, 1e-7f, 1e-3f, 17.0f, 18.7f, 19.0f,
                    87.0f, 88.0f, 89.0f, 100.0f, 1e10f, 1e30f, big, inf}) {
      z.push_back(s * v);
    }
  }
  return z;
}

// Marks v as used, for PerVector: an op that ignores its input (identity's
// derivative, a constant 1) leaves its loop a dead load of a vector, on
// which GCC 12 crashes when compiling for SVE (internal compiler error in
// the ivopts or slp pass; reproduced with the ACLE intrinsics alone). The
// empty asm takes v in a register and so keeps the load.
template <class V>
HWY_INLINE void KeepAlive(V& v) {
#if HWY_HAVE_SCALABLE && HWY_ARCH_ARM_A64 && !HWY_COMPILER_CLANG
  asm volatile("" : "+w"(v));
#else
  (void)v;
#endif
}

// Applies the per-vector op `op(d, v)` to z in whole vectors (z is padded
// with zeros to a multiple of the vector length; the padding is dropped).
template <class Op>
std::vector<float> PerVector(const std::vector<float>& z, Op op) {
  const hn::ScalableTag<float> d;
  const size_t lanes = hn::Lanes(d);
  const size_t padded = (z.size() + lanes - 1) / lanes * lanes;
  std::vector<float> in(z), out(padded);
  in.resize(padded, 0.0f);
  for (size_t i = 0; i < padded; i += lanes) {
    auto v = hn::LoadU(d, in.data() + i);
    KeepAlive(v);
    hn::StoreU(op(d, v), d, out.data() + i);
  }
  out.resize(z.size());
  return out;
}

// The largest error found in a sweep, as a multiple of the tolerance, with
// the input that produced it.
struct Worst {
  double ratio = 0.0;
  float z = 0.0f;
  double got = 0.0, want = 0.0, tolerance = 0.0;

  void Update(float zi, double got_i, double want_i, double tolerance_i) {
    double error = std::abs(got_i - want_i);
    if (std::isinf(want_i) && got_i == want_i) error = 0.0;
    if (std::isnan(error)) error = std::numeric_limits<double>::infinity();
    const double r = tolerance_i > 0.0 ? error / tolerance_i
                     : error > 0.0     ? std::numeric_limits<double>::infinity()
                                       : 0.0;
    if (r > ratio || (std::isinf(r) && !std::isinf(ratio))) {
      ratio = r, z = zi, got = got_i, want = want_i, tolerance = tolerance_i;
    }
  }
  std::string Describe(const char* what, Activation a) const {
    std::ostringstream s;
    s.precision(9);
    s << what << " " << ActivationName(a) << " at z=" << z << ": got " << got
      << ", want " << want << ", tolerance " << tolerance << " ("
      << hwy::TargetName(HWY_TARGET) << ")";
    return s.str();
  }
};

void TestActivateVector() {
  const std::vector<float> z = SweepInputs();
  for (Activation a : kt::kActivations) {
    std::vector<float> got;
    WithActivation(a, [&](auto tag) {
      got = PerVector(z, [](auto d, auto v) {
        return Activate<decltype(tag)::value>(d, v);
      });
    });
    Worst worst;
    for (size_t i = 0; i < z.size(); ++i) {
      const double want = reference::Activate(a, z[i]);
      worst.Update(z[i], got[i], want, kt::ActivationTolerance(a, want));
    }
    EXPECT_LE(worst.ratio, 1.0) << worst.Describe("Activate", a);
  }
}

void TestDerivativeVector() {
  const std::vector<float> z = SweepInputs();
  for (Activation a : kt::kActivations) {
    std::vector<float> got;
    WithActivation(a, [&](auto tag) {
      got = PerVector(z, [](auto d, auto v) {
        return Derivative<decltype(tag)::value>(d, v);
      });
    });
    Worst worst;
    for (size_t i = 0; i < z.size(); ++i) {
      worst.Update(z[i], got[i], reference::Derivative(a, z[i]),
                   kt::DerivativeTolerance(a));
    }
    EXPECT_LE(worst.ratio, 1.0) << worst.Describe("Derivative", a);
  }
  // relu'(0) is pinned to 0 (include/elman/model.h, DESIGN.md §5), for both
  // signed zeros; the smallest positive input already has slope 1.
  const std::vector<float> at_zero = {0.0f, -0.0f, 1e-45f, -1e-45f};
  const std::vector<float> relu = PerVector(at_zero, [](auto d, auto v) {
    return Derivative<Activation::kRelu>(d, v);
  });
  EXPECT_EQ(relu[0], 0.0f);
  EXPECT_EQ(relu[1], 0.0f);
  EXPECT_EQ(relu[2], 1.0f);
  EXPECT_EQ(relu[3], 0.0f);
}

// tanh is elman's own (LowLatencyTanh: a series below |z| = 1, a rational
// function of min(|z|, 9.5) above; on AVX-512 TableTanh: a polynomial per half
// octave of |z| from 1/16 to 12): every 61st float of [2⁻³⁰, 30], every float
// within 2¹⁶ ulp of LowLatencyTanh's branch point and clamp, and within 2¹² ulp
// of each of TableTanh's interval starts, the floor of its index (3/64) and its
// clamp, on both signs. From 9.5 on the result is exactly ±1.
void TestTanhDenseSweep() {
  std::vector<float> z;
  const auto bits_of = [](float f) {
    uint32_t b;
    std::memcpy(&b, &f, sizeof b);
    return b;
  };
  const auto add_range = [&](uint32_t first, uint32_t last, uint32_t stride) {
    for (uint32_t b = first; b <= last; b += stride) {
      float f;
      std::memcpy(&f, &b, sizeof f);
      z.push_back(f);
      z.push_back(-f);
    }
  };
  add_range(bits_of(0x1p-30f), bits_of(30.0f), 61);
  for (float edge : {1.0f, 9.5f}) {
    add_range(bits_of(edge) - (1u << 16), bits_of(edge) + (1u << 16), 1);
  }
  for (float octave = 0.0625f; octave <= 8.0f; octave *= 2.0f) {
    for (float edge : {octave, 1.5f * octave}) {
      add_range(bits_of(edge) - (1u << 12), bits_of(edge) + (1u << 12), 1);
    }
  }
  for (float edge : {0.046875f, 12.0f}) {  // TableTanh's floor and clamp
    add_range(bits_of(edge) - (1u << 12), bits_of(edge) + (1u << 12), 1);
  }
  const std::vector<float> got = PerVector(
      z, [](auto d, auto v) { return Activate<Activation::kTanh>(d, v); });
  Worst worst;
  for (size_t i = 0; i < z.size(); ++i) {
    const double want = std::tanh(static_cast<double>(z[i]));
    worst.Update(z[i], got[i], want,
                 kt::ActivationTolerance(Activation::kTanh, want));
    if (std::signbit(got[i]) != std::signbit(z[i])) worst.Update(z[i], 1, 0, 0);
    if (std::abs(z[i]) >= 9.5f && std::abs(got[i]) != 1.0f) {
      worst.Update(z[i], got[i], std::copysign(1.0, z[i]), 0.0);
    }
  }
  EXPECT_LE(worst.ratio, 1.0) << worst.Describe("dense", Activation::kTanh);
}

// Inputs for the array ops: uniform in [-6, 6] with exact zeros mixed in.
void FillInputs(GuardedMatrix& m, size_t n, std::mt19937_64& random) {
  m.FillRandom(random, -6.0f, 6.0f);
  for (size_t i = 0; i < n; i += 5) m.at(0, i) = 0.0f;
}

// Which array op a sweep runs.
enum class ArrayOp { kActivate, kActivateInPlace, kDerivative, kMultiply };

// Runs `op` on every length and misalignment: input and output start at
// independent offsets 0..3 floats past an aligned address, the output sits
// between canaries, and the input has NaN past its end (never to be read).
void SweepArrayOp(ArrayOp op) {
  std::mt19937_64 random(12345);
  for (Activation a : kt::kActivations) {
    for (size_t n : kt::kLengths) {
      for (size_t offset = 0; offset < 16; ++offset) {
        const size_t in_offset = offset % 4, out_offset = offset / 4;
        SCOPED_TRACE(std::string(ActivationName(a)) +
                     " n=" + std::to_string(n) + " offsets " +
                     std::to_string(in_offset) + "," +
                     std::to_string(out_offset));
        GuardedMatrix in(1, n, n, in_offset, 0, kt::kNaN);
        GuardedMatrix out(1, n, n, out_offset);
        FillInputs(in, n, random);
        GuardedMatrix& target = op == ArrayOp::kActivateInPlace ? in : out;
        std::vector<float> before(n);
        if (op == ArrayOp::kMultiply) out.FillRandom(random, -2.0f, 2.0f);
        for (size_t i = 0; i < n; ++i) before[i] = out.at(0, i);
        std::vector<float> z(in.data(), in.data() + n);

        switch (op) {
          case ArrayOp::kActivate:
            ActivateArray(a, in.data(), out.data(), n);
            break;
          case ArrayOp::kActivateInPlace:
            ActivateArray(a, in.data(), in.data(), n);
            break;
          case ArrayOp::kDerivative:
            DerivativeArray(a, in.data(), out.data(), n);
            break;
          case ArrayOp::kMultiply:
            // Its input is the activation's output a(z) (the stored h).
            for (size_t i = 0; i < n; ++i) {
              in.at(0, i) = static_cast<float>(reference::Activate(a, z[i]));
            }
            MultiplyByDerivative(a, in.data(), out.data(), n);
            break;
        }

        Worst worst;
        for (size_t i = 0; i < n; ++i) {
          const double got = target.at(0, i);
          if (op == ArrayOp::kActivate || op == ArrayOp::kActivateInPlace) {
            const double want = reference::Activate(a, z[i]);
            worst.Update(z[i], got, want, kt::ActivationTolerance(a, want));
          } else if (op == ArrayOp::kDerivative) {
            worst.Update(z[i], got, reference::Derivative(a, z[i]),
                         kt::DerivativeTolerance(a));
          } else {
            // x·a'(z) from a(z): 1 − a² without FMA rounds a² (≤ u·a² ≤ u)
            // and the difference, a(1 − a) rounds twice: a' is within 2u
            // absolute; then the product's rounding.
            const double want =
                before[i] * kt::DerivativeFromOutputRef(a, in.at(0, i));
            const double tolerance =
                2.0 * kt::kU * std::abs(before[i]) + kt::kU * std::abs(want);
            worst.Update(z[i], got, want, tolerance);
          }
        }
        EXPECT_LE(worst.ratio, 1.0) << worst.Describe("array op", a);
        EXPECT_TRUE(out.CanariesIntact());
        EXPECT_TRUE(in.CanariesIntact());  // the input is never written past n
        if (::testing::Test::HasFailure()) return;
      }
    }
  }
}

void TestActivateArray() { SweepArrayOp(ArrayOp::kActivate); }
void TestActivateArrayInPlace() { SweepArrayOp(ArrayOp::kActivateInPlace); }
void TestDerivativeArray() { SweepArrayOp(ArrayOp::kDerivative); }
void TestMultiplyByDerivative() { SweepArrayOp(ArrayOp::kMultiply); }

}  // namespace
// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace elman
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace elman {
HWY_BEFORE_TEST(ActivationTest);
HWY_EXPORT_AND_TEST_P(ActivationTest, TestActivateVector);
HWY_EXPORT_AND_TEST_P(ActivationTest, TestDerivativeVector);
HWY_EXPORT_AND_TEST_P(ActivationTest, TestTanhDenseSweep);
HWY_EXPORT_AND_TEST_P(ActivationTest, TestActivateArray);
HWY_EXPORT_AND_TEST_P(ActivationTest, TestActivateArrayInPlace);
HWY_EXPORT_AND_TEST_P(ActivationTest, TestDerivativeArray);
HWY_EXPORT_AND_TEST_P(ActivationTest, TestMultiplyByDerivative);
}  // namespace elman
#endif
