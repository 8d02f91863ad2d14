"""Scale-out with PyTorch's names on JAX's machinery: the process group
(``init_process_group``, ``get_rank``, ``get_world_size``, over ``jax.distributed``), explicit
collectives on each process's Variables (``barrier``, ``all_reduce`` with a ``ReduceOp``,
``all_gather``, ``broadcast``, ``reduce_scatter``, over ``jax.experimental.multihost_utils``;
through the host), a launcher like torchrun (``python -m varjax.distributed.run``), meshes
(``init_device_mesh``) and distributed tensors (``distribute_tensor``, ``Shard``,
``Replicate``) over ``jax.sharding``, and parallel training of an ordinary model in one call
each: ``varjax.nn.parallel.DistributedDataParallel``, ``fsdp.fully_shard`` and
``tensor.parallel.parallelize_module``. One process drives all of its devices; every op on
sharded values runs as one XLA program that GSPMD partitions, with the collectives it needs.

Example:
    >>> import varjax as vj
    >>> from varjax.distributed import Replicate, distribute_tensor, init_device_mesh
    >>> mesh = init_device_mesh("cpu", (1,), mesh_dim_names=("dp",))
    >>> w = distribute_tensor(vj.ones(3, requires_grad=True), mesh, [Replicate()])
    >>> w.is_leaf, w.requires_grad
    (True, True)
"""

from __future__ import annotations

from . import device_mesh, fsdp, tensor
from ._collectives import (
    ReduceOp,
    Work,
    all_gather,
    all_gather_into_tensor,
    all_reduce,
    barrier,
    broadcast,
    reduce_scatter,
    reduce_scatter_tensor,
)
from ._group import (
    destroy_process_group,
    get_rank,
    get_world_size,
    init_process_group,
    is_initialized,
)
from .device_mesh import DeviceMesh, init_device_mesh
from .tensor import Placement, Replicate, Shard, distribute_tensor
from .tensor import parallel as _tensor_parallel  # noqa: F401 - varjax.distributed.tensor.parallel

__all__ = [
    "DeviceMesh",
    "Placement",
    "ReduceOp",
    "Replicate",
    "Shard",
    "Work",
    "all_gather",
    "all_gather_into_tensor",
    "all_reduce",
    "barrier",
    "broadcast",
    "destroy_process_group",
    "device_mesh",
    "distribute_tensor",
    "fsdp",
    "get_rank",
    "get_world_size",
    "init_device_mesh",
    "init_process_group",
    "is_available",
    "is_initialized",
    "reduce_scatter",
    "reduce_scatter_tensor",
    "tensor",
]


def is_available() -> bool:
    """True: JAX's sharding is always there (PyTorch's ``torch.distributed.is_available``).

    Example:
        >>> import varjax as vj
        >>> vj.distributed.is_available()
        True
    """
    return True
