// The problem of peer_problem.h written with Eigen 3.4, the way a strong
// engineer would: parameters in Eigen matrices, every buffer allocated once,
// products written with noalias() so that no temporaries are created.
#ifndef ELMAN_BENCH_PEERS_EIGEN_RNN_H_
#define ELMAN_BENCH_PEERS_EIGEN_RNN_H_

#include <memory>

#include "bench/peers/peer_problem.h"

namespace elman::bench {

/// The textbook loop: per time step, matrix–vector products (B = 1) or small
/// matrix–matrix products (B > 1) for the forward, the loss and every term of
/// backpropagation through time.
std::unique_ptr<Peer> MakeEigenPerStepPeer(const PeerProblem& problem);

/// Restructured as in DESIGN.md §3: the input projection, the output
/// projection, grad_dense and the weight gradients are GEMMs over all steps;
/// only the recurrence through U runs step by step.
std::unique_ptr<Peer> MakeEigenHoistedPeer(const PeerProblem& problem);

}  // namespace elman::bench

#endif  // ELMAN_BENCH_PEERS_EIGEN_RNN_H_
