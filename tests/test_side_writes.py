"""Writes a step leaves behind (issue 13): BatchNorm's running stats, counters, accumulators.

Nothing reads such a value in the step that writes it, so left alone it would stay pending,
reading a forward that backward frees: it would be recomputed later, in a program of its
own, at a point that drifts from step to step (a ResNet recompiled without bound). The
program that computes what such a write reads computes it too: the backward replays it
after its vjp, on the forward values the vjp computed; a forward computes it with the rest.
A Variable's chain of in-place writes is computed at ``config.max_inplace_depth`` writes,
however deep the forward behind one write.
"""

from __future__ import annotations

import numpy as np
import pytest

import varjax as vj
from varjax import nn


def _calls() -> int:
    s = vj.compile_stats()
    return s.compiles + s.cache_hits


def _compiles() -> int:
    return vj.compile_stats().compiles


def _convnet(lib, width: int):
    return lib.nn.Sequential(
        lib.nn.Conv2d(1, width, 3, padding=1, bias=False), lib.nn.BatchNorm2d(width),
        lib.nn.ReLU(), lib.nn.Conv2d(width, width, 3, padding=1, bias=False),
        lib.nn.BatchNorm2d(width), lib.nn.ReLU(), lib.nn.AdaptiveAvgPool2d(1),
        lib.nn.Flatten(), lib.nn.Linear(width, 3),
    )  # fmt: skip


def _batch(i: int):
    rng = np.random.default_rng(i)
    return rng.standard_normal((6, 1, 5, 5)).astype(np.float32), rng.integers(0, 3, 6)


def _train(lib, model, steps: int, counts: list | None = None) -> list[float]:
    opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    losses = []
    for i in range(steps):
        x, y = _batch(i)
        opt.zero_grad()
        loss = lib.nn.functional.cross_entropy(model(lib.tensor(x)), lib.tensor(y))
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
        if counts is not None:
            counts.append(_compiles())
    return losses


def test_a_conv_batchnorm_loop_is_steady_and_matches_pytorch():
    torch = pytest.importorskip("torch")
    vj.manual_seed(0)
    model = _convnet(vj, 7)  # a width of its own: every program here is compiled by this test
    reference = _convnet(torch, 7)
    reference.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    counts: list[int] = []
    start = _compiles()
    losses = _train(vj, model, 10, counts)
    expected = _train(torch, reference, 10)
    np.testing.assert_allclose(losses, expected, rtol=2e-5, atol=2e-6)
    assert counts[-1] - start <= 3 and counts[2] == counts[-1], counts  # steady from step 3
    for k, v in reference.state_dict().items():  # running stats, counters and weights
        np.testing.assert_allclose(model.state_dict()[k].numpy(), v.numpy(), rtol=2e-5,
                                   atol=2e-6, err_msg=k)  # fmt: skip


def test_backward_computes_the_running_stats_its_forward_wrote():
    vj.manual_seed(0)
    bn = nn.BatchNorm1d(5)
    x = vj.randn(8, 5, requires_grad=True)
    bn(x.tanh()).pow(2).sum().backward()
    calls = _calls()
    mean, var, count = bn.running_mean.numpy(), bn.running_var.numpy(), bn.num_batches_tracked
    assert _calls() == calls  # the backward computed them: reading runs nothing
    t = np.tanh(x.detach().numpy())
    np.testing.assert_allclose(mean, 0.1 * t.mean(0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(var, 0.9 + 0.1 * t.var(0, ddof=1), rtol=1e-5, atol=1e-7)
    assert count.item() == 1


def test_a_no_grad_forward_computes_the_running_stats_with_its_output():
    vj.manual_seed(1)
    bn = nn.BatchNorm1d(3)
    x = np.random.default_rng(1).standard_normal((9, 3)).astype(np.float32)
    with vj.no_grad():
        out = bn(vj.tensor(x).exp())
    out.numpy()
    calls = _calls()
    mean = bn.running_mean.numpy()
    assert _calls() == calls
    np.testing.assert_allclose(mean, 0.1 * np.exp(x).mean(0), rtol=1e-5)


def test_an_accumulated_detached_loss_reads_returned_values_not_freed_forwards():
    w0 = np.array([0.5, -1.0, 2.0], np.float32)
    w = vj.tensor(w0, requires_grad=True)
    total = vj.zeros(())
    xs = [np.array([1.0, 2.0, 3.0], np.float32) * k for k in range(1, 7)]
    for x in xs:
        loss = (w * vj.tensor(x)).sin().sum()
        loss.backward()
        total += loss.detach()  # a read of the loss: its backward returns the value from now on
        assert loss._node.value is not None
    expected = sum(np.sin(w0 * x).sum() for x in xs)
    calls = _calls()
    assert abs(total.item() - expected) < 1e-5
    assert _calls() - calls == 1  # the chain of additions, no forward recomputed
    np.testing.assert_allclose(w.grad.numpy(), sum(np.cos(w0 * x) * x for x in xs), rtol=1e-5)


def test_a_deep_forward_before_a_batchnorm_computes_in_one_program_per_step():
    vj.manual_seed(2)
    depth = vj.config.max_inplace_depth + 20  # deeper than the in-place chain limit
    bn = nn.BatchNorm1d(4)
    x = vj.randn(6, 4, requires_grad=True)
    per_step = []
    for _ in range(4):
        calls = _calls()
        h = x
        for _ in range(depth):
            h = h * 0.99 + 0.01
        bn(h).sum().backward()
        per_step.append(_calls() - calls)
    assert per_step[1:] == [1, 1, 1], per_step  # the backward alone: no forward settled early
    h = x.detach().numpy()
    for _ in range(depth):
        h = h * 0.99 + 0.01
    np.testing.assert_allclose(bn.running_mean.numpy(), (1 - 0.9**4) * h.mean(0), rtol=1e-4)


def test_a_chain_of_in_place_writes_is_computed_every_max_inplace_depth_writes():
    limit = vj.config.max_inplace_depth
    n = vj.zeros(3, 3)
    computed = []
    for k in range(2 * limit + 1):
        n[k % 3, (k // 3) % 3] += 1
        computed.append(n._node.value is not None)
    assert [k + 1 for k, c in enumerate(computed) if c] == [limit, 2 * limit]
    assert n.sum().item() == 2 * limit + 1
    row = n[1]  # writes through a view count on the view and on its base
    for k in range(limit):
        row[k % 3] += 1
        assert (n._node.value is not None) == (k + 1 == limit)
    np.testing.assert_array_equal(n.numpy().sum(1), [2 * limit // 3 + 1, 2 * limit // 3 + limit,
                                                     2 * limit // 3])  # fmt: skip
