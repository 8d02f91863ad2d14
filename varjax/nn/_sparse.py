"""``EmbeddingBag``: a Module over ``F.embedding_bag``, N(0, 1) weights as PyTorch's."""

from __future__ import annotations

from typing import Any

from .._grad_mode import no_grad
from .._variable import Variable
from . import functional as F
from . import init
from ._module import Module, Parameter

__all__ = ["EmbeddingBag"]


class EmbeddingBag(Module):
    """Sums, means or maxima of bags of embeddings, PyTorch's ``nn.EmbeddingBag``; the
    weight (num_embeddings, embedding_dim) starts N(0, 1), its ``padding_idx`` row zero.

    Example:
        >>> import varjax as vj
        >>> bag = vj.nn.EmbeddingBag(10, 3, mode="sum")
        >>> bag(vj.tensor([1, 2, 4, 5]), vj.tensor([0, 2])).shape
        varjax.Size([2, 3])
        >>> bag
        EmbeddingBag(10, 3, mode='sum')
    """

    def __init__(
        self, num_embeddings: int, embedding_dim: int, max_norm: float | None = None,
        norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean",
        sparse: bool = False, _weight: Any = None, include_last_offset: bool = False,
        padding_idx: int | None = None,
    ) -> None:  # fmt: skip
        super().__init__()
        if padding_idx is not None:
            padding_idx = F._padding_index(padding_idx, num_embeddings)
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.mode, self.sparse = scale_grad_by_freq, mode, sparse
        self.include_last_offset, self.padding_idx = include_last_offset, padding_idx
        if _weight is not None:
            self.weight = Parameter(_weight)
            return
        self.weight = Parameter(init._draw("normal", (num_embeddings, embedding_dim)))
        if padding_idx is not None:
            with no_grad():
                self.weight[padding_idx] = 0.0

    def forward(self, input: Variable, offsets: Variable | None = None,
                per_sample_weights: Variable | None = None) -> Variable:  # fmt: skip
        return F.embedding_bag(
            input, self.weight, offsets, self.max_norm, self.norm_type, self.scale_grad_by_freq,
            self.mode, self.sparse, per_sample_weights, self.include_last_offset,
            self.padding_idx,
        )  # fmt: skip

    def extra_repr(self) -> str:  # PyTorch's: settings at their defaults are left out
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        s += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s
