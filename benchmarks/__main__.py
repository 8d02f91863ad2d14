"""The benchmark suite (issue 6): one command, one table, every contender in the same run.

    python -m benchmarks            # full run, a few minutes
    python -m benchmarks --quick    # a smoke run (few repetitions, a short memory loop)

Rows: the tutorial's 2x2 program, 100 alternating elementwise ops on 10,000 floats, an MLP
128 x 784-256-256-10 forward and backward, the same MLP's training step (SGD with momentum)
imperative and under ``varjax.jit``, a tiny MLP's step (64-64-64-10, batch 32: what the
framework adds per step), a small transformer's step (``bench_transformer``), the cost of
recording one op, the resident memory of a 10,000-step training loop at its start and end,
the compile cliffs of ``bench_cliffs`` (whole loops from cold caches, against PyTorch eager)
and the first touch of ``bench_first_touch`` (fresh processes). Ratios are varjax /
hand-written JAX
(``jax.jit`` of ``jax.grad`` or ``value_and_grad``) and PyTorch eager / varjax when torch is
installed; HIPS autograd is timed too when installed.
"""

from __future__ import annotations

import argparse
import gc
import os
import time

import numpy as np

# the compile-cliff rows measure loops from cold: programs from an earlier run's persistent
# cache would hide their compiles (bench_first_touch measures the cache on its own)
os.environ.setdefault("VARJAX_COMPILATION_CACHE", "0")

import varjax as vj  # noqa: E402
from varjax import nn  # noqa: E402

from . import bench_cliffs, bench_core, bench_first_touch, bench_train, bench_transformer  # noqa: E402
from ._harness import machine, median_times, print_table

try:  # optional references
    import torch
except ImportError:  # pragma: no cover - depends on the machine
    torch = None
try:
    import autograd as hips_autograd
    import autograd.numpy as anp
except ImportError:  # pragma: no cover - depends on the machine
    hips_autograd = None

TARGETS = {  # varjax / hand-written JAX, median of repeated runs (issue 13's targets)
    "tutorial 2x2": 1.3,
    "elementwise chain": 1.1,
    "elementwise chain, varjax.jit": 1.1,
    "MLP fwd+bwd": 1.05,
    "MLP fwd+bwd, varjax.jit": 1.05,
    "training step": 1.1,
    "training step, varjax.jit": 1.02,
    "tiny step": None,  # judged against PyTorch eager: dispatch, not kernels, decides it
    "tiny step, varjax.jit": 1.1,
}
TORCH_TARGET = {  # PyTorch eager / varjax, at least
    "elementwise chain": 1.8, "elementwise chain, varjax.jit": 1.8, "tiny step": 2.0,
}  # fmt: skip
TINY = (64, 64, 64, 10), 32  # layer sizes, batch: an MLP step where the framework's cost shows
RECORD_TARGET_US = 0.5
RSS_TARGET = 0.05


def _hips_chain():
    x0 = np.random.default_rng(0).standard_normal(10_000)
    g = hips_autograd.grad(lambda y: bench_core.chain(y, anp.sin).sum())
    return lambda: g(x0)


def _chain_jit():
    x0 = np.linspace(-1, 1, 10_000, dtype=np.float32)
    xv = vj.tensor(x0, requires_grad=True)

    @vj.jit
    def step():
        xv.grad = None
        bench_core.chain(xv, vj.sin).sum().backward()

    def run():
        step()
        return xv.grad._value().block_until_ready()

    return run


def _mlp_jit():
    fns = bench_core.make_mlp(with_params=True)
    vparams, vx, vy, vops = fns.pop("varjax_state")

    @vj.jit
    def step():
        for w, b in vparams:
            w.grad = b.grad = None
        bench_core.mlp_loss(vparams, vx, vy, vops).backward()

    def run():
        step()
        return vparams[-1][1].grad._value().block_until_ready()

    fns["varjax"] = run
    return fns


def _training(data: tuple) -> tuple[dict, dict]:
    """The contenders of an MLP training step on ``data``: imperative, and under varjax.jit
    (the same JAX and PyTorch contenders in both)."""
    x, y, params = data
    jax_run = bench_train.make_jax(x, y, params)[0]
    imperative = {"varjax": bench_train.make_varjax(x, y, params, compiled=False)[0],
                  "jax": jax_run}  # fmt: skip
    jitted = {"varjax": bench_train.make_varjax(x, y, params, compiled=True)[0], "jax": jax_run}
    if torch is not None:
        imperative["torch"] = jitted["torch"] = bench_train.make_torch(x, y, params)[0]
    return imperative, jitted


def timed_rows(quick: bool) -> list[dict]:
    scale, repeat = (0.1, 3) if quick else (1.0, 21)
    tut = {"varjax": bench_core.tutorial_varjax, "jax": bench_core.tutorial_jax}
    if torch is not None:
        tut["torch"] = bench_core.tutorial_torch
    chain = bench_core.make_chain()
    if hips_autograd is not None:
        chain["autograd"] = _hips_chain()
    train, jitted = _training(bench_train.data())
    tiny, tiny_jit = _training(bench_train.data(*TINY))
    chain_jit = {"varjax": _chain_jit(), "jax": chain["jax"]}
    if "torch" in chain:
        chain_jit["torch"] = chain["torch"]
    workloads = [
        ("tutorial 2x2", tut, 200),
        ("elementwise chain", chain, 20),
        ("elementwise chain, varjax.jit", chain_jit, 20),
        ("MLP fwd+bwd", bench_core.make_mlp(), 10),
        ("MLP fwd+bwd, varjax.jit", _mlp_jit(), 10),
        ("training step", train, 10),
        ("training step, varjax.jit", jitted, 10),
        ("tiny step", tiny, 100),
        ("tiny step, varjax.jit", tiny_jit, 100),
    ]
    rows = []
    for name, fns, number in workloads:
        n = max(3, int(number * scale))
        for fn in fns.values():  # warm every cache: gradients appear, the loss gets read
            fn(), fn(), fn()
        before = vj.compile_stats().compiles
        times = median_times({k: fns[k] for k in ("varjax", "jax")}, number=n, repeat=repeat)
        for other in ("torch", "autograd"):  # their threads would disturb the others: alone
            if other in fns:
                times.update(median_times({other: fns[other]}, number=n, repeat=repeat))
        ratio, target = times["varjax"] / times["jax"], TARGETS[name]
        row = {
            "workload": name,
            "varjax": f"{times['varjax'] * 1e6:.1f} us",
            "jax": f"{times['jax'] * 1e6:.1f} us",
            "varjax/jax": f"{ratio:.2f}",
            "target": "-" if target is None else f"<= {target}",
            "ok": "yes" if target is None or ratio <= target else "NO",
            "recompiles": vj.compile_stats().compiles - before,
        }
        if "torch" in times:
            speedup = times["torch"] / times["varjax"]
            row["torch/varjax"] = f"{speedup:.2f}"
            if name in TORCH_TARGET:
                row["torch/varjax"] += f" (>= {TORCH_TARGET[name]})"
                if speedup < TORCH_TARGET[name]:
                    row["ok"] = "NO"
        if "autograd" in times:
            row["autograd/varjax"] = f"{times['autograd'] / times['varjax']:.2f}"
        rows.append(row)
    return rows


def recording_row(quick: bool) -> dict:
    """Microseconds per recorded op, nothing computed: 200 alternating elementwise ops."""
    x = vj.tensor(np.ones(10_000, np.float32), requires_grad=True)
    depth = vj.config.max_pending_depth
    vj.config.max_pending_depth = 10**9  # record only: never compute the chain
    try:
        record = lambda: bench_core.chain(x, vj.sin)  # 100 sin, 100 mul: 200 ops
        record()
        runs = []
        for _ in range(3 if quick else 21):
            start = time.perf_counter()
            for _ in range(5):
                record()
            runs.append((time.perf_counter() - start) / (5 * 200))
    finally:
        vj.config.max_pending_depth = depth
    us = float(np.median(runs)) * 1e6
    return {
        "workload": "recording (per op)",
        "varjax": f"{us:.2f} us",
        "target": f"<= {RECORD_TARGET_US} us",
        "ok": "yes" if us <= RECORD_TARGET_US else "NO",
    }


def _rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory_row(quick: bool) -> dict:
    """Resident memory of an imperative training loop after its warm-up and at its end."""
    steps = 1_000 if quick else 10_000
    vj.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.1), nn.Linear(128, 10))
    opt = vj.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    x = vj.tensor(rng.standard_normal((32, 64)).astype(np.float32))
    y = vj.tensor(rng.integers(0, 10, 32).astype(np.int32))
    start = None
    for i in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        if i % 100 == 0:
            loss.item()  # a logging loop reads the loss now and then
        if i == 199:
            gc.collect()
            start = _rss_mb()
    gc.collect()
    end = _rss_mb()
    growth = (end - start) / start
    return {
        "workload": f"RSS over {steps:,} training steps",
        "varjax": f"{start:.0f} -> {end:.0f} MB",
        "varjax/jax": f"{growth:+.1%}",
        "target": f"<= {RSS_TARGET:.0%} growth",
        "ok": "yes" if growth <= RSS_TARGET else "NO",
    }


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few repetitions (a smoke run)")
    args = ap.parse_args(argv)
    rows = timed_rows(args.quick) + [recording_row(args.quick), memory_row(args.quick)]
    rows += bench_transformer.rows(args.quick)
    rows += bench_cliffs.cliff_rows(args.quick) + bench_first_touch.rows(args.quick)
    refs = [f"torch {torch.__version__}" if torch else "torch not installed"]
    refs.append("HIPS autograd installed" if hips_autograd else "HIPS autograd not installed")
    print(f"machine: {machine()}, {os.cpu_count()} cores; " + ", ".join(refs))
    cols = ["workload", "varjax", "jax", "varjax/jax", "target", "ok", "recompiles"]
    if torch is not None:
        cols.append("torch/varjax")
    if hips_autograd is not None:
        cols.append("autograd/varjax")
    print_table(rows, cols)
    print(rows[-1]["note"])
    return rows


if __name__ == "__main__":
    main()
