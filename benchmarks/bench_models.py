"""Training-step times of the five models of ``examples/models.py`` (issue 14): varjax
imperative and ``varjax.jit`` against hand-written ``jax.jit`` JAX (``_models_jax``) and
PyTorch eager running the same code, measured in the same run.

Each model's JAX step starts from the varjax model's weights and batch; before timing, three
steps of it must give varjax's losses, so no ratio is against a different program.

    python -m benchmarks.bench_models [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("VARJAX_COMPILATION_CACHE", "0")

import numpy as np  # noqa: E402

import varjax as vj  # noqa: E402

from ._harness import machine, median_times, print_table  # noqa: E402
from ._models_jax import jax_step  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
import models  # noqa: E402

try:
    import torch
except ImportError:  # PyTorch is optional: its column is left out
    torch = None


def _stepper(lib, name: str, jit: bool):
    """One training step of model ``name`` on ``lib`` on a fixed batch, as a callable."""
    lib.manual_seed(0)
    model, opt, _, batch, loss_fn = models.MODELS[name](lib, 100)
    x, y = batch(0)

    def step():
        opt.zero_grad()
        loss = loss_fn(x, y)
        loss.backward()
        opt.step()
        return loss

    run = lib.jit(step) if jit else step
    return lambda: run().item()  # the loss is read each step, as a training loop does


def _jax_stepper(name: str, steps: int = 3, rtol: float = 1e-4):
    """The hand-written JAX step of model ``name``, from the weights, batch and optimizer
    settings of the varjax model, after checking that ``steps`` steps of it give the losses
    of as many imperative varjax steps."""
    vj.manual_seed(0)
    model, opt, _, batch, loss_fn = models.MODELS[name](vj, 100)
    state = {k: np.array(v.numpy()) for k, v in model.state_dict().items()}
    x, y = batch(0)
    data = (x.numpy(), y.numpy())
    group = opt.param_groups[0]  # the lr the scheduler set at construction (gpt's warm-up)
    check = jax_step(name, state, data, group)
    ours, theirs = [], []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(x, y)
        loss.backward()
        opt.step()
        ours.append(loss.item())
        theirs.append(check())
    if not np.allclose(ours, theirs, rtol=rtol, atol=0):
        raise AssertionError(f"{name}: varjax losses {ours} but hand-written JAX {theirs}")
    return jax_step(name, state, data, group)  # fresh: timed from the same start as the rest


def rows(quick: bool = False) -> list[dict]:
    out = []
    for name in models.MODELS:
        fns = {
            "varjax": _stepper(vj, name, False),
            "varjax.jit": _stepper(vj, name, True),
            "jax": _jax_stepper(name),
        }
        if torch is not None:
            fns["torch"] = _stepper(torch, name, False)
        t = median_times(fns, number=2 if quick else 5, repeat=3 if quick else 11)
        row = {"model": name, **{f"{k} ms": f"{v * 1e3:.2f}" for k, v in t.items()}}
        row["varjax/jax"] = f"{t['varjax'] / t['jax']:.2f}"
        row["jit/jax"] = f"{t['varjax.jit'] / t['jax']:.2f}"
        if torch is not None:
            row["varjax/torch"] = f"{t['varjax'] / t['torch']:.2f}"
            row["jit/torch"] = f"{t['varjax.jit'] / t['torch']:.2f}"
        out.append(row)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    # every model is built and stepped at the same lines here, so those lines compile one
    # program per model: expected, and no budget to warn about
    vj.config.max_recompiles = None
    print(machine())
    table = rows(args.quick)
    print_table(table, list(table[0]))


if __name__ == "__main__":
    main()
