"""Views: results of slicing, ``reshape``, ``t``, ... that share their base's storage.

JAX arrays are immutable, so a view is a Variable computed from its base, plus a link saying
how to recompute it (``fwd(base)``) and how to write it back (``inv(base, view)``, e.g. a
scatter into the base). An in-place op on a view writes the new value back into the base;
an in-place op on a base recomputes its views. That is PyTorch's storage sharing, expressed
functionally, so gradients still follow what the program means.

A view also carries its strides (in elements of its storage), computed as PyTorch computes
them, so that ``reshape`` of a non-contiguous tensor is a copy and ``view`` of one an error,
exactly where PyTorch's are.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

from ._grad_mode import is_grad_enabled

if TYPE_CHECKING:
    from ._variable import Variable

Fwd = Callable[["Variable"], "Variable"]
Inv = Callable[["Variable", "Variable"], "Variable"]


def _version_cell(v: Variable) -> list:
    cell = getattr(v, "_vc", None)
    if cell is None:
        cell = v._vc = [0]
    return cell


def link(
    base: Variable, view: Variable, fwd: Fwd, inv: Inv | None, strides: tuple | None = None
) -> Variable:
    """Mark ``view`` as a view of ``base`` with ``strides`` (contiguous when None); ``inv``
    None means it cannot be written to.

    The view holds its base strongly and the base its views weakly, so no cycle forms."""
    # a view keeps its base alive, as in PyTorch; it is recomputed with grad enabled when it
    # was made so (a view made under no_grad never tracks its base's history)
    strides = contiguous_strides(tuple(view.shape)) if strides is None else tuple(strides)
    view._vbase = (base, fwd, inv, is_grad_enabled(), strides)
    view._vc = _version_cell(base)  # views share their base's version counter
    views = getattr(base, "_vlinks", None)
    if views is None:
        views = base._vlinks = []
    elif len(views) >= 8:
        views[:] = [r for r in views if r() is not None]  # forget views that died
    views.append(weakref.ref(view))
    return view


def base_of(v: Variable):
    """(base, fwd, inv, made with grad enabled, strides) if ``v`` is a view, else None."""
    return getattr(v, "_vbase", None)


def contiguous_strides(shape: tuple) -> tuple:
    out, step = [], 1
    for n in reversed(shape):
        out.append(step)
        step *= max(n, 1)
    return tuple(reversed(out))


def strides_of(v: Variable) -> tuple:
    """``v``'s strides: a view's own, else those of a contiguous tensor of its shape."""
    link_ = getattr(v, "_vbase", None)
    return link_[4] if link_ is not None else contiguous_strides(tuple(v.shape))


def is_contiguous(shape: tuple, strides: tuple) -> bool:
    """PyTorch's rule: strides of size-1 dims do not count."""
    expected = 1
    for n, s in zip(reversed(shape), reversed(strides)):
        if n == 1:
            continue
        if s != expected:
            return n == 0
        expected *= n
    return True


def view_strides(shape: tuple, strides: tuple, new_shape: tuple) -> tuple | None:
    """The strides of ``new_shape`` as a view of a tensor with ``shape`` and ``strides``, or
    None when no view exists (PyTorch's computeStride: a reshape is a view when each run of
    merged or split dims is contiguous in memory)."""
    if 0 in shape or 0 in new_shape or not shape:
        return contiguous_strides(new_shape)
    new = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    base_stride = strides[-1]
    tensor_numel = view_numel = 1
    for d in range(len(shape) - 1, -1, -1):
        tensor_numel *= shape[d]
        boundary = d == 0 or (shape[d - 1] != 1 and strides[d - 1] != tensor_numel * base_stride)
        if not boundary:
            continue
        while view_d >= 0 and (view_numel < tensor_numel or new_shape[view_d] == 1):
            new[view_d] = view_numel * base_stride
            view_numel *= new_shape[view_d]
            view_d -= 1
        if view_numel != tensor_numel:
            return None
        if d > 0:
            base_stride, tensor_numel, view_numel = strides[d - 1], 1, 1
    return tuple(new) if view_d == -1 else None


def views_of(v: Variable) -> list[Variable]:
    return [u for u in (r() for r in getattr(v, "_vlinks", None) or ()) if u is not None]
