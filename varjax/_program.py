"""Programs: the pending graph linearized into a hashable tuple of instructions, one replay,
and the program as a pure function of chosen leaves.

The one linearizer (``Builder``) turns nodes into instructions, one per value slot:

    (IN, shape, dtype, layout)             an array fed as an argument (layout: None on JAX's
                                           first device, else its sharding: _device.layout)
    (op, params, refs, sdtype, diff)       an op (the ``Op`` object itself) on earlier slots
    (OUT, k, i)                            output i > 0 of the multi-output op at slot k

A ref ``r >= 0`` is a slot; ``r < 0`` is a Python scalar: ``k = -1 - r`` reads element
``k >> 1`` of the float (``k`` even) or integer (``k`` odd) pack, cast to ``sdtype``. ``diff``
marks the eqns backward differentiates (True), and ``POST`` the eqns a backward replays after
its vjp, reading the forward values the vjp computed (``Builder.side_writes``). Arrays and
Python scalars are arguments of the compiled program, never constants in it (DESIGN
principle 2), so the instructions are their own cache key.

Forward materialization, backward and ``autograd.functional`` all run what ``Builder``
linearizes through ``replay``, and backward and the functional transforms take the same
``pure`` function of the differentiated leaves.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

import jax
import numpy as np

from . import _tracing
from ._device import layout
from ._dtypes import default_int, is_floating
from ._ops import OPS, P
from ._record import Node, pending_writes


class _Marker:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


IN = _Marker("in")  # instruction kind: an array argument
OUT = _Marker("out")  # instruction kind: a further output of the op at an earlier slot
POST = 2  # the ``diff`` flag of an eqn replayed after backward's vjp (neither True nor False)

_by_seq = operator.attrgetter("seq")

# x[mask].sum() and .mean() over every dim: reductions a program fuses into a selection
# nothing else reads (see Builder.emit), so the mask's count is not part of the program
_SELECT = P.mask_select
_FUSES = {OPS["sum"]: "sum", OPS["mean"]: "mean"}
_WHOLE = (("axis", None), ("keepdims", False))  # the params of a reduction over every dim


# -- walking the graph ----------------------------------------------------------------------------


def pending(root: Node, known: dict) -> list[Node]:
    """Pending nodes reachable from ``root`` and not in ``known``, in creation order."""
    seen = {id(root): root}
    stack = [root]
    while stack:
        for x in stack.pop().inputs:
            if type(x) is Node and x.value is None and id(x) not in seen and id(x) not in known:
                seen[id(x)] = x
                stack.append(x)
    return sorted(seen.values(), key=_by_seq)


def differentiated(root: Node, stop: frozenset = frozenset()) -> list[Node]:
    """The nodes backward differentiates through from ``root`` (not past the node ids in
    ``stop``), in creation order."""
    seen = {id(root): root}
    stack = [root]
    while stack:
        for x in stack.pop().inputs:
            if type(x) is Node and x.diff and id(x) not in seen and id(x) not in stop:
                seen[id(x)] = x
                stack.append(x)
    return sorted(seen.values(), key=_by_seq)


def side_closure(w: Node, *known: dict) -> list[Node] | None:
    """The pending nodes computing ``w`` that no dict in ``known`` holds, in creation order.

    None if ``w`` reads no pending node ``known`` holds (nothing this program computes), or
    needs a differentiated node it lacks (another graph's forward: not ours to compute)."""
    if any(id(w) in k for k in known):
        return None
    seen = {id(w): w}
    stack, reads = [w], False
    while stack:
        for x in stack.pop().inputs:
            if type(x) is not Node or x.value is not None or id(x) in seen:
                continue
            if any(id(x) in k for k in known):
                reads = True
            elif x.diff:
                return None
            else:
                seen[id(x)] = x
                stack.append(x)
    return sorted(seen.values(), key=_by_seq) if reads else None


def region(outputs: list[Node], cuts: frozenset = frozenset()) -> list[Node]:
    """The differentiated nodes behind all ``outputs`` (not past ``cuts``), in creation order,
    without repeats."""
    if len(outputs) == 1:
        return differentiated(outputs[0], cuts) if outputs[0].diff else []
    seen: dict[int, Node] = {}
    for o in outputs:
        if o.diff and id(o) not in seen:
            for n in differentiated(o, cuts):
                seen[id(n)] = n
    return sorted(seen.values(), key=_by_seq)


# -- the linearizer -------------------------------------------------------------------------------

_FLOAT_PACK: dict = {}  # dtype -> True if Python scalars cast to it travel in the float pack


class Builder:
    """Linearizes nodes into instructions, collecting the program's array and scalar inputs."""

    __slots__ = ("instrs", "nodes", "slot", "args", "arg_nodes", "fscal", "iscal", "emitted",
                 "groups", "deferred", "undeferred")  # fmt: skip

    def __init__(self) -> None:
        self.instrs: list[tuple] = []
        self.nodes: list[Node] = []  # the node behind each instruction (recompile explanations)
        self.slot: dict[int, int] = {}
        self.args: list[jax.Array] = []
        self.arg_nodes: list[Node] = []  # the node behind each argument
        self.fscal: list[float] = []
        self.iscal: list[int] = []
        self.emitted: list[tuple[Node, int]] = []  # pending nodes computed by the program
        self.groups: dict[tuple, int] = {}  # (group, diff) -> slot of its eqn's first output
        # selections no Variable holds, emitted only if something but a fused reduction reads
        # them, by (node id, id of the slot map they were met in)
        self.deferred: dict[tuple[int, int], Node] = {}
        self.undeferred: set[tuple[int, int]] = set()

    def array(self, node: Node) -> int:
        """Slot of a concrete node's value, fed to the program as an argument."""
        if _tracing.state.active:
            _tracing.check_capture(node)
            where = None  # the enclosing program's inputs carry the shardings
        else:
            where = layout(node.value)  # a new sharding compiles anew: part of the signature
        self.args.append(node.value)
        self.arg_nodes.append(node)
        self.nodes.append(node)
        self.instrs.append((IN, *node.aval, where))
        s = self.slot[id(node)] = len(self.instrs) - 1
        return s

    def emit(self, nodes: list[Node], slot_map: dict, diff: bool, outside) -> None:
        """Append the eqns of ``nodes`` (in order), recording each one's slot in ``slot_map``.

        A Node input not yet in ``slot_map`` gets its slot from ``outside(node)``."""
        # the hot loop of every compiled call: locals instead of attribute lookups
        instrs, fscal, iscal, behind = self.instrs, self.fscal, self.iscal, self.nodes
        get, add_instr, add_node, groups = slot_map.get, instrs.append, behind.append, self.groups
        deferred = self.deferred
        for n in nodes:
            if n.op is _SELECT and self._defer(n, slot_map):
                continue
            if deferred and n.op in _FUSES and self._fused(n, slot_map, diff, outside):
                continue
            group = n.group
            if group is not None and (id(group), diff) in groups:  # its eqn is out already
                slot_map[id(n)] = groups[id(group), diff] + n.index
                continue
            refs = []
            for x in n.inputs:
                if type(x) is Node:
                    s = get(id(x))
                    if s is None:
                        s = self._outside(x, slot_map, diff, outside) if deferred else outside(x)
                    refs.append(s)
                else:
                    f = _FLOAT_PACK.get(n.sdtype)
                    if f is None:
                        f = _FLOAT_PACK[n.sdtype] = is_floating(n.sdtype)
                    if f:
                        fscal.append(x)
                        refs.append(-2 * len(fscal) + 1)
                    else:
                        iscal.append(x)
                        refs.append(-2 * len(iscal))
            if group is None:
                slot_map[id(n)] = len(instrs)
                add_instr((n.op, n.params, tuple(refs), n.sdtype, diff))
                add_node(n)
            else:
                self._emit_group(n, tuple(refs), slot_map, diff)

    def _defer(self, n: Node, slot_map: dict) -> bool:
        key = (id(n), id(slot_map))
        if n.live() or key in self.undeferred:
            return False
        self.deferred[key] = n
        return True

    def _undefer(self, x: Node, slot_map: dict, diff: bool, outside) -> int | None:
        """Emit a deferred selection that something other than a fused reduction reads (its
        slot; None if ``x`` was not deferred in ``slot_map``)."""
        key = (id(x), id(slot_map))
        if self.deferred.pop(key, None) is None:
            return None
        self.undeferred.add(key)
        self.emit([x], slot_map, diff, outside)
        return slot_map[id(x)]

    def _outside(self, x: Node, slot_map: dict, diff: bool, outside) -> int:
        """Slot of a node ``slot_map`` lacks: a selection deferred there, emitted now, or
        what ``outside`` gives."""
        s = self._undefer(x, slot_map, diff, outside)
        return outside(x) if s is None else s

    def _fused(self, n: Node, slot_map: dict, diff: bool, outside) -> bool:
        """Emit the reduction ``n`` of a deferred selection as ``select_reduce`` of the
        selection's input and mask (``_ops._select_reduce``); False if ``n`` is not one."""
        g = n.inputs[0]
        if (id(g), id(slot_map)) not in self.deferred or n.params != _WHOLE:
            return False
        refs = tuple(
            slot_map[id(x)] if id(x) in slot_map else self._outside(x, slot_map, diff, outside)
            for x in g.inputs[:2]
        )
        slot_map[id(n)] = len(self.instrs)
        self.instrs.append((P.select_reduce, (("reduce", _FUSES[n.op]),), refs, n.sdtype, diff))
        self.nodes.append(n)
        return True

    def _emit_group(self, n: Node, refs: tuple, slot_map: dict, diff: bool) -> None:
        """A multi-output op: one eqn whose outputs fill consecutive slots (its out binders).
        Every live output gets its slot, so computing one output stores them all."""
        base = self.groups[id(n.group), diff] = len(self.instrs)
        outs = {m.index: m for m in n.group.alive()}
        count = len(n.group.outs)
        self.instrs.append((n.op, n.params, refs, n.sdtype, diff))
        self.instrs.extend((OUT, base, i) for i in range(1, count))
        self.nodes.extend(outs.get(i, n) for i in range(count))
        for i, m in outs.items():
            if id(m) not in slot_map:
                slot_map[id(m)] = base + i
                if m is not n and not diff:
                    self.emitted.append((m, base + i))
        slot_map[id(n)] = base + n.index

    def value(self, root: Node) -> int:
        """Slot holding ``root``'s value: an argument if concrete, else computed here."""
        slot = self.slot
        s = slot.get(id(root))
        if s is not None:
            return s
        if root.value is not None:
            return self.array(root)
        nodes = pending(root, slot)
        self.emit(nodes, slot, False, self.array)  # inputs outside are concrete: arguments
        if self.deferred:
            self._undefer(root, slot, False, self.array)  # wanted itself
            nodes = [n for n in nodes if id(n) in slot]
        self.emitted.extend((n, slot[id(n)]) for n in nodes)
        return slot[id(root)]

    def side_writes(self, region: dict | None = None) -> None:
        """Also compute each pending in-place write that needs no gradient and reads a value
        this program computes (``_record.pending_writes``: BatchNorm's running stats, ...).

        In a forward its eqns join the others; in a backward (``region``: the region's slots)
        they are ``POST`` eqns, replayed after the vjp on the forward values it computed, so
        the forward runs once and backward can free it."""
        post: dict[int, int] = {}
        known = (self.slot, post) if region is None else (self.slot, region, post)
        for w in pending_writes():
            nodes = side_closure(w, *known)
            if nodes is None:
                continue
            slots = self.slot if region is None else post
            if region is None:
                self.emit(nodes, slots, False, self.array)
            else:
                self.emit(nodes, post, POST, lambda x: self._known(x, region))
            self.emitted.extend((n, slots[id(n)]) for n in nodes if id(n) in slots)

    def _known(self, x: Node, region: dict) -> int:
        s = region.get(id(x))
        if s is None:
            s = self.slot.get(id(x))
        return self.array(x) if s is None else s

    def packs(self) -> tuple:
        f = (
            np.asarray(self.fscal, jax.dtypes.canonicalize_dtype(np.float64))
            if self.fscal
            else None
        )
        i = np.asarray(self.iscal, default_int()) if self.iscal else None
        return f, i

    def store_slots(self, targets: list[Node]) -> tuple[list[Node], tuple[int, ...]]:
        """The computed nodes whose values go back to the graph: targets and live nodes."""
        keep = {id(t) for t in targets}
        nodes, slots, seen = [], [], set()
        for n, s in self.emitted:
            if (id(n) in keep or n.live()) and s not in seen:
                seen.add(s)
                nodes.append(n)
                slots.append(s)
        return nodes, tuple(slots)

    def program(self, outs: tuple = (), leaves: tuple = (), probes: tuple = ()) -> Program:
        """The linearized program, returning the slots ``outs`` (see ``Program``)."""
        fpack, ipack = self.packs()
        return Program(
            tuple(self.instrs), tuple(outs), tuple(leaves), tuple(probes),
            tuple(self.args), fpack, ipack, self.nodes, tuple(self.arg_nodes),
        )  # fmt: skip

    def linearize_region(
        self, outputs: list[Node], take: Callable[[Node], bool], cuts: frozenset = frozenset()
    ) -> Region:
        """Linearize what differentiating ``outputs`` needs: the differentiated nodes behind
        them as diff eqns, everything they read as values computed (or fed) before them.

        A node read from outside the region becomes a leaf of the differentiated function
        when ``take(node)`` holds; a node in ``cuts`` is not differentiated through (it is an
        input of the function: backward's hook splits)."""
        nodes = region(outputs, cuts)
        leaves: dict[int, tuple[Node, int]] = {}

        def boundary(x: Node) -> int:
            s = self.value(x)
            if take(x):
                leaves.setdefault(id(x), (x, s))
            return s

        dslot: dict[int, int] = {}
        outside = lambda x: dslot.setdefault(id(x), boundary(x))  # noqa: E731
        self.emit(nodes, dslot, True, outside)
        for o in outputs if self.deferred else ():
            self._undefer(o, dslot, True, outside)  # an output is wanted itself
        out_slots = tuple(dslot[id(o)] if o.diff else boundary(o) for o in outputs)
        return Region(nodes, leaves, dslot, out_slots)


@dataclass(slots=True)
class Region:
    """A linearized differentiated region (see ``Builder.linearize_region``)."""

    nodes: list[Node]  # the differentiated nodes, in creation order
    leaves: dict[int, tuple[Node, int]]  # node id -> (node, slot) of each leaf taken
    slots: dict[int, int]  # node id -> slot, for region nodes and what they read
    out_slots: tuple[int, ...]


@dataclass(eq=False, slots=True)
class Program:
    """A linearized program: its instructions, what it returns, and its inputs for one call.

    ``instrs``, ``outs``, ``leaves`` and ``probes`` are the structure (hashable; compiled
    programs close over nothing else); ``args`` and the scalar packs are the values fed to
    it; ``nodes[i]`` is the node behind instruction ``i`` (for recompile explanations)."""

    instrs: tuple
    outs: tuple
    leaves: tuple  # slots the pure function takes as arguments (differentiated leaves)
    probes: tuple  # slots whose value the pure function's probe argument is added to
    args: tuple
    fpack: np.ndarray | None
    ipack: np.ndarray | None
    nodes: list
    arg_nodes: tuple

    @property
    def inputs(self) -> tuple:
        """What the compiled program is called with: ``(args, fpack, ipack)``."""
        return self.args, self.fpack, self.ipack

    def forward(self) -> Callable:
        """The program as ``f(args, fpack, ipack) -> values of outs`` (see ``forward_fn``)."""
        return forward_fn(self.instrs, self.outs)

    def pure(self) -> Callable:
        """The program as a pure function of its leaves (see ``pure_fn``)."""
        return pure_fn(self.instrs, self.leaves, self.outs, self.probes)


def forward_fn(instrs: tuple, outs: tuple) -> Callable:
    """``run(args, fpack, ipack)``: every instruction replayed, the values of ``outs``
    returned (nothing differentiated)."""

    def run(args, fpack, ipack):
        vals = [None] * len(instrs)
        replay(instrs, args, fpack, ipack, vals, diff=False)
        return tuple(vals[s] for s in outs)

    return run


def pure_fn(
    instrs: tuple, leaves: tuple, outs: tuple, probes: tuple = (), aux: tuple = ()
) -> Callable:
    """``bind(args, fpack, ipack) -> (f, vals)``: ``vals`` are the slots computed outside the
    differentiated region, and ``f(primals, added=())`` the region as a pure function of
    the leaf values (slots ``leaves``; a negative slot is an input nothing reads), returning
    the values of ``outs``; ``added[i]`` is added to slot ``probes[i]`` once computed. With
    ``aux`` slots, ``f`` returns ``(outs values, aux values)`` (``jax.vjp``'s ``has_aux``)."""

    def bind(args, fpack, ipack):
        vals = [None] * len(instrs)
        replay(instrs, args, fpack, ipack, vals, diff=False)

        def f(primals, added=()):
            v = list(vals)
            for s, p in zip(leaves, primals):
                if s >= 0:
                    v[s] = p
            replay(instrs, args, fpack, ipack, v, diff=True, add=dict(zip(probes, added)))
            if aux:
                return tuple(v[s] for s in outs), tuple(v[s] for s in aux)
            return tuple(v[s] for s in outs)

        return f, vals

    return bind


def post_reads(instrs: tuple) -> tuple | None:
    """The slots of differentiated eqns that ``POST`` eqns read (the vjp hands them out);
    None if there are no ``POST`` eqns."""

    def diff_eqn(r):
        ins = instrs[r]
        if ins[0] is OUT:
            ins = instrs[ins[1]]
        return ins[0] is not IN and ins[4] is True

    post = [ins for ins in instrs if ins[0] is not IN and ins[0] is not OUT and ins[4] == POST]
    if not post:
        return None
    return tuple(sorted({r for ins in post for r in ins[2] if r >= 0 and diff_eqn(r)}))


def replay(instrs, args, fpack, ipack, vals: list, diff: bool | int, add=None) -> None:
    """Run ``instrs`` into ``vals``: the eqns whose flag is ``diff`` (True: the differentiated
    ones, False: the others, ``POST``: those after a vjp).

    ``add`` maps slots to values added right after the slot is computed (backward's probes)."""
    ai = 0
    for k, ins in enumerate(instrs):
        kind = ins[0]
        if kind is IN:
            if not diff:
                vals[k] = args[ai]
            ai += 1
        elif kind is OUT or ins[4] != diff:
            continue
        else:
            _, params, refs, sdtype, _ = ins
            xs = [vals[r] if r >= 0 else _scalar(-1 - r, fpack, ipack, sdtype) for r in refs]
            out = kind.fn(*xs, **dict(params))
            if isinstance(out, (tuple, list)):
                vals[k : k + len(out)] = out
                touched = range(k, k + len(out))
            else:
                vals[k] = out
                touched = (k,)
            if add:
                for s in touched:
                    if s in add:
                        vals[s] = vals[s] + add[s]


def _scalar(k: int, fpack, ipack, dtype):
    return (ipack if k & 1 else fpack)[k >> 1].astype(dtype)
