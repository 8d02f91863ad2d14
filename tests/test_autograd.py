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
    with pytest.raises(NotImplementedError, match="create_graph"):
        vj.autograd.grad((x * 2).sum(), [x], create_graph=True)
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
