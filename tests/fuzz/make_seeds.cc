// Writes the seed weight files of tests/fuzz/corpus/load_model/: small valid
// models (as SaveModelToBuffer makes them) and a few broken ones, each a
// near miss of a valid file so that the fuzzer starts next to the checks.
// Usage: elman_fuzz_seeds DIRECTORY
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "elman/elman.h"

namespace {

using Bytes = std::vector<std::byte>;

void Write(const std::filesystem::path& directory, const std::string& name,
           const Bytes& bytes) {
  std::ofstream file(directory / name, std::ios::binary);
  file.write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

Bytes Save(elman::Dims dims, elman::Activation f, elman::Activation g,
           uint64_t seed) {
  return elman::SaveModelToBuffer(elman::Model({dims, f, g}, seed));
}

// The first occurrence of `from` in the header replaced by `to` (same
// length, so the offsets stay right).
Bytes Replace(Bytes bytes, std::string_view from, std::string_view to) {
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()),
                              bytes.size());
  const size_t at = text.find(from);
  if (at != std::string_view::npos && from.size() == to.size()) {
    std::memcpy(bytes.data() + at, to.data(), to.size());
  }
  return bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIRECTORY\n", argv[0]);
    return 2;
  }
  const std::filesystem::path directory = argv[1];
  std::filesystem::create_directories(directory);
  using elman::Activation;
  const Bytes tiny =
      Save({1, 1, 1}, Activation::kTanh, Activation::kIdentity, 1);
  const Bytes small =
      Save({2, 3, 2}, Activation::kRelu, Activation::kSigmoid, 2);
  Write(directory, "valid_1x1x1", tiny);
  Write(directory, "valid_2x3x2", small);
  Write(directory, "valid_3x2x1",
        Save({3, 2, 1}, Activation::kSigmoid, Activation::kTanh, 3));

  // Broken: cut short, a header length past the end, a NaN weight, a wrong
  // dtype, a wrong shape, an unknown activation.
  Write(directory, "truncated", Bytes(small.begin(), small.end() - 4));
  Bytes long_header = tiny;
  long_header[0] = std::byte{0xFF};
  Write(directory, "header_too_long", long_header);
  Bytes nan_weight = tiny;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(nan_weight.data() + nan_weight.size() - 4, &nan, 4);
  Write(directory, "nan_weight", nan_weight);
  Write(directory, "dtype_f16", Replace(small, "\"F32\"", "\"F16\""));
  Write(directory, "shape_wrong", Replace(small, "[3,2]", "[2,3]"));
  Write(directory, "activation_unknown", Replace(small, "relu", "gelu"));
  return 0;
}
