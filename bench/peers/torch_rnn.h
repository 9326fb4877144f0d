// The problem of peer_problem.h in libtorch (PyTorch's C++ frontend), as a
// PyTorch user writes it: torch::nn::RNN + torch::nn::Linear + autograd.
#ifndef ELMAN_BENCH_PEERS_TORCH_RNN_H_
#define ELMAN_BENCH_PEERS_TORCH_RNN_H_

#include <memory>

#include "bench/peers/peer_problem.h"

namespace elman::bench {

/// nn::RNN (tanh, one layer, batch_first = false) feeding nn::Linear; the loss
/// is 0.5 · mse_loss(reduction = sum), differentiated by autograd. Sets
/// libtorch's intra-op thread count to one (at::set_num_threads(1)).
std::unique_ptr<Peer> MakeTorchPeer(const PeerProblem& problem);

}  // namespace elman::bench

#endif  // ELMAN_BENCH_PEERS_TORCH_RNN_H_
