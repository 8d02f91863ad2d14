"""Train an MLP data-parallel, fully sharded or tensor-parallel, written as for PyTorch.

    python -m varjax.distributed.run --nproc-per-node 2 examples/train_sharded.py
    XLA_FLAGS=--xla_force_host_platform_device_count=8 python examples/train_sharded.py
    python examples/train_sharded.py --strategy fsdp --jit --save /tmp/ckpt.safetensors

One script for one device, one process with many devices, or several processes (one per host,
as ``torchrun`` starts them): ``init_process_group`` reads the launcher's variables, a mesh
spans every device of every process, ``DistributedSampler`` gives each process its share of
the data, and one call (``DistributedDataParallel``, ``fully_shard`` or
``parallelize_module``) lays the model out. Each step prints the loss of the whole global
batch on rank 0 (``--json`` prints them as one JSON list at the end). With ``--save`` the
model and optimizer state are saved (one shard file per process when sharded over several)
and loaded back into a fresh model, which must give the same next loss.
"""

from __future__ import annotations

import argparse
import json

import jax
import numpy as np

import varjax as vj
import varjax.distributed as dist
from varjax import nn
from varjax.distributed import Shard
from varjax.distributed.fsdp import fully_shard
from varjax.distributed.tensor import from_local
from varjax.distributed.tensor.parallel import ColwiseParallel, RowwiseParallel, parallelize_module
from varjax.nn import functional as F
from varjax.utils.data import DataLoader, DistributedSampler, TensorDataset

SAMPLES, FEATURES, CLASSES, HIDDEN = 512, 16, 4, 64


def dataset() -> TensorDataset:
    """Four Gaussian blobs in 16 dimensions: the same on every process (seeded)."""
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((CLASSES, FEATURES)) * 2
    labels = rng.integers(0, CLASSES, SAMPLES)
    points = centers[labels] + rng.standard_normal((SAMPLES, FEATURES))
    return TensorDataset(vj.tensor(points.astype(np.float32)), vj.tensor(labels))


def model() -> nn.Module:
    vj.manual_seed(0)  # the same weights on every process
    return nn.Sequential(nn.Linear(FEATURES, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, CLASSES))


def lay_out(net: nn.Module, strategy: str, mesh: dist.DeviceMesh) -> nn.Module:
    """``net`` laid out over ``mesh`` by one call; what the training loop calls."""
    if strategy == "ddp":
        return nn.parallel.DistributedDataParallel(net, device_mesh=mesh)
    if strategy == "fsdp":
        return fully_shard(net, mesh=mesh)
    return parallelize_module(net, mesh, {"0": ColwiseParallel(), "2": RowwiseParallel()})


def main(argv: list[str] | None = None) -> list[float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategy", choices=["ddp", "fsdp", "tp"], default="ddp")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32, help="the global batch")
    parser.add_argument("--jit", action="store_true", help="compile each step (varjax.jit)")
    parser.add_argument("--save", help="save a checkpoint here, load it back, check it")
    parser.add_argument("--json", action="store_true", help="print the losses as JSON")
    args = parser.parse_args(argv)

    dist.init_process_group()
    rank, world = dist.get_rank(), dist.get_world_size()
    mesh = dist.init_device_mesh(jax.devices()[0].platform, (len(jax.devices()),),
                                 mesh_dim_names=("dp",))  # fmt: skip
    net = lay_out(model(), args.strategy, mesh)
    opt = vj.optim.Adam(net.parameters(), lr=0.01)  # after the layout: its state follows it

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        return loss

    step = vj.jit(step) if args.jit else step
    data = dataset()
    # each process loads its share; the global batch is the shares side by side
    sampler = DistributedSampler(data, world, rank, shuffle=True, seed=0)
    loader = DataLoader(data, batch_size=args.batch_size // world, sampler=sampler,
                        drop_last=True)  # fmt: skip
    losses: list[float] = []
    epoch = 0
    while len(losses) < args.steps:
        sampler.set_epoch(epoch)
        for x, y in loader:
            # DDP and FSDP take each process's share of the batch as PyTorch's do; the labels
            # meet the model's output, the whole batch's, so they are made global too (with
            # one process, from_local is distribute_tensor); TP takes the batch whole, and so
            # does a step compiled by varjax.jit with several processes (it traces the batch)
            if args.strategy == "tp" or (args.jit and world > 1):
                x = from_local(x, mesh, [Shard(0)])
            y = from_local(y, mesh, [Shard(0)])
            losses.append(step(x, y).item())
            if rank == 0 and not args.json:
                print(f"step {len(losses):3d}  loss {losses[-1]:.5f}")
            if len(losses) == args.steps:
                break
        epoch += 1
    if args.save:
        check_checkpoint(args, net, opt, mesh, x, y)
    if rank == 0 and args.json:
        print(json.dumps(losses))
    dist.barrier()
    dist.destroy_process_group()
    return losses


def check_checkpoint(args, net, opt, mesh, x, y) -> None:
    """Save, load into a fresh model and optimizer laid out the same way, compare a step."""
    vj.save({"model": net.state_dict(), "optim": opt.state_dict()}, args.save)
    state = vj.load(args.save)
    fresh = lay_out(model(), args.strategy, mesh)
    fresh_opt = vj.optim.Adam(fresh.parameters(), lr=0.01)
    fresh.load_state_dict(state["model"])
    fresh_opt.load_state_dict(state["optim"])
    losses = []
    for m, o in ((net, opt), (fresh, fresh_opt)):
        o.zero_grad()
        loss = F.cross_entropy(m(x), y)
        loss.backward()
        o.step()
        losses.append(loss.item())
    assert abs(losses[0] - losses[1]) < 1e-6, losses
    if dist.get_rank() == 0 and not args.json:
        print(f"checkpoint {args.save}: reloaded, next loss {losses[1]:.5f} (same)")


if __name__ == "__main__":
    main()
