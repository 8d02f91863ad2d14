"""Basic indexing with unit steps is a window whose offsets are program inputs (issue 13): a
loop over ``x[i * bs:(i + 1) * bs]`` or writing ``x[i] = v`` runs the same programs at every
offset, with PyTorch's values, gradients and storage sharing."""

from __future__ import annotations

import numpy as np
import pytest

import varjax as vj

try:
    import torch
except ImportError:  # pragma: no cover - depends on the machine
    torch = None

LIBS = [vj] + ([torch] if torch is not None else [])
X = np.arange(24, dtype=np.float32).reshape(4, 6)

KEYS = [
    (slice(1, 3),), (1,), (-1, slice(2, None)), (None, slice(1, 2), Ellipsis, None),
    (Ellipsis, 3), (slice(None), slice(-2, None)), (slice(5, None),), (slice(2, 1),), (1, 2),
    (slice(-100, 100), slice(1, -1)), (slice(None, None, 1), 0),
]  # fmt: skip


def _programs(lib):
    x = lib.tensor(X, requires_grad=True)
    outs = [x[k] for k in KEYS]
    total = sum((o * (i + 1)).sum() for i, o in enumerate(outs))
    total.backward()
    return [tuple(o.shape) for o in outs], [o.detach().numpy().tolist() for o in outs], (
        x.grad.numpy().tolist()
    )


def test_windows_give_pytorchs_values_shapes_and_gradients():
    shapes, values, grad = _programs(vj)
    assert shapes[:4] == [(2, 6), (6,), (4,), (1, 1, 6, 1)] and shapes[8] == ()
    oracle = np.zeros_like(X)  # NumPy's basic indexing: the same windows
    for i, k in enumerate(KEYS):
        assert values[i] == X[k].tolist()
        oracle[k] += i + 1
    assert grad == oracle.tolist()
    if torch is not None:
        assert (shapes, values, grad) == _programs(torch)


def test_a_loop_over_offsets_compiles_its_programs_once():
    x = vj.tensor(np.random.default_rng(0).standard_normal((40, 3)).astype(np.float32),
                  requires_grad=True)  # fmt: skip
    vj.clear_caches()
    for i in range(2):
        (x[i * 4 : (i + 1) * 4] ** 2).sum().backward()
    warm = vj.compile_stats().compiles
    for i in range(2, 10):
        (x[i * 4 : (i + 1) * 4] ** 2).sum().backward()
        x[i, 1].item()
    assert vj.compile_stats().compiles - warm <= 1  # x[i, 1] once, never per offset
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.detach().numpy(), rtol=1e-6)


def test_writes_through_windows_and_window_views_as_pytorch():
    def program(lib):
        y = lib.tensor(X.copy())
        for i in range(4):
            y[i, i] = -1.0  # a write at a new offset each time
        y[1:3, 2] = 7.5
        y[0] = lib.arange(6.0)
        view = y[2:4]
        view.mul_(2)  # writes back into y
        w = lib.zeros(3, 2, dtype=lib.long)
        w[1] = 9
        a = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        b = a * 1
        b[1:] = a[:2] * 2  # the gradient flows through the written window
        b.sum().backward()
        return [y.numpy().tolist(), view.numpy().tolist(), w.numpy().tolist(), a.grad.tolist()]

    got = program(vj)
    assert got[2] == [[0, 0], [9, 9], [0, 0]] and got[3] == [3.0, 2.0, 0.0]
    if torch is not None:
        assert got == program(torch)
    vj.clear_caches()
    v = vj.zeros(50)
    for i in range(50):
        v[i] = float(i)
    assert v.tolist() == [float(i) for i in range(50)]
    assert vj.compile_stats().compiles <= 4  # pending writes compile by chain length, bounded


@pytest.mark.parametrize("lib", LIBS, ids=lambda m: m.__name__)
def test_window_errors_are_pytorchs(lib):
    x = lib.ones(3, 4)
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 0 with size 3"):
        x[3]
    with pytest.raises(IndexError, match="too many indices"):
        x[0, 0, 0]
    with pytest.raises(RuntimeError):  # varjax: "shape mismatch: value tensor of shape [3] ..."
        x[0:2] = lib.ones(3)
    assert x.tolist() == [[1.0] * 4] * 3  # an error leaves the tensor as it was


def test_an_offset_passed_to_varjax_jit_is_not_baked_in():
    x = vj.tensor(np.arange(10.0, dtype=np.float32))

    @vj.jit
    def window_sum(x, i):
        return x[i : i + 2].sum()

    assert [window_sum(x, i).item() for i in (0, 3, 7)] == [1.0, 7.0, 15.0]


def test_a_loop_of_small_in_place_updates_runs_in_chunks_of_one_program():
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 5, 600), rng.integers(0, 5, 600)
    counts = vj.zeros((5, 5), dtype=vj.long)
    vj.clear_caches()
    for i in range(200):
        counts[int(a[i]), int(b[i])] += 1
    counts.sum().item()
    first = vj.compile_stats().compiles
    for i in range(200, 600):
        counts[int(a[i]), int(b[i])] += 1
    oracle = np.zeros((5, 5), np.int64)
    np.add.at(oracle, (a, b), 1)
    assert counts.tolist() == oracle.tolist()
    assert first <= 4 and vj.compile_stats().compiles - first <= 2  # chunks share programs


def test_gradients_through_a_chunked_chain_of_updates_are_pytorchs():
    def program(lib):
        x = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        y = x * 1
        for i in range(100):
            y[i % 3] = y[i % 3] * 1.01 + 0.001 * i
        (y * y).sum().backward()
        return y.detach().numpy().tolist(), x.grad.tolist()

    got = program(vj)
    want = program(torch) if torch is not None else None
    if want is not None:
        np.testing.assert_allclose(got[0], want[0], rtol=1e-5)
        np.testing.assert_allclose(got[1], want[1], rtol=1e-5)
    scale = 1.01 ** np.array([34, 33, 33])  # the oracle: each entry's updates, in closed form
    np.testing.assert_allclose(got[1], 2 * np.array(got[0]) * scale, rtol=1e-5)


@pytest.mark.skipif(torch is None, reason="PyTorch is the oracle")
def test_scalar_updates_through_a_view_match_pytorch():
    """``t[i, j] += v`` writes through the view once; the write back of the same view is a
    no-op (values, gradients and the version counter as in PyTorch)."""
    rng = np.random.default_rng(0)
    pairs = rng.integers(-3, 3, (40, 2)).tolist()

    def run(lib):
        w = lib.tensor(np.linspace(-1, 1, 9, dtype=np.float32).reshape(3, 3), requires_grad=True)
        t = w * 1.0
        counts = lib.zeros((3, 3), dtype=lib.int32)
        v0 = t._version
        for k, (i, j) in enumerate(pairs):
            t[i, j] += w[j, i] * (k % 3)
            t[i, j] *= 0.9
            counts[i, j] += 1
            counts[i] = counts[i]  # a whole-row view written back: no change either
        bumps = t._version - v0
        t.square().sum().backward()
        return t.detach().numpy(), w.grad.numpy(), counts.numpy(), bumps

    mine, theirs = run(vj), run(torch)
    for a, b in zip(mine[:3], theirs[:3]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert mine[3] == theirs[3]


def test_a_remembered_index_plan_is_per_shape_and_never_skips_a_bounds_check():
    a, b = vj.zeros(3, 4), vj.zeros(5, 2)
    a[2, 3] = 1.0
    b[2, 1] = 2.0
    assert a.sum().item() == 1.0 and b[2, 1].item() == 2.0 and tuple(b[2].shape) == (2,)
    for _ in range(2):  # the failed plan is not remembered: it raises every time
        with pytest.raises(IndexError, match="out of bounds"):
            b[2, 3] = 1.0
    with pytest.raises(IndexError, match="out of bounds"):
        b[-6]
    np.testing.assert_array_equal(a[-1, -1:].numpy(), [1.0])


@pytest.mark.skipif(torch is None, reason="PyTorch is the oracle")
def test_a_growing_sequence_gives_pytorchs_values_and_bounded_programs():
    """``idx = cat((idx, nxt), 1)`` step after step, cropped to the last ``block`` tokens: the
    sequence lives in a buffer with room, so the programs stop growing with it."""
    table = np.random.default_rng(1).standard_normal((11, 11)).astype(np.float32)

    def generate(lib, steps, block=4):
        emb = lib.nn.Embedding(11, 11)
        with lib.no_grad():
            emb.weight.copy_(lib.tensor(table))
            idx = lib.zeros((2, 1), dtype=lib.int64)
            idx[1, 0] = 3
            for _ in range(steps):
                logits = emb(idx[:, -block:])[:, -1, :]
                idx = lib.cat((idx, logits.argmax(-1, keepdim=True)), dim=1)
        return idx

    first = vj.compile_stats().compiles
    short = generate(vj, 20)
    middle = vj.compile_stats().compiles
    long = generate(vj, 30)  # within the same buffer capacity (64): nothing new to compile
    assert vj.compile_stats().compiles == middle and middle - first <= 12
    for mine, steps in ((short, 20), (long, 30)):
        theirs = generate(torch, steps)
        assert tuple(mine.shape) == tuple(theirs.shape) and mine.dtype == vj.int64
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    # the grown sequence is an ordinary tensor: writes, reads and joins as PyTorch's
    a, b = generate(vj, 30), generate(torch, 30)
    a[0, 5], b[0, 5] = 7, 7
    np.testing.assert_array_equal(vj.cat((a, a[:, :2]), 1).numpy(),
                                  torch.cat((b, b[:, :2]), 1).numpy())  # fmt: skip
    np.testing.assert_array_equal(short.numpy(), generate(torch, 20).numpy())  # not written


def test_joins_with_history_or_of_other_shapes_stay_plain_cats():
    x = vj.tensor([1.0, 2.0], requires_grad=True)
    y = vj.cat((vj.cat((x, x * 2)), x))  # with a gradient: a plain cat, PyTorch's grad_fn
    assert y.grad_fn.name() == "CatBackward0" and tuple(y.shape) == (6,)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 4.0])
    ids = vj.cat((vj.cat((vj.tensor([1]), vj.tensor([2]))), vj.tensor([3])))
    assert ids.tolist() == [1, 2, 3] and ids.is_contiguous()
    with pytest.raises(RuntimeError):
        vj.cat((vj.cat((vj.zeros(2, 1), vj.zeros(2, 1)), 1), vj.zeros(3, 1)), 1)
