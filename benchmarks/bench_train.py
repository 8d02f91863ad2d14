"""Training-step benchmark (issue 5): a 784-256-256-10 MLP, batch 128, SGD with momentum
(other sizes through ``data(sizes, batch)``: the tiny-shape row of issue 13).

Contenders, measured in the same run:
  jax           ``jax.jit`` of ``jax.value_and_grad`` plus the optax update (the reference)
  varjax        the imperative loop: zero_grad, forward, backward, ``optimizer.step()``
  varjax.jit    the same step function under ``varjax.jit``
  torch         PyTorch eager on CPU, when installed (never a dependency)

Before timing, every contender runs the same steps from the same start and the parameters
are compared, so the timed programs compute the same thing.

    python -m benchmarks.bench_train
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import optax

import varjax as vj
from varjax import nn

from ._harness import machine, median_times, print_table

try:  # PyTorch is optional: only a reference when installed
    import torch
except ImportError:  # pragma: no cover - depends on the machine
    torch = None

SIZES, BATCH, LR, MOMENTUM = (784, 256, 256, 10), 128, 0.05, 0.9
BARS = {"varjax": 1.2, "varjax.jit": 1.05}


def data(sizes: tuple = SIZES, batch: int = BATCH) -> tuple[np.ndarray, np.ndarray, list]:
    """A batch and the MLP's parameters (weight, bias per layer) for layer ``sizes``."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch).astype(np.int32)
    params = []
    for i, o in zip(sizes[:-1], sizes[1:]):
        bound = 1 / np.sqrt(i)
        params += [
            rng.uniform(-bound, bound, (o, i)).astype(np.float32),
            rng.uniform(-bound, bound, o).astype(np.float32),
        ]
    return x, y, params


def _mlp(lib, params):
    """The MLP whose parameters are ``params``, in ``lib`` (varjax or torch)."""
    layers = []
    for w in params[::2]:
        layers += [lib.nn.Linear(w.shape[1], w.shape[0]), lib.nn.ReLU()]
    return lib.nn.Sequential(*layers[:-1])


def make_varjax(x, y, params, compiled: bool):
    model = _mlp(vj, params)
    model.load_state_dict(
        {k: vj.tensor(v) for k, v in zip(model.state_dict(), params)}, strict=True
    )
    opt = vj.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    loss_fn = nn.CrossEntropyLoss()
    xv, yv = vj.tensor(x), vj.tensor(y)

    def step(xb, yb):
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    run = vj.jit(step) if compiled else step

    def timed():
        # wait for the loss, as a loop that logs it does (jax's contender waits likewise); the
        # imperative update is computed with the next step's forward and backward
        return jax.block_until_ready(run(xv, yv)._value())

    return timed, model


def make_jax(x, y, params):
    tx = optax.sgd(LR, momentum=MOMENTUM)
    ps = [jnp.asarray(p) for p in params]

    def loss(ps, x, y):
        h = x
        for i in range(0, len(ps), 2):
            h = h @ ps[i].T + ps[i + 1]
            if i < len(ps) - 2:
                h = jax.nn.relu(h)
        logp = jax.nn.log_softmax(h)
        return -jnp.take_along_axis(logp, y[:, None], 1).mean()

    return jax_stepper(loss, tx, ps, x, y)


def jax_stepper(loss, tx, params, x, y):
    """The hand-written JAX contender: one ``jax.jit`` of ``value_and_grad(loss)`` and the
    optax update, waiting for the loss each step. Returns (run, box): ``box[0]`` holds the
    parameters after the last step."""
    box, state = [params], [tx.init(params)]

    @jax.jit
    def step(ps, st, x, y):
        value, grads = jax.value_and_grad(loss)(ps, x, y)
        updates, st = tx.update(grads, st, ps)
        return optax.apply_updates(ps, updates), st, value

    xj, yj = jnp.asarray(x), jnp.asarray(y)

    def run():
        box[0], state[0], value = step(box[0], state[0], xj, yj)
        return jax.block_until_ready(value)

    return run, box


def make_torch(x, y, params):
    torch.manual_seed(0)
    model = _mlp(torch, params)
    with torch.no_grad():
        for p, v in zip(model.parameters(), params):
            p.copy_(torch.tensor(v))
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.tensor(x), torch.tensor(y, dtype=torch.long)

    def run():
        opt.zero_grad()
        loss = loss_fn(model(xt), yt)
        loss.backward()
        opt.step()
        return loss

    return run, model


def check_agreement(steps: int = 3) -> float:
    """Largest parameter difference between contenders after ``steps`` steps from one start."""
    x, y, params = data()
    vrun, vmodel = make_varjax(x, y, params, compiled=False)
    crun, cmodel = make_varjax(x, y, params, compiled=True)
    jrun, jbox = make_jax(x, y, params)
    for _ in range(steps):
        vrun(), crun(), jrun()
    worst = 0.0
    for a, b, c in zip(vmodel.parameters(), cmodel.parameters(), jbox[0]):
        worst = max(worst, float(np.abs(a.detach().numpy() - np.asarray(c)).max()))
        worst = max(worst, float(np.abs(b.detach().numpy() - np.asarray(c)).max()))
    return worst


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few repetitions (a smoke run)")
    args = ap.parse_args(argv)
    number, repeat = (2, 3) if args.quick else (10, 21)

    diff = check_agreement()
    if diff > 1e-4:
        raise AssertionError(f"contenders disagree after 3 steps: max |dparam| = {diff:.2e}")
    x, y, params = data()
    fns = {
        "varjax": make_varjax(x, y, params, compiled=False)[0],
        "varjax.jit": make_varjax(x, y, params, compiled=True)[0],
        "jax": make_jax(x, y, params)[0],
    }
    for fn in fns.values():
        fn(), fn()  # the second call settles which gradients exist
    before = vj.compile_stats().compiles
    times = median_times(fns, number=number, repeat=repeat)
    recompiles = vj.compile_stats().compiles - before
    if torch is not None:
        times["torch"] = median_times({"torch": make_torch(x, y, params)[0]}, number=number,
                                      repeat=repeat)["torch"]  # fmt: skip
    rows = []
    for name in ("varjax", "varjax.jit"):
        ratio = times[name] / times["jax"]
        row = {
            "contender": name,
            "us/step": f"{times[name] * 1e6:.0f}",
            "jax us/step": f"{times['jax'] * 1e6:.0f}",
            "x jax": f"{ratio:.3f}",
            "bar": f"<= {BARS[name]}",
            "ok": "yes" if ratio <= BARS[name] and recompiles == 0 else "NO",
            "recompiles": recompiles,
        }
        if "torch" in times:
            speedup = times["torch"] / times[name]
            row["torch us/step"] = f"{times['torch'] * 1e6:.0f}"
            row["torch/varjax (>= 1.2)"] = f"{speedup:.2f}"
        rows.append(row)
    print(
        f"machine: {machine()}"
        + (f", torch {torch.__version__}" if torch else ", torch not installed")
        + f"; parameters agree to {diff:.1e} after 3 steps"
    )
    cols = ["contender", "us/step", "jax us/step", "x jax", "bar", "ok", "recompiles"]
    if torch is not None:
        cols += ["torch us/step", "torch/varjax (>= 1.2)"]
    print_table(rows, cols)
    return rows


if __name__ == "__main__":
    main()
