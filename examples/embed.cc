// Embedding elman for inference: a model, a Stream, one time step per call.
#include <cmath>
#include <cstdio>

#include "elman/elman.h"

int main() {
  // I = 1 input, H = 32 hidden units, O = 1 output; f = tanh, g = identity.
  // The weights are random (seed 42). Trained ones come from a safetensors
  // file, elman::LoadModel("sine_wave.safetensors"), or from its bytes
  // compiled into the program, elman::LoadModelFromBuffer(bytes).
  elman::Model model({.dims = {.input = 1, .hidden = 32, .output = 1}}, 42);

  elman::Stream stream(model);  // one sequence, h = 0; never allocates again
  for (int t = 0; t < 5; ++t) {
    const float x = std::sin(0.2f * static_cast<float>(t));
    float y = 0.0f;
    stream.Step({&x, 1}, {&y, 1});  // x(t) in, y(t) out, h(t) kept
    std::printf("t=%d  x=%+.4f  y=%+.4f\n", t, x, y);
  }
}
