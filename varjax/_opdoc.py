"""Render ``docs/ops.md``, the op reference, from the op table.

    python -m varjax._opdoc > docs/ops.md

``tests/test_docs.py`` checks that the committed page matches the table.
"""

from __future__ import annotations

from ._ops import OPS

_HEADER = """# varjax op reference

Generated from the op table (`varjax/_ops.py`) by `python -m varjax._opdoc > docs/ops.md`;
do not edit by hand. Every op is one row of the table: a JAX function with static params,
recorded lazily and differentiated by `jax.vjp` of the replay. "grad_fn" is the name
`x.grad_fn.name()` shows (as PyTorch names it); "-" marks ops whose outputs never require
grad. Composite functions (`cross_entropy`, `nll_loss`, `mse_loss`, `l1_loss`,
`binary_cross_entropy(_with_logits)`, `layer_norm`, `embedding`, `max(dim)`,
`split`, `chunk`, `flatten`, ...) are built from these ops in `varjax/_functions.py`,
`varjax/nn/functional.py` and `varjax/linalg.py`. Any JAX function becomes an op of its own
with `varjax.op`.

Storage sharing follows PyTorch: basic slicing, `reshape`/`view`, `flatten`, `squeeze`,
`unsqueeze`, `transpose`/`t`/`T`, `permute`, `split`/`chunk`, `.data` and `detach()` give
views, so an in-place op on one changes the Variable it came from (and the other way round);
`expand()` results refuse in-place ops. Because varjax is functional underneath, in-place ops
never corrupt values saved for backward. Differences that hold everywhere: integer results
use JAX's default integer (`int32` unless x64 mode is on); `float64` needs JAX's x64 mode;
`reshape` always returns a view (PyTorch copies when strides forbid a view).

| op | PyTorch API | grad_fn | difference from PyTorch |
|---|---|---|---|
"""


# prefixes of ops registered at run time (varjax.op, Functions, checkpoints): not table rows
RUNTIME = ("op:", "fn:", "ckpt:")


def _cell(text: str) -> str:
    return text.replace("|", "\\|") or ""


def render() -> str:
    rows = []
    for name, op in OPS.items():
        if name.startswith(RUNTIME):
            continue  # functions lifted with varjax.op at run time
        api = op.torch or f"torch.{name}, Tensor.{name}"
        rows.append(f"| `{name}` | {_cell(api)} | {op.grad_name or '-'} | {_cell(op.note)} |")
    return _HEADER + "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(render(), end="")
