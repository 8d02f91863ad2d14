"""Distributed tensors at PyTorch's path ``torch.distributed.tensor``: placements and
``distribute_tensor``. A distributed Variable is an ordinary Variable whose value is a
sharded ``jax.Array`` (``Variable.sharding`` says how); every op on it runs as one program
that XLA's partitioner (GSPMD) splits over the mesh.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from ... import _device
from ..._placement import Placement, Replicate, Shard, place, sharding_of
from ..._record import leaf
from ..device_mesh import DeviceMesh, init_device_mesh

__all__ = ["Placement", "Replicate", "Shard", "distribute_tensor", "from_local"]


def distribute_tensor(
    tensor: Any,
    device_mesh: DeviceMesh | None = None,
    placements: Sequence[Placement] | None = None,
    *,
    src_data_rank: int | None = 0,
) -> Any:
    """``tensor`` laid out over ``device_mesh``: ``placements`` has one entry per mesh
    dimension, ``Shard(d)`` (split tensor dimension ``d`` over it) or ``Replicate()`` (the
    default). A leaf stays a leaf (a new one, with the same ``requires_grad``), as in
    PyTorch. ``device_mesh`` defaults to every device of the default backend in one row.

    Example:
        >>> import varjax as vj
        >>> from varjax.distributed import Shard, distribute_tensor, init_device_mesh
        >>> mesh = init_device_mesh("cpu", (1,), mesh_dim_names=("dp",))
        >>> x = distribute_tensor(vj.ones(4, 2), mesh, [Shard(0)])
        >>> x.sharding.spec
        P('dp',)
    """
    if tensor.requires_grad and not tensor.is_leaf:
        raise RuntimeError(
            "`distribute_tensor` should be used to distribute leaf tensors! but found non-leaf "
            f"tensor (grad_fn={tensor.grad_fn!r}). Remedy: distribute the leaves (parameters, "
            f"inputs), or use `.redistribute(mesh, placements)`, which autograd follows"
        )
    mesh = device_mesh if device_mesh is not None else _default_mesh()
    return place(tensor, sharding_of(mesh, placements, tuple(tensor.shape)), tracked=False)


def from_local(local_tensor: Any, device_mesh: DeviceMesh | None = None,
               placements: Sequence[Placement] | None = None) -> Any:  # fmt: skip
    """The global tensor whose shards, on this process's devices, are ``local_tensor``
    (PyTorch's ``DTensor.from_local``): with several processes each passes its own part, and
    a ``Shard(d)`` dimension is the processes' parts side by side, in process order; with one
    process it is ``distribute_tensor``. For a batch each process loaded (the labels beside
    a ``DistributedDataParallel`` model's output). A new leaf, with ``requires_grad``.

    Example:
        >>> import varjax as vj
        >>> from varjax.distributed import Shard, init_device_mesh
        >>> from varjax.distributed.tensor import from_local
        >>> mesh = init_device_mesh("cpu", (1,), mesh_dim_names=("dp",))
        >>> from_local(vj.arange(4), mesh, [Shard(0)]).shape
        varjax.Size([4])
    """
    mesh = device_mesh if device_mesh is not None else _default_mesh()
    if jax.process_count() == 1:
        return distribute_tensor(local_tensor, mesh, placements)
    local = np.asarray(local_tensor._value())
    shape = list(local.shape)
    for name, p in zip(mesh.mesh_dim_names, placements or ()):
        if isinstance(p, Shard):
            shape[p.dim] *= _processes_along(mesh, name)
    sharding = sharding_of(mesh, placements, tuple(shape))
    value = jax.make_array_from_process_local_data(sharding, local, tuple(shape))
    out = local_tensor._new(leaf(value))
    out._node.requires_grad = local_tensor.requires_grad
    return out


def _processes_along(mesh: DeviceMesh, name: str) -> int:
    """How many processes hold devices along mesh dimension ``name``."""
    grid = mesh.jax_mesh.devices
    line = np.moveaxis(grid, mesh.jax_mesh.axis_names.index(name), 0)
    return len({d.process_index for d in line.reshape(line.shape[0], -1)[:, 0]})


def _default_mesh() -> DeviceMesh:
    """Every device of the default device's backend, in one row."""
    kind = _device.default()
    return init_device_mesh(kind.type, (len(jax.devices(kind.jax_device().platform)),))
