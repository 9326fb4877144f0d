// eq. 7.15's reverse-time loop, δ(t) = (grad_dense(t) + δ(t+1)·U) ⊙ f'(ĥ(t))
// (row-vector form: δ(t+1)·U is Uᵀ δ(t+1), and the product reads U by its
// rows), in the form each shape runs it: several sequences as products of B
// rows a step (GemmCarry); one sequence above kMatVecMaxHidden over U in panels
// (PanelCarry); one sequence below it as a matrix-vector product a step
// (MatVecCarry), with e(t)·V as its other term on the fused path; and that
// fused path at H = 16, 32 and 64 on AVX-512 over V and U in quads, δ in
// registers from step to step (QuadCarrySteps). Every form takes f'(ĥ(t))
// from the stored h(t) = f(ĥ(t)) (activation-inl.h): the loop evaluates no
// tanh or exp. Included by src/backward.cc once per target.
#if defined(ELMAN_SRC_CARRY_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef ELMAN_SRC_CARRY_INL_H_
#undef ELMAN_SRC_CARRY_INL_H_
#else
#define ELMAN_SRC_CARRY_INL_H_
#endif

#include <cstddef>

#include "elman/model.h"
#include "hwy/highway.h"
#include "src/fused_path.h"
#include "src/kernels/activation-inl.h"
#include "src/kernels/gemm-inl.h"
#include "src/kernels/lambda_inline.h"
#include "src/kernels/matvec-inl.h"
#include "src/kernels/transpose-inl.h"
#include "src/panels.h"
#include "src/parallel_gemm-inl.h"
#include "src/quads.h"
#include "src/thread_pool.h"
#include "src/workspace_impl.h"

HWY_BEFORE_NAMESPACE();
namespace elman::HWY_NAMESPACE {

// eq. 7.15's carry δ(t) = (grad_dense(t) + δ(t+1) U) ⊙ f'(ĥ(t)) over B
// rows a step, as one sequence of products on the team's threads
// (TeamRecurrence); Δ holds grad_dense on entry, δ on exit.
HWY_INLINE void GemmCarry(const internal::Team& team, Activation f,
                          const float* u, const float* u_panels,
                          const float* hidden, size_t n, size_t steps,
                          size_t batch, float* delta, float* pack) {
  const size_t block = batch * n;
  // dh(T−1) = grad_dense(T−1).
  const size_t last = (steps - 1) * block;
  MultiplyByDerivative(f, hidden + last + block, delta + last, block);
  GemmArgs carry;
  carry.m = batch;
  carry.n = n;
  carry.k = n;
  carry.a_row = n;
  carry.b = u;
  carry.ldb = n;
  carry.ldc = n;
  carry.init = GemmInit::kAccumulate;
  carry.epilogue = GemmEpilogue::kTimesDerivative;
  carry.activation = f;
  carry.ld_extra = n;
  carry.pack = pack;
  carry.b_panels = u_panels;
  // t = T−2 down to 0: δ(t+1) → δ(t), with f'(ĥ(t)) from h(t) (hidden
  // block t + 1); every pointer moves back one block per step.
  if (steps > 1) {
    const size_t first = steps - 2;
    carry.a = delta + (first + 1) * block;
    carry.c = delta + first * block;
    carry.activation_output = hidden + (first + 1) * block;
    const auto back_one_block = -static_cast<ptrdiff_t>(block);
    TeamRecurrence(
        team, nullptr, carry,
        GemmSteps{steps - 1, back_one_block, back_one_block, back_one_block});
  }
}

// The carry for one sequence above kMatVecMaxHidden: GemmCarry's sums as a
// matrix-vector product a step over U in panels (src/panels.h), with f' in
// registers. On a team each part computes its share of every step's panels,
// all waiting for each other between steps (δ(t) reads all of δ(t+1)), as
// the forward's PanelRecurrence; every column's sum is the one-thread bits.
// As there, the panels' order alternates from step to step.
HWY_INLINE void PanelCarry(const internal::Team& team, Activation f,
                           const float* u_panels, const float* hidden, size_t n,
                           size_t steps, float* delta) {
  const internal::PanelLayout layout{n, n};
  // dh(T−1) = grad_dense(T−1).
  const size_t last = (steps - 1) * n;
  MultiplyByDerivative(f, hidden + last + n, delta + last, n);
  if (steps == 1) return;
  const size_t parts =
      PanelParts(team, n, n, layout.panels(), kMinWorkPerPartStep);
  internal::RunParts(team, parts, [&](const internal::Part& part) HWY_ATTR {
    const internal::Range mine = part.Share(layout.panels());
    WithActivation(f, [&](auto tag) HWY_ATTR {
      // t = T−2 down to 0: δ(t+1) → δ(t), with f'(ĥ(t)) from h(t) (hidden
      // block t + 1), Δ's block t holding grad_dense(t) as the init.
      for (size_t t = steps - 1; t-- > 0;) {
        float* delta_t = delta + t * n;
        const PanelTerm term{delta_t + n, u_panels, layout};
        MatVecPanels(&term, 1, n, mine.begin, mine.end, delta_t,
                     TimesDerivative<decltype(tag)::value>{
                         delta_t, hidden + (t + 1) * n},
                     /*descending=*/(t & 1) != 0);
        part.Sync();
      }
    });
  });
}

// The same carry for one sequence, a matrix-vector product a step with f'
// in registers:
//   δ(t) = (grad_dense(t) + δ(t+1)·U) ⊙ f'(ĥ(t))   (row-vector form)
// With `errors`, grad_dense(t) = e(t)·V (eq. 7.14) is the product's other
// term, streaming V by rows (the fused path: no product over all steps
// first); without, Δ holds grad_dense on entry and each step starts from it.
// f'(ĥ(t)) comes from the stored h(t), hidden row t + 1. With `errors`,
// `final_gradient` (∂L/∂h(T−1) from outside, or null) starts the last step's
// sum; without, Δ already holds it.
HWY_INLINE void MatVecCarry(Activation f, const float* errors,
                            const float* final_gradient, const float* v,
                            const float* u, const float* hidden,
                            const Dims& dims, size_t steps, float* delta) {
  const size_t n = dims.hidden;
  WithActivation(f, [&](auto tag) {
    for (size_t t = steps; t-- > 0;) {
      float* delta_t = delta + t * n;
      MatVecTerm terms[2];
      size_t num_terms = 0;
      if (errors != nullptr) {
        terms[num_terms++] = {errors + t * dims.output, dims.output, v, n};
      }
      if (t + 1 < steps) terms[num_terms++] = {delta_t + n, n, u, n};
      const float* init = errors == nullptr ? delta_t
                          : t + 1 == steps  ? final_gradient
                                            : nullptr;
      MatVecColumns(
          terms, num_terms, n, init,
          TimesDerivative<decltype(tag)::value>{delta_t, hidden + (t + 1) * n});
    }
  });
}

#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
/// MatVecCarry with `errors`, for H = 16·kUnits on AVX-512: each step one
/// MatVecQuads, e(t) its input and δ(t+1) its h, over V and U in quads
/// (src/quads.h; v_quads: V as the O × H matrix M, u_quads: U as H × H;
/// PackQuadsFromMatrix). As the forward keeps h (QuadFusedSteps), δ stays
/// in registers from step to step: the next step takes δ(t+1) by block
/// broadcasts in registers, where the column form broadcast each float of
/// it from the δ just stored, one load per row of U; here each 128-bit
/// broadcast of 4 floats serves 4 rows. δ(t) is also stored, at Δ's row
/// t, for the weight gradients, and db = Σ δ(t) is summed in registers on
/// the way (t = T − 1 down to 0) into `bias_gradient`, in place of a pass
/// over Δ. `final_gradient` (H floats, or null) is added to the last step's
/// sum.
template <size_t kUnits>
HWY_NOINLINE void QuadCarrySteps(Activation f, const float* errors,
                                 size_t outputs, const float* v_quads,
                                 const float* u_quads,
                                 const float* final_gradient,
                                 const float* hidden, size_t steps,
                                 float* delta, float* bias_gradient) {
  const hn::ScalableTag<float> d;
  using V = hn::Vec<decltype(d)>;
  constexpr size_t kLanes = hn::MaxLanes(d);
  constexpr size_t kHidden = kUnits * kLanes;
  WithActivation(f, [&](auto tag) HWY_ATTR {
    constexpr Activation kF = decltype(tag)::value;
    V carry[kUnits];  // δ(t + 1), then δ(t)
    V sums[kUnits];
    V delta_sum[kUnits];
#pragma GCC unroll 4
    for (size_t v = 0; v < kUnits; ++v) delta_sum[v] = hn::Zero(d);
    // δ(t) = sums ⊙ f'(ĥ(t)), f' from h(t), hidden row t + 1.
    auto finish = [&](size_t t) HWY_ATTR ELMAN_LAMBDA_INLINE {
#pragma GCC unroll 4
      for (size_t v = 0; v < kUnits; ++v) {
        const V h = hn::LoadU(d, hidden + (t + 1) * kHidden + v * kLanes);
        carry[v] = hn::Mul(sums[v], DerivativeFromOutput<kF>(d, h));
        hn::StoreU(carry[v], d, delta + t * kHidden + v * kLanes);
        delta_sum[v] = hn::Add(delta_sum[v], carry[v]);
      }
    };
    // dh(T−1) = grad_dense(T−1) (+ the gradient from outside): no δ(T).
    size_t t = steps - 1;
    MatVecQuads<kUnits>(d, errors + t * outputs, outputs, v_quads, nullptr,
                        u_quads, nullptr, sums);
    if (final_gradient != nullptr) {
#pragma GCC unroll 4
      for (size_t v = 0; v < kUnits; ++v) {
        sums[v] = hn::Add(sums[v], hn::LoadU(d, final_gradient + v * kLanes));
      }
    }
    finish(t);
    while (t-- > 0) {
      MatVecQuads<kUnits>(d, errors + t * outputs, outputs, v_quads, carry,
                          u_quads, nullptr, sums);
      finish(t);
    }
#pragma GCC unroll 4
    for (size_t v = 0; v < kUnits; ++v) {
      hn::StoreU(delta_sum[v], d, bias_gradient + v * kLanes);
    }
  });
}
#endif

// The carry of the fused path, e(t)·V a term of every step: over V and U in
// quads where the forward's steps ran on quads (H = 16, 32, 64 on AVX-512),
// packed here, at every call, from the weights as they are now, db summed on
// the way into `bias_gradient`; elsewhere the column form. Returns whether it
// wrote db.
HWY_INLINE bool FusedCarry(Activation f, const float* errors,
                           const float* final_gradient, const float* v,
                           const float* u, const float* hidden,
                           const Dims& dims, size_t steps, Workspace::Impl* ws,
                           float* delta, float* bias_gradient) {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
  if (internal::UsesQuads(1, dims.hidden)) {
    PackQuadsFromMatrix(v, dims.output, dims.hidden, ws->v_carry_quads.data());
    PackQuadsFromMatrix(u, dims.hidden, dims.hidden, ws->u_carry_quads.data());
    WithQuadUnits(dims.hidden, [&](auto units) HWY_ATTR {
      QuadCarrySteps<decltype(units)::value>(
          f, errors, dims.output, ws->v_carry_quads.data(),
          ws->u_carry_quads.data(), final_gradient, hidden, steps, delta,
          bias_gradient);
    });
    return true;
  }
#else
  (void)ws;
  (void)bias_gradient;
#endif
  MatVecCarry(f, errors, final_gradient, v, u, hidden, dims, steps, delta);
  return false;
}

}  // namespace elman::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // ELMAN_SRC_CARRY_INL_H_
