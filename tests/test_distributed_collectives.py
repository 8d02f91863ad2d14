"""Explicit collectives and the launcher: world size 1 in-process against torch.distributed
(gloo, world size 1) as the oracle, errors against PyTorch's, and one two-process run through
``python -m varjax.distributed.run`` checked against NumPy."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import varjax as vj
import varjax.distributed as dist
from varjax.distributed.run import main as launch

# PyTorch 2.13 renames two of the collectives it is the reference for
pytestmark = pytest.mark.filterwarnings("ignore:`torch.distributed.*deprecated:FutureWarning")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def group():
    dist.init_process_group(world_size=1, rank=0)
    yield
    dist.destroy_process_group()


@pytest.fixture(scope="module")
def torch_dist():
    """torch.distributed with gloo at world size 1: the reference."""
    torch = pytest.importorskip("torch")
    tdist = torch.distributed
    tdist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{_free_port()}", world_size=1, rank=0
    )
    yield torch, tdist
    tdist.destroy_process_group()


_NOT_INIT = [
    lambda: dist.barrier(),
    lambda: dist.all_reduce(vj.ones(2)),
    lambda: dist.all_gather([vj.ones(2)], vj.ones(2)),
    lambda: dist.all_gather_into_tensor(vj.ones(2), vj.ones(2)),
    lambda: dist.broadcast(vj.ones(2), 0),
    lambda: dist.reduce_scatter(vj.ones(2), [vj.ones(2)]),
    lambda: dist.reduce_scatter_tensor(vj.ones(2), vj.ones(2)),
]


@pytest.mark.parametrize("call", _NOT_INIT)
def test_collectives_need_the_process_group(call):
    torch = pytest.importorskip("torch")
    if torch.distributed.is_initialized():  # the module's reference group is up
        pytest.skip("torch's process group is initialized by another test")
    with pytest.raises(ValueError) as theirs:
        torch.distributed.barrier()
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="init_process_group") as mine:
        call()
    assert str(theirs.value) in str(mine.value)


def _maker(module):
    """``module.tensor`` of a NumPy array: the same inputs for torch and for varjax."""
    return lambda values, dtype=np.float32: module.tensor(np.asarray(values, dtype))


def _run_collectives(d, t):
    """Every collective at world size 1 on fresh tensors made by ``t``; the outputs."""
    outs = {}
    for op in ("SUM", "AVG", "PRODUCT", "MIN", "MAX"):
        x = t([[1.5, -2.0], [3.0, 0.25]])
        d.all_reduce(x, op=getattr(d.ReduceOp, op))
        outs[f"all_reduce {op}"] = x
    bits = t([6, 3], np.int64)
    d.all_reduce(bits, op=d.ReduceOp.BXOR)
    outs["all_reduce BXOR"] = bits
    gathered = [t([0.0, 0.0])]
    d.all_gather(gathered, t([4.0, 5.0]))
    outs["all_gather"] = gathered[0]
    into = t([0.0, 0.0, 0.0])
    d.all_gather_into_tensor(into, t([1.0, 2.0, 3.0]))
    outs["all_gather_into_tensor"] = into
    b = t([7.0])
    d.broadcast(b, src=0)
    outs["broadcast"] = b
    rs = t([0.0, 0.0])
    d.reduce_scatter(rs, [t([2.0, 3.0])], op=d.ReduceOp.MAX)
    outs["reduce_scatter"] = rs
    rst = t([[0.0, 0.0]])
    d.reduce_scatter_tensor(rst, t([[8.0, 9.0]]))
    outs["reduce_scatter_tensor"] = rst
    return outs


def test_world_size_one_against_torch(torch_dist, group):
    torch, tdist = torch_dist
    theirs, mine = _run_collectives(tdist, _maker(torch)), _run_collectives(dist, _maker(vj))
    assert mine.keys() == theirs.keys()
    for key, value in mine.items():
        np.testing.assert_array_equal(value.numpy(), theirs[key].numpy(), err_msg=key)
        assert str(value.dtype).split(".")[-1] == str(theirs[key].dtype).split(".")[-1], key


def test_in_place_on_a_leaf_that_requires_grad(group):
    w = vj.tensor([1.0, 2.0], requires_grad=True)
    version = w._version
    assert dist.all_reduce(w) is None
    assert w.is_leaf and w.requires_grad and w.grad_fn is None and w._version == version + 1
    (w * 3).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 3.0])
    stacked = vj.zeros(1, 2)  # all_gather_into_tensor also takes the stacked layout
    dist.all_gather_into_tensor(stacked, vj.tensor([5.0, 6.0]))
    np.testing.assert_array_equal(stacked.numpy(), [[5.0, 6.0]])


def test_reduce_op_and_work_are_pytorchs(torch_dist, group):
    _, tdist = torch_dist
    for op in dist.ReduceOp:
        assert int(getattr(tdist.ReduceOp, op.name)) == op.value
    x = vj.tensor([1.0])
    work = dist.broadcast(x, 0, async_op=True)
    assert work.wait() is True and work.is_completed() and work.is_success()
    assert work.result()[0] is x and work.exception() is None
    assert dist.barrier(async_op=True).is_completed() and dist.barrier() is None


# (call on a dist module with a tensor maker, exception type, what both messages say)
_ERRORS = [
    (lambda d, t: d.all_reduce([t([1.0])]), TypeError, "Expected parameter `tensor` of type"),
    (lambda d, t: d.all_gather(t([0.0]), t([1.0])), TypeError, "`tensor_list` of type"),
    (
        lambda d, t: d.all_gather([t([0.0]), t([0.0])], t([1.0])),
        RuntimeError,
        "invalid output tensor list at index 0 (expected length 1, got 2)",
    ),
    (
        lambda d, t: d.all_gather([t([0.0, 0.0, 0.0])], t([1.0, 2.0])),
        RuntimeError,
        "invalid tensor size at index 0 (expected (2",
    ),
    (
        lambda d, t: d.all_gather([t([0], np.int64)], t([1.0])),
        ValueError,
        "Invalid usage of tensors with different dtypes",
    ),
    (
        lambda d, t: d.all_gather_into_tensor(t([0.0, 0.0, 0.0]), t([1.0, 2.0])),
        RuntimeError,
        "invalid tensor size",
    ),
    (
        lambda d, t: d.all_gather_into_tensor(t([0, 0], np.int64), t([1.0, 2.0])),
        RuntimeError,
        "invalid tensor type",
    ),
    (lambda d, t: d.broadcast(t([1.0]), src=1), RuntimeError, "invalid root rank: 1"),
    (lambda d, t: d.broadcast(t([1.0]), src=-1), RuntimeError, "invalid root rank: -1"),
    (
        lambda d, t: d.reduce_scatter(t([0.0]), [t([1.0]), t([1.0])]),
        RuntimeError,
        "invalid input tensor list size, must be world size",
    ),
    (lambda d, t: d.reduce_scatter(t([0.0, 0.0]), [t([1.0, 2.0, 3.0])]), RuntimeError, ""),
    (lambda d, t: d.reduce_scatter_tensor(t([0.0]), t([1.0, 2.0])), RuntimeError, ""),
    (lambda d, t: d.all_reduce(t([1.0]), op="sum"), TypeError, ""),
]


@pytest.mark.parametrize("call, error, said", _ERRORS)
def test_errors_against_torch(torch_dist, group, call, error, said):
    torch, tdist = torch_dist
    with pytest.raises(error) as theirs:
        call(tdist, _maker(torch))
    with pytest.raises(error) as mine:
        call(dist, _maker(vj))
    assert said in " ".join(str(theirs.value).split()), str(theirs.value)
    assert said in str(mine.value) and "Remedy" in str(mine.value), str(mine.value)


def test_only_the_default_group(group):
    with pytest.raises(ValueError, match="only the default process group.*group=None"):
        dist.all_reduce(vj.ones(2), group=object())


# -- the launcher ---------------------------------------------------------------------------

_ENV_NAMES = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK",
              "MASTER_ADDR", "MASTER_PORT")  # fmt: skip

_REPORT = textwrap.dedent(
    """
    import json, os, sys, time
    out = os.path.join(sys.argv[1], "rank" + os.environ["RANK"])
    names = {names!r}
    json.dump(dict({{n: os.environ[n] for n in names}}, args=sys.argv[2:], pid=os.getpid(),
                   xla=os.environ.get("XLA_FLAGS")), open(out + ".tmp", "w"))
    os.replace(out + ".tmp", out + ".json")
    code = int(os.environ.get("FAIL_" + os.environ["RANK"], "0"))
    if code < 0:
        time.sleep(60)  # a worker that would outlive the run: the launcher must stop it
    sys.exit(code)
    """
).format(names=_ENV_NAMES)


def _reports(path, ranks):
    return [json.loads((path / f"rank{r}.json").read_text()) for r in ranks]


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_launcher_sets_torchruns_environment(tmp_path, monkeypatch):
    (tmp_path / "report.py").write_text(_REPORT)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    argv = ["--nproc_per_node", "3", "--nnodes", "2", "--node-rank", "1", "--master_port",
            "4321", "-m", "report", str(tmp_path), "--lr", "0.1"]  # fmt: skip
    assert launch(argv) == 0
    got = [{n: r[n] for n in _ENV_NAMES} for r in _reports(tmp_path, range(3, 6))]
    assert got == [
        dict(
            RANK=str(3 + i),
            LOCAL_RANK=str(i),
            WORLD_SIZE="6",
            LOCAL_WORLD_SIZE="3",
            GROUP_RANK="1",
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT="4321",
        )
        for i in range(3)
    ]
    assert all(
        r["args"] == ["--lr", "0.1"] and r["xla"] is None for r in _reports(tmp_path, range(3, 6))
    )


def test_launcher_stops_the_others_when_a_worker_fails(tmp_path, monkeypatch, capfd):
    script = tmp_path / "report.py"
    script.write_text(_REPORT)
    monkeypatch.setenv("FAIL_0", "-1")  # rank 0 would sleep for a minute
    monkeypatch.setenv("FAIL_1", "3")
    start = time.monotonic()
    assert launch(["--nproc-per-node", "2", str(script), str(tmp_path)]) == 3
    assert time.monotonic() - start < 30
    reports = _reports(tmp_path, range(2))
    assert reports[0]["MASTER_PORT"] == reports[1]["MASTER_PORT"]  # a free port, shared
    assert _gone(reports[0]["pid"])
    assert "worker rank 1 (local rank 1" in capfd.readouterr().err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_launcher_stops_the_workers_on_a_signal(tmp_path, monkeypatch, capfd):
    script = tmp_path / "report.py"
    script.write_text(_REPORT)
    monkeypatch.setenv("FAIL_0", "-1")
    monkeypatch.setenv("FAIL_1", "-1")

    def interrupt_once_started():
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(list(tmp_path.glob("*.json"))) < 2:
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGTERM)  # the launcher's handler stops the workers

    threading.Thread(target=interrupt_once_started, daemon=True).start()
    assert launch(["--nproc-per-node", "2", str(script), str(tmp_path)]) == 130
    assert all(_gone(r["pid"]) for r in _reports(tmp_path, range(2)))
    assert "interrupted" in capfd.readouterr().err


def test_launcher_rejects_bad_arguments(capsys):
    for argv in (["--nproc-per-node", "0", "x.py"], ["--nnodes", "2", "--node-rank", "2", "x.py"]):
        with pytest.raises(SystemExit) as done:
            launch(argv)
        assert done.value.code == 2
    assert "--node-rank 2 is not in [0, 1]" in capsys.readouterr().err


# -- two processes --------------------------------------------------------------------------

_TWO = textwrap.dedent(
    """
    import json
    import numpy as np
    import varjax as vj
    import varjax.distributed as dist

    dist.init_process_group()  # from the launcher's RANK, WORLD_SIZE, MASTER_*
    rank, world = dist.get_rank(), dist.get_world_size()
    base = np.arange(6, dtype=np.float32).reshape(2, 3) * (rank + 1) - rank
    out = {"rank": rank, "world": world}
    dist.barrier()
    for op in ("SUM", "MAX", "AVG"):
        x = vj.tensor(base, requires_grad=True)
        dist.all_reduce(x, op=dist.ReduceOp[op])
        out[op] = x.tolist()
    gathered = [vj.zeros(2, 3) for _ in range(world)]
    dist.all_gather(gathered, vj.tensor(base))
    out["all_gather"] = [g.tolist() for g in gathered]
    into = vj.zeros(2 * world, 3)
    dist.all_gather_into_tensor(into, vj.tensor(base))
    out["all_gather_into_tensor"] = into.tolist()
    b = vj.tensor(base)
    dist.broadcast(b, src=1)
    out["broadcast"] = b.tolist()
    rs = vj.zeros(3)
    dist.reduce_scatter(rs, [vj.tensor(row) for row in base])
    out["reduce_scatter"] = rs.tolist()
    rst = vj.zeros(1, 3)
    dist.reduce_scatter_tensor(rst, vj.tensor(base), op=dist.ReduceOp.MIN)
    out["reduce_scatter_tensor"] = rst.tolist()
    # a DDP model's output is the whole batch's: local labels get a remedy, not a wrong loss
    net = vj.nn.parallel.DistributedDataParallel(vj.nn.Linear(3, 2))
    try:
        vj.nn.functional.cross_entropy(net(vj.tensor(base)), vj.tensor([0, 1]))
    except ValueError as e:
        out["local_labels"] = str(e)
    dist.barrier()
    dist.destroy_process_group()
    print("RESULT " + json.dumps(out), flush=True)
    """
)


def test_two_processes_through_the_launcher(tmp_path):
    script = tmp_path / "two.py"
    script.write_text(_TWO)
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    env.pop("XLA_FLAGS", None)
    done = subprocess.run(
        [sys.executable, "-m", "varjax.distributed.run", "--nproc-per-node", "2", str(script)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    lines = [ln[len("RESULT ") :] for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    results = sorted((json.loads(ln) for ln in lines), key=lambda r: r["rank"])
    assert [(r["rank"], r["world"]) for r in results] == [(0, 2), (1, 2)], done.stdout
    bases = [np.arange(6, dtype=np.float32).reshape(2, 3) * (r + 1) - r for r in (0, 1)]
    stacked = np.stack(bases)  # the oracle: every rank's values, on one host
    for r in results:
        rank = r["rank"]
        np.testing.assert_array_equal(r["SUM"], stacked.sum(0))
        np.testing.assert_array_equal(r["MAX"], stacked.max(0))
        np.testing.assert_allclose(r["AVG"], stacked.mean(0))
        np.testing.assert_array_equal(r["all_gather"], stacked)
        np.testing.assert_array_equal(r["all_gather_into_tensor"], stacked.reshape(4, 3))
        np.testing.assert_array_equal(r["broadcast"], bases[1])
        np.testing.assert_array_equal(r["reduce_scatter"], stacked[:, rank].sum(0))
        np.testing.assert_array_equal(
            r["reduce_scatter_tensor"], stacked[:, rank : rank + 1].min(0)
        )
        assert "got (2,)" in r["local_labels"] and "from_local(" in r["local_labels"]
