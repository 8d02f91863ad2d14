"""``varjax.op``: any JAX function of arrays as a recorded, differentiable op.

An op lifted from a user function is an ``Op`` object held by whoever uses it (the lifted
function, the programs compiled with it); no global table grows. Functions that behave the
same (the same code, closure values, defaults and bound object: a fresh ``lambda`` made by
each iteration of a loop) share one op, so they share compiled programs too. ``Function``
and ``checkpoint`` lift their user code the same way.
"""

from __future__ import annotations

import functools
import types
import weakref
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from ._ops import Op
from ._record import record_multi
from ._variable import Variable, _node_of, _wrap

_LIFTED: weakref.WeakValueDictionary = weakref.WeakValueDictionary()  # behaviour key -> Op


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    hash(value)  # raises TypeError for values that cannot be part of a signature
    return value


def behaviour_key(fn: Any) -> tuple:
    """What decides what ``fn`` computes, hashable: its code, closure values, defaults and
    bound object when those hash, else the function object itself."""
    try:
        if isinstance(fn, types.MethodType):
            return ("method", behaviour_key(fn.__func__), fn.__self__)
        if isinstance(fn, types.FunctionType):
            cells = tuple(c.cell_contents for c in fn.__closure__ or ())
            key = ("function", fn.__code__, cells, fn.__defaults__, _hashable(fn.__kwdefaults__))
            hash(key)
            return key
    except (TypeError, ValueError):  # an unhashable closure value, or an empty cell
        pass
    return ("object", fn)


def lifted(fn: Any, kind: str, make: Callable[[str], Op]) -> Op:
    """The op of user code ``fn`` for ``kind`` (``op``, ``checkpoint``, a Function class),
    made by ``make(label)`` the first time; it lives while anything uses it."""
    key = (kind, behaviour_key(fn))
    op = _LIFTED.get(key)
    if op is None:
        label = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", type(fn).__name__)
        op = _LIFTED[key] = make(label.rpartition("<locals>.")[2])  # "Block.forward", "step"
    return op


def _grad_name(label: str) -> str:
    name = label.rsplit(".", 1)[-1].strip("<>")
    return f"{name[:1].upper()}{name[1:]}Backward"


def _is_array(x: Any) -> bool:
    return isinstance(x, (jax.Array, np.ndarray))


def _structure_key(in_tree: Any, static: dict, shapes: tuple) -> tuple:
    return in_tree, tuple(sorted(static.items())), shapes


def _flat(fn: Callable, structures: dict) -> Callable:
    """``fn`` as an op of flat arrays: pytree arguments rebuilt from their leaves (``in_tree``),
    a pytree result (a dict, nested tuples) returned as its leaves, its structure kept in
    ``structures`` for the caller to rebuild."""

    def flat(*xs: Any, in_tree: Any = None, **static: Any) -> Any:
        args = xs if in_tree is None else jax.tree_util.tree_unflatten(in_tree, xs)
        out = fn(*args, **static)
        if _is_array(out) or (type(out) is tuple and all(map(_is_array, out))):
            return out
        leaves, out_tree = jax.tree_util.tree_flatten(out)
        if not leaves or not all(map(_is_array, leaves)):
            raise TypeError(
                f"varjax.op: {getattr(fn, '__name__', fn)} must return arrays, or tuples, "
                f"lists or dicts of arrays; got {type(out).__name__}"
            )
        structures[_structure_key(in_tree, static, tuple(np.shape(x) for x in xs))] = out_tree
        return tuple(leaves)

    return flat


def _is_tree(a: Any) -> bool:
    return isinstance(a, (tuple, list, dict))


def op(fn: Callable | None = None, *, name: str | None = None):
    """Lift a JAX function of arrays into a recorded varjax op, differentiated by ``jax.vjp``.

    Positional arguments of the lifted function are its array inputs (Variables, arrays or
    Python numbers, or tuples, lists and dicts of them); keyword arguments are static: hashed
    into the program's signature, so a new value compiles a new program. A function returning
    a tuple of arrays gives a tuple of Variables, and one returning a dict or nested
    structure gives the same structure of Variables. Usable as a decorator or a call.

    Example:
        >>> import jax, varjax as vj
        >>> gammaln = vj.op(jax.scipy.special.gammaln)
        >>> x = vj.tensor([3.0, 4.0], requires_grad=True)
        >>> y = gammaln(x).sum()          # one recorded node, LgammaBackward-like grad_fn
        >>> y.backward()
        >>> [round(g, 4) for g in x.grad.tolist()]   # digamma(3), digamma(4)
        [0.9228, 1.2561]
    """
    if fn is None:
        return functools.partial(op, name=name)
    structures: dict = {}  # (input structure, static, shapes) -> a pytree result's structure
    the_op = lifted(
        fn, "op", lambda label: Op(name or label, _flat(fn, structures), _grad_name(name or label))
    )

    @functools.wraps(fn)
    def call(*args: Any, **static: Any) -> Any:
        if not args:
            raise TypeError(f"varjax.op({the_op.name}) needs at least one array argument")
        params = tuple(sorted((k, _hashable(v)) for k, v in static.items()))
        in_tree = None
        if any(map(_is_tree, args)):
            args, in_tree = jax.tree_util.tree_flatten(
                args, is_leaf=lambda x: isinstance(x, Variable)
            )
            params = (*params, ("in_tree", in_tree))
        inputs = tuple(_node_of(a) for a in args)
        nodes = record_multi(the_op, inputs, params)
        outs = tuple(_wrap(n) for n in nodes)
        if structures:
            shapes = tuple(tuple(getattr(n, "shape", ())) for n in inputs)
            key = _structure_key(in_tree, dict(params[: len(static)]), shapes)
            if key in structures:
                return jax.tree_util.tree_unflatten(structures[key], outs)
        return outs[0] if nodes[0].group is None else outs

    call.op = the_op  # the lifted function holds its op: it lives as long as the function
    return call
