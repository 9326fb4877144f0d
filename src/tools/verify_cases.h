// What elman_verify compares and how strictly: the grid of random cases, the
// tolerance of each, and the errors of every quantity of one case on the
// current SIMD target against elman::reference (double).
#ifndef ELMAN_SRC_TOOLS_VERIFY_CASES_H_
#define ELMAN_SRC_TOOLS_VERIFY_CASES_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "elman/elman.h"

namespace elman::verify {

// The quantities compared, in table order.
enum Quantity { kLoss, kY, kDW, kDU, kDb, kDV, kDc, kDx, kDh0, kStreamY, kNum };
inline constexpr const char* kQuantityNames[kNum] = {
    "loss", "y", "dW", "dU", "db", "dV", "dc", "dx", "dh0", "Stream y"};
using Errors = std::array<double, kNum>;

// 16 activation pairs × 5 shapes × 3 lengths × 2 batch kinds.
inline constexpr size_t kGridSize = 480;

enum class StepWeights { kNone, kRandom, kSingleStep };

struct Case {
  Dims dims;
  SequenceShape seq;
  Activation f, g;
  StepWeights weights;
};

/// Case `index` of the grid (indices ≥ kGridSize repeat it); B > 1 and the
/// step weights are drawn from `random`.
Case MakeCase(size_t index, std::mt19937_64& random);

/// "I=3 H=17 O=2 T=7 B=1 f=tanh g=identity w=random".
std::string Describe(const Case& c);

/// Bound on every error that RunOnCurrentTarget reports for this case.
double Tolerance(const Case& c);

/// One case: random inputs, what the reference makes of them, and the sizes
/// the errors are judged against.
struct Problem {
  Problem(const Case& the_case, uint64_t seed, std::mt19937_64& random);

  Case c;
  Model model;
  std::vector<float> x, target, h0, weights;
  reference::ForwardResult forward;
  double loss = 0.0;
  reference::GradientsResult gradients;
  double y_scale = 0.0;         // judges the errors of y
  double loss_scale = 0.0;      // judges the error of the loss
  double gradient_scale = 0.0;  // judges the errors of every gradient
};

/// The error of every quantity for `p` on the current SIMD target, each
/// divided by its scale (so comparable with Tolerance).
Errors RunOnCurrentTarget(const Problem& p);

}  // namespace elman::verify

#endif  // ELMAN_SRC_TOOLS_VERIFY_CASES_H_
