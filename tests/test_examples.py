"""The README's demo command runs and prints what the tutorial promises."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_tutorial_example_prints_the_gradients():
    out = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "tutorial.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    assert "tensor([[4.5000, 4.5000],\n        [4.5000, 4.5000]])" in out
    y_line, grad_line = [ln for ln in out.splitlines() if ln.startswith("tensor([")][-2:]
    ys = [float(v) for v in re.findall(r"-?\d+\.\d+(?:e[+-]\d+)?", y_line)]
    grads = [float(v) for v in re.findall(r"-?\d+\.\d+(?:e[+-]\d+)?", grad_line)]
    assert max(abs(v) for v in ys) > 0 and len(grads) == 3
    k = round(grads[1]).bit_length() - 1  # the middle entry is 2^k * 1.0
    assert abs(grads[1] - 2**k) < 1e-3 and k >= 1
    for g, v in zip(grads, (0.1, 1.0, 0.0001)):
        assert abs(g - 2**k * v) <= 1e-4 * 2**k


def test_core_benchmark_runs_without_recompiles():
    """The benchmark script works; repeated iterations compile nothing (no timing asserted)."""
    from benchmarks import bench_core

    rows = bench_core.main(["--quick"])
    assert [r["workload"] for r in rows] == ["tutorial 2x2", "elementwise chain", "MLP fwd+bwd"]
    assert all(r["recompiles"] == 0 for r in rows)


def test_jacobian_benchmark_runs_and_agrees():
    """The benchmark checks its three Jacobians agree before timing (no timing asserted)."""
    from benchmarks import bench_jacobian

    rows = bench_jacobian.main(["--quick"])
    assert rows[0]["workload"] == "jacobian R^256 -> R^256"
