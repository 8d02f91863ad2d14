"""``varjax.nn.utils``: gradient clipping and flattening parameters, as ``torch.nn.utils``."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from .. import _functions
from .._grad_mode import no_grad
from .._variable import Variable

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]


def _list(parameters: Any) -> list[Variable]:
    return [parameters] if isinstance(parameters, Variable) else list(parameters)


def clip_grad_norm_(
    parameters: Iterable[Variable] | Variable, max_norm: float, norm_type: float = 2.0,
    error_if_nonfinite: bool = False, foreach: Any = None,
) -> Variable:  # fmt: skip
    """Scale the gradients in place so their joint ``norm_type``-norm is at most
    ``max_norm``; returns the norm before clipping (PyTorch's ``1e-6`` guard included).

    Example:
        >>> import varjax as vj
        >>> w = vj.ones(4, requires_grad=True)
        >>> (w * 3).sum().backward()
        >>> vj.nn.utils.clip_grad_norm_([w], 1.0).item()
        6.0
        >>> round(w.grad.norm().item(), 4)
        1.0
    """
    grads = [p.grad for p in _list(parameters) if p.grad is not None]
    if not grads:
        return Variable(0.0)
    norm_type = float(norm_type)
    with no_grad():
        if math.isinf(norm_type):
            norms = [g.abs().max() for g in grads]
            total = norms[0] if len(norms) == 1 else _functions.stack(norms).max()
        else:
            total = _functions.stack([g.norm(norm_type) for g in grads]).norm(norm_type)
        if error_if_nonfinite and not bool(total.isfinite()):
            raise RuntimeError(
                f"The total norm of order {norm_type} for gradients from `parameters` is "
                f"non-finite, so it cannot be clipped. To disable this error and scale the "
                f"gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
            )
        scale = (max_norm / (total + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(scale.to(g.dtype))
    return total


def clip_grad_value_(parameters: Iterable[Variable] | Variable, clip_value: float,
                     foreach: Any = None) -> None:  # fmt: skip
    """Clamp every gradient element to ``[-clip_value, clip_value]`` in place."""
    with no_grad():
        for p in _list(parameters):
            if p.grad is not None:
                p.grad.clamp_(-clip_value, clip_value)


def parameters_to_vector(parameters: Iterable[Variable]) -> Variable:
    """All parameters, flattened and joined."""
    return _functions.cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Variable, parameters: Iterable[Variable]) -> None:
    """Copy consecutive pieces of ``vec`` into the parameters (in place)."""
    start = 0
    with no_grad():
        for p in parameters:
            n = p.numel()
            p.copy_(vec[start : start + n].reshape(*p.shape))
            start += n
