"""PyTorch's tensor functions: ``varjax.exp(x)``, ``varjax.sum(x, 1)``, ``varjax.cat(xs)``, ...

Every method made from an op-table row is also a function here (``varjax.exp(x)`` is
``x.exp()``), and so is every hand-written method marked ``@function`` in ``_methods/``; the
functions also take PyTorch's ``out=``. The few functions that are no method (``cat``, ``stack``,
``where``, ``einsum``) are written below. ``_functions.pyi`` (generated: ``python -m
varjax._opdoc``) lists them all for type checkers.
"""

from __future__ import annotations

import builtins
import functools
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from . import _ops
from ._args import dim1
from ._grad_mode import is_grad_enabled, no_grad
from ._methods import elementwise, inplace
from ._methods.index import grow
from ._ops import P
from ._variable import Variable, as_variable


def _function(method: Callable) -> Callable:
    """The function form of a hand-written method: its first argument may be any tensor-like."""

    @functools.wraps(method)
    def fn(input: Any, *args: Any, **kwargs: Any) -> Any:
        return method(input if isinstance(input, Variable) else Variable(input), *args, **kwargs)

    return fn


def _with_out(fn: Callable) -> Callable:
    """``fn`` taking PyTorch's ``out=``: the result written into the given Variable (a tuple of
    them for functions with several results), which is returned."""

    @functools.wraps(fn)
    def with_out(*args: Any, out: Any = None, **kwargs: Any) -> Any:
        result = fn(*args, **kwargs)
        return result if out is None else write_out(fn.__name__, result, out)

    with_out.takes_out = True  # type: ignore[attr-defined] - the stub adds ``out=``
    return with_out


def write_out(name: str, result: Any, out: Any) -> Any:
    """Store ``result`` in ``out`` as PyTorch's ``out=`` does: its dtype kept (a result that
    cannot be cast to it raises), its shape resized (with PyTorch's warning unless empty)."""
    results = result if isinstance(result, tuple) else (result,)
    if not builtins.all(isinstance(r, Variable) for r in results):  # a bool, a list, ...
        raise TypeError(f"{name}() got an unexpected keyword argument 'out'")
    outs = out if isinstance(out, (tuple, list)) and len(results) > 1 else (out,)
    # builtins: this module's globals become varjax's any/all/... below
    if len(outs) != len(results) or not builtins.all(isinstance(o, Variable) for o in outs):
        want = f"a tuple of {len(results)} Tensors" if len(results) > 1 else "Tensor"
        raise TypeError(f"{name}(): argument 'out' must be {want}, not {type(out).__name__}")
    if builtins.any(o.requires_grad for o in outs) or (
        is_grad_enabled() and builtins.any(r.requires_grad for r in results)
    ):
        raise RuntimeError(
            f"{name}(): functions with out=... arguments don't support automatic "
            f"differentiation, but one of the arguments requires grad."
        )
    with no_grad():
        for r, o in zip(results, outs):
            if tuple(o.shape) != tuple(r.shape):
                if o.numel():
                    warnings.warn(
                        f"An output with one or more elements was resized since it had shape "
                        f"{list(o.shape)}, which does not match the required output shape "
                        f"{list(r.shape)}.", UserWarning, stacklevel=3,
                    )  # fmt: skip
                o.data = r.new_zeros(tuple(r.shape), dtype=o.dtype)
            inplace.apply(o, r, name)
    return out


def _collect() -> dict[str, Callable]:
    out: dict[str, Callable] = {}
    for row in _ops.rows():
        for name in row.names:
            out[name] = _with_out(getattr(Variable, name))
    for cls in Variable.__mro__:
        for name, value in vars(cls).items():
            if getattr(value, "is_function", False) and name not in out:
                out[name] = _with_out(_function(value))
    return out


def _tensors(tensors: Sequence, name: str) -> list[Variable]:
    if isinstance(tensors, Variable) or not len(tensors):
        raise TypeError(f"{name}() expects a non-empty sequence of Variables")
    return [as_variable(t) for t in tensors]


@_with_out
def cat(tensors: Sequence[Variable], dim: int = 0) -> Variable:
    """Join along an existing ``dim``. A sequence that grows by joins, step after step
    (``idx = cat((idx, nxt), 1)`` in generation), is kept in a buffer with room to spare, so
    the programs that crop it see a fixed shape (see ``_methods.index.grow``).

    Example:
        >>> import varjax as vj
        >>> vj.cat([vj.tensor([1, 2]), vj.tensor([3])])
        tensor([1, 2, 3])
        >>> vj.cat([vj.zeros(2, 3), vj.zeros(2, 1)], dim=1).shape
        varjax.Size([2, 4])
    """
    xs = _tensors(tensors, "cat")
    d = dim1(dim, xs[0].ndim)
    grown = grow(xs[0], xs[1], d) if len(xs) == 2 and xs[0].ndim else None
    return grown if grown is not None else xs[0]._apply(P.cat, *xs, params=(("axis", d),))


concat = concatenate = cat


@_with_out
def stack(tensors: Sequence[Variable], dim: int = 0) -> Variable:
    """Join along a new ``dim``.

    Example:
        >>> import varjax as vj
        >>> vj.stack([vj.tensor([1, 2]), vj.tensor([3, 4])], dim=1)
        tensor([[1, 3],
                [2, 4]])
    """
    xs = _tensors(tensors, "stack")
    return xs[0]._apply(P.stack, *xs, params=(("axis", dim1(dim, xs[0].ndim + 1)),))


@_with_out
def where(condition: Any, input: Any = None, other: Any = None) -> Any:
    """``input`` where ``condition`` holds, else ``other`` (a boolean condition); with the
    condition alone, ``condition.nonzero(as_tuple=True)``, as PyTorch.

    Example:
        >>> import varjax as vj
        >>> x = vj.tensor([-1.0, 2.0, -3.0])
        >>> vj.where(x > 0, x, 0.0)
        tensor([0., 2., 0.])
        >>> vj.where(x > 0)
        (tensor([1]),)
    """
    if input is None and other is None:
        return as_variable(condition).nonzero(as_tuple=True)
    return elementwise.where(as_variable(condition), input, other)


@_with_out
def einsum(equation: str, *operands: Any) -> Variable:
    """Einstein summation: ``einsum('ij,jk->ik', a, b)``.

    Example:
        >>> import varjax as vj
        >>> vj.einsum("ij,jk->ik", vj.ones(2, 3), vj.ones(3, 4)).shape
        varjax.Size([2, 4])
        >>> vj.einsum("ii", vj.tensor([[1.0, 2.0], [3.0, 4.0]]))
        tensor(5.)
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    xs = [as_variable(o) for o in operands]
    return xs[0]._apply(P.einsum, *xs, params=(("eq", equation),))


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple[Variable, ...]:
    """Coordinate grids of 1-D tensors; ``indexing="xy"`` swaps the first two dims.

    Example:
        >>> import varjax as vj
        >>> xs, ys = vj.meshgrid(vj.tensor([1, 2]), vj.tensor([3, 4, 5]), indexing="ij")
        >>> xs
        tensor([[1, 1, 1],
                [2, 2, 2]])
        >>> ys
        tensor([[3, 4, 5],
                [3, 4, 5]])
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    xs = [as_variable(t).reshape(-1) for t in tensors]
    shape = [x.shape[0] for x in xs]
    grids = []
    for i, x in enumerate(xs):
        view = [1] * len(xs)
        view[i] = shape[i]
        grids.append(x.reshape(*view).expand(*shape))
    if indexing == "xy" and len(xs) >= 2:  # the first two dims swapped (NumPy's "xy")
        grids = [g.transpose(0, 1) for g in grids]
    return tuple(grids)


@_with_out
def cdist(x1: Any, x2: Any, p: float = 2.0) -> Variable:
    """Pairwise p-norm distances between the rows of ``x1`` (…, P, M) and ``x2`` (…, R, M).

    Example:
        >>> import varjax as vj
        >>> vj.cdist(vj.tensor([[0.0, 0.0]]), vj.tensor([[3.0, 4.0], [0.0, 1.0]]))
        tensor([[5., 1.]])
    """
    a, b = as_variable(x1), as_variable(x2)
    if a.shape[-1] != b.shape[-1]:
        raise RuntimeError(
            f"X1 and X2 must have the same number of columns. X1: {a.shape[-1]} X2: {b.shape[-1]}"
        )
    return (a.unsqueeze(-2) - b.unsqueeze(-3)).norm(p, dim=-1)


@_with_out
def searchsorted(sorted_sequence: Any, values: Any, *, right: bool = False,
                 side: str | None = None) -> Variable:  # fmt: skip
    """Where ``values`` would be inserted into the 1-D ``sorted_sequence`` to keep it sorted
    (the first such place, or the last with ``right=True``).

    Example:
        >>> import varjax as vj
        >>> s = vj.tensor([1, 3, 5, 7])
        >>> vj.searchsorted(s, vj.tensor([3, 6])).tolist()
        [1, 3]
        >>> vj.searchsorted(s, vj.tensor([3, 6]), right=True).tolist()
        [2, 3]
    """
    s, v = as_variable(sorted_sequence), as_variable(values)
    if s.ndim != 1:
        raise RuntimeError("searchsorted: varjax supports a 1-D sorted_sequence")
    how = side or ("right" if right else "left")
    return s._apply(P.searchsorted, s, v, params=(("side", how),))


@_with_out
def bucketize(input: Any, boundaries: Any, *, right: bool = False) -> Variable:
    """The bucket of each value among the 1-D ``boundaries`` (``searchsorted`` with the
    arguments swapped).

    Example:
        >>> import varjax as vj
        >>> vj.bucketize(vj.tensor([0, 5, 9]), vj.tensor([1, 5, 8])).tolist()
        [0, 1, 3]
    """
    return searchsorted(boundaries, input, right=right)


_GENERATED = _collect()
globals().update(_GENERATED)
__all__ = sorted([*_GENERATED, "cat", "concat", "concatenate", "stack", "where", "einsum",
                  "meshgrid", "cdist", "searchsorted", "bucketize"])  # fmt: skip
