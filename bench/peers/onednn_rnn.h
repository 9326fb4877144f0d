// The problem of peer_problem.h on oneDNN 2.6's vanilla RNN primitive, with
// the dense output layer (which the RNN primitive does not have) on oneDNN's
// matmul primitive.
#ifndef ELMAN_BENCH_PEERS_ONEDNN_RNN_H_
#define ELMAN_BENCH_PEERS_ONEDNN_RNN_H_

#include <memory>

#include "bench/peers/peer_problem.h"

namespace elman::bench {

/// vanilla_rnn_forward (forward_training; forward_inference for Infer) and
/// vanilla_rnn_backward, tanh, unidirectional left-to-right, one layer, and
/// three matmuls for the dense layer; primitives and memories created once
/// here, weights in the layouts the primitives pick. Runs on `threads`
/// OpenMP threads (omp_set_num_threads before creating the primitives and
/// before each call, so that peers of different thread counts can share a
/// process); the process's OMP_NUM_THREADS must allow that many.
std::unique_ptr<Peer> MakeOneDnnPeer(const PeerProblem& problem,
                                     int threads = 1);

}  // namespace elman::bench

#endif  // ELMAN_BENCH_PEERS_ONEDNN_RNN_H_
