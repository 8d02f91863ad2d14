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
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _tracing
from .._config import config
from .._dtypes import is_floating
from .._forward import read
from .._grad_mode import enable_grad, is_grad_enabled, set_grad_enabled
from .._ops import P, example
from .._record import Node, detached, leaf, note_write, record, settle_chain
from .._views import _version_cell, base_of, views_of
from ._base import Methods
from .index import plan_of, setitem, write_window

if TYPE_CHECKING:
    from .._variable import Variable


def version(v: Any) -> int:
    """How many in-place modifications ``v``'s storage has seen (PyTorch's ``_version``)."""
    cell = getattr(v, "_vc", None)
    return 0 if cell is None else cell[0]


def alias(base: Any, shares_version: bool) -> Variable:
    """A Variable without history sharing ``base``'s storage (``.data`` / ``.detach()``)."""
    if base._node.bwd_sig is not None:
        # a detached backward output (`total += loss.detach()`) will be read: from the next
        # step on that backward returns its value, so nothing keeps its freed forward alive
        read(base._node)
    out = base._new(detached(base._node))
    group = getattr(base, "_alias", None)
    if group is None:
        group = base._alias = [weakref.ref(base)]
    group[:] = [r for r in group if r() is not None]  # forget aliases that died
    group.append(weakref.ref(out))
    out._alias = group
    out._vc = _version_cell(base) if shares_version else [0]
    return out


def _follow(v: Any, value: Node) -> Node:
    """A node for ``v`` holding ``value`` while keeping ``v``'s autograd identity."""
    old = v._node
    if old.diff:
        # A modification autograd cannot see (under no_grad, or through an alias): the value
        # becomes ``value`` exactly, the gradient path stays that of ``old``, as in PyTorch.
        with enable_grad():
            return record(P.follow, (old, detached(value)))
    node = detached(value)
    node.requires_grad = old.requires_grad
    return node


_EXPANDED = (
    "{name}: unsupported operation: more than one element of the written-to tensor refers to "
    "a single memory location (it is an expand() of another Variable). Please clone() the "
    "tensor before performing the operation."
)


def _check(v: Any, name: str) -> None:
    if v.is_leaf and v.requires_grad and is_grad_enabled():
        raise RuntimeError(
            f"a leaf Variable that requires grad is being used in an in-place operation "
            f"({name}); wrap the update in `with varjax.no_grad():` (as optimizers do) or use "
            f"the out-of-place op"
        )
    link = base_of(v)
    while link is not None:
        base, _, inv = link[:3]
        if inv is None:
            raise RuntimeError(_EXPANDED.format(name=name))
        if base.is_leaf and base.requires_grad and is_grad_enabled():
            raise RuntimeError(
                f"a view of a leaf Variable that requires grad is being used in an in-place "
                f"operation ({name}); do it under `with varjax.no_grad():` or on a copy"
            )
        link = base_of(base)


def _new_value(v: Any, new: Node, overwrite: Any = None) -> Node:
    """The node ``v`` is rebound to when its value becomes ``new``, keeping PyTorch's rules.

    ``overwrite`` is the op of an in-place write that replaces every value (``zero_``,
    ``fill_``, ``copy_``): with grad enabled the old values get no gradient through it."""
    if overwrite is not None and is_grad_enabled() and (new.diff or v._node.diff):
        return record(overwrite, (v._node, new))
    if new.diff:
        return new
    if v._node.diff:
        return _follow(v, new)  # under no_grad: the history stays, the value changes
    new.requires_grad = v.requires_grad  # a leaf stays a leaf (e.g. optimizer updates)
    return new


def _commit(v: Any, new: Node, overwrite: Any = None) -> None:
    """Rebind ``v`` to ``new`` and carry the change to everything sharing its storage."""
    if _tracing.state.active and v._node.seq < _tracing.state.start_seq:
        raise _tracing.stale(v._node.shape, writing=True)
    _rebind(v, _new_value(v, new, overwrite))
    _spread(v, {id(v)})


def _rebind(v: Any, node: Node) -> None:
    if v._node.retain and node.diff:  # retain_grad() holds for the Variable, not one version
        node.retain = True
    v._rebind(node)


def _spread(v: Any, seen: set) -> None:
    """``v`` changed: so do its aliases (``.data``, ``detach()``: the same storage), its base
    (a view writes back into it) and its views (recomputed), each once, and theirs in turn."""
    link = base_of(v)
    if link is not None and id(link[0]) not in seen:
        base, fwd, inv = link[:3]
        if inv is None:
            raise RuntimeError(_EXPANDED.format(name="a write"))
        _rebind(base, _new_value(base, inv(base, v)._node))  # the view written into its base
        seen.add(id(base))
        _spread(base, seen)  # the base's own base, aliases and other views: final first
        with set_grad_enabled(v.requires_grad):  # then the view read from it again, so it
            _rebind(v, fwd(base)._node)  # follows its base's last version, as in PyTorch
    sharing = []
    for ref in getattr(v, "_alias", None) or ():
        other = ref()
        if other is not None and id(other) not in seen:
            _rebind(other, _follow(other, v._node))
            sharing.append(other)
    for u in views_of(v):
        if id(u) not in seen:
            _, fwd, _, tracked = u._vbase[:4]
            with set_grad_enabled(u.requires_grad or tracked and v.requires_grad):
                _rebind(u, fwd(v)._node)
            sharing.append(u)
    seen.update(id(x) for x in sharing)
    for x in sharing:
        _spread(x, seen)


def apply(v: Any, result: Any, name: str, overwrite: Any = None) -> Variable:
    """Rebind ``v`` to ``result`` (the out-of-place value of an in-place op); return ``v``."""
    if tuple(result.shape) != tuple(v.shape):
        raise RuntimeError(
            f"{name}: output with shape {list(v.shape)} doesn't match the broadcast shape "
            f"{list(result.shape)}"
        )
    if result.dtype != v.dtype:
        if (
            is_floating(result.dtype)
            and not is_floating(v._node.dtype)
            or (v.dtype == np.bool_ and result.dtype != np.bool_)
        ):
            raise RuntimeError(
                f"{name}: result type {result.dtype} can't be cast to the desired output type "
                f"{v.dtype}; convert the Variable first, e.g. x = x.float()"
            )
        result = result.to(v.dtype)
    _version_cell(v)[0] += 1
    link = base_of(v)  # a view's write rebinds its base too: both count it
    written = [(v, v._node)] + ([] if link is None else [(link[0], link[0]._node)])
    _commit(v, result._node, overwrite)
    for x, old in written:
        if x._node is not old:
            _count_write(x, old)
    return v


def _count_write(v: Any, old: Node) -> None:
    """``v`` was written in place (it held ``old``): count its pending writes, compute the
    chain at ``config.max_inplace_depth``, and note a pending value that needs no gradient."""
    node = v._node
    if node.value is not None:
        return
    node.writes = old.writes + 1 if old.value is None else 1
    settle_chain(node, config.max_inplace_depth)
    if node.value is None and not node.diff and base_of(v) is None:  # a view: its base is noted
        note_write(v)


def _inplace(name: str, result: Any, overwrite: Any = None):
    """The in-place method ``name``: ``result(self, ...)`` (a method name, or a function),
    rebound into self; ``overwrite``: the op recorded when it replaces every value."""
    if isinstance(result, str):
        name_of = result
        compute = lambda self, *a, **k: getattr(self, name_of)(*a, **k)
    else:
        compute = result
    what = result if isinstance(result, str) else name.strip("_")

    def method(self, *args: Any, **kwargs: Any) -> Variable:
        _check(self, name)
        return apply(self, compute(self, *args, **kwargs), name, overwrite)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = (
        f"In-place ``{what}``: rebinds this Variable to the result; returns it.{example(name)}"
    )
    return method


def _reshaped(name: str, view: Callable) -> Callable:
    """The in-place view op ``name`` (``t_``, ``unsqueeze_``, ...): ``self`` becomes
    ``view(self, ...)``, keeping its history."""

    def method(self, *args: Any) -> Any:
        _check(self, name)
        if shares_storage(self):
            raise RuntimeError(
                f"{name}: varjax changes the shape in place only of a Variable that shares its "
                f"storage with no view or alias; use the out-of-place form, x = x.{name[:-1]}()"
            )
        new = view(self, *args)
        self._vlinks = None  # the view's link back into self is not kept: self is the view
        self._rebind(new._node)
        return self

    method.__name__ = method.__qualname__ = name
    method.__doc__ = (
        f"In-place form of ``{name[:-1]}``: this Variable takes the new shape.{example(name)}"
    )
    return method


def _filled(x: Any, value: Any) -> Variable:
    if isinstance(value, Methods):
        if value.ndim:
            raise RuntimeError(
                f"fill_ only supports 0-dimension value tensor but got tensor with "
                f"{value.ndim} dimensions."
            )
        return value.to(x.dtype).expand(*x.shape)
    params = (("dtype", x.dtype), ("shape", tuple(x.shape)))
    return x._new(record(P.full, (value,), params, sdtype=x.dtype))


def _copied(x: Any, src: Any) -> Variable:
    return x._lift(src).to(x.dtype).expand(*x.shape)


def _written(x: Any, key: Any, value: Any) -> Variable:
    template, arrays, plan = plan_of(x, key)
    if plan is not None:  # the offsets are inputs: a loop writing x[i] runs one program
        return write_window(x, value, *plan)
    return setitem(x, template, value, arrays)


def _holds_itself(x: Any, key: Any, value: Any) -> bool:
    """True if ``value`` is the view ``x[key]`` read from ``x``'s current version: writing it
    back changes nothing. ``x[i, j] += 1`` is ``v = x[i, j]; v += 1; x[i, j] = v``, and the
    ``+=`` on the view already wrote into ``x``."""
    node = getattr(value, "_node", None)
    if node is None or node.op is not P.window or not node.inputs:  # (computed: no inputs)
        return False
    if node.inputs[0] is not x._node:
        return False
    link = base_of(value)
    if link is None or link[0] is not x:
        return False
    _, _, plan = plan_of(x, key)
    return plan is not None and node.params == plan[1] and list(node.inputs[1:]) == plan[0]


def _setitem(self: Any, key: Any, value: Any) -> Any:
    _check(self, "__setitem__")
    if _holds_itself(self, key, value):
        _version_cell(self)[0] += 1  # a write all the same, as PyTorch counts it
        return self
    return apply(self, _written(self, key, value), "__setitem__")


class InplaceMethods(Methods):
    __slots__ = ()

    add_ = _inplace("add_", "add")
    sub_ = _inplace("sub_", "sub")
    mul_ = _inplace("mul_", "mul")
    div_ = _inplace("div_", "div")
    clamp_ = _inplace("clamp_", "clamp")
    fill_ = _inplace("fill_", _filled, P.fill)
    zero_ = _inplace("zero_", lambda x: _filled(x, 0), P.zero)
    copy_ = _inplace("copy_", _copied, P.copy)
    __iadd__ = _inplace("__iadd__", "add")
    __isub__ = _inplace("__isub__", "sub")
    __imul__ = _inplace("__imul__", "mul")
    __itruediv__ = _inplace("__itruediv__", "div")
    __imod__ = _inplace("__imod__", "remainder")
    __ifloordiv__ = _inplace("__ifloordiv__", "floor_divide")
    __setitem__ = _setitem
    # the in-place forms training code uses: the out-of-place method, rebound into self
    masked_fill_ = _inplace("masked_fill_", "masked_fill")
    masked_scatter_ = _inplace("masked_scatter_", "masked_scatter")
    scatter_ = _inplace("scatter_", "scatter")
    scatter_add_ = _inplace("scatter_add_", "scatter_add")
    index_add_ = _inplace("index_add_", "index_add")
    index_copy_ = _inplace("index_copy_", "index_copy")
    index_fill_ = _inplace("index_fill_", "index_fill")
    clamp_min_ = _inplace("clamp_min_", "clamp_min")
    clamp_max_ = _inplace("clamp_max_", "clamp_max")
    addcmul_ = _inplace("addcmul_", "addcmul")
    addcdiv_ = _inplace("addcdiv_", "addcdiv")
    pow_ = _inplace("pow_", "pow")
    lerp_ = _inplace("lerp_", "lerp")
    exp_ = _inplace("exp_", "exp")
    log_ = _inplace("log_", "log")
    sqrt_ = _inplace("sqrt_", "sqrt")
    abs_ = _inplace("abs_", "abs")
    neg_ = _inplace("neg_", "neg")
    sigmoid_ = _inplace("sigmoid_", "sigmoid")
    tanh_ = _inplace("tanh_", "tanh")
    relu_ = _inplace("relu_", "relu")
    floor_ = _inplace("floor_", "floor")
    ceil_ = _inplace("ceil_", "ceil")
    round_ = _inplace("round_", "round")
    sign_ = _inplace("sign_", "sign")
    reciprocal_ = _inplace("reciprocal_", "reciprocal")
    remainder_ = _inplace("remainder_", "remainder")
    __ipow__ = _inplace("__ipow__", "pow")
    __iand__ = _inplace("__iand__", "bitwise_and")
    __ior__ = _inplace("__ior__", "bitwise_or")
    __ixor__ = _inplace("__ixor__", "bitwise_xor")

    # in-place view ops: the Variable itself takes the new shape (its values do not change)
    t_ = _reshaped("t_", lambda x: x.t())
    transpose_ = swapdims_ = swapaxes_ = _reshaped("transpose_", lambda x, a, b: x.transpose(a, b))
    unsqueeze_ = _reshaped("unsqueeze_", lambda x, dim: x.unsqueeze(dim))
    squeeze_ = _reshaped("squeeze_", lambda x, *dim: x.squeeze(*dim))

    def detach(self) -> Variable:
        """A Variable with the same value, no history, sharing this one's storage and
        version.

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([1.0, 2.0], requires_grad=True)
            >>> y = (x * 2).detach()
            >>> y
            tensor([2., 4.])
            >>> y.requires_grad
            False
        """
        return alias(self, True)

    @property
    def data(self) -> Variable:
        """The value without history, sharing this Variable's storage.

        Example:
            >>> import varjax as vj
            >>> w = vj.tensor([1.0, 2.0], requires_grad=True)
            >>> w.data.mul_(10)  # an update autograd does not see
            tensor([10., 20.])
            >>> w
            tensor([10., 20.], requires_grad=True)
        """
        return alias(self, False)

    @data.setter
    def data(self, value: Any) -> None:
        # Replaces the storage, as PyTorch's setter does: aliases and views stop sharing it.
        new = detached(self._lift(value)._node)
        new.requires_grad = self._node.requires_grad and is_floating(new.dtype)
        unshare(self)
        self._rebind(new)

    @property
    def _version(self) -> int:
        return version(self)


def assign(v: Any, value: Any) -> None:
    """Give ``v`` the array ``value`` (same shape and dtype) as an in-place update: an optimizer
    step or ``varjax.jit``'s write-back. Bumps the version; aliases and views follow."""
    assign_node(v, leaf(value, aval=v._node.aval))


def assign_node(v: Any, node: Node) -> None:
    """Give ``v`` the value of the node ``node`` (no history; same shape and dtype), in place."""
    _version_cell(v)[0] += 1
    old = v._node
    if old.diff or _tracing.state.active or shares_storage(v):
        _commit(v, node)
        return
    node.requires_grad = old.requires_grad  # nothing else sees this storage: just rebind
    node.var = old.var
    v._node = node


def unshare(v: Any) -> None:
    """``v`` gets storage of its own: it leaves its aliases, its views and its base."""
    group = getattr(v, "_alias", None)
    if group is not None:
        group[:] = [r for r in group if r() is not None and r() is not v]
        v._alias = None
    for u in views_of(v):
        u._vbase = None
    v._vlinks = None
    v._vbase = None
    v._vc = [version(v)]


def shares_storage(v: Any) -> bool:
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
