"""Forward: compute pending values, the whole pending segment as one compiled program.

``materialize`` linearizes what the targets need, runs it through the compile cache, and
stores the values back on the nodes that a user can still read, so the next segment starts
from them.
"""

from __future__ import annotations

from . import _compile, _recompile, _record, _tracing
from ._ops import P
from ._program import Builder
from ._record import Node


def store(nodes: list[Node], values) -> None:
    for n, v in zip(nodes, values):
        n.value = v
        n.depth = 0
        if not n.diff:
            n.inputs = ()  # a known value that backward never passes through needs nothing upstream


def materialize(targets: list[Node]) -> None:
    """Compute the pending ``targets`` (and live nodes on the way) as one compiled program."""
    b = Builder()
    for t in targets:
        if t.value is None and t.op is P.detach and t.inputs[0].value is not None:
            # detached while pending (a state_dict read before an optimizer step was computed),
            # computed since: the same value, no program of its own
            store([t], [t.inputs[0].value])
        elif t.value is None:
            b.value(t)
    if not b.emitted:
        return
    b.side_writes()
    nodes, outs = b.store_slots(targets)
    program = b.program(outs)
    fn = _compile.cached(
        _compile.Signature(("fwd", program.instrs, outs)),
        program.forward,
        lambda: ("forward", *_recompile.program_differ(program.instrs, program.nodes, (outs,))),
        inlined=any(_tracing.is_tracer(a) for a in program.args),
    )
    store(nodes, fn(*program.inputs))
    for n in nodes:
        if n.bwd_sig is not None:  # the value a backward skipped was read after all
            read(n)


def read(n: Node) -> None:
    """A user read the value of a backward's output (see ``_compile.wants_value``)."""
    _compile.value_read(n.bwd_sig)
    n.bwd_sig = None


_record.set_compute(materialize)
