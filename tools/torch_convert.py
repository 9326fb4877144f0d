#!/usr/bin/env python3
"""Convert between PyTorch's nn.RNN + nn.Linear and elman's weight files.

elman computes, for t = 0 ... T-1,

    h(t) = f(W x(t) + U h(t-1) + b),    y(t) = g(V h(t) + c),

which is a one-layer, unidirectional ``nn.RNN`` (``nonlinearity`` tanh or
relu, ``bias=True``) followed by an ``nn.Linear`` and an optional output
activation g. The tensors map as

    W = rnn.weight_ih_l0 [H, I]        U = rnn.weight_hh_l0 [H, H]
    b = rnn.bias_ih_l0 + rnn.bias_hh_l0 [H]
    V = linear.weight [O, H]           c = linear.bias [O]

and back: bias_ih_l0 = b, bias_hh_l0 = 0 (the two biases only ever appear as
their sum). ``batch_first`` does not change the weights.

The file is the one described in include/elman/io.h: safetensors with the
float32 little-endian tensors "W", "U", "b", "V", "c" in that order, back to
back, and the metadata {"format": "elman", "format_version": "1",
"hidden_activation": "tanh" | "relu", "output_activation": ...}. The file
format is handled with the standard library only (safetensors_f32.py, beside
this file); torch is needed for the modules.

Python API:
    to_elman(rnn, linear, path, output_activation="identity")
    from_elman(path) -> (nn.RNN, nn.Linear, output_activation)
    state_dict_to_elman(state_dict, path, ...), elman_to_state_dict(path, ...)
    read_safetensors(path), write_safetensors(path, tensors, metadata)

Command line (exit status 0 on success, 2 on any error):
    python3 tools/torch_convert.py to-elman model.pt out.safetensors \
        [--nonlinearity tanh|relu] [--output-activation identity|...] \
        [--rnn-prefix rnn.] [--linear-prefix linear.]
    python3 tools/torch_convert.py from-elman in.safetensors out.pt \
        [--rnn-prefix rnn.] [--linear-prefix linear.]

``model.pt`` is a state_dict saved with ``torch.save(model.state_dict(),
"model.pt")`` holding (with the default prefixes)

    rnn.weight_ih_l0  rnn.weight_hh_l0  rnn.bias_ih_l0  rnn.bias_hh_l0
    linear.weight     linear.bias

as a module with attributes ``rnn = nn.RNN(...)`` and ``linear =
nn.Linear(...)`` produces. Other keys outside the two prefixes are ignored
(e.g. an embedding in front); any other key under the RNN prefix (a second
layer, a reverse direction) is an error. A state_dict does not record the
nonlinearity, so give it with --nonlinearity (default tanh).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Dict, Mapping, Optional, Sequence, Tuple

import torch
from torch import nn

import safetensors_f32  # beside this file

FORMAT = "elman"
FORMAT_VERSION = "1"
HIDDEN_ACTIVATIONS = ("tanh", "relu")  # what nn.RNN offers
OUTPUT_ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu")
TENSOR_ORDER = ("W", "U", "b", "V", "c")

class ConversionError(ValueError):
    """A model or file that elman cannot represent, or a malformed file."""


# --------------------------------------------------------------------------
# The container (safetensors_f32, standard library only) with torch tensors.
# --------------------------------------------------------------------------


def encode_safetensors(tensors: Mapping[str, torch.Tensor],
                       metadata: Optional[Mapping[str, str]] = None) -> bytes:
    """The bytes of a safetensors file holding `tensors` as float32.

    Tensors are written in the mapping's order, contiguous, little-endian;
    the header is padded with spaces to a multiple of 8 bytes. Every tensor
    must already be torch.float32 (convert explicitly, so that no precision
    is lost silently).
    """
    plain = {}
    for name, tensor in tensors.items():
        if tensor.dtype != torch.float32:
            raise ConversionError(
                f"tensor {name!r} is {tensor.dtype}, expected torch.float32")
        values = tensor.detach().cpu().reshape(-1).tolist()
        plain[name] = (list(tensor.shape), values)
    try:
        return safetensors_f32.encode(plain, metadata)
    except safetensors_f32.SafetensorsError as error:
        raise ConversionError(str(error)) from None


def decode_safetensors(
        data: bytes,
        source: str = "<bytes>") -> Tuple[Dict[str, torch.Tensor],
                                          Dict[str, str]]:
    """(float32 tensors in the header's order, metadata) of a file's bytes.

    Raises ConversionError naming `source` for anything malformed (see
    safetensors_f32.decode).
    """
    try:
        plain, metadata = safetensors_f32.decode(data, source)
    except safetensors_f32.SafetensorsError as error:
        raise ConversionError(str(error)) from None
    tensors = {name: torch.tensor(values, dtype=torch.float32).reshape(shape)
               for name, (shape, values) in plain.items()}
    return tensors, metadata


def write_safetensors(path: str | os.PathLike,
                      tensors: Mapping[str, torch.Tensor],
                      metadata: Optional[Mapping[str, str]] = None) -> None:
    """Writes encode_safetensors(tensors, metadata) to `path` (atomically:
    a temporary file renamed over `path`)."""
    safetensors_f32.write_file(path, encode_safetensors(tensors, metadata))


def read_safetensors(
        path: str | os.PathLike) -> Tuple[Dict[str, torch.Tensor],
                                          Dict[str, str]]:
    """Reads a float32 safetensors file: (tensors, metadata)."""
    with open(path, "rb") as file:
        return decode_safetensors(file.read(), os.fspath(path))


# --------------------------------------------------------------------------
# elman's tensors <-> PyTorch state_dict entries.
# --------------------------------------------------------------------------


def _as_float32(name: str, tensor: torch.Tensor) -> torch.Tensor:
    """`tensor` as finite float32, or ConversionError."""
    if not tensor.is_floating_point():
        raise ConversionError(f"{name} has dtype {tensor.dtype}; only "
                              f"floating-point weights can be converted")
    result = tensor.detach().to(device="cpu", dtype=torch.float32)
    if not bool(torch.isfinite(result).all()):
        raise ConversionError(f"{name} is not finite as float32 (elman "
                              f"rejects inf and NaN weights)")
    return result.contiguous()


def _check_activation(role: str, name: str, allowed: Sequence[str]) -> None:
    if name not in allowed:
        raise ConversionError(f"{role} activation {name!r} is not supported; "
                              f"expected one of {', '.join(allowed)}")


def _elman_tensors(weight_ih: torch.Tensor, weight_hh: torch.Tensor,
                   bias_ih: torch.Tensor, bias_hh: torch.Tensor,
                   linear_weight: torch.Tensor,
                   linear_bias: torch.Tensor) -> Dict[str, torch.Tensor]:
    """W, U, b, V, c from PyTorch's six tensors, with their shapes checked."""
    w = _as_float32("weight_ih_l0", weight_ih)
    u = _as_float32("weight_hh_l0", weight_hh)
    if u.dim() != 2 or w.dim() != 2:
        raise ConversionError("weight_ih_l0 and weight_hh_l0 must be matrices")
    hidden = u.shape[1]
    if u.shape[0] != hidden:
        gates = {3 * hidden: "a GRU (3 gates)", 4 * hidden: "an LSTM (4 gates)"}
        kind = gates.get(u.shape[0], "not a plain RNN")
        raise ConversionError(
            f"weight_hh_l0 is {list(u.shape)}, not square: {kind}; elman "
            f"converts only nn.RNN")
    if w.shape[0] != hidden or w.shape[1] < 1 or hidden < 1:
        raise ConversionError(f"weight_ih_l0 is {list(w.shape)}, expected "
                              f"[{hidden}, input_size >= 1]")
    bias_shapes = {"bias_ih_l0": bias_ih, "bias_hh_l0": bias_hh}
    for name, bias in bias_shapes.items():
        if list(bias.shape) != [hidden]:
            raise ConversionError(f"{name} is {list(bias.shape)}, expected "
                                  f"[{hidden}]")
    v = _as_float32("linear.weight", linear_weight)
    if v.dim() != 2 or v.shape[1] != hidden or v.shape[0] < 1:
        raise ConversionError(f"linear.weight is {list(v.shape)}, expected "
                              f"[out_features, {hidden}] (in_features must "
                              f"equal the RNN's hidden_size)")
    c = _as_float32("linear.bias", linear_bias)
    if list(c.shape) != [v.shape[0]]:
        raise ConversionError(f"linear.bias is {list(c.shape)}, expected "
                              f"[{v.shape[0]}]")
    # The sum in float32, as nn.RNN adds the two biases itself.
    b = _as_float32("bias_ih_l0", bias_ih) + _as_float32("bias_hh_l0", bias_hh)
    b = _as_float32("bias_ih_l0 + bias_hh_l0", b)
    return {"W": w, "U": u, "b": b, "V": v, "c": c}


def write_elman(path: str | os.PathLike, tensors: Mapping[str, torch.Tensor],
                hidden_activation: str,
                output_activation: str = "identity") -> None:
    """Writes W, U, b, V, c (float32, in that order) as an elman file."""
    _check_activation("hidden", hidden_activation,
                      ("tanh", "sigmoid", "relu", "identity"))
    _check_activation("output", output_activation, OUTPUT_ACTIVATIONS)
    if set(tensors) != set(TENSOR_ORDER):
        raise ConversionError(f"expected tensors {', '.join(TENSOR_ORDER)}, "
                              f"got {', '.join(tensors)}")
    ordered = {name: tensors[name] for name in TENSOR_ORDER}
    write_safetensors(path, ordered, {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "hidden_activation": hidden_activation,
        "output_activation": output_activation,
    })


def read_elman(
        path: str | os.PathLike) -> Tuple[Dict[str, torch.Tensor],
                                          Dict[str, str]]:
    """Reads and checks an elman file: ({W, U, b, V, c}, metadata)."""
    source = os.fspath(path)
    tensors, metadata = read_safetensors(path)
    if metadata.get("format") != FORMAT:
        raise ConversionError(f"{source}: metadata format is "
                              f"{metadata.get('format')!r}, expected 'elman'")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ConversionError(
            f"{source}: format_version {metadata.get('format_version')!r} "
            f"is not supported (expected '1')")
    for key in ("hidden_activation", "output_activation"):
        if metadata.get(key) not in ("tanh", "sigmoid", "relu", "identity"):
            raise ConversionError(f"{source}: bad or missing {key} "
                                  f"{metadata.get(key)!r}")
    if set(tensors) != set(TENSOR_ORDER):
        raise ConversionError(f"{source}: tensors {', '.join(tensors)}, "
                              f"expected {', '.join(TENSOR_ORDER)}")
    hidden, inputs = tensors["W"].shape if tensors["W"].dim() == 2 else (0, 0)
    outputs = tensors["c"].shape[0] if tensors["c"].dim() == 1 else 0
    expected = {"W": [hidden, inputs], "U": [hidden, hidden], "b": [hidden],
                "V": [outputs, hidden], "c": [outputs]}
    for name, shape in expected.items():
        if list(tensors[name].shape) != shape or 0 in shape:
            raise ConversionError(f"{source}: tensor {name} is "
                                  f"{list(tensors[name].shape)}, expected "
                                  f"{shape} (all sizes >= 1)")
    return tensors, metadata


def _check_rnn(rnn: nn.Module) -> None:
    """ConversionError unless `rnn` is what elman computes."""
    if not isinstance(rnn, nn.RNN):
        raise ConversionError(f"{type(rnn).__name__} is not supported: elman "
                              f"converts only nn.RNN (not GRU or LSTM)")
    if rnn.num_layers != 1:
        raise ConversionError(f"nn.RNN has num_layers={rnn.num_layers}; elman "
                              f"has one layer")
    if rnn.bidirectional:
        raise ConversionError("nn.RNN is bidirectional; elman runs forward "
                              "in time only")
    if not rnn.bias:
        raise ConversionError("nn.RNN has bias=False; elman needs bias=True")
    if rnn.nonlinearity not in HIDDEN_ACTIVATIONS:
        raise ConversionError(f"nn.RNN nonlinearity {rnn.nonlinearity!r} is "
                              f"not supported")


def to_elman(rnn: nn.RNN, linear: nn.Linear, path: str | os.PathLike,
             output_activation: str = "identity") -> None:
    """Writes `rnn` followed by `linear` as an elman weight file.

    `output_activation` names what the model applies after `linear`
    ("identity" if nothing). Raises ConversionError for anything elman cannot
    compute: not an nn.RNN, num_layers > 1, bidirectional, bias=False, a
    Linear without bias or whose in_features is not hidden_size, weights
    that are not floating point or not finite as float32. Weights of other
    floating dtypes are converted to float32.
    """
    _check_rnn(rnn)
    if not isinstance(linear, nn.Linear):
        raise ConversionError(f"{type(linear).__name__} is not nn.Linear")
    if linear.bias is None:
        raise ConversionError("nn.Linear has bias=False; elman needs the "
                              "output bias c")
    _check_activation("output", output_activation, OUTPUT_ACTIVATIONS)
    tensors = _elman_tensors(rnn.weight_ih_l0, rnn.weight_hh_l0,
                             rnn.bias_ih_l0, rnn.bias_hh_l0, linear.weight,
                             linear.bias)
    write_elman(path, tensors, rnn.nonlinearity, output_activation)


def from_elman(path: str | os.PathLike,
               batch_first: bool = False) -> Tuple[nn.RNN, nn.Linear, str]:
    """Reads an elman file as (nn.RNN, nn.Linear, output_activation).

    The RNN gets bias_ih_l0 = b and bias_hh_l0 = 0. The output activation is
    returned by name ("identity", "sigmoid", "tanh" or "relu") for the caller
    to apply after the Linear. Raises ConversionError for a malformed file
    or a hidden activation nn.RNN lacks (sigmoid, identity).
    """
    tensors, metadata = read_elman(path)
    hidden_activation = metadata["hidden_activation"]
    if hidden_activation not in HIDDEN_ACTIVATIONS:
        raise ConversionError(
            f"{os.fspath(path)}: hidden activation {hidden_activation!r} has "
            f"no nn.RNN equivalent (nn.RNN offers tanh and relu)")
    hidden, inputs = tensors["W"].shape
    outputs = tensors["V"].shape[0]
    rnn = nn.RNN(inputs, hidden, num_layers=1, nonlinearity=hidden_activation,
                 bias=True, batch_first=batch_first)
    linear = nn.Linear(hidden, outputs)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(tensors["W"])
        rnn.weight_hh_l0.copy_(tensors["U"])
        rnn.bias_ih_l0.copy_(tensors["b"])
        rnn.bias_hh_l0.zero_()
        linear.weight.copy_(tensors["V"])
        linear.bias.copy_(tensors["c"])
    return rnn, linear, metadata["output_activation"]


# --------------------------------------------------------------------------
# state_dict files (the command line).
# --------------------------------------------------------------------------

_RNN_KEYS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
_LINEAR_KEYS = ("weight", "bias")


def state_dict_to_elman(state_dict: Mapping[str, torch.Tensor],
                        path: str | os.PathLike, nonlinearity: str = "tanh",
                        output_activation: str = "identity",
                        rnn_prefix: str = "rnn.",
                        linear_prefix: str = "linear.") -> None:
    """Writes the RNN and Linear entries of a state_dict as an elman file.

    Expects <rnn_prefix>{weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0}
    and <linear_prefix>{weight, bias}; keys outside both prefixes are
    ignored, unknown keys under them are an error (they mean a second layer,
    a reverse direction, an LSTM projection ...).
    """
    _check_activation("hidden", nonlinearity, HIDDEN_ACTIVATIONS)
    _check_activation("output", output_activation, OUTPUT_ACTIVATIONS)
    groups = ((rnn_prefix, _RNN_KEYS, "nn.RNN"),
              (linear_prefix, _LINEAR_KEYS, "nn.Linear"))
    found: Dict[str, torch.Tensor] = {}
    for prefix, names, module in groups:
        present = {key[len(prefix):]: value for key, value in
                   state_dict.items() if key.startswith(prefix)}
        extra = sorted(set(present) - set(names))
        if extra:
            hint = ""
            if any("_l1" in k for k in extra):
                hint = " (more than one layer)"
            elif any("reverse" in k for k in extra):
                hint = " (bidirectional)"
            raise ConversionError(
                f"unsupported {module} entries{hint}: "
                f"{', '.join(prefix + k for k in extra)}")
        missing = [prefix + k for k in names if k not in present]
        if missing:
            hint = (" (bias=False is not supported)"
                    if all("bias" in k for k in missing) else "")
            available = ", ".join(sorted(state_dict)) or "none"
            raise ConversionError(f"missing {', '.join(missing)}{hint}; keys "
                                  f"in the file: {available}")
        for name in names:
            found[prefix + name] = present[name]
    tensors = _elman_tensors(*(found[rnn_prefix + k] for k in _RNN_KEYS),
                             *(found[linear_prefix + k] for k in _LINEAR_KEYS))
    write_elman(path, tensors, nonlinearity, output_activation)


def elman_to_state_dict(
        path: str | os.PathLike, rnn_prefix: str = "rnn.",
        linear_prefix: str = "linear.") -> Tuple[Dict[str, torch.Tensor],
                                                  str, str]:
    """(state_dict, nonlinearity, output_activation) of an elman file."""
    rnn, linear, output_activation = from_elman(path)
    state: Dict[str, torch.Tensor] = {}
    for key, value in rnn.state_dict().items():
        state[rnn_prefix + key] = value
    for key, value in linear.state_dict().items():
        state[linear_prefix + key] = value
    return state, rnn.nonlinearity, output_activation


def _load_state_dict(path: str) -> Mapping[str, torch.Tensor]:
    """The state_dict saved in `path` (tensors only, loaded safely)."""
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ConversionError(f"{path}: no such file") from None
    except Exception as error:  # torch raises many kinds here
        raise ConversionError(
            f"{path}: not a state_dict saved with torch.save "
            f"(save model.state_dict(), not the module): {error}") from None
    if not isinstance(loaded, Mapping) or not all(
            isinstance(v, torch.Tensor) for v in loaded.values()):
        raise ConversionError(f"{path}: expected a dict of tensors (a "
                              f"state_dict)")
    return loaded


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="torch_convert.py",
        description="Convert a PyTorch nn.RNN + nn.Linear state_dict to an "
        "elman weight file (safetensors) and back.")
    commands = parser.add_subparsers(dest="command", required=True)
    to = commands.add_parser(
        "to-elman", help="state_dict (.pt) -> elman safetensors",
        description="Keys expected: <rnn-prefix>weight_ih_l0, weight_hh_l0, "
        "bias_ih_l0, bias_hh_l0 and <linear-prefix>weight, bias.")
    to.add_argument("state_dict", help="file saved by torch.save(state_dict)")
    to.add_argument("output", help="elman safetensors file to write")
    to.add_argument("--nonlinearity", choices=HIDDEN_ACTIVATIONS,
                    default="tanh", help="the nn.RNN's nonlinearity "
                    "(default tanh; a state_dict does not record it)")
    to.add_argument("--output-activation", choices=OUTPUT_ACTIVATIONS,
                    default="identity", help="activation applied after the "
                    "Linear (default identity)")
    back = commands.add_parser(
        "from-elman", help="elman safetensors -> state_dict (.pt)")
    back.add_argument("input", help="elman safetensors file")
    back.add_argument("output", help="state_dict file to write (torch.save)")
    for sub in (to, back):
        sub.add_argument("--rnn-prefix", default="rnn.",
                         help="key prefix of the nn.RNN (default 'rnn.')")
        sub.add_argument("--linear-prefix", default="linear.",
                         help="key prefix of the nn.Linear (default "
                         "'linear.')")
    args = parser.parse_args(argv)
    try:
        if args.command == "to-elman":
            state = _load_state_dict(args.state_dict)
            state_dict_to_elman(state, args.output, args.nonlinearity,
                                args.output_activation, args.rnn_prefix,
                                args.linear_prefix)
            print(f"wrote {args.output}")
        else:
            state, nonlinearity, output_activation = elman_to_state_dict(
                args.input, args.rnn_prefix, args.linear_prefix)
            torch.save(state, args.output)
            hidden, inputs = state[args.rnn_prefix + "weight_ih_l0"].shape
            outputs = state[args.linear_prefix + "weight"].shape[0]
            print(f"wrote {args.output}: nn.RNN({inputs}, {hidden}, "
                  f"nonlinearity='{nonlinearity}'), nn.Linear({hidden}, "
                  f"{outputs}), output activation {output_activation}")
    except (ConversionError, OSError) as error:
        print(f"torch_convert.py: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
