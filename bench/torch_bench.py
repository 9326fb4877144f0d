#!/usr/bin/env python3
"""Training step of elman_torch.ElmanRNN against nn.RNN + nn.Linear, from
Python, one thread each (torch.set_num_threads(1)).

The step is what a PyTorch training loop does before the optimizer:
zero_grad, forward, loss L = 0.5 * sum((y - Y)^2), loss.backward(). Both
models have the same weights (ElmanRNN.to_torch); f = tanh, g = identity.
The shapes (I, H, O, T, B) are those of the peers benchmark
(bench/peers/peers_bench.cc, kShapes). Each time is the median of
--repeats runs of as many steps as fill --seconds; the result table is
printed as Markdown (the README's "PyTorch" section).

Usage (from the build tree, pinned to one core):
    PYTHONPATH=build/release/python taskset -c 1 /usr/bin/python3 \\
        bench/torch_bench.py [--seconds 0.5] [--repeats 5] [--quick]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import time
from typing import Callable, List, Tuple

import torch
from torch import nn

import elman_torch

# (I, H, O, T, B), as in bench/peers/peers_bench.cc.
SHAPES: List[Tuple[int, int, int, int, int]] = [
    (1, 32, 1, 25, 1), (16, 64, 16, 100, 1), (64, 128, 64, 100, 1),
    (128, 256, 128, 100, 1), (256, 512, 256, 50, 1), (64, 128, 64, 100, 32),
    (256, 512, 256, 50, 64)]


def seconds_per_call(step: Callable[[], None], budget: float,
                     repeats: int) -> float:
    """Median over `repeats` of the mean time of one call, each repeat
    running as many calls as fill `budget` seconds (after one warm-up)."""
    step()
    start = time.perf_counter()
    step()
    once = max(time.perf_counter() - start, 1e-7)
    calls = max(1, int(budget / once))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            step()
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples)


def training_step(model: nn.Module, x: torch.Tensor,
                  target: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        model.zero_grad(set_to_none=True)
        y = model(x)
        (0.5 * (y - target).square().sum()).backward()
    return step


class TorchModel(nn.Module):
    """nn.RNN followed by nn.Linear: the model ElmanRNN replaces."""

    def __init__(self, rnn: nn.RNN, linear: nn.Linear) -> None:
        super().__init__()
        self.rnn, self.linear = rnn, linear

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.rnn(x)[0])


class ElmanOutput(nn.Module):
    """ElmanRNN's y alone, to be called like TorchModel."""

    def __init__(self, model: elman_torch.ElmanRNN) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)[0]


def cpu_model() -> str:
    try:
        for line in subprocess.run(["lscpu"], capture_output=True,
                                   text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=0.5,
                        help="time per repeat (default 0.5)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true",
                        help="the first three shapes only")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    print(f"{cpu_model()}; torch {torch.__version__}, 1 thread; elman on "
          f"{elman_torch.simd_target()}\n")
    print("| I, H, O, T, B | nn.RNN + nn.Linear (µs) | ElmanRNN (µs) | "
          "speed-up |")
    print("| --- | ---: | ---: | ---: |")
    for shape in SHAPES[:3] if args.quick else SHAPES:
        inputs, hidden, outputs, steps, batch = shape
        elman = elman_torch.ElmanRNN(inputs, hidden, outputs)
        reference = TorchModel(*elman.to_torch())
        x = torch.randn(steps, batch, inputs)
        target = torch.randn(steps, batch, outputs)
        times = [seconds_per_call(training_step(model, x, target),
                                  args.seconds, args.repeats)
                 for model in (reference, ElmanOutput(elman))]
        print(f"| {', '.join(map(str, shape))} | {1e6 * times[0]:.0f} | "
              f"{1e6 * times[1]:.0f} | {times[0] / times[1]:.1f}× |",
              flush=True)


if __name__ == "__main__":
    main()
