"""``bilinear``: ``x1^T A x2 + b`` for each output feature, one ``einsum`` table op."""

from __future__ import annotations

from typing import Any

from ..._functions import einsum
from ..._variable import Variable
from ..._variable import as_variable as _var

__all__ = ["bilinear"]


def bilinear(input1: Any, input2: Any, weight: Any, bias: Any = None) -> Variable:
    """``y[..., o] = sum_ij input1[..., i] * weight[o, i, j] * input2[..., j] + bias[o]``,
    PyTorch's ``F.bilinear``, with weight (out_features, in1_features, in2_features).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.bilinear(vj.ones(2, 3), vj.ones(2, 4), vj.ones(5, 3, 4)).shape
        varjax.Size([2, 5])
    """
    x1, x2, w = _var(input1), _var(input2), _var(weight)
    if tuple(x1.shape[:-1]) != tuple(x2.shape[:-1]):
        raise RuntimeError(
            f"bilinear(): input batch dimensions do not match: got {tuple(x1.shape[:-1])} and "
            f"{tuple(x2.shape[:-1])}"
        )
    if w.ndim != 3 or (w.shape[1], w.shape[2]) != (x1.shape[-1], x2.shape[-1]):
        raise RuntimeError(
            f"bilinear(): weight of shape {tuple(w.shape)} does not match the inputs' feature "
            f"sizes {x1.shape[-1]} and {x2.shape[-1]}; expected (out, {x1.shape[-1]}, "
            f"{x2.shape[-1]})"
        )
    out = einsum("...i,oij,...j->...o", x1, w, x2)
    return out if bias is None else out + bias
