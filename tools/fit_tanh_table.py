#!/usr/bin/env python3
"""Fits the coefficients of TableTanh (src/kernels/activation-inl.h).

Sixteen intervals of a = |z|, one polynomial each:

    interval 0, [0, 1/16):  tanh a = a·(1 + a²·(c3 + a²·c5)),
                            c3, c5 minimax in the relative error
    intervals 1…14:         the halves [2^k, 1.5·2^k) and [1.5·2^k, 2^(k+1))
                            of the octaves from 1/16 to 8 (k = −4…2),
    interval 15:            [8, 12) (the kernel clamps a at 11.999999):
                            tanh a = c0 + t·Q(t), t = a − lo, lo the
                            interval's start, c0 = tanh(lo) rounded to float,
                            Q of degree 5 fitted to (tanh a − c0)/t

Interval i sits at slot (i + 5) mod 16 of the tables: the low 4 bits of
bits(a) >> 22 over it, which is all of the index vpermps reads.

The fits are linear least squares on Chebyshev points, reweighted towards
the largest errors (Lawson's iteration), in double; the coefficients are
then rounded to float. The kernel's own evaluation (Estrin for Q, then one
FMA adding c0) is replayed in float on a sample of floats and every float
near each interval's ends, and the worst error printed in ulp (1.31); the
C++ exhaustive check over every positive float gave 1.46 ulp.

Prints the tables as the kernel declares them.
Usage: /usr/bin/python3 tools/fit_tanh_table.py   (needs python3-numpy)
"""
import math
import struct

import numpy as np

# The float helpers of the other tanh kernel's fit (this directory).
from fit_tanh import as_float, shortest

DEGREE = 6  # of c0 + t·Q(t)
ROUNDS = 50


def intervals():
    result = [(0.0, 0.0625)]
    for k in range(-4, 3):
        lo = 2.0**k
        result += [(lo, 1.5 * lo), (1.5 * lo, 2.0 * lo)]
    return result + [(8.0, 12.0)]


def slot(index):
    """Where interval `index` sits in the tables: the low 4 bits of its
    floats' bits >> 22 (vpermps reads no more of an index)."""
    return (index + 5) % 16


def lawson(columns, target, scale):
    """Least squares of columns·c ≈ target, reweighted towards the worst."""
    weights = np.ones_like(target)
    coefficients = None
    for _ in range(ROUNDS):
        root = np.sqrt(weights)
        coefficients, *_ = np.linalg.lstsq(
            columns * root[:, None], target * root, rcond=None
        )
        error = np.abs(columns @ coefficients - target) * scale
        weights = weights * (error / error.max() + 1e-3)
        weights /= weights.max()
    return coefficients


def fit(index, lo, hi):
    angle = np.linspace(0.0, math.pi, 2000)
    a = (lo + hi) / 2 + (hi - lo) / 2 * np.cos(angle)
    if index == 0:
        a = a[a > 1e-6]
        target = (np.tanh(a) - a) / a**3
        columns = np.stack([a ** (2 * j) for j in range(2)], 1)
        c3, c5 = lawson(columns, target, a**2)
        return [0.0, 1.0, 0.0, c3, 0.0, c5, 0.0]
    t = a - lo
    c0 = as_float(math.tanh(lo))
    columns = np.stack([t**j for j in range(1, DEGREE + 1)], 1)
    rest = lawson(columns, np.tanh(a) - c0, np.ones_like(a))
    return [c0] + list(rest)


def fma(x, y, z):  # one rounding: a float product is exact in double
    return as_float(x * y + z)


def evaluate(table, z):
    """TableTanh's operations on one float, in float."""
    a = abs(as_float(z))
    clamped = min(a, as_float(11.999999))
    bits = struct.unpack("I", struct.pack("f", clamped))[0]
    index_bits = struct.unpack("I", struct.pack("f", max(clamped, 0.046875)))[0]
    c = table[(index_bits >> 22) % 16]
    lo = 0.0 if a < 0.0625 else struct.unpack("f", struct.pack("I", bits & 0xFFC00000))[0]
    t = as_float(clamped - lo)
    t2 = as_float(t * t)
    t4 = as_float(t2 * t2)
    p12, p34, p56 = fma(c[2], t, c[1]), fma(c[4], t, c[3]), fma(c[6], t, c[5])
    q = fma(p56, t4, fma(p34, t2, p12))
    # The kernel's fma(q, ±t, ±c0) is ±fma(q, t, c0): rounding to nearest is
    # symmetric.
    return math.copysign(fma(q, t, c[0]), z)


def literal(x):
    """x as a float literal of C++."""
    text = shortest(x)
    if "." not in text and "e" not in text:
        text += ".0"
    return text + "f"


def ulp(x):
    x = abs(as_float(x))
    return 2.0 ** max(math.frexp(x)[1] - 24, -149) if x else 2.0**-149


def main():
    table = [None] * 16
    for i, (lo, hi) in enumerate(intervals()):
        table[slot(i)] = [as_float(c) for c in fit(i, lo, hi)]
    samples = list(np.random.default_rng(1).uniform(0.0, 16.0, 100000))
    samples += list(np.exp(np.random.default_rng(2).uniform(-20.0, -1.6, 20000)))
    for lo, hi in intervals():
        for edge in (lo, hi):
            f = np.float32(edge)
            for _ in range(64):
                samples.append(float(f))
                f = np.nextafter(f, np.float32(0.0))
    worst, at = 0.0, 0.0
    for z in samples:
        z = as_float(z)
        error = abs(evaluate(table, z) - math.tanh(z)) / ulp(math.tanh(z))
        if error > worst:
            worst, at = error, z
    print("  // worst %.2f ulp at %.9g on %d samples" % (worst, at, len(samples)))
    for j in range(7):
        print("  alignas(64) static constexpr float kC%d[16] = {" % j)
        for line in range(4):
            texts = [literal(row[j]) for row in table[4 * line : 4 * line + 4]]
            end = "};" if line == 3 else ","
            print("      " + "".join((t + ",").ljust(17) for t in texts[:3]) + texts[3] + end)


if __name__ == "__main__":
    main()
