"""Convolutions (1-D, 3-D, transposed), pooling (1-D, 3-D, adaptive), resampling
(``interpolate``, ``grid_sample``, pixel shuffles) and ``unfold``/``fold`` for
``nn.functional``.

Convolutions, window pools, resampling and im2col are table ops (``P.conv_nd``,
``P.max_pool_nd``, ``P.upsample``, ...) whose JAX functions take the layout as static
params; pixel shuffles are reshapes and permutes. Arguments are checked here, so that errors
name PyTorch's values before anything is recorded.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..._methods.index import check_index_bounds
from ..._ops import P
from ..._variable import Variable
from ..._variable import as_variable as _var
from .basic import _apply
from .basic import _pool as _pool2d

__all__ = [
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "avg_pool1d", "avg_pool2d", "avg_pool3d", "conv1d", "conv3d", "conv_transpose1d",
    "conv_transpose2d", "conv_transpose3d", "fold", "grid_sample", "interpolate", "max_pool1d",
    "max_pool2d", "max_pool3d", "max_unpool1d", "max_unpool2d", "max_unpool3d", "pixel_shuffle",
    "pixel_unshuffle", "unfold", "upsample",
]  # fmt: skip


def _tuple(v: Any, n: int, name: str) -> tuple[int, ...]:
    """An int or a sequence of ``n`` ints as an ``n``-tuple (PyTorch's _ntuple)."""
    if isinstance(v, numbers.Integral):
        return (int(v),) * n
    v = tuple(int(a) for a in v)
    if len(v) == 1:
        return v * n
    if len(v) != n:
        raise ValueError(f"{name} must be an int or a sequence of {n} ints, got {v}")
    return v


# -- convolutions ---------------------------------------------------------------------------


def _check_conv(name: str, x: Variable, w: Variable, n: int, in_channels: int, groups: int):
    if x.ndim != n + 2 or w.ndim != n + 2:
        raise RuntimeError(
            f"{name} expects a {n + 2}-D input (N, C, {'DHW'[3 - n :] if n < 3 else 'DHW'}) and "
            f"a {n + 2}-D weight, got {x.ndim}-D and {w.ndim}-D; add a batch dim with "
            f"unsqueeze(0)"
        )
    if x.shape[1] != in_channels:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(w.shape)}, expected input"
            f"{list(x.shape)} to have {in_channels} channels, but got {x.shape[1]} channels "
            f"instead"
        )


def _bias(out: Variable, bias: Any, n: int) -> Variable:
    return out if bias is None else out + _var(bias).reshape(1, -1, *([1] * n))


def _unbatched(fn):
    """PyTorch's unbatched (C, ...) convolution input: run as a batch of one."""

    def run(name, n, input, weight, *args):
        x = _var(input)
        if x.ndim == n + 1:
            return fn(name, n, x.unsqueeze(0), weight, *args).squeeze(0)
        return fn(name, n, x, weight, *args)

    return run


@_unbatched
def _conv(name, n, input, weight, bias, stride, padding, dilation, groups) -> Variable:
    x, w = _var(input), _var(weight)
    _check_conv(name, x, w, n, w.shape[1] * groups if w.ndim == n + 2 else -1, groups)
    dilation = _tuple(dilation, n, "dilation")
    if isinstance(padding, str):
        pad = padding.upper()
        if pad not in ("SAME", "VALID"):
            raise ValueError(f"padding must be 'same', 'valid' or ints, got {padding!r}")
        if pad == "SAME" and _tuple(stride, n, "stride") != (1,) * n:
            raise RuntimeError("padding='same' is not supported for strided convolutions")
    else:
        pad = tuple((p, p) for p in _tuple(padding, n, "padding"))
        padded = [s + 2 * p for s, (p, _) in zip(x.shape[2:], pad)]
        kernel = [(k - 1) * d + 1 for k, d in zip(w.shape[2:], dilation)]
        if any(k > s for k, s in zip(kernel, padded)):
            raise RuntimeError(
                f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). "
                f"Kernel size: ({' x '.join(map(str, kernel))}). Kernel size can't be greater "
                f"than actual input size"
            )
    params = (("dilation", dilation), ("groups", int(groups)), ("padding", pad),
              ("stride", _tuple(stride, n, "stride")))  # fmt: skip
    return _bias(_apply(P.conv_nd, x, w, params=params), bias, n)


def conv1d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Variable:  # fmt: skip
    """1-D convolution (cross-correlation) of (N, C, L) by weight (O, C/groups, k)
    (PyTorch's ``F.conv1d``); ``padding`` may be ints, ``'same'`` or ``'valid'``.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> x = vj.arange(5.0).reshape(1, 1, 5)
        >>> F.conv1d(x, vj.ones(1, 1, 3))
        tensor([[[3., 6., 9.]]])
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Variable:  # fmt: skip
    """3-D convolution of (N, C, D, H, W) by weight (O, C/groups, kD, kH, kW)
    (PyTorch's ``F.conv3d``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> x = vj.arange(8.0).reshape(1, 1, 2, 2, 2)
        >>> F.conv3d(x, vj.ones(1, 1, 2, 2, 2))
        tensor([[[[[28.]]]]])
    """
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


@_unbatched
def _conv_t(name, n, input, weight, bias, stride, padding, output_padding, groups, dilation):
    x, w = _var(input), _var(weight)
    _check_conv(name, x, w, n, w.shape[0] if w.ndim == n + 2 else -1, groups)
    stride, dilation = _tuple(stride, n, "stride"), _tuple(dilation, n, "dilation")
    output_padding = _tuple(output_padding, n, "output_padding")
    if isinstance(padding, str):
        raise NotImplementedError(f"{name}: string padding is not supported; pass ints")
    if any(op >= max(s, d) for op, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError(
            f"output padding must be smaller than either stride or dilation, but got "
            f"output_padding={output_padding}, stride={stride}, dilation={dilation}"
        )
    padding = _tuple(padding, n, "padding")
    out = [(s - 1) * st - 2 * p + d * (k - 1) + op + 1 for s, st, p, d, k, op in
           zip(x.shape[2:], stride, padding, dilation, w.shape[2:], output_padding)]  # fmt: skip
    if min(out) < 1:
        raise RuntimeError(f"{name}: the output size {tuple(out)} is too small; use less padding")
    params = (("dilation", dilation), ("groups", int(groups)),
              ("output_padding", output_padding), ("padding", padding),
              ("stride", stride))  # fmt: skip
    return _bias(_apply(P.conv_transpose, x, w, params=params), bias, n)


def conv_transpose1d(input: Any, weight: Any, bias: Any = None, stride: Any = 1,
                     padding: Any = 0, output_padding: Any = 0, groups: int = 1,
                     dilation: Any = 1) -> Variable:  # fmt: skip
    """Transposed 1-D convolution (the gradient of ``conv1d``) of (N, C, L) by weight
    (C, O/groups, k) (PyTorch's ``F.conv_transpose1d``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.conv_transpose1d(vj.tensor([[[1.0, 2.0]]]), vj.ones(1, 1, 2))
        tensor([[[1., 3., 2.]]])
    """
    return _conv_t("conv_transpose1d", 1, input, weight, bias, stride, padding,
                   output_padding, groups, dilation)  # fmt: skip


def conv_transpose2d(input: Any, weight: Any, bias: Any = None, stride: Any = 1,
                     padding: Any = 0, output_padding: Any = 0, groups: int = 1,
                     dilation: Any = 1) -> Variable:  # fmt: skip
    """Transposed 2-D convolution of (N, C, H, W) by weight (C, O/groups, kH, kW)
    (PyTorch's ``F.conv_transpose2d``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> x = vj.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
        >>> F.conv_transpose2d(x, vj.ones(1, 1, 2, 2), stride=2)
        tensor([[[[1., 1., 2., 2.],
                  [1., 1., 2., 2.],
                  [3., 3., 4., 4.],
                  [3., 3., 4., 4.]]]])
    """
    return _conv_t("conv_transpose2d", 2, input, weight, bias, stride, padding,
                   output_padding, groups, dilation)  # fmt: skip


def conv_transpose3d(input: Any, weight: Any, bias: Any = None, stride: Any = 1,
                     padding: Any = 0, output_padding: Any = 0, groups: int = 1,
                     dilation: Any = 1) -> Variable:  # fmt: skip
    """Transposed 3-D convolution of (N, C, D, H, W) by weight (C, O/groups, kD, kH, kW)
    (PyTorch's ``F.conv_transpose3d``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.conv_transpose3d(vj.ones(1, 1, 1, 1, 2), vj.ones(1, 1, 1, 1, 2))
        tensor([[[[[1., 2., 1.]]]]])
    """
    return _conv_t("conv_transpose3d", 3, input, weight, bias, stride, padding,
                   output_padding, groups, dilation)  # fmt: skip


# -- pooling --------------------------------------------------------------------------------


def _pool(kind, n, input, kernel_size, stride, padding, dilation, ceil_mode,
          count_include_pad=True, divisor=None) -> Variable:  # fmt: skip
    x = _var(input)
    if x.ndim not in (n + 1, n + 2):
        raise RuntimeError(f"{kind}_pool{n}d expects a {n + 1}-D or {n + 2}-D input, got "
                           f"{x.ndim}-D")  # fmt: skip
    k = _tuple(kernel_size, n, "kernel_size")
    s = k if stride is None or stride == () else _tuple(stride, n, "stride")
    p, d = _tuple(padding, n, "padding"), _tuple(dilation, n, "dilation")
    if any(pi > ki // 2 for pi, ki in zip(p, k)):
        raise RuntimeError(
            f"pad should be at most half of effective kernel size, but got pad={p}, kernel_size={k}"
        )
    for size, ki, si, pi, di in zip(x.shape[-n:], k, s, p, d):
        span = di * (ki - 1) + 1
        out = (-(-(size + 2 * pi - span) // si) if ceil_mode else (size + 2 * pi - span) // si) + 1
        if out < 1:
            raise RuntimeError(
                f"Given input size: {tuple(x.shape[-n - 1 :])}. Calculated output size is "
                f"too small (kernel_size={k}, stride={s}, padding={p}, dilation={d})"
            )
    params = (("ceil_mode", bool(ceil_mode)), ("count_include_pad", bool(count_include_pad)),
              ("dilation", d), ("kernel", k), ("padding", p), ("stride", s))  # fmt: skip
    if divisor is not None:
        params += (("divisor", divisor),)
    return _apply(P.max_pool_nd if kind == "max" else P.avg_pool_nd, x, params=params)


def _max(n, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    """Max pooling; with ``return_indices``, (values, the flat spatial index of each window's
    first maximum), PyTorch's ``MaxPool*d(return_indices=True)`` pair."""
    if n == 2 and _tuple(dilation, 2, "dilation") == (1, 1):
        out = _pool2d("max", input, kernel_size, stride, padding, ceil_mode)
    else:
        out = _pool("max", n, input, kernel_size, stride, padding, dilation, ceil_mode)
    if not return_indices:
        return out
    k = _tuple(kernel_size, n, "kernel_size")
    s = k if stride is None or stride == () else _tuple(stride, n, "stride")
    params = (("ceil_mode", bool(ceil_mode)), ("dilation", _tuple(dilation, n, "dilation")),
              ("kernel", k), ("padding", _tuple(padding, n, "padding")), ("stride", s))  # fmt: skip
    return out, _apply(P.max_pool_indices, _var(input), params=params)


def max_pool1d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Variable:  # fmt: skip
    """Max over windows of a (N, C, L) or (C, L) input (PyTorch's ``F.max_pool1d``); with
    ``return_indices``, also where each maximum is (for ``max_unpool1d``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.max_pool1d(vj.tensor([[[1.0, 3.0, 2.0, 5.0, 4.0]]]), 2)
        tensor([[[3., 5.]]])
    """
    return _max(1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Variable:  # fmt: skip
    """Max over (kH, kW) windows of a (N, C, H, W) or (C, H, W) input (PyTorch's
    ``F.max_pool2d``, same arguments in the same order).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.max_pool2d(vj.arange(16.0).reshape(1, 1, 4, 4), 2)
        tensor([[[[ 5.,  7.],
                  [13., 15.]]]])
    """
    return _max(2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Variable:  # fmt: skip
    """Max over (kD, kH, kW) windows of a (N, C, D, H, W) or (C, D, H, W) input
    (PyTorch's ``F.max_pool3d``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.max_pool3d(vj.arange(8.0).reshape(1, 1, 2, 2, 2), 2)
        tensor([[[[[7.]]]]])
    """
    return _max(3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _avg(n, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
         divisor_override) -> Variable:  # fmt: skip
    if divisor_override is not None:
        if not isinstance(divisor_override, numbers.Integral) or divisor_override == 0:
            raise RuntimeError(f"avg_pool{n}d: divisor must be not zero, got "
                               f"{divisor_override!r}")  # fmt: skip
        divisor_override = int(divisor_override)
    elif n == 2 and count_include_pad:
        return _pool2d("avg", input, kernel_size, stride, padding, ceil_mode)
    return _pool("avg", n, input, kernel_size, stride, padding, 1, ceil_mode, count_include_pad,
                 divisor_override)  # fmt: skip


def avg_pool1d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True) -> Variable:  # fmt: skip
    """Mean over windows of a (N, C, L) or (C, L) input (PyTorch's ``F.avg_pool1d``);
    ``count_include_pad`` counts the zero padding in the divisor.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.avg_pool1d(vj.tensor([[[1.0, 3.0, 2.0, 6.0]]]), 2)
        tensor([[[2., 4.]]])
    """
    return _avg(1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Variable:  # fmt: skip
    """Mean over (kH, kW) windows of a (N, C, H, W) or (C, H, W) input (PyTorch's
    ``F.avg_pool2d``): ``count_include_pad`` counts the zero padding in the divisor, and
    ``divisor_override`` divides every window's sum by itself instead.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.avg_pool2d(vj.arange(16.0).reshape(1, 1, 4, 4), 2)
        tensor([[[[ 2.5000,  4.5000],
                  [10.5000, 12.5000]]]])
    """
    return _avg(2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                divisor_override)  # fmt: skip


def avg_pool3d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Variable:  # fmt: skip
    """Mean over (kD, kH, kW) windows of a (N, C, D, H, W) or (C, D, H, W) input
    (PyTorch's ``F.avg_pool3d``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.avg_pool3d(vj.arange(8.0).reshape(1, 1, 2, 2, 2), 2)
        tensor([[[[[3.5000]]]]])
    """
    return _avg(3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                divisor_override)  # fmt: skip


def _max_unpool(n: int, input: Any, indices: Any, kernel_size: Any, stride: Any,
                padding: Any, output_size: Any) -> Variable:  # fmt: skip
    """Each value of ``input`` put at its flat spatial index in zeros of the output size
    (PyTorch's ``max_unpool*d``: the inverse of max pooling with ``return_indices``)."""
    x, idx = _var(input), _var(indices)
    name = f"max_unpool{n}d"
    if x.ndim not in (n + 1, n + 2):
        raise RuntimeError(f"{name}: expected a {n + 1}-D or {n + 2}-D input, got {x.ndim}-D")
    if tuple(idx.shape) != tuple(x.shape) or np.issubdtype(idx.dtype, np.floating):
        raise RuntimeError(f"{name}: expected integer indices of the input's shape "
                           f"{list(x.shape)}, got {idx.dtype} of shape "
                           f"{list(idx.shape)}")  # fmt: skip
    k = _tuple(kernel_size, n, "kernel_size")
    s = k if stride is None else _tuple(stride, n, "stride")
    p = _tuple(padding, n, "padding")
    default = [(i - 1) * si - 2 * pi + ki for i, si, pi, ki in zip(x.shape[-n:], s, p, k)]
    size = default if output_size is None else [int(v) for v in output_size]
    if len(size) == n + 2:
        size = size[2:]
    if len(size) != n:
        raise ValueError(f"output_size should be a sequence containing {n} or {n + 2} "
                         f"elements, but it has a length of '{len(size)}'")  # fmt: skip
    for i, (want, d, si) in enumerate(zip(size, default, s)):
        if not d - si < want < d + si:
            raise ValueError(f'invalid output_size "{size}" (dim {i} must be between '
                             f"{d - si} and {d + si})")  # fmt: skip
    total = math.prod(size)
    if idx._node.value is not None:  # a pooling's pending indices are in bounds by making
        check_index_bounds(idx, total, x.ndim - 1, allow_negative=False)
    lead = tuple(x.shape[: x.ndim - n])
    flat = _apply(P.max_unpool, x.reshape(*lead, -1), idx.reshape(*lead, -1),
                  params=(("total", total),))  # fmt: skip
    return flat.reshape(*lead, *size)


def max_unpool1d(input: Any, indices: Any, kernel_size: Any, stride: Any = None,
                 padding: Any = 0, output_size: Any = None) -> Variable:  # fmt: skip
    """The inverse of ``max_pool1d(return_indices=True)`` (PyTorch's ``F.max_unpool1d``):
    each value at its index, zeros elsewhere.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> x = vj.tensor([[[1.0, 3.0, 4.0, 2.0]]])
        >>> out, idx = F.max_pool1d(x, 2, return_indices=True)
        >>> idx, F.max_unpool1d(out, idx, 2)
        (tensor([[[1, 2]]]), tensor([[[0., 3., 4., 0.]]]))
    """
    return _max_unpool(1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input: Any, indices: Any, kernel_size: Any, stride: Any = None,
                 padding: Any = 0, output_size: Any = None) -> Variable:  # fmt: skip
    """The inverse of ``max_pool2d(return_indices=True)`` (PyTorch's ``F.max_unpool2d``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> x = vj.tensor([[[[1.0, 5.0], [3.0, 2.0]]]])
        >>> out, idx = F.max_pool2d(x, 2, return_indices=True)
        >>> idx, F.max_unpool2d(out, idx, 2)
        (tensor([[[[1]]]]), tensor([[[[0., 5.],
                  [0., 0.]]]]))
    """
    return _max_unpool(2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input: Any, indices: Any, kernel_size: Any, stride: Any = None,
                 padding: Any = 0, output_size: Any = None) -> Variable:  # fmt: skip
    """The inverse of ``max_pool3d(return_indices=True)`` (PyTorch's ``F.max_unpool3d``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> x = vj.arange(8.0).reshape(1, 1, 2, 2, 2)
        >>> out, idx = F.max_pool3d(x, 2, return_indices=True)
        >>> idx.flatten(), F.max_unpool3d(out, idx, 2).flatten()
        (tensor([7]), tensor([0., 0., 0., 0., 0., 0., 0., 7.]))
    """
    return _max_unpool(3, input, indices, kernel_size, stride, padding, output_size)


def _adaptive(kind: str, n: int, input: Any, output_size: Any) -> Variable:
    x = _var(input)
    if x.ndim not in (n + 1, n + 2) or 0 in tuple(x.shape[-n:]):
        raise RuntimeError(
            f"adaptive_{kind}_pool{n}d expects a {n + 1}-D or {n + 2}-D input with non-zero "
            f"spatial sizes, got size {list(x.shape)}"
        )
    sizes = (output_size,) * n if isinstance(output_size, numbers.Integral) else output_size
    sizes = tuple(int(x.shape[x.ndim - n + i]) if s is None else int(s)
                  for i, s in enumerate(tuple(sizes)))  # fmt: skip
    if len(sizes) != n or min(sizes) < 1:
        raise ValueError(f"adaptive_{kind}_pool{n}d: output_size must be {n} positive ints, "
                         f"got {output_size}")  # fmt: skip
    op = P.adaptive_max_pool if kind == "max" else P.adaptive_avg_pool
    return _apply(op, x, params=(("output_size", sizes),))


def adaptive_avg_pool1d(input: Any, output_size: Any) -> Variable:
    """Mean over PyTorch's adaptive bins [floor(i*L/out), ceil((i+1)*L/out)) of the last dim
    (PyTorch's ``F.adaptive_avg_pool1d``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.adaptive_avg_pool1d(vj.tensor([[[1.0, 2.0, 3.0, 4.0, 5.0]]]), 2)
        tensor([[[2., 4.]]])
    """
    return _adaptive("avg", 1, input, output_size)


def adaptive_avg_pool2d(input: Any, output_size: Any) -> Variable:
    """Mean over adaptive bins of the last two dims (PyTorch's ``F.adaptive_avg_pool2d``);
    ``None`` in ``output_size`` keeps that dim's size.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.adaptive_avg_pool2d(vj.arange(16.0).reshape(1, 1, 4, 4), (1, None))
        tensor([[[[6., 7., 8., 9.]]]])
    """
    return _adaptive("avg", 2, input, output_size)


def adaptive_max_pool1d(input: Any, output_size: Any, return_indices: bool = False) -> Variable:
    """Max over adaptive bins of the last dim (PyTorch's ``F.adaptive_max_pool1d``); with
    ``return_indices``, also where each maximum is.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> x = vj.tensor([[[1.0, 4.0, 2.0, 3.0, 5.0]]])
        >>> F.adaptive_max_pool1d(x, 2, return_indices=True)
        (tensor([[[4., 5.]]]), tensor([[[1, 4]]]))
    """
    return _adaptive_max(1, input, output_size, return_indices)


def adaptive_max_pool2d(input: Any, output_size: Any, return_indices: bool = False) -> Variable:
    """Max over adaptive bins of the last two dims (PyTorch's ``F.adaptive_max_pool2d``);
    with ``return_indices``, also where each maximum is.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.adaptive_max_pool2d(vj.arange(16.0).reshape(1, 1, 4, 4), 2)
        tensor([[[[ 5.,  7.],
                  [13., 15.]]]])
    """
    return _adaptive_max(2, input, output_size, return_indices)


def _adaptive_max(n: int, input: Any, output_size: Any, return_indices: bool) -> Any:
    out = _adaptive("max", n, input, output_size)
    if not return_indices:
        return out
    sizes = tuple(int(s) for s in out.shape[out.ndim - n :])
    return out, _apply(P.adaptive_max_indices, _var(input), params=(("output_size", sizes),))


# -- resampling -----------------------------------------------------------------------------

_MODE_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


def _out_sizes(x: Variable, n: int, size: Any, scale_factor: Any) -> tuple[tuple, tuple]:
    """(output sizes, the scales PyTorch's kernels use: None where ``size`` was given)."""
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        sizes = (size,) * n if isinstance(size, numbers.Integral) else tuple(size)
        if len(sizes) != n:
            raise ValueError(f"Input and output must have the same number of spatial "
                             f"dimensions, but got input with spatial dimensions of "
                             f"{list(x.shape[2:])} and output size of {list(sizes)}")  # fmt: skip
        return tuple(int(s) for s in sizes), (None,) * n
    scales = (scale_factor,) * n if isinstance(scale_factor, numbers.Real) else tuple(
        scale_factor)  # fmt: skip
    if len(scales) != n:
        raise ValueError(f"scale_factor must have {n} entries for a {x.ndim}-D input, "
                         f"got {scale_factor}")  # fmt: skip
    sizes = tuple(math.floor(s * float(f)) for s, f in zip(x.shape[2:], scales))
    return sizes, tuple(float(f) for f in scales)


def interpolate(input: Any, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Variable:  # fmt: skip
    """Resize the spatial dims of (N, C, ...) with ``mode`` 'nearest' (PyTorch's floor rule),
    'nearest-exact', 'area' (adaptive average pooling), 'linear', 'bilinear', 'bicubic'
    (A = -0.75) or 'trilinear', to ``size`` or by ``scale_factor`` (PyTorch's
    ``F.interpolate``, same source coordinates).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.interpolate(vj.tensor([[[0.0, 1.0]]]), scale_factor=2, mode="linear")
        tensor([[[0.0000, 0.2500, 0.7500, 1.0000]]])
    """
    x = _var(input)
    n = x.ndim - 2
    if mode not in ("nearest", "nearest-exact", "area", *_MODE_DIMS):
        raise NotImplementedError(
            f"interpolate: mode {mode!r} is not supported; use nearest, "
            f"nearest-exact, area, linear, bilinear, bicubic or trilinear"
        )
    if mode in _MODE_DIMS and n != _MODE_DIMS[mode]:
        raise NotImplementedError(f"Got {x.ndim}D input, but {mode} mode needs "
                                  f"{_MODE_DIMS[mode] + 2}D input")  # fmt: skip
    if n < 1:
        raise ValueError(f"interpolate expects an input of shape (N, C, ...), got {x.ndim}-D")
    if align_corners is not None and mode not in _MODE_DIMS:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")  # fmt: skip
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported in varjax")
    sizes, scales = _out_sizes(x, n, size, scale_factor)
    if recompute_scale_factor:
        scales = (None,) * n
    if min(sizes) < 1:
        raise ValueError(f"interpolate: output size {sizes} must be positive")
    if mode == "area":  # PyTorch's area mode is adaptive average pooling to the output size
        return _apply(P.adaptive_avg_pool, x, params=(("output_size", sizes),))
    kind = "cubic" if mode == "bicubic" else "linear" if mode in _MODE_DIMS else mode
    params = (("align_corners", bool(align_corners)), ("mode", kind),
              ("output_size", sizes), ("scales", scales))  # fmt: skip
    return _apply(P.upsample, x, params=params)


def upsample(input: Any, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
             align_corners: bool | None = None) -> Variable:  # fmt: skip
    """PyTorch's deprecated ``F.upsample``: ``interpolate`` with the same arguments.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")  # deprecated, as in PyTorch
        ...     F.upsample(vj.tensor([[[1.0, 2.0]]]), scale_factor=2)
        tensor([[[1., 1., 2., 2.]]])
    """
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` "
                  "instead.", UserWarning, stacklevel=2)  # fmt: skip
    return interpolate(input, size, scale_factor, mode, align_corners)


def grid_sample(input: Any, grid: Any, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners: bool | None = None) -> Variable:  # fmt: skip
    """Sample (N, C, H, W) at the (x, y) locations in [-1, 1] of ``grid`` (N, Ho, Wo, 2)
    (PyTorch's ``F.grid_sample``); differentiable in the input and, for bilinear, the grid.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> x = vj.arange(4.0).reshape(1, 1, 2, 2)
        >>> grid = vj.tensor([[[[-1.0, -1.0], [0.0, 0.0], [1.0, 1.0]]]])
        >>> F.grid_sample(x, grid, align_corners=True)
        tensor([[[[0.0000, 1.5000, 3.0000]]]])
    """
    x, g = _var(input), _var(grid)
    if mode not in ("bilinear", "nearest"):
        raise NotImplementedError(f"grid_sample: mode {mode!r} is not supported; use "
                                  f"'bilinear' or 'nearest'")  # fmt: skip
    if padding_mode not in ("zeros", "border"):
        raise NotImplementedError(f"grid_sample: padding_mode {padding_mode!r} is not "
                                  f"supported; use 'zeros' or 'border'")  # fmt: skip
    if x.ndim != 4 or g.ndim != 4 or g.shape[-1] != 2 or g.shape[0] != x.shape[0]:
        raise RuntimeError(
            f"grid_sample expects a 4-D input (N, C, H, W) and a grid "
            f"(N, H_out, W_out, 2), got {list(x.shape)} and {list(g.shape)}"
        )
    params = (("align_corners", bool(align_corners)), ("mode", mode),
              ("padding_mode", padding_mode))  # fmt: skip
    return _apply(P.grid_sample, x, g, params=params)


def pixel_shuffle(input: Any, upscale_factor: int) -> Variable:
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r) (PyTorch's ``F.pixel_shuffle``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.pixel_shuffle(vj.arange(4.0).reshape(1, 4, 1, 1), 2)
        tensor([[[[0., 1.],
                  [2., 3.]]]])
    """
    x, r = _var(input), int(upscale_factor)
    if x.ndim < 3 or x.shape[-3] % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)="
                           f"{x.shape[-3] if x.ndim >= 3 else None} is not divisible by "
                           f"{r * r}")  # fmt: skip
    *lead, c, h, w = x.shape
    b = len(lead)
    y = x.reshape(*lead, c // (r * r), r, r, h, w)
    y = y.permute(*range(b), b, b + 3, b + 1, b + 4, b + 2)
    return y.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Any, downscale_factor: int) -> Variable:
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W), the inverse of ``pixel_shuffle``
    (PyTorch's ``F.pixel_unshuffle``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.pixel_unshuffle(vj.arange(4.0).reshape(1, 1, 2, 2), 2).shape
        varjax.Size([1, 4, 1, 1])
    """
    x, r = _var(input), int(downscale_factor)
    if x.ndim < 3 or x.shape[-1] % r or x.shape[-2] % r:
        raise RuntimeError(f"pixel_unshuffle expects height and width to be divisible by "
                           f"downscale_factor={r}, got size {list(x.shape)}")  # fmt: skip
    *lead, c, h, w = x.shape
    b = len(lead)
    y = x.reshape(*lead, c, h // r, r, w // r, r)
    y = y.permute(*range(b), b, b + 2, b + 4, b + 1, b + 3)
    return y.reshape(*lead, c * r * r, h // r, w // r)


# -- im2col ---------------------------------------------------------------------------------


def _patch_params(kernel_size, dilation, padding, stride) -> tuple:
    return (("dilation", _tuple(dilation, 2, "dilation")),
            ("kernel", _tuple(kernel_size, 2, "kernel_size")),
            ("padding", _tuple(padding, 2, "padding")),
            ("stride", _tuple(stride, 2, "stride")))  # fmt: skip


def _blocks(size: Sequence[int], params: tuple) -> list[int]:
    d, k, p, s = (v for _, v in params)
    return [(n + 2 * pi - di * (ki - 1) - 1) // si + 1
            for n, ki, di, pi, si in zip(size, k, d, p, s)]  # fmt: skip


def unfold(input: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
           stride: Any = 1) -> Variable:  # fmt: skip
    """im2col: sliding (kH, kW) blocks of (N, C, H, W) as columns, (N, C*kH*kW, L)
    (PyTorch's ``F.unfold``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.unfold(vj.arange(9.0).reshape(1, 1, 3, 3), 2)
        tensor([[[0., 1., 3., 4.],
                 [1., 2., 4., 5.],
                 [3., 4., 6., 7.],
                 [4., 5., 7., 8.]]])
    """
    x = _var(input)
    squeeze = x.ndim == 3
    if x.ndim not in (3, 4):
        raise RuntimeError(f"Input Error: Only 3D or 4D input Tensors are supported "
                           f"(got {x.ndim}D)")  # fmt: skip
    x = x.unsqueeze(0) if squeeze else x
    params = _patch_params(kernel_size, dilation, padding, stride)
    if min(_blocks(x.shape[2:], params)) < 1:
        raise RuntimeError(f"unfold: no sliding block fits input of size {list(x.shape)} "
                           f"with {dict(params)}")  # fmt: skip
    out = _apply(P.unfold, x, params=params)
    return out.squeeze(0) if squeeze else out


def fold(input: Any, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
         stride: Any = 1) -> Variable:  # fmt: skip
    """col2im, the adjoint of ``unfold``: columns (N, C*kH*kW, L) summed back into
    (N, C, *output_size), overlapping entries added (PyTorch's ``F.fold``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.fold(vj.ones(1, 4, 4), output_size=3, kernel_size=2)
        tensor([[[[1., 2., 1.],
                  [2., 4., 2.],
                  [1., 2., 1.]]]])
    """
    x = _var(input)
    squeeze = x.ndim == 2
    if x.ndim not in (2, 3):
        raise RuntimeError(f"Input Error: Only unbatched (2D) or batched (3D) input Tensors "
                           f"are supported (got {x.ndim}D)")  # fmt: skip
    x = x.unsqueeze(0) if squeeze else x
    size = _tuple(output_size, 2, "output_size")
    params = _patch_params(kernel_size, dilation, padding, stride)
    kk = math.prod(dict(params)["kernel"])
    blocks = _blocks(size, params)
    if x.shape[1] % kk or x.shape[2] != math.prod(blocks):
        raise RuntimeError(
            f"fold: expected input of size (N, C*{kk}, {math.prod(blocks)}) for "
            f"output_size={size} and {dict(params)}, got {list(x.shape)}"
        )
    out = _apply(P.fold, x, params=(("output_size", size), *params))
    return out.squeeze(0) if squeeze else out
