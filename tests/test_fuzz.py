"""The differential fuzzer in CI: a few hundred random autograd programs (views, in-place ops,
indexing, hooks, retain_grad, .data writes, repeated backward) compared with PyTorch on
every value and gradient. The long run is ``python -m tests.fuzz_programs --programs 5000``."""

from __future__ import annotations

import pytest

import varjax as vj

pytest.importorskip("torch")

from fuzz_programs import compare, generate  # noqa: E402 - needs torch

BATCHES = 5
PER_BATCH = 40


@pytest.mark.parametrize("batch", range(BATCHES))
def test_random_programs_agree_with_pytorch(batch):
    budget = vj.config.max_recompiles
    vj.config.max_recompiles = None
    try:
        findings = []
        for seed in range(batch * PER_BATCH, (batch + 1) * PER_BATCH):
            program = generate(10_000 + seed)
            outcome = compare(program)
            if outcome.status == "differ":
                findings.append(f"{program}\n  -> {outcome.detail}")
        assert not findings, "\n\n".join(findings)
    finally:
        vj.config.max_recompiles = budget
