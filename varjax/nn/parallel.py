"""Data parallelism at PyTorch's path ``torch.nn.parallel``: ``DistributedDataParallel``.

One process drives every device of the mesh (and, with several processes, each its own):
the parameters are replicated over the mesh, each batch is split along its first dimension
over the data axis, and XLA's partitioner all-reduces the gradients inside the program that
computes them. There are no buckets and no hooks to tune.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from .._placement import Replicate, sharding_of
from ..distributed._parallel import lay_out, mesh_or_default, on_mesh, spread_inputs, state_of
from ..distributed.device_mesh import DeviceMesh
from ._module import Module

__all__ = ["DataParallel", "DistributedDataParallel"]


class DistributedDataParallel(Module):
    """Train ``module`` data-parallel over ``device_mesh`` (PyTorch's
    ``DistributedDataParallel``): its parameters and buffers are replicated over the mesh,
    in place, and every Variable passed to ``forward`` is split along ``dim`` over the mesh's
    data axis, so the gradients are summed over the shards inside the compiled program.

    ``device_mesh`` is a 1-D mesh, or one dimension of a larger one (``mesh["dp"]``, with
    tensor-parallel parameters on the others, which keep their layout). By default it spans
    every device. With several processes each passes its own share of the batch, as with
    PyTorch; the loss is then the loss of the whole global batch (PyTorch's would be each
    rank's share), and its gradients are the ones PyTorch's averaging gives: make the labels
    global too, ``varjax.distributed.tensor.from_local(y, mesh, [Shard(0)])`` (and, inside
    ``varjax.jit``, which traces the batch, the inputs as well). The other
    arguments are accepted for PyTorch's scripts; XLA decides how gradients are reduced.

    Example:
        >>> import varjax as vj
        >>> from varjax.distributed import init_device_mesh
        >>> mesh = init_device_mesh("cpu", (1,), mesh_dim_names=("dp",))
        >>> model = vj.nn.parallel.DistributedDataParallel(vj.nn.Linear(3, 2), device_mesh=mesh)
        >>> model(vj.ones(4, 3)).shape
        varjax.Size([4, 2])
        >>> list(model.state_dict())
        ['module.weight', 'module.bias']
    """

    def __init__(self, module: Module, device_ids: Any = None, output_device: Any = None,
                 dim: int = 0, broadcast_buffers: bool = True, process_group: Any = None,
                 bucket_cap_mb: Any = None, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False,
                 static_graph: bool = False, delay_all_reduce_named_params: Any = None,
                 param_to_hook_all_reduce: Any = None, mixed_precision: Any = None,
                 device_mesh: DeviceMesh | None = None) -> None:  # fmt: skip
        super().__init__()
        mesh = mesh_or_default(device_mesh, "DistributedDataParallel")
        if len(mesh.mesh_dim_names) != 1:
            raise ValueError(
                f"DistributedDataParallel: device_mesh must be 1-D (the data axis), got "
                f"dimensions {mesh.mesh_dim_names}. Remedy: pass one of them, mesh['dp']"
            )
        self.module, self.device_mesh, self.dim = module, mesh, dim
        for v in state_of(module):  # tensor-parallel state on this mesh keeps its layout
            if on_mesh(v, mesh.jax_mesh) is None:
                lay_out(v, sharding_of(mesh, [Replicate()], tuple(v.shape)))

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        """``module(*inputs, **kwargs)`` on the batch split over the data axis."""
        inputs, kwargs = spread_inputs(inputs, kwargs, self.device_mesh, self.dim)
        return self.module(*inputs, **kwargs)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Accepted for PyTorch's gradient accumulation loops; nothing to skip, since the
        reduction is part of each backward program."""
        yield


class DataParallel(DistributedDataParallel):
    """PyTorch's single-process ``DataParallel``: here the same as ``DistributedDataParallel``
    over every device (``device_ids`` picks none: the default mesh is used).

    Example:
        >>> import varjax as vj
        >>> vj.nn.DataParallel(vj.nn.Linear(3, 2))(vj.ones(4, 3)).shape
        varjax.Size([4, 2])
    """

    def __init__(self, module: Module, device_ids: Any = None, output_device: Any = None,
                 dim: int = 0) -> None:  # fmt: skip
        super().__init__(module, dim=dim)
