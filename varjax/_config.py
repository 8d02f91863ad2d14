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

    Example:
        >>> import varjax as vj
        >>> vj.config.eager = True
        >>> vj.config.eager = False
    """

    def __init__(self) -> None:
        self.eager: bool = os.environ.get("VARJAX_EAGER", "") not in ("", "0")
        self.max_pending_depth: int = 1000
        self.anomaly: bool = False  # set by varjax.autograd.detect_anomaly()

    def __repr__(self) -> str:
        return f"Config(eager={self.eager}, max_pending_depth={self.max_pending_depth})"


config = Config()
