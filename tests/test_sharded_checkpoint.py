"""Checkpoints of sharded state: ``varjax.save`` / ``varjax.load`` of a model and its Adam
state laid out over 8 simulated devices, loaded onto another mesh shape and onto one device
(layouts kept, values and the next step checked against NumPy); and a sharded checkpoint
written by two processes on loopback, one file each, read back in this process."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import safetensors
import safetensors.numpy

import varjax as vj

_EIGHT = textwrap.dedent(
    """
    import json, os, sys
    import jax, jax.numpy as jnp, numpy as np
    import safetensors
    import varjax as vj
    import varjax.nn.functional as F
    from varjax.distributed import Replicate, Shard, distribute_tensor, init_device_mesh

    assert len(jax.devices()) == 8
    path = sys.argv[1]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 8)).astype(np.float32)
    Y = rng.standard_normal((8, 8)).astype(np.float32)
    SHAPES = [(16, 8), (16,), (8, 16), (8,)]  # every first dimension divisible by 8
    INIT = [rng.standard_normal(s).astype(np.float32) * 0.3 for s in SHAPES]

    def mlp(mesh=None, placements=None):
        net = vj.nn.Sequential(vj.nn.Linear(8, 16), vj.nn.ReLU(), vj.nn.Linear(16, 8))
        for q, v in zip(net.parameters(), INIT):
            q.data = vj.tensor(v)
            if mesh is not None:
                q.data = distribute_tensor(q.detach(), mesh, placements)
        return net, vj.optim.Adam(net.parameters(), lr=0.01)

    def step(net, opt):
        opt.zero_grad()
        loss = F.mse_loss(net(vj.tensor(X)), vj.tensor(Y))
        loss.backward()
        opt.step()
        return loss.item()

    def numpy_state(opt):
        saved = opt.state_dict()["state"]
        return {i: {k: np.asarray(v) for k, v in s.items()} for i, s in saved.items()}

    mesh8 = init_device_mesh("cpu", (8,), mesh_dim_names=("dp",))
    net, opt = mlp(mesh8, [Shard(0)])
    for _ in range(2):
        step(net, opt)
    assert all(q.sharding.spec == jax.sharding.PartitionSpec("dp") for q in net.parameters())
    assert opt.state_dict()["state"][0]["exp_avg"].sharding.spec == jax.sharding.PartitionSpec("dp")
    params = [q.detach().numpy() for q in net.parameters()]
    state = numpy_state(opt)
    vj.save({"model": net.state_dict(), "optim": opt.state_dict()}, path)
    # one process holds every shard: the plain one-file format, no shard files
    assert os.listdir(os.path.dirname(path)) == [os.path.basename(path)]
    with safetensors.safe_open(path, "np") as f:
        assert json.loads(f.metadata()["varjax"])["version"] == 1 and "model.0.weight" in f.keys()

    mesh24 = init_device_mesh("cpu", (2, 4), mesh_dim_names=("dp", "tp"))
    two, opt2 = mlp(mesh24, [Replicate(), Shard(0)])
    one, opt1 = mlp()
    step(two, opt2)  # a state of its own, to be overwritten
    layouts = [q.sharding for q in two.parameters()]
    for model, optim in ((two, opt2), (one, opt1)):
        ck = vj.load(path)
        model.load_state_dict(ck["model"])
        optim.load_state_dict(ck["optim"])
        for q, want in zip(model.parameters(), params):
            np.testing.assert_array_equal(q.detach().numpy(), want)
        got = numpy_state(optim)
        assert got.keys() == state.keys()
        for i in state:
            assert got[i].keys() == state[i].keys()
            for k in state[i]:
                np.testing.assert_array_equal(got[i][k], state[i][k])
    assert [q.sharding for q in two.parameters()] == layouts  # the destination keeps its layout
    for q, s in zip(two.parameters(), opt2.state_dict()["state"].values()):
        assert s["exp_avg"].sharding == s["exp_avg_sq"].sharding == q.sharding, s
    assert all(len(q.sharding.device_set) == 1 for q in one.parameters())

    # the oracle for the next step: the loss and Adam's update in plain jax.numpy / NumPy
    def loss_fn(p):
        h = jax.nn.relu(X @ p[0].T + p[1])
        return jnp.mean((h @ p[2].T + p[3] - Y) ** 2)
    want_loss, grads = jax.value_and_grad(loss_fn)([jnp.asarray(p) for p in params])
    after = []
    for i, (p, g) in enumerate(zip(params, grads)):
        g, t = np.asarray(g), float(state[i]["step"]) + 1
        m = 0.9 * state[i]["exp_avg"] + 0.1 * g
        v = 0.999 * state[i]["exp_avg_sq"] + 0.001 * g * g
        after.append(p - 0.01 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8))
    losses = [step(model, optim) for model, optim in ((net, opt), (two, opt2), (one, opt1))]
    np.testing.assert_allclose(losses, [float(want_loss)] * 3, rtol=1e-5)
    for model in (net, two, one):
        for q, want in zip(model.parameters(), after):
            np.testing.assert_allclose(q.detach().numpy(), want, rtol=1e-4, atol=1e-6)
    assert [q.sharding for q in two.parameters()] == layouts
    print(json.dumps(losses))
    print("ok")
    """
)


def test_sharded_model_and_adam_on_other_meshes(tmp_path):
    script = tmp_path / "eight.py"
    script.write_text(_EIGHT)
    (tmp_path / "ck").mkdir()
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8",
               JAX_PLATFORMS="cpu")  # fmt: skip
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "ck" / "mlp.safetensors")],
                          env=env, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), (
        done.stdout[-2000:] + done.stderr[-4000:]
    )


_TWO = textwrap.dedent(
    """
    import io, json, sys
    import jax, numpy as np
    import varjax as vj
    import varjax.distributed as dist
    from varjax.distributed import Replicate, Shard, distribute_tensor, init_device_mesh

    dist.init_process_group()  # RANK, WORLD_SIZE, MASTER_*: one CPU device per process
    rank, path = dist.get_rank(), sys.argv[1]
    assert len(jax.devices()) == 2 and len(jax.local_devices()) == 1
    mesh = init_device_mesh("cpu", (2,), mesh_dim_names=("dp",))
    W = np.arange(12, dtype=np.float32).reshape(4, 3) / 4
    B = np.array([0.5, -1.0, 2.0, 3.0], np.float32)

    def linear(weight, bias):
        net = vj.nn.Linear(3, 4)
        net.weight.data = distribute_tensor(net.weight.detach(), mesh, [weight])
        net.bias.data = distribute_tensor(net.bias.detach(), mesh, [bias])
        return net

    def local(v):  # this process's slices: (index, values)
        return [(s.index, np.asarray(s.data)) for s in v._value().addressable_shards]

    net = linear(Shard(0), Replicate())
    net.load_state_dict({"weight": vj.tensor(W), "bias": vj.tensor(B)})
    assert not net.weight._value().is_fully_addressable
    [(index, part)] = local(net.weight)
    np.testing.assert_array_equal(part, W[index])
    copies = distribute_tensor(vj.tensor(B), mesh, [Replicate()])  # a host value onto both
    [(index, part)] = local(copies)
    np.testing.assert_array_equal(part, B)
    state = {"model": net.state_dict(), "scaled": net.weight.detach() * 2 + 1, "step": 3,
             "copies": copies,
             "whole": vj.tensor([10.0 + rank])}  # whole on each process: process 0's is kept
    try:
        vj.save(state, io.BytesIO())
    except ValueError as e:
        assert "pass a path" in str(e), e
    else:
        raise AssertionError("a file object took a sharded save")
    vj.save(state, path)
    back = vj.load(path)  # every process reads every file
    np.testing.assert_array_equal(back["scaled"].numpy(), W * 2 + 1)
    other = linear(Replicate(), Shard(0))  # another layout: load_state_dict keeps it
    other.load_state_dict(back["model"])
    assert other.weight.sharding.spec == jax.sharding.PartitionSpec()
    assert other.bias.sharding.spec == jax.sharding.PartitionSpec("dp")
    for index, part in local(other.bias):
        np.testing.assert_array_equal(part, B[index])
    print(json.dumps([rank, "ok"]))
    dist.destroy_process_group()
    """
)


W = np.arange(12, dtype=np.float32).reshape(4, 3) / 4  # what _TWO saves, computed anew here
B = np.array([0.5, -1.0, 2.0, 3.0], np.float32)


def _run_two(script, path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs = []
    for rank in (0, 1):
        env = dict(os.environ, WORLD_SIZE="2", RANK=str(rank), MASTER_ADDR="127.0.0.1",
                   MASTER_PORT=str(port), JAX_PLATFORMS="cpu")  # fmt: skip
        env.pop("XLA_FLAGS", None)
        procs.append(subprocess.Popen([sys.executable, str(script), str(path)], env=env,
                                      text=True, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE))  # fmt: skip
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, out[-1000:] + err[-3000:]
    return [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]


def test_two_processes_write_one_file_each(tmp_path):
    script = tmp_path / "two.py"
    script.write_text(_TWO)
    (tmp_path / "ck").mkdir()
    path = tmp_path / "ck" / "linear.safetensors"
    assert _run_two(script, path) == [[0, "ok"], [1, "ok"]]
    shard0, shard1 = (f"linear.safetensors.0000{r}-of-00002" for r in (0, 1))
    assert sorted(os.listdir(path.parent)) == ["linear.safetensors", shard0, shard1]

    back = vj.load(path)  # one process, no process group
    assert list(back) == ["model", "scaled", "step", "copies", "whole"] and list(back["model"]) == [
        "weight", "bias"]  # fmt: skip
    np.testing.assert_array_equal(back["model"]["weight"].numpy(), W)
    np.testing.assert_array_equal(back["model"]["bias"].numpy(), B)
    np.testing.assert_array_equal(back["scaled"].numpy(), W * 2 + 1)
    np.testing.assert_array_equal(back["whole"].numpy(), [10.0])
    np.testing.assert_array_equal(back["copies"].numpy(), B)
    assert back["step"] == 3 and not back["scaled"].requires_grad
    net = vj.nn.Linear(3, 4)
    net.load_state_dict(back["model"])
    np.testing.assert_array_equal(net.weight.detach().numpy(), W)

    # each file holds its process's slices once: the replicated bias only in process 0's
    with safetensors.safe_open(str(path.parent / shard0), "np") as f:
        assert sorted(f.keys()) == ["copies@0", "model.bias@0", "model.weight@0,0", "scaled@0,0"]
        np.testing.assert_array_equal(f.get_tensor("model.weight@0,0"), W[:2])
    with safetensors.safe_open(str(path.parent / shard1), "np") as f:
        assert sorted(f.keys()) == ["model.weight@2,0", "scaled@2,0"]
        np.testing.assert_array_equal(f.get_tensor("scaled@2,0"), W[2:] * 2 + 1)
    with safetensors.safe_open(str(path), "np") as f:
        doc = json.loads(f.metadata()["varjax"])
        assert list(f.keys()) == ["whole"]
    entry = doc["shards"]["tensors"]["model.weight"]
    assert entry == {"shape": [4, 3], "dtype": "float32",
                     "slices": [[0, [0, 0], [2, 3]], [1, [2, 0], [4, 3]]]}  # fmt: skip
    assert doc["shards"]["files"] == [shard0, shard1]

    # a shard file of another save, then a missing one: the file is named, with a remedy
    moved = path.parent / "elsewhere"
    os.replace(path.parent / shard1, moved)
    safetensors.numpy.save_file({"model.weight@2,0": W[2:]}, str(path.parent / shard1),
                                metadata={"varjax_shard": json.dumps({"token": "0"})})  # fmt: skip
    with pytest.raises(RuntimeError, match="belongs to another save"):
        vj.load(path)
    os.unlink(path.parent / shard1)
    with pytest.raises(FileNotFoundError, match=rf"{shard1}.*is missing.*copy them"):
        vj.load(path)
