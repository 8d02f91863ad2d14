"""nn.Module and layers (issue 5, first part): the module tree, state dicts, modes, PyTorch's
default initialisation, and layer/loss values and gradients against jax.numpy."""

from __future__ import annotations

from collections import OrderedDict

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_close

import varjax as vj
from varjax import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 8), nn.Tanh())
        self.head = nn.Linear(8, 3)
        self.register_buffer("steps", vj.zeros(()))
        self.register_buffer("scratch", vj.zeros(2), persistent=False)

    def forward(self, x):
        return self.head(self.body(x))


def test_module_tree_and_naming():
    vj.manual_seed(0)
    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "body.0.weight", "body.0.bias", "head.weight", "head.bias"]  # fmt: skip
    assert [n for n, _ in net.named_modules()] == ["", "body", "body.0", "body.1", "head"]
    assert [type(m).__name__ for m in net.children()] == ["Sequential", "Linear"]
    assert [n for n, _ in net.named_buffers()] == ["steps", "scratch"]
    assert list(net.state_dict()) == [
        "steps", "body.0.weight", "body.0.bias", "head.weight", "head.bias"]  # fmt: skip
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())
    assert repr(net.head) == "Linear(in_features=8, out_features=3, bias=True)"
    assert "(body): Sequential(" in repr(net)
    shared = nn.Linear(2, 2)
    twice = nn.Sequential(shared, shared)
    assert len(list(twice.parameters())) == 2  # shared parameters are listed once


def test_default_initialisation_follows_pytorch():
    vj.manual_seed(1)
    lin = nn.Linear(64, 200)
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    bound = 1 / np.sqrt(64)
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.01  # uniform(-b, b) has std b / sqrt(3)
    conv = nn.Conv2d(3, 16, 3)
    assert np.abs(conv.weight.detach().numpy()).max() <= 1 / np.sqrt(27)
    emb = nn.Embedding(500, 20, padding_idx=0)
    e = emb.weight.detach().numpy()
    assert abs(e[1:].std() - 1) < 0.05 and not e[0].any()
    vj.manual_seed(1)
    again = nn.Linear(64, 200)
    np.testing.assert_array_equal(again.weight.detach().numpy(), w)  # seeded


def test_forward_and_gradients_against_jax():
    vj.manual_seed(2)
    net = Net()
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    target = np.array([0, 2, 1, 1, 0])
    loss = nn.CrossEntropyLoss()(net(vj.tensor(x)), vj.tensor(target))
    loss.backward()
    params = {n: p.detach().numpy() for n, p in net.named_parameters()}

    def f(p):
        h = jnp.tanh(x @ p["body.0.weight"].T + p["body.0.bias"])
        logits = h @ p["head.weight"].T + p["head.bias"]
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), target[:, None], 1))

    expected = jax.grad(f)(params)
    assert_close(loss.item(), f(params), rtol=1e-5)
    for n, p in net.named_parameters():
        assert_close(p.grad.numpy(), expected[n], rtol=1e-4, atol=1e-6)
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_state_dict_round_trip_and_strict_loading():
    vj.manual_seed(3)
    a, b = Net(), Net()
    b.load_state_dict(a.state_dict())
    for pa, pb in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(pa.detach().numpy(), pb.detach().numpy())
    assert b.head.weight.is_leaf and b.head.weight.requires_grad
    before = {n: p.detach().numpy() for n, p in b.named_parameters()}
    bad = a.state_dict()
    bad["head.weight"] = vj.zeros(2, 2)
    bad["extra"] = vj.zeros(1)
    del bad["head.bias"]
    with pytest.raises(RuntimeError) as err:
        b.load_state_dict(bad)
    msg = str(err.value)
    assert 'Unexpected key(s) in state_dict: "extra"' in msg
    assert 'Missing key(s) in state_dict: "head.bias"' in msg
    assert "size mismatch for head.weight" in msg
    for n, p in b.named_parameters():  # untouched by the failed load
        np.testing.assert_array_equal(p.detach().numpy(), before[n])
    del bad["extra"]
    bad["head.weight"] = a.head.weight.detach()
    result = b.load_state_dict(bad, strict=False)
    assert result.missing_keys == ["head.bias"] and result.unexpected_keys == []


def test_train_eval_and_dropout():
    vj.manual_seed(4)
    model = nn.Sequential(OrderedDict(drop=nn.Dropout(0.5), act=nn.ReLU()))
    x = vj.ones(1000)
    assert model.training and 0.3 < (model(x).numpy() == 0).mean() < 0.7
    model.eval()
    assert not model.training and not model.drop.training
    np.testing.assert_array_equal(model(x).numpy(), np.ones(1000))


def test_layers_and_losses_against_functional_oracles():
    vj.manual_seed(5)
    x = np.random.default_rng(1).standard_normal((2, 6)).astype(np.float32)
    y = np.random.default_rng(2).standard_normal((2, 6)).astype(np.float32)
    ln = nn.LayerNorm(6)
    mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    assert_close(ln(vj.tensor(x)).detach().numpy(), (x - mu) / np.sqrt(var + 1e-5), rtol=1e-4)
    assert_close(nn.MSELoss()(vj.tensor(x), vj.tensor(y)).item(), ((x - y) ** 2).mean())
    assert_close(
        nn.L1Loss(reduction="sum")(vj.tensor(x), vj.tensor(y)).item(),
        np.abs(x - y).sum(),
        rtol=1e-5,
    )
    t = (y > 0).astype(np.float32)
    assert_close(
        nn.BCEWithLogitsLoss()(vj.tensor(x), vj.tensor(t)).item(),
        np.mean(np.logaddexp(0, x) - x * t),
        rtol=1e-5,
    )
    logp = np.asarray(jax.nn.log_softmax(x, 1))
    assert_close(
        nn.NLLLoss()(vj.tensor(logp), vj.tensor([1, 4])).item(),
        -(logp[0, 1] + logp[1, 4]) / 2,
        rtol=1e-5,
    )
    assert_close(nn.GELU()(vj.tensor(x)).numpy(), jax.nn.gelu(x, approximate=False), rtol=1e-5)
    assert nn.Flatten()(vj.zeros(2, 3, 4)).shape == (2, 12)
    assert nn.Identity()(vj.ones(2)).tolist() == [1.0, 1.0]


def test_containers_and_errors():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(layers) == 3 and len(list(layers.parameters())) == 6
    d = nn.ModuleDict({"a": nn.ReLU()})
    d["b"] = nn.Tanh()
    assert list(d) == ["a", "b"] and isinstance(d["b"], nn.Tanh)
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    assert isinstance(seq[0], nn.Linear) and len(seq[0:1]) == 1
    with pytest.raises(NotImplementedError, match='missing "forward"'):
        nn.Module()(vj.ones(1))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        nn.Linear(2, 2).nope  # noqa: B018
    with pytest.raises(TypeError, match="varjax.nn.Parameter or None required"):
        nn.Module().register_parameter("w", vj.ones(2))
