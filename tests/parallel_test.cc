// The passes on a ThreadPool (include/elman/threads.h), on every SIMD target:
// Forward, Loss, Backward, Stream::Step and Run and Trainer::Step with 2 and
// 3 threads give bit for bit what one thread gives (the pool's promise), and
// agree with the double-precision reference.
//
// Each shape is run twice per pool: with the pool's natural thresholds, and
// with min_work_scale = 0, which cuts every product as finely as its tiles
// allow, so that these small shapes take every cut the large ones take —
// rows of a projection, of E·V and of the weight gradients; columns of a
// single-row or few-row product; the recurrence and the carry by sequences
// (B = 13, 25) and by columns with a barrier per step (B = 1, 3); the output
// error by steps and db, dc by columns. 3 threads on the 2 cores of CI are
// oversubscribed: correct still, only slower. .ci/sanitize runs this under
// ThreadSanitizer.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "elman/elman.h"
#include "gtest/gtest.h"
#include "hwy/tests/hwy_gtest.h"
#include "src/thread_pool.h"
#include "src/tools/verify_cases.h"
#include "tests/test_util.h"

namespace elman {
namespace {

using test::ExpectClose;
using test::Flat;
using test::RandomVector;
using test::SameBytes;
using test::Widen;

struct Case {
  Dims dims;
  SequenceShape seq;
  Activation f, g;
  bool with_h0, with_weights;
};

std::string Describe(const Case& c) {
  return test::DescribePass(c.dims, c.seq, c.f, c.g) +
         (c.with_h0 ? " h0" : "") + (c.with_weights ? " weights" : "");
}

// One shape per path of src/fused_path.h and per way of cutting
// (src/parallel_gemm-inl.h): H = 300 has several panels of a single-row
// product on every target (128 columns each on AVX-512).
const Case kCases[] = {
    {{3, 17, 2}, {5, 1}, Activation::kTanh, Activation::kIdentity, true, false},
    {{5, 48, 3}, {6, 1}, Activation::kSigmoid, Activation::kTanh, false, true},
    {{9, 300, 5}, {4, 1}, Activation::kTanh, Activation::kIdentity, true, true},
    {{9, 300, 5},
     {3, 1},
     Activation::kRelu,
     Activation::kSigmoid,
     false,
     false},
    {{6, 70, 11},
     {3, 3},
     Activation::kIdentity,
     Activation::kRelu,
     true,
     false},
    {{9, 300, 5},
     {3, 3},
     Activation::kTanh,
     Activation::kIdentity,
     true,
     false},
    {{4, 40, 6},
     {4, 13},
     Activation::kTanh,
     Activation::kIdentity,
     false,
     true},
    {{4, 40, 6},
     {3, 25},
     Activation::kSigmoid,
     Activation::kIdentity,
     true,
     false},
    {{5, 33, 70}, {1, 8}, Activation::kTanh, Activation::kTanh, true, true},
};

struct Inputs {
  Inputs(const Case& c, uint64_t seed) : model({c.dims, c.f, c.g}, seed) {
    std::mt19937_64 random(seed);
    // Random biases too (Initialize leaves them zero).
    const auto b = RandomVector(c.dims.hidden, random, 0.5f);
    const auto bias_output = RandomVector(c.dims.output, random, 0.5f);
    std::copy(b.begin(), b.end(), model.parameters().b().begin());
    std::copy(bias_output.begin(), bias_output.end(),
              model.parameters().c().begin());
    const size_t rows = c.seq.steps * c.seq.batch;
    x = RandomVector(rows * c.dims.input, random);
    target = RandomVector(rows * c.dims.output, random);
    if (c.with_h0) h0 = RandomVector(c.seq.batch * c.dims.hidden, random);
    if (c.with_weights) {
      // Positive, as Trainer's mean reduction wants.
      weights = RandomVector(c.seq.steps, random);
      for (float& weight : weights) weight = std::abs(weight) + 0.1f;
    }
  }
  Model model;
  std::vector<float> x, target, h0, weights;
};

// Everything one training step computes, in one list of floats, and the
// loss.
struct StepResults {
  std::vector<float> floats;
  double loss = 0.0;
  std::vector<float> y, dx, dh0;
  Gradients gradients;
};

StepResults TrainingStep(const Case& c, const Inputs& in, ThreadPool* pool) {
  const size_t rows = c.seq.steps * c.seq.batch;
  Workspace ws = pool != nullptr
                     ? Workspace(c.dims, c.seq.steps, c.seq.batch, *pool)
                     : Workspace(c.dims, c.seq.steps, c.seq.batch);
  StepResults r{{},
                0.0,
                std::vector<float>(rows * c.dims.output),
                std::vector<float>(rows * c.dims.input),
                std::vector<float>(c.seq.batch * c.dims.hidden),
                Gradients(c.dims)};
  Forward(in.model, in.x, c.seq, in.h0, ws, r.y);
  r.loss = Loss(r.y, in.target, c.seq, c.dims.output, in.weights);
  Backward(in.model, in.target, in.weights, ws, {&r.gradients, r.dx, r.dh0});
  for (std::span<const float> part :
       {std::span<const float>(r.y), ws.pre_hidden(), ws.hidden(),
        ws.pre_output(), ws.final_hidden(), std::span<const float>(r.dx),
        std::span<const float>(r.dh0)}) {
    r.floats.insert(r.floats.end(), part.begin(), part.end());
  }
  const std::vector<float> gradients = Flat(r.gradients);
  r.floats.insert(r.floats.end(), gradients.begin(), gradients.end());
  return r;
}

void ExpectMatchesReference(const Case& c, const Inputs& in,
                            const StepResults& got) {
  const reference::Model model(in.model);
  const auto forward =
      reference::Forward(model, Widen(in.x), c.seq, Widen(in.h0));
  const double loss =
      reference::Loss(forward, Widen(in.target), Widen(in.weights));
  const auto want =
      reference::Backward(model, Widen(in.x), Widen(in.h0), forward,
                          Widen(in.target), Widen(in.weights));
  const double tolerance = verify::PassTolerance(c.dims, c.seq);
  EXPECT_NEAR(got.loss, loss, tolerance * std::max(1.0, std::abs(loss)));
  ExpectClose(got.y, forward.output, tolerance, "y");
  const double scale = test::MaxAbsOf(
      {&want.W, &want.U, &want.b, &want.V, &want.c, &want.x, &want.h0});
  ExpectClose(got.gradients.W(), want.W, tolerance, "dW", scale);
  ExpectClose(got.gradients.U(), want.U, tolerance, "dU", scale);
  ExpectClose(got.gradients.b(), want.b, tolerance, "db", scale);
  ExpectClose(got.gradients.V(), want.V, tolerance, "dV", scale);
  ExpectClose(got.gradients.c(), want.c, tolerance, "dc", scale);
  ExpectClose(got.dx, want.x, tolerance, "dx", scale);
  ExpectClose(got.dh0, want.h0, tolerance, "dh0", scale);
}

// Pools of 2 and 3 threads, each with its natural thresholds and cutting as
// finely as it can.
struct PoolSetting {
  size_t threads;
  double min_work_scale;
};
constexpr PoolSetting kPools[] = {{2, 1.0}, {2, 0.0}, {3, 1.0}, {3, 0.0}};

std::string Describe(const PoolSetting& setting) {
  return std::to_string(setting.threads) + " threads" +
         (setting.min_work_scale == 0.0 ? ", finest cuts" : "");
}

std::unique_ptr<ThreadPool> MakePool(const PoolSetting& setting) {
  auto pool = std::make_unique<ThreadPool>(setting.threads);
  pool->impl().min_work_scale = setting.min_work_scale;
  return pool;
}

class ParallelTest : public hwy::TestWithParamTarget {};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P(ParallelTest);

TEST_P(ParallelTest, TrainingStepIsTheSingleThreadedOneBitForBit) {
  uint64_t seed = 1;
  for (const Case& c : kCases) {
    SCOPED_TRACE(Describe(c) + " target=" + CurrentTarget());
    const Inputs in(c, seed++);
    const StepResults alone = TrainingStep(c, in, nullptr);
    for (const PoolSetting& setting : kPools) {
      SCOPED_TRACE(Describe(setting));
      const auto pool = MakePool(setting);
      const StepResults threaded = TrainingStep(c, in, pool.get());
      EXPECT_TRUE(SameBytes(threaded.floats, alone.floats));
      EXPECT_EQ(threaded.loss, alone.loss);
      ExpectMatchesReference(c, in, threaded);
      // Run to run: the same bits again, on the same workspace size.
      EXPECT_TRUE(
          SameBytes(TrainingStep(c, in, pool.get()).floats, threaded.floats));
    }
  }
}

// Step by step, then the same sequence in one Run, from a random h0.
std::vector<float> StreamOutputs(const Case& c, const Inputs& in,
                                 ThreadPool* pool) {
  Stream stream = pool != nullptr ? Stream(in.model, c.seq.batch, *pool)
                                  : Stream(in.model, c.seq.batch);
  const size_t x_step = c.seq.batch * c.dims.input;
  const size_t y_step = c.seq.batch * c.dims.output;
  std::vector<float> out(2 * c.seq.steps * y_step);
  const std::span<float> steps(out.data(), c.seq.steps * y_step);
  const std::span<float> run(out.data() + steps.size(), steps.size());
  std::mt19937_64 random(c.dims.hidden);
  const auto h0 = RandomVector(c.seq.batch * c.dims.hidden, random);
  stream.Reset(h0);
  for (size_t t = 0; t < c.seq.steps; ++t) {
    stream.Step(std::span(in.x).subspan(t * x_step, x_step),
                steps.subspan(t * y_step, y_step));
  }
  stream.Reset(h0);
  stream.Run(in.x, c.seq.steps, run);
  return out;
}

TEST_P(ParallelTest, StreamIsTheSingleThreadedOneBitForBit) {
  uint64_t seed = 100;
  for (const Case& c : kCases) {
    SCOPED_TRACE(Describe(c) + " target=" + CurrentTarget());
    const Inputs in(c, seed++);
    const std::vector<float> alone = StreamOutputs(c, in, nullptr);
    for (const PoolSetting& setting : kPools) {
      SCOPED_TRACE(Describe(setting));
      const auto pool = MakePool(setting);
      const std::vector<float> threaded = StreamOutputs(c, in, pool.get());
      EXPECT_TRUE(SameBytes(threaded, alone));
      // Run's y (the second half) against the reference from the same h0.
      std::mt19937_64 random(c.dims.hidden);
      const auto h0 = RandomVector(c.seq.batch * c.dims.hidden, random);
      const auto forward = reference::Forward(reference::Model(in.model),
                                              Widen(in.x), c.seq, Widen(h0));
      ExpectClose(std::span(threaded).subspan(threaded.size() / 2),
                  forward.output, verify::PassTolerance(c.dims, c.seq),
                  "Run's y");
    }
  }
}

// Two Adam steps with clipping, through a Trainer given a pool.
std::vector<float> Trained(const Case& c, const Inputs& in, ThreadPool* pool) {
  Model model = in.model;
  Adam adam(c.dims, {.learning_rate = 0.01f});
  Trainer trainer(model, adam,
                  {.max_steps = c.seq.steps,
                   .max_batch = c.seq.batch,
                   .max_gradient_norm = 0.5,
                   .threads = pool});
  std::vector<float> results;
  for (int step = 0; step < 2; ++step) {
    const TrainStepResult outcome =
        trainer.Step({in.x, in.target, c.seq, in.h0, in.weights});
    results.push_back(static_cast<float>(outcome.loss));
    results.push_back(static_cast<float>(outcome.gradient_norm));
  }
  const std::vector<float> parameters = Flat(model.parameters());
  results.insert(results.end(), parameters.begin(), parameters.end());
  return results;
}

TEST_P(ParallelTest, TrainerIsTheSingleThreadedOneBitForBit) {
  const Case c = kCases[6];  // B = 13: the recurrence cut by sequences
  const Inputs in(c, 7);
  const std::vector<float> alone = Trained(c, in, nullptr);
  for (const PoolSetting& setting : kPools) {
    SCOPED_TRACE(Describe(setting) + " target=" + CurrentTarget());
    const auto pool = MakePool(setting);
    EXPECT_TRUE(SameBytes(Trained(c, in, pool.get()), alone));
  }
}

// Two threads share one pool, each with its own workspace and stream: a
// pass that finds the pool busy runs alone, with the same results.
TEST_P(ParallelTest, ConcurrentPassesOnOnePoolGiveTheSameResults) {
  const Case& c = kCases[2];  // B = 1, H = 300: cut by columns
  const Inputs in(c, 11);
  const StepResults alone = TrainingStep(c, in, nullptr);
  const std::vector<float> stream_alone = StreamOutputs(c, in, nullptr);
  const auto pool = MakePool({2, 0.0});
  std::atomic<int> mismatches{0};
  auto work = [&] {
    for (int i = 0; i < 4; ++i) {
      if (!SameBytes(TrainingStep(c, in, pool.get()).floats, alone.floats)) {
        ++mismatches;
      }
      if (!SameBytes(StreamOutputs(c, in, pool.get()), stream_alone)) {
        ++mismatches;
      }
    }
  };
  std::thread other(work);
  work();
  other.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace elman
