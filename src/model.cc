// Parameters storage and the model's documented, platform-independent
// initialisation.
#include "elman/model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>

#include "elman/error.h"
#include "src/buffer.h"
#include "src/validate.h"

namespace elman {
namespace {

// Every tensor starts on a 64-byte boundary, and the allocation ends with
// kSlackFloats floats of zeros, one vector of the widest target, so a kernel
// may load a whole vector that starts at any element of any tensor without
// leaving the allocation.
constexpr size_t kAlignFloats = 16;
constexpr size_t kSlackFloats = internal::kMaxVectorFloats;
constexpr std::align_val_t kAlignment{64};

size_t RoundUp(size_t n, size_t multiple) {
  return (n + multiple - 1) / multiple * multiple;
}

// SplitMix64 (Steele, Lea, Flood 2014): a tiny generator whose stream is fixed
// by its definition, so a seed gives the same weights on every platform (the
// standard library's distributions are not portable).
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1): the top 24 bits, exactly representable as a float.
  float NextUnit() {
    return static_cast<float>(Next() >> 40) * (1.0f / 16777216.0f);
  }

 private:
  uint64_t state_;
};

void FillGlorotUniform(std::span<float> tensor, size_t fan_in, size_t fan_out,
                       SplitMix64& random) {
  const float limit = std::sqrt(6.0f / static_cast<float>(fan_in + fan_out));
  for (float& value : tensor) value = (2.0f * random.NextUnit() - 1.0f) * limit;
}

}  // namespace

const char* ActivationName(Activation activation) {
  switch (activation) {
    case Activation::kTanh:
      return "tanh";
    case Activation::kSigmoid:
      return "sigmoid";
    case Activation::kRelu:
      return "relu";
    case Activation::kIdentity:
      return "identity";
  }
  return "unknown";
}

void Parameters::FreeAligned::operator()(float* p) const {
  ::operator delete[](p, kAlignment);
}

Parameters::Parameters(Dims dims) : dims_(dims) {
  internal::CheckDims("elman::Parameters", dims);
  const size_t lengths[kNumTensors] = {dims.hidden * dims.input,
                                       dims.hidden * dims.hidden, dims.hidden,
                                       dims.output * dims.hidden, dims.output};
  size_t offset = 0;
  for (int i = 0; i < kNumTensors; ++i) {
    offset_[i] = offset;
    length_[i] = lengths[i];
    offset = RoundUp(offset + lengths[i], kAlignFloats);
  }
  capacity_ = offset + kSlackFloats;
  storage_.reset(static_cast<float*>(
      ::operator new[](capacity_ * sizeof(float), kAlignment)));
  std::fill_n(storage_.get(), capacity_, 0.0f);
}

Parameters::Parameters(const Parameters& other) : Parameters(other.dims_) {
  std::copy_n(other.storage_.get(), capacity_, storage_.get());
}

Parameters& Parameters::operator=(const Parameters& other) {
  if (this != &other) *this = Parameters(other);
  return *this;
}

size_t Parameters::size() const {
  size_t total = 0;
  for (size_t length : length_) total += length;
  return total;
}

void Parameters::CopyTo(std::span<float> flat) const {
  internal::CheckSize("elman::Parameters::CopyTo", "flat", flat.size(), size(),
                      "H*I + H*H + H + O*H + O");
  float* out = flat.data();
  for (int i = 0; i < kNumTensors; ++i) {
    out = std::copy_n(storage_.get() + offset_[i], length_[i], out);
  }
}

void Parameters::CopyFrom(std::span<const float> flat) {
  internal::CheckSize("elman::Parameters::CopyFrom", "flat", flat.size(),
                      size(), "H*I + H*H + H + O*H + O");
  const float* in = flat.data();
  for (int i = 0; i < kNumTensors; ++i) {
    std::copy_n(in, length_[i], storage_.get() + offset_[i]);
    in += length_[i];
  }
}

void Parameters::SetZero() { std::fill_n(storage_.get(), capacity_, 0.0f); }

Model::Model(const Config& config, uint64_t seed)
    : config_(config), parameters_(config.dims) {
  Initialize(seed);
}

void Model::Initialize(uint64_t seed) {
  const Dims d = config_.dims;
  SplitMix64 random(seed);
  parameters_.SetZero();
  FillGlorotUniform(parameters_.W(), d.input, d.hidden, random);
  FillGlorotUniform(parameters_.U(), d.hidden, d.hidden, random);
  FillGlorotUniform(parameters_.V(), d.hidden, d.output, random);
}

}  // namespace elman
