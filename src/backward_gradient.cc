// BackwardFromOutputGradient: backpropagation through time from ∂L/∂y and
// ∂L/∂h(T−1) given by the caller (another framework's autograd) instead of a
// target. Only the output error differs from Backward,
//   e(t) = ∂L/∂y(t) ⊙ g'(ŷ(t))      (Backward: w(t) (y(t) − Y(t)) ⊙ g'(ŷ(t))),
// plus ∂L/∂h(T−1) added to dh(T−1); the reverse-time loop and the gradients
// are Backward's own (BackwardFromOutputError, src/backward.cc).

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/backward_gradient.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
// Must come after foreach_target.h.
#include "hwy/highway.h"
#include "src/backward-inl.h"
#include "src/kernels/elementwise-inl.h"
#include "src/workspace_impl.h"

HWY_BEFORE_NAMESPACE();
namespace elman::HWY_NAMESPACE {

void BackwardFromOutputGradientPass(const Model* model,
                                    const float* output_gradient,
                                    const float* final_hidden_gradient,
                                    Workspace::Impl* ws, Gradients* grads,
                                    float* dx, float* dh0) {
  const size_t n = ws->seq.steps * ws->seq.batch * model->dims().output;
  OutputGradientError(model->output_activation(), ws->pre_output.data(),
                      output_gradient, ws->output_error.data(), n);
  BackwardFromOutputError(model, ws, final_hidden_gradient, grads, dx, dh0);
}

}  // namespace elman::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "elman/train.h"
#include "src/dispatch.h"
#include "src/validate.h"

namespace elman {
HWY_EXPORT(BackwardFromOutputGradientPass);

void BackwardFromOutputGradient(const Model& model,
                                std::span<const float> output_gradient,
                                std::span<const float> final_hidden_gradient,
                                Workspace& workspace,
                                const BackwardOutputs& outputs) {
  constexpr const char* kFunction = "elman::BackwardFromOutputGradient";
  const Dims dims = model.dims();
  const SequenceShape seq =
      internal::CheckBackwardCall(kFunction, model, workspace, outputs);
  internal::CheckSize(kFunction, "output_gradient", output_gradient.size(),
                      seq.steps * seq.batch * dims.output,
                      "steps*batch*output");
  internal::CheckOptionalSize(kFunction, "final_hidden_gradient",
                              final_hidden_gradient.size(),
                              seq.batch * dims.hidden, "batch*hidden");
  internal::CheckFinite(kFunction, "output_gradient", output_gradient);
  internal::CheckFinite(kFunction, "final_hidden_gradient",
                        final_hidden_gradient);

  ELMAN_DISPATCH(BackwardFromOutputGradientPass)
  (&model, output_gradient.data(),
   final_hidden_gradient.empty() ? nullptr : final_hidden_gradient.data(),
   &workspace.impl(), outputs.gradients,
   outputs.dx.empty() ? nullptr : outputs.dx.data(),
   outputs.dh0.empty() ? nullptr : outputs.dh0.data());
}

}  // namespace elman
#endif  // HWY_ONCE
