"""``nn.functional`` losses beyond ``basic.py``'s: regression (Huber, Poisson, Gaussian NLL),
divergence (KL), margin and embedding losses, multi-label losses and CTC.

Each is a composite of Variable methods written as PyTorch's reference formula (so its
gradient is jax's of the same formula), except ``ctc_loss``, whose forward recursion is one
table op (``_ops.Primitives.ctc_loss``, a ``lax.scan``). ``reduction`` is ``'mean'``,
``'sum'`` or ``'none'`` (``kl_div`` also takes ``'batchmean'``); the legacy ``size_average``
and ``reduce`` arguments map onto it with PyTorch's warning.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np

from ... import _autocast, _creation, _functions
from ..._dtypes import is_floating
from ..._grad_mode import no_grad
from ..._methods.index import index_values as _index_values
from ..._ops import P
from ..._variable import Variable
from ..._variable import as_variable as _var
from .activation import logsigmoid
from .basic import _REDUCTIONS, _apply, _legacy, _reduce

__all__ = [
    "cosine_embedding_loss", "ctc_loss", "gaussian_nll_loss", "hinge_embedding_loss",
    "huber_loss", "kl_div", "margin_ranking_loss", "multi_margin_loss",
    "multilabel_soft_margin_loss", "poisson_nll_loss", "soft_margin_loss", "triplet_margin_loss",
]  # fmt: skip

_COSINE_EPS = 1e-12  # PyTorch's EPSILON in cosine_embedding_loss


def _check_reduction(reduction: str, allowed: tuple = _REDUCTIONS) -> None:
    """Raise before any work, so a bad ``reduction`` fails the same for every input."""
    if reduction not in allowed:
        raise ValueError(f"{reduction} is not a valid value for reduction; use one of {allowed}")


def _broadcast_warning(name: str, x: Variable, y: Variable) -> None:
    if tuple(x.shape) != tuple(y.shape):
        warnings.warn(
            f"{name}: Using a target size ({tuple(y.shape)}) that is different to the input "
            f"size ({tuple(x.shape)}). This will likely lead to incorrect results due to "
            f"broadcasting. Please ensure they have the same size.", UserWarning, stacklevel=3,
        )  # fmt: skip


@_autocast.to_float32
def huber_loss(input: Any, target: Any, reduction: str = "mean", delta: float = 1.0,
               weight: Any = None) -> Variable:  # fmt: skip
    """Squared error (halved) below ``delta``, ``delta * (|d| - delta / 2)`` above it
    (PyTorch's ``F.huber_loss``); ``weight`` scales each element before the reduction.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.huber_loss(vj.tensor([0.5, 3.0]), vj.zeros(2), reduction="none")
        tensor([0.1250, 2.5000])
    """
    _check_reduction(reduction)
    x, y = _var(input), _var(target)
    _broadcast_warning("huber_loss", x, y)
    if delta <= 0:
        raise RuntimeError(f"huber_loss needs a positive delta, got delta={delta}")
    d = (x - y).abs()
    loss = _functions.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta))
    if weight is not None:
        w = _var(weight)
        if tuple(w.shape) != tuple(x.shape):
            raise ValueError("Weights and input must have the same size.")
        loss = loss * w
    return _reduce(loss, reduction)


def _xlogx(t: Variable) -> Variable:
    """``t * log(t)`` with 0 at ``t = 0`` (and a finite gradient there for the other branch)."""
    positive = t > 0
    safe = _functions.where(positive, t, 1.0)
    return _functions.where(positive, t * safe.log(), 0.0)


@_autocast.to_float32
def kl_div(input: Any, target: Any, size_average: Any = None, reduce: Any = None,
           reduction: str = "mean", log_target: bool = False) -> Variable:  # fmt: skip
    """KL divergence of ``target`` from log-probabilities ``input``: pointwise
    ``target * (log(target) - input)`` (``exp(target) * (target - input)`` with
    ``log_target``) (PyTorch's ``F.kl_div``). ``'batchmean'`` divides the sum by the batch
    size, which is the mathematical KL divergence; ``'mean'`` averages over every element.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> q = vj.tensor([[0.25, 0.75]])
        >>> F.kl_div(q.log(), vj.tensor([[0.5, 0.5]]), reduction="batchmean")
        tensor(0.1438)
    """
    legacy = size_average is not None or reduce is not None
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, (*_REDUCTIONS, "batchmean"))
    if reduction == "mean" and not legacy:
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support "
            "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
            "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
            "major release.", UserWarning, stacklevel=2,
        )  # fmt: skip
    x, t = _var(input), _var(target)
    loss = (t.exp() * (t - x)) if log_target else _xlogx(t) - t * x
    if reduction == "batchmean":
        return loss.sum() / x.shape[0] if x.ndim else loss.sum()
    return _reduce(loss, reduction)


@_autocast.to_float32
def poisson_nll_loss(
    input: Any, target: Any, log_input: bool = True, full: bool = False, size_average: Any = None,
    eps: float = 1e-8, reduce: Any = None, reduction: str = "mean",
) -> Variable:  # fmt: skip
    """Poisson negative log-likelihood of ``target`` with rate ``exp(input)`` (``log_input``)
    or ``input``; ``full`` adds Stirling's term for targets above 1 (``F.poisson_nll_loss``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.poisson_nll_loss(vj.zeros(2), vj.tensor([1.0, 2.0]), reduction="none")
        tensor([1., 1.])
    """
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction)
    x, t = _var(input), _var(target)
    loss = x.exp() - t * x if log_input else x - t * (x + eps).log()
    if full:
        big = t > 1
        safe = _functions.where(big, t, 2.0)
        stirling = safe * safe.log() - safe + 0.5 * (2 * math.pi * safe).log()
        loss = loss + _functions.where(big, stirling, 0.0)
    return _reduce(loss, reduction)


def _gaussian_var(x: Variable, var: Any) -> Variable:
    """``var`` checked as PyTorch does, shaped to broadcast against ``x``."""
    if isinstance(var, numbers.Real) and not isinstance(var, Variable):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        return _creation.full_like(x, float(var))
    v = _var(var)
    values = _index_values(v)
    if values is not None and bool(np.any(values < 0)):
        raise ValueError("var has negative entry/entries")
    if tuple(v.shape) == tuple(x.shape):
        return v
    if tuple(x.shape[:-1]) == tuple(v.shape):
        return v.unsqueeze(-1)
    mismatched = [b for a, b in zip(x.shape, v.shape) if a != b]
    if x.ndim == v.ndim and sum(mismatched) == 1:
        return v
    raise ValueError(
        f"var is of incorrect size: got {tuple(v.shape)} for input of size {tuple(x.shape)}; "
        f"pass var of the input's size, or of its size without the last dim, or with one dim 1"
    )


@_autocast.to_float32
def gaussian_nll_loss(input: Any, target: Any, var: Any, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Variable:  # fmt: skip
    """Gaussian negative log-likelihood ``0.5 * (log(var) + (input - target)**2 / var)``
    (PyTorch's ``F.gaussian_nll_loss``). Like PyTorch, ``var`` is clamped to ``eps`` for the
    value only: the gradient passes through the clamp unchanged.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.gaussian_nll_loss(vj.tensor([1.0, 3.0]), vj.ones(2), vj.ones(2), reduction="none")
        tensor([0., 2.])
    """
    x, t = _var(input), _var(target)
    v = _gaussian_var(x, var)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not valid; use one of {_REDUCTIONS}")
    with no_grad():
        lift = v.clamp(min=eps) - v
    v = v + lift  # the clamp of PyTorch's var.clamp_(min=eps) under no_grad
    loss = 0.5 * (v.log() + (x - t) ** 2 / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def _cosine_dims(x1: Variable, x2: Variable, y: Variable) -> int:
    if y.ndim not in (0, 1):
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    want = 2 if y.ndim == 1 else 1
    if x1.ndim != want or x2.ndim != want:
        raise RuntimeError(
            f"{y.ndim}D target tensor expects {want}D input tensors, but found inputs with sizes "
            f"{list(x1.shape)} and {list(x2.shape)}."
        )
    return y.ndim


def cosine_embedding_loss(input1: Any, input2: Any, target: Any, margin: float = 0.0,
                          size_average: Any = None, reduce: Any = None,
                          reduction: str = "mean") -> Variable:  # fmt: skip
    """``1 - cos(x1, x2)`` where ``target == 1``, ``max(0, cos(x1, x2) - margin)`` where
    ``target == -1`` (PyTorch's ``F.cosine_embedding_loss``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> x = vj.tensor([[1.0, 0.0], [1.0, 0.0]])
        >>> F.cosine_embedding_loss(x, x, vj.tensor([1, -1]), reduction="none")
        tensor([0., 1.])
    """
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction)
    x1, x2, y = _var(input1), _var(input2), _var(target)
    dim = _cosine_dims(x1, x2, y)
    prod = (x1 * x2).sum(dim)
    mag = ((x1 * x1).sum(dim) + _COSINE_EPS) * ((x2 * x2).sum(dim) + _COSINE_EPS)
    cos = prod / mag.sqrt()
    pos = _functions.where(y == 1, 1 - cos, 0.0)
    neg = _functions.where(y == -1, (cos - margin).clamp_min(0), 0.0)
    return _reduce(pos + neg, reduction)


def margin_ranking_loss(input1: Any, input2: Any, target: Any, margin: float = 0.0,
                        size_average: Any = None, reduce: Any = None,
                        reduction: str = "mean") -> Variable:  # fmt: skip
    """``max(0, -target * (input1 - input2) + margin)`` (``F.margin_ranking_loss``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> x1, x2 = vj.tensor([1.0, 2.0]), vj.tensor([2.0, 1.0])
        >>> F.margin_ranking_loss(x1, x2, vj.tensor([1.0, 1.0]), reduction="none")
        tensor([1., 0.])
    """
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction)
    x1, x2, y = _var(input1), _var(input2), _var(target)
    if not x1.ndim == x2.ndim == y.ndim:
        raise RuntimeError(
            f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
            f"input1: {list(x1.shape)}, input2: {list(x2.shape)}, target: {list(y.shape)} "
        )
    return _reduce((-y * (x1 - x2) + margin).clamp_min(0), reduction)


def _pairwise(a: Variable, b: Variable, p: float, eps: float) -> Variable:
    """PyTorch's ``pairwise_distance``: ``||a - b + eps||_p`` over the last dim."""
    return (a - b + eps).norm(p, max(a.ndim, b.ndim) - 1)


def triplet_margin_loss(
    anchor: Any, positive: Any, negative: Any, margin: float = 1.0, p: float = 2, eps: float = 1e-6,
    swap: bool = False, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
) -> Variable:  # fmt: skip
    """``max(0, d(a, p) - d(a, n) + margin)`` with ``d`` the pairwise p-norm distance;
    ``swap`` uses ``min(d(a, n), d(p, n))`` (PyTorch's ``F.triplet_margin_loss``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> a = vj.tensor([[0.0, 0.0]])
        >>> F.triplet_margin_loss(a, vj.tensor([[6.0, 8.0]]), vj.tensor([[3.0, 4.0]]), eps=0.0)
        tensor(6.)
    """
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    a, pos, neg = _var(anchor), _var(positive), _var(negative)
    if not a.ndim == pos.ndim == neg.ndim:
        raise RuntimeError(
            f"The anchor, positive, and negative tensors are expected to have the same number "
            f"of dimensions, but got: anchor {a.ndim}D, positive {pos.ndim}D, and negative "
            f"{neg.ndim}D inputs"
        )
    d_pos, d_neg = _pairwise(a, pos, p, eps), _pairwise(a, neg, p, eps)
    if swap:
        d_neg = _functions.minimum(d_neg, _pairwise(pos, neg, p, eps))
    return _reduce((margin + d_pos - d_neg).clamp_min(0), reduction)


@_autocast.to_float32
def multilabel_soft_margin_loss(input: Any, target: Any, weight: Any = None,
                                size_average: Any = None, reduce: Any = None,
                                reduction: str = "mean") -> Variable:  # fmt: skip
    """Per-class logistic loss averaged over the classes (last dim), then reduced over the
    batch (PyTorch's ``F.multilabel_soft_margin_loss``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.multilabel_soft_margin_loss(vj.zeros(1, 2), vj.tensor([[1.0, 0.0]]))
        tensor(0.6931)
    """
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction)
    x, t = _var(input), _var(target)
    loss = -(t * logsigmoid(x) + (1 - t) * logsigmoid(-x))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss.sum(x.ndim - 1) / x.shape[-1], reduction)


def _check_multi_margin(x: Variable, y: Variable, p: int, weight: Any) -> None:
    if p not in (1, 2):
        raise ValueError(f"only p == 1 and p == 2 supported, got p={p}")
    if weight is not None and _var(weight).ndim != 1:
        raise ValueError("weight must be one-dimensional")
    if x.ndim not in (1, 2) or (x.ndim == 2 and tuple(y.shape) != (x.shape[0],)) or (
            x.ndim == 1 and y.numel() != 1):  # fmt: skip
        raise RuntimeError(
            f"multi_margin_loss: expected input of shape (N, C) with target (N,), or (C,) with "
            f"one target, got input {list(x.shape)} and target {list(y.shape)}"
        )
    values = _index_values(y)
    n_classes = x.shape[-1]
    if values is not None and values.size and not (0 <= values.min() and values.max() < n_classes):
        raise IndexError(f"multi_margin_loss: target out of range [0, {n_classes}): {values}")


def multi_margin_loss(
    input: Any, target: Any, p: int = 1, margin: float = 1.0, weight: Any = None,
    size_average: Any = None, reduce: Any = None, reduction: str = "mean",
) -> Variable:  # fmt: skip
    """Multi-class hinge loss ``sum_{i != y} max(0, margin - x[y] + x[i])**p / C``, each
    sample scaled by ``weight[y]`` (PyTorch's ``F.multi_margin_loss``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.multi_margin_loss(vj.tensor([[0.5, 1.0, 0.0]]), vj.tensor([1]))
        tensor(0.1667)
    """
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction)
    x, y = _var(input), _var(target)
    _check_multi_margin(x, y, p, weight)
    rows = x if x.ndim == 2 else x.unsqueeze(0)
    y = y.reshape(-1)
    picked = rows.gather(1, y.unsqueeze(1))
    z = (margin - picked + rows).relu()  # relu: no gradient at z == 0, as PyTorch's `z > 0`
    z = z if p == 1 else z * z
    others = _creation.arange(rows.shape[1]).unsqueeze(0) != y.unsqueeze(1)
    if weight is not None:
        z = z * _var(weight).index_select(0, y).unsqueeze(1)
    loss = _functions.where(others, z, 0.0).sum(1) / rows.shape[1]
    return _reduce(loss if x.ndim == 2 else loss.reshape(()), reduction)


def soft_margin_loss(input: Any, target: Any, size_average: Any = None, reduce: Any = None,
                     reduction: str = "mean") -> Variable:  # fmt: skip
    """Two-class logistic loss ``log(1 + exp(-target * input))`` (``F.soft_margin_loss``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.soft_margin_loss(vj.tensor([0.0, 0.0]), vj.tensor([1.0, -1.0]))
        tensor(0.6931)
    """
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction)
    x, y = _var(input), _var(target)
    return _reduce((-x * y).exp().log1p(), reduction)


def hinge_embedding_loss(input: Any, target: Any, margin: float = 1.0, size_average: Any = None,
                         reduce: Any = None, reduction: str = "mean") -> Variable:  # fmt: skip
    """``input`` where ``target == 1``, ``max(0, margin - input)`` where ``target == -1``
    (PyTorch's ``F.hinge_embedding_loss``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.hinge_embedding_loss(vj.tensor([0.5, 0.25]), vj.tensor([1, -1]), reduction="none")
        tensor([0.5000, 0.7500])
    """
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction)
    x, y = _var(input), _var(target)
    margin_part = _functions.where(y != 1, (margin - x).clamp_min(0), 0.0)
    self_part = _functions.where(y != -1, x, 0.0)
    return _reduce(margin_part + self_part, reduction)


def _lengths(name: str, lengths: Any, n: int) -> Variable:
    # Python ints and lists stay integers (a bare number would lift to a float)
    v = lengths if isinstance(lengths, Variable) else _creation.tensor(np.asarray(lengths))
    v = v.reshape(-1)
    if is_floating(v.dtype):
        raise RuntimeError(f"ctc_loss: {name} must be integers, got dtype {v.dtype}")
    if tuple(v.shape) != (n,):
        raise RuntimeError(f"ctc_loss: {name} must have size {n} (the batch), got {list(v.shape)}")
    return v


def _ctc_size(targets: Variable, tl: Variable, concatenated: bool) -> int:
    """The static target length the recursion is padded to, checked where lengths are known."""
    room = targets.shape[0] if concatenated else targets.shape[1]
    values = _index_values(tl)
    if values is None:  # traced by varjax.jit: the widest the targets allow
        return int(room)
    if values.size and values.min() < 0:
        raise RuntimeError(f"ctc_loss: target_lengths must be non-negative, got {values}")
    need = int(values.sum()) if concatenated else int(values.max(initial=0))
    if need > room:
        raise RuntimeError(
            f"ctc_loss: target_lengths {values.tolist()} need {need} targets, but targets has "
            f"{room} along dim {0 if concatenated else 1}"
        )
    return int(values.max(initial=0))


def _check_ctc(lp: Variable, il: Variable, blank: int) -> None:
    if not 0 <= blank < lp.shape[2]:
        raise RuntimeError(f"blank must be in label range [0, {lp.shape[2]}), got blank={blank}")
    values = _index_values(il)
    if values is not None and values.size and values.max() > lp.shape[0]:
        raise RuntimeError(
            f"Expected input_lengths to have value at most {lp.shape[0]}, but got value "
            f"{int(values.max())}"
        )


def ctc_loss(
    log_probs: Any, targets: Any, input_lengths: Any, target_lengths: Any, blank: int = 0,
    reduction: str = "mean", zero_infinity: bool = False,
) -> Variable:  # fmt: skip
    """Connectionist Temporal Classification loss (PyTorch's ``F.ctc_loss``): the negative
    log-likelihood of each target sequence, summed over its alignments to ``log_probs``
    (T, N, C) (or (T, C) unbatched); ``targets`` padded (N, S) or concatenated (sum of
    ``target_lengths``). ``'mean'`` divides each loss by its target length, then averages.
    ``zero_infinity`` zeroes the infinite losses (no alignment) and their gradients.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> log_probs = vj.full((2, 1, 2), 0.5).log()  # T=2 steps, N=1, C=2 classes
        >>> F.ctc_loss(log_probs, vj.tensor([[1]]), [2], [1])
        tensor(0.2877)
    """
    _check_reduction(reduction)
    lp, tg = _var(log_probs), _var(targets)
    unbatched = lp.ndim == 2
    if unbatched:
        lp, tg = lp.unsqueeze(1), tg.unsqueeze(0)
    if lp.ndim != 3:
        raise RuntimeError(f"ctc_loss: log_probs must be (T, N, C) or (T, C), got {list(lp.shape)}")
    n = lp.shape[1]
    il = _lengths("input_lengths", input_lengths, n)
    tl = _lengths("target_lengths", target_lengths, n)
    concatenated = tg.ndim == 1
    if not concatenated and (tg.ndim != 2 or tg.shape[0] != n):
        raise RuntimeError(
            f"ctc_loss: targets must be (N, S) with N={n} or concatenated 1-D, got {list(tg.shape)}"
        )
    _check_ctc(lp, il, blank)
    size = _ctc_size(tg, tl, concatenated)
    params = (("blank", int(blank)), ("concatenated", concatenated), ("size", size))
    nll = _apply(P.ctc_loss, lp, tg, il, tl, params=params)
    if zero_infinity:
        nll = _functions.where(nll.isinf(), 0.0, nll)
    if unbatched:
        nll, tl = nll.reshape(()), tl.reshape(())
    if reduction == "mean":
        return (nll / tl.clamp_min(1).to(nll.dtype)).mean()
    return _reduce(nll, reduction)
