"""Nodes, recording, and linearization of the pending graph into hashable programs.

A ``Node`` is one recorded op application (or a leaf holding a concrete array). Recording
computes the output shape and dtype from a cache of abstract evaluations and does no device
work. When a value is needed, the pending subgraph is linearized into a ``Program``: a tuple
of instructions, one per value slot, that is its own cache key (DESIGN principle 2):

    ("in", shape, dtype)                          an array fed as an argument
    (op_name, params, refs, sdtype, diff)         an op applied to earlier slots

A ref ``r >= 0`` is a slot; ``r < 0`` is a Python scalar: ``k = -1 - r`` reads element
``k >> 1`` of the float (``k`` even) or integer (``k`` odd) pack, cast to ``sdtype``. ``diff``
marks the eqns that backward differentiates.

Arrays and Python scalars are arguments of the compiled program, never constants in it.
"""

from __future__ import annotations

import itertools
import operator
from functools import cache, lru_cache

import jax
import jax.numpy as jnp
import numpy as np

from . import _compile, _recompile, _tracing
from ._config import config
from ._grad_mode import _state as _grad_state
from ._ops import OPS, Op


class Node:
    """One value in the graph: a concrete array, or an op applied to other nodes.

    ``var`` is a weak reference to the Variable bound to this node, so a node never keeps its
    Variable alive (no reference cycles) and the engine can tell which values a user can still
    read. ``seq`` orders nodes by creation, which is a topological order of the graph.
    ``freed`` is set by a backward without ``retain_graph``.
    """

    # The fields below the line are rarely set: they live in the instance dict, created only
    # when one is set, and read the class defaults otherwise (recording is the hot path).
    __slots__ = (
        "op",
        "params",
        "inputs",
        "aval",
        "sdtype",
        "value",
        "requires_grad",
        "is_leaf",
        "diff",
        "var",
        "depth",
        "seq",
        "freed",
        "__dict__",
    )
    retain = False  # retain_grad(): backward also reports this node's gradient
    site = None  # (file, line, code) of the user's code that recorded it, when asked for
    bwd_sig = None  # backward program that last skipped computing this value
    siblings: tuple | None = None  # other outputs of one multi-output update

    def __init__(self, op, params, inputs, aval, sdtype, value, requires_grad, is_leaf, depth=0):
        self.op: Op | None = op
        self.params: tuple = params
        self.inputs: tuple = inputs
        self.aval: tuple = aval  # (shape, dtype)
        self.sdtype = sdtype  # dtype that Python-scalar inputs are cast to
        self.value: jax.Array | None = value
        self.requires_grad: bool = requires_grad
        self.is_leaf: bool = is_leaf
        # differentiated by backward (an op output that requires grad); fixed at creation
        self.diff: bool = requires_grad and not is_leaf
        self.var = None
        self.depth = depth  # length of the longest pending chain ending here
        self.seq = next(_SEQ)
        self.freed = False  # a backward without retain_graph went through it (set each time)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.aval[0]

    @property
    def dtype(self) -> np.dtype:
        return self.aval[1]

    def live(self) -> bool:
        """True while a user-held Variable is still bound to this node."""
        v = self.var() if self.var is not None else None
        return v is not None and v._node is self


_SEQ = itertools.count()


def leaf(value: jax.Array, requires_grad: bool = False, aval: tuple | None = None) -> Node:
    """A concrete node; pass ``aval`` when known (reading a jax.Array's metadata is slow)."""
    if aval is None:
        aval = (tuple(value.shape), np.dtype(value.dtype))
    return Node(None, (), (), aval, None, value, requires_grad, True)


# ---------------------------------------------------------------------------------------------
# dtypes


def default_float() -> np.dtype:
    return np.dtype(jnp.float32)


@cache
def default_int() -> np.dtype:
    return np.dtype(jax.dtypes.canonicalize_dtype(np.int64))


@cache
def is_floating(dtype) -> bool:
    return bool(jnp.issubdtype(dtype, jnp.inexact))


@lru_cache(maxsize=4096)
def _promote(dtypes: tuple) -> np.dtype:
    return np.dtype(jnp.result_type(*dtypes))


def scalar_dtype(base: np.dtype, scalars) -> np.dtype:
    """The dtype PyTorch gives a Python scalar combined with tensors of dtype ``base``."""
    if any(isinstance(s, float) for s in scalars):
        return base if is_floating(base) else default_float()
    if any(not isinstance(s, bool) for s in scalars):
        return default_int() if base == np.bool_ else base
    return base


# ---------------------------------------------------------------------------------------------
# recording

_AVALS: dict = {}


def _abstract_eval(op: Op, params: tuple, inputs: tuple, sdtype) -> tuple[tuple, object]:
    """Output (shape, dtype) of ``op`` and the dtype its scalar inputs take; cached by caller."""
    if sdtype is None and any(type(x) is not Node for x in inputs):
        dtypes = tuple(x.aval[1] for x in inputs if type(x) is Node)
        base = dtypes[0] if len(dtypes) == 1 else _promote(dtypes)
        sdtype = scalar_dtype(base, [x for x in inputs if type(x) is not Node])
    avals = tuple(x.aval if type(x) is Node else ((), sdtype) for x in inputs)
    structs = [jax.ShapeDtypeStruct(*a) for a in avals]
    try:
        out = jax.eval_shape(lambda *xs: op.fn(*xs, **dict(params)), *structs)
    except Exception as e:  # JAX raises TypeError/ValueError; name the op and the shapes
        raise RuntimeError(_shape_error(op, params, avals, e)) from None
    if not isinstance(out, jax.ShapeDtypeStruct):
        raise TypeError(
            f"{op.name}: an op must return one array, got {type(out).__name__}; lift each "
            f"output with its own varjax.op"
        )
    return (tuple(out.shape), np.dtype(out.dtype)), sdtype


_HINTS = {
    "matmul": "the last dim of the first operand must equal the second-to-last dim of the second",
    "linear": "the input's last dim must equal weight.shape[1] (in_features)",
    "linear_bias": "the input's last dim must equal weight.shape[1] (in_features) and the bias "
    "must have weight.shape[0] (out_features) entries",
    "reshape": "the new shape must have the same number of elements (one dim may be -1)",
    "cat": "all inputs need the same number of dims and equal sizes except along dim",
    "stack": "all inputs need the same shape",
}
_BROADCAST = "elementwise ops need shapes that broadcast (NumPy rules)"
_ELEMENTWISE = frozenset(
    "add sub mul div pow maximum minimum where lerp lt le gt ge eq ne logical_and logical_or "
    "clamp".split()
)


def _shape_error(op: Op, params: tuple, avals: tuple, err: Exception) -> str:
    shapes = " and ".join(str(tuple(a[0])) for a in avals) or "no inputs"
    hint = _HINTS.get(op.name) or (
        _BROADCAST if op.name in _ELEMENTWISE else "check the input shapes, dtypes and arguments"
    )
    extra = f" with {dict(params)}" if params else ""
    msg = str(err).splitlines()[0] if str(err) else type(err).__name__
    return f"{op.name}: cannot apply to inputs of shapes {shapes}{extra}: {msg}. Remedy: {hint}."


def record(op: Op, inputs: tuple, params: tuple = (), sdtype=None) -> Node:
    """Record ``op`` applied to ``inputs`` (Nodes or Python scalars); no device work.

    The abstract-evaluation cache is keyed by the inputs' avals, with a Python scalar standing
    as its type (its dtype follows from the other inputs), so a hit costs one dict lookup.
    """
    key = [op.name, params, sdtype]
    requires_grad = False
    depth = 0
    for x in inputs:
        if type(x) is Node:
            key.append(x.aval)
            if x.requires_grad:
                requires_grad = True
            if x.value is None and x.depth >= depth:
                depth = x.depth + 1
        else:
            key.append(type(x))
    hit = _AVALS.get(key := tuple(key))
    if hit is None:
        hit = _AVALS[key] = _abstract_eval(op, params, inputs, sdtype)
    if requires_grad and (op.grad_name is None or not _grad_state.enabled):
        requires_grad = False
    node = Node(op, params, inputs, hit[0], hit[1], None, requires_grad, not requires_grad, depth)
    if config.explain_recompiles:
        from ._anomaly import _site

        node.site = _site()
    if depth >= config.max_pending_depth or config.eager:
        materialize([node])
        if config.anomaly:
            from ._anomaly import check_forward

            check_forward(node)
    return node


# ---------------------------------------------------------------------------------------------
# linearization


_FLOAT_PACK = {}  # dtype -> True if Python scalars cast to it travel in the float pack


def pending(root: Node, known: dict) -> list[Node]:
    """Pending nodes reachable from ``root`` and not in ``known``, in creation order."""
    seen = {id(root): root}
    stack = [root]
    while stack:
        n = stack.pop()
        more = n.inputs if n.siblings is None else n.inputs + n.siblings
        for x in more:
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


_by_seq = operator.attrgetter("seq")


class Builder:
    """Linearizes nodes into a program, collecting its array and scalar arguments."""

    def __init__(self) -> None:
        self.instrs: list[tuple] = []
        self.nodes: list[Node] = []  # the node behind each instruction (recompile explanations)
        self.slot: dict[int, int] = {}
        self.args: list[jax.Array] = []
        self.arg_nodes: list[Node] = []  # the node behind each argument
        self.fscal: list[float] = []
        self.iscal: list[int] = []
        self.emitted: list[tuple[Node, int]] = []  # pending nodes computed by the program

    def array(self, node: Node) -> int:
        """Slot of a concrete node's value, fed to the program as an argument."""
        if _tracing.state.active:
            _tracing.check_capture(node)
        self.args.append(node.value)
        self.arg_nodes.append(node)
        self.nodes.append(node)
        self.instrs.append(("in",) + node.aval)
        s = self.slot[id(node)] = len(self.instrs) - 1
        return s

    def emit(self, nodes: list[Node], slot_map: dict, diff: bool, outside) -> None:
        """Append the eqns of ``nodes`` (in order), recording each one's slot in ``slot_map``.

        A Node input not yet in ``slot_map`` gets its slot from ``outside(node)``.
        """
        instrs, fscal, iscal, behind = self.instrs, self.fscal, self.iscal, self.nodes
        get, add_instr, add_node = slot_map.get, instrs.append, behind.append
        for n in nodes:
            refs = []
            for x in n.inputs:
                if type(x) is Node:
                    s = get(id(x))
                    refs.append(outside(x) if s is None else s)
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
            slot_map[id(n)] = len(instrs)
            add_instr((n.op.name, n.params, tuple(refs), n.sdtype, diff))
            add_node(n)

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
        self.emitted.extend((n, slot[id(n)]) for n in nodes)
        return slot[id(root)]

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
        nodes, slots = [], []
        for n, s in self.emitted:
            if id(n) in keep or n.live():
                nodes.append(n)
                slots.append(s)
        return nodes, tuple(slots)


def run_instrs(instrs, args, fpack, ipack, vals: list, diff: bool, add=None) -> None:
    """Replay ``instrs`` into ``vals``: with ``diff`` only the differentiated eqns, else others.

    ``add`` maps slots to values added right after the slot is computed (backward's probes)."""
    ai = 0
    for k, ins in enumerate(instrs):
        if ins[0] == "in":
            if not diff:
                vals[k] = args[ai]
            ai += 1
        elif ins[4] == diff:
            name, params, refs, sdtype, _ = ins
            xs = [vals[r] if r >= 0 else _scalar(-1 - r, fpack, ipack, sdtype) for r in refs]
            vals[k] = OPS[name].fn(*xs, **dict(params))
            if add and k in add:
                vals[k] = vals[k] + add[k]


def _scalar(k: int, fpack, ipack, dtype):
    return (ipack if k & 1 else fpack)[k >> 1].astype(dtype)


def _forward_program(instrs: tuple, outs: tuple):
    def replay(args, fpack, ipack):
        vals = [None] * len(instrs)
        run_instrs(instrs, args, fpack, ipack, vals, diff=False)
        return tuple(vals[s] for s in outs)

    return replay


def store(nodes: list[Node], values) -> None:
    for n, v in zip(nodes, values):
        n.value = v
        n.depth = 0
        if not n.diff:
            n.inputs = ()  # a known value that backward never passes through needs nothing upstream
        if n.siblings is not None:  # computed together: drop the reference cycle among them
            del n.siblings


def materialize(targets: list[Node]) -> None:
    """Compute the pending ``targets`` (and live nodes on the way) as one compiled program."""
    b = Builder()
    for t in targets:
        if t.value is None:
            b.value(t)
    if not b.emitted:
        return
    nodes, outs = b.store_slots(targets)
    instrs = tuple(b.instrs)
    sig = _compile.Signature(("fwd", instrs, outs))
    fn = _compile.cached(
        sig,
        lambda: _forward_program(instrs, outs),
        lambda: ("forward", *_recompile.program_differ(instrs, b.nodes, (outs,))),
    )
    store(nodes, fn(tuple(b.args), *b.packs()))
    for n in nodes:
        if n.bwd_sig is not None:  # the value a backward skipped was read after all
            _compile.value_read(n.bwd_sig)
            n.bwd_sig = None
