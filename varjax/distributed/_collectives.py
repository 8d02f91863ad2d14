"""PyTorch's explicit collectives (``all_reduce``, ``all_gather``, ``broadcast``,
``reduce_scatter``, ``barrier``) on process-local Variables, over
``jax.experimental.multihost_utils``.

Each process holds its own value; a collective gathers every process's value to every host
(``process_allgather``, a host round trip), reduces or picks on the host, and writes the
result into the given Variables in place, as PyTorch does. Collectives inside one program
(sharded values, ``varjax.jit``) need none of this: XLA inserts them on the device.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from jax.experimental import multihost_utils

from .._grad_mode import no_grad
from .._variable import Variable
from ._group import _require


class ReduceOp(enum.IntEnum):
    """How ``all_reduce`` and ``reduce_scatter`` combine the processes' values (PyTorch's
    ``torch.distributed.ReduceOp``; the numbers are PyTorch's).

    Example:
        >>> import varjax.distributed as dist
        >>> dist.ReduceOp.SUM, dist.ReduceOp["MAX"]
        (<ReduceOp.SUM: 0>, <ReduceOp.MAX: 4>)
    """

    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7


# one row per op: how the stacked values (processes on axis 0) reduce
_REDUCE = {
    ReduceOp.SUM: lambda a: np.sum(a, axis=0, dtype=a.dtype),
    ReduceOp.AVG: lambda a: np.mean(a, axis=0),
    ReduceOp.PRODUCT: lambda a: np.prod(a, axis=0, dtype=a.dtype),
    ReduceOp.MIN: lambda a: np.min(a, axis=0),
    ReduceOp.MAX: lambda a: np.max(a, axis=0),
    ReduceOp.BAND: lambda a: np.bitwise_and.reduce(a, axis=0),
    ReduceOp.BOR: lambda a: np.bitwise_or.reduce(a, axis=0),
    ReduceOp.BXOR: lambda a: np.bitwise_xor.reduce(a, axis=0),
}


class Work:
    """What a collective called with ``async_op=True`` returns (PyTorch's ``Work``): varjax's
    collectives finish before they return, so it is already complete.

    Example:
        >>> import varjax as vj
        >>> import varjax.distributed as dist
        >>> dist.init_process_group(world_size=1, rank=0)
        >>> work = dist.all_reduce(vj.ones(2), async_op=True)
        >>> work.is_completed(), work.wait(), work.result()
        (True, True, [tensor([1., 1.])])
        >>> dist.destroy_process_group()
    """

    def __init__(self, outputs: Sequence[Variable] = ()) -> None:
        self._outputs = list(outputs)

    def wait(self, timeout: Any = None) -> bool:
        """True: the collective is done."""
        return True

    def is_completed(self) -> bool:
        """True: the collective is done."""
        return True

    def is_success(self) -> bool:
        """True: the collective succeeded (a failure raised when it was called)."""
        return True

    def exception(self) -> None:
        """None: a failure raised when the collective was called."""
        return None

    def result(self) -> list[Variable]:
        """The Variables the collective wrote."""
        return list(self._outputs)


def _done(async_op: bool, outputs: Sequence[Variable]) -> Work | None:
    return Work(outputs) if async_op else None


def _check_group(group: Any) -> None:
    if group is not None:
        raise ValueError(
            f"varjax.distributed has only the default process group, got group={group!r}. "
            f"Remedy: pass group=None (every process takes part)"
        )


def _tensor(value: Any, name: str) -> Variable:
    if not isinstance(value, Variable):
        raise TypeError(
            f"Invalid function argument. Expected parameter `{name}` of type torch.Tensor "
            f"but got {type(value)} instead. Remedy: pass a varjax Variable "
            f"(varjax.tensor(...))"
        )
    return value


def _tensors(values: Any, name: str) -> list[Variable]:
    if not isinstance(values, (list, tuple)):
        raise TypeError(
            f"Invalid function argument. Expected parameter `{name}` of type "
            f"List[torch.Tensor] but got {type(values)} instead. Remedy: pass a list of "
            f"world_size Variables"
        )
    return [_tensor(v, name) for v in values]


def _op(op: Any) -> ReduceOp:
    if not isinstance(op, ReduceOp):
        raise TypeError(
            f"op must be a varjax.distributed.ReduceOp, got {op!r}. Remedy: pass e.g. "
            f"op=dist.ReduceOp.SUM"
        )
    return op


def _world() -> int:
    _require()
    return jax.process_count()


def _gather(value: np.ndarray) -> np.ndarray:
    """Every process's value, stacked on a new axis 0 (in rank order), on this host."""
    return np.asarray(multihost_utils.process_allgather(value))


def _host(value: Variable) -> np.ndarray:
    return value.detach().numpy()


def _write(target: Variable, value: Any) -> None:
    with no_grad():
        target.copy_(np.asarray(value))


def _same_size(what: str, i: int, want: tuple, got: tuple) -> None:
    if tuple(want) != tuple(got):
        raise RuntimeError(
            f"{what}: invalid tensor size at index {i} (expected {tuple(want)}, got "
            f"{tuple(got)}). Remedy: give every tensor the same shape"
        )


def barrier(group: Any = None, async_op: bool = False, device_ids: Any = None) -> Work | None:
    """Wait until every process reaches this call (PyTorch's ``barrier``), through
    ``jax.experimental.multihost_utils.sync_global_devices``. ``device_ids`` is accepted for
    PyTorch's scripts.

    Example:
        >>> import varjax.distributed as dist
        >>> dist.init_process_group(world_size=1, rank=0)
        >>> dist.barrier()  # one process: returns at once
        >>> dist.destroy_process_group()
    """
    _check_group(group)
    if _world() > 1:
        multihost_utils.sync_global_devices("varjax.distributed.barrier")
    return _done(async_op, [])


def all_reduce(
    tensor: Variable, op: ReduceOp = ReduceOp.SUM, group: Any = None, async_op: bool = False
) -> Work | None:
    """Reduce ``tensor`` across the processes with ``op`` and write the result into it on
    every process, in place (PyTorch's ``all_reduce``). The values travel through the host
    (``process_allgather``).

    Example:
        >>> import varjax as vj
        >>> import varjax.distributed as dist
        >>> dist.init_process_group(world_size=1, rank=0)
        >>> x = vj.tensor([1.0, 2.0])
        >>> dist.all_reduce(x, op=dist.ReduceOp.MAX)
        >>> x
        tensor([1., 2.])
        >>> dist.destroy_process_group()
    """
    _tensor(tensor, "tensor")
    reduce = _REDUCE[_op(op)]
    _check_group(group)
    _require()
    _write(tensor, reduce(_gather(_host(tensor))))
    return _done(async_op, [tensor])


def all_gather(
    tensor_list: list[Variable], tensor: Variable, group: Any = None, async_op: bool = False
) -> Work | None:
    """Write process ``i``'s ``tensor`` into ``tensor_list[i]`` on every process, in place
    (PyTorch's ``all_gather``). The values travel through the host (``process_allgather``).

    Example:
        >>> import varjax as vj
        >>> import varjax.distributed as dist
        >>> dist.init_process_group(world_size=1, rank=0)
        >>> out = [vj.zeros(2)]
        >>> dist.all_gather(out, vj.tensor([3.0, 4.0]))
        >>> out
        [tensor([3., 4.])]
        >>> dist.destroy_process_group()
    """
    outputs, tensor = _tensors(tensor_list, "tensor_list"), _tensor(tensor, "tensor")
    _check_group(group)
    world = _world()
    if len(outputs) != world:
        raise RuntimeError(
            f"all_gather: invalid output tensor list at index 0 (expected length {world}, "
            f"got {len(outputs)}). Remedy: pass one tensor per process, e.g. "
            f"[torch.zeros_like(tensor) for _ in range(world_size)]"
        )
    for i, out in enumerate(outputs):
        if out.dtype != tensor.dtype:
            raise ValueError(
                f"Invalid usage of tensors with different dtypes: found {out.dtype} at index "
                f"{i} and {tensor.dtype}. Remedy: make the outputs with zeros_like(tensor)"
            )
        _same_size("all_gather", i, tensor.shape, out.shape)
    for out, value in zip(outputs, _gather(_host(tensor))):
        _write(out, value)
    return _done(async_op, outputs)


def all_gather_into_tensor(
    output_tensor: Variable, input_tensor: Variable, group: Any = None, async_op: bool = False
) -> Work | None:
    """Write every process's ``input_tensor`` into ``output_tensor``, in rank order, in
    place (PyTorch's ``all_gather_into_tensor``): ``output_tensor`` is the inputs
    concatenated on dim 0 (``world_size * n`` rows) or stacked (``(world_size, n, ...)``).
    The values travel through the host (``process_allgather``).

    Example:
        >>> import varjax as vj
        >>> import varjax.distributed as dist
        >>> dist.init_process_group(world_size=1, rank=0)
        >>> out = vj.zeros(2)
        >>> dist.all_gather_into_tensor(out, vj.tensor([3.0, 4.0]))
        >>> out
        tensor([3., 4.])
        >>> dist.destroy_process_group()
    """
    out, x = _tensor(output_tensor, "output_tensor"), _tensor(input_tensor, "input_tensor")
    _check_group(group)
    world = _world()
    shape = tuple(x.shape)
    concatenated = (world * shape[0], *shape[1:]) if shape else (world,)
    if tuple(out.shape) not in (concatenated, (world, *shape)):
        raise RuntimeError(
            f"all_gather_into_tensor: invalid tensor size (expected {concatenated} "
            f"or {(world, *shape)} for world_size {world}, got {tuple(out.shape)}). Remedy: "
            f"make the output with torch.empty(world_size * n, ...)"
        )
    _dtypes_match("all_gather_into_tensor", out, x)
    _write(out, _gather(_host(x)).reshape(out.shape))
    return _done(async_op, [out])


def _dtypes_match(what: str, out: Variable, x: Variable) -> None:
    if out.dtype != x.dtype:
        raise RuntimeError(
            f"{what}: invalid tensor type (expected {x.dtype}, got {out.dtype}). Remedy: "
            f"give the output the input's dtype"
        )


def broadcast(tensor: Variable, src: int, group: Any = None, async_op: bool = False) -> Work | None:
    """Write process ``src``'s ``tensor`` into ``tensor`` on every process, in place
    (PyTorch's ``broadcast``). The value travels through the host (``process_allgather``).

    Example:
        >>> import varjax as vj
        >>> import varjax.distributed as dist
        >>> dist.init_process_group(world_size=1, rank=0)
        >>> x = vj.tensor([5.0])
        >>> dist.broadcast(x, src=0)
        >>> x
        tensor([5.])
        >>> dist.destroy_process_group()
    """
    _tensor(tensor, "tensor")
    _check_group(group)
    world = _world()
    if not 0 <= src < world:
        raise RuntimeError(
            f"broadcast: invalid root rank: {src}. Remedy: pass src in [0, {world - 1}] "
            f"for world_size {world}"
        )
    _write(tensor, _gather(_host(tensor))[src])
    return _done(async_op, [tensor])


def reduce_scatter(
    output: Variable,
    input_list: list[Variable],
    op: ReduceOp = ReduceOp.SUM,
    group: Any = None,
    async_op: bool = False,
) -> Work | None:
    """Reduce ``input_list[r]`` across the processes with ``op`` and write it into
    ``output`` on process ``r``, in place (PyTorch's ``reduce_scatter``). The values travel
    through the host (``process_allgather``).

    Example:
        >>> import varjax as vj
        >>> import varjax.distributed as dist
        >>> dist.init_process_group(world_size=1, rank=0)
        >>> out = vj.zeros(2)
        >>> dist.reduce_scatter(out, [vj.tensor([1.0, 2.0])])
        >>> out
        tensor([1., 2.])
        >>> dist.destroy_process_group()
    """
    out, inputs = _tensor(output, "output"), _tensors(input_list, "input_list")
    reduce = _REDUCE[_op(op)]
    _check_group(group)
    world = _world()
    if len(inputs) != world:
        raise RuntimeError(
            f"reduce_scatter: invalid input tensor list size, must be world size "
            f"({world}), got {len(inputs)}. Remedy: pass one tensor per process"
        )
    for i, x in enumerate(inputs):
        _same_size("reduce_scatter", i, out.shape, x.shape)
    stacked = _gather(np.stack([_host(x) for x in inputs]))  # (processes, world, *shape)
    _write(out, reduce(stacked[:, jax.process_index()]))
    return _done(async_op, [out])


def reduce_scatter_tensor(
    output: Variable,
    input: Variable,  # noqa: A002 - PyTorch's name
    op: ReduceOp = ReduceOp.SUM,
    group: Any = None,
    async_op: bool = False,
) -> Work | None:
    """Reduce ``input`` across the processes with ``op`` and write block ``r`` of it (on dim
    0, ``output``'s size) into ``output`` on process ``r``, in place (PyTorch's
    ``reduce_scatter_tensor``). The values travel through the host (``process_allgather``).

    Example:
        >>> import varjax as vj
        >>> import varjax.distributed as dist
        >>> dist.init_process_group(world_size=1, rank=0)
        >>> out = vj.zeros(2)
        >>> dist.reduce_scatter_tensor(out, vj.tensor([1.0, 2.0]), op=dist.ReduceOp.MIN)
        >>> out
        tensor([1., 2.])
        >>> dist.destroy_process_group()
    """
    out, x = _tensor(output, "output"), _tensor(input, "input")
    reduce = _REDUCE[_op(op)]
    _check_group(group)
    world = _world()
    shape = tuple(out.shape)
    want = (world * shape[0], *shape[1:]) if shape else (world,)
    if tuple(x.shape) not in (want, (world, *shape)):
        raise RuntimeError(
            f"reduce_scatter_tensor: the input's size must be world_size times the output's "
            f"on dim 0 (expected {want} for world_size {world} and output {shape}, got "
            f"{tuple(x.shape)}). Remedy: pass an input of world_size * n rows"
        )
    _dtypes_match("reduce_scatter_tensor", out, x)
    blocks = _gather(_host(x)).reshape(jax.process_count(), world, *shape)
    _write(out, reduce(blocks[:, jax.process_index()]))
    return _done(async_op, [out])
