"""Timing helpers: medians of repeated runs, and a table of ratios against a reference."""

from __future__ import annotations

import gc
import platform
import statistics
import time
from collections.abc import Callable


def median_times(
    fns: dict[str, Callable[[], object]], *, number: int, repeat: int = 21, warmup: int = 3
) -> dict[str, float]:
    """Median over ``repeat`` rounds of the mean seconds per call in a block of ``number`` calls.

    Rounds are interleaved (a, b, c, a, b, c, ...) so that drift in the machine's speed
    affects every contender alike; within a block, calls run back to back as in a real loop.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    runs: dict[str, list[float]] = {k: [] for k in fns}
    gc.collect()
    clock = time.perf_counter
    for _ in range(repeat):
        for k, fn in fns.items():
            t0 = clock()
            for _ in range(number):
                fn()
            runs[k].append((clock() - t0) / number)
    return {k: statistics.median(v) for k, v in runs.items()}


def machine() -> str:
    import jax

    return (
        f"{platform.processor() or platform.machine()}, {jax.devices()[0].platform}, "
        f"Python {platform.python_version()}, jax {jax.__version__}"
    )


def print_table(rows: list[dict], columns: list[str]) -> None:
    widths = [max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    print(line(columns))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line([r.get(c, "") for c in columns]))
