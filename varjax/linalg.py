"""``varjax.linalg``: PyTorch's ``torch.linalg`` functions used most, on the op table."""

from __future__ import annotations

from typing import Any

import jax
import jax.scipy.linalg
import numpy as np

from . import _tracing
from ._args import dims as _dims
from ._dtypes import is_floating
from ._ops import P
from ._variable import Variable, as_variable

__all__ = ["inv", "norm", "solve"]


def norm(input: Any, ord: Any = None, dim: Any = None, keepdim: bool = False) -> Variable:
    """Vector or matrix norm, as ``torch.linalg.norm``: with ``dim=None`` a 1-D input has its
    vector 2-norm and a 2-D input its Frobenius norm; other inputs need ``dim`` or ``ord=None``.

    Example:
        >>> import varjax as vj
        >>> vj.linalg.norm(vj.tensor([3.0, 4.0])).item()
        5.0
    """
    x = as_variable(input)
    axis = _dims(dim, x.ndim)
    if axis is None and ord is not None and x.ndim not in (1, 2):
        raise RuntimeError(
            f"linalg.norm: input must be 1-D or 2-D when dim is None and ord is given, got "
            f"{x.ndim}-D; pass dim"
        )
    if axis is None and ord is None:
        x, axis = x.reshape(-1), None  # the 2-norm of all elements
    if axis is not None and len(axis) == 1:
        axis = axis[0]
    params = (("axis", axis), ("keepdims", bool(keepdim)), ("ord", ord))
    return x._apply(P.linalg_norm, x, params=params)


def inv(A: Any) -> Variable:  # noqa: N803 - PyTorch's argument name
    """Inverse of a square matrix (or a batch of them).

    Example:
        >>> import varjax as vj
        >>> vj.linalg.inv(vj.tensor([[2.0, 0.0], [0.0, 4.0]]))
        tensor([[0.5000, 0.0000],
                [0.0000, 0.2500]])
    """
    a = as_variable(A)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise RuntimeError(
            f"linalg.inv: A must be batches of square matrices, but they are "
            f"{a.shape[-2] if a.ndim >= 2 else a.ndim} by {a.shape[-1] if a.ndim else 0} matrices"
        )
    _check_invertible(a)
    return a._apply(P.linalg_inv, a)


def _check_invertible(a: Variable) -> None:
    """PyTorch's error for a singular matrix, where the value is known at the call (a leaf, or
    eager mode); a pending one is not computed for it, and JAX then gives inf/NaN."""
    value = a._node.value
    if value is None or _tracing.is_tracer(value) or not is_floating(a.dtype) or a.numel() == 0:
        return
    lu, _ = jax.scipy.linalg.lu_factor(value)
    diag = np.diagonal(np.asarray(lu), axis1=-2, axis2=-1).reshape(-1, a.shape[-1])
    for b, row in enumerate(diag):
        zeros = np.flatnonzero(row == 0)
        if zeros.size:
            batch = f"(Batch element {b}): " if a.ndim > 2 else ""
            raise RuntimeError(
                f"linalg.inv: {batch}The diagonal element {zeros[0] + 1} is zero, the inversion "
                f"could not be completed because the input matrix is singular."
            )


def solve(A: Any, B: Any) -> Variable:  # noqa: N803 - PyTorch's names
    """The solution X of ``A @ X = B`` for square ``A``.

    Example:
        >>> import varjax as vj
        >>> A = vj.tensor([[2.0, 0.0], [0.0, 4.0]])
        >>> vj.linalg.solve(A, vj.tensor([1.0, 2.0]))
        tensor([0.5000, 0.5000])
    """
    a, b = as_variable(A), as_variable(B)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"linalg.solve: A must be batches of square matrices, got {a.shape}")
    return a._apply(P.linalg_solve, a, b)
