// Uses an installed elman, through its CMake package or its pkg-config file
// (.ci/package builds it both ways): the header and library versions, a few
// Adam steps on a tiny sequence, a save and a load of the weights, and a
// Stream over the loaded model, which must reproduce the trained model's
// outputs. Exits 1 on any mismatch.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "elman/elman.h"

int main() {
  // A shared elman may come from another version than its headers.
  if (std::strcmp(elman::Version(), ELMAN_VERSION_STRING) != 0) {
    std::printf("headers %s, library %s\n", ELMAN_VERSION_STRING,
                elman::Version());
    return 1;
  }

  // I = 1, H = 8, O = 1; learn y(t) = x(t−1) over 8 steps of one sequence.
  constexpr size_t kSteps = 8;
  elman::Model model({.dims = {.input = 1, .hidden = 8, .output = 1}}, 7);
  std::vector<float> x(kSteps), target(kSteps, 0.0f);
  for (size_t t = 0; t < kSteps; ++t) {
    x[t] = std::sin(0.7f * static_cast<float>(t));
    if (t > 0) target[t] = x[t - 1];
  }
  elman::Adam adam(model.dims(), {.learning_rate = 0.05f});
  elman::Trainer trainer(model, adam, {.max_steps = kSteps});
  const elman::Batch batch{.x = x, .target = target, .seq = {.steps = kSteps}};
  const double first_loss = trainer.Step(batch).loss;
  double loss = first_loss;
  for (int step = 0; step < 20; ++step) loss = trainer.Step(batch).loss;

  const std::filesystem::path file =
      std::filesystem::temp_directory_path() / "elman_consumer.safetensors";
  elman::SaveModel(model, file);
  const elman::Model loaded = elman::LoadModel(file);
  std::filesystem::remove(file);

  // The trained model through a Stream, one step at a time, against the
  // loaded one's: the same weights must give the same outputs, bit for bit.
  elman::Stream trained(model), reloaded(loaded);
  for (size_t t = 0; t < kSteps; ++t) {
    float y_trained = 0.0f, y_reloaded = 0.0f;
    trained.Step({&x[t], 1}, {&y_trained, 1});
    reloaded.Step({&x[t], 1}, {&y_reloaded, 1});
    if (y_trained != y_reloaded) {
      std::printf("step %zu: %g after loading, %g before\n", t, y_reloaded,
                  y_trained);
      return 1;
    }
  }
  std::printf("elman %s on %s: loss %.4f -> %.4f, saved, loaded, streamed\n",
              elman::Version(), elman::CurrentTarget().c_str(), first_loss,
              loss);
  return loss < first_loss ? 0 : 1;
}
