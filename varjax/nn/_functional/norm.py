"""``nn.functional`` normalizations beyond batch and layer norm: group, instance, RMS and
local response normalization.

Each is a composite of table ops (means, variances, ``rsqrt``, padding and slices), so its
gradient is ``jax.vjp`` of the replay like everything else; the statistics are computed
in the input's dtype, as PyTorch's CPU kernels do for float32.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp

from ..._grad_mode import no_grad
from ..._variable import Variable
from ..._variable import as_variable as _var
from .basic import pad

__all__ = ["group_norm", "instance_norm", "local_response_norm", "rms_norm"]


def _affine(out: Variable, weight: Any, bias: Any, shape: tuple) -> Variable:
    """``out * weight + bias`` with per-channel vectors reshaped to ``shape``."""
    if weight is not None:
        out = out * _var(weight).reshape(shape)
    return out if bias is None else out + _var(bias).reshape(shape)


def _check_channels(name: str, x: Variable, **per_channel: Any) -> None:
    for what, t in per_channel.items():
        if t is not None and _var(t).numel() != x.shape[1]:
            raise RuntimeError(
                f"Expected {what} to be a vector of size equal to the number of channels in "
                f"input, but got {what} of shape {list(_var(t).shape)} and input of shape "
                f"{list(x.shape)}; build the {name} layer with {x.shape[1]} channels"
            )


def group_norm(
    input: Any, num_groups: int, weight: Any = None, bias: Any = None, eps: float = 1e-5
) -> Variable:
    """Group normalization (PyTorch's ``F.group_norm``): the channels (dim 1) of each sample
    are split into ``num_groups`` groups, each normalized over its channels and all spatial
    dims with the biased variance, then scaled and shifted per channel.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.group_norm(vj.tensor([[1.0, 3.0, 0.0, 2.0]]), 2)
        tensor([[-1.0000,  1.0000, -1.0000,  1.0000]])
    """
    x = _var(input)
    if x.ndim < 2 or x.shape[1] % num_groups:
        raise RuntimeError(
            f"Expected number of channels in input to be divisible by num_groups, but got "
            f"input of shape {list(x.shape)} and num_groups={num_groups}"
        )
    _check_channels("GroupNorm", x, weight=weight, bias=bias)
    n = x.shape[0]
    g = x.reshape(n, num_groups, -1)
    mu = g.mean(-1, keepdim=True)
    out = ((g - mu) * (g.var(-1, keepdim=True, correction=0) + eps).rsqrt()).reshape(*x.shape)
    return _affine(out, weight, bias, (1, x.shape[1]) + (1,) * (x.ndim - 2))


def _update_running(running: Variable, stat: Variable, momentum: float) -> None:
    with no_grad():  # in place, so that varjax.jit sees the buffer's new value
        running.mul_(1 - momentum).add_(stat.detach() * momentum)


def instance_norm(
    input: Any,
    running_mean: Variable | None = None,
    running_var: Variable | None = None,
    weight: Any = None,
    bias: Any = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Variable:
    """Instance normalization (PyTorch's ``F.instance_norm``): each channel of each sample of
    an (N, C, ...) input is normalized over its spatial dims.

    With ``use_input_stats`` the sample's own statistics are used and, if running stats are
    given, they are updated in place with the batch average of the per-instance mean and
    unbiased variance (PyTorch's rule); otherwise the running stats normalize.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.instance_norm(vj.tensor([[[1.0, 3.0], [0.0, 4.0]]]))
        tensor([[[-1.0000,  1.0000],
                 [-1.0000,  1.0000]]])
    """
    x = _var(input)
    if x.ndim < 3:
        raise ValueError(
            f"instance_norm expects an input of shape (N, C, *) with at least 3 dims, got "
            f"{x.ndim}D input; add a batch dim with unsqueeze(0)"
        )
    _check_channels("InstanceNorm", x, weight=weight, bias=bias)
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise RuntimeError(
                "Expected running_mean and running_var to be defined when use_input_stats is "
                "false; pass the running stats or use_input_stats=True"
            )
        mean, var = _var(running_mean).reshape(shape), _var(running_var).reshape(shape)
        return _affine((x - mean) * (var + eps).rsqrt(), weight, bias, shape)
    dims = tuple(range(2, x.ndim))
    spatial = math.prod(x.shape[2:])
    if spatial <= 1:
        raise ValueError(
            f"Expected more than 1 spatial element when training, got input size {list(x.shape)}"
        )
    mean = x.mean(dims, keepdim=True)
    var = x.var(dims, keepdim=True, correction=0)
    if running_mean is not None:
        _update_running(running_mean, mean.mean(0).reshape(-1), momentum)
    if running_var is not None:
        unbiased = var * (spatial / (spatial - 1))
        _update_running(running_var, unbiased.mean(0).reshape(-1), momentum)
    return _affine((x - mean) * (var + eps).rsqrt(), weight, bias, shape)


def _shape_of(normalized_shape: Sequence[int] | int) -> tuple[int, ...]:
    if isinstance(normalized_shape, numbers.Integral):
        return (int(normalized_shape),)
    return tuple(int(n) for n in normalized_shape)


def rms_norm(
    input: Any, normalized_shape: Sequence[int] | int, weight: Any = None,
    eps: float | None = None,
) -> Variable:  # fmt: skip
    """Root-mean-square normalization (PyTorch's ``F.rms_norm``): ``x / sqrt(mean(x**2) +
    eps) * weight`` over the last ``len(normalized_shape)`` dims; ``eps=None`` is the
    machine epsilon of the input's dtype (``torch.finfo(dtype).eps``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.rms_norm(vj.tensor([3.0, 4.0]), (2,), eps=0.0)
        tensor([0.8485, 1.1314])
    """
    x = _var(input)
    shape = _shape_of(normalized_shape)
    if tuple(x.shape[x.ndim - len(shape) :]) != shape or len(shape) > x.ndim:
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape [*, "
            f"{', '.join(map(str, shape))}], but got input of size {list(x.shape)}"
        )
    if eps is None:
        eps = float(jnp.finfo(x.dtype).eps)
    dims = tuple(range(x.ndim - len(shape), x.ndim))
    out = x * ((x * x).mean(dims, keepdim=True) + eps).rsqrt()
    return out if weight is None else out * weight


def local_response_norm(
    input: Any, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Variable:
    """Local response normalization across channels (PyTorch's ``F.local_response_norm``):
    ``x / (k + alpha * mean(x**2 over a window of size channels)) ** beta``, the window
    zero-padded by ``size // 2`` before and ``(size - 1) // 2`` after each channel.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.local_response_norm(vj.tensor([[[1.0], [1.0], [1.0]]]), 2, alpha=2.0, beta=1.0)
        tensor([[[0.5000],
                 [0.3333],
                 [0.3333]]])
    """
    x = _var(input)
    if x.ndim < 3:
        raise ValueError(
            f"Expected 3D or higher dimensionality input (got {x.ndim} dimensions); add a "
            f"batch dim with unsqueeze(0)"
        )
    if x.numel() == 0:
        return x
    c = x.shape[1]
    # pad lists (left, right) pairs from the last dim backwards: zeros around dim 1 only
    sq = pad(x * x, (0, 0) * (x.ndim - 2) + (size // 2, (size - 1) // 2))
    window = sq[:, 0:c]
    for i in range(1, size):
        window = window + sq[:, i : i + c]
    return x / (window * (alpha / size) + k) ** beta
