"""Griffe extension for the API reference: varjax's docstrings head their doctests
``Example:``, which the Google parser reads as a plain admonition (so ``>>> x[0]`` would be
Markdown text); as ``Examples:`` they are parsed into highlighted Python examples."""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:\s*$", flags=re.MULTILINE)


class ExampleSections(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE.sub(r"\1Examples:", obj.docstring.value)
