// elman and elman::reference behind the Peer interface (peer_problem.h), and
// elman::Stream behind the StreamPeer interface (stream_peer.h).
// Built with the project's flags (no -march): elman runs through its public,
// dispatched API, exactly as a user calls it.
#include "bench/peers/elman_peer.h"

#include <algorithm>
#include <memory>
#include <span>
#include <vector>

#include "bench/peers/peer_problem.h"
#include "bench/peers/stream_peer.h"
#include "elman/elman.h"

namespace elman::bench {
namespace {

Model ModelOf(const PeerProblem& p) {
  Model model(Config{{p.shape.input, p.shape.hidden, p.shape.output}});
  Parameters& w = model.parameters();
  std::copy(p.W.begin(), p.W.end(), w.W().begin());
  std::copy(p.U.begin(), p.U.end(), w.U().begin());
  std::copy(p.b.begin(), p.b.end(), w.b().begin());
  std::copy(p.V.begin(), p.V.end(), w.V().begin());
  std::copy(p.c.begin(), p.c.end(), w.c().begin());
  return model;
}

std::vector<float> CopyOf(std::span<const float> s) {
  return {s.begin(), s.end()};
}

// The peer's own pool, or none for one thread.
std::unique_ptr<ThreadPool> PoolOf(size_t threads) {
  return threads > 1 ? std::make_unique<ThreadPool>(threads) : nullptr;
}

Workspace WorkspaceOn(ThreadPool* pool, const Model& model,
                      const PeerShape& s) {
  return pool != nullptr ? Workspace(model.dims(), s.steps, s.batch, *pool)
                         : Workspace(model.dims(), s.steps, s.batch);
}

Stream StreamOn(ThreadPool* pool, const Model& model, size_t batch) {
  return pool != nullptr ? Stream(model, batch, *pool) : Stream(model, batch);
}

// elman itself, through the dispatched public API. Infer runs either the
// inference path (Stream: keeps only h) or the training Forward (workspace).
class ElmanPeer final : public Peer {
 public:
  ElmanPeer(const PeerProblem& p, bool stream_inference, size_t threads)
      : problem_(p),
        model_(ModelOf(p)),
        seq_{p.shape.steps, p.shape.batch},
        pool_(PoolOf(threads)),
        workspace_(WorkspaceOn(pool_.get(), model_, p.shape)),
        gradients_(model_.dims()),
        stream_(StreamOn(pool_.get(), model_, p.shape.batch)),
        y_(p.shape.rows() * p.shape.output),
        infer_y_(y_.size()),
        stream_inference_(stream_inference) {}

  void TrainStep() override {
    Forward(model_, problem_.x, seq_, {}, workspace_, y_);
    loss_ = Loss(y_, problem_.target, seq_, problem_.shape.output);
    Backward(model_, problem_.target, {}, workspace_, {&gradients_});
  }

  void Infer() override {
    if (stream_inference_) {
      stream_.Reset();
      stream_.Run(problem_.x, seq_.steps, infer_y_);
    } else {
      Forward(model_, problem_.x, seq_, {}, workspace_, infer_y_);
    }
  }

  PeerResult Result() const override {
    return {loss_,
            CopyOf(gradients_.W()),
            CopyOf(gradients_.U()),
            CopyOf(gradients_.b()),
            CopyOf(gradients_.V()),
            CopyOf(gradients_.c())};
  }
  std::span<const float> InferOutput() const override { return infer_y_; }

 private:
  const PeerProblem problem_;
  Model model_;
  SequenceShape seq_;
  std::unique_ptr<ThreadPool> pool_;  // before the workspace and stream
  Workspace workspace_;
  Gradients gradients_;
  Stream stream_;
  std::vector<float> y_, infer_y_;
  bool stream_inference_;
  double loss_ = 0.0;
};

// The double-precision reference, run through the same interface (it
// allocates on every call; it is the ground truth, timed for perspective).
class ReferencePeer final : public Peer {
 public:
  explicit ReferencePeer(const PeerProblem& p)
      : model_(ModelOf(p)),
        seq_{p.shape.steps, p.shape.batch},
        x_(p.x.begin(), p.x.end()),
        target_(p.target.begin(), p.target.end()) {}

  void TrainStep() override {
    const reference::ForwardResult forward =
        reference::Forward(model_, x_, seq_);
    loss_ = reference::Loss(forward, target_);
    gradients_ = reference::Backward(model_, x_, {}, forward, target_);
  }
  void Infer() override {
    const reference::ForwardResult forward =
        reference::Forward(model_, x_, seq_);
    infer_y_.assign(forward.output.begin(), forward.output.end());
  }
  PeerResult Result() const override {
    const auto narrow = [](const std::vector<double>& v) {
      return std::vector<float>(v.begin(), v.end());
    };
    return {loss_,
            narrow(gradients_.W),
            narrow(gradients_.U),
            narrow(gradients_.b),
            narrow(gradients_.V),
            narrow(gradients_.c)};
  }
  std::span<const float> InferOutput() const override { return infer_y_; }

 private:
  reference::Model model_;
  SequenceShape seq_;
  std::vector<double> x_, target_;
  double loss_ = 0.0;
  reference::GradientsResult gradients_;
  std::vector<float> infer_y_;
};

// elman's streaming step, exactly as a user embeds it: one Stream, one Step
// per time step.
class ElmanStreamPeer final : public StreamPeer {
 public:
  ElmanStreamPeer(const PeerProblem& p, size_t threads)
      : pool_(PoolOf(threads)), stream_(StreamOn(pool_.get(), ModelOf(p), 1)) {}

  void Step(std::span<const float> x, std::span<float> y) override {
    stream_.Step(x, y);
  }
  std::span<const float> Hidden() const override { return stream_.hidden(); }

 private:
  std::unique_ptr<ThreadPool> pool_;  // before the stream
  Stream stream_;
};

}  // namespace

std::unique_ptr<Peer> MakeElmanPeer(const PeerProblem& problem,
                                    bool stream_inference, size_t threads) {
  return std::make_unique<ElmanPeer>(problem, stream_inference, threads);
}

std::unique_ptr<Peer> MakeReferencePeer(const PeerProblem& problem) {
  return std::make_unique<ReferencePeer>(problem);
}

std::unique_ptr<StreamPeer> MakeElmanStreamPeer(const PeerProblem& problem,
                                                size_t threads) {
  return std::make_unique<ElmanStreamPeer>(problem, threads);
}

ReferenceResult RunReference(const PeerProblem& problem) {
  const reference::Model model(ModelOf(problem));
  const SequenceShape seq{problem.shape.steps, problem.shape.batch};
  const std::vector<double> x(problem.x.begin(), problem.x.end());
  const std::vector<double> target(problem.target.begin(),
                                   problem.target.end());
  const reference::ForwardResult forward = reference::Forward(model, x, seq);
  reference::GradientsResult g =
      reference::Backward(model, x, {}, forward, target);
  return {reference::Loss(forward, target),
          forward.output,
          std::move(g.W),
          std::move(g.U),
          std::move(g.b),
          std::move(g.V),
          std::move(g.c)};
}

}  // namespace elman::bench
