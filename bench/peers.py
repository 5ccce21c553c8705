#!/usr/bin/python3
"""bench/peers.py: the NumPy and PyTorch sides of `symbench bench`.

Runs the same workloads as the C side (see tools/cmd_bench.c and docs/performance.md) and prints
one JSON object on standard output: {"numpy": {...}, "torch": {...}, "versions": {...}} where
each inner object maps a workload name to its median time in seconds (warm-up runs first).
A library that is missing is reported as {"error": "..."} instead of failing the whole run.

usage: /usr/bin/python3 bench/peers.py [--quick] [--only W1,W2,...] [--threads N]
"""
import argparse
import json
import os
import sys
import time


def median_time(fn, reps, warmup=2):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return ts[len(ts) // 2]


REPS = {"W1": 20, "W2": 10, "W3_128": 30, "W3_1024": 10, "W4": 100}
QUICK = {"W1": 5, "W2": 3, "W3_128": 8, "W3_1024": 3, "W4": 20}


def mlp_params(np, rng, nin, nh, nout):
    w1 = (rng.standard_normal((nin, nh)) * 0.01).astype(np.float32)
    w2 = (rng.standard_normal((nh, nout)) * 0.01).astype(np.float32)
    return w1, np.zeros(nh, np.float32), w2, np.zeros(nout, np.float32)


# ---- NumPy ---------------------------------------------------------------------------------
def numpy_workloads(np, only, reps):
    rng = np.random.default_rng(1)
    out = {}
    if "W1" in only:
        n = 10_000_000
        x, y, z, w = (rng.random(n, dtype=np.float32) for _ in range(4))
        out["W1"] = median_time(lambda: np.tanh(x * y + z) * np.exp(-w) + np.float32(0.5) * x,
                                reps["W1"])
    if "W2" in only:
        a = rng.standard_normal((4096, 4096), dtype=np.float32)

        def softmax():
            e = np.exp(a - a.max(axis=1, keepdims=True))
            e /= e.sum(axis=1, keepdims=True)
            return e
        out["W2"] = median_time(softmax, reps["W2"])

    def sgd_step(p, x, y, hidden, lr=np.float32(0.1)):
        b = x.shape[0]
        if hidden:
            w1, b1, w2, b2 = p
            h = np.tanh(x @ w1 + b1)
        else:
            w2, b2 = p
            h = x
        z = h @ w2 + b2
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        pr = e / e.sum(axis=1, keepdims=True)
        loss = -np.log(pr[np.arange(b), y]).mean()
        dz = pr
        dz[np.arange(b), y] -= 1
        dz /= b
        gw2, gb2 = h.T @ dz, dz.sum(axis=0)
        if hidden:
            dh = (dz @ w2.T) * (1 - h * h)
            gw1, gb1 = x.T @ dh, dh.sum(axis=0)
            w1 -= lr * gw1
            b1 -= lr * gb1
        w2 -= lr * gw2
        b2 -= lr * gb2
        return loss

    for name, b, hidden in (("W3_128", 128, True), ("W3_1024", 1024, True), ("W4", 128, False)):
        if name.split("_")[0] not in only and name not in only:
            continue
        x = rng.random((b, 784), dtype=np.float32)
        y = rng.integers(0, 10, b)
        p = mlp_params(np, rng, 784, 500, 10) if hidden else mlp_params(np, rng, 784, 10, 10)[:2]
        out[name] = median_time(lambda: sgd_step(p, x, y, hidden), reps[name])
    return out


# ---- PyTorch --------------------------------------------------------------------------------
def torch_workloads(torch, only, reps):
    g = torch.Generator().manual_seed(1)
    out = {}
    with torch.no_grad():
        if "W1" in only:
            n = 10_000_000
            x, y, z, w = (torch.rand(n, generator=g) for _ in range(4))
            out["W1"] = median_time(lambda: torch.tanh(x * y + z) * torch.exp(-w) + 0.5 * x,
                                    reps["W1"])
        if "W2" in only:
            a = torch.randn(4096, 4096, generator=g)
            out["W2"] = median_time(lambda: torch.softmax(a, dim=1), reps["W2"])

    for name, b, hidden in (("W3_128", 128, True), ("W3_1024", 1024, True), ("W4", 128, False)):
        if name.split("_")[0] not in only and name not in only:
            continue
        x = torch.rand(b, 784, generator=g)
        y = torch.randint(0, 10, (b,), generator=g)
        if hidden:
            params = [torch.randn(784, 500, generator=g) * 0.01, torch.zeros(500),
                      torch.randn(500, 10, generator=g) * 0.01, torch.zeros(10)]
        else:
            params = [torch.randn(784, 10, generator=g) * 0.01, torch.zeros(10)]
        for t in params:
            t.requires_grad_(True)
        opt = torch.optim.SGD(params, lr=0.1)

        def step():
            opt.zero_grad(set_to_none=True)
            if hidden:
                h = torch.tanh(x @ params[0] + params[1])
                z = h @ params[2] + params[3]
            else:
                z = x @ params[0] + params[1]
            loss = torch.nn.functional.cross_entropy(z, y)
            loss.backward()
            opt.step()
            return loss
        out[name] = median_time(step, reps[name])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="W1,W2,W3,W4")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    only = set(args.only.split(","))
    reps = QUICK if args.quick else REPS
    res = {"numpy": {}, "torch": {}, "versions": {}}
    try:
        import numpy as np
        res["versions"]["numpy"] = np.__version__
        res["numpy"] = numpy_workloads(np, only, reps)
    except Exception as e:  # a missing library is reported, not fatal
        res["numpy"] = {"error": repr(e)}
    try:
        import torch
        torch.set_num_threads(args.threads)
        res["versions"]["torch"] = torch.__version__
        res["torch"] = torch_workloads(torch, only, reps)
    except Exception as e:
        res["torch"] = {"error": repr(e)}
    json.dump(res, sys.stdout)
    print()


if __name__ == "__main__":
    main()
