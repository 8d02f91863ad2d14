"""varjax.jit: a whole training step as one compiled program.

The oracles are the same steps written in plain jax.numpy (PyTorch's SGD and Adam update
rules, BatchNorm1d's training formulas) and, for the gradients, jax.grad of the plain
jax.numpy function; the compiled step must also match the same step run uncompiled."""

from __future__ import annotations

import functools
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_close

import varjax as vj
from varjax import nn

RNG = np.random.default_rng(0)
X = RNG.standard_normal((8, 4)).astype(np.float32)
Y = RNG.integers(0, 3, 8).astype(np.int32)


def make(seed=0, opt="sgd", bn=False, dropout=0.0):
    vj.manual_seed(seed)
    layers = [nn.Linear(4, 6)]
    if bn:
        layers.append(nn.BatchNorm1d(6))
    layers += [nn.Tanh(), nn.Dropout(dropout), nn.Linear(6, 3)]
    model = nn.Sequential(*layers)
    if opt == "sgd":
        optimizer = vj.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    else:
        optimizer = vj.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()

    def step(x, y):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return model, optimizer, step


def params(model):
    return [p.detach().numpy().copy() for p in model.parameters()]


@functools.partial(jax.jit, static_argnames=("opt", "bn", "dropout"))
def jnp_step(p, state, running, mask, t, opt, bn, dropout):
    """``make``'s training step in plain jax.numpy: cross-entropy, PyTorch's SGD (momentum 0.9,
    weight decay 1e-3) or Adam update, BatchNorm1d's batch statistics and running averages,
    and dropout with the given keep mask."""

    def loss_fn(p):
        w1, b1, *mid, w2, b2 = p
        h = X @ w1.T + b1
        mean = var = None
        if bn:
            mean, var = h.mean(0), h.var(0)
            h = (h - mean) / jnp.sqrt(var + 1e-5) * mid[0] + mid[1]
            var = var * 8 / 7  # the running average takes the unbiased variance
        h = jnp.tanh(h)
        if mask is not None:
            h = h * mask / (1 - dropout)
        logits = h @ w2.T + b2
        loss = -jnp.take_along_axis(jax.nn.log_softmax(logits), Y[:, None], 1).mean()
        return loss, (mean, var)

    (loss, (mean, var)), grads = jax.value_and_grad(loss_fn, has_aux=True)(p)
    if bn:
        running = [0.9 * running[0] + 0.1 * mean, 0.9 * running[1] + 0.1 * var]
    new_p, new_state = [], []
    for w, g, s in zip(p, grads, state):
        if opt == "sgd":
            g = g + 1e-3 * w
            buf = jnp.where(t == 1, g, 0.9 * s[0] + g)
            new_p.append(w - 0.1 * buf)
            new_state.append((buf, s[1]))
        else:
            m, v = 0.9 * s[0] + 0.1 * g, 0.999 * s[1] + 0.001 * g * g
            m_hat, v_hat = m / (1 - 0.9**t), v / (1 - 0.999**t)
            new_p.append(w - 0.01 * m_hat / (jnp.sqrt(v_hat) + 1e-8))
            new_state.append((m, v))
    return loss, new_p, new_state, running, grads


def jnp_steps(init, n, opt="sgd", bn=False, dropout=0.0, masks=None):
    """n of ``jnp_step`` from the initial parameters ``init``: (losses, parameters, buffers,
    the last step's gradients)."""
    p = [jnp.asarray(a) for a in init]
    state = [(jnp.zeros_like(w), jnp.zeros_like(w)) for w in p]
    running = [jnp.zeros(6), jnp.ones(6)]
    losses = []
    for t in range(1, n + 1):
        mask = None if masks is None else jnp.asarray(masks[t - 1], jnp.float32)
        loss, p, state, running, grads = jnp_step(
            p, state, running, mask, jnp.float32(t), opt=opt, bn=bn, dropout=dropout
        )
        losses.append(float(loss))
    return losses, p, [*running, n] if bn else [], grads


@pytest.mark.parametrize(
    "kw", [{}, {"opt": "adam"}, {"bn": True}, {"dropout": 0.3}], ids=["sgd", "adam", "bn", "drop"]
)
def test_jit_matches_the_uncompiled_loop(kw):
    """Compiled and uncompiled loops agree, and both match the same steps in plain jax.numpy."""
    m1, _, step1 = make(**kw)
    m2, _, step2 = make(**kw)
    jstep = vj.jit(step2)
    x, y = vj.tensor(X), vj.tensor(Y)
    vj.manual_seed(1)
    losses1 = [step1(x, y).item() for _ in range(4)]
    vj.manual_seed(1)
    losses2 = [jstep(x, y).item() for _ in range(4)]
    assert_close(losses2, losses1, atol=1e-5)
    for a, b in zip(params(m2), params(m1)):
        assert_close(a, b, atol=1e-5)
    for a, b in zip(m2.buffers(), m1.buffers()):  # BatchNorm running stats and counter
        assert_close(a.numpy(), b.numpy(), atol=1e-5)
    for a, b in zip(m2.parameters(), m1.parameters()):  # .grad is written back as well
        assert_close(a.grad.numpy(), b.grad.numpy(), atol=1e-5)

    # the oracle: the same four steps in plain jax.numpy from the same initial parameters;
    # the dropout variant uses varjax's keep masks, drawn again from the same seed (one draw
    # of the (8, 6) hidden layer's shape per step)
    init = params(make(**kw)[0])
    masks = None
    if kw.get("dropout"):
        vj.manual_seed(1)
        masks = [
            (nn.functional.dropout(vj.ones(8, 6), kw["dropout"]) != 0).numpy() for _ in range(4)
        ]
    losses, ps, buffers, grads = jnp_steps(init, 4, masks=masks, **kw)
    for model, got in ((m1, losses1), (m2, losses2)):
        assert_close(got, losses, rtol=1e-5, atol=1e-5)
        for p, e in zip(model.parameters(), ps):
            assert_close(p.detach().numpy(), e, rtol=1e-5, atol=1e-5)
        for p, g in zip(model.parameters(), grads):
            assert_close(p.grad.numpy(), g, rtol=1e-5, atol=1e-5)
        assert len(list(model.buffers())) == len(buffers)
        for b, e in zip(model.buffers(), buffers):
            assert_close(b.numpy(), e, rtol=1e-5, atol=1e-6)


def test_first_step_gradients_match_jax_grad():
    model, _, _ = make()
    w1, b1, w2, b2 = (jnp.asarray(p) for p in params(model))

    def loss(w1, b1, w2, b2):
        logits = jnp.tanh(X @ w1.T + b1) @ w2.T + b2
        return -jnp.take_along_axis(jax.nn.log_softmax(logits), Y[:, None], 1).mean()

    expected = jax.grad(loss, argnums=(0, 1, 2, 3))(w1, b1, w2, b2)

    @vj.jit
    def grads_only(x, y):
        model.zero_grad()
        out = nn.functional.cross_entropy(model(x), y)
        out.backward()
        return out

    grads_only(vj.tensor(X), vj.tensor(Y))
    for p, g in zip(model.parameters(), expected):
        assert_close(p.grad.numpy(), np.asarray(g), atol=1e-6)


def test_one_compile_per_structure_and_exact_counters():
    model, opt, step = make()
    jstep = vj.jit(step)
    x, y = vj.tensor(X), vj.tensor(Y)
    jstep(x, y)  # gradients did not exist yet: the next call has a new structure
    jstep(x, y)
    before = vj.compile_stats()
    for _ in range(5):
        jstep(vj.tensor(X + 1), vj.tensor(Y))  # new values, same shapes
    after = vj.compile_stats()
    assert after.compiles == before.compiles
    assert after.cache_hits == before.cache_hits + 5
    jstep(vj.tensor(X[:4]), vj.tensor(Y[:4]))  # a new batch shape compiles once
    assert vj.compile_stats().compiles == after.compiles + 1
    model.eval()  # training flags are part of the structure
    jstep(x, y)
    assert vj.compile_stats().compiles == after.compiles + 2
    model.train()
    for group in opt.param_groups:  # a new learning rate is an input, not a new program
        group["lr"] = 0.01
    n = vj.compile_stats().compiles
    jstep(x, y)
    assert vj.compile_stats().compiles == n


def test_learning_rate_change_takes_effect():
    w = vj.tensor([1.0, 2.0], requires_grad=True)
    opt = vj.optim.SGD([w], lr=0.1)

    @vj.jit
    def step():
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()

    step()
    assert_close(w.detach().numpy(), [0.8, 1.6])
    opt.param_groups[0]["lr"] = 0.5
    step()
    assert_close(w.detach().numpy(), [0.0, 0.0], atol=1e-7)


def test_state_from_arguments_closures_globals_and_methods():
    class Trainer:  # a user object holding the state, reached through ``self``
        def __init__(self):
            self.w = vj.tensor([1.0, -1.0], requires_grad=True)
            self.opt = vj.optim.SGD([self.w], lr=0.5)

        @vj.jit
        def step(self, x):
            self.opt.zero_grad()
            (self.w * x).sum().backward()
            self.opt.step()
            return self.w.sum()

    t = Trainer()
    out = t.step(vj.tensor([1.0, 2.0]))
    assert_close(t.w.detach().numpy(), [0.5, -2.0])
    assert_close(out.item(), -1.5)

    v = vj.zeros(2)

    @vj.jit
    def bump(v, k):
        v += k  # an argument Variable modified in place is written back
        return v

    assert bump(v, 2.0) is v
    bump(v, 2.0)
    assert_close(v.numpy(), [4.0, 4.0])
    assert v._version == 2


COUNTER = vj.zeros(())


def test_global_variable_is_lifted():
    @vj.jit
    def tick():
        COUNTER.add_(1)

    for _ in range(3):
        tick()
    assert COUNTER.item() == 3.0


def test_outputs_of_every_kind():
    w = vj.tensor([1.0, 2.0], requires_grad=True)

    @vj.jit
    def f(x):
        y = (w * x).sum()
        return {"y": y, "w": w, "n": 3, "arr": jnp.ones(2), "pair": (y * 2, None)}

    out = f(vj.tensor([3.0, 4.0]))
    assert out["w"] is w and out["n"] == 3 and out["pair"][1] is None
    assert out["y"].item() == 11.0 and out["pair"][0].item() == 22.0
    assert not out["y"].requires_grad  # backward cannot cross a compiled call
    assert_close(np.asarray(out["arr"]), [1.0, 1.0])


def test_random_draws_advance_like_uncompiled_code():
    @vj.jit
    def draw():
        return vj.randn(3)

    vj.manual_seed(5)
    a, b = draw().tolist(), draw().tolist()
    vj.manual_seed(5)
    c, d = vj.randn(3).tolist(), vj.randn(3).tolist()
    assert a != b
    assert_close(a, c)
    assert_close(b, d)


@pytest.mark.parametrize(
    "body, what",
    [
        ("loss.item()", ".item()"),
        ("print(loss)", "printing a Variable"),
        ("bool(loss > 0)", "a Python branch"),
        ("float(loss)", "float()"),
        ("loss.numpy()", ".numpy()"),
    ],
)
def test_host_reads_inside_raise_naming_the_line(body, what):
    model, opt, _ = make()
    before = params(model)
    grads_before = [p.grad for p in model.parameters()]
    src = f"""
def step(x, y):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y).detach()
    {body}
    return loss
"""
    scope = {"opt": opt, "model": model, "nn": nn}
    exec(compile(src, "user_step.py", "exec"), scope)
    step = vj.jit(scope["step"])
    with pytest.raises(RuntimeError) as info:
        step(vj.tensor(X), vj.tensor(Y))
    message = str(info.value)
    assert what in message and "user_step.py" in message and "line 5" in message
    assert "Remedy" in message
    for a, b in zip(params(model), before):  # nothing the user holds was changed
        np.testing.assert_array_equal(a, b)
    assert [p.grad for p in model.parameters()] == grads_before
    # and the model still works, compiled or not
    out = nn.functional.cross_entropy(model(vj.tensor(X)), vj.tensor(Y))
    assert np.isfinite(out.item())


def test_boolean_mask_inside_raises():
    @vj.jit
    def f(x):
        return x[x > 0].sum()

    with pytest.raises(RuntimeError, match="boolean mask.*Remedy: use varjax.where"):
        f(vj.tensor([1.0, -1.0]))


def test_state_it_cannot_find_is_an_error_not_a_frozen_constant():
    holder = types.SimpleNamespace(w=vj.tensor([1.0, 2.0]))  # a library object: not searched
    fetch = holder.__getattribute__

    @vj.jit
    def f(x):
        return x * fetch("w")

    with pytest.raises(RuntimeError, match="created before the call.*pass it as an argument"):
        f(vj.tensor([1.0, 1.0]))


def test_intermediate_with_history_is_rejected():
    w = vj.tensor([1.0], requires_grad=True)
    h = w * 2

    @vj.jit
    def f():
        return h + 1

    with pytest.raises(RuntimeError, match="intermediate result.*detach"):
        f()


def test_donation_never_invalidates_what_the_user_holds():
    model, _, step = make()
    jstep = vj.jit(step)
    x, y = vj.tensor(X), vj.tensor(Y)
    jstep(x, y)
    jstep(x, y)
    w = next(iter(model.parameters()))
    kept = jnp.asarray(w)  # the raw array of the current value
    clone = w.clone()  # a pending copy of the current value
    alias = w.detach()  # shares storage: sees updates, as in PyTorch
    old = np.asarray(kept).copy()
    jstep(x, y)
    np.testing.assert_array_equal(np.asarray(kept), old)
    np.testing.assert_array_equal(clone.detach().numpy(), old)
    assert_close(alias.numpy(), w.detach().numpy())
    assert not np.allclose(alias.numpy(), old)


def test_nested_jit_and_clear_caches():
    w = vj.tensor([2.0], requires_grad=True)

    @vj.jit
    def inner(x):
        return x * w

    @vj.jit
    def outer(x):
        return inner(x) + 1

    assert outer(vj.tensor([3.0])).item() == 7.0
    assert len(outer._cache) == 1 and not inner._cache  # inlined, not compiled separately
    vj.clear_caches()
    assert not outer._cache and vj.compile_stats().compiles == 0
    assert outer(vj.tensor([1.0])).item() == 3.0


def test_scheduler_step_inside_is_an_error():
    w = vj.tensor([1.0], requires_grad=True)
    opt = vj.optim.SGD([w], lr=0.1)
    sched = vj.optim.lr_scheduler.StepLR(opt, step_size=1)

    @vj.jit
    def step():
        sched.step()

    with pytest.raises(RuntimeError, match="call it outside"):
        step()
    assert opt.param_groups[0]["lr"] == 0.1


def test_imperative_loop_is_one_compiled_call_per_iteration():
    """optimizer.step() is recorded and computed by the next forward and backward."""
    model, _, step = make()
    x, y = vj.tensor(X), vj.tensor(Y)
    for _ in range(3):
        step(x, y)
    for _ in range(3):
        before = vj.compile_stats()
        step(x, y)
        after = vj.compile_stats()
        assert (after.compiles, after.cache_hits) == (before.compiles, before.cache_hits + 1)


@pytest.mark.parametrize("compiled", [False, True], ids=["imperative", "jit"])
def test_training_steps_leave_no_cyclic_garbage(compiled):
    """Arrays are freed as soon as they are dead, not when the cycle collector runs."""
    import gc

    model, _, step = make(bn=True, dropout=0.2)
    run = vj.jit(step) if compiled else step
    x, y = vj.tensor(X), vj.tensor(Y)
    for _ in range(4):
        run(x, y).item()
    gc.collect()
    gc.disable()
    try:
        for _ in range(5):
            run(x, y).item()
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_a_gradient_the_user_kept_keeps_its_value():
    """zero_grad(set_to_none) then backward makes a new .grad (PyTorch); the old one stays."""
    model, _, step = make()
    jstep = vj.jit(step)
    x, y = vj.tensor(X), vj.tensor(Y)
    jstep(x, y)
    jstep(x, y)
    w = next(iter(model.parameters()))
    old = w.grad
    before = np.asarray(jnp.array(old._node.value, copy=True))  # no view of old's buffer
    jstep(x, y)
    assert w.grad is not old
    np.testing.assert_array_equal(old.numpy(), before)
    assert not np.array_equal(w.grad.numpy(), before)


def test_a_kept_gradient_survives_a_step_that_reads_it_before_replacing_it():
    """The old .grad is an input (read) and then replaced: its buffer must not be reused
    while the user holds it."""
    w = vj.tensor([1.0, 2.0], requires_grad=True)

    @vj.jit
    def step():
        scale = w.grad.sum()  # reads the old gradient
        w.grad = None
        (w * w * scale).sum().backward()

    (w * w).sum().backward()  # .grad = [2, 4]
    step()
    step()
    old = w.grad
    before = np.asarray(jnp.array(old._node.value, copy=True))
    step()
    assert not old._node.value.is_deleted()
    np.testing.assert_array_equal(old.detach().numpy(), before)
    assert w.grad is not old


def test_state_on_an_object_of_a_class_defined_in_main():
    """Scripts and notebooks define classes in __main__; their objects are searched too."""
    import subprocess
    import sys

    script = (
        "import sys, sysconfig\n"
        "import varjax as vj\n"
        "# in a notebook, __main__ is ipykernel's launcher, a file among the installed packages\n"
        "sys.modules['__main__'].__file__ = sysconfig.get_paths()['purelib'] + '/launcher.py'\n"
        "class Trainer:\n"
        "    def __init__(self):\n"
        "        self.w = vj.tensor([1.0, 2.0], requires_grad=True)\n"
        "        self.opt = vj.optim.SGD([self.w], lr=0.5)\n"
        "t = Trainer()\n"
        "@vj.jit\n"
        "def step():\n"
        "    t.opt.zero_grad()\n"
        "    (t.w * t.w).sum().backward()\n"
        "    t.opt.step()\n"
        "step(); step()\n"
        "print(t.w.detach().tolist())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[0.0, 0.0]"
