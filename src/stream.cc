// Inference forward, eq. 7.10, keeping only h between calls.
//
// Step for one sequence of small H (internal::UsesMatVec) — the latency path
// that embedding programs use — is one FusedStep (src/forward_sequence-inl.h):
// a two-term matrix-vector product ĥ = b + x·Wᵀ + h·Uᵀ with its accumulators
// in registers and f applied there, then the dense layer. At H = 16, 32 and
// 64 the product reads Wᵀ and Uᵀ in quads (src/quads.h) on AVX-512. Run of
// such a sequence is the same FusedStep step after step (FusedSteps): Run
// and Step give the same bits.
//
// Otherwise, Step: each sequence's state row holds [x(t) | h(t−1)] side by
// side and the weights hold [Wᵀ; Uᵀ] stacked, so that ĥ(t) = [x h] [Wᵀ; Uᵀ]
// + b is a single product (K = I + H) with f fused into its store; y(t) =
// g(h Vᵀ + c) is a second. For one sequence (PanelStep) both are
// matrix-vector products over copies of Wᵀ, Uᵀ and Vᵀ in panels
// (src/panels.h), which they read as sequential streams; for several,
// GEMMs. Two state buffers alternate: a product must not overwrite the
// h(t−1) it is still reading.
//
// And Run (but for one sequence of small H) works through the sequence in
// chunks of steps, each the forward of
// src/forward_sequence-inl.h (shared with the training Forward):
//   P = X Wᵀ + b for the chunk's rows (one product),
//   ĥ(t) = P(t) + h(t−1) Uᵀ, h(t) = f(ĥ(t)) step by step (GemmSequence;
//   for one sequence the matrix-vector kernels over Step's Uᵀ in panels),
//   Ŷ = H Vᵀ + c, y = g(Ŷ) for the chunk's rows (one product),
// reading W and V once per chunk rather than once per step. The two
// projections are row-invariant products (GemmArgs::row_invariant): a row
// comes out the same however many rows share the product, so a sequence cut
// into several Runs gives the same bits as one Run. Run and Step associate
// ĥ's sum differently there, so they agree to rounding, not bit for bit.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/stream.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
// Must come after foreach_target.h.
#include <algorithm>

#include "hwy/highway.h"
#include "src/forward_sequence-inl.h"
#include "src/kernels/finite-inl.h"
#include "src/kernels/gemm-inl.h"
#include "src/panels.h"
#include "src/quads.h"
#include "src/stream_impl.h"
#include "src/transpose.h"

HWY_BEFORE_NAMESPACE();
namespace elman::HWY_NAMESPACE {

// One step of one sequence at large H (internal::UsesPanels), from the
// state row [x(t) | h(t−1)] into `next`'s h: ĥ = b + x·Wᵀ + h·Uᵀ with f in
// registers, then y = g(c + h·Vᵀ), each a matrix-vector product over
// weights in panels (src/panels.h). On a team each part computes a share of
// ĥ's panels, then, once all of h(t) is written, a share of ŷ's: every
// column's sum is the one-thread bits.
void PanelStep(Stream::Impl* stream, const float* state, float* next,
               float* y) {
  const Dims dims = stream->dims;
  const PanelTerm hidden_terms[2] = {
      {state, stream->w_panels.data(), {dims.input, dims.hidden}},
      {state + dims.input,
       stream->u_panels.data(),
       {dims.hidden, dims.hidden}}};
  const internal::PanelLayout output_layout{dims.hidden, dims.output};
  const size_t hidden_panels = hidden_terms[1].layout.panels();
  const internal::Team team = stream->team();
  const size_t parts = PanelParts(team, dims.input + dims.hidden, dims.hidden,
                                  hidden_panels, kMinWorkPerPart);
  float* hidden = next + dims.input;  // h(t) beside x(t+1)
  // Every other step reads its weights backwards, the last row of the last
  // panel first (MatVecPanels), and so starts on what the step before read
  // last, still in L1: 0.88× the time at H = 128, 0.95–0.98× at H = 256
  // and 512 (Zen 5). Its sums associate the other way round: a step's bits
  // depend on the parity of the steps since construction or Reset
  // (`current`).
  const bool descending = stream->current != 0;
  const PanelTerm output_term{hidden, stream->v_panels.data(), output_layout};
  internal::RunParts(team, parts, [&](const internal::Part& part) HWY_ATTR {
    const internal::Range mine = part.Share(hidden_panels);
    WithActivation(stream->hidden_activation, [&](auto tag) HWY_ATTR {
      MatVecPanels(hidden_terms, 2, dims.hidden, mine.begin, mine.end,
                   stream->bias_hidden.data(),
                   StoreAndActivate<decltype(tag)::value>{
                       stream->pre_hidden.data(), hidden},
                   descending, /*last_row_first=*/descending);
    });
    part.Sync();  // the dense layer reads all of h(t)
    WithActivation(stream->output_activation, [&](auto tag) HWY_ATTR {
      constexpr Activation kOutputActivation = decltype(tag)::value;
      if (dims.output <= kRowFormMaxOutputs) {
        if (part.index() == 0) {
          MatVecRows<kOutputActivation>(
              stream->v.data(), dims.hidden, dims.output, hidden, dims.hidden,
              stream->bias_output.data(), stream->pre_output.data(), y);
        }
        return;
      }
      const internal::Range output_panels = part.Share(output_layout.panels());
      MatVecPanels(
          &output_term, 1, dims.output, output_panels.begin, output_panels.end,
          stream->bias_output.data(),
          StoreAndActivate<kOutputActivation>{stream->pre_output.data(), y},
          descending, /*last_row_first=*/descending);
    });
  });
}

// `steps` FusedSteps of one sequence of small H (internal::UsesMatVec),
// each from the live state buffer's h into the other's, which then becomes
// the live one; ĥ and ŷ, which inference does not keep, go to the same
// scratch every step. Step is one of them, and so is every step of Run:
// there, step by step beats Run's hoisted projections (one product over a
// chunk for P and one for Ŷ, around a matrix-vector recurrence) because
// nothing but x and y moves through memory; the chunk's ĥ and h (64 KiB
// each at H = 64) pushed the weights out of L1.
HWY_NOINLINE void ColumnFusedSteps(Stream::Impl* stream, const float* x,
                                   size_t steps, float* y) {
  const Dims dims = stream->dims;
  for (size_t t = 0; t < steps; ++t) {
    const float* h = stream->state[stream->current].data() + dims.input;
    float* h_next = stream->state[1 - stream->current].data() + dims.input;
    FusedStep(stream->sequence_args, x + t * dims.input, h,
              stream->pre_hidden.data(), h_next, stream->pre_output.data(),
              y + t * dims.output);
    stream->current = 1 - stream->current;
  }
}

// ColumnFusedSteps, or on AVX-512, where the Stream holds its weights in
// quads, one QuadFusedSteps (h in registers from step to step), its last h
// into the other state buffer. Inline, each form out of line, and the GEMM
// form of a step too (GemmStep): when StreamStep also held the forms it did
// not take, Stream::Step at H = 32 took 1.04–1.10× as long (Zen 4,
// alternated: 69.5 against 63.1 ns, and 88.9 against 85.1 in a slow spell).
HWY_INLINE void FusedSteps(Stream::Impl* stream, const float* x, size_t steps,
                           float* y) {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
  const ForwardSequenceArgs& args = stream->sequence_args;
  if (args.w_quads != nullptr && steps > 0) {
    const Dims dims = stream->dims;
    const float* h = stream->state[stream->current].data() + dims.input;
    float* h_last = stream->state[1 - stream->current].data() + dims.input;
    // Run's steps issue each dense layer after the next step's product,
    // Step's right after its h (QuadFusedSteps, kDenseLayerLate): the
    // same bits either way.
    if (steps > 1) {
      QuadFusedStepsOfHidden</*kKeepAll=*/false, /*kDenseLayerLate=*/true>(
          args, x, steps, h, h_last, stream->pre_output.data(), y);
    } else {
      QuadFusedStepsOfHidden(args, x, steps, h, h_last,
                             stream->pre_output.data(), y);
    }
    stream->current = 1 - stream->current;
    return;
  }
#endif
  ColumnFusedSteps(stream, x, steps, y);
}

// One step of B sequences as one product with K = I + H (see the top of the
// file), h(t) into the other state buffer, which then becomes the live one.
// Out of line: its two GemmArgs gave StreamStep a 512-byte frame, aligned
// at every call, which the fused path paid as well.
HWY_NOINLINE void GemmStep(Stream::Impl* stream, const float* x, float* y) {
  const Dims dims = stream->dims;
  const size_t batch = stream->batch;
  const size_t width = dims.input + dims.hidden;  // of a state row

  GemmArgs hidden_step;
  hidden_step.m = batch;
  hidden_step.n = dims.hidden;
  hidden_step.k = width;
  hidden_step.a_row = width;
  hidden_step.b = stream->wu_transposed.data();
  hidden_step.ldb = dims.hidden;
  hidden_step.b_panels = stream->wu_panels.data_or_null();
  hidden_step.c = stream->pre_hidden.data();
  hidden_step.ldc = dims.hidden;
  hidden_step.init = GemmInit::kBias;
  hidden_step.bias = stream->bias_hidden.data();
  hidden_step.epilogue = GemmEpilogue::kStoreAndActivate;
  hidden_step.activation = stream->hidden_activation;
  hidden_step.ld_extra = width;

  GemmArgs output_step;
  output_step.m = batch;
  output_step.n = dims.output;
  output_step.k = dims.hidden;
  output_step.a_row = width;
  output_step.b = stream->v_transposed.data();
  output_step.ldb = dims.output;
  output_step.b_panels = stream->v_panels.data_or_null();
  output_step.c = stream->pre_output.data();
  output_step.ldc = dims.output;
  output_step.init = GemmInit::kBias;
  output_step.bias = stream->bias_output.data();
  output_step.epilogue = GemmEpilogue::kStoreAndActivate;
  output_step.activation = stream->output_activation;
  output_step.ld_extra = dims.output;

  float* current = stream->state[stream->current].data();
  float* next = stream->state[1 - stream->current].data();
  for (size_t b = 0; b < batch; ++b) {
    std::copy_n(x + b * dims.input, dims.input, current + b * width);
  }
  hidden_step.a = current;
  hidden_step.activated = next + dims.input;  // h(t) beside x(t+1)
  TeamGemm(stream->team(), hidden_step);
  output_step.a = next + dims.input;
  output_step.activated = y;
  TeamGemm(stream->team(), output_step);
  stream->current = 1 - stream->current;
}

// One step: FusedStep for one sequence of small H, PanelStep for one of
// large H, otherwise GemmStep. Either way h(t) goes to the other state
// buffer, which then becomes the live one. Returns false, having changed
// nothing, if x holds a value that is not finite (checked here, in the
// step's own target: a separate dispatched pass would add a call to the
// latency path).
bool StreamStep(Stream::Impl* stream, const float* x, float* y) {
  const Dims dims = stream->dims;
  const size_t batch = stream->batch;
  if (!AllFinite(x, batch * dims.input)) return false;
  if (internal::UsesMatVec(batch, dims.hidden)) {
    FusedSteps(stream, x, 1, y);
  } else if (internal::UsesPanels(batch, dims.hidden)) {
    float* state = stream->state[stream->current].data();
    std::copy_n(x, dims.input, state);
    PanelStep(stream, state, stream->state[1 - stream->current].data(), y);
    stream->current = 1 - stream->current;
  } else {
    GemmStep(stream, x, y);
  }
  return true;
}

// `steps` steps in chunks (see the top of the file), each chunk one
// ForwardSequence. Out of line, as GemmStep is.
HWY_NOINLINE void ChunkedRun(Stream::Impl* stream, const float* x, size_t steps,
                             float* y) {
  const Dims dims = stream->dims;
  const size_t batch = stream->batch;
  const size_t block = batch * dims.hidden;       // one step of h
  const size_t width = dims.input + dims.hidden;  // of a state row
  float* state = stream->state[stream->current].data();

  ForwardSequenceArgs sequence = stream->sequence_args;
  // Each chunk starts from h in the state rows, beside x.
  sequence.h_initial = state + dims.input;
  sequence.h_initial_stride = width;
  sequence.pre_hidden = stream->pre_hidden.data();
  sequence.hidden = stream->hidden.data();
  sequence.pre_output = stream->pre_output.data();
  sequence.pack = stream->gemm_pack.data();
  sequence.team = stream->team();
  for (size_t t0 = 0; t0 < steps; t0 += stream->chunk_steps) {
    sequence.steps = std::min(stream->chunk_steps, steps - t0);
    sequence.x = x + t0 * batch * dims.input;
    sequence.y = y + t0 * batch * dims.output;
    ForwardSequence(sequence);
    // The chunk's last h becomes the state the next chunk (or Step) reads.
    const float* last = sequence.hidden + (sequence.steps - 1) * block;
    for (size_t b = 0; b < batch; ++b) {
      std::copy_n(last + b * dims.hidden, dims.hidden,
                  state + b * width + dims.input);
    }
  }
}

// `steps` steps: FusedSteps for one sequence of small H, else ChunkedRun.
void StreamRun(Stream::Impl* stream, const float* x, size_t steps, float* y) {
  if (internal::UsesMatVec(stream->batch, stream->dims.hidden)) {
    FusedSteps(stream, x, steps, y);
  } else {
    ChunkedRun(stream, x, steps, y);
  }
}

}  // namespace elman::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "src/dispatch.h"
#include "src/validate.h"

namespace elman {
HWY_EXPORT(StreamStep);
HWY_EXPORT(StreamRun);

namespace {
constexpr const char* kConstructor = "elman::Stream";
}  // namespace

// Rows (steps × sequences) that a chunk of Run covers: enough to run its
// projections as products at GEMM speed, and on a pool to pay for their
// forks and joins (at B = 32 a chunk of 64 rows was 2 steps, 3 forks a
// chunk), few enough that the chunk's ĥ, h and ŷ stay small (256 rows of
// H floats each: 128 KiB at H = 128). One thread was as fast with 256 as
// with 64 on every shape of the benchmarks (elman_bench_passes,
// BM_Inference, Zen 5).
constexpr size_t kChunkRows = 256;

// Which weights the stream reads in panels (src/panels.h), each a k × n
// matrix of PanelFloats floats, and none otherwise:
//  - one sequence above kMatVecMaxHidden (internal::UsesPanels): Wᵀ, Uᵀ
//    and Vᵀ, in Step's and Run's matrix-vector products;
//  - B > 1: [Wᵀ; Uᵀ] and Vᵀ in Step, Uᵀ in Run's recurrence, as the GEMM's
//    B (GemmArgs::b_panels) rather than packed at every step.
enum class PanelUse { kOneSequence, kBatched, kBoth };
size_t PanelFloats(size_t batch, size_t hidden, size_t k, size_t n,
                   PanelUse use) {
  const bool one_sequence = internal::UsesPanels(batch, hidden);
  const bool reads = use == PanelUse::kOneSequence ? one_sequence
                     : use == PanelUse::kBatched   ? batch > 1
                                                   : one_sequence || batch > 1;
  return reads ? internal::PanelLayout{k, n}.size() : 0;
}

Stream::Impl::Impl(const Model& model, size_t batch_size, ThreadPool* threads)
    : dims(model.dims()),
      batch(batch_size),
      hidden_activation(model.hidden_activation()),
      output_activation(model.output_activation()),
      // Run of one sequence of small H steps through FusedSteps, with no
      // chunk: ĥ, h and ŷ then hold one step (at H = 64, 1.3 KiB instead of
      // 144 KiB).
      chunk_steps(internal::UsesMatVec(batch_size, dims.hidden)
                      ? 1
                      : std::max<size_t>(1, kChunkRows / batch_size)),
      wu_transposed((dims.input + dims.hidden) * dims.hidden),
      v_transposed(dims.hidden * dims.output),
      v(dims.output * dims.hidden),
      w_panels(PanelFloats(batch_size, dims.hidden, dims.input, dims.hidden,
                           PanelUse::kOneSequence)),
      u_panels(PanelFloats(batch_size, dims.hidden, dims.hidden, dims.hidden,
                           PanelUse::kBoth)),
      v_panels(PanelFloats(batch_size, dims.hidden, dims.hidden, dims.output,
                           PanelUse::kBoth)),
      wu_panels(PanelFloats(batch_size, dims.hidden, dims.input + dims.hidden,
                            dims.hidden, PanelUse::kBatched)),
      w_quads(internal::QuadFloatsIfUsed(batch_size, dims.input, dims.hidden)),
      u_quads(internal::QuadFloatsIfUsed(batch_size, dims.hidden, dims.hidden)),
      b_quads(internal::QuadFloatsIfUsed(batch_size, 1, dims.hidden)),
      bias_hidden(dims.hidden),
      bias_output(dims.output),
      pre_hidden(chunk_steps * batch_size * dims.hidden),
      hidden(chunk_steps * batch_size * dims.hidden),
      pre_output(chunk_steps * batch_size * dims.output),
      pool(threads != nullptr ? &threads->impl() : nullptr),
      gemm_pack(kGemmPackBFloats * (threads != nullptr ? threads->size() : 1)),
      state{internal::Buffer(batch_size * (dims.input + dims.hidden)),
            internal::Buffer(batch_size * (dims.input + dims.hidden))} {
  sequence_args.dims = dims;
  sequence_args.batch = batch;
  sequence_args.hidden_activation = hidden_activation;
  sequence_args.output_activation = output_activation;
  // [Wᵀ; Uᵀ]: Wᵀ is its first I rows, Uᵀ the rest.
  sequence_args.w_transposed = wu_transposed.data();
  sequence_args.u_transposed = wu_transposed.data() + dims.input * dims.hidden;
  sequence_args.v_transposed = v_transposed.data();
  sequence_args.v = v.data();
  sequence_args.u_panels = u_panels.data_or_null();
  sequence_args.w_quads = w_quads.data_or_null();
  sequence_args.u_quads = u_quads.data_or_null();
  sequence_args.b_quads = b_quads.data_or_null();
  sequence_args.bias_hidden = bias_hidden.data();
  sequence_args.bias_output = bias_output.data();
  LoadWeights(model);
}

void Stream::Impl::LoadWeights(const Model& model) {
  const Parameters& params = model.parameters();
  // [Wᵀ; Uᵀ]: rows 0…I−1 are Wᵀ, rows I…I+H−1 are Uᵀ.
  internal::Transpose(params.W().data(), dims.hidden, dims.input,
                      wu_transposed.data());
  internal::Transpose(params.U().data(), dims.hidden, dims.hidden,
                      wu_transposed.data() + dims.input * dims.hidden);
  internal::Transpose(params.V().data(), dims.output, dims.hidden,
                      v_transposed.data());
  std::copy(params.V().begin(), params.V().end(), v.data());
  if (w_panels.size() > 0) {
    internal::PackPanels(wu_transposed.data(), {dims.input, dims.hidden},
                         w_panels.data());
  }
  if (u_panels.size() > 0) {
    internal::PackPanels(wu_transposed.data() + dims.input * dims.hidden,
                         {dims.hidden, dims.hidden}, u_panels.data());
  }
  if (v_panels.size() > 0) {
    internal::PackPanels(v_transposed.data(), {dims.hidden, dims.output},
                         v_panels.data());
  }
  if (wu_panels.size() > 0) {
    internal::PackPanels(wu_transposed.data(),
                         {dims.input + dims.hidden, dims.hidden},
                         wu_panels.data());
  }
  if (w_quads.size() > 0) {
    internal::PackQuadsFromRows(params.W().data(), dims.input, dims.hidden,
                                w_quads.data());
    internal::PackQuadsFromRows(params.U().data(), dims.hidden, dims.hidden,
                                u_quads.data());
    internal::PackQuadsFromRows(params.b().data(), 1, dims.hidden,
                                b_quads.data());
  }
  std::copy(params.b().begin(), params.b().end(), bias_hidden.data());
  std::copy(params.c().begin(), params.c().end(), bias_output.data());
}

void Stream::Impl::CheckModel(const char* function, const Model& model) {
  const Parameters& params = model.parameters();
  internal::CheckFinite(function, "model W", params.W());
  internal::CheckFinite(function, "model U", params.U());
  internal::CheckFinite(function, "model b", params.b());
  internal::CheckFinite(function, "model V", params.V());
  internal::CheckFinite(function, "model c", params.c());
}

std::unique_ptr<Stream::Impl> Stream::Impl::Create(const Model& model,
                                                   size_t batch,
                                                   ThreadPool* threads) {
  if (batch == 0) internal::Fail(kConstructor, "batch is 0");
  CheckModel(kConstructor, model);
  return std::make_unique<Impl>(model, batch, threads);
}

Stream::Stream(const Model& model, size_t batch)
    : impl_(Impl::Create(model, batch, nullptr)) {}
Stream::Stream(const Model& model, size_t batch, ThreadPool& threads)
    : impl_(Impl::Create(model, batch, &threads)) {}
Stream::~Stream() = default;
Stream::Stream(Stream&&) noexcept = default;
Stream& Stream::operator=(Stream&&) noexcept = default;

void Stream::Load(const Model& model) {
  constexpr const char* kFunction = "elman::Stream::Load";
  internal::CheckSameDims(kFunction, "model", model.dims(), impl_->dims);
  if (model.hidden_activation() != impl_->hidden_activation ||
      model.output_activation() != impl_->output_activation) {
    internal::Fail(kFunction, "model has other activations than the stream");
  }
  Impl::CheckModel(kFunction, model);
  impl_->LoadWeights(model);
}

size_t Stream::batch() const { return impl_->batch; }
Dims Stream::dims() const { return impl_->dims; }

// Both Resets restart the count of steps whose parity orders Step's sums
// (PanelStep): Reset and the same Steps give the same bits, whatever the
// stream did before.
void Stream::Reset() {
  const size_t width = impl_->dims.input + impl_->dims.hidden;
  impl_->current = 0;
  std::fill_n(impl_->state[0].data(), impl_->batch * width, 0.0f);
}

void Stream::Reset(std::span<const float> h0) {
  constexpr const char* kFunction = "elman::Stream::Reset";
  const Dims dims = impl_->dims;
  internal::CheckSize(kFunction, "h0", h0.size(), impl_->batch * dims.hidden,
                      "batch*hidden");
  internal::CheckFinite(kFunction, "h0", h0);
  const size_t width = dims.input + dims.hidden;
  impl_->current = 0;
  float* state = impl_->state[0].data();
  for (size_t b = 0; b < impl_->batch; ++b) {
    std::copy_n(h0.data() + b * dims.hidden, dims.hidden,
                state + b * width + dims.input);
  }
}

void Stream::Step(std::span<const float> x, std::span<float> y) {
  constexpr const char* kFunction = "elman::Stream::Step";
  const Dims dims = impl_->dims;
  internal::CheckSize(kFunction, "x", x.size(), impl_->batch * dims.input,
                      "batch*input");
  internal::CheckSize(kFunction, "y", y.size(), impl_->batch * dims.output,
                      "batch*output");
  if (!ELMAN_DISPATCH(StreamStep)(impl_.get(), x.data(), y.data())) {
    internal::CheckFinite(kFunction, "x", x);  // throws, naming the element
    internal::Fail(kFunction, "x holds a value that is not finite");
  }
}

void Stream::Run(std::span<const float> x, size_t steps, std::span<float> y) {
  constexpr const char* kFunction = "elman::Stream::Run";
  const Dims dims = impl_->dims;
  if (steps == 0)
    internal::Fail(kFunction, "steps (T) is 0, must be at least 1");
  internal::CheckSize(kFunction, "x", x.size(),
                      steps * impl_->batch * dims.input, "steps*batch*input");
  internal::CheckSize(kFunction, "y", y.size(),
                      steps * impl_->batch * dims.output, "steps*batch*output");
  internal::CheckFinite(kFunction, "x", x);
  ELMAN_DISPATCH(StreamRun)(impl_.get(), x.data(), steps, y.data());
}

std::span<const float> Stream::hidden(size_t sequence) const {
  if (sequence >= impl_->batch) {
    internal::Fail(
        "elman::Stream::hidden",
        ("sequence " + std::to_string(sequence) +
         " is out of range, batch is " + std::to_string(impl_->batch))
            .c_str());
  }
  const Dims dims = impl_->dims;
  const size_t width = dims.input + dims.hidden;
  return {impl_->state[impl_->current].data() + sequence * width + dims.input,
          dims.hidden};
}

}  // namespace elman
#endif  // HWY_ONCE
