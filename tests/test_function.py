"""Custom autograd.Function: analytic gradients, ctx, multiple outputs, errors, and use inside
create_graph chains (lowered to jax.custom_vjp, so it sits in the compiled replay)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_close

import varjax as vj
from varjax.autograd import Function

X0 = np.array([0.5, -1.0, 2.0], np.float32)


class ScaledCube(Function):
    @staticmethod
    def forward(ctx, x, k):
        ctx.save_for_backward(x)
        ctx.k = k
        ctx.seen_needs = ctx.needs_input_grad
        return x**3 * k

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x**2 * ctx.k, None


class SplitExp(Function):
    """Two outputs, one of them non-differentiable (an index-like mask)."""

    @staticmethod
    def forward(ctx, x, y):
        e = x.exp()
        ctx.save_for_backward(e)
        mask = x > 0
        ctx.mark_non_differentiable(mask)
        return e * y, mask

    @staticmethod
    def backward(ctx, g, g_mask):
        (e,) = ctx.saved_tensors
        return g * e, None  # no gradient for y, although it may require one


def test_function_gradients_are_the_analytic_ones(mode):
    x = vj.tensor(X0, requires_grad=True)
    y = ScaledCube.apply(x, 2.0)
    assert y.grad_fn.name() == "ScaledCubeBackward"
    assert_close(y.detach().numpy(), 2 * X0**3)
    y.sum().backward()
    assert_close(x.grad.numpy(), 6 * X0**2)


def test_function_inside_a_graph_and_in_create_graph_chains():
    x = vj.tensor(X0, requires_grad=True)
    out = (ScaledCube.apply(x.sin(), 1.0) * x).sum()
    (g,) = vj.autograd.grad(out, x, create_graph=True)
    s, c = np.sin(X0), np.cos(X0)
    assert_close(g.detach().numpy(), 3 * s**2 * c * X0 + s**3, rtol=1e-5)
    (h,) = vj.autograd.grad(g.sum(), x)  # differentiates the user's backward
    expected = 6 * s * c**2 * X0 - 3 * s**3 * X0 + 6 * s**2 * c
    assert_close(h.numpy(), expected, rtol=1e-4, atol=1e-5)


def test_multiple_outputs_none_gradients_and_non_differentiable_outputs():
    x = vj.tensor(X0, requires_grad=True)
    y = vj.tensor([1.0, 2.0, 3.0], requires_grad=True)
    out, mask = SplitExp.apply(x, y)
    assert not mask.requires_grad and mask.dtype == np.bool_
    assert mask.tolist() == [True, False, True]
    out.sum().backward()
    assert_close(x.grad.numpy(), np.exp(X0))  # what this backward computes: g * e
    assert_close(y.grad.numpy(), [0.0, 0.0, 0.0])  # backward said None: a zero gradient


def test_needs_input_grad():
    seen = {}

    class Probe(Function):
        @staticmethod
        def forward(ctx, a, b):
            seen["needs"] = ctx.needs_input_grad
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g, g

    Probe.apply(vj.tensor(X0, requires_grad=True), vj.tensor(X0)).sum().backward()
    assert seen["needs"] == (True, False)


def test_wrong_gradients_give_clear_errors():
    class TooFew(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g

    class WrongShape(Function):
        @staticmethod
        def forward(ctx, a):
            return a.sum()

        @staticmethod
        def backward(ctx, g):
            return g  # should be expanded to a's shape

    x = vj.tensor(X0, requires_grad=True)
    with pytest.raises(RuntimeError, match="returned an incorrect number of gradients"):
        TooFew.apply(x, x * 1).sum().backward()
    with pytest.raises(RuntimeError, match="returned an invalid gradient at index 0"):
        WrongShape.apply(x).backward()
    assert x.grad is None  # nothing was accumulated by the failed backwards
