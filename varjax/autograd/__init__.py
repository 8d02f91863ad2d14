"""PyTorch's ``torch.autograd`` namespace: ``Variable``, ``backward``, ``grad``, grad modes.

Both functions differentiate through one compiled ``jax.vjp`` of the recorded graph;
gradients of intermediates (``inputs=`` naming non-leaves, ``retain_grad()``) come out of the
same call, through zero "probes" added to those values.
"""

from __future__ import annotations

from .._anomaly import detect_anomaly
from .._function import Function, FunctionCtx
from .._grad_mode import enable_grad, no_grad, set_grad_enabled
from .._variable import Variable
from . import functional
from ._grad import backward, grad
from .gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = [
    "Function",
    "FunctionCtx",
    "GradcheckError",
    "Variable",
    "backward",
    "detect_anomaly",
    "enable_grad",
    "functional",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "no_grad",
    "set_grad_enabled",
]
