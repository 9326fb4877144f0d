// Which SIMD code path elman runs. By default the best one this CPU supports is
// chosen at run time; these functions exist to verify every path.
//
// Threads: the selected target is one process-wide setting, and UseTarget,
// UseBestTarget and CurrentTarget may be called while other threads are inside
// elman. Every call of the API (Forward, Loss, Backward, Stream::Step and Run,
// Optimizer::Step, GradNorm, ClipGradNorm, Trainer::Step, ...) reads the
// setting once, when it starts, and runs entirely on that target: its results
// are bit for bit those of a single-threaded call on that target, never a mix
// of two. A call that starts after UseTarget returns runs on the new target.
// (Highway's own test hooks, hwy::SetSupportedTargetsForTest and
// hwy::DisableTargets, are not safe to call while other threads compute.)
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
/// Error for any other name. Affects every thread of the process, from each
/// thread's next call on (calls already running finish on their target).
ELMAN_EXPORT void UseTarget(const std::string& name);

/// Back to the default: the best available target.
ELMAN_EXPORT void UseBestTarget();

/// Name of the target the next call (of any thread) will run on.
ELMAN_EXPORT std::string CurrentTarget();

/// Whether, on the current target, the weight gradients' products (dW = Δᵀ X,
/// dU, dV: Δ read transposed) pack Δ before multiplying, and how that was
/// decided: "yes (measured: packed 0.85x the time)", "no (measured: packed
/// 1.12x the time)", "no (ELMAN_GEMM_PACK_A=0)", "no (not measured)". Timed
/// once per process and target, when the first Workspace whose gradients
/// go through the GEMM is built (a few milliseconds); ELMAN_GEMM_PACK_A=1 or
/// 0 in the environment decides instead. Packed or not, the gradients are
/// the same bits: only the speed differs (README, "How it is built").
ELMAN_EXPORT std::string GemmPackingChoice();

}  // namespace elman

#endif  // ELMAN_TARGETS_H_
