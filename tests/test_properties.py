"""Property-based tests: random programs over the op table, varjax's backward against
jax.grad of the same program written in plain jax.numpy.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_close
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import varjax as vj

# name -> (arity, varjax function, jax.numpy function). Composites keep domains valid
# (log of a positive, division by a value away from zero) while using the table's ops.
STEPS = {
    "neg": (1, lambda a: -a, lambda a: -a),
    "sin": (1, lambda a: a.sin(), jnp.sin),
    "cos": (1, lambda a: a.cos(), jnp.cos),
    "tanh": (1, lambda a: a.tanh(), jnp.tanh),
    "sigmoid": (1, lambda a: a.sigmoid(), jax.nn.sigmoid),
    "relu": (1, lambda a: a.relu(), jax.nn.relu),
    "abs": (1, lambda a: a.abs(), jnp.abs),
    "exp": (1, lambda a: a.exp(), jnp.exp),
    "log": (1, lambda a: (a.abs() + 1).log(), lambda a: jnp.log(jnp.abs(a) + 1)),
    "sqrt": (1, lambda a: (a * a + 1).sqrt(), lambda a: jnp.sqrt(a * a + 1)),
    "square": (1, lambda a: a**2, lambda a: a**2),
    "scale": (1, lambda a, c: a * c, lambda a, c: a * c),
    "rsub": (1, lambda a, c: c - a, lambda a, c: c - a),
    "rdiv": (1, lambda a, c: a / c, lambda a, c: a / c),
    "rowsum": (1, lambda a: a + a.sum(1, keepdim=True), lambda a: a + jnp.sum(a, 1, keepdims=True)),
    "colmean": (
        1,
        lambda a: a * a.mean(0, keepdim=True),
        lambda a: a * jnp.mean(a, 0, keepdims=True),
    ),
    "norm": (1, lambda a: a / (a.norm() + 1), lambda a: a / (jnp.linalg.norm(a) + 1)),
    "reshape": (1, lambda a: a.reshape(3, 2).t(), lambda a: a.reshape(3, 2).T),
    "add": (2, lambda a, b: a + b, jnp.add),
    "sub": (2, lambda a, b: a - b, jnp.subtract),
    "mul": (2, lambda a, b: a * b, jnp.multiply),
    "div": (2, lambda a, b: a / (b * b + 1), lambda a, b: a / (b * b + 1)),
    "pow": (2, lambda a, b: (a * a + 1) ** b.tanh(), lambda a, b: (a * a + 1) ** jnp.tanh(b)),
    "matmul": (2, lambda a, b: (a @ b.t()) @ a, lambda a, b: (a @ b.T) @ a),
    "bias": (2, lambda a, b: a + b.sum(0), lambda a, b: a + jnp.sum(b, 0)),  # broadcast (3,)
    "nograd": (1, None, None),  # a subgraph recorded under no_grad: a constant for backward
    # the rest of the op library
    "expm1": (1, lambda a: a.tanh().expm1(), lambda a: jnp.expm1(jnp.tanh(a))),
    "log1p": (1, lambda a: a.abs().log1p(), lambda a: jnp.log1p(jnp.abs(a))),
    "gelu": (1, lambda a: a.gelu(), lambda a: jax.nn.gelu(a, approximate=False)),
    "silu": (1, lambda a: a.silu(), jax.nn.silu),
    "softplus": (1, lambda a: F.softplus(a), jax.nn.softplus),
    "erf": (1, lambda a: a.erf(), jax.scipy.special.erf),
    "rsqrt": (1, lambda a: (a * a + 1).rsqrt(), lambda a: 1 / jnp.sqrt(a * a + 1)),
    "maximum": (2, vj.maximum, jnp.maximum),
    "minimum": (2, vj.minimum, jnp.minimum),
    "where": (2, lambda a, b: vj.where(a > b, a, b * 2), lambda a, b: jnp.where(a > b, a, b * 2)),
    "lerp": (2, lambda a, b: a.lerp(b, 0.3), lambda a, b: a + 0.3 * (b - a)),
    "clamp": (1, lambda a: a.clamp(-0.5, 0.5), lambda a: jnp.clip(a, -0.5, 0.5)),
    "amax": (1, lambda a: a - a.amax(1, keepdim=True), lambda a: a - jnp.max(a, 1, keepdims=True)),
    "maxdim": (1, lambda a: a * a.max(0).values, lambda a: a * jnp.max(a, 0)),
    "var": (
        1,
        lambda a: a * a.var(1, keepdim=True),
        lambda a: a * jnp.var(a, 1, ddof=1, keepdims=True),
    ),
    "logsumexp": (
        1,
        lambda a: a - a.logsumexp(1, keepdim=True),
        lambda a: a - jax.scipy.special.logsumexp(a, 1, keepdims=True),
    ),
    "cumsum": (1, lambda a: a.cumsum(1), lambda a: jnp.cumsum(a, 1)),
    "cumprod": (1, lambda a: a.tanh().cumprod(0), lambda a: jnp.cumprod(jnp.tanh(a), 0)),
    "softmax": (1, lambda a: a.softmax(1), lambda a: jax.nn.softmax(a, 1)),
    "log_softmax": (1, lambda a: F.log_softmax(a, 0), lambda a: jax.nn.log_softmax(a, 0)),
    "flip": (1, lambda a: a.flip(1), lambda a: jnp.flip(a, 1)),
    "roll": (1, lambda a: a.roll(1, 1), lambda a: jnp.roll(a, 1, 1)),
    "catsplit": (
        1,
        lambda a: vj.cat(a.split([1, 2], 1)[::-1], 1),
        lambda a: jnp.concatenate([a[:, 1:], a[:, :1]], 1),
    ),
    "stack": (2, lambda a, b: vj.stack([a, b]).mean(0), lambda a, b: (a + b) / 2),
    "gather": (
        1,
        lambda a: a.gather(1, vj.tensor([[2, 0, 1], [1, 1, 0]])),
        lambda a: jnp.take_along_axis(a, np.array([[2, 0, 1], [1, 1, 0]]), 1),
    ),
    "index": (1, lambda a: a[[1, 0]], lambda a: a[np.array([1, 0])]),
    "scatter_add": (
        2,
        lambda a, b: a.scatter_add(1, vj.tensor([[0, 0, 2], [1, 2, 2]]), b),
        lambda a, b: a.at[np.array([[0], [1]]), np.array([[0, 0, 2], [1, 2, 2]])].add(b),
    ),
    "pad": (1, lambda a: F.pad(a, (1, -1)), lambda a: jnp.pad(a, ((0, 0), (1, 0)))[:, :3]),
    "einsum": (
        2,
        lambda a, b: vj.einsum("ij,kj->ik", a, b) @ a,
        lambda a, b: jnp.einsum("ij,kj->ik", a, b) @ a,
    ),
    "masked_fill": (1, lambda a: a.masked_fill(a > 0.5, 0.5), lambda a: jnp.where(a > 0.5, 0.5, a)),
    # in-place ops on a fresh non-leaf copy: the oracle is the out-of-place program
    "add_": (2, lambda a, b: (a * 1).add_(b, alpha=0.5), lambda a, b: a + 0.5 * b),
    "mul_": (2, lambda a, b: _iop(a, lambda c: c.mul_(b)), lambda a, b: a * b),
    "iadd": (2, lambda a, b: _iadd(a, b), lambda a, b: a + b),
    "setitem": (2, lambda a, b: _setrow(a, b), lambda a, b: a.at[0].set(b[1])),
    "clamp_": (1, lambda a: _iop(a, lambda c: c.clamp_(max=0.2)), lambda a: jnp.minimum(a, 0.2)),
}

F = vj.nn.functional


def _iop(a, f):
    c = a * 1
    f(c)
    return c


def _iadd(a, b):
    c = a * 1
    c += b
    return c


def _setrow(a, b):
    c = a * 1
    c[0] = b[1]
    return c


NAMES = sorted(STEPS)

step = st.tuples(
    st.sampled_from(NAMES),
    st.integers(0, 100),
    st.integers(0, 100),
    st.floats(0.25, 2.0) | st.floats(-2.0, -0.25),
)
programs = st.lists(step, min_size=1, max_size=8)


def run(program, leaves, lib):
    pool = list(leaves)
    for name, i, j, c in program:
        arity, vfn, jfn = STEPS[name]
        a, b = pool[i % len(pool)], pool[j % len(pool)]
        if name == "nograd":
            if lib == "vj":
                with vj.no_grad():
                    pool.append(a * 2)
            else:
                pool.append(jax.lax.stop_gradient(a * 2))
            continue
        fn = vfn if lib == "vj" else jfn
        args = (a,) if arity == 1 else (a, b)
        if name in ("scale", "rsub", "rdiv"):
            args += (c,)
        pool.append(fn(*args))
    return pool[-1]


@pytest.mark.parametrize("eager", [False, True], ids=["lazy", "eager"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=programs, seed=st.integers(0, 2**16))
def test_random_programs_match_jax_grad(eager, program, seed):
    rng = np.random.default_rng(seed)
    xs = [rng.uniform(-1, 1, (2, 3)).astype(np.float32) for _ in range(2)]
    cot = rng.standard_normal((2, 3)).astype(np.float32)

    loss_fn = lambda *a: jnp.sum(run(program, a, "jnp") * cot)
    expected_value = run(program, [jnp.asarray(x) for x in xs], "jnp")
    expected_grads = jax.grad(loss_fn, argnums=(0, 1))(*map(jnp.asarray, xs))
    assume(bool(jnp.all(jnp.isfinite(expected_value))))
    assume(all(bool(jnp.all(jnp.isfinite(g))) for g in expected_grads))
    assume(float(jnp.max(jnp.abs(expected_value))) < 1e4)

    vj.config.eager = eager
    try:
        leaves = [vj.tensor(x, requires_grad=True) for x in xs]
        out = run(program, leaves, "vj")
        assert_close(out.detach().numpy(), expected_value, rtol=1e-4, atol=1e-5)
        if out.requires_grad:
            out.backward(vj.tensor(cot))
        for v, g in zip(leaves, expected_grads):
            got = np.zeros(v.shape) if v.grad is None else v.grad.numpy()
            assert_close(got, g, rtol=2e-3, atol=1e-4)
    finally:
        vj.config.eager = False
