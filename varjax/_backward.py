"""Backward: the engine's two entry points, ``backward()`` and ``grad()``.

Each reads as validate -> plan -> execute -> deliver. A graph with hooks goes through
``_hooks`` (split at hooked nodes), ``create_graph`` through ``_higher_order`` (the
backward recorded as an op); otherwise one compiled ``jax.vjp`` program computes every
gradient (``_vjp``). ``backward()`` hands each gradient to its Variable's
``_accumulate_grad``, the one place a gradient enters ``.grad``; ``grad()`` returns them.

Handles (Variables) are read through ``_node``, ``_grad``, ``_hooks`` (a leaf's) and
``_accumulate_grad``; an intermediate's hooks are on its node. The engine sits below the
Variable class and never imports it.
"""

from __future__ import annotations

import threading

from . import _higher_order, _hooks, _vjp
from ._record import Node

# backward() reads each .grad it accumulates into and writes the sum back: one at a time, so
# threads training a shared model lose no gradient (PyTorch accumulates atomically too)
_ACCUMULATING = threading.RLock()


def _validate(outputs: list[Node], grads: list, targets: list | None) -> None:
    for i, out in enumerate(outputs):
        if not out.requires_grad:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn; "
                f"create the inputs with requires_grad=True (outside no_grad) to differentiate"
            )
        _vjp.check_gradient(out, grads[i], i)
    for t in targets or ():
        if not t._node.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")


def _gradients(
    outputs: list[Node], grads: list, targets: list | None, accumulate: bool,
    allow_unused: bool, retain_graph: bool, create_graph: bool,
) -> tuple[list, list, bool]:  # fmt: skip
    """(handles, gradient nodes or None, whether they already include the old ``.grad``)."""
    if _hooks.active():
        grads = _hooks.at_outputs(outputs, grads)
    if create_graph:
        handles, got = _higher_order.gradients(outputs, grads, targets, allow_unused, retain_graph)
        return handles, got, False
    if _hooks.active():
        hooked = _hooks.gradients(outputs, grads, targets, allow_unused, retain_graph)
        if hooked is not None:
            return hooked[0], hooked[1], False
    return _vjp.run(_vjp.plan(outputs, grads, targets, allow_unused), accumulate, retain_graph)


def backward(
    outputs: list[Node], grads: list[Node | None], *, inputs: list | None = None,
    retain_graph: bool = False, create_graph: bool = False,
) -> None:  # fmt: skip
    """Accumulate the gradient of ``sum_i <outputs[i], grads[i]>`` into ``.grad`` of every leaf
    it depends on (of ``inputs`` only, when given: leaves or intermediates)."""
    _validate(outputs, grads, inputs)
    with _ACCUMULATING:
        handles, got, summed = _gradients(
            outputs, grads, inputs, True, True, retain_graph, create_graph
        )
        for h, g in zip(handles, got):
            if g is not None:
                h._accumulate_grad(g, summed)


def grad(
    outputs: list[Node], inputs: list, grads: list[Node | None], *, retain_graph: bool = False,
    create_graph: bool = False, allow_unused: bool = False,
) -> list[Node | None]:  # fmt: skip
    """The gradients of ``sum_i <outputs[i], grads[i]>`` w.r.t. ``inputs``, as nodes (None for
    an unused input); ``.grad`` is untouched."""
    _validate(outputs, grads, inputs)
    handles, got, _ = _gradients(
        outputs, grads, inputs, False, allow_unused, retain_graph, create_graph
    )
    by = {id(h): g for h, g in zip(handles, got)}
    return [by.get(id(t)) for t in inputs]
