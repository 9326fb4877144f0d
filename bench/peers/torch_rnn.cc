// libtorch for the problem of peer_problem.h. The only translation unit that
// includes torch headers (they are slow to compile); it includes the module
// headers it needs rather than <torch/torch.h>.
//
// PyTorch's nn.RNN has two hidden biases, ĥ = W x + b_ih + U h + b_hh: b_ih
// gets elman's b and b_hh is zero (its gradient equals db and is ignored).
// nn.MSELoss means over elements by default; L here is ½ × the sum, so the
// loss is 0.5 · mse_loss(reduction = sum) (DESIGN.md §5).
#include "bench/peers/torch_rnn.h"

#include <ATen/Parallel.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/rnn.h>
#include <torch/utils.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "bench/peers/peer_problem.h"

namespace elman::bench {
namespace {

// A [dims] float tensor holding a copy of `values`.
torch::Tensor TensorOf(const std::vector<float>& values,
                       std::vector<int64_t> dims) {
  return torch::from_blob(const_cast<float*>(values.data()), dims,
                          torch::kFloat32)
      .clone();
}

std::vector<float> VectorOf(const torch::Tensor& t) {
  const torch::Tensor c = t.contiguous();
  const float* p = c.data_ptr<float>();
  return std::vector<float>(p, p + c.numel());
}

class TorchRnn final : public Peer {
 public:
  explicit TorchRnn(const PeerProblem& p)
      : rnn_(torch::nn::RNNOptions(static_cast<int64_t>(p.shape.input),
                                   static_cast<int64_t>(p.shape.hidden))
                 .nonlinearity(torch::kTanh)
                 .batch_first(false)),
        linear_(static_cast<int64_t>(p.shape.hidden),
                static_cast<int64_t>(p.shape.output)) {
    at::set_num_threads(1);
    const auto T = static_cast<int64_t>(p.shape.steps);
    const auto B = static_cast<int64_t>(p.shape.batch);
    const auto I = static_cast<int64_t>(p.shape.input);
    const auto H = static_cast<int64_t>(p.shape.hidden);
    const auto O = static_cast<int64_t>(p.shape.output);
    {
      const torch::NoGradGuard no_grad;
      // Row-major H × I etc.: the same layout as elman's.
      rnn_->named_parameters()["weight_ih_l0"].copy_(TensorOf(p.W, {H, I}));
      rnn_->named_parameters()["weight_hh_l0"].copy_(TensorOf(p.U, {H, H}));
      rnn_->named_parameters()["bias_ih_l0"].copy_(TensorOf(p.b, {H}));
      rnn_->named_parameters()["bias_hh_l0"].zero_();
      linear_->weight.copy_(TensorOf(p.V, {O, H}));
      linear_->bias.copy_(TensorOf(p.c, {O}));
    }
    x_ = TensorOf(p.x, {T, B, I});  // time-major, batch_first = false
    target_ = TensorOf(p.target, {T, B, O});
    h0_ = torch::zeros({1, B, H});
  }

  void TrainStep() override {
    rnn_->zero_grad(/*set_to_none=*/true);
    linear_->zero_grad(/*set_to_none=*/true);
    const torch::Tensor hidden = std::get<0>(rnn_->forward(x_, h0_));
    const torch::Tensor y = linear_->forward(hidden);
    namespace F = torch::nn::functional;
    torch::Tensor loss =
        0.5 * F::mse_loss(y, target_, F::MSELossFuncOptions(torch::kSum));
    loss.backward();
    loss_ = loss.item<double>();
  }

  void Infer() override {
    const torch::NoGradGuard no_grad;
    infer_y_ = linear_->forward(std::get<0>(rnn_->forward(x_, h0_)));
  }

  PeerResult Result() const override {
    auto rnn_params = rnn_->named_parameters();
    PeerResult r;
    r.loss = loss_;
    r.dW = VectorOf(rnn_params["weight_ih_l0"].grad());
    r.dU = VectorOf(rnn_params["weight_hh_l0"].grad());
    r.db = VectorOf(rnn_params["bias_ih_l0"].grad());
    r.dV = VectorOf(linear_->weight.grad());
    r.dc = VectorOf(linear_->bias.grad());
    return r;
  }

  std::span<const float> InferOutput() const override {
    return {infer_y_.data_ptr<float>(), static_cast<size_t>(infer_y_.numel())};
  }

 private:
  torch::nn::RNN rnn_;
  torch::nn::Linear linear_;
  torch::Tensor x_, target_, h0_, infer_y_;
  double loss_ = 0.0;
};

}  // namespace

std::unique_ptr<Peer> MakeTorchPeer(const PeerProblem& problem) {
  return std::make_unique<TorchRnn>(problem);
}

}  // namespace elman::bench
