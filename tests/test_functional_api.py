"""varjax.autograd.functional against JAX's own transforms of the same function."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_close

import varjax as vj

AF = vj.autograd.functional
RNG = np.random.default_rng(11)
W = RNG.standard_normal((4, 3)).astype(np.float32)
X = RNG.standard_normal(3).astype(np.float32)
Y = RNG.standard_normal(4).astype(np.float32)


def f_vj(x, y):
    return (vj.tensor(W) @ x).tanh() * y


def f_jnp(x, y):
    return jnp.tanh(W @ x) * y


def s_vj(x, y):
    return ((vj.tensor(W) @ x).sin() * y).sum() + (x**3).sum()


def s_jnp(x, y):
    return jnp.sum(jnp.sin(W @ x) * y) + jnp.sum(x**3)


@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
def test_jacobian_matches_jax(strategy, mode):
    jx, jy = AF.jacobian(f_vj, (vj.tensor(X), vj.tensor(Y)), strategy=strategy)
    ex, ey = jax.jacfwd(f_jnp, argnums=(0, 1))(X, Y)
    assert jx.shape == (4, 3) and jy.shape == (4, 4)
    assert_close(jx.numpy(), ex, rtol=1e-5)
    assert_close(jy.numpy(), ey, rtol=1e-5)
    single = AF.jacobian(lambda x: f_vj(x, vj.tensor(Y)), vj.tensor(X))
    assert_close(single.numpy(), ex, rtol=1e-5)


def test_jacobian_of_several_outputs_nests_like_pytorch():
    out = AF.jacobian(lambda x: (x * 2, x.sum()), vj.tensor(X))
    assert isinstance(out, tuple) and len(out) == 2
    assert_close(out[0].numpy(), 2 * np.eye(3))
    assert_close(out[1].numpy(), np.ones(3))


def test_hessian_matches_jax(mode):
    hxx = AF.hessian(lambda x: s_vj(x, vj.tensor(Y)), vj.tensor(X))
    assert_close(hxx.numpy(), jax.hessian(s_jnp)(X, Y), rtol=1e-4, atol=1e-5)
    blocks = AF.hessian(s_vj, (vj.tensor(X), vj.tensor(Y)))
    expected = jax.hessian(s_jnp, argnums=(0, 1))(X, Y)
    for i in range(2):
        for j in range(2):
            assert_close(blocks[i][j].numpy(), expected[i][j], rtol=1e-4, atol=1e-5)


def test_vjp_jvp_hvp_vhp():
    v_out = RNG.standard_normal(4).astype(np.float32)
    v_in = RNG.standard_normal(3).astype(np.float32)
    g = lambda x: f_vj(x, vj.tensor(Y))
    gj = lambda x: f_jnp(x, Y)
    out, vjp = AF.vjp(g, vj.tensor(X), vj.tensor(v_out))
    assert_close(out.numpy(), gj(X), rtol=1e-6)
    assert_close(vjp.numpy(), jax.vjp(gj, X)[1](v_out)[0], rtol=1e-5)
    out, jvp = AF.jvp(g, vj.tensor(X), vj.tensor(v_in))
    assert_close(jvp.numpy(), jax.jvp(gj, (X,), (v_in,))[1], rtol=1e-5)
    s = lambda x: s_vj(x, vj.tensor(Y))
    hj = jax.hessian(lambda x: s_jnp(x, Y))(X)
    value, hv = AF.hvp(s, vj.tensor(X), vj.tensor(v_in))
    assert_close(value.item(), s_jnp(X, Y), rtol=1e-5)
    assert_close(hv.numpy(), hj @ v_in, rtol=1e-4, atol=1e-5)
    _, vh = AF.vhp(s, vj.tensor(X), vj.tensor(v_in))
    assert_close(vh.numpy(), v_in @ hj, rtol=1e-4, atol=1e-5)


def test_functional_errors_and_strict():
    with pytest.raises(RuntimeError, match="independent of input 1"):
        AF.jacobian(lambda x, y: x * 2, (vj.tensor(X), vj.tensor(Y)), strict=True)
    jx, jy = AF.jacobian(lambda x, y: x * 2, (vj.tensor(X), vj.tensor(Y)))
    assert jy.numpy().shape == (3, 4) and not jy.numpy().any()  # unused input: zeros
    with pytest.raises(RuntimeError, match="single Tensor with one element"):
        AF.hessian(lambda x: x * 2, vj.tensor(X))
    with pytest.raises(RuntimeError, match="can only be None"):
        AF.vjp(lambda x: x * 2, vj.tensor(X))
    with pytest.raises(RuntimeError, match="shape"):
        AF.jvp(lambda x: x * 2, vj.tensor(X), vj.ones(5))
    with pytest.raises(NotImplementedError, match="create_graph"):
        AF.jacobian(lambda x: x * 2, vj.tensor(X), create_graph=True)


def test_repeated_jacobians_compile_once():
    AF.jacobian(lambda x: f_vj(x, vj.tensor(Y)), vj.tensor(X))
    before = vj.compile_stats().compiles
    for k in range(5):
        AF.jacobian(lambda x: f_vj(x, vj.tensor(Y)), vj.tensor(X + k))
    assert vj.compile_stats().compiles == before
