"""micrograd (Karpathy's scalar autograd engine, a test dependency) checks itself against
PyTorch in float64: ``torch.Tensor([-4.0]).double()``, ``x.requires_grad = True``,
``y.data.item()``, ``x.grad.item()``. The same kind of check, with varjax as ``torch``, must give
micrograd's numbers exactly (its own test file passes with only its import changed; issue 12).
"""

from __future__ import annotations

import pytest

import varjax as vj

Value = pytest.importorskip("micrograd.engine").Value


def _chain(x):
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    return h + q + q * x


def _mixed(a, b):
    c = a + b
    d = a * b + b**3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    f = (c - d) ** 2
    return f / 2.0 + 10.0 / f


def _tensor(value: float):
    x = vj.Tensor([value]).double()  # float32 first, as torch.Tensor, then float64
    x.requires_grad = True
    return x


def test_a_chain_gives_micrograds_value_and_gradient_exactly():
    x = Value(-4.0)
    y = _chain(x)
    y.backward()
    xv = _tensor(-4.0)
    yv = _chain(xv)
    yv.backward()
    assert yv.dtype == vj.float64
    assert y.data == yv.data.item() and x.grad == xv.grad.item()


def test_mixed_ops_give_micrograds_values_and_gradients():
    a, b = Value(-4.0), Value(2.0)
    g = _mixed(a, b)
    g.backward()
    av, bv = _tensor(-4.0), _tensor(2.0)
    gv = _mixed(av, bv)
    gv.backward()
    assert abs(g.data - gv.data.item()) < 1e-6
    assert abs(a.grad - av.grad.item()) < 1e-6 and abs(b.grad - bv.grad.item()) < 1e-6
    # float64 keeps far more than micrograd's tolerance asks: its values to 1e-12
    assert abs(g.data - gv.data.item()) < 1e-12 * abs(g.data)
