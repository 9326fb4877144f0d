// The library's own version, compiled in: what elman::Version() reports
// whatever headers its caller was built with.
#include "elman/version.h"

namespace elman {

const char* Version() { return ELMAN_VERSION_STRING; }

}  // namespace elman
