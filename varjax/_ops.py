"""The op table: every primitive varjax records, declared once.

An op is a name, a pure JAX function of positional arrays and keyword static params, and the
name PyTorch gives its ``grad_fn``. Gradients come from ``jax.vjp`` of the replay, so no op
has a hand-written backward. An op whose ``grad_name`` is ``None`` is not differentiable: its
output never requires grad (comparisons, creation, ``detach``).

Adding an op is one line here plus its row in ``tests/test_ops.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp


@dataclass(frozen=True, slots=True)
class Op:
    name: str
    fn: Callable[..., jax.Array]
    grad_name: str | None

    def __repr__(self) -> str:
        return f"Op({self.name})"


def _norm(x, *, p, axis, keepdims):
    # PyTorch's p-norm. The 2-norm takes the gradient 0 at x == 0, as PyTorch does, where
    # a plain sqrt(sum(x*x)) would give NaN.
    if p == 2:
        sq = jnp.sum(x * x, axis=axis, keepdims=keepdims)
        pos = sq > 0
        return jnp.where(pos, jnp.sqrt(jnp.where(pos, sq, 1)), 0).astype(x.dtype)
    ax = jnp.abs(x)
    if p == float("inf"):
        return jnp.max(ax, axis=axis, keepdims=keepdims)
    if p == float("-inf"):
        return jnp.min(ax, axis=axis, keepdims=keepdims)
    if p == 1:
        return jnp.sum(ax, axis=axis, keepdims=keepdims)
    if p == 0:
        return jnp.sum(ax != 0, axis=axis, keepdims=keepdims).astype(x.dtype)
    return jnp.sum(ax**p, axis=axis, keepdims=keepdims) ** (1.0 / p)


def _full(value, *, shape, dtype):
    return jnp.full(shape, value, dtype)


def _linspace(start, end, *, steps, dtype):
    return jnp.linspace(start, end, steps, dtype=dtype)


def _normal(key, counter, *, shape, dtype):
    return jax.random.normal(jax.random.fold_in(key, counter), shape, dtype)


def _uniform(key, counter, *, shape, dtype):
    return jax.random.uniform(jax.random.fold_in(key, counter), shape, dtype)


_TABLE = (
    # arithmetic (Python scalars may stand in either position)
    Op("add", jnp.add, "AddBackward0"),
    Op("sub", jnp.subtract, "SubBackward0"),
    Op("mul", jnp.multiply, "MulBackward0"),
    Op("div", jnp.true_divide, "DivBackward0"),
    Op("pow", jnp.power, "PowBackward0"),
    Op("matmul", jnp.matmul, "MmBackward0"),
    Op("neg", jnp.negative, "NegBackward0"),
    # elementwise functions
    Op("exp", jnp.exp, "ExpBackward0"),
    Op("log", jnp.log, "LogBackward0"),
    Op("sin", jnp.sin, "SinBackward0"),
    Op("cos", jnp.cos, "CosBackward0"),
    Op("tanh", jnp.tanh, "TanhBackward0"),
    Op("relu", jax.nn.relu, "ReluBackward0"),  # gradient 0 at 0, as in PyTorch
    Op("sigmoid", jax.nn.sigmoid, "SigmoidBackward0"),
    Op("sqrt", jnp.sqrt, "SqrtBackward0"),
    Op("abs", jnp.abs, "AbsBackward0"),
    # comparisons: boolean results, never differentiable
    Op("lt", jnp.less, None),
    Op("le", jnp.less_equal, None),
    Op("gt", jnp.greater, None),
    Op("ge", jnp.greater_equal, None),
    Op("eq", jnp.equal, None),
    Op("ne", jnp.not_equal, None),
    # reductions (params: axis, keepdims)
    Op("sum", jnp.sum, "SumBackward0"),
    Op("mean", jnp.mean, "MeanBackward0"),
    Op("norm", _norm, "NormBackward0"),
    # shape
    Op("reshape", jnp.reshape, "ViewBackward0"),
    Op("transpose", jnp.swapaxes, "TransposeBackward0"),
    # values without history
    Op("detach", jax.lax.stop_gradient, None),
    Op("full", _full, None),
    Op("arange", lambda *, start, stop, step, dtype: jnp.arange(start, stop, step, dtype), None),
    Op("linspace", _linspace, None),
    Op("eye", lambda *, n, m, dtype: jnp.eye(n, m, dtype=dtype), None),
    Op("normal", _normal, None),
    Op("uniform", _uniform, None),
)

OPS: dict[str, Op] = {op.name: op for op in _TABLE}
