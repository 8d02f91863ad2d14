"""A small transformer's training step (issue 13): token and position embeddings, causal
self-attention written with core ops (matmul, ``masked_fill``, ``softmax``), LayerNorm, a GELU
MLP, cross-entropy over the vocabulary, AdamW.

The model is one class written against PyTorch's API and built from either library (only the
module changes), so PyTorch eager and varjax run the same program; the JAX reference is the
same function written by hand with ``jax.numpy``, ``jax.value_and_grad`` and ``optax.adamw``
under one ``jax.jit``. All three start from the same NumPy parameters, and before timing
their parameters are compared after three steps.

    python -m benchmarks.bench_transformer
"""

from __future__ import annotations

import argparse
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax

import varjax as vj

from ._harness import machine, median_times, print_table
from .bench_train import jax_stepper

try:  # PyTorch is optional: only a reference when installed
    import torch
except ImportError:  # pragma: no cover - depends on the machine
    torch = None

VOCAB, BLOCK, WIDTH, HEADS, LAYERS, BATCH = 64, 32, 64, 4, 2, 8
LR, WD = 3e-4, 0.1
TARGETS = {"varjax": 1.15, "varjax.jit": 1.05}


def model_class(lib):
    """The GPT-style model as ``lib.nn.Module`` classes (``lib`` is varjax or torch)."""
    nn, fn = lib.nn, lib.nn.functional

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(WIDTH), nn.LayerNorm(WIDTH)
            self.qkv, self.proj = nn.Linear(WIDTH, 3 * WIDTH), nn.Linear(WIDTH, WIDTH)
            self.fc, self.out = nn.Linear(WIDTH, 4 * WIDTH), nn.Linear(4 * WIDTH, WIDTH)

        def forward(self, x, mask):
            b, t, c = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
            q, k, v = (z.view(b, t, HEADS, c // HEADS).transpose(1, 2) for z in (q, k, v))
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(c // HEADS))
            att = att.masked_fill(mask[:t, :t] == 0, float("-inf")).softmax(dim=-1)
            y = (att @ v).transpose(1, 2).reshape(b, t, c)
            x = x + self.proj(y)
            return x + self.out(fn.gelu(self.fc(self.ln2(x))))

    class GPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tok, self.pos = nn.Embedding(VOCAB, WIDTH), nn.Embedding(BLOCK, WIDTH)
            self.blocks = nn.ModuleList([Block() for _ in range(LAYERS)])
            self.ln_f, self.head = nn.LayerNorm(WIDTH), nn.Linear(WIDTH, VOCAB)
            self.register_buffer("mask", lib.tril(lib.ones(BLOCK, BLOCK)))
            self.register_buffer("positions", lib.arange(BLOCK))

        def forward(self, idx, targets):
            x = self.tok(idx) + self.pos(self.positions[: idx.shape[1]])
            for block in self.blocks:
                x = block(x, self.mask)
            logits = self.head(self.ln_f(x))
            return fn.cross_entropy(logits.view(-1, VOCAB), targets.view(-1))

    return GPT


def data() -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """A batch of token ids, its next-token targets, and the parameters (PyTorch's names)."""
    rng = np.random.default_rng(0)
    idx = rng.integers(0, VOCAB, (BATCH, BLOCK + 1))
    names = {k: v.shape for k, v in model_class(vj)().state_dict().items()}
    params = {}
    for k, shape in names.items():
        if k.endswith(("mask", "positions")):
            continue
        if "ln" in k:
            params[k] = np.ones(shape, np.float32) if k.endswith("weight") else np.zeros(
                shape, np.float32)  # fmt: skip
        else:
            params[k] = (0.02 * rng.standard_normal(shape)).astype(np.float32)
    return idx[:, :-1], idx[:, 1:], params


def _make_lib(lib, x, y, params, compiled: bool = False):
    model = model_class(lib)()
    model.load_state_dict({k: lib.tensor(v) for k, v in params.items()}, strict=False)
    opt = lib.optim.AdamW(model.parameters(), lr=LR, weight_decay=WD)
    long = lib.int64 if lib is torch else vj.int64
    xb, yb = lib.tensor(x, dtype=long), lib.tensor(y, dtype=long)

    def step(xb, yb):
        opt.zero_grad()
        loss = model(xb, yb)
        loss.backward()
        opt.step()
        return loss

    run = vj.jit(step) if compiled else step
    if lib is torch:
        return (lambda: run(xb, yb).item()), model
    return (lambda: jax.block_until_ready(run(xb, yb)._value())), model


def make_varjax(x, y, params, compiled: bool):
    return _make_lib(vj, x, y, params, compiled)


def make_torch(x, y, params):
    return _make_lib(torch, x, y, params)


def _layer_norm(x, w, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / jnp.sqrt(var + eps) * w + b


def _linear(p, name, x):
    return x @ p[name + ".weight"].T + p[name + ".bias"]


def jax_loss(p, idx, targets):
    """The model of ``model_class`` written by hand in ``jax.numpy``."""
    b, t = idx.shape
    x = p["tok.weight"][idx] + p["pos.weight"][:t]
    mask = jnp.tril(jnp.ones((t, t), bool))
    hd = WIDTH // HEADS
    for i in range(LAYERS):
        n = f"blocks.{i}."
        h = _layer_norm(x, p[n + "ln1.weight"], p[n + "ln1.bias"])
        q, k, v = jnp.split(_linear(p, n + "qkv", h), 3, axis=2)
        q, k, v = (z.reshape(b, t, HEADS, hd).transpose(0, 2, 1, 3) for z in (q, k, v))
        att = jnp.where(mask, q @ k.transpose(0, 1, 3, 2) / math.sqrt(hd), -jnp.inf)
        y = (jax.nn.softmax(att, -1) @ v).transpose(0, 2, 1, 3).reshape(b, t, WIDTH)
        x = x + _linear(p, n + "proj", y)
        h = _layer_norm(x, p[n + "ln2.weight"], p[n + "ln2.bias"])
        x = x + _linear(p, n + "out", jax.nn.gelu(_linear(p, n + "fc", h), approximate=False))
    logits = _linear(p, "head", _layer_norm(x, p["ln_f.weight"], p["ln_f.bias"]))
    logp = jax.nn.log_softmax(logits.reshape(-1, VOCAB))
    return -jnp.take_along_axis(logp, targets.reshape(-1, 1), 1).mean()


def make_jax(x, y, params):
    # PyTorch's AdamW defaults (betas 0.9, 0.999, eps 1e-8), decoupled weight decay
    tx = optax.adamw(LR, b1=0.9, b2=0.999, eps=1e-8, weight_decay=WD)
    return jax_stepper(jax_loss, tx, {k: jnp.asarray(v) for k, v in params.items()}, x, y)


def check_agreement(steps: int = 3) -> float:
    """Largest parameter difference from JAX's after ``steps`` steps (varjax both ways, and
    PyTorch when installed)."""
    x, y, params = data()
    runs = [make_varjax(x, y, params, False), make_varjax(x, y, params, True)]
    if torch is not None:
        runs.append(make_torch(x, y, params))
    jrun, jbox = make_jax(x, y, params)
    for _ in range(steps):
        jrun()
        for run, _ in runs:
            run()
    worst = 0.0
    for _, model in runs:
        mine = {k: v.detach().numpy() for k, v in model.named_parameters()}
        for k, v in jbox[0].items():
            worst = max(worst, float(np.abs(mine[k] - np.asarray(v)).max()))
    return worst


def rows(quick: bool) -> list[dict]:
    """The two varjax rows (imperative, ``varjax.jit``) against JAX and PyTorch eager."""
    number, repeat = (2, 3) if quick else (10, 21)
    diff = check_agreement()
    if diff > 1e-4:
        raise AssertionError(f"contenders disagree after 3 steps: max |dparam| = {diff:.2e}")
    x, y, params = data()
    fns = {"jax": make_jax(x, y, params)[0]}
    for name, compiled in (("varjax", False), ("varjax.jit", True)):
        fns[name] = make_varjax(x, y, params, compiled)[0]
    for fn in fns.values():
        fn(), fn()  # the second call settles which gradients exist
    before = vj.compile_stats().compiles
    times = median_times(fns, number=number, repeat=repeat)
    recompiles = vj.compile_stats().compiles - before
    if torch is not None:
        times.update(median_times({"torch": make_torch(x, y, params)[0]}, number=number,
                                  repeat=repeat))  # fmt: skip
    out = []
    for name in ("varjax", "varjax.jit"):
        ratio = times[name] / times["jax"]
        row = {
            "workload": "transformer step" + (", varjax.jit" if name == "varjax.jit" else ""),
            "varjax": f"{times[name] * 1e6:.0f} us",
            "jax": f"{times['jax'] * 1e6:.0f} us",
            "varjax/jax": f"{ratio:.2f}",
            "target": f"<= {TARGETS[name]}",
            "ok": "yes" if ratio <= TARGETS[name] and recompiles == 0 else "NO",
            "recompiles": recompiles,
        }
        if "torch" in times:
            row["torch/varjax"] = f"{times['torch'] / times[name]:.2f}"
        out.append(row)
    return out


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few repetitions (a smoke run)")
    result = rows(ap.parse_args(argv).quick)
    print(f"machine: {machine()}" + (f", torch {torch.__version__}" if torch else ""))
    print(f"GPT: vocab {VOCAB}, block {BLOCK}, width {WIDTH}, {HEADS} heads, {LAYERS} layers, "
          f"batch {BATCH}; AdamW")  # fmt: skip
    print_table(result, ["workload", "varjax", "jax", "varjax/jax", "target", "ok", "recompiles",
                         "torch/varjax"])  # fmt: skip
    return result


if __name__ == "__main__":
    main()
