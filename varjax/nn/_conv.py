"""Convolution, pooling, resampling and padding layers, as PyTorch's ``torch.nn`` defines
them: the same constructor arguments, attributes, ``state_dict`` names and reprs.

Convolutions draw PyTorch's default init on the host: Kaiming-uniform with a = sqrt(5),
i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the weight and the bias, where fan_in is
``weight.shape[1] * prod(kernel_size)`` (also for transposed convolutions, whose weight is
(in_channels, out_channels / groups, *kernel_size)).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from .._variable import Variable
from . import functional as F
from . import init
from ._module import Module, Parameter

__all__ = [
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
    "AvgPool1d", "AvgPool2d", "AvgPool3d", "ConstantPad1d", "ConstantPad2d", "Conv1d", "Conv2d",
    "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "Fold", "MaxPool1d",
    "MaxPool2d", "MaxPool3d", "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d", "PixelShuffle",
    "PixelUnshuffle", "ReflectionPad2d", "ReplicationPad2d", "Unfold", "Upsample",
    "UpsamplingBilinear2d", "UpsamplingNearest2d", "ZeroPad2d",
]  # fmt: skip

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(v: Any, n: int) -> tuple:
    return (v,) * n if isinstance(v, numbers.Integral) else tuple(v)


def _uniform(shape: tuple, bound: float) -> Parameter:
    return Parameter(init._draw("uniform", shape, None, None, -bound, bound))


class _ConvNd(Module):
    """Shared body of the convolutions: arguments, parameters, init and repr."""

    _n = 0
    _transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", output_padding: Any = 0) -> None:  # fmt: skip
        super().__init__()
        n = self._n
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {list(_PADDING_MODES)}, but got "
                             f"padding_mode='{padding_mode}'")  # fmt: skip
        if self._transposed and padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = _ntuple(kernel_size, n), _ntuple(stride, n)
        self.padding = padding if isinstance(padding, str) else _ntuple(padding, n)
        self.dilation, self.groups = _ntuple(dilation, n), groups
        self.transposed, self.output_padding = self._transposed, _ntuple(output_padding, n)
        self.padding_mode = padding_mode
        shape = ((in_channels, out_channels // groups) if self._transposed
                 else (out_channels, in_channels // groups))  # fmt: skip
        fan_in = shape[1] * math.prod(self.kernel_size)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        self.weight = _uniform((*shape, *self.kernel_size), bound)
        if bias:
            self.bias = _uniform((out_channels,), bound)
        else:
            self.register_parameter("bias", None)

    def extra_repr(self) -> str:  # PyTorch's: settings at their defaults are left out
        n = self._n
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        s += f", stride={self.stride}"
        if self.padding != (0,) * n:
            s += f", padding={self.padding!r}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s

    def _pad_input(self, x: Variable) -> tuple[Variable, Any]:
        """(input, padding for the convolution): a non-'zeros' mode pads first (PyTorch's
        _reversed_padding_repeated_twice) and convolves unpadded."""
        if self.padding_mode == "zeros":
            return x, self.padding
        if isinstance(self.padding, str):
            raise NotImplementedError(
                f"padding={self.padding!r} with padding_mode={self.padding_mode!r} is not "
                f"supported in varjax; pass integer padding"
            )
        pads = [p for p in reversed(self.padding) for _ in (0, 1)]
        return F.pad(x, pads, mode=self.padding_mode), 0


class _Conv(_ConvNd):
    """A convolution (not transposed): PyTorch's constructor, ``_fn`` applied in forward."""

    _fn: Any = None

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros") -> None:  # fmt: skip
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode)  # fmt: skip

    def forward(self, input: Variable) -> Variable:
        x, pad = self._pad_input(input)
        return type(self)._fn(x, self.weight, self.bias, self.stride, pad, self.dilation,
                              self.groups)  # fmt: skip


class Conv1d(_Conv):
    """1-D convolution over (N, C, L) (PyTorch's ``nn.Conv1d``); weight (out, in/groups, k).

    Example:
        >>> import varjax as vj
        >>> conv = vj.nn.Conv1d(2, 4, 3, stride=2)
        >>> conv(vj.zeros(1, 2, 7)).shape
        varjax.Size([1, 4, 3])
        >>> conv
        Conv1d(2, 4, kernel_size=(3,), stride=(2,))
    """

    _n, _fn = 1, staticmethod(F.conv1d)


class Conv2d(_Conv):
    """2-D convolution over (N, C, H, W) (PyTorch's ``nn.Conv2d``); weight
    (out, in/groups, kH, kW).

    Example:
        >>> import varjax as vj
        >>> conv = vj.nn.Conv2d(3, 8, 3, padding=1, bias=False)
        >>> conv(vj.zeros(2, 3, 5, 5)).shape
        varjax.Size([2, 8, 5, 5])
        >>> conv
        Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
    """

    _n, _fn = 2, staticmethod(F.conv2d)


class Conv3d(_Conv):
    """3-D convolution over (N, C, D, H, W) (PyTorch's ``nn.Conv3d``).

    Example:
        >>> import varjax as vj
        >>> conv = vj.nn.Conv3d(1, 2, 3, padding=1)
        >>> conv(vj.zeros(1, 1, 4, 4, 4)).shape
        varjax.Size([1, 2, 4, 4, 4])
        >>> conv
        Conv3d(1, 2, kernel_size=(3, 3, 3), stride=(1, 1, 1), padding=(1, 1, 1))
    """

    _n, _fn = 3, staticmethod(F.conv3d)


class _ConvTransposeNd(_ConvNd):
    _transposed = True
    _fn: Any = None

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, output_padding: Any = 0, groups: int = 1, bias: bool = True,
                 dilation: Any = 1, padding_mode: str = "zeros") -> None:  # fmt: skip
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, output_padding)  # fmt: skip

    def forward(self, input: Variable, output_size: Any = None) -> Variable:
        output_padding = self.output_padding
        if output_size is not None:
            output_padding = self._output_padding(input, output_size)
        fn = type(self)._fn
        return fn(input, self.weight, self.bias, self.stride, self.padding, output_padding,
                  self.groups, self.dilation)  # fmt: skip

    def _output_padding(self, input: Variable, output_size: Any) -> tuple[int, ...]:
        """The output padding that gives ``output_size`` (its last ``n`` entries), checked to
        be one of the sizes the stride allows (PyTorch's ``_output_padding``)."""
        n = self._n
        if isinstance(self.padding, str):
            raise ValueError(f"{type(self).__name__}: output_size needs integer padding")
        size = [int(s) for s in output_size][-n:]
        if len(size) != n:
            raise ValueError(f"ConvTranspose{n}D: for {input.ndim}D input, output_size must "
                             f"have {n} or {n + 2} elements (got {len(size)})")  # fmt: skip
        sizes = zip(input.shape[-n:], self.stride, self.padding, self.dilation, self.kernel_size)
        low = [(i - 1) * s - 2 * p + d * (k - 1) + 1 for i, s, p, d, k in sizes]
        high = [lo + s - 1 for lo, s in zip(low, self.stride)]
        if not all(lo <= want <= hi for lo, want, hi in zip(low, size, high)):
            raise ValueError(
                f"requested an output size of {size}, but valid sizes range from {low} to "
                f"{high} (for an input of {list(input.shape[-n:])})"
            )
        return tuple(want - lo for want, lo in zip(size, low))


class ConvTranspose1d(_ConvTransposeNd):
    """Transposed 1-D convolution (PyTorch's ``nn.ConvTranspose1d``); weight
    (in, out/groups, k).

    Example:
        >>> import varjax as vj
        >>> conv = vj.nn.ConvTranspose1d(4, 2, 3, stride=2)
        >>> conv(vj.zeros(1, 4, 5)).shape
        varjax.Size([1, 2, 11])
        >>> conv
        ConvTranspose1d(4, 2, kernel_size=(3,), stride=(2,))
    """

    _n, _fn = 1, staticmethod(F.conv_transpose1d)


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-D convolution (PyTorch's ``nn.ConvTranspose2d``); weight
    (in, out/groups, kH, kW).

    Example:
        >>> import varjax as vj
        >>> conv = vj.nn.ConvTranspose2d(4, 2, 2, stride=2, bias=False)
        >>> conv(vj.zeros(1, 4, 3, 3)).shape
        varjax.Size([1, 2, 6, 6])
        >>> conv
        ConvTranspose2d(4, 2, kernel_size=(2, 2), stride=(2, 2), bias=False)
    """

    _n, _fn = 2, staticmethod(F.conv_transpose2d)


class ConvTranspose3d(_ConvTransposeNd):
    """Transposed 3-D convolution (PyTorch's ``nn.ConvTranspose3d``).

    Example:
        >>> import varjax as vj
        >>> conv = vj.nn.ConvTranspose3d(2, 1, 2, stride=2)
        >>> conv(vj.zeros(1, 2, 2, 2, 2)).shape
        varjax.Size([1, 1, 4, 4, 4])
        >>> conv
        ConvTranspose3d(2, 1, kernel_size=(2, 2, 2), stride=(2, 2, 2))
    """

    _n, _fn = 3, staticmethod(F.conv_transpose3d)


# -- pooling --------------------------------------------------------------------------------


class _MaxPoolNd(Module):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:  # fmt: skip
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")  # fmt: skip


class MaxPool1d(_MaxPoolNd):
    """Max over windows of (N, C, L) (PyTorch's ``nn.MaxPool1d``).

    Example:
        >>> import varjax as vj
        >>> pool = vj.nn.MaxPool1d(2)
        >>> pool(vj.arange(6).float().reshape(1, 1, 6))
        tensor([[[1., 3., 5.]]])
        >>> pool
        MaxPool1d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
    """

    def forward(self, input: Variable) -> Variable:
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)  # fmt: skip


class MaxPool2d(_MaxPoolNd):
    """Max over (kH, kW) windows of (N, C, H, W) (PyTorch's ``nn.MaxPool2d``).

    Example:
        >>> import varjax as vj
        >>> pool = vj.nn.MaxPool2d(2)
        >>> pool(vj.arange(16).float().reshape(1, 1, 4, 4))
        tensor([[[[ 5.,  7.],
                  [13., 15.]]]])
        >>> pool
        MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
    """

    def forward(self, input: Variable) -> Variable:
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)  # fmt: skip


class MaxPool3d(_MaxPoolNd):
    """Max over (kD, kH, kW) windows of (N, C, D, H, W) (PyTorch's ``nn.MaxPool3d``).

    Example:
        >>> import varjax as vj
        >>> pool = vj.nn.MaxPool3d(2)
        >>> pool(vj.arange(8).float().reshape(1, 1, 2, 2, 2))
        tensor([[[[[7.]]]]])
        >>> pool
        MaxPool3d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
    """

    def forward(self, input: Variable) -> Variable:
        return F.max_pool3d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)  # fmt: skip


class _MaxUnpoolNd(Module):
    """Shared body of the unpooling layers: the sizes as ``n``-tuples, as PyTorch keeps them."""

    _n = 0
    _fn: Any = None

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        n = self._n
        self.kernel_size = _ntuple(kernel_size, n)
        self.stride = self.kernel_size if stride is None else _ntuple(stride, n)
        self.padding = _ntuple(padding, n)

    def forward(self, input: Variable, indices: Variable, output_size: Any = None) -> Variable:
        return type(self)._fn(input, indices, self.kernel_size, self.stride, self.padding,
                              output_size)  # fmt: skip

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """Each value at the index ``MaxPool1d(return_indices=True)`` gave it, zeros elsewhere
    (PyTorch's ``nn.MaxUnpool1d``).

    Example:
        >>> import varjax as vj
        >>> x = vj.tensor([[[1.0, 3.0, 4.0, 2.0]]])
        >>> out, idx = vj.nn.MaxPool1d(2, return_indices=True)(x)
        >>> unpool = vj.nn.MaxUnpool1d(2)
        >>> unpool(out, idx)
        tensor([[[0., 3., 4., 0.]]])
        >>> unpool
        MaxUnpool1d(kernel_size=(2,), stride=(2,), padding=(0,))
    """

    _n, _fn = 1, staticmethod(F.max_unpool1d)


class MaxUnpool2d(_MaxUnpoolNd):
    """Each value at the index ``MaxPool2d(return_indices=True)`` gave it, zeros elsewhere
    (PyTorch's ``nn.MaxUnpool2d``).

    Example:
        >>> import varjax as vj
        >>> x = vj.arange(4).float().reshape(1, 1, 2, 2)
        >>> out, idx = vj.nn.MaxPool2d(2, return_indices=True)(x)
        >>> unpool = vj.nn.MaxUnpool2d(2)
        >>> unpool(out, idx)
        tensor([[[[0., 0.],
                  [0., 3.]]]])
        >>> unpool
        MaxUnpool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))
    """

    _n, _fn = 2, staticmethod(F.max_unpool2d)


class MaxUnpool3d(_MaxUnpoolNd):
    """Each value at the index ``MaxPool3d(return_indices=True)`` gave it, zeros elsewhere
    (PyTorch's ``nn.MaxUnpool3d``).

    Example:
        >>> import varjax as vj
        >>> x = vj.arange(8).float().reshape(1, 1, 2, 2, 2)
        >>> out, idx = vj.nn.MaxPool3d(2, return_indices=True)(x)
        >>> unpool = vj.nn.MaxUnpool3d(2)
        >>> unpool(out, idx).flatten()
        tensor([0., 0., 0., 0., 0., 0., 0., 7.])
        >>> unpool
        MaxUnpool3d(kernel_size=(2, 2, 2), stride=(2, 2, 2), padding=(0, 0, 0))
    """

    _n, _fn = 3, staticmethod(F.max_unpool3d)


class _AvgPoolNd(Module):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:  # fmt: skip
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """Mean over windows of (N, C, L) (PyTorch's ``nn.AvgPool1d``).

    Example:
        >>> import varjax as vj
        >>> pool = vj.nn.AvgPool1d(2)
        >>> pool(vj.arange(6).float().reshape(1, 1, 6))
        tensor([[[0.5000, 2.5000, 4.5000]]])
        >>> pool
        AvgPool1d(kernel_size=(2,), stride=(2,), padding=(0,))
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True) -> None:  # fmt: skip
        # PyTorch keeps AvgPool1d's sizes as 1-tuples
        stride = kernel_size if stride is None else stride
        super().__init__(_ntuple(kernel_size, 1), _ntuple(stride, 1), _ntuple(padding, 1),
                         ceil_mode, count_include_pad)  # fmt: skip
        del self.divisor_override

    def forward(self, input: Variable) -> Variable:
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)  # fmt: skip


class AvgPool2d(_AvgPoolNd):
    """Mean over (kH, kW) windows of (N, C, H, W) (PyTorch's ``nn.AvgPool2d``).

    Example:
        >>> import varjax as vj
        >>> pool = vj.nn.AvgPool2d(2)
        >>> pool(vj.arange(16).float().reshape(1, 1, 4, 4))
        tensor([[[[ 2.5000,  4.5000],
                  [10.5000, 12.5000]]]])
        >>> pool
        AvgPool2d(kernel_size=2, stride=2, padding=0)
    """

    def forward(self, input: Variable) -> Variable:
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)  # fmt: skip


class AvgPool3d(_AvgPoolNd):
    """Mean over (kD, kH, kW) windows of (N, C, D, H, W) (PyTorch's ``nn.AvgPool3d``).

    Example:
        >>> import varjax as vj
        >>> pool = vj.nn.AvgPool3d(2)
        >>> pool(vj.arange(8).float().reshape(1, 1, 2, 2, 2))
        tensor([[[[[3.5000]]]]])
        >>> pool
        AvgPool3d(kernel_size=2, stride=2, padding=0)
    """

    def forward(self, input: Variable) -> Variable:
        return F.avg_pool3d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)  # fmt: skip


class _AdaptivePool(Module):
    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePool):
    """Mean over PyTorch's adaptive bins of the last dim (``nn.AdaptiveAvgPool1d``).

    Example:
        >>> import varjax as vj
        >>> pool = vj.nn.AdaptiveAvgPool1d(2)
        >>> pool(vj.arange(6).float().reshape(1, 1, 6))
        tensor([[[1., 4.]]])
        >>> pool
        AdaptiveAvgPool1d(output_size=2)
    """

    def forward(self, input: Variable) -> Variable:
        return F.adaptive_avg_pool1d(input, self.output_size)


class AdaptiveAvgPool2d(_AdaptivePool):
    """Mean over adaptive bins of the last two dims (``nn.AdaptiveAvgPool2d``).

    Example:
        >>> import varjax as vj
        >>> pool = vj.nn.AdaptiveAvgPool2d((1, 2))
        >>> pool(vj.arange(16).float().reshape(1, 1, 4, 4))
        tensor([[[[6.5000, 8.5000]]]])
        >>> pool
        AdaptiveAvgPool2d(output_size=(1, 2))
    """

    def forward(self, input: Variable) -> Variable:
        return F.adaptive_avg_pool2d(input, self.output_size)


class _AdaptiveMaxPool(_AdaptivePool):
    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__(output_size)
        self.return_indices = return_indices


class AdaptiveMaxPool1d(_AdaptiveMaxPool):
    """Max over adaptive bins of the last dim (``nn.AdaptiveMaxPool1d``).

    Example:
        >>> import varjax as vj
        >>> pool = vj.nn.AdaptiveMaxPool1d(2)
        >>> pool(vj.arange(6).float().reshape(1, 1, 6))
        tensor([[[2., 5.]]])
        >>> pool
        AdaptiveMaxPool1d(output_size=2)
    """

    def forward(self, input: Variable) -> Variable:
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(_AdaptiveMaxPool):
    """Max over adaptive bins of the last two dims (``nn.AdaptiveMaxPool2d``).

    Example:
        >>> import varjax as vj
        >>> pool = vj.nn.AdaptiveMaxPool2d((1, 2))
        >>> pool(vj.arange(16).float().reshape(1, 1, 4, 4))
        tensor([[[[13., 15.]]]])
        >>> pool
        AdaptiveMaxPool2d(output_size=(1, 2))
    """

    def forward(self, input: Variable) -> Variable:
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)


# -- resampling -----------------------------------------------------------------------------


class Upsample(Module):
    """``F.interpolate`` as a layer (PyTorch's ``nn.Upsample``).

    Example:
        >>> import varjax as vj
        >>> up = vj.nn.Upsample(scale_factor=2, mode='nearest')
        >>> up(vj.arange(3).float().reshape(1, 1, 3))
        tensor([[[0., 0., 1., 1., 2., 2.]]])
        >>> up
        Upsample(scale_factor=2.0, mode='nearest')
    """

    def __init__(self, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                 align_corners: bool | None = None,
                 recompute_scale_factor: bool | None = None) -> None:  # fmt: skip
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(f) for f in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode, self.align_corners = mode, align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: Variable) -> Variable:
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)  # fmt: skip

    def extra_repr(self) -> str:
        if self.scale_factor is not None:
            info = f"scale_factor={self.scale_factor!r}"
        else:
            info = f"size={self.size!r}"
        return f"{info}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """Nearest-neighbour 2-D upsampling (PyTorch's ``nn.UpsamplingNearest2d``).

    Example:
        >>> import varjax as vj
        >>> up = vj.nn.UpsamplingNearest2d(scale_factor=2)
        >>> up(vj.arange(4).float().reshape(1, 1, 2, 2))
        tensor([[[[0., 0., 1., 1.],
                  [0., 0., 1., 1.],
                  [2., 2., 3., 3.],
                  [2., 2., 3., 3.]]]])
        >>> up
        UpsamplingNearest2d(scale_factor=2.0, mode='nearest')
    """

    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Bilinear 2-D upsampling with ``align_corners=True`` (``nn.UpsamplingBilinear2d``).

    Example:
        >>> import varjax as vj
        >>> up = vj.nn.UpsamplingBilinear2d(size=3)
        >>> up(vj.arange(4).float().reshape(1, 1, 2, 2))
        tensor([[[[0.0000, 0.5000, 1.0000],
                  [1.0000, 1.5000, 2.0000],
                  [2.0000, 2.5000, 3.0000]]]])
        >>> up
        UpsamplingBilinear2d(size=3, mode='bilinear')
    """

    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class PixelShuffle(Module):
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r) (PyTorch's ``nn.PixelShuffle``).

    Example:
        >>> import varjax as vj
        >>> shuffle = vj.nn.PixelShuffle(2)
        >>> shuffle(vj.arange(4).float().reshape(1, 4, 1, 1))
        tensor([[[[0., 1.],
                  [2., 3.]]]])
        >>> shuffle
        PixelShuffle(upscale_factor=2)
    """

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Variable) -> Variable:
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W) (PyTorch's ``nn.PixelUnshuffle``).

    Example:
        >>> import varjax as vj
        >>> unshuffle = vj.nn.PixelUnshuffle(2)
        >>> out = unshuffle(vj.arange(4).float().reshape(1, 1, 2, 2))
        >>> out.shape
        varjax.Size([1, 4, 1, 1])
        >>> out.flatten()
        tensor([0., 1., 2., 3.])
        >>> unshuffle
        PixelUnshuffle(downscale_factor=2)
    """

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Variable) -> Variable:
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


class Unfold(Module):
    """im2col as a layer (PyTorch's ``nn.Unfold``).

    Example:
        >>> import varjax as vj
        >>> unfold = vj.nn.Unfold(kernel_size=2)
        >>> unfold(vj.arange(9).float().reshape(1, 1, 3, 3))
        tensor([[[0., 1., 3., 4.],
                 [1., 2., 4., 5.],
                 [3., 4., 6., 7.],
                 [4., 5., 7., 8.]]])
        >>> unfold
        Unfold(kernel_size=2, dilation=1, padding=0, stride=1)
    """

    def __init__(self, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
                 stride: Any = 1) -> None:  # fmt: skip
        super().__init__()
        self.kernel_size, self.dilation = kernel_size, dilation
        self.padding, self.stride = padding, stride

    def forward(self, input: Variable) -> Variable:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")  # fmt: skip


class Fold(Module):
    """col2im as a layer (PyTorch's ``nn.Fold``).

    Example:
        >>> import varjax as vj
        >>> fold = vj.nn.Fold(output_size=(3, 3), kernel_size=2)
        >>> fold(vj.ones(1, 4, 4))
        tensor([[[[1., 2., 1.],
                  [2., 4., 2.],
                  [1., 2., 1.]]]])
        >>> fold
        Fold(output_size=(3, 3), kernel_size=2, dilation=1, padding=0, stride=1)
    """

    def __init__(self, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
                 stride: Any = 1) -> None:  # fmt: skip
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input: Variable) -> Variable:
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)  # fmt: skip

    def extra_repr(self) -> str:
        return (
            f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
            f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}"
        )


# -- padding --------------------------------------------------------------------------------


class _PadNd(Module):
    _n, _mode = 2, "constant"

    def __init__(self, padding: Any, value: float = 0.0) -> None:
        super().__init__()
        self.padding = _ntuple(padding, 2 * self._n)
        self.value = value

    def forward(self, input: Variable) -> Variable:
        return F.pad(input, self.padding, self._mode, self.value)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ConstantPad1d(_PadNd):
    """Pad the last dim with ``value`` (PyTorch's ``nn.ConstantPad1d``).

    Example:
        >>> import varjax as vj
        >>> pad = vj.nn.ConstantPad1d(1, 9.0)
        >>> pad(vj.arange(3).float().reshape(1, 3))
        tensor([[9., 0., 1., 2., 9.]])
        >>> pad
        ConstantPad1d(padding=(1, 1), value=9.0)
    """

    _n = 1

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad2d(ConstantPad1d):
    """Pad the last two dims with ``value`` (PyTorch's ``nn.ConstantPad2d``).

    Example:
        >>> import varjax as vj
        >>> pad = vj.nn.ConstantPad2d((1, 0, 0, 1), 9.0)
        >>> pad(vj.arange(4).float().reshape(1, 2, 2))
        tensor([[[9., 0., 1.],
                 [9., 2., 3.],
                 [9., 9., 9.]]])
        >>> pad
        ConstantPad2d(padding=(1, 0, 0, 1), value=9.0)
    """

    _n = 2


class ZeroPad2d(_PadNd):
    """Pad the last two dims with zeros (PyTorch's ``nn.ZeroPad2d``).

    Example:
        >>> import varjax as vj
        >>> pad = vj.nn.ZeroPad2d((1, 1, 0, 0))
        >>> pad(vj.arange(4).float().reshape(1, 2, 2))
        tensor([[[0., 0., 1., 0.],
                 [0., 2., 3., 0.]]])
        >>> pad
        ZeroPad2d((1, 1, 0, 0))
    """

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)


class ReflectionPad2d(ZeroPad2d):
    """Pad the last two dims by reflection (PyTorch's ``nn.ReflectionPad2d``).

    Example:
        >>> import varjax as vj
        >>> pad = vj.nn.ReflectionPad2d((1, 1, 0, 0))
        >>> pad(vj.arange(6).float().reshape(1, 2, 3))
        tensor([[[1., 0., 1., 2., 1.],
                 [4., 3., 4., 5., 4.]]])
        >>> pad
        ReflectionPad2d((1, 1, 0, 0))
    """

    _mode = "reflect"


class ReplicationPad2d(ZeroPad2d):
    """Pad the last two dims by repeating the edge (PyTorch's ``nn.ReplicationPad2d``).

    Example:
        >>> import varjax as vj
        >>> pad = vj.nn.ReplicationPad2d((1, 1, 0, 0))
        >>> pad(vj.arange(6).float().reshape(1, 2, 3))
        tensor([[[0., 0., 1., 2., 2.],
                 [3., 3., 4., 5., 5.]]])
        >>> pad
        ReplicationPad2d((1, 1, 0, 0))
    """

    _mode = "replicate"
