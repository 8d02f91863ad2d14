"""Fully-sharded data parallelism at PyTorch's path ``torch.distributed.fsdp``:
``fully_shard`` (FSDP2's call) and ``FSDPModule``.

Each parameter is split along one dimension over the mesh and stays split: its gradient
and its optimizer state come out laid out the same way, and XLA all-gathers the parameter
where a program needs it whole and reduce-scatters its gradient. A batch is split over the
same devices, as FSDP is data parallel too.
"""

from __future__ import annotations

import weakref
from typing import Any

from jax.sharding import NamedSharding, PartitionSpec

from .._variable import Variable
from ._parallel import lay_out, mesh_or_default, on_mesh, parts, spread_inputs, state_of, with_axes
from .device_mesh import DeviceMesh

__all__ = ["FSDPModule", "fully_shard"]

_SHARDED: weakref.WeakSet = weakref.WeakSet()  # every module fully_shard was called on


class FSDPModule:
    """The class ``fully_shard`` mixes into a module's class (``FSDPLinear`` for a
    ``Linear``), as PyTorch's FSDP2 does, so ``isinstance(m, FSDPModule)`` tells it.

    Example:
        >>> import varjax as vj
        >>> from varjax.distributed import init_device_mesh
        >>> from varjax.distributed.fsdp import FSDPModule, fully_shard
        >>> model = vj.nn.Linear(3, 2)
        >>> isinstance(model, FSDPModule)
        False
        >>> mesh = init_device_mesh("cpu", (1,), mesh_dim_names=("dp",))
        >>> isinstance(fully_shard(model, mesh=mesh), FSDPModule)
        True
    """

    def reshard(self) -> None:
        """Accepted for PyTorch's scripts: a parameter is never gathered outside a program."""

    def unshard(self, async_op: bool = False) -> None:
        """Accepted for PyTorch's scripts: XLA gathers each parameter where it is used."""

    def set_requires_gradient_sync(self, requires_gradient_sync: bool, *,
                                   recurse: bool = True) -> None:  # fmt: skip
        """Accepted for gradient accumulation loops: the reduction is part of each backward."""


def fully_shard(module: Any, *, mesh: DeviceMesh | None = None,
                reshard_after_forward: bool | int = True, shard_placement_fn: Any = None,
                mp_policy: Any = None, offload_policy: Any = None,
                ignored_params: set | None = None) -> Any:  # fmt: skip
    """Shard ``module``'s parameters and buffers over ``mesh`` in place, FSDP-style
    (PyTorch's ``fully_shard``); returns the module, whose class now also derives from
    ``FSDPModule``. Call it on blocks first and then on the root, as with PyTorch: state a
    block already holds is left as it is.

    A 1-D mesh shards each tensor's first dimension (or, where that does not divide evenly
    by the mesh size, the first one that does; a tensor with none stays replicated: JAX
    lays shards out evenly, where PyTorch pads). A 2-D mesh is HSDP: replicated along the
    first dimension, sharded along the second. Tensors laid out by ``parallelize_module`` on
    the same mesh keep their tensor-parallel axes and gain the FSDP one. Inputs of the
    root module are split along their first dimension over every axis of ``mesh`` (with
    several processes, each process's share makes the global batch, as with
    ``DistributedDataParallel``). Make the
    optimizer after this call, as PyTorch asks: its state is then made with each
    parameter's layout.

    Example:
        >>> import varjax as vj
        >>> from varjax.distributed import init_device_mesh
        >>> from varjax.distributed.fsdp import FSDPModule, fully_shard
        >>> mesh = init_device_mesh("cpu", (1,), mesh_dim_names=("dp",))
        >>> model = fully_shard(vj.nn.Linear(3, 2), mesh=mesh)
        >>> isinstance(model, FSDPModule), type(model).__name__
        (True, 'FSDPLinear')
        >>> model.weight.sharding.spec
        P('dp',)
    """
    mesh = mesh_or_default(mesh, "fully_shard")
    if len(mesh.mesh_dim_names) not in (1, 2):
        raise ValueError(
            f"fully_shard: mesh must be 1-D (FSDP) or 2-D (HSDP: replicate, shard), got "
            f"dimensions {mesh.mesh_dim_names}. Remedy: pass the data dimensions, mesh['dp']"
        )
    axis = mesh.mesh_dim_names[-1]
    ignored = {id(p) for p in ignored_params or ()}
    for v in state_of(module):
        if id(v) not in ignored and not _managed(v, mesh, axis):
            lay_out(v, _sharded(v, mesh, axis))
    if not isinstance(module, FSDPModule):
        cls = type(module)
        module.__class__ = type(f"FSDP{cls.__name__}", (FSDPModule, cls), {})
        module.register_forward_pre_hook(_spread_hook(mesh), with_kwargs=True)
        _SHARDED.add(module)
    return module


def _managed(v: Variable, mesh: DeviceMesh, axis: str) -> bool:
    spec = on_mesh(v, mesh.jax_mesh)
    return spec is not None and any(
        e == axis or (isinstance(e, tuple) and axis in e) for e in spec
    )


def _sharded(v: Variable, mesh: DeviceMesh, axis: str) -> NamedSharding:
    """``v``'s layout with ``axis`` added to the first dimension it divides."""
    jm, shape = mesh.jax_mesh, tuple(v.shape)
    spec = on_mesh(v, jm)
    for d in range(len(shape)):
        entries = with_axes(spec, len(shape), d, (axis,))
        if shape[d] % parts(jm, entries[d]) == 0:
            return NamedSharding(jm, PartitionSpec(*entries))
    return NamedSharding(jm, spec if spec is not None else PartitionSpec())


def _spread_hook(mesh: DeviceMesh) -> Any:
    """Split the batch where it comes in: at the root, the one no other sharded module holds
    (decided at its first call, as PyTorch does); inner blocks take activations as they are."""
    root: list[bool] = []

    def hook(module: Any, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        if not root:
            root.append(not any(o is not module and any(m is module for m in o.modules())
                                for o in list(_SHARDED)))  # fmt: skip
        return spread_inputs(args, kwargs, mesh, 0) if root[0] else (args, kwargs)

    return hook
