// The naive scalar reference: the textbook loops of DESIGN.md §1 in double
// precision, sharing no code with the SIMD path. Slow on purpose and easy to
// read; use it to verify the fast path on your own hardware. It allocates.
#ifndef ELMAN_REFERENCE_H_
#define ELMAN_REFERENCE_H_

#include <cstddef>
#include <vector>

#include "elman/export.h"
#include "elman/model.h"

namespace elman::reference {

/// The model with double-precision parameters (row-major, as elman::Model).
struct ELMAN_EXPORT Model {
  Dims dims;
  Activation hidden_activation = Activation::kTanh;
  Activation output_activation = Activation::kIdentity;
  std::vector<double> W, U, b, V, c;

  /// Zero parameters of the right sizes. Throws Error if a dimension is 0.
  Model(Dims dims, Activation hidden, Activation output);
  /// The float model's parameters, widened.
  explicit Model(const elman::Model& model);
};

/// a(z) for one activation, in double.
ELMAN_EXPORT double Activate(Activation activation, double z);
/// a'(z) at the pre-activation z (relu'(0) = 0).
ELMAN_EXPORT double Derivative(Activation activation, double z);

/// What the forward pass stores, time-major.
struct ForwardResult {
  SequenceShape seq;
  std::vector<double> pre_hidden;  ///< ĥ, [T][B][H]
  std::vector<double> hidden;      ///< h,  [T][B][H]
  std::vector<double> pre_output;  ///< ŷ,  [T][B][O]
  std::vector<double> output;      ///< y,  [T][B][O]
};

/// eq. 7.10. x is [T][B][I]; h0 is [B][H] or empty (zeros).
ELMAN_EXPORT ForwardResult Forward(const Model& model,
                                   const std::vector<double>& x,
                                   SequenceShape seq,
                                   const std::vector<double>& h0 = {});

/// eq. 7.11–7.13 with per-step weights ([T], or empty for all ones).
ELMAN_EXPORT double Loss(const ForwardResult& forward,
                         const std::vector<double>& target,
                         const std::vector<double>& step_weights = {});

/// All gradients of the loss.
struct GradientsResult {
  std::vector<double> W, U, b, V, c;  ///< dW, dU, db, dV, dc
  std::vector<double> x;              ///< dx, [T][B][I]
  std::vector<double> h0;             ///< dh0, [B][H]
};

/// eq. 7.14–7.15, literally: grad_dense(t), the carry dh(t), δ(t) and the
/// outer-product sums, one time step and one sequence at a time.
ELMAN_EXPORT GradientsResult
Backward(const Model& model, const std::vector<double>& x,
         const std::vector<double>& h0, const ForwardResult& forward,
         const std::vector<double>& target,
         const std::vector<double>& step_weights = {});

/// The same from the gradient of any loss (elman::BackwardFromOutputGradient):
/// e(t) = output_gradient(t) ⊙ g'(ŷ(t)) with output_gradient = ∂L/∂y
/// ([T][B][O]), and ∂L/∂h(T−1) = final_hidden_gradient ([B][H], or empty for
/// zeros) added to dh(T−1).
ELMAN_EXPORT GradientsResult BackwardFromOutputGradient(
    const Model& model, const std::vector<double>& x,
    const std::vector<double>& h0, const ForwardResult& forward,
    const std::vector<double>& output_gradient,
    const std::vector<double>& final_hidden_gradient = {});

}  // namespace elman::reference

#endif  // ELMAN_REFERENCE_H_
