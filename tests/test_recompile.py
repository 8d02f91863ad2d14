"""Recompile explanations, the recompile budget and the compile counters (issue 6).

Each scripted sequence below states, by hand, how many programs it must compile and reuse."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import varjax as vj


@pytest.fixture
def explain(caplog):
    vj.clear_caches()
    vj.config.explain_recompiles = True
    caplog.set_level(logging.WARNING, logger="varjax.recompile")
    yield caplog
    vj.config.explain_recompiles = False


def messages(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "varjax.recompile"]


W = vj.tensor([[1.0, 2.0]], requires_grad=True)


def backward_of(x):
    W.grad = None
    out = (x @ W.t()).sum()  # the op that reads x
    out.backward()  # the line that compiles
    return out.item()  # read: the backward keeps returning it (no program without it)


def test_shape_change_names_the_input_and_the_line_that_read_it(explain):
    backward_of(vj.tensor(np.ones((3, 2), np.float32)))
    backward_of(vj.tensor(np.ones((3, 2), np.float32)))  # same structure: no explanation
    assert messages(explain) == []
    backward_of(vj.tensor(np.ones((5, 2), np.float32)))
    (msg,) = messages(explain)
    assert "new backward program" in msg and "out.backward()" in msg
    assert "float32[5, 2] where that one had float32[3, 2]" in msg
    assert "read by 'matmul'" in msg and "out = (x @ W.t()).sum()" in msg
    assert os.path.basename(__file__) in msg


def test_dtype_change_names_the_op(explain):
    def total(x):
        return (x * 2).sum().item()

    total(vj.ones(3))
    total(vj.ones(3, dtype=vj.int32))
    (msg,) = messages(explain)
    assert "new forward program" in msg and "return (x * 2).sum().item()" in msg
    assert "'full' with {'dtype': dtype('int32')}" in msg and "float32" in msg
    assert "test_recompile.py" in msg


def test_structure_change_names_the_extra_op(explain):
    def run(extra):
        y = vj.tensor([1.0, 2.0]) * 3
        if extra:
            y = y.exp()
        return y.sum().item()

    run(False)
    run(True)
    (msg,) = messages(explain)
    assert "'exp'" in msg and "y = y.exp()" in msg


def test_varjax_jit_explains_a_new_batch_shape(explain):
    w = vj.tensor([1.0, 2.0], requires_grad=True)

    @vj.jit
    def step(x):
        return (x * w).sum()

    for n in (1, 1, 4):
        step(vj.tensor(np.ones((n, 2), np.float32)))
    jit_messages = [m for m in messages(explain) if "varjax.jit" in m]
    (msg,) = jit_messages
    assert "state Variable #0 (float32[4, 2]): was float32[1, 2]" in msg
    assert "step(vj.tensor(np.ones((n, 2), np.float32)))" in msg


def test_budget_warns_with_the_explanation():
    vj.clear_caches()
    budget = vj.config.max_recompiles
    vj.config.max_recompiles = 2
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for n in range(1, 21):
                vj.tensor(np.ones(n, np.float32)).exp().sum().item()
    finally:
        vj.config.max_recompiles = budget
    budget_warnings = [w for w in caught if issubclass(w.category, vj.RecompileWarning)]
    # past the budget, and then each time the line's count doubles: programs 3, 5, 9 and 17
    counts = [int(str(w.message).split("(program ")[1].split()[0]) for w in budget_warnings]
    assert counts == [3, 5, 9, 17]
    text = str(budget_warnings[0].message)
    assert "program 3 at this line" in text and "max_recompiles=2" in text
    assert "float32[3] where that one had float32[2]" in text
    assert "every new shape compiles a new program" in text and "bucket" in text
    assert budget_warnings[0].filename == __file__


def test_counters_are_exact_for_a_scripted_sequence():
    vj.clear_caches()
    assert vj.compile_stats() == vj.CompileStats(0, 0, 0, 0.0)
    x = vj.tensor([1.0, 2.0])
    (x * 2).sum().item()  # a forward program: compile 1
    (x * 2).sum().item()  # the same: hit 1
    (x * 3).sum().item()  # a new scalar is an input, not a new program: hit 2
    (x.exp()).sum().item()  # another program: compile 2
    w = vj.tensor([1.0, 2.0], requires_grad=True)
    (w * x).sum().backward()  # a backward program: compile 3
    (w * x).sum().backward()  # now it also reads the .grad to accumulate into: compile 4
    (w * x).sum().backward()  # hit 3
    stats = vj.compile_stats()
    assert (stats.compiles, stats.misses, stats.cache_hits) == (4, 4, 3)
    assert stats.cache_size == 4 and stats.compile_seconds > 0
    vj.clear_caches()
    assert vj.compile_stats() == vj.CompileStats(0, 0, 0, 0.0)


def test_a_loop_that_reads_and_branches_every_iteration_stops_compiling():
    """Reading loss.item() and branching on it each iteration keeps hitting the cache."""
    w = vj.tensor([1.0, 2.0], requires_grad=True)
    x = vj.tensor([0.5, -0.3])
    for i in range(1000):
        loss = ((w * x).sum() - 1.0) ** 2
        if loss.item() > 1e9:  # a branch on a value, every iteration
            break
        loss.backward()
        with vj.no_grad():
            w -= 0.1 * w.grad
        w.grad.zero_()
        if i == 9:
            settled = vj.compile_stats().compiles
    assert vj.compile_stats().compiles == settled
    assert abs(loss.item()) < 1e-6  # and the loop did its job


def test_environment_variables_turn_explanations_and_the_budget_on():
    script = (
        "import numpy as np, varjax as vj\n"
        "assert vj.config.explain_recompiles and vj.config.max_recompiles == 3\n"
        "for n in (1, 2):\n"
        "    vj.tensor(np.ones(n, np.float32)).exp().sum().item()\n"
    )
    env = dict(os.environ, VARJAX_EXPLAIN_RECOMPILES="1", VARJAX_MAX_RECOMPILES="3")
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "float32[2] where that one had float32[1]" in out.stderr


def test_programs_go_through_jax_persistent_compilation_cache(tmp_path):
    script = (
        "import jax, numpy as np, varjax as vj\n"
        f"jax.config.update('jax_compilation_cache_dir', {str(tmp_path)!r})\n"
        "jax.config.update('jax_persistent_cache_min_compile_time_secs', 0)\n"
        "w = vj.tensor(np.ones(3, np.float32), requires_grad=True)\n"
        "(w.exp() * 2).sum().backward()\n"
        "print(w.grad.tolist())\n"
    )
    for _ in range(2):  # the second process reads the programs the first one wrote
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stderr
        grads = [float(v) for v in out.stdout.strip().strip("[]").split(",")]
        np.testing.assert_allclose(grads, [2 * np.e] * 3, rtol=1e-6)
    assert any(tmp_path.iterdir())  # compiled programs were written to the cache directory
