"""Random sampling (issue 12, part 3): ``generator=``, ``multinomial``, ``bernoulli``,
``poisson``, ``normal`` and the in-place fills. Draws cannot match PyTorch's generator, so the
tests check the distributions (frequencies and moments against their definitions), the
reproducibility, and PyTorch's errors."""

from __future__ import annotations

import numpy as np
import pytest

import varjax as vj

try:
    import torch
except ImportError:  # pragma: no cover - depends on the machine
    torch = None


def test_a_generator_makes_draws_reproducible_and_leaves_the_global_state():
    def draws(seed):
        g = vj.Generator().manual_seed(seed)
        return [vj.randn(3, generator=g).tolist(), vj.rand(2, generator=g).tolist(),
                vj.randint(0, 10, (4,), generator=g).tolist(),
                vj.randperm(5, generator=g).tolist()]  # fmt: skip

    before = vj.get_rng_state()
    assert draws(2147483647) == draws(2147483647) and draws(1) != draws(2)
    assert vj.get_rng_state() == before
    with pytest.raises(TypeError, match="must be a varjax.Generator"):
        vj.randn(2, generator=np.random.default_rng(0))


def test_rng_state_round_trips():
    state = vj.get_rng_state()
    a = vj.rand(3).tolist()
    vj.set_rng_state(state)
    assert vj.rand(3).tolist() == a


def test_default_generator_is_the_global_state():
    # torch.manual_seed returns torch.default_generator; draws through it are the global ones
    assert vj.manual_seed(7) is vj.default_generator and vj.default_generator.initial_seed() == 7
    plain = [vj.randn(3).tolist(), vj.randperm(6).tolist()]
    vj.default_generator.manual_seed(7)
    g = vj.default_generator
    assert [vj.randn(3, generator=g).tolist(), vj.randperm(6, generator=g).tolist()] == plain
    state = g.get_state()
    assert state == vj.get_rng_state()
    a = vj.rand(2).tolist()
    g.set_state(state)
    assert vj.rand(2).tolist() == a
    assert g.seed() == vj.initial_seed()


def test_multinomial_frequencies():
    g = vj.Generator().manual_seed(0)
    p = vj.tensor([0.1, 0.2, 0.7])
    s = vj.multinomial(p, 4000, replacement=True, generator=g)
    assert s.shape == (4000,) and s.dtype == vj.tensor(1).dtype
    freq = np.bincount(np.asarray(s), minlength=3) / 4000
    np.testing.assert_allclose(freq, [0.1, 0.2, 0.7], atol=0.03)
    rows = vj.tensor([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 5.0]])
    picks = vj.multinomial(rows, 1, generator=g)
    assert picks.shape == (2, 1) and picks[0, 0].item() in (0, 1) and picks[1, 0].item() == 3
    # without replacement, the categories of probability 0 come last, as PyTorch 2.13's
    assert vj.multinomial(vj.tensor([[1.0, 0.0]]), 2).tolist() == [[0, 1]]
    assert vj.multinomial(vj.tensor([0.5, 0.5, 0.0]), 3)[2].item() == 2
    if torch is not None:
        assert torch.multinomial(torch.tensor([[1.0, 0.0]]), 2).tolist() == [[0, 1]]
    distinct = vj.multinomial(vj.ones(6), 6, generator=g)
    assert sorted(distinct.tolist()) == list(range(6))  # without replacement: each once
    weighted = [vj.multinomial(vj.tensor([0.8, 0.1, 0.1]), 2, generator=g)[0].item()
                for _ in range(300)]  # fmt: skip
    assert 0.7 < weighted.count(0) / 300 < 0.9


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda lib: lib.multinomial(lib.tensor([0.5, -0.1]), 1), "element < 0"),
        (lambda lib: lib.multinomial(lib.tensor([0.5, 0.5]), 3), "without replacement"),
        (lambda lib: lib.multinomial(lib.ones(2, 2, 2), 1), "1 or 2 dim"),
    ],
)
def test_multinomial_errors_are_pytorchs(make, message):
    with pytest.raises(RuntimeError, match=message):
        make(vj)
    if torch is not None:
        with pytest.raises(RuntimeError, match=message):
            make(torch)


def test_bernoulli_poisson_normal_moments():
    vj.manual_seed(0)
    b = vj.bernoulli(vj.full((4000,), 0.25))
    assert set(b.tolist()) <= {0.0, 1.0} and abs(b.mean().item() - 0.25) < 0.03
    p = vj.poisson(vj.full((4000,), 3.0))
    assert abs(p.mean().item() - 3.0) < 0.15 and abs(p.var().item() - 3.0) < 0.3
    n = vj.normal(vj.full((4000,), 2.0), vj.full((4000,), 0.5))
    assert abs(n.mean().item() - 2.0) < 0.05 and abs(n.std().item() - 0.5) < 0.05
    assert vj.normal(1.0, 2.0, size=(3, 2)).shape == (3, 2)
    x = vj.tensor([0.0, 1.0, 0.5], requires_grad=True)
    assert not vj.bernoulli(x).requires_grad  # samples carry no gradient, as PyTorch's


def test_in_place_fills():
    vj.manual_seed(1)
    x = vj.zeros(4000)
    assert x.uniform_(2, 3) is x and 2 <= x.min().item() and x.max().item() < 3
    x.normal_(5, 0.1)
    assert abs(x.mean().item() - 5) < 0.01 and abs(x.std().item() - 0.1) < 0.01
    x.bernoulli_(0.3)
    assert set(x.tolist()) <= {0.0, 1.0} and abs(x.mean().item() - 0.3) < 0.03
    x.exponential_(2.0)
    assert x.min().item() >= 0 and abs(x.mean().item() - 0.5) < 0.03
    x.random_(0, 10)
    assert set(x.tolist()) == set(range(10))
    w = vj.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w.uniform_()
    with vj.no_grad():
        w.uniform_(-1, 1)
    assert w.requires_grad and w.is_leaf and w.abs().max().item() <= 1
