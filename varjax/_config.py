"""Process-wide switches, read by the recorder on every op."""

from __future__ import annotations

import os


class Config:
    """varjax's switches.

    ``eager``: run every op as soon as it is recorded (one small compiled program per op).
    For debugging: errors and values appear at the op that produced them. Numbers are the
    same as in the default lazy mode. Also set by the environment variable ``VARJAX_EAGER=1``.

    ``max_pending_depth``: a chain of this many pending ops is computed at once, so a loop
    that never reads a value still runs in bounded memory and bounded program size.

    ``max_inplace_depth``: a Variable written in place this many times since it last held a
    value is computed at once (default 48), so a loop of small writes (``N[a, b] += 1``) runs
    as chunks of one structure that share a compiled program. Writes are counted, not the
    depth of the graph behind them: a running statistic written after a deep forward is
    computed by that step's backward, with the forward it reads.

    ``explain_recompiles``: log (logger ``varjax.recompile``) why a line of your code compiled
    a new program: the first op or input where it differs from the nearest earlier program
    of that line, with shapes, dtypes and the line that recorded the op. Recording then also
    remembers each op's line, which costs a little. ``VARJAX_EXPLAIN_RECOMPILES=1`` sets it.

    ``max_recompiles``: a budget of programs per line of your code (default 8, None for no
    budget); the program past it warns with the explanation and a remedy
    (``varjax.RecompileWarning``), and so does each one that doubles the line's count.
    ``VARJAX_MAX_RECOMPILES`` sets it.

    ``max_cached_programs``: how many compiled programs the compile cache keeps (default 256;
    None for no bound); past it the least recently used one is dropped, freeing its memory,
    and counted in ``compile_stats().evictions``. Each ``varjax.jit`` function keeps as many
    of its own. A training loop runs a handful of programs, so the default never evicts one
    of them; a sweep over a thousand shapes stays bounded. ``VARJAX_MAX_CACHED_PROGRAMS``
    sets it.

    Example:
        >>> import varjax as vj
        >>> vj.config.eager = True
        >>> vj.config.eager = False
    """

    def __init__(self) -> None:
        self.eager: bool = _flag("VARJAX_EAGER")
        self.max_pending_depth: int = 1000
        self.max_inplace_depth: int = 48
        self.anomaly: bool = False  # set by varjax.autograd.detect_anomaly()
        self.explain_recompiles: bool = _flag("VARJAX_EXPLAIN_RECOMPILES")
        budget = os.environ.get("VARJAX_MAX_RECOMPILES", "8")
        self.max_recompiles: int | None = None if budget.lower() in ("", "none") else int(budget)
        size = os.environ.get("VARJAX_MAX_CACHED_PROGRAMS", "256")
        self.max_cached_programs: int | None = None if size.lower() in ("", "none") else int(size)

    def __repr__(self) -> str:
        return (
            f"Config(eager={self.eager}, max_pending_depth={self.max_pending_depth}, "
            f"explain_recompiles={self.explain_recompiles}, max_recompiles={self.max_recompiles}, "
            f"max_cached_programs={self.max_cached_programs})"
        )


def _flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


config = Config()
