// What api_fuzzer feeds the library and how it checks the error policy:
// buffers of fuzzer-chosen values (a seeded uniform background plus a few
// special values — NaN, ±∞, ±1e30, denormals, −0 — at chosen positions),
// sizes that are right or off by one or empty, and bitwise snapshots of
// everything a call may write.
#ifndef ELMAN_TESTS_FUZZ_FUZZ_VALUES_H_
#define ELMAN_TESTS_FUZZ_FUZZ_VALUES_H_

#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <span>
#include <string_view>
#include <vector>

#include "elman/error.h"

namespace elman::fuzz {

// A violated contract: abort, which libFuzzer reports with the input. Not
// assert(): it must hold in every build type.
// (std::source_location needs clang 15; these builtins name the caller.)
inline void Require(bool condition, const char* file = __builtin_FILE(),
                    int line = __builtin_LINE()) {
  if (condition) return;
  std::fprintf(stderr, "contract violated at %s:%d\n", file, line);
  std::abort();
}

// Runs `call`; true if it threw elman::Error (whose message must name the
// function, "elman::..."). Any other exception escapes and is a finding.
template <typename Call>
bool ThrowsError(Call&& call) {
  try {
    call();
  } catch (const Error& error) {
    Require(std::string_view(error.what()).starts_with("elman::"));
    return true;
  }
  return false;
}

// A size around `exact`: usually exact, else one short, one long or empty, so
// that most calls get past the size checks and reach the math.
inline size_t FuzzSize(FuzzedDataProvider& provider, size_t exact) {
  switch (provider.ConsumeIntegralInRange<int>(0, 7)) {
    case 5:
      return exact > 0 ? exact - 1 : 1;
    case 6:
      return exact + 1;
    case 7:
      return 0;
    default:
      return exact;
  }
}

// Fills `values`: uniform in [−a, a] from a seeded SplitMix64 (a few bytes of
// input give a whole buffer), then up to three special values at chosen
// positions.
inline void FillValues(FuzzedDataProvider& provider, std::span<float> values) {
  static constexpr float kAmplitudes[] = {0.0f,  1e-3f, 1.0f,
                                          10.0f, 1e3f,  1e20f};
  static constexpr float kSpecial[] = {std::numeric_limits<float>::quiet_NaN(),
                                       std::numeric_limits<float>::infinity(),
                                       -std::numeric_limits<float>::infinity(),
                                       1e30f,
                                       -1e30f,
                                       std::numeric_limits<float>::max(),
                                       -std::numeric_limits<float>::max(),
                                       std::numeric_limits<float>::denorm_min(),
                                       -1e-40f,
                                       -0.0f,
                                       1e3f,
                                       -1e3f};
  const float amplitude = provider.PickValueInArray(kAmplitudes);
  uint64_t state = provider.ConsumeIntegral<uint32_t>();
  for (float& value : values) {
    // SplitMix64 (Steele, Lea, Flood 2014).
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    const float unit = static_cast<float>(z >> 40) * 0x1.0p-24f;  // [0, 1)
    value = amplitude * (2.0f * unit - 1.0f);
  }
  const int specials = provider.ConsumeIntegralInRange<int>(0, 3);
  for (int i = 0; i < specials && !values.empty(); ++i) {
    const size_t position =
        provider.ConsumeIntegralInRange<size_t>(0, values.size() - 1);
    values[position] = provider.PickValueInArray(kSpecial);
  }
}

inline std::vector<float> FuzzBuffer(FuzzedDataProvider& provider,
                                     size_t size) {
  std::vector<float> values(size);
  FillValues(provider, values);
  return values;
}

// Bitwise copies of the buffers a call may write, compared after an Error.
class Snapshot {
 public:
  Snapshot& Add(std::span<const float> values) {
    buffers_.emplace_back(values.begin(), values.end());
    return *this;
  }
  Snapshot& Add(uint64_t number) {
    numbers_.push_back(number);
    return *this;
  }
  friend bool operator==(const Snapshot& a, const Snapshot& b) {
    if (a.numbers_ != b.numbers_ || a.buffers_.size() != b.buffers_.size()) {
      return false;
    }
    for (size_t i = 0; i < a.buffers_.size(); ++i) {
      const std::vector<float>& x = a.buffers_[i];
      const std::vector<float>& y = b.buffers_[i];
      // memcmp with the null data() of an empty vector is undefined.
      if (x.size() != y.size() ||
          (!x.empty() &&
           std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) != 0)) {
        return false;
      }
    }
    return true;
  }

 private:
  std::vector<std::vector<float>> buffers_;
  std::vector<uint64_t> numbers_;
};

inline bool AllFinite(std::span<const float> values) {
  for (float value : values) {
    if (!std::isfinite(value)) return false;
  }
  return true;
}

}  // namespace elman::fuzz

#endif  // ELMAN_TESTS_FUZZ_FUZZ_VALUES_H_
