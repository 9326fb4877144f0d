// oneDNN 2.6 for the problem of peer_problem.h, configured as DESIGN.md §6
// says oneDNN is at its best: every primitive descriptor and primitive is
// created once, here; the weights are handed to every primitive as
// format_tag::any and reordered from the user's layout into the one it picked
// once per weight change (once per training step, inside the timed step, as
// a training loop pays it; once here for inference); the workspace is
// allocated once and the scratchpads are oneDNN's own (library mode: one per
// primitive, allocated with it and reused by every call — a user-mode
// scratchpad shared by all primitives was measured no faster, 0–4% slower);
// activations are never reordered (x, h, grad_dense are tnc/ab memories the RNN
// and the matmuls read and write in place).
//
// The dense layer is oneDNN's matmul, forward and backward: e = h Vᵀ + c − Y
// (bias, and Y subtracted by a binary_sub post-op), grad_dense = e V (written
// straight into the RNN backward's diff_dst_layer) and dV = eᵀ h (e read
// transposed through a "ba" descriptor, dV written in elman's row-major
// layout). Only the loss ½‖e‖² and dc = Σ e are reductions in Eigen. Measured
// against the dense layer in Eigen (the previous version of this peer): 12%
// faster at (64,128,64,100,32), the same within noise at B = 1.
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

#include <omp.h>

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

// omp_set_num_threads(threads) when built: first among OneDnnRnn's members,
// so that every primitive is created for that many threads.
struct OpenMpThreads {
  explicit OpenMpThreads(int threads) : count(threads) { Use(); }
  // oneDNN reads the count at creation (scratchpad sizes) and at each
  // execution: set it again before each call.
  void Use() const { omp_set_num_threads(count); }
  int count;
};

class OneDnnRnn final : public Peer {
 public:
  OneDnnRnn(const PeerProblem& p, int threads);

  void TrainStep() override;
  void Infer() override;
  PeerResult Result() const override;
  std::span<const float> InferOutput() const override {
    return {Data(infer_y_), shape_.rows() * shape_.output};
  }

 private:
  // `user` itself if the primitive wants its layout; otherwise a new memory
  // in layout `wanted`, with the reorder between them (user → new if
  // `into_primitive`, new → user if not) appended to `reorders`.
  memory Adapt(const memory::desc& wanted, const memory& user,
               bool into_primitive, std::vector<Reorder>& reorders);
  // Maps of a T·B-row memory as an n × T·B column-major matrix.
  Eigen::Map<MatrixXf> Columns(const memory& m, size_t n) const {
    return {Data(m), static_cast<Eigen::Index>(n),
            static_cast<Eigen::Index>(shape_.rows())};
  }

  OpenMpThreads threads_;
  PeerShape shape_;
  dnnl::engine engine_{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream_{engine_};

  // User memories, in fixed layouts.
  memory x_, h0_, w_layer_, w_iter_, bias_, hidden_;
  memory dx_, dh0_, dw_layer_, dw_iter_, dbias_, diff_hidden_;
  // The dense layer: V (O × H row-major), c, Y and e = y − Y ([T·B][O]),
  // dV (O × H row-major), y of Infer.
  memory v_, c_, target_, error_, dv_, infer_y_;

  dnnl::vanilla_rnn_forward forward_;
  dnnl::vanilla_rnn_backward backward_;
  dnnl::vanilla_rnn_forward inference_;
  // e = h Vᵀ + c − Y; diff_hidden = e V; dV = eᵀ h; y = h Vᵀ + c.
  dnnl::matmul dense_forward_, dense_backward_, dense_weights_, dense_infer_;
  Args forward_args_, backward_args_, inference_args_;
  Args dense_forward_args_, dense_backward_args_, dense_weights_args_,
      dense_infer_args_;
  // Memories the backward writes its weight gradients to (the user's, or the
  // primitive's own layout, reordered afterwards): zeroed before each call.
  memory backward_dw_layer_, backward_dw_iter_;
  // Weight reorders of a training step: before the forward (W, U, V for the
  // forward products) and before the backward (W, U, V for the backward
  // products); diff weights after the backward.
  std::vector<Reorder> before_forward_, before_backward_, after_backward_;

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

OneDnnRnn::OneDnnRnn(const PeerProblem& p, int threads)
    : threads_(threads), shape_(p.shape), dc_(p.shape.output) {
  const auto T = static_cast<memory::dim>(p.shape.steps);
  const auto B = static_cast<memory::dim>(p.shape.batch);
  const auto I = static_cast<memory::dim>(p.shape.input);
  const auto H = static_cast<memory::dim>(p.shape.hidden);
  const auto O = static_cast<memory::dim>(p.shape.output);
  const memory::dim rows = T * B;
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
  // The dense layer's matrices ([T][B][n] = T·B × n row-major, "ab").
  const memory::desc hidden_rows({rows, H}, kF32, Tag::ab);
  const memory::desc output_rows({rows, O}, kF32, Tag::ab);
  const memory::desc output_columns({O, rows}, kF32, Tag::ba);  // eᵀ
  const memory::desc v_user({O, H}, kF32, Tag::ab);
  const memory::desc v_transposed({H, O}, kF32, Tag::ba);  // Vᵀ over V
  const memory::desc v_any({O, H}, kF32, Tag::any);
  const memory::desc v_transposed_any({H, O}, kF32, Tag::any);
  const memory::desc c_row({1, O}, kF32, Tag::ab);

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
  v_ = memory(v_user, engine_);
  std::memcpy(Data(v_), p.V.data(), p.V.size() * sizeof(float));
  c_ = memory(c_row, engine_);
  std::memcpy(Data(c_), p.c.data(), p.c.size() * sizeof(float));
  target_ = memory(output_rows, engine_);
  std::memcpy(Data(target_), p.target.data(), p.target.size() * sizeof(float));
  error_ = memory(output_rows, engine_);
  dv_ = memory(v_user, engine_);
  infer_y_ = memory(output_rows, engine_);
  // The same buffers seen as 2-D matrices by the matmuls.
  const memory hidden_matrix(hidden_rows, engine_, hidden_.get_data_handle());
  const memory diff_hidden_matrix(hidden_rows, engine_,
                                  diff_hidden_.get_data_handle());
  const memory error_transposed(output_columns, engine_,
                                error_.get_data_handle());
  const memory v_as_transposed(v_transposed, engine_, v_.get_data_handle());

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

  // e = h Vᵀ + c − Y: a matmul with bias and a binary_sub post-op (Y).
  {
    dnnl::primitive_attr with_sub;
    dnnl::post_ops ops;
    ops.append_binary(dnnl::algorithm::binary_sub, output_rows);
    with_sub.set_post_ops(ops);
    const dnnl::matmul::primitive_desc pd(
        {hidden_rows, v_transposed_any, c_row, output_rows}, with_sub, engine_);
    dense_forward_ = dnnl::matmul(pd);
    dense_forward_args_ = {
        {DNNL_ARG_SRC, hidden_matrix},
        {DNNL_ARG_WEIGHTS,
         Adapt(pd.weights_desc(), v_as_transposed, true, before_forward_)},
        {DNNL_ARG_BIAS, c_},
        {DNNL_ARG_DST, error_},
        {DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, target_}};
  }
  // grad_dense = e V (eq. 7.14), straight into the backward's diff_dst_layer.
  {
    const dnnl::matmul::primitive_desc pd(
        {output_rows, v_any, none, hidden_rows}, engine_);
    dense_backward_ = dnnl::matmul(pd);
    dense_backward_args_ = {{DNNL_ARG_SRC, error_},
                            {DNNL_ARG_WEIGHTS, Adapt(pd.weights_desc(), v_,
                                                     true, before_backward_)},
                            {DNNL_ARG_DST, diff_hidden_matrix}};
  }
  // dV = eᵀ h (O × H, elman's row-major layout directly).
  {
    const dnnl::matmul::primitive_desc pd(
        {output_columns, hidden_rows, none, v_user}, engine_);
    dense_weights_ = dnnl::matmul(pd);
    dense_weights_args_ = {{DNNL_ARG_SRC, error_transposed},
                           {DNNL_ARG_WEIGHTS, hidden_matrix},
                           {DNNL_ARG_DST, dv_}};
  }

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

  // Inference: its own primitives (no workspace, possibly packed weights),
  // weights reordered once, now. The RNN writes h into hidden_ too.
  std::vector<Reorder> once;
  const dnnl::vanilla_rnn_forward::primitive_desc inference_pd(
      {dnnl::prop_kind::forward_inference, tanh, direction, layer_in, state,
       w_layer_any, w_iter_any, bias, layer_out, none},
      engine_);
  inference_ = dnnl::vanilla_rnn_forward(inference_pd);
  inference_args_ = {
      {DNNL_ARG_SRC_LAYER, x_},
      {DNNL_ARG_SRC_ITER, h0_},
      {DNNL_ARG_WEIGHTS_LAYER,
       Adapt(inference_pd.weights_layer_desc(), w_layer_, true, once)},
      {DNNL_ARG_WEIGHTS_ITER,
       Adapt(inference_pd.weights_iter_desc(), w_iter_, true, once)},
      {DNNL_ARG_BIAS, bias_},
      {DNNL_ARG_DST_LAYER, hidden_}};
  {
    const dnnl::matmul::primitive_desc pd(
        {hidden_rows, v_transposed_any, c_row, output_rows}, engine_);
    dense_infer_ = dnnl::matmul(pd);
    dense_infer_args_ = {{DNNL_ARG_SRC, hidden_matrix},
                         {DNNL_ARG_WEIGHTS, Adapt(pd.weights_desc(),
                                                  v_as_transposed, true, once)},
                         {DNNL_ARG_BIAS, c_},
                         {DNNL_ARG_DST, infer_y_}};
  }
  for (Reorder& r : once) r.Run(stream_);
  stream_.wait();
}

void OneDnnRnn::TrainStep() {
  threads_.Use();
  // The weights as a training loop has them after an update: into the
  // forward primitives' layouts, then (below) into the backward's.
  for (Reorder& r : before_forward_) r.Run(stream_);
  // Forward, eq. 7.10, then e = y − Y (eq. 7.11–7.13).
  forward_.execute(stream_, forward_args_);
  dense_forward_.execute(stream_, dense_forward_args_);
  for (Reorder& r : before_backward_) r.Run(stream_);
  // grad_dense (eq. 7.14) and dV.
  dense_backward_.execute(stream_, dense_backward_args_);
  dense_weights_.execute(stream_, dense_weights_args_);
  // Backward through time (eq. 7.15); it accumulates, so zero first.
  SetZero(backward_dw_layer_);
  SetZero(backward_dw_iter_);
  SetZero(dbias_);
  backward_.execute(stream_, backward_args_);
  for (Reorder& r : after_backward_) r.Run(stream_);
  stream_.wait();
  // The loss and dc = Σ e: reductions over e, in Eigen.
  const auto e = Columns(error_, shape_.output);
  loss_ = 0.5 * static_cast<double>(e.squaredNorm());
  dc_.noalias() = e.rowwise().sum();
}

void OneDnnRnn::Infer() {
  threads_.Use();
  inference_.execute(stream_, inference_args_);
  dense_infer_.execute(stream_, dense_infer_args_);
  stream_.wait();
}

PeerResult OneDnnRnn::Result() const {
  const size_t I = shape_.input, H = shape_.hidden, O = shape_.output;
  const auto h = static_cast<Eigen::Index>(H);
  PeerResult r;
  r.loss = loss_;
  r.dW.resize(H * I);
  r.dU.resize(H * H);
  // ldigo diff weights are column-major H × I (H × H).
  Eigen::Map<RowMajorMatrix>(r.dW.data(), h, static_cast<Eigen::Index>(I)) =
      Eigen::Map<const MatrixXf>(Data(dw_layer_), h,
                                 static_cast<Eigen::Index>(I));
  Eigen::Map<RowMajorMatrix>(r.dU.data(), h, h) =
      Eigen::Map<const MatrixXf>(Data(dw_iter_), h, h);
  r.db.assign(Data(dbias_), Data(dbias_) + H);
  r.dV.assign(Data(dv_), Data(dv_) + O * H);  // row-major O × H already
  r.dc.assign(dc_.data(), dc_.data() + O);
  return r;
}

}  // namespace

std::unique_ptr<Peer> MakeOneDnnPeer(const PeerProblem& problem, int threads) {
  return std::make_unique<OneDnnRnn>(problem, threads);
}

}  // namespace elman::bench
