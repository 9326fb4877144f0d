// Eigen 3.4 with compile-time sizes (eigen_fixed.h).
//
// Choices, each measured with this benchmark (AMD EPYC Zen 5, AVX-512,
// shared machine) against the alternatives:
//  - Column-major weights. Row-major took 1.4–2.2× the time of the streaming
//    step, 1.25× that of the training step and 1.3× that of inference
//    (Eigen's row-major matrix–vector kernel ends every row in a horizontal
//    sum).
//  - Products through Eigen's matrix–vector kernel (`*` with noalias(),
//    accumulated onto the bias), not lazyProduct: the coefficient-based
//    product, fused with the bias and the tanh into one expression, took
//    1.2×, 1.45× and 1.6× the time of the streaming step at H = 32, 64, 128.
//  - For whole sequences, ĥ = W X + b for all steps as one product (T stays a
//    run-time size) and the step loop doing only U h(t−1) and the tanh: the
//    same speed as a loop doing the three fixed-size products per step
//    (within noise), and it keeps the training step's structure.
//  - The training step is the Eigen hoisted peer's (eigen_rnn.cc) with fixed
//    row counts; Uᵀ δ(t+1) uses a column-major copy of Uᵀ made once per step.
#include "bench/peers/eigen_fixed.h"

#include <Eigen/Dense>
#include <cstddef>
#include <memory>
#include <span>

#include "bench/peers/peer_problem.h"
#include "bench/peers/stream_peer.h"

namespace elman::bench {
namespace {

// R × C floats in storage order `Order`, except that vectors take the order
// Eigen requires of them.
template <int R, int C, int Order>
using Fixed = Eigen::Matrix<float, R, C,
                            (R == 1 && C != 1)   ? Eigen::RowMajor
                            : (C == 1 && R != 1) ? Eigen::ColMajor
                                                 : Order>;
template <int N>
using Vec = Eigen::Matrix<float, N, 1>;
// N rows, one column per time step.
template <int N>
using Columns = Eigen::Matrix<float, N, Eigen::Dynamic>;
using RowMajorMatrix =
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// ------------------------------------------------------------ streaming step

template <int I, int H, int O>
class FixedStream final : public StreamPeer {
 public:
  explicit FixedStream(const PeerProblem& p)
      : W_(Eigen::Map<const Fixed<H, I, Eigen::RowMajor>>(p.W.data())),
        U_(Eigen::Map<const Fixed<H, H, Eigen::RowMajor>>(p.U.data())),
        V_(Eigen::Map<const Fixed<O, H, Eigen::RowMajor>>(p.V.data())),
        b_(Eigen::Map<const Vec<H>>(p.b.data())),
        c_(Eigen::Map<const Vec<O>>(p.c.data())) {
    h_[0].setZero();
    h_[1].setZero();
  }

  void Step(std::span<const float> x, std::span<float> y) override {
    const Eigen::Map<const Vec<I>> x_t(x.data());
    Eigen::Map<Vec<O>> y_t(y.data());
    const Vec<H>& h_prev = h_[current_];
    Vec<H>& h = h_[1 - current_];
    // ĥ = b + W x + U h(t−1), h = tanh(ĥ), y = c + V h.
    pre_ = b_;
    pre_.noalias() += W_ * x_t;
    pre_.noalias() += U_ * h_prev;
    h = pre_.array().tanh();
    y_t = c_;
    y_t.noalias() += V_ * h;
    current_ = 1 - current_;
  }

  std::span<const float> Hidden() const override {
    return {h_[current_].data(), static_cast<size_t>(H)};
  }

 private:
  Fixed<H, I, Eigen::ColMajor> W_;
  Fixed<H, H, Eigen::ColMajor> U_;
  Fixed<O, H, Eigen::ColMajor> V_;
  Vec<H> b_;
  Vec<O> c_;
  Vec<H> pre_;
  Vec<H> h_[2];  // h(t−1) and h(t), in turn
  int current_ = 0;
};

// --------------------------------------------------- training step, inference

// T is a run-time size: sequences are matrices with H (I, O) rows and one
// column per step. kTrain: whether TrainStep is instantiated.
template <int I, int H, int O, bool kTrain>
class FixedPeer final : public Peer {
 public:
  explicit FixedPeer(const PeerProblem& p)
      : steps_(static_cast<Eigen::Index>(p.shape.steps)),
        W_(Eigen::Map<const Fixed<H, I, Eigen::RowMajor>>(p.W.data())),
        U_(Eigen::Map<const Fixed<H, H, Eigen::RowMajor>>(p.U.data())),
        V_(Eigen::Map<const Fixed<O, H, Eigen::RowMajor>>(p.V.data())),
        b_(Eigen::Map<const Vec<H>>(p.b.data())),
        c_(Eigen::Map<const Vec<O>>(p.c.data())),
        X_(Eigen::Map<const Columns<I>>(p.x.data(), I, steps_)),
        target_(Eigen::Map<const Columns<O>>(p.target.data(), O, steps_)),
        pre_(H, steps_),
        hidden_(H, steps_),
        error_(O, steps_),
        delta_(H, steps_),
        infer_y_(O, steps_) {
    dW_.setZero();
    dU_.setZero();
    dV_.setZero();
    db_.setZero();
    dc_.setZero();
  }

  void TrainStep() override {
    if constexpr (kTrain) {
      Forward();
      // e = V h + c − Y for all steps (eq. 7.11–7.13), one product.
      error_ = (-target_).colwise() + c_;
      error_.noalias() += V_ * hidden_;
      loss_ = 0.5 * static_cast<double>(error_.squaredNorm());
      // grad_dense for all steps (eq. 7.14), then δ in place (eq. 7.15).
      delta_.noalias() = V_.transpose() * error_;
      Ut_ = U_.transpose();
      const Eigen::Index T = steps_;
      for (Eigen::Index t = T; t-- > 0;) {
        auto d = delta_.col(t);
        if (t + 1 < T) d.noalias() += Ut_ * delta_.col(t + 1);
        d.array() *= 1.0f - hidden_.col(t).array().square();
      }
      dW_.noalias() = delta_ * X_.transpose();
      if (T > 1) {
        dU_.noalias() =
            delta_.rightCols(T - 1) * hidden_.leftCols(T - 1).transpose();
      } else {
        dU_.setZero();
      }
      db_ = delta_.rowwise().sum();
      dV_.noalias() = error_ * hidden_.transpose();
      dc_ = error_.rowwise().sum();
    }
  }

  void Infer() override {
    Forward();
    infer_y_.colwise() = c_;
    infer_y_.noalias() += V_ * hidden_;
  }

  PeerResult Result() const override {
    PeerResult r;
    if constexpr (kTrain) {
      r.loss = loss_;
      r.dW.resize(H * I);
      r.dU.resize(H * H);
      r.dV.resize(O * H);
      Eigen::Map<Fixed<H, I, Eigen::RowMajor>>(r.dW.data()) = dW_;
      Eigen::Map<Fixed<H, H, Eigen::RowMajor>>(r.dU.data()) = dU_;
      Eigen::Map<Fixed<O, H, Eigen::RowMajor>>(r.dV.data()) = dV_;
      r.db.assign(db_.data(), db_.data() + H);
      r.dc.assign(dc_.data(), dc_.data() + O);
    }
    return r;
  }

  std::span<const float> InferOutput() const override {
    return {infer_y_.data(), static_cast<size_t>(infer_y_.size())};
  }

 private:
  // ĥ = W X + b for all steps in one product, then per step
  // h(t) = tanh(ĥ(t) + U h(t−1)) with the fixed-size U.
  void Forward() {
    pre_.colwise() = b_;
    pre_.noalias() += W_ * X_;
    hidden_.col(0) = pre_.col(0).array().tanh();
    for (Eigen::Index t = 1; t < steps_; ++t) {
      auto pre = pre_.col(t);
      pre.noalias() += U_ * hidden_.col(t - 1);
      hidden_.col(t) = pre.array().tanh();
    }
  }

  Eigen::Index steps_;
  Fixed<H, I, Eigen::ColMajor> W_;
  Fixed<H, H, Eigen::ColMajor> U_, Ut_;
  Fixed<O, H, Eigen::ColMajor> V_;
  Vec<H> b_;
  Vec<O> c_;
  Columns<I> X_;
  Columns<O> target_;
  Columns<H> pre_, hidden_;
  Columns<O> error_;
  Columns<H> delta_;
  Columns<O> infer_y_;
  Fixed<H, I, Eigen::ColMajor> dW_;
  Fixed<H, H, Eigen::ColMajor> dU_;
  Fixed<O, H, Eigen::ColMajor> dV_;
  Vec<H> db_;
  Vec<O> dc_;
  double loss_ = 0.0;
};

bool Is(const PeerShape& s, size_t i, size_t h, size_t o) {
  return s.input == i && s.hidden == h && s.output == o && s.batch == 1;
}

}  // namespace

bool EigenFixedCovers(const PeerShape& shape, bool train) {
  return Is(shape, 1, 32, 1) || Is(shape, 16, 64, 16) ||
         (!train && Is(shape, 64, 128, 64));
}

std::unique_ptr<Peer> MakeEigenFixedPeer(const PeerProblem& problem) {
  const PeerShape& s = problem.shape;
  if (Is(s, 1, 32, 1))
    return std::make_unique<FixedPeer<1, 32, 1, true>>(problem);
  if (Is(s, 16, 64, 16))
    return std::make_unique<FixedPeer<16, 64, 16, true>>(problem);
  if (Is(s, 64, 128, 64))
    return std::make_unique<FixedPeer<64, 128, 64, false>>(problem);
  return nullptr;
}

bool EigenFixedStreamCovers(size_t hidden) {
  return hidden == 32 || hidden == 64 || hidden == 128;
}

std::unique_ptr<StreamPeer> MakeEigenFixedStreamPeer(
    const PeerProblem& problem) {
  if (problem.shape.input * 4 != problem.shape.hidden ||
      problem.shape.output * 4 != problem.shape.hidden) {
    return nullptr;
  }
  switch (problem.shape.hidden) {
    case 32:
      return std::make_unique<FixedStream<8, 32, 8>>(problem);
    case 64:
      return std::make_unique<FixedStream<16, 64, 16>>(problem);
    case 128:
      return std::make_unique<FixedStream<32, 128, 32>>(problem);
    default:
      return nullptr;
  }
}

}  // namespace elman::bench
