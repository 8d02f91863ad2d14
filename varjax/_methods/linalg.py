"""Matrix products: ``matmul`` (``@``), ``mm``, ``bmm``, ``dot``, ``outer``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._ops import P
from ._base import Methods, function

if TYPE_CHECKING:
    from .._variable import Variable


def _ranks(name: str, want: int, *xs: Any) -> None:
    if any(x.ndim != want for x in xs):
        got = " and ".join(f"{x.ndim}D" for x in xs)
        raise RuntimeError(f"{name}: {want}D tensors expected, but got {got} tensors")


class LinalgMethods(Methods):
    __slots__ = ()

    @function
    def matmul(self, other: Any) -> Variable:
        """Matrix product with NumPy's broadcasting rules."""
        return self._apply(P.matmul, self, other)

    @function
    def mm(self, mat2: Any) -> Variable:
        """Matrix product of two matrices."""
        b = self._lift(mat2)
        _ranks("mm", 2, self, b)
        return self.matmul(b)

    @function
    def bmm(self, mat2: Any) -> Variable:
        """Batched matrix product of two 3-D inputs."""
        b = self._lift(mat2)
        _ranks("bmm", 3, self, b)
        if self.shape[0] != b.shape[0]:
            raise RuntimeError(f"bmm: batch sizes differ: {self.shape[0]} and {b.shape[0]}")
        return self.matmul(b)

    @function
    def dot(self, other: Any) -> Variable:
        """Inner product of two 1-D inputs."""
        b = self._lift(other)
        _ranks("dot", 1, self, b)
        return self.matmul(b)

    @function
    def outer(self, vec2: Any) -> Variable:
        """Outer product of two 1-D inputs."""
        b = self._lift(vec2)
        _ranks("outer", 1, self, b)
        return self._apply(P.outer, self, b)
