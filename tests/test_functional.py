"""varjax.nn.functional: losses and layers against their formulas in plain jax.numpy, values
and gradients, including PyTorch's documented conventions (class weights, ignore_index,
label smoothing, BCE's clamped logs, padding order).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_close

import varjax as vj
import varjax.nn.functional as F

RNG = np.random.default_rng(5)
LOGITS = RNG.standard_normal((6, 4)).astype(np.float32)
TARGET = np.array([0, 3, 1, 1, 2, 3])
WEIGHT = np.array([0.5, 1.0, 2.0, 1.5], np.float32)


def _ce_oracle(x, target, weight=None, ignore_index=-100, reduction="mean", smoothing=0.0):
    """PyTorch's documented cross-entropy formula, in jax.numpy."""
    logp = jax.nn.log_softmax(x, 1)
    n_classes = x.shape[1]
    w = jnp.ones(n_classes) if weight is None else jnp.asarray(weight)
    keep = target != ignore_index
    safe = np.where(keep, target, 0)
    w_t = w[safe] * keep
    nll = -jnp.take_along_axis(logp, safe[:, None], 1)[:, 0] * w_t
    smooth = -(logp * w).sum(1) * keep / n_classes
    if reduction == "mean":
        nll, smooth = nll.sum() / w_t.sum(), smooth.sum() / w_t.sum()
    elif reduction == "sum":
        nll, smooth = nll.sum(), smooth.sum()
    return (1 - smoothing) * nll + smoothing * smooth


def check(vj_fn, jnp_fn, *arrays, rtol=1e-5, atol=1e-6, diff=None):
    """Value and gradients of vj_fn against jnp_fn; ``diff`` lists the arrays to differentiate."""
    diff = range(len(arrays)) if diff is None else diff
    vs = [vj.tensor(a, requires_grad=i in diff) for i, a in enumerate(arrays)]
    out = vj_fn(*vs)
    expected = jnp_fn(*map(jnp.asarray, arrays))
    assert_close(out.detach().numpy(), expected, rtol=rtol, atol=atol)
    cot = np.ones(expected.shape, np.float32)
    out.backward(vj.tensor(cot))

    def f(*d):
        full = list(map(jnp.asarray, arrays))
        for i, a in zip(diff, d):
            full[i] = a
        return jnp.sum(jnp_fn(*full) * cot)

    grads = jax.grad(f, argnums=tuple(range(len(diff))))(*[jnp.asarray(arrays[i]) for i in diff])
    for i, g in zip(diff, grads):
        assert_close(vs[i].grad.numpy(), g, rtol=max(rtol, 1e-4), atol=max(atol, 1e-5))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_with_class_indices(reduction, mode):
    t = vj.tensor(TARGET)
    check(
        lambda x: F.cross_entropy(x, t, reduction=reduction),
        lambda x: _ce_oracle(x, TARGET, reduction=reduction),
        LOGITS,
    )


def test_cross_entropy_weight_ignore_index_and_smoothing():
    target = TARGET.copy()
    target[2] = -100
    t = vj.tensor(target)
    check(
        lambda x: F.cross_entropy(x, t, weight=vj.tensor(WEIGHT)),
        lambda x: _ce_oracle(x, target, WEIGHT),
        LOGITS,
    )
    check(
        lambda x: F.cross_entropy(x, t, label_smoothing=0.1),
        lambda x: _ce_oracle(x, target, smoothing=0.1),
        LOGITS,
    )
    check(
        lambda x: F.cross_entropy(x, t, weight=vj.tensor(WEIGHT), label_smoothing=0.2),
        lambda x: _ce_oracle(x, target, WEIGHT, smoothing=0.2),
        LOGITS,
    )


def test_cross_entropy_known_value():
    # PyTorch's documented value: -log(softmax([2, 0, 0])[0]) = log(1 + 2 e^-2)
    out = F.cross_entropy(vj.tensor([[2.0, 0.0, 0.0]]), vj.tensor([0]))
    assert_close(out.item(), np.log(1 + 2 * np.exp(-2.0)))


def test_cross_entropy_with_probabilities_and_spatial_dims():
    probs = jax.nn.softmax(RNG.standard_normal((6, 4)), 1).astype(np.float32)
    check(
        lambda x, p: F.cross_entropy(x, p),
        lambda x, p: jnp.mean(-(jax.nn.log_softmax(x, 1) * p).sum(1)),
        LOGITS,
        np.asarray(probs),
    )
    x4 = RNG.standard_normal((2, 3, 4, 5)).astype(np.float32)  # (N, C, H, W)
    t4 = RNG.integers(0, 3, (2, 4, 5))
    check(
        lambda x: F.cross_entropy(x, vj.tensor(t4)),
        lambda x: jnp.mean(-jnp.take_along_axis(jax.nn.log_softmax(x, 1), t4[:, None], 1)),
        x4,
    )


def test_nll_loss_matches_its_formula():
    logp = np.asarray(jax.nn.log_softmax(LOGITS, 1))
    check(
        lambda x: F.nll_loss(x, vj.tensor(TARGET), weight=vj.tensor(WEIGHT)),
        lambda x: (
            -(jnp.take_along_axis(x, TARGET[:, None], 1)[:, 0] * WEIGHT[TARGET]).sum()
            / WEIGHT[TARGET].sum()
        ),
        logp,
    )


def test_regression_losses():
    a, b = (
        RNG.standard_normal((2, 5)).astype(np.float32),
        RNG.standard_normal((2, 5)).astype(np.float32),
    )
    check(F.mse_loss, lambda a, b: jnp.mean((a - b) ** 2), a, b)
    check(lambda a, b: F.mse_loss(a, b, reduction="sum"), lambda a, b: jnp.sum((a - b) ** 2), a, b)
    check(F.l1_loss, lambda a, b: jnp.mean(jnp.abs(a - b)), a, b)
    check(lambda a, b: F.l1_loss(a, b, reduction="none"), lambda a, b: jnp.abs(a - b), a, b)


def test_binary_cross_entropy_and_with_logits():
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    y = (RNG.uniform(size=(3, 4)) > 0.5).astype(np.float32)
    p = np.asarray(jax.nn.sigmoid(x))
    check(
        F.binary_cross_entropy,
        lambda p, y: jnp.mean(-(y * jnp.log(p) + (1 - y) * jnp.log(1 - p))),
        p,
        y,
        diff=[0],
    )
    check(
        F.binary_cross_entropy_with_logits,
        lambda x, y: jnp.mean(-(y * jax.nn.log_sigmoid(x) + (1 - y) * jax.nn.log_sigmoid(-x))),
        x,
        y,
        diff=[0],
    )
    pw = np.array([1.0, 2.0, 0.5, 3.0], np.float32)
    check(
        lambda x, y: F.binary_cross_entropy_with_logits(x, y, pos_weight=vj.tensor(pw)),
        lambda x, y: jnp.mean(-(pw * y * jax.nn.log_sigmoid(x) + (1 - y) * jax.nn.log_sigmoid(-x))),
        x,
        y,
        diff=[0],
    )
    # PyTorch clamps each log at -100, so certain wrong predictions give 100, not inf
    out = F.binary_cross_entropy(vj.tensor([0.0, 1.0]), vj.tensor([1.0, 0.0]), reduction="none")
    np.testing.assert_allclose(out.numpy(), [100.0, 100.0])


def test_linear_layer_norm_embedding():
    x = RNG.standard_normal((4, 3)).astype(np.float32)
    w = RNG.standard_normal((2, 3)).astype(np.float32)
    b = RNG.standard_normal(2).astype(np.float32)
    check(F.linear, lambda x, w, b: x @ w.T + b, x, w, b)
    g, beta = RNG.standard_normal(3).astype(np.float32), RNG.standard_normal(3).astype(np.float32)

    def ln(x, g, beta):
        mu = x.mean(-1, keepdims=True)
        return (x - mu) / jnp.sqrt(x.var(-1, keepdims=True) + 1e-5) * g + beta

    check(lambda x, g, beta: F.layer_norm(x, (3,), g, beta), ln, x, g, beta, rtol=1e-4)
    idx = np.array([[0, 2], [1, 0]])
    table = RNG.standard_normal((3, 4)).astype(np.float32)
    check(lambda t: F.embedding(vj.tensor(idx), t), lambda t: t[idx], table)
    # padding_idx rows get no gradient
    t = vj.tensor(table, requires_grad=True)
    F.embedding(vj.tensor(idx), t, padding_idx=0).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), [[0] * 4, [1] * 4, [1] * 4])


def test_softmax_one_hot_pad():
    check(lambda x: F.softmax(x, 1), lambda x: jax.nn.softmax(x, 1), LOGITS)
    np.testing.assert_array_equal(
        F.one_hot(vj.tensor([2, 0]), 4).numpy(), [[0, 0, 1, 0], [1, 0, 0, 0]]
    )
    np.testing.assert_array_equal(F.one_hot(vj.tensor([1, 2])).numpy(), [[0, 1, 0], [0, 0, 1]])
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    check(lambda x: F.pad(x, (1, 0, 0, 2)), lambda x: jnp.pad(x, ((0, 2), (1, 0))), x)
    check(lambda x: F.pad(x, (-1, 0)), lambda x: x[:, 1:], x)  # negative pads crop


def test_conv_and_pool_options():
    x = RNG.standard_normal((1, 4, 6, 6)).astype(np.float32)
    w = RNG.standard_normal((2, 2, 3, 3)).astype(np.float32)

    def conv(x, w):
        return jax.lax.conv_general_dilated(
            x,
            w,
            (1, 1),
            ((2, 2), (2, 2)),
            rhs_dilation=(2, 2),
            dimension_numbers=("NCHW", "OIHW", "NCHW"),
            feature_group_count=2,
        )

    check(lambda x, w: F.conv2d(x, w, padding=2, dilation=2, groups=2), conv, x, w, rtol=1e-4)
    bias = RNG.standard_normal(2).astype(np.float32)
    check(
        lambda x, w, b: F.conv2d(x, w, b, groups=2),
        lambda x, w, b: (
            jax.lax.conv_general_dilated(
                x,
                w,
                (1, 1),
                "VALID",
                dimension_numbers=("NCHW", "OIHW", "NCHW"),
                feature_group_count=2,
            )
            + b[None, :, None, None]
        ),
        x,
        w,
        bias,
        rtol=1e-4,
    )
    # 3x3 windows, stride 2, padding 1, on 5x5: PyTorch's output is 3x3
    y = RNG.standard_normal((1, 1, 5, 5)).astype(np.float32)
    pad = ((0, 0), (0, 0), (1, 1), (1, 1))
    check(
        lambda y: F.max_pool2d(y, 3, 2, 1),
        lambda y: jax.lax.reduce_window(y, -jnp.inf, jax.lax.max, (1, 1, 3, 3), (1, 1, 2, 2), pad),
        y,
    )
    check(
        lambda y: F.avg_pool2d(y, 3, 2, 1),
        lambda y: jax.lax.reduce_window(y, 0.0, jax.lax.add, (1, 1, 3, 3), (1, 1, 2, 2), pad) / 9,
        y,
    )
    assert F.max_pool2d(vj.zeros(1, 1, 5, 5), 2, ceil_mode=True).shape == (1, 1, 3, 3)
    assert F.max_pool2d(vj.zeros(1, 1, 5, 5), 2).shape == (1, 1, 2, 2)


def test_functional_errors():
    with pytest.raises(IndexError, match="out of bounds"):
        F.cross_entropy(vj.tensor(LOGITS), vj.tensor([0, 1, 2, 3, 4, 0]))
    with pytest.raises(ValueError, match="target size"):
        F.mse_loss(vj.ones(3), vj.ones(4))
    with pytest.raises(RuntimeError, match="expected input.*to have 6 channels"):
        F.conv2d(vj.ones(1, 4, 5, 5), vj.ones(2, 3, 3, 3), groups=2)
    with pytest.raises(RuntimeError, match="4-D input"):
        F.conv2d(vj.ones(4, 5, 5), vj.ones(2, 4, 3, 3))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.l1_loss(vj.ones(2), vj.ones(2), reduction="avg")
    with pytest.raises(RuntimeError, match="normalized_shape"):
        F.layer_norm(vj.ones(2, 3), (4,))
    with pytest.raises(ValueError, match="dropout probability"):
        F.dropout(vj.ones(2), 1.5)


@pytest.mark.parametrize(
    "mode,np_mode", [("reflect", "reflect"), ("replicate", "edge"), ("circular", "wrap")]
)
def test_pad_modes(mode, np_mode):
    x = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    check(
        lambda x: F.pad(x, (1, 2, 2, 0), mode=mode),
        lambda x: jnp.pad(x, ((0, 0), (2, 0), (1, 2)), mode=np_mode),
        x,
    )
    with pytest.raises(ValueError, match="negative padding"):
        F.pad(vj.ones(2, 3), (-1, 0), mode=mode)
