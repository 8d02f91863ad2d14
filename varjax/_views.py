"""Views: results of slicing, ``reshape``, ``t``, ... that share their base's storage.

JAX arrays are immutable, so a view is a Variable computed from its base, plus a link saying
how to recompute it (``fwd(base)``) and how to write it back (``inv(base, view)``, e.g. a
scatter into the base). An in-place op on a view writes the new value back into the base;
an in-place op on a base recomputes its views. That is PyTorch's storage sharing, expressed
functionally, so gradients still follow what the program means.
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


def link(base: Variable, view: Variable, fwd: Fwd, inv: Inv | None) -> Variable:
    """Mark ``view`` as a view of ``base``; ``inv`` None means it cannot be written to.

    The view holds its base strongly and the base its views weakly, so no cycle forms."""
    # a view keeps its base alive, as in PyTorch; it is recomputed with grad enabled when it
    # was made so (a view made under no_grad never tracks its base's history)
    view._vbase = (base, fwd, inv, is_grad_enabled())
    view._vc = _version_cell(base)  # views share their base's version counter
    views = getattr(base, "_vlinks", None)
    if views is None:
        views = base._vlinks = []
    elif len(views) >= 8:
        views[:] = [r for r in views if r() is not None]  # forget views that died
    views.append(weakref.ref(view))
    return view


def base_of(v: Variable):
    """(base, fwd, inv, made with grad enabled) if ``v`` is a view, else None."""
    return getattr(v, "_vbase", None)


def views_of(v: Variable) -> list[Variable]:
    return [u for u in (r() for r in getattr(v, "_vlinks", None) or ()) if u is not None]
