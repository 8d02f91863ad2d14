"""The README's demo command runs and prints what the tutorial promises."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import varjax as vj

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
        "tiny step",
        "tiny step, varjax.jit",
        "recording (per op)",
        "RSS over 1,000 training steps",
        "transformer step",
        "transformer step, varjax.jit",
        "minibatch loop (20 slices, cold)",
        "scalar updates N[a, b] += 1 (500, warm)",
        "10 sums x[x > t].sum()",
        "10 sums where(x > t, x, 0).sum()",
        "generate 36 tokens, cropped to 12",
        "first 6 steps, fresh process (first run)",
        "first 6 steps, fresh process (re-run, persistent cache)",
        "save a fresh 30-layer MLP (first run)",
    ]
    by = {r["workload"]: r for r in rows}
    assert all(r["recompiles"] == 0 for r in rows[:9] + rows[11:13])
    assert by["minibatch loop (20 slices, cold)"]["ok"] == "yes"  # compiles do not grow
    assert by["scalar updates N[a, b] += 1 (500, warm)"]["recompiles"].startswith("0 ")
    assert by["10 sums where(x > t, x, 0).sum()"]["ok"] == "yes"  # one program
    assert by["generate 36 tokens, cropped to 12"]["ok"] == "yes"  # bounded by the block
    for r in rows[-3:-1]:  # a fresh process: two programs, then steady
        assert r["recompiles"].startswith("2 (after each step: [1, 2, 2, 2, 2, 2])"), r
    assert by["save a fresh 30-layer MLP (first run)"]["recompiles"] == 0


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


def jnp_digits_mlp(epochs: int) -> list[tuple[float, float]]:
    """(mean training loss, test accuracy) of each epoch of the example's MLP, trained in plain
    jax.numpy: Linear(64, 128), BatchNorm1d (batch statistics, running averages), ReLU,
    dropout 0.2, Linear(128, 10), cross-entropy and PyTorch's Adam (lr 3e-3) on the example's
    batches. Only the data, the initial parameters and the dropout keep masks come from the
    example and varjax: the masks are drawn again from the seed the script sets, one (64, 128)
    draw per step, after the same model construction."""
    spec = importlib.util.spec_from_file_location(
        "train_digits", ROOT / "examples" / "train_digits.py"
    )
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    vj.manual_seed(0)  # as the script's main() does
    x_train, y_train, x_test, y_test = (v.numpy() for v in example.load_data())
    model, _ = example.build("mlp")
    p = [jnp.asarray(w.detach().numpy()) for w in model.parameters()]
    n, batch = len(x_train), example.BATCH_SIZE
    steps = n // batch
    masks = [
        (vj.nn.functional.dropout(vj.ones(batch, 128), 0.2) != 0).numpy()
        for _ in range(epochs * steps)
    ]

    def logits(p, x, stats=None):
        w1, b1, gamma, beta, w2, b2 = p
        h = x.reshape(len(x), -1) @ w1.T + b1
        mean, var = (h.mean(0), h.var(0)) if stats is None else stats
        h = jax.nn.relu((h - mean) / jnp.sqrt(var + 1e-5) * gamma + beta)
        return h, h @ w2.T + b2, (mean, var)

    @jax.jit
    def step(p, adam, running, t, x, y, mask):
        def loss_fn(p):
            h, _, (mean, var) = logits(p, x)
            out = (h * mask / 0.8) @ p[4].T + p[5]
            loss = -jnp.take_along_axis(jax.nn.log_softmax(out), y[:, None], 1).mean()
            return loss, (mean, var * batch / (batch - 1))

        (loss, (mean, var)), grads = jax.value_and_grad(loss_fn, has_aux=True)(p)
        running = [0.9 * running[0] + 0.1 * mean, 0.9 * running[1] + 0.1 * var]
        m = [0.9 * a + 0.1 * g for a, g in zip(adam[0], grads)]
        v = [0.999 * a + 0.001 * g * g for a, g in zip(adam[1], grads)]
        p = [
            w - 3e-3 * (mi / (1 - 0.9**t)) / (jnp.sqrt(vi / (1 - 0.999**t)) + 1e-8)
            for w, mi, vi in zip(p, m, v)
        ]
        return loss, p, (m, v), running

    adam = ([jnp.zeros_like(w) for w in p], [jnp.zeros_like(w) for w in p])
    running = [jnp.zeros(128), jnp.ones(128)]
    rng = np.random.default_rng(0)  # the script's batch order
    out, t = [], 0
    for _ in range(epochs):
        order = rng.permutation(n)
        total = 0.0
        for i in range(steps):
            idx = order[i * batch : (i + 1) * batch]
            loss, p, adam, running = step(
                p, adam, running, jnp.float32(t + 1), x_train[idx], y_train[idx], masks[t]
            )
            total += float(loss)
            t += 1
        pred = logits(p, x_test, stats=running)[1].argmax(1)
        out.append((total / steps, float((pred == y_test).mean())))
    return out


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
    ``varjax.jit`` step from the same seed (the MLP is built and trained first in both runs),
    and both match the same training written in plain jax.numpy."""
    eager = epoch_lines(run_train_digits("--model", "mlp", "--epochs", "4", "--no-jit"), "mlp")
    compiled = epoch_lines(digits_out, "mlp")[:4]
    assert len(eager) == len(compiled) == 4
    for (loss_e, acc_e), (loss_c, acc_c) in zip(eager, compiled):
        assert abs(loss_e - loss_c) <= 1e-3 * loss_c
        assert abs(acc_e - acc_c) <= 0.005
    # the oracle: the same four epochs in plain jax.numpy (the printed values have 4 decimals)
    for epoch, (loss, acc) in enumerate(jnp_digits_mlp(4), 1):
        for run, lines in (("--no-jit", eager), ("varjax.jit", compiled)):
            got_loss, got_acc = lines[epoch - 1]
            assert abs(got_loss - loss) <= 1e-3 * loss + 5e-5, (run, epoch, got_loss, loss)
            assert abs(got_acc - acc) <= 0.005, (run, epoch, got_acc, acc)
