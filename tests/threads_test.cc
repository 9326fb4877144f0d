// Thread safety as the public headers promise it: one Model shared read-only
// by several threads, each with its own Workspace, Gradients, Stream,
// optimizer and Trainer, gives bit for bit what one thread doing the same work
// gets; and UseTarget, called while other threads compute, never lets a call
// mix two targets (include/elman/targets.h). .ci/sanitize runs this under
// ThreadSanitizer, which must report nothing.
#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "elman/elman.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace elman {
namespace {

using test::Flat;
using test::RandomVector;

// More threads than the 2 cores CI has, so that calls are preempted midway.
constexpr int kThreads = 4;
constexpr int kIterations = 12;

// A shared model and its inputs.
struct Problem {
  Problem(Dims dims, SequenceShape sequence, uint64_t seed)
      : model({dims, Activation::kTanh, Activation::kIdentity}, seed),
        seq(sequence) {
    std::mt19937_64 random(seed);
    x = RandomVector(seq.steps * seq.batch * dims.input, random);
    target = RandomVector(seq.steps * seq.batch * dims.output, random);
    h0 = RandomVector(seq.batch * dims.hidden, random, 0.5f);
    step_weights = RandomVector(seq.steps, random);
    for (float& weight : step_weights) weight = std::abs(weight) + 0.1f;
    file = SaveModelToBuffer(model);
    Workspace workspace(dims, seq.steps, seq.batch);
    std::vector<float> y(seq.steps * seq.batch * dims.output);
    Forward(model, x, seq, h0, workspace, y);
    Backward(model, target, step_weights, workspace, {.gradients = &gradients});
  }
  Dims dims() const { return model.dims(); }

  Model model;
  SequenceShape seq;
  std::vector<float> x, target, h0, step_weights;
  std::vector<std::byte> file;
  Gradients gradients{model.dims()};  // of the loss at x, for ClipGradNorm
};

// One shape per forward path (src/fused_path.h): the fused step (B = 1,
// H ≤ 32 and 64), the mat-vec recurrence (B = 1, other H ≤ 64) and the GEMM
// passes.
std::vector<std::unique_ptr<const Problem>> MakeProblems() {
  std::vector<std::unique_ptr<const Problem>> problems;
  problems.push_back(
      std::make_unique<Problem>(Dims{3, 16, 2}, SequenceShape{9, 1}, 1));
  problems.push_back(
      std::make_unique<Problem>(Dims{5, 48, 3}, SequenceShape{7, 1}, 2));
  problems.push_back(
      std::make_unique<Problem>(Dims{4, 80, 3}, SequenceShape{6, 3}, 3));
  return problems;
}

// What a piece of work computed, compared bit for bit.
struct Results {
  std::vector<float> floats;
  std::vector<double> doubles;

  void Add(std::span<const float> values) {
    floats.insert(floats.end(), values.begin(), values.end());
  }
  void Add(double value) { doubles.push_back(value); }
  bool operator==(const Results& other) const {
    // Bits, not values: -0.0 and 0.0 differ, and NaN equals itself. (Not
    // memcmp: an empty vector's data() may be null, which memcmp forbids.)
    return test::SameBytes(floats, other.floats) &&
           std::ranges::equal(doubles, other.doubles, [](double a, double b) {
             return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b);
           });
  }
};

// What one thread owns for a problem: allocated once, reused every iteration.
struct Scratch {
  explicit Scratch(const Problem& p)
      : workspace(p.dims(), p.seq.steps, p.seq.batch),
        gradients(p.dims()),
        stream(p.model, p.seq.batch),
        y(p.seq.steps * p.seq.batch * p.dims().output),
        dx(p.x.size()),
        dh0(p.h0.size()) {}

  Workspace workspace;
  Gradients gradients;
  Stream stream;
  std::vector<float> y, dx, dh0;
};

// Trainer::Steps (Adam, clipping) on a copy of the shared model.
Results TrainCopy(const Problem& p, int steps) {
  Model copy = p.model;
  Adam adam(p.dims(), {.learning_rate = 0.01f});
  Trainer trainer(copy, adam,
                  {.max_steps = p.seq.steps,
                   .max_batch = p.seq.batch,
                   .max_gradient_norm = 0.5});
  Results results;
  for (int step = 0; step < steps; ++step) {
    const TrainStepResult outcome =
        trainer.Step({p.x, p.target, p.seq, p.h0, p.step_weights});
    results.Add(outcome.loss);
    results.Add(outcome.gradient_norm);
  }
  results.Add(Flat(copy.parameters()));
  return results;
}

// Everything, in sequence, on the shared model: Forward, Loss, Backward (with
// dx and dh0), ClipGradNorm, a Stream's Step then Run, LoadModelFromBuffer,
// and a Trainer on a copy.
Results RunAll(const Problem& p, Scratch& s) {
  Results results;
  Forward(p.model, p.x, p.seq, p.h0, s.workspace, s.y);
  results.Add(s.y);
  results.Add(s.workspace.final_hidden());
  results.Add(Loss(s.y, p.target, p.seq, p.dims().output, p.step_weights));
  Backward(p.model, p.target, p.step_weights, s.workspace,
           {.gradients = &s.gradients, .dx = s.dx, .dh0 = s.dh0});
  results.Add(Flat(s.gradients));
  results.Add(s.dx);
  results.Add(s.dh0);
  results.Add(ClipGradNorm(s.gradients, 0.5));
  results.Add(Flat(s.gradients));

  s.stream.Reset(p.h0);
  const size_t x_step = p.seq.batch * p.dims().input;
  const size_t y_step = p.seq.batch * p.dims().output;
  s.stream.Step(std::span(p.x).first(x_step), std::span(s.y).first(y_step));
  s.stream.Run(std::span(p.x).subspan(x_step), p.seq.steps - 1,
               std::span(s.y).subspan(y_step));
  results.Add(s.y);

  const Model loaded = LoadModelFromBuffer(p.file);
  results.Add(Flat(loaded.parameters()));

  const Results trained = TrainCopy(p, 2);
  results.Add(trained.floats);
  for (double value : trained.doubles) results.Add(value);
  return results;
}

TEST(ThreadsTest, SharedModelGivesTheSingleThreadedResults) {
  const auto problems = MakeProblems();
  std::vector<Results> want;
  for (const auto& problem : problems) {
    Scratch scratch(*problem);
    want.push_back(RunAll(*problem, scratch));
  }

  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::unique_ptr<Scratch>> scratch;
      for (const auto& problem : problems) {
        scratch.push_back(std::make_unique<Scratch>(*problem));
      }
      // Each thread starts on another problem, so that different passes
      // overlap.
      for (int i = 0; i < kIterations * static_cast<int>(problems.size());
           ++i) {
        const size_t k = (i + t) % problems.size();
        if (!(RunAll(*problems[k], *scratch[k]) == want[k])) ++mismatches;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0)
      << "a thread's results differ from the single-threaded ones";
}

// Calls that dispatch once each, on inputs that do not depend on an earlier
// call: the results of each must be those of one target.
Results ForwardCall(const Problem& p, Scratch& s) {
  Forward(p.model, p.x, p.seq, p.h0, s.workspace, s.y);
  Results results;
  results.Add(s.y);
  results.Add(s.workspace.final_hidden());
  return results;
}

Results StreamRunCall(const Problem& p, Scratch& s) {
  s.stream.Reset(p.h0);
  s.stream.Run(p.x, p.seq.steps, s.y);
  Results results;
  results.Add(s.y);
  return results;
}

// GradNorm and the scaling: two dispatches, one call.
Results ClipCall(const Problem& p, Scratch& s) {
  s.gradients = p.gradients;
  Results results;
  results.Add(ClipGradNorm(s.gradients, 1e-3));
  results.Add(Flat(s.gradients));
  return results;
}

// Forward, Loss, Backward, clipping and Adam: five dispatches, one call.
Results TrainerCall(const Problem& p, Scratch&) { return TrainCopy(p, 1); }

using Call = Results (*)(const Problem&, Scratch&);
constexpr Call kCalls[] = {ForwardCall, StreamRunCall, ClipCall, TrainerCall};
constexpr const char* kCallNames[] = {"Forward", "Stream::Run", "ClipGradNorm",
                                      "Trainer::Step"};
constexpr size_t kNumCalls = std::size(kCalls);

TEST(ThreadsTest, UseTargetMeanwhileNeverMixesTargetsWithinACall) {
  const std::vector<std::string> targets = AvailableTargets();
  const auto problems = MakeProblems();
  // want[k][c][t]: call c on problem k, run alone on target t.
  std::vector<std::vector<std::vector<Results>>> want(problems.size());
  for (size_t k = 0; k < problems.size(); ++k) {
    Scratch scratch(*problems[k]);
    want[k].resize(kNumCalls);
    for (const std::string& target : targets) {
      UseTarget(target);
      for (size_t c = 0; c < kNumCalls; ++c) {
        want[k][c].push_back(kCalls[c](*problems[k], scratch));
      }
    }
  }
  UseBestTarget();

  std::atomic<bool> done{false};
  std::atomic<int> switches{0};
  std::atomic<int> unknown_current_target{0};
  // Switches target as fast as it can while the others compute.
  std::thread switcher([&] {
    while (!done.load()) {
      for (const std::string& target : targets) {
        UseTarget(target);
        ++switches;
        const std::string current = CurrentTarget();
        if (std::find(targets.begin(), targets.end(), current) ==
            targets.end()) {
          ++unknown_current_target;
        }
        std::this_thread::yield();
      }
    }
    UseBestTarget();
  });

  std::atomic<int> mixed[kNumCalls] = {};
  std::vector<std::thread> workers;
  for (int w = 0; w < kThreads; ++w) {
    workers.emplace_back([&, w] {
      std::vector<std::unique_ptr<Scratch>> scratch;
      for (const auto& problem : problems) {
        scratch.push_back(std::make_unique<Scratch>(*problem));
      }
      const size_t rounds = kIterations * problems.size() * kNumCalls;
      for (size_t i = 0; i < rounds; ++i) {
        const size_t k = (i + w) % problems.size();
        const size_t c = (i / problems.size() + w) % kNumCalls;
        const Results got = kCalls[c](*problems[k], *scratch[k]);
        bool matches_a_target = false;
        for (const Results& one_target : want[k][c]) {
          matches_a_target = matches_a_target || got == one_target;
        }
        if (!matches_a_target) ++mixed[c];
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  done = true;
  switcher.join();

  for (size_t c = 0; c < kNumCalls; ++c) {
    EXPECT_EQ(mixed[c].load(), 0)
        << kCallNames[c] << ": results that are no single target's";
  }
  EXPECT_EQ(unknown_current_target.load(), 0);
  EXPECT_EQ(CurrentTarget(), targets.front());
  std::printf("%d target switches during the run\n", switches.load());
}

}  // namespace
}  // namespace elman
