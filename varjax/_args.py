"""PyTorch's argument conventions, normalized into static params: dims, sizes, reductions."""

from __future__ import annotations

import numbers
from collections.abc import Sequence


def dims(dim, ndim: int) -> tuple[int, ...] | None:
    """Normalize ``dim`` (int, tuple or None) against ``ndim`` as PyTorch does."""
    if dim is None:
        return None
    if not isinstance(dim, (numbers.Integral, Sequence)):
        raise TypeError(f"dim must be an int or a tuple of ints, got {dim!r}")
    given = (dim,) if isinstance(dim, numbers.Integral) else tuple(dim)
    lo, hi = (-1, 0) if ndim == 0 else (-ndim, ndim - 1)
    out = []
    for d in given:
        if not isinstance(d, numbers.Integral):
            raise TypeError(f"dim must be an int or a tuple of ints, got {d!r}")
        if not lo <= d <= hi:
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{lo}, {hi}], but got {d})"
            )
        if ndim:
            out.append(int(d) % ndim)
    if len(set(out)) != len(out):
        raise RuntimeError(f"dim {tuple(given)} appears multiple times in the list of dims")
    return tuple(out)


def dim1(dim: int, ndim: int) -> int:
    """One dim, normalized (a 0-d tensor accepts 0 and -1, as in PyTorch); None is PyTorch's
    TypeError (it would otherwise read as every dim)."""
    if dim is None:
        raise TypeError("argument 'dim' must be int, not NoneType")
    (d,) = dims(dim, ndim) or (0,)
    return d


def reduce_params(dim, keepdim: bool, ndim: int) -> tuple:
    """The static params of a reduction over ``dim`` (``None`` or ``()``: every dim)."""
    return (("axis", dims(None if dim == () else dim, ndim)), ("keepdims", bool(keepdim)))


def shape_arg(shape: Sequence, what: str = "size") -> tuple:
    """Sizes given as ``f(2, 3)`` or ``f((2, 3))``; anything but ints is PyTorch's TypeError."""
    if len(shape) == 1 and type(shape[0]) is not int and not isinstance(shape[0], numbers.Integral):
        shape = tuple(shape[0])
    for s in shape:
        if type(s) is not int:  # the common case costs one type test per size
            return _checked_sizes(tuple(shape), what)
    return tuple(shape)


def _checked_sizes(shape: tuple, what: str) -> tuple:
    for i, s in enumerate(shape):
        if not isinstance(s, numbers.Integral) or isinstance(s, bool):
            raise TypeError(
                f"{what} must be a tuple of ints, but found element of type "
                f"{type(s).__name__} at pos {i}: {shape!r}"
            )
    return tuple(int(s) for s in shape)


def new_shape(shape: tuple) -> tuple:
    """A shape a new tensor is created with: a negative size is an error at the call."""
    for s in shape:
        if s < 0:
            raise RuntimeError(
                f"Trying to create tensor with negative dimension {s}: {list(shape)}"
            )
    return shape
