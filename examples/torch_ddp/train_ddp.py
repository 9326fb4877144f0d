#!/usr/bin/env python3
"""Data-parallel training of elman_torch.ElmanRNN with torch.distributed.

Each process trains the same model under DistributedDataParallel (gloo,
CPU) on its shard of a batch of sine-wave sequences (sequence k goes to rank
k % world_size); DDP averages the gradients, so every step equals one step
on the whole batch. With --check, rank 0 also trains a single copy on the
whole batch and prints how far apart the two are after the last step.

One machine, N local processes on the loopback interface:

    python3 train_ddp.py --world-size 2 --check

Several machines: set RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT on each
(the rendezvous is plain TCP; pick a free port on the first machine), and
the script joins that group instead of spawning processes itself:

    RANK=R WORLD_SIZE=2 MASTER_ADDR=FIRST_MACHINE MASTER_PORT=29500 \\
        python3 train_ddp.py

torchrun sets the same variables (Debian 12's torchrun, PyTorch 1.13 on
Python 3.11, fails in its own argument handling before it starts anything).
"""

from __future__ import annotations

import argparse
import datetime
import faulthandler
import json
import math
import os
import signal
import socket
import tempfile
import time
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


def train_shard(rank: int, world_size: int, steps: int, learning_rate: float,
                optimizer: str):
    """This rank's shard under DDP: (losses, parameters). The DDP wrapper and
    its Reducer die when this returns, while the process group is still
    registered, so the group is destroyed later by destroy_process_group."""
    x, target = sine_batch()
    shard = slice(rank, None, world_size)  # sequences rank, rank + N, ...
    model = DistributedDataParallel(make_model())
    losses = train(model, x[:, shard].contiguous(),
                   target[:, shard].contiguous(), steps, learning_rate,
                   optimizer)
    return losses, parameters_of(model.module)


def worker(rank: int, world_size: int, steps: int, learning_rate: float,
           optimizer: str, check: bool, report_file: Optional[str] = None,
           timeout_seconds: float = 1800.0) -> None:
    """One rank: its shard, DDP, training; rank 0 reports (and, given
    `report_file`, writes its summary there as JSON).

    Teardown order matters with gloo: a process group destroyed while one of
    its worker threads still releases a tensor that Python has let go of
    deadlocks (the thread waits for the GIL, the destructor joins it with
    the GIL held). So every tensor handed to a collective here stays
    referenced until the group is gone, the barrier drains the queue, and
    DDP's Reducer is not the group's last owner."""
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", rank=rank, world_size=world_size,
        timeout=datetime.timedelta(seconds=timeout_seconds))
    try:
        losses, mine = train_shard(rank, world_size, steps, learning_rate,
                                   optimizer)
        # Every rank must hold the same parameters: gather them everywhere.
        flat = torch.cat([p.reshape(-1) for p in mine.values()])
        gathered = [torch.empty_like(flat) for _ in range(world_size)]
        dist.all_gather(gathered, flat)
        dist.barrier()  # no rank leaves while another still talks
    finally:
        dist.destroy_process_group()
    if rank == 0:
        spread = max(max_difference({"all": p}, {"all": flat})
                     for p in gathered)
        summary = report(world_size, steps, learning_rate, optimizer, check,
                         losses, mine, spread)
        if report_file is not None:
            with open(report_file, "w", encoding="utf-8") as out:
                json.dump(summary, out)


def report(world_size: int, steps: int, learning_rate: float, optimizer: str,
           check: bool, losses: List[float], mine: Dict[str, torch.Tensor],
           spread: float) -> dict:
    """Rank 0's summary (and, with `check`, the single-process run)."""
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
    return summary


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_local(world_size: int, steps: int, learning_rate: float,
              optimizer: str, check: bool, deadline_seconds: float = 240.0
              ) -> dict:
    """Spawns `world_size` processes on this machine (loopback only);
    returns rank 0's report. Raises TimeoutError, after printing every
    thread's stack of each rank still running, if they have not all finished
    within `deadline_seconds`."""
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(free_port())
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    with tempfile.TemporaryDirectory() as scratch:
        report_file = os.path.join(scratch, "rank0.json")
        context = mp.start_processes(
            local_worker, args=(world_size, steps, learning_rate, optimizer,
                                check, report_file, deadline_seconds),
            nprocs=world_size, join=False)
        deadline = time.monotonic() + deadline_seconds
        while not context.join(timeout=1.0):
            if time.monotonic() > deadline:
                running = [rank for rank, process in
                           enumerate(context.processes) if process.is_alive()]
                for process in context.processes:
                    if process.is_alive():
                        process.terminate()  # its stacks go to stderr
                for process in context.processes:
                    process.join()
                raise TimeoutError(
                    f"ranks {running} of {world_size} still running after "
                    f"{deadline_seconds:.0f} s")
        with open(report_file, encoding="utf-8") as summary:
            return json.load(summary)


def local_worker(rank: int, *args) -> None:
    """worker() in a process spawned by run_local: SIGTERM (run_local's
    deadline) prints every thread's Python stack before the process ends."""
    faulthandler.register(signal.SIGTERM, all_threads=True, chain=True)
    worker(rank, *args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--world-size", type=int, default=2,
                        help="local processes to spawn (ignored when "
                        "RANK is set)")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--optimizer", choices=("adam", "sgd"),
                        default="adam", help="sgd: with momentum 0.9")
    parser.add_argument("--check", action="store_true",
                        help="compare with one process on the whole batch")
    args = parser.parse_args()
    if "RANK" in os.environ:  # one rank of a group set up by hand or torchrun
        worker(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]),
               args.steps, args.lr, args.optimizer, args.check)
    else:
        run_local(args.world_size, args.steps, args.lr, args.optimizer,
                  args.check)


if __name__ == "__main__":
    main()
