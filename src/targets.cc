// Control over Highway's runtime dispatch, for verifying every code path.
//
// The only state UseTarget and UseBestTarget change is Highway's chosen-target
// mask, an std::atomic that every dispatch (ELMAN_DISPATCH, src/dispatch.h)
// loads once per public call: one atomic store, so they may run while other
// threads compute. Highway's own switch, hwy::SetSupportedTargetsForTest,
// writes a plain global that the first dispatch after it reads, and is
// therefore not used here.
#include "elman/targets.h"

#include <cstdint>
#include <string>
#include <vector>

#include "elman/error.h"
#include "hwy/highway.h"
#include "hwy/targets.h"
#include "src/gemm_choice.h"

namespace elman {
namespace {

// Targets compiled into this library (HWY_TARGETS as seen by this file, built
// with the same flags as the kernels) that this CPU supports, best first
// (Highway gives better targets lower bits).
const std::vector<int64_t>& AvailableTargetBits() {
  static const std::vector<int64_t> bits = [] {
    std::vector<int64_t> found;
    for (int64_t targets = hwy::SupportedTargets() & HWY_TARGETS; targets != 0;
         targets &= targets - 1) {
      found.push_back(targets & -targets);
    }
    return found;
  }();
  return bits;
}

// Before main, so before any thread can dispatch and before a test harness
// can mock hwy::SupportedTargets(): the list of targets, and the chosen
// target. Were the chosen target still uninitialized, a thread's first
// dispatch (Highway's ChooseAndCall) would detect the CPU and store the best
// target, possibly after a UseTarget on another thread: that choice would be
// lost.
[[maybe_unused]] const bool kDispatchInitialized = [] {
  AvailableTargetBits();
  hwy::ChosenTarget& chosen = hwy::GetChosenTarget();
  if (!chosen.IsInitialized()) chosen.Update(hwy::SupportedTargets());
  return true;
}();

}  // namespace

std::vector<std::string> AvailableTargets() {
  std::vector<std::string> names;
  for (int64_t bit : AvailableTargetBits()) {
    names.push_back(hwy::TargetName(bit));
  }
  return names;
}

void UseTarget(const std::string& name) {
  for (int64_t bit : AvailableTargetBits()) {
    if (name == hwy::TargetName(bit)) {
      hwy::GetChosenTarget().Update(bit);
      return;
    }
  }
  std::string available;
  for (const std::string& target : AvailableTargets()) {
    available += (available.empty() ? "" : ", ") + target;
  }
  throw Error("elman::UseTarget: target \"" + name +
              "\" is not available here; available: " + available);
}

void UseBestTarget() {
  int64_t all = 0;
  for (int64_t bit : AvailableTargetBits()) all |= bit;
  hwy::GetChosenTarget().Update(all);
}

std::string CurrentTarget() {
  const hwy::ChosenTarget& chosen = hwy::GetChosenTarget();
  if (chosen.IsInitialized()) {
    // The mask holds Highway's table index, not the target: find the target
    // whose mask gives the same index.
    const size_t index = chosen.GetIndex();
    for (int64_t bit : AvailableTargetBits()) {
      hwy::ChosenTarget candidate;
      candidate.Update(bit);
      if (candidate.GetIndex() == index) return hwy::TargetName(bit);
    }
    return "none";
  }
  // Uninitialized only after hwy::SetSupportedTargetsForTest (the per-target
  // test fixtures): the next dispatch takes the best supported target.
  const int64_t targets = hwy::SupportedTargets() & HWY_TARGETS;
  return targets ? hwy::TargetName(targets & -targets) : "none";
}

std::string GemmPackingChoice() { return internal::PackStridedADecision(); }

}  // namespace elman
