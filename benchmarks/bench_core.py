"""Core engine benchmark: varjax against jax.jit(jax.grad(f)) and PyTorch eager, same run.

Workloads (issue 2): (a) the autograd tutorial's 2x2 program, (b) a chain of 100 alternating
elementwise ops on 10,000 floats then ``.sum().backward()``, (c) an MLP 128 x 784-256-256-10
forward and backward with a cross-entropy written in core ops. Also checks that repeated
iterations compile nothing new.

    python -m benchmarks.bench_core
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np

import varjax as vj

from ._harness import machine, median_times, print_table

try:  # PyTorch is optional: only a reference when installed
    import torch
except ImportError:  # pragma: no cover - depends on the machine
    torch = None

BARS = {"tutorial 2x2": 2.0, "elementwise chain": 1.5, "MLP fwd+bwd": 1.3}


# (a) the tutorial -----------------------------------------------------------------------------


def tutorial_varjax():
    x = vj.Variable(vj.ones(2, 2), requires_grad=True)
    y = x + 2
    z = y * y * 3
    out = z.mean()
    out.backward()
    return x.grad._value().block_until_ready()


_tut_grad = jax.jit(jax.grad(lambda x: jnp.mean((x + 2) * (x + 2) * 3)))


def tutorial_jax():
    return _tut_grad(jnp.ones((2, 2), jnp.float32)).block_until_ready()  # varjax's dtype


def tutorial_torch():
    x = torch.ones(2, 2, requires_grad=True)
    y = x + 2
    out = (y * y * 3).mean()
    out.backward()
    return x.grad


# (b) the elementwise chain ---------------------------------------------------------------------

N_CHAIN = 100


def chain(y, sin):
    for i in range(N_CHAIN):
        y = sin(y) * 1.01 if i % 2 == 0 else y * 0.99 + 0.1
    return y


def make_chain():
    x0 = np.linspace(-1, 1, 10_000, dtype=np.float32)
    xv = vj.tensor(x0, requires_grad=True)
    g = jax.jit(jax.grad(lambda x: chain(x, jnp.sin).sum()))
    xj = jnp.asarray(x0)

    def run_varjax():
        xv.grad = None
        chain(xv, vj.sin).sum().backward()
        return xv.grad._value().block_until_ready()

    def run_jax():
        return g(xj).block_until_ready()

    fns = {"varjax": run_varjax, "jax": run_jax}
    if torch is not None:
        xt = torch.tensor(x0, requires_grad=True)

        def run_torch():
            xt.grad = None
            chain(xt, torch.sin).sum().backward()
            return xt.grad

        fns["torch"] = run_torch
    return fns


# (c) the MLP -----------------------------------------------------------------------------------

SIZES = (784, 256, 256, 10)
BATCH = 128


def mlp_loss(params, x, onehot, ops):
    """Forward and cross-entropy in core ops only; ``ops`` supplies exp/log/relu per library."""
    h = x
    for i, (w, b) in enumerate(params):
        h = h @ w + b
        if i < len(params) - 1:
            h = ops["relu"](h)
    lse = ops["log"](
        ops["exp"](h).sum(1, keepdims=True) if ops["jnp"] else ops["exp"](h).sum(1, keepdim=True)
    )
    return -(onehot * (h - lse)).sum(1).mean()


def make_mlp(with_params: bool = False):
    rng = np.random.default_rng(0)
    params = []
    for a, b in zip(SIZES[:-1], SIZES[1:]):
        bound = 1 / np.sqrt(a)
        params.append(
            (
                rng.uniform(-bound, bound, (a, b)).astype(np.float32),
                rng.uniform(-bound, bound, (b,)).astype(np.float32),
            )
        )
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    onehot = np.eye(SIZES[-1], dtype=np.float32)[rng.integers(0, SIZES[-1], BATCH)]

    vparams = [
        (vj.tensor(w, requires_grad=True), vj.tensor(b, requires_grad=True)) for w, b in params
    ]
    vx, vy = vj.tensor(x), vj.tensor(onehot)
    vops = {"relu": vj.relu, "exp": vj.exp, "log": vj.log, "jnp": False}

    def run_varjax():
        for w, b in vparams:
            w.grad = b.grad = None
        mlp_loss(vparams, vx, vy, vops).backward()
        return [p.grad._value() for wb in vparams for p in wb][-1].block_until_ready()

    jops = {"relu": jax.nn.relu, "exp": jnp.exp, "log": jnp.log, "jnp": True}
    g = jax.jit(jax.grad(lambda p, x, y: mlp_loss(p, x, y, jops)))
    jparams = [(jnp.asarray(w), jnp.asarray(b)) for w, b in params]
    jx, jy = jnp.asarray(x), jnp.asarray(onehot)

    def run_jax():
        return jax.block_until_ready(g(jparams, jx, jy))

    fns = {"varjax": run_varjax, "jax": run_jax}
    if torch is not None:
        tparams = [
            (torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True))
            for w, b in params
        ]
        tx, ty = torch.tensor(x), torch.tensor(onehot)
        tops = {"relu": torch.relu, "exp": torch.exp, "log": torch.log, "jnp": False}

        def run_torch():
            for w, b in tparams:
                w.grad = b.grad = None
            mlp_loss(tparams, tx, ty, tops).backward()
            return tparams[-1][1].grad

        fns["torch"] = run_torch
    if with_params:  # for a varjax.jit contender over the same state
        fns["varjax_state"] = (vparams, vx, vy, vops)
    return fns


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few repetitions (a smoke run)")
    args = ap.parse_args(argv)
    scale, repeat = (0.1, 3) if args.quick else (1.0, 21)

    tut = {"varjax": tutorial_varjax, "jax": tutorial_jax}
    if torch is not None:
        tut["torch"] = tutorial_torch
    workloads = [  # (name, contenders, calls per timed block)
        ("tutorial 2x2", tut, 200),
        ("elementwise chain", make_chain(), 20),
        ("MLP fwd+bwd", make_mlp(), 10),
    ]
    rows = []
    for name, fns, number in workloads:
        n = max(3, int(number * scale))
        for fn in fns.values():  # warm every compile cache before counting (the second call
            fn(), fn()  # settles whether the backward returns the loss nobody reads)
        before = vj.compile_stats().compiles
        # varjax and JAX are interleaved; PyTorch runs in a phase of its own, because its
        # OpenMP threads keep spinning after each call and would slow whatever runs next.
        times = median_times({k: fns[k] for k in ("varjax", "jax")}, number=n, repeat=repeat)
        if "torch" in fns:
            times.update(median_times({"torch": fns["torch"]}, number=n, repeat=repeat))
        recompiles = vj.compile_stats().compiles - before
        ratio = times["varjax"] / times["jax"]
        row = {
            "workload": name,
            "varjax us": f"{times['varjax'] * 1e6:.1f}",
            "jax us": f"{times['jax'] * 1e6:.1f}",
            "varjax/jax": f"{ratio:.2f}",
            "bar": f"<= {BARS[name]}",
            "ok": "yes" if ratio <= BARS[name] and recompiles == 0 else "NO",
            "recompiles": recompiles,
        }
        if "torch" in times:
            row["torch us"] = f"{times['torch'] * 1e6:.1f}"
            row["torch/varjax"] = f"{times['torch'] / times['varjax']:.2f}"
        rows.append(row)
    print(
        f"machine: {machine()}"
        + (f", torch {torch.__version__}" if torch else ", torch not installed")
    )
    cols = ["workload", "varjax us", "jax us", "varjax/jax", "bar", "ok", "recompiles"]
    if torch is not None:
        cols += ["torch us", "torch/varjax"]
    print_table(rows, cols)
    return rows


if __name__ == "__main__":
    main()
