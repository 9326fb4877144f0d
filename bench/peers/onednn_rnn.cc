// oneDNN 2.6 vanilla RNN for the problem of peer_problem.h, as its manual
// teaches: user memories in fixed layouts, weights handed to the primitives as
// format_tag::any, and a reorder wherever the layout a primitive picked
// differs from the user's. The dense layer y = V h + c and its backward
// (e = y − Y, dV = Σ e hᵀ, dc = Σ e, diff_dst_layer = grad_dense = Vᵀ e,
// eq. 7.14) are done in Eigen: oneDNN's RNN primitive has no output layer.
//
// Three details of DESIGN.md §6 matter for correctness:
//  - src_iter is passed explicitly as a zero tensor (ldnc), with
//    diff_src_iter beside it. Left empty, as the API allows, the backward was
//    seen to return diff_weights_iter = Σ δ(t) h(t)ᵀ, one step off.
//  - The backward ACCUMULATES into diff_weights_layer/_iter and diff_bias:
//    they are zeroed before every backward.
//  - Weights are ldigo, i.e. W and U transposed relative to elman's row-major
//    H × I: ldigo is exactly a column-major H × I matrix, converted on load.
//
// In training the weights change every step, so the reorders into the
// primitives' layouts are part of the timed step. For inference they are done
// once here (frozen weights, as elman::Stream packs its snapshot once).
// The backward also computes diff_src_layer (dx, T·B·H·I multiply-adds) and
// diff_src_iter: the primitive offers no way to skip them.
#include "bench/peers/onednn_rnn.h"

#include <Eigen/Dense>
#include <cstddef>
#include <cstring>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <span>
#include <unordered_map>
#include <vector>

#include "bench/peers/peer_problem.h"

namespace elman::bench {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using Args = std::unordered_map<int, memory>;
using Eigen::MatrixXf;
using Eigen::VectorXf;
using RowMajorMatrix =
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

constexpr auto kF32 = memory::data_type::f32;

// A reorder primitive with its two memories, created once.
struct Reorder {
  dnnl::reorder primitive;
  memory from, to;
  void Run(dnnl::stream& stream) { primitive.execute(stream, from, to); }
};

// A float view of a memory's buffer.
float* Data(const memory& m) {
  return static_cast<float*>(m.get_data_handle());
}

void SetZero(const memory& m) {
  std::memset(m.get_data_handle(), 0, m.get_desc().get_size());
}

class OneDnnRnn final : public Peer {
 public:
  explicit OneDnnRnn(const PeerProblem& p);

  void TrainStep() override;
  void Infer() override;
  PeerResult Result() const override;
  std::span<const float> InferOutput() const override {
    return {infer_y_.data(), static_cast<size_t>(infer_y_.size())};
  }

 private:
  // `user` itself if the primitive wants its layout; otherwise a new memory
  // in layout `wanted`, with the reorder between them (user → new if
  // `into_primitive`, new → user if not) appended to `reorders`.
  memory Adapt(const memory::desc& wanted, const memory& user,
               bool into_primitive, std::vector<Reorder>& reorders);
  // Maps of a T·B-row tnc memory as an n × T·B column-major matrix.
  Eigen::Map<MatrixXf> Columns(const memory& m, size_t n) const {
    return {Data(m), static_cast<Eigen::Index>(n),
            static_cast<Eigen::Index>(shape_.rows())};
  }

  PeerShape shape_;
  dnnl::engine engine_{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream_{engine_};

  // User memories, in fixed layouts.
  memory x_, h0_, w_layer_, w_iter_, bias_, hidden_;
  memory dx_, dh0_, dw_layer_, dw_iter_, dbias_, diff_hidden_;

  dnnl::vanilla_rnn_forward forward_;
  dnnl::vanilla_rnn_backward backward_;
  dnnl::vanilla_rnn_forward inference_;
  Args forward_args_, backward_args_, inference_args_;
  // Memories the backward writes its weight gradients to (the user's, or the
  // primitive's own layout, reordered afterwards): zeroed before each call.
  memory backward_dw_layer_, backward_dw_iter_;
  std::vector<Reorder> before_forward_, before_backward_, after_backward_;

  // The dense layer, in Eigen.
  MatrixXf V_;
  VectorXf c_;
  MatrixXf target_, error_, dV_, infer_y_;
  VectorXf dc_;
  double loss_ = 0.0;
};

memory OneDnnRnn::Adapt(const memory::desc& wanted, const memory& user,
                        bool into_primitive, std::vector<Reorder>& reorders) {
  if (wanted == user.get_desc()) return user;
  memory own(wanted, engine_);
  if (into_primitive) {
    reorders.push_back({dnnl::reorder(user, own), user, own});
  } else {
    reorders.push_back({dnnl::reorder(own, user), own, user});
  }
  return own;
}

OneDnnRnn::OneDnnRnn(const PeerProblem& p)
    : shape_(p.shape),
      V_(Eigen::Map<const RowMajorMatrix>(p.V.data(), p.shape.output,
                                          p.shape.hidden)),
      c_(Eigen::Map<const VectorXf>(p.c.data(), p.shape.output)),
      target_(Eigen::Map<const MatrixXf>(p.target.data(), p.shape.output,
                                         p.shape.rows())),
      error_(p.shape.output, p.shape.rows()),
      dV_(p.shape.output, p.shape.hidden),
      infer_y_(p.shape.output, p.shape.rows()),
      dc_(p.shape.output) {
  const auto T = static_cast<memory::dim>(p.shape.steps);
  const auto B = static_cast<memory::dim>(p.shape.batch);
  const auto I = static_cast<memory::dim>(p.shape.input);
  const auto H = static_cast<memory::dim>(p.shape.hidden);
  // One layer (l), one direction (d), one gate (g).
  const memory::desc layer_in({T, B, I}, kF32, Tag::tnc);
  const memory::desc layer_out({T, B, H}, kF32, Tag::tnc);
  const memory::desc state({1, 1, B, H}, kF32, Tag::ldnc);
  const memory::desc w_layer({1, 1, I, 1, H}, kF32, Tag::ldigo);
  const memory::desc w_iter({1, 1, H, 1, H}, kF32, Tag::ldigo);
  const memory::desc bias({1, 1, 1, H}, kF32, Tag::ldgo);
  const memory::desc w_layer_any({1, 1, I, 1, H}, kF32, Tag::any);
  const memory::desc w_iter_any({1, 1, H, 1, H}, kF32, Tag::any);
  const memory::desc none;

  x_ = memory(layer_in, engine_);
  std::memcpy(Data(x_), p.x.data(), p.x.size() * sizeof(float));
  h0_ = memory(state, engine_);
  SetZero(h0_);  // h(−1) = 0, passed explicitly (see the top of this file)
  w_layer_ = memory(w_layer, engine_);
  w_iter_ = memory(w_iter, engine_);
  // ldigo = column-major H × I (resp. H × H): the transpose of elman's W, U.
  Eigen::Map<MatrixXf>(Data(w_layer_), H, I) =
      Eigen::Map<const RowMajorMatrix>(p.W.data(), H, I);
  Eigen::Map<MatrixXf>(Data(w_iter_), H, H) =
      Eigen::Map<const RowMajorMatrix>(p.U.data(), H, H);
  bias_ = memory(bias, engine_);
  std::memcpy(Data(bias_), p.b.data(), p.b.size() * sizeof(float));
  hidden_ = memory(layer_out, engine_);
  dx_ = memory(layer_in, engine_);
  dh0_ = memory(state, engine_);
  dw_layer_ = memory(w_layer, engine_);
  dw_iter_ = memory(w_iter, engine_);
  dbias_ = memory(bias, engine_);
  diff_hidden_ = memory(layer_out, engine_);

  const auto tanh = dnnl::algorithm::eltwise_tanh;
  const auto direction = dnnl::rnn_direction::unidirectional_left2right;

  // Training forward: stores what the backward needs in its workspace.
  const dnnl::vanilla_rnn_forward::primitive_desc forward_pd(
      {dnnl::prop_kind::forward_training, tanh, direction, layer_in, state,
       w_layer_any, w_iter_any, bias, layer_out, none},
      engine_);
  const memory workspace(forward_pd.workspace_desc(), engine_);
  forward_ = dnnl::vanilla_rnn_forward(forward_pd);
  forward_args_ = {
      {DNNL_ARG_SRC_LAYER, x_},
      {DNNL_ARG_SRC_ITER, h0_},
      {DNNL_ARG_WEIGHTS_LAYER,
       Adapt(forward_pd.weights_layer_desc(), w_layer_, true, before_forward_)},
      {DNNL_ARG_WEIGHTS_ITER,
       Adapt(forward_pd.weights_iter_desc(), w_iter_, true, before_forward_)},
      {DNNL_ARG_BIAS, bias_},
      {DNNL_ARG_DST_LAYER, hidden_},
      {DNNL_ARG_WORKSPACE, workspace}};

  // Backward: src_iter together with diff_src_iter, no dst_iter.
  const dnnl::vanilla_rnn_backward::primitive_desc backward_pd(
      {dnnl::prop_kind::backward, tanh, direction, layer_in, state, w_layer_any,
       w_iter_any, bias, layer_out, none, layer_in, state, w_layer_any,
       w_iter_any, bias, layer_out, none},
      engine_, forward_pd);
  backward_ = dnnl::vanilla_rnn_backward(backward_pd);
  backward_dw_layer_ = Adapt(backward_pd.diff_weights_layer_desc(), dw_layer_,
                             false, after_backward_);
  backward_dw_iter_ = Adapt(backward_pd.diff_weights_iter_desc(), dw_iter_,
                            false, after_backward_);
  backward_args_ = {
      {DNNL_ARG_SRC_LAYER, x_},
      {DNNL_ARG_SRC_ITER, h0_},
      {DNNL_ARG_WEIGHTS_LAYER, Adapt(backward_pd.weights_layer_desc(), w_layer_,
                                     true, before_backward_)},
      {DNNL_ARG_WEIGHTS_ITER,
       Adapt(backward_pd.weights_iter_desc(), w_iter_, true, before_backward_)},
      {DNNL_ARG_BIAS, bias_},
      {DNNL_ARG_DST_LAYER, hidden_},
      {DNNL_ARG_WORKSPACE, workspace},
      {DNNL_ARG_DIFF_SRC_LAYER, dx_},
      {DNNL_ARG_DIFF_SRC_ITER, dh0_},
      {DNNL_ARG_DIFF_WEIGHTS_LAYER, backward_dw_layer_},
      {DNNL_ARG_DIFF_WEIGHTS_ITER, backward_dw_iter_},
      {DNNL_ARG_DIFF_BIAS, dbias_},
      {DNNL_ARG_DIFF_DST_LAYER, diff_hidden_}};

  // Inference: its own primitive (no workspace, possibly packed weights),
  // weights reordered once, now. It writes h into hidden_ too.
  const dnnl::vanilla_rnn_forward::primitive_desc inference_pd(
      {dnnl::prop_kind::forward_inference, tanh, direction, layer_in, state,
       w_layer_any, w_iter_any, bias, layer_out, none},
      engine_);
  inference_ = dnnl::vanilla_rnn_forward(inference_pd);
  std::vector<Reorder> once;
  inference_args_ = {
      {DNNL_ARG_SRC_LAYER, x_},
      {DNNL_ARG_SRC_ITER, h0_},
      {DNNL_ARG_WEIGHTS_LAYER,
       Adapt(inference_pd.weights_layer_desc(), w_layer_, true, once)},
      {DNNL_ARG_WEIGHTS_ITER,
       Adapt(inference_pd.weights_iter_desc(), w_iter_, true, once)},
      {DNNL_ARG_BIAS, bias_},
      {DNNL_ARG_DST_LAYER, hidden_}};
  for (Reorder& r : once) r.Run(stream_);
  stream_.wait();
}

void OneDnnRnn::TrainStep() {
  // Forward, eq. 7.10 (hidden layer only).
  for (Reorder& r : before_forward_) r.Run(stream_);
  forward_.execute(stream_, forward_args_);
  stream_.wait();

  // Dense layer and loss in Eigen (eq. 7.11–7.14), all steps at once.
  const auto h = Columns(hidden_, shape_.hidden);
  error_.noalias() = V_ * h;
  error_.colwise() += c_;
  error_ -= target_;
  loss_ = 0.5 * static_cast<double>(error_.squaredNorm());
  dV_.noalias() = error_ * h.transpose();
  dc_.noalias() = error_.rowwise().sum();
  Columns(diff_hidden_, shape_.hidden).noalias() = V_.transpose() * error_;

  // Backward through time (eq. 7.15) in oneDNN; it accumulates, so zero first.
  SetZero(backward_dw_layer_);
  SetZero(backward_dw_iter_);
  SetZero(dbias_);
  for (Reorder& r : before_backward_) r.Run(stream_);
  backward_.execute(stream_, backward_args_);
  for (Reorder& r : after_backward_) r.Run(stream_);
  stream_.wait();
}

void OneDnnRnn::Infer() {
  inference_.execute(stream_, inference_args_);
  stream_.wait();
  infer_y_.noalias() = V_ * Columns(hidden_, shape_.hidden);
  infer_y_.colwise() += c_;
}

PeerResult OneDnnRnn::Result() const {
  const size_t I = shape_.input, H = shape_.hidden, O = shape_.output;
  const auto h = static_cast<Eigen::Index>(H);
  PeerResult r;
  r.loss = loss_;
  r.dW.resize(H * I);
  r.dU.resize(H * H);
  r.dV.resize(O * H);
  // ldigo diff weights are column-major H × I (H × H).
  Eigen::Map<RowMajorMatrix>(r.dW.data(), h, static_cast<Eigen::Index>(I)) =
      Eigen::Map<const MatrixXf>(Data(dw_layer_), h,
                                 static_cast<Eigen::Index>(I));
  Eigen::Map<RowMajorMatrix>(r.dU.data(), h, h) =
      Eigen::Map<const MatrixXf>(Data(dw_iter_), h, h);
  r.db.assign(Data(dbias_), Data(dbias_) + H);
  Eigen::Map<RowMajorMatrix>(r.dV.data(), static_cast<Eigen::Index>(O), h) =
      dV_;
  r.dc.assign(dc_.data(), dc_.data() + O);
  return r;
}

}  // namespace

std::unique_ptr<Peer> MakeOneDnnPeer(const PeerProblem& problem) {
  return std::make_unique<OneDnnRnn>(problem);
}

}  // namespace elman::bench
