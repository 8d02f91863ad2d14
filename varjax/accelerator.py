"""``varjax.accelerator``: PyTorch's ``torch.accelerator``, on JAX's default backend (GPU or
TPU when there is one)."""

from __future__ import annotations

import jax

from . import _device

__all__ = ["current_accelerator", "device_count", "is_available", "synchronize"]


def _accelerators() -> list[jax.Device]:
    return [d for d in jax.devices() if d.platform != "cpu"]


def is_available() -> bool:
    """True if JAX's default backend is a GPU or TPU.

    Example:
        >>> import varjax as vj
        >>> isinstance(vj.accelerator.is_available(), bool)
        True
    """
    return bool(_accelerators())


def current_accelerator() -> _device.device | None:
    """The accelerator's device type (``device(type='cuda')``), or None on a CPU-only host.

    Example:
        >>> import varjax as vj
        >>> (vj.accelerator.current_accelerator() is None) == (not vj.accelerator.is_available())
        True
    """
    found = _accelerators()
    return _device.device(_device.device(found[0]).type) if found else None


def device_count() -> int:
    """The number of accelerator devices (GPUs or TPUs) JAX sees; 0 on a CPU-only host.
    PyTorch's ``torch.accelerator.device_count``.

    Example:
        >>> import varjax as vj
        >>> (vj.accelerator.device_count() > 0) == vj.accelerator.is_available()
        True
    """
    return len(_accelerators())


def synchronize() -> None:
    """Wait until the work already sent to the devices has finished.

    Example:
        >>> import varjax as vj
        >>> y = vj.ones(2) * 2
        >>> if vj.accelerator.is_available():
        ...     vj.accelerator.synchronize()
        >>> y.tolist()
        [2.0, 2.0]
    """
    jax.effects_barrier()
