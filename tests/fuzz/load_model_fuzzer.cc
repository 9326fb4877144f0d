// Fuzz target: arbitrary bytes as a weight file. Contract under test (io.h):
// LoadModelFromBuffer and the container parser io::ParseSafetensors either
// return or throw elman::Error — another exception type, a crash or a
// sanitizer report is a finding. A model that loads must survive a round
// trip: saved and loaded again, it has the same configuration and bitwise
// the same weights.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "elman/error.h"
#include "elman/io.h"
#include "elman/model.h"
#include "src/io/safetensors.h"

namespace {

// abort(), not an assertion macro: the check must hold in every build type,
// and libFuzzer reports the abort with the input that caused it.
void Require(bool condition) {
  if (!condition) std::abort();
}

std::vector<float> Flat(const elman::Model& model) {
  std::vector<float> flat(model.parameters().size());
  model.parameters().CopyTo(flat);
  return flat;
}

// Bitwise, so that a NaN (which load refuses anyway) or a -0.0 is caught too.
bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

void CheckContainer(std::span<const std::byte> bytes) {
  try {
    const elman::io::SafetensorsFile file =
        elman::io::ParseSafetensors(bytes, "fuzz");
    // What the parser promises: each tensor's range lies in the data
    // section, which is a view of the input.
    Require(file.data.data() >= bytes.data() &&
            file.data.data() + file.data.size() <= bytes.data() + bytes.size());
    for (const elman::io::TensorInfo& tensor : file.tensors) {
      Require(tensor.begin <= tensor.end && tensor.end <= file.data.size());
      Require(file.Find(tensor.name) != nullptr);
      Require(file.Bytes(tensor).size() == tensor.end - tensor.begin);
    }
  } catch (const elman::Error&) {
    // Refused with the documented exception: fine.
  }
}

void CheckModel(std::span<const std::byte> bytes) {
  std::optional<elman::Model> model;
  try {
    model.emplace(elman::LoadModelFromBuffer(bytes, "fuzz"));
  } catch (const elman::Error&) {
    return;
  }
  // Loaded: every weight is finite, so saving must succeed, and loading the
  // saved bytes must give the same model.
  const std::vector<std::byte> saved = elman::SaveModelToBuffer(*model);
  const elman::Model reloaded = elman::LoadModelFromBuffer(saved, "saved");
  Require(reloaded.dims() == model->dims());
  Require(reloaded.hidden_activation() == model->hidden_activation());
  Require(reloaded.output_activation() == model->output_activation());
  Require(SameBits(Flat(reloaded), Flat(*model)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const std::byte> bytes(
      reinterpret_cast<const std::byte*>(data), size);
  CheckContainer(bytes);
  CheckModel(bytes);
  return 0;
}
