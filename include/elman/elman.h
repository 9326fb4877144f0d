// elman: the many-to-many simple (Elman) RNN with a dense output layer.
#ifndef ELMAN_ELMAN_H_
#define ELMAN_ELMAN_H_

#include "elman/error.h"      // IWYU pragma: export
#include "elman/export.h"     // IWYU pragma: export
#include "elman/io.h"         // IWYU pragma: export
#include "elman/model.h"      // IWYU pragma: export
#include "elman/optim.h"      // IWYU pragma: export
#include "elman/reference.h"  // IWYU pragma: export
#include "elman/stream.h"     // IWYU pragma: export
#include "elman/targets.h"    // IWYU pragma: export
#include "elman/threads.h"    // IWYU pragma: export
#include "elman/train.h"      // IWYU pragma: export
#include "elman/trainer.h"    // IWYU pragma: export
#include "elman/version.h"    // IWYU pragma: export

#endif  // ELMAN_ELMAN_H_
