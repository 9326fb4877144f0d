#!/usr/bin/env python3
"""Fits the coefficients of LowLatencyTanh (src/kernels/activation-inl.h).

    a = |z| < 1:  tanh a = a + a³·P(a²)          P of degree 6, minimax in the
                                                  relative error of tanh a
    a ≥ 1:        tanh a = 1 − N(b)/M(b),        b = min(a, 9.5), N and M of
                                                  degree 6, M(0) = 1, minimax in
                                                  the absolute error

Both fits are linear least squares reweighted towards the largest errors
(Lawson's iteration); the rational one is linearised as N − q·M with weights
1/M from the previous round (Loeb's). The fits run in double on a variable
scaled to [0, 1] and print each coefficient as the float it rounds to, in
the shortest form that reads back as that float.

Every float of [2⁻¹⁴⁹, 30] then goes through the kernel's own operations in
float: 1.50 ulp at most with FMA, 1.72 with a separate multiply and add
(SSE4), both near a = 1.03 (tests/activation_test.cc checks 2 ulp on every
target). Needs numpy (Debian's python3-numpy).

Usage: /usr/bin/python3 tools/fit_tanh.py
"""
import math
import struct

import numpy as np

BRANCH = 1.0  # where the series hands over to 1 − N/M
CLAMP = 9.5  # 1 − tanh(9.5) < 2⁻²⁵: tanh rounds to 1 from here on
ROUNDS = 300


def as_float(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def shortest(x):
    """The shortest decimal that reads back as the float nearest x."""
    f = as_float(x)
    for digits in range(6, 10):
        text = "%.*g" % (digits, f)
        if as_float(float(text)) == f:
            return text
    return "%.9g" % f


def chebyshev_points(lo, hi, count):
    angle = np.linspace(0.0, math.pi, count)
    return np.unique((lo + hi) / 2 + (hi - lo) / 2 * np.cos(angle))


def lawson(design, target, scale, error_of, rounds=ROUNDS):
    """min over x of max |error_of(x)|, by reweighted least squares of
    scale()·(design·x − target); scale() may change from round to round."""
    weight = np.ones(len(target))
    best = (math.inf, None)
    for _ in range(rounds):
        row_scale = np.sqrt(weight) * scale()
        x, *_ = np.linalg.lstsq(design * row_scale[:, None],
                                target * row_scale, rcond=None)
        error = error_of(x)
        worst = np.max(np.abs(error))
        if worst < best[0]:
            best = (worst, x)
        weight = weight * np.abs(error)
        weight = np.maximum(weight / weight.sum(), 1e-14)
    return best


def fit_series(degree=6):
    a = chebyshev_points(0.0, BRANCH, 20000)
    a = a[a > 1e-3]  # below, P's share of tanh a is under 10⁻⁶ of it
    tanh = np.tanh(a)
    s = a * a / (BRANCH * BRANCH)
    design = np.stack([s**k for k in range(degree + 1)], axis=1)
    # Relative error of tanh: (a³·P − (tanh − a))/tanh.
    scale = a**3 / tanh
    want = (tanh - a) / a**3

    def error_of(p):
        return (design @ p - want) * scale

    worst, p = lawson(design, want, lambda: scale, error_of)
    return worst, [p[k] / BRANCH**(2 * k) for k in range(degree + 1)]


def fit_complement(degree=6):
    b = np.unique(np.concatenate([chebyshev_points(BRANCH, CLAMP, 20000),
                                  np.linspace(BRANCH, CLAMP, 20000)]))
    q = 2.0 / (1.0 + np.exp(2.0 * b))  # 1 − tanh b
    s = b / CLAMP
    previous_m = np.ones_like(b)
    # Unknowns n0..n6, m1..m6 (m0 = 1): N − q·M = q·m0 is linear in them.
    design = np.stack([s**k for k in range(degree + 1)] +
                      [-q * s**k for k in range(1, degree + 1)], axis=1)

    def error_of(x):
        nonlocal previous_m
        n = design[:, :degree + 1] @ x[:degree + 1]
        m = 1.0 + sum(x[degree + k] * s**k for k in range(1, degree + 1))
        previous_m = m
        return n / m - q

    worst, x = lawson(design, q, lambda: 1.0 / previous_m, error_of)
    numerator = [x[k] / CLAMP**k for k in range(degree + 1)]
    denominator = [1.0] + [x[degree + k] / CLAMP**k
                           for k in range(1, degree + 1)]
    return worst, numerator, denominator


def main():
    worst, p = fit_series()
    print("P (a < %g): max relative error %.2e = %.3f·2⁻²⁴" %
          (BRANCH, worst, worst / 2**-24))
    print("  " + ", ".join(shortest(c) for c in p))
    worst, n, m = fit_complement()
    print("N/M (a ≥ %g, b ≤ %g): max absolute error %.2e = %.3f·2⁻²⁴" %
          (BRANCH, CLAMP, worst, worst / 2**-24))
    print("  N: " + ", ".join(shortest(c) for c in n))
    print("  M: " + ", ".join(shortest(c) for c in m))


if __name__ == "__main__":
    main()
