"""Hooks: register_hook on leaves and intermediates, handles, and the compiled-call counts
showing that hook-free backwards stay fused and a hook splits only at its node."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_close

import varjax as vj

X0 = np.array([0.5, -1.0, 2.0], np.float32)


def executions() -> int:
    s = vj.compile_stats()
    return s.compiles + s.cache_hits


def test_leaf_hook_sees_the_total_gradient_and_can_replace_it(mode):
    x = vj.tensor(X0, requires_grad=True)
    seen = []
    handle = x.register_hook(lambda g: seen.append(g.tolist()) or g.clamp(max=1.0))
    ((x * x).sum() + x.sin().sum()).backward()  # two paths into x: one call to the hook
    total = 2 * X0 + np.cos(X0)
    assert len(seen) == 1 and np.allclose(seen[0], total, rtol=1e-6)
    assert_close(x.grad.numpy(), np.minimum(total, 1.0))
    handle.remove()
    x.grad = None
    (x * x).sum().backward()
    assert_close(x.grad.numpy(), 2 * X0)


def test_intermediate_hook_replaces_the_gradient_flowing_back(mode):
    x = vj.tensor(X0, requires_grad=True)
    y = x.sin()
    seen = []
    y.register_hook(lambda g: seen.append(g.tolist()) or g * 10)
    out = (y * y).sum() + (x * 3).sum()
    out.backward()
    assert_close(seen[0], 2 * np.sin(X0), rtol=1e-6)  # d out / d y
    assert_close(x.grad.numpy(), 10 * 2 * np.sin(X0) * np.cos(X0) + 3, rtol=1e-5)


def test_nested_hooks_and_autograd_grad():
    x = vj.tensor(X0, requires_grad=True)
    a = x * 2
    b = a.tanh()
    a.register_hook(lambda g: g + 1)
    b.register_hook(lambda g: g * 3)
    out = (b * b).sum() + a.sum()
    (gx,) = vj.autograd.grad(out, x)
    # by hand: d/db = 2b -> *3; d/da = (6b)(1 - b^2) + 1 -> +1; d/dx = 2 * that
    bv = np.tanh(2 * X0)
    assert_close(gx.numpy(), 2 * (6 * bv * (1 - bv**2) + 1 + 1), rtol=1e-5)
    assert x.grad is None


def test_compiled_call_counts():
    x = vj.tensor(X0, requires_grad=True)
    other = vj.tensor(X0, requires_grad=True)
    other.register_hook(lambda g: g)  # hooks exist in the process, not in this graph

    def plain():
        (x.sin() * x).sum().backward()

    plain()
    before = executions()
    plain()
    assert executions() == before + 1  # a hook-free backward stays one fused call

    def retained():
        y = x.sin()
        y.retain_grad()
        (y * x).sum().backward()

    retained()
    before = executions()
    retained()
    assert executions() == before + 1  # retain_grad does not split

    def hooked():
        y = x.sin()
        y.register_hook(lambda g: g * 2)
        (y * x).sum().backward()

    hooked()
    before = executions()
    hooked()
    assert executions() - before <= 3  # split at the hook: above it, below it, accumulation


def test_hook_errors():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        vj.ones(2).register_hook(lambda g: g)
    x = vj.tensor(X0, requires_grad=True)
    x.register_hook(lambda g: g.sum())
    with pytest.raises(RuntimeError, match="returned a gradient of shape"):
        (x * x).sum().backward()


def test_hooked_gradients_match_jax_on_a_small_network():
    w = vj.tensor(np.array([[0.3, -0.2, 0.1], [0.5, 0.4, -0.6]], np.float32), requires_grad=True)
    x = vj.tensor(X0)
    h = (w @ x).tanh()
    h.register_hook(lambda g: g * 0.5)  # scaling the gradient at h halves everything below
    ((h * h).sum()).backward()
    f = lambda w: jnp.sum(jnp.tanh(w @ X0) ** 2)
    assert_close(w.grad.numpy(), 0.5 * jax.grad(f)(w.detach().numpy()), rtol=1e-5)
