// elman itself and its double-precision reference as implementations of the
// problem in peer_problem.h, plus the reference's results as the ground truth
// of the agreement check; and elman::Stream as an implementation of the
// streaming step of stream_peer.h.
#ifndef ELMAN_BENCH_PEERS_ELMAN_PEER_H_
#define ELMAN_BENCH_PEERS_ELMAN_PEER_H_

#include <cstddef>
#include <memory>
#include <vector>

#include "bench/peers/peer_problem.h"
#include "bench/peers/stream_peer.h"

namespace elman::bench {

/// elman::Forward/Loss/Backward on the dispatched SIMD path. Infer runs
/// elman::Stream (the inference path, keeping only h) if `stream_inference`,
/// else the training Forward (which stores ĥ, h, ŷ for Backward). With
/// `threads` > 1, the workspace and the stream share an elman::ThreadPool of
/// that many threads, which the peer owns.
std::unique_ptr<Peer> MakeElmanPeer(const PeerProblem& problem,
                                    bool stream_inference, size_t threads = 1);

/// elman::reference (double, textbook loops, allocates on every call).
std::unique_ptr<Peer> MakeReferencePeer(const PeerProblem& problem);

/// elman::Stream::Step on the dispatched SIMD path, one sequence (B = 1),
/// on a pool of `threads` threads when that is more than one.
std::unique_ptr<StreamPeer> MakeElmanStreamPeer(const PeerProblem& problem,
                                                size_t threads = 1);

/// The reference's results in double, unrounded.
struct ReferenceResult {
  double loss = 0.0;
  std::vector<double> y;  ///< [T][B][O]
  std::vector<double> dW, dU, db, dV, dc;
};
ReferenceResult RunReference(const PeerProblem& problem);

}  // namespace elman::bench

#endif  // ELMAN_BENCH_PEERS_ELMAN_PEER_H_
