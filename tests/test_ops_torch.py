"""Ops added as single table rows, run on PyTorch and on varjax with the same inputs: values,
gradients, dtypes and ``grad_fn`` names; ``%`` and ``//`` signs and rounding, in place too."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_close

import varjax as vj

torch = pytest.importorskip("torch")

X = np.array([-2.5, -1.0, 0.5, 3.0, -0.25, 1.75], np.float32)
Y = np.array([2.0, -3.0, 1.5, -2.0, 0.75, -0.5], np.float32)
UNIT = np.array([-0.9, -0.3, 0.1, 0.6, 0.8, -0.55], np.float32)  # inside (-1, 1)

UNARY = [
    ("sinh", X), ("cosh", X), ("asinh", X), ("atan", X), ("exp2", X), ("square", X),
    ("deg2rad", X), ("rad2deg", X), ("asin", UNIT), ("acos", UNIT), ("atanh", UNIT),
    ("acosh", np.abs(X) + 1), ("log10", np.abs(X)),
]  # fmt: skip
BINARY = ["atan2", "hypot", "logaddexp", "fmod", "remainder"]


def _both(fn_vj, fn_torch, *arrays):
    vs = [vj.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_v, out_t = fn_vj(*vs), fn_torch(*ts)
    out_v.sum().backward()
    out_t.sum().backward()
    return out_v, out_t, vs, ts


@pytest.mark.parametrize("name,x", UNARY, ids=[u[0] for u in UNARY])
def test_unary_rows_match_torch(name, x):
    out_v, out_t, (v,), (t,) = _both(
        lambda a: getattr(a, name)(), lambda a: getattr(torch, name)(a), x
    )
    assert_close(out_v.detach().numpy(), out_t.detach().numpy(), rtol=1e-5, atol=1e-5)
    assert_close(v.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-5)
    assert out_v.grad_fn.name() == out_t.grad_fn.name()
    assert str(out_v.dtype).removeprefix("varjax.") == str(out_t.dtype).removeprefix("torch.")


@pytest.mark.parametrize("name", BINARY)
def test_binary_rows_match_torch(name):
    out_v, out_t, vs, ts = _both(
        lambda a, b: getattr(vj, name)(a, b), lambda a, b: getattr(torch, name)(a, b), X, Y
    )
    assert_close(out_v.detach().numpy(), out_t.detach().numpy(), rtol=1e-5, atol=1e-6)
    for v, t in zip(vs, ts):
        assert_close(v.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_mod_and_floordiv_signs_match_torch(dtype):
    a = np.array([-7, 7, -7, 7, -3, 5], dtype)
    b = np.array([2, -2, -2, 2, 4, -3], dtype)
    va, vb, ta, tb = vj.tensor(a), vj.tensor(b), torch.tensor(a), torch.tensor(b)
    cases = [
        (va % vb, ta % tb), (va // vb, ta // tb), (vj.fmod(va, vb), torch.fmod(ta, tb)),
        (va % 3, ta % 3), (va // 3, ta // 3), (-11 % vb, -11 % tb), (-11 // vb, -11 // tb),
        (va % 2.5, ta % 2.5), (va // 2.5, ta // 2.5),
    ]  # fmt: skip
    for got, want in cases:
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        assert str(got.dtype).removeprefix("varjax.") == str(want.dtype).removeprefix("torch.")


def test_in_place_mod_and_floordiv_match_torch():
    v, t = vj.tensor(X.copy()), torch.tensor(X.copy())
    v %= 0.75
    t %= 0.75
    assert_close(v.numpy(), t.numpy(), atol=1e-6)
    v //= -0.5
    t //= -0.5
    assert_close(v.numpy(), t.numpy())
    assert v._version == 2


def test_remainder_gradients_match_torch():
    """d(x % y)/dx = 1 and d(x % y)/dy = -floor(x / y), as PyTorch."""
    out_v, out_t, vs, ts = _both(lambda a, b: a % b, lambda a, b: a % b, X, Y)
    for v, t in zip(vs, ts):
        assert_close(v.grad.numpy(), t.grad.numpy())
    assert_close(vs[1].grad.numpy(), -np.floor(X / Y))


def test_nan_to_num_and_predicates_match_torch():
    z = np.array([np.nan, np.inf, -np.inf, 1.5], np.float32)
    out_v, out_t, (v,), (t,) = _both(lambda a: a.nan_to_num(), torch.nan_to_num, z)
    np.testing.assert_array_equal(out_v.detach().numpy(), out_t.detach().numpy())
    np.testing.assert_array_equal(v.grad.numpy(), t.grad.numpy())  # zero where replaced
    assert out_v.grad_fn.name() == out_t.grad_fn.name()
    filled = vj.nan_to_num(vj.tensor(z), nan=1.0, posinf=2.0, neginf=-3.0)
    np.testing.assert_array_equal(
        filled.numpy(), torch.nan_to_num(torch.tensor(z), 1.0, 2.0, -3.0).numpy()
    )
    for name in ("isnan", "isinf", "isfinite"):
        got, want = getattr(vj, name)(vj.tensor(z)), getattr(torch, name)(torch.tensor(z))
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        assert got.dtype == np.bool_ and not got.requires_grad


def test_integer_inputs_promote_as_torch_does():
    a = np.array([-2, 1, 3], np.int32)
    for name in ("sinh", "exp2", "deg2rad", "atan", "square"):
        got, want = getattr(vj, name)(vj.tensor(a)), getattr(torch, name)(torch.tensor(a))
        assert str(got.dtype).removeprefix("varjax.") == str(want.dtype).removeprefix("torch.")
        assert_close(got.numpy(), want.numpy(), rtol=1e-6)


# PyTorch numbers the backwards of a function's overloads: each program, with x requiring
# grad and y not, on both libraries
OVERLOADED = [
    lambda lib, x, y: x.sum(), lambda lib, x, y: x.sum(0), lambda lib, x, y: x.mean((0, 1)),
    lambda lib, x, y: x.prod(), lambda lib, x, y: x.prod(1),
    lambda lib, x, y: lib.fmod(x, 2.0), lambda lib, x, y: lib.fmod(x, y),
    lambda lib, x, y: x % 1.5, lambda lib, x, y: lib.remainder(x, y),
    lambda lib, x, y: x**2, lambda lib, x, y: x**y, lambda lib, x, y: y**x,
    lambda lib, x, y: 2.0**x, lambda lib, x, y: x.clamp(0.0, 1.0), lambda lib, x, y: x.clamp(y),
    lambda lib, x, y: x.clamp(max=y), lambda lib, x, y: lib.lerp(x, y, 0.5),
    lambda lib, x, y: lib.lerp(x, y, y), lambda lib, x, y: x.norm(),
    lambda lib, x, y: x.norm(p=1, dim=0), lambda lib, x, y: x.clamp_min(0.0),
    lambda lib, x, y: x.clamp_min(y), lambda lib, x, y: lib.clamp_max(x, 0.5),
    lambda lib, x, y: x.clamp_max(y), lambda lib, x, y: x.masked_fill(y > 0, 2.0),
    lambda lib, x, y: x.masked_fill(y > 0, y[0, 0]),
    lambda lib, x, y: x.index_fill(1, lib.tensor([0, 2]), -1.0),
    lambda lib, x, y: x.index_fill(0, lib.tensor([1]), y[1, 1]),
]  # fmt: skip


@pytest.mark.parametrize("program", OVERLOADED)
def test_grad_fn_names_number_pytorchs_overloads(program):
    def run(lib):
        x = lib.tensor(X.reshape(2, 3), requires_grad=True)
        return program(lib, x, lib.tensor(Y.reshape(2, 3)))

    got, expected = run(vj), run(torch)
    assert got.grad_fn.name() == expected.grad_fn.name()
    assert_close(got.detach(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "program",
    [
        lambda lib: lib.zeros(3).masked_fill(lib.ones(3), 1.0),  # a float mask
        lambda lib: lib.zeros(3).masked_fill(lib.ones(3) > 0, lib.ones(3)),  # a 1-d value
        lambda lib: lib.zeros(3).index_fill(0, lib.tensor([0]), lib.ones(2)),
    ],
)
def test_fill_value_errors_match_torch(program):
    with pytest.raises(Exception) as expected:
        program(torch)
    with pytest.raises(type(expected.value)) as got:
        program(vj)
    assert str(got.value).startswith(str(expected.value).split(", but")[0])


def test_fills_keep_the_input_dtype_as_torch_does():
    def run(lib):
        x, mask = lib.tensor([1, 2, 3]), lib.tensor([True, False, True])
        return [
            x.masked_fill(mask, 0.5), x.masked_fill(mask, lib.tensor(2.5)),
            x.index_fill(0, lib.tensor([1]), 7.9), lib.zeros(2).masked_fill(mask[:2], 3),
            lib.zeros(2).masked_fill(mask[:2], lib.tensor(1.5, dtype=lib.float64)),
        ]  # fmt: skip

    for got, expected in zip(run(vj), run(torch)):
        assert str(got.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]
        np.testing.assert_array_equal(got.numpy(), expected.numpy())
