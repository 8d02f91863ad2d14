"""Distributed tensors at PyTorch's path ``torch.distributed.tensor``: placements and
``distribute_tensor``. A distributed Variable is an ordinary Variable whose value is a
sharded ``jax.Array`` (``Variable.sharding`` says how); every op on it runs as one program
that XLA's partitioner (GSPMD) splits over the mesh.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax

from .. import _device
from .._placement import Placement, Replicate, Shard, place, sharding_of
from .device_mesh import DeviceMesh, init_device_mesh

__all__ = ["Placement", "Replicate", "Shard", "distribute_tensor"]


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


def _default_mesh() -> DeviceMesh:
    """Every device of the default device's backend, in one row."""
    kind = _device.default()
    return init_device_mesh(kind.type, (len(jax.devices(kind.jax_device().platform)),))
