"""What data, fully-sharded and tensor parallelism share: laying a module's parameters out
on a mesh in place, and spreading a batch over the mesh's data axes.

Nothing here runs a collective by hand. Parameters and inputs carry their shardings; every
program that uses them is partitioned by XLA (GSPMD), which inserts the all-reduce of
replicated gradients, the all-gather of sharded parameters and the reduce-scatter of their
gradients where the layouts ask for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

from .. import _tracing
from .._grad_mode import no_grad
from .._placement import Shard, laid_out, place, sharding_of
from .._variable import Variable
from .device_mesh import DeviceMesh
from .tensor import _default_mesh, from_local


def mesh_or_default(mesh: DeviceMesh | None, what: str) -> DeviceMesh:
    if mesh is None:
        return _default_mesh()
    if not isinstance(mesh, DeviceMesh):
        raise TypeError(
            f"{what}: expected a DeviceMesh, got {type(mesh).__name__}. Remedy: make one with "
            f"varjax.distributed.init_device_mesh('cpu', (n,), mesh_dim_names=('dp',))"
        )
    return mesh


def state_of(module: Any) -> list[Variable]:
    """The module's parameters and buffers, each once."""
    seen: dict[int, Variable] = {}
    for _, v in (*module.named_parameters(), *module.named_buffers()):
        seen.setdefault(id(v), v)
    return list(seen.values())


def lay_out(v: Variable, sharding: NamedSharding) -> None:
    """Move a parameter (or buffer), and its gradient, onto ``sharding`` in place: the same
    Variable, so an optimizer made before or after holds it."""
    if v.sharding == sharding:
        return
    with no_grad():
        v.data = place(v.detach(), sharding, tracked=False)
        if v.grad is not None:
            v.grad = place(v.grad, sharding, tracked=False)
    laid_out(v)  # an optimizer made before keeps its state beside the parameter


def on_mesh(v: Variable, jax_mesh: Any) -> PartitionSpec | None:
    """``v``'s partition spec if it is laid out on ``jax_mesh`` already, else None."""
    s = v.sharding
    return s.spec if isinstance(s, NamedSharding) and s.mesh == jax_mesh else None


def with_axes(spec: PartitionSpec | None, ndim: int, dim: int, axes: Sequence[str]) -> tuple:
    """The entries of ``spec`` (None: replicated) for ``ndim`` dims, with ``axes`` added in
    front on dimension ``dim``."""
    entries = list(spec or ()) + [None] * (ndim - len(spec or ()))
    old = entries[dim]
    old = () if old is None else (old,) if isinstance(old, str) else tuple(old)
    new = (*axes, *old)
    entries[dim] = new[0] if len(new) == 1 else new
    while entries and entries[-1] is None:
        entries.pop()
    return tuple(entries)


def parts(jax_mesh: Any, entry: Any) -> int:
    names = () if entry is None else (entry,) if isinstance(entry, str) else entry
    return int(np.prod([jax_mesh.shape[n] for n in names], dtype=int))


def spread_inputs(args: tuple, kwargs: dict, mesh: DeviceMesh, dim: int) -> tuple[tuple, dict]:
    """``args`` and ``kwargs`` with each Variable of at least one dimension split along
    ``dim`` over all of ``mesh``'s dimensions (the data axes); others pass as they are."""
    placements = [Shard(dim)] * len(mesh.mesh_dim_names)
    args = tuple(spread(a, mesh, placements) for a in args)
    return args, {k: spread(v, mesh, placements) for k, v in kwargs.items()}


def spread(x: Any, mesh: DeviceMesh, placements: list) -> Any:
    """One input laid out over the data axes. With several processes an input is this
    process's share of the batch (as each PyTorch rank passes its own): the global batch is
    the processes' shares side by side."""
    if not isinstance(x, Variable) or x.ndim == 0:
        return x
    node = x._node
    traced = node.value is not None and _tracing.is_tracer(node.value)
    if not traced and jax.process_count() > 1 and not (x.requires_grad and not x.is_leaf):
        value = x._value()  # a pending batch (a DataLoader's rows) is computed here
        return x if _spread_already(value) else from_local(x, mesh, placements)
    concrete = node.value is not None and not traced
    if concrete and _spread_already(node.value):
        return x  # laid out already (on this mesh or another): the user's layout wins
    sharding = sharding_of(mesh, placements, tuple(x.shape))
    # a concrete leaf is moved before the program; anything else gets a recorded reshard, so
    # autograd reaches the user's tensor and a pending batch stays in the program (inside
    # varjax.jit with several processes, the batch given to the step must be global already)
    return place(x, sharding, tracked=not (concrete and x.is_leaf and not x.requires_grad))


def _spread_already(value: jax.Array) -> bool:
    """Laid out over several devices (this process's own device is not a layout)."""
    return len(value.sharding.device_set) > 1
