"""``DeviceMesh``: PyTorch's grid of devices with named dimensions, over ``jax.sharding.Mesh``.

One process drives every device of a mesh (JAX's single-controller model), so a mesh is
the whole grid, and ``mesh["dp"]`` is the same grid seen through one of its dimensions:
placements given for it shard over that dimension and replicate over the others.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh

from .._device import device as _device_cls

__all__ = ["DeviceMesh", "init_device_mesh"]


class DeviceMesh:
    """A grid of devices: ``DeviceMesh("cpu", [[0, 1], [2, 3]], mesh_dim_names=("dp",
    "tp"))``; the numbers index ``jax.devices(device_type)``. ``jax_mesh`` is the
    ``jax.sharding.Mesh`` behind it.

    Example:
        >>> from varjax.distributed import init_device_mesh
        >>> mesh = init_device_mesh("cpu", (1,), mesh_dim_names=("dp",))
        >>> mesh.shape, mesh.mesh_dim_names, mesh.size()
        ((1,), ('dp',), 1)
    """

    def __init__(
        self, device_type: str, mesh: Any, *, mesh_dim_names: Sequence[str] | None = None
    ) -> None:
        ids = np.asarray(mesh, dtype=np.int64)
        if ids.ndim == 0:
            ids = ids.reshape(1)
        names = tuple(mesh_dim_names) if mesh_dim_names is not None else tuple(
            f"dim_{i}" for i in range(ids.ndim))  # fmt: skip
        if len(names) != ids.ndim or len(set(names)) != len(names):
            raise RuntimeError(
                f"mesh_dim_names {names} must name each of the mesh's {ids.ndim} dimensions "
                f"once (mesh shape {tuple(ids.shape)})"
            )
        devices = _devices(device_type)
        if ids.size and (ids.min() < 0 or ids.max() >= len(devices)):
            raise RuntimeError(
                f"DeviceMesh: device index {int(ids.max())} does not exist: JAX has "
                f"{len(devices)} {device_type} device(s) (jax.devices() is {jax.devices()})"
            )
        if len(np.unique(ids)) != ids.size:
            raise RuntimeError(f"DeviceMesh: a device appears twice in the mesh {ids.tolist()}")
        self.device_type = _device_cls(device_type).type
        self.mesh = ids
        self.jax_mesh = Mesh(np.array([devices[i] for i in ids.flat]).reshape(ids.shape), names)
        self._dims = names  # the dimensions placements refer to (all, or one for mesh["dp"])

    @property
    def mesh_dim_names(self) -> tuple[str, ...]:
        return self._dims

    @property
    def ndim(self) -> int:
        return len(self._dims)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.jax_mesh.shape[n] for n in self._dims)

    def size(self, mesh_dim: int | str | None = None) -> int:
        """Devices in the mesh, or along one of its dimensions."""
        if mesh_dim is None:
            return math.prod(self.shape)
        name = self._dims[mesh_dim] if isinstance(mesh_dim, int) else mesh_dim
        return self.jax_mesh.shape[name]

    def __getitem__(self, names: str | Sequence[str]) -> DeviceMesh:
        wanted = (names,) if isinstance(names, str) else tuple(names)
        for n in wanted:
            if n not in self.jax_mesh.axis_names:
                raise KeyError(
                    f"Invalid mesh_dim_name {n!r} specified; the mesh's dimensions are "
                    f"{tuple(self.jax_mesh.axis_names)}"
                )
        view = object.__new__(DeviceMesh)
        view.device_type, view.mesh, view.jax_mesh, view._dims = (
            self.device_type, self.mesh, self.jax_mesh, wanted)  # fmt: skip
        return view

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DeviceMesh) and (self.jax_mesh, self._dims) == (
            other.jax_mesh, other._dims)  # fmt: skip

    def __hash__(self) -> int:
        return hash((self.jax_mesh, self._dims))

    def __repr__(self) -> str:
        names = "" if self._dims == self.jax_mesh.axis_names else f", view of {self._dims}"
        return (f"DeviceMesh('{self.device_type}', {self.mesh.tolist()}, "
                f"mesh_dim_names={tuple(self.jax_mesh.axis_names)}{names})")  # fmt: skip


def _devices(device_type: str) -> list:
    return jax.devices(_device_cls(device_type).jax_device().platform)


def init_device_mesh(
    device_type: str, mesh_shape: Sequence[int], *, mesh_dim_names: Sequence[str] | None = None
) -> DeviceMesh:
    """A mesh of the first ``prod(mesh_shape)`` devices of ``device_type``, laid out row-major
    (PyTorch's ``init_device_mesh``).

    Example:
        >>> from varjax.distributed import init_device_mesh
        >>> init_device_mesh("cpu", (1, 1), mesh_dim_names=("dp", "tp")).ndim
        2
    """
    shape = tuple(int(n) for n in mesh_shape)
    if any(n < 1 for n in shape):
        raise RuntimeError(f"init_device_mesh: mesh_shape {shape} must be positive")
    have = len(_devices(device_type))
    if math.prod(shape) > have:
        raise RuntimeError(
            f"init_device_mesh: mesh_shape {shape} needs {math.prod(shape)} {device_type} "
            f"devices, but JAX has {have}. Remedy: a smaller mesh, more processes, or (on a "
            f"CPU) XLA_FLAGS=--xla_force_host_platform_device_count={math.prod(shape)} set "
            f"before JAX starts"
        )
    ids = np.arange(math.prod(shape)).reshape(shape)
    return DeviceMesh(device_type, ids, mesh_dim_names=mesh_dim_names)
