// The seed text's example: an Elman RNN with I = 1, H = 32, O = 1, f = tanh,
// g = identity learns to predict sin(t + 1) from sin(t), over sequences of
// T = 25 steps. sin(t + 1) = sin(t) cos 1 + cos(t) sin 1 needs cos(t), which
// one sample does not give: the network must infer it from h(t − 1). So the
// first step of a sequence cannot be predicted (h(−1) = 0), and its error is
// most of the final loss.
//
// Training is full-batch gradient descent with momentum on elman::Forward,
// Loss and Backward; the trained model then runs as a Stream on a phase it
// has not seen. Exits with failure unless training halved the loss.
//
// Usage: elman_example_sine_wave [epochs]   (default 2000)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numbers>
#include <span>
#include <vector>

#include "elman/elman.h"

namespace {

constexpr size_t kSteps = 25;  // T
constexpr size_t kBatch = 16;  // sequences, at evenly spread phases
constexpr float kLearningRate = 0.05f;
constexpr float kMomentum = 0.9f;

// x[t][b] = sin(φ_b + t) and target[t][b] = sin(φ_b + t + 1), time-major.
void MakeSequences(std::span<const float> phases, std::vector<float>& x,
                   std::vector<float>& target) {
  const size_t batch = phases.size();
  x.resize(kSteps * batch);
  target.resize(kSteps * batch);
  for (size_t t = 0; t < kSteps; ++t) {
    for (size_t b = 0; b < batch; ++b) {
      const float time = phases[b] + static_cast<float>(t);
      x[t * batch + b] = std::sin(time);
      target[t * batch + b] = std::sin(time + 1.0f);
    }
  }
}

// velocity := momentum·velocity − rate·gradient; weight += velocity.
void MomentumStep(std::span<float> weights, std::span<const float> gradient,
                  std::span<float> velocity, float rate) {
  for (size_t i = 0; i < weights.size(); ++i) {
    velocity[i] = kMomentum * velocity[i] - rate * gradient[i];
    weights[i] += velocity[i];
  }
}

void Update(elman::Parameters& weights, const elman::Gradients& gradients,
            elman::Parameters& velocity, float rate) {
  MomentumStep(weights.W(), gradients.W(), velocity.W(), rate);
  MomentumStep(weights.U(), gradients.U(), velocity.U(), rate);
  MomentumStep(weights.b(), gradients.b(), velocity.b(), rate);
  MomentumStep(weights.V(), gradients.V(), velocity.V(), rate);
  MomentumStep(weights.c(), gradients.c(), velocity.c(), rate);
}

}  // namespace

int main(int argc, char** argv) {
  const long epochs = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 2000;
  if (epochs < 1) {
    std::fprintf(stderr, "usage: %s [epochs >= 1]\n", argv[0]);
    return EXIT_FAILURE;
  }

  const elman::Config config{.dims = {.input = 1, .hidden = 32, .output = 1},
                             .hidden_activation = elman::Activation::kTanh,
                             .output_activation = elman::Activation::kIdentity};
  elman::Model model(config, /*seed=*/1);

  std::vector<float> phases(kBatch);
  for (size_t b = 0; b < kBatch; ++b) {
    phases[b] = 2.0f * std::numbers::pi_v<float> * static_cast<float>(b) /
                static_cast<float>(kBatch);
  }
  std::vector<float> x, target;
  MakeSequences(phases, x, target);

  // Sized once; nothing in the loop allocates.
  const elman::SequenceShape seq{.steps = kSteps, .batch = kBatch};
  elman::Workspace workspace(config.dims, kSteps, kBatch);
  elman::Gradients gradients(config.dims);
  elman::Parameters velocity(config.dims);  // zero
  std::vector<float> y(kSteps * kBatch);
  // L and its gradients are sums over T·B terms; the step uses their mean.
  const float rate = kLearningRate / static_cast<float>(kSteps * kBatch);
  const auto mean_loss = [&] {
    return elman::Loss(y, target, seq, 1) /
           static_cast<double>(kSteps * kBatch);
  };

  double first_loss = 0.0;
  double loss = 0.0;
  for (long epoch = 0; epoch < epochs; ++epoch) {
    elman::Forward(model, x, seq, /*h0=*/{}, workspace, y);
    loss = mean_loss();
    if (epoch == 0) first_loss = loss;
    if (epoch % std::max(1L, epochs / 10) == 0) {
      std::printf("epoch %5ld  loss %.6f\n", epoch, loss);
    }
    elman::Backward(model, target, /*step_weights=*/{}, workspace,
                    {.gradients = &gradients});
    Update(model.parameters(), gradients, velocity, rate);
  }
  elman::Forward(model, x, seq, {}, workspace, y);
  loss = mean_loss();
  std::printf(
      "epoch %5ld  loss %.6f  (mean over steps and sequences of (y - Y)^2 / "
      "2)\n",
      epochs, loss);

  // Inference on an unseen phase, one step at a time.
  const float phase = 0.3f;
  std::vector<float> x_new, target_new;
  MakeSequences({&phase, 1}, x_new, target_new);
  elman::Stream stream(model);
  std::printf("\nphase %.1f: x(t) = sin(%.1f + t), predicting x(t + 1)\n",
              phase, phase);
  std::printf("   t     x(t)  predicted     true\n");
  for (size_t t = 0; t < kSteps; ++t) {
    float prediction = 0.0f;
    stream.Step({&x_new[t], 1}, {&prediction, 1});
    if (t < 3 || t % 4 == 0) {
      std::printf("%4zu  %+.4f    %+.4f  %+.4f\n", t, x_new[t], prediction,
                  target_new[t]);
    }
  }
  return loss < 0.5 * first_loss ? EXIT_SUCCESS : EXIT_FAILURE;
}
