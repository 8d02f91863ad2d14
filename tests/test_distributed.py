"""Scale-out on 8 simulated CPU devices: meshes, placements, sharded training against
hand-written JAX on one device, and sharding in the compile signature. The checks run in
one subprocess (``--xla_force_host_platform_device_count=8`` must be set before JAX
starts); the single-device API is checked here in-process."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

import varjax as vj
from varjax.distributed import DeviceMesh, Replicate, Shard, distribute_tensor, init_device_mesh

_SCRIPT = textwrap.dedent(
    """
    import logging
    import jax, jax.numpy as jnp, numpy as np
    import varjax as vj
    import varjax.nn.functional as F
    from varjax.distributed import Replicate, Shard, distribute_tensor, init_device_mesh

    assert len(jax.devices()) == 8
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 6)).astype(np.float32)
    Y = rng.standard_normal((16, 3)).astype(np.float32)
    W1 = rng.standard_normal((8, 6)).astype(np.float32) * 0.3
    W2 = rng.standard_normal((3, 8)).astype(np.float32) * 0.3

    def jax_loss(p, x, y):  # the oracle: plain jax.numpy on one device
        h = jax.nn.relu(x @ p[0].T + p[1])
        return jnp.mean((h @ p[2].T + p[3] - y) ** 2)

    p = [jnp.asarray(W1), jnp.zeros(8), jnp.asarray(W2), jnp.zeros(3)]
    oracle = []
    for _ in range(5):
        loss, g = jax.value_and_grad(jax_loss)(p, X, Y)
        oracle.append(float(loss))
        p = [a - 0.1 * b for a, b in zip(p, g)]

    def model():
        net = vj.nn.Sequential(vj.nn.Linear(6, 8), vj.nn.ReLU(), vj.nn.Linear(8, 3))
        with vj.no_grad():
            net[0].weight.copy_(vj.tensor(W1)); net[0].bias.zero_()
            net[2].weight.copy_(vj.tensor(W2)); net[2].bias.zero_()
        return net

    def train(net, place, jit):
        opt = vj.optim.SGD(net.parameters(), lr=0.1)
        def step(x, y):
            opt.zero_grad()
            loss = F.mse_loss(net(x), y)
            loss.backward()
            opt.step()
            return loss
        step = vj.jit(step) if jit else step
        return [step(*place(vj.tensor(X), vj.tensor(Y))).item() for _ in range(5)]

    def close(v, want):
        np.testing.assert_allclose(v.detach().numpy(), np.asarray(want), rtol=1e-4, atol=1e-6)

    mesh = init_device_mesh("cpu", (8,), mesh_dim_names=("dp",))
    data = lambda x, y: (distribute_tensor(x, mesh, [Shard(0)]),
                         distribute_tensor(y, mesh, [Shard(0)]))
    for jit in (False, True):
        net = model()
        for q in net.parameters():  # replicated parameters: gradients are all-reduced by XLA
            q.data = distribute_tensor(q.detach(), mesh, [Replicate()])
        losses = train(net, data, jit)
        np.testing.assert_allclose(losses, oracle, rtol=1e-5, atol=1e-6)
        close(net[2].weight, p[2])
        w = net[0].weight
        assert len(w.sharding.device_set) == 8 and w.sharding.is_fully_replicated, w.sharding
        assert w.grad.sharding.is_fully_replicated
    print("data parallel: ok")

    # a 2-D mesh: the batch over "dp", the first layer's outputs (weight rows) over "tp"
    mesh2 = init_device_mesh("cpu", (2, 4), mesh_dim_names=("dp", "tp"))
    assert mesh2["tp"].shape == (4,) and mesh2.size() == 8 and mesh2.size("dp") == 2
    net = model()
    net[0].weight.data = distribute_tensor(net[0].weight.detach(), mesh2, [Replicate(), Shard(0)])
    net[0].bias.data = distribute_tensor(net[0].bias.detach(), mesh2, [Replicate(), Shard(0)])
    assert net[0].weight.sharding.spec == jax.sharding.PartitionSpec("tp")
    batch = lambda x, y: (distribute_tensor(x, mesh2["dp"], [Shard(0)]), y)
    losses = train(net, batch, False)
    np.testing.assert_allclose(losses, oracle, rtol=1e-5, atol=1e-6)
    assert net[0].weight.grad.sharding.spec == jax.sharding.PartitionSpec("tp")
    close(net[0].weight, p[0])
    print("2-d mesh: ok")

    # redistribute: autograd follows the move, the gradient comes back laid out as it was
    x = distribute_tensor(vj.tensor(X, requires_grad=True), mesh, [Shard(0)])
    y = (x * 3).redistribute(placements=[Replicate()])
    assert y.grad_fn.name() == "RedistributeBackward" and y.sharding.is_fully_replicated
    (y ** 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 18 * X, rtol=1e-6)
    assert x.grad.sharding.spec == jax.sharding.PartitionSpec("dp")
    print("redistribute: ok")

    # inside varjax.jit: distribute_tensor of a traced input and redistribute, against jax.grad
    w = vj.tensor(W2, requires_grad=True)
    @vj.jit
    def traced(x):
        xs = distribute_tensor(x, mesh, [Shard(0)])
        loss = ((xs @ w[:, :6].T).redistribute(mesh, [Replicate()]) ** 2).mean()
        loss.backward()
        return loss
    want = jax.value_and_grad(lambda v: jnp.mean((X @ v[:, :6].T) ** 2))(jnp.asarray(W2))
    for _ in range(2):
        w.grad = None
        np.testing.assert_allclose(traced(vj.tensor(X)).item(), float(want[0]), rtol=1e-5)
        close(w.grad, want[1])
    print("inside varjax.jit: ok")

    # a new sharding of the same program compiles anew: counted, and explained
    vj.config.explain_recompiles = True
    said = []
    handler = logging.Handler(); handler.emit = lambda r: said.append(r.getMessage())
    logging.getLogger("varjax.recompile").addHandler(handler)
    def f(a):
        return (a * 2).sum().item()
    a = vj.tensor(X)
    f(a)
    before = vj.compile_stats().compiles
    f(a)
    assert vj.compile_stats().compiles == before
    f(distribute_tensor(a, mesh, [Shard(0)]))
    assert vj.compile_stats().compiles == before + 1
    assert "sharded P('dp',) over 8 devices where that one was on cpu" in said[-1], said
    f(distribute_tensor(a, mesh, [Shard(0)]))  # the same layout again: no compile
    f(distribute_tensor(a, mesh, [Replicate()]))
    assert vj.compile_stats().compiles == before + 2
    assert "replicated over 8 devices where that one was sharded" in said[-1], said[-1]
    g = vj.jit(lambda a: a * 2)
    g(a); n = vj.compile_stats().compiles
    g(distribute_tensor(a, mesh, [Shard(0)]))
    assert vj.compile_stats().compiles == n + 1 and "over 8 devices" in said[-1], said[-1]
    print("signatures: ok")

    # placements that cannot be laid out
    for bad, err in ([[Shard(0), Shard(1)], ValueError], [[Shard(2)], IndexError]):
        try:
            distribute_tensor(a, mesh, bad)
        except err as e:
            print(type(e).__name__, e)
        else:
            raise AssertionError(bad)
    try:
        distribute_tensor(vj.ones(10, 2), mesh, [Shard(0)])
    except ValueError as e:
        assert "size 10" in str(e) and "multiple of 8" in str(e), e
    try:
        init_device_mesh("cpu", (16,))
    except RuntimeError as e:
        assert "needs 16" in str(e), e
    print("ok")
    """
)


def test_on_eight_devices(tmp_path):
    script = tmp_path / "sharded.py"
    script.write_text(_SCRIPT)
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8",
               JAX_PLATFORMS="cpu")  # fmt: skip
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), (
        done.stdout[-2000:] + done.stderr[-4000:]
    )


def test_one_device_mesh_and_errors():
    mesh = init_device_mesh("cpu", (1,), mesh_dim_names=("dp",))
    assert isinstance(mesh, DeviceMesh) and mesh["dp"].mesh_dim_names == ("dp",)
    with pytest.raises(KeyError, match="tp"):
        mesh["tp"]
    w = vj.ones(3, requires_grad=True)
    d = distribute_tensor(w, mesh, [Shard(0)])
    assert d.is_leaf and d.requires_grad and d is not w
    with pytest.raises(RuntimeError, match="leaf tensors"):
        distribute_tensor(w * 2, mesh)
    with pytest.raises(ValueError, match="same length"):
        distribute_tensor(w, mesh, [Shard(0), Replicate()])
    with pytest.raises(ValueError, match="not on a mesh"):
        vj.ones(2).redistribute(placements=[Replicate()])
    assert Shard(1) == Shard(1) and Shard(1) != Shard(0) and Replicate().is_replicate()
    assert repr(Shard(0)) == "Shard(dim=0)" and Shard(0).is_shard(0) and not Shard(0).is_shard(1)


def test_process_group_in_one_process():
    dist = vj.distributed
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="has not been initialized"):
        dist.get_rank()
    with pytest.raises(ValueError, match="rank 3 is not in"):
        dist.init_process_group(world_size=2, rank=3)
    with pytest.raises(ValueError, match="MASTER_ADDR"):
        os.environ.pop("MASTER_ADDR", None)
        dist.init_process_group(world_size=2, rank=0)
    dist.init_process_group("gloo", world_size=1, rank=0)
    try:
        assert dist.is_initialized() and (dist.get_rank(), dist.get_world_size()) == (0, 1)
        with pytest.raises(RuntimeError, match="twice"):
            dist.init_process_group()
        sampler = vj.utils.data.DistributedSampler(range(10))  # the group's rank and size
        assert (sampler.num_replicas, sampler.rank, len(sampler)) == (1, 0, 10)
    finally:
        dist.destroy_process_group()
    assert not dist.is_initialized()


@pytest.mark.parametrize("n, replicas, drop_last", [(10, 3, False), (10, 3, True), (2, 5, False),
                                                    (12, 4, False), (7, 2, True)])  # fmt: skip
def test_distributed_sampler_against_pytorch(n, replicas, drop_last):
    torch = pytest.importorskip("torch")
    from torch.utils.data.distributed import DistributedSampler as TorchSampler

    from varjax.utils.data import DistributedSampler

    shares = []
    for rank in range(replicas):
        mine = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = TorchSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(mine) == list(theirs) and len(mine) == len(theirs)
        shuffled = DistributedSampler(range(n), replicas, rank, seed=3, drop_last=drop_last)
        shuffled_t = TorchSampler(range(n), replicas, rank, seed=3, drop_last=drop_last)
        assert len(shuffled) == len(shuffled_t) == len(list(shuffled))
        shares.append(list(shuffled))
    # the shuffled shares partition one permutation (padded by its start), as PyTorch's do
    together = sorted(i for share in shares for i in share)
    if drop_last:
        assert len(set(together)) == len(together) == replicas * len(shares[0])
    else:
        assert set(together) == set(range(n))
    again = DistributedSampler(range(n), replicas, 0, seed=3, drop_last=drop_last)
    assert list(again) == shares[0]  # the same seed and epoch: the same order on every process
    again.set_epoch(1)
    if n > 5:
        assert list(again) != shares[0]
    with pytest.raises(ValueError, match=f"Invalid rank {replicas}"):
        DistributedSampler(range(n), replicas, replicas)
    with pytest.raises(ValueError, match="Invalid rank"):
        TorchSampler(range(n), replicas, 5 + replicas)
    assert torch is not None


_TWO = textwrap.dedent(
    """
    import json
    import jax
    import varjax.distributed as dist
    from varjax.utils.data import DistributedSampler

    dist.init_process_group()  # from torchrun's variables: RANK, WORLD_SIZE, MASTER_*
    share = list(DistributedSampler(range(7), shuffle=True, seed=1))
    print(json.dumps([dist.get_rank(), dist.get_world_size(), len(jax.devices()), share]))
    dist.destroy_process_group()
    """
)


def test_two_processes_on_loopback(tmp_path):
    import socket

    script = tmp_path / "two.py"
    script.write_text(_TWO)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs = []
    for rank in (0, 1):
        env = dict(os.environ, WORLD_SIZE="2", RANK=str(rank), MASTER_ADDR="127.0.0.1",
                   MASTER_PORT=str(port), JAX_PLATFORMS="cpu")  # fmt: skip
        env.pop("XLA_FLAGS", None)
        procs.append(subprocess.Popen([sys.executable, str(script)], env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))  # fmt: skip
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err[-3000:]
    lines = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
    assert [line[:3] for line in lines] == [[0, 2, 2], [1, 2, 2]]  # one JAX runtime, 2 devices
    together = sorted(lines[0][3] + lines[1][3])  # the two shares: one permutation, padded
    assert len(lines[0][3]) == len(lines[1][3]) == 4 and set(together) == set(range(7))


def test_each_local_process_gets_its_own_accelerator(monkeypatch):
    """Several processes per host (LOCAL_WORLD_SIZE > 1): each drives the GPU of its
    LOCAL_RANK, as torchrun scripts expect, unless the devices are chosen already."""
    from varjax.distributed._group import _local_devices

    for k in ("CUDA_VISIBLE_DEVICES", "JAX_LOCAL_DEVICE_IDS", "LOCAL_RANK", "LOCAL_WORLD_SIZE"):
        monkeypatch.delenv(k, raising=False)
    assert _local_devices(None) is None  # one process per host: every local device
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert _local_devices(None) == [3]
    assert _local_devices(vj.device("cuda", 1)) == [1]  # PyTorch's device_id argument wins
    assert _local_devices(2) == [2]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5")
    assert _local_devices(None) is None
