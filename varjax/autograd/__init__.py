"""PyTorch's ``torch.autograd`` namespace: ``from varjax.autograd import Variable``."""

from __future__ import annotations

from .._grad_mode import enable_grad, no_grad, set_grad_enabled
from .._variable import Variable

__all__ = ["Variable", "enable_grad", "no_grad", "set_grad_enabled"]
