// The error policy of include/elman/error.h, through the public API: every
// bad argument gives elman::Error whose what() names the function, the
// argument and (for sizes) the sizes expected and given, and the call writes
// nothing — outputs, gradients, dx/dh0, the workspace's stored pass and views
// are byte for byte as before, and so is a Stream's state. Validation does
// not depend on the SIMD target, so these run once, on the best one.
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "elman/elman.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace elman {
namespace {

using test::ExpectError;
using test::Flat;
using test::RandomVector;
using test::SameBytes;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// A recognisable, finite pattern that no pass could produce by accident.
void FillSentinel(std::span<float> buffer) {
  for (size_t i = 0; i < buffer.size(); ++i) {
    buffer[i] = -777.25f - 0.5f * static_cast<float>(i % 1000);
  }
}

// Everything observable about a workspace: the stored sequence, the three
// views, and — to see the hidden stored x, h0 and packed weights — what a
// Backward on it produces (dW, dU, db, dV, dc, dx, dh0).
struct WorkspaceState {
  SequenceShape seq;
  std::vector<float> pre_hidden, hidden, pre_output, gradients, dx, dh0;
};

WorkspaceState Observe(const Model& model, Workspace& ws,
                       const std::vector<float>& target) {
  WorkspaceState s;
  s.seq = ws.sequence();
  s.pre_hidden.assign(ws.pre_hidden().begin(), ws.pre_hidden().end());
  s.hidden.assign(ws.hidden().begin(), ws.hidden().end());
  s.pre_output.assign(ws.pre_output().begin(), ws.pre_output().end());
  Gradients grads(model.dims());
  s.dx.resize(s.seq.steps * s.seq.batch * model.dims().input);
  s.dh0.resize(s.seq.batch * model.dims().hidden);
  Backward(model, target, {}, ws, {&grads, s.dx, s.dh0});
  s.gradients = Flat(grads);
  return s;
}

void ExpectSameState(const WorkspaceState& before, const WorkspaceState& now) {
  EXPECT_EQ(now.seq.steps, before.seq.steps);
  EXPECT_EQ(now.seq.batch, before.seq.batch);
  EXPECT_TRUE(SameBytes(now.pre_hidden, before.pre_hidden)) << "ĥ changed";
  EXPECT_TRUE(SameBytes(now.hidden, before.hidden)) << "h changed";
  EXPECT_TRUE(SameBytes(now.pre_output, before.pre_output)) << "ŷ changed";
  EXPECT_TRUE(SameBytes(now.gradients, before.gradients))
      << "stored x/h0/weights changed (Backward differs)";
  EXPECT_TRUE(SameBytes(now.dx, before.dx)) << "dx differs";
  EXPECT_TRUE(SameBytes(now.dh0, before.dh0)) << "dh0 differs";
}

// I=3, H=5, O=2; the workspace holds T ≤ 4, B ≤ 2 and a stored valid pass of
// T = 3, B = 2 with h0 (the shape Backward's arguments are checked against).
class TrainErrorsTest : public ::testing::Test {
 protected:
  TrainErrorsTest()
      : model_({dims_, Activation::kTanh, Activation::kIdentity}, 7),
        ws_(dims_, 4, 2),
        grads_(dims_) {
    std::mt19937_64 random(11);
    x_ = RandomVector(kRows * dims_.input, random);
    h0_ = RandomVector(kSeq.batch * dims_.hidden, random);
    target_ = RandomVector(kRows * dims_.output, random);
    y_.resize(kRows * dims_.output);
    dx_.resize(kRows * dims_.input);
    dh0_.resize(kSeq.batch * dims_.hidden);
    Forward(model_, x_, kSeq, h0_, ws_, y_);
    before_ = Observe(model_, ws_, target_);
    FillSentinel(y_);
  }

  // Forward with one argument spoilt must throw, leave y and the workspace.
  // The workspace first gets a pass of another shape (T = 2, B = 1, no h0),
  // so that storing any part of the rejected call (its T, B, x or h0) shows.
  void ExpectForwardError(std::span<const float> x, SequenceShape seq,
                          std::span<const float> h0, std::span<float> y,
                          const std::vector<std::string>& needles) {
    const SequenceShape stored_seq{2, 1};
    const std::vector<float> stored_x(2 * dims_.input, 0.375f);
    const std::vector<float> stored_target(2 * dims_.output, -0.5f);
    std::vector<float> stored_y(stored_target.size());
    Forward(model_, stored_x, stored_seq, {}, ws_, stored_y);
    const WorkspaceState stored = Observe(model_, ws_, stored_target);
    FillSentinel(y);
    const std::vector<float> y_before(y.begin(), y.end());
    ExpectError([&] { Forward(model_, x, seq, h0, ws_, y); }, needles);
    EXPECT_TRUE(SameBytes(y, y_before)) << "y was written";
    ExpectSameState(stored, Observe(model_, ws_, stored_target));
  }

  // Backward with one argument spoilt must throw and leave every output.
  void ExpectBackwardError(std::span<const float> target,
                           std::span<const float> weights,
                           const BackwardOutputs& outputs,
                           const std::vector<std::string>& needles) {
    ExpectBackwardCallError(
        [&] { Backward(model_, target, weights, ws_, outputs); }, outputs,
        needles);
  }

  // The same for BackwardFromOutputGradient.
  void ExpectGradientError(std::span<const float> output_gradient,
                           std::span<const float> final_hidden_gradient,
                           const BackwardOutputs& outputs,
                           const std::vector<std::string>& needles) {
    ExpectBackwardCallError(
        [&] {
          BackwardFromOutputGradient(model_, output_gradient,
                                     final_hidden_gradient, ws_, outputs);
        },
        outputs, needles);
  }

  // `call`, a backward pass writing to `outputs`, must throw and leave them.
  void ExpectBackwardCallError(const std::function<void()>& call,
                               const BackwardOutputs& outputs,
                               const std::vector<std::string>& needles) {
    if (outputs.gradients) {
      std::vector<float> flat(outputs.gradients->size());
      FillSentinel(flat);
      outputs.gradients->CopyFrom(flat);
    }
    FillSentinel(outputs.dx);
    FillSentinel(outputs.dh0);
    const std::vector<float> dx_before(outputs.dx.begin(), outputs.dx.end());
    const std::vector<float> dh0_before(outputs.dh0.begin(), outputs.dh0.end());
    const std::vector<float> grads_before =
        outputs.gradients ? Flat(*outputs.gradients) : std::vector<float>{};
    ExpectError(call, needles);
    if (outputs.gradients) {
      EXPECT_TRUE(SameBytes(Flat(*outputs.gradients), grads_before))
          << "gradients were written";
    }
    EXPECT_TRUE(SameBytes(outputs.dx, dx_before)) << "dx was written";
    EXPECT_TRUE(SameBytes(outputs.dh0, dh0_before)) << "dh0 was written";
    ExpectSameState(before_, Observe(model_, ws_, target_));
  }

  static constexpr SequenceShape kSeq{3, 2};
  static constexpr size_t kRows = 6;  // T·B
  const Dims dims_{3, 5, 2};
  Model model_;
  Workspace ws_;
  Gradients grads_;
  std::vector<float> x_, h0_, target_, y_, dx_, dh0_;
  WorkspaceState before_;
};

TEST_F(TrainErrorsTest, ForwardRejectsWrongSizes) {
  std::vector<float> short_x(x_.begin(), x_.end() - 1);
  ExpectForwardError(
      short_x, kSeq, h0_, y_,
      {"elman::Forward", "x has 17 floats", "expected steps*batch*input = 18"});
  std::vector<float> long_x(x_);
  long_x.push_back(0.5f);
  ExpectForwardError(long_x, kSeq, h0_, y_,
                     {"elman::Forward", "x has 19 floats", "= 18"});
  std::vector<float> bad_h0(h0_.begin(), h0_.begin() + 5);
  ExpectForwardError(
      x_, kSeq, bad_h0, y_,
      {"elman::Forward", "h0 has 5 floats", "expected batch*hidden = 10"});
  std::vector<float> short_y(y_.size() - 1);
  ExpectForwardError(x_, kSeq, h0_, short_y,
                     {"elman::Forward", "y has 11 floats",
                      "expected steps*batch*output = 12"});
}

TEST_F(TrainErrorsTest, ForwardRejectsBadSequence) {
  ExpectForwardError(x_, {0, 2}, h0_, y_, {"elman::Forward", "steps (T) is 0"});
  ExpectForwardError(x_, {3, 0}, h0_, y_, {"elman::Forward", "batch (B) is 0"});
  std::vector<float> x5(5 * 2 * dims_.input, 0.1f), y5(5 * 2 * dims_.output);
  ExpectForwardError(x5, {5, 2}, h0_, y5,
                     {"elman::Forward", "steps (T) is 5", "max_steps = 4"});
  std::vector<float> x3(3 * 3 * dims_.input, 0.1f), y3(3 * 3 * dims_.output);
  std::vector<float> h3(3 * dims_.hidden, 0.1f);
  ExpectForwardError(x3, {3, 3}, h3, y3,
                     {"elman::Forward", "batch (B) is 3", "at most 2"});
}

TEST_F(TrainErrorsTest, ForwardRejectsWorkspaceOfOtherDims) {
  // The other workspace holds a valid pass of its own model; it must keep it.
  const Dims other_dims{3, 6, 2};
  const Model other({other_dims}, 3);
  Workspace other_ws(other_dims, 4, 2);
  std::vector<float> y(kRows * dims_.output);
  Forward(other, x_, kSeq, {}, other_ws, y);
  const WorkspaceState other_before = Observe(other, other_ws, target_);
  FillSentinel(y);
  const std::vector<float> y_before = y;
  ExpectError(
      [&] { Forward(model_, x_, kSeq, h0_, other_ws, y); },
      {"elman::Forward", "workspace", "(I=3, H=6, O=2)", "(I=3, H=5, O=2)"});
  EXPECT_TRUE(SameBytes(y, y_before));
  ExpectSameState(other_before, Observe(other, other_ws, target_));
}

TEST_F(TrainErrorsTest, ForwardRejectsNonFiniteInputs) {
  for (float bad : {kNaN, kInf, -kInf}) {
    SCOPED_TRACE(bad);
    std::vector<float> x = x_;
    x[7] = bad;
    ExpectForwardError(x, kSeq, h0_, y_, {"elman::Forward", "x[7]", "finite"});
    std::vector<float> h0 = h0_;
    h0[9] = bad;
    ExpectForwardError(x_, kSeq, h0, y_, {"elman::Forward", "h0[9]", "finite"});
  }
}

TEST_F(TrainErrorsTest, BackwardBeforeAnyForward) {
  Workspace fresh(dims_, 4, 2);
  // A failed Forward must not make the workspace look filled either.
  std::vector<float> y(kRows * dims_.output);
  EXPECT_THROW(Forward(model_, x_, {0, 2}, {}, fresh, y), Error);
  EXPECT_EQ(fresh.sequence().steps, 0u);
  std::vector<float> flat(grads_.size());
  FillSentinel(flat);
  grads_.CopyFrom(flat);
  FillSentinel(dx_);
  const std::vector<float> dx_before = dx_;
  ExpectError(
      [&] {
        Backward(model_, target_, {}, fresh, {&grads_, dx_});
      },
      {"elman::Backward", "no forward pass"});
  EXPECT_TRUE(SameBytes(Flat(grads_), flat));
  EXPECT_TRUE(SameBytes(dx_, dx_before));
  EXPECT_EQ(fresh.sequence().steps, 0u);
}

TEST_F(TrainErrorsTest, BackwardRejectsBadGradients) {
  ExpectBackwardError(target_, {}, {nullptr, dx_, dh0_},
                      {"elman::Backward", "outputs.gradients is null"});
  Gradients other({3, 5, 1});
  ExpectBackwardError(target_, {}, {&other, dx_, dh0_},
                      {"elman::Backward", "outputs.gradients",
                       "(I=3, H=5, O=1)", "(I=3, H=5, O=2)"});
}

TEST_F(TrainErrorsTest, BackwardRejectsWrongSizes) {
  std::vector<float> short_target(target_.begin(), target_.end() - 1);
  ExpectBackwardError(short_target, {}, {&grads_, dx_, dh0_},
                      {"elman::Backward", "target has 11 floats",
                       "expected steps*batch*output = 12"});
  std::vector<float> weights(4, 1.0f);
  ExpectBackwardError(
      target_, weights, {&grads_, dx_, dh0_},
      {"elman::Backward", "step_weights has 4 floats", "expected steps = 3"});
  std::vector<float> dx(dx_.size() + 1);
  ExpectBackwardError(target_, {}, {&grads_, dx, dh0_},
                      {"elman::Backward", "outputs.dx has 19 floats",
                       "expected steps*batch*input = 18"});
  std::vector<float> dh0(dims_.hidden);
  ExpectBackwardError(target_, {}, {&grads_, dx_, dh0},
                      {"elman::Backward", "outputs.dh0 has 5 floats",
                       "expected batch*hidden = 10"});
}

TEST_F(TrainErrorsTest, BackwardRejectsNonFiniteTarget) {
  for (float bad : {kNaN, kInf}) {
    std::vector<float> target = target_;
    target[4] = bad;
    ExpectBackwardError(target, {}, {&grads_, dx_, dh0_},
                        {"elman::Backward", "target[4]", "finite"});
  }
}

TEST_F(TrainErrorsTest, BackwardRejectsWorkspaceOfOtherModel) {
  const Model other({{3, 5, 1}}, 1);
  Gradients other_grads(other.dims());
  ExpectError(
      [&] { Backward(other, target_, {}, ws_, {&other_grads}); },
      {"elman::Backward", "workspace", "(I=3, H=5, O=2)", "(I=3, H=5, O=1)"});
  ExpectSameState(before_, Observe(model_, ws_, target_));
}

TEST_F(TrainErrorsTest, BackwardFromOutputGradientRejectsBadArguments) {
  constexpr const char* kName = "elman::BackwardFromOutputGradient";
  const std::vector<float>& grad_y = target_;  // [T][B][O], any finite values
  const std::vector<float> grad_h(kSeq.batch * dims_.hidden, 0.25f);
  std::vector<float> short_grad_y(grad_y.begin(), grad_y.end() - 1);
  ExpectGradientError(short_grad_y, grad_h, {&grads_, dx_, dh0_},
                      {kName, "output_gradient has 11 floats",
                       "expected steps*batch*output = 12"});
  std::vector<float> short_grad_h(grad_h.begin(), grad_h.end() - 1);
  ExpectGradientError(grad_y, short_grad_h, {&grads_, dx_, dh0_},
                      {kName, "final_hidden_gradient has 9 floats",
                       "expected batch*hidden = 10"});
  std::vector<float> dx(dx_.size() - 1);
  ExpectGradientError(grad_y, grad_h, {&grads_, dx, dh0_},
                      {kName, "outputs.dx has 17 floats", "= 18"});
  std::vector<float> dh0(dh0_.size() + 1);
  ExpectGradientError(grad_y, grad_h, {&grads_, dx_, dh0},
                      {kName, "outputs.dh0 has 11 floats", "= 10"});
  ExpectGradientError(grad_y, grad_h, {nullptr, dx_, dh0_},
                      {kName, "outputs.gradients is null"});
  Gradients other({3, 5, 1});
  ExpectGradientError(grad_y, grad_h, {&other},
                      {kName, "outputs.gradients", "(I=3, H=5, O=1)"});
  for (float bad : {kNaN, kInf, -kInf}) {
    SCOPED_TRACE(bad);
    std::vector<float> bad_y = grad_y;
    bad_y[5] = bad;
    ExpectGradientError(bad_y, grad_h, {&grads_, dx_, dh0_},
                        {kName, "output_gradient[5]", "finite"});
    std::vector<float> bad_h = grad_h;
    bad_h[3] = bad;
    ExpectGradientError(grad_y, bad_h, {&grads_, dx_, dh0_},
                        {kName, "final_hidden_gradient[3]", "finite"});
  }
  // Another model's dims, and a workspace that holds no forward pass.
  const Model other_model({{3, 5, 1}}, 1);
  ExpectError(
      [&] {
        BackwardFromOutputGradient(other_model, grad_y, {}, ws_, {&other});
      },
      {kName, "workspace", "(I=3, H=5, O=2)", "(I=3, H=5, O=1)"});
  Workspace fresh(dims_, 4, 2);
  ExpectError(
      [&] {
        BackwardFromOutputGradient(model_, grad_y, grad_h, fresh, {&grads_});
      },
      {kName, "no forward pass"});
  ExpectSameState(before_, Observe(model_, ws_, target_));
}

TEST(LossErrorsTest, RejectsBadArguments) {
  const std::vector<float> y(12, 0.5f), target(12, 0.25f);
  ExpectError(
      [&] {
        Loss({y.data(), 11}, target, {3, 2}, 2);
      },
      {"elman::Loss", "y has 11 floats", "expected steps*batch*outputs = 12"});
  ExpectError(
      [&] {
        Loss(y, {target.data(), 10}, {3, 2}, 2);
      },
      {"elman::Loss", "target has 10 floats", "= 12"});
  const std::vector<float> weights(2, 1.0f);
  ExpectError(
      [&] {
        Loss(y, target, {3, 2}, 2, weights);
      },
      {"elman::Loss", "step_weights has 2 floats", "expected steps = 3"});
  ExpectError(
      [&] {
        Loss({}, {}, {0, 2}, 2);
      },
      {"elman::Loss", "steps (T) is 0"});
  ExpectError(
      [&] {
        Loss({}, {}, {3, 0}, 2);
      },
      {"elman::Loss", "batch (B) is 0"});
  ExpectError(
      [&] {
        Loss({}, {}, {3, 2}, 0);
      },
      {"elman::Loss", "outputs (O) is 0"});
}

TEST(ConstructorErrorsTest, RejectZeroDimensions) {
  const Dims bad[] = {{0, 5, 2}, {3, 0, 2}, {3, 5, 0}};
  const char* shown[] = {"(I=0, H=5, O=2)", "(I=3, H=0, O=2)",
                         "(I=3, H=5, O=0)"};
  for (int i = 0; i < 3; ++i) {
    ExpectError([&] { Workspace ws(bad[i], 4, 2); },
                {"elman::Workspace", "at least 1", shown[i]});
    ExpectError([&] { Parameters p(bad[i]); },
                {"elman::Parameters", "at least 1", shown[i]});
    ExpectError([&] { Model m({bad[i]}); },
                {"elman::Parameters", "at least 1", shown[i]});
  }
  ExpectError(
      [] {
        Workspace ws({3, 5, 2}, 0, 2);
      },
      {"elman::Workspace", "max_steps is 0"});
  ExpectError(
      [] {
        Workspace ws({3, 5, 2}, 4, 0);
      },
      {"elman::Workspace", "max_batch is 0"});
}

TEST(ParametersErrorsTest, CopyRejectsWrongSize) {
  Parameters p({3, 5, 2});  // 15 + 25 + 5 + 10 + 2 = 57 floats
  ASSERT_EQ(p.size(), 57u);
  std::vector<float> flat(57);
  for (size_t i = 0; i < flat.size(); ++i) flat[i] = 0.01f * i;
  p.CopyFrom(flat);
  std::vector<float> wrong(56);
  FillSentinel(wrong);
  const std::vector<float> wrong_before = wrong;
  ExpectError([&] { p.CopyTo(wrong); },
              {"elman::Parameters::CopyTo", "flat has 56 floats",
               "H*I + H*H + H + O*H + O = 57"});
  EXPECT_TRUE(SameBytes(wrong, wrong_before));
  std::vector<float> longer(58, 9.0f);
  ExpectError([&] { p.CopyFrom(longer); },
              {"elman::Parameters::CopyFrom", "flat has 58 floats", "= 57"});
  EXPECT_TRUE(SameBytes(Flat(p), flat)) << "parameters were written";
}

TEST(TargetErrorsTest, UseTargetRejectsUnknownNameAndListsTargets) {
  const std::vector<std::string> available = AvailableTargets();
  ASSERT_FALSE(available.empty());
  std::vector<std::string> needles = {"elman::UseTarget", "NOSUCHTARGET",
                                      "available"};
  needles.insert(needles.end(), available.begin(), available.end());
  // Select a non-default target first: a failed call must keep it.
  UseTarget(available.back());
  ExpectError([] { UseTarget("NOSUCHTARGET"); }, needles);
  EXPECT_EQ(CurrentTarget(), available.back())
      << "a rejected UseTarget changed the selected target";
  UseBestTarget();
  EXPECT_EQ(CurrentTarget(), available.front());
}

// A stream with some history, and a twin given the same history: after a
// rejected call the stream must still behave exactly like its twin (same
// state, same weights).
class StreamErrorsTest : public ::testing::Test {
 protected:
  StreamErrorsTest()
      : model_({dims_, Activation::kTanh, Activation::kSigmoid}, 5),
        stream_(model_, kBatch),
        twin_(model_, kBatch) {
    std::mt19937_64 random(13);
    x_ = RandomVector(kBatch * dims_.input, random);
    y_.resize(kBatch * dims_.output);
    for (int t = 0; t < 2; ++t) {
      stream_.Step(x_, y_);
      twin_.Step(x_, y_);
    }
    FillSentinel(y_);
  }

  void ExpectUnchanged() {
    for (size_t b = 0; b < kBatch; ++b) {
      EXPECT_TRUE(SameBytes(stream_.hidden(b), twin_.hidden(b)))
          << "hidden state of sequence " << b << " changed";
    }
    std::vector<float> y(y_.size()), y_twin(y_.size());
    stream_.Step(x_, y);
    twin_.Step(x_, y_twin);
    EXPECT_TRUE(SameBytes(y, y_twin)) << "the stream's weights changed";
  }

  // `call` writes into y_ (if at all); it must throw and write nothing.
  void ExpectStreamError(const std::function<void()>& call,
                         const std::vector<std::string>& needles) {
    const std::vector<float> y_before = y_;
    ExpectError(call, needles);
    EXPECT_TRUE(SameBytes(y_, y_before)) << "y was written";
    ExpectUnchanged();
  }

  static constexpr size_t kBatch = 3;
  const Dims dims_{3, 5, 2};
  Model model_;
  Stream stream_, twin_;
  std::vector<float> x_, y_;
};

TEST_F(StreamErrorsTest, ConstructorRejectsBadArguments) {
  ExpectError([&] { Stream s(model_, 0); }, {"elman::Stream", "batch is 0"});
  const char* names[] = {"model W[", "model U[", "model b[", "model V[",
                         "model c["};
  for (int tensor = 0; tensor < 5; ++tensor) {
    Model bad = model_;
    Parameters& p = bad.parameters();
    std::span<float> spans[] = {p.W(), p.U(), p.b(), p.V(), p.c()};
    spans[tensor].back() = tensor % 2 ? kInf : kNaN;
    ExpectError([&] { Stream s(bad); },
                {"elman::Stream", names[tensor], "finite"});
    ExpectStreamError([&] { stream_.Load(bad); },
                      {"elman::Stream::Load", names[tensor], "finite"});
  }
}

TEST_F(StreamErrorsTest, StepAndRunRejectWrongSizes) {
  std::vector<float> x_short(x_.begin(), x_.end() - 1);
  ExpectStreamError(
      [&] { stream_.Step(x_short, y_); },
      {"elman::Stream::Step", "x has 8 floats", "expected batch*input = 9"});
  ExpectStreamError(
      [&] {
        stream_.Step(x_, {y_.data(), 5});
      },
      {"elman::Stream::Step", "y has 5 floats", "expected batch*output = 6"});
  std::vector<float> x2(2 * x_.size(), 0.25f);
  ExpectStreamError([&] { stream_.Run(x2, 3, y_); },
                    {"elman::Stream::Run", "x has 18 floats",
                     "expected steps*batch*input = 27"});
  std::vector<float> y2(2 * y_.size());
  FillSentinel(y2);
  const std::vector<float> y2_before = y2;
  ExpectStreamError(
      [&] {
        stream_.Run(x2, 2, {y2.data(), 11});
      },
      {"elman::Stream::Run", "y has 11 floats",
       "expected steps*batch*output = 12"});
  ExpectStreamError([&] { stream_.Run(x2, 0, y2); },
                    {"elman::Stream::Run", "steps (T) is 0"});
  EXPECT_TRUE(SameBytes(y2, y2_before));
}

TEST_F(StreamErrorsTest, StepAndRunRejectNonFiniteInput) {
  for (float bad : {kNaN, kInf, -kInf}) {
    std::vector<float> x = x_;
    x[4] = bad;
    ExpectStreamError([&] { stream_.Step(x, y_); },
                      {"elman::Stream::Step", "x[4]", "finite"});
    std::vector<float> x2(2 * x_.size(), 0.25f);
    x2[13] = bad;
    std::vector<float> y2(2 * y_.size());
    ExpectStreamError([&] { stream_.Run(x2, 2, y2); },
                      {"elman::Stream::Run", "x[13]", "finite"});
  }
}

TEST_F(StreamErrorsTest, ResetRejectsBadH0) {
  std::vector<float> h0(kBatch * dims_.hidden - 1, 0.5f);
  ExpectStreamError([&] { stream_.Reset(h0); },
                    {"elman::Stream::Reset", "h0 has 14 floats",
                     "expected batch*hidden = 15"});
  h0.push_back(kNaN);
  ExpectStreamError([&] { stream_.Reset(h0); },
                    {"elman::Stream::Reset", "h0[14]", "finite"});
}

TEST_F(StreamErrorsTest, LoadRejectsOtherDimsOrActivations) {
  ExpectStreamError(
      [&] {
        stream_.Load(Model(Config{{3, 6, 2}}));
      },
      {"elman::Stream::Load", "model has dims", "(I=3, H=6, O=2)",
       "(I=3, H=5, O=2)"});
  ExpectStreamError(
      [&] {
        stream_.Load(Model({dims_, Activation::kRelu, Activation::kSigmoid}));
      },
      {"elman::Stream::Load", "activations"});
  ExpectStreamError(
      [&] {
        stream_.Load(Model({dims_, Activation::kTanh, Activation::kTanh}));
      },
      {"elman::Stream::Load", "activations"});
}

TEST_F(StreamErrorsTest, HiddenRejectsOutOfRange) {
  ExpectError([&] { (void)stream_.hidden(kBatch); },
              {"elman::Stream::hidden", "sequence 3", "batch is 3"});
  ExpectUnchanged();
}

}  // namespace
}  // namespace elman
