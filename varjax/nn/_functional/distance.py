"""Distances and similarities: ``normalize``, ``cosine_similarity``, ``pairwise_distance``,
``pdist``, composed from norm and elementwise table ops."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._variable import Variable
from ..._variable import as_variable as _var

__all__ = ["cosine_similarity", "normalize", "pairwise_distance", "pdist"]


def normalize(input: Any, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out: Any = None) -> Variable:  # fmt: skip
    """``input / max(||input||_p, eps)`` along ``dim``, PyTorch's ``F.normalize``.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.normalize(vj.tensor([[3.0, 4.0]]))
        tensor([[0.6000, 0.8000]])
    """
    if out is not None:
        raise NotImplementedError("normalize(out=...) is not supported; assign the result")
    x = _var(input)
    return x / x.norm(p, dim, keepdim=True).clamp(min=eps)


def cosine_similarity(x1: Any, x2: Any, dim: int = 1, eps: float = 1e-8) -> Variable:
    """Cosine of the angle between ``x1`` and ``x2`` along ``dim`` (broadcast first), each
    norm clamped below at ``eps``, PyTorch's ``F.cosine_similarity``.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> a, b = vj.tensor([[1.0, 0.0], [1.0, 1.0]]), vj.tensor([[1.0, 1.0], [2.0, 2.0]])
        >>> F.cosine_similarity(a, b)
        tensor([0.7071, 1.0000])
    """
    a, b = _var(x1), _var(x2)
    shape = tuple(np.broadcast_shapes(tuple(a.shape), tuple(b.shape)))
    a, b = a.expand(*shape), b.expand(*shape)
    na = a.norm(2, dim, keepdim=True).clamp(min=eps)
    nb = b.norm(2, dim, keepdim=True).clamp(min=eps)
    return ((a / na) * (b / nb)).sum(dim)


def pairwise_distance(x1: Any, x2: Any, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Variable:  # fmt: skip
    """``||x1 - x2 + eps||_p`` over the last dim, PyTorch's ``F.pairwise_distance``.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.pairwise_distance(vj.tensor([[0.0, 0.0]]), vj.tensor([[3.0, 4.0]]), eps=0.0)
        tensor([5.])
    """
    a, b = _var(x1), _var(x2)
    return (a - b + eps).norm(p, -1, keepdim=keepdim)


def pdist(input: Any, p: float = 2.0) -> Variable:
    """The p-norm distances between the rows of an (N, M) input, for each pair i < j in
    row-major order (the upper triangle), PyTorch's ``F.pdist``.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.pdist(vj.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]]))  # pairs (0,1) (0,2) (1,2)
        tensor([5.0000, 1.0000, 4.2426])
    """
    x = _var(input)
    if x.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {x.ndim}D")
    i, j = np.triu_indices(x.shape[0], 1)
    # the pairs are picked before the norm: the diagonal's zero distances (whose norm has no
    # gradient) are never formed
    return (x[i] - x[j]).norm(p, -1)
