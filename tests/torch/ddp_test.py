#!/usr/bin/env python3
"""DistributedDataParallel over ElmanRNN equals training on the whole batch.

Runs examples/torch_ddp/train_ddp.py's local mode: 2 processes (gloo on the
loopback interface, torch.multiprocessing), each with half of the batch,
N steps; rank 0 compares its parameters with one process trained on the
whole batch. Each rank's mean loss is over its half, so DDP's average of the
two gradients is the whole batch's mean gradient: the runs differ only in
the rounding of that average.

- SGD (momentum 0.9), 30 steps: within 1e-5 of the largest parameter
  (measured 1.4e-7 after 50 steps);
- Adam, 30 steps: within 1e-3. Adam divides each gradient by its running
  RMS, so for a weight whose gradient is ~0 the rounding of the average
  decides the step: 2.0e-4 measured after 50 steps, not a sign of a wrong
  gradient (which moves the parameters by ~1e-2 within a step or two);
- the ranks hold identical parameters (DDP's own guarantee, checked).

Exits 77 (skipped) without torch, elman_torch or torch.distributed.
"""

from __future__ import annotations

import pathlib
import sys
import unittest

try:
    import torch
    import torch.distributed as dist
    import elman_torch  # noqa: F401  (skip here rather than in the workers)
except ImportError as import_error:
    print(f"SKIPPED: torch or elman_torch is not importable ({import_error})")
    sys.exit(77)
if not dist.is_available():
    print("SKIPPED: torch.distributed is not available")
    sys.exit(77)

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] /
                       "examples" / "torch_ddp"))
import train_ddp  # noqa: E402  (needs the path above)

STEPS = 30
# Each run takes 3-6 s; a rank still running after this is stuck, and
# run_local fails with every thread's stack (well within ctest's 300 s).
DEADLINE_SECONDS = 100


class DistributedTest(unittest.TestCase):

    def run_and_check(self, optimizer: str, tolerance: float) -> None:
        result = train_ddp.run_local(2, STEPS, 0.01, optimizer, check=True,
                                     deadline_seconds=DEADLINE_SECONDS)
        print(f"{optimizer}: 2 processes vs 1 after {STEPS} steps: "
              f"{result['error']:.2e}", file=sys.stderr)
        self.assertEqual(result["spread"], 0.0)
        self.assertLessEqual(result["error"], tolerance)
        self.assertLess(result["losses"][-1], 0.5 * result["losses"][0])

    def test_sgd_equals_whole_batch(self) -> None:
        self.run_and_check("sgd", 1e-5)

    def test_adam_equals_whole_batch(self) -> None:
        self.run_and_check("adam", 1e-3)


if __name__ == "__main__":
    torch.set_num_threads(1)
    unittest.main(verbosity=2)
