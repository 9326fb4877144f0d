// Helpers for the weight-file tests: scratch directories, file contents,
// model comparison and error expectations.
#ifndef ELMAN_TESTS_IO_TEST_UTIL_H_
#define ELMAN_TESTS_IO_TEST_UTIL_H_

#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "elman/elman.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace elman::test {

// A fresh directory under GoogleTest's temporary directory, removed with
// everything in it when the test ends.
class ScratchDirectory {
 public:
  explicit ScratchDirectory(std::string_view name) {
    static int counter = 0;
    path_ = std::filesystem::path(::testing::TempDir()) /
            ("elman_io_" + std::string(name) + "_" +
             std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ScratchDirectory(const ScratchDirectory&) = delete;
  ScratchDirectory& operator=(const ScratchDirectory&) = delete;
  ~ScratchDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  const std::filesystem::path& path() const { return path_; }

  // The names in the directory, sorted: temporary files would show here.
  std::vector<std::string> Entries() const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(path_)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  std::filesystem::path path_;
};

inline std::vector<std::byte> FileBytes(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  const std::vector<char> chars{std::istreambuf_iterator<char>(file),
                                std::istreambuf_iterator<char>()};
  std::vector<std::byte> bytes(chars.size());
  std::transform(chars.begin(), chars.end(), bytes.begin(),
                 [](char c) { return static_cast<std::byte>(c); });
  return bytes;
}

// Same configuration and the same weights, bit for bit.
inline void SameModel(const Model& got, const Model& want) {
  EXPECT_EQ(got.dims(), want.dims());
  EXPECT_EQ(got.hidden_activation(), want.hidden_activation());
  EXPECT_EQ(got.output_activation(), want.output_activation());
  EXPECT_TRUE(SameBytes(Flat(got.parameters()), Flat(want.parameters())));
}

inline std::vector<std::byte> ToBytes(std::string_view text) {
  std::vector<std::byte> bytes(text.size());
  std::transform(text.begin(), text.end(), bytes.begin(),
                 [](char c) { return static_cast<std::byte>(c); });
  return bytes;
}

}  // namespace elman::test

#endif  // ELMAN_TESTS_IO_TEST_UTIL_H_
