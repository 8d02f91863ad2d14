"""``checkpoint(fn, *args)``: recompute ``fn`` in the backward instead of keeping its
intermediates, through ``jax.checkpoint`` in the compiled replay.

``fn`` is recorded as one op. When the replay runs, the op calls ``fn`` on Variables over the
traced inputs inside ``jax.checkpoint``, so the backward keeps only ``fn``'s inputs and
recomputes the rest, as ``torch.utils.checkpoint`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from .._function import join_args, split_args
from .._grad_mode import no_grad
from .._ops import OPS, Op, register
from .._record import record
from .._variable import _node_of, _wrap

__all__ = ["checkpoint"]


def _inner(fn: Callable, layout: tuple, statics: tuple, seen: dict | None = None) -> Callable:
    """``fn`` as a pure function of its tensor inputs' arrays, returning a tuple of arrays
    (``seen["tuple"]`` says whether ``fn`` itself returned a tuple)."""

    def pure(*arrays):
        args = join_args(arrays, layout, statics)
        with no_grad():  # the replay differentiates; recording needs no history
            out = fn(*args)
        is_tuple = isinstance(out, (tuple, list))
        if seen is not None:
            seen["tuple"] = is_tuple
        return tuple(o._value() for o in (out if is_tuple else (out,)))

    return pure


def _op_for(fn: Callable) -> Op:
    name = f"ckpt:{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', fn)}#{id(fn)}"
    op = OPS.get(name)
    if op is None:

        def run(*arrays, layout, statics, index):
            return jax.checkpoint(_inner(fn, layout, statics))(*arrays)[index]

        op = register(Op(name, run, "CheckpointFunctionBackward"))
    return op


def checkpoint(fn: Callable, *args: Any, use_reentrant: bool | None = None, **kwargs: Any):
    """``fn(*args)``, with ``fn``'s intermediates recomputed in the backward.

    Example:
        >>> import varjax as vj
        >>> from varjax.utils import checkpoint
        >>> x = vj.tensor([1.0, 2.0], requires_grad=True)
        >>> y = checkpoint(lambda a: (a.sin() * a).tanh(), x)
        >>> y.sum().backward()
        >>> [round(g, 4) for g in x.grad.tolist()]
        [0.7304, 0.0077]
    """
    if kwargs:
        raise TypeError(f"checkpoint: unexpected keyword arguments {sorted(kwargs)}")
    layout, tensors, statics = split_args(args)
    avals = [jax.ShapeDtypeStruct(*t._node.aval) for t in tensors]
    seen: dict = {}
    n_out = len(jax.eval_shape(_inner(fn, layout, statics, seen), *avals))
    op = _op_for(fn)
    inputs = tuple(_node_of(t) for t in tensors)
    outs = tuple(
        _wrap(record(op, inputs, (("index", i), ("layout", layout), ("statics", statics))))
        for i in range(n_out)
    )
    return outs if seen["tuple"] else outs[0]
