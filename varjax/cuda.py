"""``varjax.cuda``: PyTorch's ``torch.cuda`` queries, answered by JAX's GPU backend.

Example:
    >>> import varjax as vj
    >>> device = vj.device("cuda" if vj.cuda.is_available() else "cpu")
    >>> vj.ones(2, device=device).device == device
    True
"""

from __future__ import annotations

from typing import Any

import jax

from . import _device
from . import random as _rng

__all__ = [
    "current_device", "device_count", "get_device_name", "is_available", "manual_seed",
    "manual_seed_all", "synchronize",
]  # fmt: skip


def _gpus() -> list[jax.Device]:
    try:
        return jax.devices("gpu")
    except RuntimeError:  # no GPU backend
        return []


def is_available() -> bool:
    """True if JAX has a GPU backend with at least one device.

    Example:
        >>> import varjax as vj
        >>> isinstance(vj.cuda.is_available(), bool)
        True
    """
    return bool(_gpus())


def device_count() -> int:
    """The number of GPUs JAX sees.

    Example:
        >>> import varjax as vj
        >>> (vj.cuda.device_count() > 0) == vj.cuda.is_available()
        True
    """
    return len(_gpus())


def current_device() -> int:
    """The index of the GPU new values go to.

    Example:
        >>> import varjax as vj
        >>> not vj.cuda.is_available() or 0 <= vj.cuda.current_device() < vj.cuda.device_count()
        True
    """
    d = _device.default()
    if d.type != "cuda":
        raise RuntimeError("no GPU is in use: varjax.cuda.is_available() is False")
    return d.index or 0


def get_device_name(device: Any = None) -> str:
    """The name of a GPU (default: the current one), as JAX's ``device_kind`` reports it.
    PyTorch's ``torch.cuda.get_device_name``.

    Example:
        >>> import varjax as vj
        >>> not vj.cuda.is_available() or isinstance(vj.cuda.get_device_name(0), str)
        True
    """
    d = _device.device("cuda", device) if isinstance(device, int) or device is None else device
    return _device.as_device(d).jax_device().device_kind


def synchronize(device: Any = None) -> None:
    """Wait until the work already sent to the devices has finished.

    Example:
        >>> import varjax as vj
        >>> y = vj.ones(2) * 2
        >>> if vj.cuda.is_available():
        ...     vj.cuda.synchronize()
        >>> y.tolist()
        [2.0, 2.0]
    """
    jax.effects_barrier()
    for d in _gpus() or jax.devices():
        jax.device_put(0, d).block_until_ready()


def manual_seed(seed: int) -> None:
    """Seed varjax's random state (one state serves every device, as JAX's keys do).

    Example:
        >>> import varjax as vj
        >>> vj.cuda.manual_seed(0)  # works without a GPU too
    """
    _rng.manual_seed(seed)


manual_seed_all = manual_seed
