"""``varjax.nn.utils``: gradient clipping, flattening parameters, weight and spectral
normalisation, and ``rnn.pad_sequence``, as ``torch.nn.utils``."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ... import _functions
from ..._grad_mode import no_grad
from ..._variable import Variable
from . import rnn
from ._reparam import remove_spectral_norm, remove_weight_norm, spectral_norm, weight_norm

__all__ = [
    "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm",
    "parameters_to_vector", "remove_spectral_norm", "remove_weight_norm", "rnn",
    "spectral_norm", "vector_to_parameters", "weight_norm",
]  # fmt: skip


def _list(parameters: Any) -> list[Variable]:
    return [parameters] if isinstance(parameters, Variable) else list(parameters)


def get_total_norm(
    tensors: Iterable[Variable] | Variable, norm_type: float = 2.0,
    error_if_nonfinite: bool = False, foreach: Any = None,
) -> Variable:  # fmt: skip
    """The ``norm_type``-norm of all ``tensors`` together (the norm of their norms; ``inf``:
    the largest absolute value). PyTorch's ``nn.utils.get_total_norm``.

    Example:
        >>> import varjax as vj
        >>> vj.nn.utils.get_total_norm([vj.tensor([3.0]), vj.tensor([4.0])])
        tensor(5.)
    """
    tensors = [t for t in _list(tensors) if t is not None]
    if not tensors:
        return Variable(0.0)
    norm_type = float(norm_type)
    with no_grad():
        if math.isinf(norm_type):
            norms = [t.abs().max() for t in tensors]
            total = norms[0] if len(norms) == 1 else _functions.stack(norms).max()
        else:
            total = _functions.stack([t.norm(norm_type) for t in tensors]).norm(norm_type)
    if error_if_nonfinite and not bool(total.isfinite()):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            f"non-finite, so it cannot be clipped. To disable this error and scale the "
            f"gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    return total


def clip_grads_with_norm_(
    parameters: Iterable[Variable] | Variable, max_norm: float, total_norm: Variable,
    foreach: Any = None,
) -> None:  # fmt: skip
    """Scale the gradients in place by ``min(1, max_norm / (total_norm + 1e-6))``.
    PyTorch's ``nn.utils.clip_grads_with_norm_``.

    Example:
        >>> import varjax as vj
        >>> w = vj.ones(4, requires_grad=True)
        >>> (w * 3).sum().backward()
        >>> total = vj.nn.utils.get_total_norm([w.grad])
        >>> vj.nn.utils.clip_grads_with_norm_([w], 3.0, total)
        >>> w.grad
        tensor([1.5000, 1.5000, 1.5000, 1.5000])
    """
    grads = [p.grad for p in _list(parameters) if p.grad is not None]
    with no_grad():
        scale = (max_norm / (total_norm + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(scale.to(g.dtype))


def clip_grad_norm_(
    parameters: Iterable[Variable] | Variable, max_norm: float, norm_type: float = 2.0,
    error_if_nonfinite: bool = False, foreach: Any = None,
) -> Variable:  # fmt: skip
    """Scale the gradients in place so their joint ``norm_type``-norm is at most
    ``max_norm``; returns the norm before clipping (PyTorch's ``1e-6`` guard included).
    PyTorch's ``nn.utils.clip_grad_norm_``.

    Example:
        >>> import varjax as vj
        >>> w = vj.ones(4, requires_grad=True)
        >>> (w * 3).sum().backward()
        >>> vj.nn.utils.clip_grad_norm_([w], 1.0).item()
        6.0
        >>> round(w.grad.norm().item(), 4)
        1.0
    """
    params = _list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return Variable(0.0)
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, total)
    return total


def clip_grad_value_(parameters: Iterable[Variable] | Variable, clip_value: float,
                     foreach: Any = None) -> None:  # fmt: skip
    """Clamp every gradient element to ``[-clip_value, clip_value]`` in place. PyTorch's
    ``nn.utils.clip_grad_value_``.

    Example:
        >>> import varjax as vj
        >>> w = vj.ones(3, requires_grad=True)
        >>> (w * vj.tensor([-2.0, 0.5, 3.0])).sum().backward()
        >>> vj.nn.utils.clip_grad_value_([w], 1.0)
        >>> w.grad
        tensor([-1.0000,  0.5000,  1.0000])
    """
    clip_value = float(clip_value)
    with no_grad():
        for p in _list(parameters):
            if p.grad is not None:
                p.grad.clamp_(-clip_value, clip_value)


def parameters_to_vector(parameters: Iterable[Variable]) -> Variable:
    """All parameters, flattened and joined (differentiable). PyTorch's
    ``nn.utils.parameters_to_vector``.

    Example:
        >>> import varjax as vj
        >>> lin = vj.nn.Linear(3, 2)  # 6 weights, 2 biases
        >>> vj.nn.utils.parameters_to_vector(lin.parameters()).shape
        varjax.Size([8])
    """
    return _functions.cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Variable, parameters: Iterable[Variable]) -> None:
    """Copy consecutive pieces of ``vec`` into the parameters (in place). PyTorch's
    ``nn.utils.vector_to_parameters``.

    Example:
        >>> import varjax as vj
        >>> lin = vj.nn.Linear(2, 1)
        >>> vj.nn.utils.vector_to_parameters(vj.tensor([1.0, 2.0, 3.0]), lin.parameters())
        >>> lin.weight.tolist(), lin.bias.tolist()
        ([[1.0, 2.0]], [3.0])
    """
    if not isinstance(vec, Variable):
        raise TypeError(f"expected varjax.Variable, but got: {type(vec).__name__}")
    start = 0
    with no_grad():
        for p in parameters:
            n = p.numel()
            p.copy_(vec[start : start + n].reshape(*p.shape))
            start += n
