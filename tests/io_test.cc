// Weight files (include/elman/io.h): round trips through a buffer and a file,
// the exact bytes of a tiny model (so the format cannot drift silently),
// atomic saving, and — when Python has the tools — files read and written by
// other implementations.
#include "elman/io.h"

#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "elman/elman.h"
#include "gtest/gtest.h"
#include "tests/io_test_util.h"
#include "tests/test_util.h"

namespace elman {
namespace {

namespace fs = std::filesystem;
using test::FileBytes;
using test::Flat;
using test::SameBytes;
using test::SameModel;
using test::ScratchDirectory;

Model RandomModel(Dims dims, Activation f, Activation g, uint64_t seed) {
  Model model({dims, f, g}, seed);
  // Non-zero biases too (the initialiser leaves them at 0).
  std::mt19937_64 random(seed);
  const std::vector<float> b = test::RandomVector(dims.hidden, random);
  const std::vector<float> c = test::RandomVector(dims.output, random);
  std::copy(b.begin(), b.end(), model.parameters().b().begin());
  std::copy(c.begin(), c.end(), model.parameters().c().begin());
  return model;
}

constexpr Dims kRoundTripDims[] = {
    {1, 1, 1}, {3, 4, 2}, {5, 2, 7}, {1, 33, 1}, {16, 32, 3}};

TEST(IoRoundTrip, BufferIsBitExactForEveryDimsAndActivationPair) {
  uint64_t seed = 1;
  for (Dims dims : kRoundTripDims) {
    for (Activation f : test::kAllActivations) {
      for (Activation g : test::kAllActivations) {
        const Model model = RandomModel(dims, f, g, seed++);
        const Model loaded = LoadModelFromBuffer(SaveModelToBuffer(model));
        SameModel(loaded, model);
      }
    }
  }
}

TEST(IoRoundTrip, SpecialValuesKeepTheirBits) {
  Model model({{2, 3, 2}, Activation::kRelu, Activation::kSigmoid}, 5);
  const float special[] = {-0.0f, std::numeric_limits<float>::denorm_min(),
                           -std::numeric_limits<float>::max(),
                           std::numeric_limits<float>::min(), 1.0f / 3.0f};
  std::copy(std::begin(special), std::end(special),
            model.parameters().U().begin());
  SameModel(LoadModelFromBuffer(SaveModelToBuffer(model)), model);
}

TEST(IoRoundTrip, FileIsBitExact) {
  const ScratchDirectory directory("round_trip");
  uint64_t seed = 100;
  for (Dims dims : kRoundTripDims) {
    const fs::path path = directory.path() / "model.safetensors";
    const Model model =
        RandomModel(dims, Activation::kSigmoid, Activation::kTanh, seed++);
    SaveModel(model, path);
    SameModel(LoadModel(path), model);
    // The file holds exactly the buffer's bytes.
    EXPECT_EQ(FileBytes(path), SaveModelToBuffer(model));
  }
}

// The whole file of a 1×1×1 model, byte for byte.
TEST(IoGolden, TinyModelBytes) {
  Model model({{1, 1, 1}, Activation::kTanh, Activation::kIdentity});
  model.parameters().W()[0] = 1.0f;     // 0x3F800000
  model.parameters().U()[0] = -2.0f;    // 0xC0000000
  model.parameters().b()[0] = 0.5f;     // 0x3F000000
  model.parameters().V()[0] = 0.25f;    // 0x3E800000
  model.parameters().c()[0] = -0.125f;  // 0xBE000000
  const std::string header =
      R"({"__metadata__":{"format":"elman","format_version":"1",)"
      R"("hidden_activation":"tanh","output_activation":"identity"},)"
      R"("W":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},)"
      R"("U":{"dtype":"F32","shape":[1,1],"data_offsets":[4,8]},)"
      R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},)"
      R"("V":{"dtype":"F32","shape":[1,1],"data_offsets":[12,16]},)"
      R"("c":{"dtype":"F32","shape":[1],"data_offsets":[16,20]}})"
      "  ";  // 390 bytes of JSON, padded with spaces to 392 = 49 × 8
  ASSERT_EQ(header.size(), 392u);
  std::vector<uint8_t> expected = {0x88, 0x01, 0, 0, 0, 0, 0, 0};  // 392, LE
  expected.insert(expected.end(), header.begin(), header.end());
  const uint8_t data[] = {0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00,
                          0xC0, 0x00, 0x00, 0x00, 0x3F, 0x00, 0x00,
                          0x80, 0x3E, 0x00, 0x00, 0x00, 0xBE};
  expected.insert(expected.end(), std::begin(data), std::end(data));

  const std::vector<std::byte> bytes = SaveModelToBuffer(model);
  ASSERT_EQ(bytes.size(), expected.size());
  for (size_t i = 0; i < bytes.size(); ++i) {
    ASSERT_EQ(std::to_integer<uint8_t>(bytes[i]), expected[i]) << "byte " << i;
  }
  SameModel(LoadModelFromBuffer(bytes), model);
}

TEST(IoGolden, HeaderIsPaddedToAMultipleOf8) {
  for (Dims dims : kRoundTripDims) {
    for (Activation g : test::kAllActivations) {
      const std::vector<std::byte> bytes = SaveModelToBuffer(
          RandomModel(dims, Activation::kRelu, g, dims.hidden));
      uint64_t header_bytes = 0;
      for (int i = 7; i >= 0; --i) {
        header_bytes = header_bytes << 8 | std::to_integer<uint64_t>(bytes[i]);
      }
      EXPECT_EQ(header_bytes % 8, 0u);
      // Only spaces pad the JSON, after its closing brace.
      const std::string header(reinterpret_cast<const char*>(bytes.data()) + 8,
                               header_bytes);
      const size_t brace = header.rfind('}');
      EXPECT_LT(header.size() - brace - 1, 8u);
      EXPECT_EQ(header.find_first_not_of(' ', brace + 1), std::string::npos);
    }
  }
}

// Saving

TEST(IoSave, OverwritesAnExistingFileWhole) {
  const ScratchDirectory directory("overwrite");
  const fs::path path = directory.path() / "model.safetensors";
  SaveModel(RandomModel({8, 64, 8}, Activation::kTanh, Activation::kTanh, 1),
            path);
  const Model small =
      RandomModel({1, 1, 1}, Activation::kRelu, Activation::kIdentity, 2);
  SaveModel(small, path);
  EXPECT_EQ(FileBytes(path), SaveModelToBuffer(small));
  SameModel(LoadModel(path), small);
  EXPECT_EQ(directory.Entries(), std::vector<std::string>{"model.safetensors"});
}

TEST(IoSave, SavesToARelativePath) {
  const ScratchDirectory directory("relative");
  const fs::path previous = fs::current_path();
  fs::current_path(directory.path());
  const Model model({{2, 2, 2}}, 3);
  SaveModel(model, "relative.safetensors");
  const Model loaded = LoadModel("relative.safetensors");
  fs::current_path(previous);
  SameModel(loaded, model);
}

TEST(IoSave, MissingDirectoryIsAnErrorNamingThePath) {
  const ScratchDirectory directory("missing_dir");
  const fs::path path = directory.path() / "no_such_dir" / "model.safetensors";
  test::ExpectError(
      [&] {
        SaveModel(Model(Config{{1, 1, 1}}), path);
      },
      {path.string(), "No such file or directory"});
  EXPECT_TRUE(directory.Entries().empty());
}

TEST(IoSave, ParentThatIsAFileIsAnError) {
  const ScratchDirectory directory("parent_file");
  std::ofstream(directory.path() / "regular") << "not a directory";
  const fs::path path = directory.path() / "regular" / "model.safetensors";
  test::ExpectError(
      [&] {
        SaveModel(Model(Config{{1, 1, 1}}), path);
      },
      {path.string(), "Not a directory"});
  EXPECT_EQ(directory.Entries(), std::vector<std::string>{"regular"});
}

TEST(IoSave, DirectoryAsTargetIsAnErrorAndLeavesNoTemporaryFile) {
  const ScratchDirectory directory("target_dir");
  fs::create_directory(directory.path() / "model.safetensors");
  std::ofstream(directory.path() / "model.safetensors" / "keep") << "x";
  const fs::path path = directory.path() / "model.safetensors";
  test::ExpectError(
      [&] {
        SaveModel(Model(Config{{1, 1, 1}}), path);
      },
      {path.string(), "cannot replace"});
  EXPECT_EQ(directory.Entries(), std::vector<std::string>{"model.safetensors"});
}

TEST(IoSave, NonFiniteWeightsAreRefusedAndTheOldFileKept) {
  const ScratchDirectory directory("non_finite");
  const fs::path path = directory.path() / "model.safetensors";
  const Model good({{2, 3, 1}}, 4);
  SaveModel(good, path);
  Model bad = good;
  bad.parameters().V()[2] = std::numeric_limits<float>::quiet_NaN();
  test::ExpectError([&] { SaveModel(bad, path); }, {"V[2]", "finite"});
  EXPECT_EQ(FileBytes(path), SaveModelToBuffer(good));
  EXPECT_EQ(directory.Entries(), std::vector<std::string>{"model.safetensors"});
}

// A write that fails half way (the file size limit, which binds root too)
// removes the temporary file and keeps the old file.
TEST(IoSave, FailedWriteKeepsTheOldFile) {
  const ScratchDirectory directory("failed_write");
  const fs::path path = directory.path() / "model.safetensors";
  const Model old_model({{1, 2, 1}}, 5);
  SaveModel(old_model, path);
  const std::vector<std::byte> old_bytes = FileBytes(path);

  rlimit previous_limit;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &previous_limit), 0);
  rlimit small_limit = previous_limit;
  small_limit.rlim_cur = 4096;
  const auto previous_handler = std::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small_limit), 0);
  const Model big_model({{16, 64, 16}}, 6);  // ≈ 25 KB
  std::string message;
  try {
    SaveModel(big_model, path);
  } catch (const Error& error) {
    message = error.what();
  }
  setrlimit(RLIMIT_FSIZE, &previous_limit);
  std::signal(SIGXFSZ, previous_handler);

  EXPECT_NE(message.find(path.string()), std::string::npos) << message;
  EXPECT_NE(message.find("cannot write"), std::string::npos) << message;
  EXPECT_NE(message.find("File too large"), std::string::npos) << message;
  EXPECT_EQ(FileBytes(path), old_bytes);
  EXPECT_EQ(directory.Entries(), std::vector<std::string>{"model.safetensors"});
}

// Without root, a read-only directory refuses the temporary file.
TEST(IoSave, ReadOnlyDirectoryKeepsTheOldFile) {
  if (geteuid() == 0) {
    GTEST_SKIP() << "root writes into read-only directories; "
                    "FailedWriteKeepsTheOldFile covers this as root";
  }
  const ScratchDirectory directory("read_only");
  const fs::path path = directory.path() / "model.safetensors";
  const Model old_model({{1, 2, 1}}, 7);
  SaveModel(old_model, path);
  fs::permissions(directory.path(), fs::perms::owner_write,
                  fs::perm_options::remove);
  test::ExpectError(
      [&] {
        SaveModel(Model(Config{{3, 3, 3}}), path);
      },
      {path.string(), "Permission denied"});
  fs::permissions(directory.path(), fs::perms::owner_write,
                  fs::perm_options::add);
  SameModel(LoadModel(path), old_model);
  EXPECT_EQ(directory.Entries(), std::vector<std::string>{"model.safetensors"});
}

// Loading from files

TEST(IoLoad, MissingFileNamesThePathAndTheReason) {
  const ScratchDirectory directory("missing_file");
  const fs::path path = directory.path() / "absent.safetensors";
  Model target({{2, 2, 2}}, 8);
  const std::vector<float> before = Flat(target.parameters());
  test::ExpectError(
      [&] { target = LoadModel(path); },
      {path.string(), "cannot open", "No such file or directory"});
  EXPECT_TRUE(SameBytes(Flat(target.parameters()), before));
}

TEST(IoLoad, DirectoryIsAnError) {
  const ScratchDirectory directory("load_dir");
  test::ExpectError([&] { LoadModel(directory.path()); },
                    {directory.path().string(), "Is a directory"});
}

TEST(IoLoad, BadContentNamesThePath) {
  const ScratchDirectory directory("bad_content");
  const fs::path path = directory.path() / "model.safetensors";
  std::ofstream(path, std::ios::binary) << "tiny";
  test::ExpectError([&] { LoadModel(path); },
                    {path.string() + ": 4 bytes", "too short"});
}

}  // namespace
}  // namespace elman
