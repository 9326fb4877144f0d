#include "src/io/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>

#include "elman/error.h"
#include "src/io/json_header.h"

namespace elman::io {
namespace {

static_assert(std::endian::native == std::endian::little ||
                  std::endian::native == std::endian::big,
              "mixed-endian hosts are not supported");

constexpr uint64_t kLengthFieldBytes = 8;
// The reference implementation refuses larger headers; so do we, which also
// caps what a hostile header can make the JSON reader allocate.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct Dtype {
  std::string_view name;
  uint64_t bytes;
};
constexpr Dtype kDtypes[] = {
    {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1},
    {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
    {"U32", 4},  {"F32", 4}, {"F64", 8}, {"I64", 8},     {"U64", 8}};

const Dtype* FindDtype(std::string_view name) {
  for (const Dtype& dtype : kDtypes) {
    if (dtype.name == name) return &dtype;
  }
  return nullptr;
}

// The writer's form of a shape: "[32,31]", as the reference writes it.
std::string CompactShapeText(std::span<const uint64_t> shape) {
  std::string text = ShapeText(shape);
  std::erase(text, ' ');
  return text;
}

std::string RangeText(uint64_t begin, uint64_t end) {
  return std::string("[") + std::to_string(begin) + ", " + std::to_string(end) +
         ")";
}

// What a JSON value is, for "expected ..., found <this>" messages.
std::string Describe(const JsonValue& value) {
  switch (value.kind) {
    case JsonValue::Kind::kNumber:
      return value.text;
    case JsonValue::Kind::kString:
      return "the string " + QuoteForMessage(value.text);
    case JsonValue::Kind::kBool:
      return value.boolean ? "true" : "false";
    case JsonValue::Kind::kNull:
      return "null";
    case JsonValue::Kind::kArray:
      return "an array";
    case JsonValue::Kind::kObject:
      return "an object";
  }
  return "unknown";
}

// Builds messages "<source>: tensor "<name>": <problem>".
class Reporter {
 public:
  explicit Reporter(std::string_view source) : source_(source) {}
  [[noreturn]] void Fail(const std::string& problem) const {
    throw Error(std::string(source_) + ": " + problem);
  }
  [[noreturn]] void FailTensor(const std::string& name,
                               const std::string& problem) const {
    Fail("tensor " + QuoteForMessage(name) + ": " + problem);
  }

 private:
  std::string_view source_;
};

std::vector<uint64_t> ReadIntegers(const JsonValue& array,
                                   const std::string& name, const char* field,
                                   const Reporter& report) {
  if (array.kind != JsonValue::Kind::kArray) {
    report.FailTensor(name, std::string(field) + " is " + Describe(array) +
                                ", expected an array of integers");
  }
  std::vector<uint64_t> integers;
  integers.reserve(array.elements.size());
  for (size_t i = 0; i < array.elements.size(); ++i) {
    const std::optional<uint64_t> value = array.elements[i].AsUint64();
    if (!value) {
      report.FailTensor(name, std::string(field) + "[" + std::to_string(i) +
                                  "] is " + Describe(array.elements[i]) +
                                  ", expected a non-negative integer below "
                                  "2^64");
    }
    integers.push_back(*value);
  }
  return integers;
}

// The product of the dims times `element_bytes`, or nullopt on overflow.
std::optional<uint64_t> ByteLength(const std::vector<uint64_t>& shape,
                                   uint64_t element_bytes) {
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) return 0;
  uint64_t length = element_bytes;
  for (uint64_t dim : shape) {
    if (length > UINT64_MAX / dim) return std::nullopt;
    length *= dim;
  }
  return length;
}

TensorInfo ReadTensorEntry(const std::string& name, const JsonValue& entry,
                           uint64_t data_bytes, const Reporter& report) {
  if (entry.kind != JsonValue::Kind::kObject) {
    report.FailTensor(name, "entry is " + Describe(entry) +
                                ", expected an object with dtype, shape and "
                                "data_offsets");
  }
  const JsonValue* dtype_value = nullptr;
  const JsonValue* shape_value = nullptr;
  const JsonValue* offsets_value = nullptr;
  for (const auto& [key, value] : entry.members) {
    if (key == "dtype") {
      dtype_value = &value;
    } else if (key == "shape") {
      shape_value = &value;
    } else if (key == "data_offsets") {
      offsets_value = &value;
    } else {
      report.FailTensor(name, "unexpected key " + QuoteForMessage(key) +
                                  " (an entry holds only dtype, shape and "
                                  "data_offsets)");
    }
  }
  if (!dtype_value) report.FailTensor(name, "missing \"dtype\"");
  if (!shape_value) report.FailTensor(name, "missing \"shape\"");
  if (!offsets_value) report.FailTensor(name, "missing \"data_offsets\"");

  TensorInfo tensor;
  tensor.name = name;
  if (dtype_value->kind != JsonValue::Kind::kString) {
    report.FailTensor(name, "dtype is " + Describe(*dtype_value) +
                                ", expected a string such as \"F32\"");
  }
  const Dtype* dtype = FindDtype(dtype_value->text);
  if (!dtype) {
    report.FailTensor(name,
                      "unknown dtype " + QuoteForMessage(dtype_value->text));
  }
  tensor.dtype = dtype_value->text;
  tensor.shape = ReadIntegers(*shape_value, name, "shape", report);
  const std::vector<uint64_t> offsets =
      ReadIntegers(*offsets_value, name, "data_offsets", report);
  if (offsets.size() != 2) {
    report.FailTensor(name, "data_offsets has " +
                                std::to_string(offsets.size()) +
                                " numbers, expected 2 (begin, end)");
  }
  tensor.begin = offsets[0];
  tensor.end = offsets[1];
  const std::string range = RangeText(tensor.begin, tensor.end);
  if (tensor.begin > tensor.end) {
    report.FailTensor(name, "data_offsets " + range + " begin after they end");
  }
  if (tensor.end > data_bytes) {
    report.FailTensor(name, "data_offsets " + range +
                                " go beyond the data section (" +
                                std::to_string(data_bytes) + " bytes)");
  }
  const std::optional<uint64_t> length = ByteLength(tensor.shape, dtype->bytes);
  if (!length) {
    report.FailTensor(name, "shape " + ShapeText(tensor.shape) + " of " +
                                tensor.dtype + " overflows 64 bits");
  }
  if (*length != tensor.end - tensor.begin) {
    report.FailTensor(name, "data_offsets " + range + " hold " +
                                std::to_string(tensor.end - tensor.begin) +
                                " bytes, but " + tensor.dtype + " " +
                                ShapeText(tensor.shape) + " needs " +
                                std::to_string(*length));
  }
  return tensor;
}

void ReadMetadata(const JsonValue& object, SafetensorsFile& file,
                  const Reporter& report) {
  if (object.kind != JsonValue::Kind::kObject) {
    report.Fail("\"__metadata__\" is " + Describe(object) +
                ", expected an object of strings");
  }
  for (const auto& [key, value] : object.members) {
    if (value.kind != JsonValue::Kind::kString) {
      report.Fail("__metadata__ " + QuoteForMessage(key) + " is " +
                  Describe(value) + ", expected a string");
    }
    file.metadata.emplace_back(key, value.text);
  }
}

// safetensors requires the byte ranges to cover the data section exactly:
// sorted by offset, each must start where the previous one ended.
void CheckTiling(const std::vector<TensorInfo>& tensors, uint64_t data_bytes,
                 const Reporter& report) {
  std::vector<const TensorInfo*> by_offset;
  by_offset.reserve(tensors.size());
  for (const TensorInfo& tensor : tensors) by_offset.push_back(&tensor);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorInfo* a, const TensorInfo* b) {
              return a->begin != b->begin ? a->begin < b->begin
                                          : a->end < b->end;
            });
  uint64_t covered = 0;
  const TensorInfo* previous = nullptr;
  for (const TensorInfo* tensor : by_offset) {
    if (tensor->begin < covered) {
      report.Fail("tensors " + QuoteForMessage(previous->name) + " " +
                  RangeText(previous->begin, previous->end) + " and " +
                  QuoteForMessage(tensor->name) + " " +
                  RangeText(tensor->begin, tensor->end) + " overlap");
    }
    if (tensor->begin > covered) {
      report.Fail("data section has a hole: bytes " +
                  RangeText(covered, tensor->begin) + " before tensor " +
                  QuoteForMessage(tensor->name) + " belong to no tensor");
    }
    covered = tensor->end;
    previous = tensor;
  }
  if (covered != data_bytes) {
    report.Fail("data section has a hole: bytes " +
                RangeText(covered, data_bytes) +
                " at its end belong to no tensor");
  }
}

uint64_t LoadLittleEndian64(std::span<const std::byte> bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) {
    value = (value << 8) | std::to_integer<uint64_t>(bytes[i]);
  }
  return value;
}

void AppendLittleEndian64(uint64_t value, std::vector<std::byte>& out) {
  for (int i = 0; i < 8; ++i) {
    out.push_back(static_cast<std::byte>((value >> (8 * i)) & 0xFF));
  }
}

uint32_t ByteSwap32(uint32_t v) {
  return (v >> 24) | ((v >> 8) & 0xFF00u) | ((v << 8) & 0xFF0000u) | (v << 24);
}

[[noreturn]] void FailWrite(const std::string& problem) {
  throw Error("elman::io::WriteSafetensors: " + problem);
}

void CheckWritable(std::string_view what, std::string_view text) {
  if (!IsValidUtf8(text)) {
    FailWrite(std::string(what) + " " + QuoteForMessage(text) +
              " is not valid UTF-8");
  }
}

}  // namespace

std::string ShapeText(std::span<const uint64_t> shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

const TensorInfo* SafetensorsFile::Find(std::string_view name) const {
  for (const TensorInfo& tensor : tensors) {
    if (tensor.name == name) return &tensor;
  }
  return nullptr;
}

const std::string* SafetensorsFile::FindMetadata(std::string_view key) const {
  for (const auto& [metadata_key, value] : metadata) {
    if (metadata_key == key) return &value;
  }
  return nullptr;
}

std::span<const std::byte> SafetensorsFile::Bytes(
    const TensorInfo& tensor) const {
  return data.subspan(tensor.begin, tensor.end - tensor.begin);
}

SafetensorsFile ParseSafetensors(std::span<const std::byte> bytes,
                                 std::string_view source) {
  const Reporter report(source);
  if (bytes.size() < kLengthFieldBytes) {
    report.Fail(std::to_string(bytes.size()) +
                " bytes, too short for a safetensors file (at least the "
                "8-byte header length)");
  }
  const uint64_t header_bytes = LoadLittleEndian64(bytes.first(8));
  const uint64_t after_length = bytes.size() - kLengthFieldBytes;
  if (header_bytes > after_length) {
    report.Fail("header length " + std::to_string(header_bytes) +
                " goes beyond the end of the file (" +
                std::to_string(after_length) + " bytes after the length)");
  }
  if (header_bytes > kMaxHeaderBytes) {
    report.Fail("header length " + std::to_string(header_bytes) +
                " exceeds the limit of " + std::to_string(kMaxHeaderBytes) +
                " bytes");
  }
  const std::span<const std::byte> header_span =
      bytes.subspan(kLengthFieldBytes, header_bytes);
  const std::string_view header(
      reinterpret_cast<const char*>(header_span.data()), header_span.size());
  if (header.empty() || header.front() != '{') {
    report.Fail("header does not start with '{' (it must be a JSON object)");
  }
  const JsonValue root = ParseJson(header, std::string(source) + ": header");

  SafetensorsFile file;
  file.data = bytes.subspan(kLengthFieldBytes + header_bytes);
  file.tensors.reserve(root.members.size());
  for (const auto& [name, entry] : root.members) {
    if (name == "__metadata__") {
      ReadMetadata(entry, file, report);
    } else {
      file.tensors.push_back(
          ReadTensorEntry(name, entry, file.data.size(), report));
    }
  }
  CheckTiling(file.tensors, file.data.size(), report);
  return file;
}

std::vector<std::byte> WriteSafetensors(
    std::span<const F32Tensor> tensors,
    std::span<const std::pair<std::string, std::string>> metadata) {
  std::vector<std::string_view> names;
  for (const F32Tensor& tensor : tensors) {
    CheckWritable("tensor name", tensor.name);
    if (tensor.name == "__metadata__") FailWrite("a tensor named __metadata__");
    names.push_back(tensor.name);
    const std::optional<uint64_t> length = ByteLength(tensor.shape, 4);
    if (!length || *length != tensor.values.size() * uint64_t{4}) {
      FailWrite("tensor " + QuoteForMessage(tensor.name) + " has " +
                std::to_string(tensor.values.size()) + " values, shape " +
                ShapeText(tensor.shape));
    }
  }
  std::sort(names.begin(), names.end());
  const auto duplicate = std::adjacent_find(names.begin(), names.end());
  if (duplicate != names.end()) {
    FailWrite("tensor " + QuoteForMessage(*duplicate) + " given twice");
  }

  // Compact JSON, metadata first, as the reference implementation writes it.
  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    for (size_t i = 0; i < metadata.size(); ++i) {
      CheckWritable("metadata key", metadata[i].first);
      CheckWritable("metadata value", metadata[i].second);
      if (i > 0) header += ',';
      header +=
          JsonQuote(metadata[i].first) + ":" + JsonQuote(metadata[i].second);
    }
    header += "}";
  }
  uint64_t offset = 0;
  for (const F32Tensor& tensor : tensors) {
    const uint64_t end = offset + tensor.values.size() * uint64_t{4};
    if (header.size() > 1) header += ',';
    header += JsonQuote(tensor.name) + ":{\"dtype\":\"F32\",\"shape\":" +
              CompactShapeText(tensor.shape) + ",\"data_offsets\":[" +
              std::to_string(offset) + "," + std::to_string(end) + "]}";
    offset = end;
  }
  header += '}';
  // Spaces up to a multiple of 8 bytes, so that the data section is aligned.
  header.resize((header.size() + 7) / 8 * 8, ' ');

  std::vector<std::byte> file;
  file.reserve(kLengthFieldBytes + header.size() + offset);
  AppendLittleEndian64(header.size(), file);
  for (char c : header) file.push_back(static_cast<std::byte>(c));
  file.resize(file.size() + offset);
  std::byte* out = file.data() + kLengthFieldBytes + header.size();
  for (const F32Tensor& tensor : tensors) {
    for (float value : tensor.values) {
      uint32_t bits = std::bit_cast<uint32_t>(value);
      if constexpr (std::endian::native == std::endian::big) {
        bits = ByteSwap32(bits);
      }
      std::memcpy(out, &bits, sizeof(bits));
      out += sizeof(bits);
    }
  }
  return file;
}

void ReadF32(std::span<const std::byte> bytes, std::span<float> values) {
  if (bytes.size() != values.size() * sizeof(float)) {
    throw Error("elman::io::ReadF32: " + std::to_string(bytes.size()) +
                " bytes for " + std::to_string(values.size()) + " floats");
  }
  for (size_t i = 0; i < values.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, bytes.data() + 4 * i, sizeof(bits));
    if constexpr (std::endian::native == std::endian::big) {
      bits = ByteSwap32(bits);
    }
    values[i] = std::bit_cast<float>(bits);
  }
}

}  // namespace elman::io
