// oneDNN 2.6 streaming step (stream_peer.h): the vanilla RNN primitive with
// T = 1, executed once per step (it runs whole sequences; a stream that gets
// x(t) one at a time has T = 1). Created once with format_tag::any weights,
// which are frozen, so reordered into its layout once, here, as elman::Stream
// packs its snapshot once. Its scratchpad is oneDNN's (library mode,
// allocated with the primitive): a user-mode one was measured 2–5% slower.
// The dense layer stays in Eigen: with T = B = 1 it is one small
// matrix–vector product (a matmul primitive for it was not tried).
//
// The state h lives in two buffers used in turn: each is seen both as an ldnc
// memory (src_iter, h(t−1)) and as a tnc memory (dst_layer, h(t)) — with
// T = B = 1 the two layouts are the same H floats. So a step reads h(t−1)
// from one buffer and writes h(t) into the other, with no copy and no
// dst_iter (which would write the same H floats a second time). The two
// argument maps are built once.
#include "bench/peers/onednn_stream.h"

#include <Eigen/Dense>
#include <cstddef>
#include <cstring>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <span>
#include <unordered_map>
#include <vector>

#include "bench/peers/peer_problem.h"
#include "bench/peers/stream_peer.h"

namespace elman::bench {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using Eigen::VectorXf;
using RowMajorMatrix =
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

constexpr auto kF32 = memory::data_type::f32;

float* Data(const memory& m) {
  return static_cast<float*>(m.get_data_handle());
}

class OneDnnStream final : public StreamPeer {
 public:
  explicit OneDnnStream(const PeerProblem& p);

  void Step(std::span<const float> x, std::span<float> y) override;
  std::span<const float> Hidden() const override {
    return {state_[current_].data(), state_[current_].size()};
  }

 private:
  size_t input_;
  dnnl::engine engine_{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream_{engine_};
  dnnl::vanilla_rnn_forward primitive_;
  memory x_;
  std::vector<float> state_[2];              // h(t−1) and h(t), in turn
  std::unordered_map<int, memory> args_[2];  // args_[k]: src_iter = state_[k]
  size_t current_ = 0;                       // state_[current_] holds h

  // The dense layer, in Eigen (column-major, as the Eigen peer).
  Eigen::MatrixXf V_;
  VectorXf c_;
};

OneDnnStream::OneDnnStream(const PeerProblem& p)
    : input_(p.shape.input),
      V_(Eigen::Map<const RowMajorMatrix>(p.V.data(), p.shape.output,
                                          p.shape.hidden)),
      c_(Eigen::Map<const VectorXf>(p.c.data(), p.shape.output)) {
  const auto I = static_cast<memory::dim>(p.shape.input);
  const auto H = static_cast<memory::dim>(p.shape.hidden);
  // T = 1 step, B = 1 sequence; one layer (l), one direction (d), one gate.
  const memory::desc layer_in({1, 1, I}, kF32, Tag::tnc);
  const memory::desc layer_out({1, 1, H}, kF32, Tag::tnc);
  const memory::desc state({1, 1, 1, H}, kF32, Tag::ldnc);
  const memory::desc w_layer({1, 1, I, 1, H}, kF32, Tag::ldigo);
  const memory::desc w_iter({1, 1, H, 1, H}, kF32, Tag::ldigo);
  const memory::desc bias({1, 1, 1, H}, kF32, Tag::ldgo);
  const memory::desc w_layer_any({1, 1, I, 1, H}, kF32, Tag::any);
  const memory::desc w_iter_any({1, 1, H, 1, H}, kF32, Tag::any);
  const memory::desc none;

  const dnnl::vanilla_rnn_forward::primitive_desc pd(
      {dnnl::prop_kind::forward_inference, dnnl::algorithm::eltwise_tanh,
       dnnl::rnn_direction::unidirectional_left2right, layer_in, state,
       w_layer_any, w_iter_any, bias, layer_out, none},
      engine_);
  primitive_ = dnnl::vanilla_rnn_forward(pd);

  // ldigo = column-major H × I (resp. H × H): the transpose of elman's W, U.
  memory user_w_layer(w_layer, engine_), user_w_iter(w_iter, engine_);
  Eigen::Map<Eigen::MatrixXf>(Data(user_w_layer), H, I) =
      Eigen::Map<const RowMajorMatrix>(p.W.data(), H, I);
  Eigen::Map<Eigen::MatrixXf>(Data(user_w_iter), H, H) =
      Eigen::Map<const RowMajorMatrix>(p.U.data(), H, H);
  // The weights in the layout the primitive picked, reordered once.
  const auto adapt = [&](const memory::desc& wanted, memory user) {
    if (wanted == user.get_desc()) return user;
    memory own(wanted, engine_);
    dnnl::reorder(user, own).execute(stream_, user, own);
    return own;
  };
  const memory weights_layer = adapt(pd.weights_layer_desc(), user_w_layer);
  const memory weights_iter = adapt(pd.weights_iter_desc(), user_w_iter);
  stream_.wait();
  const memory bias_memory(bias, engine_);
  std::memcpy(Data(bias_memory), p.b.data(), p.b.size() * sizeof(float));

  x_ = memory(layer_in, engine_);
  for (std::vector<float>& h : state_) h.assign(p.shape.hidden, 0.0f);
  for (size_t k = 0; k < 2; ++k) {
    args_[k] = {
        {DNNL_ARG_SRC_LAYER, x_},
        {DNNL_ARG_SRC_ITER, memory(state, engine_, state_[k].data())},
        {DNNL_ARG_WEIGHTS_LAYER, weights_layer},
        {DNNL_ARG_WEIGHTS_ITER, weights_iter},
        {DNNL_ARG_BIAS, bias_memory},
        {DNNL_ARG_DST_LAYER, memory(layer_out, engine_, state_[1 - k].data())},
    };
  }
}

void OneDnnStream::Step(std::span<const float> x, std::span<float> y) {
  std::memcpy(Data(x_), x.data(), input_ * sizeof(float));
  primitive_.execute(stream_, args_[current_]);
  stream_.wait();
  current_ = 1 - current_;
  const Eigen::Map<const VectorXf> h(
      state_[current_].data(),
      static_cast<Eigen::Index>(state_[current_].size()));
  Eigen::Map<VectorXf> y_t(y.data(), c_.size());
  y_t = c_;
  y_t.noalias() += V_ * h;
}

}  // namespace

std::unique_ptr<StreamPeer> MakeOneDnnStreamPeer(const PeerProblem& problem) {
  return std::make_unique<OneDnnStream>(problem);
}

}  // namespace elman::bench
