#!/usr/bin/python3
"""Trajectories of torch.optim SGD, Adam and AdamW for tests/optim_torch_test.cc.

Five float32 tensors of an Elman RNN's shapes (W: H x I, U: H x H, b: H,
V: O x H, c: O) start from seeded random values; at step k every gradient is

    g = (theta - q) + noise[k]

(two float32 operations, rounded the same way in C++), so each optimizer
follows its own trajectory towards q. The script prints, as text with %.9g
(which round-trips float32):

    dims I H O
    steps K
    q <N floats>            theta0 <N floats>       noise <k> <N floats> ...
    config <name> sgd <lr> <momentum> <dampening> <weight_decay> <nesterov>
    config <name> adam <lr> <beta1> <beta2> <eps> <weight_decay> <amsgrad>
           <decoupled>
    theta <k> <N floats>    (after each step k = 1..K, for the config above)

with the five tensors flattened in the order W, U, b, V, c (elman's
Parameters::CopyTo). Hyperparameters are rounded to float32 first, so that
both sides start from the same numbers.
"""

import sys

import torch

INPUTS, HIDDEN, OUTPUTS = 3, 11, 5
STEPS = 12


def f32(x):
    """The float32 nearest x, as a Python float."""
    return torch.tensor(x, dtype=torch.float32).item()


def shapes():
    return [(HIDDEN, INPUTS), (HIDDEN, HIDDEN), (HIDDEN,), (OUTPUTS, HIDDEN),
            (OUTPUTS,)]


def flat(tensors):
    return torch.cat([t.detach().reshape(-1) for t in tensors])


def text(values):
    return " ".join("%.9g" % v for v in values.tolist())


SGD_CONFIGS = [
    # name, lr, momentum, dampening, weight_decay, nesterov
    ("sgd", 0.1, 0.0, 0.0, 0.0, False),
    ("sgd_weight_decay", 0.1, 0.0, 0.0, 0.05, False),
    ("sgd_momentum", 0.05, 0.9, 0.0, 0.0, False),
    ("sgd_dampening", 0.05, 0.8, 0.3, 0.0, False),
    ("sgd_nesterov", 0.05, 0.9, 0.0, 0.0, True),
    ("sgd_nesterov_weight_decay", 0.05, 0.7, 0.0, 0.01, True),
]

ADAM_CONFIGS = [
    # name, lr, beta1, beta2, eps, weight_decay, amsgrad, decoupled (AdamW)
    ("adam", 0.01, 0.9, 0.999, 1e-8, 0.0, False, False),
    ("adam_weight_decay", 0.01, 0.9, 0.999, 1e-8, 0.1, False, False),
    ("adam_amsgrad", 0.01, 0.9, 0.999, 1e-8, 0.0, True, False),
    ("adam_weight_decay_amsgrad", 0.02, 0.8, 0.99, 1e-6, 0.05, True, False),
    ("adamw", 0.01, 0.9, 0.999, 1e-8, 0.01, False, True),
    ("adamw_amsgrad", 0.02, 0.9, 0.999, 1e-8, 0.3, True, True),
]


def run(make_optimizer, q, theta0, noise, out):
    params = []
    offset = 0
    for shape in shapes():
        size = 1
        for extent in shape:
            size *= extent
        params.append(torch.nn.Parameter(
            theta0[offset:offset + size].clone().reshape(shape)))
        offset += size
    optimizer = make_optimizer(params)
    for k in range(STEPS):
        with torch.no_grad():
            offset = 0
            for p in params:
                size = p.numel()
                target = q[offset:offset + size].reshape(p.shape)
                step_noise = noise[k][offset:offset + size].reshape(p.shape)
                p.grad = (p.detach() - target) + step_noise
                offset += size
        optimizer.step()
        out.write("theta %d %s\n" % (k + 1, text(flat(params))))


def main():
    torch.manual_seed(20221028)
    size = sum(int(torch.tensor(s).prod()) for s in shapes())
    q = torch.randn(size, dtype=torch.float32)
    theta0 = 0.5 * torch.randn(size, dtype=torch.float32)
    noise = [0.5 * torch.randn(size, dtype=torch.float32) for _ in range(STEPS)]
    out = sys.stdout
    out.write("dims %d %d %d\n" % (INPUTS, HIDDEN, OUTPUTS))
    out.write("steps %d\n" % STEPS)
    out.write("q %s\n" % text(q))
    out.write("theta0 %s\n" % text(theta0))
    for k in range(STEPS):
        out.write("noise %d %s\n" % (k + 1, text(noise[k])))
    for name, lr, momentum, dampening, wd, nesterov in SGD_CONFIGS:
        lr, momentum, dampening, wd = map(f32, (lr, momentum, dampening, wd))
        out.write("config %s sgd %.9g %.9g %.9g %.9g %d\n" %
                  (name, lr, momentum, dampening, wd, nesterov))
        run(lambda p: torch.optim.SGD(p, lr=lr, momentum=momentum,
                                      dampening=dampening, weight_decay=wd,
                                      nesterov=nesterov),
            q, theta0, noise, out)
    for name, lr, beta1, beta2, eps, wd, amsgrad, decoupled in ADAM_CONFIGS:
        lr, beta1, beta2, eps, wd = map(f32, (lr, beta1, beta2, eps, wd))
        out.write("config %s adam %.9g %.9g %.9g %.9g %.9g %d %d\n" %
                  (name, lr, beta1, beta2, eps, wd, amsgrad, decoupled))
        kind = torch.optim.AdamW if decoupled else torch.optim.Adam
        run(lambda p: kind(p, lr=lr, betas=(beta1, beta2), eps=eps,
                           weight_decay=wd, amsgrad=amsgrad),
            q, theta0, noise, out)


if __name__ == "__main__":
    main()
