"""Lossless JAX interop (issue 12, part 7): a JAX array's operators give Variables that keep
the gradient, DLPack both ways, and ``varjax.func.functional_call`` under the user's own
``jax.grad``/``jax.jit``. Gradients are checked against ``jax.grad`` of the plain function."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_close

import varjax as vj

try:
    import torch
except ImportError:  # pragma: no cover - depends on the machine
    torch = None

A = np.array([1.5, -2.0, 3.0], np.float32)
V = np.array([0.5, 4.0, -1.0], np.float32)


@pytest.mark.parametrize(
    "op",
    [
        lambda a, v: a + v, lambda a, v: a - v, lambda a, v: a * v, lambda a, v: a / v,
        lambda a, v: jnp.abs(a) ** v, lambda a, v: a @ v, lambda a, v: a % v,
    ],
)  # fmt: skip
def test_a_jax_array_operator_keeps_the_gradient(op):
    v = vj.tensor(V, requires_grad=True)
    out = op(jnp.asarray(A), v)
    assert isinstance(out, vj.Variable) and out.requires_grad
    out.sum().backward()
    want = jax.grad(lambda w: jnp.sum(op(jnp.asarray(A), w)))(jnp.asarray(V))
    assert_close(v.grad.numpy(), want, rtol=1e-5)
    assert_close(out.detach().numpy(), op(jnp.asarray(A), jnp.asarray(V)), rtol=1e-6)


def test_comparisons_and_explicit_conversion():
    v = vj.tensor(V, requires_grad=True)
    a = jnp.asarray(A)
    assert isinstance(a < v, vj.Variable) and (a < v).tolist() == [False, True, False]
    assert isinstance(a == v.detach(), vj.Variable)
    np.testing.assert_array_equal(jnp.asarray(v), V)  # an explicit conversion: the value
    with pytest.raises(ValueError):  # JAX refuses to trace a Variable: no gradient is lost
        jnp.sin(v)


def test_dlpack_both_ways():
    v = vj.tensor(V)
    np.testing.assert_array_equal(np.from_dlpack(v), V)
    back = vj.from_dlpack(np.arange(3, dtype=np.float32))
    assert isinstance(back, vj.Variable) and back.tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(RuntimeError, match="requires grad through DLPack"):
        vj.tensor(V, requires_grad=True).__dlpack__()
    if torch is not None:
        t = torch.from_dlpack(v)
        np.testing.assert_array_equal(t.numpy(), V)
        assert vj.from_dlpack(torch.arange(4.0)).tolist() == [0.0, 1.0, 2.0, 3.0]


def _model_and_data():
    vj.manual_seed(0)
    model = vj.nn.Sequential(vj.nn.Linear(3, 4), vj.nn.Tanh(), vj.nn.Linear(4, 1))
    x = vj.tensor(np.arange(6, dtype=np.float32).reshape(2, 3) / 5)
    return model, x


def test_functional_call_under_jax_grad_and_jit():
    model, x = _model_and_data()
    params = {k: jnp.asarray(p.detach()) for k, p in model.named_parameters()}

    def loss(p):
        out = vj.func.functional_call(model, {k: vj.Variable(a) for k, a in p.items()}, (x,))
        return jnp.asarray((out**2).mean())

    def reference(p):
        h = jnp.tanh(jnp.asarray(x) @ p["0.weight"].T + p["0.bias"])
        return jnp.mean((h @ p["2.weight"].T + p["2.bias"]) ** 2)

    got, want = jax.grad(loss)(params), jax.grad(reference)(params)
    for k in params:
        assert_close(got[k], want[k], rtol=1e-5, atol=1e-6)
    assert_close(jax.jit(loss)(params), reference(params), rtol=1e-6)
    # the module is as it was, its own parameters untouched
    for k, p in model.named_parameters():
        assert isinstance(p, vj.nn.Parameter) and p.requires_grad
        np.testing.assert_array_equal(p.detach().numpy(), params[k])


def test_functional_call_replaces_only_what_it_is_given_and_restores_on_error():
    model, x = _model_and_data()
    before = model[0].weight
    zeros = {"2.weight": vj.zeros(1, 4), "2.bias": vj.tensor([7.0])}
    assert vj.func.functional_call(model, zeros, x).tolist() == [[7.0], [7.0]]
    assert model[0].weight is before and model[2].bias.item() != 7.0
    with pytest.raises(KeyError, match="no parameter or buffer"):
        vj.func.functional_call(model, {"2.bias": vj.zeros(1), "9.weight": vj.zeros(1)}, x)
    assert model[2].bias.item() != 0.0  # restored after the error
    with pytest.raises(RuntimeError, match="missing keys"):
        vj.func.functional_call(model, zeros, x, strict=True)
    if torch is not None:  # the same call on PyTorch gives the same numbers
        tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
        with torch.no_grad():
            for (_, tp), (_, vp) in zip(tm.named_parameters(), model.named_parameters()):
                tp.copy_(torch.tensor(vp.detach().numpy()))
        tz = {"2.weight": torch.zeros(1, 4), "2.bias": torch.tensor([7.0])}
        tx = torch.tensor(x.numpy())
        assert torch.func.functional_call(tm, tz, (tx,)).tolist() == [[7.0], [7.0]]
        w = {"0.weight": torch.ones(4, 3)}
        assert_close(
            vj.func.functional_call(model, {"0.weight": vj.ones(4, 3)}, x).detach().numpy(),
            torch.func.functional_call(tm, w, (tx,)).detach().numpy(),
            rtol=1e-5,
        )


def test_reading_through_jnp_charges_the_users_line():
    vj.clear_caches()  # each line below compiles one program (a new shape)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        jnp.asarray(vj.ones(1) * 2)
        jnp.asarray(vj.ones(2) * 2)
        jnp.asarray(vj.ones(3) * 2)
        jnp.asarray(vj.ones(4) * 2)
        jnp.asarray(vj.ones(5) * 2)
        jnp.asarray(vj.ones(6) * 2)
        jnp.asarray(vj.ones(7) * 2)
        jnp.asarray(vj.ones(8) * 2)
        jnp.asarray(vj.ones(9) * 2)
        jnp.asarray(vj.ones(10) * 2)
    assert not [w for w in seen if issubclass(w.category, vj.RecompileWarning)]
    assert vj.compile_stats().compiles >= 10


def test_op_takes_and_returns_pytrees_of_arrays():
    def layer(params, x, *, scale):
        h = jnp.tanh(params["w"] @ x + params["b"])
        return {"out": h * scale, "stats": (jnp.sum(x**2), jnp.max(h))}

    rng = np.random.default_rng(3)
    w0, b0, x0 = rng.standard_normal((2, 3)), rng.standard_normal(2), rng.standard_normal(3)
    w0, b0, x0 = (a.astype(np.float32) for a in (w0, b0, x0))
    lifted = vj.op(layer)
    w, b = vj.tensor(w0, requires_grad=True), vj.tensor(b0, requires_grad=True)
    x = vj.tensor(x0, requires_grad=True)
    got = lifted({"w": w, "b": b}, x, scale=2.0)
    assert sorted(got) == ["out", "stats"] and isinstance(got["stats"], tuple)
    (got["out"].sum() + got["stats"][0] * got["stats"][1]).backward()

    def loss(p, x):  # the oracle: jax.grad of the plain function
        r = layer(p, x, scale=2.0)
        return r["out"].sum() + r["stats"][0] * r["stats"][1]

    gp, gx = jax.grad(loss, argnums=(0, 1))({"w": w0, "b": b0}, x0)
    assert_close(w.grad.numpy(), gp["w"], rtol=1e-5)
    assert_close(b.grad.numpy(), gp["b"], rtol=1e-5)
    assert_close(x.grad.numpy(), gx, rtol=1e-5)
    pair = vj.op(lambda xs: [xs[0] * xs[1], xs[0] + xs[1]])([x, vj.ones(3)])
    assert isinstance(pair, list) and len(pair) == 2
    assert_close(pair[1].detach().numpy(), x0 + 1, rtol=1e-6)
    with pytest.raises(RuntimeError, match="must return arrays, or tuples, lists or dicts"):
        vj.op(lambda a: {"name": "text"})(x)
