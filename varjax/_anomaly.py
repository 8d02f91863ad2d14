"""Anomaly detection: ``varjax.autograd.detect_anomaly()``.

In anomaly mode every op runs as it is recorded (eager mode) and remembers the user's source
line. A NaN or Inf produced in forward is reported as a warning naming the op and the line; a
NaN or Inf in a gradient makes backward replay the graph op by op, in reverse, to find the
first op whose backward produced it, and raise PyTorch's error with that op's line.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np

from . import _record
from ._config import config
from ._record import Node
from ._source import describe, user_site


def where(node: Node) -> str:
    if node.site is None:
        return "(recorded outside anomaly mode, so its line is unknown)"
    return f"recorded at {describe(node.site)}"


def _finite(x) -> bool:
    x = np.asarray(x)
    return x.dtype.kind not in "fc" or bool(np.isfinite(x).all())


def check_forward(node: Node) -> None:
    """The recording hook of anomaly mode: remember the line, warn on a new NaN or Inf."""
    if not config.anomaly:  # an inner detect_anomaly(check_nan=False)
        return
    node.site = user_site()
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
        _, pullback = jax.vjp(_output_of(n), *args)
        for i, (x, g) in enumerate(zip(n.inputs, pullback(cot))):
            if type(x) is not Node or not x.requires_grad:
                continue
            if not _finite(g):
                raise RuntimeError(
                    f"Function '{n.op.grad_name_of(n)}' returned nan/inf values in its {i}th "
                    f"output; "
                    f"the op was {where(n)}"
                )
            cots[id(x)] = cots.get(id(x), 0) + g


def _output_of(n: Node):
    params, fn, index = dict(n.params), n.op.fn, n.index
    if n.group is None:
        return lambda *xs: fn(*xs, **params)
    return lambda *xs: fn(*xs, **params)[index]


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
        first = self.check_nan and not self.prev[0]
        self.remove = _record.add_computed_hook(check_forward) if first else None

    def __exit__(self, *exc) -> None:
        config.anomaly, config.eager = self.prev
        if self.remove is not None:
            self.remove()
