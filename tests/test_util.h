// Shared helpers for the whole-pass tests: random inputs, bitwise equality,
// widening to double, and a tolerance check relative to a quantity's size.
#ifndef ELMAN_TESTS_TEST_UTIL_H_
#define ELMAN_TESTS_TEST_UTIL_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

#include "elman/elman.h"
#include "gtest/gtest.h"

namespace elman::test {

inline std::vector<float> RandomVector(size_t n, std::mt19937_64& random,
                                       float scale = 1.0f) {
  std::uniform_real_distribution<float> uniform(-scale, scale);
  std::vector<float> v(n);
  for (float& value : v) value = uniform(random);
  return v;
}

/// Whether a and b hold the same floats, bit for bit (NaN payloads and the
/// sign of zero included). Empty spans may have null data, which memcmp
/// must not be given even for 0 bytes (UBSan reports it).
inline bool SameBytes(std::span<const float> a, std::span<const float> b) {
  return a.size() == b.size() &&
         (a.empty() ||
          std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

inline std::vector<double> Widen(std::span<const float> v) {
  return std::vector<double>(v.begin(), v.end());
}

inline double MaxAbs(const std::vector<double>& v) {
  double m = 0.0;
  for (double value : v) m = std::max(m, std::abs(value));
  return m;
}

/// max_i |got[i] − want[i]| / max(max_i |want[i]|, floor): the error relative
/// to the size of the whole quantity (a gradient's ∞-norm), so that entries
/// that are tiny by cancellation are not judged on their own scale.
inline double RelativeError(std::span<const float> got,
                            const std::vector<double>& want,
                            double floor = 1e-6) {
  double error = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    error = std::max(error, std::abs(static_cast<double>(got[i]) - want[i]));
  }
  return error / std::max(MaxAbs(want), floor);
}

/// ∞-norm of several quantities taken together (e.g. the whole gradient).
inline double MaxAbsOf(std::initializer_list<const std::vector<double>*> all) {
  double m = 0.0;
  for (const auto* v : all) m = std::max(m, MaxAbs(*v));
  return m;
}

/// Checks RelativeError(got, want, scale) ≤ tolerance, where `scale` is the
/// size the error is judged against (0: want's own ∞-norm).
inline void ExpectClose(std::span<const float> got,
                        const std::vector<double>& want, double tolerance,
                        const std::string& what, double scale = 0.0) {
  ASSERT_EQ(got.size(), want.size()) << what;
  EXPECT_LE(RelativeError(got, want, std::max(scale, 1e-6)), tolerance) << what;
}

/// Every gradient of a pass against the reference's, each judged against
/// the ∞-norm of the whole gradient (dW … dh0 together); dx and dh0 only
/// when given (non-empty).
inline void ExpectGradientsClose(const Gradients& grads,
                                 std::span<const float> dx,
                                 std::span<const float> dh0,
                                 const reference::GradientsResult& ref,
                                 double tolerance) {
  const double scale =
      MaxAbsOf({&ref.W, &ref.U, &ref.b, &ref.V, &ref.c, &ref.x, &ref.h0});
  ExpectClose(grads.W(), ref.W, tolerance, "dW", scale);
  ExpectClose(grads.U(), ref.U, tolerance, "dU", scale);
  ExpectClose(grads.b(), ref.b, tolerance, "db", scale);
  ExpectClose(grads.V(), ref.V, tolerance, "dV", scale);
  ExpectClose(grads.c(), ref.c, tolerance, "dc", scale);
  if (!dx.empty()) ExpectClose(dx, ref.x, tolerance, "dx", scale);
  if (!dh0.empty()) ExpectClose(dh0, ref.h0, tolerance, "dh0", scale);
}

/// The five tensors back to back (Parameters::CopyTo), for comparing.
inline std::vector<float> Flat(const Parameters& parameters) {
  std::vector<float> flat(parameters.size());
  parameters.CopyTo(flat);
  return flat;
}

// Runs `call`, which must throw elman::Error whose message contains every
// one of `needles`.
inline void ExpectError(const std::function<void()>& call,
                        const std::vector<std::string>& needles) {
  try {
    call();
  } catch (const Error& error) {
    const std::string message = error.what();
    for (const std::string& needle : needles) {
      EXPECT_NE(message.find(needle), std::string::npos)
          << "message \"" << message << "\" lacks \"" << needle << "\"";
    }
    return;
  } catch (const std::exception& other) {
    ADD_FAILURE() << "threw something other than elman::Error: "
                  << other.what();
    return;
  }
  ADD_FAILURE() << "did not throw; expected an error mentioning "
                << needles.front();
}

/// "I=5 H=33 O=7 T=50 B=3 f=tanh g=identity": a pass's shape, for traces.
inline std::string DescribePass(const Dims& dims, SequenceShape seq,
                                Activation f, Activation g) {
  return "I=" + std::to_string(dims.input) +
         " H=" + std::to_string(dims.hidden) +
         " O=" + std::to_string(dims.output) +
         " T=" + std::to_string(seq.steps) + " B=" + std::to_string(seq.batch) +
         " f=" + ActivationName(f) + " g=" + ActivationName(g);
}

inline constexpr Activation kAllActivations[] = {
    Activation::kTanh, Activation::kSigmoid, Activation::kRelu,
    Activation::kIdentity};

}  // namespace elman::test

#endif  // ELMAN_TESTS_TEST_UTIL_H_
