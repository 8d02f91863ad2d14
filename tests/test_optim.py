"""varjax.optim and varjax.optim.lr_scheduler against PyTorch's documented algorithms.

The oracle is a small NumPy (float64) transcription of the update pseudo-code in the
torch.optim documentation, fed the analytic gradient of ``sum(c_t * p**2 + d_t * p)``, whose
coefficients change every step; when PyTorch is installed the same runs are also compared
with torch.optim itself."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_close

import varjax as vj
from varjax import nn
from varjax.optim import lr_scheduler

STEPS = 5
SHAPES = {"a": (2, 3), "b": (3,)}
_R = np.random.default_rng(0)
P0 = {k: _R.uniform(0.5, 1.5, s).astype(np.float32) for k, s in SHAPES.items()}
# c_t > 0 and d_t >= 0.3 keep the first gradients 2 c p + d away from zero, where Adagrad's
# eps placement (optax: under the square root) would matter
COEF = [
    {
        k: (_R.uniform(0.2, 1.0, s).astype(np.float32), _R.uniform(0.3, 1.0, s).astype(np.float32))
        for k, s in SHAPES.items()
    }
    for _ in range(STEPS)
]


# -- the reference: PyTorch's documented update rules, one parameter at a time ------------------


def ref_sgd(p, g, s, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    s["step"] = s.get("step", 0) + 1
    g = g + weight_decay * p
    if momentum:
        if "momentum_buffer" not in s:
            b = g
        else:
            b = momentum * s["momentum_buffer"] + (1 - dampening) * g
        s["momentum_buffer"] = b
        g = g + momentum * b if nesterov else b
    return p - lr * g


def ref_adam(p, g, s, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False):
    b1, b2 = betas
    t = s["step"] = s.get("step", 0) + 1
    if decoupled:
        p = p * (1 - lr * weight_decay)
    else:
        g = g + weight_decay * p
    m = s["exp_avg"] = b1 * s.get("exp_avg", 0.0) + (1 - b1) * g
    v = s["exp_avg_sq"] = b2 * s.get("exp_avg_sq", 0.0) + (1 - b2) * g * g
    m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps)


def ref_adamw(p, g, s, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
    return ref_adam(p, g, s, lr, betas, eps, weight_decay, decoupled=True)


def ref_rmsprop(
    p, g, s, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False
):
    s["step"] = s.get("step", 0) + 1
    g = g + weight_decay * p
    v = s["square_avg"] = alpha * s.get("square_avg", 0.0) + (1 - alpha) * g * g
    if centered:
        ga = s["grad_avg"] = alpha * s.get("grad_avg", 0.0) + (1 - alpha) * g
        v = v - ga * ga
    step = g / (np.sqrt(v) + eps)
    if momentum:
        step = s["momentum_buffer"] = momentum * s.get("momentum_buffer", 0.0) + step
    return p - lr * step


def ref_adagrad(
    p, g, s, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10
):
    t = s["step"] = s.get("step", 0) + 1
    g = g + weight_decay * p
    clr = lr / (1 + (t - 1) * lr_decay)
    total = s["sum"] = s.get("sum", initial_accumulator_value) + g * g
    return p - clr * g / (np.sqrt(total) + eps)


REFS = {
    "SGD": ref_sgd,
    "Adam": ref_adam,
    "AdamW": ref_adamw,
    "RMSprop": ref_rmsprop,
    "Adagrad": ref_adagrad,
}

# (optimizer, keyword arguments, the PyTorch state names varjax must keep)
CASES = [
    ("SGD", dict(lr=0.1), set()),
    ("SGD", dict(lr=0.05, weight_decay=0.2), set()),
    ("SGD", dict(lr=0.1, momentum=0.9), {"momentum_buffer"}),
    ("SGD", dict(lr=0.1, momentum=0.8, dampening=0.3, weight_decay=0.1), {"momentum_buffer"}),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1), {"momentum_buffer"}),
    ("Adam", dict(lr=0.1), {"step", "exp_avg", "exp_avg_sq"}),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1), {"exp_avg_sq"}),
    ("AdamW", dict(lr=0.1), {"step", "exp_avg", "exp_avg_sq"}),
    ("AdamW", dict(lr=0.05, betas=(0.85, 0.99), weight_decay=0.3), {"exp_avg"}),
    ("RMSprop", dict(lr=0.01), {"square_avg"}),
    ("RMSprop", dict(lr=0.01, centered=True), {"square_avg", "grad_avg"}),
    ("RMSprop", dict(lr=0.01, momentum=0.9), {"square_avg", "momentum_buffer"}),
    (
        "RMSprop",
        dict(lr=0.02, alpha=0.9, centered=True, momentum=0.5, weight_decay=0.1),
        {"square_avg", "grad_avg", "momentum_buffer"},
    ),
    ("Adagrad", dict(lr=0.1), {"step", "sum"}),
    ("Adagrad", dict(lr=0.1, lr_decay=0.5, weight_decay=0.1), {"step", "sum"}),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.5, eps=1e-8), {"sum"}),
]
IDS = [f"{name}-" + "-".join(f"{k}={v}" for k, v in kw.items()) for name, kw, _ in CASES]


def grad(k, t, p):
    c, d = COEF[t][k]
    return 2 * c * p + d


def loss_of(params, t):
    """sum(c_t * p**2 + d_t * p) over the parameters; coefficients are inputs, so the
    program is the same every step."""
    total = None
    for k, p in params.items():
        c, d = (vj.tensor(x) for x in COEF[t][k])
        term = (c * p * p + d * p).sum()
        total = term if total is None else total + term
    return total


def fresh_params():
    return {k: vj.tensor(v, requires_grad=True) for k, v in P0.items()}


def train(opt, params, steps):
    for t in steps:
        opt.zero_grad()
        loss_of(params, t).backward()
        opt.step()


@pytest.mark.parametrize("name,kw,names", CASES, ids=IDS)
def test_update_matches_documented_algorithm(name, kw, names):
    params = fresh_params()
    opt = getattr(vj.optim, name)(list(params.values()), **kw)
    ref_p = {k: v.astype(np.float64) for k, v in P0.items()}
    ref_s = {k: {} for k in P0}
    for t in range(STEPS):
        opt.zero_grad()
        loss_of(params, t).backward()
        opt.step()
        state = opt.state
        for k, p in params.items():
            ref_p[k] = REFS[name](ref_p[k], grad(k, t, ref_p[k]), ref_s[k], **kw)
            msg = f"{name} step {t + 1}, parameter {k}"
            assert_close(p.tolist(), ref_p[k], rtol=2e-5, atol=1e-6, msg=msg)
            mine = state[p]
            assert names <= set(mine), f"{msg}: state {sorted(mine)} lacks {sorted(names)}"
            for entry, value in mine.items():
                assert entry in ref_s[k], f"{msg}: unexpected state entry {entry!r}"
                assert tuple(value.shape) == (() if entry == "step" else SHAPES[k])
                assert_close(value.tolist(), ref_s[k][entry], 2e-5, 1e-6, f"{msg}: {entry}")


@pytest.mark.parametrize("name,kw,names", CASES, ids=IDS)
def test_update_matches_torch(name, kw, names):
    torch = pytest.importorskip("torch")
    params = fresh_params()
    opt = getattr(vj.optim, name)(list(params.values()), **kw)
    tparams = {k: torch.tensor(v, requires_grad=True) for k, v in P0.items()}
    topt = getattr(torch.optim, name)(list(tparams.values()), **kw)
    train(opt, params, range(STEPS))
    for t in range(STEPS):
        for k, p in tparams.items():
            p.grad = torch.tensor(grad(k, t, p.detach().numpy()))
        topt.step()
    state = opt.state
    for k, p in params.items():
        assert_close(p.tolist(), tparams[k].detach().numpy(), rtol=1e-5, atol=1e-6)
        theirs = topt.state[tparams[k]]
        assert names <= set(theirs)  # the names the reference test asks for are PyTorch's
        for entry, value in state[p].items():
            if entry in theirs:
                assert_close(value.tolist(), theirs[entry].numpy(), 1e-5, 1e-6, entry)
            else:  # optax counts steps where torch.optim keeps no counter
                assert entry == "step" and value.item() == STEPS


# -- parameter groups, learning rates and compiled programs --------------------------------------


def test_param_groups_and_lr_changes_do_not_recompile():
    params = fresh_params()
    opt = vj.optim.SGD(
        [{"params": [params["a"]], "lr": 0.1}, {"params": [params["b"]]}], lr=0.02, momentum=0.5
    )
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.02]
    assert [g["momentum"] for g in opt.param_groups] == [0.5, 0.5]  # defaults fill the rest
    lrs = {"a": [0.1, 0.1, 0.3, 0.05, 0.05], "b": [0.02, 0.02, 0.02, 0.4, 0.1]}
    ref_p = {k: v.astype(np.float64) for k, v in P0.items()}
    ref_s = {k: {} for k in P0}
    for t in range(STEPS):
        if t == 2:  # programs for this structure are compiled by now
            before = vj.compile_stats().compiles
        opt.param_groups[0]["lr"], opt.param_groups[1]["lr"] = lrs["a"][t], lrs["b"][t]
        train(opt, params, [t])
        for k, p in params.items():
            ref_p[k] = ref_sgd(ref_p[k], grad(k, t, ref_p[k]), ref_s[k], lrs[k][t], 0.5)
            assert_close(p.tolist(), ref_p[k], rtol=2e-5, msg=f"step {t + 1}, {k}")
    assert vj.compile_stats().compiles == before, "changing lr recompiled"


def test_scheduler_drives_the_update_without_recompiling():
    params = fresh_params()
    opt = vj.optim.Adam(list(params.values()), lr=0.2)
    sched = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    ref_p = {k: v.astype(np.float64) for k, v in P0.items()}
    ref_s = {k: {} for k in P0}
    for t in range(STEPS):
        if t == 2:
            before = vj.compile_stats().compiles
        train(opt, params, [t])
        for k, p in params.items():
            ref_p[k] = ref_adam(ref_p[k], grad(k, t, ref_p[k]), ref_s[k], lr=0.2 * 0.5**t)
            assert_close(p.tolist(), ref_p[k], rtol=2e-5, msg=f"step {t + 1}, {k}")
        sched.step()
    assert vj.compile_stats().compiles == before


def test_lr_change_reaches_a_jit_compiled_step():
    """A compiled call does not run step() again: the new lr must still reach it."""
    w = vj.tensor([1.0, 2.0], requires_grad=True)
    opt = vj.optim.SGD([w], lr=0.1)
    sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)  # sets lr before the first call

    @vj.jit
    def step():
        opt.zero_grad()
        w.sum().backward()  # gradient 1: each step moves w by -lr
        opt.step()

    expected = np.array([1.0, 2.0])
    for t in range(4):
        if t == 2:
            before = vj.compile_stats().compiles
        step()
        expected -= 0.1 * 0.5**t
        assert_close(w.tolist(), expected, msg=f"step {t + 1}")
        sched.step()
    assert vj.compile_stats().compiles == before


# -- schedulers -----------------------------------------------------------------------------------


def _opt(*lrs):
    groups = [{"params": [vj.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs]
    return vj.optim.SGD(groups, lr=1.0)


def _lrs(sched, n):
    out = []
    for _ in range(n):
        assert sched.get_last_lr() == [g["lr"] for g in sched.optimizer.param_groups]
        out.append(sched.get_last_lr())
        sched.step()
    return np.array(out)


def test_step_lr():
    sched = lr_scheduler.StepLR(_opt(0.5, 0.2), step_size=3, gamma=0.1)
    expected = [[b * 0.1 ** (e // 3) for b in (0.5, 0.2)] for e in range(10)]
    assert_close(_lrs(sched, 10), expected, rtol=1e-12, atol=0)
    assert sched.last_epoch == 10


def test_exponential_lr():
    sched = lr_scheduler.ExponentialLR(_opt(0.3), gamma=0.9)
    assert_close(_lrs(sched, 8), [[0.3 * 0.9**e] for e in range(8)], rtol=1e-12, atol=0)


@pytest.mark.parametrize("eta_min", [0.0, 0.01])
def test_cosine_annealing_lr_continues_past_t_max(eta_min):
    sched = lr_scheduler.CosineAnnealingLR(_opt(0.1, 0.4), T_max=4, eta_min=eta_min)
    expected = [
        [eta_min + (b - eta_min) * (1 + math.cos(math.pi * e / 4)) / 2 for b in (0.1, 0.4)]
        for e in range(13)
    ]
    got = _lrs(sched, 13)
    assert_close(got, expected, rtol=1e-12, atol=1e-15)
    assert_close(got[4], [eta_min, eta_min], atol=1e-15)  # the minimum at T_max
    assert_close(got[8], [0.1, 0.4], rtol=1e-12)  # back to base_lr at 2 * T_max


def test_lambda_lr_one_function_per_group():
    fns = [lambda e: 0.9**e, lambda e: 1 / (1 + e)]
    sched = lr_scheduler.LambdaLR(_opt(0.1, 0.2), fns)
    expected = [[0.1 * 0.9**e, 0.2 / (1 + e)] for e in range(6)]
    assert_close(_lrs(sched, 6), expected, rtol=1e-12, atol=0)
    single = lr_scheduler.LambdaLR(_opt(0.1, 0.2), lambda e: 0.5**e)
    assert_close(_lrs(single, 3), [[0.1 * 0.5**e, 0.2 * 0.5**e] for e in range(3)], 1e-12, 0)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        lr_scheduler.LambdaLR(_opt(0.1, 0.2), fns[:1])


def test_scheduler_state_dict_round_trip():
    a = lr_scheduler.StepLR(_opt(0.5), step_size=2, gamma=0.5)
    for _ in range(3):
        a.step()
    state = a.state_dict()
    assert state["last_epoch"] == 3 and state["base_lrs"] == [0.5]
    b = lr_scheduler.StepLR(_opt(0.5), step_size=7, gamma=0.9)
    b.load_state_dict(state)
    assert (b.step_size, b.gamma, b.get_last_lr()) == (2, 0.5, a.get_last_lr())
    for _ in range(4):
        a.step()
        b.step()
        assert b.get_last_lr() == a.get_last_lr()
        assert b.optimizer.param_groups[0]["lr"] == a.optimizer.param_groups[0]["lr"]
    lam = lr_scheduler.LambdaLR(_opt(0.1), lambda e: 0.5**e)
    lam.step()
    saved = lam.state_dict()
    assert not any(
        callable(v) or isinstance(v, list) and any(map(callable, v)) for v in saved.values()
    )
    assert saved["last_epoch"] == 1


def test_scheduler_resume_needs_initial_lr():
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(_opt(0.1), step_size=1, last_epoch=3)


def test_scheduler_step_inside_jit_raises():
    w = vj.tensor([1.0], requires_grad=True)
    opt = vj.optim.SGD([w], lr=0.1)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=3)

    @vj.jit
    def step():
        opt.zero_grad()
        w.sum().backward()
        opt.step()
        sched.step()

    with pytest.raises(RuntimeError, match=r"CosineAnnealingLR.step\(\) inside a varjax.jit"):
        step()
    assert sched.last_epoch == 0 and opt.param_groups[0]["lr"] == 0.1


# -- gradients: None, zeros, skipped parameters, closures ---------------------------------------


def test_zero_grad_none_or_zeros():
    params = fresh_params()
    opt = vj.optim.SGD(list(params.values()), lr=0.1)
    train(opt, params, [0])
    assert all(p.grad is not None for p in params.values())
    opt.zero_grad(set_to_none=False)
    for k, p in params.items():
        assert p.grad is not None
        np.testing.assert_array_equal(p.grad.numpy(), np.zeros(SHAPES[k], np.float32))
    opt.zero_grad()
    assert all(p.grad is None for p in params.values())


def test_zero_gradient_still_steps_momentum_but_none_gradient_is_skipped(mode):
    params = fresh_params()
    a, b = params["a"], params["b"]
    opt = vj.optim.SGD([a, b], lr=0.1, momentum=0.9)
    train(opt, params, [0])
    ref = {k: ref_sgd(P0[k].astype(np.float64), grad(k, 0, P0[k]), {}, 0.1, 0.9) for k in P0}
    buf = {k: grad(k, 0, P0[k]) for k in P0}
    # a zero gradient is a gradient: momentum carries the parameter on, as in PyTorch
    opt.zero_grad(set_to_none=False)
    opt.step()
    ref = {k: ref[k] - 0.1 * 0.9 * buf[k] for k in P0}
    assert_close(a.tolist(), ref["a"], rtol=2e-5)
    assert_close(b.tolist(), ref["b"], rtol=2e-5)
    # a parameter without a gradient keeps its value and its state
    opt.zero_grad()
    b_before, b_state, version = b.tolist(), opt.state[b]["momentum_buffer"].tolist(), b._version
    (a * a).sum().backward()
    assert b.grad is None
    opt.step()
    assert b.tolist() == b_before and b._version == version
    assert opt.state[b]["momentum_buffer"].tolist() == b_state
    g = 2 * ref["a"]
    assert_close(a.tolist(), ref["a"] - 0.1 * (0.81 * buf["a"] + g), rtol=2e-5)


def test_step_with_closure_returns_its_loss():
    w = vj.tensor([1.0, -2.0], requires_grad=True)
    opt = vj.optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with vj.no_grad():  # step enables grad for the closure, as PyTorch's does
        loss = opt.step(closure)
    assert loss.item() == 5.0
    assert w.tolist() == [0.5, -1.0]
    assert opt.step() is None


# -- state_dict ------------------------------------------------------------------------------------


def _model_and_opt(lr=0.05):
    vj.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    opt = vj.optim.Adam(
        [
            {"params": model[0].parameters(), "weight_decay": 0.1},
            {"params": model[2].parameters(), "lr": 0.01},
        ],
        lr=lr,
        betas=(0.8, 0.9),
    )
    return model, opt


X = _R.standard_normal((5, 3)).astype(np.float32)
Y = _R.standard_normal((5, 2)).astype(np.float32)


def _fit(model, opt, steps):
    for _ in range(steps):
        opt.zero_grad()
        nn.MSELoss()(model(vj.tensor(X)), vj.tensor(Y)).backward()
        opt.step()


def _values(model):
    return [p.detach().numpy().copy() for p in model.parameters()]


def _ref_fit(steps):
    """``_fit`` of ``_model_and_opt`` in NumPy: jax.grad of the plain jax.numpy MSE loss fed
    to ``ref_adam`` with each group's settings. Returns (parameters, states) per parameter."""

    def loss(w1, b1, w2, b2):
        return jnp.mean((jnp.tanh(X @ w1.T + b1) @ w2.T + b2 - Y) ** 2)

    model, _ = _model_and_opt()
    ps = [v.astype(np.float64) for v in _values(model)]
    states = [{} for _ in ps]
    groups = [dict(lr=0.05, weight_decay=0.1)] * 2 + [dict(lr=0.01)] * 2
    for _ in range(steps):
        grads = jax.grad(loss, argnums=(0, 1, 2, 3))(*(p.astype(np.float32) for p in ps))
        ps = [
            ref_adam(p, np.asarray(g, np.float64), s, betas=(0.8, 0.9), **kw)
            for p, g, s, kw in zip(ps, grads, states, groups)
        ]
    return ps, states


@pytest.mark.parametrize("through_file", [False, True], ids=["memory", "file"])
def test_state_dict_round_trip(through_file, tmp_path, mode):
    """Training resumed from a state dict continues as the uninterrupted run does, and both
    follow the NumPy transcription of PyTorch's Adam."""
    model, opt = _model_and_opt()
    _fit(model, opt, 3)
    after_three = _values(model)
    model_sd, opt_sd = model.state_dict(), opt.state_dict()
    assert [g["params"] for g in opt_sd["param_groups"]] == [[0, 1], [2, 3]]
    assert opt_sd["param_groups"][0]["betas"] == [0.8, 0.9]
    assert set(opt_sd["state"][3]) == {"step", "exp_avg", "exp_avg_sq"}
    assert opt_sd["state"][3]["step"].item() == 3
    if through_file:
        vj.save(model_sd, tmp_path / "model.safetensors")
        vj.save(opt_sd, tmp_path / "opt.safetensors")
        model_sd, opt_sd = (
            vj.load(tmp_path / "model.safetensors"),
            vj.load(tmp_path / "opt.safetensors"),
        )
    kept = {i: {k: v.numpy().copy() for k, v in s.items()} for i, s in opt_sd["state"].items()}
    model2, opt2 = _model_and_opt(lr=0.3)  # a different lr: loading restores the saved one
    model2.load_state_dict(model_sd)
    opt2.load_state_dict(opt_sd)
    assert [g["lr"] for g in opt2.param_groups] == [0.05, 0.01]
    assert opt2.param_groups[0]["betas"] == (0.8, 0.9)
    _fit(model, opt, 2)
    _fit(model2, opt2, 2)
    for p, q in zip(_values(model), _values(model2)):
        np.testing.assert_array_equal(p, q)
    # the oracle: five uninterrupted steps of the documented Adam update; the saved state
    # after three steps matches the reference state after three
    ref_p, ref_s = _ref_fit(3)
    for i, p in enumerate(after_three):
        assert_close(p, ref_p[i], rtol=1e-5, atol=1e-6, msg=f"parameter {i} after three steps")
        for k, v in kept[i].items():
            assert_close(v, ref_s[i][k], rtol=1e-5, atol=1e-7, msg=f"saved {k} of {i}")
    ref_p, _ = _ref_fit(5)
    for i, (p, q) in enumerate(zip(_values(model2), ref_p)):
        assert_close(p, q, rtol=1e-5, atol=1e-6, msg=f"resumed parameter {i}")
    # the state dict held copies: the steps since, and the load, left it as it was
    for i, s in opt_sd["state"].items():
        for k, v in s.items():
            np.testing.assert_array_equal(v.numpy(), kept[i][k])
    assert opt.state_dict()["state"][3]["step"].item() == 5


def test_state_is_a_copy():
    w = vj.tensor([1.0, 2.0], requires_grad=True)
    opt = vj.optim.SGD([w], lr=0.1, momentum=0.9)
    (w * w).sum().backward()
    opt.step()
    snap = opt.state[w]["momentum_buffer"]
    opt.step()
    assert snap.tolist() == [2.0, 4.0]
    assert_close(opt.state[w]["momentum_buffer"].tolist(), [3.8, 7.6])
    saved = opt.state_dict()
    opt.load_state_dict({"state": {0: {"momentum_buffer": [9.0, 9.0]}}, "param_groups": [{
        "lr": 0.1, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False,
        "params": [0]}]})  # fmt: skip
    assert opt.state[w]["momentum_buffer"].tolist() == [9.0, 9.0]
    assert_close(saved["state"][0]["momentum_buffer"].tolist(), [3.8, 7.6])  # not an alias


def test_load_state_dict_errors_leave_the_optimizer_untouched():
    model, opt = _model_and_opt()
    _fit(model, opt, 2)
    good = opt.state_dict()

    def snapshot():
        sd = opt.state_dict()
        groups = [{k: v for k, v in g.items()} for g in sd["param_groups"]]
        return groups, {i: {k: v.tolist() for k, v in s.items()} for i, s in sd["state"].items()}

    before = snapshot()

    def bad(edit):
        sd = {"state": {i: dict(s) for i, s in good["state"].items()}}
        sd["param_groups"] = [
            dict(g, lr=9.0, params=list(g["params"])) for g in good["param_groups"]
        ]
        edit(sd)
        return sd

    cases = [
        (lambda sd: sd["param_groups"].pop(), "1 parameter groups, the optimizer has 2"),
        (lambda sd: sd["param_groups"][1]["params"].pop(), "doesn't match the size"),
        (
            lambda sd: sd["state"][1].update(exp_avg=vj.zeros(5)),
            r"state 'exp_avg' of parameter 1 has shape \(5,\), expected \(4,\)",
        ),
        (
            lambda sd: sd["state"][2].update(momentum_buffer=sd["state"][2].pop("exp_avg")),
            "has entries",
        ),
        (lambda sd: sd["param_groups"][0].update(weight_decay=0.0), "weight_decay > 0"),
        (lambda sd: sd.pop("state"), "must have 'state' and 'param_groups'"),
    ]
    for edit, message in cases:
        with pytest.raises(ValueError, match=message):
            opt.load_state_dict(bad(edit))
        assert snapshot() == before, message
    assert [g["lr"] for g in opt.param_groups] == [0.05, 0.01]


# -- construction and settings ---------------------------------------------------------------------


def test_constructor_errors():
    w = vj.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        vj.optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        vj.optim.SGD([w * 2], lr=0.1)
    with pytest.raises(TypeError, match="only optimize Variables"):
        vj.optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        vj.optim.SGD([{"params": [w]}, {"params": [w]}], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        vj.optim.SGD([w, w], lr=0.1)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum"):
        vj.optim.SGD([w], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid lr value: -0.1"):
        vj.optim.SGD([w], lr=-0.1)
    with pytest.raises(ValueError, match="Invalid lr value"):
        vj.optim.Adam([{"params": [w], "lr": -1.0}])
    with pytest.raises(ValueError, match="Invalid beta parameters"):
        vj.optim.Adam([w], betas=(1.0, 0.999))
    with pytest.raises(ValueError, match="Invalid beta parameters"):
        vj.optim.AdamW([w], betas=(0.9, -0.1))
    with pytest.raises(ValueError, match="Invalid eps value"):
        vj.optim.RMSprop([w], eps=-1.0)


def test_changing_the_update_form_after_construction_is_an_error():
    w = vj.tensor([1.0, 2.0], requires_grad=True)
    opt = vj.optim.SGD([w], lr=0.1)
    opt.param_groups[0]["momentum"] = 0.9
    (w * w).sum().backward()
    with pytest.raises(ValueError, match="changed a setting that decides the update's form"):
        opt.step()
    assert w.tolist() == [1.0, 2.0]
    opt.param_groups[0]["momentum"] = 0.0  # back to the form it was built with
    opt.step()
    assert_close(w.tolist(), [0.8, 1.6])


# -- in use ----------------------------------------------------------------------------------------


def test_steps_are_visible_when_read_and_bump_the_version(mode):
    w = vj.tensor([1.0, -1.0], requires_grad=True)
    opt = vj.optim.SGD([w], lr=0.5)
    for expected in ([0.0, 0.0], [0.0, 0.0]):
        v = w._version
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
        assert w._version == v + 1
        assert w.tolist() == expected
        assert w.is_leaf and w.requires_grad and w.grad_fn is None


def test_training_a_linear_model_reduces_the_loss():
    vj.manual_seed(1)
    model = nn.Linear(3, 2)
    opt = vj.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    target = X @ np.array([[1.0, -2.0], [0.5, 0.0], [-1.0, 1.0]], np.float32) + 0.5
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = nn.MSELoss()(model(vj.tensor(X)), vj.tensor(target))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.05 * losses[0], losses


def test_zero_grad_without_none_zeroes_in_place():
    """PyTorch's zero_grad(set_to_none=False) zeroes the gradient tensor a user may hold."""
    w = vj.tensor([1.0, 2.0], requires_grad=True)
    opt = vj.optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    held = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is held
    assert held.tolist() == [0.0, 0.0]
