"""The models of ``examples/models.py`` (issue 14): a GPT, a ResNet with BatchNorm, an LSTM
language model, a VAE and a U-Net (max-pooling, a transposed convolution, bilinear
upsampling, skip concatenation, per-pixel cross-entropy), written for PyTorch. Started from
the same weights, varjax and PyTorch give the same losses step after step; ``varjax.jit``
gives the imperative numbers; and training makes the loss fall."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_close

import varjax as vj

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
import models  # noqa: E402

NAMES = list(models.MODELS)
STEPS = 6


def _weights(name: str) -> dict:
    vj.manual_seed(0)
    model = models.MODELS[name](vj, STEPS)[0]
    return {k: np.asarray(v) for k, v in model.state_dict().items()}


@pytest.mark.parametrize("name", NAMES)
def test_varjax_gives_pytorchs_losses_from_the_same_weights(name):
    torch = pytest.importorskip("torch")
    weights = _weights(name)
    ours = models.train(vj, name, STEPS, state={k: vj.tensor(v) for k, v in weights.items()})
    theirs = models.train(torch, name, STEPS,
                          state={k: torch.tensor(v) for k, v in weights.items()})  # fmt: skip
    assert_close(ours, theirs, rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("name", NAMES)
def test_jit_gives_the_imperative_losses_and_training_makes_them_fall(name):
    weights = _weights(name)
    fresh = lambda: {k: vj.tensor(v) for k, v in weights.items()}  # noqa: E731
    imperative = models.train(vj, name, STEPS, state=fresh(), horizon=40)
    compiled = models.train(vj, name, 40, jit=True, state=fresh())
    assert_close(compiled[:STEPS], imperative, rtol=1e-5, atol=1e-6)
    assert np.mean(compiled[-5:]) < np.mean(compiled[:5])
