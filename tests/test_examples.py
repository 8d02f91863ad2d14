"""The README's demo command runs and prints what the tutorial promises."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_training_benchmark_runs_and_agrees():
    """The contenders reach the same parameters before timing; no recompiles while timed."""
    from benchmarks import bench_train

    assert bench_train.check_agreement() < 1e-5
    rows = bench_train.main(["--quick"])
    assert [r["contender"] for r in rows] == ["varjax", "varjax.jit"]
    assert all(r["recompiles"] == 0 for r in rows)


def test_benchmark_suite_prints_every_row():
    """`python -m benchmarks --quick`: every workload, no recompiles while timed (no timing
    asserted)."""
    from benchmarks.__main__ import main

    rows = main(["--quick"])
    assert [r["workload"] for r in rows] == [
        "tutorial 2x2",
        "elementwise chain",
        "elementwise chain, varjax.jit",
        "MLP fwd+bwd",
        "MLP fwd+bwd, varjax.jit",
        "training step",
        "training step, varjax.jit",
        "recording (per op)",
        "RSS over 1,000 training steps",
    ]
    assert all(r["recompiles"] == 0 for r in rows[:7])


def test_jacobian_benchmark_runs_and_agrees():
    """The benchmark checks its three Jacobians agree before timing (no timing asserted)."""
    from benchmarks import bench_jacobian

    rows = bench_jacobian.main(["--quick"])
    assert rows[0]["workload"] == "jacobian R^256 -> R^256"


def run_train_digits(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "train_digits.py"), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    return proc.stdout


def epoch_lines(out: str, model: str) -> list[tuple[float, float]]:
    """(loss, test accuracy) of each epoch the script printed for ``model``."""
    pattern = rf"^{model} epoch +\d+  loss ([\d.]+)  test accuracy ([\d.]+)$"
    return [(float(a), float(b)) for a, b in re.findall(pattern, out, re.MULTILINE)]


@pytest.fixture(scope="module")
def digits_out() -> str:
    return run_train_digits("--model", "both", "--epochs", "6")


def test_train_digits_example_reaches_95_percent_with_one_compile(digits_out):
    final = dict(re.findall(r"^(mlp|cnn): final test accuracy ([\d.]+)", digits_out, re.MULTILINE))
    assert set(final) == {"mlp", "cnn"}, digits_out
    assert all(float(a) >= 0.95 for a in final.values()), digits_out
    assert digits_out.count(", 0 compiles after the first epoch)") == 2, digits_out
    mlp = epoch_lines(digits_out, "mlp")
    assert len(mlp) == 6 and mlp[-1][0] < mlp[0][0]  # the training loss went down


def test_train_digits_example_without_jit_trains_the_same(digits_out):
    """``--no-jit`` runs the identical step uncompiled: the same losses and accuracies as the
    ``varjax.jit`` step from the same seed (the MLP is built and trained first in both runs)."""
    eager = epoch_lines(run_train_digits("--model", "mlp", "--epochs", "4", "--no-jit"), "mlp")
    compiled = epoch_lines(digits_out, "mlp")[:4]
    assert len(eager) == len(compiled) == 4
    for (loss_e, acc_e), (loss_c, acc_c) in zip(eager, compiled):
        assert abs(loss_e - loss_c) <= 1e-3 * loss_c
        assert abs(acc_e - acc_c) <= 0.005
