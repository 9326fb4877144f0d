// Backpropagation through time, eq. 7.14–7.15, restructured as DESIGN.md §3
// describes. Only the carry through U is sequential; everything else is done
// for all T·B rows at once:
//   E = w ⊙ (g(Ŷ) − Y) ⊙ g'(Ŷ)                      output error, all steps
//   Δ = E V                                         grad_dense(t), eq. 7.14
//   δ(T−1) = Δ(T−1) ⊙ f'(ĥ(T−1))
//   δ(t)   = (Δ(t) + δ(t+1) U) ⊙ f'(ĥ(t))           eq. 7.15, t = T−2…0
//   dW = Δᵀ X, dU = Δᵀ H₋₁, dV = Eᵀ H, db = Σ δ, dc = Σ e, dX = Δ W,
//   dh0 = δ(0) U
// (row-vector form: δ(t+1) U is Uᵀ δ(t+1), and it reads U by rows), in the
// form each shape runs it: src/carry-inl.h. One sequence of a small H (the
// fused path) forms grad_dense(t) = e(t) V inside each step of the carry
// instead, and at H = 16, 32 and 64 on AVX-512 the carry also sums db.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/backward.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
// Must come after foreach_target.h.
#include "hwy/highway.h"
#include "src/backward-inl.h"
#include "src/carry-inl.h"
#include "src/fused_path.h"
#include "src/gemm_choice.h"
#include "src/kernels/activation-inl.h"
#include "src/kernels/elementwise-inl.h"
#include "src/kernels/gemm-inl.h"
#include "src/kernels/matvec-inl.h"
#include "src/kernels/outer_product-inl.h"
#include "src/panels.h"
#include "src/parallel_gemm-inl.h"
#include "src/thread_pool.h"
#include "src/transpose.h"
#include "src/workspace_impl.h"

HWY_BEFORE_NAMESPACE();
namespace elman::HWY_NAMESPACE {

// Σ_r δ(r) a(r)ᵀ over the rows r of Δ (or E): a weight gradient, C = Δᵀ A.
// For one sequence (`one_sequence`) whose product a pool would not cut
// (less than two parts' worth of work for TeamGemm, at the pool's default
// scale) and whose operands fit in L2 (its kernel reads all the inputs once
// per tile of rows): summed where the operands lie, the gradient's tiles in
// registers over all steps (src/kernels/outer_product-inl.h), on the
// calling thread whatever the team, so that the bits do not depend on it.
// Measured on Zen 5, the training step at B = 1: 0.87–0.92× the time at
// (1,32,1,25,1), 0.95× at (16,64,16,100,1), 0.97–0.98× at
// (64,128,64,100,1). Otherwise one product whose A is the error matrix read
// transposed, on the team's threads, each its own rows of the gradient.
HWY_INLINE void WeightGradient(const internal::Team& team, bool one_sequence,
                               const float* errors, size_t error_width,
                               const float* inputs, size_t input_width,
                               size_t rows, float* gradient, float* pack) {
  GemmArgs product;
  product.m = error_width;
  product.n = input_width;
  product.k = rows;
  product.a = errors;
  product.a_row = 1;
  product.a_col = error_width;
  product.b = inputs;
  product.ldb = input_width;
  product.c = gradient;
  product.ldc = input_width;
  product.pack = pack;
#if !HWY_HAVE_SCALABLE
  // TeamGemm's own rule: less than two parts' work, it runs whole.
  const bool never_cut = GemmWork(product) < 2.0 * GemmMinWorkPerPart(product);
  if (one_sequence && never_cut &&
      rows * (error_width + input_width) <=
          internal::kInPlaceGradientMaxFloats) {
    OuterProductSum(errors, error_width, error_width, inputs, input_width,
                    input_width, rows, gradient, input_width);
    return;
  }
#else
  (void)one_sequence;
#endif
  // Δ read transposed, a stride of error_width floats along K: packed where
  // this target was measured faster so (src/gemm_choice.h) and the
  // workspace made room for it; the same bits either way.
  product.pack_strided_a = team.pack_stride >= kGemmPackFloats &&
                           internal::PacksStridedA(HWY_TARGET);
  TeamGemm(team, product);
}

// C (m×n) = A (m×k, row-major) · B (k×n), on the team's threads.
HWY_INLINE void Product(const internal::Team& team, const float* a,
                        const float* b, size_t m, size_t k, size_t n, float* c,
                        float* pack) {
  GemmArgs product;
  product.m = m;
  product.n = n;
  product.k = k;
  product.a = a;
  product.a_row = k;
  product.b = b;
  product.ldb = n;
  product.c = c;
  product.ldc = n;
  product.pack = pack;
  TeamGemm(team, product);
}

// Elementwise work is split only into parts of at least this many elements
// (a few microseconds each, against the fork and join's one).
inline constexpr double kMinElementsPerPart = 1 << 16;

// db = Σ δ(t) (where the carry did not sum it), dc = Σ e(t): sums[j] =
// Σ_r matrix[r·cols + j], the columns shared out among the team's threads
// (each column's sum is one thread's, in the same order as on one thread).
HWY_INLINE void TeamColumnSums(const internal::Team& team, const float* matrix,
                               size_t rows, size_t cols, float* sums) {
  const size_t lanes = hn::Lanes(hn::ScalableTag<float>());
  const size_t vectors = (cols + lanes - 1) / lanes;
  const size_t parts = std::min(
      vectors,
      team.PartsFor(static_cast<double>(rows * cols), kMinElementsPerPart));
  internal::RunParts(team, parts, [&](const internal::Part& part) HWY_ATTR {
    const internal::Range mine = part.Share(vectors);
    const size_t begin = mine.begin * lanes;
    const size_t end = std::min(cols, mine.end * lanes);
    ColumnSums(matrix + begin, rows, end - begin, cols, sums + begin);
  });
}

// e(t) = w(t) (y(t) − Y(t)) ⊙ g'(ŷ(t)) for every step (`step_size` floats
// each), the steps shared out among the team's threads; unweighted, each
// thread's steps in one call.
HWY_INLINE void TeamOutputError(const internal::Team& team, Activation g,
                                const float* pre_output, const float* target,
                                const float* step_weights, size_t steps,
                                size_t step_size, float* errors) {
  const size_t parts = team.PartsFor(static_cast<double>(steps * step_size),
                                     kMinElementsPerPart);
  internal::RunParts(team, parts, [&](const internal::Part& part) HWY_ATTR {
    const internal::Range mine = part.Share(steps);
    const size_t offset = mine.begin * step_size;
    if (step_weights == nullptr) {
      OutputError(g, pre_output + offset, target + offset, 1.0f,
                  errors + offset, (mine.end - mine.begin) * step_size);
      return;
    }
    for (size_t t = mine.begin; t < mine.end; ++t) {
      const size_t at = t * step_size;
      OutputError(g, pre_output + at, target + at, step_weights[t], errors + at,
                  step_size);
    }
  });
}

// inout[i] += in[i] for i < n.
HWY_INLINE void AddTo(const float* in, float* inout, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t lanes = hn::Lanes(d);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    hn::StoreU(hn::Add(hn::LoadU(d, inout + i), hn::LoadU(d, in + i)), d,
               inout + i);
  }
  if (i < n) {
    const size_t rest = n - i;
    StorePartial(
        d,
        hn::Add(LoadPartial(d, inout + i, rest), LoadPartial(d, in + i, rest)),
        inout + i, rest);
  }
}

// Everything after e(t), shared with BackwardFromOutputGradient (declared
// and described in src/backward-inl.h).
void BackwardFromOutputError(const Model* model, Workspace::Impl* ws,
                             const float* final_hidden_gradient,
                             Gradients* grads, float* dx, float* dh0) {
  const Dims dims = model->dims();
  const size_t steps = ws->seq.steps, batch = ws->seq.batch;
  const size_t rows = steps * batch;
  const size_t block = batch * dims.hidden;  // one time step of Δ, ĥ or h
  const Parameters& params = model->parameters();
  const Activation f = model->hidden_activation();
  const float* errors = ws->output_error.data();
  float* delta = ws->delta.data();
  // h(t) = f(ĥ(t)) is hidden block t + 1; f'(ĥ(t)) is taken from it.
  const float* hidden = ws->hidden.data();
  float* pack = ws->gemm_pack.data();
  const internal::Team team = ws->team();

  // Δ = δ(t) for every step: the reverse-time loop, eq. 7.14–7.15.
  const float* v = params.V().data();
  const float* u = params.U().data();
  bool bias_gradient_summed = false;  // db, by the carry on its way
  if (internal::UsesFusedSteps(batch, dims.hidden)) {
    bias_gradient_summed =
        FusedCarry(f, errors, final_hidden_gradient, v, u, hidden, dims, steps,
                   ws, delta, grads->b().data());
  } else {
    // grad_dense(t) = Vᵀ e(t) for every step at once (eq. 7.14), into Δ.
    Product(team, errors, v, rows, dims.output, dims.hidden, delta, pack);
    if (final_hidden_gradient != nullptr) {
      AddTo(final_hidden_gradient, delta + (steps - 1) * block, block);
    }
    // U in panels, where the carry reads it so (packed once a pass).
    const internal::PanelCopy u_copy{ws->ReadsRecurrentPanels(),
                                     u,
                                     {dims.hidden, dims.hidden},
                                     ws->u_panels.data()};
    internal::RunParts(
        team,
        team.PartsFor(
            static_cast<double>(dims.hidden) * static_cast<double>(dims.hidden),
            kMinElementsPerPart),
        [&](const internal::Part& part) { u_copy.PackShare(part); });
    if (internal::UsesMatVec(batch, dims.hidden)) {
      MatVecCarry(f, nullptr, nullptr, v, u, hidden, dims, steps, delta);
    } else if (internal::UsesPanels(batch, dims.hidden)) {
      PanelCarry(team, f, ws->u_panels.data(), hidden, dims.hidden, steps,
                 delta);
    } else {
      GemmCarry(team, f, u, ws->u_panels.data(), hidden, dims.hidden, steps,
                batch, delta, pack);
    }
  }

  // Weight gradients as products over all stored steps. dU pairs δ(t) with
  // h(t−1): hidden block t. Without h0 the t = 0 term is zero and skipped.
  // dW = Δᵀ X (H×I): with I below a vector's lanes (the sine wave's I = 1)
  // each FMA of that product would hold I useful lanes. dWᵀ = Xᵀ Δ (I×H)
  // is the same sums with H-wide rows, transposed after.
  const size_t lanes = hn::Lanes(hn::ScalableTag<float>());
  if (dims.input < lanes && dims.input < dims.hidden) {
    float* dw_transposed = ws->weight_gradient_transposed.data();
    WeightGradient(team, batch == 1, ws->x.data(), dims.input, delta,
                   dims.hidden, rows, dw_transposed, pack);
    internal::Transpose(dw_transposed, dims.input, dims.hidden,
                        grads->W().data());
  } else {
    WeightGradient(team, batch == 1, delta, dims.hidden, ws->x.data(),
                   dims.input, rows, grads->W().data(), pack);
  }
  if (ws->has_h0) {
    WeightGradient(team, batch == 1, delta, dims.hidden, hidden, dims.hidden,
                   rows, grads->U().data(), pack);
  } else {
    WeightGradient(team, batch == 1, delta + block, dims.hidden, hidden + block,
                   dims.hidden, rows - batch, grads->U().data(), pack);
  }
  WeightGradient(team, batch == 1, errors, dims.output, hidden + block,
                 dims.hidden, rows, grads->V().data(), pack);
  if (!bias_gradient_summed) {
    TeamColumnSums(team, delta, rows, dims.hidden, grads->b().data());
  }
  TeamColumnSums(team, errors, rows, dims.output, grads->c().data());

  if (dx) {
    Product(team, delta, params.W().data(), rows, dims.hidden, dims.input, dx,
            pack);
  }
  if (dh0) {
    Product(team, delta, params.U().data(), batch, dims.hidden, dims.hidden,
            dh0, pack);
  }
}

void BackwardPass(const Model* model, const float* target,
                  const float* step_weights, Workspace::Impl* ws,
                  Gradients* grads, float* dx, float* dh0) {
  const Dims dims = model->dims();
  const size_t steps = ws->seq.steps;
  const size_t out_block = ws->seq.batch * dims.output;
  // e(t), with the step's loss weight (0 drops the step: many-to-one).
  TeamOutputError(ws->team(), model->output_activation(), ws->pre_output.data(),
                  target, step_weights, steps, out_block,
                  ws->output_error.data());
  BackwardFromOutputError(model, ws, nullptr, grads, dx, dh0);
}

}  // namespace elman::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "elman/train.h"
#include "src/dispatch.h"
#include "src/validate.h"

namespace elman {
HWY_EXPORT(BackwardPass);

void Backward(const Model& model, std::span<const float> target,
              std::span<const float> step_weights, Workspace& workspace,
              const BackwardOutputs& outputs) {
  constexpr const char* kFunction = "elman::Backward";
  const Dims dims = model.dims();
  const SequenceShape seq =
      internal::CheckBackwardCall(kFunction, model, workspace, outputs);
  const size_t rows = seq.steps * seq.batch;
  internal::CheckSize(kFunction, "target", target.size(), rows * dims.output,
                      "steps*batch*output");
  internal::CheckOptionalSize(kFunction, "step_weights", step_weights.size(),
                              seq.steps, "steps");
  internal::CheckFinite(kFunction, "target", target);
  internal::CheckFinite(kFunction, "step_weights", step_weights);

  ELMAN_DISPATCH(BackwardPass)
  (&model, target.data(), step_weights.empty() ? nullptr : step_weights.data(),
   &workspace.impl(), outputs.gradients,
   outputs.dx.empty() ? nullptr : outputs.dx.data(),
   outputs.dh0.empty() ? nullptr : outputs.dh0.data());
}

}  // namespace elman
#endif  // HWY_ONCE
