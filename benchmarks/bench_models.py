"""Training-step times of the four models of ``examples/models.py`` (issue 14): varjax
imperative and ``varjax.jit`` against PyTorch eager running the same code, measured in the
same run. (The GPT against hand-written JAX is ``bench_transformer``'s row.)

    python -m benchmarks.bench_models [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("VARJAX_COMPILATION_CACHE", "0")

import varjax as vj  # noqa: E402

from ._harness import machine, median_times, print_table  # noqa: E402

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


def rows(quick: bool = False) -> list[dict]:
    out = []
    for name in models.MODELS:
        fns = {"varjax": _stepper(vj, name, False), "varjax.jit": _stepper(vj, name, True)}
        if torch is not None:
            fns["torch"] = _stepper(torch, name, False)
        t = median_times(fns, number=2 if quick else 5, repeat=3 if quick else 11)
        row = {"model": name, **{f"{k} ms": f"{v * 1e3:.2f}" for k, v in t.items()}}
        if torch is not None:
            row["varjax/torch"] = f"{t['varjax'] / t['torch']:.2f}"
            row["jit/torch"] = f"{t['varjax.jit'] / t['torch']:.2f}"
        out.append(row)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    print(machine())
    table = rows(args.quick)
    print_table(table, list(table[0]))


if __name__ == "__main__":
    main()
