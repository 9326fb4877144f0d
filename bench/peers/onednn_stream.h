// The streaming step of stream_peer.h on oneDNN 2.6's vanilla RNN primitive,
// with the dense output layer in Eigen (the RNN primitive has none).
#ifndef ELMAN_BENCH_PEERS_ONEDNN_STREAM_H_
#define ELMAN_BENCH_PEERS_ONEDNN_STREAM_H_

#include <memory>

#include "bench/peers/peer_problem.h"
#include "bench/peers/stream_peer.h"

namespace elman::bench {

/// One vanilla_rnn_forward (forward_inference, tanh, T = 1, B = 1) primitive
/// created once, weights reordered once into the layout it picked; each Step
/// executes it once, h(t−1) as src_iter, then y = c + V h in Eigen. Runs on
/// however many threads OpenMP gives it: the caller makes that one.
std::unique_ptr<StreamPeer> MakeOneDnnStreamPeer(const PeerProblem& problem);

}  // namespace elman::bench

#endif  // ELMAN_BENCH_PEERS_ONEDNN_STREAM_H_
