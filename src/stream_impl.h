// What a Stream holds (private to the library).
#ifndef ELMAN_SRC_STREAM_IMPL_H_
#define ELMAN_SRC_STREAM_IMPL_H_

#include <memory>

#include "elman/export.h"
#include "elman/model.h"
#include "elman/stream.h"
#include "elman/threads.h"
#include "src/buffer.h"
#include "src/forward_sequence_args.h"
#include "src/kernels/gemm-inl.h"
#include "src/thread_pool.h"

namespace elman {

// Nested in an exported class, Impl would be exported too: it is not API.
struct ELMAN_NO_EXPORT Stream::Impl {
  Impl(const Model& model, size_t batch, ThreadPool* threads);
  /// Validates (throws Error) before anything is allocated.
  static std::unique_ptr<Impl> Create(const Model& model, size_t batch,
                                      ThreadPool* threads);
  static void CheckModel(const char* function, const Model& model);
  void LoadWeights(const Model& model);

  Dims dims;
  size_t batch;
  Activation hidden_activation;
  Activation output_activation;

  // Steps whose input and output projections Run does as one product each
  // (1 where Run steps through FusedSteps).
  size_t chunk_steps;

  internal::Buffer wu_transposed;  // [Wᵀ; Uᵀ], (I+H)×H
  internal::Buffer v_transposed;   // Vᵀ, H×O
  internal::Buffer v;              // V, O×H (the fused step's row form)
  // Wᵀ, Uᵀ, Vᵀ and [Wᵀ; Uᵀ] in the layout of src/panels.h, where Step or
  // Run reads them so (PanelFloats in src/stream.cc; empty otherwise).
  internal::Buffer w_panels;
  internal::Buffer u_panels;
  internal::Buffer v_panels;
  internal::Buffer wu_panels;
  // Wᵀ, Uᵀ and b in quads (src/quads.h), where Step reads them so
  // (internal::UsesQuads; empty otherwise).
  internal::Buffer w_quads;
  internal::Buffer u_quads;
  internal::Buffer b_quads;
  internal::Buffer bias_hidden;  // b
  internal::Buffer bias_output;  // c
  // ĥ, h and ŷ: Step's [B][·], or one chunk of Run's, [chunk_steps][B][·].
  internal::Buffer pre_hidden;
  internal::Buffer hidden;
  internal::Buffer pre_output;
  // The pool Step and Run share their work with (nullptr: none), and the
  // products' pack scratch, kGemmPackBFloats per thread.
  ThreadPool::Impl* pool = nullptr;
  internal::Buffer gemm_pack;  // GemmArgs::pack

  internal::Team team() { return {pool, gemm_pack.data(), kGemmPackBFloats}; }
  // The shape, activations and weight buffers as ForwardSequence and
  // FusedStep read them, filled once by the constructor (the buffers never
  // move; Load rewrites their contents): Step passes it as it is, Run adds
  // a chunk's buffers to a copy.
  internal::ForwardSequenceArgs sequence_args;
  // Per sequence a row [x(t) | h(t−1)]; state[current] is the live one.
  internal::Buffer state[2];
  int current = 0;
};

}  // namespace elman

#endif  // ELMAN_SRC_STREAM_IMPL_H_
