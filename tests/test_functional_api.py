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


def test_repeated_jacobians_compile_once():
    AF.jacobian(lambda x: f_vj(x, vj.tensor(Y)), vj.tensor(X))
    before = vj.compile_stats().compiles
    for k in range(5):
        AF.jacobian(lambda x: f_vj(x, vj.tensor(Y)), vj.tensor(X + k))
    assert vj.compile_stats().compiles == before


def test_create_graph_results_differentiate_again(mode):
    x = vj.tensor(X, requires_grad=True)
    y = vj.tensor(Y)
    jac = AF.jacobian(lambda x: f_vj(x, y), x, create_graph=True)
    assert jac.grad_fn is not None
    assert_close(jac.detach().numpy(), jax.jacrev(f_jnp)(X, Y), rtol=1e-5)
    jac.sum().backward()  # d/dx of the sum of the Jacobian's entries
    expected = jax.grad(lambda x: jnp.sum(jax.jacrev(f_jnp)(x, Y)))(X)
    assert_close(x.grad.numpy(), expected, rtol=1e-4, atol=1e-5)

    s = lambda x: s_vj(x, y)
    hess = AF.hessian(s, x, create_graph=True)
    assert_close(hess.detach().numpy(), jax.hessian(s_jnp)(X, Y), rtol=1e-4, atol=1e-5)
    v = vj.tensor([1.0, -1.0, 0.5])
    _, hv = AF.hvp(s, x, v, create_graph=True)
    _, vh = AF.vhp(s, x, v, create_graph=True)
    hj = np.asarray(jax.hessian(s_jnp)(X, Y))
    assert_close(hv.detach().numpy(), hj @ v.numpy(), rtol=1e-4, atol=1e-5)
    assert_close(vh.detach().numpy(), v.numpy() @ hj, rtol=1e-4, atol=1e-5)
    out, jv = AF.jvp(lambda x: f_vj(x, y), x, v, create_graph=True)
    assert_close(
        jv.detach().numpy(), jax.jvp(lambda x: f_jnp(x, Y), (X,), (v.numpy(),))[1], rtol=1e-5
    )
    _, vjp = AF.vjp(lambda x: f_vj(x, y), x, vj.ones(4), create_graph=True)
    assert vjp.grad_fn is not None


def test_second_order_with_respect_to_an_intermediate():
    x = vj.tensor(X, requires_grad=True)
    h = x * 2
    out = (h**3).sum() + (x * h).sum()
    (g,) = vj.autograd.grad(out, h, create_graph=True)  # 3h^2 + x
    (gg,) = vj.autograd.grad(g.sum(), h)  # 6h (x held fixed: h is the variable here)
    assert_close(g.detach().numpy(), 3 * (2 * X) ** 2 + X, rtol=1e-5)
    assert_close(gg.numpy(), 6 * 2 * X, rtol=1e-5)
