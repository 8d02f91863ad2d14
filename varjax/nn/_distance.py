"""``CosineSimilarity`` and ``PairwiseDistance``: Modules over ``nn.functional``."""

from __future__ import annotations

from .._variable import Variable
from . import functional as F
from ._module import Module

__all__ = ["CosineSimilarity", "PairwiseDistance"]


class CosineSimilarity(Module):
    """Cosine similarity along ``dim``, PyTorch's ``nn.CosineSimilarity``.

    Example:
        >>> import varjax as vj
        >>> x1 = vj.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> vj.nn.CosineSimilarity(dim=1)(x1, vj.tensor([[2.0, 0.0], [1.0, 0.0]]))
        tensor([1., 0.])
    """

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Variable, x2: Variable) -> Variable:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """``||x1 - x2 + eps||_p`` over the last dim, PyTorch's ``nn.PairwiseDistance``.

    Example:
        >>> import varjax as vj
        >>> vj.nn.PairwiseDistance()(vj.tensor([[0.0, 0.0]]), vj.tensor([[3.0, 4.0]]))
        tensor([5.0000])
    """

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: Variable, x2: Variable) -> Variable:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
