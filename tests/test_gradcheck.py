"""gradcheck and gradgradcheck: float64 finite differences need JAX's x64 mode, which is
process-wide, so the checks run in a child process with JAX_ENABLE_X64=1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import varjax as vj


def test_gradcheck_in_x64_mode_passes_good_and_catches_wrong_gradients():
    script = Path(__file__).with_name("x64_gradcheck.py")
    env = dict(os.environ, JAX_ENABLE_X64="1")
    out = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["caught", "ok", "function"]


def test_gradcheck_says_it_needs_x64():
    x = vj.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="gradcheck needs float64, which needs JAX's x64"):
        vj.autograd.gradcheck(lambda x: x * 2, (x,))
