"""The backward program: what to differentiate, the vjp as a pure function, one compiled call.

``plan`` linearizes the differentiated region behind the outputs and decides which values
get a gradient: leaves (the primals of ``jax.vjp``) and intermediates (through zero
"probes" added to their values, whose gradient is theirs). Everything else the replay
needs (constants, pending leaf values, the ``gradient`` argument, existing ``.grad`` values
to accumulate into) is computed in the same program, outside the differentiated function.
``run`` compiles and calls it; ``vjp_fn`` is the same program as a pure function, which
``_higher_order`` records as an op for ``create_graph``.

The engine never imports Variable (it sits above): it reads a handle's ``_node`` and
``_grad``, and a node's ``var`` weak reference gives the handle bound to it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp

from . import _anomaly, _compile, _recompile, _tracing
from ._config import config
from ._forward import store
from ._program import IN, POST, Builder, Region, post_reads, pure_fn, replay
from ._record import Node, autograd_node, leaf

FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward."
)
UNUSED = (
    "One of the differentiated Tensors appears to not have been used in the graph. Set "
    "allow_unused=True if this is the desired behavior."
)

_RETAINS = [False]  # becomes True at the first retain_grad() of the process


def note_retain() -> None:
    """Called by ``retain_grad()``: from now on, backward looks for retained intermediates."""
    _RETAINS[0] = True


def leaf_handle(n: Node) -> Any:
    """The live Variable of a node that requires grad, or None."""
    return n.var() if n.requires_grad and n.var is not None else None


def check_gradient(out: Node, gradient: Node | None, i: int = 0) -> None:
    """PyTorch's rules for the ``gradient`` argument, raised before anything changes."""
    if gradient is None:
        if math.prod(out.shape) != 1:
            raise RuntimeError(
                f"grad can be implicitly created only for scalar outputs: backward() needs a "
                f"gradient argument for an output of shape {tuple(out.shape)}; pass "
                f"gradient=ones_like(out) or reduce with .sum() first"
            )
        return
    if tuple(gradient.shape) != tuple(out.shape):  # PyTorch broadcasts nothing here
        raise RuntimeError(
            f"Mismatch in shape: grad_output[{i}] has a shape of {tuple(gradient.shape)} and "
            f"output[{i}] has a shape of {tuple(out.shape)}; pass a gradient of the output's "
            f"shape"
        )


# -- plan -----------------------------------------------------------------------------------------


@dataclass(slots=True)
class Plan:
    """One backward, linearized: the program so far and who gets which gradient."""

    builder: Builder
    region: Region
    outputs: list[Node]
    leaves: list[tuple[Node, int, Any]]  # (node, slot, handle): primals of the vjp
    probes: list[tuple[Node, Any]]  # (node, handle): intermediates, through probes
    grads: list  # each output's gradient argument (a node), None for ones
    cot_slots: tuple  # the slot of each gradient argument
    handles: list = field(init=False)  # each gradient's handle, once, in the program's order
    merge: tuple | None = field(init=False)  # the handle of each leaf and probe, if repeated
    leaf_slots: tuple = field(init=False)
    probe_slots: tuple = field(init=False)

    def __post_init__(self) -> None:
        # A leaf read in two versions (before and after an in-place update under no_grad, a
        # .data write or an optimizer step) is two leaves of one Variable: their gradients
        # add up, as they do in PyTorch's one AccumulateGrad node per leaf.
        entries = [(n, h) for n, _, h in self.leaves] + list(self.probes)
        index: dict[int, int] = {}
        self.merge = tuple(index.setdefault(id(h), len(index)) for _, h in entries)
        self.handles = list({id(h): h for _, h in entries}.values())
        if len(self.handles) == len(entries):
            self.merge = None
        else:
            _check_versions(entries)
        self.leaf_slots = tuple(s for _, s, _ in self.leaves)
        self.probe_slots = tuple(self.region.slots[id(n)] for n, _ in self.probes)

    @property
    def avals(self) -> list:
        """The aval of each handle's gradient."""
        first = {}
        for n, h in [(n, h) for n, _, h in self.leaves] + list(self.probes):
            first.setdefault(id(h), n.aval)
        return [first[id(h)] for h in self.handles]


def _check_versions(entries: list) -> None:
    avals: dict[int, tuple] = {}
    for n, h in entries:
        if avals.setdefault(id(h), n.aval) != n.aval:
            raise RuntimeError(
                f"a Variable is read in two versions of different shapes or dtypes in one "
                f"graph ({avals[id(h)]} and {n.aval}: its storage was replaced through .data "
                f"in between), so their gradients cannot add up into one .grad; call "
                f"backward() before replacing the storage"
            )


def _is_live_leaf(x: Node) -> bool:
    return x.requires_grad and x.var is not None and x.var() is not None


def _taker(targets: list | None, cuts: frozenset) -> Callable[[Node], bool]:
    """Which nodes read by the region become primals of the vjp: leaves whose Variable is
    wanted (in any version of it), and the cuts."""
    if targets is None and not cuts:
        return _is_live_leaf  # plain backward(): every live leaf that requires grad
    wanted = None if targets is None else {id(t) for t in targets}
    if wanted is not None:  # a cut target may be given as its node or its Variable
        wanted |= {id(t._node) for t in targets if type(t) is not Node and id(t._node) in cuts}

    def take(x: Node) -> bool:
        h = _handle(x, cuts)
        return h is not None and (wanted is None or id(h) in wanted)

    return take


def _handle(x: Node, cuts: frozenset):
    return x if id(x) in cuts else leaf_handle(x)  # a cut node is its own handle


def plan(
    outputs: list[Node], grads: list, targets: list | None, allow_unused: bool = False,
    cuts: frozenset = frozenset(),
) -> Plan:  # fmt: skip
    """Linearize the backward of ``sum_i <outputs[i], grads[i]>``.

    ``targets`` None means every live leaf and every intermediate that retains its grad (what
    ``backward()`` fills); otherwise the given handles (leaves or intermediates). ``cuts`` are
    intermediate nodes treated as inputs: the backward stops there and reports their
    gradient (how ``_hooks`` splits a backward at hooked nodes)."""
    b = Builder()
    reg = b.linearize_region(outputs, _taker(targets, cuts), cuts)
    if any(n.freed for n in reg.nodes):
        raise RuntimeError(FREED)
    cot_slots = tuple(None if g is None else b.value(g) for g in grads)
    if targets is None:
        leaves = [(n, s, _handle(n, cuts)) for n, s in reg.leaves.values()]
        # scanning the region for retained nodes costs a little: only once retain_grad is used
        probes = _retained(reg) if _RETAINS[0] else []
    else:
        leaves, probes = _assign(reg, targets, allow_unused, cuts)
    return Plan(b, reg, outputs, leaves, probes, list(grads), cot_slots)


def _retained(reg: Region) -> list:
    """(node, Variable) of each live intermediate that retains its grad, the probe on the node
    autograd sees."""
    return [(autograd_node(n), n.var()) for n in reg.nodes if n.retain and n.live()]


def _assign(reg: Region, targets: list, allow_unused: bool, cuts: frozenset) -> tuple:
    """Split the targets into primals (leaves, every version of each, and cuts) and probes
    (intermediates)."""
    versions: dict[int, list] = {}
    for n, s in reg.leaves.values():
        versions.setdefault(id(_handle(n, cuts)), []).append((n, s))
    leaves, probes = [], []
    for t in {id(t): t for t in targets}.values():
        n = t if type(t) is Node else t._node  # a cut node is its own handle
        found = versions.get(id(t)) or (versions.get(id(n)) if id(n) in cuts else None)
        if found:
            leaves.extend((m, s, t) for m, s in found)
        elif n is not t and n.diff and id(autograd_node(n)) in reg.slots:
            probes.append((autograd_node(n), t))
        elif not allow_unused:
            raise RuntimeError(UNUSED)
    return leaves, probes


# -- the vjp program ------------------------------------------------------------------------------


def vjp_fn(instrs, out_slots, leaf_slots, probe_slots, merge, old_slots, cot_slots, avals, want):
    """The pure backward: replay, ``jax.vjp`` w.r.t. leaves and probes, accumulate.

    Returns ``run(args, fpack, ipack) -> (gradients, stored values, output value or None)``,
    one gradient per handle: ``merge[i]`` is the handle of leaf-or-probe ``i`` (None: each
    its own), and ``old_slots[k]`` the slot of handle ``k``'s existing gradient (or None)."""
    out_avals, probe_avals, store_slots = avals
    seen = post_reads(instrs)  # forward values the side writes read (Builder.side_writes)
    bind = pure_fn(instrs, leaf_slots, out_slots, probe_slots, seen or ())
    # a leaf laid out over several devices gets its gradient laid out the same way (as a
    # DTensor's grad has its placements), whatever XLA's partitioner would have chosen
    layouts = [_spread_layout(instrs[s]) for s in leaf_slots]
    constrain = any(lay is not None for lay in layouts)

    def run(args, fpack, ipack):
        f, vals = bind(args, fpack, ipack)
        probes = tuple(jnp.zeros(shape, dtype) for shape, dtype in probe_avals)
        primals = tuple(vals[s] for s in leaf_slots)
        if seen:
            values, pullback, forward = jax.vjp(f, primals, probes, has_aux=True)
            for s, x in zip(seen, forward):
                vals[s] = x
        else:
            values, pullback = jax.vjp(f, primals, probes)
        if seen is not None:
            replay(instrs, args, fpack, ipack, vals, diff=POST)
        cots = tuple(
            jnp.ones(shape, dtype) if c is None else vals[c].astype(dtype)
            for c, (shape, dtype) in zip(cot_slots, out_avals)
        )
        g_leaves, g_probes = pullback(cots)
        if constrain:
            g_leaves = [g if lay is None else jax.lax.with_sharding_constraint(g, lay)
                        for g, lay in zip(g_leaves, layouts)]  # fmt: skip
        grads = _merged(tuple(g_leaves) + tuple(g_probes), merge)
        grads = tuple(g if o is None else vals[o] + g for g, o in zip(grads, old_slots))
        return grads, tuple(vals[s] for s in store_slots), (values[0] if want else None)

    return run


def _spread_layout(ins: tuple) -> Any:
    """The sharding of an input instruction laid over several devices, else None."""
    lay = ins[3] if ins[0] is IN else None
    return lay if lay is not None and len(lay.device_set) > 1 else None


def _merged(grads: tuple, merge: tuple | None) -> tuple:
    if merge is None:
        return grads
    out = [None] * (max(merge) + 1)
    for g, k in zip(grads, merge):
        out[k] = g if out[k] is None else out[k] + g
    return tuple(out)


# -- execute --------------------------------------------------------------------------------------


def run(p: Plan, accumulate: bool, retain_graph: bool) -> tuple[list, list[Node], bool]:
    """Compute the planned gradients in one compiled call.

    Returns (handles, gradient nodes, summed): with ``accumulate`` each existing ``.grad`` is
    added inside the program, and ``summed`` says so: a handle's gradient then already
    includes its old ``.grad``."""
    b = p.builder
    old = _old_grads(p) if accumulate else (None,) * len(p.handles)
    b.side_writes(p.region.slots)
    store_nodes, store_slots = b.store_slots([])
    program = b.program(p.region.out_slots, p.leaf_slots, p.probe_slots)
    avals = (tuple(o.aval for o in p.outputs), tuple(n.aval for n, _ in p.probes), store_slots)
    key = ("bwd", program.instrs, program.outs, program.leaves, program.probes, p.merge, old,
           p.cot_slots, avals)  # fmt: skip
    base = _compile.Signature(key)
    # the output's own value comes out too where a user reads it (see _compile.wants_value)
    single = p.outputs[0] if len(p.outputs) == 1 and p.outputs[0].value is None else None
    # inside varjax.jit the value is free: the enclosing program drops it if nothing uses it
    want, site = (single is not None, None)
    if single is not None and not _tracing.state.active:
        want, site = _compile.wants_value(base, not single.aval[0])
    explain = lambda: ("backward", *_recompile.program_differ(program.instrs, program.nodes,
                                                              key[2:] + (want,)))  # fmt: skip
    fn = _compile.cached((base, want), lambda: vjp_fn(*key[1:], want), explain)
    grads, stored, value = fn(*program.inputs)
    grad_nodes = [leaf(g, aval=aval) for aval, g in zip(p.avals, grads)]
    if config.anomaly:
        _check_finite(p, grads)
    store(store_nodes, stored)
    _settle_output(single, base, site, value if want else None)
    if not retain_graph:
        free(p.region.nodes, p.outputs)
    return p.handles, grad_nodes, accumulate


def _old_grads(p: Plan) -> tuple:
    """The slot of each handle's existing ``.grad`` (fed to the program to add in), or None."""
    b = p.builder
    return tuple(None if h._grad is None else b.value(h._grad._node) for h in p.handles)


def _check_finite(p: Plan, grads: tuple) -> None:
    if not all(bool(jnp.isfinite(g).all()) for g in grads):
        _anomaly.diagnose_backward(p.region.nodes, p.outputs, p.grads)


def _settle_output(single: Node | None, sig, site, value) -> None:
    """Store the output's value if the program returned it; either way remember which program
    and line it came from (reading it decides what that line's next backward returns)."""
    if single is None:
        return
    if value is not None:
        store([single], [value])
    if site is None:  # traced by varjax.jit, or a value known to be read: nothing to learn
        return
    single.bwd_sig = (sig, site, value is not None)
    if value is not None:
        _compile.value_returned(sig, site)


def free(region: list[Node], outputs: list[Node]) -> None:
    """After a backward without ``retain_graph``: the graph can no longer be differentiated;
    values no user can read are released. Their recipes stay, so a live Variable downstream
    can still compute its own value."""
    keep = {id(o) for o in outputs}
    for n in region:
        n.freed = True
        if n.value is not None and id(n) not in keep and not n.live():
            n.value = None
