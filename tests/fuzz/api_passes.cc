// api_fuzzer's operations on Workspace, Forward, Loss, Backward (from a target
// or, BackwardFromOutputGradient, from ∂L/∂y) and Stream (the contract is in
// api_session.h).
#include <cmath>
#include <cstddef>
#include <span>
#include <vector>

#include "tests/fuzz/api_session.h"

namespace elman::fuzz {
namespace {

Snapshot WorkspaceState(const Workspace& workspace) {
  Snapshot snapshot;
  const SequenceShape seq = workspace.sequence();
  snapshot.Add(seq.steps).Add(seq.batch);
  if (seq.steps > 0) {
    snapshot.Add(workspace.pre_hidden())
        .Add(workspace.hidden())
        .Add(workspace.pre_output())
        .Add(workspace.final_hidden());
  }
  return snapshot;
}

Snapshot StreamState(const Stream& stream) {
  Snapshot snapshot;
  for (size_t b = 0; b < stream.batch(); ++b) snapshot.Add(stream.hidden(b));
  return snapshot;
}

double StreamHiddenMax(const Stream& stream) {
  double largest = 0;
  for (size_t b = 0; b < stream.batch(); ++b) {
    largest = std::max(largest, MaxAbs(stream.hidden(b)));
  }
  return largest;
}

// An optional argument: empty, or a buffer of about `exact` values.
std::vector<float> OptionalBuffer(FuzzedDataProvider& provider, size_t exact) {
  if (provider.ConsumeBool()) return {};
  return FuzzBuffer(provider, FuzzSize(provider, exact));
}

bool OptionalSizeOk(size_t size, size_t exact) {
  return size == 0 || size == exact;
}

}  // namespace

void FuzzWorkspace(Session& session, FuzzedDataProvider& provider) {
  const size_t max_steps =
      provider.ConsumeIntegralInRange<size_t>(0, kMaxSteps);
  const size_t max_batch =
      provider.ConsumeIntegralInRange<size_t>(0, kMaxBatch);
  const bool threw = ThrowsError([&] {
    Workspace workspace(session.dims(), max_steps, max_batch);
    session.workspace = std::move(workspace);
  });
  Require(threw == (max_steps == 0 || max_batch == 0));
}

void FuzzForward(Session& session, FuzzedDataProvider& provider) {
  if (!session.workspace) return;
  Workspace& workspace = *session.workspace;
  const Dims dims = session.dims();
  const SequenceShape seq{
      provider.ConsumeIntegralInRange<size_t>(0, workspace.max_steps() + 1),
      provider.ConsumeIntegralInRange<size_t>(0, workspace.max_batch() + 1)};
  const size_t rows = seq.steps * seq.batch;
  const std::vector<float> x =
      FuzzBuffer(provider, FuzzSize(provider, rows * dims.input));
  // h0: empty, a buffer, or the workspace's own final_hidden() (allowed).
  std::vector<float> h0_buffer;
  std::span<const float> h0;
  if (provider.ConsumeBool() && workspace.sequence().steps > 0) {
    h0 = workspace.final_hidden();
  } else {
    h0_buffer = OptionalBuffer(provider, seq.batch * dims.hidden);
    h0 = h0_buffer;
  }
  const double h0_max = MaxAbs(h0);
  std::vector<float> y =
      FuzzBuffer(provider, FuzzSize(provider, rows * dims.output));

  const bool valid =
      seq.steps >= 1 && seq.steps <= workspace.max_steps() && seq.batch >= 1 &&
      seq.batch <= workspace.max_batch() && x.size() == rows * dims.input &&
      OptionalSizeOk(h0.size(), seq.batch * dims.hidden) &&
      y.size() == rows * dims.output && AllFinite(x) && std::isfinite(h0_max);
  Snapshot before = WorkspaceState(workspace);
  before.Add(y);
  const bool threw =
      ThrowsError([&] { Forward(session.model, x, seq, h0, workspace, y); });
  Require(threw == !valid);
  if (threw) {
    Require((WorkspaceState(workspace).Add(y)) == before);
    return;
  }
  Require(workspace.sequence().steps == seq.steps &&
          workspace.sequence().batch == seq.batch);
  const WeightMagnitudes weights = Magnitudes(session.model.parameters());
  session.forward = {
      weights, MaxAbs(x),
      BoundForward(session.config(), weights, MaxAbs(x), h0_max, seq.steps)};
  if (session.forward.bound.Finite()) {
    Require(AllFinite(y) && AllFinite(workspace.pre_hidden()) &&
            AllFinite(workspace.hidden()) && AllFinite(workspace.pre_output()));
  }
}

void FuzzLoss(Session& session, FuzzedDataProvider& provider) {
  const SequenceShape seq{
      provider.ConsumeIntegralInRange<size_t>(0, kMaxSteps + 1),
      provider.ConsumeIntegralInRange<size_t>(0, kMaxBatch + 1)};
  const size_t outputs =
      provider.ConsumeIntegralInRange<size_t>(0, session.dims().output + 1);
  const size_t size = seq.steps * seq.batch * outputs;
  const std::vector<float> y = FuzzBuffer(provider, FuzzSize(provider, size));
  const std::vector<float> target =
      FuzzBuffer(provider, FuzzSize(provider, size));
  const std::vector<float> step_weights = OptionalBuffer(provider, seq.steps);
  const bool valid = seq.steps >= 1 && seq.batch >= 1 && outputs >= 1 &&
                     y.size() == size && target.size() == size &&
                     OptionalSizeOk(step_weights.size(), seq.steps);
  double loss = 0;
  const bool threw =
      ThrowsError([&] { loss = Loss(y, target, seq, outputs, step_weights); });
  Require(threw == !valid);
  if (threw) return;
  const double weight_max = step_weights.empty() ? 1.0 : MaxAbs(step_weights);
  const double difference = MaxAbs(y) + MaxAbs(target);
  // Each step's ½‖y − Y‖² is summed in float before its weight multiplies
  // it: a weight below 1 does not shrink that sum.
  const double bound = static_cast<double>(size) * Worst(1.0, weight_max) *
                       0.5 * difference * difference;
  if (bound < kFiniteLimit) {
    Require(std::isfinite(loss));
    bool non_negative_weights = true;
    for (float weight : step_weights) non_negative_weights &= weight >= 0.0f;
    if (non_negative_weights) Require(loss >= 0.0);
  }
}

void FuzzBackward(Session& session, FuzzedDataProvider& provider) {
  if (!session.workspace) return;
  Workspace& workspace = *session.workspace;
  const Dims dims = session.dims();
  const SequenceShape seq = workspace.sequence();
  const size_t rows = seq.steps * seq.batch;
  // Usually the session's gradients; sometimes none or of other dims.
  std::optional<Gradients> other;
  Gradients* gradients = &session.gradients;
  const int which = provider.ConsumeIntegralInRange<int>(0, 7);
  if (which == 0) gradients = nullptr;
  if (which == 1) {
    other.emplace(Dims{dims.input, dims.hidden + 1, dims.output});
    gradients = &*other;
  }
  // Backward from a target Y, or BackwardFromOutputGradient from ∂L/∂y (in
  // `target`'s place) and, in `step_weights`' place, ∂L/∂h(T−1).
  const bool from_gradient = provider.ConsumeBool();
  const std::vector<float> target =
      FuzzBuffer(provider, FuzzSize(provider, rows * dims.output));
  const size_t optional_size =
      from_gradient ? seq.batch * dims.hidden : seq.steps;
  const std::vector<float> step_weights =
      OptionalBuffer(provider, optional_size);
  std::vector<float> dx = OptionalBuffer(provider, rows * dims.input);
  std::vector<float> dh0 = OptionalBuffer(provider, seq.batch * dims.hidden);

  const bool valid = seq.steps > 0 && which > 1 &&
                     target.size() == rows * dims.output &&
                     OptionalSizeOk(step_weights.size(), optional_size) &&
                     OptionalSizeOk(dx.size(), rows * dims.input) &&
                     OptionalSizeOk(dh0.size(), seq.batch * dims.hidden) &&
                     AllFinite(target) && AllFinite(step_weights);
  Snapshot before = WorkspaceState(workspace);
  before.Add(dx).Add(dh0);
  if (gradients) AddParameters(before, *gradients);
  const auto state = [&] {
    Snapshot now = WorkspaceState(workspace);
    now.Add(dx).Add(dh0);
    if (gradients) AddParameters(now, *gradients);
    return now;
  };
  const bool threw = ThrowsError([&] {
    const BackwardOutputs outputs{.gradients = gradients, .dx = dx, .dh0 = dh0};
    if (from_gradient) {
      BackwardFromOutputGradient(session.model, target, step_weights, workspace,
                                 outputs);
    } else {
      Backward(session.model, target, step_weights, workspace, outputs);
    }
  });
  Require(threw == !valid);
  if (threw) {
    Require(state() == before);
    return;
  }
  // The stored h come from the Forward's weights, the products of the
  // backward from today's: bound with the larger of each.
  const WeightMagnitudes weights =
      Larger(session.forward.weights, Magnitudes(session.model.parameters()));
  const BackwardBound bound = BoundBackward(
      session.config(), weights, session.forward.bound, session.forward.x_max,
      MaxAbs(target),
      from_gradient || step_weights.empty() ? 1.0 : MaxAbs(step_weights), seq,
      from_gradient ? MaxAbs(step_weights) : 0.0);
  if (session.forward.bound.Finite() && bound.Finite()) {
    Require(FiniteParameters(*gradients) && AllFinite(dx) && AllFinite(dh0));
  }
}

void FuzzStream(Session& session, FuzzedDataProvider& provider) {
  const int operation = provider.ConsumeIntegralInRange<int>(0, 6);
  const Dims dims = session.dims();
  if (operation == 0 || !session.stream) {
    const size_t batch = provider.ConsumeIntegralInRange<size_t>(0, kMaxBatch);
    const bool threw = ThrowsError([&] {
      Stream stream(session.model, batch);
      session.stream = std::move(stream);
    });
    Require(threw ==
            (batch == 0 || !FiniteParameters(session.model.parameters())));
    if (!threw) {
      session.stream_weights = Magnitudes(session.model.parameters());
      for (size_t b = 0; b < batch; ++b) {
        for (float h : session.stream->hidden(b)) Require(h == 0.0f);
      }
    }
    return;
  }
  Stream& stream = *session.stream;
  const size_t batch = stream.batch();
  const Snapshot before = StreamState(stream);
  if (operation == 1 || operation == 2) {  // Step, Run
    const size_t steps =
        operation == 1 ? 1 : provider.ConsumeIntegralInRange<size_t>(0, 8);
    const std::vector<float> x =
        FuzzBuffer(provider, FuzzSize(provider, steps * batch * dims.input));
    std::vector<float> y =
        FuzzBuffer(provider, FuzzSize(provider, steps * batch * dims.output));
    const std::vector<float> y_before = y;
    const double h_max = StreamHiddenMax(stream);
    const bool valid = steps >= 1 && x.size() == steps * batch * dims.input &&
                       y.size() == steps * batch * dims.output && AllFinite(x);
    const bool threw = ThrowsError([&] {
      if (operation == 1) {
        stream.Step(x, y);
      } else {
        stream.Run(x, steps, y);
      }
    });
    Require(threw == !valid);
    if (threw) {
      Require(StreamState(stream) == before &&
              (Snapshot().Add(y) == Snapshot().Add(y_before)));
      return;
    }
    const ForwardBound bound = BoundForward(
        session.config(), session.stream_weights, MaxAbs(x), h_max, steps);
    if (bound.Finite()) {
      Require(AllFinite(y));
      for (size_t b = 0; b < batch; ++b) Require(AllFinite(stream.hidden(b)));
    }
  } else if (operation == 3) {  // Reset()
    stream.Reset();
    for (size_t b = 0; b < batch; ++b) {
      for (float h : stream.hidden(b)) Require(h == 0.0f);
    }
  } else if (operation == 4) {  // Reset(h0)
    const std::vector<float> h0 =
        FuzzBuffer(provider, FuzzSize(provider, batch * dims.hidden));
    const bool valid = h0.size() == batch * dims.hidden && AllFinite(h0);
    const bool threw = ThrowsError([&] { stream.Reset(h0); });
    Require(threw == !valid);
    if (threw) {
      Require(StreamState(stream) == before);
      return;
    }
    Snapshot expected;
    for (size_t b = 0; b < batch; ++b) {
      expected.Add(std::span(h0).subspan(b * dims.hidden, dims.hidden));
    }
    Require(StreamState(stream) == expected);
  } else if (operation == 5) {  // Load: this model, other dims or activation
    const int which = provider.ConsumeIntegralInRange<int>(0, 3);
    Config config = session.config();
    if (which == 1) config.dims.output += 1;
    if (which == 2) {
      config.output_activation = config.output_activation == Activation::kTanh
                                     ? Activation::kRelu
                                     : Activation::kTanh;
    }
    const std::optional<Model> other =
        which == 1 || which == 2 ? std::optional<Model>(Model(config, 1))
                                 : std::nullopt;
    const Model& model = other ? *other : session.model;
    const bool valid = !other && FiniteParameters(model.parameters());
    const bool threw = ThrowsError([&] { stream.Load(model); });
    Require(threw == !valid);
    Require(StreamState(stream) == before);  // Load keeps the state
    if (!threw) session.stream_weights = Magnitudes(model.parameters());
  } else {  // hidden(b), b possibly out of range
    const size_t b = provider.ConsumeIntegralInRange<size_t>(0, batch);
    const bool threw = ThrowsError([&] { (void)stream.hidden(b); });
    Require(threw == (b >= batch));
  }
}

}  // namespace elman::fuzz
