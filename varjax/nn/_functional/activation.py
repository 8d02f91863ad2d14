"""``nn.functional`` activations beyond ``basic.py``'s: the ReLU family, ELU/SELU/CELU, the
hard and shrink functions, GLU, softmin, Gumbel-softmax and RReLU.

Activations with a kink are table ops of their own (``_ops.Primitives``: their ``jnp.where``
form gives PyTorch's gradient at the kink and PyTorch's ``grad_fn`` name); the rest are
composites of Variable methods, as in PyTorch. ``inplace=True`` computes the result out of
place and writes it back with ``copy_``, so PyTorch's in-place rules (no leaf that requires
grad) hold and the gradient is that of the out-of-place function.
"""

from __future__ import annotations

import warnings
from typing import Any

from ... import _creation, _functions
from ..._dtypes import is_floating
from ..._ops import Op, P
from ..._variable import Variable
from ..._variable import as_variable as _var
from .basic import _apply, softmax
from .basic import softmax_dim as _softmax_dim

__all__ = [
    "celu", "elu", "glu", "gumbel_softmax", "hardshrink", "hardsigmoid", "hardswish", "hardtanh",
    "leaky_relu", "logsigmoid", "mish", "prelu", "relu6", "rrelu", "selu", "softmin", "softshrink",
    "softsign", "tanhshrink", "threshold",
]  # fmt: skip

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _float_input(name: str, x: Variable) -> Variable:
    if not is_floating(x.dtype):
        raise RuntimeError(
            f"{name}: expected a floating-point input, got dtype {x.dtype}; convert it first "
            f"with .float()"
        )
    return x


def _pointwise(name: str, op: Op, input: Any, inplace: bool, **params: float) -> Variable:
    """A table activation of ``input``, written back into it when ``inplace``."""
    x = _float_input(name, _var(input))
    out = _apply(op, x, params=tuple(sorted((k, float(v)) for k, v in params.items())))
    return _write_back(x, out, inplace)


def _write_back(x: Variable, out: Variable, inplace: bool) -> Variable:
    return x.copy_(out) if inplace else out


def leaky_relu(input: Any, negative_slope: float = 0.01, inplace: bool = False) -> Variable:
    """``x`` where ``x > 0``, else ``negative_slope * x`` (PyTorch's ``F.leaky_relu``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.leaky_relu(vj.tensor([-2.0, 0.0, 3.0]), 0.5)
        tensor([-1.,  0.,  3.])
    """
    return _pointwise("leaky_relu", P.leaky_relu, input, inplace,
                      negative_slope=negative_slope)  # fmt: skip


def elu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Variable:
    """``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)`` (PyTorch's ``F.elu``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.elu(vj.tensor([-1.0, 0.0, 2.0]))
        tensor([-0.6321,  0.0000,  2.0000])
    """
    return _pointwise("elu", P.elu, input, inplace, alpha=alpha, scale=1.0, input_scale=1.0)


def selu(input: Any, inplace: bool = False) -> Variable:
    """``scale * elu(x, alpha)`` with the self-normalizing constants (PyTorch's ``F.selu``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.selu(vj.tensor([-1.0, 0.0, 1.0]))
        tensor([-1.1113,  0.0000,  1.0507])
    """
    return _pointwise("selu", P.elu, input, inplace, alpha=_SELU_ALPHA, scale=_SELU_SCALE,
                      input_scale=1.0)  # fmt: skip


def celu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Variable:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))`` (PyTorch's ``F.celu``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.celu(vj.tensor([-1.0, 0.0, 2.0]), alpha=2.0)
        tensor([-0.7869,  0.0000,  2.0000])
    """
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: celu needs a nonzero alpha, got alpha=0")
    return _pointwise("celu", P.celu, input, inplace, alpha=alpha, scale=1.0,
                      input_scale=1.0 / alpha)  # fmt: skip


def hardtanh(input: Any, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Variable:  # fmt: skip
    """``x`` clamped to ``[min_val, max_val]``, gradient 0 at the bounds (``F.hardtanh``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.hardtanh(vj.tensor([-2.0, 0.5, 3.0]))
        tensor([-1.0000,  0.5000,  1.0000])
    """
    if min_val > max_val:
        raise ValueError(
            f"hardtanh: min_val cannot be greater than max_val, got min_val={min_val} and "
            f"max_val={max_val}"
        )
    return _pointwise("hardtanh", P.hardtanh, input, inplace, min_val=min_val,
                      max_val=max_val)  # fmt: skip


def relu6(input: Any, inplace: bool = False) -> Variable:
    """``min(max(x, 0), 6)``: ``hardtanh(x, 0, 6)``, as in PyTorch's ``F.relu6``.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.relu6(vj.tensor([-1.0, 3.0, 8.0]))
        tensor([0., 3., 6.])
    """
    return hardtanh(input, 0.0, 6.0, inplace)


def hardswish(input: Any, inplace: bool = False) -> Variable:
    """``x * relu6(x + 3) / 6`` (PyTorch's ``F.hardswish``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.hardswish(vj.tensor([-1.0, 0.0, 1.5, 4.0]))
        tensor([-0.3333,  0.0000,  1.1250,  4.0000])
    """
    return _pointwise("hardswish", P.hardswish, input, inplace)


def hardsigmoid(input: Any, inplace: bool = False) -> Variable:
    """``relu6(x + 3) / 6`` (PyTorch's ``F.hardsigmoid``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.hardsigmoid(vj.tensor([-3.0, 0.0, 1.5, 3.0]))
        tensor([0.0000, 0.5000, 0.7500, 1.0000])
    """
    return _pointwise("hardsigmoid", P.hardsigmoid, input, inplace)


def mish(input: Any, inplace: bool = False) -> Variable:
    """``x * tanh(softplus(x))`` (PyTorch's ``F.mish``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.mish(vj.tensor([0.0, 1.0]))
        tensor([0.0000, 0.8651])
    """
    return _pointwise("mish", P.mish, input, inplace)


def threshold(input: Any, threshold: float, value: float, inplace: bool = False) -> Variable:
    """``x`` where ``x > threshold``, else ``value`` (PyTorch's ``F.threshold``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.threshold(vj.tensor([-1.0, 0.5, 2.0]), 1.0, 0.0)
        tensor([0., 0., 2.])
    """
    return _pointwise("threshold", P.threshold, input, inplace, threshold=threshold,
                      value=value)  # fmt: skip


def logsigmoid(input: Any) -> Variable:
    """``log(sigmoid(x))``, computed stably (PyTorch's ``F.logsigmoid``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.logsigmoid(vj.tensor([0.0, 1.0]))
        tensor([-0.6931, -0.3133])
    """
    return _pointwise("logsigmoid", P.log_sigmoid, input, False)


def hardshrink(input: Any, lambd: float = 0.5) -> Variable:
    """``x`` where ``|x| > lambd``, else 0 (PyTorch's ``F.hardshrink``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.hardshrink(vj.tensor([-1.0, 0.25, 2.0]))
        tensor([-1.,  0.,  2.])
    """
    return _pointwise("hardshrink", P.hardshrink, input, False, lambd=lambd)


def softshrink(input: Any, lambd: float = 0.5) -> Variable:
    """``x`` moved ``lambd`` toward 0, and 0 where ``|x| <= lambd`` (``F.softshrink``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.softshrink(vj.tensor([-1.0, 0.25, 2.0]))
        tensor([-0.5000,  0.0000,  1.5000])
    """
    if lambd < 0:
        raise RuntimeError(
            f"lambda must be greater or equal to 0, but found to be {lambd}; pass lambd >= 0"
        )
    return _pointwise("softshrink", P.softshrink, input, False, lambd=lambd)


def softsign(input: Any) -> Variable:
    """``x / (1 + |x|)`` (PyTorch's ``F.softsign``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.softsign(vj.tensor([-1.0, 0.0, 3.0]))
        tensor([-0.5000,  0.0000,  0.7500])
    """
    x = _var(input)
    return x / (x.abs() + 1)


def tanhshrink(input: Any) -> Variable:
    """``x - tanh(x)`` (PyTorch's ``F.tanhshrink``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.tanhshrink(vj.tensor([0.0, 1.0]))
        tensor([0.0000, 0.2384])
    """
    x = _var(input)
    return x - x.tanh()


def glu(input: Any, dim: int = -1) -> Variable:
    """``a * sigmoid(b)`` for the halves ``a, b`` of ``input`` along ``dim`` (``F.glu``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.glu(vj.tensor([[1.0, 2.0, 0.0, 0.0]]))
        tensor([[0.5000, 1.0000]])
    """
    x = _var(input)
    if x.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    n = x.shape[dim]
    if n % 2:
        raise RuntimeError(
            f"Halving dimension must be even, but dimension {dim % x.ndim} is size {n}"
        )
    a, b = x.split(n // 2, dim)
    return a * b.sigmoid()


def softmin(input: Any, dim: int | None = None, _stacklevel: int = 3,
            dtype: Any = None) -> Variable:  # fmt: skip
    """``softmax(-x)`` along ``dim`` (PyTorch's ``F.softmin``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.softmin(vj.tensor([1.0, 2.0, 3.0]), dim=0)
        tensor([0.6652, 0.2447, 0.0900])
    """
    x = _var(input)
    if dim is None:
        dim = _softmax_dim("softmin", x.ndim, _stacklevel)
    return softmax(-x, dim, dtype=dtype)


def prelu(input: Any, weight: Any) -> Variable:
    """``x`` where ``x > 0``, else ``weight * x``, one weight per channel (dim 1) or one for
    all (PyTorch's ``F.prelu``).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.prelu(vj.tensor([[-2.0, 3.0], [4.0, -4.0]]), vj.tensor([0.5, 0.25]))
        tensor([[-1.,  3.],
                [ 4., -1.]])
    """
    x, w = _var(input), _var(weight)
    if w.numel() != 1:
        channels = x.shape[1] if x.ndim >= 2 else (x.shape[0] if x.ndim == 1 else 1)
        if w.ndim != 1 or w.numel() != channels:
            raise RuntimeError(
                f"Mismatch of parameter numbers and input channel size. Found parameter "
                f"numbers = {w.numel()} and channel size = {channels}."
            )
        if x.ndim >= 2:
            w = w.reshape(channels, *([1] * (x.ndim - 2)))
    else:
        w = w.reshape(())
    return _functions.where(x > 0, x, w * x)


def rrelu(input: Any, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Variable:  # fmt: skip
    """Randomized leaky ReLU (PyTorch's ``F.rrelu``): in training, each negative ``x`` is
    scaled by a slope drawn uniformly from ``[lower, upper]`` (varjax's seeded keys); in
    eval, by the mean slope ``(lower + upper) / 2``.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> F.rrelu(vj.tensor([-2.0, 3.0]), lower=0.25, upper=0.75)  # eval: slope 0.5
        tensor([-1.,  3.])
    """
    x = _float_input("rrelu", _var(input))
    if not training:
        return leaky_relu(x, (lower + upper) / 2, inplace)
    slope = _creation.rand_like(x) * (upper - lower) + lower
    return _write_back(x, _functions.where(x >= 0, x, x * slope), inplace)


def gumbel_softmax(logits: Any, tau: float = 1.0, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1) -> Variable:  # fmt: skip
    """Samples from the Gumbel-softmax distribution (PyTorch's ``F.gumbel_softmax``):
    ``softmax((logits + g) / tau)`` with Gumbel noise ``g`` from varjax's seeded keys; with
    ``hard=True`` the one-hot argmax, whose gradient is the soft sample's (straight-through).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> _ = vj.manual_seed(0)
        >>> y = F.gumbel_softmax(vj.zeros(2, 3), hard=True)
        >>> y.shape, y.sum(-1)
        (varjax.Size([2, 3]), tensor([1., 1.]))
    """
    x = _var(logits)
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    gumbels = -_creation.empty_like(x).exponential_().log()
    y_soft = softmax((x + gumbels) / tau, dim)
    if not hard:
        return y_soft
    index = y_soft.argmax(dim, keepdim=True)
    y_hard = _creation.zeros_like(x).scatter(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft
