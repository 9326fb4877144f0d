// The objects one api_fuzzer input drives (a model and everything built on
// it), what the checks need to remember between calls, and the operations,
// each of which reads its arguments from the input, calls one public
// function and checks the contract:
//  - the call throws elman::Error exactly when its arguments are invalid as
//    the headers define it, and then every buffer it could write is bitwise
//    as before;
//  - otherwise, where every input and weight is finite and the worst-case
//    bound of finite_bounds.h is below 1e30, every output is finite.
#ifndef ELMAN_TESTS_FUZZ_API_SESSION_H_
#define ELMAN_TESTS_FUZZ_API_SESSION_H_

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <memory>
#include <optional>

#include "elman/elman.h"
#include "tests/fuzz/finite_bounds.h"
#include "tests/fuzz/fuzz_values.h"

namespace elman::fuzz {

// Small enough for ~10⁴ calls per second under the sanitizers, large enough
// to reach every kernel path and vector remainders: H up to kMaxHidden
// crosses src/fused_path.h's thresholds (B = 1: fused steps to H = 32,
// matrix-vector kernels to 64, weights in panels above, the last panel
// partial), and B > 1 takes the GEMM. I and O up to kMaxDim.
inline constexpr size_t kMaxDim = 40;
inline constexpr size_t kMaxHidden = 80;
inline constexpr size_t kMaxSteps = 8;
inline constexpr size_t kMaxBatch = 4;

// What the last successful Forward on the workspace saw, for Backward's bound.
struct ForwardRecord {
  WeightMagnitudes weights;
  double x_max = 0;
  ForwardBound bound;
};

struct Session {
  Session(const Config& config, uint64_t seed)
      : model(config, seed), gradients(config.dims) {}

  Config config() const { return model.config(); }
  Dims dims() const { return model.dims(); }

  Model model;
  Gradients gradients;
  std::optional<Workspace> workspace;
  ForwardRecord forward;
  std::optional<Stream> stream;
  WeightMagnitudes stream_weights;  // of the stream's snapshot
  std::unique_ptr<Optimizer> optimizer;
  std::optional<Trainer> trainer;  // refers to model and *optimizer
};

// A value for an option or a rate: usual ones, edges and invalid ones.
inline float FuzzOption(FuzzedDataProvider& provider) {
  static constexpr float kOptions[] = {0.0f,
                                       1e-3f,
                                       0.01f,
                                       0.1f,
                                       0.5f,
                                       0.9f,
                                       0.999f,
                                       1.0f,
                                       2.0f,
                                       1e30f,
                                       -0.1f,
                                       -1.0f,
                                       1e-45f,
                                       std::numeric_limits<float>::quiet_NaN(),
                                       std::numeric_limits<float>::infinity()};
  return provider.PickValueInArray(kOptions);
}

// The parameters as one bitwise snapshot.
inline Snapshot& AddParameters(Snapshot& snapshot,
                               const Parameters& parameters) {
  return snapshot.Add(parameters.W())
      .Add(parameters.U())
      .Add(parameters.b())
      .Add(parameters.V())
      .Add(parameters.c());
}

inline bool FiniteParameters(const Parameters& parameters) {
  return AllFinite(parameters.W()) && AllFinite(parameters.U()) &&
         AllFinite(parameters.b()) && AllFinite(parameters.V()) &&
         AllFinite(parameters.c());
}

// Operations on the passes (api_passes.cc).
void FuzzWorkspace(Session& session, FuzzedDataProvider& provider);
void FuzzForward(Session& session, FuzzedDataProvider& provider);
void FuzzLoss(Session& session, FuzzedDataProvider& provider);
void FuzzBackward(Session& session, FuzzedDataProvider& provider);
void FuzzStream(Session& session, FuzzedDataProvider& provider);

// Operations on training (api_training.cc).
void FuzzOptimizer(Session& session, FuzzedDataProvider& provider);
void FuzzClip(Session& session, FuzzedDataProvider& provider);
void FuzzTrainer(Session& session, FuzzedDataProvider& provider);

}  // namespace elman::fuzz

#endif  // ELMAN_TESTS_FUZZ_API_SESSION_H_
