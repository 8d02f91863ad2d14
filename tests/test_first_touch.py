"""First touch (issue 13): a fresh model compiles nothing to exist, two programs to train.

Parameter initialisation draws on the host from varjax's seeded state, so creating, printing
or saving a model compiles nothing and its first training program holds no random draws. A
backward of a scalar returns the scalar's value too, so a loop that logs its loss reaches its
steady program after the first two steps (the first step's program, then the one that also
applies the optimizer's pending update).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import varjax as vj
from varjax import _compile, nn


def _compiles() -> int:
    return vj.compile_stats().compiles


def _mlp(width: int, depth: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    d = 13
    for _ in range(depth):
        layers += [nn.Linear(d, width), nn.ReLU()]
        d = width
    return nn.Sequential(*layers, nn.Linear(d, 3))


def test_creating_printing_and_saving_a_fresh_model_compiles_nothing(tmp_path):
    before = _compiles()
    vj.manual_seed(0)
    model = _mlp(17, 6)
    repr(model), repr(model[0].weight), str(model[2].bias)
    vj.save(model.state_dict(), tmp_path / "fresh.pt")
    assert _compiles() == before
    loaded = vj.load(tmp_path / "fresh.pt")
    np.testing.assert_array_equal(loaded["0.weight"].numpy(), model[0].weight.detach().numpy())


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_a_training_loop_is_steady_after_two_programs(opt):
    # A new line of code starts with the value policy the last line decided (_compile._LAST):
    # after a test whose loop never read its loss, a first backward would skip the value
    # and its first read cost a program. Start as a fresh process does.
    _compile._LAST[0] = "read"
    vj.manual_seed(0)
    model = _mlp(19, 5)  # shapes of its own: every program here is compiled by this test
    params = model.parameters()
    optimizer = (vj.optim.SGD(params, lr=0.05, momentum=0.9) if opt == "sgd"
                 else vj.optim.Adam(params, lr=1e-3))  # fmt: skip
    rng = np.random.default_rng(0)
    x = vj.tensor(rng.standard_normal((8, 13)).astype(np.float32))
    y = vj.tensor(rng.integers(0, 3, 8))
    start, per_step, losses = _compiles(), [], []
    for _ in range(6):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())  # a logging loop reads the loss: no program of its own
        per_step.append(_compiles() - start)
    assert per_step[-1] <= 2 and per_step[1:] == [per_step[1]] * 5, per_step
    assert losses[-1] < losses[0]


def test_init_is_reproducible_and_generators_are_honoured():
    vj.manual_seed(3)
    a = nn.Linear(5, 4).weight.detach().numpy()
    vj.manual_seed(3)
    b = nn.Linear(5, 4).weight.detach().numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, nn.Linear(5, 4).weight.detach().numpy())  # the state moved on
    w1, w2 = vj.zeros(4, 5), vj.zeros(4, 5)
    nn.init.normal_(w1, generator=vj.Generator().manual_seed(7))
    nn.init.normal_(w2, generator=vj.Generator().manual_seed(7))
    np.testing.assert_array_equal(w1.numpy(), w2.numpy())
    assert w1.dtype == vj.float32


def test_linear_and_embedding_draw_pytorchs_distributions():
    vj.manual_seed(0)
    w = nn.Linear(400, 300).weight.detach().numpy()
    bound = 1 / math.sqrt(400)
    assert np.abs(w).max() <= bound and w.dtype == np.float32
    # U(-b, b): mean 0, variance b^2 / 3 (standard errors about 2e-5 and 2e-6 here)
    assert abs(w.mean()) < 1e-4 and abs(w.var() - bound**2 / 3) < 1e-5
    e = nn.Embedding(300, 400).weight.detach().numpy()
    assert abs(e.mean()) < 1e-2 and abs(e.std() - 1) < 1e-2


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -0.5, 0.5), (0.0, 0.02, -2.0, 2.0),
                                          (1.0, 1.0, 3.0, 4.0)])  # fmt: skip
def test_trunc_normal_has_the_truncated_distributions_moments(mean, std, a, b):
    """Against the closed-form mean and variance of a normal truncated to [a, b]."""
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    cdf = lambda z: (1 + math.erf(z / math.sqrt(2))) / 2
    al, be = (a - mean) / std, (b - mean) / std
    mass = cdf(be) - cdf(al)
    t_mean = mean + std * (pdf(al) - pdf(be)) / mass
    t_var = std**2 * (1 + (al * pdf(al) - be * pdf(be)) / mass - ((pdf(al) - pdf(be)) / mass) ** 2)
    vj.manual_seed(1)
    w = nn.init.trunc_normal_(vj.zeros(200, 250), mean, std, a, b).numpy()
    assert w.min() >= a and w.max() <= b
    n = w.size
    assert abs(w.mean() - t_mean) < 5 * math.sqrt(t_var / n)
    assert abs(w.var() - t_var) < 0.02 * t_var


def test_init_of_a_parameter_keeps_its_identity_and_history_rules():
    lin = nn.Linear(3, 2)
    w = lin.weight
    assert nn.init.uniform_(w, -0.1, 0.1) is w and w.requires_grad and w.is_leaf
    assert np.abs(w.detach().numpy()).max() <= 0.1
    view = w[0]  # a view sees the new values, as in PyTorch
    nn.init.constant_(w, 0.5)
    np.testing.assert_array_equal(view.detach().numpy(), [0.5, 0.5, 0.5])
    with pytest.raises(RuntimeError, match="negative dimension"):
        nn.Linear(-1, 2)


def _executions() -> int:
    s = vj.compile_stats()
    return s.compiles + s.cache_hits


def test_bounds_checks_of_reshaped_or_windowed_indices_compute_nothing():
    """A batch's bounds are read from the concrete array it was reshaped or windowed from:
    checking ``idx.reshape(-1)`` or ``targets.view(-1)`` runs no program of its own."""
    rng = np.random.default_rng(0)
    idx = vj.tensor(rng.integers(0, 3, (3, 5)))
    emb = nn.Embedding(7, 4)
    positions = vj.tensor(np.arange(7))
    before = _executions()
    rows = emb(idx)
    pos = emb.weight.index_select(0, positions[1:6])
    loss = nn.functional.cross_entropy(rows.reshape(-1, 4), idx.reshape(-1))
    loss2 = nn.functional.cross_entropy(rows[0], idx.view(-1)[2:7].flip(0))
    assert _executions() == before  # recorded only: no check computed anything
    w = emb.weight.detach().numpy()
    np.testing.assert_allclose(rows.detach().numpy(), w[idx.numpy()], rtol=1e-6)
    np.testing.assert_allclose(pos.detach().numpy(), w[1:6], rtol=1e-6)
    assert np.isfinite(loss.item()) and np.isfinite(loss2.item())


@pytest.mark.parametrize("make", [
    lambda idx: idx.reshape(-1),
    lambda idx: idx.t()[1:],
    lambda idx: idx.unsqueeze(0).expand(2, 3, 5),
])  # fmt: skip
def test_an_out_of_bounds_index_behind_a_reshape_or_window_still_raises(make):
    idx = vj.tensor(np.arange(15).reshape(3, 5))  # 14 is out of bounds for 7 rows
    with pytest.raises(IndexError, match="index 14 is out of bounds for dimension 0 with size 7"):
        nn.Embedding(7, 2)(make(idx))
    torch = pytest.importorskip("torch")
    t_idx = torch.arange(15).reshape(3, 5)
    with pytest.raises(IndexError):  # PyTorch: "index out of range in self"
        torch.nn.Embedding(7, 2)(make(t_idx))
    # only the values the index holds count: a window of the in-bounds part passes
    out = nn.Embedding(7, 2)(idx.reshape(-1)[:7])
    assert tuple(out.shape) == (7, 2)


def test_positions_from_arange_are_checked_from_the_call_not_computed():
    emb = nn.Embedding(6, 3)
    before = _executions()
    rows = emb(vj.arange(6)) + emb(vj.arange(5, -1, -2)).sum(0)
    assert _executions() == before  # arange's bounds are its arguments
    w = emb.weight.detach().numpy()
    np.testing.assert_allclose(rows.detach().numpy(), w + w[[5, 3, 1]].sum(0), rtol=1e-6)
    for start, stop in ((0, 7), (-1, 3)):
        with pytest.raises(IndexError, match="out of bounds for dimension 0 with size 6"):
            emb(vj.arange(start, stop))
    torch = pytest.importorskip("torch")
    for start, stop in ((0, 7), (-1, 3)):
        with pytest.raises(IndexError):  # PyTorch: "index out of range in self"
            torch.nn.Embedding(6, 3)(torch.arange(start, stop))


def test_an_optimizer_over_fresh_norm_layers_compiles_nothing():
    """``Parameter(vj.ones(n))`` and ``register_buffer(..., vj.zeros(n))`` are made on the
    host: the optimizer reads them at construction, and a save reads the buffers."""
    model = nn.Sequential(nn.Linear(3, 5), nn.LayerNorm(5), nn.BatchNorm1d(5), nn.GroupNorm(1, 5))
    before = _executions()
    opt = vj.optim.Adam(model.parameters(), lr=1e-3)
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    assert _executions() == before
    assert state["1.weight"].tolist() == [1.0] * 5 and state["2.running_var"].tolist() == [1.0] * 5
    assert state["2.num_batches_tracked"].dtype == np.int64 and opt.param_groups[0]["lr"] == 1e-3
    assert model[1].weight.requires_grad and model[1].weight.is_leaf
    assert not model[2].running_mean.requires_grad


def test_cross_entropy_checks_targets_and_ignores_ignore_index():
    logits = vj.zeros(4, 3)
    with pytest.raises(IndexError, match="out of bounds"):
        nn.functional.cross_entropy(logits, vj.tensor([0, 1, 3, 2]).reshape(-1))
    ok = nn.functional.cross_entropy(logits, vj.tensor([[0, -100], [2, 1]]).view(-1))
    np.testing.assert_allclose(ok.item(), math.log(3), rtol=1e-6)


def test_a_jitted_step_leaves_the_imperative_steps_loss_value_alone():
    """A backward traced by varjax.jit always returns the loss (its program drops it if
    unused) and teaches nothing about the user's reads: the same step run imperatively
    afterwards still gets its loss with its gradients."""
    vj.clear_caches()  # the value policy starts from no decision
    model = nn.Linear(3, 1)
    opt = vj.optim.SGD(model.parameters(), lr=0.1)
    x = vj.tensor(np.ones((4, 3), np.float32))

    def step():
        opt.zero_grad()
        loss = model(x).square().mean()
        loss.backward()
        opt.step()
        return loss

    jitted = vj.jit(step)
    losses = [jitted().item() for _ in range(3)]  # traced twice (no gradients, then some)
    from varjax import _compile

    assert _compile._SITES == {}  # (before, the second trace skipped the value: a slower step)
    w, b = model.weight.detach().numpy(), model.bias.detach().numpy()
    loss = step()  # the same line's backward, now imperative
    assert loss._node.value is not None  # returned with the gradients, as for a new line
    np.testing.assert_allclose(loss.item(), ((x.numpy() @ w.T + b) ** 2).mean(), rtol=1e-6)
    assert losses[2] < losses[0]
