"""``embedding_bag``: sums, means or maxima of bags of embedding rows, composed from table
ops (the bags are a membership matrix built from the offsets, so nothing is read back)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._creation import arange, tensor
from ..._functions import cat, where
from ..._variable import Variable
from ..._variable import as_variable as _var
from .basic import _padding_index, embedding

__all__ = ["embedding_bag"]

_MODES = ("sum", "mean", "max")


def _flat_bags(idx: Variable, offsets: Any, include_last_offset: bool):
    """(1-D indices, bag starts, bag ends) for a 2-D input or a 1-D input with offsets."""
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError(
                "if input is 2D, then offsets has to be None, as input is treated is a "
                "mini-batch of fixed length sequences. However, found offsets of type Tensor"
            )
        b, n = idx.shape
        starts = tensor(np.arange(0, b * n, n, dtype=np.int64))
        return idx.reshape(-1), starts, starts + n
    if idx.ndim != 1:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {idx.ndim}")
    if offsets is None:
        raise ValueError("offsets has to be a 1D Tensor but got None")
    off = _var(offsets)
    if off.ndim != 1:
        raise ValueError("offsets has to be a 1D Tensor")
    total = tensor(np.array([idx.shape[0]], dtype=np.int64)).to(off.dtype)
    if include_last_offset:
        return idx, off[:-1], off[1:]
    return idx, off, cat([off[1:], total])


def _check_bag_args(mode: str, per_sample_weights: Any, max_norm: Any, scale_grad_by_freq: bool,
                    sparse: bool) -> None:  # fmt: skip
    if mode not in _MODES:
        raise ValueError(f"mode has to be one of sum, mean or max, got {mode!r}")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            f"embedding_bag: per_sample_weights was not None. per_sample_weights is only "
            f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
            f"GitHub."
        )
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError(
            "embedding_bag: max_norm, scale_grad_by_freq and sparse=True are not supported in "
            "varjax; renormalize the weight yourself and use dense gradients"
        )


def embedding_bag(
    input: Any, weight: Any, offsets: Any = None, max_norm: float | None = None,
    norm_type: float = 2, scale_grad_by_freq: bool = False, mode: str = "mean",
    sparse: bool = False, per_sample_weights: Any = None, include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Variable:  # fmt: skip
    """The ``mode`` ('sum', 'mean' or 'max') of the embedding rows in each bag, PyTorch's
    ``F.embedding_bag``: a 2-D input (B, N) is B bags of N; a 1-D input is cut into bags at
    ``offsets``. ``per_sample_weights`` (mode 'sum') scale each row; ``padding_idx`` rows
    are left out of the bags; an empty bag gives zeros.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> w = vj.arange(6.0).reshape(3, 2)
        >>> F.embedding_bag(vj.tensor([0, 1, 2]), w, vj.tensor([0, 2]), mode="sum")
        tensor([[2., 4.],
                [4., 5.]])
    """
    _check_bag_args(mode, per_sample_weights, max_norm, scale_grad_by_freq, sparse)
    idx, w = _var(input), _var(weight)
    flat, starts, ends = _flat_bags(idx, offsets, include_last_offset)
    rows = embedding(flat, w)  # (n, D)
    pos = arange(flat.shape[0]).to(starts.dtype)
    member = (pos >= starts.unsqueeze(1)) & (pos < ends.unsqueeze(1))  # (bags, n)
    if padding_idx is not None:
        member = member & (flat != _padding_index(padding_idx, w.shape[0]))
    if per_sample_weights is not None:
        rows = rows * _var(per_sample_weights).reshape(-1).unsqueeze(1)
    if mode == "max":
        picked = rows.unsqueeze(0).masked_fill(~member.unsqueeze(2), float("-inf")).amax(1)
        return where(member.any(1, keepdim=True), picked, 0.0)
    summed = member.to(rows.dtype) @ rows
    if mode == "sum":
        return summed
    return summed / member.sum(1, keepdim=True).clamp(min=1).to(rows.dtype)
