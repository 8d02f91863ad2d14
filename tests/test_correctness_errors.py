"""Errors that came late, unclear or not at all (issue 11, defects 11-17), and the bounds that
keep a hostile file or a shape sweep from exhausting memory. Where PyTorch has the behaviour,
each test runs the same program on PyTorch 2.13 too (when installed) and compares the error
type, or the values, gradients and dtypes."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import threading

import numpy as np
import pytest
from test_correctness import _np, both, both_raise, torch

import varjax as vj
import varjax.nn.functional as F
from varjax._config import Config

needs_torch = pytest.mark.skipif(torch is None, reason="needs torch (the oracle)")


def _functional(lib):
    return lib.nn.functional


# 11. sizes are checked where a tensor is created


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda lib: lib.randn(-2, 3), r"negative dimension -2: \[-2, 3\]"),
        (lambda lib: lib.rand(-2), r"negative dimension -2: \[-2\]"),
        (lambda lib: lib.ones(2, -1), r"negative dimension -1: \[2, -1\]"),
        (lambda lib: lib.full((2, -3), 1.0), r"negative dimension -3: \[2, -3\]"),
        (lambda lib: lib.ones(2).repeat(-1, 1), r"negative dimension -1: \[-1, 2\]"),
        (lambda lib: lib.nn.Linear(-1, 2), r"negative dimension -1: \[2, -1\]"),
    ],
)
def test_a_negative_size_is_an_error_at_the_call(make, message):
    both_raise(make, RuntimeError, message, message)


def test_a_size_that_is_not_an_int_is_a_type_error():
    both_raise(lambda lib: lib.zeros((2, 3.5)), TypeError, "float at pos 1")


# 12. varjax.jit: Variables a step stores on objects are written back, or an error says why


class _Recurrent:
    def __init__(self, lib):
        self.w = lib.tensor([1.0, 2.0], requires_grad=True)
        self.h = lib.zeros(2)


def _recurrent_steps(lib, compile_step):
    m = _Recurrent(lib)

    def step(x):
        h = m.w * x + m.h
        m.h = h.detach()  # truncated backpropagation through time
        loss = (h * h).sum()
        loss.backward()
        return loss

    step = compile_step(step)
    out = []
    for i in range(3):
        loss = step(lib.tensor([1.0, float(i)]))
        out += [loss.item(), _np(m.h), _np(m.w.grad)]
    return out


def test_jit_writes_back_a_variable_the_step_stores_on_an_object():
    expected = [1.0, [1, 0], [2, 0], 8.0, [2, 2], [6, 4], 45.0, [3, 6], [12, 28]]  # PyTorch
    made = []
    got = _recurrent_steps(vj, lambda f: made.append(vj.jit(f)) or made[0])
    assert made[0].cache_size() == 2  # before and after .grad exists; m.h never recompiles
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e)
    if torch is not None:  # PyTorch eager runs the same loop
        for g, t in zip(got, _recurrent_steps(torch, lambda f: f)):
            np.testing.assert_allclose(g, t)


class _RunningMean:
    """A buffer reassigned in forward, as custom normalisation layers do."""

    def __init__(self, lib):
        class Layer(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.register_buffer("avg", lib.zeros(2))

            def forward(self, x):
                self.avg = 0.5 * self.avg + 0.5 * x.mean(0)
                return (x * self.avg).sum()

        self.layer = Layer()


def test_jit_writes_back_a_reassigned_module_buffer():
    def run(lib, compile_step):
        m = _RunningMean(lib).layer
        step = compile_step(lambda x: m(x))
        xs = [lib.tensor([[1.0, 2.0], [3.0, 4.0]]) * (i + 1) for i in range(3)]
        return [[step(x).item(), *_np(m.avg)] for x in xs] + [list(dict(m.named_buffers()))]

    got = run(vj, vj.jit)
    assert got[-1] == ["avg"]  # still a buffer
    expected = [[13.0, 1.0, 1.5], [65.0, 2.5, 3.75], [165.75, 4.25, 6.375]]
    np.testing.assert_allclose(got[:-1], expected)
    if torch is not None:  # PyTorch eager runs the same loop
        np.testing.assert_allclose(got[:-1], run(torch, lambda f: f)[:-1])


def test_jit_refuses_to_store_a_graph_and_leaves_the_object_as_it_was():
    m = _Recurrent(vj)
    before = m.h

    @vj.jit
    def step(x):
        m.h = m.w * x  # has grad_fn: its graph cannot outlive the compiled call
        return m.h.sum()

    with pytest.raises(RuntimeError, match=r"stores a Variable with grad_fn=.* on _Recurrent\.h"):
        step(vj.ones(2))
    assert m.h is before


def test_jit_refuses_a_variable_appended_to_a_list():
    history = []
    w = vj.tensor([1.0, 2.0], requires_grad=True)

    @vj.jit
    def step(x):
        y = (w * x).detach()
        history.append(y)
        return y.sum()

    with pytest.raises(RuntimeError, match=r"in a container it can reach"):
        step(vj.ones(2))


class _Slotted:
    __slots__ = ("w",)  # no __dict__: the walk cannot see inside

    def __init__(self, w):
        self.w = w


def test_jit_names_the_users_line_for_a_variable_it_cannot_find():
    holder = _Slotted(vj.tensor([1.0, 2.0]))

    @vj.jit
    def step(x):
        return holder.w * x

    with pytest.raises(RuntimeError, match="did not find") as info:
        step(vj.ones(2))
    assert f'File "{__file__}"' in str(info.value)


# 13. host reads where JAX traces the code outside varjax.jit


class _ItemInForward(vj.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.s = x.sum().item()
        return x * ctx.s

    @staticmethod
    def backward(ctx, g):
        return g * ctx.s


def test_item_inside_a_function_is_a_clear_error_naming_the_line():
    x = vj.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"`.item\(\)` at .*ctx.s = x.sum\(\).item\(\).*Remedy"):
        _ItemInForward.apply(x)


def test_a_branch_inside_a_checkpointed_function_is_a_clear_error():
    from varjax.utils.checkpoint import checkpoint

    def block(x):
        return x * 2 if x.sum() > 0 else x

    with pytest.raises(RuntimeError, match=r"`bool\(\)`.*checkpointed function"):
        checkpoint(block, vj.tensor([1.0, 2.0], requires_grad=True), use_reentrant=False)


# 14. what PyTorch refuses, varjax refuses


@pytest.mark.parametrize(
    ("program", "message"),
    [
        (lambda lib: _functional(lib).conv2d(lib.ones(1, 1, 2, 2), lib.ones(1, 1, 3, 3)),
         r"Kernel size can't be greater than actual input size"),
        (lambda lib: _functional(lib).max_pool2d(lib.ones(1, 1, 2, 2), 3),
         r"Output size is too small"),
        (lambda lib: _functional(lib).avg_pool2d(lib.ones(1, 2, 2), 3),
         r"Output size is too small"),
        (lambda lib: _functional(lib).binary_cross_entropy(lib.tensor([1.5]), lib.tensor([1.0])),
         r"between 0 and 1"),
        (lambda lib: lib.linalg.inv(lib.tensor([[1.0, 2.0], [2.0, 4.0]])),
         r"The diagonal element 2 is zero"),
        (lambda lib: lib.linalg.inv(lib.tensor(np.array([np.eye(2), [[0, 0], [0, 1]]], "f"))),
         r"\(Batch element 1\): The diagonal element 1 is zero"),
    ],
)  # fmt: skip
def test_pytorchs_errors(program, message):
    both_raise(program, RuntimeError, message, message)


def test_sizes_that_fit_still_work():
    both(
        lambda lib: [
            _functional(lib).conv2d(lib.ones(1, 1, 2, 2), lib.ones(1, 1, 3, 3), padding=1).shape,
            _functional(lib).max_pool2d(lib.ones(1, 1, 2, 2), 3, padding=1).shape,
            _functional(lib).max_pool2d(lib.ones(1, 1, 5, 5), 2, ceil_mode=True).shape,
        ],
        [[1, 1, 2, 2], [1, 1, 1, 1], [1, 1, 3, 3]],
    )


def test_binary_cross_entropy_gradients_at_0_and_1_are_pytorchs():
    def program(lib):
        x = lib.tensor([1.0, 0.0, 0.5, 1e-3], requires_grad=True)
        y = lib.tensor([1.0, 1.0, 0.0, 0.3], requires_grad=True)
        loss = _functional(lib).binary_cross_entropy(x, y, reduction="none")
        loss.sum().backward()
        return [_np(loss), _np(x.grad), _np(y.grad)]

    got = program(vj)
    both(
        lambda lib: program(lib)[:2],
        [[0.0, 100.0, 0.693147, 2.073027], [0.0, -1e12, 2.0, -299.3]],
    )
    np.testing.assert_allclose(got[2], [-np.inf, np.inf, 0.0, 6.906755], rtol=1e-5)


def test_binary_cross_entropy_of_a_pending_value_outside_0_1_is_nan_not_a_number():
    p = vj.tensor([1.5, 0.5]) * 1  # pending: not computed just to check it
    assert np.isnan(F.binary_cross_entropy(p, vj.tensor([1.0, 0.0])).item())


def test_optimizer_settings_pytorch_refuses():
    for kw in ({"lr_decay": -1}, {"initial_accumulator_value": -1}):
        name = next(iter(kw))
        both_raise(
            lambda lib, kw=kw: lib.optim.Adagrad([lib.ones(1, requires_grad=True)], **kw),
            ValueError,
            f"Invalid {name} value: -1",
        )


def test_a_grad_of_another_dtype_or_type_is_an_error():
    def assign(value):
        def program(lib):
            x = lib.ones(2, requires_grad=True)
            x.grad = value(lib)

        return program

    both_raise(assign(lambda lib: lib.ones(2, dtype=lib.int32)), RuntimeError, "dtype varjax.int32")
    both_raise(assign(lambda lib: "a"), TypeError, "got grad of type str")
    x = vj.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError):
        x.grad = vj.ones(2, dtype=vj.int32)
    assert x.grad is None  # nothing was stored


@pytest.mark.parametrize(
    ("hook", "exc", "message"),
    [
        (lambda g: g.int(), RuntimeError, "has changed the type of value"),
        (lambda g: "a", TypeError, "hook '<lambda>' returned 'str'"),
        (lambda g: 3.0, TypeError, "hook '<lambda>' returned 'float'"),
    ],
)
def test_a_hook_that_returns_another_dtype_or_type_is_an_error(hook, exc, message):
    def program(lib):
        y = lib.ones(2, requires_grad=True)
        y.register_hook(hook)
        (y * 2).sum().backward()

    both_raise(program, exc, message, "hook" if exc is RuntimeError else "but hook returned")


# 15. messages, and results that differed


@pytest.mark.parametrize(
    ("program", "exc", "message"),
    [
        (lambda lib: lib.ones(2, 3)[1.5], IndexError, r"valid indices \(got float\)"),
        (lambda lib: lib.ones(2, 3)[lib.tensor([True, False, True])], IndexError,
         r"The shape of the mask \[3\] at index 0 does not match the shape of the indexed "
         r"tensor \[2, 3\] at index 0"),
        (lambda lib: lib.ones(2, 3)[lib.tensor([[True, False], [True, True]])], IndexError,
         r"mask \[2, 2\] at index 1 does not match"),
        (lambda lib: lib.ones(2, 3).scatter(0, lib.tensor([[0, 1, 0]])), TypeError, "scatter"),
        (lambda lib: lib.ones(2, 3).sum(1.5), TypeError, ""),
    ],
)  # fmt: skip
def test_clear_errors(program, exc, message):
    both_raise(program, exc, message, message if exc is IndexError else "")


def test_zero_dim_boolean_masks_index_a_new_dim():
    def program(lib):
        x = lib.arange(6.0).reshape(2, 3)
        t, f = lib.tensor(True), lib.tensor(False)
        shapes = [
            x[t].shape, x[f].shape, x[..., t].shape, x[0, f, 1:].shape,
            x[lib.tensor([True, False]), t].shape, x[lib.tensor([1]), f].shape,
            lib.tensor(3.0)[t].shape, lib.tensor(3.0)[f].shape,
        ]  # fmt: skip
        y, z, w = x.clone(), x.clone(), x.clone()
        y[t] = 7
        z[f] = 7
        w[lib.tensor([1]), t] = 9
        return [[list(s) for s in shapes], _np(y), _np(z), _np(w), _np(lib.tensor(3.0)[t])]

    got = program(vj)
    assert got[0] == [[1, 2, 3], [0, 2, 3], [2, 3, 1], [0, 2], [1, 3], [0, 3], [1], [0]]
    both(lambda lib: program(lib)[1:], [np.full((2, 3), 7.0), np.arange(6.0).reshape(2, 3),
                                        [[0, 1, 2], [9, 9, 9]], [3.0]])  # fmt: skip
    if torch is not None:
        assert program(torch)[0] == got[0]


def test_embedding_padding_idx_counts_from_the_end():
    def program(lib):
        w = lib.ones(4, 2, requires_grad=True)
        _functional(lib).embedding(lib.tensor([0, 3, 3]), w, padding_idx=-1).sum().backward()
        layer = lib.nn.Embedding(4, 2, padding_idx=-1)
        return [_np(w.grad), layer.padding_idx, _np(layer.weight[3])]

    both(program, [[[1.0, 1.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]], 3, [0.0, 0.0]])
    both_raise(
        lambda lib: _functional(lib).embedding(lib.tensor([0]), lib.ones(4, 2), padding_idx=4),
        AssertionError,
        "Padding_idx must be within num_embeddings",
    )


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (("ones", (2,), "float16"), ("tensor", 2.0, "float32"), "float16"),
        (("ones", (2,), "int32"), ("tensor", 2.0, "float32"), "float32"),
        (("ones", (2,), "int32"), ("tensor", 2.0, "float16"), "float16"),
        (("ones", (2,), "float16"), ("ones", (1,), "float32"), "float32"),
        (("ones", (2,), "float32"), ("tensor", 2, "int32"), "float32"),
        (("ones", (2,), "bool"), ("tensor", 1, "int32"), "int32"),
    ],
)
def test_zero_dim_tensors_promote_as_in_pytorch(a, b, expected):
    def make(lib, spec):
        kind, arg, dtype = spec
        dt = getattr(lib, dtype)
        return lib.ones(*arg, dtype=dt) if kind == "ones" else lib.tensor(arg, dtype=dt)

    def program(lib):
        x, y = make(lib, a), make(lib, b)
        ops = (lambda p, q: p * q, lambda p, q: q + p, lambda p, q: lib.where(p > 0, p, q))
        return [str(op(x, y).dtype).split(".")[-1] for op in ops]

    assert program(vj) == [expected] * 3
    if torch is not None:
        assert program(torch) == [expected] * 3


def test_zero_dim_promotion_keeps_the_gradient():
    x = vj.ones(2, dtype=vj.float16, requires_grad=True)
    s = vj.tensor(3.0, requires_grad=True)
    (x * s).sum().backward()
    assert x.grad.dtype == vj.float16 and s.grad.dtype == vj.float32
    np.testing.assert_allclose(_np(x.grad), [3.0, 3.0])
    np.testing.assert_allclose(_np(s.grad), 2.0)


def test_manual_seed_reaches_threads_started_later():
    vj.manual_seed(3)
    a = _np(vj.randn(3))
    vj.manual_seed(3)
    out = []
    t = threading.Thread(target=lambda: out.append(_np(vj.randn(3))))
    t.start()
    t.join()
    np.testing.assert_array_equal(out[0], a)


def test_threads_never_repeat_a_draw():
    vj.manual_seed(0)
    draws = []
    threads = [
        threading.Thread(target=lambda: draws.extend(_np(vj.rand(1)) for _ in range(20)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({float(d[0]) for d in draws}) == 80


# 16. varjax.load on hostile files


def _write(path, tensors=None, root=None, raw=None):
    """A safetensors file written byte by byte, so it can say anything."""
    header, data = {}, b""
    for name, (dtype, shape, buf) in (tensors or {}).items():
        header[name] = {
            "dtype": dtype,
            "shape": shape,
            "data_offsets": [len(data), len(data) + len(buf)],
        }
        data += buf
    meta = {"format": "pt"}
    if raw is not None or root is not None:
        meta["varjax"] = raw if raw is not None else json.dumps({"version": 1, "root": root})
    header["__metadata__"] = meta
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)
    return str(path)


def _nested(depth):
    return '{"version": 1, "root": ' + '{"list": [' * depth + '{"value": 1}' + "]}" * depth + "}"


def test_a_tensor_named_many_times_is_read_once(tmp_path):
    buf = np.arange(250_000, dtype=np.float32).tobytes()  # 1 MB
    path = _write(tmp_path / "f", {"w": ("F32", [250_000], buf)}, {"list": [{"tensor": "w"}] * 200})
    out = vj.load(path)
    assert len(out) == 200 and out[0] is not out[1]
    buffers = {v._node.value.unsafe_buffer_pointer() for v in out}
    assert len(buffers) == 1  # 1 MB held, not 200 MB
    out[0].add_(1)  # separate Variables: a write to one is not seen by another
    assert out[1][1].item() == 1.0 and out[0][1].item() == 2.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"raw": _nested(5000)}, "metadata is not JSON"),
        ({"raw": _nested(300)}, "nested deeper than 200 levels"),
        ({"raw": '{"version": 1, "root": {"value": ' + "9" * 5000 + "}}"}, "metadata is not JSON"),
        ({"root": {"dict": 5}}, r"unexpected node \{'dict': 5\}"),
        ({"root": {"tensor": ["w"]}}, "unexpected tensor name"),
        ({"tensors": {"w": ("F8_E4M3", [4], b"\0" * 4)}, "root": {"tensor": "w"}},
         "cannot load tensor 'w' .* dtype F8_E4M3"),
        ({"tensors": {"w": ("F32", [2**62, 1], b"")}, "root": {"tensor": "w"}},
         "not a valid safetensors file"),
    ],
)  # fmt: skip
def test_hostile_files_raise_a_clear_error_naming_the_file(tmp_path, kwargs, message):
    path = _write(tmp_path / "hostile.safetensors", **kwargs)
    with pytest.raises(RuntimeError, match=message) as info:
        vj.load(path)
    assert repr(path) in str(info.value)


def test_loading_a_directory_says_so(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a directory, not a file"):
        vj.load(tmp_path)


def test_saving_through_a_symlink_writes_its_target(tmp_path):
    target = tmp_path / "real.safetensors"
    vj.save({"w": vj.ones(2)}, target)
    link = tmp_path / "link.safetensors"
    link.symlink_to(target)
    vj.save({"w": vj.zeros(3)}, link)
    assert link.is_symlink()
    assert vj.load(target)["w"].shape == (3,)


def test_a_killed_saves_temporary_file_is_removed_by_the_next_save(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    stale = tmp_path / f".m.safetensors.{int(dead.stdout)}.0123456789abcdef.tmp"
    running = tmp_path / f".m.safetensors.{os.getpid()}.fedcba9876543210.tmp"
    other = tmp_path / ".n.safetensors.1.0123456789abcdef.tmp"
    for p in (stale, running, other):
        p.write_bytes(b"partial")
    vj.save({"w": vj.ones(2)}, tmp_path / "m.safetensors")
    assert not stale.exists()  # its process is gone
    assert running.exists() and other.exists()  # a save in progress; another file's
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [
        "m.safetensors"
    ]


# 17. the compile cache is bounded


@pytest.fixture
def small_cache():
    old = vj.config.max_cached_programs
    vj.config.max_cached_programs = 2
    vj.clear_caches()
    yield
    vj.config.max_cached_programs = old
    vj.clear_caches()


_ARANGE = np.arange(8, dtype=np.float32)


def _program_of_size(n):
    """One compiled program per n: the input is a leaf, the output is read."""
    return (vj.tensor(_ARANGE[:n]) * 2).sum().item()


def test_the_compile_cache_drops_the_least_recently_used_program(small_cache):
    for n in (1, 2, 1, 3):  # 1 is used again before 3 arrives: 2 is dropped
        assert _program_of_size(n) == n * (n - 1)
    s = vj.compile_stats()
    assert (s.compiles, s.evictions, s.cache_size) == (3, 1, 2)
    _program_of_size(1)
    assert vj.compile_stats().compiles == 3  # still held
    assert _program_of_size(2) == 2
    assert vj.compile_stats().compiles == 4  # compiled again, and correct
    assert vj.compile_stats().evictions == 2


def test_a_jit_functions_cache_is_bounded_too(small_cache):
    @vj.jit
    def f(x):
        return (x * 2).sum()

    for n in (1, 2, 3, 4):
        assert f(vj.ones(n)).item() == 2 * n
    assert f.cache_size() == 2
    assert vj.compile_stats().evictions >= 2


def test_the_default_bound_keeps_a_training_loops_programs(monkeypatch):
    monkeypatch.delenv("VARJAX_MAX_CACHED_PROGRAMS", raising=False)
    assert Config().max_cached_programs == 256 and "max_cached_programs=256" in repr(Config())
    monkeypatch.setenv("VARJAX_MAX_CACHED_PROGRAMS", "none")
    assert Config().max_cached_programs is None
