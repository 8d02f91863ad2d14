"""Render the op reference (``docs/ops.md``), the API reference (``docs/api.md``) and the
functions' type stub (``varjax/_functions.pyi``) from the op table, the methods and the
public modules.

    python -m varjax._opdoc

writes the three files; ``tests/test_docs.py`` checks that the committed ones match.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import numpy as np

from . import _functions, _ops
from ._dtypes import dtype

_HEADER = """# varjax op reference

Generated from the op table (`varjax/_ops.py`) by `python -m varjax._opdoc`; do not edit by
hand. Every op is one row of the table: a JAX function with static params, recorded lazily
and differentiated by `jax.vjp` of the replay. A row with an argument convention is also
the method `x.<op>(...)` and the function `varjax.<op>(x, ...)`. "grad_fn" is the name
`x.grad_fn.name()` shows (as PyTorch names it); "-" marks ops whose outputs never require
grad. Composite functions (`cross_entropy`, `nll_loss`, `mse_loss`, `l1_loss`,
`binary_cross_entropy(_with_logits)`, `layer_norm`, `embedding`, `max(dim)`, `split`,
`chunk`, `flatten`, ...) are built from these ops in `varjax/_methods/`,
`varjax/nn/functional.py` and `varjax/linalg.py`. Any JAX function becomes an op of its own
with `varjax.op`.

Storage sharing follows PyTorch: basic slicing, `reshape`/`view`, `flatten`, `squeeze`,
`unsqueeze`, `transpose`/`t`/`T`, `permute`, `split`/`chunk`, `.data` and `detach()` give
views, so an in-place op on one changes the Variable it came from (and the other way round);
`expand()` results refuse in-place ops. Because varjax is functional underneath, in-place ops
never corrupt values saved for backward. Dtypes are PyTorch's: integer results are int64 and
functions like `sin` or `/` of integers give float32 (varjax turns on JAX's x64 mode; with
`VARJAX_X64=0` integers are int32 and float64 is refused); `reshape` returns a view where
the strides allow one and a copy otherwise, as PyTorch's.
"""

_STUB_HEADER = '''"""Type stub of ``varjax._functions``; written by ``python -m varjax._opdoc``."""

from collections.abc import Sequence
from typing import Any

from ._variable import Variable

Tensor = Variable
Dims = int | Sequence[int] | None

'''


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _api(op: _ops.Op, names: list[str]) -> str:
    api = op.torch or f"torch.{op.name}, Tensor.{op.name}"
    aliases = [n for n in names if n != op.name]
    return api + (f"; also {', '.join(aliases)}" if aliases else "")


def _section(section: type) -> list[str]:
    title = section.__doc__.splitlines()[0] if section.__doc__ else section.__name__
    lines = [f"## {section.__name__}: {title}", ""]
    lines += ["| op | computes | PyTorch API | grad_fn | difference from PyTorch |"]
    lines += ["|---|---|---|---|---|"]
    for name, value in vars(section).items():
        row = value if isinstance(value, _ops.Row) else None
        op = row.op if row else value
        if not isinstance(op, _ops.Op) or op.name != name:
            continue  # an alias: listed with its op
        grad = op.grad_name or "-"
        if op.overloads():  # PyTorch's overloads number their backwards
            grad = f"{grad} ({op.overloads().replace('``', '')})"
        cells = [f"`{name}`", op.doc, _api(op, row.names if row else [name]), grad,
                 op.note]  # fmt: skip
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return lines + [""]


def render() -> str:
    """``docs/ops.md``: every section of the table, one line per op."""
    lines = [_HEADER]
    for section in _ops.SECTIONS:
        lines += _section(section)
    library = [op for name, op in _ops.OPS.items() if not _in_sections(op)]
    if library:
        lines += ["## Library ops: defined beside their machinery", ""]
        lines += ["| op | PyTorch API | grad_fn | note |", "|---|---|---|---|"]
        lines += [f"| `{op.name}` | {_cell(op.torch)} | {op.grad_name or '-'} | {_cell(op.note)} |"
                  for op in library]  # fmt: skip
        lines.append("")
    return "\n".join(lines)


def _in_sections(op: _ops.Op) -> bool:
    for section in _ops.SECTIONS:
        for v in vars(section).values():
            if v is op or isinstance(v, _ops.Row) and v.op is op:
                return True
    return False


def _default(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    return "..."


def _signature(fn) -> str:
    """``(input: Tensor, ...) -> ...`` of a function or of a method (``self`` becomes the
    input), annotations as written in the source."""
    row = getattr(fn, "row", None)
    if row is not None:
        return row.signature
    sig = inspect.signature(getattr(fn, "__wrapped__", fn))
    params = []
    for i, p in enumerate(sig.parameters.values()):
        if i == 0 and p.name == "self":
            params.append("input: Tensor")
            continue
        annotated = p.annotation is not p.empty
        text = f"{p.name}: {p.annotation}" if annotated else p.name
        if p.kind is p.VAR_POSITIONAL:
            text = "*" + text
        elif p.kind is p.VAR_KEYWORD:
            text = "**" + text
        if p.default is not p.empty:
            text += f" = {_default(p.default)}" if annotated else f"={_default(p.default)}"
        params.append(text)
    keyword_only = [i for i, p in enumerate(sig.parameters.values()) if p.kind is p.KEYWORD_ONLY]
    if keyword_only and not any(s.startswith("*") for s in params):
        params.insert(keyword_only[0], "*")
    ret = "Any" if sig.return_annotation is sig.empty else sig.return_annotation
    return f"({', '.join(params)}) -> {ret}"


def render_stub() -> str:
    """``varjax/_functions.pyi``: every function of ``varjax._functions`` with its signature."""
    names = _functions.__all__
    lines = [_STUB_HEADER + "__all__ = [\n" + "".join(f'    "{n}",\n' for n in names) + "]\n"]
    for name in names:
        fn = getattr(_functions, name)
        sig = _signature(fn)
        lines.append(_def(name, _with_out(sig) if getattr(fn, "takes_out", False) else sig))
    return "\n".join(lines) + "\n"


def _with_out(signature: str) -> str:
    """``signature`` with PyTorch's keyword-only ``out=`` added."""
    params, ret = signature[1:].rsplit(") -> ", 1)
    parts = _split(params) if params else []
    star = [i for i, p in enumerate(parts) if p.startswith("**")]
    at = star[0] if star else len(parts)
    new = ["out: Tensor | tuple[Tensor, ...] | None = None"]
    if not any(p == "*" or (p.startswith("*") and not p.startswith("**")) for p in parts):
        new.insert(0, "*")
    return f"({', '.join(parts[:at] + new + parts[at:])}) -> {ret}"


def _def(name: str, signature: str) -> str:
    line = f"def {name}{signature}: ..."
    if len(line) <= 100:
        return line
    params, ret = signature[1:].rsplit(") -> ", 1)
    if len(params) + 4 <= 100:
        return f"def {name}(\n    {params}\n) -> {ret}: ..."
    return f"def {name}(\n" + "".join(f"    {p},\n" for p in _split(params)) + f") -> {ret}: ..."


def _split(params: str) -> list[str]:
    """Parameters split at the commas between them (not those inside brackets or quotes)."""
    out, depth, start, quote = [], 0, 0, ""
    for i, c in enumerate(params):
        if quote:
            quote = "" if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "," and depth == 0:
            out.append(params[start:i].strip())
            start = i + 1
    return out + [params[start:].strip()]


_API_HEADER = """# varjax API reference

Generated from the public modules by `python -m varjax._opdoc`; do not edit by hand. Each
name with its signature and the first line of its docstring; the op table's rows (every
elementwise function, reduction and primitive) are in [ops.md](ops.md), with their PyTorch
names and `grad_fn` names.
"""

# (title, module, names): the public surface, module by module
_API_MODULES = [
    ("varjax", "varjax", None), ("varjax.Tensor (methods and properties)", "varjax", "Tensor"),
    ("varjax.nn", "varjax.nn", None), ("varjax.nn.functional", "varjax.nn.functional", None),
    ("varjax.nn.init", "varjax.nn.init", None), ("varjax.nn.utils", "varjax.nn.utils", None),
    ("varjax.optim", "varjax.optim", None),
    ("varjax.optim.lr_scheduler", "varjax.optim.lr_scheduler", None),
    ("varjax.optim.swa_utils", "varjax.optim.swa_utils", None), ("varjax.amp", "varjax.amp", None),
    ("varjax.nn.utils.rnn", "varjax.nn.utils.rnn", None),
    ("varjax.autograd", "varjax.autograd", None),
    ("varjax.autograd.functional", "varjax.autograd.functional", None),
    ("varjax.utils", "varjax.utils", None), ("varjax.utils.data", "varjax.utils.data", None),
    ("varjax.linalg", "varjax.linalg", None), ("varjax.func", "varjax.func", None),
    ("varjax.cuda", "varjax.cuda", None), ("varjax.accelerator", "varjax.accelerator", None),
    ("varjax.random", "varjax.random", None), ("varjax.testing", "varjax.testing", None),
]  # fmt: skip


def _summary(obj: object) -> str:
    doc = inspect.getdoc(obj) or ""
    return doc.strip().split("\n\n")[0].replace("\n", " ") if doc else ""


def _entry(name: str, obj: object) -> str:
    try:
        sig = str(inspect.signature(obj)) if callable(obj) and not isinstance(obj, type) else ""
    except (TypeError, ValueError):
        sig = ""
    if isinstance(obj, type):
        kind = "class "
        try:
            sig = str(inspect.signature(obj.__init__))
            sig = sig.replace("(self, ", "(").replace("(self)", "()")
        except (TypeError, ValueError):
            sig = ""
    elif isinstance(obj, property):
        kind, sig = "property ", ""
    elif callable(obj):
        kind = ""
    elif isinstance(obj, (np.dtype, dtype)):  # a NumPy dtype's type name varies by version
        return f"- `{name}`: dtype `{obj.name}`"
    else:
        return f"- `{name}`: `{type(obj).__name__.split('[')[0]}`"
    summary = _summary(obj)
    sig = _ADDRESS.sub(r"\1", sig)  # a function default: its name, not where it lives
    return f"- {kind}`{name}{sig}`" + (f": {summary}" if summary else "")


_ADDRESS = re.compile(r"<function (\S+) at 0x[0-9a-f]+>")


def render_api() -> str:
    """``docs/api.md``: every public name of varjax's modules and of ``varjax.Tensor``."""
    out = [_API_HEADER]
    for title, module_name, attr in _API_MODULES:
        module = importlib.import_module(module_name)
        out.append(f"\n## {title}\n")
        if attr is not None:
            cls = getattr(module, attr)
            names = sorted(
                n for n in dir(cls)
                if not n.startswith("_") and n not in {"_node", "_grad"}
            )  # fmt: skip
            for n in names:
                out.append(_entry(n, inspect.getattr_static(cls, n)))
            continue
        public = [n for n in vars(module) if not n.startswith("_")]
        names = sorted(getattr(module, "__all__", public))
        for n in names:
            out.append(_entry(n, getattr(module, n)))
    return "\n".join(out) + "\n"


PAGE = Path(__file__).resolve().parent.parent / "docs" / "ops.md"
API = Path(__file__).resolve().parent.parent / "docs" / "api.md"
STUB = Path(__file__).resolve().parent / "_functions.pyi"

if __name__ == "__main__":
    PAGE.write_text(render())
    API.write_text(render_api())
    STUB.write_text(render_stub())
    print(f"wrote {PAGE}, {API} and {STUB}")
