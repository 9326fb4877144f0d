// Dynamic dispatch that reads the chosen SIMD target once per public call.
//
// Highway's HWY_DYNAMIC_DISPATCH reads the process-wide chosen target (an
// std::atomic in hwy::ChosenTarget) at every dispatch. A public call that
// dispatches more than once (Trainer::Step, ClipGradNorm) could then run its
// parts on different targets if UseTarget is called meanwhile by another
// thread. ELMAN_DISPATCH reads the same atomic, unless this thread holds a
// TargetPin: then every dispatch inside the pin's scope uses the index read
// when the outermost pin was made, so the whole call runs on one target.
#ifndef ELMAN_SRC_DISPATCH_H_
#define ELMAN_SRC_DISPATCH_H_

#include <cstddef>

#include "hwy/highway.h"
#include "hwy/targets.h"

namespace elman::internal {

// Means "no pin on this thread": indices into an HWY_EXPORT table are small.
inline constexpr size_t kNoPinnedTarget = ~size_t{0};
inline thread_local size_t pinned_target_index = kNoPinnedTarget;

// The HWY_EXPORT table index the next dispatch on this thread uses. Index 0 is
// Highway's initializing entry (ChooseAndCall), taken only while the chosen
// target is uninitialized, e.g. after hwy::SetSupportedTargetsForTest.
inline size_t DispatchIndex() {
  // hwy::GetChosenTarget() is a call into libhwy (through the PLT when it is
  // shared) that returns the same object every time: asked once, the
  // dispatch of a Stream::Step is then a thread-local read and an atomic
  // load.
  static hwy::ChosenTarget& chosen = hwy::GetChosenTarget();
  const size_t pinned = pinned_target_index;
  return pinned != kNoPinnedTarget ? pinned : chosen.GetIndex();
}

// While alive, every ELMAN_DISPATCH on this thread runs on the target chosen
// when it was made (nested pins keep the outer one's target).
class TargetPin {
 public:
  TargetPin() : outer_(pinned_target_index) {
    if (outer_ != kNoPinnedTarget) return;
    hwy::ChosenTarget& chosen = hwy::GetChosenTarget();
    // What ChooseAndCall would do: a pin on index 0 would let each dispatch
    // choose again.
    if (!chosen.IsInitialized()) chosen.Update(hwy::SupportedTargets());
    pinned_target_index = chosen.GetIndex();
  }
  ~TargetPin() { pinned_target_index = outer_; }
  TargetPin(const TargetPin&) = delete;
  TargetPin& operator=(const TargetPin&) = delete;

 private:
  size_t outer_;
};

}  // namespace elman::internal

// HWY_DYNAMIC_DISPATCH(FUNC), honouring this thread's TargetPin. Use it after
// HWY_EXPORT(FUNC), inside HWY_ONCE, like Highway's macro.
#define ELMAN_DISPATCH(FUNC_NAME) \
  (*(HWY_DISPATCH_TABLE(FUNC_NAME)[::elman::internal::DispatchIndex()]))

#endif  // ELMAN_SRC_DISPATCH_H_
