"""A differential fuzzer: random small autograd programs run on varjax and on PyTorch.

Each program starts from a few leaves, records random ops (elementwise with broadcasting,
reductions, views, indexing), in-place ops on intermediates, on views and on leaves under
``no_grad``, ``.data`` writes, hooks and ``retain_grad``, then calls ``backward`` one or more
times. The same program runs on both libraries from the same inputs, and every value and
gradient is compared. A program PyTorch refuses ("modified by an inplace operation", and
the like) counts as skipped when varjax refuses it too or computes it anyway; a program only
varjax refuses, or one whose numbers differ, is a finding.

    python -m tests.fuzz_programs --programs 5000 --seed 0     # the long run

``tests/test_fuzz.py`` runs a few hundred programs in CI.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field

import numpy as np

SHAPES = [(3,), (2, 3), (1, 3), (2, 1), ()]
UNARY = ["sin", "cos", "tanh", "sigmoid", "relu", "abs", "neg", "square", "exp", "log", "sqrt",
         "pow0", "pow2", "clamp", "sign"]
BINARY = ["add", "sub", "mul", "maximum", "minimum", "div", "pow", "where"]
REDUCTIONS = ["sum", "mean", "amax", "amin", "max", "std", "norm1", "norm2", "norm3", "prod"]


@dataclass
class Program:
    seed: int
    steps: list = field(default_factory=list)
    leaves: list = field(default_factory=list)  # input arrays of the leaves

    def __str__(self) -> str:
        lines = [f"# seed {self.seed}"]
        lines += [f"leaf {i}: shape {a.shape}" for i, a in enumerate(self.leaves)]
        lines += [str(s) for s in self.steps]
        return "\n".join(lines)


def _broadcast(a: tuple, b: tuple) -> tuple | None:
    try:
        return tuple(np.broadcast_shapes(a, b))
    except ValueError:
        return None


class _Gen:
    """Builds a program step by step, tracking each tensor's shape and kind."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.p = Program(seed)
        self.shapes: list[tuple] = []
        self.kinds: list[str] = []  # "leaf", "inter" (requires grad), "const", "view"

    def special(self, a: np.ndarray) -> np.ndarray:
        """Sometimes the points where derivatives are conventions: zeros, ties, a NaN."""
        r, flat = self.rng.random(), a.reshape(-1)
        if flat.size and r < 0.15:
            flat[self.rng.integers(flat.size)] = 0.0
        elif flat.size > 1 and r < 0.3:
            flat[:] = flat[0] if self.rng.random() < 0.5 else flat
            flat[-1] = flat[0]
        elif flat.size and r < 0.35:
            flat[self.rng.integers(flat.size)] = np.nan
        return a

    def pick(self, kinds=("leaf", "inter", "const", "view", "leafview"), shape=None):
        ok = [i for i, k in enumerate(self.kinds) if k in kinds
              and (shape is None or self.shapes[i] == shape)]  # fmt: skip
        return None if not ok else int(self.rng.choice(ok))

    def add(self, step: tuple, shape: tuple, kind: str) -> None:
        self.p.steps.append(step)
        self.shapes.append(shape)
        self.kinds.append(kind)

    def leaf(self, requires_grad: bool = True) -> None:
        shape = SHAPES[self.rng.integers(len(SHAPES))]
        a = self.special(self.rng.uniform(-2, 2, shape).astype(np.float32))
        self.p.leaves.append(a)
        self.add(("leaf", len(self.p.leaves) - 1, requires_grad), shape,
                 "leaf" if requires_grad else "const")  # fmt: skip

    def value_op(self) -> None:
        r = self.rng.random()
        x = self.pick()
        if r < 0.3:
            self.add(("unary", UNARY[self.rng.integers(len(UNARY))], x), self.shapes[x], "inter")
        elif r < 0.6:
            y = self.pick()
            shape = _broadcast(self.shapes[x], self.shapes[y])
            if shape is not None:
                op = BINARY[self.rng.integers(len(BINARY))]
                self.add(("binary", op, x, y), shape, "inter")
        elif r < 0.75:
            self.reduction(x)
        else:
            self.view(x)

    def reduction(self, x: int) -> None:
        shape = self.shapes[x]
        op = REDUCTIONS[self.rng.integers(len(REDUCTIONS))]
        if not shape or self.rng.random() < 0.3:
            self.add(("reduce", op, x, None, False), (), "inter")
            return
        d = int(self.rng.integers(len(shape)))
        keep = bool(self.rng.random() < 0.5)
        out = shape[:d] + ((1,) if keep else ()) + shape[d + 1 :]
        self.add(("reduce", op, x, d, keep), out, "inter")

    def view(self, x: int) -> None:
        shape = self.shapes[x]
        kind = {"inter": "view", "view": "view", "leaf": "leafview"}.get(self.kinds[x], "const")
        choices = ["reshape", "unsqueeze"] + (["t", "index0", "slice"] if len(shape) == 2 else [])
        if len(shape) == 1 and shape[0] > 1:
            choices.append("slice1")
        v = choices[self.rng.integers(len(choices))]
        out = {"reshape": lambda: (int(np.prod(shape)),), "unsqueeze": lambda: (1, *shape),
               "t": lambda: shape[::-1], "index0": lambda: shape[1:],
               "slice": lambda: (shape[0], shape[1] - 1), "slice1": lambda: (shape[0] - 1,),
               }[v]()  # fmt: skip
        if 0 in out:
            return
        self.add(("view", v, x), out, kind)

    def inplace(self) -> None:
        x = self.pick(("inter", "view"))
        if x is None:
            return
        shape = self.shapes[x]
        r = self.rng.random()
        if r < 0.25:
            y = self.pick(shape=None)
            if _broadcast(shape, self.shapes[y]) == shape:
                self.p.steps.append(("iadd", x, y))
        elif r < 0.4:
            self.p.steps.append(("imul", x, float(self.rng.uniform(-2, 2))))
        elif r < 0.5:
            self.p.steps.append(("zero_", x))
        elif r < 0.6:
            self.p.steps.append(("fill_", x, float(self.rng.uniform(-2, 2))))
        elif r < 0.7:
            y = self.pick(shape=shape)
            if y is not None and y != x:
                self.p.steps.append(("copy_", x, y))
        elif r < 0.8:
            self.p.steps.append(("clamp_", x, -0.5, 0.5))
        elif shape:
            i = int(self.rng.integers(shape[0]))
            self.p.steps.append(("setitem", x, i, float(self.rng.uniform(-2, 2))))

    def alias_write(self) -> None:
        x = self.pick(("leaf", "inter", "view", "leafview"))
        if x is None or not self.shapes[x]:
            return
        how = ["detach", "data", "view"][self.rng.integers(3)]
        if how == "data" and (self.kinds[x] != "leaf" or self.used(x)):
            how = "detach"  # .data of a value saved for backward: see leaf_update
        self.p.steps.append(("alias_write", x, how, float(self.rng.uniform(-1, 1))))

    def used(self, x: int) -> bool:
        """True if a step has read tensor ``x`` (the integer indices of a step are tensors)."""
        return any(type(a) is int and a == x for s in self.p.steps[1:] for a in s[1:])

    def leaf_update(self) -> None:
        x = self.pick(("leaf",))
        if x is None:
            return
        # A .data write is unseen by autograd: PyTorch's backward then reads the new values
        # for anything that saved the leaf, which no other library reproduces; so .data is
        # written only to a leaf nothing has read yet, and its later reads see the new value.
        kind = "no_grad_add" if self.used(x) or self.rng.random() < 0.5 else "data"
        self.p.steps.append((kind, x, float(self.rng.uniform(-1, 1))))

    def hook(self) -> None:
        x = self.pick(("inter",))
        if x is not None:
            what = "retain" if self.rng.random() < 0.5 else "hook"
            self.p.steps.append((what, x, float(self.rng.choice([2.0, -1.0, 0.5]))))

    def indexing(self) -> None:
        x = self.pick()
        shape = self.shapes[x]
        if not shape or shape[0] < 2:
            return
        r = self.rng.random()
        idx = self.rng.permutation(shape[0])[: int(self.rng.integers(1, shape[0] + 1))]
        idx = tuple(int(i) for i in idx)  # no repeats: repeated writes are undefined in PyTorch
        if r < 0.3:
            self.add(("take", x, idx), (len(idx), *shape[1:]), "inter")
        elif r < 0.5:
            self.add(("index_select", x, idx), (len(idx), *shape[1:]), "inter")
        elif r < 0.7:
            rows = int(self.rng.integers(1, shape[0] + 1))
            index = self.rng.integers(0, shape[0], (rows, *shape[1:]))
            self.add(("gather", x, index), (rows, *shape[1:]), "inter")
        elif r < 0.78:
            self.add(("masked_fill", x, float(self.rng.uniform(-1, 1))), shape, "inter")
        elif r < 0.85:  # a selection reduced right away: fused into where(mask, x, 0)
            self.add(("mask_reduce", x, str(self.rng.choice(["sum", "mean"]))), (), "inter")
        elif self.kinds[x] in ("inter", "view"):
            self.p.steps.append(("masked_write", x, float(self.rng.uniform(-1, 1))))
        else:
            self.p.steps.append(("index_write", x, idx, float(self.rng.uniform(-1, 1))))

    def finish(self) -> None:
        n = int(self.rng.integers(1, 3))
        for k in range(n):
            outs = [i for i, kd in enumerate(self.kinds) if kd in ("inter", "view")]
            if not outs:
                return
            chosen = [int(i) for i in self.rng.choice(outs, size=min(2, len(outs)), replace=False)]
            self.p.steps.append(("backward", tuple(chosen), k < n - 1))


def generate(seed: int) -> Program:
    g = _Gen(seed)
    for _ in range(int(g.rng.integers(1, 4))):
        g.leaf()
    if g.rng.random() < 0.3:
        g.leaf(requires_grad=False)
    for _ in range(int(g.rng.integers(3, 9))):
        r = g.rng.random()
        if r < 0.55:
            g.value_op()
        elif r < 0.75:
            g.inplace()
        elif r < 0.79:
            g.leaf_update()
        elif r < 0.82:
            g.alias_write()
        elif r < 0.9:
            g.hook()
        else:
            g.indexing()
    g.finish()
    return g.p


# -- running a program on a library (varjax or torch: the same API) --------------------------


def _unary(lib, name, x):
    if name == "exp":
        return x.tanh().exp()
    if name in ("log", "sqrt"):
        return getattr(x.abs() + 0.5, name)()
    if name == "pow0":
        return x**0
    if name == "pow2":
        return x**2.0
    if name == "clamp":
        return x.clamp(-0.5, 0.5)
    return getattr(x, name)()


def _binary(lib, name, x, y):
    if name == "div":
        return x / (y.abs() + 1)
    if name in ("maximum", "minimum"):
        return getattr(lib, name)(x, y)
    if name == "pow":
        return x.abs() ** y.clamp(0, 2)
    if name == "where":
        return lib.where(x.detach() > 0, x, y)
    return {"add": x + y, "sub": x - y, "mul": x * y}[name]


def _reduce(op, x, d, keep):
    if op.startswith("norm"):
        p = int(op[-1])
        return x.norm(p) if d is None else x.norm(p, dim=d, keepdim=keep)
    if op == "max" and d is not None:
        return x.max(d, keepdim=keep)[0]
    if op == "std" and (x.numel() < 2 or d is not None and x.shape[d] < 2 or _ties(x, d)):
        # one element: PyTorch warns and gives NaN with a correction of 1; equal values: the
        # gradient (x - mean) / std is rounding noise over rounding noise in either library
        op = "sum"
    if d is None:
        return getattr(x, op)()
    return getattr(x, op)(d, keepdim=keep)


def _ties(x, d) -> bool:
    """True if the values std would reduce together are all equal (in some slice)."""
    v = x.detach()
    if d is None:
        return bool((v.max() == v.min()).item())
    return bool((v.amax(d) == v.amin(d)).any().item())


def _view(v, x):
    return {
        "reshape": lambda: x.reshape(-1), "unsqueeze": lambda: x.unsqueeze(0),
        "t": lambda: x.t(), "index0": lambda: x[0], "slice": lambda: x[:, 1:],
        "slice1": lambda: x[1:],
    }[v]()  # fmt: skip


def _step(lib, env, step, hooks, retained):
    kind = step[0]
    if kind == "unary":
        env.append(_unary(lib, step[1], env[step[2]]))
    elif kind == "binary":
        env.append(_binary(lib, step[1], env[step[2]], env[step[3]]))
    elif kind == "reduce":
        env.append(_reduce(step[1], env[step[2]], step[3], step[4]))
    elif kind == "view":
        env.append(_view(step[1], env[step[2]]))
    elif kind == "take":
        env.append(env[step[1]][lib.tensor(list(step[2]))])
    elif kind == "index_select":
        env.append(env[step[1]].index_select(0, lib.tensor(list(step[2]))))
    elif kind == "gather":
        env.append(env[step[1]].gather(0, lib.tensor(step[2])))
    elif kind == "masked_fill":
        x = env[step[1]]
        env.append(x.masked_fill(x.detach() > 0.5, step[2]))
    elif kind == "mask_reduce":
        x = env[step[1]]
        env.append(getattr(x[x.detach() > -0.5], step[2])())
    else:
        _mutate(lib, env, step, hooks, retained)


def _mutate(lib, env, step, hooks, retained):
    kind, x = step[0], env[step[1]]
    if kind == "iadd":
        x.add_(env[step[2]])
    elif kind == "imul":
        x.mul_(step[2])
    elif kind == "zero_":
        x.zero_()
    elif kind == "fill_":
        x.fill_(step[2])
    elif kind == "copy_":
        x.copy_(env[step[2]])
    elif kind == "clamp_":
        x.clamp_(step[2], step[3])
    elif kind == "setitem":
        x[step[2]] = step[3]
    elif kind == "masked_write":
        x[x.detach() > 0] = step[2]
    elif kind == "index_write":
        with lib.no_grad():
            x[lib.tensor(list(step[2]))] = step[3]
    elif kind == "alias_write":
        _alias_write(lib, x, step[2], step[3])
    elif kind == "no_grad_add":
        with lib.no_grad():
            x.add_(step[2])
    elif kind == "data":
        x.data = x.data * 0.5 + step[2]
    elif kind == "retain":
        x.retain_grad()
        retained.append(step[1])
    elif kind == "hook":
        c = step[2]
        x.register_hook(lambda g, c=c: g * c)
        hooks.append(step[1])


def _alias_write(lib, x, how, c):
    """A write autograd does not see: through ``detach()``, ``.data``, or a view under
    ``no_grad``."""
    with lib.no_grad():
        if how == "detach":
            x.detach().mul_(c)
        elif how == "data":
            x.data.add_(c)
        else:
            x[0].mul_(c)


def run(program: Program, lib) -> dict:
    """Every value, leaf gradient and retained gradient of ``program`` on ``lib``."""
    env, hooks, retained, out = [], [], [], {}
    for step in program.steps:
        if step[0] == "leaf":
            a = program.leaves[step[1]]
            env.append(lib.tensor(a.copy(), requires_grad=step[2]))
        elif step[0] == "backward":
            ys = [env[i] for i in step[1]]
            loss = sum(((y * (k + 1.5)).sum() for k, y in enumerate(ys)), lib.tensor(0.0))
            loss.backward(retain_graph=step[2])
            out[f"after backward {len(out)}"] = _grads(env, program, retained)
        else:
            _step(lib, env, step, hooks, retained)
    out["values"] = [np.asarray(t.detach().numpy(), np.float64) for t in env]
    out["grads"] = _grads(env, program, retained)
    return out


def _grads(env, program, retained) -> list:
    grads = []
    for i, t in enumerate(env):
        is_leaf = program.steps[i][0] == "leaf" if i < len(program.steps) else False
        if (is_leaf or i in retained) and t.grad is not None:
            grads.append((i, np.asarray(t.grad.numpy(), np.float64)))
    return grads


_REFUSED = ("modified by an inplace operation", "a view of a leaf", "leaf Variable",
            "more than one element of the written-to tensor", "does not require grad",
            "is a view and its base or another view", "view of a leaf")  # fmt: skip


@dataclass
class Outcome:
    status: str  # "same", "skipped", "differ"
    detail: str = ""


def compare(program: Program) -> Outcome:
    import torch

    import varjax as vj

    try:
        expected = run(program, torch)
    except Exception as e:  # noqa: BLE001 - any refusal of PyTorch's
        try:
            run(program, vj)
        except Exception:  # noqa: BLE001
            return Outcome("skipped", f"both refuse: {type(e).__name__}")
        if any(r in str(e) for r in _REFUSED) or isinstance(e, RuntimeError):
            return Outcome("skipped", f"PyTorch refuses: {str(e)[:80]}")
        return Outcome("differ", f"PyTorch raises {type(e).__name__}: {e}; varjax does not")
    try:
        got = run(program, vj)
    except Exception as e:  # noqa: BLE001
        return Outcome("differ", f"varjax raises {type(e).__name__}: {str(e)[:300]}")
    return _same(expected, got)


def _same(expected: dict, got: dict) -> Outcome:
    if expected.keys() != got.keys():
        return Outcome("differ", f"phases {list(got)} where PyTorch has {list(expected)}")
    for key in expected:
        e, g = expected[key], got[key]
        if key == "values":
            pairs = list(enumerate(zip(e, g)))
        else:
            if [i for i, _ in e] != [i for i, _ in g]:
                return Outcome("differ", f"{key}: gradients of {[i for i, _ in g]} where "
                               f"PyTorch has {[i for i, _ in e]}")  # fmt: skip
            pairs = [(i, (a, b)) for (i, a), (_, b) in zip(e, g)]
        for i, (a, b) in pairs:
            if a.shape != b.shape or not np.allclose(a, b, rtol=1e-4, atol=1e-5, equal_nan=True):
                return Outcome("differ", f"{key}, tensor {i}: {b.tolist()} where PyTorch has "
                               f"{a.tolist()}")  # fmt: skip
    return Outcome("same")


def fuzz(programs: int, seed: int, verbose: bool = False) -> dict:
    counts = {"same": 0, "skipped": 0, "differ": 0}
    findings = []
    for s in range(seed, seed + programs):
        program = generate(s)
        outcome = compare(program)
        counts[outcome.status] += 1
        if outcome.status == "differ":
            findings.append((program, outcome))
            if verbose:
                print(f"{program}\n  -> {outcome.detail}\n")
    return {"counts": counts, "findings": findings}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    import varjax as vj

    vj.config.max_recompiles = None  # every program is new: its compiles are expected
    start = time.perf_counter()
    result = fuzz(args.programs, args.seed, args.verbose)
    c = result["counts"]
    seconds = time.perf_counter() - start
    print(f"{args.programs} programs from seed {args.seed} in {seconds:.0f} s: {c['same']} same, "
          f"{c['skipped']} skipped (PyTorch refuses), {c['differ']} differ")
    return 1 if c["differ"] else 0


if __name__ == "__main__":
    sys.exit(main())
