// The problem every implementation in elman_bench_peers solves, and the
// interface each one implements. The model is DESIGN.md §1 with f = tanh and
// g = identity: ĥ(t) = W x(t) + U h(t−1) + b, h(t) = tanh(ĥ(t)),
// y(t) = V h(t) + c (eq. 7.10), L = Σ_t ½‖y(t) − Y(t)‖² (eq. 7.11–7.13),
// h(−1) = h0 = 0, and the gradients of eq. 7.14–7.15 summed over t and b.
//
// This header holds plain data, trivial arithmetic and one abstract class: it
// is included both by translation units built with -O3 -march=native (the
// peers) and by ones built with the project's baseline flags, so the code the
// two kinds of units exchange is kept to virtual calls and std::vector.
#ifndef ELMAN_BENCH_PEERS_PEER_PROBLEM_H_
#define ELMAN_BENCH_PEERS_PEER_PROBLEM_H_

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

namespace elman::bench {

/// Sizes: input I, hidden H, output O, time steps T, batch B.
struct PeerShape {
  size_t input = 0;
  size_t hidden = 0;
  size_t output = 0;
  size_t steps = 0;
  size_t batch = 0;

  size_t rows() const { return steps * batch; }
};

/// Flops of one forward pass, 2·T·B·H·(I + H + O): the three products W x,
/// U h and V h per step and sequence (activations and additions not counted).
inline double ForwardFlops(const PeerShape& s) {
  return 2.0 * static_cast<double>(s.steps * s.batch * s.hidden) *
         static_cast<double>(s.input + s.hidden + s.output);
}

/// A training step (forward + loss + backward) is counted as 3× the forward:
/// backward does two products per forward product (the carry/grad_dense
/// products and the weight-gradient outer products).
inline double TrainStepFlops(const PeerShape& s) {
  return 3.0 * ForwardFlops(s);
}

/// Inputs shared by all implementations, in elman's layouts: parameters
/// row-major (W H×I, U H×H, b H, V O×H, c O), x [T][B][I] and the targets Y
/// [T][B][O] time-major. h0 is zero for everyone.
struct PeerProblem {
  PeerShape shape;
  std::vector<float> W, U, b, V, c;
  std::vector<float> x;
  std::vector<float> target;
};

/// What a training step produced, converted back to elman's layouts: the loss
/// and dW, dU, db, dV, dc (sums over t and b).
struct PeerResult {
  double loss = 0.0;
  std::vector<float> dW, dU, db, dV, dc;
};

/// One implementation of the problem. The constructor (in each peer's factory)
/// does all the set-up a user would do once — layout conversion, buffers,
/// primitive creation — so that TrainStep and Infer, which the benchmarks
/// time, do only per-step work (libtorch's autograd and the double reference
/// still allocate inside: that is how they run).
class Peer {
 public:
  virtual ~Peer() = default;
  /// Forward (storing what backward needs), loss, backward: fills the
  /// gradients and the loss. Called repeatedly with the same weights.
  virtual void TrainStep() = 0;
  /// The cheapest forward-only (inference) pass the implementation offers.
  virtual void Infer() = 0;
  /// Loss and gradients of the last TrainStep, in elman's layouts.
  virtual PeerResult Result() const = 0;
  /// y, [T][B][O], of the last Infer.
  virtual std::span<const float> InferOutput() const = 0;
};

}  // namespace elman::bench

#endif  // ELMAN_BENCH_PEERS_PEER_PROBLEM_H_
