"""``Bilinear``, and ``NonDynamicallyQuantizableLinear``: the ``Linear`` that
``MultiheadAttention`` names its output projection with, as PyTorch does (so its repr is
PyTorch's)."""

from __future__ import annotations

import math

from .._variable import Variable
from . import functional as F
from . import init
from ._layers import Linear
from ._module import Module, Parameter

__all__ = ["Bilinear"]


class NonDynamicallyQuantizableLinear(Linear):
    """A ``Linear`` under PyTorch's name for ``MultiheadAttention.out_proj``."""


class Bilinear(Module):
    """``y = x1^T A x2 + b`` with weight (out_features, in1_features, in2_features), PyTorch's
    ``nn.Bilinear``; weight and bias start uniform in +-1/sqrt(in1_features).

    Example:
        >>> import varjax as vj
        >>> m = vj.nn.Bilinear(3, 4, 5)
        >>> m(vj.ones(2, 3), vj.ones(2, 4)).shape
        varjax.Size([2, 5])
    """

    def __init__(self, in1_features: int, in2_features: int, out_features: int,
                 bias: bool = True) -> None:  # fmt: skip
        super().__init__()
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        bound = 1 / math.sqrt(in1_features)
        shape = (out_features, in1_features, in2_features)
        self.weight = Parameter(init._draw("uniform", shape, None, None, -bound, bound))
        if bias:
            self.bias = Parameter(init._draw("uniform", (out_features,), None, None, -bound,
                                             bound))  # fmt: skip
        else:
            self.register_parameter("bias", None)

    def forward(self, input1: Variable, input2: Variable) -> Variable:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")  # fmt: skip
