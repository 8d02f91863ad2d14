"""Shared fixtures: both execution modes, and a clean compile cache where counts matter."""

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

