"""``varjax.optim``: PyTorch's optimizers and learning-rate schedulers, computed by optax."""

from __future__ import annotations

from . import lr_scheduler
from ._optimizer import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
