// What elman_verify compares and how strictly: the grid of random cases, the
// tolerance of each, and the errors of every quantity of one case on the
// current SIMD target against elman::reference (double).
#ifndef ELMAN_SRC_TOOLS_VERIFY_CASES_H_
#define ELMAN_SRC_TOOLS_VERIFY_CASES_H_

#include <algorithm>
#include <array>
#include <cmath>
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

// 16 activation pairs × 7 shapes × 3 lengths × 2 batch kinds.
inline constexpr size_t kGridSize = 672;

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

/// Bound on ‖simd − ref‖∞ / ‖ref‖∞ for a whole forward + loss + backward,
/// shared by elman_verify and tests/passes_test.cc. Every float product of
/// length K has relative error at most K·u (u = 2⁻²⁴, Higham's γ_K bound on
/// |a|·|b|; FMA and summation order change only the constant). Backward
/// chains T such products of length H through the recurrence (eq. 7.15);
/// with Glorot-scaled U and |f'| ≤ 1 the chain does not amplify, so the
/// error of a gradient is bounded by (K + T·H)·u relative to the sizes
/// involved. Cancellation in a sum can make a quantity much smaller than its
/// terms (db = Σ δ over T·B rows, with H = 1, can nearly vanish), so each
/// gradient's error is measured against the ∞-norm of the whole gradient
/// (dW, dU, db, dV, dc, dx, dh0 together), and the forward quantities
/// against their own ∞-norms. The sums over the T·B rows of the weight
/// gradients add T·B to the length; 16 is the margin for the constants, +16
/// for the shortest cases.
inline double PassTolerance(Dims dims, SequenceShape seq) {
  const double u = std::ldexp(1.0, -24);
  const double k =
      static_cast<double>(std::max({dims.input, dims.hidden, dims.output}));
  return 16.0 * u *
         (k + static_cast<double>(seq.steps * dims.hidden) +
          static_cast<double>(seq.steps * seq.batch) + 16.0);
}

/// Bound on every error that RunOnCurrentTarget reports for this case.
inline double Tolerance(const Case& c) { return PassTolerance(c.dims, c.seq); }

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
