"""The op reference page and the functions' type stub are generated from the op table and
the methods, and kept in step with them."""

from __future__ import annotations

from varjax import _functions
from varjax._opdoc import PAGE, STUB, render, render_stub
from varjax._ops import OPS

REGENERATE = "regenerate with: python -m varjax._opdoc"


def test_ops_page_matches_the_table():
    assert PAGE.read_text() == render(), REGENERATE


def test_every_table_op_is_on_the_page():
    text = PAGE.read_text()
    assert all(f"| `{name}` |" in text for name in OPS)


def test_type_stub_matches_the_functions():
    assert STUB.read_text() == render_stub(), REGENERATE
    text = STUB.read_text()
    assert all(f"def {name}(" in text for name in _functions.__all__)
