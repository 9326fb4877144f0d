"""elman inside PyTorch: an Elman RNN with a dense output layer, an nn.Module.

``ElmanRNN`` computes, for t = 0 ... T-1 (time-major, as nn.RNN),

    h(t) = f(W x(t) + U h(t-1) + b),    y(t) = g(V h(t) + c),

with elman's SIMD kernels: the forward pass is ``elman::Forward``, the
backward pass ``elman::BackwardFromOutputGradient`` called from a
``torch.autograd.Function``. W [H, I], U [H, H], b [H], V [O, H] and c [O]
are ordinary ``nn.Parameter``s, so optimizers, ``state_dict``,
``clip_grad_norm_`` and ``DistributedDataParallel`` work unchanged.

The module is an nn.RNN (one layer, unidirectional, bias) followed by an
nn.Linear and an output activation g; ``from_torch`` and ``to_torch``
convert (b = bias_ih + bias_hh; back: bias_ih = b, bias_hh = 0), as
tools/torch_convert.py does for files.

Tensors must be float32, contiguous and on the CPU; anything else raises
TypeError (dtype, device, layout) or ValueError (shape, contiguity,
non-finite values). ``reference_rnn`` is the same model on elman's
double-precision reference, for ``torch.autograd.gradcheck``.
"""

from __future__ import annotations

from typing import Optional, Tuple

import torch
from torch import nn
from torch.autograd.function import once_differentiable

from . import _C  # after torch: the extension uses torch's Python bindings

__all__ = ["ElmanRNN", "reference_rnn", "simd_target"]

HIDDEN_ACTIVATIONS = ("tanh", "sigmoid", "relu", "identity")
OUTPUT_ACTIVATIONS = HIDDEN_ACTIVATIONS
TORCH_NONLINEARITIES = ("tanh", "relu")  # what nn.RNN offers


def simd_target() -> str:
    """The SIMD target elman's kernels run on (e.g. "AVX3", "AVX2")."""
    return _C.simd_target()


class _ElmanFunction(torch.autograd.Function):
    """y, h_n = elman forward; backward = elman's BackwardFromOutputGradient.

    The forward's stored state (a workspace from the module's pool) lives in
    a ``_C.Pass`` held by the context, so it is freed with the graph, as
    torch frees the tensors a graph saves.
    """

    @staticmethod
    def forward(ctx, core, x, h0, W, U, b, V, c):  # noqa: N803 (the names)
        y, h_n, stored = core.forward(x, h0, W, U, b, V, c)
        ctx.stored = stored
        ctx.h0_shape = None if h0 is None else h0.shape
        # An output whose gradient nobody asks for arrives as None, which
        # elman takes as zeros without forming them.
        ctx.set_materialize_grads(False)
        return y, h_n

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y, grad_h):
        needs = ctx.needs_input_grad
        if grad_y is None and grad_h is None:
            return (None,) * len(needs)
        dx, dh0, *parameter_grads = ctx.stored.backward(
            grad_y, grad_h, needs[1], needs[2])
        if dh0 is not None:
            dh0 = dh0.view(ctx.h0_shape)
        parameter_grads = [grad if need else None
                           for grad, need in zip(parameter_grads, needs[3:])]
        return (None, dx, dh0, *parameter_grads)


class ElmanRNN(nn.Module):
    """An Elman RNN with a dense output layer, on elman's kernels.

    Args:
        input_size, hidden_size, output_size: I, H, O (each >= 1).
        nonlinearity: f, the hidden activation: "tanh", "sigmoid", "relu" or
            "identity".
        output_activation: g, applied after the dense layer (same choices).
        batch_first: x and y are (B, T, ·) instead of (T, B, ·).
        seed: initialize with elman's Glorot-uniform initialization from this
            seed (``elman::Model::Initialize``; zero biases). None draws the
            seed from torch's generator, so ``torch.manual_seed`` decides.

    forward(x, h0=None) -> (y, h_n): x is (T, B, I) (or (B, T, I) with
    batch_first), h0 is (1, B, H) or (B, H) or None for zeros; y is
    (T, B, O) (or (B, T, O)) and h_n, the final hidden state, (1, B, H) as
    nn.RNN's. Gradients flow to x, h0 and the parameters, and from both y
    and h_n.

    Each training forward takes a workspace from a pool kept by the module
    (one per sequence shape in use) and returns it when its graph is freed:
    at steady state no workspace is allocated.
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int,
                 nonlinearity: str = "tanh",
                 output_activation: str = "identity",
                 batch_first: bool = False,
                 seed: Optional[int] = None) -> None:
        super().__init__()
        # Checks the sizes and the activations' names.
        self._core = _C.Core(input_size, hidden_size, output_size,
                             nonlinearity, output_activation)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.nonlinearity = nonlinearity
        self.output_activation = output_activation
        self.batch_first = batch_first
        self.W = nn.Parameter(torch.empty(hidden_size, input_size))
        self.U = nn.Parameter(torch.empty(hidden_size, hidden_size))
        self.b = nn.Parameter(torch.empty(hidden_size))
        self.V = nn.Parameter(torch.empty(output_size, hidden_size))
        self.c = nn.Parameter(torch.empty(output_size))
        self.reset_parameters(seed)

    def reset_parameters(self, seed: Optional[int] = None) -> None:
        """elman's Glorot-uniform initialization (see the class)."""
        if seed is None:
            seed = int(torch.randint(0, 2**62, ()).item())
        values = _C.glorot_parameters(self.input_size, self.hidden_size,
                                      self.output_size, seed)
        with torch.no_grad():
            for parameter, value in zip(self._parameter_list(), values):
                parameter.copy_(value)

    def _parameter_list(self):
        return (self.W, self.U, self.b, self.V, self.c)

    def forward(self, x: torch.Tensor, h0: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"ElmanRNN: x must be a torch.Tensor, got "
                            f"{type(x).__name__}")
        if h0 is not None and not isinstance(h0, torch.Tensor):
            raise TypeError(f"ElmanRNN: h0 must be a torch.Tensor or None, "
                            f"got {type(h0).__name__}")
        if self.batch_first:
            if x.dim() != 3:
                raise ValueError(f"ElmanRNN: x must be 3-D (B, T, "
                                 f"input_size) with batch_first, got shape "
                                 f"{tuple(x.shape)}")
            if not x.is_contiguous():
                raise ValueError("ElmanRNN: x must be contiguous (call "
                                 ".contiguous() on it)")
            x = x.transpose(0, 1).contiguous()
        parameters = self._parameter_list()
        if torch.is_grad_enabled() and any(
                t is not None and t.requires_grad
                for t in (x, h0, *parameters)):
            y, h_n = _ElmanFunction.apply(self._core, x, h0, *parameters)
        else:  # inference: the workspace goes back to the pool at once
            y, h_n, _ = self._core.forward(x, h0, *parameters)
        if self.batch_first:
            y = y.transpose(0, 1)
        return y, h_n

    @property
    def workspaces_created(self) -> int:
        """How many workspaces the module has allocated so far."""
        return self._core.workspaces_created

    def extra_repr(self) -> str:
        text = (f"{self.input_size}, {self.hidden_size}, {self.output_size}, "
                f"nonlinearity={self.nonlinearity!r}, "
                f"output_activation={self.output_activation!r}")
        return text + (", batch_first=True" if self.batch_first else "")

    @classmethod
    def from_torch(cls, rnn: nn.RNN, linear: nn.Linear,
                   output_activation: str = "identity") -> "ElmanRNN":
        """An ElmanRNN computing what `rnn` followed by `linear` and g does.

        Requires a one-layer, unidirectional nn.RNN with bias (tanh or
        relu) and an nn.Linear with bias whose in_features is hidden_size;
        raises ValueError otherwise. The weights are copied (float32).
        """
        _check_torch_modules(rnn, linear)
        module = cls(rnn.input_size, rnn.hidden_size, linear.out_features,
                     rnn.nonlinearity, output_activation,
                     batch_first=rnn.batch_first, seed=0)
        with torch.no_grad():
            module.W.copy_(rnn.weight_ih_l0)
            module.U.copy_(rnn.weight_hh_l0)
            module.b.copy_(rnn.bias_ih_l0 + rnn.bias_hh_l0)
            module.V.copy_(linear.weight)
            module.c.copy_(linear.bias)
        return module

    def to_torch(self) -> Tuple[nn.RNN, nn.Linear]:
        """(nn.RNN, nn.Linear) with this module's weights (bias_ih = b,
        bias_hh = 0); apply ``output_activation`` after the Linear. Raises
        ValueError if the hidden activation is not one nn.RNN has."""
        if self.nonlinearity not in TORCH_NONLINEARITIES:
            raise ValueError(f"ElmanRNN: nonlinearity {self.nonlinearity!r} "
                             f"has no nn.RNN equivalent (nn.RNN offers tanh "
                             f"and relu)")
        rnn = nn.RNN(self.input_size, self.hidden_size,
                     nonlinearity=self.nonlinearity,
                     batch_first=self.batch_first)
        linear = nn.Linear(self.hidden_size, self.output_size)
        with torch.no_grad():
            rnn.weight_ih_l0.copy_(self.W)
            rnn.weight_hh_l0.copy_(self.U)
            rnn.bias_ih_l0.copy_(self.b)
            rnn.bias_hh_l0.zero_()
            linear.weight.copy_(self.V)
            linear.bias.copy_(self.c)
        return rnn, linear


def _check_torch_modules(rnn: nn.Module, linear: nn.Module) -> None:
    """ValueError unless rnn + linear is what ElmanRNN computes."""
    if not isinstance(rnn, nn.RNN):
        raise ValueError(f"ElmanRNN.from_torch: {type(rnn).__name__} is not "
                         f"nn.RNN (GRU and LSTM are not Elman RNNs)")
    problems = []
    if rnn.num_layers != 1:
        problems.append(f"num_layers={rnn.num_layers} (expected 1)")
    if rnn.bidirectional:
        problems.append("bidirectional=True")
    if not rnn.bias:
        problems.append("bias=False")
    if getattr(rnn, "proj_size", 0):
        problems.append(f"proj_size={rnn.proj_size}")
    if not isinstance(linear, nn.Linear):
        problems.append(f"{type(linear).__name__} instead of nn.Linear")
    elif linear.bias is None:
        problems.append("nn.Linear without bias")
    elif linear.in_features != rnn.hidden_size:
        problems.append(f"nn.Linear in_features={linear.in_features}, "
                        f"hidden_size={rnn.hidden_size}")
    if problems:
        raise ValueError("ElmanRNN.from_torch: unsupported " +
                         ", ".join(problems))


class _ReferenceFunction(torch.autograd.Function):
    """The model on elman::reference in float64 (Forward, then
    BackwardFromOutputGradient): slow, for checking gradients."""

    @staticmethod
    def forward(ctx, activations, x, h0, W, U, b, V, c):  # noqa: N803
        ctx.activations = activations
        ctx.save_for_backward(x, h0, W, U, b, V, c)
        ctx.set_materialize_grads(False)
        return _C.reference_forward(x, h0, W, U, b, V, c, *activations)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y, grad_h):
        x, h0, *parameters = ctx.saved_tensors
        grads = _C.reference_backward(x, h0, *parameters, *ctx.activations,
                                      grad_y, grad_h)
        return (None,) + tuple(
            grad if need else None
            for grad, need in zip(grads, ctx.needs_input_grad[1:]))


def reference_rnn(x: torch.Tensor, h0: Optional[torch.Tensor],
                  W: torch.Tensor, U: torch.Tensor,  # noqa: N803
                  b: torch.Tensor, V: torch.Tensor,  # noqa: N803
                  c: torch.Tensor,
                  nonlinearity: str = "tanh",
                  output_activation: str = "identity"
                  ) -> Tuple[torch.Tensor, torch.Tensor]:
    """(y (T, B, O), h_n (B, H)) on elman's double-precision reference.

    All tensors float64; h0 is (B, H) or None. Differentiable in every
    tensor (the backward is elman::reference::BackwardFromOutputGradient),
    for torch.autograd.gradcheck.
    """
    return _ReferenceFunction.apply((nonlinearity, output_activation), x, h0,
                                    W, U, b, V, c)
