"""``varjax.optim``: PyTorch's optimizers and learning-rate schedulers, computed by optax."""

from __future__ import annotations

from . import lr_scheduler, swa_utils
from ._adaptive import ASGD, Adadelta, Adamax, NAdam, RAdam, Rprop
from ._lbfgs import LBFGS
from ._optimizer import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop

__all__ = [
    "ASGD",
    "LBFGS",
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "NAdam",
    "Optimizer",
    "RAdam",
    "RMSprop",
    "Rprop",
    "lr_scheduler",
    "swa_utils",
]
