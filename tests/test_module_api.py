"""The Module API (hooks, traversal, state, casting, deepcopy), nn.init, nn.utils and the
Parameter containers, against PyTorch where it is deterministic and against NumPy formulas
and distribution statistics elsewhere."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from conftest import assert_close

import varjax as vj
from varjax import nn


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _np(t):
    return t.detach().numpy() if hasattr(t, "detach") and not isinstance(t, vj.Variable) else (
        np.asarray(t))  # fmt: skip


def _linear_pair(torch, i=3, o=2):
    m = nn.Linear(i, o)
    tm = torch.nn.Linear(i, o)
    tm.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in m.state_dict().items()})
    return m, tm


# -- forward hooks --------------------------------------------------------------------------


def _log_hooks(mod, log):
    handles = [
        mod.register_forward_pre_hook(lambda m, a: log.append(("pre", len(a)))),
        mod.register_forward_pre_hook(
            lambda m, a, k: log.append(("pre_kw", sorted(k))), with_kwargs=True
        ),  # fmt: skip
        mod.register_forward_hook(lambda m, a, o: log.append(("fwd", tuple(o.shape)))),
        mod.register_forward_hook(lambda m, a, o: log.append(("first",)), prepend=True),
        mod.register_forward_hook(
            lambda m, a, k, o: log.append(("fwd_kw", sorted(k))), with_kwargs=True
        ),  # fmt: skip
    ]
    return handles


def test_forward_hook_order_matches_torch(torch):
    class Scale(nn.Module):
        def forward(self, x, scale=1.0):
            return x * scale

    class TScale(torch.nn.Module):
        def forward(self, x, scale=1.0):
            return x * scale

    mod, tmod = Scale(), TScale()
    log, tlog = [], []
    hs, ths = _log_hooks(mod, log), _log_hooks(tmod, tlog)
    mod(vj.ones(2), scale=2.0)
    tmod(torch.ones(2), scale=2.0)
    assert log == tlog
    for h, th in zip(hs, ths):
        h.remove()
        th.remove()
    mod(vj.ones(2))
    assert log == tlog  # nothing more ran


def test_forward_hooks_replace_input_and_output(torch):
    m, tm = _linear_pair(torch)
    for mod in (m, tm):
        mod.register_forward_pre_hook(lambda mod, a: a[0] * 2)  # non-tuple: wrapped
        mod.register_forward_hook(lambda mod, a, o: o + 1)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert_close(m(vj.tensor(x)), _np(tm(torch.tensor(x))))


def test_forward_pre_hook_with_kwargs_replaces_both():
    class Add(nn.Module):
        def forward(self, x, y=0.0):
            return x + y

    m = Add()
    m.register_forward_pre_hook(lambda mod, a, k: ((a[0] * 10,), {"y": 1.0}), with_kwargs=True)
    assert_close(m(vj.ones(2)), [11.0, 11.0])
    m.register_forward_pre_hook(lambda mod, a, k: 3, with_kwargs=True)
    with pytest.raises(RuntimeError, match="must return None or a tuple"):
        m(vj.ones(2))


def test_always_call_hook_runs_when_forward_raises():
    class Bad(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    seen = []
    m = Bad()
    m.register_forward_hook(lambda mod, a, o: seen.append("always"), always_call=True)
    m.register_forward_hook(lambda mod, a, o: seen.append("normal"))
    with pytest.raises(ValueError, match="boom"):
        m(vj.ones(1))
    assert seen == ["always"]


def test_handle_context_manager():
    m = nn.Identity()
    seen = []
    with m.register_forward_hook(lambda mod, a, o: seen.append(1)):
        m(vj.ones(1))
    m(vj.ones(1))
    assert seen == [1]


# -- backward hooks -------------------------------------------------------------------------


def _record_backward(mod, log):
    mod.register_full_backward_pre_hook(lambda m, go: log.append(("pre", [_np(g) for g in go])))
    mod.register_full_backward_hook(
        lambda m, gi, go: log.append(("bw", [None if g is None else _np(g) for g in gi],
                                      [_np(g) for g in go])))  # fmt: skip


def test_full_backward_hook_values_match_torch(torch):
    m, tm = _linear_pair(torch)
    log, tlog = [], []
    _record_backward(m, log)
    _record_backward(tm, tlog)
    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    xv, xt = vj.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (m(xv) ** 2).sum().backward()
    (tm(xt) ** 2).sum().backward()
    assert [e[0] for e in log] == [e[0] for e in tlog] == ["pre", "bw"]
    assert_close(log[0][1][0], tlog[0][1][0])
    assert_close(log[1][1][0], tlog[1][1][0])
    assert_close(log[1][2][0], tlog[1][2][0])
    assert_close(xv.grad, _np(xt.grad))
    assert_close(m.weight.grad, _np(tm.weight.grad))


def test_backward_hooks_replace_gradients(torch):
    m, tm = _linear_pair(torch)
    for mod in (m, tm):
        mod.register_full_backward_pre_hook(lambda mod, go: (go[0] * 3,))
        mod.register_full_backward_hook(lambda mod, gi, go: (gi[0] + 1,))
    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    xv, xt = vj.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    m(xv).sum().backward()
    tm(xt).sum().backward()
    assert_close(xv.grad, _np(xt.grad))
    assert_close(m.weight.grad, _np(tm.weight.grad))  # the pre-hook's scaling reaches weights


def test_backward_hook_two_inputs_and_no_grad_input(torch):
    class Mul(nn.Module):
        def forward(self, a, b):
            return a * b

    log = []
    m = Mul()
    m.register_full_backward_hook(lambda mod, gi, go: log.append(gi))
    a = vj.tensor([1.0, 2.0], requires_grad=True)
    m(a, vj.tensor([3.0, 4.0])).sum().backward()
    assert log[0][1] is None
    assert_close(log[0][0], [3.0, 4.0])
    b = vj.tensor([5.0, 6.0], requires_grad=True)
    log.clear()
    m(a, b).sum().backward()
    assert_close(log[0][0], [5.0, 6.0])
    assert_close(log[0][1], [1.0, 2.0])


def test_backward_hook_wrong_length_raises():
    m = nn.Linear(2, 2)
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="invalid number of grad_input, got 2, but expected 1"):
        m(vj.ones(1, 2, requires_grad=True)).sum().backward()


def test_legacy_backward_hook_not_implemented():
    with pytest.raises(NotImplementedError, match="register_full_backward_hook"):
        nn.Linear(2, 2).register_backward_hook(lambda *a: None)


# -- hooks under varjax.jit -----------------------------------------------------------------


def test_hooks_inside_jit_match_imperative():
    vj.manual_seed(0)
    m = nn.Linear(3, 2)
    traced = []
    m.register_forward_hook(lambda mod, a, o: traced.append(1) or o * 2)
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 0 + 7,))
    x = vj.tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3), requires_grad=True)

    def step(x):
        out = m(x).sum()
        out.backward()
        return out

    ref = step(x)
    ref_x, ref_w = np.asarray(x.grad), np.asarray(m.weight.grad)
    x.grad = None
    m.zero_grad()
    jstep = vj.jit(step)
    for _ in range(2):
        x.grad = None
        m.zero_grad()
        out = jstep(x)
    assert_close(out, ref)
    assert_close(x.grad, ref_x)
    assert_close(x.grad, np.full((2, 3), 7.0))
    assert_close(m.weight.grad, ref_w)
    assert traced  # the forward hook ran (when the step was traced)


def test_adding_a_hook_recompiles_jit():
    m = nn.Identity()
    step = vj.jit(lambda x: m(x) * 1)
    x = vj.ones(2)
    assert_close(step(x), [1.0, 1.0])
    h = m.register_forward_hook(lambda mod, a, o: o + 1)
    assert_close(step(x), [2.0, 2.0])
    h.remove()
    assert_close(step(x), [1.0, 1.0])


def test_a_hooks_closure_state_is_lifted_by_jit():
    """The walk skips empty hook stores and plain attributes (cached until the tree changes)
    but still finds a Variable that a registered hook's closure reads, at its current value."""
    m = nn.Identity()
    step = vj.jit(lambda x: m(x) * 1)
    x = vj.ones(2)
    assert_close(step(x), [1.0, 1.0])
    shift = vj.ones(())
    m.register_forward_hook(lambda mod, a, o: o + shift)
    assert_close(step(x), [2.0, 2.0])
    shift.fill_(5.0)
    assert_close(step(x), [6.0, 6.0])
    m.scale = 3  # a plain attribute set later is seen too (it changes the tree)
    assert m.scale == 3 and "scale" in m.__dict__


# -- traversal, lookup, state ---------------------------------------------------------------


def _net(mod, zeros):
    """The same tree in varjax or torch: a Sequential, a shared head, a buffer."""
    net = mod.Module()
    net.body = mod.Sequential(mod.Linear(2, 3), mod.ReLU())
    net.head = mod.Linear(3, 1)
    net.tied = net.head  # a module reached twice
    net.register_buffer("steps", zeros(1))
    return net


def test_named_iterators_match_torch(torch):
    net, tnet = _net(nn, vj.zeros), _net(torch.nn, torch.zeros)
    for kw in ({}, {"remove_duplicate": False}, {"prefix": "p", "recurse": False}):
        assert [n for n, _ in net.named_parameters(**kw)] == [
            n for n, _ in tnet.named_parameters(**kw)]  # fmt: skip
        assert [n for n, _ in net.named_buffers(**kw)] == [n for n, _ in tnet.named_buffers(**kw)]
    assert [n for n, _ in net.named_modules()] == [n for n, _ in tnet.named_modules()]
    assert [n for n, _ in net.named_modules(remove_duplicate=False)] == [
        n for n, _ in tnet.named_modules(remove_duplicate=False)]  # fmt: skip
    assert [n for n, _ in net.named_children()] == [n for n, _ in tnet.named_children()]
    assert list(net.state_dict()) == list(tnet.state_dict())
    assert net.get_submodule("body.0") is net.body[0]
    assert net.get_parameter("body.0.bias") is net.body[0].bias
    assert net.get_buffer("steps") is net.steps
    for mod, torch_mod in ((net, tnet),):
        for call, target in (("get_submodule", "body.7"), ("get_submodule", "head.weight"),
                             ("get_parameter", "body.0.nope"), ("get_parameter", "head"),
                             ("get_buffer", "head.weight")):  # fmt: skip
            with pytest.raises(AttributeError) as ours:
                getattr(mod, call)(target)
            with pytest.raises(AttributeError) as theirs:
                getattr(torch_mod, call)(target)
            assert str(ours.value) == str(theirs.value)


def test_state_dict_keep_vars_and_load_assign():
    m = nn.Linear(2, 2)
    sd = m.state_dict(keep_vars=True)
    assert sd["weight"] is m.weight
    assert m.state_dict()["weight"] is not m.weight
    new = {"weight": vj.ones(2, 2), "bias": vj.zeros(2)}
    res = m.load_state_dict(new, assign=True)
    assert repr(res) == "<All keys matched successfully>"
    assert isinstance(m.weight, nn.Parameter) and m.weight.requires_grad
    assert_close(m(vj.ones(1, 2)), [[2.0, 2.0]])
    res = m.load_state_dict({"weight": vj.zeros(2, 2), "extra": vj.zeros(1)}, strict=False)
    assert res.missing_keys == ["bias"] and res.unexpected_keys == ["extra"]
    with pytest.raises(TypeError, match="dict-like"):
        m.load_state_dict([1, 2])


def test_deepcopy_gives_independent_parameters():
    vj.manual_seed(1)
    m = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    c = copy.deepcopy(m)
    for (n, p), (n2, q) in zip(m.named_parameters(), c.named_parameters()):
        assert n == n2 and p is not q and isinstance(q, nn.Parameter)
        assert_close(q, np.asarray(p))
    with vj.no_grad():
        c[0].weight.add_(1.0)
    assert not np.allclose(np.asarray(c[0].weight), np.asarray(m[0].weight))


def test_casts_train_apply_requires_grad(torch):
    m = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    tm = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    for cast in ("half", "bfloat16", "double", "float"):
        getattr(m, cast)()
        getattr(tm, cast)()
        ours = {k: str(v.dtype).split(".")[1] for k, v in m.state_dict().items()}
        theirs = {k: str(v.dtype).split(".")[1] for k, v in tm.state_dict().items()}
        assert ours == theirs, cast  # num_batches_tracked stays int64
    m.eval()
    assert not any(x.training for x in m.modules())
    with pytest.raises(ValueError, match="boolean"):
        m.train("yes")
    names = []
    m.apply(lambda mod: names.append(type(mod).__name__))
    assert names == ["Linear", "BatchNorm1d", "Sequential"]
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    assert m.share_memory() is m
    assert "weight" in dir(m[0]) and "0" not in dir(m)


# -- containers -----------------------------------------------------------------------------


def test_parameter_list_matches_torch(torch):
    pl = nn.ParameterList([nn.Parameter(vj.zeros(2, 3)), vj.ones(3)])
    pl.append(vj.ones(1))
    pl += [vj.zeros(4)]
    tpl = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(2, 3)), torch.ones(3)])
    tpl.append(torch.ones(1))
    tpl += [torch.zeros(4)]
    assert list(pl.state_dict()) == list(tpl.state_dict()) == ["0", "1", "2", "3"]
    assert all(isinstance(p, nn.Parameter) for p in pl) and len(pl) == 4
    assert repr(pl) == repr(tpl).replace("torch.", "varjax.")
    assert pl[-1] is pl[3] and len(pl[1:3]) == 2
    pl[0] = vj.full((1,), 5.0)
    assert isinstance(pl[0], nn.Parameter) and pl.state_dict()["0"].shape == (1,)
    with pytest.raises(IndexError):
        pl[4]


def test_parameter_dict_api(torch):
    pd = nn.ParameterDict({"a": vj.zeros(2)})
    pd["b"] = nn.Parameter(vj.ones(1))
    pd.update([("c", vj.ones(3))])
    tpd = torch.nn.ParameterDict({"a": torch.zeros(2)})
    tpd["b"] = torch.nn.Parameter(torch.ones(1))
    tpd.update([("c", torch.ones(3))])
    assert list(pd.keys()) == list(tpd.keys()) == list(pd.state_dict()) == list(tpd.state_dict())
    assert all(isinstance(v, nn.Parameter) for v in pd.values())
    assert "b" in pd and len(pd) == 3
    assert pd.pop("a").shape == (2,) and list(pd) == ["b", "c"]
    assert pd.get("zz") is None
    m = nn.Module()
    m.params = pd
    assert [n for n, _ in m.named_parameters()] == ["params.b", "params.c"]


def test_unflatten_matches_torch(torch):
    u, tu = nn.Unflatten(1, (2, 3)), torch.nn.Unflatten(1, (2, 3))
    x = np.arange(24, dtype=np.float32).reshape(4, 6)
    assert_close(u(vj.tensor(x)), tu(torch.tensor(x)).numpy())
    assert repr(u) == repr(tu)


# -- nn.init --------------------------------------------------------------------------------


def test_calculate_gain_table(torch):
    for name in ("linear", "conv2d", "sigmoid", "tanh", "relu", "selu", "leaky_relu"):
        assert nn.init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name))
    assert nn.init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert nn.init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        nn.init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        nn.init.calculate_gain("leaky_relu", "x")


def test_init_distribution_statistics():
    vj.manual_seed(0)
    w = vj.empty(200, 300)
    fan_in, fan_out = 300, 200
    nn.init.uniform_(w, -2, 3)
    a = np.asarray(w)
    assert a.min() >= -2 and a.max() <= 3 and abs(a.mean() - 0.5) < 0.05
    nn.init.normal_(w, 1.0, 2.0)
    assert abs(np.asarray(w).mean() - 1) < 0.05 and abs(np.asarray(w).std() - 2) < 0.05
    bound = math.sqrt(6 / (fan_in + fan_out))
    nn.init.xavier_uniform_(w)
    assert np.abs(np.asarray(w)).max() <= bound
    assert abs(np.asarray(w).std() - bound / math.sqrt(3)) < 0.01 * bound
    nn.init.xavier_normal_(w, gain=2.0)
    assert abs(np.asarray(w).std() - 2 * math.sqrt(2 / (fan_in + fan_out))) < 0.003
    nn.init.kaiming_uniform_(w, a=0.0, nonlinearity="relu")
    assert np.abs(np.asarray(w)).max() <= math.sqrt(6 / fan_in)
    nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert abs(np.asarray(w).std() - math.sqrt(2 / fan_out)) < 0.003
    nn.init.trunc_normal_(w, std=1.0, a=-0.5, b=0.5)
    assert np.abs(np.asarray(w)).max() <= 0.5
    nn.init.sparse_(w, sparsity=0.1, std=0.5)
    zeros = (np.asarray(w) == 0).sum(0)
    assert (zeros == 20).all() and abs(np.asarray(w).std() - 0.5 * math.sqrt(0.9)) < 0.02
    with pytest.raises(ValueError, match="Mode fan_up not supported"):
        nn.init.kaiming_normal_(w, mode="fan_up")


def test_init_reproducible_under_manual_seed():
    w = vj.empty(4, 5)
    vj.manual_seed(3)
    a = np.asarray(nn.init.orthogonal_(w)).copy()
    vj.manual_seed(3)
    assert_close(nn.init.orthogonal_(w), a)


@pytest.mark.parametrize("shape", [(4, 6), (6, 4), (3, 2, 2)])
def test_orthogonal(shape):
    w = nn.init.orthogonal_(vj.empty(*shape), gain=2.0)
    a = np.asarray(w).reshape(shape[0], -1) / 2
    gram = a @ a.T if a.shape[0] <= a.shape[1] else a.T @ a
    assert_close(gram, np.eye(min(a.shape)), atol=1e-5)
    with pytest.raises(ValueError, match="2 or more dimensions"):
        nn.init.orthogonal_(vj.empty(3))


def test_dirac_eye_constant_match_torch(torch):
    for shape, groups in (((4, 2, 3), 1), ((4, 2, 3, 3), 2), ((2, 2, 1, 3, 3), 1)):
        w, tw = vj.empty(*shape), torch.empty(*shape)
        assert_close(nn.init.dirac_(w, groups), torch.nn.init.dirac_(tw, groups).numpy())
    x = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)
    w = nn.init.dirac_(vj.empty(2, 2, 3, 3))
    assert_close(nn.functional.conv2d(vj.tensor(x), w, padding=1), x)  # the identity
    assert_close(nn.init.eye_(vj.empty(2, 3)), np.eye(2, 3))
    assert_close(nn.init.constant_(vj.empty(2), 0.5), [0.5, 0.5])
    assert_close(nn.init.ones_(vj.empty(2)), [1, 1])
    with pytest.raises(ValueError, match="3, 4, or 5 dimensions"):
        nn.init.dirac_(vj.empty(2, 2))


# -- nn.utils -------------------------------------------------------------------------------


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf"), 3.0])
def test_clip_grad_norm_matches_torch(torch, norm_type):
    grads = [np.array([[3.0, -4.0]], np.float32), np.array([1.0, 2.0, -2.0], np.float32)]
    ps = [vj.zeros(*g.shape, requires_grad=True) for g in grads]
    tps = [torch.zeros(*g.shape, requires_grad=True) for g in grads]
    for p, tp, g in zip(ps, tps, grads):
        p.grad, tp.grad = vj.tensor(g), torch.tensor(g)
    total = nn.utils.clip_grad_norm_(ps, 1.5, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(tps, 1.5, norm_type=norm_type)
    assert_close(total, ttotal.numpy())
    for p, tp in zip(ps, tps):
        assert_close(p.grad, tp.grad.numpy())


def test_clip_grad_norm_numpy_oracle_and_errors():
    p = vj.zeros(4, requires_grad=True)
    p.grad = vj.tensor([1.0, 2.0, 2.0, 4.0])
    total = nn.utils.clip_grad_norm_(p, 2.5, foreach=True)
    assert_close(total, 5.0)
    assert_close(p.grad, np.array([1, 2, 2, 4]) * 2.5 / (5 + 1e-6))
    p.grad = vj.tensor([1.0, float("nan"), 0.0, 0.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert_close(nn.utils.clip_grad_norm_([vj.zeros(1, requires_grad=True)], 1.0), 0.0)
    p.grad = vj.tensor([-3.0, 0.5, 2.0, 0.0])
    nn.utils.clip_grad_value_([p], 1.0)
    assert_close(p.grad, [-1.0, 0.5, 1.0, 0.0])
    t = nn.utils.get_total_norm([vj.tensor([3.0]), vj.tensor([4.0])])
    assert_close(t, 5.0)


def test_parameters_vector_roundtrip(torch):
    m = nn.Linear(3, 2)
    vec = nn.utils.parameters_to_vector(m.parameters())
    tvec = torch.cat([torch.tensor(np.asarray(p)).view(-1) for p in m.parameters()])
    assert_close(vec, tvec.numpy())
    nn.utils.vector_to_parameters(vec * 0 + 1, m.parameters())
    assert_close(m.weight, np.ones((2, 3)))
    with pytest.raises(TypeError, match="expected varjax.Variable"):
        nn.utils.vector_to_parameters([1.0], m.parameters())


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_matches_torch(torch, batch_first, side):
    seqs = [np.arange(6, dtype=np.float32).reshape(3, 2), np.ones((1, 2), np.float32)]
    vs = [vj.tensor(s, requires_grad=True) for s in seqs]
    ts = [torch.tensor(s, requires_grad=True) for s in seqs]
    out = nn.utils.rnn.pad_sequence(vs, batch_first, -1.0, side)
    tout = torch.nn.utils.rnn.pad_sequence(ts, batch_first, -1.0, side)
    assert_close(out, tout.detach().numpy())
    w = np.arange(tout.numel(), dtype=np.float32).reshape(tuple(tout.shape))
    (out * vj.tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    for v, t in zip(vs, ts):
        assert_close(v.grad, t.grad.numpy())


@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_matches_torch(torch, dim):
    m, tm = _linear_pair(torch, 3, 4)
    nn.utils.weight_norm(m, dim=dim)
    with pytest.warns(FutureWarning):
        torch.nn.utils.weight_norm(tm, dim=dim)
    assert list(m.state_dict()) == list(tm.state_dict())
    for k, v in tm.state_dict().items():
        assert_close(m.state_dict()[k], v.numpy(), atol=1e-6)
    with vj.no_grad():
        m.weight_g.mul_(2.0)
    with torch.no_grad():
        tm.weight_g.mul_(2.0)
    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    out, tout = m(vj.tensor(x)), tm(torch.tensor(x))
    assert_close(out, tout.detach().numpy())
    (out**2).sum().backward()
    (tout**2).sum().backward()
    assert_close(m.weight_g.grad, tm.weight_g.grad.numpy(), atol=1e-5)
    assert_close(m.weight_v.grad, tm.weight_v.grad.numpy(), atol=1e-5)
    nn.utils.remove_weight_norm(m)
    assert list(m.state_dict()) == ["bias", "weight"]
    assert_close(m(vj.tensor(x)), tout.detach().numpy())
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found"):
        nn.utils.remove_weight_norm(m)


def test_weight_norm_twice_raises():
    m = nn.utils.weight_norm(nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match="two weight_norm hooks"):
        nn.utils.weight_norm(m)


def test_spectral_norm_matches_torch(torch):
    m, tm = _linear_pair(torch, 3, 4)
    nn.utils.spectral_norm(m, n_power_iterations=3)
    torch.nn.utils.spectral_norm(tm, n_power_iterations=3)
    assert list(m.state_dict()) == list(tm.state_dict())
    tm.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in m.state_dict().items()})
    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    for _ in range(2):  # training mode: the power iteration updates u and v
        out, tout = m(vj.tensor(x)), tm(torch.tensor(x))
        assert_close(out, tout.detach().numpy(), atol=1e-5)
    assert_close(m.weight_u, tm.weight_u.numpy(), atol=1e-5)
    (out**2).sum().backward()
    (tout**2).sum().backward()
    assert_close(m.weight_orig.grad, tm.weight_orig.grad.numpy(), atol=1e-5)
    m.eval()
    tm.eval()
    u = np.asarray(m.weight_u).copy()
    assert_close(m(vj.tensor(x)), tm(torch.tensor(x)).detach().numpy(), atol=1e-5)
    assert_close(m.weight_u, u)  # eval: no power iteration
    nn.utils.remove_spectral_norm(m)
    assert list(m.state_dict()) == ["bias", "weight"]


def test_spectral_norm_converges_to_largest_singular_value():
    vj.manual_seed(0)
    m = nn.utils.spectral_norm(nn.Linear(5, 4), n_power_iterations=50)
    m(vj.zeros(1, 5))
    w = np.asarray(m.weight_orig)
    assert_close(np.linalg.svd(np.asarray(m.weight), compute_uv=False)[0], 1.0, atol=1e-4)
    assert np.linalg.svd(w, compute_uv=False)[0] > 0


def test_weight_norm_step_under_jit():
    vj.manual_seed(0)
    base = nn.Linear(3, 2)
    twin = copy.deepcopy(base)
    m, m2 = nn.utils.weight_norm(base), nn.utils.weight_norm(twin)
    opt = vj.optim.SGD(m.parameters(), lr=0.1)
    x = vj.tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3))
    opt2 = vj.optim.SGD(m2.parameters(), lr=0.1)

    def step(model, optim):
        optim.zero_grad()
        loss = (model(x) ** 2).sum()
        loss.backward()
        optim.step()
        return loss

    jstep = vj.jit(lambda: step(m, opt))
    for _ in range(3):
        a = jstep()
        b = step(m2, opt2)
        assert_close(a, b, rtol=1e-5)
    assert_close(m.weight_v, np.asarray(m2.weight_v), rtol=1e-5)


def test_backward_hooks_two_outputs_and_chain_order_match_torch(torch):
    def build(mod, lib):
        class Split(mod.Module):
            def forward(self, x):
                return x * 2, x * 3

        net = mod.Sequential(mod.Linear(2, 2), Split())
        log = []
        for i, sub in enumerate(net):
            sub.register_full_backward_pre_hook(
                lambda m, go, i=i: log.append((i, "pre", [_np(g) for g in go])))  # fmt: skip
            sub.register_full_backward_hook(
                lambda m, gi, go, i=i: log.append((i, "bw", [_np(g) for g in gi])))  # fmt: skip
        return net, log

    net, log = build(nn, vj)
    tnet, tlog = build(torch.nn, torch)
    sd = net[0].state_dict()
    tnet[0].load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in sd.items()})
    x = np.array([[0.5, -1.0]], np.float32)
    a, b = net(vj.tensor(x, requires_grad=True))
    ta, tb = tnet(torch.tensor(x, requires_grad=True))
    (a.sum() + (b**2).sum()).backward()
    (ta.sum() + (tb**2).sum()).backward()
    assert [e[:2] for e in log] == [e[:2] for e in tlog]
    for ours, theirs in zip(log, tlog):
        for g, tg in zip(ours[2], theirs[2]):
            assert_close(g, tg, atol=1e-6)


def test_add_module_errors_match_torch(torch):
    for mod in (nn.Module(), torch.nn.Module()):
        with pytest.raises(KeyError, match="contain"):
            mod.add_module("a.b", None)
        with pytest.raises(TypeError, match="is not a Module subclass"):
            mod.add_module("a", 3)


def test_spectral_norm_step_under_jit():
    vj.manual_seed(0)
    base = nn.Linear(3, 2)
    twin = copy.deepcopy(base)
    vj.manual_seed(1)
    m = nn.utils.spectral_norm(base)
    vj.manual_seed(1)
    m2 = nn.utils.spectral_norm(twin)
    assert_close(m.weight_u, np.asarray(m2.weight_u))
    x = vj.tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3))

    def step(model):
        model.zero_grad()
        loss = (model(x) ** 2).sum()
        loss.backward()
        with vj.no_grad():
            model.weight_orig.sub_(0.1 * model.weight_orig.grad)
        return loss

    jstep = vj.jit(lambda: step(m))
    for _ in range(3):
        assert_close(jstep(), step(m2), rtol=1e-5)
    assert_close(m.weight_u, np.asarray(m2.weight_u), rtol=1e-5, atol=1e-6)
    assert_close(m.weight_orig, np.asarray(m2.weight_orig), rtol=1e-5)
