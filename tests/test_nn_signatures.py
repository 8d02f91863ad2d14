"""PyTorch's constructor and function arguments, accepted and honoured: every ``nn`` layer
and ``nn.functional`` function varjax shares with PyTorch takes PyTorch's parameters in
PyTorch's order (a positional argument lands where it does in PyTorch), including the
factory kwargs ``device``/``dtype``, ``inplace`` flags, ``bias=False`` of the norms and
``Embedding``'s ``max_norm``/``scale_grad_by_freq``; each checked against PyTorch."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from conftest import assert_close

import varjax as vj
import varjax.nn as nn
import varjax.nn.functional as F


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _params(f):
    try:
        return list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):  # a builtin without a signature
        return None


def _positional(ps) -> list[str]:
    return [p.name for p in ps if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _mismatches(ours_module, torch_module, classes: bool) -> list:
    found = []
    for name in sorted(set(dir(ours_module)) & set(dir(torch_module))):
        a, b = getattr(ours_module, name), getattr(torch_module, name)
        if name.startswith("_") or isinstance(a, type) != classes or not callable(b):
            continue
        if classes and not isinstance(b, type):
            continue
        pa, pb = _params(a), _params(b)
        if pa is None or pb is None or any(p.kind is p.VAR_POSITIONAL for p in pb):
            continue  # torch's (*args, **kwargs) wrappers say nothing
        missing = sorted({p.name for p in pb} - {p.name for p in pa} - {"_stacklevel"})
        theirs = [n for n in _positional(pb) if n != "_stacklevel"]
        ours = [n for n in _positional(pa) if n != "_stacklevel"][: len(theirs)]
        if missing or ours != theirs[: len(ours)]:
            found.append((name, missing, ours, theirs))
    return found


def test_every_shared_layer_takes_pytorchs_constructor_arguments(torch):
    assert _mismatches(nn, torch.nn, classes=True) == []


def test_every_shared_function_takes_pytorchs_arguments_in_order(torch):
    assert _mismatches(F, torch.nn.functional, classes=False) == []


def test_factory_kwargs_make_parameters_in_that_dtype(torch):
    x = np.random.default_rng(0).standard_normal((3, 4))
    for make in (lambda lib, **k: lib.nn.Linear(4, 2, **k),
                 lambda lib, **k: lib.nn.LayerNorm(4, **k),
                 lambda lib, **k: lib.nn.BatchNorm1d(4, **k)):  # fmt: skip
        ours, theirs = make(vj, dtype=vj.float64, device="cpu"), make(torch, dtype=torch.float64)
        theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
        for k, v in ours.state_dict().items():
            assert str(v.dtype).split(".")[-1] == str(theirs.state_dict()[k].dtype).split(".")[-1]
        out = ours(vj.tensor(x))
        assert out.dtype == vj.float64
        assert_close(out, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12, atol=1e-12)
    mha = nn.MultiheadAttention(4, 2, dtype=vj.float64)
    lstm = nn.LSTM(3, 5, dtype=vj.float64)
    assert {p.dtype for p in [*mha.parameters(), *lstm.parameters()]} == {vj.float64}


def test_inplace_relu_and_dropout_write_into_their_input(torch):
    x = np.array([-1.0, 0.5, 2.0], np.float32)
    for lib in (vj, torch):
        a = lib.tensor(x, requires_grad=True)
        h = a * 2
        out = lib.nn.ReLU(inplace=True)(h)
        assert out is h  # the same tensor, rebound to the result
        out.sum().backward()
        assert_close(np.asarray(out.detach().numpy()), np.maximum(2 * x, 0))
        assert_close(np.asarray(a.grad.numpy()), 2.0 * (x > 0))
        d = a * 1
        assert lib.nn.functional.dropout(d, 0.5, True, True) is d
        assert lib.nn.Dropout(0.5, inplace=True).eval()(d) is d
        leaf = lib.tensor(x, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf"):
            lib.nn.functional.relu(leaf, inplace=True)
    assert repr(nn.ReLU(inplace=True)) == repr(torch.nn.ReLU(inplace=True))
    assert repr(nn.Dropout(0.2, True)) == repr(torch.nn.Dropout(0.2, True))
    assert repr(nn.SiLU(inplace=True)) == repr(torch.nn.SiLU(inplace=True))


@pytest.mark.parametrize("make", [
    lambda lib: lib.nn.LayerNorm(5, bias=False),
    lambda lib: lib.nn.LayerNorm((2, 5), elementwise_affine=False),
    lambda lib: lib.nn.BatchNorm1d(5, bias=False),
    lambda lib: lib.nn.BatchNorm2d(5, affine=False),
    lambda lib: lib.nn.BatchNorm1d(5),
])  # fmt: skip
def test_norms_without_bias_match_pytorch(torch, make):
    ours, theirs = make(vj), make(torch)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    shape = (4, 2, 5) if isinstance(ours, nn.LayerNorm) else (4, 5, 3, 3)
    if isinstance(ours, nn.BatchNorm1d):
        shape = (4, 5)
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    a, b = vj.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (ours(a) ** 3).sum().backward()
    (theirs(b) ** 3).sum().backward()
    assert_close(a.grad, b.grad.numpy(), rtol=1e-4, atol=1e-5)
    for (k, p), q in zip(ours.named_parameters(), theirs.parameters()):
        assert_close(p.grad, q.grad.numpy(), rtol=1e-4, atol=1e-5, msg=k)


@pytest.mark.parametrize("kw", [
    dict(max_norm=1.0), dict(max_norm=0.5, norm_type=1.0), dict(scale_grad_by_freq=True),
    dict(scale_grad_by_freq=True, padding_idx=2, max_norm=1.5), dict(sparse=True),
])  # fmt: skip
def test_embedding_options_match_pytorch(torch, kw):
    vj.manual_seed(0)
    ours = nn.Embedding(6, 3, **kw)
    theirs = torch.nn.Embedding(6, 3, **kw)
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    assert repr(ours) == repr(theirs)
    idx = np.array([[0, 2, 2], [5, 2, 0]])
    cot = np.random.default_rng(2).standard_normal((2, 3, 3)).astype(np.float32)
    out, ref = ours(vj.tensor(idx)), theirs(torch.tensor(idx))
    assert_close(out, ref.detach().numpy(), rtol=1e-6, atol=1e-7)
    (out * vj.tensor(cot)).sum().backward()
    (ref * torch.tensor(cot)).sum().backward()
    grad = theirs.weight.grad
    assert_close(ours.weight.grad, (grad.to_dense() if grad.is_sparse else grad).numpy(),
                 rtol=1e-6, atol=1e-7)  # fmt: skip
    # max_norm renormalized the picked rows of the weight itself, in place
    assert_close(ours.weight, theirs.weight.detach().numpy(), rtol=1e-6, atol=1e-7)


def test_embedding_from_pretrained_is_frozen_unless_asked(torch):
    w = np.arange(12, dtype=np.float32).reshape(4, 3)
    ours, theirs = nn.Embedding.from_pretrained(vj.tensor(w)), torch.nn.Embedding.from_pretrained(
        torch.tensor(w))  # fmt: skip
    assert ours.weight.requires_grad is theirs.weight.requires_grad is False
    assert_close(ours(vj.tensor([3, 1])), theirs(torch.tensor([3, 1])).numpy())
    assert nn.Embedding.from_pretrained(vj.tensor(w), freeze=False).weight.requires_grad
    with pytest.raises(AssertionError, match="2-dimensional"):
        nn.Embedding.from_pretrained(vj.tensor(w[0]))


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_weighted_regression_losses_match_pytorch(torch, name, reduction):
    rng = np.random.default_rng(3)
    x, y, w = (rng.standard_normal((4, 3)).astype(np.float32) for _ in range(3))
    w = np.abs(w)
    a = vj.tensor(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    out = getattr(F, name)(a, vj.tensor(y), reduction=reduction, weight=vj.tensor(w))
    ref = getattr(torch.nn.functional, name)(b, torch.tensor(y), reduction=reduction,
                                             weight=torch.tensor(w))  # fmt: skip
    assert_close(out, ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    out.sum().backward()
    ref.sum().backward()
    assert_close(a.grad, b.grad.numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="same size"):
        getattr(F, name)(a, vj.tensor(y), weight=vj.tensor(w[0]))


def _method_mismatches(ours_cls, torch_cls) -> list:
    found = []
    for m in sorted(set(vars(torch_cls)) & set(dir(ours_cls))):
        a, b = getattr(ours_cls, m), getattr(torch_cls, m)
        if m.startswith("_") or not (callable(a) and callable(b)):
            continue
        pa, pb = _params(a), _params(b)
        if pa is None or pb is None or any(p.kind is p.VAR_POSITIONAL for p in pb):
            continue
        missing = sorted({p.name for p in pb if p.kind is not p.VAR_KEYWORD}
                         - {p.name for p in pa})  # fmt: skip
        theirs = _positional(pb)
        if missing or _positional(pa)[: len(theirs)] != theirs[: len(_positional(pa))]:
            found.append((m, missing))
    return found


def test_autograd_optim_and_data_take_pytorchs_arguments(torch):
    import torch.utils.data as data

    pairs = [(vj.optim, torch.optim), (vj.optim.lr_scheduler, torch.optim.lr_scheduler),
             (vj.utils.data, data), (nn.init, torch.nn.init), (nn.utils, torch.nn.utils),
             (vj.autograd, torch.autograd)]  # fmt: skip
    found = []
    for ours, theirs in pairs:
        found += [(theirs.__name__, *m) for m in _mismatches(ours, theirs, classes=True)]
        found += [(theirs.__name__, *m) for m in _mismatches(ours, theirs, classes=False)]
    found += _method_mismatches(nn.Module, torch.nn.Module)
    found += _method_mismatches(vj.optim.Optimizer, torch.optim.Optimizer)
    # torch.autograd.enable_grad's (orig_func) is its bare-decorator form, which varjax has
    assert [f for f in found if f[:2] != ("torch.autograd", "enable_grad")] == []


def test_grad_with_batched_cotangents_and_pytorchs_deprecated_arguments(torch):
    x0 = np.array([1.0, 2.0, 3.0], np.float32)
    x, t = vj.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    ours = vj.autograd.grad(x.sin() * x, x, vj.eye(3), is_grads_batched=True)[0]
    theirs = torch.autograd.grad(t.sin() * t, t, torch.eye(3), is_grads_batched=True)[0]
    assert tuple(ours.shape) == (3, 3)
    assert_close(ours, theirs.numpy(), rtol=1e-6, atol=1e-7)
    with pytest.warns(FutureWarning, match="only_inputs argument is deprecated"):
        g = vj.autograd.grad((x * x).sum(), x, None, None, False, False)[0]
    assert_close(g, 2 * x0)
    with pytest.warns(FutureWarning, match="grad_variables"):
        vj.autograd.backward([(x * 3).sum()], grad_variables=[vj.tensor(2.0)])
    assert_close(x.grad, np.full(3, 6.0))


def test_grad_mode_decorators_work_bare_as_in_pytorch():
    x = vj.ones(2, requires_grad=True)

    @vj.no_grad
    def f(x):
        return (x * 2).requires_grad

    @vj.enable_grad
    def g(x):
        return (x * 2).requires_grad

    @vj.inference_mode
    def h(x):
        return (x * 2).requires_grad

    assert f(x) is False and h(x) is False and f.__name__ == "f"
    with vj.no_grad():
        assert g(x) is True


def test_gradcheck_takes_pytorchs_options():
    x = vj.tensor([0.3, 1.2], dtype=vj.float64, requires_grad=True)
    f = lambda x: x.sin() * x  # noqa: E731
    assert vj.autograd.gradcheck(f, (x,), fast_mode=True, nondet_tol=1e-12,
                                 check_undefined_grad=True, check_grad_dtypes=True)  # fmt: skip
    assert vj.autograd.gradgradcheck(f, (x,), fast_mode=True, gen_non_contig_grad_outputs=True)
    with pytest.raises(NotImplementedError, match="check_forward_ad"):
        vj.autograd.gradcheck(f, (x,), check_forward_ad=True)
    hidden = lambda x: x.detach() * 2 + x * 0  # noqa: E731 - its true gradient (2) is hidden
    with pytest.raises(vj.autograd.GradcheckError):  # the check still runs under fast_mode
        vj.autograd.gradcheck(hidden, (x,), fast_mode=True)


@pytest.mark.parametrize("shape", [(4,), (2, 3), (2, 3, 4), (2, 2, 3, 2)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_softmax_without_dim_takes_pytorchs_implicit_dim(torch, name, shape):
    x = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
    for kw in ({}, {"dim": None}):
        with pytest.warns(UserWarning, match="Implicit dimension choice"):
            ours = getattr(F, name)(vj.tensor(x), **kw)
        with pytest.warns(UserWarning, match="Implicit dimension choice"):
            theirs = getattr(torch.nn.functional, name)(torch.tensor(x), **kw)
        assert_close(ours, theirs.numpy(), rtol=1e-5, atol=1e-6)


def test_a_none_dim_where_pytorch_needs_an_int_is_its_type_error(torch):
    x = vj.ones(2, 3)
    for f in (lambda t: t.softmax(None), lambda t: t.cumsum(None), lambda t: t.argsort(None)):
        with pytest.raises(TypeError, match="dim"):
            f(x)
        with pytest.raises(TypeError, match="dim"):
            f(torch.ones(2, 3))
