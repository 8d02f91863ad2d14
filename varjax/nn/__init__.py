"""``varjax.nn``: neural-network building blocks. So far the functional API, ``nn.functional``."""

from __future__ import annotations

from . import functional

__all__ = ["functional"]
