// Argument checks shared by the public entry points. Each throws elman::Error
// with a message naming the function, the argument, and the sizes expected
// and given. They run before a function writes anything (the error policy in
// error.h).
#ifndef ELMAN_SRC_VALIDATE_H_
#define ELMAN_SRC_VALIDATE_H_

#include <cstddef>
#include <span>

#include "elman/model.h"
#include "elman/train.h"

namespace elman::internal {

[[noreturn]] void Fail(const char* function, const char* message);

/// Every dimension ≥ 1.
void CheckDims(const char* function, const Dims& dims);

[[noreturn]] void FailSize(const char* function, const char* argument,
                           size_t size, size_t expected, const char* formula);

/// `size` == `expected`; `formula` explains expected, e.g. "steps*batch*input".
/// Inline: Stream::Step makes two such checks on the latency path.
inline void CheckSize(const char* function, const char* argument, size_t size,
                      size_t expected, const char* formula) {
  if (size != expected) [[unlikely]] {
    FailSize(function, argument, size, expected, formula);
  }
}

/// Like CheckSize, but an empty span is also accepted (optional arguments).
void CheckOptionalSize(const char* function, const char* argument, size_t size,
                       size_t expected, const char* formula);

/// 1 ≤ seq.steps ≤ max_steps and 1 ≤ seq.batch ≤ max_batch.
void CheckSequence(const char* function, SequenceShape seq, size_t max_steps,
                   size_t max_batch);

/// Every value finite (no NaN, no ±inf).
void CheckFinite(const char* function, const char* argument,
                 std::span<const float> values);

/// Two parameter sets (model vs gradients, model vs workspace) agree.
void CheckSameDims(const char* function, const char* argument, const Dims& got,
                   const Dims& expected);

/// What every backward entry point (Backward, BackwardFromOutputGradient)
/// checks before its own arguments: `workspace` has the model's dims and holds
/// a forward pass, outputs.gradients is set and has the model's dims, and
/// outputs.dx and outputs.dh0 are empty or sized for the stored sequence.
/// Returns that sequence.
SequenceShape CheckBackwardCall(const char* function, const Model& model,
                                const Workspace& workspace,
                                const BackwardOutputs& outputs);

}  // namespace elman::internal

#endif  // ELMAN_SRC_VALIDATE_H_
