"""Matrix products: ``matmul`` (``@``), ``mm``, ``bmm``, ``dot``, ``outer``; ``cross``, ``kron``."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from .._args import dim1
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
        """Matrix product with NumPy's broadcasting rules.

        Example:
            >>> import varjax as vj
            >>> vj.matmul(vj.ones(2, 3, 4), vj.ones(4, 5)).shape
            varjax.Size([2, 3, 5])
            >>> vj.tensor([[1.0, 2.0]]) @ vj.tensor([[3.0], [4.0]])
            tensor([[11.]])
        """
        return self._apply(P.matmul, self, other)

    @function
    def mm(self, mat2: Any) -> Variable:
        """Matrix product of two matrices.

        Example:
            >>> import varjax as vj
            >>> vj.mm(vj.tensor([[1, 2], [3, 4]]), vj.tensor([[0, 1], [1, 0]]))
            tensor([[2, 1],
                    [4, 3]])
        """
        b = self._lift(mat2)
        _ranks("mm", 2, self, b)
        return self.matmul(b)

    @function
    def bmm(self, mat2: Any) -> Variable:
        """Batched matrix product of two 3-D inputs.

        Example:
            >>> import varjax as vj
            >>> vj.bmm(vj.ones(2, 3, 4), vj.ones(2, 4, 5)).shape
            varjax.Size([2, 3, 5])
        """
        b = self._lift(mat2)
        _ranks("bmm", 3, self, b)
        if self.shape[0] != b.shape[0]:
            raise RuntimeError(f"bmm: batch sizes differ: {self.shape[0]} and {b.shape[0]}")
        return self.matmul(b)

    @function
    def dot(self, other: Any) -> Variable:
        """Inner product of two 1-D inputs.

        Example:
            >>> import varjax as vj
            >>> vj.dot(vj.tensor([1.0, 2.0]), vj.tensor([3.0, 4.0]))
            tensor(11.)
        """
        b = self._lift(other)
        _ranks("dot", 1, self, b)
        return self.matmul(b)

    @function
    def outer(self, vec2: Any) -> Variable:
        """Outer product of two 1-D inputs.

        Example:
            >>> import varjax as vj
            >>> vj.outer(vj.tensor([1, 2]), vj.tensor([1, 2, 3]))
            tensor([[1, 2, 3],
                    [2, 4, 6]])
        """
        b = self._lift(vec2)
        _ranks("outer", 1, self, b)
        return self._apply(P.outer, self, b)

    @function
    def cross(self, other: Any, dim: int | None = None) -> Variable:
        """Cross product of 3-vectors along ``dim`` (the first dim of size 3 by default).

        Example:
            >>> import varjax as vj
            >>> vj.cross(vj.tensor([1.0, 0.0, 0.0]), vj.tensor([0.0, 1.0, 0.0]), dim=0)
            tensor([0., 0., 1.])
        """
        b = self._lift(other)
        if dim is None:
            dim = next((i for i, n in enumerate(self.shape) if n == 3), None)
            if dim is None:
                raise RuntimeError("no dimension of size 3 in input")
        d = dim1(dim, self.ndim)
        if self.shape[d] != 3 or b.shape[d] != 3:
            raise RuntimeError(
                f"linalg.cross: inputs dimension {d} must have length 3. Got {self.shape[d]} "
                f"and {b.shape[d]}"
            )
        a0, a1, a2 = self.unbind(d)
        b0, b1, b2 = b.unbind(d)
        return self._stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], d)

    def _stack(self, parts: list, d: int) -> Variable:
        return parts[0]._apply(P.stack, *parts, params=(("axis", d),))

    @function
    def kron(self, other: Any) -> Variable:
        """Kronecker product (both inputs padded to the same number of dims).

        Example:
            >>> import varjax as vj
            >>> vj.kron(vj.tensor([1, 2]), vj.tensor([1, 10]))
            tensor([ 1, 10,  2, 20])
            >>> vj.kron(vj.eye(2), vj.ones(1, 2))
            tensor([[1., 1., 0., 0.],
                    [0., 0., 1., 1.]])
        """
        b = self._lift(other)
        n = builtins.max(self.ndim, b.ndim)
        a = self.reshape(*(1,) * (n - self.ndim), *self.shape)
        b = b.reshape(*(1,) * (n - b.ndim), *b.shape)
        # out[i*bn + j] = a[i] * b[j] along every dim: interleave the two sets of dims
        a_wide = a.reshape(*[s for i in range(n) for s in (a.shape[i], 1)])
        b_wide = b.reshape(*[s for i in range(n) for s in (1, b.shape[i])])
        out = a_wide * b_wide
        return out.reshape(*[a.shape[i] * b.shape[i] for i in range(n)])
