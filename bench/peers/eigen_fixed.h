// The problem of peer_problem.h and the streaming step of stream_peer.h with
// Eigen 3.4's compile-time sizes, as real-time audio code (RTNeural) writes a
// recurrent layer: Eigen::Matrix<float, H, I> and friends, every size a
// template argument, so Eigen sees fixed trip counts, aligned fixed-size
// storage and no heap, and can unroll or pick its coefficient-based kernels.
// Only the shapes instantiated in eigen_fixed.cc exist; the Covers functions
// say which.
#ifndef ELMAN_BENCH_PEERS_EIGEN_FIXED_H_
#define ELMAN_BENCH_PEERS_EIGEN_FIXED_H_

#include <cstddef>
#include <memory>

#include "bench/peers/peer_problem.h"
#include "bench/peers/stream_peer.h"

namespace elman::bench {

/// Whether MakeEigenFixedPeer has an instantiation for `shape`: B = 1 and
/// (I, H, O) one of (1, 32, 1), (16, 64, 16), (64, 128, 64) for inference,
/// the first two for a training step. T stays a run-time size.
bool EigenFixedCovers(const PeerShape& shape, bool train);

/// A fixed-size peer; nullptr if !EigenFixedCovers(shape, false). At a shape
/// not covered for training, TrainStep does nothing and Result is empty.
std::unique_ptr<Peer> MakeEigenFixedPeer(const PeerProblem& problem);

/// Whether MakeEigenFixedStreamPeer has an instantiation for H (with
/// I = O = H/4): H = 32, 64, 128.
bool EigenFixedStreamCovers(size_t hidden);

/// A fixed-size streaming step; nullptr if not covered.
std::unique_ptr<StreamPeer> MakeEigenFixedStreamPeer(
    const PeerProblem& problem);

}  // namespace elman::bench

#endif  // ELMAN_BENCH_PEERS_EIGEN_FIXED_H_
