"""Write ``varjax/_op_examples.py``: an example for every op-table row and in-place method,
with what PyTorch prints for it, so each docstring shows a runnable example whose expected
output comes from PyTorch, not from varjax (``tests/test_op_examples.py`` runs them and
checks this file is current).

Run ``python tools/op_examples.py`` (needs ``torch``) after adding or changing a row or an
in-place method.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from varjax import _ops  # noqa: E402 - the table, from this checkout

TARGET = ROOT / "varjax" / "_op_examples.py"

# Inputs each convention tries, in order: the first that PyTorch takes with a finite result
# (negative values first, so abs, sign, floor and remainder show what they do with them).
_FLOATS = ["[-1.5, 0.5, 2.0]", "[0.25, 0.5, 0.75]", "[1.5, 2.0, 3.0]"]
_INTS = ["[12, 10, 3]"]
_OTHERS = {"[-1.5, 0.5, 2.0]": "[1.0, 2.0, 3.0]", "[0.25, 0.5, 0.75]": "[1.0, 2.0, 3.0]",
           "[1.5, 2.0, 3.0]": "[1.0, 2.0, 3.0]", "[12, 10, 3]": "[10, 6, 3]"}  # fmt: skip
_BOOLS = "[True, False, True]"
_MATRIX = "[[1.0, 2.0], [3.0, 4.0]]"
_BOOL_MATRIX = "[[True, False], [True, True]]"
# rows whose point is a special value
_SPECIAL = {
    "nan_to_num": "[float('nan'), float('inf'), -float('inf'), 1.0]",
    "isnan": "[1.0, float('nan'), float('inf')]",
    "isinf": "[1.0, float('nan'), float('inf')]",
    "isfinite": "[1.0, float('nan'), float('inf')]",
}


class _Torch:
    """``torch`` as varjax's namespace: the few top-level varjax functions that PyTorch keeps
    only in ``torch.nn.functional`` (``silu``) are taken from there."""

    def __getattr__(self, name: str):
        return getattr(torch, name, None) or getattr(torch.nn.functional, name)


# the in-place methods (varjax/_methods/inplace.py): each call, on a small input; the call
# prints the Variable it changed
_X, _POS = "x = vj.tensor([-1.5, 0.5, 2.0])", "x = vj.tensor([0.25, 1.0, 4.0])"
_UNARY_INPLACE = ["exp_", "abs_", "neg_", "sigmoid_", "tanh_", "relu_", "floor_", "ceil_",
                  "round_", "sign_", "reciprocal_"]  # fmt: skip
INPLACE = {
    "add_": ["x = vj.tensor([1.0, 2.0])", "x.add_(vj.tensor([10.0, 20.0]), alpha=2)"],
    "sub_": ["x = vj.tensor([1.0, 2.0])", "x.sub_(1.5)"],
    "mul_": ["x = vj.tensor([1.0, 2.0])", "x.mul_(3)"],
    "div_": ["x = vj.tensor([1.0, 2.0])", "x.div_(4)"],
    "clamp_": [_X, "x.clamp_(0.0, 1.0)"],
    "clamp_min_": [_X, "x.clamp_min_(0.0)"],
    "clamp_max_": [_X, "x.clamp_max_(1.0)"],
    "fill_": ["x = vj.zeros(3)", "x.fill_(7.0)"],
    "zero_": ["x = vj.ones(3)", "x.zero_()"],
    "copy_": ["x = vj.zeros(2)", "x.copy_(vj.tensor([5.0, 6.0]))"],
    "masked_fill_": ["x = vj.tensor([1.0, 2.0, 3.0])", "x.masked_fill_(x > 1.5, 0.0)"],
    "masked_scatter_": ["x = vj.zeros(4)", "mask = vj.tensor([True, False, True, False])",
                        "x.masked_scatter_(mask, vj.tensor([1.0, 2.0]))"],
    "scatter_": ["x = vj.zeros(3)", "x.scatter_(0, vj.tensor([2, 0]), vj.tensor([5.0, 6.0]))"],
    "scatter_add_": ["x = vj.ones(3)",
                     "x.scatter_add_(0, vj.tensor([0, 0, 2]), vj.tensor([1.0, 2.0, 3.0]))"],
    "index_add_": ["x = vj.zeros(3)", "x.index_add_(0, vj.tensor([0, 2]), vj.tensor([1.0, 2.0]))"],
    "index_copy_": ["x = vj.zeros(3)",
                    "x.index_copy_(0, vj.tensor([2, 0]), vj.tensor([1.0, 2.0]))"],
    "index_fill_": ["x = vj.zeros(3)", "x.index_fill_(0, vj.tensor([1]), -1.0)"],
    "addcmul_": ["x = vj.ones(2)",
                 "x.addcmul_(vj.tensor([1.0, 2.0]), vj.tensor([3.0, 4.0]), value=0.5)"],
    "addcdiv_": ["x = vj.ones(2)",
                 "x.addcdiv_(vj.tensor([1.0, 2.0]), vj.tensor([4.0, 4.0]), value=2)"],
    "pow_": ["x = vj.tensor([1.0, 2.0, 3.0])", "x.pow_(2)"],
    "lerp_": ["x = vj.tensor([0.0, 2.0])", "x.lerp_(vj.tensor([10.0, 10.0]), 0.5)"],
    "log_": [_POS, "x.log_()"],
    "sqrt_": [_POS, "x.sqrt_()"],
    "remainder_": ["x = vj.tensor([-3.0, 5.0])", "x.remainder_(2)"],
    **{name: [_X, f"x.{name}()"] for name in _UNARY_INPLACE},
    "t_": ["x = vj.zeros(2, 3)", "x.t_().shape"],
    "transpose_": ["x = vj.zeros(2, 3, 4)", "x.transpose_(0, 2).shape"],
    "unsqueeze_": ["x = vj.zeros(2)", "x.unsqueeze_(0).shape"],
    "squeeze_": ["x = vj.zeros(1, 2, 1)", "x.squeeze_().shape"],
}


def _shows(line: str) -> bool:
    return not re.match(r"^\w+ = ", line)  # an expression: the doctest prints it


def _run(lines: list[str]) -> str:
    """What PyTorch prints for the last line of ``lines``, run with ``vj`` as ``torch``."""
    scope = {"vj": _Torch()}
    for line in lines[:-1]:
        exec(line, scope)
    return repr(eval(lines[-1], scope))


def _finite(lines: list[str]) -> bool:
    scope = {"vj": _Torch()}
    for line in lines[:-1]:
        exec(line, scope)
    out = eval(lines[-1], scope)
    return not out.is_floating_point() or bool(torch.isfinite(out).all())


def _tensor(data: str, grad: bool) -> str:
    return f"x = vj.tensor({data}{', requires_grad=True' if grad else ''})"


def _candidates(row: _ops.Row) -> list[list[str]]:
    name, kind = row.op.name, row.build.func.__name__
    grad = row.op.grad_name is not None
    call = f"vj.{name}(x)"
    if name in _SPECIAL:
        return [[_tensor(_SPECIAL[name], False), call]]
    if kind in ("_unary", "_unary_with"):
        found = [[_tensor(d, grad), call] for d in _FLOATS]
        return found + [[_tensor(d, False), call] for d in _INTS + [_BOOLS]]
    if kind == "_binary":
        found = [[_tensor(d, g), f"y = vj.tensor({_OTHERS[d]})", f"vj.{name}(x, y)"]
                 for g in dict.fromkeys((grad, False)) for d in _FLOATS]  # fmt: skip
        ints = [[_tensor(d, False), f"y = vj.tensor({_OTHERS[d]})", f"vj.{name}(x, y)"]
                for d in _INTS]  # fmt: skip
        bools = [[_tensor(_BOOLS, False), "y = vj.tensor([True, True, False])",
                  f"vj.{name}(x, y)"]]  # fmt: skip
        return found + ints + bools
    if kind == "_scan":
        return [[_tensor(_MATRIX, grad), f"vj.{name}(x, dim=1)"]]
    # a reduction: over everything (where PyTorch allows it), then along one dim
    found = []
    for data, g in ((_MATRIX, grad), (_BOOL_MATRIX, False)):
        whole = [_tensor(data, g), f"vj.{name}(x)", f"vj.{name}(x, dim=1)"]
        found += [whole, [whole[0], whole[2]]]
    return found


def example(row: _ops.Row) -> tuple[tuple[str, str | None], ...]:
    """``row``'s example: the lines to run, each with what PyTorch prints for it (or None)."""
    for lines in _candidates(row):
        try:
            if not _finite(lines[: _last_call(lines) + 1]):
                continue
        except (RuntimeError, TypeError):
            continue
        shown = tuple(
            (line, _run(lines[: i + 1]) if _shows(line) else None)
            for i, line in enumerate(lines)
        )
        if not any("NotImplemented" in (out or "") for _, out in shown):  # no derivative
            return shown
    raise AssertionError(f"no input PyTorch takes for {row.op.name}")


def _last_call(lines: list[str]) -> int:
    return next(i for i, line in enumerate(lines) if _shows(line))


def _shown(lines: list[str]) -> tuple[tuple[str, str | None], ...]:
    return tuple((line, _run(lines[: i + 1]) if _shows(line) else None)
                 for i, line in enumerate(lines))  # fmt: skip


def render() -> str:
    """The text of ``varjax/_op_examples.py``."""
    out = [
        '"""Generated by ``python tools/op_examples.py`` from PyTorch '
        f'{torch.__version__.split("+")[0]}: the example of each',
        "op-table row and in-place method, as (line, what PyTorch prints for it or None) pairs,",
        "so the example in each docstring checks varjax against PyTorch",
        '(tests/test_op_examples.py)."""',
        "",
        "EXAMPLES: dict[str, tuple[tuple[str, str | None], ...]] = {",
    ]
    examples = {row.op.name: example(row) for row in _ops.rows()}
    examples.update({name: _shown(lines) for name, lines in INPLACE.items()})
    for name, lines in examples.items():
        out.append(f"    {name!r}: (")
        for line, shown in lines:
            shown = None if shown is None else shown.replace("torch.", "varjax.")
            out.append(f"        ({line!r}, {shown!r}),")
        out.append("    ),")
    out.append("}")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    TARGET.write_text(render())
    print(f"wrote {TARGET}")
