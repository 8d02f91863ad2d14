"""Shared fixtures: both execution modes, and a clean compile cache where counts matter; and
the quick subset (``pytest -m "not slow"``), which leaves out what is marked ``slow`` here."""

from __future__ import annotations

import os

import numpy as np
import pytest

# The suite stays hermetic: no programs from (or into) the user's persistent compile cache
# (tests/test_persistent_cache.py turns it on in child processes of its own).
os.environ["VARJAX_COMPILATION_CACHE"] = "0"

import varjax as vj  # noqa: E402

# The suite runs many shapes through the same helper lines on purpose; the recompile budget
# is for user code (tests/test_recompile.py sets it where it is under test).
vj.config.max_recompiles = None
# The suite compiles thousands of programs and shares them across tests: the cache's bound
# (user code's default, 256) would evict and recompile them (tests/test_correctness_errors.py
# tests the bound itself).
vj.config.max_cached_programs = None


# The quick subset (pytest -m "not slow", under a minute on two cores) runs the first case of
# each test function in these files, which cover the engine, autograd, the op table, nn,
# optim and varjax.jit, and the examples of the README and the docs pages. Every other case,
# file and doctest is marked ``slow``: the full run (CI's) runs everything.
QUICK_FILES = {
    "test_variable", "test_autograd", "test_correctness", "test_correctness_errors",
    "test_inplace", "test_hooks", "test_engine", "test_compile", "test_function",
    "test_serialization", "test_ops", "test_ops_torch", "test_op_examples", "test_library",
    "test_nn", "test_optim", "test_jit", "test_viz", "test_anomaly", "test_checkpoint",
    "test_micrograd", "test_gradcheck", "test_mask_select", "test_architecture",
    "test_nn_signatures", "test_docs", "test_docs_site", "test_project",
}  # fmt: skip
# tests of those files that take seconds
SLOW_TESTS = {
    "test_loop_without_backward_keeps_memory_bounded",
    "test_training_steps_leave_no_cyclic_garbage",
    "test_first_step_gradients_match_jax_grad",
    "test_one_compile_per_structure_and_exact_counters",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    seen = set()
    for item in items:
        function = getattr(item, "originalname", item.name)
        key = (item.path, function)
        quick = item.path.stem in QUICK_FILES or item.path.suffix == ".md"
        if not quick or function in SLOW_TESTS or key in seen:
            item.add_marker(pytest.mark.slow)
        seen.add(key)


@pytest.fixture(params=["lazy", "eager"])
def mode(request):
    """Run a test in the default lazy mode and in the debugging eager mode."""
    prev = vj.config.eager
    vj.config.eager = request.param == "eager"
    yield request.param
    vj.config.eager = prev


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def assert_close(actual, expected, rtol=1e-5, atol=1e-6, msg=""):
    np.testing.assert_allclose(
        np.asarray(actual, dtype=np.float64),
        np.asarray(expected, dtype=np.float64),
        rtol=rtol,
        atol=atol,
        err_msg=msg,
    )

