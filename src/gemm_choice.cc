// The choice of src/gemm_choice.h: per target, a timing of one strided
// product packed and unpacked; once per process, behind a mutex.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/gemm_choice.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
// Must come after foreach_target.h.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "hwy/aligned_allocator.h"
#include "hwy/highway.h"
#include "src/gemm_choice.h"
#include "src/kernels/gemm-inl.h"

namespace elman::internal {
// Records the choice for `target` from the override or from `measure` (the
// time packed over the time unpacked), unless it was made before.
void DecidePackStridedA(int64_t target, double (*measure)());
}  // namespace elman::internal

HWY_BEFORE_NAMESPACE();
namespace elman::HWY_NAMESPACE {

// The time of the probe product with A packed over its time with A read in
// place, each the best of four runs, the two alternating (so that a slow
// spell of the machine hits both); 0 if the buffers cannot be allocated.
// The probe is shaped like dU = Δᵀ H₋₁ at H = 256 over 512 rows (Δ read
// transposed, 256 floats between one k and the next): on Zen 5 its ratio
// (1.11×, timed as a BM_GemmPackedA shape of bench/gemm_bench.cc) matched
// the passes' shapes' there (1.10–1.17×, K = 3200).
double PackedOverStridedTime() {
  constexpr size_t kRows = 256, kCols = 256, kDepth = 512;
  const size_t slack = hn::MaxLanes(hn::ScalableTag<float>());
  auto a = hwy::AllocateAligned<float>(kDepth * kRows);
  auto b = hwy::AllocateAligned<float>(kDepth * kCols + slack);
  auto c = hwy::AllocateAligned<float>(kRows * kCols);
  auto pack = hwy::AllocateAligned<float>(kGemmPackFloats);
  if (!a || !b || !c || !pack) return 0.0;
  // Small values of both signs: the sums stay far from overflow and
  // subnormals, whose timing would not be the passes'.
  for (size_t i = 0; i < kDepth * kRows; ++i) {
    a[i] = static_cast<float>(static_cast<int>(i * 7919 % 97) - 48) / 64.0f;
  }
  for (size_t i = 0; i < kDepth * kCols + slack; ++i) {
    b[i] = static_cast<float>(static_cast<int>(i * 104729 % 89) - 44) / 64.0f;
  }
  GemmArgs product;
  product.m = kRows;
  product.n = kCols;
  product.k = kDepth;
  product.a = a.get();
  product.a_row = 1;
  product.a_col = kRows;
  product.b = b.get();
  product.ldb = kCols;
  product.c = c.get();
  product.ldc = kCols;
  product.pack = pack.get();
  auto seconds = [&](bool pack_a) {
    product.pack_strided_a = pack_a;
    const auto start = std::chrono::steady_clock::now();
    Gemm(product);
    const auto stop = std::chrono::steady_clock::now();
    return std::chrono::duration<double>(stop - start).count();
  };
  seconds(false);  // both once first: caches, pages and clocks warm
  seconds(true);
  double strided = std::numeric_limits<double>::infinity();
  double packed = strided;
  for (int round = 0; round < 4; ++round) {
    const bool packed_first = round % 2 == 1;
    if (packed_first) packed = std::min(packed, seconds(true));
    strided = std::min(strided, seconds(false));
    if (!packed_first) packed = std::min(packed, seconds(true));
  }
  return strided > 0.0 ? packed / strided : 0.0;
}

void ChoosePackStridedAOnTarget() {
  internal::DecidePackStridedA(HWY_TARGET, &PackedOverStridedTime);
}

int64_t TargetBit() { return HWY_TARGET; }

}  // namespace elman::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "elman/error.h"
#include "src/dispatch.h"

namespace elman::internal {
namespace {

// Packing must win by this much to be chosen: where the two are within the
// noise of a few milliseconds' timing, unpacked needs no copy and no 96 KiB
// of scratch traffic.
constexpr double kPackWhenRatioBelow = 0.97;

struct TargetChoice {
  std::atomic<bool> pack{false};
  bool decided = false;  // under ChoiceMutex()
  std::string how;       // under ChoiceMutex()
};

// One per HWY_TARGET bit (targets are single bits of an int64_t).
TargetChoice& ChoiceOf(int64_t target) {
  static TargetChoice choices[64];
  return choices[hwy::Num0BitsBelowLS1Bit_Nonzero64(
      static_cast<uint64_t>(target))];
}

std::mutex& ChoiceMutex() {
  static std::mutex mutex;
  return mutex;
}

// ForcePackStridedAForTest: −1 none, else 0 or 1.
std::atomic<int> forced{-1};

std::string Ratio(double ratio) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.2fx", ratio);
  return text;
}

HWY_EXPORT(ChoosePackStridedAOnTarget);
HWY_EXPORT(TargetBit);

}  // namespace

bool PackingPays(double ratio) {
  return ratio > 0.0 && ratio < kPackWhenRatioBelow;
}

void DecidePackStridedA(int64_t target, double (*measure)()) {
  TargetChoice& choice = ChoiceOf(target);
  const std::lock_guard<std::mutex> lock(ChoiceMutex());
  if (choice.decided) return;
  const std::optional<bool> override =
      ParsePackStridedAOverride(std::getenv("ELMAN_GEMM_PACK_A"));
  bool pack = false;
  if (override.has_value()) {
    pack = *override;
    choice.how = std::string("ELMAN_GEMM_PACK_A=") + (pack ? "1" : "0");
  } else {
    const double ratio = measure();
    pack = PackingPays(ratio);
    choice.how = ratio > 0.0 ? "measured: packed " + Ratio(ratio) + " the time"
                             : "not measured: no memory for the probe";
  }
  choice.pack.store(pack, std::memory_order_relaxed);
  choice.decided = true;
}

bool PacksStridedA(int64_t target) {
  const int forced_choice = forced.load(std::memory_order_relaxed);
  if (forced_choice >= 0) return forced_choice == 1;
  return ChoiceOf(target).pack.load(std::memory_order_relaxed);
}

void ChoosePackStridedA() { ELMAN_DISPATCH(ChoosePackStridedAOnTarget)(); }

std::string PackStridedADecision() {
  const int64_t target = ELMAN_DISPATCH(TargetBit)();
  const bool pack = PacksStridedA(target);
  std::string how;
  if (forced.load(std::memory_order_relaxed) >= 0) {
    how = "forced by a test";
  } else {
    TargetChoice& choice = ChoiceOf(target);
    const std::lock_guard<std::mutex> lock(ChoiceMutex());
    how = choice.decided ? choice.how : "not measured";
  }
  return std::string(pack ? "yes" : "no") + " (" + how + ")";
}

std::optional<bool> ParsePackStridedAOverride(const char* value) {
  if (value == nullptr || value[0] == '\0' || std::strcmp(value, "auto") == 0) {
    return std::nullopt;
  }
  if (std::strcmp(value, "1") == 0) return true;
  if (std::strcmp(value, "0") == 0) return false;
  throw Error(
      std::string("elman: environment variable ELMAN_GEMM_PACK_A is \"") +
      value + "\"; expected 1 (pack), 0 (do not pack) or auto");
}

void ForcePackStridedAForTest(std::optional<bool> pack) {
  if (pack.has_value()) {
    forced.store(*pack ? 1 : 0, std::memory_order_relaxed);
    return;
  }
  forced.store(-1, std::memory_order_relaxed);
  const std::lock_guard<std::mutex> lock(ChoiceMutex());
  for (int bit = 0; bit < 64; ++bit) {
    TargetChoice& choice = ChoiceOf(int64_t{1} << bit);
    choice.pack.store(false, std::memory_order_relaxed);
    choice.decided = false;
    choice.how.clear();
  }
}

}  // namespace elman::internal
#endif  // HWY_ONCE
