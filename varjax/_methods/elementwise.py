"""Elementwise methods whose arguments need more than a table convention: ``alpha``,
``rounding_mode``, bounds, ``approximate``, ... (the rest are rows of ``_ops.Elementwise``)."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

import numpy as np

from .._ops import P
from ._base import Methods, function

if TYPE_CHECKING:
    from .._variable import Variable


class ElementwiseMethods(Methods):
    __slots__ = ()

    @function
    def add(self, other: Any, *, alpha: float = 1) -> Variable:
        """input + alpha * other.

        Example:
            >>> import varjax as vj
            >>> vj.add(vj.tensor([1.0, 2.0]), vj.tensor([1.0, 1.0]), alpha=2)
            tensor([3., 4.])
        """
        return self._apply(P.add, self, self._scaled(other, alpha))

    @function
    def sub(self, other: Any, *, alpha: float = 1) -> Variable:
        """input - alpha * other.

        Example:
            >>> import varjax as vj
            >>> vj.sub(vj.tensor([5, 6]), vj.tensor([1, 1]), alpha=2)
            tensor([3, 4])
        """
        return self._apply(P.sub, self, self._scaled(other, alpha))

    subtract = sub

    def _scaled(self, other: Any, alpha: float) -> Any:
        if alpha == 1:
            return other
        if isinstance(other, (int, float, complex)):  # a Python number: no op to record
            return other * alpha
        return self._apply(P.mul, other, alpha)

    @function
    def mul(self, other: Any) -> Variable:
        """Elementwise product, with broadcasting.

        Example:
            >>> import varjax as vj
            >>> vj.mul(vj.tensor([1.0, 2.0]), vj.tensor([[1.0], [3.0]]))
            tensor([[1., 2.],
                    [3., 6.]])
        """
        return self._apply(P.mul, self, other)

    multiply = mul

    @function
    def div(self, other: Any, *, rounding_mode: str | None = None) -> Variable:
        """input / other; ``rounding_mode`` ``'trunc'`` or ``'floor'`` rounds the quotient.

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([7, -7])
            >>> vj.div(x, 2)
            tensor([ 3.5000, -3.5000])
            >>> vj.div(x, 2, rounding_mode="trunc")
            tensor([ 3, -3])
            >>> vj.div(x, 2, rounding_mode="floor")
            tensor([ 3, -4])
        """
        if rounding_mode not in (None, "trunc", "floor"):
            raise ValueError(
                f"rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}"
            )
        params = () if rounding_mode is None else (("rounding_mode", rounding_mode),)
        return self._apply(P.div, self, other, params=params)

    divide = true_divide = div

    @function
    def pow(self, exponent: Any) -> Variable:  # noqa: A003 - PyTorch's name
        """input ** exponent.

        Example:
            >>> import varjax as vj
            >>> vj.pow(vj.tensor([1.0, 2.0, 3.0]), 2)
            tensor([1., 4., 9.])
            >>> vj.pow(vj.tensor([2, 3]), vj.tensor([3, 2]))
            tensor([8, 9])
        """
        return self._apply(P.pow, self, exponent)

    @function
    def clamp(self, min: Any = None, max: Any = None) -> Variable:  # noqa: A002
        """Limit values to [min, max] (either may be None, a number or a Variable).

        Example:
            >>> import varjax as vj
            >>> vj.clamp(vj.tensor([-2.0, 0.5, 3.0]), min=0.0, max=1.0)
            tensor([0.0000, 0.5000, 1.0000])
            >>> vj.clip(vj.tensor([-2.0, 0.5, 3.0]), max=1.0)
            tensor([-2.0000,  0.5000,  1.0000])
        """
        if min is None and max is None:
            raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
        bounds = [b for b in (min, max) if b is not None]
        params = (("has_max", max is not None), ("has_min", min is not None))
        return self._apply(P.clamp, self, *bounds, params=params)

    @function
    def clamp_min(self, min: Any) -> Variable:  # noqa: A002
        """``clamp(min=min)``.

        Example:
            >>> import varjax as vj
            >>> vj.clamp_min(vj.tensor([-2.0, 0.5, 3.0]), 0.0)
            tensor([0.0000, 0.5000, 3.0000])
        """
        return self._apply(P.clamp_min, self, min)

    @function
    def clamp_max(self, max: Any) -> Variable:  # noqa: A002
        """``clamp(max=max)``.

        Example:
            >>> import varjax as vj
            >>> vj.clamp_max(vj.tensor([-2.0, 0.5, 3.0]), 1.0)
            tensor([-2.0000,  0.5000,  1.0000])
        """
        return self._apply(P.clamp_max, self, max)

    @function
    def addcmul(self, tensor1: Any, tensor2: Any, *, value: float = 1) -> Variable:
        """``input + value * tensor1 * tensor2``.

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([1.0, 1.0])
            >>> vj.addcmul(x, vj.tensor([2.0, 3.0]), vj.tensor([0.5, 2.0]), value=2)
            tensor([ 3., 13.])
        """
        return self + value * self._lift(tensor1) * self._lift(tensor2)

    @function
    def addcdiv(self, tensor1: Any, tensor2: Any, *, value: float = 1) -> Variable:
        """``input + value * tensor1 / tensor2``.

        Example:
            >>> import varjax as vj
            >>> vj.addcdiv(vj.zeros(2), vj.tensor([1.0, 3.0]), vj.tensor([2.0, 4.0]))
            tensor([0.5000, 0.7500])
        """
        return self + value * self._lift(tensor1) / self._lift(tensor2)

    clip = clamp

    def where(self, condition: Any, other: Any) -> Variable:
        """``self`` where ``condition`` holds, else ``other`` (``varjax.where(condition, self,
        other)``).

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([1.0, -2.0, 3.0])
            >>> x.where(x > 0, 0.0)
            tensor([1., 0., 3.])
        """
        return where(self._lift(condition), self, other)

    @function
    def lerp(self, end: Any, weight: Any) -> Variable:
        """input + weight * (end - input).

        Example:
            >>> import varjax as vj
            >>> vj.lerp(vj.tensor([0.0, 10.0]), vj.tensor([10.0, 20.0]), 0.5)
            tensor([ 5., 15.])
        """
        return self._apply(P.lerp, self, end, weight)

    @function
    def round(self, decimals: int = 0) -> Variable:  # noqa: A003
        """Round to ``decimals`` places, halves to even; zero gradient.

        Example:
            >>> import varjax as vj
            >>> vj.round(vj.tensor([0.5, 1.5, 2.7]))
            tensor([0., 2., 3.])
            >>> vj.round(vj.tensor([1.2345]), decimals=2)
            tensor([1.2300])
        """
        params = (("decimals", builtins.int(decimals)),) if decimals else ()
        return self._apply(P.round, self, params=params)

    def gelu(self, approximate: str = "none") -> Variable:
        """GELU: exact (``approximate='none'``, PyTorch's default) or the tanh approximation.

        Example:
            >>> import varjax as vj
            >>> vj.tensor([-1.0, 0.0, 1.0]).gelu()  # nn.functional.gelu's values
            tensor([-0.1587,  0.0000,  0.8413])
        """
        if approximate not in ("none", "tanh"):
            raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
        return self._apply(P.gelu, self, params=(("approximate", approximate == "tanh"),))

    def softplus(self, beta: float = 1.0, threshold: float = 20.0) -> Variable:
        """log(1 + exp(beta * x)) / beta, linear where beta * x > threshold (as PyTorch).

        Example:
            >>> import varjax as vj
            >>> vj.tensor([-1.0, 0.0, 1.0]).softplus()  # nn.functional.softplus's values
            tensor([0.3133, 0.6931, 1.3133])
        """
        params = (("beta", builtins.float(beta)), ("threshold", builtins.float(threshold)))
        return self._apply(P.softplus, self, params=params)


def where(condition: Any, input: Any, other: Any) -> Variable:
    """``input`` where ``condition`` holds, else ``other`` (a boolean condition Variable)."""
    if condition.dtype != np.bool_:
        raise RuntimeError(
            f"where expected condition to be a boolean tensor, but got a tensor with dtype "
            f"{condition.dtype}; compare first, e.g. x > 0"
        )
    return condition._apply(P.where, condition, input, other)
