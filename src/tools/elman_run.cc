// elman_run: one forward (and, given targets, one backward) pass of a saved
// model over sequences read from a file, with every result written to a file.
// It is the command-line face of elman::Forward/Loss/Backward, meant for
// checking elman against other implementations (tests/torch/parity_test.py
// compares it with PyTorch autograd) and for scripting.
//
// Usage: elman_run [--target NAME] MODEL INPUTS OUTPUTS
//        elman_run --list-targets
// MODEL is a weight file (include/elman/io.h). INPUTS is a safetensors file
// of F32 tensors, time-major:
//   x [T, B, I]   required
//   target [T, B, O]   optional; asks for the loss and the gradients
//   h0 [B, H]   optional initial hidden state (zeros if absent)
// OUTPUTS is written as a safetensors file of F32 tensors:
//   y [T, B, O], h_final [B, H] (the hidden state after the last step),
//   and with a target: loss [1], dW, dU, db, dV, dc (the model's shapes),
//   dx [T, B, I], dh0 [B, H]; its metadata "target" names the SIMD target.
// --target NAME runs on that SIMD target (one of --list-targets) instead of
// the best one. Exit status: 0 on success, 1 on any error.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "elman/elman.h"
#include "elman/io.h"
#include "src/io/file.h"
#include "src/io/safetensors.h"

namespace elman::run {
namespace {

struct Options {
  std::string target;  // empty: the best available
  bool list_targets = false;
  std::string model;
  std::string inputs;
  std::string outputs;
};

void PrintUsage(const char* program) {
  std::fprintf(stderr,
               "usage: %s [--target NAME] MODEL INPUTS OUTPUTS\n"
               "       %s --list-targets\n"
               "  MODEL    elman weight file (safetensors)\n"
               "  INPUTS   safetensors, F32: x [T,B,I]; optional target "
               "[T,B,O], h0 [B,H]\n"
               "  OUTPUTS  written: y, h_final; with a target also loss, "
               "dW, dU, db, dV, dc, dx, dh0\n"
               "  --target NAME   run on this SIMD target (see "
               "--list-targets)\n"
               "  --list-targets  print the targets this CPU supports, best "
               "first\n",
               program, program);
}

// Parses the command line; false on a usage error.
bool ParseOptions(int argc, char** argv, Options& options) {
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--list-targets") {
      options.list_targets = true;
    } else if (arg == "--target") {
      if (i + 1 == argc) return false;
      options.target = argv[++i];
    } else if (arg.starts_with("--")) {
      return false;
    } else {
      paths.push_back(arg);
    }
  }
  if (options.list_targets) return paths.empty() && options.target.empty();
  if (paths.size() != 3) return false;
  options.model = paths[0];
  options.inputs = paths[1];
  options.outputs = paths[2];
  return true;
}

std::string ShapeText(const std::vector<uint64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

// The input tensors, checked against the model's dimensions.
struct Inputs {
  SequenceShape seq;
  std::vector<float> x;
  std::optional<std::vector<float>> target;
  std::vector<float> h0;  // empty: zeros
};

// The F32 values of `name`, whose shape must be `rank` long; dimensions given
// as non-zero in `expected` must match. Fills in the zero ones.
std::optional<std::vector<float>> ReadTensor(const io::SafetensorsFile& file,
                                             const std::string& source,
                                             const std::string& name,
                                             std::vector<uint64_t>& expected,
                                             const char* layout) {
  const io::TensorInfo* info = file.Find(name);
  if (info == nullptr) return std::nullopt;
  const std::string where = source + ": tensor '" + name + "' ";
  if (info->dtype != "F32") {
    throw Error(where + "has dtype " + info->dtype + ", expected F32");
  }
  bool matches = info->shape.size() == expected.size();
  for (size_t i = 0; matches && i < expected.size(); ++i) {
    matches = info->shape[i] != 0 &&
              (expected[i] == 0 || info->shape[i] == expected[i]);
  }
  if (!matches) {
    throw Error(where + "has shape " + ShapeText(info->shape) + ", expected " +
                layout);
  }
  expected = info->shape;
  size_t count = 1;
  for (uint64_t d : info->shape) count *= static_cast<size_t>(d);
  std::vector<float> values(count);
  io::ReadF32(file.Bytes(*info), values);
  return values;
}

Inputs ReadInputs(const std::string& path, Dims dims) {
  const std::vector<std::byte> bytes = io::ReadFile(path);
  const io::SafetensorsFile file = io::ParseSafetensors(bytes, path);
  for (const io::TensorInfo& tensor : file.tensors) {
    if (tensor.name != "x" && tensor.name != "target" && tensor.name != "h0") {
      throw Error(path + ": unknown tensor '" + tensor.name +
                  "' (expected x, target, h0)");
    }
  }
  const std::string layout_x = "[T, B, I = " + std::to_string(dims.input) + "]";
  std::vector<uint64_t> shape_x = {0, 0, dims.input};
  std::optional<std::vector<float>> x =
      ReadTensor(file, path, "x", shape_x, layout_x.c_str());
  if (!x) throw Error(path + ": no tensor 'x' [T, B, I]");

  Inputs inputs;
  inputs.seq = {.steps = static_cast<size_t>(shape_x[0]),
                .batch = static_cast<size_t>(shape_x[1])};
  inputs.x = std::move(*x);
  const std::string layout_target =
      "[T = " + std::to_string(inputs.seq.steps) +
      ", B = " + std::to_string(inputs.seq.batch) +
      ", O = " + std::to_string(dims.output) + "] (as x)";
  std::vector<uint64_t> shape_target = {shape_x[0], shape_x[1], dims.output};
  inputs.target =
      ReadTensor(file, path, "target", shape_target, layout_target.c_str());
  const std::string layout_h0 = "[B = " + std::to_string(inputs.seq.batch) +
                                ", H = " + std::to_string(dims.hidden) + "]";
  std::vector<uint64_t> shape_h0 = {shape_x[1], dims.hidden};
  if (auto h0 = ReadTensor(file, path, "h0", shape_h0, layout_h0.c_str())) {
    inputs.h0 = std::move(*h0);
  }
  return inputs;
}

int Run(const Options& options) {
  if (options.list_targets) {
    for (const std::string& name : AvailableTargets()) {
      std::printf("%s\n", name.c_str());
    }
    return 0;
  }
  if (!options.target.empty()) UseTarget(options.target);

  const Model model = LoadModel(options.model);
  const Dims dims = model.dims();
  const Inputs in = ReadInputs(options.inputs, dims);
  const size_t t = in.seq.steps, b = in.seq.batch;

  Workspace workspace(dims, t, b);
  std::vector<float> y(t * b * dims.output);
  Forward(model, in.x, in.seq, in.h0, workspace, y);
  const std::span<const float> hidden = workspace.hidden();
  const std::span<const float> h_final =
      hidden.subspan((t - 1) * b * dims.hidden, b * dims.hidden);

  std::vector<io::F32Tensor> out = {
      {"y", {t, b, dims.output}, y},
      {"h_final", {b, dims.hidden}, h_final},
  };
  float loss = 0.0f;
  Gradients gradients(dims);
  std::vector<float> dx(t * b * dims.input);
  std::vector<float> dh0(b * dims.hidden);
  if (in.target) {
    loss = static_cast<float>(Loss(y, *in.target, in.seq, dims.output));
    Backward(model, *in.target, {}, workspace,
             {.gradients = &gradients, .dx = dx, .dh0 = dh0});
    const Gradients& g = gradients;
    out.push_back({"loss", {1}, std::span<const float>(&loss, 1)});
    out.push_back({"dW", {dims.hidden, dims.input}, g.W()});
    out.push_back({"dU", {dims.hidden, dims.hidden}, g.U()});
    out.push_back({"db", {dims.hidden}, g.b()});
    out.push_back({"dV", {dims.output, dims.hidden}, g.V()});
    out.push_back({"dc", {dims.output}, g.c()});
    out.push_back({"dx", {t, b, dims.input}, dx});
    out.push_back({"dh0", {b, dims.hidden}, dh0});
  }
  const std::vector<std::pair<std::string, std::string>> metadata = {
      {"target", CurrentTarget()}};
  io::WriteFileAtomically(options.outputs, io::WriteSafetensors(out, metadata));
  return 0;
}

int Main(int argc, char** argv) {
  Options options;
  if (!ParseOptions(argc, argv, options)) {
    PrintUsage(argv[0]);
    return 1;
  }
  try {
    return Run(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "elman_run: %s\n", e.what());
    return 1;
  }
}

}  // namespace
}  // namespace elman::run

int main(int argc, char** argv) { return elman::run::Main(argc, argv); }
