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
    """``x`` where positive, else ``negative_slope * x`` (PyTorch's ``nn.LeakyReLU``).

    Example:
        >>> import varjax as vj
        >>> vj.nn.LeakyReLU(0.5)(vj.tensor([-2.0, 3.0]))
        tensor([-1.,  3.])
        >>> vj.nn.LeakyReLU()
        LeakyReLU(negative_slope=0.01)
    """

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input: Variable) -> Variable:
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}{_inplace_str(self.inplace)}"


class PReLU(Module):
    """Leaky ReLU with a learned slope ``weight`` of ``num_parameters`` entries (1, or one per
    channel), initialised to ``init`` (PyTorch's ``nn.PReLU``).

    Example:
        >>> import varjax as vj
        >>> prelu = vj.nn.PReLU()  # slope 0.25, learned
        >>> prelu(vj.tensor([-2.0, 3.0])).tolist()
        [-0.5, 3.0]
        >>> prelu
        PReLU(num_parameters=1)
    """

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
    training, their mean in eval (PyTorch's ``nn.RReLU``).

    Example:
        >>> import varjax as vj
        >>> rrelu = vj.nn.RReLU(0.1, 0.3).eval()  # eval: slope (lower + upper) / 2
        >>> rrelu(vj.tensor([-1.0, 2.0]))
        tensor([-0.2000,  2.0000])
        >>> rrelu
        RReLU(lower=0.1, upper=0.3)
    """

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
                 inplace: bool = False) -> None:  # fmt: skip
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input: Variable) -> Variable:
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}{_inplace_str(self.inplace)}"


class ELU(Module):
    """``x`` where positive, else ``alpha * (exp(x) - 1)`` (PyTorch's ``nn.ELU``).

    Example:
        >>> import varjax as vj
        >>> vj.nn.ELU()(vj.tensor([-1.0, 0.0, 2.0]))
        tensor([-0.6321,  0.0000,  2.0000])
        >>> vj.nn.ELU()
        ELU(alpha=1.0)
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: Variable) -> Variable:
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{_inplace_str(self.inplace)}"


class CELU(ELU):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))`` (PyTorch's ``nn.CELU``).

    Example:
        >>> import varjax as vj
        >>> vj.nn.CELU()(vj.tensor([-1.0, 0.0, 2.0]))
        tensor([-0.6321,  0.0000,  2.0000])
        >>> vj.nn.CELU(alpha=0.5)
        CELU(alpha=0.5)
    """

    def forward(self, input: Variable) -> Variable:
        return F.celu(input, self.alpha, self.inplace)


class SELU(_Inplace):
    """Scaled ELU with the self-normalizing constants (PyTorch's ``nn.SELU``).

    Example:
        >>> import varjax as vj
        >>> vj.nn.SELU()(vj.tensor([0.0, 1.0]))
        tensor([0.0000, 1.0507])
    """

    def forward(self, input: Variable) -> Variable:
        return F.selu(input, self.inplace)


class SiLU(_Inplace):
    """``x * sigmoid(x)`` (PyTorch's ``nn.SiLU``).

    Example:
        >>> import varjax as vj
        >>> vj.nn.SiLU()(vj.tensor([0.0, 1.0]))
        tensor([0.0000, 0.7311])
    """

    def forward(self, input: Variable) -> Variable:
        out = F.silu(input)
        return input.copy_(out) if self.inplace else out


class Mish(_Inplace):
    """``x * tanh(softplus(x))`` (PyTorch's ``nn.Mish``).

    Example:
        >>> import varjax as vj
        >>> vj.nn.Mish()(vj.tensor([0.0, 1.0]))
        tensor([0.0000, 0.8651])
    """

    def forward(self, input: Variable) -> Variable:
        return F.mish(input, self.inplace)


class Hardswish(_Inplace):
    """``x * relu6(x + 3) / 6`` (PyTorch's ``nn.Hardswish``; its repr omits ``inplace``).

    Example:
        >>> import varjax as vj
        >>> vj.nn.Hardswish()(vj.tensor([-1.5, 0.0, 3.0]))
        tensor([-0.3750,  0.0000,  3.0000])
    """

    def forward(self, input: Variable) -> Variable:
        return F.hardswish(input, self.inplace)

    def extra_repr(self) -> str:
        return ""


class Hardsigmoid(_Inplace):
    """``relu6(x + 3) / 6`` (PyTorch's ``nn.Hardsigmoid``; its repr omits ``inplace``).

    Example:
        >>> import varjax as vj
        >>> vj.nn.Hardsigmoid()(vj.tensor([-3.0, 0.0, 3.0]))
        tensor([0.0000, 0.5000, 1.0000])
    """

    def forward(self, input: Variable) -> Variable:
        return F.hardsigmoid(input, self.inplace)

    def extra_repr(self) -> str:
        return ""


class Hardtanh(Module):
    """``x`` clamped to ``[min_val, max_val]`` (PyTorch's ``nn.Hardtanh``; ``min_value`` and
    ``max_value`` are its deprecated spellings).

    Example:
        >>> import varjax as vj
        >>> vj.nn.Hardtanh()(vj.tensor([-2.0, 0.5, 2.0]))
        tensor([-1.0000,  0.5000,  1.0000])
        >>> vj.nn.Hardtanh()
        Hardtanh(min_val=-1.0, max_val=1.0)
    """

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
    """``min(max(x, 0), 6)`` (PyTorch's ``nn.ReLU6``, a ``Hardtanh(0, 6)``).

    Example:
        >>> import varjax as vj
        >>> vj.nn.ReLU6()(vj.tensor([-1.0, 3.0, 8.0]))
        tensor([0., 3., 6.])
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return _inplace_str(self.inplace, "")


class Softplus(Module):
    """``log(1 + exp(beta * x)) / beta``, linear above ``threshold`` (``nn.Softplus``).

    Example:
        >>> import varjax as vj
        >>> vj.nn.Softplus()(vj.tensor([0.0, 30.0]))
        tensor([ 0.6931, 30.0000])
        >>> vj.nn.Softplus()
        Softplus(beta=1.0, threshold=20.0)
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input: Variable) -> Variable:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softsign(Module):
    """``x / (1 + |x|)`` (PyTorch's ``nn.Softsign``).

    Example:
        >>> import varjax as vj
        >>> vj.nn.Softsign()(vj.tensor([-1.0, 3.0]))
        tensor([-0.5000,  0.7500])
    """

    def forward(self, input: Variable) -> Variable:
        return F.softsign(input)


class Tanhshrink(Module):
    """``x - tanh(x)`` (PyTorch's ``nn.Tanhshrink``).

    Example:
        >>> import varjax as vj
        >>> vj.nn.Tanhshrink()(vj.tensor([0.0, 1.0]))
        tensor([0.0000, 0.2384])
    """

    def forward(self, input: Variable) -> Variable:
        return F.tanhshrink(input)


class LogSigmoid(Module):
    """``log(sigmoid(x))`` (PyTorch's ``nn.LogSigmoid``).

    Example:
        >>> import varjax as vj
        >>> vj.nn.LogSigmoid()(vj.tensor([0.0]))
        tensor([-0.6931])
    """

    def forward(self, input: Variable) -> Variable:
        return F.logsigmoid(input)


class Threshold(Module):
    """``x`` where ``x > threshold``, else ``value`` (PyTorch's ``nn.Threshold``).

    Example:
        >>> import varjax as vj
        >>> vj.nn.Threshold(0.5, -1.0)(vj.tensor([0.0, 1.0]))
        tensor([-1.,  1.])
        >>> vj.nn.Threshold(0.5, -1.0)
        Threshold(threshold=0.5, value=-1.0)
    """

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input: Variable) -> Variable:
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}{_inplace_str(self.inplace)}"


class GLU(Module):
    """``a * sigmoid(b)`` for the two halves of the input along ``dim`` (``nn.GLU``).

    Example:
        >>> import varjax as vj
        >>> vj.nn.GLU()(vj.tensor([1.0, 2.0, 0.0, 0.0]))
        tensor([0.5000, 1.0000])
        >>> vj.nn.GLU()
        GLU(dim=-1)
    """

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
    """``exp(x) / sum(exp(x))`` along ``dim`` (PyTorch's ``nn.Softmax``).

    Example:
        >>> import varjax as vj
        >>> vj.nn.Softmax(dim=-1)(vj.tensor([[1.0, 1.0], [0.0, 2.0]]))
        tensor([[0.5000, 0.5000],
                [0.1192, 0.8808]])
        >>> vj.nn.Softmax(dim=-1)
        Softmax(dim=-1)
    """

    _name = "softmax"

    def forward(self, input: Variable) -> Variable:
        return F.softmax(input, self._dim(input))


class LogSoftmax(_SoftmaxLike):
    """``log(softmax(x))`` along ``dim``, computed stably (PyTorch's ``nn.LogSoftmax``).

    Example:
        >>> import varjax as vj
        >>> vj.nn.LogSoftmax(dim=1)(vj.tensor([[0.0, 0.0]]))
        tensor([[-0.6931, -0.6931]])
        >>> vj.nn.LogSoftmax(dim=1)
        LogSoftmax(dim=1)
    """

    _name = "log_softmax"

    def forward(self, input: Variable) -> Variable:
        return F.log_softmax(input, self._dim(input))


class Softmin(_SoftmaxLike):
    """``softmax(-x)`` along ``dim`` (PyTorch's ``nn.Softmin``).

    Example:
        >>> import varjax as vj
        >>> vj.nn.Softmin(dim=0)(vj.tensor([0.0, 2.0]))
        tensor([0.8808, 0.1192])
    """

    _name = "softmin"

    def forward(self, input: Variable) -> Variable:
        return F.softmin(input, self._dim(input))


class Hardshrink(Module):
    """``x`` where ``|x| > lambd``, else 0 (PyTorch's ``nn.Hardshrink``).

    Example:
        >>> import varjax as vj
        >>> vj.nn.Hardshrink()(vj.tensor([-1.0, 0.25, 2.0]))
        tensor([-1.,  0.,  2.])
        >>> vj.nn.Hardshrink()
        Hardshrink(0.5)
    """

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Variable) -> Variable:
        return F.hardshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    """``x`` moved ``lambd`` toward 0, 0 within ``lambd`` (PyTorch's ``nn.Softshrink``).

    Example:
        >>> import varjax as vj
        >>> vj.nn.Softshrink()(vj.tensor([-1.0, 0.25, 2.0]))
        tensor([-0.5000,  0.0000,  1.5000])
    """

    def forward(self, input: Variable) -> Variable:
        return F.softshrink(input, self.lambd)
