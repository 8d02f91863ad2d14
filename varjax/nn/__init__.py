"""``varjax.nn``: Modules, Parameters, layers, losses, and the functional API.

Layers live one area per file (``_layers``: linear, the first layers and containers;
``_activation``, ``_loss``, ``_conv``, ``_norm``, ``_recurrent``, ``_transformer``, ...); this
package is their public namespace.
"""

from __future__ import annotations

from . import (
    _activation,
    _containers,
    _conv,
    _distance,
    _layers,
    _linear,
    _loss,
    _norm,
    _recurrent,
    _sparse,
    _transformer,
    functional,
    init,
    parallel,
    utils,
)  # fmt: skip
from ._activation import *  # noqa: F403
from ._containers import *  # noqa: F403
from ._conv import *  # noqa: F403
from ._distance import *  # noqa: F403
from ._layers import *  # noqa: F403
from ._linear import *  # noqa: F403
from ._loss import *  # noqa: F403
from ._module import Module, Parameter
from ._norm import *  # noqa: F403
from ._recurrent import *  # noqa: F403
from ._sparse import *  # noqa: F403
from ._transformer import *  # noqa: F403
from .parallel import DataParallel

__all__ = [
    "DataParallel", "Module", "Parameter", "functional", "init", "parallel", "utils",
    *_layers.__all__, *_activation.__all__, *_containers.__all__, *_conv.__all__,
    *_distance.__all__, *_linear.__all__, *_loss.__all__, *_norm.__all__, *_recurrent.__all__,
    *_sparse.__all__, *_transformer.__all__,
]  # fmt: skip
