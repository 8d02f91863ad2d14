"""In-place ops: ``add_``, ``+=``, ``x[i] = v``, ... as rebinding in a functional graph.

An in-place op records the out-of-place op and rebinds the Variable to the new node. Nodes
recorded earlier keep referring to the old node, so no value an op saved is ever
overwritten: where PyTorch refuses with "modified by an inplace operation", varjax computes
the gradient of what the program means.

PyTorch's rules that protect users are kept: an in-place op on a leaf that requires grad
raises outside ``no_grad``; the result keeps the Variable's shape and dtype; ``_version``
counts modifications. Storage sharing is PyTorch's: ``x.data`` and ``x.detach()`` alias
``x`` (``detach()`` also shares the version counter, ``.data`` does not), and views
(``_views.py``: slices, ``reshape``, ``t()``, ...) write in-place changes back into their base
and are recomputed when their base changes.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from . import _functions as F
from . import _tracing
from ._creation import full
from ._dtypes import is_floating
from ._grad_mode import enable_grad, is_grad_enabled, set_grad_enabled
from ._ops import OPS
from ._record import Node, leaf, record
from ._variable import Variable, _bind, _detached, _wrap
from ._views import _version_cell, base_of, views_of


def version(v: Variable) -> int:
    """How many in-place modifications ``v``'s storage has seen (PyTorch's ``_version``)."""
    cell = getattr(v, "_vc", None)
    return 0 if cell is None else cell[0]


def alias(base: Variable, shares_version: bool) -> Variable:
    """A Variable without history sharing ``base``'s storage (``.data`` / ``.detach()``)."""
    out = _wrap(_detached(base._node))
    group = getattr(base, "_alias", None)
    if group is None:
        group = base._alias = [weakref.ref(base)]
    group[:] = [r for r in group if r() is not None]  # forget aliases that died
    group.append(weakref.ref(out))
    out._alias = group
    out._vc = _version_cell(base) if shares_version else [0]
    return out


def _follow(v: Variable, value: Node) -> Node:
    """A node for ``v`` holding ``value`` while keeping ``v``'s autograd identity."""
    old = v._node
    if old.diff:
        # A modification autograd cannot see (under no_grad, or through an alias): the value
        # changes, the gradient path stays that of ``old``, as in PyTorch.
        delta = record(OPS["sub"], (_detached(value), _detached(old)))
        with enable_grad():
            return record(OPS["add"], (old, delta))
    node = _detached(value)
    node.requires_grad = old.requires_grad
    return node


def _check(v: Variable, name: str) -> None:
    if v.is_leaf and v.requires_grad and is_grad_enabled():
        raise RuntimeError(
            f"a leaf Variable that requires grad is being used in an in-place operation "
            f"({name}); wrap the update in `with varjax.no_grad():` (as optimizers do) or use "
            f"the out-of-place op"
        )
    link = base_of(v)
    while link is not None:
        base, _, inv = link
        if inv is None:
            raise RuntimeError(
                f"{name}: unsupported operation: more than one element of the written-to "
                f"tensor refers to a single memory location (it is an expand() of another "
                f"Variable). Please clone() the tensor before performing the operation."
            )
        if base.is_leaf and base.requires_grad and is_grad_enabled():
            raise RuntimeError(
                f"a view of a leaf Variable that requires grad is being used in an in-place "
                f"operation ({name}); do it under `with varjax.no_grad():` or on a copy"
            )
        link = base_of(base)


def _new_value(v: Variable, new: Node) -> Node:
    """The node ``v`` is rebound to when its value becomes ``new``, keeping PyTorch's rules."""
    if new.diff:
        return new
    if v._node.diff:
        return _follow(v, new)  # under no_grad: the history stays, the value changes
    new.requires_grad = v.requires_grad  # a leaf stays a leaf (e.g. optimizer updates)
    return new


def _commit(v: Variable, new: Node, came_from: Variable | None) -> None:
    """Rebind ``v`` to ``new`` and carry the change to everything sharing its storage."""
    if _tracing.state.active and v._node.seq < _tracing.state.start_seq:
        raise _tracing.stale(v._node.shape, writing=True)
    _bind(v, _new_value(v, new))
    for ref in getattr(v, "_alias", None) or ():
        other = ref()
        if other is not None and other is not v and other is not came_from:
            _bind(other, _follow(other, v._node))
            _refresh_views(other, None)
    link = base_of(v)
    if link is not None and link[0] is not came_from:
        base, _, inv = link
        _commit(base, inv(base, v)._node, came_from=v)  # write the view back into its base
    _refresh_views(v, came_from)


def _refresh_views(v: Variable, skip: Variable | None) -> None:
    for u in views_of(v):
        if u is not skip:
            with set_grad_enabled(u.requires_grad):
                _bind(u, u._vbase[1](v)._node)
            _refresh_views(u, None)


def apply(v: Variable, result: Variable, name: str) -> Variable:
    """Rebind ``v`` to ``result`` (the out-of-place value of an in-place op); return ``v``."""
    if tuple(result.shape) != tuple(v.shape):
        raise RuntimeError(
            f"{name}: output with shape {list(v.shape)} doesn't match the broadcast shape "
            f"{list(result.shape)}"
        )
    if result.dtype != v.dtype:
        if (
            is_floating(result.dtype)
            and not is_floating(v.dtype)
            or (v.dtype == np.bool_ and result.dtype != np.bool_)
        ):
            raise RuntimeError(
                f"{name}: result type {result.dtype} can't be cast to the desired output type "
                f"{v.dtype}; convert the Variable first, e.g. x = x.float()"
            )
        result = F.to(result, v.dtype)
    _version_cell(v)[0] += 1
    _commit(v, result._node, None)
    return v


def _method(name: str, fn):
    def method(self: Variable, *args: Any, **kwargs: Any) -> Variable:
        _check(self, name)
        return apply(self, fn(self, *args, **kwargs), name)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"In-place ``{name[:-1]}``: rebinds this Variable to the result; returns it."
    return method


def _fill(x: Variable, value: Any) -> Variable:
    if isinstance(value, Variable):
        if value.ndim:
            raise RuntimeError(
                f"fill_ only supports 0-dimension value tensor but got tensor with "
                f"{value.ndim} dimensions."
            )
        return F.expand(F.to(value, x.dtype), *x.shape)
    return full(tuple(x.shape), value, dtype=x.dtype)


def _copy(x: Variable, src: Any) -> Variable:
    return F.expand(F.to(F._var(src), x.dtype), *x.shape)


def _setitem(x: Variable, key: Any, value: Any) -> Variable:
    template, arrays = F._index_template(x, key)
    return F._setitem(x, template, value, arrays)


Variable.add_ = _method("add_", F.add)
Variable.sub_ = _method("sub_", F.sub)
Variable.mul_ = _method("mul_", F.mul)
Variable.div_ = _method("div_", F.div)
Variable.clamp_ = _method("clamp_", F.clamp)
Variable.fill_ = _method("fill_", _fill)
Variable.zero_ = _method("zero_", lambda x: _fill(x, 0))
Variable.copy_ = _method("copy_", _copy)
Variable.__iadd__ = _method("__iadd__", F.add)
Variable.__isub__ = _method("__isub__", F.sub)
Variable.__imul__ = _method("__imul__", F.mul)
Variable.__itruediv__ = _method("__itruediv__", F.div)
Variable.__setitem__ = _method("__setitem__", _setitem)


def detach(self: Variable) -> Variable:
    """A Variable with the same value, no history, sharing this one's storage and version."""
    return alias(self, True)


def _get_data(self: Variable) -> Variable:
    return alias(self, False)


def _set_data(self: Variable, value: Any) -> None:
    # Replaces the storage, as PyTorch's setter does: aliases and views stop sharing it.
    new = Variable(value)._node
    new.requires_grad = self._node.requires_grad and is_floating(new.dtype)
    _bind(self, new)


Variable._version = property(version)
Variable.detach = detach
Variable.data = property(
    _get_data, _set_data, doc="The value without history, sharing this Variable's storage."
)


def assign(v: Variable, value: Any) -> None:
    """Give ``v`` the array ``value`` (same shape and dtype) as an in-place update: an optimizer
    step or ``varjax.jit``'s write-back. Bumps the version; aliases and views follow."""
    assign_node(v, leaf(value, aval=v._node.aval))


def assign_node(v: Variable, node: Node) -> None:
    """Give ``v`` the value of the node ``node`` (no history; same shape and dtype), in place."""
    _version_cell(v)[0] += 1
    old = v._node
    if old.diff or _tracing.state.active or _shares_storage(v):
        _commit(v, node, None)
        return
    node.requires_grad = old.requires_grad  # nothing else sees this storage: just rebind
    node.var = old.var
    v._node = node


def _shares_storage(v: Variable) -> bool:
    """True if a live alias or view shares ``v``'s storage (forgetting dead ones on the way)."""
    if getattr(v, "_vbase", None) is not None:
        return True
    views = getattr(v, "_vlinks", None)
    if views:
        views[:] = [r for r in views if r() is not None]
        if views:
            return True
    group = getattr(v, "_alias", None)  # shared by all aliases, v's own entry included
    if group:
        group[:] = [r for r in group if r() is not None]
        return len(group) > 1
    return False
