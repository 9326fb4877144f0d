#!/usr/bin/env python3
"""Data-parallel training of elman_torch.ElmanRNN with torch.distributed.

Each process trains the same model under DistributedDataParallel (gloo,
CPU) on its shard of a batch of sine-wave sequences (sequence k goes to rank
k % world_size); DDP averages the gradients, so every step equals one step
on the whole batch. With --check, rank 0 also trains a single copy on the
whole batch and prints how far apart the two are after the last step.

One machine, N local processes on the loopback interface:

    python3 train_ddp.py --world-size 2 --check

Several machines: run the same script with torchrun on each (the
rendezvous is plain TCP; pick a free port on the first machine):

    torchrun --nnodes=2 --nproc_per_node=1 --node_rank=R \\
        --master_addr=FIRST_MACHINE --master_port=29500 train_ddp.py

torchrun sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT, which the
script then uses instead of spawning processes itself.
"""

from __future__ import annotations

import argparse
import math
import os
import socket
from typing import Dict, List, Optional

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel

import elman_torch

STEPS, BATCH, HIDDEN = 25, 16, 32  # the shape of examples/sine_wave


def sine_batch(batch: int = BATCH, steps: int = STEPS):
    """x = sin(phase + t), target = sin(phase + t + 1), time-major (T, B, 1),
    for `batch` random phases (the same in every process)."""
    generator = torch.Generator().manual_seed(2024)
    phases = 2 * math.pi * torch.rand(1, batch, 1, generator=generator)
    t = torch.arange(steps, dtype=torch.float32).view(-1, 1, 1)
    return torch.sin(phases + t), torch.sin(phases + t + 1.0)


def make_model(seed: int = 1) -> elman_torch.ElmanRNN:
    return elman_torch.ElmanRNN(1, HIDDEN, 1, seed=seed)


def train(model: torch.nn.Module, x: torch.Tensor, target: torch.Tensor,
          steps: int, learning_rate: float, optimizer: str) -> List[float]:
    """`steps` optimizer steps ("adam" or "sgd", with momentum 0.9) on the
    mean squared error of (x, target); returns the losses before each."""
    if optimizer == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate,
                                    momentum=0.9)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        y, _ = model(x)
        loss = 0.5 * (y - target).square().mean()
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    return losses


def parameters_of(module: torch.nn.Module) -> Dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in module.named_parameters()}


def max_difference(a: Dict[str, torch.Tensor],
                   b: Dict[str, torch.Tensor]) -> float:
    """max over all parameters of |a - b| / max |b|."""
    scale = max(float(t.abs().max()) for t in b.values())
    return max(float((a[k] - b[k]).abs().max()) for k in b) / scale


def single_process(steps: int, learning_rate: float, optimizer: str
                   ) -> Dict[str, torch.Tensor]:
    """The parameters after training one model on the whole batch."""
    model = make_model()
    train(model, *sine_batch(), steps, learning_rate, optimizer)
    return parameters_of(model)


def worker(rank: int, world_size: int, steps: int, learning_rate: float,
           optimizer: str, check: bool,
           results: Optional[dict] = None) -> None:
    """One rank: its shard, DDP, training; rank 0 reports."""
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    try:
        x, target = sine_batch()
        shard = slice(rank, None, world_size)  # sequences rank, rank + N, ...
        model = DistributedDataParallel(make_model())
        losses = train(model, x[:, shard].contiguous(),
                       target[:, shard].contiguous(), steps, learning_rate,
                       optimizer)
        mine = parameters_of(model.module)
        # Every rank must hold the same parameters: gather them at rank 0.
        gathered = [None] * world_size if rank == 0 else None
        dist.gather_object(mine, gathered, dst=0)
        if rank == 0:
            report(world_size, steps, learning_rate, optimizer, check,
                   losses, mine, gathered, results)
        dist.barrier()  # no rank leaves while another still talks
    finally:
        dist.destroy_process_group()


def report(world_size: int, steps: int, learning_rate: float, optimizer: str,
           check: bool, losses: List[float], mine: Dict[str, torch.Tensor],
           gathered: list, results: Optional[dict]) -> None:
    """Rank 0's summary (and, with `check`, the single-process run)."""
    spread = max(max_difference(p, mine) for p in gathered)
    print(f"{world_size} processes, {steps} {optimizer} steps: local loss "
          f"{losses[0]:.4e} -> {losses[-1]:.4e}; largest difference between "
          f"ranks {spread:.2e}")
    summary = {"losses": losses, "spread": spread}
    if check:
        error = max_difference(
            mine, single_process(steps, learning_rate, optimizer))
        print(f"against one process on the whole batch: largest difference "
              f"{error:.2e} (relative to max |parameter|)")
        summary["error"] = error
    if results is not None:
        results.update(summary)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_local(world_size: int, steps: int, learning_rate: float,
              optimizer: str, check: bool) -> dict:
    """Spawns `world_size` processes on this machine (loopback only);
    returns rank 0's report."""
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(free_port())
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    with mp.Manager() as manager:
        results = manager.dict()
        mp.spawn(worker, args=(world_size, steps, learning_rate, optimizer,
                               check, results), nprocs=world_size)
        return dict(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--world-size", type=int, default=2,
                        help="local processes to spawn (ignored under "
                        "torchrun)")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--optimizer", choices=("adam", "sgd"),
                        default="adam", help="sgd: with momentum 0.9")
    parser.add_argument("--check", action="store_true",
                        help="compare with one process on the whole batch")
    args = parser.parse_args()
    if "RANK" in os.environ:  # launched by torchrun
        worker(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]),
               args.steps, args.lr, args.optimizer, args.check)
    else:
        run_local(args.world_size, args.steps, args.lr, args.optimizer,
                  args.check)


if __name__ == "__main__":
    main()
