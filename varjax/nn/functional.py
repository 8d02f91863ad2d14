"""``varjax.nn.functional``: PyTorch's functional neural-network API on the op table.

Each area lives in its own file under ``nn/_functional/``; this module is their public
namespace. Losses and layers are composed from table ops, so their gradients come from
``jax.vjp`` of the replay like everything else; convolution, pooling, attention, dropout and
the softmaxes are table ops of their own.
"""

from __future__ import annotations

from ._functional import activation as _activation
from ._functional import attention as _attention
from ._functional import basic as _basic
from ._functional import conv as _conv
from ._functional import distance as _distance
from ._functional import linear as _linear
from ._functional import loss as _loss
from ._functional import norm as _norm
from ._functional import sparse as _sparse
from ._functional.activation import *  # noqa: F403
from ._functional.attention import *  # noqa: F403
from ._functional.basic import *  # noqa: F403
from ._functional.basic import _legacy, _padding_index  # noqa: F401 (used by the layers)
from ._functional.conv import *  # noqa: F403
from ._functional.distance import *  # noqa: F403
from ._functional.linear import *  # noqa: F403
from ._functional.loss import *  # noqa: F403
from ._functional.norm import *  # noqa: F403
from ._functional.sparse import *  # noqa: F403

__all__ = [
    *_basic.__all__, *_activation.__all__, *_attention.__all__, *_conv.__all__, *_distance.__all__,
    *_linear.__all__, *_loss.__all__, *_norm.__all__, *_sparse.__all__,
]  # fmt: skip
