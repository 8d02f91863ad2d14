"""The op reference page is generated from the op table and kept in step with it."""

from __future__ import annotations

from pathlib import Path

from varjax._opdoc import RUNTIME, render
from varjax._ops import OPS

PAGE = Path(__file__).resolve().parent.parent / "docs" / "ops.md"


def test_ops_page_matches_the_table():
    assert PAGE.read_text() == render(), "regenerate: python -m varjax._opdoc > docs/ops.md"


def test_every_table_op_is_on_the_page():
    text = PAGE.read_text()
    assert all(f"| `{name}` |" in text for name in OPS if not name.startswith(RUNTIME))
