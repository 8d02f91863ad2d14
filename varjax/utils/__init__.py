"""``varjax.utils``: ``checkpoint`` (activation recomputation) and ``data`` (datasets,
samplers, ``DataLoader``)."""

from __future__ import annotations

from . import data
from .checkpoint import checkpoint

__all__ = ["checkpoint", "data"]
