"""Rich display in Jupyter: the HTML of a Variable, a Module and the compile statistics.

The objects are read by their attributes (no varjax import), so this module sits at the
bottom of the package and the classes' ``_repr_html_`` are one line each.
"""

from __future__ import annotations

import html
from typing import Any

# a pending Variable with more elements than this shows no values: showing them computes it
VALUES_UP_TO = 1000

_STYLE = "font-family: monospace; border-collapse: collapse; text-align: left"


def _table(rows: list[tuple[str, str]]) -> str:
    cells = "".join(
        f"<tr><th style='padding: 1px 8px'>{html.escape(k)}</th>"
        f"<td style='padding: 1px 8px'>{html.escape(v)}</td></tr>"
        for k, v in rows
    )
    return f"<table style='{_STYLE}'>{cells}</table>"


def _where(v: Any) -> str:
    """The device, or the sharding of a value laid out over several."""
    value = v._node.value
    sharding = getattr(value, "sharding", None)
    if sharding is not None and len(sharding.device_set) > 1:
        return str(sharding)
    return str(v.device)


def variable(v: Any) -> str:
    """A Variable as an HTML table: shape, dtype, device or sharding, grad_fn, pending or
    computed (as it was before this display), and its values when computed or small."""
    node = v._node
    pending = node.value is None
    grad = v.grad_fn.name() if v.grad_fn is not None else None
    rows = [
        ("shape", str(tuple(node.shape))),
        ("dtype", str(node.dtype)),
        ("device", _where(v)),
        ("grad_fn", grad or ("leaf, requires_grad=True" if node.requires_grad else "None")),
        ("state", "pending (not computed yet)" if pending else "computed"),
    ]
    if pending and v.numel() > VALUES_UP_TO:
        values = f"not shown: {v.numel()} elements, pending (print(v) computes them)"
    else:
        values = repr(v)  # computes a pending value: the state above says it was pending
    return (
        f"<div><b>{html.escape(type(v).__name__)}</b>{_table(rows)}"
        f"<pre>{html.escape(values)}</pre></div>"
    )


def _count(params: list) -> int:
    return sum(p.numel() for p in params)


def _module_node(name: str, m: Any) -> str:
    own = list(m.named_parameters(recurse=False))
    total = _count([p for _, p in m.named_parameters()])
    extra = m.extra_repr()
    head = (
        f"<b>{html.escape(name)}</b>{': ' if name else ''}{html.escape(type(m).__name__)}"
        f"({html.escape(extra)}) <span style='color: grey'>{total:,} parameters</span>"
    )
    items = "".join(
        f"<li>{html.escape(n)}: {tuple(p.shape)} {html.escape(str(p.dtype))}"
        f"{'' if p.requires_grad else ' (frozen)'}</li>"
        for n, p in own
    )
    items += "".join(_module_node(n, c) for n, c in m.named_children())
    if not items:
        return f"<li>{head}</li>"
    return f"<li><details open><summary>{head}</summary><ul>{items}</ul></details></li>"


def module(m: Any) -> str:
    """A Module as a collapsible tree: each submodule with its parameter count, each
    parameter with its shape and dtype."""
    return f"<ul style='font-family: monospace; list-style: none'>{_module_node('', m)}</ul>"


def stats(s: Any) -> str:
    """``compile_stats()`` as a table, with what each count means."""
    rows = [
        ("compiles", f"{s.compiles}  (programs compiled: cache misses)"),
        ("cache_hits", f"{s.cache_hits}  (calls that reused a compiled program)"),
        ("cache_size", f"{s.cache_size}  (programs held now)"),
        ("compile_seconds", f"{s.compile_seconds:.3f}  (first calls: trace, compile, run)"),
        ("evictions", f"{s.evictions}  (dropped: config.max_cached_programs)"),
    ]
    return f"<div><b>CompileStats</b>{_table(rows)}</div>"
