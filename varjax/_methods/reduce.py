"""Reductions whose arguments need more than the table's ``reduction`` convention: ``max``
and ``min`` (three forms), arg-reductions, moments with ``correction``, ``norm``."""

from __future__ import annotations

import builtins
import numbers
from collections import namedtuple
from typing import TYPE_CHECKING, Any

import jax
import numpy as np

from .._args import dim1, dims, reduce_params
from .._dtypes import is_floating
from .._ops import OPS, P
from ._base import Methods, function

if TYPE_CHECKING:
    from .._variable import Variable

MaxResult = namedtuple("max", ["values", "indices"])
MinResult = namedtuple("min", ["values", "indices"])


def _float_only(name: str, x: Any) -> None:
    if not is_floating(x.dtype):
        raise RuntimeError(
            f"{name}(): could not infer output dtype. Input dtype must be either a floating "
            f"point or complex dtype. Got: {x.dtype}; convert with .float() first"
        )


class ReduceMethods(Methods):
    __slots__ = ()

    def _extreme(self, name: str, result, dim, keepdim, other):
        if isinstance(dim, (Methods, jax.Array, np.ndarray)):
            other, dim = dim, None
        if other is not None:
            return self._apply(OPS["maximum" if name == "max" else "minimum"], self, other)
        if dim is None:
            if self.numel() == 0:
                raise RuntimeError(
                    f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                    f"Specify the reduction dim with the 'dim' argument."
                )
            op = P.max_all if name == "max" else P.min_all
            return self._apply(op, self, params=reduce_params(None, False, self.ndim))
        d = dim1(dim, self.ndim)
        arg = P.argmax if name == "max" else P.argmin
        indices = self._apply(arg, self, params=(("axis", d), ("keepdims", True)))
        values = self._apply(P.gather, self, indices, params=(("axis", d),))
        if not keepdim:
            values, indices = values.squeeze(d), indices.squeeze(d)
        return result(values, indices)

    @function
    def max(self, dim: Any = None, keepdim: bool = False, *, other: Any = None) -> Any:  # noqa: A003
        """``max(x)``: the largest value; ``max(x, dim)``: ``(values, indices)``; ``max(x, y)``:
        elementwise maximum. With ``dim`` the gradient goes to the returned index, as in
        PyTorch."""
        return self._extreme("max", MaxResult, dim, keepdim, other)

    @function
    def min(self, dim: Any = None, keepdim: bool = False, *, other: Any = None) -> Any:  # noqa: A003
        """``min(x)``, ``min(x, dim)`` -> ``(values, indices)``, or elementwise ``min(x, y)``."""
        return self._extreme("min", MinResult, dim, keepdim, other)

    def _arg(self, op, dim, keepdim) -> Variable:
        d = None if dim is None else dim1(dim, self.ndim)
        keep = builtins.bool(keepdim and d is not None)
        return self._apply(op, self, params=(("axis", d), ("keepdims", keep)))

    @function
    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Variable:
        """Index of the largest value (into the flattened input when ``dim`` is None)."""
        return self._arg(P.argmax, dim, keepdim)

    @function
    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Variable:
        """Index of the smallest value (into the flattened input when ``dim`` is None)."""
        return self._arg(P.argmin, dim, keepdim)

    def _moment(self, op, dim, unbiased, keepdim, correction) -> Variable:
        _float_only(op.name, self)
        if isinstance(dim, builtins.bool):  # the legacy var(x, unbiased) form
            dim, unbiased = None, dim
        if correction is None:
            correction = 1 if unbiased in (None, True) else 0
        params = (("axis", dims(dim, self.ndim)), ("correction", builtins.int(correction)))
        return self._apply(op, self, params=params + (("keepdims", builtins.bool(keepdim)),))

    @function
    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None) -> Variable:
        """Variance over ``dim``; ``correction=1`` (``unbiased=True``) by default, as PyTorch."""
        return self._moment(P.var, dim, unbiased, keepdim, correction)

    @function
    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None) -> Variable:
        """Standard deviation over ``dim``; ``correction=1`` by default, as PyTorch."""
        return self._moment(P.std, dim, unbiased, keepdim, correction)

    @function
    def norm(self, p: float | str = "fro", dim=None, keepdim: bool = False) -> Variable:
        """The vector p-norm over ``dim`` (all elements by default); ``'fro'`` is the 2-norm."""
        if p == "fro":
            p = 2
        if isinstance(p, str) or not isinstance(p, numbers.Real):
            raise ValueError(f"norm: unsupported p={p!r}; use a number, inf, -inf or 'fro'")
        params = reduce_params(dim, keepdim, self.ndim) + (("p", builtins.float(p)),)
        return self._apply(P.norm, self, params=params)
