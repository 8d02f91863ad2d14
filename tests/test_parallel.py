"""Data, fully-sharded and tensor parallel training on 8 simulated CPU devices: each strategy
(DDP, FSDP, TP, and DP x TP and FSDP x TP on a 2-D mesh), imperative and under
``varjax.jit``, gives the single-device losses and parameters over 20 steps, for an MLP
(against hand-written JAX and optax) and for the GPT of ``examples/models.py`` (whose
single-device run is checked against PyTorch, when it is installed). Nothing compiles after
the third step (the second meets the optimizer's state, the third the gradients' layout);
a batch whose layout changes compiles programs of its own, counted. The checks run in one subprocess
(``--xla_force_host_platform_device_count=8`` must be set before JAX starts); the
single-device API and its errors are checked here in-process."""

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

import varjax as vj
from varjax.distributed import init_device_mesh
from varjax.distributed import tensor as vj_tensor
from varjax.distributed.fsdp import FSDPModule, fully_shard
from varjax.distributed.tensor import parallel as vj_parallel
from varjax.distributed.tensor.parallel import (
    ColwiseParallel,
    RowwiseParallel,
    parallelize_module,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import jax, jax.numpy as jnp, numpy as np, optax
    import varjax as vj
    import varjax.nn.functional as F
    from varjax.distributed import Replicate, distribute_tensor, init_device_mesh
    from varjax.distributed.fsdp import fully_shard
    from varjax.distributed.tensor.parallel import (
        ColwiseParallel, RowwiseParallel, parallelize_module)
    sys.path.insert(0, sys.argv[1])
    import models

    assert len(jax.devices()) == 8
    vj.config.max_recompiles = 10_000  # many strategies compile the same lines: expected
    STEPS = 20
    M1 = init_device_mesh("cpu", (8,), mesh_dim_names=("dp",))
    M2 = init_device_mesh("cpu", (2, 4), mesh_dim_names=("dp", "tp"))
    DDP = vj.nn.parallel.DistributedDataParallel

    def strategies(plan, blocks):
        def fsdp(net, mesh):
            for b in blocks(net):
                fully_shard(b, mesh=mesh)
            return fully_shard(net, mesh=mesh)
        return {
            "1 device": lambda net: net,
            "DDP": lambda net: DDP(net, device_mesh=M1),
            "FSDP": lambda net: fsdp(net, M1),
            "TP": lambda net: parallelize_module(net, M1, plan),
            "DP x TP": lambda net: DDP(parallelize_module(net, M2["tp"], plan),
                                       device_mesh=M2["dp"]),
            "FSDP x TP": lambda net: fsdp(parallelize_module(net, M2["tp"], plan), M2["dp"]),
        }

    def _no_key_bias(name, v):
        # the keys' bias has no gradient (softmax ignores what it adds to every key), so Adam
        # steps on its round-off, differently for each summation order: left out
        if name.endswith("attn.qkv.bias"):
            v = v.copy()
            v[len(v) // 3 : 2 * len(v) // 3] = 0
        return v

    def run(build, wrap, jit, batch, relayout=None):
        model, opt, sched, loss_of = build()
        wrapped = wrap(model)
        def step(x, y):
            opt.zero_grad()
            loss = loss_of(wrapped, x, y)
            loss.backward()
            vj.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            return loss
        step = vj.jit(step) if jit else step
        losses, compiles = [], []
        before = vj.compile_stats().compiles
        for i in range(STEPS):
            x, y = batch(i)
            if relayout is not None and i % 2:
                x, y = relayout(x), relayout(y)
            losses.append(step(x, y).item())
            if sched is not None:
                sched.step()
            compiles.append(vj.compile_stats().compiles)
        params = {k: np.asarray(v) for k, v in model.state_dict().items()}
        layouts = {k: str(v.sharding.spec) if hasattr(v.sharding, "spec") else "one device"
                   for k, v in model.state_dict(keep_vars=True).items()}
        # the optimizer's state follows its parameter's layout (made before the layout call)
        follows = all(s.sharding == q.sharding for q in model.parameters()
                      for s in opt.state[q].values() if tuple(s.shape) == tuple(q.shape))
        # the first steps compile: the second fuses the optimizer's update into the backward,
        # and a sharded imperative step settles its gradients' layout at the third
        return losses, params, (compiles[-1] - before, compiles[-1] - compiles[2]), (layouts,
                                                                                   follows)

    # -- the MLP, against hand-written JAX and optax on one device -------------------------
    rng = np.random.default_rng(0)
    W = {"0.weight": rng.standard_normal((16, 8)) * 0.3, "0.bias": rng.standard_normal(16) * 0.1,
         "2.weight": rng.standard_normal((8, 16)) * 0.3, "2.bias": np.zeros(8)}
    W = {k: v.astype(np.float32) for k, v in W.items()}
    def mlp_batch(i):
        r = np.random.default_rng(100 + i)
        return (vj.tensor(r.standard_normal((16, 8)).astype(np.float32)),
                vj.tensor(r.integers(0, 8, 16)))
    def jax_loss(p, x, y):
        h = jax.nn.relu(x @ p["0.weight"].T + p["0.bias"])
        logits = h @ p["2.weight"].T + p["2.bias"]
        return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(len(y)), y])
    tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(0.01))
    p = {k: jnp.asarray(v) for k, v in W.items()}
    s, oracle = tx.init(p), []
    for i in range(STEPS):
        x, y = (np.asarray(a) for a in mlp_batch(i))
        loss, g = jax.value_and_grad(jax_loss)(p, x, y)
        u, s = tx.update(g, s, p)
        p, _ = optax.apply_updates(p, u), oracle.append(float(loss))
    mlp_oracle = {k: np.asarray(v) for k, v in p.items()}

    def mlp():
        net = vj.nn.Sequential(vj.nn.Linear(8, 16), vj.nn.ReLU(), vj.nn.Linear(16, 8))
        net.load_state_dict({k: vj.tensor(v) for k, v in W.items()})
        opt = vj.optim.Adam(net.parameters(), lr=0.01)
        return net, opt, None, lambda m, x, y: F.cross_entropy(m(x), y)

    # -- the GPT of examples/models.py ------------------------------------------------------
    vj.manual_seed(0)
    G = {k: np.asarray(v) for k, v in models.gpt(vj, STEPS, layers=1)[0].state_dict().items()}
    def gpt_batch(i):
        data = vj.tensor(models._tokens(i, 8))
        return data[:, :-1], data[:, 1:]
    def gpt():
        model, opt, sched, _, _ = models.gpt(vj, STEPS, layers=1)
        model.load_state_dict({k: vj.tensor(v) for k, v in G.items()})
        loss = lambda m, x, y: F.cross_entropy(m(x).reshape(-1, models.VOCAB), y.reshape(-1))
        return model, opt, sched, loss
    gpt_plan = {"tok": RowwiseParallel(), "pos": RowwiseParallel(),
                "blocks.*.attn.qkv": ColwiseParallel(), "blocks.*.attn.proj": RowwiseParallel(),
                "blocks.*.mlp.0": ColwiseParallel(), "blocks.*.mlp.2": RowwiseParallel(),
                "head": ColwiseParallel()}
    mlp_plan = {"0": ColwiseParallel(), "2": RowwiseParallel()}

    out = {"mlp_oracle": {"losses": oracle,
                          "params": {k: v.tolist() for k, v in mlp_oracle.items()}}}
    cases = [("MLP", mlp, mlp_batch, strategies(mlp_plan, lambda n: [])),
             ("GPT", gpt, gpt_batch, strategies(gpt_plan, lambda n: list(n.blocks)))]
    for model_name, build, batch, plans in cases:
        ref = None
        for name, wrap in plans.items():
            for jit in (False, True):
                losses, params, compiles, (layouts, follows) = run(build, wrap, jit, batch)
                if ref is None:
                    ref = losses, {k: _no_key_bias(k, v) for k, v in params.items()}
                    out[model_name + " params"] = {k: v.tolist() for k, v in params.items()}
                # each tensor's distance from the 1-device one, relative to its size
                params = {k: _no_key_bias(k, v) for k, v in params.items()}
                rel = {k: float(np.linalg.norm(params[k] - ref[1][k]) /
                                max(np.linalg.norm(ref[1][k]), 1e-6)) for k in params}  # fmt: skip
                worst = max(rel, key=rel.get)
                dp = rel[worst]
                out[f"{model_name}|{name}|{'jit' if jit else 'imperative'}"] = {
                    "losses": losses, "param_diff": dp, "compiles": compiles[0],
                    "compiles_after_third": compiles[1], "worst": worst,
                    "state_follows": follows,
                    "layouts": layouts}
                print(model_name, name, jit, dp, worst, compiles, flush=True)

    # the same run again (counted for the note), then a batch laid out differently every
    # other step: the programs of its layout, all that the run compiles
    relaid = lambda v: distribute_tensor(v, M1, [Replicate()])
    for jit in (False, True):
        again = run(mlp, strategies(mlp_plan, lambda n: [])["DDP"], jit, mlp_batch)[2][0]
        out[f"again|{'jit' if jit else 'imperative'}"] = again
        losses, _, compiles, _ = run(mlp, strategies(mlp_plan, lambda n: [])["DDP"], jit,
                                     mlp_batch, relayout=relaid)
        out[f"relayout|{'jit' if jit else 'imperative'}"] = {
            "losses": losses, "compiles": compiles[0], "compiles_after_third": compiles[1]}
    print(json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def eight_devices(tmp_path_factory):
    script = tmp_path_factory.mktemp("parallel") / "strategies.py"
    script.write_text(_SCRIPT)
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8",
               JAX_PLATFORMS="cpu")  # fmt: skip
    done = subprocess.run([sys.executable, str(script), str(EXAMPLES)], env=env,
                          capture_output=True, text=True, timeout=1200)  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


STRATEGIES = ["1 device", "DDP", "FSDP", "TP", "DP x TP", "FSDP x TP"]


@pytest.mark.parametrize("model", ["MLP", "GPT"])
@pytest.mark.parametrize("mode", ["imperative", "jit"])
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_each_strategy_gives_the_single_device_numbers(eight_devices, model, mode, strategy):
    run = eight_devices[f"{model}|{strategy}|{mode}"]
    ref = eight_devices[f"{model}|1 device|imperative"]
    assert len(run["losses"]) == 20
    np.testing.assert_allclose(run["losses"], ref["losses"], rtol=2e-5, atol=2e-6)
    assert run["param_diff"] < 2e-5, run["param_diff"]
    assert run["compiles_after_third"] == 0  # one layout: nothing compiles after step 3
    assert run["state_follows"]  # Adam's moments laid out as their parameters
    layouts = run["layouts"]
    if model == "MLP" and strategy != "1 device":
        want = {"DDP": "P()", "FSDP": "P('dp',)", "TP": "P('dp',)", "DP x TP": "P('tp',)",
                "FSDP x TP": "P(('dp', 'tp'),)"}[strategy]  # fmt: skip
        assert layouts["0.weight"] == want, layouts


def test_the_single_device_runs_match_independent_oracles(eight_devices):
    oracle = eight_devices["mlp_oracle"]
    ours = eight_devices["MLP|1 device|imperative"]
    np.testing.assert_allclose(ours["losses"], oracle["losses"], rtol=2e-5, atol=2e-6)
    got = eight_devices["MLP params"]
    for k, v in oracle["params"].items():
        np.testing.assert_allclose(got[k], v, rtol=1e-4, atol=2e-6)
    torch = pytest.importorskip("torch")
    sys.path.insert(0, str(EXAMPLES))
    import models  # noqa: PLC0415 - the examples folder is not a package

    weights = {k: torch.tensor(np.asarray(v, np.float32))
               for k, v in eight_devices["GPT params"].items()}  # fmt: skip
    del weights  # the final weights; PyTorch starts from the first ones, made below
    vj.manual_seed(0)
    start = {k: np.asarray(v) for k, v in models.gpt(vj, 20, layers=1)[0].state_dict().items()}
    model, opt, sched, batch, _ = models.gpt(torch, 20, layers=1)
    model.load_state_dict({k: torch.tensor(v) for k, v in start.items()})
    theirs = []
    for i in range(20):
        x, y = batch(i)
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x).reshape(-1, models.VOCAB),
                                                 y.reshape(-1))  # fmt: skip
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        theirs.append(loss.item())
    ours = eight_devices["GPT|1 device|imperative"]["losses"]
    np.testing.assert_allclose(ours, theirs, rtol=2e-4, atol=2e-5)


def test_a_new_batch_layout_compiles_and_is_counted(eight_devices):
    for mode in ("imperative", "jit"):
        run = eight_devices[f"relayout|{mode}"]
        assert run["compiles"] > 0, run  # the replicated batch: programs of its own
        assert run["compiles_after_third"] == 0  # and, both layouts seen, nothing more
        np.testing.assert_allclose(run["losses"], eight_devices["MLP|1 device|imperative"]
                                   ["losses"], rtol=2e-5, atol=2e-6)  # fmt: skip


# -- one device, in this process: the API, and its errors -------------------------------------


def _mlp():
    return vj.nn.Sequential(vj.nn.Linear(3, 4), vj.nn.ReLU(), vj.nn.Linear(4, 2))


def test_ddp_wraps_and_keeps_pytorchs_state_dict_names():
    mesh = init_device_mesh("cpu", (1,), mesh_dim_names=("dp",))
    net = _mlp()
    ddp = vj.nn.parallel.DistributedDataParallel(net, device_mesh=mesh)
    assert ddp.module is net and list(ddp.state_dict())[0] == "module.0.weight"
    x = vj.ones(2, 3, requires_grad=True)
    ddp(x).sum().backward()
    assert x.grad is not None and net[0].weight.grad is not None  # autograd reaches the input
    with ddp.no_sync():
        ddp(x).sum().backward()
    with pytest.raises(ValueError, match="must be 1-D"):
        vj.nn.parallel.DistributedDataParallel(
            _mlp(), device_mesh=init_device_mesh("cpu", (1, 1), mesh_dim_names=("a", "b")))
    with pytest.raises(TypeError, match="expected a DeviceMesh"):
        vj.nn.parallel.DistributedDataParallel(_mlp(), device_mesh="dp")


def test_fully_shard_mixes_in_fsdp_module():
    mesh = init_device_mesh("cpu", (1,), mesh_dim_names=("dp",))
    net = _mlp()
    fully_shard(net[0], mesh=mesh)
    fully_shard(net, mesh=mesh)
    assert isinstance(net, FSDPModule) and isinstance(net, vj.nn.Sequential)
    assert type(net[0]).__name__ == "FSDPLinear" and isinstance(net[0], FSDPModule)
    assert net[2].weight.sharding.spec == P("dp")
    net.reshard(), net.unshard()
    assert net(vj.ones(2, 3)).shape == (2, 2)
    with pytest.raises(ValueError, match="1-D .FSDP. or 2-D"):
        fully_shard(_mlp(), mesh=init_device_mesh("cpu", (1, 1, 1)))


@pytest.mark.parametrize("style", ["ColwiseParallel", "RowwiseParallel"])
@pytest.mark.parametrize("kwargs", [{}, {"output_layouts": "Replicate", "use_local_output": False}])
def test_parallel_styles_keep_and_print_pytorchs_layouts(style, kwargs):
    torch_parallel = pytest.importorskip("torch.distributed.tensor.parallel")
    torch_tensor = pytest.importorskip("torch.distributed.tensor")

    def made(parallel, tensor):
        given = {k: getattr(tensor, v)() if k.endswith("layouts") else v
                 for k, v in kwargs.items()}  # fmt: skip
        return repr(getattr(parallel, style)(**given))

    assert made(vj_parallel, vj_tensor) == made(torch_parallel, torch_tensor)


def test_parallelize_module_styles_and_errors():
    mesh = init_device_mesh("cpu", (1,), mesh_dim_names=("tp",))
    emb = parallelize_module(vj.nn.Embedding(5, 4), mesh, ColwiseParallel())
    assert emb.weight.sharding.spec == P(None, "tp")
    emb = parallelize_module(vj.nn.Embedding(5, 4), mesh, RowwiseParallel())
    assert emb.weight.sharding.spec == P("tp")
    net = parallelize_module(_mlp(), mesh, {"0": ColwiseParallel(), "2": RowwiseParallel()})
    assert net[2].bias.sharding.spec == P()  # a row-wise bias is replicated
    with pytest.raises(NotImplementedError, match="only support nn.Linear and nn.Embedding"):
        parallelize_module(_mlp(), mesh, {"1": ColwiseParallel()})
    with pytest.raises(TypeError, match="not a ParallelStyle"):
        parallelize_module(_mlp(), mesh, {"0": "colwise"})
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        parallelize_module(_mlp(), mesh, {"fc9": ColwiseParallel()})
    assert "could not be resolved" in str(said[0].message)
    with pytest.raises(ValueError, match="must be 1-D"):
        parallelize_module(_mlp(), init_device_mesh("cpu", (1, 1)), ColwiseParallel())


# -- two processes on loopback: the example under the launcher ---------------------------------


def _example(args: list[str], launcher: bool, tmp_path: Path) -> list[float]:
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    env.pop("XLA_FLAGS", None)  # one CPU device per process
    cmd = [sys.executable, *(["-m", "varjax.distributed.run", "--nproc-per-node", "2"]
                             if launcher else []),
           str(EXAMPLES / "train_sharded.py"), "--json", *args]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600,
                          cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("strategy", "jit"), [("ddp", False), ("fsdp", False), ("fsdp", True)])
def test_two_processes_give_one_process_losses_and_a_sharded_checkpoint(tmp_path, strategy, jit):
    """init_process_group from the launcher's variables, each process loading its share
    (DistributedSampler), the model laid out over both processes' devices: the losses of one
    process training on the whole batch; the checkpoint is one shard file per process and
    loads back (the example checks the next step), here too, in one process."""
    steps = ["--steps", "6", "--strategy", strategy, *(["--jit"] if jit else [])]
    one = _example(steps, launcher=False, tmp_path=tmp_path)
    ckpt = tmp_path / "two.safetensors"
    two = _example([*steps, "--save", str(ckpt)], launcher=True, tmp_path=tmp_path)
    np.testing.assert_allclose(two, one, rtol=1e-5, atol=1e-6)
    shards = sorted(p.name for p in tmp_path.glob("two.safetensors.*"))
    if strategy == "fsdp":  # sharded parameters: each process wrote its own file
        assert shards == ["two.safetensors.00000-of-00002", "two.safetensors.00001-of-00002"]
    state = vj.load(str(ckpt))  # one process, no mesh: the whole tensors
    prefix = "module." if strategy == "ddp" else ""  # DDP's names, as PyTorch's
    assert tuple(state["model"][prefix + "0.weight"].shape) == (64, 16)
    assert state["optim"]["state"][0]["step"].item() == 6
