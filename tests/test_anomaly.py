"""detect_anomaly: the first NaN/Inf in forward (a warning) or backward (PyTorch's error),
with the op's name and the user's source line where it was recorded."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import varjax as vj


def test_backward_anomaly_names_the_op_and_the_line():
    x = vj.tensor([0.0, 4.0], requires_grad=True)
    with vj.autograd.detect_anomaly():
        h = x * 2
        line = inspect.currentframe().f_lineno + 1
        y = h.sqrt()  # d sqrt / dh is infinite at 0
        out = (y * 3).sum()
        with pytest.raises(RuntimeError) as err:
            out.backward()
    msg = str(err.value)
    assert "Function 'SqrtBackward0' returned nan/inf values in its 0th output" in msg
    assert f"line {line}" in msg and "y = h.sqrt()" in msg
    assert x.grad is None  # nothing accumulated
    assert not vj.config.anomaly and not vj.config.eager  # the mode is restored


def test_forward_anomaly_warns_at_the_recording_line():
    with vj.autograd.detect_anomaly():
        a = vj.tensor([1.0, 0.0])
        with pytest.warns(RuntimeWarning, match="'log' produced NaN or Inf") as rec:
            line = inspect.currentframe().f_lineno + 1
            b = a.log()
        assert rec[0].lineno == line and rec[0].filename == __file__
        c = b.exp()  # inf propagates to -inf -> 0: no new warning for an op fed a NaN/Inf
    assert c.tolist() == [1.0, 0.0]


def test_clean_programs_are_unchanged_under_anomaly_mode():
    x = vj.tensor(np.array([0.5, 2.0], np.float32), requires_grad=True)
    with vj.autograd.detect_anomaly():
        (x.sin() * x).sum().backward()
    np.testing.assert_allclose(
        x.grad.numpy(), np.sin([0.5, 2.0]) + np.array([0.5, 2.0]) * np.cos([0.5, 2.0]), rtol=1e-6
    )
