#include "src/validate.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/validate.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
// Must come after foreach_target.h.
#include "hwy/highway.h"
#include "src/kernels/finite-inl.h"

HWY_BEFORE_NAMESPACE();
namespace elman::HWY_NAMESPACE {

// CheckFinite's scan, one target's entry of the dispatch table.
bool AllFiniteOnTarget(const float* values, size_t n) {
  return AllFinite(values, n);
}

}  // namespace elman::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <cstdint>
#include <cstring>
#include <string>

#include "elman/error.h"
#include "src/dispatch.h"
#include "src/workspace_impl.h"

namespace elman {
HWY_EXPORT(AllFiniteOnTarget);
}  // namespace elman

namespace elman::internal {
namespace {

std::string DimsText(const Dims& d) {
  return "(I=" + std::to_string(d.input) + ", H=" + std::to_string(d.hidden) +
         ", O=" + std::to_string(d.output) + ")";
}

}  // namespace

void Fail(const char* function, const char* message) {
  throw Error(std::string(function) + ": " + message);
}

void CheckDims(const char* function, const Dims& dims) {
  if (dims.input == 0 || dims.hidden == 0 || dims.output == 0) {
    throw Error(std::string(function) +
                ": every dimension must be at least 1, got " + DimsText(dims));
  }
}

void FailSize(const char* function, const char* argument, size_t size,
              size_t expected, const char* formula) {
  throw Error(std::string(function) + ": " + argument + " has " +
              std::to_string(size) + " floats, expected " + formula + " = " +
              std::to_string(expected));
}

void CheckOptionalSize(const char* function, const char* argument, size_t size,
                       size_t expected, const char* formula) {
  if (size == 0) return;
  CheckSize(function, argument, size, expected, formula);
}

void CheckSequence(const char* function, SequenceShape seq, size_t max_steps,
                   size_t max_batch) {
  // The prefix is built only on failure: the valid path must not allocate.
  auto prefix = [function] { return std::string(function) + ": "; };
  if (seq.steps == 0)
    throw Error(prefix() + "steps (T) is 0, must be at least 1");
  if (seq.batch == 0)
    throw Error(prefix() + "batch (B) is 0, must be at least 1");
  if (seq.steps > max_steps) {
    throw Error(prefix() + "steps (T) is " + std::to_string(seq.steps) +
                ", the workspace holds at most max_steps = " +
                std::to_string(max_steps));
  }
  if (seq.batch > max_batch) {
    throw Error(prefix() + "batch (B) is " + std::to_string(seq.batch) +
                ", at most " + std::to_string(max_batch) + " allowed");
  }
}

void CheckFinite(const char* function, const char* argument,
                 std::span<const float> values) {
  // The scan in the dispatched target's SIMD: Stream::Run and Forward check
  // their whole input x on every call, and the baseline (SSE2) loop of the
  // bits cost 2 % of Run at (16,64,16,100,1) on Zen 5. The position, only
  // on failure: exponent bits all ones means inf or NaN.
  if (ELMAN_DISPATCH(AllFiniteOnTarget)(values.data(), values.size())) return;
  constexpr uint32_t kExponent = 0x7F800000u;
  for (size_t i = 0; i < values.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &values[i], sizeof(bits));
    if ((bits & kExponent) == kExponent) {
      throw Error(std::string(function) + ": " + argument + "[" +
                  std::to_string(i) + "] is " + std::to_string(values[i]) +
                  ", every value must be finite");
    }
  }
}

void CheckSameDims(const char* function, const char* argument, const Dims& got,
                   const Dims& expected) {
  if (got == expected) return;
  throw Error(std::string(function) + ": " + argument + " has dims " +
              DimsText(got) + ", expected " + DimsText(expected));
}

SequenceShape CheckBackwardCall(const char* function, const Model& model,
                                const Workspace& workspace,
                                const BackwardOutputs& outputs) {
  const Workspace::Impl& ws = workspace.impl();
  const Dims dims = model.dims();
  CheckSameDims(function, "workspace", ws.dims, dims);
  if (ws.seq.steps == 0) {
    Fail(function,
         "the workspace holds no forward pass: call elman::Forward on it "
         "first");
  }
  if (outputs.gradients == nullptr) {
    Fail(function, "outputs.gradients is null");
  }
  CheckSameDims(function, "outputs.gradients", outputs.gradients->dims(), dims);
  const SequenceShape seq = ws.seq;
  CheckOptionalSize(function, "outputs.dx", outputs.dx.size(),
                    seq.steps * seq.batch * dims.input, "steps*batch*input");
  CheckOptionalSize(function, "outputs.dh0", outputs.dh0.size(),
                    seq.batch * dims.hidden, "batch*hidden");
  return seq;
}

}  // namespace elman::internal
#endif  // HWY_ONCE
