// When must a pass give finite results? A worst-case bound on every quantity
// of eq. 7.10–7.15, from the largest magnitude of each weight tensor and
// input, in double. Every float the library computes is a sum of products of
// those magnitudes (or an activation of one), so its size is at most the
// bound times (1 + n·ε); a bound below kFiniteLimit (1e30, far under
// FLT_MAX ≈ 3.4e38) therefore proves the float result finite, whatever the
// order of the sums or the SIMD target. tanh and sigmoid cap h at 1, so for
// them the bound stays small; relu and identity let h grow like (H·|U|)^T and
// the bound then honestly says "no claim". Non-finite weights give an
// infinite bound, and so does a NaN (∞·0): Worst() keeps it.
#ifndef ELMAN_TESTS_FUZZ_FINITE_BOUNDS_H_
#define ELMAN_TESTS_FUZZ_FINITE_BOUNDS_H_

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>

#include "elman/model.h"

namespace elman::fuzz {

inline constexpr double kFiniteLimit = 1e30;

// max(a, b), but +∞ if either is NaN (std::max would drop a NaN `b`).
inline double Worst(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) {
    return std::numeric_limits<double>::infinity();
  }
  return std::max(a, b);
}

// max |v|, or +∞ if any value is NaN or infinite.
inline double MaxAbs(std::span<const float> values) {
  double largest = 0.0;
  for (float value : values) {
    if (!std::isfinite(value)) return std::numeric_limits<double>::infinity();
    largest = std::max(largest, std::fabs(static_cast<double>(value)));
  }
  return largest;
}

// The largest magnitude in each of the five tensors.
struct WeightMagnitudes {
  double w = 0, u = 0, b = 0, v = 0, c = 0;
};

inline WeightMagnitudes Magnitudes(const Parameters& parameters) {
  return {MaxAbs(parameters.W()), MaxAbs(parameters.U()),
          MaxAbs(parameters.b()), MaxAbs(parameters.V()),
          MaxAbs(parameters.c())};
}

// Element-wise larger of two (a workspace whose model changed after Forward).
inline WeightMagnitudes Larger(const WeightMagnitudes& a,
                               const WeightMagnitudes& b) {
  return {Worst(a.w, b.w), Worst(a.u, b.u), Worst(a.b, b.b), Worst(a.v, b.v),
          Worst(a.c, b.c)};
}

// Upper bounds on |value| over all steps of a forward pass.
struct ForwardBound {
  double pre_hidden = 0;  // ĥ
  double hidden = 0;      // h, h0 included
  double pre_output = 0;  // ŷ
  double output = 0;      // y
  bool Finite() const {
    return pre_hidden < kFiniteLimit && hidden < kFiniteLimit &&
           pre_output < kFiniteLimit && output < kFiniteLimit;
  }
};

// |f(z)| given |z| ≤ bound.
inline double ActivationBound(Activation activation, double bound) {
  switch (activation) {
    case Activation::kTanh:
      return std::min(bound, 1.0);
    case Activation::kSigmoid:
      return 1.0;
    default:  // relu, identity
      return bound;
  }
}

// max |f'|: the derivative is taken through the output, 1 − h², h(1 − h)
// or [h > 0], each at most 1 (sigmoid's at most 1/4).
inline double DerivativeBound(Activation activation) {
  return activation == Activation::kSigmoid ? 0.25 : 1.0;
}

inline ForwardBound BoundForward(const Config& config,
                                 const WeightMagnitudes& weights, double x_max,
                                 double h0_max, size_t steps) {
  const double in = static_cast<double>(config.dims.input);
  const double hidden = static_cast<double>(config.dims.hidden);
  ForwardBound bound;
  double previous = h0_max;  // |h(t−1)|
  bound.hidden = h0_max;
  for (size_t t = 0; t < steps; ++t) {
    const double pre =
        in * weights.w * x_max + hidden * weights.u * previous + weights.b;
    previous = ActivationBound(config.hidden_activation, pre);
    bound.pre_hidden = Worst(bound.pre_hidden, pre);
    bound.hidden = Worst(bound.hidden, previous);
  }
  bound.pre_output = Worst(0, hidden * weights.v * bound.hidden + weights.c);
  bound.output =
      Worst(0, ActivationBound(config.output_activation, bound.pre_output));
  return bound;
}

// Upper bound on every gradient (dW … dc, dx, dh0) and on the loss.
struct BackwardBound {
  double gradient = 0;
  double loss = 0;
  bool Finite() const { return gradient < kFiniteLimit && loss < kFiniteLimit; }
};

inline BackwardBound BoundBackward(const Config& config,
                                   const WeightMagnitudes& weights,
                                   const ForwardBound& forward, double x_max,
                                   double target_max, double step_weight_max,
                                   SequenceShape seq,
                                   double final_hidden_gradient_max = 0) {
  const double hidden = static_cast<double>(config.dims.hidden);
  const double out = static_cast<double>(config.dims.output);
  const double rows = static_cast<double>(seq.steps * seq.batch);
  const double difference = forward.output + target_max;
  // e(t) and grad_dense(t) = Vᵀ e(t), eq. 7.14.
  const double error =
      step_weight_max * difference * DerivativeBound(config.output_activation);
  const double dense = out * weights.v * error;
  // dh(t) = grad_dense(t) + Uᵀ δ(t+1), δ = dh ⊙ f', eq. 7.15.
  const double f_prime = DerivativeBound(config.hidden_activation);
  // dh(T−1) = grad_dense(T−1) + ∂L/∂h(T−1) from outside
  // (BackwardFromOutputGradient; 0 for Backward).
  double delta = (dense + final_hidden_gradient_max) * f_prime;
  double delta_max = delta;
  for (size_t t = 1; t < seq.steps; ++t) {
    delta = (dense + hidden * weights.u * delta) * f_prime;
    delta_max = Worst(delta_max, delta);
  }
  BackwardBound bound;
  for (double gradient :
       {rows * delta_max * x_max, rows * delta_max * forward.hidden,
        rows * delta_max, rows * error * forward.hidden, rows * error,
        hidden * weights.w * delta_max, hidden * weights.u * delta_max}) {
    bound.gradient = Worst(bound.gradient, gradient);
  }
  // The loss sums each step's ½‖y − Y‖² in float before weighting it, so a
  // weight below 1 does not shrink that sum; y − Y itself is bounded too.
  bound.gradient = Worst(bound.gradient, difference);
  bound.loss = Worst(0, rows * out * Worst(1.0, step_weight_max) * 0.5 *
                            difference * difference);
  return bound;
}

}  // namespace elman::fuzz

#endif  // ELMAN_TESTS_FUZZ_FINITE_BOUNDS_H_
