"""Run by tests/test_gradcheck.py in a process with JAX_ENABLE_X64=1 (x64 is process-wide)."""

import jax
import jax.numpy as jnp
import numpy as np

import varjax as vj
from varjax.autograd import GradcheckError, gradcheck, gradgradcheck

rng = np.random.default_rng(0)
x = vj.tensor(rng.standard_normal(4), requires_grad=True)
w = vj.tensor(rng.standard_normal((3, 4)), requires_grad=True)
assert x.dtype == np.float64


def net(x, w):
    h = (w @ x).tanh()
    return (h * h).sum() + vj.nn.functional.softplus(x).sum(), h.sigmoid()


assert gradcheck(net, (x, w))
assert gradgradcheck(lambda x, w: (w @ x).sin().sum() * x.exp(), (x, w))


@jax.custom_vjp
def wrong_sin(a):
    return jnp.sin(a)


wrong_sin.defvjp(lambda a: (jnp.sin(a), a), lambda a, g: (g * jnp.sin(a),))  # should be cos
bad = vj.op(wrong_sin)
try:
    gradcheck(lambda x: bad(x), (x,))
except GradcheckError as e:
    assert "Jacobian mismatch for output 0 with respect to input 0" in str(e)
    print("caught")
else:
    raise AssertionError("gradcheck missed a wrong backward")
assert gradcheck(lambda x: bad(x), (x,), raise_exception=False) is False
print("ok")


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


assert gradcheck(RightCube.apply, (x,)) and gradgradcheck(RightCube.apply, (x,))
assert gradcheck(WrongCube.apply, (x,), raise_exception=False) is False
print("function")
