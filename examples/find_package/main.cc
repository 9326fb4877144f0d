// Uses an installed elman: one forward step of a small model, on the best
// SIMD target of this CPU.
#include <cstdio>

#include "elman/elman.h"

int main() {
  elman::Model model({.dims = {.input = 2, .hidden = 8, .output = 1}}, 7);
  elman::Stream stream(model);
  const float x[2] = {0.5f, -0.25f};
  float y = 0.0f;
  stream.Step(x, {&y, 1});
  std::printf("elman on %s: y = %+.6f\n", elman::CurrentTarget().c_str(), y);
}
