"""The default process group, PyTorch's names on ``jax.distributed``: one process per host
(or per ``torchrun`` worker), each driving its local devices, and together one JAX runtime
whose ``jax.devices()`` spans them all.
"""

from __future__ import annotations

import datetime
import os
from typing import Any

import jax

_STATE = {"initialized": False, "started_jax": False}

_NOT_INITIALIZED = (
    "Default process group has not been initialized, please make sure to call "
    "init_process_group. (varjax.distributed.init_process_group() reads torchrun's "
    "MASTER_ADDR, MASTER_PORT, RANK and WORLD_SIZE; a single process needs none of them)"
)


def _env_int(name: str, given: int) -> int:
    if given is not None and given >= 0:
        return given
    raw = os.environ.get(name)
    if raw is None:
        return -1
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"environment variable {name}={raw!r} is not an integer") from None


def init_process_group(
    backend: str | None = None,
    init_method: str | None = None,
    timeout: datetime.timedelta | None = None,
    world_size: int = -1,
    rank: int = -1,
    store: Any = None,
    group_name: str = "",
    pg_options: Any = None,
    device_id: Any = None,
) -> None:
    """Join the default process group (PyTorch's ``init_process_group``). ``world_size`` and
    ``rank`` default to torchrun's ``WORLD_SIZE`` and ``RANK``, the coordinator to
    ``MASTER_ADDR:MASTER_PORT`` (or ``init_method="tcp://host:port"``). With more than one
    process it calls ``jax.distributed.initialize``, before JAX starts its devices, giving
    each of several processes per host its own GPU (``LOCAL_RANK``, or ``device_id``); one
    process needs nothing. ``backend`` is accepted for PyTorch's scripts: XLA picks the
    collectives.

    Example:
        >>> import varjax.distributed as dist
        >>> dist.init_process_group(world_size=1, rank=0)
        >>> dist.get_rank(), dist.get_world_size()
        (0, 1)
        >>> dist.destroy_process_group()
    """
    if _STATE["initialized"]:
        raise RuntimeError(
            "trying to initialize the default process group twice! Remedy: call "
            "destroy_process_group() first"
        )
    size, me = _env_int("WORLD_SIZE", world_size), _env_int("RANK", rank)
    size = 1 if size < 0 else size
    me = 0 if me < 0 and size == 1 else me
    if size < 1 or not 0 <= me < size:
        raise ValueError(
            f"init_process_group: rank {me} is not in [0, {size - 1}] for world_size {size}; "
            f"set RANK and WORLD_SIZE (torchrun and `python -m varjax.distributed.run` do)"
        )
    if size > 1:
        address = _coordinator(init_method)
        seconds = None if timeout is None else int(timeout.total_seconds())
        extra = {} if seconds is None else {"initialization_timeout": seconds}
        local = _local_devices(device_id)
        if local is not None:
            extra["local_device_ids"] = local
        jax.distributed.initialize(address, num_processes=size, process_id=me, **extra)
        _STATE["started_jax"] = True
    _STATE["initialized"] = True


def _local_devices(device_id: Any) -> list[int] | None:
    """The accelerator this process drives when a launcher starts several per host:
    ``device_id`` (PyTorch's argument), else ``LOCAL_RANK`` of ``LOCAL_WORLD_SIZE``, unless
    the devices are chosen already (``CUDA_VISIBLE_DEVICES``, ``JAX_LOCAL_DEVICE_IDS``). JAX
    applies it to GPUs only; CPU processes each have their own device anyway."""
    if device_id is not None:
        index = getattr(device_id, "index", device_id)
        return None if index is None else [int(index)]
    if any(os.environ.get(k) for k in ("CUDA_VISIBLE_DEVICES", "JAX_LOCAL_DEVICE_IDS")):
        return None
    if _env_int("LOCAL_WORLD_SIZE", -1) > 1 and _env_int("LOCAL_RANK", -1) >= 0:
        return [_env_int("LOCAL_RANK", -1)]
    return None


def _coordinator(init_method: str | None) -> str:
    if init_method is not None and init_method != "env://":
        if not init_method.startswith("tcp://"):
            raise ValueError(
                f"init_process_group: init_method {init_method!r}: varjax takes 'env://' or "
                f"'tcp://host:port' (JAX's coordinator is a TCP address)"
            )
        return init_method[len("tcp://") :]
    addr, port = os.environ.get("MASTER_ADDR"), os.environ.get("MASTER_PORT")
    if not addr or not port:
        raise ValueError(
            "init_process_group: with WORLD_SIZE > 1 the coordinator's address is needed: set "
            "MASTER_ADDR and MASTER_PORT (torchrun and `python -m varjax.distributed.run` "
            "do), or pass init_method='tcp://host:port'"
        )
    return f"{addr}:{port}"


def is_initialized() -> bool:
    """True between ``init_process_group`` and ``destroy_process_group``.

    Example:
        >>> import varjax.distributed as dist
        >>> dist.is_initialized()  # a single process that did not call init_process_group
        False
    """
    return _STATE["initialized"]


def _require() -> None:
    if not _STATE["initialized"]:
        raise ValueError(_NOT_INITIALIZED)


def get_rank(group: Any = None) -> int:
    """This process's rank: ``jax.process_index()``.

    Example:
        >>> import varjax.distributed as dist
        >>> dist.get_rank() if dist.is_initialized() else 0
        0
    """
    _require()
    return jax.process_index()


def get_world_size(group: Any = None) -> int:
    """How many processes: ``jax.process_count()``.

    Example:
        >>> import varjax.distributed as dist
        >>> dist.get_world_size() if dist.is_initialized() else 1
        1
    """
    _require()
    return jax.process_count()


def destroy_process_group(group: Any = None) -> None:
    """Leave the default process group (``jax.distributed.shutdown`` where it was started).

    Example:
        >>> import varjax.distributed as dist
        >>> if dist.is_initialized():
        ...     dist.destroy_process_group()
        >>> dist.is_initialized()
        False
    """
    _require()
    if _STATE["started_jax"]:
        jax.distributed.shutdown()
        _STATE["started_jax"] = False
    _STATE["initialized"] = False
