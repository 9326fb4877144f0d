#include "elman/error.h"
#include "src/fused_path.h"
#include "src/gemm_choice.h"
#include "src/kernels/gemm-inl.h"
#include "src/panels.h"
#include "src/quads.h"
#include "src/validate.h"
#include "src/workspace_impl.h"

namespace elman {
namespace {

Dims CheckedDims(Dims dims, size_t max_steps, size_t max_batch) {
  internal::CheckDims("elman::Workspace", dims);
  if (max_steps == 0) internal::Fail("elman::Workspace", "max_steps is 0");
  if (max_batch == 0) internal::Fail("elman::Workspace", "max_batch is 0");
  return dims;
}

// U (or Uᵀ) in panels, where a pass may read it that way.
size_t RecurrentPanelFloats(Dims d, size_t max_batch) {
  return internal::UsesPanels(1, d.hidden) || max_batch > 1
             ? internal::PanelLayout{d.hidden, d.hidden}.size()
             : 0;
}

// `floats` where some sequence may run the fused steps, which alone read
// Wᵀ and Vᵀ (Workspace::Impl::ReadsTransposedWeights), else none.
size_t FusedStepsFloats(const Dims& d, size_t floats) {
  return internal::UsesFusedSteps(1, d.hidden) ? floats : 0;
}

}  // namespace

Workspace::Impl::Impl(Dims d, size_t steps, size_t batch, ThreadPool* threads)
    : dims(CheckedDims(d, steps, batch)),
      max_steps(steps),
      max_batch(batch),
      x(steps * batch * d.input),
      pre_hidden(steps * batch * d.hidden),
      hidden((steps + 1) * batch * d.hidden),
      pre_output(steps * batch * d.output),
      output_error(steps * batch * d.output),
      delta(steps * batch * d.hidden),
      weight_gradient_transposed(
          d.input < internal::Buffer::kSlackFloats ? d.input * d.hidden : 0),
      w_transposed(FusedStepsFloats(d, d.input * d.hidden)),
      u_transposed(batch > 1 || !internal::UsesPanels(1, d.hidden)
                       ? d.hidden * d.hidden
                       : 0),
      v_transposed(FusedStepsFloats(d, d.hidden * d.output)),
      // Sized for one sequence, the only one that reads them.
      w_quads(internal::QuadFloatsIfUsed(1, d.input, d.hidden)),
      u_quads(internal::QuadFloatsIfUsed(1, d.hidden, d.hidden)),
      b_quads(internal::QuadFloatsIfUsed(1, 1, d.hidden)),
      v_carry_quads(internal::QuadFloatsIfUsed(1, d.output, d.hidden)),
      u_carry_quads(internal::QuadFloatsIfUsed(1, d.hidden, d.hidden)),
      u_transposed_panels(RecurrentPanelFloats(d, batch)),
      u_panels(RecurrentPanelFloats(d, batch)),
      pool(threads != nullptr ? &threads->impl() : nullptr),
      gemm_pack_stride(internal::WeightGradientsMayPackA(d.input, d.hidden,
                                                         d.output, steps, batch)
                           ? kGemmPackFloats
                           : kGemmPackBFloats),
      gemm_pack(gemm_pack_stride * (threads != nullptr ? threads->size() : 1)) {
  // Whether those products pack A is timed once per process and target,
  // here rather than in the first Backward (src/gemm_choice.h).
  if (gemm_pack_stride == kGemmPackFloats) internal::ChoosePackStridedA();
}

Workspace::Workspace(Dims dims, size_t max_steps, size_t max_batch)
    : impl_(std::make_unique<Impl>(dims, max_steps, max_batch)) {}
Workspace::Workspace(Dims dims, size_t max_steps, size_t max_batch,
                     ThreadPool& threads)
    : impl_(std::make_unique<Impl>(dims, max_steps, max_batch, &threads)) {}
Workspace::~Workspace() = default;
Workspace::Workspace(Workspace&&) noexcept = default;
Workspace& Workspace::operator=(Workspace&&) noexcept = default;

Dims Workspace::dims() const { return impl_->dims; }
size_t Workspace::max_steps() const { return impl_->max_steps; }
size_t Workspace::max_batch() const { return impl_->max_batch; }
SequenceShape Workspace::sequence() const { return impl_->seq; }

std::span<const float> Workspace::pre_hidden() const {
  return {impl_->pre_hidden.data(),
          impl_->seq.steps * impl_->seq.batch * impl_->dims.hidden};
}
std::span<const float> Workspace::hidden() const {
  const size_t block = impl_->seq.batch * impl_->dims.hidden;
  return {impl_->hidden.data() + block, impl_->seq.steps * block};
}
std::span<const float> Workspace::final_hidden() const {
  // Before any Forward there is no h(T−1).
  if (impl_->seq.steps == 0) return {};
  const size_t block = impl_->seq.batch * impl_->dims.hidden;
  return {impl_->hidden.data() + impl_->seq.steps * block, block};
}
std::span<const float> Workspace::pre_output() const {
  return {impl_->pre_output.data(),
          impl_->seq.steps * impl_->seq.batch * impl_->dims.output};
}

}  // namespace elman
