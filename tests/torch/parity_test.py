#!/usr/bin/env python3
"""Parity of elman with PyTorch: forward, loss and every gradient.

For random float32 nn.RNN + nn.Linear modules (shapes from I=1, H=32, O=1
to I=8, H=100, O=3 and odd ones like I=3, H=17, O=5; tanh and relu; an
output activation after the Linear; batch_first both ways; with and without
h0; B = 1 and B > 1; T = 1 and T > 1) the modules are written with
tools/torch_convert.py's to_elman, run through elman_run (on the best SIMD
target and on every available target with --target), and compared with
torch autograd of L = 0.5 * ((y - Y)**2).sum():

    y, h_final, loss, dW = grad weight_ih_l0, dU = grad weight_hh_l0,
    db = grad bias_ih_l0 (= grad bias_hh_l0), dV, dc, dx, dh0.

The error of one tensor is max|elman - torch| / max(max|torch|, tiny); each
must be within --tolerance (1e-5). That norm does not see cancellation: a
gradient that is a sum of terms much larger than itself (dc with O = 1 over
many steps, say) is as uncertain in torch float32 as in elman. Such a tensor
over the tolerance is excused, and marked '*', when elman's error against
torch in float64 is within max(tolerance, 4 x torch float32's own). The
default cases need no excuse; --full (256 cases) shows one. The other direction: a file written by
to_elman from random weights, read back with from_elman, must give torch
modules whose forward matches elman_run's y, and to_elman -> from_elman must
keep the state (bias_ih + bias_hh = b, bias_hh = 0, the rest identical).

Prints the worst error per quantity and target; exit status 0 if everything
is within tolerance, 1 if not, 77 (skipped) when torch cannot be imported.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import math
import pathlib
import subprocess
import sys
import tempfile
from typing import Dict, List, Optional, Set, Tuple

try:
    import torch
    from torch import nn
except ImportError as import_error:
    print(f"SKIPPED: torch is not importable ({import_error})")
    sys.exit(77)

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "tools"))
import torch_convert  # noqa: E402  (needs the path above)

TINY = 1e-30
# torch's two bias gradients are equal up to rounding (it sums the input
# projection's over all steps at once): elman's db is compared with both.
QUANTITIES = ("y", "h_final", "loss", "dW", "dU", "db", "db (b_hh)", "dV",
              "dc", "dx", "dh0")
ELMAN_NAME = {"db (b_hh)": "db"}  # elman_run's tensor for a quantity
FROM_ELMAN = "y (from_elman)"
BEST = "best"  # elman_run without --target
# See Tally: how much further from float64 than torch float32 elman may be
# on a tensor whose error against torch float32 exceeds the tolerance.
EXCUSE_FACTOR = 4.0
MAX_FAILURES_SHOWN = 20
ACTIVATIONS = {
    "identity": lambda v: v,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
}


@dataclasses.dataclass(frozen=True)
class Case:
    """One random problem: sizes, activations and layout."""

    inputs: int
    hidden: int
    outputs: int
    steps: int
    batch: int
    nonlinearity: str
    output_activation: str
    batch_first: bool
    with_h0: bool

    def __str__(self) -> str:
        return (f"I={self.inputs} H={self.hidden} O={self.outputs} "
                f"T={self.steps} B={self.batch} {self.nonlinearity}/"
                f"{self.output_activation}"
                f"{' batch_first' if self.batch_first else ''}"
                f"{' h0' if self.with_h0 else ''}")


# Each shape meets tanh and relu, both layouts, h0 or not, B = 1 and B > 1,
# T = 1 and T > 1, and an output activation other than identity.
DEFAULT_CASES = (
    Case(1, 32, 1, 25, 1, "tanh", "identity", False, False),
    Case(1, 32, 1, 1, 1, "relu", "sigmoid", True, True),
    Case(1, 32, 1, 9, 6, "relu", "identity", True, False),
    Case(1, 32, 1, 1, 3, "tanh", "sigmoid", False, True),
    Case(3, 17, 5, 7, 4, "tanh", "sigmoid", True, True),
    Case(3, 17, 5, 1, 3, "relu", "identity", False, False),
    Case(3, 17, 5, 13, 1, "relu", "sigmoid", False, True),
    Case(3, 17, 5, 1, 1, "tanh", "identity", True, False),
    Case(8, 100, 3, 12, 5, "tanh", "identity", False, True),
    Case(8, 100, 3, 6, 1, "relu", "sigmoid", True, False),
    Case(8, 100, 3, 1, 2, "relu", "identity", True, True),
    Case(5, 9, 2, 30, 2, "relu", "tanh", False, True),
    Case(2, 64, 7, 3, 8, "tanh", "relu", True, False),
)


def full_grid() -> List[Case]:
    """Every combination of the factors, for --full."""
    shapes = ((1, 32, 1), (3, 17, 5), (8, 100, 3), (5, 9, 2))
    cases = []
    for (i, h, o), f, g, first, h0, b, t in itertools.product(
            shapes, ("tanh", "relu"), ("identity", "sigmoid"), (False, True),
            (False, True), (1, 4), (1, 11)):
        cases.append(Case(i, h, o, t, b, f, g, first, h0))
    return cases


@dataclasses.dataclass
class Problem:
    """Modules and data of one case, in torch's layout and elman's."""

    case: Case
    rnn: nn.RNN
    linear: nn.Linear
    x: torch.Tensor  # torch layout ([B,T,I] if batch_first, else [T,B,I])
    target: torch.Tensor  # like x, with O
    h0: Optional[torch.Tensor]  # [1, B, H]

    def time_major(self, tensor: torch.Tensor) -> torch.Tensor:
        """[T, B, ...] from the torch layout."""
        first = self.case.batch_first
        return tensor.transpose(0, 1).contiguous() if first else tensor


def relu_margin(problem: Problem) -> float:
    """The smallest |pre-activation| that a relu sees, in float64.

    If elman and torch round a pre-activation this close to 0 to different
    signs, relu' differs: such draws are redrawn rather than tolerated.
    """
    case = problem.case
    w = problem.rnn.weight_ih_l0.double()
    u = problem.rnn.weight_hh_l0.double()
    b = (problem.rnn.bias_ih_l0 + problem.rnn.bias_hh_l0).double()
    v, c = problem.linear.weight.double(), problem.linear.bias.double()
    x = problem.time_major(problem.x).double()
    h = (problem.h0[0].double() if problem.h0 is not None else
         torch.zeros(case.batch, case.hidden, dtype=torch.float64))
    margin = math.inf
    for t in range(case.steps):
        pre = x[t] @ w.T + h @ u.T + b
        h = torch.relu(pre) if case.nonlinearity == "relu" else torch.tanh(pre)
        if case.nonlinearity == "relu":
            margin = min(margin, float(pre.abs().min()))
        if case.output_activation == "relu":
            margin = min(margin, float((h @ v.T + c).abs().min()))
    return margin


def make_problem(case: Case, seed: int) -> Problem:
    """Random modules (PyTorch's default init) and data for `case`."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    rnn = nn.RNN(case.inputs, case.hidden, nonlinearity=case.nonlinearity,
                 batch_first=case.batch_first)
    linear = nn.Linear(case.hidden, case.outputs)
    with torch.no_grad():  # biases of the size of the weights, not zero-ish
        for bias in (rnn.bias_ih_l0, rnn.bias_hh_l0, linear.bias):
            bias.uniform_(-0.5, 0.5, generator=generator)
    lead = ((case.batch, case.steps) if case.batch_first else
            (case.steps, case.batch))
    for _ in range(100):
        x = torch.randn(*lead, case.inputs, generator=generator)
        if case.output_activation == "sigmoid":
            target = torch.rand(*lead, case.outputs, generator=generator)
        else:
            target = torch.randn(*lead, case.outputs, generator=generator)
        h0 = (0.5 * torch.randn(1, case.batch, case.hidden,
                                generator=generator)
              if case.with_h0 else None)
        problem = Problem(case, rnn, linear, x, target, h0)
        uses_relu = "relu" in (case.nonlinearity, case.output_activation)
        if not uses_relu or relu_margin(problem) > 1e-5:
            return problem
    raise RuntimeError(f"{case}: no draw keeps relu away from 0")


def torch_results(problem: Problem,
                  dtype: torch.dtype) -> Dict[str, torch.Tensor]:
    """y, h_final, loss and the gradients by torch autograd, time-major."""
    case = problem.case
    rnn = nn.RNN(case.inputs, case.hidden, nonlinearity=case.nonlinearity,
                 batch_first=case.batch_first).to(dtype)
    rnn.load_state_dict(problem.rnn.state_dict())
    linear = nn.Linear(case.hidden, case.outputs).to(dtype)
    linear.load_state_dict(problem.linear.state_dict())
    x = problem.x.to(dtype, copy=True).requires_grad_()
    h0 = (problem.h0 if problem.h0 is not None else
          torch.zeros(1, case.batch, case.hidden))
    h0 = h0.to(dtype, copy=True).requires_grad_()
    hidden, h_n = rnn(x, h0)
    y = ACTIVATIONS[case.output_activation](linear(hidden))
    loss = 0.5 * ((y - problem.target.to(dtype)) ** 2).sum()
    loss.backward()
    results = {
        "y": problem.time_major(y.detach()),
        "h_final": h_n.detach()[0],
        "loss": loss.detach().reshape(1),
        "dW": rnn.weight_ih_l0.grad,
        "dU": rnn.weight_hh_l0.grad,
        "db": rnn.bias_ih_l0.grad,
        "db (b_hh)": rnn.bias_hh_l0.grad,
        "dV": linear.weight.grad,
        "dc": linear.bias.grad,
        "dx": problem.time_major(x.grad),
        "dh0": h0.grad[0],
    }
    return {k: v.detach().to(torch.float64) for k, v in results.items()}


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """max|actual - expected| / max(max|expected|, tiny); inf on a misfit."""
    if actual.shape != expected.shape:
        return math.inf
    actual = actual.to(torch.float64)
    scale = max(float(expected.abs().max()), TINY)
    return float((actual - expected).abs().max()) / scale


class ElmanRun:
    """Runs the elman_run binary on files in a scratch directory."""

    def __init__(self, binary: str, directory: pathlib.Path) -> None:
        self.binary = str(pathlib.Path(binary).resolve())
        self.directory = directory

    def targets(self) -> List[str]:
        """The SIMD targets this CPU supports, best first."""
        output = subprocess.run([self.binary, "--list-targets"], check=True,
                                capture_output=True, text=True).stdout
        return output.split()

    def __call__(self, model: pathlib.Path, inputs: Dict[str, torch.Tensor],
                 target: Optional[str]) -> Dict[str, torch.Tensor]:
        """elman_run's outputs for `inputs` (elman's layout)."""
        inputs_path = self.directory / "inputs.safetensors"
        outputs_path = self.directory / "outputs.safetensors"
        torch_convert.write_safetensors(inputs_path, inputs)
        command = [self.binary]
        if target is not None:
            command += ["--target", target]
        command += [str(model), str(inputs_path), str(outputs_path)]
        run = subprocess.run(command, capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed "
                               f"({run.returncode}): {run.stderr.strip()}")
        outputs, metadata = torch_convert.read_safetensors(outputs_path)
        if target is not None and metadata.get("target") != target:
            raise RuntimeError(f"asked elman_run for {target}, it ran "
                               f"{metadata.get('target')}")
        return outputs


class Tally:
    """The worst error per (quantity, target) and where it happened.

    A comparison over the tolerance is excused (not a failure) when the
    tensor is ill-conditioned, i.e. a sum with cancellation: elman's error
    against torch in float64 is within max(tolerance, EXCUSE_FACTOR x torch
    float32's own error against float64).
    """

    def __init__(self, tolerance: float) -> None:
        self.tolerance = tolerance
        self.worst: Dict[Tuple[str, str], Tuple[float, str]] = {}
        self.failures: List[str] = []
        self.failed: Set[Tuple[str, str]] = set()
        self.excused: Dict[Tuple[str, str], int] = {}

    def add(self, quantity: str, target: str, error: float, where: str,
            excuse: Optional[Tuple[float, float]] = None) -> None:
        """Records one comparison; `excuse` is (elman, torch f32) vs f64."""
        key = (quantity, target)
        if key not in self.worst or error > self.worst[key][0]:
            self.worst[key] = (error, where)
        if error <= self.tolerance:
            return
        if excuse is not None and excuse[0] <= max(
                self.tolerance, EXCUSE_FACTOR * excuse[1]):
            self.excused[key] = self.excused.get(key, 0) + 1
            return
        detail = (f" (vs float64: elman {excuse[0]:.2e}, torch f32 "
                  f"{excuse[1]:.2e})" if excuse is not None else "")
        self.failed.add(key)
        self.failures.append(f"FAIL {quantity} on {target}: {error:.3g} > "
                             f"{self.tolerance:g}{detail} at {where}")

    def passed(self) -> bool:
        """Whether every comparison was within tolerance or excused."""
        return not self.failures

    def print_table(self, title: str, quantities: List[str],
                    columns: List[str]) -> None:
        """Quantities down, targets across."""
        print(f"\n{title}")
        print(f"{'quantity':<15}" + "".join(f"{c:>11}" for c in columns))
        for quantity in quantities:
            cells = []
            for column in columns:
                if (quantity, column) not in self.worst:
                    cells.append(f"{'-':>10} ")
                    continue
                error, _ = self.worst[(quantity, column)]
                flag = " "
                if (quantity, column) in self.failed:
                    flag = "!"
                elif (quantity, column) in self.excused:
                    flag = "*"
                cells.append(f"{error:>10.2e}{flag}")
            print(f"{quantity:<15}" + "".join(cells))
        for line in self.failures[:MAX_FAILURES_SHOWN]:
            print(line)
        if len(self.failures) > MAX_FAILURES_SHOWN:
            print(f"... and {len(self.failures) - MAX_FAILURES_SHOWN} more "
                  f"failures")
        for (quantity, target), count in sorted(self.excused.items()):
            print(f"excused: {quantity} on {target}, {count} case(s) over "
                  f"{self.tolerance:g} where torch float32 is as far from "
                  f"float64")
        if self.worst:
            (quantity, target), (error, where) = max(
                self.worst.items(), key=lambda item: item[1][0])
            print(f"worst: {quantity} on {target}, {error:.2e}, at {where}")


def check_parity(case: Case, seed: int, elman_run: ElmanRun,
                 targets: List[str], tally: Tally, exact: Tally) -> None:
    """One case on every target, against torch float32 (and float64)."""
    problem = make_problem(case, seed)
    model = elman_run.directory / "model.safetensors"
    torch_convert.to_elman(problem.rnn, problem.linear, model,
                           case.output_activation)
    inputs = {"x": problem.time_major(problem.x),
              "target": problem.time_major(problem.target)}
    if problem.h0 is not None:
        inputs["h0"] = problem.h0[0].contiguous()
    expected = torch_results(problem, torch.float32)
    double = torch_results(problem, torch.float64)
    where = f"{case} seed {seed}"
    torch_error = {q: relative_error(expected[q], double[q])
                   for q in QUANTITIES}
    for target in [BEST] + targets:
        got = elman_run(model, inputs, None if target == BEST else target)
        for quantity in QUANTITIES:
            name = ELMAN_NAME.get(quantity, quantity)
            vs_double = relative_error(got[name], double[quantity])
            tally.add(quantity, target,
                      relative_error(got[name], expected[quantity]), where,
                      (vs_double, torch_error[quantity]))
            if target == BEST:
                exact.add(quantity, "elman", vs_double, where)
    for quantity in QUANTITIES:
        exact.add(quantity, "torch f32", torch_error[quantity], where)


def check_from_elman(case: Case, seed: int, elman_run: ElmanRun,
                     targets: List[str], tally: Tally) -> None:
    """A file from to_elman, read by from_elman: forward and state."""
    problem = make_problem(case, seed)
    model = elman_run.directory / "model.safetensors"
    torch_convert.to_elman(problem.rnn, problem.linear, model,
                           case.output_activation)
    rnn, linear, output_activation = torch_convert.from_elman(
        model, batch_first=case.batch_first)
    where = f"{case} seed {seed}"

    # The state: bias_ih + bias_hh = b, bias_hh = 0, the rest unchanged, and
    # the reconstructed modules convert to the same bytes.
    b = problem.rnn.bias_ih_l0 + problem.rnn.bias_hh_l0
    same = (output_activation == case.output_activation
            and rnn.nonlinearity == case.nonlinearity
            and torch.equal(rnn.weight_ih_l0, problem.rnn.weight_ih_l0)
            and torch.equal(rnn.weight_hh_l0, problem.rnn.weight_hh_l0)
            and torch.equal(rnn.bias_ih_l0 + rnn.bias_hh_l0, b)
            and not bool(rnn.bias_hh_l0.any())
            and torch.equal(linear.weight, problem.linear.weight)
            and torch.equal(linear.bias, problem.linear.bias))
    again = elman_run.directory / "again.safetensors"
    torch_convert.to_elman(rnn, linear, again, output_activation)
    same = same and model.read_bytes() == again.read_bytes()
    tally.add("round trip", BEST, 0.0 if same else math.inf, where)

    with torch.no_grad():
        h0 = problem.h0
        hidden, _ = rnn(problem.x, h0)
        y = problem.time_major(
            ACTIVATIONS[output_activation](linear(hidden)))
    inputs = {"x": problem.time_major(problem.x)}
    if h0 is not None:
        inputs["h0"] = h0[0].contiguous()
    for target in [BEST] + targets:
        got = elman_run(model, inputs, None if target == BEST else target)
        tally.add(FROM_ELMAN, target, relative_error(got["y"], y), where)


def check_errors(elman_run: ElmanRun, tally: Tally) -> None:
    """Bad input is a message on stderr and exit status 1, not a crash."""
    problem = make_problem(DEFAULT_CASES[4], 0)
    model = elman_run.directory / "model.safetensors"
    torch_convert.to_elman(problem.rnn, problem.linear, model)
    wrong_x = elman_run.directory / "wrong.safetensors"
    torch_convert.write_safetensors(wrong_x, {"x": torch.zeros(2, 1, 4)})
    commands = {
        "x of the wrong size": [str(model), str(wrong_x), "out"],
        "a missing model": ["missing.safetensors", str(wrong_x), "out"],
        "an unknown --target": ["--target", "NONE", str(model), str(wrong_x),
                                "out"],
    }
    for what, arguments in commands.items():
        run = subprocess.run([elman_run.binary] + arguments,
                             capture_output=True, text=True,
                             cwd=elman_run.directory)
        ok = run.returncode == 1 and run.stderr.startswith("elman_run: ")
        tally.add("bad input", BEST, 0.0 if ok else math.inf,
                  f"{what}: exit {run.returncode}, {run.stderr.strip()!r}")


def main() -> int:
    """Runs every case; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--elman-run", required=True,
                        help="path of the elman_run binary")
    parser.add_argument("--tolerance", type=float, default=1e-5,
                        help="largest relative error allowed (1e-5)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--full", action="store_true",
                        help="the whole grid of factors (256 cases)")
    args = parser.parse_args()
    torch.set_num_threads(1)

    cases = full_grid() if args.full else list(DEFAULT_CASES)
    tally = Tally(args.tolerance)
    exact = Tally(math.inf)  # for information only
    with tempfile.TemporaryDirectory(prefix="elman_parity_") as directory:
        elman_run = ElmanRun(args.elman_run, pathlib.Path(directory))
        targets = elman_run.targets()
        for index, case in enumerate(cases):
            seed = args.seed * 1000 + index
            check_parity(case, seed, elman_run, targets, tally, exact)
            check_from_elman(case, seed + 500, elman_run, targets, tally)
        check_errors(elman_run, tally)

    columns = [BEST] + targets
    print(f"elman_run vs torch {torch.__version__} autograd (float32), "
          f"{len(cases)} cases, seed {args.seed}; error = max|elman - torch| "
          f"/ max|torch| per tensor, worst over the cases; tolerance "
          f"{args.tolerance:g} ('!' marks a failure)")
    print(f"'{BEST}' is elman_run's default target, "
          f"{targets[0] if targets else '?'} here")
    tally.print_table("worst relative error", list(QUANTITIES) +
                      [FROM_ELMAN, "round trip", "bad input"], columns)
    exact.print_table("for scale: worst relative error against torch in "
                      "float64 (best target)", list(QUANTITIES),
                      ["elman", "torch f32"])
    passed = tally.passed()
    print(f"\ntorch_parity: {'PASS' if passed else 'FAIL'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
