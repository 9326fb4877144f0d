// ELMAN_LAMBDA_INLINE: for the lambdas a kernel's accumulators pass through.
// Unless such a lambda is inlined, its captured accumulators live on the
// stack and every FMA goes through memory. GCC 12 inlines lambdas by its
// heuristics only: after QuadFusedSteps grew (b782e19) it called
// MatVecQuads' unrolled h·Uᵀ lambda out of line, and Stream::Run and Step
// at H = 64 took 2.2× as long (Zen 4).
#ifndef ELMAN_SRC_KERNELS_LAMBDA_INLINE_H_
#define ELMAN_SRC_KERNELS_LAMBDA_INLINE_H_

#define ELMAN_LAMBDA_INLINE __attribute__((always_inline))

#endif  // ELMAN_SRC_KERNELS_LAMBDA_INLINE_H_
