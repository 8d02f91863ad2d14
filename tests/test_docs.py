"""The op reference page and the functions' type stub are generated from the op table and
the methods, and kept in step with them."""

from __future__ import annotations

from varjax import _functions
from varjax._opdoc import API, PAGE, STUB, render, render_api, render_stub
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


def test_api_reference_matches_the_modules():
    assert API.read_text() == render_api(), REGENERATE
    text = API.read_text()
    for name in ("DataLoader", "assert_close", "functional_call", "clip_grad_norm_", "device"):
        assert f"`{name}" in text
