"""``create_graph=True``: the backward itself recorded as one op, so it differentiates again.

Instead of running the backward program, it is recorded as a node of the graph (the ``vjp``
op, one output per gradient), whose inputs are the program's arguments. Differentiating
that node replays the program under ``jax.vjp`` once more, so gradients of gradients are
exact to any order, and a loop of second-order steps keeps its memory flat.
"""

from __future__ import annotations

import jax.numpy as jnp

from ._forward import materialize
from ._grad_mode import enable_grad
from ._ops import Op, register
from ._program import IN, region
from ._record import Node, leaf, record_multi
from ._vjp import Plan, free, plan, vjp_fn


def _vjp_op(*xs, program, n_args, packs):
    """The backward program as an op of its inputs: all its gradients."""
    instrs, out_slots, leaf_slots, probe_slots, merge, cot_slots, avals = program
    rest = list(xs[n_args:])
    fpack = rest.pop(0) if packs[0] else None
    ipack = rest.pop(0) if packs[1] else None
    olds = (None,) * (len(leaf_slots) + len(probe_slots) if merge is None else max(merge) + 1)
    run = vjp_fn(instrs, out_slots, leaf_slots, probe_slots, merge, olds, cot_slots, avals,
                 False)  # fmt: skip
    return run(xs[:n_args], fpack, ipack)[0]


VJP = register(
    Op(
        "vjp",
        _vjp_op,
        "VjpBackward0",
        "the backward of create_graph=True, recorded as an op so it can be differentiated again",
        "backward(create_graph=True), autograd.grad(..., create_graph=True)",
    )
)


def gradients(
    outputs: list[Node], grads: list, targets: list | None, allow_unused: bool, retain_graph: bool
) -> tuple[list, list[Node]]:
    """(handles, recorded gradient nodes) of the backward of ``outputs``.

    An intermediate target is cut, so that it is an input of the recorded backward (the
    gradient's own derivative w.r.t. it must see it); leaf targets are recorded without cuts,
    so their gradients keep every path."""
    if targets is not None and any(t._node.diff for t in targets):
        inner = [t for t in targets if t._node.diff]
        outer = [t for t in targets if not t._node.diff]
        cut = frozenset(id(t._node) for t in inner)
        h1, g1 = _recorded(outputs, grads, inner, allow_unused, cut)
        h2, g2 = _recorded(outputs, grads, outer, allow_unused, frozenset()) if outer else ([], [])
        handles, got = h1 + h2, g1 + g2
    else:
        handles, got = _recorded(outputs, grads, targets, allow_unused, frozenset())
    if not retain_graph:
        free(region(outputs), outputs)
    return handles, got


def _recorded(outputs, grads, targets, allow_unused, cuts) -> tuple[list, list[Node]]:
    p = plan(outputs, grads, targets, allow_unused=allow_unused, cuts=cuts)
    pending = [n for n, s, _ in p.leaves if p.builder.instrs[s][0] is not IN]
    if pending:  # a leaf must be an input of the recorded op: compute it, then plan again
        materialize(pending)
        p = plan(outputs, grads, targets, allow_unused=allow_unused, cuts=cuts)
    return p.handles, _record_vjp(p)


def _record_vjp(p: Plan) -> list[Node]:
    """One recorded ``vjp`` node per gradient, all outputs of one op."""
    if not p.handles:
        return []
    b = p.builder
    fpack, ipack = b.packs()
    inputs = tuple(b.arg_nodes) + tuple(
        leaf(jnp.asarray(pk)) for pk in (fpack, ipack) if pk is not None
    )
    avals = (tuple(o.aval for o in p.outputs), tuple(n.aval for n, _ in p.probes), ())
    program = (tuple(b.instrs), p.region.out_slots, p.leaf_slots, p.probe_slots, p.merge,
               p.cot_slots, avals)  # fmt: skip
    params = (
        ("n_args", len(b.arg_nodes)),
        ("packs", (fpack is not None, ipack is not None)),
        ("program", program),
    )
    with enable_grad():
        return list(record_multi(VJP, inputs, params))
