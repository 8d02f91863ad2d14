"""``varjax.compile`` (issue 12, part 6): ``torch.compile``'s spelling. Calls that need
gradients run as uncompiled (their backward compiles with them) and give ``jax.grad``'s
gradients; calls that cannot need gradients run as one cached ``varjax.jit`` program."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from conftest import assert_close

import varjax as vj

W = np.array([[0.5, -1.0, 2.0]], np.float32)
X = np.arange(6, dtype=np.float32).reshape(2, 3) / 4


def _model():
    m = vj.nn.Sequential(vj.nn.Linear(3, 1), vj.nn.Tanh())
    with vj.no_grad():
        m[0].weight.copy_(vj.tensor(W))
        m[0].bias.fill_(0.1)
    return m


def _reference(w, b, x):
    return jnp.tanh(x @ w.T + b)


def test_a_compiled_module_trains_with_the_same_gradients():
    m = _model()
    cm = vj.compile(m)
    loss = cm(vj.tensor(X)).pow(2).sum()
    loss.backward()
    grads = jax.grad(lambda w, b: jnp.sum(_reference(w, b, X) ** 2), argnums=(0, 1))
    gw, gb = grads(jnp.asarray(W), jnp.asarray([0.1]))
    assert_close(m[0].weight.grad.numpy(), gw, rtol=1e-5)
    assert_close(m[0].bias.grad.numpy(), gb, rtol=1e-5)
    assert cm._orig_mod is m and next(cm.parameters()) is m[0].weight
    cm.eval()
    assert not m.training


def test_inference_runs_as_one_cached_program():
    m = _model()
    cm = vj.compile(m, mode="reduce-overhead", fullgraph=True)
    want = _reference(jnp.asarray(W), jnp.asarray([0.1]), X)
    with vj.no_grad():
        for _ in range(3):
            out = cm(vj.tensor(X))
            assert_close(out.numpy(), want, rtol=1e-6)
    assert cm._whole.cache_size() == 1 and not out.requires_grad
    with vj.inference_mode():
        cm(vj.tensor(X[:1]))  # a new shape: one more program
    assert cm._whole.cache_size() == 2


def test_compiled_functions_and_decorators():
    @vj.compile
    def f(a):
        return (a.sin() * 2).sum()

    @vj.compile(dynamic=False)
    def g(a):
        return a * 3

    x = vj.tensor([0.5, 1.0])
    assert_close(f(x).item(), float(np.sum(np.sin([0.5, 1.0]) * 2)), rtol=1e-6)
    assert f.__name__ == "f" and g(x).tolist() == [1.5, 3.0]
    v = vj.tensor([0.5, 1.0], requires_grad=True)
    f(v).backward()  # an input that requires grad: the gradient is there
    assert_close(v.grad.numpy(), 2 * np.cos([0.5, 1.0]), rtol=1e-6)
    assert vj.compile(f._orig_mod, disable=True) is f._orig_mod
