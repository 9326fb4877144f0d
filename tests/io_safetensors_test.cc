// The safetensors container (src/io/safetensors.h) apart from what the
// tensors mean: what the format allows is accepted (any known dtype, scalars,
// empty tensors, no metadata, any key order), the writer's output parses back,
// and ReadF32 reads little-endian bytes on any host.
#include <string>
#include <utility>
#include <vector>

#include "elman/error.h"
#include "gtest/gtest.h"
#include "src/io/safetensors.h"
#include "tests/io_test_util.h"

namespace elman::io {
namespace {

using test::ToBytes;

std::vector<std::byte> WithLength(const std::string& header,
                                  size_t data_bytes) {
  std::string file(8, '\0');
  for (int i = 0; i < 8; ++i) {
    file[i] = static_cast<char>((uint64_t{header.size()} >> (8 * i)) & 0xFF);
  }
  return ToBytes(file + header + std::string(data_bytes, '\x01'));
}

TEST(IoSafetensors, AcceptsWhatTheFormatAllows) {
  // Any known dtype, a scalar, an empty tensor, data out of header order,
  // spaces in the JSON and padding after it, no metadata.
  const std::string header =
      R"({ "flags": {"dtype": "BOOL", "shape": [3], "data_offsets": [24, 27]},)"
      R"( "scalar": {"shape": [], "data_offsets": [16, 24], "dtype": "F64"},)"
      R"( "empty": {"dtype": "F32", "shape": [2, 0], "data_offsets": [16, 16]},)"
      R"( "half": {"dtype": "BF16", "shape": [2, 2, 2], "data_offsets": [0, 16]}})"
      "     ";
  const std::vector<std::byte> bytes = WithLength(header, 27);
  const SafetensorsFile file = ParseSafetensors(bytes, "ok");
  ASSERT_EQ(file.tensors.size(), 4u);
  EXPECT_TRUE(file.metadata.empty());
  EXPECT_EQ(file.data.size(), 27u);
  const TensorInfo* scalar = file.Find("scalar");
  ASSERT_NE(scalar, nullptr);
  EXPECT_EQ(scalar->dtype, "F64");
  EXPECT_TRUE(scalar->shape.empty());
  EXPECT_EQ(file.Bytes(*scalar).size(), 8u);
  EXPECT_EQ(file.Bytes(*scalar).data(), bytes.data() + 8 + header.size() + 16);
  EXPECT_EQ(file.Find("half")->shape, (std::vector<uint64_t>{2, 2, 2}));
  EXPECT_EQ(file.Bytes(*file.Find("empty")).size(), 0u);
  EXPECT_EQ(file.Find("absent"), nullptr);
  EXPECT_EQ(file.tensors[0].name, "flags");  // header order kept
}

TEST(IoSafetensors, AcceptsAnEmptyFile) {
  const SafetensorsFile file = ParseSafetensors(WithLength("{}", 0), "ok");
  EXPECT_TRUE(file.tensors.empty());
  const SafetensorsFile with_metadata = ParseSafetensors(
      WithLength(R"({"__metadata__":{"k":"v","":"\u00e9"}})", 0), "ok");
  ASSERT_NE(with_metadata.FindMetadata("k"), nullptr);
  EXPECT_EQ(*with_metadata.FindMetadata("k"), "v");
  EXPECT_EQ(*with_metadata.FindMetadata(""), "\xC3\xA9");
  EXPECT_EQ(with_metadata.FindMetadata("v"), nullptr);
}

TEST(IoSafetensors, ZeroLengthTensorsMayShareAnOffset) {
  const std::string header =
      R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},)"
      R"("b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
      R"("c":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},)"
      R"("d":{"dtype":"U8","shape":[0],"data_offsets":[2,2]}})";
  EXPECT_EQ(ParseSafetensors(WithLength(header, 2), "ok").tensors.size(), 4u);
}

TEST(IoSafetensors, WriterOutputParsesBack) {
  const std::vector<float> a = {1.0f, -2.5f, 3.25f, 0.0f, -0.0f, 6.0f};
  const std::vector<float> scalar = {7.0f};
  const F32Tensor tensors[] = {{"a \"quoted\" name", {2, 3}, a},
                               {"scalar", {}, scalar},
                               {"empty", {0, 4}, {}}};
  const std::pair<std::string, std::string> metadata[] = {
      {"note", "line\nbreak \xE2\x82\xAC"}, {"k", "v"}};
  const std::vector<std::byte> bytes = WriteSafetensors(tensors, metadata);
  const SafetensorsFile file = ParseSafetensors(bytes, "written");
  ASSERT_EQ(file.tensors.size(), 3u);
  EXPECT_EQ(file.tensors[0].name, "a \"quoted\" name");
  EXPECT_EQ(file.tensors[0].shape, (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(*file.FindMetadata("note"), "line\nbreak \xE2\x82\xAC");
  std::vector<float> read(6);
  ReadF32(file.Bytes(file.tensors[0]), read);
  EXPECT_TRUE(test::SameBytes(read, a));
  ReadF32(file.Bytes(*file.Find("scalar")), std::span<float>(read).first(1));
  EXPECT_EQ(read[0], 7.0f);
  EXPECT_EQ((bytes.size() - file.data.size()) % 8, 0u);
}

TEST(IoSafetensors, WriterRejectsWhatCannotBeRead) {
  const std::vector<float> two = {1.0f, 2.0f};
  const F32Tensor mismatched[] = {{"x", {3}, two}};
  test::ExpectError([&] { WriteSafetensors(mismatched, {}); },
                    {"\"x\" has 2 values, shape [3]"});
  const F32Tensor twice[] = {{"x", {2}, two}, {"y", {2}, two}, {"x", {2}, two}};
  test::ExpectError([&] { WriteSafetensors(twice, {}); },
                    {"\"x\" given twice"});
  const F32Tensor reserved[] = {{"__metadata__", {2}, two}};
  test::ExpectError([&] { WriteSafetensors(reserved, {}); }, {"__metadata__"});
  const F32Tensor bad_name[] = {{"\xC3", {2}, two}};
  test::ExpectError([&] { WriteSafetensors(bad_name, {}); },
                    {"not valid UTF-8"});
  const std::pair<std::string, std::string> bad_value[] = {{"k", "\xFF"}};
  test::ExpectError([&] { WriteSafetensors({}, bad_value); },
                    {"metadata value", "not valid UTF-8"});
}

TEST(IoSafetensors, ReadF32IsLittleEndian) {
  const std::vector<std::byte> bytes =
      ToBytes(std::string("\x00\x00\x80\x3F\x00\x00\x00\xC0", 8));
  std::vector<float> values(2);
  ReadF32(bytes, values);
  EXPECT_EQ(values[0], 1.0f);
  EXPECT_EQ(values[1], -2.0f);
  test::ExpectError([&] { ReadF32(bytes, std::span<float>(values).first(1)); },
                    {"8 bytes for 1 floats"});
}

TEST(IoSafetensors, ErrorsStartWithTheSource) {
  test::ExpectError(
      [] {
        ParseSafetensors(
            WithLength(R"({"t":{"dtype":"X","shape":[],"data_offsets":[0,0]}})",
                       0),
            "my.st");
      },
      {"my.st: tensor \"t\": unknown dtype \"X\""});
  // Hostile names are escaped and cut short in messages.
  test::ExpectError(
      [&] {
        ParseSafetensors(
            WithLength("{\"evil\\n" + std::string(200, 'n') + "\":1}", 0),
            "my.st");
      },
      {"my.st: tensor \"evil\\u000a", "nnn\"...: entry is 1"});
}

}  // namespace
}  // namespace elman::io
