"""64-bit types as PyTorch has them (issue 12): varjax turns on JAX's x64 mode at import, so
int64 is the default integer and float64 is exact, while Python floats and new floating tensors
stay float32. ``VARJAX_X64=0`` keeps JAX's 32-bit mode, where a 64-bit request raises with the
remedy instead of changing a value."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from conftest import assert_close

import varjax as vj

try:
    import torch
except ImportError:  # pragma: no cover - depends on the machine
    torch = None


def _dtype(t) -> str:
    return str(t.dtype).replace("torch.", "").replace("varjax.", "")


def _both(program):
    """``program(lib)`` on varjax and, where torch is installed, on PyTorch: same results."""
    got = program(vj)
    if torch is not None:
        want = program(torch)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            if isinstance(g, np.ndarray):
                assert g.dtype == w.dtype, (g.dtype, w.dtype)
                assert_close(g, w, rtol=1e-14, atol=1e-14)  # float64: XLA's and ATen's ulps
            else:
                assert g == w, (g, w)
    return got


def _np(t) -> np.ndarray:
    return t.detach().numpy().copy()


def test_default_dtypes_are_pytorchs():
    got = _both(lambda lib: [
        _dtype(lib.tensor([1, 2])), _dtype(lib.arange(3)), _dtype(lib.tensor([1.5])),
        _dtype(lib.tensor([True]) + 1), _dtype(lib.tensor([1, 2]) / 2),
        _dtype(lib.tensor([1, 2]).sin()), _dtype(lib.tensor([1, 2]) * 1.5),
        _dtype(lib.zeros(2).long()), _dtype(lib.zeros(2, dtype=lib.double)),
        _dtype(lib.ones(2).double() * lib.ones(2)), _dtype(lib.tensor(np.ones(2))),
        _dtype(lib.randint(0, 5, (3,))), _dtype(lib.randperm(4)),
        _dtype(lib.tensor([1, 2], dtype=lib.int32).sum()),
        _dtype(lib.tensor([1, 2], dtype=lib.int32).cumsum(0)),
        _dtype(lib.tensor([[0.5, 2.0]]).argmax(1)),
    ])  # fmt: skip
    assert got[:3] == ["int64", "int64", "float32"] and got[8] == "float64"


def test_64_bit_values_are_kept_exactly():
    big = 3_000_000_000
    got = _both(lambda lib: [
        _np(lib.tensor([big, -big]) * 3), _np(lib.tensor(np.array([2**40, 2**62]))),
        _np(lib.tensor(np.array([1e300, 1e-300]))),
        _np(lib.tensor([2**62], dtype=lib.long) // 3),
        _np(lib.tensor([-7, 7, 2**53 + 1]).div(2, rounding_mode="floor")),
        _np(lib.tensor([-7, 7, 2**53 + 1]).div(2, rounding_mode="trunc")),
        _np(lib.tensor([1.0], dtype=lib.float64) + 1e-12),
        _np(lib.arange(2**40, 2**40 + 3)),
    ])  # fmt: skip
    assert got[0].tolist() == [3 * big, -3 * big] and got[4].tolist()[2] == 2**52
    assert got[6][0] == 1.0 + 1e-12  # float32 would round it away


def test_float64_gradients_match_pytorch():
    def program(lib):
        x = lib.tensor([0.3, -1.2, 2.5], dtype=lib.float64, requires_grad=True)
        w = lib.tensor([[0.1, 0.2, -0.3], [1.0, -2.0, 0.5]], dtype=lib.float64,
                       requires_grad=True)  # fmt: skip
        y = ((w @ x).tanh() * x.sum().exp()).sum() + (x.abs() + 1e-9).log().sum() / 3
        y.backward()
        return [_np(y), _np(x.grad), _np(w.grad)]

    got = _both(program)
    assert all(g.dtype == np.float64 for g in got)

    def f(x, w):  # the oracle: jax.grad of the plain function in float64
        import jax.numpy as jnp

        return (jnp.tanh(w @ x) * jnp.exp(x.sum())).sum() + jnp.log(jnp.abs(x) + 1e-9).sum() / 3

    import jax

    x0 = np.array([0.3, -1.2, 2.5])
    w0 = np.array([[0.1, 0.2, -0.3], [1.0, -2.0, 0.5]])
    gx, gw = jax.grad(f, argnums=(0, 1))(x0, w0)
    assert_close(got[1], np.asarray(gx), rtol=1e-12, atol=1e-12)
    assert_close(got[2], np.asarray(gw), rtol=1e-12, atol=1e-12)


def test_ordinary_64_bit_code_prints_no_jax_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = vj.tensor([1, 2, 3], dtype=vj.long)
        y = vj.zeros(3, dtype=vj.int64) + x.long()
        z = vj.randn(3, 4).double()[vj.arange(3), x % 4]
        labels = vj.randint(0, 4, (3,))
        loss = vj.nn.functional.cross_entropy(vj.randn(3, 4, requires_grad=True), labels)
        loss.backward()
        batch = vj.utils.data.default_collate([(1, 2.5), (3, 4.5)])
        assert y.tolist() == [1, 2, 3] and z.dtype == vj.float64
        assert batch[0].dtype == vj.int64 and batch[1].dtype == vj.float64  # as PyTorch


_X64_OFF = """
import numpy as np, varjax as vj
def raises(f, *words):
    try:
        f()
    except RuntimeError as e:
        assert all(w in str(e) for w in words), str(e)
    else:
        raise AssertionError("no error")
assert vj.tensor([1, 2]).dtype == np.int32 and vj.ones(2).long().dtype == np.int32
assert vj.tensor(np.array([2**31 - 1])).tolist() == [2**31 - 1]
raises(lambda: vj.tensor([3_000_000_000]), "3000000000 cannot be converted to type int32",
       "VARJAX_X64")
raises(lambda: vj.tensor(np.array([1e300])), "1e+300 of a float64 array does not fit float32")
raises(lambda: vj.ones(2).double(), "float64 needs JAX's x64 mode", "VARJAX_X64")
raises(lambda: vj.ones(2).to(vj.float64), "jax_enable_x64")
x = vj.tensor([1.0, 2.0], requires_grad=True)
raises(lambda: vj.autograd.gradcheck(lambda x: x * 2, (x,)), "gradcheck needs float64")
import safetensors.numpy, sys
safetensors.numpy.save_file({"a": np.array([2**40])}, sys.argv[1])
raises(lambda: vj.load(sys.argv[1]), "loading tensor 'a' from")
print("ok")
"""


def test_x64_off_raises_instead_of_changing_a_value(tmp_path):
    pytest.importorskip("safetensors")
    env = dict(os.environ, VARJAX_X64="0", JAX_PLATFORMS="cpu")
    env.pop("JAX_ENABLE_X64", None)
    out = subprocess.run([sys.executable, "-c", _X64_OFF, str(tmp_path / "a.safetensors")],
                         env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert out.stdout.strip() == "ok", out.stderr[-3000:]


def test_dtype_objects_have_pytorchs_attributes():
    names = ["float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64",
             "uint8", "bool", "complex64", "complex128"]  # fmt: skip

    def attributes(lib):
        out = []
        for name in names:
            d = getattr(lib, name)
            out.append([repr(d).split(".")[-1], d.is_floating_point, d.is_complex, d.is_signed,
                        d.itemsize])  # fmt: skip
        out.append([repr(lib.complex64.to_real()), repr(lib.float64.to_complex())])
        out.append([repr(lib.tensor([1.5]).dtype), lib.tensor([1]).dtype == lib.long])
        return out

    got = attributes(vj)
    if torch is not None:
        want = attributes(torch)
        assert got[:-2] == want[:-2]
        assert [s.replace("varjax.", "torch.") for s in got[-2]] == want[-2]
        assert got[-1][1] == want[-1][1] and got[-1][0].replace("varjax", "torch") == want[-1][0]
    assert got[2] == ["float32", True, False, True, 4]
    # a NumPy dtype too: equal, hashed alike, accepted by NumPy and JAX
    import jax.numpy as jnp

    assert vj.float32 == np.float32 == vj.float32 and vj.float32 == "float32"
    assert {np.dtype(np.float32): 1}[vj.float32] == 1 and vj.tensor([1.0]).dtype is vj.float32
    assert np.zeros(2, vj.float16).dtype == np.float16 and jnp.ones(2, vj.int8).dtype == np.int8
    assert isinstance(vj.float32, vj.dtype) and vj.finfo(vj.float16).max == 65504.0
