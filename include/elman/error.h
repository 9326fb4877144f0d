// elman's single error policy: every public function validates all of its
// arguments before it writes anything, and reports bad input by throwing
// elman::Error. On valid input no public function throws or allocates (except
// the constructors that size memory). When Error is thrown, every buffer the
// caller passed in — outputs, gradients, workspace, stream state — is exactly
// as it was before the call.
#ifndef ELMAN_ERROR_H_
#define ELMAN_ERROR_H_

#include <stdexcept>
#include <string>

#include "elman/export.h"

namespace elman {

/// Thrown for invalid arguments. what() names the function, the argument, the
/// size expected and the size given, e.g.
/// "elman::Forward: x has 99 floats, expected steps*batch*input = 100".
class ELMAN_EXPORT Error : public std::invalid_argument {
 public:
  explicit Error(const std::string& message) : std::invalid_argument(message) {}
};

}  // namespace elman

#endif  // ELMAN_ERROR_H_
