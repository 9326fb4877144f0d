// Optimizers and gradient clipping (include/elman/optim.h): argument checks,
// the per-step scalars in double, and one dispatched call per Step into the
// kernels of src/kernels/optimizer-inl.h, which update all five tensors.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/optim.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
// Must come after foreach_target.h.
#include "hwy/highway.h"
#include "src/kernels/optimizer-inl.h"

HWY_BEFORE_NAMESPACE();
namespace elman::HWY_NAMESPACE {

void SgdPass(const internal::SgdStepArgs& args) { SgdUpdate(args); }

void AdamPass(const internal::AdamStepArgs& args) { AdamUpdate(args); }

double SumOfSquaresPass(const internal::ConstTensorList& tensors) {
  double sum = 0.0;
  for (size_t k = 0; k < internal::kModelTensors; ++k) {
    sum += SumOfSquares(tensors.data[k], tensors.size[k]);
  }
  return sum;
}

void ScalePass(const internal::TensorList& tensors, float factor) {
  for (size_t k = 0; k < internal::kModelTensors; ++k) {
    Scale(factor, tensors.data[k], tensors.size[k]);
  }
}

}  // namespace elman::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <array>
#include <cmath>
#include <cstdio>
#include <span>
#include <string>

#include "elman/error.h"
#include "elman/optim.h"
#include "src/dispatch.h"
#include "src/validate.h"

namespace elman {
HWY_EXPORT(SgdPass);
HWY_EXPORT(AdamPass);
HWY_EXPORT(SumOfSquaresPass);
HWY_EXPORT(ScalePass);

namespace {

using internal::kModelTensors;

// %g keeps 1e-8 and NaN readable (std::to_string would print 0.000000).
std::string Number(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", value);
  return text;
}

[[noreturn]] void FailValue(const char* function, const char* argument,
                            double value, const char* requirement) {
  throw Error(std::string(function) + ": " + argument + " is " + Number(value) +
              ", must be " + requirement);
}

// A learning rate, weight decay, momentum or dampening: finite and ≥ 0.
void CheckNonNegative(const char* function, const char* argument,
                      double value) {
  if (!(std::isfinite(value) && value >= 0.0)) {
    FailValue(function, argument, value, "finite and >= 0");
  }
}

void CheckPositive(const char* function, const char* argument, double value) {
  if (!(std::isfinite(value) && value > 0.0)) {
    FailValue(function, argument, value, "finite and > 0");
  }
}

std::array<std::span<float>, kModelTensors> TensorsOf(Parameters& p) {
  return {p.W(), p.U(), p.b(), p.V(), p.c()};
}

std::array<std::span<const float>, kModelTensors> TensorsOf(
    const Parameters& p) {
  return {p.W(), p.U(), p.b(), p.V(), p.c()};
}

// PyTorch's rules (torch/optim/sgd.py), with a learning rate required > 0.
const SgdOptions& ValidSgdOptions(Dims dims, const SgdOptions& options) {
  constexpr const char* kFunction = "elman::Sgd";
  internal::CheckDims(kFunction, dims);
  CheckPositive(kFunction, "learning_rate", options.learning_rate);
  CheckNonNegative(kFunction, "momentum", options.momentum);
  CheckNonNegative(kFunction, "dampening", options.dampening);
  CheckNonNegative(kFunction, "weight_decay", options.weight_decay);
  if (options.nesterov && !(options.momentum > 0.0f)) {
    internal::Fail(kFunction, "nesterov requires momentum > 0");
  }
  if (options.nesterov && options.dampening != 0.0f) {
    FailValue(kFunction, "dampening", options.dampening,
              "0 with nesterov (PyTorch's rule)");
  }
  return options;
}

// PyTorch's rules (torch/optim/adam.py), with epsilon required > 0.
const AdamOptions& ValidAdamOptions(Dims dims, const AdamOptions& options) {
  constexpr const char* kFunction = "elman::Adam";
  internal::CheckDims(kFunction, dims);
  CheckNonNegative(kFunction, "learning_rate", options.learning_rate);
  CheckPositive(kFunction, "epsilon", options.epsilon);
  for (const auto& [name, beta] :
       {std::pair{"beta1", options.beta1}, std::pair{"beta2", options.beta2}}) {
    if (!(beta >= 0.0f && beta < 1.0f))
      FailValue(kFunction, name, beta, "in [0, 1)");
  }
  CheckNonNegative(kFunction, "weight_decay", options.weight_decay);
  return options;
}

}  // namespace

AdamOptions AdamWOptions() {
  AdamOptions options;
  options.weight_decay = 0.01f;
  options.decoupled_weight_decay = true;
  return options;
}

// ---------------------------------------------------------------- Optimizer

Optimizer::Optimizer(Dims dims, float learning_rate)
    : dims_(dims), learning_rate_(learning_rate) {}

Optimizer::~Optimizer() = default;

void Optimizer::Step(Parameters& parameters, const Gradients& gradients) {
  Step(parameters, gradients, learning_rate_);
}

void Optimizer::Step(Parameters& parameters, const Gradients& gradients,
                     float learning_rate) {
  constexpr const char* kFunction = "elman::Optimizer::Step";
  internal::CheckSameDims(kFunction, "parameters", parameters.dims(), dims_);
  internal::CheckSameDims(kFunction, "gradients", gradients.dims(), dims_);
  // The kernels read g while they write θ, through restrict pointers.
  if (&parameters == &gradients) {
    internal::Fail(kFunction, "gradients is the same object as parameters");
  }
  CheckNonNegative(kFunction, "learning_rate", learning_rate);
  ++steps_;
  Update(parameters, gradients, learning_rate);
}

void Optimizer::set_learning_rate(float learning_rate) {
  CheckNonNegative("elman::Optimizer::set_learning_rate", "learning_rate",
                   learning_rate);
  learning_rate_ = learning_rate;
}

void Optimizer::Reset() {
  steps_ = 0;
  ResetState();
}

// ---------------------------------------------------------------------- SGD

Sgd::Sgd(Dims dims, const SgdOptions& options)
    : Optimizer(dims, ValidSgdOptions(dims, options).learning_rate),
      options_(options) {
  if (options_.momentum > 0.0f) momentum_buffer_.emplace(dims);
}

Sgd::~Sgd() = default;

void Sgd::Update(Parameters& parameters, const Gradients& gradients,
                 float learning_rate) {
  const auto thetas = TensorsOf(parameters);
  const auto grads = TensorsOf(gradients);
  std::array<std::span<float>, kModelTensors> buffers{};
  if (momentum_buffer_) buffers = TensorsOf(*momentum_buffer_);
  internal::SgdStepArgs args;
  for (size_t k = 0; k < kModelTensors; ++k) {
    args.tensors[k] = {thetas[k].data(), grads[k].data(), buffers[k].data(),
                       thetas[k].size()};
  }
  args.learning_rate = learning_rate;
  args.weight_decay = options_.weight_decay;
  args.momentum = momentum_buffer_ ? options_.momentum : 0.0f;
  // torch: buf.mul_(momentum).add_(d_p, alpha=1 - dampening), the Python
  // float 1 − dampening rounded to float once.
  args.one_minus_dampening =
      static_cast<float>(1.0 - static_cast<double>(options_.dampening));
  args.nesterov = options_.nesterov;
  // torch creates the buffer as a copy of d_p at its first step.
  args.first_step = steps() == 1;
  ELMAN_DISPATCH(SgdPass)(args);
}

void Sgd::ResetState() {
  if (momentum_buffer_) momentum_buffer_->SetZero();
}

// --------------------------------------------------------------------- Adam

Adam::Adam(Dims dims, const AdamOptions& options)
    : Optimizer(dims, ValidAdamOptions(dims, options).learning_rate),
      options_(options),
      first_moment_(dims),
      second_moment_(dims) {
  if (options_.amsgrad) max_second_moment_.emplace(dims);
}

Adam::~Adam() = default;

void Adam::Update(Parameters& parameters, const Gradients& gradients,
                  float learning_rate) {
  const auto thetas = TensorsOf(parameters);
  const auto grads = TensorsOf(gradients);
  const auto exp_avgs = TensorsOf(first_moment_);
  const auto exp_avg_sqs = TensorsOf(second_moment_);
  std::array<std::span<float>, kModelTensors> max_exp_avg_sqs{};
  if (max_second_moment_) max_exp_avg_sqs = TensorsOf(*max_second_moment_);
  internal::AdamStepArgs args;
  for (size_t k = 0; k < kModelTensors; ++k) {
    args.tensors[k] = {thetas[k].data(),          grads[k].data(),
                       exp_avgs[k].data(),        exp_avg_sqs[k].data(),
                       max_exp_avg_sqs[k].data(), thetas[k].size()};
  }
  // The scalars as torch 1.13 computes them, in Python floats (double):
  //   bias_correction1 = 1 - beta1 ** step, bias_correction2 = 1 - beta2 **
  //   step, step_size = lr / bias_correction1,
  //   bias_correction2_sqrt = math.sqrt(bias_correction2),
  // each rounded to float when it meets a float32 tensor.
  const double beta1 = options_.beta1;
  const double beta2 = options_.beta2;
  const double lr = learning_rate;
  const double step = static_cast<double>(steps());
  const double bias_correction1 = 1.0 - std::pow(beta1, step);
  const double bias_correction2 = 1.0 - std::pow(beta2, step);
  args.beta1 = options_.beta1;
  args.one_minus_beta1 = static_cast<float>(1.0 - beta1);
  args.beta2 = options_.beta2;
  args.one_minus_beta2 = static_cast<float>(1.0 - beta2);
  args.epsilon = options_.epsilon;
  args.step_size = static_cast<float>(lr / bias_correction1);
  args.bias_correction2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
  const double weight_decay = options_.weight_decay;
  if (options_.decoupled_weight_decay) {
    args.weight_decay = 0.0f;
    args.decay_factor = static_cast<float>(1.0 - lr * weight_decay);
  } else {
    args.weight_decay = options_.weight_decay;
    args.decay_factor = 1.0f;
  }
  args.amsgrad = options_.amsgrad;
  ELMAN_DISPATCH(AdamPass)(args);
}

void Adam::ResetState() {
  first_moment_.SetZero();
  second_moment_.SetZero();
  if (max_second_moment_) max_second_moment_->SetZero();
}

// ----------------------------------------------------------------- Clipping

double GradNorm(const Gradients& gradients) {
  const auto tensors = TensorsOf(gradients);
  internal::ConstTensorList list;
  for (size_t k = 0; k < kModelTensors; ++k) {
    list.data[k] = tensors[k].data();
    list.size[k] = tensors[k].size();
  }
  return std::sqrt(ELMAN_DISPATCH(SumOfSquaresPass)(list));
}

double ClipGradNorm(Gradients& gradients, double max_norm) {
  CheckPositive("elman::ClipGradNorm", "max_norm", max_norm);
  // The norm and the scaling on one target, even if UseTarget runs meanwhile.
  const internal::TargetPin pin;
  const double norm = GradNorm(gradients);
  // torch would multiply by max_norm / (NaN or inf): NaN or zero gradients.
  if (!std::isfinite(norm)) return norm;
  // torch.nn.utils.clip_grad_norm_: clip_coef = max_norm / (norm + 1e-6),
  // clamped to 1 (a multiplication by 1 changes nothing: skipped).
  const double coefficient = max_norm / (norm + 1e-6);
  if (coefficient < 1.0) {
    const auto tensors = TensorsOf(gradients);
    internal::TensorList list;
    for (size_t k = 0; k < kModelTensors; ++k) {
      list.data[k] = tensors[k].data();
      list.size[k] = tensors[k].size();
    }
    ELMAN_DISPATCH(ScalePass)(list, static_cast<float>(coefficient));
  }
  return norm;
}

}  // namespace elman
#endif  // HWY_ONCE
