"""Every op-table row's and in-place method's docstring example runs, and prints what
PyTorch prints for it: the expected outputs in ``varjax/_op_examples.py`` come from PyTorch
(``tools/op_examples.py``)."""

from __future__ import annotations

import doctest
import importlib.util
from pathlib import Path

import pytest

import varjax as vj
from varjax import _ops
from varjax._op_examples import EXAMPLES

ROWS = {row.op.name: row for row in _ops.rows()}
TOOL = Path(__file__).resolve().parent.parent / "tools" / "op_examples.py"


def test_every_row_has_an_example():
    assert set(ROWS) <= set(EXAMPLES), "run python tools/op_examples.py"
    assert all(hasattr(vj.Tensor, name) for name in EXAMPLES)  # rows and in-place methods


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_prints_what_pytorch_prints(name):
    fn = getattr(vj.Tensor, name)
    assert ">>>" in fn.__doc__
    test = doctest.DocTestParser().get_doctest(fn.__doc__, {}, name, None, 0)
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)


def test_examples_are_current():
    pytest.importorskip("torch")
    spec = importlib.util.spec_from_file_location("op_examples", TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.render() == tool.TARGET.read_text(), "run python tools/op_examples.py"
