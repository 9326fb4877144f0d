// The naive scalar reference of DESIGN.md §1: textbook loops in double
// precision, one time step and one sequence at a time. It deliberately shares
// no code with the SIMD path and uses only the public headers and the standard
// library, so that it can serve as an independent check of the fast path.

#include "elman/reference.h"

#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "elman/error.h"
#include "elman/model.h"

namespace elman::reference {
namespace {

// Throws Error with "elman::reference::<function>: <what>".
[[noreturn]] void Fail(const char* function, const std::string& what) {
  throw Error(std::string("elman::reference::") + function + ": " + what);
}

// a * b, or Error if the product does not fit in size_t.
size_t Mul(const char* function, size_t a, size_t b) {
  if (b != 0 && a > std::numeric_limits<size_t>::max() / b) {
    Fail(function, "size " + std::to_string(a) + " * " + std::to_string(b) +
                       " overflows size_t");
  }
  return a * b;
}

// Requires `given` == `expected`; `formula` spells out how `expected` is made.
void CheckSize(const char* function, const std::string& name, size_t given,
               size_t expected, const char* formula) {
  if (given != expected) {
    Fail(function, name + " has " + std::to_string(given) +
                       " values, expected " + formula + " = " +
                       std::to_string(expected));
  }
}

// Like CheckSize, but an empty vector is also accepted (h0, step_weights).
void CheckOptionalSize(const char* function, const std::string& name,
                       size_t given, size_t expected, const char* formula) {
  if (given != 0 && given != expected) {
    Fail(function, name + " has " + std::to_string(given) +
                       " values, expected 0 or " + formula + " = " +
                       std::to_string(expected));
  }
}

void CheckPositive(const char* function, const std::string& name,
                   size_t value) {
  if (value == 0) Fail(function, name + " is 0, expected >= 1");
}

void CheckActivation(const char* function, const std::string& name,
                     Activation activation) {
  switch (activation) {
    case Activation::kTanh:
    case Activation::kSigmoid:
    case Activation::kRelu:
    case Activation::kIdentity:
      return;
  }
  Fail(function, name + " is " + std::to_string(static_cast<int>(activation)) +
                     ", expected one of tanh, sigmoid, relu, identity");
}

void CheckDims(const char* function, const std::string& prefix, Dims dims) {
  CheckPositive(function, prefix + "input", dims.input);
  CheckPositive(function, prefix + "hidden", dims.hidden);
  CheckPositive(function, prefix + "output", dims.output);
}

// The dimensions, activations and the five parameter vectors of `model`.
void CheckModel(const char* function, const Model& model) {
  const Dims d = model.dims;
  CheckDims(function, "model.dims.", d);
  CheckActivation(function, "model.hidden_activation", model.hidden_activation);
  CheckActivation(function, "model.output_activation", model.output_activation);
  CheckSize(function, "model.W", model.W.size(),
            Mul(function, d.hidden, d.input), "hidden*input");
  CheckSize(function, "model.U", model.U.size(),
            Mul(function, d.hidden, d.hidden), "hidden*hidden");
  CheckSize(function, "model.b", model.b.size(), d.hidden, "hidden");
  CheckSize(function, "model.V", model.V.size(),
            Mul(function, d.output, d.hidden), "output*hidden");
  CheckSize(function, "model.c", model.c.size(), d.output, "output");
}

void CheckShape(const char* function, const std::string& name,
                SequenceShape seq) {
  CheckPositive(function, name + ".steps", seq.steps);
  CheckPositive(function, name + ".batch", seq.batch);
}

// Offset of row (t, b) in a time-major [T][B][n] array.
size_t At(SequenceShape seq, size_t t, size_t b, size_t n) {
  return (t * seq.batch + b) * n;
}

}  // namespace

Model::Model(Dims dims_in, Activation hidden, Activation output)
    : dims(dims_in), hidden_activation(hidden), output_activation(output) {
  CheckDims("Model", "dims.", dims);
  CheckActivation("Model", "hidden", hidden);
  CheckActivation("Model", "output", output);
  W.assign(Mul("Model", dims.hidden, dims.input), 0.0);
  U.assign(Mul("Model", dims.hidden, dims.hidden), 0.0);
  b.assign(dims.hidden, 0.0);
  V.assign(Mul("Model", dims.output, dims.hidden), 0.0);
  c.assign(dims.output, 0.0);
}

Model::Model(const elman::Model& model)
    : Model(model.dims(), model.hidden_activation(),
            model.output_activation()) {
  const Parameters& p = model.parameters();
  W.assign(p.W().begin(), p.W().end());  // float -> double, exact
  U.assign(p.U().begin(), p.U().end());
  b.assign(p.b().begin(), p.b().end());
  V.assign(p.V().begin(), p.V().end());
  c.assign(p.c().begin(), p.c().end());
}

double Activate(Activation activation, double z) {
  switch (activation) {
    case Activation::kTanh:
      return std::tanh(z);
    case Activation::kSigmoid:
      return 1.0 / (1.0 + std::exp(-z));
    case Activation::kRelu:
      return z > 0.0 ? z : 0.0;
    case Activation::kIdentity:
      return z;
  }
  CheckActivation("Activate", "activation", activation);  // always throws
  return 0.0;
}

double Derivative(Activation activation, double z) {
  switch (activation) {
    case Activation::kTanh: {
      const double a = std::tanh(z);
      return 1.0 - a * a;
    }
    case Activation::kSigmoid: {
      const double s = 1.0 / (1.0 + std::exp(-z));
      return s * (1.0 - s);
    }
    case Activation::kRelu:
      return z > 0.0 ? 1.0 : 0.0;  // relu'(0) = 0, as in PyTorch
    case Activation::kIdentity:
      return 1.0;
  }
  CheckActivation("Derivative", "activation", activation);  // always throws
  return 0.0;
}

ForwardResult Forward(const Model& model, const std::vector<double>& x,
                      SequenceShape seq, const std::vector<double>& h0) {
  const char* fn = "Forward";
  CheckModel(fn, model);
  CheckShape(fn, "seq", seq);
  const size_t I = model.dims.input, H = model.dims.hidden,
               O = model.dims.output;
  const size_t rows = Mul(fn, seq.steps, seq.batch);
  CheckSize(fn, "x", x.size(), Mul(fn, rows, I), "steps*batch*input");
  CheckOptionalSize(fn, "h0", h0.size(), Mul(fn, seq.batch, H), "batch*hidden");
  const size_t T = seq.steps, B = seq.batch;

  ForwardResult r;
  r.seq = seq;
  r.pre_hidden.assign(rows * H, 0.0);
  r.hidden.assign(rows * H, 0.0);
  r.pre_output.assign(rows * O, 0.0);
  r.output.assign(rows * O, 0.0);

  for (size_t s = 0; s < B; ++s) {  // one sequence at a time
    // h(−1) = h0, or zeros if the caller gave none.
    std::vector<double> h_prev(H, 0.0);
    if (!h0.empty()) {
      for (size_t j = 0; j < H; ++j) h_prev[j] = h0[s * H + j];
    }
    for (size_t t = 0; t < T; ++t) {
      const double* xt = &x[At(seq, t, s, I)];
      double* pre_h = &r.pre_hidden[At(seq, t, s, H)];
      double* h = &r.hidden[At(seq, t, s, H)];
      double* pre_y = &r.pre_output[At(seq, t, s, O)];
      double* y = &r.output[At(seq, t, s, O)];
      // eq. 7.10: ĥ(t) = W x(t) + U h(t−1) + b,  h(t) = f(ĥ(t)).
      for (size_t i = 0; i < H; ++i) {
        double sum = model.b[i];
        for (size_t k = 0; k < I; ++k) sum += model.W[i * I + k] * xt[k];
        for (size_t j = 0; j < H; ++j) sum += model.U[i * H + j] * h_prev[j];
        pre_h[i] = sum;
        h[i] = Activate(model.hidden_activation, sum);
      }
      // eq. 7.10: ŷ(t) = V h(t) + c,  y(t) = g(ŷ(t)).
      for (size_t o = 0; o < O; ++o) {
        double sum = model.c[o];
        for (size_t i = 0; i < H; ++i) sum += model.V[o * H + i] * h[i];
        pre_y[o] = sum;
        y[o] = Activate(model.output_activation, sum);
      }
      h_prev.assign(h, h + H);
    }
  }
  return r;
}

double Loss(const ForwardResult& forward, const std::vector<double>& target,
            const std::vector<double>& step_weights) {
  const char* fn = "Loss";
  const SequenceShape seq = forward.seq;
  CheckShape(fn, "forward.seq", seq);
  const size_t rows = Mul(fn, seq.steps, seq.batch);
  const size_t n = forward.output.size();
  if (n == 0 || n % rows != 0) {
    Fail(fn, "forward.output has " + std::to_string(n) +
                 " values, expected a positive multiple of steps*batch = " +
                 std::to_string(rows));
  }
  const size_t O = n / rows;
  CheckSize(fn, "target", target.size(), n, "steps*batch*output");
  CheckOptionalSize(fn, "step_weights", step_weights.size(), seq.steps,
                    "steps");

  // eq. 7.11–7.13: L = Σ_t w(t) Σ_b ½ ‖y(t) − Y(t)‖².
  double loss = 0.0;
  for (size_t t = 0; t < seq.steps; ++t) {
    const double w = step_weights.empty() ? 1.0 : step_weights[t];
    double step_loss = 0.0;  // L(t)
    for (size_t s = 0; s < seq.batch; ++s) {
      for (size_t o = 0; o < O; ++o) {
        const size_t k = At(seq, t, s, O) + o;
        const double diff = forward.output[k] - target[k];
        step_loss += 0.5 * diff * diff;
      }
    }
    loss += w * step_loss;
  }
  return loss;
}

namespace {

// The arguments Backward and BackwardFromOutputGradient share, checked;
// returns the sequence.
SequenceShape CheckBackwardArguments(const char* fn, const Model& model,
                                     const std::vector<double>& x,
                                     const std::vector<double>& h0,
                                     const ForwardResult& forward) {
  CheckModel(fn, model);
  const SequenceShape seq = forward.seq;
  CheckShape(fn, "forward.seq", seq);
  const size_t I = model.dims.input, H = model.dims.hidden,
               O = model.dims.output;
  const size_t rows = Mul(fn, seq.steps, seq.batch);
  CheckSize(fn, "x", x.size(), Mul(fn, rows, I), "steps*batch*input");
  CheckOptionalSize(fn, "h0", h0.size(), Mul(fn, seq.batch, H), "batch*hidden");
  const size_t rows_h = Mul(fn, rows, H), rows_o = Mul(fn, rows, O);
  const char* th = "steps*batch*hidden";
  const char* to = "steps*batch*output";
  CheckSize(fn, "forward.pre_hidden", forward.pre_hidden.size(), rows_h, th);
  CheckSize(fn, "forward.hidden", forward.hidden.size(), rows_h, th);
  CheckSize(fn, "forward.pre_output", forward.pre_output.size(), rows_o, to);
  CheckSize(fn, "forward.output", forward.output.size(), rows_o, to);
  return seq;
}

// eq. 7.14–7.15 from the output errors e(t) = ∂L/∂ŷ(t) ([T][B][O]), with
// ∂L/∂h(T−1) = final_hidden_gradient ([B][H], or empty for zeros) added to
// dh(T−1).
GradientsResult BackwardFromErrors(
    const Model& model, const std::vector<double>& x,
    const std::vector<double>& h0, const ForwardResult& forward,
    const std::vector<double>& errors,
    const std::vector<double>& final_hidden_gradient) {
  const SequenceShape seq = forward.seq;
  const size_t I = model.dims.input, H = model.dims.hidden,
               O = model.dims.output;
  const size_t T = seq.steps, B = seq.batch;
  const size_t rows = T * B;

  GradientsResult g;
  g.W.assign(H * I, 0.0);
  g.U.assign(H * H, 0.0);
  g.b.assign(H, 0.0);
  g.V.assign(O * H, 0.0);
  g.c.assign(O, 0.0);
  g.x.assign(rows * I, 0.0);
  g.h0.assign(B * H, 0.0);

  std::vector<double> dh(H), delta(H);
  for (size_t s = 0; s < B; ++s) {  // one sequence at a time
    // δ(t+1) = dh(t+1) ⊙ f'(ĥ(t+1)); zero beyond the last step.
    std::vector<double> delta_next(H, 0.0);
    for (size_t t = T; t-- > 0;) {  // reverse time, T−1 … 0
      const double* e = &errors[At(seq, t, s, O)];
      const double* pre_h = &forward.pre_hidden[At(seq, t, s, H)];
      const double* h = &forward.hidden[At(seq, t, s, H)];
      const double* xt = &x[At(seq, t, s, I)];
      // h(t−1): the previous step's state, or h0 (zeros if empty) at t = 0.
      std::vector<double> h_prev(H, 0.0);
      if (t > 0) {
        const double* p = &forward.hidden[At(seq, t - 1, s, H)];
        h_prev.assign(p, p + H);
      } else if (!h0.empty()) {
        for (size_t j = 0; j < H; ++j) h_prev[j] = h0[s * H + j];
      }

      // eq. 7.14 and 7.15: dh(t) = grad_dense(t) + Uᵀ δ(t+1), where
      // grad_dense(t) = Vᵀ e(t); at t = T−1 the carry δ(T) is zero and
      // ∂L/∂h(T−1) from outside (if any) is added.
      for (size_t j = 0; j < H; ++j) {
        double sum = 0.0;
        for (size_t o = 0; o < O; ++o) sum += model.V[o * H + j] * e[o];
        for (size_t i = 0; i < H; ++i) {
          sum += model.U[i * H + j] * delta_next[i];
        }
        if (t == T - 1 && !final_hidden_gradient.empty()) {
          sum += final_hidden_gradient[s * H + j];
        }
        dh[j] = sum;
      }
      // δ(t) = dh(t) ⊙ f'(ĥ(t)).
      for (size_t i = 0; i < H; ++i) {
        delta[i] = dh[i] * Derivative(model.hidden_activation, pre_h[i]);
      }

      // Outer-product sums: dW += δ xᵀ, dU += δ h(t−1)ᵀ, db += δ.
      for (size_t i = 0; i < H; ++i) {
        for (size_t k = 0; k < I; ++k) g.W[i * I + k] += delta[i] * xt[k];
        for (size_t j = 0; j < H; ++j) g.U[i * H + j] += delta[i] * h_prev[j];
        g.b[i] += delta[i];
      }
      // dV += e hᵀ, dc += e.
      for (size_t o = 0; o < O; ++o) {
        for (size_t i = 0; i < H; ++i) g.V[o * H + i] += e[o] * h[i];
        g.c[o] += e[o];
      }
      // dx(t) = Wᵀ δ(t).
      double* dxt = &g.x[At(seq, t, s, I)];
      for (size_t k = 0; k < I; ++k) {
        double sum = 0.0;
        for (size_t i = 0; i < H; ++i) sum += model.W[i * I + k] * delta[i];
        dxt[k] = sum;
      }
      delta_next = delta;
    }
    // dh0 = Uᵀ δ(0); delta_next now holds δ(0).
    for (size_t j = 0; j < H; ++j) {
      double sum = 0.0;
      for (size_t i = 0; i < H; ++i) sum += model.U[i * H + j] * delta_next[i];
      g.h0[s * H + j] = sum;
    }
  }
  return g;
}

}  // namespace

GradientsResult Backward(const Model& model, const std::vector<double>& x,
                         const std::vector<double>& h0,
                         const ForwardResult& forward,
                         const std::vector<double>& target,
                         const std::vector<double>& step_weights) {
  const char* fn = "Backward";
  const SequenceShape seq = CheckBackwardArguments(fn, model, x, h0, forward);
  const size_t O = model.dims.output;
  CheckSize(fn, "target", target.size(), forward.output.size(),
            "steps*batch*output");
  CheckOptionalSize(fn, "step_weights", step_weights.size(), seq.steps,
                    "steps");
  // e(t) = w(t) (y(t) − Y(t)) ⊙ g'(ŷ(t)) = ∂L/∂ŷ(t).
  std::vector<double> errors(forward.output.size());
  for (size_t k = 0; k < errors.size(); ++k) {
    const size_t t = k / (seq.batch * O);
    const double w = step_weights.empty() ? 1.0 : step_weights[t];
    errors[k] = w * (forward.output[k] - target[k]) *
                Derivative(model.output_activation, forward.pre_output[k]);
  }
  return BackwardFromErrors(model, x, h0, forward, errors, {});
}

GradientsResult BackwardFromOutputGradient(
    const Model& model, const std::vector<double>& x,
    const std::vector<double>& h0, const ForwardResult& forward,
    const std::vector<double>& output_gradient,
    const std::vector<double>& final_hidden_gradient) {
  const char* fn = "BackwardFromOutputGradient";
  const SequenceShape seq = CheckBackwardArguments(fn, model, x, h0, forward);
  CheckSize(fn, "output_gradient", output_gradient.size(),
            forward.output.size(), "steps*batch*output");
  CheckOptionalSize(fn, "final_hidden_gradient", final_hidden_gradient.size(),
                    Mul(fn, seq.batch, model.dims.hidden), "batch*hidden");
  // e(t) = ∂L/∂y(t) ⊙ g'(ŷ(t)) = ∂L/∂ŷ(t).
  std::vector<double> errors(output_gradient.size());
  for (size_t k = 0; k < errors.size(); ++k) {
    errors[k] = output_gradient[k] *
                Derivative(model.output_activation, forward.pre_output[k]);
  }
  return BackwardFromErrors(model, x, h0, forward, errors,
                            final_hidden_gradient);
}

}  // namespace elman::reference
