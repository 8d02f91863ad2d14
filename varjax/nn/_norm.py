"""Normalization layers beyond ``LayerNorm`` and ``BatchNorm1d/2d``: group, instance, RMS,
local response and 3-D batch normalization, with PyTorch's arguments, parameter and buffer
names and reprs (so a PyTorch ``state_dict`` loads).

The running statistics are buffers updated in place under ``no_grad``, as ``_BatchNorm``'s:
``varjax.jit`` lifts them as state and writes the update back.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence
from typing import Any

from .._creation import ones, zeros
from .._grad_mode import no_grad
from .._variable import Variable
from . import functional as F
from ._layers import _BatchNorm
from ._module import Module, Parameter

__all__ = [
    "BatchNorm3d", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
    "LocalResponseNorm", "RMSNorm",
]  # fmt: skip


class GroupNorm(Module):
    """Group normalization (PyTorch's ``nn.GroupNorm``) of (N, C, *) input: ``num_channels``
    split into ``num_groups`` groups, with a per-channel ``weight`` (ones) and ``bias``
    (zeros) when ``affine``.

    Example:
        >>> import varjax as vj
        >>> vj.nn.GroupNorm(2, 4)
        GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, *, bias: bool = True) -> None:  # fmt: skip
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(
                f"num_channels ({num_channels}) must be divisible by num_groups ({num_groups})"
            )
        self.num_groups, self.num_channels, self.eps, self.affine = (
            num_groups, num_channels, eps, affine)  # fmt: skip
        if affine:
            self.weight = Parameter(ones(num_channels))
        else:
            self.register_parameter("weight", None)
        if affine and bias:
            self.bias = Parameter(zeros(num_channels))
        else:
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        with no_grad():
            if self.weight is not None:
                self.weight.fill_(1)
            if self.bias is not None:
                self.bias.zero_()

    def forward(self, input: Variable) -> Variable:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, "
                f"affine={self.affine}, bias={self.bias is not None}")  # fmt: skip


class BatchNorm3d(_BatchNorm):
    """Batch normalization (PyTorch's ``nn.BatchNorm3d``) of (N, C, D, H, W) input over N, D,
    H and W for each channel C, with running stats as ``BatchNorm2d``.

    Example:
        >>> import varjax as vj
        >>> bn = vj.nn.BatchNorm3d(2)
        >>> bn(vj.zeros(1, 2, 2, 2, 2)).shape
        varjax.Size([1, 2, 2, 2, 2])
        >>> bn
        BatchNorm3d(2, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    """

    def _check_input_dim(self, x: Variable) -> None:
        if x.ndim != 5:
            raise ValueError(f"expected 5D input (got {x.ndim}D input)")


class _InstanceNorm(_BatchNorm):
    """Shared body of ``InstanceNorm1d/2d/3d``: ``_RANK`` is the rank of an unbatched input."""

    _RANK = 2

    def __init__(
        self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
        affine: bool = False, track_running_stats: bool = False, *, bias: bool = True,
    ) -> None:  # fmt: skip
        super().__init__(num_features, eps, momentum, affine, track_running_stats, bias=bias)

    def _check_input_dim(self, x: Variable) -> None:
        if x.ndim not in (self._RANK, self._RANK + 1):
            raise ValueError(f"expected {self._RANK}D or {self._RANK + 1}D input (got "
                             f"{x.ndim}D input)")  # fmt: skip

    def _check_features(self, x: Variable) -> None:
        dim = x.ndim - self._RANK
        if x.shape[dim] == self.num_features:
            return
        if self.affine:
            raise ValueError(
                f"expected input's size at dim={dim} to match num_features "
                f"({self.num_features}), but got: {x.shape[dim]}."
            )
        warnings.warn(
            f"input's size at dim={dim} does not match num_features. You can silence this "
            f"warning by not passing in num_features, which is not used because affine=False",
            stacklevel=3,
        )

    def forward(self, input: Variable) -> Variable:
        self._check_input_dim(input)
        self._check_features(input)
        unbatched = input.ndim == self._RANK
        x = input.unsqueeze(0) if unbatched else input
        out = F.instance_norm(
            x, self.running_mean, self.running_var, self.weight, self.bias,
            self.training or not self.track_running_stats,
            self.momentum if self.momentum is not None else 0.0, self.eps,
        )  # fmt: skip
        return out.squeeze(0) if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization (PyTorch's ``nn.InstanceNorm1d``) of (N, C, L) or (C, L) input:
    each channel of each sample over L. ``affine`` and ``track_running_stats`` are off by
    default; with running stats, eval mode normalizes with them.

    Example:
        >>> import varjax as vj
        >>> norm = vj.nn.InstanceNorm1d(2)
        >>> norm(vj.tensor([[[1.0, 3.0], [0.0, 2.0]]]))
        tensor([[[-1.0000,  1.0000],
                 [-1.0000,  1.0000]]])
        >>> norm
        InstanceNorm1d(2, eps=1e-05, momentum=0.1, affine=False, bias=False,
        track_running_stats=False)
    """

    _RANK = 2


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization (PyTorch's ``nn.InstanceNorm2d``) of (N, C, H, W) or (C, H, W)
    input: each channel of each sample over H and W.

    Example:
        >>> import varjax as vj
        >>> norm = vj.nn.InstanceNorm2d(2, affine=True)
        >>> norm(vj.arange(8).float().reshape(1, 2, 2, 2)).shape
        varjax.Size([1, 2, 2, 2])
        >>> norm
        InstanceNorm2d(2, eps=1e-05, momentum=0.1, affine=True, bias=True,
        track_running_stats=False)
    """

    _RANK = 3


class InstanceNorm3d(_InstanceNorm):
    """Instance normalization (PyTorch's ``nn.InstanceNorm3d``) of (N, C, D, H, W) or
    (C, D, H, W) input: each channel of each sample over D, H and W.

    Example:
        >>> import varjax as vj
        >>> norm = vj.nn.InstanceNorm3d(2)
        >>> norm(vj.arange(16).float().reshape(1, 2, 2, 2, 2)).shape
        varjax.Size([1, 2, 2, 2, 2])
        >>> norm
        InstanceNorm3d(2, eps=1e-05, momentum=0.1, affine=False, bias=False,
        track_running_stats=False)
    """

    _RANK = 4


class RMSNorm(Module):
    """Root-mean-square normalization (PyTorch's ``nn.RMSNorm``) over the trailing
    ``normalized_shape``, with an elementwise ``weight`` (ones); ``eps=None`` is the input
    dtype's machine epsilon.

    Example:
        >>> import varjax as vj
        >>> vj.nn.RMSNorm(4)
        RMSNorm((4,), eps=None, elementwise_affine=True)
    """

    def __init__(self, normalized_shape: Sequence[int] | int, eps: float | None = None,
                 elementwise_affine: bool = True) -> None:  # fmt: skip
        super().__init__()
        shape = (
            (int(normalized_shape),)
            if isinstance(normalized_shape, numbers.Integral)
            else tuple(normalized_shape)
        )
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(ones(*shape))
        else:
            self.register_parameter("weight", None)

    def forward(self, x: Variable) -> Variable:
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")  # fmt: skip


class LocalResponseNorm(Module):
    """Local response normalization across channels (PyTorch's ``nn.LocalResponseNorm``) of
    (N, C, *) input; no parameters.

    Example:
        >>> import varjax as vj
        >>> lrn = vj.nn.LocalResponseNorm(2)
        >>> lrn(vj.ones(1, 3, 2, 2)).shape
        varjax.Size([1, 3, 2, 2])
        >>> lrn
        LocalResponseNorm(2, alpha=0.0001, beta=0.75, k=1.0)
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75,
                 k: float = 1.0) -> None:  # fmt: skip
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input: Any) -> Variable:
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
