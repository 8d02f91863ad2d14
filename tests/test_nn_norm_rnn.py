"""Normalization layers and recurrent networks against PyTorch (same weights: the varjax
``state_dict`` loaded into the torch module) and against NumPy / ``jax.grad`` formulas."""

from __future__ import annotations

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


def _t(torch, a, grad=False):
    return torch.tensor(np.asarray(a, np.float32), requires_grad=grad)


def _load(torch, vj_module, torch_module):
    sd = {
        k: torch.tensor(np.asarray(v.detach().numpy())) for k, v in vj_module.state_dict().items()
    }
    torch_module.load_state_dict(sd)
    return torch_module


def _grads(params):
    return [np.asarray(p.grad.numpy() if hasattr(p.grad, "numpy") else p.grad) for p in params]


# -- recurrent layers ---------------------------------------------------------------------------

RNN_CASES = [
    # (class name, kwargs, input shape, initial state?)
    ("RNN", dict(nonlinearity="relu", num_layers=2, bidirectional=True), (4, 2, 3), True),
    ("LSTM", dict(num_layers=2, bidirectional=True), (4, 2, 3), True),
    ("LSTM", dict(batch_first=True, bias=False, proj_size=2), (2, 4, 3), True),
    ("LSTM", dict(), (4, 3), True),  # unbatched
    ("GRU", dict(num_layers=2, bidirectional=True, batch_first=True), (2, 4, 3), True),
    ("GRU", dict(), (4, 3), False),  # unbatched
]


def _initial(name, module, shape, rng):
    d = 2 if module.bidirectional else 1
    lead = (module.num_layers * d,) if len(shape) == 2 else (module.num_layers * d, 2)
    h = rng.standard_normal((*lead, module.proj_size or module.hidden_size)).astype(np.float32)
    c = rng.standard_normal((*lead, module.hidden_size)).astype(np.float32)
    return (h, c) if name == "LSTM" else (h,)


def _run_vj(name, m, x, state):
    xs = vj.tensor(x, requires_grad=True)
    hs = [vj.tensor(s, requires_grad=True) for s in state] if state else []
    hx = None if not hs else (tuple(hs) if name == "LSTM" else hs[0])
    out, fin = m(xs, hx)
    finals = list(fin) if name == "LSTM" else [fin]
    return xs, hs, out, finals


def _run_torch(torch, name, m, x, state):
    xs = _t(torch, x, True)
    hs = [_t(torch, s, True) for s in state] if state else []
    hx = None if not hs else (tuple(hs) if name == "LSTM" else hs[0])
    out, fin = m(xs, hx)
    finals = list(fin) if name == "LSTM" else [fin]
    return xs, hs, out, finals


@pytest.mark.parametrize("name,kwargs,shape,with_state", RNN_CASES)
@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported")
def test_recurrent_matches_torch(torch, rng, name, kwargs, shape, with_state):
    vj.manual_seed(0)
    m = getattr(nn, name)(3, 5, **kwargs)
    tm = _load(torch, m, getattr(torch.nn, name)(3, 5, **kwargs))
    assert list(m.state_dict()) == list(tm.state_dict())
    assert repr(m) == repr(tm)
    x = rng.standard_normal(shape).astype(np.float32)
    state = _initial(name, m, shape, rng) if with_state else ()
    xs, hs, out, finals = _run_vj(name, m, x, state)
    txs, ths, tout, tfinals = _run_torch(torch, name, tm, x, state)
    assert [tuple(o.shape) for o in (out, *finals)] == [tuple(o.shape) for o in (tout, *tfinals)]
    assert out.dtype == np.float32
    # read together: one forward program (a separate read would compile another)
    values = vj.cat([o.detach().reshape(-1) for o in (out, *finals)]).numpy()
    expected = np.concatenate([o.detach().numpy().reshape(-1) for o in (tout, *tfinals)])
    assert_close(values, expected, rtol=1e-4, atol=1e-5)
    weights = [rng.standard_normal(tuple(o.shape)).astype(np.float32) for o in (out, *finals)]
    loss = sum((o * vj.tensor(w)).sum() for o, w in zip((out, *finals), weights))
    tloss = sum((o * torch.tensor(w)).sum() for o, w in zip((tout, *tfinals), weights))
    loss.backward()
    tloss.backward()
    for a, b in zip([xs, *hs], [txs, *ths]):
        assert_close(a.grad.numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-5)
    tparams = dict(tm.named_parameters())
    for k, p in m.named_parameters():
        assert_close(p.grad.numpy(), tparams[k].grad.numpy(), rtol=1e-4, atol=1e-5, msg=k)


@pytest.mark.parametrize(
    "name,batched", [("RNNCell", True), ("LSTMCell", False), ("GRUCell", True)]
)
def test_cells_match_torch(torch, rng, name, batched):
    vj.manual_seed(1)
    m = getattr(nn, name)(3, 4)
    tm = _load(torch, m, getattr(torch.nn, name)(3, 4))
    assert repr(m) == repr(tm) and list(m.state_dict()) == list(tm.state_dict())
    shape = (2, 3) if batched else (3,)
    x = rng.standard_normal(shape).astype(np.float32)
    h = rng.standard_normal(shape[:-1] + (4,)).astype(np.float32)
    lstm = name == "LSTMCell"
    xs, hs = vj.tensor(x, requires_grad=True), vj.tensor(h, requires_grad=True)
    txs, ths = _t(torch, x, True), _t(torch, h, True)
    out = m(xs, (hs, hs * 2) if lstm else hs)
    tout = tm(txs, (ths, ths * 2) if lstm else ths)
    outs, touts = (out, tout) if lstm else ((out,), (tout,))
    for o, t in zip(outs, touts):
        assert tuple(o.shape) == tuple(t.shape)
        assert_close(o.detach().numpy(), t.detach().numpy(), rtol=1e-5, atol=1e-6)
    sum((o * (i + 1)).sum() for i, o in enumerate(outs)).backward()
    sum((o * (i + 1)).sum() for i, o in enumerate(touts)).backward()
    assert_close(xs.grad.numpy(), txs.grad.numpy(), rtol=1e-5, atol=1e-6)
    assert_close(hs.grad.numpy(), ths.grad.numpy(), rtol=1e-5, atol=1e-6)
    tparams = dict(tm.named_parameters())
    for k, p in m.named_parameters():
        assert_close(p.grad.numpy(), tparams[k].grad.numpy(), rtol=1e-5, atol=1e-6, msg=k)
    assert tuple(m(xs).shape if not lstm else m(xs)[0].shape) == shape[:-1] + (4,)  # hx=None


def test_recurrent_reprs_and_keys_match_torch(torch):
    for name, kw in [("RNN", dict(num_layers=2, bias=False, batch_first=True, dropout=0.5,
                                   bidirectional=True)), ("LSTM", dict(proj_size=2)),
                     ("RNN", dict(nonlinearity="relu")), ("GRU", dict(num_layers=3))]:  # fmt: skip
        m, tm = getattr(nn, name)(3, 4, **kw), getattr(torch.nn, name)(3, 4, **kw)
        assert repr(m) == repr(tm)
        assert {k: tuple(v.shape) for k, v in m.state_dict().items()} == {
            k: tuple(v.shape) for k, v in tm.state_dict().items()
        }
    for name in ("RNNCell", "LSTMCell", "GRUCell"):
        assert repr(getattr(nn, name)(3, 4, bias=False)) == repr(
            getattr(torch.nn, name)(3, 4, bias=False)
        )
    assert repr(nn.RNNCell(3, 4, nonlinearity="relu")) == repr(
        torch.nn.RNNCell(3, 4, nonlinearity="relu")
    )


def test_default_init_is_uniform_in_bound():
    vj.manual_seed(0)
    m = nn.LSTM(3, 16, num_layers=2)
    for _, p in m.named_parameters():
        v = p.detach().numpy()
        assert np.abs(v).max() <= 0.25 and np.abs(v).max() > 0.2  # bound 1/sqrt(16)


def _np_gru(x, h, w_ih, w_hh, b_ih, b_hh):
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    outs = []
    for xt in x:
        xr, xz, xn = np.split(xt @ w_ih.T + b_ih, 3, -1)
        hr, hz, hn = np.split(h @ w_hh.T + b_hh, 3, -1)
        r, z = sig(xr + hr), sig(xz + hz)
        n = np.tanh(xn + r * hn)
        h = (1 - z) * n + z * h
        outs.append(h)
    return np.stack(outs), h


def test_gru_matches_numpy_formula_and_records_one_op(rng):
    vj.manual_seed(2)
    m = nn.GRU(3, 4)
    x = rng.standard_normal((6, 2, 3)).astype(np.float32)
    out, h = m(vj.tensor(x))
    p = {k: v.detach().numpy() for k, v in m.state_dict().items()}
    ref_out, ref_h = _np_gru(x, np.zeros((2, 4), np.float32), p["weight_ih_l0"],
                             p["weight_hh_l0"], p["bias_ih_l0"], p["bias_hh_l0"])  # fmt: skip
    assert_close(out.detach().numpy(), ref_out, rtol=1e-5, atol=1e-6)
    assert_close(h.detach().numpy(), ref_h[None], rtol=1e-5, atol=1e-6)
    assert out.grad_fn.name() == "CudnnRnnBackward0"  # the whole time loop: one node


def test_rnn_gradient_matches_jax_grad(rng):
    vj.manual_seed(3)
    m = nn.RNN(2, 3)
    x = rng.standard_normal((5, 1, 2)).astype(np.float32)
    w_ih, w_hh, b_ih, b_hh = (v.detach().numpy() for v in m.state_dict().values())

    def loss(w_hh):
        h = jnp.zeros((1, 3))
        total = 0.0
        for xt in x:
            h = jnp.tanh(xt @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
            total = total + (h**2).sum()
        return total

    out, _ = m(vj.tensor(x))
    (out**2).sum().backward()
    assert_close(
        m.weight_hh_l0.grad.numpy(),
        jax.jit(jax.grad(loss))(jnp.asarray(w_hh)),
        rtol=1e-4,
        atol=1e-5,
    )


def test_dropout_between_layers_only_in_training():
    vj.manual_seed(4)
    m = nn.RNN(3, 4, num_layers=2, dropout=0.5)
    x = vj.randn(5, 2, 3)
    a = m(x)[0].detach().numpy()
    m.eval()
    b = m(x)[0].detach().numpy()
    assert not np.allclose(a, b)  # the training output was masked between the layers
    m.dropout = 0.0
    m.train()
    assert_close(m(x)[0].detach().numpy(), b)  # eval: as without dropout


def test_lstm_training_step_under_jit_equals_imperative(rng):
    x = vj.tensor(rng.standard_normal((2, 4, 3)).astype(np.float32))
    y = vj.tensor(rng.standard_normal((2, 4, 4)).astype(np.float32))

    def make():
        vj.manual_seed(5)
        model = nn.LSTM(3, 4, batch_first=True)
        opt = vj.optim.SGD(model.parameters(), lr=0.1)

        def step(x, y):
            opt.zero_grad()
            loss = F.mse_loss(model(x)[0], y)
            loss.backward()
            opt.step()
            return loss

        return model, step

    m1, step1 = make()
    m2, step2 = make()
    jstep = vj.jit(step2)
    for _ in range(2):
        l1, l2 = step1(x, y), jstep(x, y)
        assert_close(l1.item(), l2.item(), rtol=1e-5)
    for (k, p1), p2 in zip(m1.named_parameters(), m2.parameters()):
        assert_close(p1.detach().numpy(), p2.detach().numpy(), rtol=1e-5, atol=1e-6, msg=k)


def test_recurrent_errors():
    m = nn.LSTM(3, 4)
    with pytest.raises(
        RuntimeError, match=r"input.size\(-1\) must be equal to input_size. Expected 3, got 5"
    ):
        m(vj.zeros(2, 2, 5))
    with pytest.raises(ValueError, match="LSTM: Expected input to be 2D or 3D, got 4D"):
        m(vj.zeros(1, 2, 2, 3))
    with pytest.raises(
        RuntimeError, match=r"Expected hidden\[0\] size \(1, 2, 4\), got \[2, 2, 4\]"
    ):
        m(vj.zeros(2, 2, 3), (vj.zeros(2, 2, 4), vj.zeros(2, 2, 4)))
    with pytest.raises(RuntimeError, match="For unbatched 2-D input, hx and cx should also be 2-D"):
        m(vj.zeros(2, 3), (vj.zeros(1, 2, 4), vj.zeros(1, 2, 4)))
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(1, 2, 4\), got \[2, 2, 4\]"):
        nn.GRU(3, 4)(vj.zeros(2, 2, 3), vj.zeros(2, 2, 4))
    with pytest.raises(
        RuntimeError, match="input must have the type varjax.float32, got type varjax.int32"
    ):
        m(vj.zeros(2, 2, 3, dtype=vj.int32))
    with pytest.raises(TypeError, match="hidden_size should be of type int"):
        nn.GRU(3, 4.0)
    with pytest.raises(ValueError, match="Unknown nonlinearity 'foo'"):
        nn.RNN(3, 4, nonlinearity="foo")
    with pytest.raises(ValueError, match="dropout should be a number in range"):
        nn.GRU(3, 4, dropout=2)
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.RNN(3, 4, dropout=0.5)
    with pytest.raises(RuntimeError, match="input has inconsistent input_size: got 5 expected 3"):
        nn.GRUCell(3, 4)(vj.zeros(2, 5))
    with pytest.raises(ValueError, match="LSTMCell: Expected input to be 1D or 2D, got 3D"):
        nn.LSTMCell(3, 4)(vj.zeros(1, 2, 3))
    with pytest.raises(
        RuntimeError, match="hidden0 has inconsistent hidden_size: got 5, expected 4"
    ):
        nn.RNNCell(3, 4)(vj.zeros(2, 3), vj.zeros(2, 5))
    with pytest.raises(RuntimeError, match="Input batch size 2 doesn't match hidden1 batch size 3"):
        nn.LSTMCell(3, 4)(vj.zeros(2, 3), (vj.zeros(2, 4), vj.zeros(3, 4)))
    with pytest.raises(ValueError, match="RNN: Expected input to be 2D or 3D, got 1D tensor"):
        nn.RNN(3, 4)(vj.zeros(3))
    with pytest.raises(RuntimeError, match=r"LSTM expects hx as a tuple \(h_0, c_0\)"):
        m(vj.zeros(2, 2, 3), vj.zeros(1, 2, 4))


# -- normalization ------------------------------------------------------------------------------


def _compare(torch, vj_fn, torch_fn, x, params=(), rtol=1e-5, atol=1e-5):
    """Forward and gradients (input and ``params``, pairs of varjax/torch tensors)."""
    xs, txs = vj.tensor(x, requires_grad=True), _t(torch, x, True)
    out, tout = vj_fn(xs), torch_fn(txs)
    assert tuple(out.shape) == tuple(tout.shape) and out.dtype == np.float32
    assert_close(out.detach().numpy(), tout.detach().numpy(), rtol=rtol, atol=atol)
    w = np.random.default_rng(7).standard_normal(tuple(out.shape)).astype(np.float32)
    (out * vj.tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    assert_close(xs.grad.numpy(), txs.grad.numpy(), rtol=rtol, atol=atol)
    for p, tp in params:
        assert_close(p.grad.numpy(), tp.grad.numpy(), rtol=rtol, atol=atol)


def _module_pair(torch, name, *args, **kwargs):
    m = getattr(nn, name)(*args, **kwargs)
    tm = getattr(torch.nn, name)(*args, **kwargs)
    with vj.no_grad():  # non-trivial affine parameters
        for p in m.parameters():
            p.copy_(vj.randn(*p.shape))
    _load(torch, m, tm)
    assert repr(m) == repr(tm)
    assert list(m.state_dict()) == list(tm.state_dict())
    tparams = dict(tm.named_parameters())
    return m, tm, [(p, tparams[k]) for k, p in m.named_parameters()]


NORM_CASES = [
    ("GroupNorm", (2, 4), {}, (3, 4, 5)),
    ("GroupNorm", (4, 4), dict(affine=False), (2, 4, 2, 3)),
    ("GroupNorm", (1, 4), dict(bias=False), (2, 4)),
    ("InstanceNorm1d", (3,), dict(affine=True), (3, 5)),  # unbatched
    ("InstanceNorm2d", (3,), dict(affine=True), (2, 3, 4, 4)),
    ("InstanceNorm3d", (2,), dict(affine=True, bias=False), (2, 2, 3, 2, 2)),
    ("RMSNorm", (5,), {}, (2, 3, 5)),
    ("RMSNorm", ((3, 5),), dict(eps=1e-3), (2, 3, 5)),
    ("LocalResponseNorm", (3,), {}, (2, 5, 4)),
    ("LocalResponseNorm", (2,), dict(alpha=0.1, beta=0.5, k=2.0), (2, 4, 3, 3)),
    ("LocalResponseNorm", (4,), dict(alpha=1.0), (1, 6, 2, 2, 2)),
    ("BatchNorm3d", (3,), dict(bias=False), (2, 3, 2, 2, 2)),
]


@pytest.mark.parametrize("name,args,kwargs,shape", NORM_CASES)
def test_norm_modules_match_torch(torch, rng, name, args, kwargs, shape):
    vj.manual_seed(6)
    m, tm, params = _module_pair(torch, name, *args, **kwargs)
    x = (rng.standard_normal(shape) * 2 + 1).astype(np.float32)
    _compare(torch, m, tm, x, params, rtol=1e-4, atol=1e-5)


STATS_CASES = [("InstanceNorm1d", (3, 2, 5)), ("InstanceNorm2d", (2, 2, 3, 3)),
               ("BatchNorm3d", (2, 2, 2, 3, 2))]  # fmt: skip


@pytest.mark.parametrize("name,shape", STATS_CASES)
def test_running_stats_and_eval_mode_match_torch(torch, rng, name, shape):
    kw = dict(affine=True, track_running_stats=True) if "Instance" in name else {}
    m, tm, params = _module_pair(torch, name, 2, **kw)
    for _ in range(2):  # training updates the running stats
        x = rng.standard_normal(shape).astype(np.float32) * 3 + 2
        _compare(torch, m, tm, x, params, rtol=1e-4, atol=1e-5)
    tbuf = dict(tm.named_buffers())
    for k, b in m.named_buffers():
        assert_close(b.numpy(), tbuf[k].numpy(), rtol=1e-5, atol=1e-6, msg=k)
    m.eval(), tm.eval()
    x = rng.standard_normal(shape).astype(np.float32)
    _compare(torch, m, tm, x, params, rtol=1e-4, atol=1e-5)


def test_functional_norms_match_torch(torch, rng):
    x = rng.standard_normal((2, 4, 6)).astype(np.float32)
    w, b = rng.standard_normal(4).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    vw, vb, tw, tb = (
        vj.tensor(w, requires_grad=True),
        vj.tensor(b, requires_grad=True),
        _t(torch, w, True),
        _t(torch, b, True),
    )
    tf = torch.nn.functional
    _compare(torch, lambda v: F.group_norm(v, 2, vw, vb, 1e-3),
             lambda t: tf.group_norm(t, 2, tw, tb, 1e-3), x, [(vw, tw), (vb, tb)])  # fmt: skip
    rm, rv = vj.zeros(4), vj.ones(4)
    trm, trv = torch.zeros(4), torch.ones(4)
    _compare(torch, lambda v: F.instance_norm(v, rm, rv, momentum=0.3),
             lambda t: tf.instance_norm(t, trm, trv, momentum=0.3), x)  # fmt: skip
    assert_close(rm.numpy(), trm.numpy(), atol=1e-6)
    assert_close(rv.numpy(), trv.numpy(), rtol=1e-5)
    _compare(torch, lambda v: F.instance_norm(v, rm, rv, use_input_stats=False),
             lambda t: tf.instance_norm(t, trm, trv, use_input_stats=False), x)  # fmt: skip
    _compare(torch, lambda v: F.rms_norm(v, (6,)), lambda t: tf.rms_norm(t, (6,)), x * 1e-3)
    _compare(
        torch,
        lambda v: F.local_response_norm(v, 3, 0.5),
        lambda t: tf.local_response_norm(t, 3, 0.5),
        x,
    )


def test_norms_match_numpy_formulas(rng):
    x = rng.standard_normal((2, 6, 3)).astype(np.float64)
    g = x.reshape(2, 3, -1)
    ref = ((g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + 1e-5)).reshape(
        x.shape
    )
    assert_close(
        F.group_norm(vj.tensor(x.astype(np.float32)), 3).numpy(), ref, rtol=1e-4, atol=1e-5
    )
    eps = float(np.finfo(np.float32).eps)
    ref = x / np.sqrt((x**2).mean(-1, keepdims=True) + eps)
    assert_close(F.rms_norm(vj.tensor(x.astype(np.float32)), 3).numpy(), ref, rtol=1e-5)
    sq = np.pad(x**2, ((0, 0), (1, 1), (0, 0)))
    div = (1.0 + 0.2 * (sq[:, :-2] + sq[:, 1:-1] + sq[:, 2:]) / 3) ** 0.75
    assert_close(
        F.local_response_norm(vj.tensor(x.astype(np.float32)), 3, alpha=0.2).numpy(),
        x / div,
        rtol=1e-5,
    )
    inst = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    assert_close(
        nn.InstanceNorm1d(6)(vj.tensor(x.astype(np.float32))).numpy(), inst, rtol=1e-4, atol=1e-5
    )


def test_rms_norm_gradient_matches_jax_grad(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    w = rng.standard_normal(4).astype(np.float32)

    def f(x, w):
        return jnp.sum(jnp.sin(x * jax.lax.rsqrt((x * x).mean(-1, keepdims=True) + 1e-6) * w))

    ref = jax.grad(f, (0, 1))(x, w)
    xs, ws = vj.tensor(x, requires_grad=True), vj.tensor(w, requires_grad=True)
    F.rms_norm(xs, (4,), ws, 1e-6).sin().sum().backward()
    assert_close(xs.grad.numpy(), ref[0], rtol=1e-5, atol=1e-6)
    assert_close(ws.grad.numpy(), ref[1], rtol=1e-5, atol=1e-6)


def test_group_norm_under_jit_equals_imperative(rng):
    vj.manual_seed(8)
    model = nn.Sequential(nn.GroupNorm(2, 4), nn.RMSNorm(3))
    x = vj.tensor(rng.standard_normal((2, 4, 3)).astype(np.float32))
    step = vj.jit(lambda x: (model(x) ** 2).sum())
    assert_close(step(x).item(), (model(x) ** 2).sum().item(), rtol=1e-5)


def test_norm_errors():
    with pytest.raises(
        ValueError, match=r"num_channels \(4\) must be divisible by num_groups \(3\)"
    ):
        nn.GroupNorm(3, 4)
    with pytest.raises(RuntimeError, match="Expected number of channels in input to be divisible"):
        F.group_norm(vj.zeros(2, 6, 3), 4)
    with pytest.raises(RuntimeError, match="Expected weight to be a vector of size equal"):
        nn.GroupNorm(2, 4)(vj.zeros(2, 6, 3))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        nn.InstanceNorm1d(3)(vj.zeros(2, 3, 4, 5))
    with pytest.raises(
        ValueError, match=r"expected input's size at dim=1 to match num_features \(3\)"
    ):
        nn.InstanceNorm1d(3, affine=True)(vj.zeros(2, 4, 5))
    with pytest.warns(UserWarning, match="does not match num_features"):
        nn.InstanceNorm1d(3)(vj.randn(2, 4, 5))
    with pytest.raises(ValueError, match="Expected more than 1 spatial element when training"):
        nn.InstanceNorm1d(3)(vj.zeros(2, 3, 1))
    with pytest.raises(ValueError, match="Expected 3D or higher dimensionality"):
        F.local_response_norm(vj.zeros(2, 3), 2)
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[4\]"):
        F.rms_norm(vj.zeros(2, 3), (4,))
    with pytest.raises(ValueError, match=r"expected 5D input \(got 3D input\)"):
        nn.BatchNorm3d(3)(vj.zeros(2, 3, 4))
