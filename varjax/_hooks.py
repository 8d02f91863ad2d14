"""Backward hooks: a backward split at hooked intermediates, and leaf hooks before ``.grad``.

A backward with no hook in its graph stays one fused call. Otherwise it is cut at every
hooked intermediate: the first call runs from the outputs down to the cuts; then, latest
first, each hooked node's gradient (complete by then: every path from the outputs to it
passes through later nodes) goes through its hooks and is sent on down to the remaining
cuts. One compiled call per hooked node, plus one. Hooks on leaves see the total gradient.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from ._ops import P
from ._program import region
from ._record import Node, autograd_node, leaf, record
from ._vjp import free, leaf_handle, plan, run

_ACTIVE = [False]  # becomes True at the first register_hook() of the process


def note_registered() -> None:
    """Called by ``register_hook``: from now on, backward looks for hooks in its graph."""
    _ACTIVE[0] = True


def active() -> bool:
    return _ACTIVE[0]


def hooked(n: Node) -> Any:
    """The hooks registered on this version of an intermediate (run with ``.run(g)``), or
    None."""
    return n.hooks or None


def at_outputs(outputs: list[Node], grads: list) -> list:
    """The gradient arguments, each through the hooks of the output it starts from (an
    intermediate's: a leaf output's hooks run with the other leaves')."""
    out = []
    for o, g in zip(outputs, grads):
        h = hooked(o) if o.diff else None
        if h is not None:
            g = h.run(leaf(jnp.ones(o.shape, o.dtype)) if g is None else g)
        out.append(g)
    return out


def _leaves(nodes: list[Node], outputs: list[Node]) -> list:
    """The live Variables of the leaves that require grad, read by the region (or being
    outputs), once each (a leaf read in two versions is one Variable), in order."""
    found: dict[int, Any] = {}
    for x in [x for n in nodes for x in n.inputs] + [o for o in outputs if not o.diff]:
        v = leaf_handle(x) if type(x) is Node and not x.diff else None
        if v is not None:
            found.setdefault(id(v), v)
    return list(found.values())


def gradients(
    outputs: list[Node], grads: list, targets: list | None, allow_unused: bool, retain_graph: bool
) -> tuple[list, list] | None:
    """(targets, their gradients with every hook applied) if the graph has hooks, else None
    (the caller runs the fused backward)."""
    nodes = region(outputs)
    leaves = _leaves(nodes, outputs)
    inner = _hooked_intermediates(nodes, outputs)
    if not inner and not any(_is_hooked_leaf(v) for v in leaves):
        return None
    if targets is None:
        targets = leaves + [n.var() for n in nodes if n.retain and n.live()]
    elif not allow_unused:
        plan(outputs, grads, targets)  # raises the usual error for an unused input
    got = _split(outputs, grads, targets, inner)
    got = [t._hooks.run(g) if g is not None and _is_hooked_leaf(t) else g
           for t, g in zip(targets, got)]  # fmt: skip
    if not retain_graph:
        free(nodes, outputs)
    return targets, got


def _hooked_intermediates(nodes: list[Node], outputs: list[Node]) -> list[Node]:
    """The region's hooked nodes other than the outputs themselves."""
    outs = {id(o) for o in outputs}
    return [n for n in nodes if id(n) not in outs and hooked(n) is not None]


def _is_hooked_leaf(t) -> bool:
    return t._node.is_leaf and bool(getattr(t, "_hooks", None))


def _raw(outputs: list[Node], grads: list, targets: list, cuts: frozenset) -> list:
    """Gradients (nodes or None) of ``targets``, the backward cut at ``cuts``; no hooks run."""
    handles, got, _ = run(plan(outputs, grads, targets, True, cuts), False, True)
    by = {id(h): g for h, g in zip(handles, got)}
    return [by.get(id(t)) for t in targets]


def _add(a: Node | None, b: Node | None) -> Node | None:
    if a is None or b is None:
        return b if a is None else a
    return record(P.add, (a, b))


def _split(outputs: list[Node], grads: list, targets: list, hooked_nodes: list[Node]) -> list:
    """Raw gradients of ``targets``, calling the hooks of the intermediates on the way."""
    if not hooked_nodes:
        return _raw(outputs, grads, targets, frozenset())
    k = len(targets)
    # a cut is its own handle: a hooked version may be bound to no Variable any more
    res = _raw(outputs, grads, targets + hooked_nodes, frozenset(id(n) for n in hooked_nodes))
    total, pending = res[:k], dict(zip(map(id, hooked_nodes), res[k:]))
    final: dict[int, Node] = {}  # each hooked node's gradient, through its hooks
    for i in range(len(hooked_nodes) - 1, -1, -1):
        y, rest = hooked_nodes[i], hooked_nodes[:i]
        g = pending[id(y)]
        if g is None:
            continue
        g = final[id(y)] = hooked(y).run(g)
        res = _raw([y], [g], targets + rest, frozenset(id(n) for n in rest))
        total = [_add(a, b) for a, b in zip(total, res[:k])]
        for n, r in zip(rest, res[k:]):
            pending[id(n)] = _add(pending[id(n)], r)
    # a hooked target's .grad is its hooked gradient (retain_grad runs after the hooks)
    return [final.get(id(autograd_node(t._node)), g) for t, g in zip(targets, total)]
