"""``varjax.accelerator``: PyTorch's ``torch.accelerator``, on JAX's default backend (GPU or
TPU when there is one)."""

from __future__ import annotations

import jax

from . import _device

__all__ = ["current_accelerator", "device_count", "is_available", "synchronize"]


def _accelerators() -> list[jax.Device]:
    return [d for d in jax.devices() if d.platform != "cpu"]


def is_available() -> bool:
    """True if JAX's default backend is a GPU or TPU."""
    return bool(_accelerators())


def current_accelerator() -> _device.device | None:
    """The accelerator's device type (``device(type='cuda')``), or None on a CPU-only host."""
    found = _accelerators()
    return _device.device(_device.device(found[0]).type) if found else None


def device_count() -> int:
    return len(_accelerators())


def synchronize() -> None:
    """Wait until the work already sent to the devices has finished."""
    jax.effects_barrier()
