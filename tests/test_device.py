"""Devices (issue 12, part 2): PyTorch's ``device`` objects and ``to``/``cpu``/``cuda`` on JAX's
devices. One process has the CPU only; a child process checks placement on 8 simulated CPU
devices (``--xla_force_host_platform_device_count=8``)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import varjax as vj

try:
    import torch
except ImportError:  # pragma: no cover - depends on the machine
    torch = None


def _on_both(program):
    got = program(vj)
    if torch is not None:
        assert got == program(torch)
    return got


def test_device_objects_are_pytorchs():
    def program(lib):
        specs = ["cpu", "cuda", "cuda:1", ("cuda", 2), lib.device("cuda:3")]
        devs = [lib.device(*s) if isinstance(s, tuple) else lib.device(s) for s in specs]
        return [[repr(d), str(d), d.type, d.index] for d in devs] + [
            lib.device("cuda:1") == lib.device("cuda", 1),
            lib.device("cuda") == lib.device("cuda:0"),
            len({lib.device("cuda:1"), lib.device("cuda", 1)}),
        ]

    got = _on_both(program)
    assert got[2] == ["device(type='cuda', index=1)", "cuda:1", "cuda", 1]


@pytest.mark.parametrize("spec", ["cuda:x", "gpu0", "foo", "cuda:1:2"])
def test_bad_device_strings_are_errors(spec):
    with pytest.raises(RuntimeError):
        vj.device(spec)
    if torch is not None:
        with pytest.raises(RuntimeError):
            torch.device(spec)


def test_to_keeps_or_converts_as_pytorch():
    def program(lib):
        x = lib.ones(2)
        other = lib.zeros(3, dtype=lib.int32)
        return [
            x.to("cpu") is x, x.cpu() is x, x.to(lib.float32) is x, x.to(x) is x,
            x.to("cpu", copy=True) is x, str(x.to(lib.float16).dtype).split(".")[-1],
            str(x.to(other).dtype).split(".")[-1], str(x.to("cpu", lib.int32).dtype)[-5:],
            str(x.to(dtype=lib.float16, device="cpu").dtype).split(".")[-1],
            str(x.device), x.device == lib.device("cpu"), x.is_cuda,
            str(lib.ones(2, device="cpu").device), str(lib.zeros_like(x, device="cpu").device),
            lib.randn(2, device="cpu", requires_grad=True).is_leaf,
        ]  # fmt: skip

    got = _on_both(program)
    assert got[:5] == [True, True, True, True, False] and got[9] == "cpu"


def test_module_to_moves_and_casts_in_place():
    def program(lib):
        m = lib.nn.Linear(2, 2)
        w = m.weight
        out = m.to("cpu") is m
        m.to(lib.float16)
        return [out, m.weight is w, str(m.weight.dtype).split(".")[-1], m.weight.requires_grad,
                type(m.weight).__name__, m.cpu() is m]  # fmt: skip

    assert _on_both(program) == [True, True, "float16", True, "Parameter", True]


def test_cuda_queries_on_a_cpu_only_machine():
    assert vj.cuda.is_available() is False and vj.cuda.device_count() == 0
    assert vj.accelerator.is_available() is False
    assert vj.accelerator.current_accelerator() is None
    assert vj.backends.mps.is_available() is False
    vj.backends.cudnn.benchmark = True  # accepted, as PyTorch programs set it
    vj.cuda.synchronize()
    vj.cuda.manual_seed_all(0)
    with pytest.raises(RuntimeError, match="device 'cuda' is not available.*Remedy"):
        vj.ones(2).cuda()
    with pytest.raises(RuntimeError, match="device 'cuda' is not available"):
        vj.ones(2, device="cuda")


_MULTI = textwrap.dedent(
    r"""
    import jax, numpy as np, pytest
    import varjax as vj
    assert len(jax.devices()) == 8
    d3, d1 = vj.device("cpu", 3), vj.device("cpu:1")

    x = vj.tensor([1.0, 2.0]).to(d3)
    y = x * 2 + 1                                  # pending: runs where its input is
    assert x.device == d3 and y.device == d3
    assert y.tolist() == [3.0, 5.0]
    assert y._node.value.devices() == {jax.devices()[3]}
    assert x.to(d3) is x and x.to("cpu:3") is x
    assert x.cpu().device == vj.device("cpu") and x.cpu().tolist() == [1.0, 2.0]

    z = vj.ones(2, device=d1)
    try:
        x + z
    except RuntimeError as e:
        assert "Expected all tensors to be on the same device" in str(e), e
        assert "cpu:3 and cpu:1" in str(e) and "x + z" in str(e), e
    else:
        raise AssertionError("no error for tensors on two devices")

    # a gradient on the device its leaf lives on, against jax.grad
    w = vj.randn(3, device="cpu:2", requires_grad=True)
    loss = (w * w).sin().sum()
    loss.backward()
    assert w.grad.device == vj.device("cpu:2")
    wv = np.asarray(w.detach().numpy())
    np.testing.assert_allclose(w.grad.numpy(), np.cos(wv * wv) * 2 * wv, rtol=1e-5)
    try:
        w.to("cpu:4")
    except RuntimeError as e:
        assert "requires grad" in str(e) and "Remedy" in str(e)
    else:
        raise AssertionError("a graph moved across devices")

    # a Module and its optimizer on one device
    model = vj.nn.Linear(3, 1).to("cpu:5")
    opt = vj.optim.SGD(model.parameters(), lr=0.1)
    xb = vj.randn(4, 3, device="cpu:5")
    for _ in range(2):
        opt.zero_grad()
        out = model(xb).pow(2).mean()
        out.backward()
        opt.step()
    assert model.weight.device == vj.device("cpu:5") and out.device == vj.device("cpu:5")
    assert model.weight.grad.device == vj.device("cpu:5")

    # the default device
    vj.set_default_device("cpu:4")
    assert vj.get_default_device() == vj.device("cpu:4")
    a = vj.ones(2) + 1
    assert a.device == vj.device("cpu:4") and a.tolist() == [2.0, 2.0]
    assert a._node.value.devices() == {jax.devices()[4]}
    vj.set_default_device(None)

    # a value sharded over all devices: its device is the first, and ops run on it
    from jax.sharding import Mesh, NamedSharding, PartitionSpec
    mesh = Mesh(np.array(jax.devices()), ("d",))
    arr = jax.device_put(np.arange(8.0, dtype=np.float32), NamedSharding(mesh, PartitionSpec("d")))
    s = vj.Variable(arr)
    assert s.device == vj.device("cpu") and (s * 2).sum().item() == 56.0
    print("ok")
    """
)


def test_placement_on_several_devices(tmp_path):
    script = tmp_path / "multi_device.py"  # a file, so errors can quote its lines
    script.write_text(_MULTI)
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8",
               JAX_PLATFORMS="cpu")  # fmt: skip
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]


def test_values_do_not_change_on_the_move():
    x = vj.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3))
    np.testing.assert_array_equal(x.to("cpu").numpy(), x.numpy())
    np.testing.assert_array_equal(x.to("cpu", copy=True).numpy(), x.numpy())
