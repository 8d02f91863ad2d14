"""Reductions whose arguments need more than the table's ``reduction`` convention: ``max``
and ``min`` (three forms), arg-reductions, moments with ``correction``, ``norm``; order
statistics (``sort``, ``topk``, ``kthvalue``, ``median``) and comparisons of whole tensors
(``allclose``, ``equal``)."""

from __future__ import annotations

import builtins
import numbers
from collections import namedtuple
from typing import TYPE_CHECKING, Any

import jax
import numpy as np

from .._args import dim1, dims, reduce_params
from .._dtypes import default_int, is_floating
from .._ops import OPS, P
from ._base import Methods, function

if TYPE_CHECKING:
    from .._variable import Variable



def _result(name: str) -> type:
    """PyTorch's ``torch.return_types.<name>``: a (values, indices) named tuple, shown as
    PyTorch shows it."""

    def show(self) -> str:
        fields = ",\n".join(f"{k}={v!r}" for k, v in zip(self._fields, self))
        return f"varjax.return_types.{name}(\n{fields})"

    return type(name, (namedtuple(name, ["values", "indices"]),), {
        "__slots__": (), "__repr__": show,
    })  # fmt: skip


MaxResult, MinResult, SortResult, TopkResult = map(_result, ("max", "min", "sort", "topk"))
KthvalueResult, MedianResult, ModeResult = map(_result, ("kthvalue", "median", "mode"))
CummaxResult, CumminResult = _result("cummax"), _result("cummin")


def _float_only(name: str, x: Any) -> None:
    if not is_floating(x._node.dtype):
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
        PyTorch.

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([[1.0, 5.0], [4.0, 2.0]])
            >>> vj.max(x)
            tensor(5.)
            >>> x.max(dim=1).values
            tensor([5., 4.])
            >>> x.max(dim=1).indices
            tensor([1, 0])
        """
        return self._extreme("max", MaxResult, dim, keepdim, other)

    @function
    def min(self, dim: Any = None, keepdim: bool = False, *, other: Any = None) -> Any:  # noqa: A003
        """``min(x)``, ``min(x, dim)`` -> ``(values, indices)``, or elementwise ``min(x, y)``.

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([[1.0, 5.0], [4.0, 2.0]])
            >>> vj.min(x)
            tensor(1.)
            >>> x.min(dim=0).values
            tensor([1., 2.])
            >>> x.min(dim=0).indices
            tensor([0, 1])
        """
        return self._extreme("min", MinResult, dim, keepdim, other)

    def _arg(self, op, dim, keepdim) -> Variable:
        d = None if dim is None else dim1(dim, self.ndim)
        keep = builtins.bool(keepdim and d is not None)
        return self._apply(op, self, params=(("axis", d), ("keepdims", keep)))

    @function
    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Variable:
        """Index of the largest value (into the flattened input when ``dim`` is None).

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([[1.0, 5.0], [4.0, 2.0]])
            >>> vj.argmax(x)
            tensor(1)
            >>> x.argmax(dim=0)
            tensor([1, 0])
        """
        return self._arg(P.argmax, dim, keepdim)

    @function
    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Variable:
        """Index of the smallest value (into the flattened input when ``dim`` is None).

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([[1.0, 5.0], [4.0, 2.0]])
            >>> vj.argmin(x)
            tensor(0)
            >>> x.argmin(dim=1)
            tensor([0, 1])
        """
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
        """Variance over ``dim``; ``correction=1`` (``unbiased=True``) by default, as PyTorch.

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([1.0, 2.0, 3.0, 4.0])
            >>> vj.var(x)
            tensor(1.6667)
            >>> x.var(correction=0)
            tensor(1.2500)
        """
        return self._moment(P.var, dim, unbiased, keepdim, correction)

    @function
    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None) -> Variable:
        """Standard deviation over ``dim``; ``correction=1`` by default, as PyTorch.

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([1.0, 3.0, 5.0])
            >>> vj.std(x)
            tensor(2.)
            >>> x.std(correction=0)
            tensor(1.6330)
        """
        return self._moment(P.std, dim, unbiased, keepdim, correction)

    @function
    def norm(self, p: float | str = "fro", dim=None, keepdim: bool = False) -> Variable:
        """The vector p-norm over ``dim`` (all elements by default); ``'fro'`` is the 2-norm.

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([3.0, 4.0])
            >>> vj.norm(x)
            tensor(5.)
            >>> x.norm(p=1)
            tensor(7.)
        """
        if p == "fro":
            p = 2
        if isinstance(p, str) or not isinstance(p, numbers.Real):
            raise ValueError(f"norm: unsupported p={p!r}; use a number, inf, -inf or 'fro'")
        params = reduce_params(dim, keepdim, self.ndim) + (("p", builtins.float(p)),)
        return self._apply(P.norm, self, params=params)

    # -- order statistics: indices from a stable argsort, values gathered (so gradients go
    # to the chosen elements, as PyTorch's)

    @function
    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Variable:
        """Indices that sort ``dim``; stable always (equal values keep their order), NaN
        last (first when descending), as PyTorch.

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([3.0, 1.0, 2.0])
            >>> vj.argsort(x)
            tensor([1, 2, 0])
            >>> x.argsort(descending=True)
            tensor([0, 2, 1])
        """
        if self.ndim == 0:
            return self.reshape(1).argsort(0).reshape(())
        d = dim1(dim, self.ndim)
        params = (("axis", d), ("descending", builtins.bool(descending)))
        return self._apply(P.argsort, self, params=params)

    @function
    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
        """``(values, indices)`` sorted along ``dim``.

        Example:
            >>> import varjax as vj
            >>> out = vj.sort(vj.tensor([3.0, 1.0, 2.0]))
            >>> out.values
            tensor([1., 2., 3.])
            >>> out.indices
            tensor([1, 2, 0])
        """
        if self.ndim == 0:
            return SortResult(self.clone(), self.argsort())
        indices = self.argsort(dim, descending)
        return SortResult(self.gather(dim, indices), indices)

    @function
    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:  # noqa: A002
        """The ``k`` largest (or smallest) values along ``dim`` and their indices, in order.

        Example:
            >>> import varjax as vj
            >>> out = vj.topk(vj.tensor([1.0, 4.0, 2.0, 3.0]), 2)
            >>> out.values
            tensor([4., 3.])
            >>> out.indices
            tensor([1, 3])
        """
        d = dim1(dim, self.ndim)
        n = self.shape[d] if self.ndim else 1
        if not 0 <= k <= n:
            raise RuntimeError(f"selected index k out of range (k={k}, size {n} at dim {d})")
        indices = self.argsort(d, descending=largest).narrow(d, 0, k)
        return TopkResult(self.gather(d, indices), indices)

    @function
    def kthvalue(self, k: int, dim: int = -1, keepdim: bool = False) -> Any:
        """The ``k``-th smallest value along ``dim`` (counting from 1) and its index.

        Example:
            >>> import varjax as vj
            >>> out = vj.kthvalue(vj.tensor([3.0, 1.0, 4.0, 2.0]), 2)
            >>> out.values
            tensor(2.)
            >>> out.indices
            tensor(3)
        """
        d = dim1(dim, self.ndim)
        n = self.shape[d]
        if not 1 <= k <= n:
            raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
        indices = self.argsort(d).narrow(d, k - 1, 1)
        values = self.gather(d, indices)
        if not keepdim:
            values, indices = values.squeeze(d), indices.squeeze(d)
        return KthvalueResult(values, indices)

    @function
    def median(self, dim: Any = None, keepdim: bool = False) -> Any:
        """The lower median (of the flattened input; with ``dim``: ``(values, indices)``).

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([[1.0, 3.0, 2.0], [6.0, 4.0, 5.0]])
            >>> vj.median(x)
            tensor(3.)
            >>> x.median(dim=1).values
            tensor([2., 5.])
            >>> x.median(dim=1).indices
            tensor([2, 2])
        """
        if dim is None:
            flat = self.reshape(-1)
            return flat.kthvalue((flat.shape[0] + 1) // 2).values
        d = dim1(dim, self.ndim)
        return MedianResult(*self.kthvalue((self.shape[d] + 1) // 2, d, keepdim))

    @function
    def mode(self, dim: int = -1, keepdim: bool = False) -> Any:
        """``(values, indices)``: the most frequent value along ``dim`` (the smallest of a tie)
        and the last index where it occurs, as PyTorch's; the gradient goes to that element.

        Example:
            >>> import varjax as vj
            >>> out = vj.mode(vj.tensor([1, 2, 2, 3, 3]))
            >>> out.values
            tensor(2)
            >>> out.indices
            tensor(2)
        """
        if self.ndim == 0:
            return ModeResult(self * 1, self.new_zeros((), dtype=default_int()))
        d = dim1(dim, self.ndim)
        x = self.detach().movedim(d, -1)
        counts = (x.unsqueeze(-1) == x.unsqueeze(-2)).sum(-1)
        ties = counts == counts.amax(-1, keepdim=True)
        if is_floating(self._node.dtype):  # NaN never wins (PyTorch: mode([1, nan, nan]) is 1)
            ties, big = ties & ~x.isnan(), float("inf")
        else:
            big = 1 if self.dtype == np.bool_ else int(np.iinfo(np.dtype(self.dtype)).max)
        value = x.where(ties, self.new_full((), big)).amin(-1, keepdim=True)
        n = x.shape[-1]
        last = n - 1 - (x == value).flip(-1).long().argmax(-1, keepdim=True)
        index = last.movedim(-1, d)
        values = self.gather(d, index)
        if not keepdim:
            values, index = values.squeeze(d), index.squeeze(d)
        return ModeResult(values, index)

    @function
    def count_nonzero(self, dim: Any = None) -> Variable:
        """How many elements are not zero (over ``dim``).

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([[0, 1, 2], [0, 0, 3]])
            >>> vj.count_nonzero(x)
            tensor(3)
            >>> x.count_nonzero(dim=0)
            tensor([0, 1, 2])
        """
        return (self != 0).sum(dim)

    @function
    def isclose(self, other: Any, rtol: float = 1e-05, atol: float = 1e-08,
                equal_nan: bool = False) -> Variable:  # fmt: skip
        """``|input - other| <= atol + rtol * |other|``, elementwise (infinities equal to
        themselves; NaN equal only with ``equal_nan``), as PyTorch.

        Example:
            >>> import varjax as vj
            >>> vj.isclose(vj.tensor([1.0, 2.0]), vj.tensor([1.0, 2.1]))
            tensor([ True, False])
        """
        other = self._lift(other)
        close = (self == other) | ((self - other).abs() <= atol + rtol * other.abs())
        if equal_nan and is_floating(self.dtype):
            close = close | (self.isnan() & other.isnan())
        return close

    @function
    def allclose(self, other: Any, rtol: float = 1e-05, atol: float = 1e-08,
                 equal_nan: bool = False) -> bool:  # fmt: skip
        """True if every element is ``isclose``.

        Example:
            >>> import varjax as vj
            >>> vj.allclose(vj.tensor([1.0, 2.0]), vj.tensor([1.0, 2.0 + 1e-7]))
            True
            >>> vj.allclose(vj.tensor([1.0]), vj.tensor([1.1]))
            False
        """
        return builtins.bool(self.isclose(other, rtol, atol, equal_nan).all().item())

    @function
    def equal(self, other: Any) -> bool:
        """True if the shapes and every element are equal.

        Example:
            >>> import varjax as vj
            >>> vj.equal(vj.tensor([1, 2]), vj.tensor([1, 2]))
            True
            >>> vj.equal(vj.tensor([1, 2]), vj.tensor([1, 3]))
            False
        """
        other = self._lift(other)
        return tuple(self.shape) == tuple(other.shape) and builtins.bool((self == other).all())

    def _running(self, dim: int, largest: bool, result) -> Any:
        d = dim1(dim, self.ndim)
        if self.ndim == 0:
            return result(self.clone(), self.argsort())
        params = (("axis", d), ("largest", largest))
        indices = self._apply(P.running_arg, self, params=params)
        return result(self.gather(d, indices), indices)

    @function
    def cummax(self, dim: int) -> Any:
        """``(values, indices)``: the running maximum along ``dim`` and where it was.

        Example:
            >>> import varjax as vj
            >>> vj.cummax(vj.tensor([1.0, 3.0, 2.0, 5.0]), dim=0).values
            tensor([1., 3., 3., 5.])
        """
        return self._running(dim, True, CummaxResult)

    @function
    def cummin(self, dim: int) -> Any:
        """``(values, indices)``: the running minimum along ``dim`` and where it was.

        Example:
            >>> import varjax as vj
            >>> vj.cummin(vj.tensor([4.0, 2.0, 3.0, 1.0]), dim=0).values
            tensor([4., 2., 2., 1.])
        """
        return self._running(dim, False, CumminResult)

    @function
    def histc(self, bins: int = 100, min: float = 0, max: float = 0) -> Variable:  # noqa: A002
        """A histogram of ``bins`` equal bins over [min, max] (the data's range if both are
        0); values outside are ignored.

        Example:
            >>> import varjax as vj
            >>> vj.histc(vj.tensor([1.0, 2.0, 1.0, 4.0]), bins=4, min=0, max=4)
            tensor([0., 2., 1., 1.])
        """
        if min == max == 0:
            lo, hi = self.min().item(), self.max().item()
        else:
            lo, hi = builtins.float(min), builtins.float(max)
        if lo == hi:
            lo, hi = lo - 1, hi + 1
        x = self.detach().reshape(-1).float()
        inside = (x >= lo) & (x <= hi)
        idx = ((x - lo) / (hi - lo) * bins).floor().clamp(0, bins - 1).long()
        return x.new_zeros(bins).index_add(0, idx, inside.float()).to(self.dtype)
