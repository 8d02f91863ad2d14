"""Activations and losses of ``nn.functional`` / ``nn`` (issue 14): values and input
gradients against PyTorch (skipped without it), against jax.numpy / numpy oracles (a
brute-force CTC included), Module reprs and state_dicts, errors, and a step under vj.jit."""

from __future__ import annotations

import itertools
import math
import warnings

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


# kinks and boundaries of every activation, plus ordinary values
_KINKS = np.array([-4, -3, -1, -0.5, -0.1, 0, 0.1, 0.5, 1, 2.5, 3, 6, 7], np.float32)


def _inputs(rng):
    return np.concatenate([_KINKS, rng.standard_normal(11).astype(np.float32) * 3]).reshape(4, 6)


# (id, call with f = varjax's or torch's functional module)
ACTIVATIONS = [
    ("leaky_relu", lambda f, x: f.leaky_relu(x, 0.2)),
    ("elu", lambda f, x: f.elu(x, 0.7)),
    ("selu", lambda f, x: f.selu(x)),
    ("celu", lambda f, x: f.celu(x, 1.5)),
    ("mish", lambda f, x: f.mish(x)),
    ("hardtanh", lambda f, x: f.hardtanh(x, -0.5, 2.5)),
    ("relu6", lambda f, x: f.relu6(x)),
    ("hardswish", lambda f, x: f.hardswish(x)),
    ("hardsigmoid", lambda f, x: f.hardsigmoid(x)),
    ("softsign", lambda f, x: f.softsign(x)),
    ("tanhshrink", lambda f, x: f.tanhshrink(x)),
    ("threshold", lambda f, x: f.threshold(x, 0.1, 20.0)),
    ("glu", lambda f, x: f.glu(x, 1)),
    ("glu0", lambda f, x: f.glu(x, 0)),
    ("softmin", lambda f, x: f.softmin(x, 1)),
    ("logsigmoid", lambda f, x: f.logsigmoid(x)),
    ("hardshrink", lambda f, x: f.hardshrink(x, 0.5)),
    ("softshrink", lambda f, x: f.softshrink(x, 0.5)),
    ("rrelu_eval", lambda f, x: f.rrelu(x, 0.1, 0.3, training=False)),
]

# grad_fn names PyTorch gives (composites end in their last op, as in PyTorch)
GRAD_FNS = {
    "leaky_relu": "LeakyReluBackward0", "elu": "EluBackward0", "selu": "EluBackward0",
    "celu": "CeluBackward0", "mish": "MishBackward0", "hardtanh": "HardtanhBackward0",
    "relu6": "HardtanhBackward0", "hardswish": "HardswishBackward0",
    "hardsigmoid": "HardsigmoidBackward0", "threshold": "ThresholdBackward0",
    "logsigmoid": "LogSigmoidBackward0", "hardshrink": "HardshrinkBackward0",
    "softshrink": "SoftshrinkBackward0",
}  # fmt: skip


@pytest.mark.parametrize("name,fn", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_matches_torch(torch, rng, name, fn):
    a = _inputs(rng)
    cot = rng.standard_normal(fn(F, vj.tensor(a)).shape).astype(np.float32)
    x = vj.tensor(a, requires_grad=True)
    out = fn(F, x)
    (out * vj.tensor(cot)).sum().backward()
    tx = torch.tensor(a, requires_grad=True)
    ref = fn(torch.nn.functional, tx)
    (ref * torch.tensor(cot)).sum().backward()
    assert out.dtype == vj.float32 and tuple(out.shape) == tuple(ref.shape)
    assert_close(out.detach(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert_close(x.grad, tx.grad.numpy(), rtol=1e-5, atol=1e-6)  # kinks: PyTorch's convention
    mine, theirs = out.detach().numpy(), ref.detach().numpy()
    assert (np.signbit(mine) == np.signbit(theirs))[mine == 0].all(), "the sign of a zero"
    if name in GRAD_FNS:
        assert out.grad_fn.name() == GRAD_FNS[name] == ref.grad_fn.name()


def test_prelu_matches_torch_for_input_and_weight(torch, rng):
    a = rng.standard_normal((2, 3, 4)).astype(np.float32)
    for n in (1, 3):
        m = nn.PReLU(n, init=0.3)
        tm = torch.nn.PReLU(n, init=0.3)
        assert list(m.state_dict()) == list(tm.state_dict()) == ["weight"]
        with torch.no_grad():
            tm.weight.copy_(torch.tensor(rng.uniform(0.1, 0.5, n).astype(np.float32)))
        m.load_state_dict({"weight": vj.tensor(tm.weight.detach().numpy())})
        x, tx = vj.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        (m(x) ** 2).sum().backward()
        (tm(tx) ** 2).sum().backward()
        assert_close(m(x).detach(), tm(tx).detach().numpy())
        assert_close(x.grad, tx.grad.numpy())
        assert_close(m.weight.grad, tm.weight.grad.numpy(), rtol=1e-5)


# -- oracles without torch --------------------------------------------------------------------

ORACLES = [
    (lambda x: F.leaky_relu(x, 0.2), lambda x: jnp.where(x > 0, x, 0.2 * x)),
    (lambda x: F.selu(x), jax.nn.selu),
    (F.hardswish, jax.nn.hard_swish),
    (F.mish, lambda x: x * jnp.tanh(jax.nn.softplus(x))),
    (F.softsign, lambda x: x / (1 + jnp.abs(x))),
    (lambda x: F.glu(x, -1), lambda x: jax.nn.glu(x, -1)),
    (lambda x: F.softshrink(x, 0.3), lambda x: jnp.sign(x) * jnp.maximum(jnp.abs(x) - 0.3, 0)),
]


@pytest.mark.parametrize("vj_fn,jnp_fn", ORACLES, ids=range(len(ORACLES)))
def test_activation_matches_jax_oracle(rng, vj_fn, jnp_fn):
    a = rng.standard_normal((3, 4)).astype(np.float32) * 2
    a = np.where(np.abs(a) < 0.05, 0.5, a).astype(np.float32)  # away from the kinks
    x = vj.tensor(a, requires_grad=True)
    vj_fn(x).sum().backward()
    assert_close(vj_fn(vj.tensor(a)), jnp_fn(jnp.asarray(a)), rtol=1e-5, atol=1e-6)
    assert_close(x.grad, jax.grad(lambda v: jnp_fn(v).sum())(jnp.asarray(a)), rtol=1e-5, atol=1e-6)


def test_losses_match_jax_oracles(rng):
    a, b = rng.standard_normal((2, 3, 4)).astype(np.float32)
    huber = lambda x, y: jnp.mean(jnp.where(abs(x - y) < 0.5, 0.5 * (x - y) ** 2,
                                            0.5 * (abs(x - y) - 0.25)))  # fmt: skip
    kl = lambda x, y: jnp.sum(jax.nn.softmax(y, 1) * (jax.nn.log_softmax(y, 1) - x)) / 3
    soft = lambda x, y: jnp.mean(jnp.log1p(jnp.exp(-x * jnp.sign(y))))
    cases = [
        (lambda x, y: F.huber_loss(x, y, delta=0.5), huber),
        (lambda x, y: F.kl_div(x, y.softmax(1), reduction="batchmean"), kl),
        (lambda x, y: F.soft_margin_loss(x, y.sign()), soft),
    ]
    for vj_fn, jnp_fn in cases:
        x = vj.tensor(a, requires_grad=True)
        out = vj_fn(x, vj.tensor(b))
        out.backward()
        assert_close(out.detach(), jnp_fn(jnp.asarray(a), jnp.asarray(b)), rtol=1e-5)
        assert_close(x.grad, jax.grad(jnp_fn)(jnp.asarray(a), jnp.asarray(b)), rtol=1e-5,
                     atol=1e-7)  # fmt: skip


def _ctc_brute_force(lp: np.ndarray, target: list[int], blank: int = 0) -> float:
    """-log of the summed probability of every path collapsing to ``target`` (T, C log-probs)."""
    total = 0.0
    t_len, c = lp.shape
    for path in itertools.product(range(c), repeat=t_len):
        collapsed = [k for i, k in enumerate(path) if k != blank and (i == 0 or path[i - 1] != k)]
        if collapsed == target:
            total += math.exp(sum(lp[t, k] for t, k in enumerate(path)))
    return -math.log(total) if total else math.inf


def test_ctc_matches_brute_force_enumeration(rng):
    t_len, c = 5, 3
    logits = rng.standard_normal((t_len, 3, c)).astype(np.float32)
    lp = np.asarray(jax.nn.log_softmax(logits, -1))
    targets = np.array([[1, 1, 0], [2, 1, 2], [1, 0, 0]])
    input_lengths, target_lengths = [5, 5, 3], [2, 3, 1]
    out = F.ctc_loss(vj.tensor(lp), vj.tensor(targets), input_lengths, target_lengths,
                     reduction="none")  # fmt: skip
    want = [_ctc_brute_force(lp[: input_lengths[n], n].astype(np.float64),
                             list(targets[n, : target_lengths[n]])) for n in range(3)]  # fmt: skip
    assert_close(out, want, rtol=1e-5)
    # a target that needs more frames than there are: infinite, or 0 with zero_infinity
    bad = F.ctc_loss(vj.tensor(lp[:2, :1]), vj.tensor([[1, 1]]), [2], [2], reduction="sum")
    assert math.isinf(bad.item())
    x = vj.tensor(lp[:2, :1], requires_grad=True)
    zero = F.ctc_loss(x, vj.tensor([[1, 1]]), [2], [2], reduction="sum", zero_infinity=True)
    zero.backward()
    assert zero.item() == 0.0 and np.all(x.grad.numpy() == 0)


def test_ctc_gradient_matches_finite_differences(rng):
    logits = rng.standard_normal((4, 2, 3)).astype(np.float64)
    targets, il, tl = vj.tensor([[1, 2], [2, 0]]), [4, 3], [2, 1]

    def loss(v):
        return F.ctc_loss(v.log_softmax(2), targets, il, tl).item()

    x = vj.tensor(logits.astype(np.float32), requires_grad=True)
    F.ctc_loss(x.log_softmax(2), targets, il, tl).backward()
    d = rng.standard_normal(logits.shape)
    eps = 1e-2
    fd = (loss(vj.tensor((logits + eps * d).astype(np.float32)))
          - loss(vj.tensor((logits - eps * d).astype(np.float32)))) / (2 * eps)  # fmt: skip
    assert abs(fd - float(np.sum(x.grad.numpy() * d))) < 2e-3


# -- losses against torch: every reduction ----------------------------------------------------


def _loss_cases(rng):
    a, b, c = (rng.standard_normal((3, 4)).astype(np.float32) for _ in range(3))
    sign = np.array([1.0, -1.0, 1.0], np.float32)
    sign12 = np.where(rng.standard_normal((3, 4)) > 0, 1.0, -1.0).astype(np.float32)
    labels = (rng.standard_normal((3, 4)) > 0).astype(np.float32)
    w4 = np.array([0.5, 1.0, 2.0, 1.5], np.float32)
    cls = np.array([0, 3, 1])
    probs = 1 / (1 + np.exp(-b))
    return [
        # (id, inputs needing grad, fixed inputs, call(f, t, grad_inputs, fixed, reduction))
        ("huber", [a], [b], lambda f, t, x, y, r: f.huber_loss(x[0], y[0], r, delta=0.8)),
        ("kl_div_log", [a], [b],
         lambda f, t, x, y, r: f.kl_div(x[0], y[0], reduction=r, log_target=True)),
        ("cosine_embedding", [a, b], [sign],
         lambda f, t, x, y, r: f.cosine_embedding_loss(x[0], x[1], y[0], 0.1, reduction=r)),
        ("margin_ranking", [a, b], [sign12],
         lambda f, t, x, y, r: f.margin_ranking_loss(x[0], x[1], y[0], 0.2, reduction=r)),
        ("triplet_swap_p1", [a, b, c], [],
         lambda f, t, x, y, r: f.triplet_margin_loss(*x, 1.5, 1, swap=True, reduction=r)),
        ("poisson", [a], [np.abs(b) * 3],
         lambda f, t, x, y, r: f.poisson_nll_loss(x[0], y[0], reduction=r)),
        ("poisson_full_rate", [np.abs(a) + 0.1], [np.abs(b) * 3],
         lambda f, t, x, y, r: f.poisson_nll_loss(x[0], y[0], False, True, reduction=r)),
        ("gaussian", [a, np.abs(c) + 0.1], [b],
         lambda f, t, x, y, r: f.gaussian_nll_loss(x[0], y[0], x[1], reduction=r)),
        ("gaussian_homo_full", [a, np.abs(c[:, :1]) + 1e-8], [b],
         lambda f, t, x, y, r: f.gaussian_nll_loss(x[0], y[0], x[1], True, reduction=r)),
        ("multilabel_soft_margin", [a], [labels, w4],
         lambda f, t, x, y, r: f.multilabel_soft_margin_loss(x[0], y[0], y[1], reduction=r)),
        ("multi_margin_p2_w", [a], [cls, w4],
         lambda f, t, x, y, r: f.multi_margin_loss(x[0], y[0], 2, 0.7, y[1], reduction=r)),
        ("soft_margin", [a], [sign12],
         lambda f, t, x, y, r: f.soft_margin_loss(x[0], y[0], reduction=r)),
        ("hinge_embedding", [a], [sign12],
         lambda f, t, x, y, r: f.hinge_embedding_loss(x[0], y[0], 0.5, reduction=r)),
        ("bce", [probs], [labels],
         lambda f, t, x, y, r: t.nn.BCELoss(reduction=r)(x[0], y[0])),
    ]  # fmt: skip


_LOSS_IDS = [c[0] for c in _loss_cases(np.random.default_rng(0))]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("case", range(len(_LOSS_IDS)), ids=_LOSS_IDS)
def test_loss_matches_torch(torch, rng, case, reduction):
    name, grads, fixed, call = _loss_cases(rng)[case]
    xs = [vj.tensor(g, requires_grad=True) for g in grads]
    txs = [torch.tensor(g, requires_grad=True) for g in grads]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kl_div's 'mean' warning, in both libraries
        out = call(F, vj, xs, [vj.tensor(f) for f in fixed], reduction)
        ref = call(torch.nn.functional, torch, txs, [torch.tensor(f) for f in fixed], reduction)
    cot = rng.standard_normal(tuple(ref.shape)).astype(np.float32)
    (out * vj.tensor(cot)).sum().backward()
    (ref * torch.tensor(cot)).sum().backward()
    assert out.dtype == vj.float32 and tuple(out.shape) == tuple(ref.shape)
    assert_close(out.detach(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    for x, tx in zip(xs, txs):
        assert_close(x.grad, tx.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_kl_div_batchmean_and_mean_warning(torch, rng):
    a, p = rng.standard_normal((4, 3)).astype(np.float32), rng.dirichlet(np.ones(3), 4)
    p = p.astype(np.float32)
    out = F.kl_div(vj.tensor(a), vj.tensor(p), reduction="batchmean")
    ref = torch.nn.functional.kl_div(torch.tensor(a), torch.tensor(p), reduction="batchmean")
    assert_close(out, ref.numpy(), rtol=1e-5)
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(vj.tensor(a), vj.tensor(p))


CTC_CASES = [("padded", "mean"), ("concatenated", "sum"), ("unbatched", "none")]


@pytest.mark.parametrize("layout,reduction", CTC_CASES, ids=["-".join(c) for c in CTC_CASES])
def test_ctc_matches_torch(torch, rng, reduction, layout):
    t_len, n, c = 7, 3, 5
    logits = rng.standard_normal((t_len, n, c)).astype(np.float32)
    targets = np.array([[1, 2, 2, 4], [3, 1, 0, 0], [4, 4, 0, 0]])
    il, tl = [7, 6, 5], [4, 2, 0]
    if layout == "concatenated":
        targets = np.concatenate([targets[i, : tl[i]] for i in range(n)])
    if layout == "unbatched":
        logits, targets, il, tl = logits[:, 0], targets[0, :3], 7, 3
    x, tx = vj.tensor(logits, requires_grad=True), torch.tensor(logits, requires_grad=True)
    dim = x.ndim - 1
    out = F.ctc_loss(x.log_softmax(dim), vj.tensor(targets), il, tl, reduction=reduction)
    il_t = torch.tensor(il) if layout == "unbatched" else il
    tl_t = torch.tensor(tl) if layout == "unbatched" else tl
    ref = torch.nn.functional.ctc_loss(tx.log_softmax(dim), torch.tensor(targets), il_t, tl_t,
                                       reduction=reduction)  # fmt: skip
    out.sum().backward()
    ref.sum().backward()
    assert tuple(out.shape) == tuple(ref.shape)
    assert_close(out.detach(), ref.detach().numpy(), rtol=1e-5, atol=1e-5)
    assert_close(x.grad, tx.grad.numpy(), rtol=1e-4, atol=1e-6)  # through log_softmax


def test_loss_modules_match_functional_and_state_dict(torch, rng):
    w, tw = vj.tensor([1.0, 2.0, 0.5]), torch.tensor([1.0, 2.0, 0.5])
    for name in ("MultiMarginLoss", "MultiLabelSoftMarginLoss", "BCELoss"):
        m, tm = getattr(nn, name)(weight=w), getattr(torch.nn, name)(weight=tw)
        assert list(m.state_dict()) == list(tm.state_dict()) == ["weight"]
    a = rng.standard_normal((3, 3)).astype(np.float32)
    y = np.array([2, 0, 1])
    out = nn.MultiMarginLoss(p=2, margin=0.5, weight=w, reduction="sum")(vj.tensor(a), vj.tensor(y))
    ref = torch.nn.MultiMarginLoss(p=2, margin=0.5, weight=torch.tensor([1.0, 2, 0.5]),
                                   reduction="sum")(torch.tensor(a), torch.tensor(y))  # fmt: skip
    assert_close(out, ref.numpy(), rtol=1e-5)
    lp = vj.tensor(rng.standard_normal((4, 1, 3)).astype(np.float32)).log_softmax(2)
    ctc = nn.CTCLoss(blank=2, zero_infinity=True)(lp, vj.tensor([[0, 1]]), [4], [2])
    tlp = torch.tensor(lp.numpy())
    tref = torch.nn.CTCLoss(blank=2, zero_infinity=True)(tlp, torch.tensor([[0, 1]]), [4], [2])
    assert_close(ctc, tref.numpy(), rtol=1e-5)
    with pytest.warns(UserWarning, match="reduction='sum'"):
        assert nn.SoftMarginLoss(size_average=False).reduction == "sum"


# -- reprs --------------------------------------------------------------------------------------

MODULES = [
    ("LeakyReLU", (), {}), ("LeakyReLU", (0.2, True), {}), ("PReLU", (3,), {}),
    ("ELU", (0.5,), {}), ("ELU", (), {"inplace": True}), ("SELU", (), {}), ("SELU", (True,), {}),
    ("CELU", (2.0,), {}), ("SiLU", (), {}), ("SiLU", (True,), {}), ("Mish", (), {}),
    ("Hardtanh", (), {}), ("Hardtanh", (-2.0, 3.0, True), {}), ("Hardswish", (), {}),
    ("Hardswish", (True,), {}), ("Hardsigmoid", (), {}), ("ReLU6", (), {}), ("ReLU6", (True,), {}),
    ("Softplus", (2.0, 10.0), {}), ("Softsign", (), {}), ("Tanhshrink", (), {}),
    ("Threshold", (0.1, 20.0), {}), ("Threshold", (0.1, 2, True), {}), ("GLU", (), {}),
    ("Softmax", (), {}), ("Softmax", (1,), {}), ("LogSoftmax", (-1,), {}), ("Softmin", (0,), {}),
    ("LogSigmoid", (), {}), ("Hardshrink", (), {}), ("Softshrink", (0.3,), {}), ("RReLU", (), {}),
    ("BCELoss", (), {}), ("HuberLoss", (), {"delta": 2.0}), ("KLDivLoss", (), {}),
    ("CosineEmbeddingLoss", (), {}), ("MarginRankingLoss", (0.5,), {}),
    ("TripletMarginLoss", (), {}), ("CTCLoss", (), {}), ("PoissonNLLLoss", (), {}),
    ("GaussianNLLLoss", (), {}), ("MultiLabelSoftMarginLoss", (), {}), ("MultiMarginLoss", (), {}),
    ("SoftMarginLoss", (), {}), ("HingeEmbeddingLoss", (), {}),
]  # fmt: skip


def test_reprs_match_torch(torch):
    for name, args, kwargs in MODULES:
        want = repr(getattr(torch.nn, name)(*args, **kwargs))
        assert repr(getattr(nn, name)(*args, **kwargs)) == want


def test_module_attributes():
    assert repr(nn.Hardshrink()) == "Hardshrink(0.5)"
    m = nn.TripletMarginLoss(margin=2.0, p=1.0, swap=True)
    assert (m.margin, m.p, m.eps, m.swap, m.reduction) == (2.0, 1.0, 1e-6, True, "mean")
    assert nn.HingeEmbeddingLoss().margin == 1.0 and nn.CosineEmbeddingLoss().margin == 0.0
    assert nn.ReLU6().min_val == 0.0 and nn.ReLU6().max_val == 6.0
    assert np.allclose(np.asarray(nn.PReLU(2, init=0.1).weight), [0.1, 0.1])


def test_softmax_module_without_dim_takes_the_legacy_dim():
    x = vj.tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        out = nn.Softmax()(x)
    assert_close(out, jax.nn.softmax(jnp.arange(6.0).reshape(2, 3), 1), rtol=1e-6)


# -- in place, random -------------------------------------------------------------------------


def test_inplace_writes_back_and_keeps_the_gradient():
    a = np.array([-2.0, -0.5, 1.0, 3.0], np.float32)
    x = vj.tensor(a, requires_grad=True)
    h = x * 2
    out = F.leaky_relu(h, 0.1, inplace=True)
    assert out is h and h._version == 1
    h.sum().backward()
    assert_close(x.grad, np.where(a > 0, 2.0, 0.2))
    nn.Hardtanh(inplace=True)(h2 := x * 1)
    assert_close(h2.detach(), np.clip(a, -1, 1))
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        F.elu(x, inplace=True)


def test_gumbel_softmax_is_seeded_and_straight_through():
    logits = vj.tensor(np.log(np.array([[0.1, 0.6, 0.3], [0.5, 0.25, 0.25]], np.float32)))
    vj.manual_seed(3)
    soft = F.gumbel_softmax(logits, tau=0.5)
    vj.manual_seed(3)
    again = F.gumbel_softmax(logits, tau=0.5)
    assert_close(soft, again)
    assert_close(soft.sum(-1), [1.0, 1.0], rtol=1e-6)
    w = vj.tensor([[1.0, 2.0, 3.0], [0.5, -1.0, 4.0]])
    x_soft = logits.clone().requires_grad_()
    vj.manual_seed(4)
    (F.gumbel_softmax(x_soft) * w).sum().backward()
    x_hard = logits.clone().requires_grad_()
    vj.manual_seed(4)
    hard = F.gumbel_softmax(x_hard, hard=True)
    (hard * w).sum().backward()
    assert sorted(np.round(np.asarray(hard), 6).ravel().tolist()) == [0, 0, 0, 0, 1, 1]
    assert_close(x_hard.grad, x_soft.grad, rtol=1e-6)  # the soft sample's gradient


def test_rrelu_training_draws_slopes_in_range():
    vj.manual_seed(0)
    a = -np.linspace(0.5, 2.0, 50).astype(np.float32)
    x = vj.tensor(a, requires_grad=True)
    out = F.rrelu(x, 0.1, 0.3, training=True)
    out.sum().backward()
    slope = np.asarray(out.detach()) / a
    assert np.all((slope >= 0.1) & (slope <= 0.3)) and slope.std() > 0.01
    assert_close(x.grad, slope, rtol=1e-5)
    assert_close(F.rrelu(vj.tensor([2.0]), training=True), [2.0])


# -- errors -----------------------------------------------------------------------------------


def test_bad_reduction_raises_value_error():
    x, y = vj.ones(2, 3), vj.ones(2, 3)
    calls = [
        lambda r: F.huber_loss(x, y, r), lambda r: F.kl_div(x, y, reduction=r),
        lambda r: F.poisson_nll_loss(x, y, reduction=r),
        lambda r: F.gaussian_nll_loss(x, y, y, reduction=r),
        lambda r: F.soft_margin_loss(x, y, reduction=r),
        lambda r: F.hinge_embedding_loss(x, y, reduction=r),
        lambda r: F.multilabel_soft_margin_loss(x, y, reduction=r),
        lambda r: F.margin_ranking_loss(x, y, y, reduction=r),
        lambda r: F.triplet_margin_loss(x, y, y, reduction=r),
        lambda r: F.cosine_embedding_loss(x, y, vj.ones(2), reduction=r),
        lambda r: F.multi_margin_loss(x, vj.tensor([0, 1]), reduction=r),
        lambda r: F.ctc_loss(x.reshape(2, 1, 3), vj.tensor([[1]]), [2], [1], reduction=r),
    ]  # fmt: skip
    for call in calls:
        with pytest.raises(ValueError, match="bogus"):
            call("bogus")


def test_shape_and_argument_errors():
    x = vj.ones(2, 3)
    with pytest.raises(RuntimeError, match="1D target tensor expects 2D input"):
        F.cosine_embedding_loss(vj.ones(3), vj.ones(3), vj.ones(2))
    with pytest.raises(RuntimeError, match="same dimension"):
        F.margin_ranking_loss(x, x, vj.ones(2))
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        F.triplet_margin_loss(x, x, vj.ones(3))
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        F.triplet_margin_loss(x, x, x, margin=0.0)
    with pytest.raises(ValueError, match="var is of incorrect size"):
        F.gaussian_nll_loss(x, x, vj.ones(3, 2))
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(x, x, -vj.ones(2, 3))
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        F.multi_margin_loss(x, vj.tensor([0, 1]), p=3)
    with pytest.raises(IndexError, match="out of range"):
        F.multi_margin_loss(x, vj.tensor([0, 3]))
    with pytest.raises(RuntimeError, match="Halving dimension must be even"):
        F.glu(vj.ones(2, 3))
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers"):
        F.prelu(x, vj.ones(2))
    with pytest.raises(RuntimeError, match="input_lengths to have value at most 2"):
        F.ctc_loss(vj.ones(2, 1, 3), vj.tensor([[1]]), [3], [1])
    with pytest.raises(RuntimeError, match="blank must be in label range"):
        F.ctc_loss(vj.ones(2, 1, 3), vj.tensor([[1]]), [2], [1], blank=3)
    with pytest.raises(RuntimeError, match="need 3 targets"):
        F.ctc_loss(vj.ones(4, 1, 3), vj.tensor([[1, 2]]), [4], [3])
    with pytest.raises(RuntimeError, match="floating-point"):
        F.leaky_relu(vj.tensor([1, 2]))
    with pytest.raises(AssertionError):
        nn.Hardtanh(1.0, -1.0)
    with pytest.warns(UserWarning, match="different to the input size"):
        F.huber_loss(x, vj.ones(3))


# -- under varjax.jit -------------------------------------------------------------------------


def _train(compiled: bool, x, y):
    vj.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.PReLU(6), nn.Linear(6, 3), nn.Mish())
    opt = vj.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.HuberLoss(delta=0.5)

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    run = vj.jit(step) if compiled else step
    return [float(run(x, y)) for _ in range(3)], [np.asarray(p) for p in model.parameters()]


def test_training_step_under_jit_matches_imperative(rng):
    x = vj.tensor(rng.standard_normal((5, 4)).astype(np.float32))
    y = vj.tensor(rng.standard_normal((5, 3)).astype(np.float32))
    (l0, p0), (l1, p1) = _train(False, x, y), _train(True, x, y)
    assert_close(l1, l0, rtol=1e-5)
    assert l1[2] < l1[0]
    for a, b in zip(p1, p0):
        assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_ctc_under_jit_with_traced_lengths(rng):
    lp = vj.tensor(rng.standard_normal((6, 2, 4)).astype(np.float32)).log_softmax(2)
    targets = vj.tensor([[1, 2, 3], [2, 2, 0]])
    il, tl = vj.tensor([6, 5]), vj.tensor([3, 2])
    f = vj.jit(lambda lp, il, tl: F.ctc_loss(lp, targets, il, tl, reduction="none"))
    assert_close(f(lp, il, tl), F.ctc_loss(lp, targets, il, tl, reduction="none"), rtol=1e-5)
