// The mapping between a Model and the tensors and metadata of its safetensors
// file (the layout is documented in include/elman/io.h).
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "elman/error.h"
#include "elman/io.h"
#include "src/io/file.h"
#include "src/io/json_header.h"
#include "src/io/safetensors.h"
#include "src/validate.h"

namespace elman {
namespace {

constexpr char kFormat[] = "elman";
constexpr char kFormatVersion[] = "1";

// The five tensors in file order; `meaning` explains the expected shape.
enum TensorIndex { kW, kU, kB, kV, kC, kNumTensors };
struct TensorSpec {
  const char* name;
  const char* meaning;
};
constexpr TensorSpec kTensors[kNumTensors] = {{"W", "hidden × input"},
                                              {"U", "hidden × hidden"},
                                              {"b", "hidden"},
                                              {"V", "output × hidden"},
                                              {"c", "output"}};

std::vector<uint64_t> ExpectedShape(int index, const Dims& dims) {
  const uint64_t in = dims.input, hidden = dims.hidden, out = dims.output;
  switch (index) {
    case kW:
      return {hidden, in};
    case kU:
      return {hidden, hidden};
    case kB:
      return {hidden};
    case kV:
      return {out, hidden};
    default:
      return {out};
  }
}

std::span<float> Tensor(Parameters& parameters, int index) {
  switch (index) {
    case kW:
      return parameters.W();
    case kU:
      return parameters.U();
    case kB:
      return parameters.b();
    case kV:
      return parameters.V();
    default:
      return parameters.c();
  }
}

// Throws Errors "<source>: <problem>" and "<source>: tensor "W": <problem>".
class Reporter {
 public:
  explicit Reporter(std::string_view source) : source_(source) {}
  [[noreturn]] void Fail(const std::string& problem) const {
    throw Error(std::string(source_) + ": " + problem);
  }
  [[noreturn]] void FailTensor(int index, const std::string& problem) const {
    Fail(std::string("tensor \"") + kTensors[index].name + "\": " + problem);
  }

 private:
  std::string_view source_;
};

const std::string& RequireMetadata(const io::SafetensorsFile& file,
                                   const char* key, const Reporter& report) {
  if (file.metadata.empty()) {
    report.Fail(
        "no \"__metadata__\" (an elman weight file has \"format\": \"elman\")");
  }
  const std::string* value = file.FindMetadata(key);
  if (!value) report.Fail(std::string("__metadata__ lacks \"") + key + "\"");
  return *value;
}

Activation ReadActivation(const io::SafetensorsFile& file, const char* key,
                          const Reporter& report) {
  const std::string& name = RequireMetadata(file, key, report);
  for (Activation activation : {Activation::kTanh, Activation::kSigmoid,
                                Activation::kRelu, Activation::kIdentity}) {
    if (name == ActivationName(activation)) return activation;
  }
  report.Fail(std::string("__metadata__ \"") + key + "\" is " +
              io::QuoteForMessage(name) +
              ", expected \"tanh\", \"sigmoid\", \"relu\" or \"identity\"");
}

Config ReadConfigMetadata(const io::SafetensorsFile& file,
                          const Reporter& report) {
  const std::string& format = RequireMetadata(file, "format", report);
  if (format != kFormat) {
    report.Fail("__metadata__ \"format\" is " + io::QuoteForMessage(format) +
                ", expected \"elman\"");
  }
  const std::string& version = RequireMetadata(file, "format_version", report);
  if (version != kFormatVersion) {
    report.Fail("__metadata__ \"format_version\" is " +
                io::QuoteForMessage(version) +
                ", this version of elman reads \"1\"");
  }
  Config config;
  config.hidden_activation = ReadActivation(file, "hidden_activation", report);
  config.output_activation = ReadActivation(file, "output_activation", report);
  return config;
}

// Exactly the five tensors, each F32. Returns them in kTensors order.
std::vector<const io::TensorInfo*> FindTensors(const io::SafetensorsFile& file,
                                               const Reporter& report) {
  for (const io::TensorInfo& tensor : file.tensors) {
    bool known = false;
    for (const TensorSpec& spec : kTensors) known |= tensor.name == spec.name;
    if (!known) {
      report.Fail("unexpected tensor " + io::QuoteForMessage(tensor.name) +
                  " (an elman weight file holds W, U, b, V and c)");
    }
  }
  std::vector<const io::TensorInfo*> tensors(kNumTensors);
  for (int i = 0; i < kNumTensors; ++i) {
    tensors[i] = file.Find(kTensors[i].name);
    if (!tensors[i]) {
      report.Fail(std::string("missing tensor \"") + kTensors[i].name + "\" (" +
                  kTensors[i].meaning + ")");
    }
    if (tensors[i]->dtype != "F32") {
      report.FailTensor(i, "dtype " + tensors[i]->dtype + ", expected F32");
    }
  }
  return tensors;
}

// The dims are read from W [hidden, input] and c [output]; every tensor's
// shape is then checked against them.
Dims ReadDims(const std::vector<const io::TensorInfo*>& tensors,
              const Reporter& report) {
  const std::vector<uint64_t>& w_shape = tensors[kW]->shape;
  const std::vector<uint64_t>& c_shape = tensors[kC]->shape;
  if (w_shape.size() != 2) {
    report.FailTensor(kW, "shape " + io::ShapeText(w_shape) +
                              ", expected 2 dimensions [hidden, input]");
  }
  if (c_shape.size() != 1) {
    report.FailTensor(kC, "shape " + io::ShapeText(c_shape) +
                              ", expected 1 dimension [output]");
  }
  for (int index : {kW, kC}) {
    for (uint64_t dim : tensors[index]->shape) {
      if (dim == 0) {
        report.FailTensor(index, "shape " +
                                     io::ShapeText(tensors[index]->shape) +
                                     ", every dimension must be at least 1");
      }
    }
  }
  // The byte lengths already match the data, so the dims are small enough to
  // be sizes on any host; the model is only allocated once all agree.
  const Dims dims{static_cast<size_t>(w_shape[1]),
                  static_cast<size_t>(w_shape[0]),
                  static_cast<size_t>(c_shape[0])};
  for (int i = 0; i < kNumTensors; ++i) {
    const std::vector<uint64_t> expected = ExpectedShape(i, dims);
    if (tensors[i]->shape != expected) {
      report.FailTensor(i, "shape " + io::ShapeText(tensors[i]->shape) +
                               ", expected " + io::ShapeText(expected) + " (" +
                               kTensors[i].meaning + ")");
    }
  }
  return dims;
}

void CheckFiniteWeights(int index, std::span<const float> values,
                        const Dims& dims, const Reporter& report) {
  const std::vector<uint64_t> shape = ExpectedShape(index, dims);
  for (size_t i = 0; i < values.size(); ++i) {
    if (std::isfinite(values[i])) continue;
    // [row, column] for a matrix, so the user can find the weight.
    const std::string position =
        shape.size() == 2 ? std::string("[") + std::to_string(i / shape[1]) +
                                ", " + std::to_string(i % shape[1]) +
                                "] (flat index " + std::to_string(i) + ")"
                          : std::string("[") + std::to_string(i) + "]";
    report.FailTensor(index, "element " + position + " is " +
                                 std::to_string(values[i]) +
                                 ", every weight must be finite");
  }
}

}  // namespace

std::vector<std::byte> SaveModelToBuffer(const Model& model) {
  const Dims dims = model.dims();
  const Parameters& parameters = model.parameters();
  const std::span<const float> values[kNumTensors] = {
      parameters.W(), parameters.U(), parameters.b(), parameters.V(),
      parameters.c()};
  std::vector<io::F32Tensor> tensors;
  for (int i = 0; i < kNumTensors; ++i) {
    // A file LoadModel would refuse is not written in the first place.
    internal::CheckFinite("elman::SaveModel", kTensors[i].name, values[i]);
    tensors.push_back({kTensors[i].name, ExpectedShape(i, dims), values[i]});
  }
  const std::pair<std::string, std::string> metadata[] = {
      {"format", kFormat},
      {"format_version", kFormatVersion},
      {"hidden_activation", ActivationName(model.hidden_activation())},
      {"output_activation", ActivationName(model.output_activation())}};
  return io::WriteSafetensors(tensors, metadata);
}

void SaveModel(const Model& model, const std::filesystem::path& path) {
  io::WriteFileAtomically(path, SaveModelToBuffer(model));
}

Model LoadModelFromBuffer(std::span<const std::byte> bytes,
                          std::string_view source) {
  const Reporter report(source);
  const io::SafetensorsFile file = io::ParseSafetensors(bytes, source);
  Config config = ReadConfigMetadata(file, report);
  const std::vector<const io::TensorInfo*> tensors = FindTensors(file, report);
  config.dims = ReadDims(tensors, report);
  Model model(config);
  for (int i = 0; i < kNumTensors; ++i) {
    const std::span<float> values = Tensor(model.parameters(), i);
    io::ReadF32(file.Bytes(*tensors[i]), values);
    CheckFiniteWeights(i, values, config.dims, report);
  }
  return model;
}

Model LoadModel(const std::filesystem::path& path) {
  const std::vector<std::byte> bytes = io::ReadFile(path);
  return LoadModelFromBuffer(bytes, path.string());
}

}  // namespace elman
