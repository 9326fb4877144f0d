// The streaming (inference) problem of elman_bench_peers: the model of
// peer_problem.h (f = tanh, g = identity) run one time step of one sequence
// per call, h(t) kept between calls, as elman::Stream::Step does:
//   h(t) = tanh(W x(t) + U h(t−1) + b),   y(t) = V h(t) + c,   h(−1) = 0.
// Weights come from a PeerProblem (its x holds the inputs the benchmark
// cycles through; its targets are unused).
//
// Like peer_problem.h, this header is included by translation units built
// with -O3 -march=native and by ones built with the project's flags: only
// virtual calls and std::span cross between them.
#ifndef ELMAN_BENCH_PEERS_STREAM_PEER_H_
#define ELMAN_BENCH_PEERS_STREAM_PEER_H_

#include <span>

namespace elman::bench {

/// One implementation of the streaming step. The constructor (each peer's
/// factory) does the set-up a user would do once — layout conversion,
/// buffers, primitive creation — and sets h = 0; Step, which the benchmark
/// times, must not allocate.
class StreamPeer {
 public:
  virtual ~StreamPeer() = default;
  /// One time step: x(t) [I] in, y(t) [O] out; h(t−1) → h(t).
  virtual void Step(std::span<const float> x, std::span<float> y) = 0;
  /// h(t) of the last Step, [H].
  virtual std::span<const float> Hidden() const = 0;
};

}  // namespace elman::bench

#endif  // ELMAN_BENCH_PEERS_STREAM_PEER_H_
