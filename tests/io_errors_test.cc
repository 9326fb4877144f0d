// Every way a weight file can be wrong: each must throw elman::Error whose
// message names the source, the tensor and the problem, and a failed
// `model = LoadModelFromBuffer(...)` must leave `model` as it was. Bad files
// are good ones with one thing changed: bytes cut or patched, header text
// replaced, or headers written by hand.
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "elman/elman.h"
#include "elman/io.h"
#include "gtest/gtest.h"
#include "tests/io_test_util.h"

namespace elman {
namespace {

using test::ToBytes;

constexpr char kSource[] = "bad.safetensors";
constexpr char kMetadata[] =
    R"({"format":"elman","format_version":"1",)"
    R"("hidden_activation":"tanh","output_activation":"identity"})";

// One header entry; entries are laid out back to back in the data.
struct Entry {
  std::string name;
  std::string shape;  // JSON, e.g. "[4,3]"
  uint64_t bytes;
  std::string dtype = "F32";
};

// The entries of a valid I = 3, H = 4, O = 2 model.
std::vector<Entry> GoodEntries() {
  return {{"W", "[4,3]", 48},
          {"U", "[4,4]", 64},
          {"b", "[4]", 16},
          {"V", "[2,4]", 32},
          {"c", "[2]", 8}};
}

// The 8-byte length, `header` and `data_bytes` bytes of 0.5f floats.
std::vector<std::byte> FileFromHeader(const std::string& header,
                                      uint64_t data_bytes) {
  std::vector<std::byte> file(8 + header.size() + data_bytes);
  const uint64_t length = header.size();
  for (int i = 0; i < 8; ++i) {
    file[i] = static_cast<std::byte>((length >> (8 * i)) & 0xFF);
  }
  std::memcpy(file.data() + 8, header.data(), header.size());
  const uint8_t half[4] = {0x00, 0x00, 0x00, 0x3F};  // 0.5f little-endian
  for (uint64_t i = 0; i < data_bytes; ++i) {
    file[8 + header.size() + i] = static_cast<std::byte>(half[i % 4]);
  }
  return file;
}

std::string HeaderOf(const std::vector<Entry>& entries,
                     const std::string& metadata = kMetadata) {
  std::string header = "{";
  if (!metadata.empty()) header += R"("__metadata__":)" + metadata;
  uint64_t offset = 0;
  for (const Entry& entry : entries) {
    if (header.size() > 1) header += ',';
    header += "\"" + entry.name + R"(":{"dtype":")" + entry.dtype +
              R"(","shape":)" + entry.shape + R"(,"data_offsets":[)" +
              std::to_string(offset) + "," +
              std::to_string(offset + entry.bytes) + "]}";
    offset += entry.bytes;
  }
  return header + "}";
}

uint64_t DataBytes(const std::vector<Entry>& entries) {
  uint64_t total = 0;
  for (const Entry& entry : entries) total += entry.bytes;
  return total;
}

std::vector<std::byte> Build(const std::vector<Entry>& entries,
                             const std::string& metadata = kMetadata) {
  return FileFromHeader(HeaderOf(entries, metadata), DataBytes(entries));
}

// The good file's header with `from` replaced by `to` (which must occur).
std::vector<std::byte> GoodWith(const std::string& from,
                                const std::string& to) {
  std::string header = HeaderOf(GoodEntries());
  const size_t at = header.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) header.replace(at, from.size(), to);
  return FileFromHeader(header, DataBytes(GoodEntries()));
}

// The failed load must throw an Error naming kSource and `needles`, and must
// not change the model it was to be assigned to.
void ExpectLoadFails(const std::vector<std::byte>& bytes,
                     std::vector<std::string> needles) {
  Model target({{2, 5, 1}, Activation::kSigmoid, Activation::kRelu}, 42);
  const Model before = target;
  needles.insert(needles.begin(), std::string(kSource) + ": ");
  test::ExpectError([&] { target = LoadModelFromBuffer(bytes, kSource); },
                    needles);
  test::SameModel(target, before);
}

TEST(IoErrors, TheGoodFileLoads) {
  const Model model = LoadModelFromBuffer(Build(GoodEntries()), kSource);
  EXPECT_EQ(model.dims(), (Dims{3, 4, 2}));
  EXPECT_EQ(model.parameters().U()[7], 0.5f);
}

// The container

TEST(IoErrors, ShorterThanTheLengthField) {
  ExpectLoadFails({}, {"0 bytes", "too short"});
  const std::vector<std::byte> good = Build(GoodEntries());
  ExpectLoadFails({good.begin(), good.begin() + 7}, {"7 bytes", "too short"});
}

TEST(IoErrors, TruncatedFile) {
  std::vector<std::byte> bytes = Build(GoodEntries());
  bytes.resize(bytes.size() - 1);  // the data ends early
  ExpectLoadFails(bytes, {"tensor \"c\"", "beyond the data section"});
  bytes.resize(20);  // the header ends early
  ExpectLoadFails(bytes, {"header length", "beyond the end of the file"});
}

TEST(IoErrors, HeaderLengthBeyondTheBuffer) {
  for (uint64_t length : {uint64_t{1000}, uint64_t{1} << 63,
                          std::numeric_limits<uint64_t>::max()}) {
    std::vector<std::byte> bytes = Build(GoodEntries());
    for (int i = 0; i < 8; ++i) {
      bytes[i] = static_cast<std::byte>((length >> (8 * i)) & 0xFF);
    }
    ExpectLoadFails(bytes, {"header length " + std::to_string(length),
                            "beyond the end of the file"});
  }
}

TEST(IoErrors, HeaderNotJson) {
  ExpectLoadFails(FileFromHeader("{W: 1}", 0), {"header: byte 1", "key"});
  ExpectLoadFails(GoodWith("\"U\":", "\"U\" "), {"expected ':'"});
  ExpectLoadFails(GoodWith("[4,4]", "[4,4,]"), {"expected a JSON value"});
  ExpectLoadFails(FileFromHeader(HeaderOf(GoodEntries()) + "}", 168),
                  {"unexpected text after the JSON value"});
  ExpectLoadFails(FileFromHeader(HeaderOf(GoodEntries()) + '\0', 168),
                  {"unexpected text"});
  ExpectLoadFails(GoodWith("\"U\"", "\"\xC3\x28\""), {"invalid UTF-8"});
}

TEST(IoErrors, HeaderNotAnObject) {
  ExpectLoadFails(FileFromHeader("[1, 2]", 0), {"does not start with '{'"});
  ExpectLoadFails(FileFromHeader(" " + HeaderOf(GoodEntries()), 168),
                  {"does not start with '{'"});
  ExpectLoadFails(FileFromHeader("", 0), {"does not start with '{'"});
}

TEST(IoErrors, DuplicatedKeys) {
  ExpectLoadFails(GoodWith("\"U\"", "\"W\""), {"duplicated key \"W\""});
  ExpectLoadFails(GoodWith("\"format\":\"elman\"",
                           "\"format\":\"elman\",\"format\":\"elman\""),
                  {"duplicated key \"format\""});
  ExpectLoadFails(GoodWith(R"("dtype":"F32","shape":[4,4])",
                           R"("dtype":"F32","dtype":"F32","shape":[4,4])"),
                  {"duplicated key \"dtype\""});
}

TEST(IoErrors, EntryNotAnObject) {
  ExpectLoadFails(GoodWith(R"("c":{"dtype":"F32","shape":[2],)"
                           R"("data_offsets":[160,168]})",
                           R"("c":[2])"),
                  {"tensor \"c\"", "entry is an array", "expected an object"});
}

TEST(IoErrors, EntryMissingAKey) {
  ExpectLoadFails(
      GoodWith(R"("dtype":"F32","shape":[4,4],)", R"("shape":[4,4],)"),
      {"tensor \"U\"", "missing \"dtype\""});
  ExpectLoadFails(GoodWith(R"("shape":[4,4],)", ""),
                  {"tensor \"U\"", "missing \"shape\""});
  ExpectLoadFails(GoodWith(R"(,"data_offsets":[48,112])", ""),
                  {"tensor \"U\"", "missing \"data_offsets\""});
}

TEST(IoErrors, EntryWithAnExtraKey) {
  ExpectLoadFails(GoodWith(R"("shape":[4,4],)", R"("shape":[4,4],"x":1,)"),
                  {"tensor \"U\"", "unexpected key \"x\""});
}

TEST(IoErrors, DtypeNotAString) {
  ExpectLoadFails(
      GoodWith(R"("dtype":"F32","shape":[4,4])", R"("dtype":32,"shape":[4,4])"),
      {"tensor \"U\"", "dtype is 32", "expected a string"});
}

TEST(IoErrors, UnknownDtype) {
  ExpectLoadFails(GoodWith(R"("dtype":"F32","shape":[4,4])",
                           R"("dtype":"F33","shape":[4,4])"),
                  {"tensor \"U\"", "unknown dtype \"F33\""});
  ExpectLoadFails(GoodWith(R"("dtype":"F32","shape":[4,4])",
                           R"("dtype":"f32","shape":[4,4])"),
                  {"tensor \"U\"", "unknown dtype \"f32\""});
}

TEST(IoErrors, KnownDtypeOtherThanF32) {
  for (const auto& [dtype, element_bytes] :
       std::vector<std::pair<std::string, uint64_t>>{
           {"F16", 2}, {"BF16", 2}, {"F64", 8}, {"I32", 4}, {"BOOL", 1}}) {
    std::vector<Entry> entries = GoodEntries();
    entries[1].dtype = dtype;
    entries[1].bytes = 16 * element_bytes;
    ExpectLoadFails(Build(entries),
                    {"tensor \"U\"", "dtype " + dtype + ", expected F32"});
  }
}

TEST(IoErrors, ByteLengthDoesNotMatchShape) {
  std::vector<Entry> entries = GoodEntries();
  entries[1].bytes = 60;
  ExpectLoadFails(Build(entries),
                  {"tensor \"U\"", "hold 60 bytes", "F32 [4, 4] needs 64"});
}

TEST(IoErrors, ShapeOverflow) {
  std::vector<Entry> entries = GoodEntries();
  entries[1].shape = "[4294967296,4294967296]";  // 2^64 elements
  ExpectLoadFails(Build(entries), {"tensor \"U\"", "overflows"});
  entries[1].shape = "[4611686018427387904]";  // 2^62 elements, 2^64 bytes
  ExpectLoadFails(Build(entries), {"tensor \"U\"", "overflows"});
}

TEST(IoErrors, ShapeNotNonNegativeIntegers) {
  for (const char* bad :
       {"-4", "4.0", "4e0", "18446744073709551616", "\"4\"", "null"}) {
    ExpectLoadFails(GoodWith("[4,4]", std::string("[4,") + bad + "]"),
                    {"tensor \"U\"", "shape[1] is", "non-negative integer"});
  }
  ExpectLoadFails(GoodWith("[4,4]", "4"), {"tensor \"U\"", "shape is 4"});
}

TEST(IoErrors, OffsetsMalformed) {
  ExpectLoadFails(GoodWith("[48,112]", "[48]"),
                  {"tensor \"U\"", "data_offsets has 1 numbers"});
  ExpectLoadFails(GoodWith("[48,112]", "[48,112,112]"),
                  {"tensor \"U\"", "data_offsets has 3 numbers"});
  ExpectLoadFails(GoodWith("[48,112]", "[-48,112]"),
                  {"tensor \"U\"", "data_offsets[0] is -48"});
}

TEST(IoErrors, OffsetsBeginAfterEnd) {
  ExpectLoadFails(GoodWith("[48,112]", "[112,48]"),
                  {"tensor \"U\"", "[112, 48) begin after they end"});
}

TEST(IoErrors, OffsetsBeyondTheData) {
  ExpectLoadFails(GoodWith("[160,168]", "[168,176]"),
                  {"tensor \"c\"", "beyond the data section (168 bytes)"});
  ExpectLoadFails(GoodWith("[160,168]", "[18446744073709551608,0]"),
                  {"tensor \"c\"", "begin after they end"});
  ExpectLoadFails(
      GoodWith("[160,168]", "[18446744073709551608,18446744073709551615]"),
      {"tensor \"c\"", "beyond the data section"});
}

TEST(IoErrors, OverlappingRanges) {
  // b moves onto U's last 16 bytes; V and c follow on, so the end is a hole.
  ExpectLoadFails(GoodWith("[112,128]", "[96,112]"),
                  {"tensors \"U\" [48, 112) and \"b\" [96, 112) overlap"});
  // A zero-length tensor inside another one's bytes overlaps it too.
  ExpectLoadFails(
      FileFromHeader(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                     R"("y":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})",
                     8),
      {"tensors \"x\" [0, 8) and \"y\" [4, 4) overlap"});
}

TEST(IoErrors, HolesInTheData) {
  ExpectLoadFails(GoodWith("[48,112]", "[52,116]"),
                  {"hole", "bytes [48, 52) before tensor \"U\""});
  ExpectLoadFails(FileFromHeader(HeaderOf(GoodEntries()), 172),
                  {"hole", "bytes [168, 172) at its end"});
}

// The model

TEST(IoErrors, MissingTensor) {
  std::vector<Entry> entries = GoodEntries();
  entries.erase(entries.begin() + 1);
  ExpectLoadFails(Build(entries), {"missing tensor \"U\" (hidden × hidden)"});
}

TEST(IoErrors, ExtraTensor) {
  std::vector<Entry> entries = GoodEntries();
  entries.push_back({"d", "[1]", 4});
  ExpectLoadFails(Build(entries), {"unexpected tensor \"d\""});
}

TEST(IoErrors, ShapeMismatch) {
  std::vector<Entry> entries = GoodEntries();
  entries[1] = {"U", "[4,3]", 48};
  ExpectLoadFails(Build(entries), {"tensor \"U\": shape [4, 3], expected "
                                   "[4, 4] (hidden × hidden)"});
  entries = GoodEntries();
  entries[3] = {"V", "[4,2]", 32};  // transposed
  ExpectLoadFails(Build(entries), {"tensor \"V\": shape [4, 2], expected "
                                   "[2, 4] (output × hidden)"});
  entries = GoodEntries();
  entries[2] = {"b", "[1,4]", 16};
  ExpectLoadFails(Build(entries), {"tensor \"b\": shape [1, 4], expected "
                                   "[4] (hidden)"});
  entries = GoodEntries();
  entries[0] = {"W", "[12]", 48};
  ExpectLoadFails(Build(entries), {"tensor \"W\": shape [12], expected 2 "
                                   "dimensions [hidden, input]"});
  entries = GoodEntries();
  entries[4] = {"c", "[]", 4};
  ExpectLoadFails(Build(entries), {"tensor \"c\": shape []"});
}

TEST(IoErrors, ZeroDims) {
  const std::vector<Entry> entries = {{"W", "[4,0]", 0},
                                      {"U", "[4,4]", 64},
                                      {"b", "[4]", 16},
                                      {"V", "[2,4]", 32},
                                      {"c", "[2]", 8}};
  ExpectLoadFails(Build(entries), {"tensor \"W\": shape [4, 0]", "at least 1"});
  const std::vector<Entry> no_output = {{"W", "[4,3]", 48},
                                        {"U", "[4,4]", 64},
                                        {"b", "[4]", 16},
                                        {"V", "[0,4]", 0},
                                        {"c", "[0]", 0}};
  ExpectLoadFails(Build(no_output), {"tensor \"c\": shape [0]", "at least 1"});
}

TEST(IoErrors, MissingMetadata) {
  ExpectLoadFails(Build(GoodEntries(), ""), {"no \"__metadata__\""});
  ExpectLoadFails(Build(GoodEntries(), "{}"), {"no \"__metadata__\""});
  ExpectLoadFails(GoodWith(R"(,"output_activation":"identity")", ""),
                  {"__metadata__ lacks \"output_activation\""});
  ExpectLoadFails(GoodWith(R"("format_version":"1",)", ""),
                  {"__metadata__ lacks \"format_version\""});
}

TEST(IoErrors, MetadataNotStrings) {
  ExpectLoadFails(
      GoodWith(R"("format_version":"1")", R"("format_version":1)"),
      {"__metadata__ \"format_version\" is 1", "expected a string"});
  ExpectLoadFails(Build(GoodEntries(), R"(["elman"])"),
                  {"\"__metadata__\" is an array", "expected an object"});
  ExpectLoadFails(Build(GoodEntries(), R"({"format":{"a":"b"}})"),
                  {"__metadata__ \"format\" is an object"});
}

TEST(IoErrors, UnknownFormatOrVersion) {
  ExpectLoadFails(GoodWith(R"("format":"elman")", R"("format":"pt")"),
                  {"__metadata__ \"format\" is \"pt\", expected \"elman\""});
  ExpectLoadFails(
      GoodWith(R"("format_version":"1")", R"("format_version":"2")"),
      {"\"format_version\" is \"2\"", "reads \"1\""});
}

TEST(IoErrors, UnknownActivation) {
  ExpectLoadFails(GoodWith(R"("tanh")", R"("gelu")"),
                  {"\"hidden_activation\" is \"gelu\"", "expected \"tanh\""});
  ExpectLoadFails(GoodWith(R"("identity")", R"("Identity")"),
                  {"\"output_activation\" is \"Identity\""});
}

TEST(IoErrors, NonFiniteWeights) {
  const Model good({{3, 4, 2}}, 9);
  const std::vector<std::byte> bytes = SaveModelToBuffer(good);
  const size_t data_start = bytes.size() - 4 * good.parameters().size();
  struct Case {
    size_t float_index;  // in the data section: W (12), U (16), b, V, c
    uint32_t bits;
    std::vector<std::string> needles;
  };
  const Case cases[] = {
      {12 + 6, 0x7FC00000u, {"tensor \"U\"", "[1, 2] (flat index 6)", "nan"}},
      {12 + 16 + 4 + 8 + 1, 0xFF800000u, {"tensor \"c\"", "[1] is -inf"}},
      {0, 0x7F800000u, {"tensor \"W\"", "[0, 0] (flat index 0) is inf"}}};
  for (const Case& bad : cases) {
    std::vector<std::byte> patched = bytes;
    for (int i = 0; i < 4; ++i) {
      patched[data_start + 4 * bad.float_index + i] =
          static_cast<std::byte>((bad.bits >> (8 * i)) & 0xFF);
    }
    std::vector<std::string> needles = bad.needles;
    needles.push_back("every weight must be finite");
    ExpectLoadFails(patched, needles);
  }
}

TEST(IoErrors, DeeplyNestedMetadata) {
  const std::string nested = std::string(5000, '[') + std::string(5000, ']');
  ExpectLoadFails(Build(GoodEntries(), R"({"x":)" + nested + "}"),
                  {"nested deeper than 32 levels"});
}

TEST(IoErrors, DefaultSourceIsMemory) {
  test::ExpectError([] { LoadModelFromBuffer({}); }, {"<memory>: 0 bytes"});
}

}  // namespace
}  // namespace elman
