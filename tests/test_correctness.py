"""Regression tests for the wrong results found by comparing random programs with PyTorch
(issue 11). Each expected value is PyTorch 2.13's result for the same program (written out,
so the test runs without torch); where torch is installed the program also runs there."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from conftest import assert_close

import varjax as vj

try:
    import torch
except ImportError:  # pragma: no cover - depends on the machine
    torch = None


def both(program, expected):
    """Run ``program(lib)`` on varjax (and on torch when installed); compare with
    ``expected``, PyTorch's values."""
    got = program(vj)
    for g, e in zip(got, expected):
        assert_close(g, e)
    if torch is not None:
        for g, t in zip(got, program(torch)):
            assert_close(g, t)


def both_raise(program, exc, match, torch_match=None):
    """``program(lib)`` raises ``exc`` on varjax (matching ``match``) and, where torch is
    installed, an exception of the same type there (matching ``torch_match``)."""
    with pytest.raises(exc, match=match or None):
        program(vj)
    if torch is not None:
        with pytest.raises(exc, match=torch_match or None):
            program(torch)


def _np(t):
    return t.detach().numpy().copy()


# 1. zero_, fill_, copy_ on an intermediate replace its gradient path


def test_overwriting_an_intermediate_cuts_its_gradient_path():
    def program(lib):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        y = w * 3
        y.zero_()
        (y + w).sum().backward()
        return [_np(w.grad), _np(y)]

    both(program, [[1.0, 1.0], [0.0, 0.0]])


def test_fill_and_copy_values_and_gradients():
    def program(lib):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        s = lib.tensor([5.0, 6.0], requires_grad=True)
        y = w * 3
        y.fill_(0.7)
        z = w * 2
        z.copy_(s * 2)
        ((y + z) * w).sum().backward()
        return [_np(y), _np(w.grad), _np(s.grad)]

    both(program, [[0.7, 0.7], [10.7, 12.7], [2.0, 4.0]])
    w = vj.tensor([1.0, 2.0], requires_grad=True)
    y = w * 3
    y.fill_(0.7)
    assert (y.detach().numpy() == np.float32(0.7)).all()  # exactly, not 0.70000005
    assert y.grad_fn.name() == "FillBackward2"


def test_an_overwritten_intermediate_passes_an_exact_zero_even_for_a_nan_gradient():
    def program(lib):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        y = w * 3
        y.fill_(0.5)
        (y * lib.tensor([float("nan"), 1.0])).sum().backward()  # y's gradient holds a NaN
        return [_np(w.grad)]

    both(program, [[0.0, 0.0]])  # PyTorch's FillBackward: zeros_like(grad), found by the fuzzer


def test_a_write_under_no_grad_keeps_the_path_and_the_exact_value():
    def program(lib):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        y = w * 3
        with lib.no_grad():
            y.fill_(0.7)
        (y * w).sum().backward()
        return [_np(y), _np(w.grad)]

    both(program, [[0.7, 0.7], [3.7, 6.7]])


# 2. a leaf read in two versions adds both gradients


@pytest.mark.parametrize("how", ["no_grad", "data", "step"])
def test_a_leaf_used_in_two_versions_gets_both_gradients(how):
    def program(lib):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        y1 = w * 2
        if how == "no_grad":
            with lib.no_grad():
                w.add_(1)
        elif how == "data":
            w.data = w.data + 1
        else:
            w.grad = lib.tensor([-1.0, -1.0])
            lib.optim.SGD([w], lr=1.0).step()
            w.grad = None
        (y1 + w * 3).sum().backward()
        return [_np(w.grad)]

    both(program, [[5.0, 5.0]])


def test_autograd_grad_of_a_leaf_used_in_two_versions():
    w = vj.tensor([1.0, 2.0], requires_grad=True)
    y1 = w * 2
    with vj.no_grad():
        w.add_(1)
    (g,) = vj.autograd.grad((y1 * w).sum(), w)  # d/dw of 2*w0*w1 where w1 = w0 + 1
    assert_close(g.numpy(), [2 * 2 + 2 * 1, 2 * 3 + 2 * 2])


# 3. gather: the index's shape is the output's


def test_gather_with_a_smaller_index():
    def program(lib):
        x = lib.arange(6.0).reshape(2, 3).requires_grad_()
        out = x.gather(0, lib.tensor([[1]]))
        out.sum().backward()
        return [_np(out), _np(x.grad)]

    both(program, [[[3.0]], [[0, 0, 0], [1, 0, 0]]])
    with pytest.raises(RuntimeError, match="Size does not match at dimension 1"):
        vj.arange(6.0).reshape(2, 3).gather(0, vj.tensor([[1, 0, 1, 1]]))


# 4. threads accumulate atomically


def test_threads_accumulate_every_gradient():
    vj.manual_seed(0)
    model, x = vj.nn.Linear(3, 2), vj.randn(4, 3)
    model(x).sum().backward()
    one = model.weight.grad.numpy().copy()
    model.zero_grad()

    def work():
        for _ in range(25):
            model(x).sum().backward()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert_close(model.weight.grad.numpy(), 100 * one, rtol=1e-4)


# 5, 6. hooks and retain_grad


def test_a_hook_on_the_output_backward_starts_from():
    def program(lib):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        y = (w * w).sum()
        y.register_hook(lambda g: g * 5)
        y.retain_grad()
        y.backward()
        return [_np(w.grad), _np(y.grad)]

    both(program, [[10.0, 20.0], 5.0])


def test_retain_grad_with_a_hook_sees_the_hooked_gradient():
    def program(lib):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        y = w * 3
        y.retain_grad()
        y.register_hook(lambda g: g * 10)
        (y * y).sum().backward()
        return [_np(y.grad), _np(w.grad)]

    both(program, [[60.0, 120.0], [180.0, 360.0]])


def test_retain_grad_survives_an_in_place_op():
    def program(lib):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        y = w * 3
        y.retain_grad()
        y.add_(1)
        (y * y).sum().backward()
        return [_np(y.grad), _np(w.grad)]

    both(program, [[8.0, 14.0], [24.0, 42.0]])


# 8. the gradient argument has the output's shape


@pytest.mark.parametrize("shape", [(2,), (1,)])
def test_a_gradient_of_another_shape_is_an_error(shape):
    y = (vj.tensor([1.0, 2.0], requires_grad=True) * 2).sum()
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        y.backward(vj.ones(*shape))
    z = vj.tensor([1.0, 2.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        z.backward(vj.ones(1, 2))


# 7. storage sharing


def test_replacing_data_stops_sharing_with_old_aliases():
    def program(lib):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        d = w.data
        w.data = lib.tensor([5.0, 6.0])
        d.add_(1)
        return [_np(w), _np(d)]

    both(program, [[5.0, 6.0], [2.0, 3.0]])


@pytest.mark.parametrize("how", ["detach", "data"])
def test_a_write_through_an_alias_of_a_view_reaches_its_base(how):
    def program(lib):
        x = lib.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        with lib.no_grad():
            b = x.clone()
            v = b[0]
            getattr(v, how)().add_(10) if how == "detach" else v.data.add_(10)
        return [_np(b), _np(v)]

    both(program, [[[11.0, 12.0], [3.0, 4.0]], [11.0, 12.0]])


def test_a_write_through_a_view_of_a_view_reaches_the_bases_retained_gradient():
    def program(lib):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        base = -x
        outer = base[1:]  # a view of base
        inner = outer[1:]  # a view of that view
        inner.clamp_(-0.5, 0.5)  # written through both into base
        base.retain_grad()
        (outer.sum() * 1.5 + inner.sum() * 2.5).backward()
        return [_np(base.grad), _np(x.grad)]

    # found by the fuzzer (seed 43704): the inner view was read from the outer one before the
    # outer view followed its base's last version, so base's gradient missed inner's path
    both(program, [[0.0, 1.5, 4.0], [0.0, -1.5, 0.0]])


def test_a_view_written_in_place_follows_its_base():
    """After a write through a view, the view is a view of the new base: the base's retained
    gradient sees the view's uses too (PyTorch's semantics)."""

    def program(lib):
        w = lib.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
        b = w * 2
        b.retain_grad()
        v = b.t()
        v[0] = 5.0
        (v.sum() * 1.5 + (b * b).sum()).backward()
        return [_np(b.grad), _np(w.grad)]

    both(program, [[[11.5, 9.5, 13.5]], [[0.0, 19.0, 27.0]]])


# 10. PyTorch's derivatives at singular points (kinks, ties, NaN, 0 ** 0)

NAN = float("nan")
SINGULAR = [
    ("abs at 0", lambda lib, x: x.abs(), [0.0, 1.0, -1.0], [0.0, 1.0, -1.0]),
    ("l1_loss at equality", lambda lib, x: lib.nn.functional.l1_loss(x, lib.tensor([1.0, 2.0])),
     [1.0, 3.0], [0.0, 0.5]),
    ("norm(p=1) at 0", lambda lib, x: x.norm(1), [0.0, 1.0], [0.0, 1.0]),
    ("norm(p=3) at 0", lambda lib, x: x.norm(3), [0.0, 0.0], [0.0, 0.0]),
    ("norm(p=0.5) at 0", lambda lib, x: x.norm(0.5), [0.0, 1.0], [0.0, 1.0]),
    ("norm(p=inf) at 0", lambda lib, x: x.norm(float("inf")), [0.0, 0.0], [0.0, 0.0]),
    ("std of a constant", lambda lib, x: x.std(), [2.0, 2.0, 2.0], [0.0, 0.0, 0.0]),
    ("x ** 0 at 0", lambda lib, x: x**0, [0.0, 2.0], [0.0, 0.0]),
    ("0 ** y for y >= 0", lambda lib, x: lib.tensor([0.0, 0.0]) ** x, [0.0, 2.0], [0.0, 0.0]),
    ("amax with NaN", lambda lib, x: x.amax(), [1.0, NAN, 3.0], [NAN, NAN, NAN]),
    ("max() with NaN", lambda lib, x: x.max(), [1.0, NAN, 3.0], [0.0, 1.0, 0.0]),
    ("maximum with NaN", lambda lib, x: lib.maximum(x, lib.tensor([2.0, 2.0, 2.0])),
     [1.0, NAN, 3.0], [0.0, 1.0, 1.0]),
    ("maximum against NaN", lambda lib, x: lib.maximum(x, lib.tensor([NAN, 2.0, 2.0])),
     [1.0, 1.0, 3.0], [1.0, 0.0, 1.0]),
    ("clamp of NaN", lambda lib, x: x.clamp(0, 2), [1.0, NAN, 3.0], [1.0, 0.0, 0.0]),
    ("relu of NaN and 0", lambda lib, x: x.relu(), [NAN, 0.0, -1.0], [1.0, 0.0, 0.0]),
    ("ties in amax and max()", lambda lib, x: x.amax() + x.max(), [3.0, 3.0, 1.0],
     [1.0, 1.0, 0.0]),
    ("ties in maximum", lambda lib, x: lib.maximum(x, lib.tensor([1.0, 2.0])), [1.0, 1.0],
     [0.5, 0.0]),
]  # fmt: skip


@pytest.mark.parametrize("name,fn,x,expected", SINGULAR, ids=[s[0] for s in SINGULAR])
def test_gradients_at_singular_points_are_pytorchs(name, fn, x, expected):
    def program(lib):
        v = lib.tensor(x, requires_grad=True)
        fn(lib, v).sum().backward()
        return [_np(v.grad)]

    both(program, [expected])


def test_reshape_of_a_non_contiguous_tensor_is_a_copy_and_view_refuses():
    def program(lib):
        b = lib.arange(6.0).reshape(2, 3)
        b.t().reshape(-1).add_(100)  # a copy: b unchanged
        b.t().flatten().add_(1)  # a copy
        b[:, :2].reshape(-1).add_(1000)  # a copy
        b.reshape(3, 2).add_(0.5)  # a view
        b.t()[0].add_(10)  # a view of a view
        t = b.t()
        flags = [t.is_contiguous(), b[:, ::2].is_contiguous(), t.contiguous().is_contiguous()]
        return [_np(b), np.array(flags, float)]

    both(program, [[[10.5, 1.5, 2.5], [13.5, 4.5, 5.5]], [0.0, 0.0, 1.0]])
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        vj.arange(6.0).reshape(2, 3).t().view(-1)


# 9. values that do not fit are an error, never a silent wrap or inf


def test_integers_that_do_not_fit_are_an_error():
    # int64 as PyTorch (x64 mode; tests/test_dtypes64.py covers VARJAX_X64=0's int32)
    both(lambda lib: [_np(lib.tensor([3_000_000_000])), _np(lib.tensor(np.array([2**40])))],
         [[3_000_000_000], [2**40]])  # fmt: skip
    with pytest.raises(RuntimeError, match="does not fit int64"):
        vj.tensor([2**64])
    both_raise(lambda lib: lib.tensor([3_000_000_000], dtype=lib.int32), RuntimeError,
               "cannot be converted to type int32 without overflow",
               "cannot be converted to type int32 without overflow")  # fmt: skip
    assert vj.tensor(np.array([2**31 - 1, -(2**31)])).tolist() == [2**31 - 1, -(2**31)]


def test_float64_is_kept_and_python_floats_round_as_in_pytorch():
    both(lambda lib: [_np(lib.tensor(np.array([1e300])))], [[1e300]])
    # a float32 tensor of Python floats (PyTorch's default dtype): inf in both
    both(lambda lib: [_np(lib.tensor([1e300, -1e300]))], [[np.inf, -np.inf]])
    both(lambda lib: [_np(lib.tensor(np.array([np.inf, 1.5])))], [[np.inf, 1.5]])
    both(lambda lib: [_np(lib.tensor(np.array([1e300])).float())], [[np.inf]])  # a cast rounds


def test_loading_64_bit_values_keeps_them(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    arrays = {"a": np.array([2**40]), "b": np.array([2**63 + 5], dtype=np.uint64),
              "c": np.array([1e300])}  # fmt: skip
    path = tmp_path / "wide.safetensors"
    safetensors_numpy.save_file(arrays, str(path))
    loaded = vj.load(path)
    for name, array in arrays.items():
        assert loaded[name].dtype == array.dtype and loaded[name].tolist() == array.tolist()


def test_integer_powers_follow_pytorch():
    both_raise(lambda lib: lib.tensor([2, 3]) ** -1, RuntimeError,
               "Integers to negative integer powers are not allowed",
               "Integers to negative integer powers are not allowed")  # fmt: skip
    base, exponent = [2, 3, -1, 1, 0, -1, 5], [-1, -2, -3, -2, -1, -4, 2]
    both(lambda lib: [_np(lib.tensor(base) ** lib.tensor(exponent)),
                      _np(2 ** lib.tensor([3, -1])), _np(lib.tensor(base) ** 3)],
         [[0, 0, -1, 1, 0, 1, 25], [8, 0], [8, 27, -1, 1, 0, -1, 125]])  # fmt: skip
