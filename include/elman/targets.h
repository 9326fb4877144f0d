// Which SIMD code path elman runs. By default the best one this CPU supports is
// chosen at run time; these functions exist to verify every path.
#ifndef ELMAN_TARGETS_H_
#define ELMAN_TARGETS_H_

#include <string>
#include <vector>

#include "elman/export.h"

namespace elman {

/// Names ("AVX3", "AVX2", "SSE4", "SSSE3", "SCALAR", ...) of the targets that
/// are compiled into this library and supported by this CPU, best first.
ELMAN_EXPORT std::vector<std::string> AvailableTargets();

/// Restricts dispatch to the named target (one of AvailableTargets()); throws
/// Error for any other name. Affects the whole process; not thread-safe.
ELMAN_EXPORT void UseTarget(const std::string& name);

/// Back to the default: the best available target.
ELMAN_EXPORT void UseBestTarget();

/// Name of the target the next call will run on.
ELMAN_EXPORT std::string CurrentTarget();

}  // namespace elman

#endif  // ELMAN_TARGETS_H_
