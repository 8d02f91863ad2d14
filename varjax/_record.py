"""Recording: nodes of the lazy graph, and ``record()``, which makes them without device work.

A ``Node`` is one value in the graph: a concrete array (a leaf, or a computed value) or an op
applied to other nodes. ``record`` computes the output's shape and dtype from a cache of
abstract evaluations, so a shape error is raised on the user's line, and nothing runs.
An op with several outputs (``record_multi``) makes one node per output, sharing one
``Group``: the program computes them together, as one instruction with several out binders.

Two things above this module act at record time, so they register here instead of being
imported: ``_forward`` says how to compute a node at once (eager mode, and a pending chain
that grew too deep), and anomaly mode adds a hook that checks each value computed then.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable

import jax
import numpy as np

from . import _autocast, _caches, _device
from ._config import config
from ._dtypes import promote, scalar_dtype
from ._grad_mode import _state as _grad_state
from ._ops import Op, P
from ._source import describe, user_site


class Group:
    """The outputs of one multi-output op application, computed together.

    The group holds its outputs weakly: computing one output stores the value of every
    output a user can still reach, and an output nobody holds is simply not stored."""

    __slots__ = ("outs", "__weakref__")

    def __init__(self, outs: list[Node]) -> None:
        self.outs = [weakref.ref(n) for n in outs]

    def alive(self) -> list[Node]:
        return [n for n in (r() for r in self.outs) if n is not None]


class Node:
    """One value in the graph: a concrete array, or an op applied to other nodes.

    ``var`` is a weak reference to the Variable bound to this node, so a node never keeps its
    Variable alive (no reference cycles) and the engine can tell which values a user can still
    read. ``seq`` orders nodes by creation, which is a topological order of the graph.
    ``freed`` is set by a backward without ``retain_graph``.

    Example:
        >>> import varjax as vj
        >>> from varjax._record import Node
        >>> x = vj.tensor([1.0, 2.0])
        >>> y = x * 2  # recorded, not computed
        >>> isinstance(y._node, Node), y._node.op, y._node.inputs[0] is x._node
        (True, Op(mul), True)
        >>> y._node.shape, y._node.value is None
        ((2,), True)
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
        "__weakref__",  # a multi-output Group holds its outputs weakly
    )
    retain = False  # retain_grad(): backward also reports this node's gradient
    site = None  # (file, line, code) of the user's code that recorded it, when asked for
    bwd_sig = None  # (backward program, call site, returned?) of a backward's output value
    group: Group | None = None  # the outputs computed with this one (multi-output ops)
    placement = None  # the device its value is committed to, once varjax placed values
    hooks = None  # backward hooks registered on this version of an intermediate (Hooks)
    index = 0  # which output of its group this node is
    writes = 0  # in-place updates of its Variable since that Variable last held a value

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


def next_seq() -> int:
    """A sequence number: every node made after this call has a larger ``seq``."""
    return next(_SEQ)


def leaf(value: jax.Array, requires_grad: bool = False, aval: tuple | None = None) -> Node:
    """A concrete node; pass ``aval`` when known (reading a jax.Array's metadata is slow).

    Example:
        >>> import jax.numpy as jnp
        >>> from varjax._record import leaf
        >>> n = leaf(jnp.ones((2, 3), dtype=jnp.float32))
        >>> n.is_leaf, n.shape, n.dtype
        (True, (2, 3), dtype('float32'))
    """
    if aval is None:
        aval = (tuple(value.shape), np.dtype(value.dtype))
    return Node(None, (), (), aval, None, value, requires_grad, True)


def autograd_node(node: Node) -> Node:
    """The node autograd sees for ``node``: changes it did not see (``follow`` nodes: a write
    under no_grad or through an alias) are transparent, as in PyTorch, where such a write keeps
    the tensor's grad_fn, its hooks and its retained gradient."""
    while node.op is P.follow:
        node = node.inputs[0]
    return node


def detached(node: Node) -> Node:
    """A new leaf with ``node``'s value (shared, or computed when needed) and no history."""
    if node.value is not None:
        return leaf(node.value, aval=node.aval)
    return record(P.detach, (node,))


# -- abstract evaluation --------------------------------------------------------------------------

# (op, params, sdtype, input avals...) -> (aval(s), sdtype, outputs or 0; -1: cast first)
_AVALS: dict = {}
_caches.register(_AVALS.clear)


def _scalar_dtype(inputs: tuple, sdtype):
    """The dtype Python-scalar inputs take: as given, or PyTorch's rule for the tensors'."""
    if sdtype is not None or all(type(x) is Node for x in inputs):
        return sdtype
    dtypes = tuple(x.aval[1] for x in inputs if type(x) is Node)
    base = dtypes[0] if len(dtypes) == 1 else promote(dtypes)
    return scalar_dtype(base, [x for x in inputs if type(x) is not Node])


def _abstract_eval(op: Op, params: tuple, inputs: tuple, sdtype) -> tuple:
    """(output aval, or a tuple of them; the dtype scalar inputs take; number of outputs, 0
    for an op with one output)."""
    sdtype = _scalar_dtype(inputs, sdtype)
    avals = tuple(x.aval if type(x) is Node else ((), sdtype) for x in inputs)
    structs = [jax.ShapeDtypeStruct(*a) for a in avals]
    try:
        out = jax.eval_shape(lambda *xs: op.fn(*xs, **dict(params)), *structs)
    except Exception as e:  # JAX raises TypeError/ValueError; name the op and the shapes
        raise RuntimeError(_shape_error(op, params, avals, e)) from None
    if isinstance(out, jax.ShapeDtypeStruct):
        return (tuple(out.shape), np.dtype(out.dtype)), sdtype, 0
    if (
        not isinstance(out, (tuple, list))
        or not out
        or not all(isinstance(o, jax.ShapeDtypeStruct) for o in out)
    ):
        raise TypeError(
            f"{op.name}: an op must return an array or a tuple of arrays, got {type(out).__name__}"
        )
    return tuple((tuple(o.shape), np.dtype(o.dtype)) for o in out), sdtype, len(out)


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


_CATEGORY = {"b": 0, "i": 1, "u": 1, "f": 2, "c": 3}  # bool < integers < floats < complex


def _category(dtype: np.dtype) -> int:
    return _CATEGORY[dtype.kind]


def _zero_dim_promotion(op: Op, inputs: tuple) -> tuple | None:
    """PyTorch's promotion for elementwise ops, where JAX's differs: a 0-d tensor of no
    higher category than the dimensioned ones takes their dtype (a float16 tensor times a 0-d
    float32 tensor is float16; JAX would widen to float32). (target dtype, indices of the
    inputs to cast) or None; other cases JAX already promotes as PyTorch does."""
    start = 1 if op is P.where else 0  # where's condition takes no part
    nodes = [(i, x) for i, x in enumerate(inputs) if i >= start and type(x) is Node]
    dims = tuple(x.aval[1] for _, x in nodes if x.aval[0])
    if not dims or len(dims) == len(nodes):
        return None
    target = promote(dims)
    if promote(tuple(x.aval[1] for _, x in nodes)) == target:
        return None
    cast = tuple(
        i for i, x in nodes
        if not x.aval[0] and _category(x.aval[1]) <= _category(target) and x.aval[1] != target
    )  # fmt: skip
    return (target, cast) if cast else None


# ops whose tensor inputs must share a dtype, as PyTorch's matmul, linear and conv insist
# (NumPy would promote, and a model cast to bfloat16 would silently run in float32)
_SAME_DTYPE = {
    "matmul", "linear", "linear_bias", "einsum", "outer", "conv2d", "conv_nd", "conv_transpose",
    "scaled_dot_product_attention",
}  # fmt: skip


def _check_same_dtype(op: Op, inputs: tuple) -> None:
    dtypes = [x.aval[1] for x in inputs if type(x) is Node]
    if any(d != dtypes[0] for d in dtypes):
        names = " and ".join(str(d) for d in dict.fromkeys(dtypes))
        raise RuntimeError(
            f"{op.name}: expected its inputs to have the same dtype, but got {names}; cast "
            f"one of them (e.g. x.to(weight.dtype), or model.float()), or run the block "
            f"under varjax.autocast to mix precisions"
        )


def _miss(op: Op, params: tuple, inputs: tuple, sdtype) -> tuple:
    """The abstract-evaluation cache entry for a new key: (aval(s), sdtype, outputs), or
    (cast, None, -1) when some inputs must first be cast (``_zero_dim_promotion``): a negative
    output count, so the common path tests nothing more than it did."""
    if op.name in _SAME_DTYPE:
        _check_same_dtype(op, inputs)
    cast = _zero_dim_promotion(op, inputs) if op.elementwise else None
    if cast is not None:
        return cast, None, -1
    return _abstract_eval(op, params, inputs, sdtype)


def _cast(inputs: tuple, cast: tuple) -> tuple:
    target, which = cast
    dt = (("dtype", target),)
    return tuple(record(P.astype, (x,), dt) if i in which else x for i, x in enumerate(inputs))


def record(op: Op, inputs: tuple, params: tuple = (), sdtype=None) -> Node:
    """Record ``op`` applied to ``inputs`` (Nodes or Python scalars); no device work.

    The abstract-evaluation cache is keyed by the inputs' avals, with a Python scalar standing
    as its type (its dtype follows from the other inputs), so a hit costs one dict lookup.
    An op with several outputs gives a tuple of nodes (see ``record_multi``)."""
    if _autocast.entered and _autocast.state.dtype is not None:
        cast = _autocast.plan(op, inputs)
        if cast is not None:
            inputs = _cast(inputs, cast)
    if op.check is not None:
        op.check(*inputs)
    key = [op, params, sdtype]
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
        hit = _AVALS[key] = _miss(op, params, inputs, sdtype)
    if requires_grad and (op.grad_name is None or not _grad_state.enabled):
        requires_grad = False
    if hit[2]:
        if hit[2] < 0:
            return record(op, _cast(inputs, hit[0]), params, sdtype)
        return _outputs(op, params, inputs, hit, requires_grad, depth)
    node = Node(op, params, inputs, hit[0], hit[1], None, requires_grad, not requires_grad, depth)
    if _placing:
        _place(op, inputs, (node,))
    if config.explain_recompiles:
        node.site = user_site()
    if depth >= config.max_pending_depth or config.eager:
        _settle([node])
    return node


def settle_chain(node: Node, limit: int) -> None:
    """Compute ``node`` now if it is the ``limit``-th pending in-place update of its Variable:
    a loop of in-place updates (``N[a, b] += 1``) then runs as chunks of one structure, one
    compiled program reused, instead of one ever longer program that XLA compiles slowly.
    Updates are counted, not the graph's depth: a running statistic written after a deep
    forward is one update, computed with the forward that produced it (``note_write``)."""
    if node.value is None and node.writes >= limit and not config.eager:
        _settle([node])


# Handles rebound in place to a pending value that needs no gradient (BatchNorm's running
# stats, counters, `total += loss.detach()`), by id. Nothing reads them in the step that
# wrote them, so the program that computes what they read computes them too
# (``Builder.side_writes``): otherwise the forward they read would be freed by backward and
# recomputed for them later, in a program of its own.
_WRITES: dict[int, weakref.ref] = {}


def note_write(v) -> None:
    """``v`` (a handle with ``_node``) was just rebound in place to a pending, non-diff node."""
    r = _WRITES.get(id(v))
    if r is None or r() is not v:
        _WRITES[id(v)] = weakref.ref(v)


def pending_writes() -> list[Node]:
    """The pending nodes of the handles ``note_write`` saw (forgetting settled or dead ones)."""
    out = []
    for k, r in list(_WRITES.items()):
        v = r()
        if v is None or v._node.value is not None or v._node.diff:
            del _WRITES[k]
        else:
            out.append(v._node)
    return out


# Set once a value is placed on a device other than the default one: from then on the
# recorder checks that an op's inputs share a device (until then no two can differ)
_placing = False


def start_placing() -> None:
    global _placing
    _placing = True


def placement(node: Node) -> _device.device | None:
    """The device ``node``'s value is (or will be) committed to; None: wherever JAX puts it."""
    if node.placement is None and node.value is not None:
        value = node.value
        if getattr(value, "committed", False) and not isinstance(value, jax.core.Tracer):
            node.placement = _device.of_array(value)
    return node.placement


def _place(op: Op, inputs: tuple, outs: tuple) -> None:
    """PyTorch's rule: an op's tensors share a device; the outputs are placed there too."""
    found = None
    for x in inputs:
        if type(x) is Node:
            d = placement(x)
            if d is None:
                continue
            if found is None:
                found = d
            elif not _device.same(d, found):
                raise RuntimeError(
                    f"Expected all tensors to be on the same device, but found at least two "
                    f"devices, {found} and {d}! ({op.name} at "
                    f"{describe(user_site(), 'an unknown line')}). Remedy: move one with "
                    f"`.to(other.device)`."
                )
    if found is not None:
        for n in outs:
            n.placement = found


def _outputs(op: Op, params, inputs, hit, requires_grad, depth) -> tuple[Node, ...]:
    outs = [
        Node(op, params, inputs, aval, hit[1], None, requires_grad, not requires_grad, depth)
        for aval in hit[0]
    ]
    group = Group(outs)
    if _placing:
        _place(op, inputs, outs)
    site = user_site() if config.explain_recompiles else None
    for i, n in enumerate(outs):
        n.group, n.index = group, i
        if site is not None:
            n.site = site
    if depth >= config.max_pending_depth or config.eager:
        _settle(outs)
    return tuple(outs)


def record_multi(op: Op, inputs: tuple, params: tuple = (), sdtype=None) -> tuple[Node, ...]:
    """Record an op with one or several outputs: a tuple of nodes, computed together (an op
    with a single array output gives a 1-tuple of a plain node)."""
    out = record(op, inputs, params, sdtype)
    return out if isinstance(out, tuple) else (out,)


# -- what acts at record time (registered from above) -------------------------------------------

_COMPUTE: list[Callable[[list[Node]], None]] = []
_ON_COMPUTED: list[Callable[[Node], None]] = []


def set_compute(compute: Callable[[list[Node]], None]) -> None:
    """How to compute nodes at once (``_forward.materialize``, which sits above this module)."""
    _COMPUTE[:] = [compute]


def add_computed_hook(hook: Callable[[Node], None]) -> Callable[[], None]:
    """Call ``hook(node)`` for each node computed as it is recorded (eager mode); returns a
    function that removes the hook again."""
    _ON_COMPUTED.append(hook)
    return lambda: _ON_COMPUTED.remove(hook)


def _settle(nodes: list[Node]) -> None:
    _COMPUTE[0](nodes)
    for hook in _ON_COMPUTED:
        for n in nodes:
            hook(n)
