// Eigen 3.4 implementations of the problem in peer_problem.h. Matrices are
// column-major, so a time-major [T][B][n] array is an n × (T·B) matrix whose
// column t·B + s is sequence s at step t, and the B columns of step t are one
// contiguous block. Everything is allocated in the constructors; TrainStep and
// Infer only run products into existing storage (noalias() throughout).
//
// Both classes are templates on kVector (B = 1): then a step's block is a
// compile-time column vector, so Eigen picks its matrix–vector kernels and
// rank-1 outer-product updates instead of running its GEMM machinery on a
// one-column matrix.
#include "bench/peers/eigen_rnn.h"

#include <Eigen/Dense>
#include <cstddef>
#include <memory>
#include <span>
#include <type_traits>

#include "bench/peers/peer_problem.h"

namespace elman::bench {
namespace {

using Eigen::MatrixXf;
using Eigen::VectorXf;
using RowMajorMatrix =
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Parameters, data and gradients shared by both variants, converted from
// elman's row-major layout when loading (outside any timed region).
class EigenPeerBase : public Peer {
 public:
  explicit EigenPeerBase(const PeerProblem& p)
      : shape_(p.shape),
        W_(Eigen::Map<const RowMajorMatrix>(p.W.data(), p.shape.hidden,
                                            p.shape.input)),
        U_(Eigen::Map<const RowMajorMatrix>(p.U.data(), p.shape.hidden,
                                            p.shape.hidden)),
        b_(Eigen::Map<const VectorXf>(p.b.data(), p.shape.hidden)),
        V_(Eigen::Map<const RowMajorMatrix>(p.V.data(), p.shape.output,
                                            p.shape.hidden)),
        c_(Eigen::Map<const VectorXf>(p.c.data(), p.shape.output)),
        X_(Eigen::Map<const MatrixXf>(p.x.data(), p.shape.input,
                                      p.shape.rows())),
        target_(Eigen::Map<const MatrixXf>(p.target.data(), p.shape.output,
                                           p.shape.rows())),
        hidden_(p.shape.hidden, p.shape.rows()),
        error_(p.shape.output, p.shape.rows()),
        infer_y_(p.shape.output, p.shape.rows()),
        dW_(p.shape.hidden, p.shape.input),
        dU_(p.shape.hidden, p.shape.hidden),
        db_(p.shape.hidden),
        dV_(p.shape.output, p.shape.hidden),
        dc_(p.shape.output) {}

  PeerResult Result() const override {
    const size_t I = shape_.input, H = shape_.hidden, O = shape_.output;
    PeerResult r;
    r.loss = loss_;
    r.dW.resize(H * I);
    r.dU.resize(H * H);
    r.db.assign(db_.data(), db_.data() + H);
    r.dV.resize(O * H);
    r.dc.assign(dc_.data(), dc_.data() + O);
    Eigen::Map<RowMajorMatrix>(r.dW.data(), H, I) = dW_;
    Eigen::Map<RowMajorMatrix>(r.dU.data(), H, H) = dU_;
    Eigen::Map<RowMajorMatrix>(r.dV.data(), O, H) = dV_;
    return r;
  }

  std::span<const float> InferOutput() const override {
    return {infer_y_.data(), static_cast<size_t>(infer_y_.size())};
  }

 protected:
  PeerShape shape_;
  MatrixXf W_, U_;
  VectorXf b_;
  MatrixXf V_;
  VectorXf c_;
  MatrixXf X_, target_;
  MatrixXf hidden_;   // h(t), H × T·B
  MatrixXf error_;    // e(t) = y(t) − Y(t), O × T·B (g = identity)
  MatrixXf infer_y_;  // y of Infer, O × T·B
  MatrixXf dW_, dU_;
  VectorXf db_;
  MatrixXf dV_;
  VectorXf dc_;
  double loss_ = 0.0;
};

// Step t's block of an n × (T·B) matrix: a column when kVector, B columns
// otherwise.
template <bool kVector>
auto StepOf(MatrixXf& m, size_t t, size_t batch) {
  if constexpr (kVector) {
    return m.col(static_cast<Eigen::Index>(t));
  } else {
    return m.middleCols(static_cast<Eigen::Index>(t * batch),
                        static_cast<Eigen::Index>(batch));
  }
}

// Whether the backward's Uᵀ δ(t+1) uses an explicit column-major copy of Uᵀ
// (made once per training step, as U changes every step) instead of
// U.transpose(), i.e. Eigen's row-major kernel. Only for matrix–vector
// products (B = 1) with U up to 64 KiB (H ≤ 128): there the column-major
// kernel is faster (no horizontal sums; measured 4–11% off the training step
// at H = 32…128), while at H = 256 and 512 the copy costs more than it saves
// (measured 8% and 25% slower). With B > 1 Eigen's GEMM packs U either way.
template <bool kVector>
bool TransposeU(const PeerShape& s) {
  return kVector && s.hidden <= 128;
}

// H × B scratch for one step: a vector when kVector.
template <bool kVector>
using StepMatrix = std::conditional_t<kVector, VectorXf, MatrixXf>;

template <bool kVector>
class EigenPerStep final : public EigenPeerBase {
 public:
  explicit EigenPerStep(const PeerProblem& p)
      : EigenPeerBase(p),
        dh_(p.shape.hidden, p.shape.batch),
        delta_(p.shape.hidden, p.shape.batch),
        carry_(p.shape.hidden, p.shape.batch),
        state_{StepMatrix<kVector>(p.shape.hidden, p.shape.batch),
               StepMatrix<kVector>(p.shape.hidden, p.shape.batch)} {}

  void TrainStep() override {
    const size_t T = shape_.steps, B = shape_.batch;
    // Forward and loss, one step at a time (eq. 7.10–7.13).
    loss_ = 0.0;
    for (size_t t = 0; t < T; ++t) {
      // Products accumulated onto the biases (Eigen's `=` product would
      // zero the destination first): ĥ = b + W x + U h(t−1), and
      // e = (c − Y(t)) + V h(t).
      auto h = StepOf<kVector>(hidden_, t, B);
      h.colwise() = b_;
      h.noalias() += W_ * StepOf<kVector>(X_, t, B);
      if (t > 0) h.noalias() += U_ * StepOf<kVector>(hidden_, t - 1, B);
      h = h.array().tanh();
      auto e = StepOf<kVector>(error_, t, B);
      e = (-StepOf<kVector>(target_, t, B)).colwise() + c_;
      e.noalias() += V_ * h;
      loss_ += 0.5 * static_cast<double>(e.squaredNorm());
    }
    // Backward through time, eq. 7.14–7.15, newest step first.
    dW_.setZero();
    dU_.setZero();
    db_.setZero();
    dV_.setZero();
    dc_.setZero();
    if (transpose_u_) Ut_ = U_.transpose();  // once per step: U changes
    for (size_t t = T; t-- > 0;) {
      auto e = StepOf<kVector>(error_, t, B);
      auto h = StepOf<kVector>(hidden_, t, B);
      dV_.noalias() += e * h.transpose();
      dc_ += e.rowwise().sum();
      dh_.noalias() = V_.transpose() * e;  // grad_dense(t), eq. 7.14
      if (t + 1 < T) dh_ += carry_;        // + Uᵀ δ(t+1), eq. 7.15
      // tanh'(ĥ) = 1 − h².
      delta_ = dh_.array() * (1.0f - h.array().square());
      dW_.noalias() += delta_ * StepOf<kVector>(X_, t, B).transpose();
      db_ += delta_.rowwise().sum();
      if (t > 0) {  // h(−1) = 0: no dU term and no carry at t = 0
        dU_.noalias() +=
            delta_ * StepOf<kVector>(hidden_, t - 1, B).transpose();
        if (transpose_u_) {
          carry_.noalias() = Ut_ * delta_;
        } else {
          carry_.noalias() = U_.transpose() * delta_;
        }
      }
    }
  }

  // Keeps only h: two state buffers, y written step by step.
  void Infer() override {
    const size_t T = shape_.steps, B = shape_.batch;
    for (size_t t = 0; t < T; ++t) {
      StepMatrix<kVector>& h = state_[t % 2];
      const StepMatrix<kVector>& h_prev = state_[1 - t % 2];
      h.colwise() = b_;
      h.noalias() += W_ * StepOf<kVector>(X_, t, B);
      if (t > 0) h.noalias() += U_ * h_prev;
      h = h.array().tanh();
      auto y = StepOf<kVector>(infer_y_, t, B);
      y.colwise() = c_;
      y.noalias() += V_ * h;
    }
  }

 private:
  StepMatrix<kVector> dh_, delta_, carry_;
  StepMatrix<kVector> state_[2];
  const bool transpose_u_ = TransposeU<kVector>(shape_);
  MatrixXf Ut_;  // Uᵀ, column-major, if transpose_u_
};

template <bool kVector>
class EigenHoisted final : public EigenPeerBase {
 public:
  explicit EigenHoisted(const PeerProblem& p)
      : EigenPeerBase(p),
        pre_hidden_(p.shape.hidden, p.shape.rows()),
        delta_(p.shape.hidden, p.shape.rows()) {}

  void TrainStep() override {
    const size_t T = shape_.steps, B = shape_.batch, rows = shape_.rows();
    RunForward(hidden_);
    // Output projection for all steps, one GEMM accumulated onto c − Y:
    // e = y − Y (eq. 7.11–7.13) with no extra pass over e.
    error_ = (-target_).colwise() + c_;
    error_.noalias() += V_ * hidden_;
    loss_ = 0.5 * static_cast<double>(error_.squaredNorm());

    // grad_dense for all steps, one GEMM (eq. 7.14), into δ's storage.
    delta_.noalias() = V_.transpose() * error_;
    // The sequential part (eq. 7.15): δ(t) = (grad_dense(t) + Uᵀ δ(t+1)) ⊙
    // (1 − h(t)²).
    if (transpose_u_) Ut_ = U_.transpose();  // once per step: U changes
    for (size_t t = T; t-- > 0;) {
      auto d = StepOf<kVector>(delta_, t, B);
      if (t + 1 < T) {
        if (transpose_u_) {
          d.noalias() += Ut_ * StepOf<kVector>(delta_, t + 1, B);
        } else {
          d.noalias() += U_.transpose() * StepOf<kVector>(delta_, t + 1, B);
        }
      }
      d.array() *= 1.0f - StepOf<kVector>(hidden_, t, B).array().square();
    }
    // Weight gradients as GEMMs over all stored steps.
    const auto n = static_cast<Eigen::Index>(rows);
    const auto b = static_cast<Eigen::Index>(B);
    dW_.noalias() = delta_ * X_.transpose();
    if (T > 1) {  // h(−1) = 0: the t = 0 term of dU vanishes
      dU_.noalias() =
          delta_.rightCols(n - b) * hidden_.leftCols(n - b).transpose();
    } else {
      dU_.setZero();
    }
    db_.noalias() = delta_.rowwise().sum();
    dV_.noalias() = error_ * hidden_.transpose();
    dc_.noalias() = error_.rowwise().sum();
  }

  // The same forward without the loss; the output projection is still one
  // GEMM over all stored h.
  void Infer() override {
    RunForward(hidden_);
    infer_y_.noalias() = V_ * hidden_;
    infer_y_.colwise() += c_;
  }

 private:
  // Input projection hoisted: ĥ = W X + b for all steps in one GEMM; then
  // ĥ(t) += U h(t−1), h(t) = tanh(ĥ(t)) step by step (eq. 7.10).
  void RunForward(MatrixXf& hidden) {
    const size_t T = shape_.steps, B = shape_.batch;
    // Eigen's GEMM accumulates into its destination (`=` zeroes it first):
    // starting from b costs the same as starting from 0.
    pre_hidden_.colwise() = b_;
    pre_hidden_.noalias() += W_ * X_;
    for (size_t t = 0; t < T; ++t) {
      auto pre = StepOf<kVector>(pre_hidden_, t, B);
      if (t > 0) pre.noalias() += U_ * StepOf<kVector>(hidden, t - 1, B);
      StepOf<kVector>(hidden, t, B) = pre.array().tanh();
    }
  }

  MatrixXf pre_hidden_;  // ĥ, H × T·B
  MatrixXf delta_;       // grad_dense, then δ in place, H × T·B
  const bool transpose_u_ = TransposeU<kVector>(shape_);
  MatrixXf Ut_;  // Uᵀ, column-major, if transpose_u_
};

}  // namespace

std::unique_ptr<Peer> MakeEigenPerStepPeer(const PeerProblem& problem) {
  if (problem.shape.batch == 1) {
    return std::make_unique<EigenPerStep<true>>(problem);
  }
  return std::make_unique<EigenPerStep<false>>(problem);
}

std::unique_ptr<Peer> MakeEigenHoistedPeer(const PeerProblem& problem) {
  if (problem.shape.batch == 1) {
    return std::make_unique<EigenHoisted<true>>(problem);
  }
  return std::make_unique<EigenHoisted<false>>(problem);
}

}  // namespace elman::bench
