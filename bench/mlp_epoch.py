#!/usr/bin/python3
"""bench/mlp_epoch.py: the PyTorch side of the epoch benchmark (bench/epoch.sh).

The model of examples/fmnist_mlp.graph.json written as a PyTorch user would: 784-500-10, tanh
hidden layer, softmax cross-entropy (F.cross_entropy on the logits), Glorot-uniform weights and
zero biases, SGD with momentum 0.9 and the learning rate 0.03 / (1 + t / 5000) set before each
step t (torch.optim.SGD: v = 0.9 v + g, W -= lr v, which is the graph's v = 0.9 v - lr g,
W += v for a constant lr and costs the same), minibatches of 64 drawn from a fresh permutation
of the 60000 Fashion-MNIST training images every epoch (the last batch holds the 32 left), read
from /usr/share/datasets/fashion-mnist/ and scaled by 1/255 as float32.

Prints one JSON object: per-epoch wall times (time.perf_counter around each epoch's loop, data
loading excluded), their median, the final test accuracy on the 10000 t10k images, versions and
threads.

usage: /usr/bin/python3 bench/mlp_epoch.py [--epochs N] [--threads N] [--data DIR]
"""
import argparse
import gzip
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F


def read_idx(path):
    """An IDX file (gzip) as a NumPy array (ubyte data, big-endian dims)."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(data, split):
    x = read_idx(os.path.join(data, f"{split}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(data, f"{split}-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(x.reshape(len(x), -1).astype(np.float32) * np.float32(1 / 255))
    return x, torch.from_numpy(y.astype(np.int64))


def glorot(gen, nin, nout):
    lim = (6.0 / (nin + nout)) ** 0.5
    return (torch.rand(nin, nout, generator=gen) * 2 - 1) * lim


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "2")))
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--batch", type=int, default=64)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    gen = torch.Generator().manual_seed(1)
    x, y = load(a.data, "train")
    xt, yt = load(a.data, "t10k")
    W1 = glorot(gen, 784, 500).requires_grad_()
    b1 = torch.zeros(500, requires_grad=True)
    W2 = glorot(gen, 500, 10).requires_grad_()
    b2 = torch.zeros(10, requires_grad=True)
    params = [W1, b1, W2, b2]
    opt = torch.optim.SGD(params, lr=0.03, momentum=0.9)
    n, t, times = len(x), 0, []
    for _ in range(a.epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, a.batch):
            idx = perm[i:i + a.batch]
            xb, yb = x[idx], y[idx]
            for g in opt.param_groups:
                g["lr"] = 0.03 / (1 + t / 5000)
            loss = F.cross_entropy(torch.tanh(xb @ W1 + b1) @ W2 + b2, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            t += 1
        times.append(time.perf_counter() - t0)
    with torch.no_grad():
        acc = float(((torch.tanh(xt @ W1 + b1) @ W2 + b2).argmax(1) == yt).float().mean())
    print(json.dumps({"epoch_s": times, "median_epoch_s": sorted(times)[len(times) // 2],
                      "steps_per_epoch": (n + a.batch - 1) // a.batch, "test_accuracy": acc,
                      "threads": torch.get_num_threads(), "torch": torch.__version__,
                      "numpy": np.__version__}))


if __name__ == "__main__":
    main()
