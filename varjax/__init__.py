"""varjax: PyTorch's imperative autograd, recorded lazily and compiled with JAX.

Example:
    >>> import varjax as vj
    >>> x = vj.ones(2, 2, requires_grad=True)
    >>> out = ((x + 2) * (x + 2) * 3).mean()
    >>> out.backward()
    >>> x.grad
    tensor([[4.5000, 4.5000],
            [4.5000, 4.5000]])
"""

from __future__ import annotations

import jax.numpy as _jnp
import numpy as _np

from . import autograd, random
from ._compile import CompileStats, clear_caches, compile_stats
from ._config import config
from ._creation import (
    FloatTensor,
    Tensor,
    arange,
    eye,
    full,
    linspace,
    ones,
    ones_like,
    rand,
    randn,
    tensor,
    zeros,
    zeros_like,
)
from ._grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from ._variable import Size, Variable
from .random import initial_seed, manual_seed

__version__ = "0.1.0"

float16 = _np.dtype(_jnp.float16)
bfloat16 = _np.dtype(_jnp.bfloat16)
float32 = _np.dtype(_jnp.float32)
float64 = _np.dtype(_jnp.float64)
int32 = _np.dtype(_jnp.int32)
int64 = _np.dtype(_jnp.int64)
bool = _np.dtype(_np.bool_)  # noqa: A001 - PyTorch's name for the dtype


def _method(name: str):
    def fn(x, *args, **kwargs):
        x = x if isinstance(x, Variable) else Variable(x)
        return getattr(x, name)(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``varjax.{name}(x, ...)`` is ``x.{name}(...)``."
    return fn


add, sub, mul, div, pow, matmul = (
    _method(n) for n in ("add", "sub", "mul", "div", "pow", "matmul")
)
neg, exp, log, sin, cos, tanh = (_method(n) for n in ("neg", "exp", "log", "sin", "cos", "tanh"))
relu, sigmoid, sqrt, abs = (_method(n) for n in ("relu", "sigmoid", "sqrt", "abs"))
lt, le, gt, ge, eq, ne = (_method(n) for n in ("lt", "le", "gt", "ge", "eq", "ne"))
sum, mean, norm = (_method(n) for n in ("sum", "mean", "norm"))
reshape, transpose, t, detach = (_method(n) for n in ("reshape", "transpose", "t", "detach"))

__all__ = [
    "CompileStats",
    "FloatTensor",
    "Size",
    "Tensor",
    "Variable",
    "abs",
    "add",
    "arange",
    "autograd",
    "bfloat16",
    "bool",
    "clear_caches",
    "compile_stats",
    "config",
    "cos",
    "detach",
    "div",
    "enable_grad",
    "eq",
    "exp",
    "eye",
    "float16",
    "float32",
    "float64",
    "full",
    "ge",
    "gt",
    "initial_seed",
    "int32",
    "int64",
    "is_grad_enabled",
    "le",
    "linspace",
    "log",
    "lt",
    "manual_seed",
    "matmul",
    "mean",
    "mul",
    "ne",
    "neg",
    "no_grad",
    "norm",
    "ones",
    "ones_like",
    "pow",
    "rand",
    "randn",
    "random",
    "relu",
    "reshape",
    "set_grad_enabled",
    "sigmoid",
    "sin",
    "sqrt",
    "sub",
    "sum",
    "t",
    "tanh",
    "tensor",
    "transpose",
    "zeros",
    "zeros_like",
]
