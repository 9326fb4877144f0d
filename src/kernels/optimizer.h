// The arguments of the optimizer kernels (src/kernels/optimizer-inl.h), in
// types that do not depend on the SIMD target: src/optim.cc fills them once
// per Step and hands them to the one dispatched function that updates all
// five tensors. The per-step scalars are computed in double by the caller and
// rounded to float once, as PyTorch 1.13 does when it passes a Python float
// to an operation on a float32 tensor.
#ifndef ELMAN_SRC_KERNELS_OPTIMIZER_H_
#define ELMAN_SRC_KERNELS_OPTIMIZER_H_

#include <cstddef>

namespace elman::internal {

inline constexpr size_t kModelTensors = 5;  // W, U, b, V, c

// One tensor of torch.optim.SGD: θ, its gradient and, with momentum, its
// momentum buffer (nullptr without momentum). All `size` floats long and
// pairwise disjoint.
struct SgdTensor {
  float* parameters;
  const float* gradients;
  float* momentum_buffer;
  size_t size;
};

struct SgdStepArgs {
  SgdTensor tensors[kModelTensors];
  float learning_rate;
  float weight_decay;  // 0: torch skips the term, and so do the kernels
  float momentum;      // 0: plain SGD (momentum_buffer unused)
  float one_minus_dampening;
  bool nesterov;
  bool first_step;  // buf = g (torch's clone) instead of the running update
};

// One tensor of torch.optim.Adam / AdamW: θ, its gradient, exp_avg,
// exp_avg_sq and, with amsgrad, max_exp_avg_sq (else nullptr).
struct AdamTensor {
  float* parameters;
  const float* gradients;
  float* exp_avg;
  float* exp_avg_sq;
  float* max_exp_avg_sq;
  size_t size;
};

struct AdamStepArgs {
  AdamTensor tensors[kModelTensors];
  float beta1;
  float one_minus_beta1;
  float beta2;
  float one_minus_beta2;
  float epsilon;
  float step_size;              // lr / (1 − β1^step)
  float bias_correction2_sqrt;  // sqrt(1 − β2^step)
  float weight_decay;           // coupled (Adam): g += wd·θ; 0 skips it
  float decay_factor;  // decoupled (AdamW): θ *= 1 − lr·wd; 1 skips
  bool amsgrad;
};

// The five gradient tensors: read for the norm, scaled for clipping.
struct ConstTensorList {
  const float* data[kModelTensors];
  size_t size[kModelTensors];
};
struct TensorList {
  float* data[kModelTensors];
  size_t size[kModelTensors];
};

}  // namespace elman::internal

#endif  // ELMAN_SRC_KERNELS_OPTIMIZER_H_
