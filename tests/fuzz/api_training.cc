// api_fuzzer's operations on the optimizers, ClipGradNorm and the Trainer
// (the contract is in api_session.h).
#include <cmath>
#include <cstddef>
#include <numeric>
#include <span>
#include <vector>

#include "tests/fuzz/api_session.h"

namespace elman::fuzz {
namespace {

bool FiniteAtLeast(double value, double minimum) {
  return std::isfinite(value) && value >= minimum;
}
bool FinitePositive(double value) { return std::isfinite(value) && value > 0; }

// After clipping to max_norm, the norm is at most max_norm up to the
// rounding of the scale factor (relative) and of denormal results.
bool WithinNorm(const Gradients& gradients, double max_norm) {
  return GradNorm(gradients) <= max_norm * 1.001 + 1e-37;
}

void NewSgd(Session& session, FuzzedDataProvider& provider) {
  SgdOptions options;
  options.learning_rate = FuzzOption(provider);
  options.momentum = FuzzOption(provider);
  options.dampening = FuzzOption(provider);
  options.weight_decay = FuzzOption(provider);
  options.nesterov = provider.ConsumeBool();
  const bool valid =
      FinitePositive(options.learning_rate) &&
      FiniteAtLeast(options.momentum, 0) &&
      FiniteAtLeast(options.dampening, 0) &&
      FiniteAtLeast(options.weight_decay, 0) &&
      (!options.nesterov || (options.momentum > 0 && options.dampening == 0));
  std::unique_ptr<Optimizer> optimizer;
  const bool threw = ThrowsError(
      [&] { optimizer = std::make_unique<Sgd>(session.dims(), options); });
  Require(threw == !valid);
  if (threw) return;
  session.trainer.reset();  // it refers to the optimizer it replaces
  session.optimizer = std::move(optimizer);
}

void NewAdam(Session& session, FuzzedDataProvider& provider) {
  AdamOptions options = provider.ConsumeBool() ? AdamWOptions() : AdamOptions();
  if (provider.ConsumeBool()) options.learning_rate = FuzzOption(provider);
  if (provider.ConsumeBool()) options.beta1 = FuzzOption(provider);
  if (provider.ConsumeBool()) options.beta2 = FuzzOption(provider);
  if (provider.ConsumeBool()) options.epsilon = FuzzOption(provider);
  if (provider.ConsumeBool()) options.weight_decay = FuzzOption(provider);
  options.decoupled_weight_decay = provider.ConsumeBool();
  options.amsgrad = provider.ConsumeBool();
  const auto beta_ok = [](float beta) { return beta >= 0.0f && beta < 1.0f; };
  const bool valid = FiniteAtLeast(options.learning_rate, 0) &&
                     FinitePositive(options.epsilon) &&
                     beta_ok(options.beta1) && beta_ok(options.beta2) &&
                     FiniteAtLeast(options.weight_decay, 0);
  std::unique_ptr<Optimizer> optimizer;
  const bool threw = ThrowsError(
      [&] { optimizer = std::make_unique<Adam>(session.dims(), options); });
  Require(threw == !valid);
  if (threw) return;
  session.trainer.reset();
  session.optimizer = std::move(optimizer);
}

}  // namespace

void FuzzOptimizer(Session& session, FuzzedDataProvider& provider) {
  const int operation = provider.ConsumeIntegralInRange<int>(0, 5);
  if (operation == 0 || !session.optimizer) {
    provider.ConsumeBool() ? NewSgd(session, provider)
                           : NewAdam(session, provider);
    return;
  }
  Optimizer& optimizer = *session.optimizer;
  Parameters& parameters = session.model.parameters();
  if (operation <= 2) {  // Step, with or without a rate
    const int which = provider.ConsumeIntegralInRange<int>(0, 7);
    std::optional<Gradients> other;
    const Gradients* gradients = &session.gradients;
    if (which == 0) gradients = &parameters;  // aliasing is refused
    if (which == 1) {
      const Dims dims = session.dims();
      other.emplace(Dims{dims.input + 1, dims.hidden, dims.output});
      gradients = &*other;
    }
    const float rate = FuzzOption(provider);
    const bool valid = which > 1 && (operation == 1 || FiniteAtLeast(rate, 0));
    Snapshot before;
    AddParameters(AddParameters(before, parameters), *gradients)
        .Add(optimizer.steps());
    const bool threw = ThrowsError([&] {
      if (operation == 1) {
        optimizer.Step(parameters, *gradients);
      } else {
        optimizer.Step(parameters, *gradients, rate);
      }
    });
    Require(threw == !valid);
    Snapshot after;
    AddParameters(AddParameters(after, parameters), *gradients);
    if (threw) {
      Require(after.Add(optimizer.steps()) == before);
    }
  } else if (operation == 3) {
    const float rate = FuzzOption(provider);
    const float old_rate = optimizer.learning_rate();
    const bool threw = ThrowsError([&] { optimizer.set_learning_rate(rate); });
    Require(threw == !FiniteAtLeast(rate, 0));
    Require(optimizer.learning_rate() == (threw ? old_rate : rate));
  } else {
    optimizer.Reset();
    Require(optimizer.steps() == 0);
  }
}

void FuzzClip(Session& session, FuzzedDataProvider& provider) {
  Gradients& gradients = session.gradients;
  if (provider.ConsumeBool()) {  // new values, sometimes non-finite
    for (std::span<float> tensor : {gradients.W(), gradients.U(), gradients.b(),
                                    gradients.V(), gradients.c()}) {
      FillValues(provider, tensor);
    }
  }
  const double max_norm = FuzzOption(provider);
  Snapshot before;
  AddParameters(before, gradients);
  const double norm_before = GradNorm(gradients);
  double norm = 0;
  const bool threw =
      ThrowsError([&] { norm = ClipGradNorm(gradients, max_norm); });
  Require(threw == !FinitePositive(max_norm));
  Snapshot after;
  AddParameters(after, gradients);
  if (threw || !std::isfinite(norm_before)) {
    Require(after == before);
    return;
  }
  Require(norm == norm_before && WithinNorm(gradients, max_norm));
}

void FuzzTrainer(Session& session, FuzzedDataProvider& provider) {
  if (!session.optimizer) return;
  const Dims dims = session.dims();
  if (!session.trainer || provider.ConsumeIntegralInRange<int>(0, 7) == 0) {
    TrainerOptions options;
    options.max_steps = provider.ConsumeIntegralInRange<size_t>(0, kMaxSteps);
    options.max_batch = provider.ConsumeIntegralInRange<size_t>(0, kMaxBatch);
    options.reduction =
        provider.ConsumeBool() ? Reduction::kMean : Reduction::kSum;
    options.max_gradient_norm =
        provider.ConsumeBool() ? 0.0 : FuzzOption(provider);
    session.trainer.reset();
    const bool threw = ThrowsError([&] {
      session.trainer.emplace(session.model, *session.optimizer, options);
    });
    Require(threw == !(options.max_steps > 0 && options.max_batch > 0 &&
                       FiniteAtLeast(options.max_gradient_norm, 0)));
    return;
  }
  Trainer& trainer = *session.trainer;
  const TrainerOptions& options = trainer.options();
  const SequenceShape seq{
      provider.ConsumeIntegralInRange<size_t>(0, options.max_steps + 1),
      provider.ConsumeIntegralInRange<size_t>(0, options.max_batch + 1)};
  const size_t rows = seq.steps * seq.batch;
  const std::vector<float> x =
      FuzzBuffer(provider, FuzzSize(provider, rows * dims.input));
  const std::vector<float> target =
      FuzzBuffer(provider, FuzzSize(provider, rows * dims.output));
  std::vector<float> h0;
  if (provider.ConsumeBool()) {
    h0 = FuzzBuffer(provider, FuzzSize(provider, seq.batch * dims.hidden));
  }
  std::vector<float> step_weights;
  if (provider.ConsumeBool()) {
    step_weights = FuzzBuffer(provider, FuzzSize(provider, seq.steps));
  }
  const bool with_rate = provider.ConsumeBool();
  const float rate =
      with_rate ? FuzzOption(provider) : session.optimizer->learning_rate();

  // The weights Loss and Backward will see, computed as the Trainer does.
  const double weight_sum =
      step_weights.empty()
          ? static_cast<double>(seq.steps)
          : std::accumulate(step_weights.begin(), step_weights.end(), 0.0);
  const double scale = options.reduction == Reduction::kMean
                           ? 1.0 / (static_cast<double>(seq.batch) * weight_sum)
                           : 1.0;
  // (Their magnitude only, in double: a float cast of a value beyond
  // FLT_MAX would be undefined.)
  double effective_weight_max = 0;
  if (step_weights.empty() || step_weights.size() == seq.steps) {
    for (size_t t = 0; t < seq.steps; ++t) {
      const double weight = step_weights.empty() ? 1.0 : step_weights[t];
      effective_weight_max =
          Worst(effective_weight_max, std::fabs(weight * scale));
    }
  }
  const bool valid =
      seq.steps >= 1 && seq.steps <= options.max_steps && seq.batch >= 1 &&
      seq.batch <= options.max_batch && x.size() == rows * dims.input &&
      target.size() == rows * dims.output &&
      (h0.empty() || h0.size() == seq.batch * dims.hidden) &&
      (step_weights.empty() || step_weights.size() == seq.steps) &&
      AllFinite(x) && AllFinite(target) && AllFinite(h0) &&
      AllFinite(step_weights) && FiniteAtLeast(rate, 0) &&
      (options.reduction == Reduction::kSum || weight_sum > 0) &&
      // Each weight·scale must round to a finite float (below FLT_MAX plus
      // half its ulp): a subnormal sum of weights under kMean does not.
      effective_weight_max < 0x1.ffffffp127;

  const auto state = [&] {
    Snapshot snapshot;
    AddParameters(snapshot, session.model.parameters())
        .Add(session.optimizer->steps())
        .Add(trainer.output())
        .Add(trainer.final_hidden());
    return AddParameters(snapshot, trainer.gradients());
  };
  const Snapshot before = state();
  Snapshot model_before;
  AddParameters(model_before, session.model.parameters());
  const uint64_t steps_before = session.optimizer->steps();
  const WeightMagnitudes weights = Magnitudes(session.model.parameters());
  TrainStepResult result;
  const Batch batch{.x = x,
                    .target = target,
                    .seq = seq,
                    .h0 = h0,
                    .step_weights = step_weights};
  const bool threw = ThrowsError([&] {
    result = with_rate ? trainer.Step(batch, rate) : trainer.Step(batch);
  });
  Require(threw == !valid);
  if (threw) {
    Require(state() == before);
    return;
  }
  Require(trainer.output().size() == rows * dims.output);
  // Skipped exactly when the loss or the norm is not finite, and then
  // nothing changed; otherwise one optimizer step.
  const bool finite =
      std::isfinite(result.loss) && std::isfinite(result.gradient_norm);
  Require(result.updated == finite);
  Snapshot model_after;
  AddParameters(model_after, session.model.parameters());
  if (!result.updated) {
    Require(model_after == model_before &&
            session.optimizer->steps() == steps_before);
  } else {
    Require(session.optimizer->steps() == steps_before + 1);
    if (options.max_gradient_norm > 0) {
      Require(WithinNorm(trainer.gradients(), options.max_gradient_norm));
    }
  }
  const ForwardBound forward =
      BoundForward(session.config(), weights, MaxAbs(x), MaxAbs(h0), seq.steps);
  const BackwardBound backward =
      BoundBackward(session.config(), weights, forward, MaxAbs(x),
                    MaxAbs(target), effective_weight_max, seq);
  if (forward.Finite() && backward.Finite()) Require(result.updated);
}

}  // namespace elman::fuzz
