"""Why varjax compiled again: explanations per call site, and a recompile budget.

Every compile is charged to the user's line that caused it (``loss.backward()``,
``loss.item()``, a ``varjax.jit`` call). When a line compiles a second program, the new
program's signature is compared with the nearest one compiled there before, and the first op
or input where they differ is named with its shapes and dtypes and, when
``config.explain_recompiles`` is on, the line that recorded it:

    varjax: compiled a new backward program at File "train.py", line 14: loss.backward()
    (program 2 at this line). It differs from the nearest earlier one at input #3:
    float32[32, 4] where that one had float32[64, 4], read by 'linear_bias' recorded at
    File "train.py", line 12: out = model(x)

``config.explain_recompiles`` (or ``VARJAX_EXPLAIN_RECOMPILES=1``) logs that to the
``varjax.recompile`` logger; ``config.max_recompiles`` (or ``VARJAX_MAX_RECOMPILES``) is a
budget per line: the program that passes it raises a ``RecompileWarning`` with the same text
and what to do about it (for a shape that keeps changing: pad, bucket, crop, or mask with a
fixed shape), and so does each program that doubles the line's count again (a loop that
compiles at every step warns a few times, not at every step).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _caches, _tracing
from ._config import config
from ._device import describe_layout
from ._program import IN, OUT
from ._source import describe, user_site

logger = logging.getLogger("varjax.recompile")


class RecompileWarning(UserWarning):
    """A line of user code compiled more programs than ``varjax.config.max_recompiles``.

    Example:
        >>> import warnings
        >>> import varjax as vj
        >>> issubclass(vj.RecompileWarning, UserWarning)
        True
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("error", vj.RecompileWarning)  # raise it instead
    """


_HISTORY = 16  # programs remembered per line, to find the nearest one
_SITES: dict[tuple, list] = {}  # (file, line, kind) -> [program count, recent signatures]


_caches.register(_SITES.clear)


def _where(site: tuple | None) -> str:
    if not site:
        return "(its line is recorded when varjax.config.explain_recompiles is on)"
    return f"recorded at {describe(site)}"


def _array(shape: tuple, dtype: Any) -> str:
    return f"{np.dtype(dtype).name}[{', '.join(map(str, shape))}]"


def on_compile(kind: str, key: tuple, differ: Callable[[tuple], tuple[int, str]]) -> None:
    """Account a new program of ``kind`` to the user's line; explain it if asked.

    ``differ(old_key)`` returns (how far the new key agrees with ``old_key``, a sentence
    naming the first difference); the nearest earlier program is the one that agrees longest.
    """
    if _tracing.state.active or config.eager or config.anomaly:
        return  # inlined into a varjax.jit program, or one program per op by design
    explain, budget = config.explain_recompiles, config.max_recompiles
    site = user_site() or ("<unknown>", 0, "")
    entry = _SITES.setdefault((*site[:2], kind), [0, []])
    entry[0] += 1
    count, history = entry
    # a warning when the line first passes its budget, then each time its count doubles: a
    # loop that compiles at every step says so a few times, not at every step
    over = budget is not None and count > budget and _doubled(count - 1, budget) and site[1]
    if history and (explain or over):
        diffs = [differ(old) for old in history]
        # the nearest: the longest agreement; among equals, the most recent
        _, _, reason = max((score, i, reason) for i, (score, reason) in enumerate(diffs))
        file, line, code = site
        message = (
            f'varjax: compiled a new {kind} program at File "{file}", line {line}: {code} '
            f"(program {count} at this line). It differs from the nearest earlier one {reason}"
        )
        if explain:
            logger.warning(message)
        if over:
            message += f". {_remedy(reason, budget)}"
            warnings.warn_explicit(message, RecompileWarning, file, line)
    history.append(key)
    del history[:-_HISTORY]


def _doubled(n: int, budget: int) -> bool:
    """True if ``n`` is the budget times a power of two."""
    if budget <= 0:
        return n & (n - 1) == 0
    q, r = divmod(n, budget)
    return r == 0 and q & (q - 1) == 0


def _remedy(reason: str, budget: int) -> str:
    """What the user can do, for the difference that made the new program."""
    head = (f"This line has compiled more than varjax.config.max_recompiles={budget} programs "
            f"(warned again each time its count doubles)")  # fmt: skip
    if "where that one was" in reason:  # the same input on other devices
        return (f"{head}: each new sharding or device of an input compiles a new program. "
                f"Place the inputs the same way at every step (one mesh and the same "
                f"placements, e.g. varjax.distributed.distribute_tensor(x, mesh, [Shard(0)]) "
                f"for every batch), or raise the budget")  # fmt: skip
    if "where that one had" in reason and "[" in reason:  # a shape changed
        return (f"{head}: every new shape compiles a new program. Keep shapes fixed: pad the "
                f"last batch, pad sequences to a few bucket lengths, crop a growing sequence "
                f"to a fixed window (idx[:, -block_size:]), and compute on a boolean "
                f"selection with a fixed-shape mask (varjax.where(mask, x ** 2, 0).sum() "
                f"instead of (x[mask] ** 2).sum(); x[mask].sum() and .mean() need nothing); "
                f"or raise the budget")  # fmt: skip
    return (f"{head}: keep the program's structure the same from one call to the next (the "
            f"same ops, dtypes and Python control flow), or raise the budget")


# -- recorded programs ------------------------------------------------------------------------


def program_differ(instrs: tuple, nodes: list, extra: tuple) -> tuple[tuple, Callable]:
    """A ``differ`` for a linearized program (see ``_graph.Builder``): ``nodes[i]`` is the
    node behind instruction ``i``, whose recording site names the line. Returns the key to
    remember and the differ."""

    def differ(old: tuple) -> tuple[int, str]:
        old_instrs, old_extra = old
        for i, (new, was) in enumerate(zip(instrs, old_instrs)):
            if new != was:
                return i, _instruction_diff(instrs, nodes, i, was)
        n = min(len(instrs), len(old_instrs))
        if len(instrs) > n:
            return n, (
                f"after its {n} instructions: this one goes on with {_describe(instrs, nodes, n)}"
            )
        if len(old_instrs) > n:
            return (
                n,
                f"after {n} instructions: the earlier one went on with '{old_instrs[n][0].name}'",
            )
        if extra != old_extra:
            return n, (
                "only in what it returns (the same ops; e.g. a value read after a backward "
                "that skipped computing it, or a different set of gradients requested)"
            )
        return n, "nowhere (the same program under a different cache key)"

    return (instrs, extra), differ


def _describe(instrs: tuple, nodes: list, i: int) -> str:
    ins = instrs[i]
    node = nodes[i] if i < len(nodes) else None
    if ins[0] is IN:
        return f"input #{i}: {_array(ins[1], ins[2])}"
    site = None if node is None else node.site
    return f"'{ins[0].name}' (instruction #{i}) {_where(site)}"


def _reads(ins: tuple, slot: int) -> bool:
    return ins[0] is not IN and ins[0] is not OUT and slot in ins[2]


def _instruction_diff(instrs: tuple, nodes: list, i: int, was: tuple) -> str:
    new = instrs[i]
    if new[0] is IN and was[0] is IN:
        reader = next((j for j in range(i + 1, len(instrs)) if _reads(instrs[j], i)), None)
        by = ""
        if reader is not None:
            site = nodes[reader].site if reader < len(nodes) else None
            by = f", read by '{instrs[reader][0].name}' {_where(site)}"
        if new[1:3] == was[1:3]:  # the same array type, laid out elsewhere
            return (
                f"at input #{i}: {_array(new[1], new[2])} {describe_layout(new[3])} where that "
                f"one was {describe_layout(was[3])}{by}"
            )
        return (
            f"at input #{i}: {_array(new[1], new[2])} where that one had "
            f"{_array(was[1], was[2])}{by}"
        )
    site = nodes[i].site if i < len(nodes) else None
    if new[0] is not was[0]:
        return (
            f"at instruction #{i}: '{new[0].name}' where that one had '{was[0].name}', "
            f"{_where(site)}"
        )
    if new[0] is OUT:
        return f"at instruction #{i}: another output layout, {_where(site)}"
    if new[1] != was[1]:
        changed = {k: v for k, v in new[1] if dict(was[1]).get(k) != v}
        return (
            f"at instruction #{i}: '{new[0].name}' with {changed} where that one had "
            f"{ {k: dict(was[1]).get(k) for k in changed} }, {_where(site)}"
        )
    if new[3] != was[3]:
        return (
            f"at instruction #{i}: '{new[0].name}' takes Python scalars as {np.dtype(new[3]).name} "
            f"where that one took {np.dtype(was[3]).name}, {_where(site)}"
        )
    return f"at instruction #{i}: '{new[0].name}' reads different inputs, {_where(site)}"


# -- varjax.jit -------------------------------------------------------------------------------

_PARTS = ("the arguments' structure", "the arguments", "the state",
          "the modules' train/eval modes or the optimizers' settings", "grad mode")  # fmt: skip


def jit_differ(key: tuple, state: list) -> Callable[[tuple], tuple]:
    """A ``differ`` for a ``varjax.jit`` cache key (see ``_jit._Jitted.__call__``)."""

    def differ(old: tuple) -> tuple[int, str]:
        score = 0
        for part, (new, was) in enumerate(zip(key, old)):
            if new == was:
                score += 1000
                continue
            if part == 1:
                return score + _prefix(new, was), _jit_args(new, was, state)
            if part == 2:
                return score + _prefix(new, was), _jit_state(new, was)
            return score, f"in {_PARTS[part]}: {new} where that one had {was}"
        return score, "nowhere (the same structure)"

    return differ


def _prefix(a: tuple, b: tuple) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def _spec(spec: tuple, state: list | None) -> str:
    if spec[0] == "array":
        return f"{_array(spec[1], spec[2])} {describe_layout(spec[3])}"
    if spec[0] == "var":
        if state is not None:
            return f"Variable {_array(*state[spec[1]]._node.aval)}"
        return "a Variable"
    if spec[0] == "static":
        return f"the Python value {spec[2]!r} (Python values are part of the structure)"
    return f"an object of id {spec[1]}"


def _jit_args(new: tuple, was: tuple, state: list) -> str:
    if len(new) != len(was):
        return f"in the number of argument leaves: {len(new)} where that one had {len(was)}"
    i = _prefix(new, was)
    return f"at argument leaf #{i}: {_spec(new[i], state)} where that one had {_spec(was[i], None)}"


def _jit_state(new: tuple, was: tuple) -> str:
    if len(new) != len(was):
        return f"in the number of state Variables: {len(new)} where that one had {len(was)}"
    i = _prefix(new, was)
    (aval, rg, grad, where), (aval0, rg0, grad0, where0) = new[i], was[i]
    what = f"state Variable #{i} ({_array(*aval)})"
    if aval != aval0:
        return f"at {what}: was {_array(*aval0)}"
    if where != where0:
        return f"at {what}: {describe_layout(where)} where that one was {describe_layout(where0)}"
    if rg != rg0:
        return f"at {what}: requires_grad={rg} where it was {rg0}"
    has, had = grad is not None, grad0 is not None
    if has != had:
        return (
            f"at {what}: {'has' if has else 'has no'} .grad where it {'had' if had else 'had none'}"
        )
    return f"at {what}: its .grad is {_array(*grad)} where it was {_array(*grad0)}"
