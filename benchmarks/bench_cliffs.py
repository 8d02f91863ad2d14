"""Compile cliffs (issue 13): loops a PyTorch user writes that must not compile per iteration.

Each row runs a whole loop once on shapes nothing else uses, so its compiles are included (as
a user's first run pays them), on varjax, and the same loop on PyTorch eager, in the same
process. A row is ok when the number of programs varjax compiles does not grow with the
number of iterations (a half-length run, on shapes of its own, is the reference).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

import varjax as vj

try:  # the reference
    import torch
except ImportError:  # pragma: no cover - depends on the machine
    torch = None

N, K, BS = 640, 10, 32  # 20 minibatches of a linear classifier over 37 (or 39) features


def minibatch_loop(lib, x_np: np.ndarray, y_np: np.ndarray, batches: int) -> float:
    """SGD over ``x[i * bs:(i + 1) * bs]``: the offset changes every step."""
    lib.manual_seed(0)
    model = lib.nn.Linear(x_np.shape[1], K)
    opt = lib.optim.SGD(model.parameters(), lr=0.1)
    x, y = lib.tensor(x_np), lib.tensor(y_np)
    for i in range(batches):
        xb, yb = x[i * BS : (i + 1) * BS], y[i * BS : (i + 1) * BS]
        loss = lib.nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return float(loss.item())


def count_loop(lib, a: np.ndarray, b: np.ndarray) -> int:
    """A bigram count table filled one scalar at a time: ``N[a, b] += 1``."""
    table = lib.zeros((27, 27), dtype=lib.int32)
    for i, j in zip(a.tolist(), b.tolist()):
        table[i, j] += 1
    return int(table.sum().item())


def _counted(run: Callable[[], float]) -> tuple[float, int]:
    before = vj.compile_stats().compiles
    start = time.perf_counter()
    run()
    return time.perf_counter() - start, vj.compile_stats().compiles - before


def cliff_rows(quick: bool) -> list[dict]:
    rng = np.random.default_rng(0)
    x, x_half = rng.standard_normal((N, 37)).astype(np.float32), rng.standard_normal((N // 2, 39))
    y = rng.integers(0, K, N)
    batches = N // BS
    seconds, compiles = _counted(lambda: minibatch_loop(vj, x, y, batches))
    x_half, y_half = x_half.astype(np.float32), y[: N // 2]
    _, compiles_half = _counted(lambda: minibatch_loop(vj, x_half, y_half, batches // 2))
    row = {
        "workload": f"minibatch loop ({batches} slices, cold)",
        "varjax": f"{seconds * 1e3:.0f} ms",
        "target": "compiles do not grow",
        "ok": "yes" if compiles <= compiles_half else "NO",
        "recompiles": f"{compiles} ({compiles_half} for {batches // 2})",
    }
    if torch is not None:
        minibatch_loop(torch, x, y, batches)  # its one-time set-up, outside the timing
        start = time.perf_counter()
        minibatch_loop(torch, x, y, batches)
        row["torch/varjax"] = f"{(time.perf_counter() - start) / seconds:.3f}"
    return [row, _count_row(rng, 500 if quick else 5_000)]


def _count_row(rng: np.random.Generator, n: int) -> dict:
    a, b = rng.integers(0, 27, n), rng.integers(0, 27, n)
    _, compiles = _counted(lambda: count_loop(vj, a, b))  # the first run compiles
    seconds, again = _counted(lambda: count_loop(vj, a, b))
    row = {
        "workload": f"scalar updates N[a, b] += 1 ({n:,}, warm)",
        "varjax": f"{seconds * 1e3:.0f} ms",
        "target": "<= 3x torch",
        "ok": "n/a",
        "recompiles": f"{again} ({compiles} on the first run)",
    }
    if torch is not None:
        count_loop(torch, a, b)
        start = time.perf_counter()
        count_loop(torch, a, b)
        ratio = (time.perf_counter() - start) / seconds
        row["torch/varjax"] = f"{ratio:.3f}"
        row["ok"] = "yes" if ratio >= 1 / 3 else "NO"
    return row
