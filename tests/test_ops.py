"""Every op in the table: value against plain jax.numpy, gradient against jax.grad, and a
finite-difference check in a random direction, at several shapes (broadcasting, empty dims).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_close

import varjax as vj
from varjax._ops import OPS


@dataclass
class Case:
    op: str  # the table entry this row covers
    vj_fn: Callable  # on Variables
    jnp_fn: Callable  # the independent oracle, on jax arrays
    shapes: list  # one tuple of input shapes per tested configuration
    domain: str = "any"  # "pos": positive inputs; "away": |x| >= 0.3 (kinks, poles)


UNARY_SHAPES = [((),), ((5,),), ((2, 3),), ((0, 3),)]
BINARY_SHAPES = [((2, 3), (2, 3)), ((2, 3), (3,)), ((4, 1), (1, 3)), ((), (2,)), ((0, 3), (3,))]

DIFF_CASES = [
    Case("add", lambda a, b: a + b, jnp.add, BINARY_SHAPES),
    Case("sub", lambda a, b: a - b, jnp.subtract, BINARY_SHAPES),
    Case("mul", lambda a, b: a * b, jnp.multiply, BINARY_SHAPES),
    Case("div", lambda a, b: a / b, jnp.divide, BINARY_SHAPES, "away"),
    Case("pow", lambda a, b: a**b, jnp.power, BINARY_SHAPES, "pos"),
    Case(
        "matmul",
        lambda a, b: a @ b,
        jnp.matmul,
        [((3, 4), (4, 2)), ((4,), (4, 2)), ((3, 4), (4,)), ((2, 3, 4), (4, 5)), ((0, 4), (4, 2))],
    ),
    Case("neg", lambda a: -a, jnp.negative, UNARY_SHAPES),
    Case("exp", lambda a: a.exp(), jnp.exp, UNARY_SHAPES),
    Case("log", lambda a: a.log(), jnp.log, UNARY_SHAPES, "pos"),
    Case("sin", lambda a: a.sin(), jnp.sin, UNARY_SHAPES),
    Case("cos", lambda a: a.cos(), jnp.cos, UNARY_SHAPES),
    Case("tanh", lambda a: a.tanh(), jnp.tanh, UNARY_SHAPES),
    Case("relu", lambda a: a.relu(), jax.nn.relu, UNARY_SHAPES, "away"),
    Case("sigmoid", lambda a: a.sigmoid(), jax.nn.sigmoid, UNARY_SHAPES),
    Case("sqrt", lambda a: a.sqrt(), jnp.sqrt, UNARY_SHAPES, "pos"),
    Case("abs", lambda a: abs(a), jnp.abs, UNARY_SHAPES, "away"),
    Case("sum", lambda a: a.sum(), jnp.sum, UNARY_SHAPES),
    Case(
        "sum",
        lambda a: a.sum(dim=1, keepdim=True),
        lambda a: jnp.sum(a, 1, keepdims=True),
        [((2, 3),), ((0, 3),), ((2, 3, 4),)],
    ),
    Case(
        "sum",
        lambda a: a.sum(dim=(0, -1)),
        lambda a: jnp.sum(a, (0, a.ndim - 1)),
        [((2, 3),), ((2, 3, 4),)],
    ),
    Case("mean", lambda a: a.mean(), jnp.mean, [((),), ((5,),), ((2, 3),)]),
    Case("mean", lambda a: a.mean(-1), lambda a: jnp.mean(a, -1), [((2, 3),), ((0, 3),)]),
    Case(
        "norm", lambda a: a.norm(), lambda a: jnp.linalg.norm(a.reshape(-1)), [((5,),), ((2, 3),)]
    ),
    Case(
        "norm",
        lambda a: a.norm(dim=1, keepdim=True),
        lambda a: jnp.linalg.norm(a, axis=1, keepdims=True),
        [((2, 3),)],
    ),
    Case(
        "norm",
        lambda a: a.norm(p=1, dim=0),
        lambda a: jnp.linalg.norm(a, ord=1, axis=0),
        [((2, 3),)],
        "away",
    ),
    Case(
        "norm",
        lambda a: a.norm(p=3),
        lambda a: jnp.sum(jnp.abs(a) ** 3) ** (1 / 3),
        [((4,),)],
        "away",
    ),
    Case("reshape", lambda a: a.reshape(3, -1), lambda a: a.reshape(3, -1), [((2, 3),), ((6,),)]),
    Case("reshape", lambda a: a.view(-1), lambda a: a.reshape(-1), [((2, 3),), ((0, 3),)]),
    Case("transpose", lambda a: a.t(), lambda a: a.T, [((2, 3),)]),
    Case("transpose", lambda a: a.transpose(0, 2), lambda a: jnp.swapaxes(a, 0, 2), [((2, 3, 4),)]),
]

# Python scalars on either side (the reflected operators) are inputs of the program too.
SCALAR_CASES = [
    Case("add", lambda a: 2.5 + a, lambda a: 2.5 + a, UNARY_SHAPES),
    Case("sub", lambda a: 2.5 - a, lambda a: 2.5 - a, UNARY_SHAPES),
    Case("sub", lambda a: a - 2, lambda a: a - 2, UNARY_SHAPES),
    Case("mul", lambda a: 3 * a, lambda a: 3 * a, UNARY_SHAPES),
    Case("div", lambda a: 1.5 / a, lambda a: 1.5 / a, UNARY_SHAPES, "away"),
    Case("div", lambda a: a / 4, lambda a: a / 4, UNARY_SHAPES),
    Case("pow", lambda a: a**2, lambda a: a**2, UNARY_SHAPES),
    Case("pow", lambda a: a**0.5, lambda a: a**0.5, UNARY_SHAPES, "pos"),
    Case("pow", lambda a: 2.0**a, lambda a: 2.0**a, UNARY_SHAPES),
]

ALL_CASES = DIFF_CASES + SCALAR_CASES


def _draw(rng, shape, domain):
    x = rng.uniform(-1.5, 1.5, shape).astype(np.float32)
    if domain == "pos":
        return np.abs(x) + 0.5
    if domain == "away":
        return np.where(x >= 0, x + 0.3, x - 0.3).astype(np.float32)
    return x


def _params(nonempty: bool = False):
    for case in ALL_CASES:
        for shapes in case.shapes:
            if nonempty and any(0 in s for s in shapes):
                continue  # no direction to probe in an empty input; the value test covers it
            name = case.op + "-" + "x".join(str(s) for s in shapes)
            yield pytest.param(case, shapes, id=name)


@pytest.mark.parametrize("case,shapes", list(_params()))
def test_value_and_gradient(case: Case, shapes, rng, mode):
    xs = [_draw(rng, s, case.domain) for s in shapes]
    expected = case.jnp_fn(*map(jnp.asarray, xs))
    cot = rng.standard_normal(expected.shape).astype(np.float32)

    vs = [vj.tensor(x, requires_grad=True) for x in xs]
    out = case.vj_fn(*vs)
    assert tuple(out.shape) == expected.shape and out.dtype == expected.dtype
    assert out.grad_fn is not None and out.grad_fn.name() == OPS[case.op].grad_name
    assert_close(out.detach().numpy(), expected, rtol=1e-5, atol=1e-5)

    out.backward(vj.tensor(cot))
    oracle = jax.grad(lambda *a: jnp.sum(case.jnp_fn(*a) * cot), argnums=tuple(range(len(xs))))
    for v, g in zip(vs, oracle(*map(jnp.asarray, xs))):
        assert v.grad is not None and v.grad.shape == v.shape
        assert_close(v.grad.numpy(), g, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("case,shapes", list(_params(nonempty=True)))
def test_finite_differences(case: Case, shapes, rng):
    """The backward gradient's projection on a random direction matches central differences."""
    xs = [_draw(rng, s, case.domain).astype(np.float64) for s in shapes]
    dirs = [rng.standard_normal(x.shape) for x in xs]
    out_shape = case.jnp_fn(*map(jnp.asarray, xs)).shape
    cot = rng.standard_normal(out_shape)

    def f(t):  # varjax's forward along the direction, reduced with the cotangent
        vs = [vj.tensor((x + t * d).astype(np.float32)) for x, d in zip(xs, dirs)]
        return float(np.sum(np.asarray(case.vj_fn(*vs), np.float64) * cot))

    eps = 1e-2
    fd = (f(eps) - f(-eps)) / (2 * eps)
    vs = [vj.tensor(x.astype(np.float32), requires_grad=True) for x in xs]
    case.vj_fn(*vs).backward(vj.tensor(cot.astype(np.float32)))
    analytic = sum(float(np.sum(v.grad.numpy() * d)) for v, d in zip(vs, dirs))
    assert abs(fd - analytic) <= 2e-2 * max(1.0, abs(fd)), (fd, analytic)


def test_every_differentiable_op_has_a_row():
    covered = {c.op for c in ALL_CASES}
    differentiable = {name for name, op in OPS.items() if op.grad_name is not None}
    assert differentiable <= covered, differentiable - covered


COMPARISONS = [
    ("lt", lambda a, b: a < b, jnp.less),
    ("le", lambda a, b: a <= b, jnp.less_equal),
    ("gt", lambda a, b: a > b, jnp.greater),
    ("ge", lambda a, b: a >= b, jnp.greater_equal),
    ("eq", lambda a, b: a == b, jnp.equal),
    ("ne", lambda a, b: a != b, jnp.not_equal),
]


@pytest.mark.parametrize("name,vj_fn,jnp_fn", COMPARISONS, ids=[c[0] for c in COMPARISONS])
def test_comparisons_are_boolean_and_not_differentiable(name, vj_fn, jnp_fn, mode):
    a = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], np.float32)
    b = np.array([2.0, 2.0, 2.0], np.float32)
    x = vj.tensor(a, requires_grad=True)
    out = vj_fn(x, vj.tensor(b))
    assert out.dtype == np.bool_ and not out.requires_grad and out.grad_fn is None
    np.testing.assert_array_equal(out.numpy(), jnp_fn(a, b))
    np.testing.assert_array_equal(vj_fn(x, 2.0).numpy(), jnp_fn(a, 2.0))  # with a scalar
    np.testing.assert_array_equal(vj_fn(2.0, x).numpy(), jnp_fn(2.0, a))  # reflected


def test_creation_ops_match_numpy(mode):
    np.testing.assert_array_equal(vj.ones(2, 3).numpy(), np.ones((2, 3), np.float32))
    np.testing.assert_array_equal(vj.zeros((2,)).numpy(), np.zeros(2, np.float32))
    np.testing.assert_array_equal(vj.full((2, 2), 3.5).numpy(), np.full((2, 2), 3.5, np.float32))
    np.testing.assert_array_equal(vj.full((2,), 7).numpy(), np.full(2, 7))
    np.testing.assert_array_equal(vj.arange(5).numpy(), np.arange(5))
    np.testing.assert_allclose(vj.arange(1, 2, 0.25).numpy(), np.arange(1, 2, 0.25))
    np.testing.assert_allclose(vj.linspace(0, 1, 5).numpy(), np.linspace(0, 1, 5), rtol=1e-6)
    np.testing.assert_array_equal(vj.eye(3).numpy(), np.eye(3))
    np.testing.assert_array_equal(vj.eye(2, 3).numpy(), np.eye(2, 3))
    x = vj.randn(2, 3)
    np.testing.assert_array_equal(vj.ones_like(x).numpy(), np.ones((2, 3)))
    np.testing.assert_array_equal(vj.zeros_like(x).numpy(), np.zeros((2, 3)))
    assert vj.ones(2).dtype == np.float32 and vj.arange(3).dtype.kind == "i"
    assert vj.ones(2, dtype=vj.int32).dtype == np.int32


def test_random_draws_are_seeded_and_distributed(mode):
    vj.manual_seed(123)
    a, u = vj.randn(4000), vj.rand(4000)
    vj.manual_seed(123)
    b = vj.randn(4000)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(a.numpy(), vj.randn(4000).numpy())  # a fresh draw differs
    assert abs(a.numpy().mean()) < 0.1 and abs(a.numpy().std() - 1) < 0.05
    un = u.numpy()
    assert un.min() >= 0 and un.max() < 1 and abs(un.mean() - 0.5) < 0.03
    assert vj.initial_seed() == 123


def test_detach_keeps_value_and_drops_history(mode):
    x = vj.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 3).detach()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    np.testing.assert_array_equal(y.numpy(), [3.0, 6.0])
