"""BatchNorm1d / BatchNorm2d and F.batch_norm: values, running stats and gradients against
hand-written numpy and jax.numpy formulas, PyTorch's state_dict keys, modes and errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_close

import varjax as vj
import varjax.nn.functional as F
from varjax import nn

EPS = 1e-5
CASES = [(nn.BatchNorm1d, (8, 3)), (nn.BatchNorm1d, (4, 3, 5)), (nn.BatchNorm2d, (4, 3, 2, 5))]
IDS = ["1d-NC", "1d-NCL", "2d-NCHW"]


def _bshape(x):
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def np_normalize(x, mean, var, weight, bias, eps=EPS):
    s = _bshape(x)
    out = (x - mean.reshape(s)) / np.sqrt(var.reshape(s) + eps)
    return out * weight.reshape(s) + bias.reshape(s)


def np_batch_stats(x):
    """(mean, biased var, unbiased var) over every dim but 1."""
    dims = (0, *range(2, x.ndim))
    return x.mean(dims), x.var(dims), x.var(dims, ddof=1)


def jnp_batch_norm_train(x, weight, bias, eps=EPS):
    dims = (0, *range(2, x.ndim))
    s = _bshape(x)
    mean = jnp.mean(x, dims, keepdims=True)
    var = jnp.mean((x - mean) ** 2, dims, keepdims=True)
    return (x - mean) / jnp.sqrt(var + eps) * weight.reshape(s) + bias.reshape(s)


def _affine(bn, rng):
    """Give ``bn`` non-trivial weight and bias; return them as numpy arrays."""
    c = bn.num_features
    w = rng.uniform(0.5, 1.5, c).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32)
    with vj.no_grad():
        bn.weight.copy_(vj.tensor(w))
        bn.bias.copy_(vj.tensor(b))
    return w, b


def _x(rng, shape, shift=0.0):
    return (rng.standard_normal(shape) * 2 + shift).astype(np.float32)


@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
@pytest.mark.parametrize(("cls", "shape"), CASES, ids=IDS)
def test_train_and_eval_values_and_running_stats(mode, rng, cls, shape, momentum):
    c = shape[1]
    bn = cls(c, momentum=momentum)
    w, b = _affine(bn, rng)
    run_mean, run_var = np.zeros(c), np.ones(c)
    for step in range(1, 4):
        x = _x(rng, shape, shift=step)
        out = bn(vj.tensor(x))
        mean, var, unbiased = np_batch_stats(x)
        assert_close(out.detach().numpy(), np_normalize(x, mean, var, w, b), rtol=1e-4, atol=1e-5)
        m = 1 / step if momentum is None else momentum  # None: cumulative moving average
        run_mean = (1 - m) * run_mean + m * mean
        run_var = (1 - m) * run_var + m * unbiased
        assert_close(bn.running_mean.numpy(), run_mean, rtol=1e-5, atol=1e-6)
        assert_close(bn.running_var.numpy(), run_var, rtol=1e-5, atol=1e-6)
        assert bn.num_batches_tracked.tolist() == step
    bn.eval()
    x = _x(rng, shape)
    out = bn(vj.tensor(x))
    assert_close(out.detach().numpy(), np_normalize(x, run_mean, run_var, w, b), rtol=1e-4,
                 atol=1e-5)  # fmt: skip
    assert_close(bn.running_mean.numpy(), run_mean, rtol=1e-5, atol=1e-6)  # eval: no update
    assert bn.num_batches_tracked.tolist() == 3


@pytest.mark.parametrize(("cls", "shape"), CASES, ids=IDS)
def test_gradients_against_jax(mode, rng, cls, shape):
    bn = cls(shape[1])
    w, b = _affine(bn, rng)
    x, g = _x(rng, shape), rng.standard_normal(shape).astype(np.float32)
    xv = vj.tensor(x, requires_grad=True)
    (bn(xv) * vj.tensor(g)).sum().backward()

    def loss(x, w, b):
        return jnp.sum(jnp_batch_norm_train(x, w, b) * g)

    gx, gw, gb = jax.grad(loss, argnums=(0, 1, 2))(x, w, b)
    assert_close(xv.grad.numpy(), gx, rtol=1e-3, atol=1e-4)
    assert_close(bn.weight.grad.numpy(), gw, rtol=1e-4, atol=1e-4)
    assert_close(bn.bias.grad.numpy(), gb, rtol=1e-4, atol=1e-4)
    assert not bn.running_mean.requires_grad and bn.running_mean.grad is None

    bn.zero_grad()
    bn.eval()  # eval: an affine map of x with the running stats as constants
    rm, rv = bn.running_mean.numpy(), bn.running_var.numpy()
    xv = vj.tensor(x, requires_grad=True)
    (bn(xv) * vj.tensor(g)).sum().backward()
    gx, gw, gb = jax.grad(lambda x, w, b: jnp.sum(np_normalize(x, rm, rv, w, b) * g),
                          argnums=(0, 1, 2))(x, w, b)  # fmt: skip
    assert_close(xv.grad.numpy(), gx, rtol=1e-4, atol=1e-5)
    assert_close(bn.weight.grad.numpy(), gw, rtol=1e-4, atol=1e-4)
    assert_close(bn.bias.grad.numpy(), gb, rtol=1e-4, atol=1e-4)


def test_state_dict_keys_buffers_and_repr():
    bn = nn.BatchNorm2d(16)
    assert list(bn.state_dict()) == [
        "weight", "bias", "running_mean", "running_var", "num_batches_tracked"]  # fmt: skip
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert [n for n, _ in bn.named_buffers()] == [
        "running_mean", "running_var", "num_batches_tracked"]  # fmt: skip
    assert bn.weight.tolist() == [1.0] * 16 and bn.bias.tolist() == [0.0] * 16
    assert bn.running_mean.tolist() == [0.0] * 16 and bn.running_var.tolist() == [1.0] * 16
    nbt = bn.num_batches_tracked
    assert nbt.shape == () and np.issubdtype(nbt.dtype, np.integer) and nbt.tolist() == 0
    assert repr(bn) == (
        "BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)"
    )
    assert repr(nn.BatchNorm1d(4, momentum=None, affine=False, track_running_stats=False)) == (
        "BatchNorm1d(4, eps=1e-05, momentum=None, affine=False, bias=False, "
        "track_running_stats=False)"
    )
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    assert list(net.state_dict())[2:] == [
        "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked",
    ]  # fmt: skip


def test_state_dict_round_trip_carries_running_stats(rng):
    """The loaded copy equals the original and the running averages computed in NumPy, and
    normalizes in eval mode with them."""
    a, b = nn.BatchNorm1d(3), nn.BatchNorm1d(3)
    run_mean, run_var = np.zeros(3), np.ones(3)
    for _ in range(2):
        x = _x(rng, (6, 3), shift=1.0)
        a(vj.tensor(x))
        mean, _, unbiased = np_batch_stats(x)
        run_mean, run_var = 0.9 * run_mean + 0.1 * mean, 0.9 * run_var + 0.1 * unbiased
    b.load_state_dict(a.state_dict())
    for key, value in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[key].numpy(), value.numpy())
    assert b.num_batches_tracked.tolist() == 2
    assert np.issubdtype(b.num_batches_tracked.dtype, np.integer)
    # the oracle: the loaded values are the NumPy running averages and the initial affine
    assert_close(b.running_mean.numpy(), run_mean, rtol=1e-5, atol=1e-6)
    assert_close(b.running_var.numpy(), run_var, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(b.weight.detach().numpy(), np.ones(3, np.float32))
    np.testing.assert_array_equal(b.bias.detach().numpy(), np.zeros(3, np.float32))
    b.eval()
    x = _x(rng, (4, 3))
    expected = np_normalize(x, run_mean, run_var, np.ones(3), np.zeros(3))
    assert_close(b(vj.tensor(x)).detach().numpy(), expected, rtol=1e-4, atol=1e-5)


def test_buffers_are_updated_in_place_on_the_same_variables(mode, rng):
    bn = nn.BatchNorm2d(2, momentum=None)
    buffers = {n: id(v) for n, v in bn.named_buffers()}
    attrs = set(bn.__dict__)
    version = bn.running_mean._version
    for _ in range(2):
        bn(vj.tensor(_x(rng, (3, 2, 2, 2))))
    assert {n: id(v) for n, v in bn.named_buffers()} == buffers  # rebound, not replaced
    assert set(bn.__dict__) == attrs  # no new Python attributes
    assert bn.running_mean._version > version
    assert bn.num_batches_tracked.tolist() == 2


def test_eval_train_switching(rng):
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    bn = model[1]
    model(vj.tensor(_x(rng, (5, 4))))
    stats = bn.running_mean.numpy(), bn.running_var.numpy()
    model.eval()
    assert not bn.training
    x = _x(rng, (5, 4))
    out = model(vj.tensor(x)).detach().numpy()
    h = model[0](vj.tensor(x)).detach().numpy()
    w, b = bn.weight.detach().numpy(), bn.bias.detach().numpy()
    assert_close(out, np_normalize(h, *stats, w, b), rtol=1e-4, atol=1e-5)
    assert_close(bn.running_mean.numpy(), stats[0]) and bn.num_batches_tracked.tolist() == 1
    model.train()
    x = _x(rng, (5, 4))
    h = model[0](vj.tensor(x)).detach().numpy()
    out = model(vj.tensor(x)).detach().numpy()
    mean, var, unbiased = np_batch_stats(h)
    assert_close(out, np_normalize(h, mean, var, w, b), rtol=1e-4, atol=1e-5)
    assert_close(bn.running_mean.numpy(), 0.9 * stats[0] + 0.1 * mean, rtol=1e-5, atol=1e-6)
    assert bn.num_batches_tracked.tolist() == 2


def test_affine_false(rng):
    bn = nn.BatchNorm1d(3, affine=False)
    assert list(bn.parameters()) == [] and bn.weight is None and bn.bias is None
    assert list(bn.state_dict()) == ["running_mean", "running_var", "num_batches_tracked"]
    x = _x(rng, (4, 3, 6))
    mean, var, unbiased = np_batch_stats(x)
    ones, zeros = np.ones(3), np.zeros(3)
    assert_close(bn(vj.tensor(x)).numpy(), np_normalize(x, mean, var, ones, zeros), rtol=1e-4,
                 atol=1e-5)  # fmt: skip
    assert_close(bn.running_var.numpy(), 0.9 + 0.1 * unbiased, rtol=1e-5)


def test_track_running_stats_false_always_uses_batch_stats(rng):
    bn = nn.BatchNorm2d(2, track_running_stats=False)
    assert bn.running_mean is None and bn.running_var is None and bn.num_batches_tracked is None
    assert list(bn.state_dict()) == ["weight", "bias"] and list(bn.buffers()) == []
    w, b = _affine(bn, rng)
    x = _x(rng, (3, 2, 4, 4), shift=2.0)
    mean, var, _ = np_batch_stats(x)
    expected = np_normalize(x, mean, var, w, b)
    assert_close(bn(vj.tensor(x)).detach().numpy(), expected, rtol=1e-4, atol=1e-5)
    bn.eval()  # still the batch stats: there are no running ones
    assert_close(bn(vj.tensor(x)).detach().numpy(), expected, rtol=1e-4, atol=1e-5)
    assert bn.running_mean is None and bn.num_batches_tracked is None


def test_functional_batch_norm(rng):
    x = _x(rng, (5, 2, 3), shift=1.0)
    mean, var, unbiased = np_batch_stats(x)
    w, b = np.array([2.0, 0.5], np.float32), np.array([1.0, -1.0], np.float32)
    out = F.batch_norm(vj.tensor(x), None, None, vj.tensor(w), vj.tensor(b), training=True)
    assert_close(out.numpy(), np_normalize(x, mean, var, w, b), rtol=1e-4, atol=1e-5)
    rm, rv = vj.tensor([1.0, 2.0]), vj.tensor([3.0, 4.0])
    F.batch_norm(vj.tensor(x), rm, rv, training=True, momentum=0.25)
    assert_close(rm.numpy(), 0.75 * np.array([1, 2]) + 0.25 * mean, rtol=1e-5)
    assert_close(rv.numpy(), 0.75 * np.array([3, 4]) + 0.25 * unbiased, rtol=1e-5)
    # a 0-d Variable momentum (what BatchNorm's cumulative average passes)
    rm2 = vj.zeros(2)
    F.batch_norm(vj.tensor(x), rm2, vj.ones(2), training=True, momentum=vj.tensor(0.5))
    assert_close(rm2.numpy(), 0.5 * mean, rtol=1e-5)
    out = F.batch_norm(vj.tensor(x), rm, rv, eps=1e-3)  # eval by default
    assert_close(out.numpy(), np_normalize(x, rm.numpy(), rv.numpy(), np.ones(2), np.zeros(2),
                                           eps=1e-3), rtol=1e-5, atol=1e-6)  # fmt: skip


def test_rank_errors():
    with pytest.raises(ValueError, match=r"^expected 2D or 3D input \(got 4D input\)$"):
        nn.BatchNorm1d(3)(vj.zeros(2, 3, 4, 5))
    with pytest.raises(ValueError, match=r"^expected 2D or 3D input \(got 1D input\)$"):
        nn.BatchNorm1d(3)(vj.zeros(3))
    with pytest.raises(ValueError, match=r"^expected 4D input \(got 3D input\)$"):
        nn.BatchNorm2d(3)(vj.zeros(2, 3, 4))
    with pytest.raises(ValueError, match="at least 2 dims, got 1D"):
        F.batch_norm(vj.zeros(3), None, None, training=True)


def test_channel_and_batch_size_errors_leave_state_untouched():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(RuntimeError, match=r"expected input with 3 channels .* got 4 channels"):
        bn(vj.zeros(2, 4))
    with pytest.raises(RuntimeError, match="3 channels.*got 4 channels"):
        nn.BatchNorm2d(3, track_running_stats=False)(vj.zeros(2, 4, 2, 2))
    msg = r"^Expected more than 1 value per channel when training, got input size \[1, 3\]$"
    with pytest.raises(ValueError, match=msg):
        bn(vj.zeros(1, 3))
    with pytest.raises(ValueError, match=r"got input size \[1, 3, 1, 1\]"):
        nn.BatchNorm2d(3)(vj.zeros(1, 3, 1, 1))
    assert bn.num_batches_tracked.tolist() == 0  # no failed call counted a batch
    assert bn.running_mean.tolist() == [0.0] * 3
    bn.eval()
    assert bn(vj.ones(1, 3)).shape == (1, 3)  # one sample is fine with the running stats
    nn.BatchNorm1d(3)(vj.zeros(1, 3, 2))  # two values per channel: fine in training


def test_functional_argument_errors():
    with pytest.raises(RuntimeError, match="running_mean must be defined in evaluation mode"):
        F.batch_norm(vj.zeros(2, 3), None, None, training=False)
    with pytest.raises(ValueError, match="both be None or neither be None"):
        F.batch_norm(vj.zeros(2, 3), vj.zeros(3), None, training=True)
    with pytest.raises(RuntimeError, match="3 channels .*to match weight, got 4 channels"):
        F.batch_norm(vj.zeros(2, 4), None, None, weight=vj.ones(3), training=True)
    with pytest.raises(TypeError, match="must be Variables"):
        F.batch_norm(vj.zeros(2, 3), np.zeros(3), np.ones(3), training=True)
