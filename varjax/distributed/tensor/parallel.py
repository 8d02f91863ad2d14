"""Tensor parallelism at PyTorch's path ``torch.distributed.tensor.parallel``:
``parallelize_module`` with ``ColwiseParallel`` and ``RowwiseParallel``.

A style says how a layer's weight is split over the mesh: column-wise, each device holds
some of the output features (a ``Linear``'s weight rows, an ``Embedding``'s columns);
row-wise, some of the input features. The activations between the layers are laid out by
XLA's partitioner from the weights' layouts, so a column-wise layer feeding a row-wise one
runs with a single all-reduce at its end, as Megatron-LM arranges it by hand.
"""

from __future__ import annotations

import fnmatch
import warnings
from typing import Any

from jax.sharding import NamedSharding, PartitionSpec

from ..._placement import Replicate, Shard
from ...nn._layers import Embedding, Linear
from .._parallel import lay_out, mesh_or_default, on_mesh, parts, with_axes
from ..device_mesh import DeviceMesh

__all__ = ["ColwiseParallel", "ParallelStyle", "RowwiseParallel", "parallelize_module"]


class ParallelStyle:
    """How ``parallelize_module`` lays one module out (PyTorch's ``ParallelStyle``).

    ``input_layouts``, ``output_layouts`` and ``use_local_output`` are accepted for
    PyTorch's plans; the activations' layouts follow from the weights' (there are no local
    tensors here: a Variable always holds the whole value).

    Example:
        >>> from varjax.distributed.tensor.parallel import ColwiseParallel, ParallelStyle
        >>> style = ColwiseParallel(use_local_output=False)
        >>> isinstance(style, ParallelStyle), style.use_local_output
        (True, False)
    """

    _linear_dim: int  # the weight dimension split for a Linear (out, in)
    _embedding_dim: int  # ... and for an Embedding (num, dim)
    _bias_split: bool
    _layouts: tuple = (Replicate(), Replicate())  # the default input and output layouts

    def __init__(self, *, input_layouts: Any = None, output_layouts: Any = None,
                 use_local_output: bool = True) -> None:  # fmt: skip
        # stored as PyTorch stores them: one placement per input and output
        self.input_layouts = (input_layouts or self._layouts[0],)
        self.output_layouts = (output_layouts or self._layouts[1],)
        self.use_local_output = use_local_output

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(input_layouts={self.input_layouts}, output_layouts="
            f"{self.output_layouts}, use_local_output={self.use_local_output})"
        )

    def _apply(self, module: Any, mesh: DeviceMesh) -> None:
        if isinstance(module, Linear):
            splits = {"weight": self._linear_dim, "bias": 0 if self._bias_split else None}
        elif isinstance(module, Embedding):
            splits = {"weight": self._embedding_dim}
        else:
            raise NotImplementedError(
                f"{type(self).__name__} currently only support nn.Linear and nn.Embedding! "
                f"(got {type(module).__name__}). Remedy: name the Linear or Embedding "
                f"submodules in the plan, e.g. {{'mlp.fc1': ColwiseParallel()}}"
            )
        for name, dim in splits.items():
            v = getattr(module, name, None)
            if v is None:
                continue
            if dim is not None:
                lay_out(v, _split(v, mesh, dim, f"{type(module).__name__}.{name}"))
            elif on_mesh(v, mesh.jax_mesh) is None:  # replicated on the mesh, as PyTorch's
                lay_out(v, NamedSharding(mesh.jax_mesh, PartitionSpec()))


class ColwiseParallel(ParallelStyle):
    """Split a ``Linear``'s output features (weight rows and bias) or an ``Embedding``'s
    embedding dimension over the mesh (PyTorch's ``ColwiseParallel``).

    Example:
        >>> import varjax as vj
        >>> from varjax.distributed import init_device_mesh
        >>> from varjax.distributed.tensor.parallel import ColwiseParallel, parallelize_module
        >>> mesh = init_device_mesh("cpu", (1,), mesh_dim_names=("tp",))
        >>> fc = parallelize_module(vj.nn.Linear(3, 4), mesh, ColwiseParallel())
        >>> fc.weight.sharding.spec, fc.bias.sharding.spec
        (P('tp',), P('tp',))
    """

    _linear_dim, _embedding_dim, _bias_split = 0, 1, True
    _layouts = (Replicate(), Shard(-1))


class RowwiseParallel(ParallelStyle):
    """Split a ``Linear``'s input features (weight columns; the bias is replicated) or an
    ``Embedding``'s rows over the mesh (PyTorch's ``RowwiseParallel``).

    Example:
        >>> import varjax as vj
        >>> from varjax.distributed import init_device_mesh
        >>> from varjax.distributed.tensor.parallel import RowwiseParallel, parallelize_module
        >>> mesh = init_device_mesh("cpu", (1,), mesh_dim_names=("tp",))
        >>> fc = parallelize_module(vj.nn.Linear(4, 3), mesh, RowwiseParallel())
        >>> fc.weight.sharding.spec
        P(None, 'tp')
    """

    _linear_dim, _embedding_dim, _bias_split = 1, 0, False
    _layouts = (Shard(-1), Replicate())


def _split(v: Any, mesh: DeviceMesh, dim: int, what: str) -> NamedSharding:
    """``v``'s layout with the mesh's axis added on ``dim`` (other axes it has stay)."""
    (axis,) = mesh.mesh_dim_names
    shape, jm = tuple(v.shape), mesh.jax_mesh
    entries = with_axes(on_mesh(v, jm), len(shape), dim, (axis,))
    n = parts(jm, entries[dim])
    if shape[dim] % n:
        raise ValueError(
            f"parallelize_module: {what} of shape {list(shape)} cannot be split on dimension "
            f"{dim} (size {shape[dim]}) into {n} equal parts over mesh axis {axis!r}: JAX lays "
            f"shards out evenly. Remedy: a size divisible by {n}, or leave the layer out"
        )
    return NamedSharding(jm, PartitionSpec(*entries))


def parallelize_module(module: Any, device_mesh: DeviceMesh | None = None,
                       parallelize_plan: ParallelStyle | dict | None = None, *,
                       src_data_rank: int | None = 0) -> Any:  # fmt: skip
    """Lay ``module``'s layers out tensor-parallel over ``device_mesh`` (1-D, or one
    dimension of a larger mesh such as ``mesh["tp"]``), in place; returns ``module``
    (PyTorch's ``parallelize_module``). ``parallelize_plan`` is a style for ``module``
    itself, or a dict from submodule names to styles; a name may hold ``*`` wildcards per
    dotted part (``"blocks.*.mlp.0"``). A name matching nothing warns, as in PyTorch.

    Example:
        >>> import varjax as vj
        >>> from varjax.distributed import init_device_mesh
        >>> from varjax.distributed.tensor.parallel import (
        ...     ColwiseParallel, RowwiseParallel, parallelize_module)
        >>> mesh = init_device_mesh("cpu", (1,), mesh_dim_names=("tp",))
        >>> mlp = vj.nn.Sequential(vj.nn.Linear(3, 8), vj.nn.ReLU(), vj.nn.Linear(8, 3))
        >>> mlp = parallelize_module(mlp, mesh, {"0": ColwiseParallel(), "2": RowwiseParallel()})
        >>> mlp[2].weight.sharding.spec
        P(None, 'tp')
    """
    mesh = mesh_or_default(device_mesh, "parallelize_module")
    if len(mesh.mesh_dim_names) != 1:
        raise ValueError(
            f"parallelize_module: device_mesh must be 1-D, got dimensions "
            f"{mesh.mesh_dim_names}. Remedy: pass the tensor-parallel one, mesh['tp']"
        )
    if parallelize_plan is None:
        warnings.warn("No parallelize_plan is provided, so parallelize_module does nothing.",
                      stacklevel=2)  # fmt: skip
        return module
    if isinstance(parallelize_plan, ParallelStyle):
        parallelize_plan._apply(module, mesh)
        return module
    if not isinstance(parallelize_plan, dict):
        raise TypeError(
            f"parallelize_plan must be a ParallelStyle or a dict of them, got "
            f"{type(parallelize_plan).__name__}"
        )
    named = dict(module.named_modules())
    for key, style in parallelize_plan.items():
        if not isinstance(style, ParallelStyle):
            raise TypeError(f"parallelize_plan[{key!r}] is {style!r}, not a ParallelStyle")
        hits = [m for name, m in named.items() if name and _matches(key, name)]
        if not hits:
            warnings.warn(f"Parallelize plan key {key!r} could not be resolved: no submodule "
                          f"matching it in {type(module).__name__}", stacklevel=2)  # fmt: skip
        for m in hits:
            style._apply(m, mesh)
    return module


def _matches(pattern: str, name: str) -> bool:
    want, have = pattern.split("."), name.split(".")
    return len(want) == len(have) and all(fnmatch.fnmatchcase(h, w) for w, h in zip(want, have))
