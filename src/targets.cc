// Control over Highway's runtime dispatch, for verifying every code path.
#include "elman/targets.h"

#include <string>
#include <vector>

#include "elman/error.h"
#include "hwy/highway.h"
#include "hwy/targets.h"

namespace elman {
namespace {

// Targets compiled into this library (HWY_TARGETS as seen by this file, built
// with the same flags as the kernels) that this CPU supports, best first
// (Highway gives better targets lower bits). Read once, on first use, before
// UseTarget has restricted anything: while a target is forced, Highway's
// SupportedTargets() reports that target alone.
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
      hwy::SetSupportedTargetsForTest(bit);
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

void UseBestTarget() { hwy::SetSupportedTargetsForTest(0); }

std::string CurrentTarget() {
  const int64_t targets = hwy::SupportedTargets() & HWY_TARGETS;
  return targets ? hwy::TargetName(targets & -targets) : "none";
}

}  // namespace elman
