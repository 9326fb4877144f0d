// elman_torch._C: the native half of the PyTorch module (python/elman_torch).
// A Core holds one model configuration and a pool of training slots (a
// Model, a Workspace and Gradients), so that Forward and
// BackwardFromOutputGradient run without allocating at steady state. Each
// training forward takes a slot and hands it to a Pass, which the autograd
// graph keeps until it is freed (as torch keeps a graph's saved tensors);
// the slot then goes back to the pool. Every tensor argument is checked here
// (dtype, device, layout, contiguity, shape) and bad ones raise TypeError or
// ValueError; elman::Error (bad sizes, non-finite values) becomes ValueError.
// The autograd.Function and the nn.Module are in __init__.py.
#include <torch/csrc/utils/tensor_dtypes.h>
#include <torch/extension.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "elman/elman.h"

namespace elman_torch {
namespace {

namespace py = pybind11;
using elman::Activation;
using torch::Tensor;

constexpr Activation kActivations[] = {Activation::kTanh, Activation::kSigmoid,
                                       Activation::kRelu,
                                       Activation::kIdentity};

Activation ParseActivation(const std::string& name, const char* argument) {
  for (Activation a : kActivations) {
    if (name == elman::ActivationName(a)) return a;
  }
  throw py::value_error(std::string("ElmanRNN: ") + argument + " is '" + name +
                        "', expected one of 'tanh', 'sigmoid', 'relu', "
                        "'identity'");
}

std::string ShapeText(at::IntArrayRef sizes) {
  std::string text = "(";
  for (size_t i = 0; i < sizes.size(); ++i) {
    text += (i ? ", " : "") + std::to_string(sizes[i]);
  }
  return text + (sizes.size() == 1 ? ",)" : ")");
}

// "torch.float32", as Python spells a dtype.
std::string DtypeName(at::ScalarType dtype) {
  return "torch." + torch::utils::getDtypeNames(dtype).first;
}

// `tensor` is a dense, contiguous CPU tensor of `dtype` and exactly `shape`;
// otherwise TypeError (dtype, device, layout) or ValueError (shape,
// contiguity), naming the argument.
void CheckTensor(const Tensor& tensor, const char* name, at::IntArrayRef shape,
                 at::ScalarType dtype = at::kFloat) {
  const std::string prefix = std::string("ElmanRNN: ") + name;
  if (!tensor.defined()) throw py::value_error(prefix + " is undefined");
  if (tensor.layout() != at::kStrided) {
    throw py::type_error(prefix + " must be a dense (strided) tensor");
  }
  if (!tensor.device().is_cpu()) {
    throw py::type_error(prefix + " must be on the CPU, got " +
                         tensor.device().str());
  }
  if (tensor.scalar_type() != dtype) {
    throw py::type_error(prefix + " must be " + DtypeName(dtype) + ", got " +
                         DtypeName(tensor.scalar_type()));
  }
  if (tensor.sizes() != shape) {
    throw py::value_error(prefix + " has shape " + ShapeText(tensor.sizes()) +
                          ", expected " + ShapeText(shape));
  }
  if (!tensor.is_contiguous()) {
    throw py::value_error(prefix +
                          " must be contiguous (call .contiguous() on it)");
  }
}

// x must be 3-D (T, B, I) with T, B >= 1; returns (T, B).
elman::SequenceShape CheckInput(const Tensor& x, size_t input) {
  if (x.dim() != 3) {
    throw py::value_error("ElmanRNN: x must be 3-D (T, B, input_size), got " +
                          std::to_string(x.dim()) + "-D shape " +
                          ShapeText(x.sizes()));
  }
  CheckTensor(x, "x", {x.size(0), x.size(1), static_cast<int64_t>(input)});
  if (x.size(0) < 1 || x.size(1) < 1) {
    throw py::value_error("ElmanRNN: x has shape " + ShapeText(x.sizes()) +
                          ", needs at least one step and one sequence");
  }
  return {static_cast<size_t>(x.size(0)), static_cast<size_t>(x.size(1))};
}

template <typename T>
std::span<const T> ConstSpan(const Tensor& t) {
  return {t.data_ptr<T>(), static_cast<size_t>(t.numel())};
}
template <typename T>
std::span<T> Span(Tensor& t) {
  return {t.data_ptr<T>(), static_cast<size_t>(t.numel())};
}

// The five parameter tensors, checked against the dims.
struct ParameterTensors {
  Tensor W, U, b, V, c;

  void Check(const elman::Dims& d, at::ScalarType dtype) const {
    const auto i = static_cast<int64_t>(d.input),
               h = static_cast<int64_t>(d.hidden),
               o = static_cast<int64_t>(d.output);
    CheckTensor(W, "W", {h, i}, dtype);
    CheckTensor(U, "U", {h, h}, dtype);
    CheckTensor(b, "b", {h}, dtype);
    CheckTensor(V, "V", {o, h}, dtype);
    CheckTensor(c, "c", {o}, dtype);
  }
};

// A copy of a float span as a new tensor of `shape`.
Tensor ToTensor(std::span<const float> values, at::IntArrayRef shape) {
  Tensor out = torch::empty(shape, torch::kFloat32);
  std::copy(values.begin(), values.end(), out.data_ptr<float>());
  return out;
}

// What one training pass needs, sized for (max_steps, max_batch).
struct Slot {
  Slot(const elman::Config& config, size_t steps, size_t batch)
      : model(config),
        workspace(config.dims, steps, batch),
        gradients(config.dims) {}
  elman::Model model;
  elman::Workspace workspace;
  elman::Gradients gradients;
};

// Idle slots, most recently used first. Acquire takes the first that holds
// the sequence, or makes one of exactly its size; Release keeps at most
// kMaxIdle (the least recently used beyond that are freed).
class Pool {
 public:
  static constexpr size_t kMaxIdle = 4;

  explicit Pool(const elman::Config& config) : config_(config) {}

  const elman::Config& config() const { return config_; }

  std::unique_ptr<Slot> Acquire(elman::SequenceShape seq) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto it = idle_.begin(); it != idle_.end(); ++it) {
        if ((*it)->workspace.max_steps() >= seq.steps &&
            (*it)->workspace.max_batch() >= seq.batch) {
          std::unique_ptr<Slot> slot = std::move(*it);
          idle_.erase(it);
          return slot;
        }
      }
      ++created_;
    }
    return std::make_unique<Slot>(config_, seq.steps, seq.batch);
  }

  void Release(std::unique_ptr<Slot> slot) {
    std::lock_guard<std::mutex> lock(mutex_);
    idle_.insert(idle_.begin(), std::move(slot));
    if (idle_.size() > kMaxIdle) idle_.pop_back();
  }

  size_t created() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return created_;
  }
  size_t idle() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return idle_.size();
  }

 private:
  elman::Config config_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Slot>> idle_;
  size_t created_ = 0;
};

// One forward's stored state, until its autograd graph lets go of it.
class Pass {
 public:
  Pass(std::shared_ptr<Pool> pool, std::unique_ptr<Slot> slot,
       elman::SequenceShape seq)
      : pool_(std::move(pool)), slot_(std::move(slot)), seq_(seq) {}
  ~Pass() { pool_->Release(std::move(slot_)); }
  Pass(const Pass&) = delete;
  Pass& operator=(const Pass&) = delete;

  // (dx or None, dh0 or None, dW, dU, db, dV, dc) from ∂L/∂y (T, B, O) and
  // ∂L/∂h(T−1) (1, B, H) or (B, H), either None for zeros. dh0 is (B, H).
  py::tuple Backward(std::optional<Tensor> grad_y, std::optional<Tensor> grad_h,
                     bool need_dx, bool need_dh0) {
    const elman::Dims d = pool_->config().dims;
    const auto steps = static_cast<int64_t>(seq_.steps),
               batch = static_cast<int64_t>(seq_.batch),
               input = static_cast<int64_t>(d.input),
               hidden = static_cast<int64_t>(d.hidden),
               output = static_cast<int64_t>(d.output);
    // Autograd may hand in expanded or strided gradients: made contiguous.
    Tensor gy = grad_y && grad_y->defined()
                    ? grad_y->contiguous()
                    : torch::zeros({steps, batch, output}, torch::kFloat32);
    CheckTensor(gy, "grad of y", {steps, batch, output});
    Tensor gh;
    if (grad_h && grad_h->defined()) {
      gh = grad_h->contiguous();
      if (gh.dim() == 3) gh = gh.view({gh.size(0) * gh.size(1), gh.size(2)});
      CheckTensor(gh, "grad of h_n", {batch, hidden});
    }
    Tensor dx, dh0;
    if (need_dx) dx = torch::empty({steps, batch, input}, torch::kFloat32);
    if (need_dh0) dh0 = torch::empty({batch, hidden}, torch::kFloat32);
    elman::Gradients& grads = slot_->gradients;
    {
      py::gil_scoped_release no_gil;
      elman::BackwardFromOutputGradient(
          slot_->model, ConstSpan<float>(gy),
          gh.defined() ? ConstSpan<float>(gh) : std::span<const float>(),
          slot_->workspace,
          {&grads, dx.defined() ? Span<float>(dx) : std::span<float>(),
           dh0.defined() ? Span<float>(dh0) : std::span<float>()});
    }
    auto optional = [](const Tensor& t) {
      return t.defined() ? py::cast(t) : py::none();
    };
    return py::make_tuple(
        optional(dx), optional(dh0), ToTensor(grads.W(), {hidden, input}),
        ToTensor(grads.U(), {hidden, hidden}), ToTensor(grads.b(), {hidden}),
        ToTensor(grads.V(), {output, hidden}), ToTensor(grads.c(), {output}));
  }

 private:
  std::shared_ptr<Pool> pool_;
  std::unique_ptr<Slot> slot_;
  elman::SequenceShape seq_;
};

// h0 as (B, H): None, or (1, B, H) / (B, H) like nn.RNN's.
Tensor CheckH0(const std::optional<Tensor>& h0, elman::SequenceShape seq,
               size_t hidden) {
  if (!h0 || !h0->defined()) return {};
  const auto batch = static_cast<int64_t>(seq.batch),
             h = static_cast<int64_t>(hidden);
  if (h0->dim() == 3) {
    CheckTensor(*h0, "h0", {1, batch, h});
    return h0->view({batch, h});
  }
  CheckTensor(*h0, "h0", {batch, h});
  return *h0;
}

// The sizes and activations checked, as an elman::Config.
elman::Config MakeConfig(int64_t input, int64_t hidden, int64_t output,
                         const std::string& nonlinearity,
                         const std::string& output_activation) {
  for (int64_t size : {input, hidden, output}) {
    if (size < 1) {
      throw py::value_error(
          "ElmanRNN: input_size, hidden_size and output_size must be >= 1, "
          "got (" +
          std::to_string(input) + ", " + std::to_string(hidden) + ", " +
          std::to_string(output) + ")");
    }
  }
  return {{static_cast<size_t>(input), static_cast<size_t>(hidden),
           static_cast<size_t>(output)},
          ParseActivation(nonlinearity, "nonlinearity"),
          ParseActivation(output_activation, "output_activation")};
}

// The configuration and the slot pool of one ElmanRNN.
class Core {
 public:
  Core(int64_t input, int64_t hidden, int64_t output,
       const std::string& nonlinearity, const std::string& output_activation)
      : pool_(std::make_shared<Pool>(MakeConfig(
            input, hidden, output, nonlinearity, output_activation))) {}

  const elman::Config& config() const { return pool_->config(); }

  // (y (T, B, O), h_n (1, B, H), Pass) for x (T, B, I) and h0 or None.
  py::tuple Forward(const Tensor& x, const std::optional<Tensor>& h0,
                    const ParameterTensors& p) {
    const elman::Dims d = config().dims;
    const elman::SequenceShape seq = CheckInput(x, d.input);
    const Tensor h0_flat = CheckH0(h0, seq, d.hidden);
    p.Check(d, at::kFloat);
    std::unique_ptr<Slot> slot = pool_->Acquire(seq);
    elman::Parameters& params = slot->model.parameters();
    auto copy = [](const Tensor& from, std::span<float> to) {
      std::copy_n(from.data_ptr<float>(), to.size(), to.data());
    };
    copy(p.W, params.W());
    copy(p.U, params.U());
    copy(p.b, params.b());
    copy(p.V, params.V());
    copy(p.c, params.c());
    Tensor y = torch::empty(
        {static_cast<int64_t>(seq.steps), static_cast<int64_t>(seq.batch),
         static_cast<int64_t>(d.output)},
        torch::kFloat32);
    try {
      py::gil_scoped_release no_gil;
      elman::Forward(slot->model, ConstSpan<float>(x), seq,
                     h0_flat.defined() ? ConstSpan<float>(h0_flat)
                                       : std::span<const float>(),
                     slot->workspace, Span<float>(y));
    } catch (...) {
      pool_->Release(std::move(slot));
      throw;
    }
    const Tensor h_n = ToTensor(
        slot->workspace.final_hidden(),
        {1, static_cast<int64_t>(seq.batch), static_cast<int64_t>(d.hidden)});
    return py::make_tuple(y, h_n,
                          std::make_unique<Pass>(pool_, std::move(slot), seq));
  }

  size_t workspaces_created() const { return pool_->created(); }
  size_t workspaces_idle() const { return pool_->idle(); }

 private:
  std::shared_ptr<Pool> pool_;
};

// --- The double-precision reference (elman::reference), for gradcheck ------

std::vector<double> ToVector(const Tensor& t) {
  if (!t.defined()) return {};
  const double* data = t.data_ptr<double>();
  return std::vector<double>(data, data + t.numel());
}

Tensor FromVector(const std::vector<double>& v, at::IntArrayRef shape) {
  Tensor out = torch::empty(shape, torch::kFloat64);
  std::copy(v.begin(), v.end(), out.data_ptr<double>());
  return out;
}

struct ReferenceProblem {
  elman::reference::Model model;
  elman::SequenceShape seq;
  std::vector<double> x, h0;
};

ReferenceProblem MakeReferenceProblem(const Tensor& x,
                                      const std::optional<Tensor>& h0,
                                      const ParameterTensors& p,
                                      const std::string& nonlinearity,
                                      const std::string& output_activation) {
  if (!p.W.defined() || p.W.dim() != 2 || !p.V.defined() || p.V.dim() != 2) {
    throw py::value_error("ElmanRNN: W and V must be matrices");
  }
  const elman::Dims d{static_cast<size_t>(p.W.size(1)),
                      static_cast<size_t>(p.W.size(0)),
                      static_cast<size_t>(p.V.size(0))};
  p.Check(d, at::kDouble);
  if (!x.defined() || x.dim() != 3) {
    throw py::value_error("ElmanRNN: x must be 3-D (T, B, input_size)");
  }
  const elman::SequenceShape seq{static_cast<size_t>(x.size(0)),
                                 static_cast<size_t>(x.size(1))};
  CheckTensor(x, "x", {x.size(0), x.size(1), static_cast<int64_t>(d.input)},
              at::kDouble);
  Tensor h0_flat;
  if (h0 && h0->defined()) {
    CheckTensor(
        *h0, "h0",
        {static_cast<int64_t>(seq.batch), static_cast<int64_t>(d.hidden)},
        at::kDouble);
    h0_flat = *h0;
  }
  ReferenceProblem problem{
      elman::reference::Model(
          d, ParseActivation(nonlinearity, "nonlinearity"),
          ParseActivation(output_activation, "output_activation")),
      seq, ToVector(x), ToVector(h0_flat)};
  problem.model.W = ToVector(p.W);
  problem.model.U = ToVector(p.U);
  problem.model.b = ToVector(p.b);
  problem.model.V = ToVector(p.V);
  problem.model.c = ToVector(p.c);
  return problem;
}

// (y (T, B, O), h_n (B, H)) in float64.
py::tuple ReferenceForward(const Tensor& x, const std::optional<Tensor>& h0,
                           const ParameterTensors& p,
                           const std::string& nonlinearity,
                           const std::string& output_activation) {
  const ReferenceProblem r =
      MakeReferenceProblem(x, h0, p, nonlinearity, output_activation);
  const auto f = elman::reference::Forward(r.model, r.x, r.seq, r.h0);
  const auto steps = static_cast<int64_t>(r.seq.steps),
             batch = static_cast<int64_t>(r.seq.batch),
             hidden = static_cast<int64_t>(r.model.dims.hidden);
  const std::vector<double> last(
      f.hidden.end() - static_cast<ptrdiff_t>(batch * hidden), f.hidden.end());
  return py::make_tuple(
      FromVector(f.output,
                 {steps, batch, static_cast<int64_t>(r.model.dims.output)}),
      FromVector(last, {batch, hidden}));
}

// (dx, dh0, dW, dU, db, dV, dc) in float64, from ∂L/∂y and ∂L/∂h(T−1)
// (None: zeros); dh0 is returned even without h0 (the gradient at zeros).
py::tuple ReferenceBackward(const Tensor& x, const std::optional<Tensor>& h0,
                            const ParameterTensors& p,
                            const std::string& nonlinearity,
                            const std::string& output_activation,
                            const std::optional<Tensor>& grad_y,
                            const std::optional<Tensor>& grad_h) {
  const ReferenceProblem r =
      MakeReferenceProblem(x, h0, p, nonlinearity, output_activation);
  const elman::Dims d = r.model.dims;
  const auto steps = static_cast<int64_t>(r.seq.steps),
             batch = static_cast<int64_t>(r.seq.batch),
             input = static_cast<int64_t>(d.input),
             hidden = static_cast<int64_t>(d.hidden),
             output = static_cast<int64_t>(d.output);
  const auto f = elman::reference::Forward(r.model, r.x, r.seq, r.h0);
  std::vector<double> gy(f.output.size(), 0.0), gh;
  if (grad_y && grad_y->defined()) {
    const Tensor g = grad_y->contiguous();
    CheckTensor(g, "grad of y", {steps, batch, output}, at::kDouble);
    gy = ToVector(g);
  }
  if (grad_h && grad_h->defined()) {
    const Tensor g = grad_h->contiguous();
    CheckTensor(g, "grad of h_n", {batch, hidden}, at::kDouble);
    gh = ToVector(g);
  }
  const auto g = elman::reference::BackwardFromOutputGradient(r.model, r.x,
                                                              r.h0, f, gy, gh);
  return py::make_tuple(
      FromVector(g.x, {steps, batch, input}), FromVector(g.h0, {batch, hidden}),
      FromVector(g.W, {hidden, input}), FromVector(g.U, {hidden, hidden}),
      FromVector(g.b, {hidden}), FromVector(g.V, {output, hidden}),
      FromVector(g.c, {output}));
}

// elman's own initialization (Model::Initialize: Glorot-uniform W, U, V
// from a SplitMix64 stream, zero biases) as float32 (W, U, b, V, c).
py::tuple GlorotParameters(int64_t input, int64_t hidden, int64_t output,
                           uint64_t seed) {
  const elman::Model model(
      MakeConfig(input, hidden, output, "tanh", "identity"), seed);
  const elman::Parameters& p = model.parameters();
  return py::make_tuple(
      ToTensor(p.W(), {hidden, input}), ToTensor(p.U(), {hidden, hidden}),
      ToTensor(p.b(), {hidden}), ToTensor(p.V(), {output, hidden}),
      ToTensor(p.c(), {output}));
}

}  // namespace
}  // namespace elman_torch

PYBIND11_MODULE(_C, m) {
  namespace py = pybind11;
  using elman_torch::Core;
  using elman_torch::ParameterTensors;
  using elman_torch::Pass;
  m.doc() = "elman's Forward and BackwardFromOutputGradient for PyTorch";

  py::class_<Pass>(m, "Pass",
                   "One training forward's stored state; returns its "
                   "workspace to the pool when freed.")
      .def("backward", &Pass::Backward, py::arg("grad_y"), py::arg("grad_h"),
           py::arg("need_dx"), py::arg("need_dh0"));

  py::class_<Core>(m, "Core")
      .def(py::init<int64_t, int64_t, int64_t, const std::string&,
                    const std::string&>(),
           py::arg("input_size"), py::arg("hidden_size"),
           py::arg("output_size"), py::arg("nonlinearity"),
           py::arg("output_activation"))
      .def(
          "forward",
          [](Core& core, const torch::Tensor& x,
             const std::optional<torch::Tensor>& h0, const torch::Tensor& W,
             const torch::Tensor& U, const torch::Tensor& b,
             const torch::Tensor& V, const torch::Tensor& c) {
            return core.Forward(x, h0, ParameterTensors{W, U, b, V, c});
          },
          py::arg("x"), py::arg("h0"), py::arg("W"), py::arg("U"), py::arg("b"),
          py::arg("V"), py::arg("c"))
      .def_property_readonly("workspaces_created", &Core::workspaces_created)
      .def_property_readonly("workspaces_idle", &Core::workspaces_idle)
      .def(py::pickle(
          [](const Core& core) {
            const elman::Config& c = core.config();
            return py::make_tuple(c.dims.input, c.dims.hidden, c.dims.output,
                                  elman::ActivationName(c.hidden_activation),
                                  elman::ActivationName(c.output_activation));
          },
          [](const py::tuple& t) {
            return Core(t[0].cast<int64_t>(), t[1].cast<int64_t>(),
                        t[2].cast<int64_t>(), t[3].cast<std::string>(),
                        t[4].cast<std::string>());
          }));

  m.def(
      "reference_forward",
      [](const torch::Tensor& x, const std::optional<torch::Tensor>& h0,
         const torch::Tensor& W, const torch::Tensor& U, const torch::Tensor& b,
         const torch::Tensor& V, const torch::Tensor& c,
         const std::string& nonlinearity,
         const std::string& output_activation) {
        return elman_torch::ReferenceForward(x, h0,
                                             ParameterTensors{W, U, b, V, c},
                                             nonlinearity, output_activation);
      },
      py::arg("x"), py::arg("h0"), py::arg("W"), py::arg("U"), py::arg("b"),
      py::arg("V"), py::arg("c"), py::arg("nonlinearity"),
      py::arg("output_activation"));
  m.def(
      "reference_backward",
      [](const torch::Tensor& x, const std::optional<torch::Tensor>& h0,
         const torch::Tensor& W, const torch::Tensor& U, const torch::Tensor& b,
         const torch::Tensor& V, const torch::Tensor& c,
         const std::string& nonlinearity, const std::string& output_activation,
         const std::optional<torch::Tensor>& grad_y,
         const std::optional<torch::Tensor>& grad_h) {
        return elman_torch::ReferenceBackward(
            x, h0, ParameterTensors{W, U, b, V, c}, nonlinearity,
            output_activation, grad_y, grad_h);
      },
      py::arg("x"), py::arg("h0"), py::arg("W"), py::arg("U"), py::arg("b"),
      py::arg("V"), py::arg("c"), py::arg("nonlinearity"),
      py::arg("output_activation"), py::arg("grad_y"), py::arg("grad_h"));
  m.def("glorot_parameters", &elman_torch::GlorotParameters,
        py::arg("input_size"), py::arg("hidden_size"), py::arg("output_size"),
        py::arg("seed"));
  m.def("simd_target", &elman::CurrentTarget,
        "The SIMD target elman dispatches to on this CPU.");
}
