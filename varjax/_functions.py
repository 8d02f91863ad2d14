"""PyTorch's tensor functions: ``varjax.exp(x)``, ``varjax.sum(x, 1)``, ``varjax.cat(xs)``, ...

Every method made from an op-table row is also a function here (the same function object:
``varjax.exp is varjax.Tensor.exp``), and so is every hand-written method marked
``@function`` in ``_methods/``. The few functions that are no method (``cat``, ``stack``,
``where``, ``einsum``) are written below. ``_functions.pyi`` (generated: ``python -m
varjax._opdoc``) lists them all for type checkers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from . import _ops
from ._args import dim1
from ._methods import elementwise
from ._ops import P
from ._variable import Variable, as_variable


def _function(method: Callable) -> Callable:
    """The function form of a hand-written method: its first argument may be any tensor-like."""

    @functools.wraps(method)
    def fn(input: Any, *args: Any, **kwargs: Any) -> Any:
        return method(input if isinstance(input, Variable) else Variable(input), *args, **kwargs)

    return fn


def _collect() -> dict[str, Callable]:
    out: dict[str, Callable] = {}
    for row in _ops.rows():
        for name in row.names:
            out[name] = getattr(Variable, name)
    for cls in Variable.__mro__:
        for name, value in vars(cls).items():
            if getattr(value, "is_function", False) and name not in out:
                out[name] = _function(value)
    return out


def _tensors(tensors: Sequence, name: str) -> list[Variable]:
    if isinstance(tensors, Variable) or not len(tensors):
        raise TypeError(f"{name}() expects a non-empty sequence of Variables")
    return [as_variable(t) for t in tensors]


def cat(tensors: Sequence[Variable], dim: int = 0) -> Variable:
    """Join along an existing ``dim``."""
    xs = _tensors(tensors, "cat")
    return xs[0]._apply(P.cat, *xs, params=(("axis", dim1(dim, xs[0].ndim)),))


concat = concatenate = cat


def stack(tensors: Sequence[Variable], dim: int = 0) -> Variable:
    """Join along a new ``dim``."""
    xs = _tensors(tensors, "stack")
    return xs[0]._apply(P.stack, *xs, params=(("axis", dim1(dim, xs[0].ndim + 1)),))


def where(condition: Any, input: Any, other: Any) -> Variable:
    """``input`` where ``condition`` holds, else ``other`` (a boolean condition)."""
    return elementwise.where(as_variable(condition), input, other)


def einsum(equation: str, *operands: Any) -> Variable:
    """Einstein summation: ``einsum('ij,jk->ik', a, b)``."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    xs = [as_variable(o) for o in operands]
    return xs[0]._apply(P.einsum, *xs, params=(("eq", equation),))


_GENERATED = _collect()
globals().update(_GENERATED)
__all__ = sorted([*_GENERATED, "cat", "concat", "concatenate", "stack", "where", "einsum"])
