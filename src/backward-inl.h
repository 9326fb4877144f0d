// The part of backpropagation through time that starts from the output errors
// e(t) = ∂L/∂ŷ(t): the reverse-time loop (eq. 7.14–7.15) and the gradients.
// Defined once per target in src/backward.cc; Backward (errors from a target)
// and BackwardFromOutputGradient (src/backward_gradient.cc; errors from ∂L/∂y)
// each form e(t) in the workspace, then call it.
#if defined(ELMAN_SRC_BACKWARD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ELMAN_SRC_BACKWARD_INL_H_
#undef ELMAN_SRC_BACKWARD_INL_H_
#else
#define ELMAN_SRC_BACKWARD_INL_H_
#endif

#include "elman/model.h"
#include "hwy/highway.h"
#include "src/workspace_impl.h"

HWY_BEFORE_NAMESPACE();
namespace elman::HWY_NAMESPACE {

/// For the sequence of the last Forward on `ws`, with e(t) in
/// ws->output_error ([T][B][O]): dh(T−1) = Vᵀ e(T−1) + final_hidden_gradient
/// (a [B][H] array, or null for zeros), then eq. 7.15 down to t = 0, and
/// every gradient into `grads` (overwritten); dx ([T][B][I]) and dh0 ([B][H])
/// when not null.
void BackwardFromOutputError(const Model* model, Workspace::Impl* ws,
                             const float* final_hidden_gradient,
                             Gradients* grads, float* dx, float* dh0);

}  // namespace elman::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // ELMAN_SRC_BACKWARD_INL_H_
