"""Placements (``Shard(dim)``, ``Replicate()``) and laying a Variable out over a mesh.

A mesh's placements, one per mesh dimension, become a ``jax.sharding.NamedSharding``: a
concrete leaf is moved with ``jax.device_put``; a value with history gets a ``reshard`` op
(``lax.with_sharding_constraint``), so its gradient flows back laid out as it came.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

from . import _tracing
from ._grad_mode import is_grad_enabled
from ._ops import P
from ._record import leaf


class Placement:
    """How a tensor is laid out along one mesh dimension.

    Example:
        >>> from varjax.distributed.tensor import Placement, Replicate, Shard
        >>> isinstance(Shard(0), Placement), Replicate().is_shard()
        (True, False)
    """

    __slots__ = ()

    def is_shard(self, dim: int | None = None) -> bool:
        return False

    def is_replicate(self) -> bool:
        return False


class Shard(Placement):
    """Split tensor dimension ``dim`` over the mesh dimension (PyTorch's ``Shard``).

    Example:
        >>> from varjax.distributed.tensor import Shard
        >>> Shard(0)
        Shard(dim=0)
        >>> Shard(0).is_shard(), Shard(0).is_shard(dim=1)
        (True, False)
    """

    __slots__ = ("dim",)

    def __init__(self, dim: int) -> None:
        self.dim = int(dim)

    def is_shard(self, dim: int | None = None) -> bool:
        return dim is None or dim == self.dim

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Shard) and other.dim == self.dim

    def __hash__(self) -> int:
        return hash(("shard", self.dim))

    def __repr__(self) -> str:
        return f"Shard(dim={self.dim})"


class Replicate(Placement):
    """A whole copy on every device along the mesh dimension (PyTorch's ``Replicate``).

    Example:
        >>> from varjax.distributed.tensor import Replicate
        >>> Replicate(), Replicate().is_replicate()
        (Replicate(), True)
    """

    __slots__ = ()

    def is_replicate(self) -> bool:
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Replicate)

    def __hash__(self) -> int:
        return hash("replicate")

    def __repr__(self) -> str:
        return "Replicate()"


def sharding_of(mesh: Any, placements: Sequence[Placement] | None, shape: tuple) -> NamedSharding:
    """The ``NamedSharding`` of ``placements`` (one per dimension of ``mesh``) for ``shape``."""
    dims = mesh.mesh_dim_names
    placements = [Replicate()] * len(dims) if placements is None else list(placements)
    if len(placements) != len(dims):
        raise ValueError(
            f"`placements` must have the same length as `device_mesh.ndim`! Found placements "
            f"length: {len(placements)}, and device_mesh.ndim: {len(dims)}."
        )
    axes: list[list[str]] = [[] for _ in shape]
    for name, p in zip(dims, placements):
        if isinstance(p, Shard):
            d = p.dim + len(shape) if p.dim < 0 else p.dim
            if not 0 <= d < len(shape):
                raise IndexError(
                    f"Shard({p.dim}) on mesh dimension {name!r}: a tensor of shape "
                    f"{list(shape)} has no dimension {p.dim}"
                )
            axes[d].append(name)
        elif not isinstance(p, Replicate):
            raise TypeError(f"placements take Shard(dim) or Replicate(), got {p!r}")
    for d, names in enumerate(axes):
        parts = 1
        for n in names:
            parts *= mesh.jax_mesh.shape[n]
        if shape[d] % parts:
            raise ValueError(
                f"cannot shard dimension {d} (size {shape[d]}) of a tensor of shape "
                f"{list(shape)} into {parts} equal parts over mesh dimension(s) {names}: JAX "
                f"lays shards out evenly. Remedy: pad that dimension to a multiple of {parts} "
                f"(or drop the last partial batch), or replicate it"
            )
    entries = [None if not n else n[0] if len(n) == 1 else tuple(n) for n in axes]
    while entries and entries[-1] is None:  # P('dp'), as JAX writes it, not P('dp', None)
        entries.pop()
    spec = PartitionSpec(*entries)
    return NamedSharding(mesh.jax_mesh, spec)


def place(x: Any, sharding: NamedSharding, tracked: bool) -> Any:
    """``x`` laid out as ``sharding``: a recorded ``reshard`` where ``tracked`` (autograd sees
    the move), else a new leaf over the moved value, with ``x``'s ``requires_grad``."""
    if tracked:
        return x._apply(P.reshard, x, params=(("sharding", sharding),))
    moved = x._new(leaf(put(x._value(), sharding), aval=x._node.aval))
    moved._node.requires_grad = x.requires_grad
    return moved


def spread_over(v: Any) -> jax.sharding.Sharding | None:
    """The sharding of ``v``'s value where it spans several devices, else None (one device,
    or traced by ``varjax.jit``: a tracer has no sharding to keep)."""
    value = v._value()
    if _tracing.is_tracer(value):
        return None
    sharding = value.sharding
    return sharding if len(sharding.device_set) > 1 else None


def put(value: jax.Array, sharding: jax.sharding.Sharding) -> jax.Array:
    """``value`` laid out as ``sharding``. Onto devices of several processes, a value this
    process holds whole is cut on the host, each process filling its own devices: JAX 0.10's
    ``device_put`` of a one-device array onto such a sharding, when replicated, makes an
    array whose ``addressable_shards`` raise."""
    if sharding.is_fully_addressable or not value.is_fully_addressable:
        return jax.device_put(value, sharding)
    host = np.asarray(value)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


# called with each parameter laid out anew in place; varjax.optim adds the function that
# moves the parameter's optimizer state along (optim sits above this module)
FOLLOWERS: list = []


def laid_out(v: Any) -> None:
    """Tell the followers that ``v`` was laid out anew."""
    for follow in FOLLOWERS:
        follow(v)


class _WholeMesh:
    """A ``jax.sharding.Mesh`` seen as a ``DeviceMesh`` (all its dimensions)."""

    def __init__(self, mesh: Any) -> None:
        self.jax_mesh, self.mesh_dim_names = mesh, tuple(mesh.axis_names)


def redistribute(x: Any, device_mesh: Any, placements: Sequence[Placement] | None) -> Any:
    """``Variable.redistribute``: ``x`` laid out anew over ``device_mesh`` (by default the mesh
    it is on); autograd follows the move, so the gradient comes back laid out as ``x`` was."""
    if device_mesh is None:
        current = x.sharding
        if not isinstance(current, NamedSharding):
            raise ValueError(
                f"redistribute: this Variable is on {x.device}, not on a mesh, so there is "
                f"no mesh to keep. Remedy: pass one, x.redistribute(mesh, placements), or "
                f"start from varjax.distributed.distribute_tensor(x, mesh, placements)"
            )
        device_mesh = _WholeMesh(current.mesh)
    tracked = x.requires_grad and is_grad_enabled()
    return place(x, sharding_of(device_mesh, placements, tuple(x.shape)), tracked=tracked)
