"""gradcheck and gradgradcheck: float64 central differences (varjax turns on JAX's x64 mode)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import varjax as vj
from varjax.autograd import GradcheckError, gradcheck, gradgradcheck


@pytest.fixture
def xw():
    rng = np.random.default_rng(0)
    x = vj.tensor(rng.standard_normal(4), requires_grad=True)
    w = vj.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    assert x.dtype == np.float64
    return x, w


def test_gradcheck_passes_good_gradients(xw):
    def net(x, w):
        h = (w @ x).tanh()
        return (h * h).sum() + vj.nn.functional.softplus(x).sum(), h.sigmoid()

    assert gradcheck(net, xw)
    assert gradgradcheck(lambda x, w: (w @ x).sin().sum() * x.exp(), xw)


def test_gradcheck_catches_a_wrong_op_gradient(xw):
    @jax.custom_vjp
    def wrong_sin(a):
        return jnp.sin(a)

    wrong_sin.defvjp(lambda a: (jnp.sin(a), a), lambda a, g: (g * jnp.sin(a),))  # not cos
    bad = vj.op(wrong_sin)
    with pytest.raises(GradcheckError, match="Jacobian mismatch for output 0 with respect to "
                                             "input 0"):  # fmt: skip
        gradcheck(lambda x: bad(x), (xw[0],))
    assert gradcheck(lambda x: bad(x), (xw[0],), raise_exception=False) is False


class WrongCube(vj.autograd.Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a**3

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * 2 * a**2  # should be 3 a^2


class RightCube(WrongCube):
    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * 3 * a**2


def test_gradcheck_of_custom_functions(xw):
    x = xw[0]
    assert gradcheck(RightCube.apply, (x,)) and gradgradcheck(RightCube.apply, (x,))
    assert gradcheck(WrongCube.apply, (x,), raise_exception=False) is False


def test_gradcheck_asks_for_float64_inputs():
    x = vj.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="input 0 is varjax.float32; finite differences need"):
        gradcheck(lambda x: x * 2, (x,))
