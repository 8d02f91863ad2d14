"""``x[mask]`` reduced right away (``x[x > t].sum()``, ``.mean()``): the reduction is fused into
``where(mask, x, 0)``, so a changing mask count compiles nothing new (issue 13's mask row).

Every value and gradient is compared with PyTorch; the fused path must be indistinguishable
from the gather it replaces, including where the selection itself is held, hooked or read."""

from __future__ import annotations

import numpy as np
import pytest

import varjax as vj

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(13)
X = RNG.standard_normal((5, 3)).astype(np.float32)


def _both(x_np: np.ndarray, requires_grad: bool = True):
    return (
        vj.tensor(x_np, requires_grad=requires_grad),
        torch.tensor(x_np, requires_grad=requires_grad),
    )


def _close(a, b, tol: float = 1e-5) -> None:
    a = a.numpy() if hasattr(a, "numpy") and not isinstance(a, np.ndarray) else a
    np.testing.assert_allclose(np.asarray(a), b.detach().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("reduce", ["sum", "mean"])
def test_changing_mask_counts_compile_nothing_new(reduce):
    x_np = RNG.standard_normal(203).astype(np.float32)  # a size nothing else uses
    counts = []
    for t in np.linspace(-1.2, 1.2, 6):
        x, xt = _both(x_np)
        before = vj.compile_stats().compiles
        out = getattr(x[x > float(t)], reduce)()
        out.backward()
        ref = getattr(xt[xt > float(t)], reduce)()
        ref.backward()
        _close(out.detach(), ref)
        _close(x.grad, xt.grad)
        counts.append(vj.compile_stats().compiles - before)
    assert sum(counts[2:]) == 0, counts  # six counts, one set of programs


def test_leading_dim_masks_and_masked_select():
    x, xt = _both(X)
    m = np.array([True, False, True, True, False])
    full = X > 0
    loss = x[m].mean() + x[full].sum() * 2 + x.masked_select(vj.tensor(full)).sum()
    ref = xt[m].mean() + xt[full].sum() * 2 + xt.masked_select(torch.tensor(full)).sum()
    loss.backward()
    ref.backward()
    _close(loss.detach(), ref)
    _close(x.grad, xt.grad)


def test_a_held_selection_keeps_its_own_gradient():
    x, xt = _both(X)
    m = X > 0.1
    s, st = x[m], xt[m]
    s.retain_grad()
    st.retain_grad()
    (s.sum() * 3).backward()
    (st.sum() * 3).backward()
    _close(s.grad, st.grad)
    _close(x.grad, xt.grad)
    (g,) = vj.autograd.grad(x[m].mean() + (x[m] ** 2).sum(), [x])
    (gt,) = torch.autograd.grad(xt[m].mean() + (xt[m] ** 2).sum(), [xt])
    _close(g, gt)


def test_grad_with_respect_to_the_selection_and_hooks_on_the_source():
    x, xt = _both(X)
    m = X < 0
    s, st = x[m], xt[m]
    (g,) = vj.autograd.grad(s.mean(), [s])
    (gt,) = torch.autograd.grad(st.mean(), [st])
    _close(g, gt)
    seen, seen_t = [], []
    x.register_hook(lambda g: seen.append(g.numpy()))
    xt.register_hook(lambda g: seen_t.append(g.numpy()))
    (x[m].sum() + x.sum()).backward()
    (xt[m].sum() + xt.sum()).backward()
    np.testing.assert_allclose(seen[0], seen_t[0])


def test_other_reductions_and_dims_take_the_gather():
    x, xt = _both(X)
    m = np.array([True, True, False, True, False])
    outs = [x[m].sum(0), x[m].mean(dim=1, keepdim=True), x[m].sum(dim=(0, 1), keepdim=True),
            x[m].amax(), x[m].prod()]  # fmt: skip
    refs = [xt[m].sum(0), xt[m].mean(dim=1, keepdim=True), xt[m].sum(dim=(0, 1), keepdim=True),
            xt[m].amax(), xt[m].prod()]  # fmt: skip
    for out, ref in zip(outs, refs):
        assert tuple(out.shape) == tuple(ref.shape)
        _close(out.detach(), ref)
    sum(o.sum() for o in outs).backward()
    sum(r.sum() for r in refs).backward()
    _close(x.grad, xt.grad)


def test_dtypes_and_empty_selections_match_pytorch():
    ints = RNG.integers(-5, 5, (4, 3)).astype(np.int32)
    a, at = vj.tensor(ints), torch.tensor(ints)
    got, want = a[a > 0].sum(), at[at > 0].sum()
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    assert got.item() == want.item()
    x, xt = _both(X)
    empty, empty_t = x[x > 100].sum(), xt[xt > 100].sum()
    assert empty.item() == empty_t.item() == 0
    assert np.isnan(x[x > 100].mean().item()) and np.isnan(xt[xt > 100].mean().item())
    (x[x > 100].sum() + x.sum()).backward()
    (xt[xt > 100].sum() + xt.sum()).backward()
    _close(x.grad, xt.grad)


def test_the_selection_sees_its_source_before_a_later_in_place_write():
    y = vj.tensor(X) * 1
    yt = torch.tensor(X) * 1
    m = X > 0
    total, total_t = y[m].sum(), yt[m].sum()
    kept, kept_t = y[m] * 2, yt[m] * 2  # a selection read by a pending value held elsewhere
    y.add_(5.0)
    yt.add_(5.0)
    _close(total, total_t)
    _close(kept, kept_t)
    _close(y[m].mean(), yt[m].mean())


def test_a_mask_of_the_wrong_shape_is_pytorchs_index_error():
    x, xt = _both(X)
    with pytest.raises(IndexError) as got:
        x[np.ones(4, bool)].sum()
    with pytest.raises(IndexError) as want:
        xt[torch.ones(4, dtype=torch.bool)].sum()
    assert "shape of the mask [4]" in str(got.value) and "shape of the mask [4]" in str(want.value)


def test_a_fused_mean_rewritten_in_place_and_read_again():
    # fuzz seed 30576: the mean's value is needed both inside backward's differentiated region
    # and as a forward value; each slot map defers (and fuses) the selection on its own
    outs = []
    for lib in (vj, torch):
        a = lib.tensor(X[:2], requires_grad=True)
        b = lib.tensor(X[2:4], requires_grad=True)
        m = a[a.detach() > -0.5].mean()
        m.zero_()
        w = lib.where(m.detach() > 0, m, b)
        m.retain_grad()
        (m.sum() + w.sum()).backward()
        outs.append([t.detach().numpy() for t in (a.grad, b.grad, m.grad, w)])
    for got, want in zip(*outs):
        np.testing.assert_allclose(got, want)
