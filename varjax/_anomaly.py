"""Anomaly detection: ``varjax.autograd.detect_anomaly()``.

In anomaly mode every op runs as it is recorded (eager mode) and remembers the user's source
line. A NaN or Inf produced in forward is reported as a warning naming the op and the line; a
NaN or Inf in a gradient makes backward replay the graph op by op, in reverse, to find the
first op whose backward produced it, and raise PyTorch's error with that op's line.
"""

from __future__ import annotations

import os
import sys
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from ._config import config
from ._graph import Node

_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def _site() -> tuple[str, int, str] | None:
    """The innermost frame outside varjax: where the user recorded the op."""
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE):
        frame = frame.f_back
    if frame is None:
        return None
    import linecache

    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    return frame.f_code.co_filename, frame.f_lineno, line


def where(node: Node) -> str:
    if node.site is None:
        return "(recorded outside anomaly mode, so its line is unknown)"
    file, line, code = node.site
    return f'recorded at File "{file}", line {line}: {code}'


def _finite(x) -> bool:
    x = np.asarray(x)
    return x.dtype.kind not in "fc" or bool(np.isfinite(x).all())


def check_forward(node: Node) -> None:
    node.site = _site()
    if not _finite(node.value) and all(
        type(x) is not Node or x.value is None or _finite(x.value) for x in node.inputs
    ):
        message = f"anomaly: '{node.op.name}' produced NaN or Inf values; {where(node)}"
        file, line = node.site[:2] if node.site else ("varjax", 0)
        warnings.warn_explicit(message, RuntimeWarning, file, line)


def diagnose_backward(region: list[Node], outputs: list[Node], gradients: list) -> None:
    """After a backward produced NaN/Inf: find the first op whose backward did it, and raise."""
    cots: dict[int, jax.Array] = {}
    for o, g in zip(outputs, gradients):
        seed = jnp.ones(o.shape, o.dtype) if g is None else jnp.broadcast_to(
            jnp.asarray(g.value), o.shape).astype(o.dtype)  # fmt: skip
        cots[id(o)] = cots.get(id(o), 0) + seed
    for n in reversed(region):
        cot = cots.get(id(n))
        if cot is None or n.value is None:
            continue
        args = [x.value if type(x) is Node else jnp.asarray(x, n.sdtype) for x in n.inputs]
        if any(a is None for a in args):
            continue
        params = dict(n.params)
        _, pullback = jax.vjp(lambda *xs, n=n, p=params: n.op.fn(*xs, **p), *args)
        for i, (x, g) in enumerate(zip(n.inputs, pullback(cot))):
            if type(x) is not Node or not x.requires_grad:
                continue
            if not _finite(g):
                raise RuntimeError(
                    f"Function '{n.op.grad_name}' returned nan/inf values in its {i}th output; "
                    f"the op was {where(n)}"
                )
            cots[id(x)] = cots.get(id(x), 0) + g


class detect_anomaly:  # noqa: N801 - PyTorch's name
    """Context manager: eager ops that remember their source line, and NaN/Inf reports.

    Example:
        >>> import varjax as vj
        >>> x = vj.tensor([0.0, 1.0], requires_grad=True)
        >>> with vj.autograd.detect_anomaly():
        ...     y = x.sqrt()
        ...     try:
        ...         y.sum().backward()
        ...     except RuntimeError as e:
        ...         print(str(e).split(";")[0])
        Function 'SqrtBackward0' returned nan/inf values in its 0th output
    """

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan

    def __enter__(self) -> None:
        self.prev = (config.anomaly, config.eager)
        config.anomaly = self.check_nan
        config.eager = config.eager or self.check_nan

    def __exit__(self, *exc) -> None:
        config.anomaly, config.eager = self.prev
