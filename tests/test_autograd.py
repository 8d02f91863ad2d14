"""varjax.autograd.grad / backward, backward(inputs=...), retain_grad: against jax.grad and
hand-derived values, and a count of compiled calls showing they stay one fused program.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_close

import varjax as vj

X0 = np.array([0.5, -1.0, 2.0], np.float32)
W0 = np.array([[1.0, 2.0, -1.0], [0.5, 0.0, 3.0]], np.float32)


def executions() -> int:
    s = vj.compile_stats()
    return s.compiles + s.cache_hits


def f_jnp(x, w):
    h = jnp.tanh(w @ x)
    return jnp.sum(h * h) + jnp.sum(x**3)


def f_vj(x, w):
    h = (w @ x).tanh()
    return (h * h).sum() + (x**3).sum(), h


def test_grad_matches_jax_grad_and_leaves_dot_grad_untouched(mode):
    x, w = vj.tensor(X0, requires_grad=True), vj.tensor(W0, requires_grad=True)
    out, _ = f_vj(x, w)
    gx, gw = vj.autograd.grad(out, [x, w])
    ex, ew = jax.grad(f_jnp, argnums=(0, 1))(X0, W0)
    assert_close(gx.numpy(), ex, rtol=1e-5)
    assert_close(gw.numpy(), ew, rtol=1e-5)
    assert x.grad is None and w.grad is None
    assert not gx.requires_grad and gx.grad_fn is None


def test_grad_with_respect_to_an_intermediate(mode):
    x, w = vj.tensor(X0, requires_grad=True), vj.tensor(W0, requires_grad=True)
    out, h = f_vj(x, w)
    (gh, gx) = vj.autograd.grad(out, (h, x))
    hv = np.tanh(W0 @ X0)
    assert_close(gh.numpy(), 2 * hv, rtol=1e-5)  # d(sum h^2)/dh
    assert_close(gx.numpy(), jax.grad(f_jnp)(X0, W0), rtol=1e-5)  # still the total derivative


def test_grad_of_several_outputs_with_grad_outputs():
    x = vj.tensor(X0, requires_grad=True)
    a, b = x.sin(), x * x
    (g,) = vj.autograd.grad([a, b], x, grad_outputs=[vj.ones(3), vj.tensor([1.0, 2.0, 3.0])])
    assert_close(g.numpy(), np.cos(X0) + 2 * X0 * np.array([1.0, 2.0, 3.0]), rtol=1e-5)


def test_grad_unused_inputs():
    x, y = vj.tensor(X0, requires_grad=True), vj.tensor(X0, requires_grad=True)
    out = (x * 2).sum()
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        vj.autograd.grad(out, [x, y], retain_graph=True)
    gx, gy = vj.autograd.grad(out, [x, y], allow_unused=True, retain_graph=True)
    assert gy is None and gx.tolist() == [2.0, 2.0, 2.0]
    _, gy = vj.autograd.grad(out, [x, y], materialize_grads=True)
    assert gy.tolist() == [0.0, 0.0, 0.0]


def test_grad_errors():
    x = vj.tensor(X0, requires_grad=True)
    with pytest.raises(RuntimeError, match="does not require grad"):
        vj.autograd.grad((x * 2).sum(), [vj.ones(3)])
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad"):
        vj.autograd.grad(vj.ones(3).sum(), [x])
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar"):
        vj.autograd.grad(x * 2, [x])
    out = (x * x).sum()
    vj.autograd.grad(out, [x])
    with pytest.raises(RuntimeError, match="second time"):
        vj.autograd.grad(out, [x])  # the graph was freed, as by backward()


def test_backward_inputs_accumulates_only_there(mode):
    x, w = vj.tensor(X0, requires_grad=True), vj.tensor(W0, requires_grad=True)
    out, h = f_vj(x, w)
    out.backward(inputs=[w, h])
    assert x.grad is None
    assert_close(w.grad.numpy(), jax.grad(f_jnp, argnums=1)(X0, W0), rtol=1e-5)
    assert_close(h.grad.numpy(), 2 * np.tanh(W0 @ X0), rtol=1e-5)


def test_autograd_backward_of_several_tensors():
    x = vj.tensor(X0, requires_grad=True)
    vj.autograd.backward([(x * x).sum(), x * 3], [None, vj.tensor([1.0, 0.0, 1.0])])
    assert_close(x.grad.numpy(), 2 * X0 + np.array([3.0, 0.0, 3.0]))


def test_retain_grad_fills_intermediates_and_accumulates(mode):
    x = vj.tensor(X0, requires_grad=True)
    y = x * 2
    y.retain_grad()
    assert y.retains_grad and not x.retains_grad
    z = (y * y).sum()
    z.backward(retain_graph=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "not a leaf" warning for a retained grad
        assert_close(y.grad.numpy(), 2 * 2 * X0)
    z.backward()
    assert_close(y.grad.numpy(), 2 * 2 * 2 * X0)  # accumulated, like a leaf's
    assert_close(x.grad.numpy(), 2 * 8 * X0)
    with pytest.raises(RuntimeError, match="can't retain_grad on Tensor that has requires_grad"):
        vj.ones(2).retain_grad()


def test_retain_grad_and_intermediate_inputs_stay_one_compiled_call():
    x = vj.tensor(X0, requires_grad=True)

    def step():
        y = x.sin() * 3
        y.retain_grad()
        (y * y).sum().backward()
        return y

    step()  # compile
    before = executions()
    y = step()
    assert executions() == before + 1  # the retained gradient came out of the same call
    assert_close(y.grad.numpy(), 2 * 3 * np.sin(X0), rtol=1e-5)
    before = executions()
    h = x * x
    vj.autograd.grad((h.exp()).sum(), [x, h])
    assert executions() == before + 1


# -- higher order -----------------------------------------------------------------------------


def g_jnp(x, w):
    return jnp.sum(jnp.sin(w @ x) * x[:2] ** 2)


def g_vj(x, w):
    return ((w @ x).sin() * x[:2] ** 2).sum()


def test_second_and_third_derivatives_match_nested_jax_grad(mode):
    x, w = vj.tensor(X0, requires_grad=True), vj.tensor(W0, requires_grad=True)
    (gx,) = vj.autograd.grad(g_vj(x, w), x, create_graph=True)
    assert gx.grad_fn is not None and gx.requires_grad
    v = np.array([1.0, -2.0, 0.5], np.float32)
    (hv,) = vj.autograd.grad((gx * vj.tensor(v)).sum(), x, create_graph=True)  # Hessian @ v
    (third,) = vj.autograd.grad(hv.sum(), [x])
    first = jax.grad(g_jnp)
    second = lambda x, w: jax.grad(lambda x: jnp.sum(first(x, w) * v))(x)
    assert_close(gx.detach().numpy(), first(X0, W0), rtol=1e-5)
    assert_close(hv.detach().numpy(), second(X0, W0), rtol=1e-4, atol=1e-5)
    assert_close(
        third.numpy(), jax.grad(lambda x: jnp.sum(second(x, W0)))(X0), rtol=1e-4, atol=1e-5
    )


def test_mixed_second_derivative_and_backward_create_graph():
    x, w = vj.tensor(X0, requires_grad=True), vj.tensor(W0, requires_grad=True)
    g_vj(x, w).backward(create_graph=True)
    assert x.grad.grad_fn is not None  # .grad itself has history, as in PyTorch
    gx = x.grad
    w.grad = None
    (gx * gx).sum().backward(inputs=[w])  # d/dw |d/dx g|^2
    mixed = jax.grad(lambda w: jnp.sum(jax.grad(g_jnp)(X0, w) ** 2))(W0)
    assert_close(w.grad.numpy(), mixed, rtol=1e-4, atol=1e-5)


def test_second_order_loop_keeps_memory_flat():
    import gc

    from varjax._record import Node

    def live_nodes():  # no gc.collect(): only reference counting frees things here
        return sum(1 for o in gc.get_objects() if type(o) is Node)

    x = vj.tensor(X0, requires_grad=True)
    gc.collect()
    gc.disable()  # so a reference cycle would pile up instead of being collected
    try:
        for i in range(100):
            (g,) = vj.autograd.grad((x.sin() * x).sum(), x, create_graph=True)
            (h,) = vj.autograd.grad(g.sum(), x)
            with vj.no_grad():
                x -= 0.01 * h
            if i == 10:
                base = live_nodes()
        assert live_nodes() <= base + 5
    finally:
        gc.enable()
    expected = X0.copy()
    for _ in range(100):
        expected = expected - 0.01 * (2 * np.cos(expected) - expected * np.sin(expected))
    assert_close(x.detach().numpy(), expected, rtol=1e-4, atol=1e-5)
