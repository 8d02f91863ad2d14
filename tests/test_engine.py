"""The engine: lazy recording, materialization, the compile cache and its counters, memory,
and errors raised where the user recorded the op.
"""

from __future__ import annotations

import gc
import traceback
import weakref

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_close

import varjax as vj
from varjax._record import Node


def executions() -> int:
    s = vj.compile_stats()
    return s.compiles + s.cache_hits  # every compiled-program call is a compile or a hit


def test_recording_does_no_device_work():
    x = vj.tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    before = executions()
    y = ((x * 2 + 1).sin() @ vj.ones(3, 4)).relu().sum(0)
    assert executions() == before
    assert y._node.value is None and y.shape == (4,) and y.dtype == np.float32
    assert y.grad_fn.name() == "SumBackward1"  # PyTorch's sum.dim_IntList
    y.tolist()
    assert executions() == before + 1  # the whole pending segment ran as one program


@pytest.mark.parametrize(
    "read",
    [
        repr,
        str,
        lambda v: v.item(),
        lambda v: v.numpy(),
        float,
        bool,
        int,
        lambda v: v.tolist(),
        np.asarray,
        jnp.asarray,
    ],
    ids=[
        "repr",
        "str",
        "item",
        "numpy",
        "float",
        "bool",
        "int",
        "tolist",
        "__array__",
        "__jax_array__",
    ],
)
def test_every_read_materializes_once(read):
    x = vj.tensor([1.5])
    y = (x * 3).exp().log()  # pending
    before = executions()
    read(y)
    assert executions() == before + 1 and y._node.value is not None
    read(y)
    assert executions() == before + 1  # the value was stored back


def test_values_are_stored_back_so_loops_reuse_one_program():
    # The tutorial's loop: a comparison of .data used as the while condition.
    vj.clear_caches()
    x = vj.Variable(vj.tensor([0.3, -0.2, 0.1]), requires_grad=True)
    y = x * 2
    k = 1
    while y.data.norm() < 1000:
        y = y * 2
        k += 1
    assert k > 5
    # every test of the condition has the same structure: (pending y * 2) -> norm -> compare
    assert vj.compile_stats().compiles == 1
    y.backward(vj.FloatTensor([0.1, 1.0, 0.0001]))
    assert_close(x.grad.numpy(), 2.0**k * np.array([0.1, 1.0, 0.0001]))


def test_fixed_shape_loop_of_1000_iterations_compiles_at_most_twice():
    vj.clear_caches()
    vj.manual_seed(0)
    w = vj.tensor(np.linspace(-1, 1, 8, dtype=np.float32), requires_grad=True)
    for i in range(1000):
        noise = vj.randn(8)  # a fresh draw each iteration: an input, not a constant
        loss = ((w * (1.0 + i / 1000) + noise * 0.01).tanh() ** 2).mean()  # changing scalar
        loss.backward()
    # backward without and with an existing .grad to accumulate into
    assert vj.compile_stats().compiles <= 2
    # the accumulated gradient matches jax.grad summed over the same draws
    vj.manual_seed(0)
    keys = [vj.randn(8).numpy() for _ in range(1000)]
    f = lambda w, n, s: jnp.mean(jnp.tanh(w * s + n * 0.01) ** 2)
    g = jax.jit(jax.grad(f))
    w0 = jnp.linspace(-1, 1, 8, dtype=jnp.float32)
    expected = sum(np.asarray(g(w0, keys[i], 1.0 + i / 1000)) for i in range(1000))
    assert_close(w.grad.numpy(), expected, rtol=1e-4, atol=1e-5)


def test_changing_scalars_and_draws_hit_the_cache(mode):
    x = vj.tensor([1.0, 1.0, 1.0], requires_grad=True)
    counts = []
    for s in (0.5, 0.1, 2.0, -3.5, 7.0):
        x.grad = None
        ((x * s + vj.rand(3)).sum()).backward()
        assert_close(x.grad.numpy(), [s] * 3)
        counts.append(vj.compile_stats().compiles)
    # the first backward compiles; the second may too (its loss went unread, so this line
    # stops returning it); then scalars and draws change inputs, never the program
    assert counts[1:] == [counts[1]] * 4


def test_backward_returns_a_scalars_value_while_its_line_reads_it():
    """A loss's value comes out of the backward program (a loop logs it) while the line's
    values are read; after one went unread the line skips it, until one is read again."""
    vj.clear_caches()  # a new line follows the last decision made: start from none
    x = vj.tensor([0.5, 1.0, 2.0], requires_grad=True)
    f = lambda: (x.sin() * x).sum()
    expected = np.sum(np.sin([0.5, 1.0, 2.0]) * [0.5, 1.0, 2.0])
    for _ in range(3):  # read every time: one call per iteration, the value included
        x.grad = None
        loss = f()
        before = executions()
        loss.backward()
        assert loss._node.value is not None
        assert_close(loss.item(), expected)
        assert executions() == before + 1
    returned = []
    for i in range(5):  # never read at first: returned once, then skipped
        x.grad = None
        loss = f()
        loss.backward()
        returned.append(loss._node.value is not None)
        if i == 3:
            before = executions()
            assert_close(loss.item(), expected)  # a skipped value, computed on demand
            assert executions() == before + 1
    assert returned == [True, False, False, False, True]  # read once: returned again


def test_backward_skips_a_non_scalars_unread_value_until_it_is_read():
    x = vj.tensor([0.5, 1.0], requires_grad=True)
    f = lambda: x.sin() * x
    ones = vj.ones(2)
    for _ in range(2):
        x.grad = None
        f().backward(ones)
    before = executions()
    x.grad = None
    y = f()
    y.backward(ones)
    assert executions() == before + 1
    assert y._node.value is None  # not computed: nobody read it
    assert_close(y.detach().numpy(), np.sin([0.5, 1.0]) * [0.5, 1.0])  # computed on demand
    # Having been read once, the next backward of this program returns the value too,
    # so `y.backward(g); y.tolist()` is one compiled call per iteration.
    x.grad = None
    y = f()
    y.backward(ones)
    before = executions()
    y.tolist()
    assert executions() == before


def test_loop_without_backward_keeps_memory_bounded():
    x = vj.tensor(np.ones(4, np.float32), requires_grad=True)
    acc = vj.zeros(4)

    def live_nodes():
        gc.collect()
        return sum(1 for o in gc.get_objects() if type(o) is Node)

    base = live_nodes()
    for i in range(10_000):
        y = (x * i + 1).sin()  # a fresh graph each iteration, never differentiated
        with vj.no_grad():
            acc = acc * 0.5 + y  # a chain that is never read inside the loop
    assert live_nodes() - base < 2 * vj.config.max_pending_depth + 50
    expected = 0.0
    for i in range(10_000):
        expected = expected * 0.5 + np.sin(i + 1.0)
    assert_close(acc.numpy(), np.full(4, expected, np.float32), rtol=1e-4)


def test_nodes_never_keep_their_variables_alive():
    x = vj.ones(2, requires_grad=True)
    y = (x * 2).sin()
    z = y * y
    ref = weakref.ref(y)
    del y
    assert ref() is None  # no reference cycle: freed without the garbage collector
    z.sum().backward()
    assert_close(x.grad.numpy(), 4 * np.sin(2) * np.cos(2) * np.ones(2), rtol=1e-5)


def test_backward_releases_intermediate_values():
    x = vj.ones(3, requires_grad=True)
    z = (x * 2).sin() * 3
    z.tolist()  # materializes; the intermediate (x * 2) has no live Variable
    inner = z._node.inputs[0]
    z.sum().backward()
    assert inner.value is None and inner.freed
    assert z._node.value is not None  # what a user holds is kept


def test_errors_are_raised_at_the_recording_line():
    a, b = vj.ones(2, 3), vj.ones(5)
    before = executions()
    try:
        a * b  # the bad line
    except RuntimeError as e:
        frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == __file__]
        assert frames[-1].line == "a * b  # the bad line"
        assert "mul" in str(e) and "(2, 3)" in str(e) and "(5,)" in str(e)
    else:  # pragma: no cover
        pytest.fail("no error")
    assert executions() == before  # nothing ran: the error came from abstract evaluation


def test_eager_and_lazy_modes_give_the_same_numbers():
    rng = np.random.default_rng(1)
    w_np, x_np = rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal((5, 4))

    def run(eager):
        vj.config.eager = eager
        try:
            w = vj.tensor(w_np, requires_grad=True)
            x = vj.tensor(x_np.astype(np.float32))
            h = (x @ w).tanh()
            loss = (h * h).mean() + w.norm() * 0.1
            loss.backward()
            return loss.item(), w.grad.numpy()
        finally:
            vj.config.eager = False

    (l1, g1), (l2, g2) = run(False), run(True)
    assert_close(l1, l2, rtol=1e-6)
    assert_close(g1, g2, rtol=1e-6)
    f = lambda w: jnp.mean(jnp.tanh(x_np.astype(np.float32) @ w) ** 2) + 0.1 * jnp.linalg.norm(w)
    assert_close(g1, jax.grad(f)(w_np), rtol=1e-5)


def test_eager_mode_runs_each_op_at_once():
    vj.config.eager = True
    try:
        y = vj.ones(2) * 3
        assert y._node.value is not None
    finally:
        vj.config.eager = False


def test_compile_stats_and_clear_caches():
    vj.clear_caches()
    s = vj.compile_stats()
    assert (s.compiles, s.cache_hits, s.cache_size) == (0, 0, 0)
    x = vj.tensor([1.0, 2.0])
    (x * 2).tolist()
    (x * 3).tolist()
    s = vj.compile_stats()
    assert (s.compiles, s.cache_hits, s.cache_size, s.misses) == (1, 1, 1, 1)
    assert isinstance(s.compiles, int) and isinstance(s.cache_hits, int)
