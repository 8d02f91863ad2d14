"""User-defined ``Function`` (forward/backward), lowered to ``jax.custom_vjp``.

``MyFn.apply(*args)`` records one node per output. When the replay runs, the node calls the
user's ``forward`` on Variables holding the replay's (traced) arrays, inside a
``jax.custom_vjp`` whose backward calls the user's ``backward``. So a Function sits inside
the compiled program like any op, and it differentiates again when its backward is made of
differentiable ops. The residuals of the custom_vjp are the inputs: ``backward``'s context
(saved tensors, attributes) is rebuilt by running ``forward`` again in the backward trace,
which XLA merges with the original forward.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._grad_mode import no_grad
from ._lift import _hashable, lifted
from ._ops import Op
from ._record import leaf, record_multi
from ._variable import Variable, _node_of, _wrap

__all__ = ["Function", "FunctionCtx"]


class FunctionCtx:
    """The ``ctx`` of a Function: save tensors in ``forward``, read them in ``backward``.

    Example:
        >>> import varjax as vj
        >>> class Scale(vj.autograd.Function):
        ...     @staticmethod
        ...     def forward(ctx, x, k):
        ...         ctx.k = k  # a number kept for backward
        ...         return x * k
        ...     @staticmethod
        ...     def backward(ctx, g):
        ...         return (g * ctx.k if ctx.needs_input_grad[0] else None), None
        >>> x = vj.tensor([1.0, 2.0], requires_grad=True)
        >>> Scale.apply(x, 3.0).sum().backward()
        >>> x.grad
        tensor([3., 3.])
    """

    def __init__(self, needs_input_grad: tuple[bool, ...]) -> None:
        self.needs_input_grad = needs_input_grad
        self.saved_tensors: tuple = ()
        self.materialize_grads = True
        self._non_differentiable: list = []

    def save_for_backward(self, *tensors: Any) -> None:
        self.saved_tensors = tensors

    def mark_non_differentiable(self, *outputs: Variable) -> None:
        self._non_differentiable.extend(id(o) for o in outputs)

    def set_materialize_grads(self, value: bool) -> None:
        # Gradients reach backward as arrays (zeros where an output was unused) either way:
        # inside a compiled program an unused output's gradient is a known zero.
        self.materialize_grads = bool(value)


def _outputs(out: Any) -> tuple[tuple, bool]:
    if isinstance(out, (tuple, list)):
        return tuple(out), True
    return (out,), False


def _array(x: Any):
    return x._value() if isinstance(x, Variable) else jnp.asarray(x)


def split_args(args: tuple) -> tuple[tuple, list, tuple]:
    """User arguments -> (which are tensors, the tensors as Variables, the static rest)."""
    layout = tuple(isinstance(a, (Variable, jax.Array, np.ndarray)) for a in args)
    tensors = [a if isinstance(a, Variable) else Variable(a) for a, t in zip(args, layout) if t]
    statics = tuple(None if t else _hashable(a) for a, t in zip(args, layout))
    return layout, tensors, statics


def join_args(arrays, layout: tuple, statics: tuple) -> list:
    """The user's arguments again, tensors as Variables over ``arrays`` (traced in a replay)."""
    it = iter(arrays)
    return [_wrap(leaf(next(it))) if t else s for t, s in zip(layout, statics)]


def _run_forward(cls, arrays, layout, statics, needs):
    """Call the user's forward with Variables over ``arrays``; (ctx, outputs, is_tuple)."""
    args = join_args(arrays, layout, statics)
    ctx = FunctionCtx(needs)
    with no_grad():
        out = cls.forward(ctx, *args)
    outs, is_tuple = _outputs(out)
    for o in outs:
        if not isinstance(o, Variable):
            raise TypeError(
                f"{cls.__name__}.forward must return Variables (or a tuple of them), got "
                f"{type(o).__name__}"
            )
    return ctx, outs, is_tuple


def _lowered(cls, layout, statics, needs):
    """The Function as a jax.custom_vjp of its tensor inputs, returning a tuple of outputs."""

    @jax.custom_vjp
    def f(*arrays):
        _, outs, _ = _run_forward(cls, arrays, layout, statics, needs)
        return tuple(o._value() for o in outs)

    def fwd(*arrays):
        return f(*arrays), arrays

    def bwd(arrays, grads):
        ctx, outs, _ = _run_forward(cls, arrays, layout, statics, needs)
        gs = [_wrap(leaf(g)) for g in grads]
        with no_grad():
            result = cls.backward(ctx, *gs)
        result, _ = _outputs(result)
        if len(result) != len(layout):
            raise RuntimeError(
                f"function {cls.__name__}Backward returned an incorrect number of gradients "
                f"(expected {len(layout)}, got {len(result)})"
            )
        out, k = [], 0
        for i, (is_tensor, g) in enumerate(zip(layout, result)):
            if not is_tensor:
                continue
            x = arrays[k]
            k += 1
            if g is None:
                out.append(jnp.zeros_like(x))
                continue
            g = _array(g)
            if tuple(g.shape) != tuple(x.shape):
                raise RuntimeError(
                    f"Function {cls.__name__}Backward returned an invalid gradient at index "
                    f"{i} - got {list(g.shape)} but expected shape compatible with "
                    f"{list(x.shape)}"
                )
            out.append(g.astype(x.dtype))
        return tuple(out)

    f.defvjp(fwd, bwd)
    return f


def _op_for(cls) -> Op:
    """The op of one Function class: it lives as long as the class (see ``_lift.lifted``)."""

    def fn(*arrays, layout, statics, needs, tuple_out):
        outs = _lowered(cls, layout, statics, needs)(*arrays)
        return outs if tuple_out else outs[0]

    return lifted(cls, "function", lambda label: Op(label, fn, f"{cls.__name__}Backward"))


class Function:
    """Subclass with static ``forward(ctx, *args)`` and ``backward(ctx, *grads)``; call
    ``apply``. Tensor arguments are Variables; other arguments are static (hashed).

    Example:
        >>> import varjax as vj
        >>> class Cube(vj.autograd.Function):
        ...     @staticmethod
        ...     def forward(ctx, x):
        ...         ctx.save_for_backward(x)
        ...         return x ** 3
        ...     @staticmethod
        ...     def backward(ctx, g):
        ...         (x,) = ctx.saved_tensors
        ...         return g * 3 * x ** 2
        >>> x = vj.tensor([1.0, 2.0], requires_grad=True)
        >>> Cube.apply(x).sum().backward()
        >>> x.grad
        tensor([ 3., 12.])
    """

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("a Function subclass must define forward(ctx, *args)")

    @staticmethod
    def backward(ctx: FunctionCtx, *grads: Any) -> Any:
        raise NotImplementedError("a Function subclass must define backward(ctx, *grads)")

    @classmethod
    def apply(cls, *args: Any) -> Any:
        """Record the Function on ``args``; returns its output(s) with ``grad_fn``."""
        layout, tensors, statics = split_args(args)
        needs = tuple(isinstance(a, Variable) and a.requires_grad for a in args)
        op = _op_for(cls)
        # How many outputs, and which forward marked non-differentiable: one abstract trace.
        probe: dict = {}

        def shapes(*arrays):
            ctx, outs, is_tuple = _run_forward(cls, arrays, layout, statics, needs)
            probe["tuple"] = is_tuple
            probe["nondiff"] = [i for i, o in enumerate(outs) if id(o) in ctx._non_differentiable]
            return tuple(o._value() for o in outs)

        jax.eval_shape(shapes, *[jax.ShapeDtypeStruct(*t._node.aval) for t in tensors])
        params = (("layout", layout), ("needs", needs), ("statics", statics),
                  ("tuple_out", probe["tuple"]))  # fmt: skip
        nodes = record_multi(op, tuple(_node_of(t) for t in tensors), params)
        outs = [_wrap(n) for n in nodes]  # one node per output, computed together
        outs = [o.detach() if i in probe["nondiff"] else o for i, o in enumerate(outs)]
        return tuple(outs) if probe["tuple"] else outs[0]
