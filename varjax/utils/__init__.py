"""``varjax.utils``: ``checkpoint`` (activation recomputation)."""

from __future__ import annotations

from .checkpoint import checkpoint

__all__ = ["checkpoint"]
