"""``varjax.op``: any JAX function of arrays as a recorded, differentiable op."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ._ops import OPS, Op, register
from ._variable import Variable, _apply


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    hash(value)  # raises TypeError for values that cannot be part of a signature
    return value


def op(fn: Callable | None = None, *, name: str | None = None):
    """Lift a JAX function of arrays into a recorded varjax op, differentiated by ``jax.vjp``.

    Positional arguments of the lifted function are its array inputs (Variables, arrays or
    Python numbers); keyword arguments are static: hashed into the program's signature, so a
    new value compiles a new program. Usable as a decorator or a call.

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
    label = name or getattr(fn, "__name__", type(fn).__name__)
    key = f"op:{getattr(fn, '__module__', '')}.{label}#{id(fn)}"
    lifted = OPS.get(key) or register(Op(key, fn, f"{label[:1].upper()}{label[1:]}Backward"))

    @functools.wraps(fn)
    def call(*args: Any, **static: Any) -> Variable:
        if not args:
            raise TypeError(f"varjax.op({label}) needs at least one array argument")
        params = tuple(sorted((k, _hashable(v)) for k, v in static.items()))
        return _apply(lifted.name, *args, params=params)

    call.op = lifted  # keeps fn alive as long as the lifted function: its id stays unique
    return call
