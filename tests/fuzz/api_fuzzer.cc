// Fuzz target: a fuzzer-chosen program over the public API. The input picks
// a SIMD target, the dims (I and O 1..40, H 1..80) and activations of a
// model, then up to 32 operations — Forward, Loss, Backward, Stream calls,
// optimizers, ClipGradNorm, Trainer::Step, weight changes (NaN, ±∞, 1e30,
// denormals), save and load — each with arguments that are valid or
// slightly not. The contract each checks is in api_session.h; a violation
// aborts.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/fuzz/api_session.h"

namespace elman::fuzz {
namespace {

constexpr int kMaxOperations = 32;

// UseTarget over AvailableTargets(), and a name that is not one.
void FuzzTarget(FuzzedDataProvider& provider) {
  static const std::vector<std::string> targets = AvailableTargets();
  const size_t pick =
      provider.ConsumeIntegralInRange<size_t>(0, targets.size());
  const std::string before = CurrentTarget();
  const std::string name = pick < targets.size() ? targets[pick] : "AVX9";
  const bool threw = ThrowsError([&] { UseTarget(name); });
  Require(threw == (pick == targets.size()));
  Require(CurrentTarget() == (threw ? before : name));
}

// New values for one weight tensor: the way NaN, ∞ and huge weights get in.
void FuzzWeights(Session& session, FuzzedDataProvider& provider) {
  Parameters& parameters = session.model.parameters();
  switch (provider.ConsumeIntegralInRange<int>(0, 5)) {
    case 0:
      FillValues(provider, parameters.W());
      break;
    case 1:
      FillValues(provider, parameters.U());
      break;
    case 2:
      FillValues(provider, parameters.b());
      break;
    case 3:
      FillValues(provider, parameters.V());
      break;
    case 4:
      FillValues(provider, parameters.c());
      break;
    default:
      session.model.Initialize(provider.ConsumeIntegral<uint64_t>());
  }
}

// SaveModelToBuffer refuses exactly the non-finite models; what it writes
// loads back bit for bit.
void FuzzSaveLoad(Session& session) {
  std::vector<std::byte> bytes;
  const bool threw =
      ThrowsError([&] { bytes = SaveModelToBuffer(session.model); });
  Require(threw == !FiniteParameters(session.model.parameters()));
  if (threw) return;
  const Model loaded = LoadModelFromBuffer(bytes);
  Require(loaded.dims() == session.dims() &&
          loaded.hidden_activation() == session.model.hidden_activation() &&
          loaded.output_activation() == session.model.output_activation());
  Snapshot original, reloaded;
  AddParameters(original, session.model.parameters());
  AddParameters(reloaded, loaded.parameters());
  Require(original == reloaded);
}

void RunOperation(Session& session, FuzzedDataProvider& provider) {
  switch (provider.ConsumeIntegralInRange<int>(0, 11)) {
    case 0:
      return FuzzWorkspace(session, provider);
    case 1:
    case 2:
      return FuzzForward(session, provider);
    case 3:
      return FuzzLoss(session, provider);
    case 4:
      return FuzzBackward(session, provider);
    case 5:
      return FuzzStream(session, provider);
    case 6:
      return FuzzOptimizer(session, provider);
    case 7:
      return FuzzClip(session, provider);
    case 8:
      return FuzzTrainer(session, provider);
    case 9:
      return FuzzWeights(session, provider);
    case 10:
      return FuzzTarget(provider);
    default:
      return FuzzSaveLoad(session);
  }
}

Activation PickActivation(FuzzedDataProvider& provider) {
  return static_cast<Activation>(provider.ConsumeIntegralInRange<int>(0, 3));
}

}  // namespace
}  // namespace elman::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace elman::fuzz;  // NOLINT(build/namespaces): entry point only
  FuzzedDataProvider provider(data, size);
  FuzzTarget(provider);
  elman::Config config;
  config.dims = {provider.ConsumeIntegralInRange<size_t>(1, kMaxDim),
                 provider.ConsumeIntegralInRange<size_t>(1, kMaxHidden),
                 provider.ConsumeIntegralInRange<size_t>(1, kMaxDim)};
  config.hidden_activation = PickActivation(provider);
  config.output_activation = PickActivation(provider);
  Session session(config, provider.ConsumeIntegral<uint64_t>());
  session.workspace.emplace(
      config.dims, provider.ConsumeIntegralInRange<size_t>(1, kMaxSteps),
      provider.ConsumeIntegralInRange<size_t>(1, kMaxBatch));
  for (int i = 0; i < kMaxOperations && provider.remaining_bytes() > 0; ++i) {
    RunOperation(session, provider);
  }
  // Trainer refers to the optimizer: destroy it first.
  session.trainer.reset();
  return 0;
}
