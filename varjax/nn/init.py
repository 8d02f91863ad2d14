"""``varjax.nn.init``: PyTorch's parameter initialisations, drawn from varjax's seeded state.

Each function fills its tensor in place (under ``no_grad``) and returns it, as PyTorch's.
The samples are drawn on the host with NumPy, from a generator seeded by varjax's state
(``manual_seed``, or ``generator=``), as PyTorch draws them on the CPU: a model's creation
compiles nothing, and its initial values never become part of its first training program
(before, every draw was recorded and a fresh model's first program compiled all of them).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import numpy as np

from .. import _tracing
from .. import random as _rng
from .._args import new_shape, shape_arg
from .._creation import eye, rand, randn
from .._dtypes import default_float
from .._grad_mode import no_grad
from .._methods.inplace import assign
from .._variable import Variable

__all__ = [
    "calculate_gain", "constant_", "dirac_", "eye_", "kaiming_normal_", "kaiming_uniform_",
    "normal_", "ones_", "orthogonal_", "sparse_", "trunc_normal_", "uniform_", "xavier_normal_",
    "xavier_uniform_", "zeros_",
]  # fmt: skip

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "sigmoid")  # fmt: skip


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for ``nonlinearity`` (PyTorch's ``nn.init.calculate_gain``):
    1 for linear, convolutions and sigmoid, 5/3 for tanh, sqrt(2) for relu,
    sqrt(2 / (1 + slope**2)) for leaky_relu (slope ``param``, default 0.01), 3/4 for selu.

    Example:
        >>> import varjax as vj
        >>> vj.nn.init.calculate_gain("relu")
        1.4142135623730951
        >>> vj.nn.init.calculate_gain("tanh")
        1.6666666666666667
    """
    if nonlinearity in _LINEAR:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _fill(tensor: Variable, value: Any) -> Variable:
    """``tensor.copy_(value)`` under ``no_grad``; a computed tensor just takes the new array."""
    node = tensor._node
    if node.value is not None and isinstance(value, np.ndarray):
        assign(tensor, jax.device_put(value.astype(node.dtype), node.value.sharding))
    else:
        with no_grad():
            tensor.copy_(value)
    return tensor


def _draw(dist: str, shape: Any, generator: Any = None, dtype: Any = None, *args: float) -> Any:
    """``dist`` samples (``"uniform"`` with low, high or ``"normal"`` with mean, std) of
    ``shape`` in ``dtype`` (default float), drawn on the host from varjax's seeded state.

    Inside ``varjax.jit`` the draw is recorded instead, so each call of the compiled step
    draws anew rather than reusing values fixed when it was traced."""
    shape = new_shape(shape_arg((shape,)) if not isinstance(shape, int) else (shape,))
    dtype = np.dtype(default_float() if dtype is None else dtype)
    lo, hi = args or (0.0, 1.0)  # U(0, 1) or N(0, 1)
    if _tracing.state.active:
        if dist == "uniform":
            return rand(*shape, generator=generator, dtype=dtype) * (hi - lo) + lo
        return randn(*shape, generator=generator, dtype=dtype) * hi + lo
    return np.asarray(getattr(_rng.host_rng(generator), dist)(lo, hi, size=shape), dtype)


def _fans(tensor: Variable) -> tuple[int, int]:
    if tensor.ndim < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 "
                         "dimensions")  # fmt: skip
    field = math.prod(tensor.shape[2:])
    return tensor.shape[1] * field, tensor.shape[0] * field


def uniform_(tensor: Variable, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Variable:
    """Fill with U(a, b) samples. PyTorch's ``nn.init.uniform_``.

    Example:
        >>> import varjax as vj
        >>> _ = vj.manual_seed(0)
        >>> w = vj.nn.init.uniform_(vj.empty(3, 5), -0.5, 0.5)
        >>> w.shape, bool(w.abs().max() <= 0.5)
        (varjax.Size([3, 5]), True)
    """
    return _fill(tensor, _draw("uniform", tensor.shape, generator, tensor._node.dtype, a, b))


def normal_(
    tensor: Variable, mean: float = 0.0, std: float = 1.0, generator: Any = None
) -> Variable:
    """Fill with N(mean, std**2) samples. PyTorch's ``nn.init.normal_``.

    Example:
        >>> import varjax as vj
        >>> _ = vj.manual_seed(0)
        >>> vj.nn.init.normal_(vj.empty(3, 5), mean=0.0, std=0.02).shape
        varjax.Size([3, 5])
    """
    return _fill(tensor, _draw("normal", tensor.shape, generator, tensor._node.dtype, mean, std))


def trunc_normal_(
    tensor: Variable,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator: Any = None,
) -> Variable:
    """Normal samples in ``[a, b]``: the ones outside are redrawn on the host while most fall
    inside; a narrow interval far in a tail uses PyTorch's inverse-CDF method instead.

    Example:
        >>> import varjax as vj
        >>> _ = vj.manual_seed(0)
        >>> w = vj.nn.init.trunc_normal_(vj.empty(3, 5), std=1.0, a=-0.5, b=0.5)
        >>> w.shape, bool(w.abs().max() <= 0.5)
        (varjax.Size([3, 5]), True)
    """

    def cdf(x: float) -> float:
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    lo, hi = cdf((a - mean) / std), cdf((b - mean) / std)
    # redrawing converges fast where fewer than 1 in 4 samples fall outside
    if hi - lo >= 0.25 and not _tracing.state.active:
        rng = _rng.host_rng(generator)
        value = rng.normal(mean, std, size=tuple(tensor.shape))
        outside = (value < a) | (value > b)
        while outside.any():
            value[outside] = rng.normal(mean, std, size=int(outside.sum()))
            outside = (value < a) | (value > b)
        return _fill(tensor, np.asarray(value, tensor._node.dtype))
    u = rand(*tensor.shape, dtype=tensor.dtype, generator=generator) * (2 * hi - 2 * lo) + (
        2 * lo - 1)  # fmt: skip
    value = u.clamp(-1 + 1e-7, 1 - 1e-7).erfinv() * (std * math.sqrt(2.0)) + mean
    return _fill(tensor, value.clamp(a, b))


def constant_(tensor: Variable, val: float) -> Variable:
    """Fill with ``val``. PyTorch's ``nn.init.constant_``.

    Example:
        >>> import varjax as vj
        >>> vj.nn.init.constant_(vj.empty(2, 3), 0.5)
        tensor([[0.5000, 0.5000, 0.5000],
                [0.5000, 0.5000, 0.5000]])
    """
    with no_grad():
        tensor.fill_(val)
    return tensor


def ones_(tensor: Variable) -> Variable:
    """Fill with 1. PyTorch's ``nn.init.ones_``.

    Example:
        >>> import varjax as vj
        >>> vj.nn.init.ones_(vj.empty(2, 3))
        tensor([[1., 1., 1.],
                [1., 1., 1.]])
    """
    return constant_(tensor, 1.0)


def zeros_(tensor: Variable) -> Variable:
    """Fill with 0. PyTorch's ``nn.init.zeros_``.

    Example:
        >>> import varjax as vj
        >>> vj.nn.init.zeros_(vj.empty(2, 3))
        tensor([[0., 0., 0.],
                [0., 0., 0.]])
    """
    return constant_(tensor, 0.0)


def eye_(tensor: Variable) -> Variable:
    """Fill a 2-D tensor with the identity matrix. PyTorch's ``nn.init.eye_``.

    Example:
        >>> import varjax as vj
        >>> vj.nn.init.eye_(vj.empty(2, 3))
        tensor([[1., 0., 0.],
                [0., 1., 0.]])
    """
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _fill(tensor, eye(*tensor.shape, dtype=tensor.dtype))


def xavier_uniform_(tensor: Variable, gain: float = 1.0, generator: Any = None) -> Variable:
    """U(-b, b) with ``b = gain * sqrt(6 / (fan_in + fan_out))`` (Glorot). PyTorch's
    ``nn.init.xavier_uniform_``.

    Example:
        >>> import varjax as vj
        >>> _ = vj.manual_seed(0)
        >>> w = vj.nn.init.xavier_uniform_(vj.empty(3, 5))  # bound sqrt(6 / 8)
        >>> w.shape, bool(w.abs().max() <= 0.75**0.5)
        (varjax.Size([3, 5]), True)
    """
    fan_in, fan_out = _fans(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Variable, gain: float = 1.0, generator: Any = None) -> Variable:
    """N(0, std**2) with ``std = gain * sqrt(2 / (fan_in + fan_out))``. PyTorch's
    ``nn.init.xavier_normal_``.

    Example:
        >>> import varjax as vj
        >>> _ = vj.manual_seed(0)
        >>> vj.nn.init.xavier_normal_(vj.empty(3, 5)).shape
        varjax.Size([3, 5])
    """
    fan_in, fan_out = _fans(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def _kaiming_std(tensor: Variable, a: float, mode: str, nonlinearity: str) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _fans(tensor)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan_in if mode == "fan_in" else fan_out)


def kaiming_uniform_(
    tensor: Variable,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Variable:
    """U(-b, b) with ``b = gain * sqrt(3 / fan)`` (He), ``fan`` by ``mode``. PyTorch's
    ``nn.init.kaiming_uniform_``.

    Example:
        >>> import varjax as vj
        >>> _ = vj.manual_seed(0)
        >>> w = vj.nn.init.kaiming_uniform_(vj.empty(4, 6), nonlinearity="relu")  # bound 1
        >>> w.shape, bool(w.abs().max() <= 1.0)
        (varjax.Size([4, 6]), True)
    """
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Variable,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Variable:
    """N(0, std**2) with ``std = gain / sqrt(fan)`` (He), ``fan`` by ``mode``. PyTorch's
    ``nn.init.kaiming_normal_``.

    Example:
        >>> import varjax as vj
        >>> _ = vj.manual_seed(0)
        >>> vj.nn.init.kaiming_normal_(vj.empty(4, 6), mode="fan_out", nonlinearity="relu").shape
        varjax.Size([4, 6])
    """
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


def dirac_(tensor: Variable, groups: int = 1) -> Variable:
    """Fill a 3-, 4- or 5-D (convolution) weight with the Dirac delta, so the convolution
    keeps its input channels (per group). PyTorch's ``nn.init.dirac_``.

    Example:
        >>> import varjax as vj
        >>> w = vj.nn.init.dirac_(vj.empty(2, 2, 3))
        >>> w[:, :, 1]  # the kernel's centre
        tensor([[1., 0.],
                [0., 1.]])
    """
    if tensor.ndim not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tuple(tensor.shape)
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    per_group = sizes[0] // groups
    value = np.zeros(sizes, tensor._node.dtype)
    centre = tuple(n // 2 for n in sizes[2:])
    for g in range(groups):
        for d in range(min(per_group, sizes[1])):
            value[(g * per_group + d, d, *centre)] = 1
    return _fill(tensor, value)


def orthogonal_(tensor: Variable, gain: float = 1.0, generator: Any = None) -> Variable:
    """A (semi-)orthogonal matrix, the Q of the QR decomposition of a normal matrix drawn
    on the host, its columns' signs fixed by R's diagonal as PyTorch does; dims after the
    first are flattened. PyTorch's ``nn.init.orthogonal_``.

    Example:
        >>> import varjax as vj
        >>> _ = vj.manual_seed(0)
        >>> w = vj.nn.init.orthogonal_(vj.empty(3, 5))
        >>> vj.allclose(w @ w.T, vj.eye(3), atol=1e-6)
        True
    """
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = _rng.host_rng(generator).normal(0.0, 1.0, size=(rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, np.asarray(gain * q.reshape(tuple(tensor.shape)), tensor._node.dtype))


def sparse_(tensor: Variable, sparsity: float, std: float = 0.01, generator: Any = None
            ) -> Variable:  # fmt: skip
    """A 2-D N(0, std**2) matrix with ``ceil(sparsity * rows)`` zeros in each column, at
    random rows. PyTorch's ``nn.init.sparse_``.

    Example:
        >>> import varjax as vj
        >>> _ = vj.manual_seed(0)
        >>> w = vj.nn.init.sparse_(vj.empty(4, 3), sparsity=0.5)
        >>> (w == 0).sum(0)  # ceil(0.5 * 4) zeros per column
        tensor([2, 2, 2])
    """
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    rng = _rng.host_rng(generator)
    value = rng.normal(0.0, std, size=(rows, cols))
    zeros = int(math.ceil(sparsity * rows))
    for c in range(cols):
        value[rng.permutation(rows)[:zeros], c] = 0
    return _fill(tensor, np.asarray(value, tensor._node.dtype))
