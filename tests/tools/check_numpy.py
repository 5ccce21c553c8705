#!/usr/bin/python3
"""check_numpy.py SYMBENCH SOURCE_ROOT: run the example pipelines with `symbench run` and
recompute their outputs with NumPy from the saved weights and the data, asserting they match.

- examples/fmnist_mlp_eval.pipeline.json: the MLP on the first 1000 Fashion-MNIST test images
  (skipped, exit 77, when the dataset package is not installed);
- examples/tiny.pipeline.json: needs no dataset;
- tests/tools/fixtures/train.pipeline.json: a training run whose weights must be the known ones.
The pipelines are copied to a temporary directory so their `out/` is written there."""
import gzip
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

FMNIST = "/usr/share/datasets/fashion-mnist"
RTOL = 1e-4


def read_idx(path, n):
    """The first n items of an IDX file (uint8 data), with the file's own shape."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)
    return data[:n]


def run(symbench, pipeline):
    res = subprocess.run([symbench, "run", pipeline], capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"symbench run {pipeline} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
    return res.stdout


def close(name, got, want, rtol=RTOL, atol=0.0):
    got = np.asarray(got)
    want = np.asarray(want)
    assert got.shape == want.shape, f"{name}: shape {got.shape}, NumPy {want.shape}"
    if not np.allclose(got, want, rtol=rtol, atol=atol):
        err = np.max(np.abs(got - want) / (np.abs(want) + 1e-30))
        sys.exit(f"{name}: differs from NumPy (max relative error {err:.3g})")
    print(f"ok {name} {got.dtype}{list(got.shape)}")


def check_fmnist(symbench, root, tmp):
    for f in ("fmnist_mlp_eval.pipeline.json", "mlp.graph.json"):
        shutil.copy(os.path.join(root, "examples", f), tmp)
    out = run(symbench, os.path.join(tmp, "fmnist_mlp_eval.pipeline.json"))
    assert "cost: float32[] = " in out, out
    assert "probs: float32[1000, 10] = " in out, out
    load = lambda n: np.load(os.path.join(tmp, "out", n + ".npy"))
    W1, b1, W2, b2 = load("W1"), load("b1"), load("W2"), load("b2")
    assert W1.dtype == np.float32 and W1.shape == (784, 64), (W1.dtype, W1.shape)
    bound = np.sqrt(6.0 / (784 + 64))
    assert np.all(np.abs(W1) <= bound) and W1.std() > bound / 4, "W1 is not Glorot-uniform"
    assert np.all(b1 == 0) and np.all(b2 == np.float32(0.1)), "b1 / b2 initializers"
    x = read_idx(os.path.join(FMNIST, "t10k-images-idx3-ubyte.gz"), 1000)
    x = x.reshape(1000, 784).astype(np.float32) * np.float32(1 / 255)
    y = read_idx(os.path.join(FMNIST, "t10k-labels-idx1-ubyte.gz"), 1000).astype(np.int64)
    h = np.tanh(x.astype(np.float64) @ W1 + b1)
    logits = h @ W2 + b2
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = e / e.sum(axis=1, keepdims=True)
    close("probs", load("probs"), probs)
    pred = load("pred")
    top2 = np.sort(probs, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 1e-5  # ties within float32 noise may pick either
    assert pred.dtype == np.int64 and pred.shape == (1000,)
    assert np.array_equal(pred[clear], probs.argmax(axis=1)[clear]), "pred differs from NumPy"
    print(f"ok pred int64[1000] ({clear.sum()} unambiguous rows)")
    close("cost", load("cost"), np.mean(-np.log(probs[np.arange(1000), y])))
    close("accuracy", load("accuracy"), np.mean(pred == y))


def check_tiny(symbench, root, tmp):
    shutil.copy(os.path.join(root, "examples", "tiny.pipeline.json"), tmp)
    out = run(symbench, os.path.join(tmp, "tiny.pipeline.json"))
    load = lambda n: np.load(os.path.join(tmp, "out", n + ".npy"))
    x, w = load("tiny_x"), load("tiny_w")
    assert x.shape == (4, 3) and w.shape == (3,)
    assert np.all(np.abs(w) <= 1)
    z = x @ w + 0.25
    close("tiny y", load("tiny_y"), 1 / (1 + np.exp(-z)))
    total = float(np.sum(np.log1p(np.exp(z))))
    line = [l for l in out.splitlines() if l.startswith("total: float64[] = ")]
    assert line, out
    close("tiny total (stdout)", float(line[0].split("= ")[1]), total, rtol=1e-6)
    rows = [l for l in out.splitlines() if l.startswith("rows: int64[4] = ")]
    assert rows, out
    want = "[" + ", ".join(str(v) for v in x.argmax(axis=1)) + "]"
    assert rows[0].endswith(want), (rows[0], want)
    print("ok tiny rows (stdout)")


def check_train(symbench, root, tmp):
    """The training fixture: linear regression y = x @ [1, -2] + 0.5 by minibatch SGD written as
    graph updates; the trained weights must be the generating ones."""
    fix = os.path.join(root, "tests", "tools", "fixtures")
    for f in ("train.pipeline.json", "linreg.graph.json", "train_x.npy", "train_y.npy"):
        shutil.copy(os.path.join(fix, f), tmp)
    run(symbench, os.path.join(tmp, "train.pipeline.json"))
    w = np.load(os.path.join(tmp, "out", "train", "w.npy"))
    b = np.load(os.path.join(tmp, "out", "train", "b.npy"))
    x, y = np.load(os.path.join(tmp, "train_x.npy")), np.load(os.path.join(tmp, "train_y.npy"))
    close("trained w", w, np.array([1.0, -2.0]), rtol=1e-6)
    close("trained b", b, np.float64(0.5), rtol=1e-6)
    close("least squares", w, np.linalg.lstsq(np.c_[x, np.ones(len(x))], y, rcond=None)[0][:2],
          rtol=1e-6)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: check_numpy.py SYMBENCH SOURCE_ROOT")
    symbench, root = os.path.abspath(sys.argv[1]), sys.argv[2]
    with tempfile.TemporaryDirectory(prefix="sb_check_numpy_") as tmp:
        check_tiny(symbench, root, tmp)
        check_train(symbench, root, tmp)
        if not os.path.exists(os.path.join(FMNIST, "t10k-images-idx3-ubyte.gz")):
            print(f"SKIP: {FMNIST} is not installed")
            sys.exit(77)
        check_fmnist(symbench, root, tmp)


if __name__ == "__main__":
    main()
