// The safetensors container, independent of what the tensors mean: a strict
// parser over a byte span (so a fuzzer can call it directly) and a writer.
// Layout: 8-byte little-endian header length N, N bytes of JSON
//   {"__metadata__": {"key": "value", ...},
//    "name": {"dtype": "F32", "shape": [d0, d1], "data_offsets": [begin, end]},
//    ...}
// then the data, offsets relative to its start. The parser accepts only what
// the format allows: strict JSON (RFC 8259) with no duplicated keys, string
// metadata values, non-negative integer shapes and offsets, byte ranges that
// match dtype size × shape, lie in the data, and cover it without overlap or
// holes.
#ifndef ELMAN_SRC_IO_SAFETENSORS_H_
#define ELMAN_SRC_IO_SAFETENSORS_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace elman::io {

struct TensorInfo {
  std::string name;
  std::string dtype;            // as written: "F32", "F64", "I64", ...
  std::vector<uint64_t> shape;  // [] is a scalar
  uint64_t begin = 0;           // byte offsets into the data section
  uint64_t end = 0;
};

struct SafetensorsFile {
  std::vector<TensorInfo> tensors;  // in the order of the header
  std::vector<std::pair<std::string, std::string>> metadata;
  std::span<const std::byte> data;  // the data section, a view of the input

  /// nullptr when absent.
  const TensorInfo* Find(std::string_view name) const;
  const std::string* FindMetadata(std::string_view key) const;
  /// The bytes of one tensor (a view of the input).
  std::span<const std::byte> Bytes(const TensorInfo& tensor) const;
};

/// Parses and validates the container. Throws elman::Error whose message
/// starts with "<source>: " and names the tensor and the problem.
SafetensorsFile ParseSafetensors(std::span<const std::byte> bytes,
                                 std::string_view source);

/// One float32 tensor to write.
struct F32Tensor {
  std::string name;
  std::vector<uint64_t> shape;
  std::span<const float> values;  // product of shape floats
};

/// A safetensors file of float32 tensors, little-endian, in the given order,
/// with the header padded with spaces to a multiple of 8 bytes (as the
/// reference implementation does). Throws Error for duplicated names or a
/// shape that does not match its values.
std::vector<std::byte> WriteSafetensors(
    std::span<const F32Tensor> tensors,
    std::span<const std::pair<std::string, std::string>> metadata);

/// "[32, 31]": a shape as error messages show it.
std::string ShapeText(std::span<const uint64_t> shape);

/// Converts one F32 tensor's bytes (little-endian on any host) to floats.
void ReadF32(std::span<const std::byte> bytes, std::span<float> values);

}  // namespace elman::io

#endif  // ELMAN_SRC_IO_SAFETENSORS_H_
