"""Activation Modules over ``nn.functional``: PyTorch's constructor arguments, attribute
names and ``repr`` strings (``ReLU``, ``GELU``, ``Tanh`` and ``Sigmoid`` live in ``_layers``).

Only ``PReLU`` holds state: its ``weight`` Parameter, filled with ``init``.
"""

from __future__ import annotations

from typing import Any

from .._creation import full
from .._variable import Variable
from . import functional as F
from ._functional.activation import _softmax_dim
from ._module import Module, Parameter

__all__ = [
    "CELU", "ELU", "GLU", "Hardshrink", "Hardsigmoid", "Hardswish", "Hardtanh", "LeakyReLU",
    "LogSigmoid", "LogSoftmax", "Mish", "PReLU", "ReLU6", "RReLU", "SELU", "SiLU", "Softmax",
    "Softmin", "Softplus", "Softshrink", "Softsign", "Tanhshrink", "Threshold",
]  # fmt: skip


def _inplace_str(inplace: bool, lead: str = ", ") -> str:
    return f"{lead}inplace=True" if inplace else ""


class _Inplace(Module):
    """An activation whose only setting is ``inplace``."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        return _inplace_str(self.inplace, "")


class LeakyReLU(Module):
    """``x`` where positive, else ``negative_slope * x`` (PyTorch's ``nn.LeakyReLU``)."""

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input: Variable) -> Variable:
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}{_inplace_str(self.inplace)}"


class PReLU(Module):
    """Leaky ReLU with a learned slope ``weight`` of ``num_parameters`` entries (1, or one per
    channel), initialised to ``init`` (PyTorch's ``nn.PReLU``)."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device: Any = None,
                 dtype: Any = None) -> None:  # fmt: skip
        super().__init__()
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(full((num_parameters,), float(init), dtype, device=device))

    def reset_parameters(self) -> None:
        self.weight.data.fill_(self.init)

    def forward(self, input: Variable) -> Variable:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class RReLU(Module):
    """Randomized leaky ReLU: a random slope in ``[lower, upper]`` per negative element in
    training, their mean in eval (PyTorch's ``nn.RReLU``)."""

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
                 inplace: bool = False) -> None:  # fmt: skip
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input: Variable) -> Variable:
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}{_inplace_str(self.inplace)}"


class ELU(Module):
    """``x`` where positive, else ``alpha * (exp(x) - 1)`` (PyTorch's ``nn.ELU``)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: Variable) -> Variable:
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{_inplace_str(self.inplace)}"


class CELU(ELU):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))`` (PyTorch's ``nn.CELU``)."""

    def forward(self, input: Variable) -> Variable:
        return F.celu(input, self.alpha, self.inplace)


class SELU(_Inplace):
    """Scaled ELU with the self-normalizing constants (PyTorch's ``nn.SELU``)."""

    def forward(self, input: Variable) -> Variable:
        return F.selu(input, self.inplace)


class SiLU(_Inplace):
    """``x * sigmoid(x)`` (PyTorch's ``nn.SiLU``)."""

    def forward(self, input: Variable) -> Variable:
        out = F.silu(input)
        return input.copy_(out) if self.inplace else out


class Mish(_Inplace):
    """``x * tanh(softplus(x))`` (PyTorch's ``nn.Mish``)."""

    def forward(self, input: Variable) -> Variable:
        return F.mish(input, self.inplace)


class Hardswish(_Inplace):
    """``x * relu6(x + 3) / 6`` (PyTorch's ``nn.Hardswish``; its repr omits ``inplace``)."""

    def forward(self, input: Variable) -> Variable:
        return F.hardswish(input, self.inplace)

    def extra_repr(self) -> str:
        return ""


class Hardsigmoid(_Inplace):
    """``relu6(x + 3) / 6`` (PyTorch's ``nn.Hardsigmoid``; its repr omits ``inplace``)."""

    def forward(self, input: Variable) -> Variable:
        return F.hardsigmoid(input, self.inplace)

    def extra_repr(self) -> str:
        return ""


class Hardtanh(Module):
    """``x`` clamped to ``[min_val, max_val]`` (PyTorch's ``nn.Hardtanh``; ``min_value`` and
    ``max_value`` are its deprecated spellings)."""

    def __init__(
        self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False,
        min_value: float | None = None, max_value: float | None = None,
    ) -> None:  # fmt: skip
        super().__init__()
        min_val = min_val if min_value is None else min_value
        max_val = max_val if max_value is None else max_value
        if max_val <= min_val:
            raise AssertionError(
                f"Hardtanh needs max_val > min_val, got min_val={min_val}, max_val={max_val}"
            )
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input: Variable) -> Variable:
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}{_inplace_str(self.inplace)}"


class ReLU6(Hardtanh):
    """``min(max(x, 0), 6)`` (PyTorch's ``nn.ReLU6``, a ``Hardtanh(0, 6)``)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return _inplace_str(self.inplace, "")


class Softplus(Module):
    """``log(1 + exp(beta * x)) / beta``, linear above ``threshold`` (``nn.Softplus``)."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input: Variable) -> Variable:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softsign(Module):
    """``x / (1 + |x|)`` (PyTorch's ``nn.Softsign``)."""

    def forward(self, input: Variable) -> Variable:
        return F.softsign(input)


class Tanhshrink(Module):
    """``x - tanh(x)`` (PyTorch's ``nn.Tanhshrink``)."""

    def forward(self, input: Variable) -> Variable:
        return F.tanhshrink(input)


class LogSigmoid(Module):
    """``log(sigmoid(x))`` (PyTorch's ``nn.LogSigmoid``)."""

    def forward(self, input: Variable) -> Variable:
        return F.logsigmoid(input)


class Threshold(Module):
    """``x`` where ``x > threshold``, else ``value`` (PyTorch's ``nn.Threshold``)."""

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input: Variable) -> Variable:
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}{_inplace_str(self.inplace)}"


class GLU(Module):
    """``a * sigmoid(b)`` for the two halves of the input along ``dim`` (``nn.GLU``)."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Variable) -> Variable:
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class _SoftmaxLike(Module):
    """A normalisation along ``dim``; ``dim=None`` takes PyTorch's legacy choice (dim 0 for
    0-, 1- and 3-D inputs, else 1) with its warning."""

    _name = ""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def _dim(self, input: Variable) -> int:
        return _softmax_dim(self._name, input.ndim, 4) if self.dim is None else self.dim

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_SoftmaxLike):
    """``exp(x) / sum(exp(x))`` along ``dim`` (PyTorch's ``nn.Softmax``)."""

    _name = "softmax"

    def forward(self, input: Variable) -> Variable:
        return F.softmax(input, self._dim(input))


class LogSoftmax(_SoftmaxLike):
    """``log(softmax(x))`` along ``dim``, computed stably (PyTorch's ``nn.LogSoftmax``)."""

    _name = "log_softmax"

    def forward(self, input: Variable) -> Variable:
        return F.log_softmax(input, self._dim(input))


class Softmin(_SoftmaxLike):
    """``softmax(-x)`` along ``dim`` (PyTorch's ``nn.Softmin``)."""

    _name = "softmin"

    def forward(self, input: Variable) -> Variable:
        return F.softmin(input, self._dim(input))


class Hardshrink(Module):
    """``x`` where ``|x| > lambd``, else 0 (PyTorch's ``nn.Hardshrink``)."""

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Variable) -> Variable:
        return F.hardshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    """``x`` moved ``lambd`` toward 0, 0 within ``lambd`` (PyTorch's ``nn.Softshrink``)."""

    def forward(self, input: Variable) -> Variable:
        return F.softshrink(input, self.lambd)
