"""Convolutions, pooling, resampling, im2col and padding layers: values and gradients
against PyTorch (skipped without it), plus plain jax.numpy / NumPy oracles."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_close

import varjax as vj
import varjax.nn as nn
import varjax.nn.functional as F


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _r(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def _against_torch(torch, name, arrays, kwargs, rtol=1e-4, atol=1e-5, grad=(True,) * 3):
    """F.<name> of varjax and of torch on the same arrays: value, dtype, shape and the
    gradients of every array (for a random cotangent)."""
    vs = [vj.tensor(a, requires_grad=g) for a, g in zip(arrays, grad)]
    ts = [torch.tensor(a, requires_grad=g) for a, g in zip(arrays, grad)]
    out = getattr(F, name)(*vs, **kwargs)
    ref = getattr(torch.nn.functional, name)(*ts, **kwargs)
    assert tuple(out.shape) == tuple(ref.shape)
    assert str(out.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]
    assert_close(out, ref.detach().numpy(), rtol=rtol, atol=atol)
    cot = np.random.default_rng(1).standard_normal(tuple(ref.shape)).astype(np.float32)
    (out * vj.tensor(cot)).sum().backward()
    (ref * torch.tensor(cot)).sum().backward()
    for i, (v, t) in enumerate(zip(vs, ts)):
        if t.requires_grad:
            assert_close(v.grad, t.grad.numpy(), rtol=rtol, atol=atol, msg=f"grad {i}")


# -- convolutions -----------------------------------------------------------------------------

CONV = [
    ("conv1d", (2, 4, 7), (6, 2, 3), dict(stride=2, padding=1, groups=2)),
    ("conv1d", (1, 3, 9), (2, 3, 3), dict(dilation=3, padding="same")),
    ("conv1d", (3, 5), (4, 3, 3), dict(padding="valid")),  # unbatched
    ("conv3d", (1, 2, 5, 4, 6), (3, 2, 2, 3, 2), dict(stride=(1, 2, 1), padding=(1, 0, 1))),
    ("conv3d", (2, 4, 3, 5, 4), (4, 1, 2, 2, 3), dict(groups=4, dilation=(1, 2, 1))),
    ("conv_transpose1d", (2, 4, 5), (4, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ("conv_transpose1d", (1, 4, 6), (4, 2, 2), dict(groups=2, dilation=2, stride=3)),
    ("conv_transpose2d", (2, 3, 4, 5), (3, 2, 3, 2), dict(stride=(2, 1), padding=(1, 0))),
    ("conv_transpose2d", (1, 4, 3, 3), (4, 3, 3, 3),
     dict(stride=2, padding=2, output_padding=1, groups=2, dilation=2)),
    ("conv_transpose3d", (1, 2, 3, 2, 3), (2, 2, 2, 3, 2), dict(stride=2, output_padding=1)),
]  # fmt: skip


@pytest.mark.parametrize("case", range(len(CONV)))
def test_conv_against_torch(torch, rng, case):
    name, xs, ws, kw = CONV[case]
    bias = case % 2 == 0  # with and without bias, alternately
    w = _r(rng, *ws)
    out_channels = ws[0] if not name.startswith("conv_t") else ws[1] * kw.get("groups", 1)
    arrays = [_r(rng, *xs), w] + ([_r(rng, out_channels)] if bias else [])
    _against_torch(torch, name, arrays, kw)


def test_conv1d_oracle_is_jnp_correlate(rng):
    x, w = _r(rng, 9), _r(rng, 3)
    out = F.conv1d(vj.tensor(x).reshape(1, 1, 9), vj.tensor(w).reshape(1, 1, 3))
    assert_close(out.reshape(-1), np.correlate(x, w, mode="valid"), rtol=1e-5)


def test_conv_transpose_is_the_adjoint_of_conv(rng):
    # <conv(x), y> = <x, conv_transpose(y)>: the transposed conv is the conv's vjp (jax oracle)
    x, w = _r(rng, 1, 2, 7, 6), _r(rng, 3, 2, 3, 2)
    f = lambda a: jax.lax.conv_general_dilated(a, w, (2, 1), [(1, 1), (0, 0)])
    y = _r(rng, *f(x).shape)
    (expected,) = jax.vjp(f, x)[1](y)
    got = F.conv_transpose2d(vj.tensor(y), vj.tensor(w), stride=(2, 1), padding=(1, 0),
                             output_padding=(0, 0))  # fmt: skip
    assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_conv_errors():
    with pytest.raises(RuntimeError, match="3-D input"):
        F.conv1d(vj.ones(1, 2, 3, 4), vj.ones(2, 2, 1))
    with pytest.raises(RuntimeError, match="to have 4 channels, but got 3"):
        F.conv1d(vj.ones(1, 3, 5), vj.ones(2, 2, 1), groups=2)
    with pytest.raises(RuntimeError, match="Kernel size can't be greater"):
        F.conv3d(vj.ones(1, 1, 2, 2, 2), vj.ones(1, 1, 3, 1, 1))
    with pytest.raises(RuntimeError, match="output padding must be smaller"):
        F.conv_transpose1d(vj.ones(1, 1, 3), vj.ones(1, 1, 2), stride=2, output_padding=2)
    with pytest.raises(RuntimeError, match="padding='same' is not supported for strided"):
        F.conv1d(vj.ones(1, 1, 5), vj.ones(1, 1, 2), stride=2, padding="same")
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv1d(3, 4, 2, groups=2)
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv1d(2, 2, 2, padding_mode="bad")


CONV_MODULES = [
    ("Conv1d", (4, 6, 3), dict(stride=2, padding=1, groups=2), (2, 4, 7)),
    ("Conv1d", (2, 3, 3), dict(padding=1, padding_mode="reflect", bias=False), (1, 2, 6)),
    ("Conv3d", (2, 3, (1, 2, 2)), dict(dilation=(1, 1, 2), padding=1), (1, 2, 3, 4, 5)),
    ("ConvTranspose1d", (4, 6, 3), dict(stride=2, output_padding=1, groups=2), (1, 4, 5)),
    ("ConvTranspose2d", (3, 2, (2, 3)), dict(stride=2, padding=(0, 1), bias=False), (2, 3, 3, 4)),
    ("ConvTranspose3d", (2, 2, 2), dict(dilation=2), (1, 2, 2, 3, 2)),
]  # fmt: skip


@pytest.mark.parametrize("cls,args,kw,xs", CONV_MODULES)
def test_conv_modules_against_torch(torch, rng, cls, args, kw, xs):
    vm = getattr(nn, cls)(*args, **kw)
    tm = getattr(torch.nn, cls)(*args, **kw)
    assert repr(vm) == repr(tm)
    assert list(vm.state_dict()) == list(tm.state_dict())
    for k, v in tm.state_dict().items():
        assert tuple(vm.state_dict()[k].shape) == tuple(v.shape)
    tm.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in vm.state_dict().items()})
    x = _r(rng, *xs)
    out, ref = vm(vj.tensor(x)), tm(torch.tensor(x))
    assert_close(out, ref.detach().numpy(), rtol=1e-4, atol=1e-5)
    out.sum().backward()
    ref.sum().backward()
    for (n, p), (tn, tp) in zip(vm.named_parameters(), tm.named_parameters()):
        assert n == tn
        assert_close(p.grad, tp.grad.numpy(), rtol=1e-4, atol=1e-4, msg=n)


@pytest.mark.parametrize("cls,args,fan_in", [
    ("Conv1d", (4, 6, 3, 1, 0, 1, 2), 2 * 3),
    ("Conv3d", (2, 3, (1, 2, 2)), 2 * 4),
    ("ConvTranspose2d", (4, 6, 3, 1, 0, 0, 2), 3 * 9),
])  # fmt: skip
def test_conv_default_init_bound(cls, args, fan_in):
    vj.manual_seed(0)
    m = getattr(nn, cls)(*args)
    bound = 1 / np.sqrt(fan_in)
    for p in (m.weight, m.bias):
        a = np.asarray(p)
        assert np.abs(a).max() <= bound and np.abs(a).max() > 0.5 * bound


# -- pooling ----------------------------------------------------------------------------------

POOL = [
    ("max_pool1d", (2, 3, 9), dict(kernel_size=3, stride=2, padding=1)),
    ("max_pool1d", (3, 8), dict(kernel_size=2, dilation=2, ceil_mode=True)),
    ("max_pool3d", (1, 2, 5, 4, 5), dict(kernel_size=(2, 3, 2), stride=(1, 2, 2), padding=1)),
    ("max_pool3d", (1, 1, 5, 5, 5), dict(kernel_size=2, ceil_mode=True, dilation=(1, 2, 1))),
    ("avg_pool1d", (2, 3, 9), dict(kernel_size=3, stride=2, padding=1)),
    ("avg_pool1d", (2, 3, 8), dict(kernel_size=3, padding=1, ceil_mode=True,
                                   count_include_pad=False)),
    ("avg_pool3d", (1, 2, 5, 4, 5), dict(kernel_size=(2, 3, 2), stride=2, padding=1,
                                         ceil_mode=True)),
    ("avg_pool3d", (1, 2, 4, 4, 5), dict(kernel_size=3, padding=1, count_include_pad=False)),
    ("adaptive_avg_pool1d", (2, 3, 7), dict(output_size=3)),
    ("adaptive_avg_pool2d", (2, 3, 7, 5), dict(output_size=(3, 4))),
    ("adaptive_avg_pool2d", (3, 5, 6), dict(output_size=(None, 4))),
    ("adaptive_max_pool1d", (2, 3, 7), dict(output_size=5)),
    ("adaptive_max_pool2d", (1, 2, 5, 7), dict(output_size=(2, 3))),
    ("adaptive_max_pool2d", (1, 2, 3, 3), dict(output_size=5)),  # bins overlap
    # PyTorch's full 2-D signatures: dilation, count_include_pad, divisor_override
    ("max_pool2d", (2, 3, 7, 6), dict(kernel_size=3, stride=2, padding=1, dilation=2)),
    ("max_pool2d", (1, 2, 5, 5), dict(kernel_size=2, stride=None, padding=0, dilation=1,
                                      ceil_mode=True)),
    ("avg_pool2d", (2, 3, 7, 6), dict(kernel_size=3, stride=2, padding=1,
                                      count_include_pad=False)),
    ("avg_pool2d", (2, 3, 7, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                      divisor_override=4)),
    ("avg_pool1d", (2, 3, 9), dict(kernel_size=3, stride=2, padding=1)),
    ("avg_pool3d", (1, 2, 5, 4, 5), dict(kernel_size=2, ceil_mode=True, divisor_override=3)),
]  # fmt: skip


@pytest.mark.parametrize("name,xs,kw", POOL)
def test_pool_against_torch(torch, rng, name, xs, kw):
    _against_torch(torch, name, [_r(rng, *xs)], kw)


def test_max_pool2d_takes_pytorchs_positional_arguments(torch, rng):
    """``F.max_pool2d(x, k, s, p, d, ceil_mode)``: the fifth is dilation, as in PyTorch."""
    x = _r(rng, 1, 2, 9, 9)
    for args in [(3, 2, 1, 2), (2, 2, 0, 1, True), (3, 1, 1, 1, False)]:
        ours = F.max_pool2d(vj.tensor(x), *args)
        theirs = torch.nn.functional.max_pool2d(torch.tensor(x), *args)
        assert tuple(ours.shape) == tuple(theirs.shape)
        assert_close(ours, theirs.numpy())


def test_divisor_override_divides_each_windows_sum(rng):
    x = _r(rng, 1, 1, 5, 5)
    out = F.avg_pool2d(vj.tensor(x), 2, divisor_override=3)
    sums = x[0, 0, :4, :4].reshape(2, 2, 2, 2).sum((1, 3))
    assert_close(out.reshape(2, 2), sums / 3)
    with pytest.raises(RuntimeError, match="divisor must be not zero"):
        F.avg_pool2d(vj.tensor(x), 2, divisor_override=0)


@pytest.mark.parametrize("xs,kw", [
    ((2, 3, 7, 6), dict(size=(3, 4))), ((2, 3, 7, 6), dict(scale_factor=0.5)),
    ((1, 2, 4, 5), dict(size=(9, 7))), ((2, 3, 7), dict(size=4)),
    ((1, 2, 4, 5, 3), dict(size=(2, 3, 2))),
])  # fmt: skip
def test_interpolate_area_against_torch(torch, rng, xs, kw):
    _against_torch(torch, "interpolate", [_r(rng, *xs)], dict(mode="area", **kw))


@pytest.mark.parametrize("output_size", [(13, 11), (14, 12), [2, 2, 14, 11]])
def test_conv_transpose_output_size_against_torch(torch, rng, output_size):
    vj.manual_seed(0)
    ours = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    theirs = torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    x = _r(rng, 2, 3, 7, 6)
    v, t = vj.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = ours(v, output_size=output_size), theirs(t, output_size=output_size)
    assert tuple(out.shape) == tuple(ref.shape)
    assert_close(out, ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    out.square().sum().backward()
    ref.square().sum().backward()
    assert_close(v.grad, t.grad.numpy(), rtol=1e-4, atol=1e-5)
    assert_close(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_conv_transpose_output_size_out_of_range_raises_pytorchs_error(torch, rng):
    x = _r(rng, 2, 3, 7, 6)
    for bad in [(15, 11), (12, 11)]:
        with pytest.raises(ValueError, match=r"valid sizes range from \[13, 11\] to \[14, 12\]"):
            nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)(vj.tensor(x), output_size=bad)
        with pytest.raises(ValueError, match="valid sizes range from"):
            torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)(torch.tensor(x),
                                                                   output_size=bad)  # fmt: skip


def test_adaptive_avg_pool_oracle(rng):
    x = _r(rng, 1, 1, 5)
    bins = [(0, 2), (1, 4), (3, 5)]  # floor(i*5/3), ceil((i+1)*5/3)
    expected = [x[0, 0, a:b].mean() for a, b in bins]
    assert_close(F.adaptive_avg_pool1d(vj.tensor(x), 3).reshape(-1), expected)


def test_max_pool1d_grad_is_jax_reduce_window(rng):
    x = _r(rng, 1, 2, 9)
    f = lambda a: jax.lax.reduce_window(a, -jnp.inf, jax.lax.max, (1, 1, 3), (1, 1, 2),
                                        "VALID").sum()  # fmt: skip
    v = vj.tensor(x, requires_grad=True)
    F.max_pool1d(v, 3, 2).sum().backward()
    assert_close(v.grad, jax.grad(f)(x))


def test_pool_errors():
    with pytest.raises(RuntimeError, match="4-D or 5-D"):
        F.max_pool3d(vj.ones(2, 3), 2)
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        F.avg_pool1d(vj.ones(1, 1, 6), 2, padding=2)
    with pytest.raises(RuntimeError, match="too small"):
        F.max_pool1d(vj.ones(1, 1, 2), 3)


POOL_MODULES = [
    ("MaxPool1d", (3,), dict(stride=2, padding=1), (2, 3, 8)),
    ("MaxPool2d", (2,), dict(), (1, 2, 5, 6)),
    ("MaxPool2d", ((3, 2),), dict(stride=1, padding=1, ceil_mode=True), (1, 2, 5, 6)),
    ("MaxPool2d", (2,), dict(dilation=2, padding=1), (1, 2, 5, 6)),
    ("MaxPool3d", (2,), dict(dilation=(1, 1, 2)), (1, 1, 4, 4, 5)),
    ("AvgPool1d", (3,), dict(stride=2, padding=1), (2, 3, 8)),
    ("AvgPool2d", (2,), dict(stride=1), (1, 2, 5, 6)),
    ("AvgPool2d", (3,), dict(padding=1, count_include_pad=False, ceil_mode=True), (1, 2, 5, 7)),
    ("AvgPool3d", (2,), dict(padding=1, count_include_pad=False), (1, 1, 3, 4, 5)),
    ("AdaptiveAvgPool1d", (3,), dict(), (2, 3, 8)),
    ("AdaptiveAvgPool2d", ((2, 3),), dict(), (1, 2, 5, 7)),
    ("AdaptiveMaxPool1d", (3,), dict(), (2, 3, 8)),
    ("AdaptiveMaxPool2d", (3,), dict(), (1, 2, 5, 7)),
    ("Upsample", (), dict(scale_factor=2, mode="bilinear"), (1, 2, 3, 4)),
    ("Upsample", (), dict(size=(5, 3), mode="nearest"), (1, 2, 3, 4)),
    ("UpsamplingNearest2d", (), dict(scale_factor=3), (1, 2, 2, 3)),
    ("UpsamplingBilinear2d", (), dict(size=5), (1, 2, 3, 4)),
    ("PixelShuffle", (2,), dict(), (1, 8, 2, 3)),
    ("PixelUnshuffle", (2,), dict(), (1, 2, 4, 6)),
    ("Unfold", ((2, 3),), dict(padding=1, stride=2), (1, 2, 5, 6)),
    ("Fold", ((4, 5), 2), dict(), (1, 8, 12)),
    ("ZeroPad2d", ((1, 2, 0, 1),), dict(), (1, 2, 3, 3)),
    ("ConstantPad1d", (2,), dict(value=0.5), (1, 2, 3)),
    ("ConstantPad2d", ((1, 0, 2, 1),), dict(value=-1.0), (1, 2, 3, 3)),
    ("ReflectionPad2d", (2,), dict(), (1, 2, 3, 4)),
    ("ReplicationPad2d", ((1, 2, 2, 0),), dict(), (1, 2, 3, 4)),
]  # fmt: skip


@pytest.mark.parametrize("cls,args,kw,xs", POOL_MODULES)
def test_parameterless_modules_against_torch(torch, rng, cls, args, kw, xs):
    vm, tm = getattr(nn, cls)(*args, **kw), getattr(torch.nn, cls)(*args, **kw)
    assert repr(vm) == repr(tm)
    assert list(vm.state_dict()) == list(tm.state_dict()) == []
    x = _r(rng, *xs)
    v, t = vj.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = vm(v), tm(t)
    assert_close(out, ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    cot = _r(rng, *ref.shape)
    (out * vj.tensor(cot)).sum().backward()
    (ref * torch.tensor(cot)).sum().backward()
    assert_close(v.grad, t.grad.numpy(), rtol=1e-5, atol=1e-5)


# -- resampling -------------------------------------------------------------------------------

INTERP = [
    ((1, 2, 5), dict(size=8, mode="nearest")),
    ((1, 2, 7), dict(size=3, mode="nearest")),
    ((1, 2, 5), dict(scale_factor=1.7, mode="nearest")),
    ((1, 2, 5, 4), dict(size=(3, 7), mode="nearest-exact")),
    ((1, 2, 3, 3, 4), dict(scale_factor=(2, 1, 0.5), mode="nearest")),
    ((1, 2, 5), dict(size=9, mode="linear")),
    ((1, 2, 5), dict(scale_factor=2.5, mode="linear", align_corners=True)),
    ((2, 1, 4, 5), dict(size=(7, 3), mode="bilinear")),
    ((1, 2, 4, 5), dict(scale_factor=(1.5, 2), mode="bilinear", align_corners=True)),
    ((1, 2, 4, 5), dict(size=(9, 6), mode="bicubic")),
    ((1, 2, 5, 4), dict(size=(3, 8), mode="bicubic", align_corners=True)),
    ((1, 1, 3, 4, 2), dict(size=(5, 3, 4), mode="trilinear")),
    ((1, 2, 4, 5), dict(scale_factor=0.6, mode="bilinear", recompute_scale_factor=True)),
]  # fmt: skip


@pytest.mark.parametrize("xs,kw", INTERP)
def test_interpolate_against_torch(torch, rng, xs, kw):
    _against_torch(torch, "interpolate", [_r(rng, *xs)], kw)


def test_interpolate_linear_oracle():
    # align_corners=False: source (j + 0.5) * in/out - 0.5, clamped at 0 (NumPy's interp)
    x = np.array([0.0, 2.0, 3.0], np.float32)
    src = (np.arange(5) + 0.5) * 3 / 5 - 0.5
    expected = np.interp(np.maximum(src, 0), np.arange(3), x)
    got = F.interpolate(vj.tensor(x).reshape(1, 1, 3), size=5, mode="linear")
    assert_close(got.reshape(-1), expected, rtol=1e-6)
    with pytest.warns(UserWarning, match="upsample` is deprecated"):  # as PyTorch's
        near = F.upsample(vj.tensor(x).reshape(1, 1, 3), size=7)  # floor(j * 3 / 7)
    assert_close(near.reshape(-1), x[np.floor(np.arange(7) * 3 / 7).astype(int)])


def test_interpolate_errors():
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        F.interpolate(vj.ones(1, 1, 4), size=2, scale_factor=2)
    with pytest.raises(NotImplementedError, match="bilinear mode needs 4D input"):
        F.interpolate(vj.ones(1, 1, 4), size=2, mode="bilinear")
    with pytest.raises(ValueError, match="align_corners option"):
        F.interpolate(vj.ones(1, 1, 4), size=2, align_corners=True)


@pytest.mark.parametrize("mode,padding_mode,align_corners", [
    ("bilinear", "zeros", False), ("bilinear", "border", True), ("nearest", "zeros", True),
    ("nearest", "border", False),
])  # fmt: skip
def test_grid_sample_against_torch(torch, rng, mode, padding_mode, align_corners):
    x = _r(rng, 2, 3, 4, 5)
    grid = rng.uniform(-1.3, 1.3, (2, 3, 6, 2)).astype(np.float32)
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    _against_torch(torch, "grid_sample", [x, grid], kw, grad=(True, mode == "bilinear"))


def test_grid_sample_identity_grid_oracle(rng):
    x = _r(rng, 1, 2, 3, 4)
    ys, xs = np.meshgrid(np.linspace(-1, 1, 3), np.linspace(-1, 1, 4), indexing="ij")
    grid = np.stack([xs, ys], -1)[None].astype(np.float32)
    assert_close(F.grid_sample(vj.tensor(x), vj.tensor(grid), align_corners=True), x,
                 atol=1e-6)  # fmt: skip


def test_pixel_shuffle_roundtrip_and_oracle(rng):
    x = _r(rng, 2, 8, 3, 2)
    y = F.pixel_shuffle(vj.tensor(x), 2)
    expected = x.reshape(2, 2, 2, 2, 3, 2).transpose(0, 1, 4, 2, 5, 3).reshape(2, 2, 6, 4)
    assert_close(y, expected)
    assert_close(F.pixel_unshuffle(y, 2), x)
    with pytest.raises(RuntimeError, match="divisible"):
        F.pixel_shuffle(vj.ones(1, 3, 2, 2), 2)


# -- im2col -----------------------------------------------------------------------------------

UNFOLD = [
    ((2, 3, 5, 6), dict(kernel_size=2)),
    ((1, 2, 6, 5), dict(kernel_size=(3, 2), dilation=(1, 2), padding=1, stride=(2, 1))),
    ((2, 5, 4), dict(kernel_size=3, padding=1)),  # unbatched
]  # fmt: skip


@pytest.mark.parametrize("xs,kw", UNFOLD)
def test_unfold_against_torch(torch, rng, xs, kw):
    _against_torch(torch, "unfold", [_r(rng, *xs)], kw)


@pytest.mark.parametrize("xs,kw", [
    ((2, 12, 12), dict(output_size=(4, 5), kernel_size=2)),
    ((1, 12, 15), dict(output_size=(6, 5), kernel_size=(3, 2), dilation=(1, 2), padding=1,
                      stride=(2, 1))),
    ((8, 6), dict(output_size=(3, 4), kernel_size=2)),  # unbatched
])  # fmt: skip
def test_fold_against_torch(torch, rng, xs, kw):
    _against_torch(torch, "fold", [_r(rng, *xs)], kw)


def test_fold_is_the_adjoint_of_unfold(rng):
    # <unfold(x), y> = <x, fold(y)>, with unfold written as plain NumPy slicing
    x, y = _r(rng, 1, 2, 4, 5), _r(rng, 1, 8, 12)
    cols = np.stack([x[0, :, i : i + 3, j : j + 4] for i in range(2) for j in range(2)], 1)
    assert_close(F.unfold(vj.tensor(x), 2), cols.reshape(1, 8, 12))
    lhs = (cols.reshape(1, 8, 12) * y).sum()
    rhs = (x * np.asarray(F.fold(vj.tensor(y), (4, 5), 2))).sum()
    assert_close(lhs, rhs, rtol=1e-4)
    with pytest.raises(RuntimeError, match="fold: expected input"):
        F.fold(vj.ones(1, 8, 11), (4, 5), 2)
    with pytest.raises(RuntimeError, match="Only 3D or 4D"):
        F.unfold(vj.ones(2, 3), 2)


# -- a conv net under varjax.jit -----------------------------------------------------------


def _net():
    vj.manual_seed(0)
    return nn.Sequential(
        nn.Conv1d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool1d(2),
        nn.ConvTranspose1d(4, 3, 2, stride=2), nn.AdaptiveAvgPool1d(3), nn.Flatten(),
    )  # fmt: skip


def _train(compiled: bool, x, y):
    model = _net()
    opt = vj.optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss

    run = vj.jit(step) if compiled else step
    losses = [float(run(x, y)) for _ in range(3)]
    return losses, [np.asarray(p) for p in model.parameters()]


def test_conv_net_step_under_jit_matches_imperative(rng):
    x, y = vj.tensor(_r(rng, 2, 2, 8)), vj.tensor(_r(rng, 2, 9))
    (l0, p0), (l1, p1) = _train(False, x, y), _train(True, x, y)
    assert_close(l1, l0, rtol=1e-5)
    assert l1[2] < l1[0]  # it trains
    for a, b in zip(p1, p0):
        assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_nearest_keeps_integer_dtype(torch):
    x = np.arange(12, dtype=np.uint8).reshape(1, 1, 3, 4)
    out = F.interpolate(vj.tensor(x), scale_factor=2)
    ref = torch.nn.functional.interpolate(torch.tensor(x), scale_factor=2)
    assert out.dtype == vj.uint8
    np.testing.assert_array_equal(np.asarray(out), ref.numpy())


MAX_INDICES = [
    (2, (2, 3, 7, 6), dict(kernel_size=3, stride=2, padding=1)),
    (2, (1, 2, 5, 5), dict(kernel_size=2, ceil_mode=True)),
    (2, (1, 2, 9, 9), dict(kernel_size=3, stride=2, padding=1, dilation=2)),
    (2, (3, 6, 6), dict(kernel_size=2)),  # unbatched
    (1, (2, 3, 9), dict(kernel_size=3, stride=2, padding=1)),
    (3, (1, 2, 5, 4, 5), dict(kernel_size=2, stride=(1, 2, 2), padding=1)),
]  # fmt: skip


@pytest.mark.parametrize("n,xs,kw", MAX_INDICES)
def test_max_pool_return_indices_match_pytorch(torch, rng, n, xs, kw):
    x = _r(rng, *xs)
    out, idx = getattr(F, f"max_pool{n}d")(vj.tensor(x), return_indices=True, **kw)
    pool = getattr(torch.nn.functional, f"max_pool{n}d")
    ref, ref_idx = pool(torch.tensor(x), return_indices=True, **kw)
    assert idx.dtype == vj.int64 and tuple(idx.shape) == tuple(ref_idx.shape)
    np.testing.assert_array_equal(idx.numpy(), ref_idx.numpy())
    assert_close(out, ref.numpy())
    layer = getattr(nn, f"MaxPool{n}d")(return_indices=True, **kw)
    np.testing.assert_array_equal(layer(vj.tensor(x))[1].numpy(), ref_idx.numpy())


def test_max_pool_indices_take_the_first_maximum_in_row_major_order():
    x = vj.tensor([[[[1.0, 3.0], [3.0, 3.0]]]])  # three ties: PyTorch keeps the first, (0, 1)
    assert F.max_pool2d(x, 2, return_indices=True)[1].tolist() == [[[[1]]]]


@pytest.mark.parametrize("n,xs,kw", [c for c in MAX_INDICES if "dilation" not in c[2]])
def test_max_unpool_against_torch(torch, rng, n, xs, kw):
    x = _r(rng, *xs)
    pool = getattr(torch.nn.functional, f"max_pool{n}d")
    ref, ref_idx = pool(torch.tensor(x), return_indices=True, **kw)
    sizes = {k: v for k, v in kw.items() if k in ("kernel_size", "stride", "padding")}
    target = list(xs[-n:])
    v = vj.tensor(ref.numpy(), requires_grad=True)
    t = ref.detach().clone().requires_grad_(True)
    ours = getattr(F, f"max_unpool{n}d")(v, vj.tensor(ref_idx.numpy()), output_size=target,
                                         **sizes)  # fmt: skip
    theirs = getattr(torch.nn.functional, f"max_unpool{n}d")(t, ref_idx, output_size=target,
                                                             **sizes)  # fmt: skip
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert_close(ours, theirs.detach().numpy())
    cot = rng.standard_normal(tuple(theirs.shape)).astype(np.float32)
    (ours * vj.tensor(cot)).sum().backward()
    (theirs * torch.tensor(cot)).sum().backward()
    assert_close(v.grad, t.grad.numpy())
    layer = getattr(nn, f"MaxUnpool{n}d")(**sizes)
    assert repr(layer) == repr(getattr(torch.nn, f"MaxUnpool{n}d")(**sizes))
    assert_close(layer(v, vj.tensor(ref_idx.numpy()), target), theirs.detach().numpy())


def test_max_unpool_round_trip_and_errors(torch):
    x = vj.tensor(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4))
    out, idx = nn.MaxPool2d(2, return_indices=True)(x)
    back = nn.MaxUnpool2d(2)(out, idx)
    expected = np.zeros((4, 4), np.float32)
    expected[1::2, 1::2] = [[5, 7], [13, 15]]
    assert_close(back.reshape(4, 4), expected)
    with pytest.raises(ValueError, match=r"invalid output_size \"\[6, 6\]\" \(dim 0 must be"):
        F.max_unpool2d(out, idx, 2, output_size=(6, 6))
    with pytest.raises(ValueError, match="should be a sequence containing 2 or 4 elements"):
        F.max_unpool2d(out, idx, 2, output_size=(1, 4, 4))
    with pytest.raises(RuntimeError, match="indices of the input's shape"):
        F.max_unpool2d(out, idx.reshape(1, 1, 4), 2)
    with pytest.raises(IndexError, match="out of bounds"):
        F.max_unpool2d(out, vj.tensor([[[[0, 1], [2, 16]]]]), 2)
    t_out = torch.tensor(out.numpy())
    with pytest.raises(ValueError, match="invalid output_size"):
        torch.nn.functional.max_unpool2d(t_out, torch.tensor(idx.numpy()), 2, output_size=(6, 6))


@pytest.mark.parametrize("n,xs,size", [
    (2, (1, 2, 5, 7), (2, 3)), (2, (1, 2, 3, 3), 5), (1, (2, 3, 7), 5), (2, (3, 5, 6), (None, 4)),
])  # fmt: skip
def test_adaptive_max_pool_return_indices_match_pytorch(torch, rng, n, xs, size):
    x = _r(rng, *xs)
    out, idx = getattr(F, f"adaptive_max_pool{n}d")(vj.tensor(x), size, return_indices=True)
    pool = getattr(torch.nn.functional, f"adaptive_max_pool{n}d")
    ref, ref_idx = pool(torch.tensor(x), size, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), ref_idx.numpy())
    assert_close(out, ref.numpy())
    layer = getattr(nn, f"AdaptiveMaxPool{n}d")(size, return_indices=True)
    np.testing.assert_array_equal(layer(vj.tensor(x))[1].numpy(), ref_idx.numpy())


@pytest.mark.parametrize("name,args", [
    ("adaptive_max_pool2d", (2,)), ("max_pool2d", (3, 1, 0, 2)), ("max_pool2d", (2,)),
    ("max_pool1d", (3, 2, 1)), ("max_pool3d", (2, 1, 0, 2)), ("adaptive_max_pool1d", (4,)),
])  # fmt: skip
def test_a_tie_sends_the_gradient_where_pytorch_does(torch, name, args):
    """All-equal windows (after a ReLU, say): the first maximum in row-major order takes the
    gradient, in every max pooling."""
    n = int(name[-2])
    x = np.zeros((1, 1) + (6,) * n, np.float32)
    a, b = vj.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    getattr(F, name)(a, *args).sum().backward()
    getattr(torch.nn.functional, name)(b, *args).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
