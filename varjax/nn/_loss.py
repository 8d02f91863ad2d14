"""Loss Modules over ``nn.functional``, with PyTorch's constructor arguments and attributes
(``MSELoss``, ``L1Loss``, ``SmoothL1Loss``, ``CrossEntropyLoss``, ``NLLLoss`` and
``BCEWithLogitsLoss`` live in ``_layers``).

Every loss takes ``reduction`` (and, where PyTorch does, the legacy ``size_average`` /
``reduce``); a class ``weight`` is a buffer, so it moves with the module and shows in
``state_dict`` as in PyTorch.
"""

from __future__ import annotations

from typing import Any

from .._variable import Variable
from . import functional as F
from ._layers import _Loss

__all__ = [
    "BCELoss", "CosineEmbeddingLoss", "CTCLoss", "GaussianNLLLoss", "HingeEmbeddingLoss",
    "HuberLoss", "KLDivLoss", "MarginRankingLoss", "MultiLabelSoftMarginLoss", "MultiMarginLoss",
    "PoissonNLLLoss", "SoftMarginLoss", "TripletMarginLoss",
]  # fmt: skip


class _WeightedLoss(_Loss):
    def __init__(self, weight: Variable | None = None, size_average: Any = None,
                 reduce: Any = None, reduction: str = "mean") -> None:  # fmt: skip
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities (PyTorch's ``nn.BCELoss``).

    Example:
        >>> import varjax as vj
        >>> loss = vj.nn.BCELoss()
        >>> loss(vj.tensor([0.5, 0.5]), vj.tensor([1.0, 0.0]))
        tensor(0.6931)
    """

    def forward(self, input: Variable, target: Variable) -> Variable:
        return F.binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class HuberLoss(_Loss):
    """Squared error below ``delta``, linear above it (PyTorch's ``nn.HuberLoss``).

    Example:
        >>> import varjax as vj
        >>> loss = vj.nn.HuberLoss()
        >>> loss(vj.zeros(2), vj.tensor([0.5, 2.0]))
        tensor(0.8125)
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input: Variable, target: Variable) -> Variable:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class KLDivLoss(_Loss):
    """KL divergence of the target from log-probabilities (PyTorch's ``nn.KLDivLoss``).

    Example:
        >>> import varjax as vj
        >>> loss = vj.nn.KLDivLoss(reduction='batchmean')
        >>> log_p = vj.tensor([[0.25, 0.75]]).log()
        >>> loss(log_p, vj.tensor([[0.5, 0.5]]))
        tensor(0.1438)
    """

    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
                 log_target: bool = False) -> None:  # fmt: skip
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input: Variable, target: Variable) -> Variable:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class _MarginLoss(_Loss):
    def __init__(self, margin: float = 0.0, size_average: Any = None, reduce: Any = None,
                 reduction: str = "mean") -> None:  # fmt: skip
        super().__init__(size_average, reduce, reduction)
        self.margin = margin


class CosineEmbeddingLoss(_MarginLoss):
    """``1 - cos`` for similar pairs, ``max(0, cos - margin)`` for dissimilar ones (PyTorch's
    ``nn.CosineEmbeddingLoss``).

    Example:
        >>> import varjax as vj
        >>> loss = vj.nn.CosineEmbeddingLoss()
        >>> x1 = vj.tensor([[1.0, 0.0], [1.0, 0.0]])
        >>> x2 = vj.tensor([[1.0, 0.0], [1.0, 0.0]])
        >>> loss(x1, x2, vj.tensor([1.0, -1.0]))
        tensor(0.5000)
    """

    def forward(self, input1: Variable, input2: Variable, target: Variable) -> Variable:
        return F.cosine_embedding_loss(input1, input2, target, self.margin,
                                       reduction=self.reduction)  # fmt: skip


class MarginRankingLoss(_MarginLoss):
    """``max(0, -y * (x1 - x2) + margin)`` (PyTorch's ``nn.MarginRankingLoss``).

    Example:
        >>> import varjax as vj
        >>> loss = vj.nn.MarginRankingLoss()
        >>> loss(vj.tensor([1.0, 2.0]), vj.tensor([2.0, 1.0]), vj.tensor([1.0, 1.0]))
        tensor(0.5000)
    """

    def forward(self, input1: Variable, input2: Variable, target: Variable) -> Variable:
        return F.margin_ranking_loss(input1, input2, target, self.margin,
                                     reduction=self.reduction)  # fmt: skip


class HingeEmbeddingLoss(_MarginLoss):
    """``x`` for similar pairs, ``max(0, margin - x)`` for dissimilar ones (PyTorch's
    ``nn.HingeEmbeddingLoss``).

    Example:
        >>> import varjax as vj
        >>> loss = vj.nn.HingeEmbeddingLoss()
        >>> loss(vj.tensor([1.0, 0.5]), vj.tensor([1.0, -1.0]))
        tensor(0.7500)
    """

    def __init__(self, margin: float = 1.0, size_average: Any = None, reduce: Any = None,
                 reduction: str = "mean") -> None:  # fmt: skip
        super().__init__(margin, size_average, reduce, reduction)

    def forward(self, input: Variable, target: Variable) -> Variable:
        return F.hinge_embedding_loss(input, target, self.margin, reduction=self.reduction)


class TripletMarginLoss(_Loss):
    """``max(0, d(a, p) - d(a, n) + margin)`` (PyTorch's ``nn.TripletMarginLoss``).

    Example:
        >>> import varjax as vj
        >>> loss = vj.nn.TripletMarginLoss(margin=1.0)
        >>> a, p, n = vj.tensor([[0.0, 0.0]]), vj.tensor([[0.0, 1.0]]), vj.tensor([[0.0, 1.5]])
        >>> loss(a, p, n)
        tensor(0.5000)
    """

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False,
                 size_average: Any = None, reduce: Any = None,
                 reduction: str = "mean") -> None:  # fmt: skip
        super().__init__(size_average, reduce, reduction)
        if margin <= 0:
            raise ValueError(
                f"TripletMarginLoss: expected margin to be greater than 0, got {margin} instead"
            )
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor: Variable, positive: Variable, negative: Variable) -> Variable:
        return F.triplet_margin_loss(anchor, positive, negative, margin=self.margin, p=self.p,
                                     eps=self.eps, swap=self.swap,
                                     reduction=self.reduction)  # fmt: skip


class CTCLoss(_Loss):
    """Connectionist Temporal Classification loss (PyTorch's ``nn.CTCLoss``).

    Example:
        >>> import varjax as vj
        >>> log_probs = vj.zeros(2, 1, 2).log_softmax(2)
        >>> loss = vj.nn.CTCLoss()
        >>> loss(log_probs, vj.tensor([[1]]), [2], [1])
        tensor(0.2877)
    """

    def __init__(self, blank: int = 0, reduction: str = "mean",
                 zero_infinity: bool = False) -> None:  # fmt: skip
        super().__init__(reduction=reduction)
        self.blank, self.zero_infinity = blank, zero_infinity

    def forward(self, log_probs: Variable, targets: Variable, input_lengths: Any,
                target_lengths: Any) -> Variable:  # fmt: skip
        return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank,
                          self.reduction, self.zero_infinity)  # fmt: skip


class PoissonNLLLoss(_Loss):
    """Poisson negative log-likelihood (PyTorch's ``nn.PoissonNLLLoss``).

    Example:
        >>> import varjax as vj
        >>> loss = vj.nn.PoissonNLLLoss()
        >>> loss(vj.tensor([0.0, 1.0]), vj.tensor([1.0, 1.0]))
        tensor(1.3591)
    """

    def __init__(
        self, log_input: bool = True, full: bool = False, size_average: Any = None,
        eps: float = 1e-8, reduce: Any = None, reduction: str = "mean",
    ) -> None:  # fmt: skip
        super().__init__(size_average, reduce, reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, log_input: Variable, target: Variable) -> Variable:
        return F.poisson_nll_loss(log_input, target, log_input=self.log_input, full=self.full,
                                  eps=self.eps, reduction=self.reduction)  # fmt: skip


class GaussianNLLLoss(_Loss):
    """Gaussian negative log-likelihood with predicted variance (``nn.GaussianNLLLoss``).

    Example:
        >>> import varjax as vj
        >>> loss = vj.nn.GaussianNLLLoss()
        >>> loss(vj.zeros(2), vj.ones(2), vj.ones(2))
        tensor(0.5000)
    """

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        self.full, self.eps = full, eps

    def forward(self, input: Variable, target: Variable, var: Any) -> Variable:
        return F.gaussian_nll_loss(input, target, var, full=self.full, eps=self.eps,
                                   reduction=self.reduction)  # fmt: skip


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """Per-class logistic loss, averaged over classes (``nn.MultiLabelSoftMarginLoss``).

    Example:
        >>> import varjax as vj
        >>> loss = vj.nn.MultiLabelSoftMarginLoss()
        >>> loss(vj.zeros(1, 2), vj.tensor([[1.0, 0.0]]))
        tensor(0.6931)
    """

    def forward(self, input: Variable, target: Variable) -> Variable:
        return F.multilabel_soft_margin_loss(input, target, weight=self.weight,
                                             reduction=self.reduction)  # fmt: skip


class MultiMarginLoss(_WeightedLoss):
    """Multi-class hinge loss (PyTorch's ``nn.MultiMarginLoss``).

    Example:
        >>> import varjax as vj
        >>> loss = vj.nn.MultiMarginLoss()
        >>> loss(vj.tensor([[0.1, 0.2, 0.4, 0.8]]), vj.tensor([3]))
        tensor(0.3250)
    """

    def __init__(self, p: int = 1, margin: float = 1.0, weight: Variable | None = None,
                 size_average: Any = None, reduce: Any = None,
                 reduction: str = "mean") -> None:  # fmt: skip
        super().__init__(weight, size_average, reduce, reduction)
        if p not in (1, 2):
            raise ValueError(f"only p == 1 and p == 2 supported, got p={p}")
        if weight is not None and weight.ndim != 1:
            raise ValueError(
                f"MultiMarginLoss: expected weight to be None or 1D tensor, got {weight.ndim}D "
                f"instead"
            )
        self.p, self.margin = p, margin

    def forward(self, input: Variable, target: Variable) -> Variable:
        return F.multi_margin_loss(input, target, p=self.p, margin=self.margin,
                                   weight=self.weight, reduction=self.reduction)  # fmt: skip


class SoftMarginLoss(_Loss):
    """Two-class logistic loss ``log(1 + exp(-y * x))`` (PyTorch's ``nn.SoftMarginLoss``).

    Example:
        >>> import varjax as vj
        >>> loss = vj.nn.SoftMarginLoss()
        >>> loss(vj.zeros(2), vj.tensor([1.0, -1.0]))
        tensor(0.6931)
    """

    def forward(self, input: Variable, target: Variable) -> Variable:
        return F.soft_margin_loss(input, target, reduction=self.reduction)
