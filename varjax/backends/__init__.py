"""``varjax.backends``: the flags PyTorch programs set, so they run unchanged.

``backends.mps.is_available()`` is False (JAX has no Metal backend here); the cuDNN flags
(``benchmark``, ``deterministic``, ``enabled``) are accepted and recorded: XLA chooses its own
kernels.
"""

from __future__ import annotations

from types import SimpleNamespace

__all__ = ["cudnn", "mps"]

mps = SimpleNamespace(is_available=lambda: False, is_built=lambda: False)
cudnn = SimpleNamespace(benchmark=False, deterministic=False, enabled=True,
                        is_available=lambda: False)  # fmt: skip
