// The model of DESIGN.md §1: dimensions, activations and the five parameter
// tensors W (H×I), U (H×H), b (H), V (O×H), c (O), row-major float32.
#ifndef ELMAN_MODEL_H_
#define ELMAN_MODEL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "elman/export.h"

namespace elman {

/// Activation functions for the hidden layer (f) and the output layer (g).
/// Derivatives are taken at the stored pre-activation; relu'(0) is defined as
/// 0 (as in PyTorch).
enum class Activation : uint8_t { kTanh, kSigmoid, kRelu, kIdentity };

/// "tanh", "sigmoid", "relu" or "identity".
ELMAN_EXPORT const char* ActivationName(Activation activation);

/// Layer sizes: input I, hidden H, output O. All must be ≥ 1.
struct Dims {
  size_t input = 0;
  size_t hidden = 0;
  size_t output = 0;
  friend bool operator==(const Dims&, const Dims&) = default;
};

/// Sequence extent: time steps T ≥ 1 and batch B ≥ 1. Sequences are
/// time-major: x is [T][B][I], y and targets are [T][B][O].
struct SequenceShape {
  size_t steps = 0;
  size_t batch = 1;
};

/// The five parameter tensors in one 64-byte aligned allocation, each tensor
/// contiguous, row-major and 64-byte aligned. Used for the model's weights and
/// for their gradients (same shapes). Copyable; moves are cheap.
class ELMAN_EXPORT Parameters {
 public:
  /// All tensors zero. Throws Error if a dimension is 0.
  explicit Parameters(Dims dims);
  Parameters(const Parameters& other);
  Parameters& operator=(const Parameters& other);
  Parameters(Parameters&&) noexcept = default;
  Parameters& operator=(Parameters&&) noexcept = default;
  ~Parameters() = default;

  Dims dims() const { return dims_; }

  std::span<float> W() { return Tensor(kW); }  ///< H×I, input → hidden
  std::span<float> U() { return Tensor(kU); }  ///< H×H, hidden → hidden
  std::span<float> b() { return Tensor(kB); }  ///< H, hidden bias
  std::span<float> V() { return Tensor(kV); }  ///< O×H, hidden → output
  std::span<float> c() { return Tensor(kC); }  ///< O, output bias
  std::span<const float> W() const { return Tensor(kW); }
  std::span<const float> U() const { return Tensor(kU); }
  std::span<const float> b() const { return Tensor(kB); }
  std::span<const float> V() const { return Tensor(kV); }
  std::span<const float> c() const { return Tensor(kC); }

  /// All five tensors back to back in the order W, U, b, V, c, as one list of
  /// H·I + H·H + H + O·H + O floats (copied; for saving or comparing).
  void CopyTo(std::span<float> flat) const;
  /// The inverse of CopyTo. Throws Error on a size mismatch.
  void CopyFrom(std::span<const float> flat);
  /// H·I + H·H + H + O·H + O.
  size_t size() const;

  void SetZero();

 private:
  enum TensorIndex { kW, kU, kB, kV, kC, kNumTensors };
  struct FreeAligned {
    void operator()(float* p) const;
  };
  std::span<float> Tensor(TensorIndex i) {
    return {storage_.get() + offset_[i], length_[i]};
  }
  std::span<const float> Tensor(TensorIndex i) const {
    return {storage_.get() + offset_[i], length_[i]};
  }

  Dims dims_;
  size_t offset_[kNumTensors];
  size_t length_[kNumTensors];
  size_t capacity_ = 0;  // floats, including alignment padding and slack
  std::unique_ptr<float[], FreeAligned> storage_;
};

/// Gradients have the parameters' shapes: dW, dU, db, dV, dc.
using Gradients = Parameters;

/// Layer sizes and activations; f = tanh and g = identity are the seed text's
/// sine-wave setting.
struct Config {
  Dims dims;
  Activation hidden_activation = Activation::kTanh;      ///< f
  Activation output_activation = Activation::kIdentity;  ///< g
};

/// An Elman RNN: configuration plus parameters.
class ELMAN_EXPORT Model {
 public:
  /// Weights drawn by Initialize(seed). Throws Error if a dimension is 0.
  explicit Model(const Config& config, uint64_t seed = 0);

  const Config& config() const { return config_; }
  Dims dims() const { return config_.dims; }
  Activation hidden_activation() const { return config_.hidden_activation; }
  Activation output_activation() const { return config_.output_activation; }

  /// Direct access, e.g. for loading trained weights or applying an update.
  Parameters& parameters() { return parameters_; }
  const Parameters& parameters() const { return parameters_; }

  /// Glorot-uniform weights, zero biases, reproducible on every platform:
  /// W, U and V each get U(−a, a) with a = sqrt(6 / (fan_in + fan_out)),
  /// drawn in the order W, U, V, row-major, from a SplitMix64 stream seeded
  /// with `seed` (a float is the top 24 bits of a draw scaled to [0, 1)).
  void Initialize(uint64_t seed);

 private:
  Config config_;
  Parameters parameters_;
};

}  // namespace elman

#endif  // ELMAN_MODEL_H_
