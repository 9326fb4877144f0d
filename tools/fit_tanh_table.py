#!/usr/bin/env python3
"""Fits the coefficients of TableTanh (src/kernels/activation-inl.h).

Sixteen intervals of a = |z|, one polynomial each:

    interval 0, [0, 1/8):   tanh a = a·(1 + a²·(c3 + a²·(c5 + a²·c7))),
                            c3, c5, c7 minimax in the relative error
    intervals 1…14:         the halves [2^k, 1.5·2^k) and [1.5·2^k, 2^(k+1))
                            of the octaves from 1/8 to 16 (k = −3…3):
                            tanh a = c0 + t·Q(t), t = a − lo, lo the
                            interval's start, c0 = tanh(lo) rounded to float,
                            Q of degree 5 fitted to (tanh a − c0)/t
    interval 15:            unused (c0 = 1, the rest 0)

The fits are linear least squares on Chebyshev points, reweighted towards
the largest errors (Lawson's iteration), in double; the coefficients are
then rounded to float. The kernel's own evaluation (Estrin for Q, then one
FMA adding c0) is replayed in float on a sample of floats and every float
near each interval's ends, and the worst error printed in ulp; the C++
exhaustive check over every float of [2⁻¹⁴⁹, 16] gave 1.47 ulp.

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
    result = [(0.0, 0.125)]
    for k in range(-3, 4):
        lo = 2.0**k
        result += [(lo, 1.5 * lo), (1.5 * lo, 2.0 * lo)]
    return result


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
        columns = np.stack([a ** (2 * j) for j in range(3)], 1)
        c3, c5, c7 = lawson(columns, target, a**2)
        return [0.0, 1.0, 0.0, c3, 0.0, c5, 0.0, c7]
    t = a - lo
    c0 = as_float(math.tanh(lo))
    columns = np.stack([t**j for j in range(1, DEGREE + 1)], 1)
    rest = lawson(columns, np.tanh(a) - c0, np.ones_like(a))
    return [c0] + list(rest) + [0.0] * (7 - DEGREE)


def fma(x, y, z):  # one rounding: a float product is exact in double
    return as_float(x * y + z)


def evaluate(table, z):
    """TableTanh's operations on one float, in float."""
    a = abs(as_float(z))
    clamped = min(a, as_float(15.999999))
    bits = struct.unpack("I", struct.pack("f", clamped))[0]
    index = max((bits >> 22) - 247, 0)
    first = a < 0.125
    lo = 0.0 if first else struct.unpack("f", struct.pack("I", bits & 0xFFC00000))[0]
    t = as_float(clamped - lo)
    c = table[index]
    t2 = as_float(t * t)
    t4 = as_float(t2 * t2)
    p12, p34, p56 = fma(c[2], t, c[1]), fma(c[4], t, c[3]), fma(c[6], t, c[5])
    q14 = fma(p34, t2, p12)
    q57 = fma(c[7] if first else 0.0, t2, p56)
    q = fma(q57, t4, q14)
    return math.copysign(fma(q, t, c[0]), z)


def ulp(x):
    x = abs(as_float(x))
    return 2.0 ** max(math.frexp(x)[1] - 24, -149) if x else 2.0**-149


def main():
    table = [[as_float(c) for c in fit(i, lo, hi)] for i, (lo, hi) in enumerate(intervals())]
    table.append([1.0] + [0.0] * 7)
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
    print("// worst %.2f ulp at %.9g on %d samples" % (worst, at, len(samples)))
    for j in range(7):
        print("kC%d[16] = {%s};" % (j, ", ".join(shortest(row[j]) + "f" for row in table)))
    print("kC7OfFirst = %sf;" % shortest(table[0][7]))


if __name__ == "__main__":
    main()
