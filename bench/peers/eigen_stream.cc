// Eigen 3.4 streaming step (stream_peer.h). Weights are converted once, in
// the constructor, from elman's row-major layout to column-major.
//
// Column-major because that is where Eigen's matrix–vector kernel is
// fastest at these sizes: it accumulates a block of the result in registers
// across the columns (x_j broadcast, one FMA per column and register), while
// the row-major kernel ends every row in a horizontal reduction, which
// dominates when rows are as short as here (8 to 512 floats). Measured with
// this benchmark (AMD EPYC, AVX-512, shared machine), row-major took 2.0×,
// 1.4× and 1.4× the time of column-major at H = 32, 64, 128, and about the
// same at H = 512, where both wait on memory.
#include "bench/peers/eigen_stream.h"

#include <Eigen/Dense>
#include <cstddef>
#include <memory>
#include <span>

#include "bench/peers/peer_problem.h"
#include "bench/peers/stream_peer.h"

namespace elman::bench {
namespace {

using Eigen::VectorXf;
using RowMajorMatrix =
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

class EigenStream final : public StreamPeer {
 public:
  explicit EigenStream(const PeerProblem& p)
      : input_(static_cast<Eigen::Index>(p.shape.input)),
        output_(static_cast<Eigen::Index>(p.shape.output)),
        W_(Eigen::Map<const RowMajorMatrix>(p.W.data(), p.shape.hidden,
                                            p.shape.input)),
        U_(Eigen::Map<const RowMajorMatrix>(p.U.data(), p.shape.hidden,
                                            p.shape.hidden)),
        b_(Eigen::Map<const VectorXf>(p.b.data(), p.shape.hidden)),
        V_(Eigen::Map<const RowMajorMatrix>(p.V.data(), p.shape.output,
                                            p.shape.hidden)),
        c_(Eigen::Map<const VectorXf>(p.c.data(), p.shape.output)),
        pre_hidden_(p.shape.hidden),
        hidden_(VectorXf::Zero(static_cast<Eigen::Index>(p.shape.hidden))) {}

  void Step(std::span<const float> x, std::span<float> y) override {
    const Eigen::Map<const VectorXf> x_t(x.data(), input_);
    Eigen::Map<VectorXf> y_t(y.data(), output_);
    // ĥ = b + W x + U h(t−1): starting from b saves the pass that zeroes
    // the destination of `ĥ.noalias() = W x`.
    pre_hidden_ = b_;
    pre_hidden_.noalias() += W_ * x_t;
    pre_hidden_.noalias() += U_ * hidden_;
    hidden_ = pre_hidden_.array().tanh();
    y_t = c_;
    y_t.noalias() += V_ * hidden_;
  }

  std::span<const float> Hidden() const override {
    return {hidden_.data(), static_cast<size_t>(hidden_.size())};
  }

 private:
  Eigen::Index input_, output_;
  Eigen::MatrixXf W_, U_;
  VectorXf b_;
  Eigen::MatrixXf V_;
  VectorXf c_;
  VectorXf pre_hidden_;  // ĥ(t)
  VectorXf hidden_;      // h(t)
};

}  // namespace

std::unique_ptr<StreamPeer> MakeEigenStreamPeer(const PeerProblem& problem) {
  return std::make_unique<EigenStream>(problem);
}

}  // namespace elman::bench
