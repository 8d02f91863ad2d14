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


def mask_loop(lib, x_np: np.ndarray, thresholds: list, fixed: bool) -> float:
    """Sums over ``x[x > t]`` for changing ``t``: the selection's size changes each time;
    ``fixed`` sums ``where(x > t, x, 0)`` instead, whose shape never changes."""
    x, total = lib.tensor(x_np), 0.0
    for t in thresholds:
        total += float((lib.where(x > t, x, 0.0) if fixed else x[x > t]).sum().item())
    return total


def generate_loop(lib, table: np.ndarray, tokens: int, block: int) -> list:
    """Greedy token-by-token generation with a bigram table, as a course notebook writes it:
    the sequence grows by one token a step (``cat``), cropped to the last ``block`` tokens."""
    emb = lib.nn.Embedding(*table.shape)
    with lib.no_grad():
        emb.weight.copy_(lib.tensor(table))
        idx = lib.zeros((1, 1), dtype=lib.int64)
        for _ in range(tokens):
            logits = emb(idx[:, -block:])[:, -1, :]
            nxt = lib.softmax(logits, dim=-1).argmax(dim=-1, keepdim=True)
            idx = lib.cat((idx, nxt), dim=1)
    return idx[0].tolist()


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
    return [row, _count_row(rng, 500 if quick else 5_000), *_mask_rows(rng), _generate_row(rng)]


def _torch_ratio(row: dict, run: Callable[[], object], seconds: float) -> None:
    if torch is not None:
        run()  # its one-time set-up, outside the timing
        start = time.perf_counter()
        run()
        row["torch/varjax"] = f"{(time.perf_counter() - start) / seconds:.3f}"


def _mask_rows(rng: np.random.Generator) -> list[dict]:
    x = rng.standard_normal(4099).astype(np.float32)  # a size nothing else uses
    ts = [float(t) for t in np.linspace(-1, 1, 10)]
    rows = []
    for fixed in (False, True):
        seconds, compiles = _counted(lambda f=fixed: mask_loop(vj, x, ts, f))
        _, half = _counted(lambda f=fixed: mask_loop(vj, x[:2053], ts[:5], f))
        row = {
            "workload": "10 sums " + ("where(x > t, x, 0).sum()" if fixed else "x[x > t].sum()"),
            "varjax": f"{seconds * 1e3:.0f} ms",
            "target": "compiles do not grow",
            "ok": "yes" if compiles <= half else "NO",
            "recompiles": f"{compiles} ({half} for 5)",
        }
        _torch_ratio(row, lambda f=fixed: mask_loop(torch, x, ts, f), seconds)
        rows.append(row)
    return rows


def _generate_row(rng: np.random.Generator, block: int = 12) -> dict:
    table = rng.standard_normal((23, 23)).astype(np.float32)  # a vocabulary of its own
    seconds, compiles = _counted(lambda: generate_loop(vj, table, 3 * block, block))
    _, half = _counted(lambda: generate_loop(vj, table, 3 * block // 2, block))
    row = {
        "workload": f"generate {3 * block} tokens, cropped to {block}",
        "varjax": f"{seconds * 1e3:.0f} ms",
        "target": "compiles bounded by the block",
        "ok": "yes" if compiles <= 2 * block + 4 else "NO",
        "recompiles": f"{compiles} (then {half} for {3 * block // 2} tokens)",
    }
    _torch_ratio(row, lambda: generate_loop(torch, table, 3 * block, block), seconds)
    return row


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
