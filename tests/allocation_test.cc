// DESIGN.md §2: "forward/backward/step never allocate". This binary replaces
// every global operator new and new[] (plain, nothrow, aligned, aligned
// nothrow) with a counting, malloc-based version and checks, on every SIMD
// target, that once the Workspace, Gradients and Stream exist the calls of a
// training step and of inference count zero allocations, and so do an
// optimizer's Step and gradient clipping.
//
// What is counted: every allocation made through C++ operator new — by the
// library (Parameters' aligned storage, the Workspace and Stream Impl
// objects, any std::vector or std::string) and by the standard library. Not
// counted: direct calls to malloc. In Highway 1.0.3, hwy::AllocateAligned
// (which holds the Workspace's and Stream's buffers) calls malloc inside
// libhwy, not operator new; replacing malloc itself is not portable, so a
// pass that grabbed memory through hwy::AllocateAligned would escape this
// test. The library's own sources use hwy::AllocateAligned only in
// src/buffer.h, whose Buffers are built in the Workspace and Stream
// constructors, and in src/gemm_choice.cc, whose one-off timing runs in the
// Workspace constructor.
#include <atomic>
#include <cstdlib>
#include <new>
#include <random>
#include <vector>

#include "elman/elman.h"
#include "gtest/gtest.h"
#include "hwy/tests/hwy_gtest.h"
#include "src/thread_pool.h"
#include "tests/test_util.h"

namespace {

std::atomic<size_t> allocations{0};

void* Allocate(size_t size, size_t alignment) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (size == 0) size = 1;
  if (alignment <= alignof(std::max_align_t)) return std::malloc(size);
  // aligned_alloc wants a size that is a multiple of the alignment.
  const size_t rounded = (size + alignment - 1) / alignment * alignment;
  return std::aligned_alloc(alignment, rounded);
}

void* AllocateOrThrow(size_t size, size_t alignment) {
  void* p = Allocate(size, alignment);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

constexpr size_t kPlain = alignof(std::max_align_t);

}  // namespace

// The replaceable global allocation functions ([new.delete]); every form, so
// that nothing reaches the default implementation uncounted.
void* operator new(size_t n) { return AllocateOrThrow(n, kPlain); }
void* operator new[](size_t n) { return AllocateOrThrow(n, kPlain); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  return Allocate(n, kPlain);
}
void* operator new[](size_t n, const std::nothrow_t&) noexcept {
  return Allocate(n, kPlain);
}
void* operator new(size_t n, std::align_val_t a) {
  return AllocateOrThrow(n, static_cast<size_t>(a));
}
void* operator new[](size_t n, std::align_val_t a) {
  return AllocateOrThrow(n, static_cast<size_t>(a));
}
void* operator new(size_t n, std::align_val_t a,
                   const std::nothrow_t&) noexcept {
  return Allocate(n, static_cast<size_t>(a));
}
void* operator new[](size_t n, std::align_val_t a,
                     const std::nothrow_t&) noexcept {
  return Allocate(n, static_cast<size_t>(a));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t,
                     const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t,
                       const std::nothrow_t&) noexcept {
  std::free(p);
}

namespace elman {
namespace {

// Allocations counted while `call` runs.
template <typename Call>
size_t CountAllocations(Call&& call) {
  const size_t before = allocations.load(std::memory_order_relaxed);
  call();
  return allocations.load(std::memory_order_relaxed) - before;
}

// The counter is live: without this the zero counts below prove nothing.
TEST(AllocationCounterTest, CountsAllocations) {
  EXPECT_EQ(CountAllocations([] { delete new int(1); }), 1u);
  EXPECT_EQ(CountAllocations([] { delete[] new (std::nothrow) float[3]; }), 1u);
  EXPECT_GE(CountAllocations([] { std::vector<float> v(100, 1.0f); }), 1u);
  const Dims dims{3, 17, 2};
  EXPECT_GE(CountAllocations([&] { Parameters p(dims); }), 1u);
  EXPECT_GE(CountAllocations([&] { Workspace ws(dims, 8, 3); }), 1u);
  const Model model({dims});
  EXPECT_GE(CountAllocations([&] { Stream s(model, 3); }), 1u);
  EXPECT_GE(CountAllocations([&] { Model m({dims}); }), 1u);
}

class AllocationTest : public hwy::TestWithParamTarget {};
HWY_TARGET_INSTANTIATE_TEST_SUITE_P(AllocationTest);

// Forward, Loss, Backward (with dx and dh0, with and without h0 and step
// weights) and BackwardFromOutputGradient (with and without the final hidden
// gradient) at B = 1 and B = 3, T below the workspace's maximum too. The
// first calls on this target are counted as well: dispatch set-up must not
// allocate either.
TEST_P(AllocationTest, TrainingStepDoesNotAllocate) {
  for (size_t batch : {1u, 3u}) {
    const Dims dims{5, 33, 7};
    const size_t steps = 9;
    std::mt19937_64 random(batch);
    const Model model({dims, Activation::kTanh, Activation::kSigmoid}, 1);
    const auto x = test::RandomVector(steps * batch * dims.input, random);
    const auto h0 = test::RandomVector(batch * dims.hidden, random);
    const auto target = test::RandomVector(steps * batch * dims.output, random);
    const std::vector<float> weights(steps, 0.5f);
    std::vector<float> y(target.size()), dx(x.size()), dh0(h0.size());
    Workspace ws(dims, steps + 2, batch + 1);
    Gradients grads(dims);
    double loss = 0.0;
    const size_t count = CountAllocations([&] {
      for (bool with_h0 : {false, true}) {
        const std::span<const float> h =
            with_h0 ? std::span<const float>(h0) : std::span<const float>();
        Forward(model, x, {steps, batch}, h, ws, y);
        loss += Loss(y, target, {steps, batch}, dims.output);
        loss += Loss(y, target, {steps, batch}, dims.output, weights);
        Backward(model, target, {}, ws, {&grads, dx, dh0});
        Backward(model, target, weights, ws, {&grads});
        BackwardFromOutputGradient(model, target, h0, ws, {&grads, dx, dh0});
        BackwardFromOutputGradient(model, target, {}, ws, {&grads});
      }
      // A shorter sequence in the same workspace.
      const size_t short_steps = 4;
      const size_t rows = short_steps * batch;
      Forward(model, {x.data(), rows * dims.input}, {short_steps, batch}, {},
              ws, {y.data(), rows * dims.output});
      Backward(model, {target.data(), rows * dims.output}, {}, ws,
               {&grads, {dx.data(), rows * dims.input}});
    });
    EXPECT_EQ(count, 0u) << "B=" << batch << " target=" << CurrentTarget();
    EXPECT_GT(loss, 0.0);  // the calls did run
  }
}

// Stream::Step, Run, Reset, Reset(h0), hidden() and Load.
TEST_P(AllocationTest, StreamDoesNotAllocate) {
  for (size_t batch : {1u, 3u}) {
    const Dims dims{4, 100, 3};
    const size_t steps = 6;
    std::mt19937_64 random(batch + 10);
    const Model model({dims, Activation::kRelu, Activation::kTanh}, 2);
    const Model other({dims, Activation::kRelu, Activation::kTanh}, 3);
    const auto x = test::RandomVector(steps * batch * dims.input, random);
    const auto h0 = test::RandomVector(batch * dims.hidden, random);
    std::vector<float> y(steps * batch * dims.output);
    Stream stream(model, batch);
    float sum = 0.0f;
    const size_t count = CountAllocations([&] {
      stream.Step({x.data(), batch * dims.input},
                  {y.data(), batch * dims.output});
      stream.Run(x, steps, y);
      stream.Reset(h0);
      stream.Run(x, steps, y);
      stream.Load(other);
      stream.Reset();
      stream.Run(x, steps, y);
      sum += stream.hidden(batch - 1)[0];
    });
    EXPECT_EQ(count, 0u) << "B=" << batch << " target=" << CurrentTarget();
    EXPECT_NE(y.back() + sum, 12345.0f);  // keep the results observable
  }
}

// The same passes on a ThreadPool, every product cut as finely as it can be
// (min_work_scale = 0): the pool's jobs and barriers allocate nothing either,
// on the caller's thread or on the workers (the counter counts every
// thread). The pool and the workspace are made before counting.
TEST_P(AllocationTest, PassesOnAThreadPoolDoNotAllocate) {
  for (size_t batch : {1u, 13u}) {
    const Dims dims{5, 130, 7};
    const size_t steps = 5;
    std::mt19937_64 random(batch + 30);
    const Model model({dims}, 6);
    const auto x = test::RandomVector(steps * batch * dims.input, random);
    const auto h0 = test::RandomVector(batch * dims.hidden, random);
    const auto target = test::RandomVector(steps * batch * dims.output, random);
    std::vector<float> y(target.size()), dx(x.size()), dh0(h0.size());
    ThreadPool pool(3);
    pool.impl().min_work_scale = 0.0;
    Workspace ws(dims, steps, batch, pool);
    Gradients grads(dims);
    Stream stream(model, batch, pool);
    double loss = 0.0;
    const size_t count = CountAllocations([&] {
      Forward(model, x, {steps, batch}, h0, ws, y);
      loss += Loss(y, target, {steps, batch}, dims.output);
      Backward(model, target, {}, ws, {&grads, dx, dh0});
      stream.Step({x.data(), batch * dims.input},
                  {y.data(), batch * dims.output});
      stream.Run(x, steps, y);
    });
    EXPECT_EQ(count, 0u) << "B=" << batch << " target=" << CurrentTarget();
    EXPECT_GT(loss, 0.0);
  }
}

// Optimizer Step (SGD with Nesterov momentum and weight decay, Adam with
// amsgrad, AdamW; the configured and a per-step rate), GradNorm and
// ClipGradNorm: the state is allocated by the constructors, never by a call.
TEST_P(AllocationTest, OptimizerStepDoesNotAllocate) {
  const Dims dims{5, 33, 7};
  std::mt19937_64 random(4);
  Parameters parameters(dims);
  Gradients gradients(dims);
  gradients.CopyFrom(test::RandomVector(gradients.size(), random));
  Sgd sgd(dims, {.learning_rate = 0.1f,
                 .momentum = 0.9f,
                 .weight_decay = 0.01f,
                 .nesterov = true});
  AdamOptions amsgrad;
  amsgrad.amsgrad = true;
  Adam adam(dims, amsgrad);
  Adam adamw(dims, AdamWOptions());
  double norm = 0.0;
  const size_t count = CountAllocations([&] {
    for (int step = 0; step < 2; ++step) {
      sgd.Step(parameters, gradients);
      adam.Step(parameters, gradients);
      adamw.Step(parameters, gradients, 0.5f);
      norm += GradNorm(gradients);
      norm += ClipGradNorm(gradients, 0.5);
    }
    sgd.Reset();
    adam.Reset();
  });
  EXPECT_EQ(count, 0u) << "target=" << CurrentTarget();
  EXPECT_GT(norm, 0.0);
}

// Trainer::Step with clipping, step weights, h0 carried from final_hidden()
// and a per-step rate: everything was sized by the Trainer's constructor.
TEST_P(AllocationTest, TrainerStepDoesNotAllocate) {
  for (size_t batch : {1u, 3u}) {
    const Dims dims{3, 20, 2};
    const size_t steps = 7;
    std::mt19937_64 random(batch + 20);
    Model model({dims}, 5);
    const auto x = test::RandomVector(steps * batch * dims.input, random);
    const auto target = test::RandomVector(steps * batch * dims.output, random);
    const std::vector<float> weights(steps, 0.5f);
    Adam adam(dims);
    Trainer trainer(
        model, adam,
        {.max_steps = steps, .max_batch = batch, .max_gradient_norm = 0.1});
    double loss = 0.0;
    const size_t count = CountAllocations([&] {
      Batch batch_data{x, target, {steps, batch}};
      loss += trainer.Step(batch_data).loss;
      batch_data.h0 = trainer.final_hidden();
      batch_data.step_weights = weights;
      loss += trainer.Step(batch_data, 1e-4f).loss;
    });
    EXPECT_EQ(count, 0u) << "B=" << batch << " target=" << CurrentTarget();
    EXPECT_GT(loss, 0.0);
  }
}

}  // namespace
}  // namespace elman
