"""Shape methods: views (``reshape``, ``transpose``, ...), tiling, splitting, reordering.

A view shares its base's storage, as in PyTorch: ``_views.link`` records how to recompute it
from its base and how to write it back, so in-place ops on either side reach the other."""

from __future__ import annotations

import builtins
import math
import numbers
from typing import TYPE_CHECKING, Any

import numpy as np

from .._args import dim1 as _dim1
from .._args import dims as _dims
from .._args import new_shape, shape_arg
from .._ops import P
from .._views import is_contiguous, link, strides_of, view_strides
from ._base import Methods, function

if TYPE_CHECKING:
    from .._variable import Variable


def _back_to_shape(base: Any, view: Any) -> Variable:
    return view.reshape(*base.shape)


class ShapeMethods(Methods):
    __slots__ = ()

    def _reshaped(self, shape: tuple, must_view: bool) -> Variable:
        out = self._apply(P.reshape, self, params=(("shape", shape),))
        strides = view_strides(tuple(self.shape), strides_of(self), tuple(out.shape))
        if strides is None:  # merged dims that are not contiguous in memory: a copy
            if must_view:
                raise RuntimeError(
                    f"view size is not compatible with input tensor's size and stride (at "
                    f"least one dimension spans across two contiguous subspaces). Use "
                    f".reshape(...) instead. (input size {list(self.shape)}, strides "
                    f"{list(strides_of(self))}, asked for {list(shape)})"
                )
            return out
        return link(self, out, lambda b: b.reshape(*shape), _back_to_shape, strides)

    @function
    def reshape(self, *shape: int) -> Variable:
        """The same values in a new shape (one dim may be -1): ``reshape(2, 3)`` or
        ``((2, 3))``. A view where the strides allow one, so an in-place op on it changes
        ``input`` too; a copy otherwise (e.g. of a transposed matrix), as in PyTorch.

        Example:
            >>> import varjax as vj
            >>> vj.reshape(vj.arange(6), (2, 3))
            tensor([[0, 1, 2],
                    [3, 4, 5]])
        """
        return self._reshaped(shape_arg(shape), must_view=False)

    def view(self, *shape: int) -> Variable:
        """``reshape`` that must be a view: an error where PyTorch's ``view`` is one.

        Example:
            >>> import varjax as vj
            >>> vj.arange(6).view(2, 3)
            tensor([[0, 1, 2],
                    [3, 4, 5]])
        """
        return self._reshaped(shape_arg(shape), must_view=True)

    def is_contiguous(self) -> bool:
        """True if the values are laid out row-major in memory (PyTorch's strides).

        Example:
            >>> import varjax as vj
            >>> x = vj.arange(6).view(2, 3)
            >>> x.is_contiguous(), x.t().is_contiguous()
            (True, False)
        """
        return is_contiguous(tuple(self.shape), strides_of(self))

    @function
    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Variable:
        """Merge dims ``start_dim``..``end_dim`` into one.

        Example:
            >>> import varjax as vj
            >>> vj.flatten(vj.zeros(2, 3, 4), 1).shape
            varjax.Size([2, 12])
        """
        if self.ndim == 0:
            return self.reshape(1)
        s, e = _dim1(start_dim, self.ndim), _dim1(end_dim, self.ndim)
        if s > e:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        shape = self.shape
        return self.reshape(*shape[:s], math.prod(shape[s : e + 1]), *shape[e + 1 :])

    @function
    def squeeze(self, dim=None) -> Variable:
        """Drop dims of size 1 (all of them, or those in ``dim``; others are left as they are).

        Example:
            >>> import varjax as vj
            >>> vj.zeros(2, 1, 3).squeeze().shape
            varjax.Size([2, 3])
        """
        axes = tuple(
            d for d in (range(self.ndim) if dim is None else _dims(dim, self.ndim))
            if self.shape[d] == 1
        )  # fmt: skip
        if not axes:
            return self
        out = self._apply(P.squeeze, self, params=(("axis", axes),))
        strides = tuple(s for d, s in enumerate(strides_of(self)) if d not in axes)
        return link(self, out, lambda b: b.squeeze(dim), _back_to_shape, strides)

    @function
    def unsqueeze(self, dim: int) -> Variable:
        """Insert a dim of size 1 at ``dim`` (in [-ndim-1, ndim]).

        Example:
            >>> import varjax as vj
            >>> vj.unsqueeze(vj.tensor([1, 2]), 0)
            tensor([[1, 2]])
        """
        d = _dim1(dim, self.ndim + 1)
        out = self._apply(P.unsqueeze, self, params=(("axis", d),))
        st = strides_of(self)
        new = st[d] * self.shape[d] if d < self.ndim else 1  # PyTorch's choice
        return link(self, out, lambda b: b.unsqueeze(d), _back_to_shape, st[:d] + (new,) + st[d:])

    def expand(self, *sizes: int) -> Variable:
        """Broadcast to ``sizes`` (-1 keeps a dim; new dims may be added in front).

        Example:
            >>> import varjax as vj
            >>> vj.tensor([1, 2]).expand(3, -1)
            tensor([[1, 2],
                    [1, 2],
                    [1, 2]])
        """
        sizes = shape_arg(sizes)
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise RuntimeError(
                f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal "
                f"to the number of dimensions in the tensor ({self.ndim})"
            )
        shape = tuple(
            (self.shape[i - lead] if s == -1 else s) if i >= lead else s
            for i, s in enumerate(sizes)
        )
        for i, n in enumerate(self.shape):
            if n != 1 and shape[i + lead] != n:
                raise RuntimeError(
                    f"The expanded size of the tensor ({shape[i + lead]}) must match the "
                    f"existing size ({n}) at non-singleton dimension {i + lead}. Target "
                    f"sizes: {list(sizes)}.  Tensor sizes: {list(self.shape)}"
                )
        for i, s in enumerate(shape[:lead]):
            if s < 0:
                raise RuntimeError(
                    f"The expanded size of the tensor ({s}) isn't allowed in a leading, "
                    f"non-existing dimension {i}"
                )
        out = self._apply(P.expand, self, params=(("shape", shape),))
        writable = shape == tuple(self.shape)  # otherwise elements would share one location
        st = strides_of(self)
        strides = (0,) * lead + tuple(
            0 if n == 1 and shape[i + lead] != 1 else s
            for i, (n, s) in enumerate(zip(self.shape, st))
        )
        inv = _back_to_shape if writable else None
        return link(self, out, lambda b: b.expand(*shape), inv, strides)

    def expand_as(self, other: Any) -> Variable:
        """Broadcast to ``other``'s shape.

        Example:
            >>> import varjax as vj
            >>> vj.tensor([[1], [2]]).expand_as(vj.zeros(2, 3))
            tensor([[1, 1, 1],
                    [2, 2, 2]])
        """
        return self.expand(tuple(self._lift(other).shape))

    def repeat(self, *sizes: int) -> Variable:
        """Tile the input ``sizes[i]`` times along each dim (like ``numpy.tile``).

        Example:
            >>> import varjax as vj
            >>> vj.tensor([1, 2]).repeat(2, 2)
            tensor([[1, 2, 1, 2],
                    [1, 2, 1, 2]])
        """
        sizes = shape_arg(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError(
                "Number of dimensions of repeat dims can not be smaller than number of "
                f"dimensions of tensor ({len(sizes)} < {self.ndim})"
            )
        padded = (1,) * (len(sizes) - self.ndim) + tuple(self.shape)
        new_shape(tuple(r * n if r >= 0 else r for r, n in zip(sizes, padded)))
        return self._apply(P.repeat, self, params=(("reps", sizes),))

    @function
    def transpose(self, dim0: int, dim1: int) -> Variable:
        """Swap two dims.

        Example:
            >>> import varjax as vj
            >>> vj.transpose(vj.arange(6).reshape(2, 3), 0, 1)
            tensor([[0, 3],
                    [1, 4],
                    [2, 5]])
        """
        if not self.ndim:
            return self
        a, b = _dim1(dim0, self.ndim), _dim1(dim1, self.ndim)
        out = self._apply(P.transpose, self, params=(("axis1", a), ("axis2", b)))
        st = list(strides_of(self))
        st[a], st[b] = st[b], st[a]
        return link(self, out, lambda base: base.transpose(a, b), lambda _, v: v.transpose(a, b),
                    tuple(st))  # fmt: skip

    swapaxes = swapdims = transpose

    @function
    def permute(self, *dims: int) -> Variable:
        """Reorder dims: ``permute(2, 0, 1)``.

        Example:
            >>> import varjax as vj
            >>> vj.zeros(2, 3, 4).permute(2, 0, 1).shape
            varjax.Size([4, 2, 3])
        """
        axes = _dims(shape_arg(dims), self.ndim)
        if len(axes) != self.ndim:
            raise RuntimeError(
                f"permute(): number of dimensions in the tensor input does not match the "
                f"length of the desired ordering of dimensions i.e. input.dim() = {self.ndim} "
                f"is not equal to len(dims) = {len(axes)}"
            )
        out = self._apply(P.permute, self, params=(("axes", axes),))
        undo = tuple(builtins.int(i) for i in np.argsort(axes))
        st = strides_of(self)
        return link(self, out, lambda b: b.permute(*axes), lambda _, v: v.permute(*undo),
                    tuple(st[a] for a in axes))  # fmt: skip

    @function
    def t(self) -> Variable:
        """Transpose a matrix (0-D and 1-D inputs come back as they are).

        Example:
            >>> import varjax as vj
            >>> vj.t(vj.tensor([[1, 2], [3, 4]]))
            tensor([[1, 3],
                    [2, 4]])
        """
        if self.ndim > 2:
            raise RuntimeError(
                f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D; "
                f"use transpose(dim0, dim1) or permute"
            )
        return self.transpose(0, 1) if self.ndim == 2 else self

    @property
    def T(self) -> Variable:  # noqa: N802 - PyTorch's name
        """All dims reversed.

        Example:
            >>> import varjax as vj
            >>> vj.arange(6).view(2, 3).T
            tensor([[0, 3],
                    [1, 4],
                    [2, 5]])
        """
        return self.permute(*reversed(range(self.ndim)))

    @function
    def split(self, split_size_or_sections, dim: int = 0) -> tuple[Variable, ...]:
        """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of listed
        sizes.

        Example:
            >>> import varjax as vj
            >>> vj.split(vj.arange(5), 2)
            (tensor([0, 1]), tensor([2, 3]), tensor([4]))
            >>> vj.arange(5).split([1, 4])
            (tensor([0]), tensor([1, 2, 3, 4]))
        """
        d = _dim1(dim, self.ndim)
        n = self.shape[d]
        if isinstance(split_size_or_sections, numbers.Integral):
            size = builtins.int(split_size_or_sections)
            if size <= 0:
                raise RuntimeError(f"split expects split_size be positive, but got {size}")
            sizes = [size] * (n // size) + ([n % size] if n % size else [])
        else:
            sizes = [builtins.int(s) for s in split_size_or_sections]
            if builtins.sum(sizes) != n:
                raise RuntimeError(
                    f"split_with_sizes expects split_sizes to sum exactly to {n} (input "
                    f"tensor's size at dimension {d}), but got split_sizes={sizes}"
                )
        out, start = [], 0
        for s in sizes or [0]:
            out.append(self[(slice(None),) * d + (slice(start, start + s),)])
            start += s
        return tuple(out)

    @function
    def chunk(self, chunks: int, dim: int = 0) -> tuple[Variable, ...]:
        """Split into ``chunks`` pieces of equal size (the last may be smaller), as PyTorch.

        Example:
            >>> import varjax as vj
            >>> vj.chunk(vj.arange(6), 3)
            (tensor([0, 1]), tensor([2, 3]), tensor([4, 5]))
        """
        if chunks <= 0:
            raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
        n = self.shape[_dim1(dim, self.ndim)]
        return self.split(builtins.max(1, -(-n // chunks)), dim)

    @function
    def flip(self, dims) -> Variable:
        """Reverse the order along ``dims``.

        Example:
            >>> import varjax as vj
            >>> vj.flip(vj.tensor([[1, 2], [3, 4]]), [1])
            tensor([[2, 1],
                    [4, 3]])
        """
        return self._apply(P.flip, self, params=(("axis", _dims(dims, self.ndim)),))

    @function
    def roll(self, shifts, dims=None) -> Variable:
        """Shift elements cyclically along ``dims`` (the flattened input when ``dims`` is
        None).

        Example:
            >>> import varjax as vj
            >>> vj.roll(vj.tensor([1, 2, 3, 4]), 1)
            tensor([4, 1, 2, 3])
        """
        shifts = (shifts,) if isinstance(shifts, numbers.Integral) else tuple(shifts)
        axes = _dims(dims, self.ndim)
        if axes is not None and len(axes) != len(shifts):
            raise RuntimeError(f"roll: shifts {shifts} and dims {dims} must have the same length")
        return self._apply(P.roll, self, params=(("axis", axes), ("shift", shifts)))

    @function
    def clone(self) -> Variable:
        """A copy with its own storage; gradients flow through it (``CloneBackward0``).

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([1.0, 2.0])
            >>> y = x.clone()
            >>> y[0] = 5.0
            >>> x, y
            (tensor([1., 2.]), tensor([5., 2.]))
        """
        return self._apply(P.clone, self)

    def contiguous(self) -> Variable:
        """The input itself if it is contiguous, else a contiguous copy (as PyTorch).

        Example:
            >>> import varjax as vj
            >>> x = vj.arange(6).view(2, 3).t()
            >>> x.is_contiguous(), x.contiguous().is_contiguous()
            (False, True)
        """
        return self if self.is_contiguous() else self.clone()

    # -- more of PyTorch's shape functions, written with the ones above

    @function
    def narrow(self, dim: int, start: int, length: int) -> Variable:
        """``length`` elements of ``dim`` from ``start``: a view, as PyTorch's.

        Example:
            >>> import varjax as vj
            >>> vj.narrow(vj.arange(5), 0, 1, 3)
            tensor([1, 2, 3])
        """
        d = _dim1(dim, self.ndim)
        n = self.shape[d]
        start = start + n if start < 0 else start
        if not (0 <= start <= n and 0 <= length and start + length <= n):
            raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
        return self[(slice(None),) * d + (slice(start, start + length),)]

    @function
    def unbind(self, dim: int = 0) -> tuple[Variable, ...]:
        """The slices along ``dim``, that dim removed: views.

        Example:
            >>> import varjax as vj
            >>> vj.unbind(vj.tensor([[1, 2], [3, 4]]))
            (tensor([1, 2]), tensor([3, 4]))
        """
        d = _dim1(dim, self.ndim)
        return tuple(self[(slice(None),) * d + (i,)] for i in range(self.shape[d]))

    @function
    def movedim(self, source: Any, destination: Any) -> Variable:
        """Move dims ``source`` to positions ``destination`` (ints or tuples): a view.

        Example:
            >>> import varjax as vj
            >>> vj.movedim(vj.zeros(2, 3, 4), 0, -1).shape
            varjax.Size([3, 4, 2])
        """
        src = _dims(source, self.ndim) or ()
        dst = _dims(destination, self.ndim) or ()
        if len(src) != len(dst):
            raise RuntimeError(
                f"movedim: Invalid source or destination dims: source ({list(src)} dims) "
                f"should contain the same number of dims as destination ({list(dst)} dims)"
            )
        rest = iter(d for d in range(self.ndim) if d not in src)
        where = dict(zip(dst, src))
        return self.permute(*(where[i] if i in where else next(rest) for i in range(self.ndim)))

    moveaxis = movedim

    @function
    def unflatten(self, dim: int, sizes: Any) -> Variable:
        """Split ``dim`` into ``sizes`` (one may be -1).

        Example:
            >>> import varjax as vj
            >>> vj.unflatten(vj.arange(6), 0, (2, 3))
            tensor([[0, 1, 2],
                    [3, 4, 5]])
        """
        d = _dim1(dim, self.ndim)
        shape = tuple(self.shape)
        return self.reshape(*shape[:d], *shape_arg((sizes,)), *shape[d + 1 :])

    @function
    def tile(self, dims: Any) -> Variable:
        """Repeat along each dim (``dims`` shorter than ``ndim`` is padded with 1s in front).

        Example:
            >>> import varjax as vj
            >>> vj.tile(vj.tensor([1, 2]), (2, 2))
            tensor([[1, 2, 1, 2],
                    [1, 2, 1, 2]])
        """
        reps = shape_arg((dims,)) if not isinstance(dims, numbers.Integral) else (dims,)
        reps = (1,) * (self.ndim - len(reps)) + tuple(reps)
        return self.repeat(*reps)

    @function
    def broadcast_to(self, size: Any) -> Variable:
        """``expand`` to ``size``.

        Example:
            >>> import varjax as vj
            >>> vj.broadcast_to(vj.tensor([1, 2]), (2, 2))
            tensor([[1, 2],
                    [1, 2]])
        """
        return self.expand(*shape_arg((size,)))

    def view_as(self, other: Any) -> Variable:
        """``view`` with ``other``'s shape.

        Example:
            >>> import varjax as vj
            >>> vj.arange(6).view_as(vj.zeros(3, 2))
            tensor([[0, 1],
                    [2, 3],
                    [4, 5]])
        """
        return self.view(*self._lift(other).shape)

    def reshape_as(self, other: Any) -> Variable:
        """``reshape`` to ``other``'s shape.

        Example:
            >>> import varjax as vj
            >>> vj.arange(6).view(2, 3).t().reshape_as(vj.zeros(6))  # a copy: no view can do this
            tensor([0, 3, 1, 4, 2, 5])
        """
        return self.reshape(*self._lift(other).shape)

    @function
    def tril(self, diagonal: int = 0) -> Variable:
        """The lower triangle of the last two dims (zero above ``diagonal``).

        Example:
            >>> import varjax as vj
            >>> vj.tril(vj.ones(3, 3))
            tensor([[1., 0., 0.],
                    [1., 1., 0.],
                    [1., 1., 1.]])
        """
        self._matrix("tril")
        return self._apply(P.tril, self, params=(("k", builtins.int(diagonal)),))

    @function
    def triu(self, diagonal: int = 0) -> Variable:
        """The upper triangle of the last two dims (zero below ``diagonal``).

        Example:
            >>> import varjax as vj
            >>> vj.triu(vj.ones(3, 3), diagonal=1)
            tensor([[0., 1., 1.],
                    [0., 0., 1.],
                    [0., 0., 0.]])
        """
        self._matrix("triu")
        return self._apply(P.triu, self, params=(("k", builtins.int(diagonal)),))

    def _matrix(self, name: str) -> None:
        if self.ndim < 2:
            raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")

    @function
    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Variable:
        """The diagonal of dims ``dim1`` and ``dim2`` (shifted by ``offset``), as the last dim.

        Example:
            >>> import varjax as vj
            >>> x = vj.arange(9).reshape(3, 3)
            >>> vj.diagonal(x)
            tensor([0, 4, 8])
            >>> vj.diagonal(x, offset=1)
            tensor([1, 5])
        """
        a, b = _dim1(dim1, self.ndim), _dim1(dim2, self.ndim)
        if a == b:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        params = (("a", a), ("b", b), ("offset", builtins.int(offset)))
        return self._apply(P.diagonal, self, params=params)

    @function
    def diag(self, diagonal: int = 0) -> Variable:
        """A vector's diagonal matrix, or a matrix's diagonal.

        Example:
            >>> import varjax as vj
            >>> vj.diag(vj.tensor([1, 2]))
            tensor([[1, 0],
                    [0, 2]])
            >>> vj.diag(vj.tensor([[1, 2], [3, 4]]))
            tensor([1, 4])
        """
        if self.ndim == 1:
            return self._apply(P.diag_embed, self, params=(("k", builtins.int(diagonal)),))
        if self.ndim != 2:
            raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {self.ndim}D")
        return self.diagonal(diagonal)

    @function
    def trace(self) -> Variable:
        """The sum of a matrix's diagonal.

        Example:
            >>> import varjax as vj
            >>> vj.trace(vj.tensor([[1.0, 2.0], [3.0, 4.0]]))
            tensor(5.)
        """
        if self.ndim != 2:
            raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {self.ndim}")
        return self.diagonal().sum()

    @function
    def diff(self, n: int = 1, dim: int = -1, prepend: Any = None, append: Any = None) -> Variable:
        """The ``n``-th forward difference along ``dim``.

        Example:
            >>> import varjax as vj
            >>> vj.diff(vj.tensor([1, 3, 6, 10]))
            tensor([2, 3, 4])
            >>> vj.diff(vj.tensor([1, 3, 6, 10]), n=2)
            tensor([1, 1])
        """
        d = _dim1(dim, self.ndim)
        x = self
        if prepend is not None or append is not None:
            parts = [self._lift(p) for p in (prepend, self, append) if p is not None]
            x = parts[0]._apply(P.cat, *parts, params=(("axis", d),))
        for _ in range(n):
            m = x.shape[d]
            x = x.narrow(d, 1, m - 1) - x.narrow(d, 0, m - 1)
        return x

    @function
    def take_along_dim(self, indices: Any, dim: Any = None) -> Variable:
        """Values at ``indices`` along ``dim`` (of the flattened input when ``dim`` is None);
        ``indices`` broadcasts against the input in the other dims.

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([[10, 30, 20], [60, 40, 50]])
            >>> vj.take_along_dim(x, x.argmax(dim=1, keepdim=True), dim=1)
            tensor([[30],
                    [60]])
        """
        idx = self._lift(indices)
        if dim is None:
            return self.reshape(-1).gather(0, idx.reshape(-1))
        d = _dim1(dim, self.ndim)
        shape = [builtins.max(a, b) if i != d else b
                 for i, (a, b) in enumerate(zip(self.shape, idx.shape))]  # fmt: skip
        x_shape = [n if i == d else s for i, (n, s) in enumerate(zip(self.shape, shape))]
        return self.expand(*x_shape).gather(d, idx.expand(*shape))
