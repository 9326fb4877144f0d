#include "verify_cases.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <span>

namespace elman::verify {
namespace {

constexpr Activation kActivations[] = {Activation::kTanh, Activation::kSigmoid,
                                       Activation::kRelu,
                                       Activation::kIdentity};
constexpr size_t kNumPairs = 16;  // (f, g) ∈ kActivations²
// (I, H, O): mostly not multiples of any vector width (4, 8 or 16 floats).
// With B = 1 (src/fused_path.h), H ≤ 32 and H = 64 run every step fused
// (the dense layer in row form for O ≤ 7), the other H ≤ 64 the recurrence
// on the matrix-vector kernels (Stream::Step and Run fused), larger H and
// every B > 1 the GEMM-structured passes.
constexpr Dims kShapes[] = {{1, 32, 1},   {3, 17, 2},  {5, 33, 7},
                            {16, 64, 16}, {2, 100, 9}, {20, 128, 5},
                            {64, 129, 31}};
constexpr size_t kSteps[] = {1, 7, 25};

std::vector<float> RandomVector(size_t n, std::mt19937_64& random, float low,
                                float high) {
  std::uniform_real_distribution<float> uniform(low, high);
  std::vector<float> v(n);
  for (float& value : v) value = uniform(random);
  return v;
}

std::vector<double> Widen(std::span<const float> v) {
  return std::vector<double>(v.begin(), v.end());
}

double MaxAbs(const std::vector<double>& v) {
  double m = 0.0;
  for (double value : v) m = std::max(m, std::abs(value));
  return m;
}

// ‖(dW, dU, db, dV, dc, dx, dh0)‖∞.
double GradientNorm(const reference::GradientsResult& g) {
  double norm = 0.0;
  for (const auto* v : {&g.W, &g.U, &g.b, &g.V, &g.c, &g.x, &g.h0}) {
    norm = std::max(norm, MaxAbs(*v));
  }
  return norm;
}

// max_i |got[i] − want[i]| / max(scale, 1e-6); infinity if any entry is NaN or
// the sizes differ, so that a broken result can never pass.
double ScaledError(std::span<const float> got, const std::vector<double>& want,
                   double scale) {
  constexpr double kInfinity = std::numeric_limits<double>::infinity();
  if (got.size() != want.size()) return kInfinity;
  double error = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double difference = std::abs(static_cast<double>(got[i]) - want[i]);
    if (std::isnan(difference)) return kInfinity;
    error = std::max(error, difference);
  }
  return error / std::max(scale, 1e-6);
}

// |bias| + Σ_j |a_j b_j|: the size of the terms of the dot product a·b + bias,
// which bounds its float error (Higham: relative γ_n of this, not of the sum).
double TermsSize(const double* a, const double* b, size_t n, double bias) {
  double size = std::abs(bias);
  for (size_t j = 0; j < n; ++j) size += std::abs(a[j] * b[j]);
  return size;
}

// ŷ = V h + c (eq. 7.10) is a dot product: its float error is bounded
// relative to |V| |h| + |c| (Higham), not to |ŷ|, which cancellation can make
// tiny (with O = B = T = 1 there is a single output); |g'| ≤ 1 carries the
// bound to y. Returns the largest |V| |h(t)| + |c| over all outputs.
double OutputScale(const reference::Model& model,
                   const reference::ForwardResult& forward) {
  const size_t H = model.dims.hidden, O = model.dims.output;
  const size_t rows = forward.seq.steps * forward.seq.batch;
  double scale = 0.0;
  for (size_t r = 0; r < rows; ++r) {
    for (size_t o = 0; o < O; ++o) {
      scale = std::max(scale, TermsSize(&model.V[o * H], &forward.hidden[r * H],
                                        H, model.c[o]));
    }
  }
  return scale;
}

// The step weight of output entry i of a [T][B][O] sequence.
double WeightAt(const std::vector<float>& weights, size_t i, size_t per_step) {
  return weights.empty() ? 1.0 : weights[i / per_step];
}

// Whether a relu pre-activation lies within 1e-5 of its terms' size of 0,
// where float rounding (a relative error of about 1e-6 here) could put it on
// the other side of the kink and flip relu' between 0 and 1. DESIGN.md §5:
// keep random tests off 0.
bool NearReluKink(const reference::Model& model, const std::vector<double>& x,
                  const std::vector<double>& h0,
                  const reference::ForwardResult& forward) {
  constexpr double kMargin = 1e-5;
  const size_t I = model.dims.input, H = model.dims.hidden;
  const size_t O = model.dims.output, B = forward.seq.batch;
  const size_t rows = forward.seq.steps * B;
  for (size_t r = 0; r < rows; ++r) {
    const double* h = &forward.hidden[r * H];
    if (model.hidden_activation == Activation::kRelu) {
      // ĥ = W x + U h(t−1) + b; h(t−1) is h0 for the first B rows.
      const double* h_prev = r < B ? &h0[r * H] : h - B * H;
      for (size_t i = 0; i < H; ++i) {
        const double size = TermsSize(&model.W[i * I], &x[r * I], I, 0.0) +
                            TermsSize(&model.U[i * H], h_prev, H, model.b[i]);
        if (std::abs(forward.pre_hidden[r * H + i]) < kMargin * size) {
          return true;
        }
      }
    }
    if (model.output_activation == Activation::kRelu) {
      for (size_t o = 0; o < O; ++o) {
        const double size = TermsSize(&model.V[o * H], h, H, model.c[o]);
        if (std::abs(forward.pre_output[r * O + o]) < kMargin * size) {
          return true;
        }
      }
    }
  }
  return false;
}

}  // namespace

// 16, 7 and 3 are coprime, so by the Chinese remainder theorem indices 0…335
// meet every (pair, shape, T) once; the batch kind alternates and flips for
// 336…671, so the first 672 cases are the whole grid, and any 16 consecutive
// ones cover every activation pair.
Case MakeCase(size_t index, std::mt19937_64& random) {
  Case c;
  const size_t pair = index % kNumPairs;
  c.f = kActivations[pair / 4];
  c.g = kActivations[pair % 4];
  c.dims = kShapes[index % std::size(kShapes)];
  c.seq.steps = kSteps[index % std::size(kSteps)];
  const bool batched = (index + index / (kGridSize / 2)) % 2 == 1;
  c.seq.batch =
      batched ? std::uniform_int_distribution<size_t>(2, 6)(random) : 1;
  // Half the cases use the plain loss, a quarter random step weights, a
  // quarter the loss at a single step (DESIGN.md §5, a dropped carry).
  const int kind = std::uniform_int_distribution<int>(0, 3)(random);
  c.weights = kind < 2    ? StepWeights::kNone
              : kind == 2 ? StepWeights::kRandom
                          : StepWeights::kSingleStep;
  return c;
}

std::string Describe(const Case& c) {
  static constexpr const char* kWeightNames[] = {"", " w=random",
                                                 " w=single step"};
  return "I=" + std::to_string(c.dims.input) +
         " H=" + std::to_string(c.dims.hidden) +
         " O=" + std::to_string(c.dims.output) +
         " T=" + std::to_string(c.seq.steps) +
         " B=" + std::to_string(c.seq.batch) + " f=" + ActivationName(c.f) +
         " g=" + ActivationName(c.g) +
         kWeightNames[static_cast<int>(c.weights)];
}

Problem::Problem(const Case& the_case, uint64_t seed, std::mt19937_64& random)
    : c(the_case), model({c.dims, c.f, c.g}, seed) {
  const size_t rows = c.seq.steps * c.seq.batch;
  // Random biases too (Initialize leaves them zero); drawn again, with x and
  // h0, while a relu pre-activation sits on the kink.
  for (int attempt = 0;; ++attempt) {
    if (attempt == 1000) throw Error("elman_verify: no case off relu's kink");
    const auto b = RandomVector(c.dims.hidden, random, -0.5f, 0.5f);
    const auto cc = RandomVector(c.dims.output, random, -0.5f, 0.5f);
    std::copy(b.begin(), b.end(), model.parameters().b().begin());
    std::copy(cc.begin(), cc.end(), model.parameters().c().begin());
    x = RandomVector(rows * c.dims.input, random, -1.0f, 1.0f);
    h0 = RandomVector(c.seq.batch * c.dims.hidden, random, -1.0f, 1.0f);
    const reference::Model candidate(model);
    forward = reference::Forward(candidate, Widen(x), c.seq, Widen(h0));
    if (!NearReluKink(candidate, Widen(x), Widen(h0), forward)) break;
  }
  if (c.weights == StepWeights::kRandom) {
    weights = RandomVector(c.seq.steps, random, 0.0f, 1.0f);
  } else if (c.weights == StepWeights::kSingleStep) {
    weights.assign(c.seq.steps, 0.0f);
    weights[std::uniform_int_distribution<size_t>(0, c.seq.steps - 1)(random)] =
        1.0f;
  }
  const reference::Model ref_model(model);
  const auto x_wide = Widen(x), h0_wide = Widen(h0), w_wide = Widen(weights);
  y_scale = OutputScale(ref_model, forward);

  // L = Σ w ½(y − Y)² (eq. 7.11–7.13) and the whole backward pass, linear in
  // e = w (y − Y) ⊙ g'(ŷ) (eq. 7.14), inherit y's float error, about
  // ε·y_scale, through y − Y: where |y − Y| is small next to y_scale they are
  // ill-conditioned (with f = identity and T = 25, |y| grows to 10 while Y
  // stays in [−1, 1]). So each target lies 0.25 to 1 times y_scale away from
  // the reference output, on a random side: then ΔL / L ≤ 8ε and Δe / e ≤ 4ε.
  std::uniform_real_distribution<double> distance(0.25, 1.0);
  target.resize(rows * c.dims.output);
  for (size_t i = 0; i < target.size(); ++i) {
    const double side = (random() & 1) ? 1.0 : -1.0;
    target[i] = static_cast<float>(forward.output[i] +
                                   side * distance(random) * y_scale);
  }
  loss = reference::Loss(forward, Widen(target), w_wide);
  gradients = reference::Backward(ref_model, x_wide, h0_wide, forward,
                                  Widen(target), w_wide);

  // To first order, an error of ε·y_scale in y moves L by ε·y_scale·Σ w|y − Y|
  // at most: the loss's scale.
  const size_t per_step = c.seq.batch * c.dims.output;
  double sensitivity = 0.0;
  for (size_t i = 0; i < target.size(); ++i) {
    sensitivity += WeightAt(weights, i, per_step) *
                   std::abs(forward.output[i] - target[i]);
  }
  loss_scale = std::abs(loss) + y_scale * sensitivity;

  // A float g' = 1 − tanh² or σ(1 − σ), formed from a rounded tanh or σ, has
  // an absolute error of a few u, not a relative one. Where g saturates at the
  // few weighted outputs, g' and with it the whole gradient can be 1e-5 of
  // its usual size while that error is not: judge the gradients against the
  // larger of their size and their size with g' := 1 (the reference backward
  // on the same forward pass, with g = identity).
  gradient_scale = GradientNorm(gradients);
  if (c.g == Activation::kTanh || c.g == Activation::kSigmoid) {
    reference::Model unit_g = ref_model;
    unit_g.output_activation = Activation::kIdentity;
    gradient_scale =
        std::max(gradient_scale,
                 GradientNorm(reference::Backward(
                     unit_g, x_wide, h0_wide, forward, Widen(target), w_wide)));
  }
}

Errors RunOnCurrentTarget(const Problem& p) {
  const Case& c = p.c;
  const size_t rows = c.seq.steps * c.seq.batch;
  Workspace workspace(c.dims, c.seq.steps, c.seq.batch);
  std::vector<float> y(rows * c.dims.output);
  Forward(p.model, p.x, c.seq, p.h0, workspace, y);
  const double loss = Loss(y, p.target, c.seq, c.dims.output, p.weights);
  Gradients grads(c.dims);
  std::vector<float> dx(rows * c.dims.input);
  std::vector<float> dh0(c.seq.batch * c.dims.hidden);
  Backward(p.model, p.target, p.weights, workspace, {&grads, dx, dh0});

  Stream stream(p.model, c.seq.batch);
  stream.Reset(p.h0);
  std::vector<float> stream_y(rows * c.dims.output);
  stream.Run(p.x, c.seq.steps, stream_y);

  const auto& ref = p.gradients;
  const double scale = p.gradient_scale;
  Errors e;
  e[kLoss] = std::isnan(loss)
                 ? std::numeric_limits<double>::infinity()
                 : std::abs(loss - p.loss) / std::max(p.loss_scale, 1e-6);
  e[kY] = ScaledError(y, p.forward.output, p.y_scale);
  e[kDW] = ScaledError(grads.W(), ref.W, scale);
  e[kDU] = ScaledError(grads.U(), ref.U, scale);
  e[kDb] = ScaledError(grads.b(), ref.b, scale);
  e[kDV] = ScaledError(grads.V(), ref.V, scale);
  e[kDc] = ScaledError(grads.c(), ref.c, scale);
  e[kDx] = ScaledError(dx, ref.x, scale);
  e[kDh0] = ScaledError(dh0, ref.h0, scale);
  e[kStreamY] = ScaledError(stream_y, p.forward.output, p.y_scale);
  return e;
}

}  // namespace elman::verify
