"""The first part of ``nn.functional``: linear, dropout, the basic losses, embedding, norms,
conv2d and 2-D pooling, on the op table.

Losses and layers are composed from table ops, so their gradients come from ``jax.vjp`` of
the replay like everything else; convolution, pooling, dropout and the softmaxes are table
ops of their own.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from ... import _autocast, _functions, _tracing
from ... import random as _rng
from ..._dtypes import is_floating
from ..._grad_mode import no_grad
from ..._methods.index import check_bounds as _check_bounds
from ..._methods.index import check_index_bounds as _check_index_bounds
from ..._methods.index import index_values as _index_values
from ..._ops import Op, P
from ..._record import record
from ..._variable import Variable, _node_of, _wrap
from ..._variable import as_variable as _var

__all__ = [
    "batch_norm", "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "conv2d", "cross_entropy", "dropout", "embedding", "gelu", "l1_loss", "layer_norm", "linear",
    "log_softmax", "mse_loss", "nll_loss", "one_hot", "pad", "relu", "sigmoid",
    "silu", "smooth_l1_loss", "softmax", "softplus", "tanh",
]  # fmt: skip

_REDUCTIONS = ("mean", "sum", "none")

def relu(input: Any, inplace: bool = False) -> Variable:
    """``max(x, 0)`` (PyTorch's ``F.relu``); ``inplace`` writes the result into ``input``.

    Example:
        >>> import varjax as vj
        >>> vj.nn.functional.relu(vj.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """
    out = _functions.relu(input)
    return input.copy_(out) if inplace else out


def silu(input: Any, inplace: bool = False) -> Variable:
    """``x * sigmoid(x)`` (PyTorch's ``F.silu``); ``inplace`` writes the result into ``input``.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.silu(vj.tensor([0.0, 1.0]))
        tensor([0.0000, 0.7311])
    """
    out = _functions.silu(input)
    return input.copy_(out) if inplace else out
tanh, sigmoid = _functions.tanh, _functions.sigmoid
def softmax(input: Any, dim: int | None = None, _stacklevel: int = 3,
            dtype: Any = None) -> Variable:  # fmt: skip
    """``exp(x) / sum(exp(x))`` along ``dim`` (PyTorch's ``F.softmax``: without ``dim``, its
    deprecated implicit choice, dim 0 for 0-, 1- and 3-D input, else 1, with its warning).

    Example:
        >>> import varjax as vj
        >>> vj.nn.functional.softmax(vj.tensor([[0.0, 0.0], [1.0, 1.0]]), dim=1)
        tensor([[0.5000, 0.5000],
                [0.5000, 0.5000]])
    """
    if dim is None:
        dim = softmax_dim("softmax", _var(input).ndim, _stacklevel)
    return _functions.softmax(input, dim, dtype)


def log_softmax(input: Any, dim: int | None = None, _stacklevel: int = 3,
                dtype: Any = None) -> Variable:  # fmt: skip
    """``log(softmax(x))`` along ``dim``, computed stably (PyTorch's ``F.log_softmax``; the
    same implicit ``dim`` as ``softmax``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.log_softmax(vj.tensor([0.0, 1.0, 2.0]), dim=0)
        tensor([-2.4076, -1.4076, -0.4076])
    """
    if dim is None:
        dim = softmax_dim("log_softmax", _var(input).ndim, _stacklevel)
    return _functions.log_softmax(input, dim, dtype)


def softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    """PyTorch's legacy choice of dim when none is given (with its warning)."""
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
        "dim=X as an argument.", UserWarning, stacklevel=stacklevel,
    )  # fmt: skip
    return 0 if ndim in (0, 1, 3) else 1


def _apply(op: Op, *inputs: Any, params: tuple = ()) -> Variable:
    return _wrap(record(op, tuple(_node_of(a) for a in inputs), params))


def gelu(input: Any, approximate: str = "none") -> Variable:
    """GELU: exact (``approximate='none'``, PyTorch's default) or the tanh approximation.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.gelu(vj.tensor([0.0, 1.0]))
        tensor([0.0000, 0.8413])
    """
    return _var(input).gelu(approximate)


def softplus(input: Any, beta: float = 1.0, threshold: float = 20.0) -> Variable:
    """log(1 + exp(beta * x)) / beta, linear where beta * x > threshold (as PyTorch).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.softplus(vj.tensor([0.0, 1.0]))
        tensor([0.6931, 1.3133])
    """
    return _var(input).softplus(beta, threshold)


def dropout(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Variable:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (training only);
    ``inplace`` writes the result into ``input``.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.dropout(vj.tensor([1.0, 2.0]), p=0.5, training=False)
        tensor([1., 2.])
    """
    x = _var(input)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        out = x * 0.0
    else:
        key, counter = _rng.next_draw()
        out = _apply(P.dropout, x, key, counter, params=(("p", float(p)),))
    return x.copy_(out) if inplace else out


def _legacy(size_average: Any, reduce: Any, reduction: str) -> str:
    """PyTorch's legacy ``size_average``/``reduce`` arguments as a ``reduction`` (with its
    warning); without them, ``reduction`` itself."""
    if size_average is None and reduce is None:
        return reduction
    warnings.warn("size_average and reduce args will be deprecated, please use "
                  f"reduction='{_LEGACY[(size_average is not False, reduce is not False)]}' "
                  "instead.", UserWarning, stacklevel=3)  # fmt: skip
    return _LEGACY[(size_average is not False, reduce is not False)]


_LEGACY = {
    (True, True): "mean",
    (False, True): "sum",
    (True, False): "none",
    (False, False): "none",
}


def _reduce(loss: Variable, reduction: str) -> Variable:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction} is not a valid value for reduction; use one of {_REDUCTIONS}")


def _same_shape(name: str, a: Variable, b: Variable) -> None:
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(
            f"{name}: Using a target size ({tuple(b.shape)}) that is different to the input "
            f"size ({tuple(a.shape)}); pass a target of the input's shape"
        )


def linear(input: Any, weight: Any, bias: Any = None) -> Variable:
    """``input @ weight.T + bias`` with ``weight`` of shape (out_features, in_features).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> w = vj.tensor([[1.0, 1.0], [0.0, 1.0], [1.0, -1.0]])
        >>> F.linear(vj.tensor([[1.0, 2.0]]), w, vj.tensor([0.5, 0.0, 0.0]))
        tensor([[ 3.5000,  2.0000, -1.0000]])
    """
    if bias is None:
        return _apply(P.linear, _var(input), _var(weight))
    return _apply(P.linear_bias, _var(input), _var(weight), _var(bias))


@_autocast.to_float32
def mse_loss(input: Any, target: Any, size_average: Any = None, reduce: Any = None,
             reduction: str = "mean", weight: Any = None) -> Variable:  # fmt: skip
    """Mean squared error; with ``weight`` (the input's shape), each error is weighted and
    ``'mean'`` divides by the weights' sum (PyTorch's).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.mse_loss(vj.tensor([1.0, 2.0]), vj.tensor([0.0, 4.0]))
        tensor(2.5000)
    """
    reduction = _legacy(size_average, reduce, reduction)
    x, y = _var(input), _var(target)
    _same_shape("mse_loss", x, y)
    return _weighted((x - y) ** 2, weight, x, reduction)


@_autocast.to_float32
def l1_loss(input: Any, target: Any, size_average: Any = None, reduce: Any = None,
            reduction: str = "mean", weight: Any = None) -> Variable:  # fmt: skip
    """Mean absolute error; ``weight`` as in ``mse_loss``.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.l1_loss(vj.tensor([1.0, 2.0]), vj.tensor([0.0, 4.0]))
        tensor(1.5000)
    """
    reduction = _legacy(size_average, reduce, reduction)
    x, y = _var(input), _var(target)
    _same_shape("l1_loss", x, y)
    return _weighted((x - y).abs(), weight, x, reduction)


def _weighted(loss: Variable, weight: Any, x: Variable, reduction: str) -> Variable:
    """``loss`` reduced, each element weighted by ``weight`` (None: unweighted)."""
    if weight is None:
        return _reduce(loss, reduction)
    w = _var(weight)
    if tuple(w.shape) != tuple(x.shape):
        raise ValueError("Weights and input must have the same size.")
    if reduction not in ("none", "sum", "mean"):
        raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', "
                         f"'mean', 'sum'.")  # fmt: skip
    loss = loss * w
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.sum() / w.sum()


@_autocast.to_float32
def smooth_l1_loss(input: Any, target: Any, size_average: Any = None, reduce: Any = None,
                   reduction: str = "mean", beta: float = 1.0) -> Variable:  # fmt: skip
    """Squared error below ``beta`` (halved, over ``beta``), absolute error above it.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.smooth_l1_loss(vj.tensor([0.5, 3.0]), vj.zeros(2), reduction='none')
        tensor([0.1250, 2.5000])
    """
    reduction = _legacy(size_average, reduce, reduction)
    x, y = _var(input), _var(target)
    _same_shape("smooth_l1_loss", x, y)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    d = (x - y).abs()
    if beta == 0:
        return _reduce(d, reduction)
    return _reduce(_functions.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta), reduction)


def binary_cross_entropy(input: Any, target: Any, weight: Any = None, size_average: Any = None,
                         reduce: Any = None, reduction: str = "mean") -> Variable:  # fmt: skip
    """BCE of probabilities; like PyTorch, each log is clamped at -100 so 0 and 1 stay finite.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.binary_cross_entropy(vj.tensor([0.5, 0.5]), vj.tensor([1.0, 0.0]))
        tensor(0.6931)
    """
    reduction = _legacy(size_average, reduce, reduction)
    p, y = _var(input), _var(target)
    _same_shape("binary_cross_entropy", p, y)
    value = p._node.value  # checked where known at the call, never forcing a computation
    if value is not None and not _tracing.is_tracer(value):
        if bool(jnp.any((value < 0) | (value > 1))):
            raise RuntimeError("all elements of input should be between 0 and 1")
    loss = _apply(P.binary_cross_entropy, p, y)
    return _reduce(loss if weight is None else loss * weight, reduction)


@_autocast.to_float32
def binary_cross_entropy_with_logits(
    input: Any, target: Any, weight: Any = None, size_average: Any = None, reduce: Any = None,
    reduction: str = "mean", pos_weight: Any = None,
) -> Variable:  # fmt: skip
    """BCE of logits, computed stably: max(x, 0) - x*y + log(1 + exp(-|x|)).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.binary_cross_entropy_with_logits(vj.zeros(2), vj.tensor([1.0, 0.0]))
        tensor(0.6931)
    """
    reduction = _legacy(size_average, reduce, reduction)
    x, y = _var(input), _var(target)
    _same_shape("binary_cross_entropy_with_logits", x, y)
    log_sig_neg = (-x.abs()).exp().log1p() + x.relu()  # -log(sigmoid(-x)) = softplus(x)
    if pos_weight is None:
        loss = log_sig_neg - x * y
    else:  # pos_weight scales the positive term: -pw*y*log(sig(x)) - (1-y)*log(1-sig(x))
        loss = (1 - y) * x + (1 + (pos_weight - 1) * y) * (log_sig_neg - x)
    return _reduce(loss if weight is None else loss * weight, reduction)


def _check_targets(target: Variable, n_classes: int, ignore_index: int) -> None:
    """PyTorch's bounds check of class indices, from their range: known without a read for a
    batch made from host data or taken from a checked dataset, else reduced on the device."""
    _check_index_bounds(target, n_classes, 1, allow_negative=False, ignore=ignore_index)


def _class_weights(target: Variable, weight: Any, n_classes: int, ignore_index: int):
    """(target with ignored entries set to 0, per-entry weight: weight[target], 0 if ignored)."""
    _check_targets(target, n_classes, ignore_index)
    keep = target != ignore_index
    safe = _apply(P.where, keep, target, 0)  # in bounds by construction: no further checks
    if weight is None:
        return safe, keep.float()
    rows = _apply(P.index_select, _var(weight), safe.reshape(-1), params=(("axis", 0),))
    w = rows.reshape(*safe.shape)
    return safe, w * keep.float()


@_autocast.to_float32
def nll_loss(
    input: Any, target: Any, weight: Any = None, size_average: Any = None,
    ignore_index: int = -100, reduce: Any = None, reduction: str = "mean",
) -> Variable:  # fmt: skip
    """Negative log-likelihood of class indices ``target`` under log-probabilities ``input``
    of shape (N, C) or (N, C, d1, ...); the mean is weighted by ``weight[target]``.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.nll_loss(vj.tensor([[-1.0, -2.0], [-3.0, -0.5]]), vj.tensor([0, 1]))
        tensor(0.7500)
    """
    reduction = _legacy(size_average, reduce, reduction)
    logp, target = _var(input), _var(target)
    if is_floating(target.dtype):
        raise RuntimeError(
            f"nll_loss expects class indices of an integer dtype, got {target.dtype}; use "
            f"cross_entropy for class probabilities"
        )
    if logp.ndim < 1 or tuple(target.shape) != tuple(logp.shape[:1] + logp.shape[2:]):
        several = jax.process_count() > 1 and target.ndim and logp.shape[0] > target.shape[0]
        raise ValueError(
            f"nll_loss: expected target of shape {tuple(logp.shape[:1] + logp.shape[2:])} for "
            f"input of shape {tuple(logp.shape)}, got {tuple(target.shape)}" + (
                ". With several processes a parallel model's output is the whole batch's: "
                "make this process's targets global with "
                "varjax.distributed.tensor.from_local(target, mesh, [Shard(0)])"
                if several else "")
        )  # fmt: skip
    n_classes = logp.shape[1] if logp.ndim > 1 else logp.shape[0]
    safe, w = _class_weights(target, weight, n_classes, ignore_index)
    picked = _apply(P.gather, logp, safe.unsqueeze(1), params=(("axis", 1),)).squeeze(1)
    loss = -picked * w
    if reduction == "mean":
        return loss.sum() / w.sum()
    return _reduce(loss, reduction)


@_autocast.to_float32
def cross_entropy(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: Any = None,
    ignore_index: int = -100,
    reduce: Any = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Variable:
    """Cross-entropy of logits ``input`` (N, C, ...) against class indices or probabilities.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> logits = vj.tensor([[2.0, 0.0, 0.0]], requires_grad=True)
        >>> round(F.cross_entropy(logits, vj.tensor([0])).item(), 4)
        0.2395
    """
    reduction = _legacy(size_average, reduce, reduction)
    x, target = _var(input), _var(target)
    logp = log_softmax(x, 1 if x.ndim > 1 else 0)
    n_classes = x.shape[1] if x.ndim > 1 else x.shape[0]
    if is_floating(target.dtype):  # class probabilities, of the input's shape
        _same_shape("cross_entropy", x, target)
        if label_smoothing:
            target = target * (1 - label_smoothing) + label_smoothing / n_classes
        w = 1.0 if weight is None else _var(weight).reshape(n_classes, *([1] * (x.ndim - 2)))
        return _reduce(-(logp * target * w).sum(1 if x.ndim > 1 else 0), reduction)
    loss = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if not label_smoothing:
        return loss
    # smoothing mixes in the uniform distribution: eps/C * sum_c -w_c logp_c per entry, with
    # the mean taken over the same weights as the nll term (PyTorch's formula)
    _, w_target = _class_weights(target, weight, n_classes, ignore_index)
    keep = (target != ignore_index).float()
    w = 1.0 if weight is None else _var(weight).reshape(n_classes, *([1] * (x.ndim - 2)))
    smooth = -(logp * w).sum(1) * keep / n_classes
    smooth = smooth.sum() / w_target.sum() if reduction == "mean" else _reduce(smooth, reduction)
    return loss * (1 - label_smoothing) + smooth * label_smoothing


def one_hot(tensor: Any, num_classes: int = -1) -> Variable:
    """Class indices -> one-hot rows of length ``num_classes`` (inferred as max + 1 if -1).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.one_hot(vj.tensor([0, 2, 1]))
        tensor([[1, 0, 0],
                [0, 0, 1],
                [0, 1, 0]])
    """
    t = _var(tensor)
    if is_floating(t.dtype):
        raise RuntimeError("one_hot is only applicable to index tensor of an integer dtype")
    values = _index_values(t)
    if num_classes == -1 and values is None:
        raise _tracing.value_dependent(
            "one_hot without num_classes", "pass num_classes=<number of classes>"
        )
    if num_classes == -1:
        num_classes = int(values.max()) + 1 if values.size else 0
    _check_bounds(values, num_classes, t.ndim, allow_negative=False)
    return _apply(P.one_hot, t, params=(("num_classes", int(num_classes)),))


def pad(input: Any, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Variable:
    """Pad with ``mode`` ``'constant'`` (``value``), ``'reflect'``, ``'replicate'`` or
    ``'circular'``; ``pad`` lists (left, right) pairs from the last dim backwards.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.pad(vj.tensor([[1.0, 2.0]]), (1, 2))
        tensor([[0., 1., 2., 0., 0.]])
        >>> F.pad(vj.tensor([[1.0, 2.0, 3.0]]), (2, 1), mode='reflect')
        tensor([[3., 2., 1., 2., 3., 2.]])
    """
    x = _var(input)
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise ValueError(
            f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}"
        )
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: padding length {len(pad)} must be even and at most 2 * {x.ndim}")
    pad = tuple(int(p) for p in pad)
    if mode != "constant":
        if any(p < 0 for p in pad):
            raise ValueError(f"pad: negative padding needs mode='constant', got {pad}")
        sizes = [n for n in reversed(x.shape[x.ndim - len(pad) // 2 :]) for _ in (0, 1)]
        if mode == "reflect" and any(p >= n for p, n in zip(pad, sizes)):
            raise ValueError(
                f"pad: reflect padding must be smaller than the padded dim, got {pad} for "
                f"shape {tuple(x.shape)}"
            )
        return _apply(P.pad, x, float(value), params=(("mode", mode), ("pad", pad)))
    return _apply(P.pad, x, float(value), params=(("pad", pad),))


def _padding_index(padding_idx: int, num_embeddings: int) -> int:
    """``padding_idx`` as a row number (-1 is the last row), checked as PyTorch does."""
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise AssertionError("Padding_idx must be within num_embeddings")
    return padding_idx % num_embeddings


def embedding(
    input: Any, weight: Any, padding_idx: int | None = None, max_norm: float | None = None,
    norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False,
) -> Variable:  # fmt: skip
    """Rows of ``weight`` picked by the integer ``input`` (any shape), as PyTorch's
    ``F.embedding``.

    ``padding_idx`` rows receive no gradient. ``max_norm`` first rescales, in place, each row
    ``input`` picks whose ``norm_type``-norm exceeds it to that norm. ``scale_grad_by_freq``
    divides each row's gradient by how often the batch picks it. ``sparse`` is accepted; the
    gradient is dense (the same values as PyTorch's sparse one).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> weight = vj.tensor([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
        >>> F.embedding(vj.tensor([[0, 2]]), weight)
        tensor([[[0., 1.],
                 [4., 5.]]])
    """
    idx, w = _var(input), _var(weight)
    flat = idx.reshape(-1)
    if max_norm is not None:
        _renorm_rows(w, flat, float(max_norm), float(norm_type))
    rows = w.index_select(0, flat).reshape(*idx.shape, w.shape[1])  # checks bounds
    if scale_grad_by_freq:
        counts = w.new_zeros(w.shape[0]).index_add(0, flat, w.new_ones(flat.shape[0]))
        per_row = counts.index_select(0, flat).reshape(*idx.shape, 1)
        rows = rows.detach() + (rows - rows.detach()) / per_row  # the value exactly; grad / count
    if padding_idx is None:
        return rows
    padding_idx = _padding_index(padding_idx, w.shape[0])
    keep = (idx != padding_idx).unsqueeze(-1)
    return _apply(P.where, keep, rows, rows.detach())


def _renorm_rows(w: Variable, idx: Variable, max_norm: float, norm_type: float) -> None:
    """PyTorch's ``embedding_renorm_``: rows of ``w`` that ``idx`` picks and whose norm exceeds
    ``max_norm`` are scaled to ``max_norm / (norm + 1e-7)`` of themselves, in place."""
    with no_grad():
        picked = w.new_zeros(w.shape[0]).index_fill(0, idx, 1.0) > 0
        norms = w.norm(p=norm_type, dim=1)
        scale = (max_norm / (norms + 1e-7)).where(picked & (norms > max_norm), 1.0)
        w.mul_(scale.unsqueeze(1))


@_autocast.to_float32(cpu=False)
def layer_norm(
    input: Any, normalized_shape: Sequence[int] | int, weight: Any = None, bias: Any = None,
    eps: float = 1e-5,
) -> Variable:  # fmt: skip
    """Normalize over the last ``len(normalized_shape)`` dims, then scale and shift.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.layer_norm(vj.tensor([[1.0, 3.0], [2.0, 6.0]]), (2,))
        tensor([[-1.0000,  1.0000],
                [-1.0000,  1.0000]])
    """
    x = _var(input)
    shape = (
        (normalized_shape,)
        if isinstance(normalized_shape, numbers.Integral)
        else tuple(normalized_shape)
    )
    if tuple(x.shape[x.ndim - len(shape) :]) != shape:
        raise RuntimeError(
            f"Given normalized_shape={list(shape)}, expected input with shape [*, "
            f"{', '.join(map(str, shape))}], but got input of size {list(x.shape)}"
        )
    dims = tuple(range(x.ndim - len(shape), x.ndim))
    mu = x.mean(dims, keepdim=True)
    out = (x - mu) * (x.var(dims, keepdim=True, correction=0) + eps).rsqrt()
    if weight is not None:
        out = out * weight
    return out if bias is None else out + bias


def _check_batch_norm(x: Variable, training: bool, **per_channel: Any) -> None:
    if x.ndim < 2:
        raise ValueError(
            f"batch_norm expects an input of shape (N, C, ...) with at least 2 dims, got "
            f"{x.ndim}D input; add a batch dim with unsqueeze(0)"
        )
    channels = x.shape[1]
    for name, t in per_channel.items():
        expected = None if t is None else _var(t).numel()
        if expected is not None and expected != channels:
            raise RuntimeError(
                f"batch_norm: expected input with {expected} channels (dim 1) to match "
                f"{name}, got {channels} channels in input of size {list(x.shape)}; build the "
                f"layer with num_features={channels} or fix the input's layout"
            )
    if training and math.prod((x.shape[0], *x.shape[2:])) == 1:  # PyTorch's _verify_batch_size
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input size {list(x.shape)}"
        )


def batch_norm(
    input: Any,
    running_mean: Variable | None,
    running_var: Variable | None,
    weight: Any = None,
    bias: Any = None,
    training: bool = False,
    momentum: float | Variable = 0.1,
    eps: float = 1e-5,
) -> Variable:
    """Normalize each channel (dim 1) over all other dims, then scale and shift.

    Training mode uses the batch mean and biased variance and, if running stats are given,
    updates them in place: ``running = (1 - momentum) * running + momentum * batch_stat``,
    with the unbiased variance for ``running_var``. Eval mode uses the running stats.
    ``momentum`` may be a 0-d Variable (``BatchNorm``'s cumulative average passes
    ``1 / num_batches_tracked`` that way, without reading the count to the host).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> mean, var = vj.zeros(1), vj.ones(1)
        >>> F.batch_norm(vj.tensor([[1.0], [3.0]]), mean, var, training=True)
        tensor([[-1.0000],
                [ 1.0000]])
        >>> mean, var
        (tensor([0.2000]), tensor([1.1000]))
    """
    x = _var(input)
    if (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must either both be None or neither be None")
    if not training and running_mean is None:
        raise RuntimeError(
            "running_mean must be defined in evaluation mode; pass the running stats or "
            "training=True to normalize with the batch statistics"
        )
    _check_batch_norm(
        x, training, running_mean=running_mean, running_var=running_var, weight=weight, bias=bias
    )
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    if training:
        dims = (0, *range(2, x.ndim))
        mean, var = x.mean(dims), x.var(dims, correction=0)
        if running_mean is not None:
            if not (isinstance(running_mean, Variable) and isinstance(running_var, Variable)):
                raise TypeError(
                    f"batch_norm updates running_mean and running_var in place in training "
                    f"mode, so they must be Variables, got {type(running_mean).__name__} and "
                    f"{type(running_var).__name__}"
                )
            n = x.numel() // x.shape[1]
            with no_grad():  # the buffers are rebound, never replaced (jit lifts them)
                running_mean.mul_(1 - momentum).add_(mean.detach() * momentum)
                running_var.mul_(1 - momentum).add_(var.detach() * (momentum * n / (n - 1)))
    else:
        mean, var = _var(running_mean), _var(running_var)
    out = (x - mean.reshape(shape)) * (var + eps).rsqrt().reshape(shape)
    if weight is not None:
        out = out * _var(weight).reshape(shape)
    return out if bias is None else out + _var(bias).reshape(shape)


def _pair(v: Any, name: str) -> tuple[int, int]:
    if isinstance(v, numbers.Integral):
        return (int(v), int(v))
    v = tuple(int(a) for a in v)
    if len(v) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {v}")
    return v


def conv2d(
    input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
    dilation: Any = 1, groups: int = 1,
) -> Variable:  # fmt: skip
    """2-D convolution (cross-correlation) of (N, C, H, W) by weight (O, C/groups, kH, kW).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.conv2d(vj.ones(1, 1, 3, 3), vj.ones(1, 1, 2, 2))
        tensor([[[[4., 4.],
                  [4., 4.]]]])
    """
    x, w = _var(input), _var(weight)
    if x.ndim != 4 or w.ndim != 4:
        raise RuntimeError(
            f"conv2d expects a 4-D input (N, C, H, W) and 4-D weight, got {x.ndim}-D and "
            f"{w.ndim}-D; add a batch dim with unsqueeze(0)"
        )
    if x.shape[1] != w.shape[1] * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(w.shape)}, expected input"
            f"{list(x.shape)} to have {w.shape[1] * groups} channels, but got {x.shape[1]} "
            f"channels instead"
        )
    if isinstance(padding, str):
        pad = padding.upper()
        if pad not in ("SAME", "VALID"):
            raise ValueError(f"padding must be 'same', 'valid' or ints, got {padding!r}")
    else:
        pad = tuple((p, p) for p in _pair(padding, "padding"))
        _check_conv_size(x, w, pad, _pair(dilation, "dilation"))
    params = (
        ("dilation", _pair(dilation, "dilation")), ("groups", int(groups)), ("padding", pad),
        ("stride", _pair(stride, "stride")),
    )  # fmt: skip
    out = _apply(P.conv2d, x, w, params=params)
    return out if bias is None else out + _var(bias).reshape(1, -1, 1, 1)


def _check_conv_size(x: Variable, w: Variable, pad: tuple, dilation: tuple) -> None:
    padded = [n + 2 * p for n, (p, _) in zip(x.shape[-2:], pad)]
    kernel = [(k - 1) * d + 1 for k, d in zip(w.shape[-2:], dilation)]
    if any(k > n for k, n in zip(kernel, padded)):
        raise RuntimeError(
            f"Calculated padded input size per channel: ({padded[0]} x {padded[1]}). Kernel "
            f"size: ({kernel[0]} x {kernel[1]}). Kernel size can't be greater than actual "
            f"input size"
        )


def _pool_out(n: int, k: int, s: int, p: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output size (pooling_output_shape)."""
    out = -(-(n + 2 * p - k) // s) + 1 if ceil_mode else (n + 2 * p - k) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _pool(kind: str, input, kernel_size, stride, padding, ceil_mode) -> Variable:
    x = _var(input)
    if x.ndim not in (3, 4):
        raise RuntimeError(f"{kind}_pool2d expects a 3-D or 4-D input, got {x.ndim}-D")
    k = _pair(kernel_size, "kernel_size")
    s = k if stride is None or stride == () else _pair(stride, "stride")
    p = _pair(padding, "padding")
    if any(pi > ki // 2 for pi, ki in zip(p, k)):
        raise RuntimeError(
            f"pad should be at most half of effective kernel size, but got pad={p}, kernel_size={k}"
        )
    out = [_pool_out(n, ki, si, pi, ceil_mode) for n, ki, si, pi in zip(x.shape[-2:], k, s, p)]
    if min(out) < 1:
        c, h, w = x.shape[-3:]
        raise RuntimeError(
            f"Given input size: ({c}x{h}x{w}). Calculated output size: "
            f"({c}x{out[0]}x{out[1]}). Output size is too small"
        )
    params = (("ceil_mode", bool(ceil_mode)), ("kernel", k), ("padding", p), ("stride", s))
    return _apply(P.max_pool2d if kind == "max" else P.avg_pool2d, x, params=params)


