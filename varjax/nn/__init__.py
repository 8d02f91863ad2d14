"""``varjax.nn``: Modules, Parameters, layers, losses, and the functional API."""

from __future__ import annotations

from . import functional, init, utils
from ._layers import (
    GELU,
    BatchNorm1d,
    BatchNorm2d,
    BCEWithLogitsLoss,
    Conv2d,
    CrossEntropyLoss,
    Dropout,
    Embedding,
    Flatten,
    Identity,
    L1Loss,
    LayerNorm,
    Linear,
    ModuleDict,
    ModuleList,
    MSELoss,
    NLLLoss,
    ReLU,
    Sequential,
    Sigmoid,
    SmoothL1Loss,
    Tanh,
)
from ._module import Module, Parameter

__all__ = [
    "BatchNorm1d", "BatchNorm2d", "BCEWithLogitsLoss", "Conv2d", "CrossEntropyLoss", "Dropout",
    "Embedding", "Flatten", "GELU", "Identity", "L1Loss", "LayerNorm", "Linear", "MSELoss",
    "Module", "ModuleDict", "ModuleList", "NLLLoss", "Parameter", "ReLU", "Sequential",
    "Sigmoid", "SmoothL1Loss", "Tanh", "functional", "init", "utils",
]  # fmt: skip
