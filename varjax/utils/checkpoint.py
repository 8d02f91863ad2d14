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
from .._lift import lifted
from .._ops import Op
from .._record import record_multi
from .._variable import _node_of, _wrap

__all__ = ["checkpoint"]


def _inner(fn: Callable, layout: tuple, statics: tuple) -> Callable:
    """``fn`` as a pure function of its tensor inputs' arrays, returning an array, or a
    tuple of arrays where ``fn`` returns a tuple."""

    def pure(*arrays):
        args = join_args(arrays, layout, statics)
        with no_grad():  # the replay differentiates; recording needs no history
            out = fn(*args)
        if isinstance(out, (tuple, list)):
            return tuple(o._value() for o in out)
        return out._value()

    return pure


def _op_for(fn: Callable) -> Op:
    """The op of ``fn``: one per behaviour, living as long as it is used (``_lift.lifted``)."""

    def run(*arrays, layout, statics):
        return jax.checkpoint(_inner(fn, layout, statics))(*arrays)

    return lifted(fn, "checkpoint", lambda label: Op(label, run, "CheckpointFunctionBackward"))


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
    inputs = tuple(_node_of(t) for t in tensors)
    nodes = record_multi(_op_for(fn), inputs, (("layout", layout), ("statics", statics)))
    if nodes[0].group is None:
        return _wrap(nodes[0])
    return tuple(_wrap(n) for n in nodes)
