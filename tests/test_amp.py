"""Mixed precision (issue 14): ``autocast``'s op lists and ``GradScaler``'s loss scaling,
against PyTorch's CPU autocast and GradScaler, imperatively and inside ``varjax.jit``; dtype
mismatches that PyTorch refuses are refused, not promoted."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_close

import varjax as vj
from varjax import nn


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


X = np.linspace(-1.0, 1.0, 12, dtype=np.float32).reshape(3, 4)
W = np.linspace(0.5, -0.5, 8, dtype=np.float32).reshape(4, 2)


def test_matmul_runs_in_bfloat16_and_reductions_in_float32():
    x, w = vj.tensor(X, requires_grad=True), vj.tensor(W, requires_grad=True)
    with vj.autocast("cuda", dtype=vj.bfloat16):  # CUDA's list: reductions in float32
        assert vj.is_autocast_enabled() and vj.is_autocast_enabled("cuda")
        assert not vj.is_autocast_enabled("cpu")
        y = x @ w
        s = y.softmax(-1)
        loss = y.sum()
        plain = x + 1
    assert not vj.is_autocast_enabled()
    assert (y.dtype, s.dtype, loss.dtype, plain.dtype) == (
        vj.bfloat16, vj.float32, vj.float32, vj.float32)  # fmt: skip
    loss.backward()
    assert x.grad.dtype == vj.float32 and w.grad.dtype == vj.float32  # each input's own dtype
    # the oracle: the same casts written out in jax.numpy
    def f(x, w):
        return (x.astype(jnp.bfloat16) @ w.astype(jnp.bfloat16)).astype(jnp.float32).sum()

    gx, gw = jax.grad(f, argnums=(0, 1))(X, W)
    low = X.astype(jnp.bfloat16) @ W.astype(jnp.bfloat16)
    assert_close(y.float().detach().numpy(), low, rtol=1e-2)
    assert_close(x.grad.numpy(), gx, rtol=1e-2)  # bfloat16 accumulation order
    assert_close(w.grad.numpy(), gw, rtol=1e-2)


def test_autocast_matches_pytorch_cpu_autocast(torch):
    vj.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    ref = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    ref.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in model.state_dict().items()})
    target = np.array([0, 2, 1])
    with vj.autocast("cpu", dtype=vj.bfloat16):
        out = model(vj.tensor(X))
        loss = nn.functional.cross_entropy(out, vj.tensor(target))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out_t = ref(torch.tensor(X))
        loss_t = torch.nn.functional.cross_entropy(out_t, torch.tensor(target))
    assert str(out.dtype).split(".")[1] == str(out_t.dtype).split(".")[1] == "bfloat16"
    assert str(loss.dtype).split(".")[1] == str(loss_t.dtype).split(".")[1] == "float32"
    with vj.autocast("cpu"), torch.autocast("cpu", dtype=torch.bfloat16):  # composites too
        for name in ("mse_loss", "l1_loss", "smooth_l1_loss"):
            ours = getattr(nn.functional, name)(out, vj.zeros(3, 3)).dtype
            theirs = getattr(torch.nn.functional, name)(out_t, torch.zeros(3, 3)).dtype
            assert str(ours).split(".")[1] == str(theirs).split(".")[1] == "float32", name
        # the CPU's list keeps layer_norm, softmax and sums in bfloat16
        for ours, theirs in [
            (nn.functional.layer_norm(out, (3,)), torch.nn.functional.layer_norm(out_t, (3,))),
            (out.softmax(-1), out_t.softmax(-1)), (out.sum(), out_t.sum()),
            (out.prod(), out_t.prod()),
        ]:  # fmt: skip
            assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1]
    with vj.autocast("cuda"):  # CUDA's list: layer_norm in float32
        assert nn.functional.layer_norm(out, (3,)).dtype == vj.float32
    assert_close(out.float().detach().numpy(), out_t.float().detach().numpy(), rtol=2e-2, atol=2e-2)
    loss.backward()
    loss_t.backward()
    assert_close(loss.item(), loss_t.item(), rtol=1e-2)
    for (name, p), p_t in zip(model.named_parameters(), ref.parameters()):
        assert p.grad.dtype == vj.float32, name
        assert_close(p.grad.numpy(), p_t.grad.numpy(), rtol=5e-2, atol=1e-2, msg=name)


def test_autocast_float16_enabled_false_and_decorator():
    x = vj.tensor(X)

    @vj.autocast("cuda")
    def half_matmul():
        return x @ x.T

    assert half_matmul().dtype == vj.float16  # CUDA's default dtype
    with vj.autocast("cpu"), vj.autocast("cpu", enabled=False):
        assert (x @ x.T).dtype == vj.float32
    assert vj.get_autocast_dtype("cpu") == vj.bfloat16
    with pytest.raises(RuntimeError, match="unsupported autocast device_type"):
        vj.autocast("abacus")
    with pytest.raises(RuntimeError, match="float16 or bfloat16"):
        vj.autocast("cpu", dtype=vj.float64)


def test_autocast_inside_jit_matches_imperative_and_is_part_of_the_key():
    w = vj.tensor(W, requires_grad=True)

    def step(x):
        with vj.autocast("cpu"):
            loss = (x @ w).square().mean()
        loss.backward()
        return loss

    imperative = step(vj.tensor(X)).item()
    g_imp = w.grad.numpy().copy()
    w.grad = None
    compiled = vj.jit(step)
    assert_close(compiled(vj.tensor(X)).item(), imperative)
    assert_close(w.grad.numpy(), g_imp)

    plain = vj.jit(lambda x: x @ w)
    full = plain(vj.tensor(X))
    with vj.autocast("cpu"):
        low = plain(vj.tensor(X))  # a trace under autocast is another program
    assert full.dtype == vj.float32 and low.dtype == vj.bfloat16


def test_a_model_cast_to_bfloat16_refuses_a_float32_input(torch):
    model = nn.Linear(4, 2).to(vj.bfloat16)
    with pytest.raises(RuntimeError, match="same dtype.*float32 and bfloat16"):
        model(vj.tensor(X))
    with pytest.raises(RuntimeError, match="same dtype"):
        torch.nn.Linear(4, 2).to(torch.bfloat16)(torch.tensor(X))
    with pytest.raises(RuntimeError, match="float32 and float64"):
        vj.tensor(X) @ vj.tensor(W, dtype=vj.float64)
    with vj.autocast("cpu"):  # autocast casts both, as PyTorch's does
        assert model(vj.tensor(X)).dtype == vj.bfloat16


def _scaled_run(lib, steps, make_scaler, grads_fn):
    """SGD with momentum on one parameter through GradScaler; step 2 gets an inf gradient."""
    p = lib.nn.Parameter(lib.tensor([1.0, -2.0]))
    opt = lib.optim.SGD([p], lr=0.1, momentum=0.9)
    scaler = make_scaler()
    scales, values = [], []
    for i in range(steps):
        opt.zero_grad()
        loss = grads_fn(lib, p, i)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        scales.append(scaler.get_scale())
        values.append(np.asarray(p.detach().tolist()))
    return scales, values


def _loss(lib, p, i):
    bad = lib.tensor(float("inf") if i == 2 else 1.0)
    return (p * p).sum() * bad


def test_grad_scaler_matches_pytorch(torch):
    kw = dict(init_scale=256.0, growth_factor=2.0, backoff_factor=0.5, growth_interval=2)
    ours = _scaled_run(vj, 7, lambda: vj.amp.GradScaler(**kw), _loss)
    theirs = _scaled_run(torch, 7, lambda: torch.amp.GradScaler("cpu", **kw), _loss)
    assert ours[0] == theirs[0] == [256.0, 512.0, 256.0, 256.0, 512.0, 512.0, 1024.0]
    for a, b in zip(ours[1], theirs[1]):
        assert_close(a, b)
    assert np.all(np.isfinite(ours[1][-1]))


def test_grad_scaler_inside_jit_skips_the_inf_step_like_imperative():
    kw = dict(init_scale=256.0, growth_interval=2)
    imperative = _scaled_run(vj, 6, lambda: vj.amp.GradScaler(**kw), _loss)

    p = vj.nn.Parameter(vj.tensor([1.0, -2.0]))
    opt = vj.optim.SGD([p], lr=0.1, momentum=0.9)
    scaler = vj.amp.GradScaler(**kw)

    @vj.jit
    def step(bad):
        opt.zero_grad()
        scaler.scale((p * p).sum() * bad).backward()
        scaler.step(opt)
        scaler.update()

    for i in range(6):
        step(vj.tensor(float("inf") if i == 2 else 1.0))
        assert scaler.get_scale() == imperative[0][i]
        assert_close(p.detach().numpy(), imperative[1][i])


def test_grad_scaler_unscale_state_dict_and_errors():
    p = vj.nn.Parameter(vj.tensor([3.0]))
    opt = vj.optim.SGD([p], lr=1.0)
    scaler = vj.amp.GradScaler(init_scale=8.0)
    scaler.scale(p * 2).sum().backward()
    assert_close(p.grad.numpy(), [16.0])
    scaler.unscale_(opt)
    assert_close(p.grad.numpy(), [2.0])  # clip here, then step: as PyTorch's recipe
    with pytest.raises(RuntimeError, match="already been called"):
        scaler.unscale_(opt)
    scaler.step(opt)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        scaler.step(opt)
    scaler.update()
    assert_close(p.detach().numpy(), [1.0])
    state = scaler.state_dict()
    assert state == {"scale": 8.0, "growth_factor": 2.0, "backoff_factor": 0.5,
                     "growth_interval": 2000, "_growth_tracker": 1}  # fmt: skip
    other = vj.amp.GradScaler()
    other.load_state_dict(state)
    assert other.get_scale() == 8.0 and other.state_dict() == state
    with pytest.raises(AssertionError, match="No inf checks"):
        other.update()
    with pytest.raises(ValueError, match="growth factor"):
        vj.amp.GradScaler(growth_factor=0.5)
    off = vj.amp.GradScaler(enabled=False)
    assert off.scale(p) is p and off.get_scale() == 1.0 and off.state_dict() == {}
