// The streaming step of stream_peer.h written with Eigen 3.4 the way a strong
// engineer would: parameters in Eigen matrices, h and ĥ preallocated, the
// caller's x and y mapped (no copies), products with noalias(), nothing
// allocated per step.
#ifndef ELMAN_BENCH_PEERS_EIGEN_STREAM_H_
#define ELMAN_BENCH_PEERS_EIGEN_STREAM_H_

#include <memory>

#include "bench/peers/peer_problem.h"
#include "bench/peers/stream_peer.h"

namespace elman::bench {

/// Column-major weights; ĥ = b + W x + U h (two matrix–vector products
/// accumulated in place), h = tanh(ĥ) (Eigen's vectorized tanh), y = c + V h.
std::unique_ptr<StreamPeer> MakeEigenStreamPeer(const PeerProblem& problem);

}  // namespace elman::bench

#endif  // ELMAN_BENCH_PEERS_EIGEN_STREAM_H_
