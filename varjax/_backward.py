"""The backward pass: one compiled ``jax.vjp`` of the pure replay, and gradient accumulation.

From the output, the graph is walked back through nodes that require grad to the leaves whose
``.grad`` a user can read. Everything else the replay needs (constants, pending leaf values,
the ``gradient`` argument, existing ``.grad`` values to accumulate into) is computed in the
same program, outside the differentiated function. The program is cached by its structure,
which includes which inputs are differentiated and which already hold a gradient.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from . import _compile, _recompile
from ._config import config
from ._grad_mode import enable_grad, no_grad
from ._graph import (
    Builder,
    Node,
    _by_seq,
    differentiated,
    leaf,
    materialize,
    record,
    run_instrs,
    store,
)
from ._ops import Op, register

FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward."
)


def _leaf_var(n: Node):
    return n.var() if n.requires_grad and n.var is not None else None


def _sum_to(g: jax.Array, shape: tuple) -> jax.Array:
    # Reduce a gradient of a broadcast shape back to ``shape`` (PyTorch's validate_outputs).
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, d in enumerate(shape) if d == 1 and g.shape[lead + i] != 1
    )
    return jnp.sum(g, axis=axes).reshape(shape) if axes else g


def _region(outputs: list[Node], cuts: frozenset = frozenset()) -> list[Node]:
    """The differentiated nodes behind all ``outputs`` (not past ``cuts``), in creation
    order, without repeats."""
    if len(outputs) == 1:
        return differentiated(outputs[0], cuts) if outputs[0].diff else []
    seen: dict[int, Node] = {}
    for o in outputs:
        if o.diff and id(o) not in seen:
            for n in differentiated(o, cuts):
                seen[id(n)] = n
    return sorted(seen.values(), key=_by_seq)


def _program(instrs, out_slots, leaf_slots, probe_slots, old_slots, cot_slots, avals, want):
    """The pure backward: replay, ``jax.vjp`` w.r.t. leaves and probes, accumulate."""
    out_avals, probe_avals, store_slots = avals

    def run(args, fpack, ipack):
        vals = [None] * len(instrs)
        run_instrs(instrs, args, fpack, ipack, vals, diff=False)

        def f(primals, probes):
            v = list(vals)
            for s, p in zip(leaf_slots, primals):
                v[s] = p
            run_instrs(instrs, args, fpack, ipack, v, diff=True, add=dict(zip(probe_slots, probes)))
            return tuple(v[s] for s in out_slots)

        # A probe is a zero added to an intermediate value: its gradient is that value's.
        probes = tuple(jnp.zeros(shape, dtype) for shape, dtype in probe_avals)
        values, vjp = jax.vjp(f, tuple(vals[s] for s in leaf_slots), probes)
        cots = tuple(
            jnp.ones(shape, dtype) if c is None else _sum_to(vals[c], shape).astype(dtype)
            for c, (shape, dtype) in zip(cot_slots, out_avals)
        )
        g_leaves, g_probes = vjp(cots)
        grads = tuple(g_leaves) + tuple(g_probes)
        grads = tuple(g if o is None else vals[o] + g for g, o in zip(grads, old_slots))
        return grads, tuple(vals[s] for s in store_slots), (values[0] if want else None)

    return run


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
    try:
        ok = np.broadcast_shapes(out.shape, gradient.shape) == tuple(gradient.shape)
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(
            f"Mismatch in shape: grad_output[{i}] has a shape of {tuple(gradient.shape)} and "
            f"output[{i}] has a shape of {tuple(out.shape)}; pass a gradient of the output's "
            f"shape"
        )


_RETAINS = [False]  # becomes True at the first retain_grad() of the process


UNUSED = (
    "One of the differentiated Tensors appears to not have been used in the graph. Set "
    "allow_unused=True if this is the desired behavior."
)


def run(
    outputs: list[Node],
    gradients: list[Node | None],
    targets: list[object] | None,
    retain_graph: bool,
    accumulate: bool,
    allow_unused: bool = False,
    create_graph: bool = False,
    cuts: frozenset | None = None,
) -> list:
    """Differentiate ``sum_i <outputs[i], gradients[i]>`` in one compiled program.

    ``targets`` None means every live leaf and every intermediate that retains its grad (what
    ``backward()`` fills); otherwise the given Variables (leaves or intermediates). With
    ``accumulate`` the gradients go into ``.grad`` (PyTorch's backward); without, they are
    returned (``autograd.grad``), ``None`` for an unused target. With ``create_graph`` the
    backward program is recorded as an op instead of run, so its results can be
    differentiated again. ``cuts`` are intermediate nodes treated as inputs (the backward
    stops there and reports their gradient, for hooks); ``None`` marks a top-level call.
    """
    for i, out in enumerate(outputs):
        if not out.requires_grad:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn; "
                f"create the inputs with requires_grad=True (outside no_grad) to differentiate"
            )
        check_gradient(out, gradients[i], i)
    if targets is not None:
        for t in targets:
            if not t._node.requires_grad:
                raise RuntimeError("One of the differentiated Tensors does not require grad")
    if cuts is None:
        if _HOOKS[0] and not create_graph:
            return _run_hooked(outputs, gradients, targets, retain_graph, accumulate, allow_unused)
        if create_graph and targets is not None and any(t._node.diff for t in targets):
            return _record_intermediates(
                outputs, gradients, targets, retain_graph, accumulate, allow_unused
            )
        cuts = frozenset()
    b = Builder()
    region = _region(outputs, cuts)
    if any(n.freed for n in region):
        raise RuntimeError(FREED)
    leaves: dict[int, tuple[Node, int, object]] = {}  # leaf node -> (node, slot, Variable)
    wanted = None if targets is None else {id(t._node) for t in targets}

    def boundary(x: Node) -> int:
        s = b.value(x)
        v = _leaf_var(x) if id(x) not in cuts else x.var()
        if v is not None and (wanted is None or id(x) in wanted):
            leaves.setdefault(id(x), (x, s, v))
        return s

    dslot: dict[int, int] = {}
    b.emit(region, dslot, True, lambda x: dslot.setdefault(id(x), boundary(x)))
    out_slots = tuple(dslot[id(o)] if o.diff else boundary(o) for o in outputs)
    cot_slots = tuple(None if g is None else b.value(g) for g in gradients)

    # What gets a gradient: leaves are primals; intermediates get probes.
    if targets is None:
        # scanning the region for retained nodes costs a little; skip it until retain_grad is used
        probes = [(n, n.var()) for n in region if n.retain and n.live()] if _RETAINS[0] else []
        leaf_list = list(leaves.values())
        order = [v for _, _, v in leaf_list] + [v for _, v in probes]
    else:
        leaf_list, probes, order = [], [], []
        for t in targets:
            n = t._node
            if id(n) in leaves:  # a leaf, or a cut intermediate
                leaf_list.append(leaves[id(n)])
            elif n.diff and id(n) in dslot:
                probes.append((n, t))
            elif not allow_unused:
                raise RuntimeError(UNUSED)
        order = [v for _, _, v in leaf_list] + [v for _, v in probes]
    probe_slots = tuple(dslot[id(n)] for n, _ in probes)
    if create_graph:
        grads = _record(b, outputs, leaf_list, probes, (out_slots, probe_slots, cot_slots))
        if grads is None:  # pending leaves were computed first: linearize again
            return run(outputs, gradients, targets, retain_graph, accumulate, allow_unused, True,
                       cuts)  # fmt: skip
        if not retain_graph:
            _free(region, outputs)
        return _deliver(order, grads, targets, accumulate, recorded=True)
    old_slots = tuple(
        None if not accumulate or v._grad is None else b.value(v._grad._node) for v in order
    )
    store_nodes, store_slots = b.store_slots([])
    leaf_slots = tuple(s for _, s, _ in leaf_list)
    avals = (tuple(o.aval for o in outputs), tuple(n.aval for n, _ in probes), store_slots)
    instrs = tuple(b.instrs)
    base = _compile.Signature(
        ("bwd", instrs, out_slots, leaf_slots, probe_slots, old_slots, cot_slots, avals)
    )
    single = outputs[0] if len(outputs) == 1 else None
    want = single is not None and single.value is None and _compile.wants_value(base)
    fn = _compile.cached(
        (base, want),
        lambda: _program(
            instrs, out_slots, leaf_slots, probe_slots, old_slots, cot_slots, avals, want
        ),
        lambda: ("backward", *_recompile.program_differ(instrs, b.nodes, base.key[2:] + (want,))),
    )
    grads, stored, value = fn(tuple(b.args), *b.packs())
    if config.anomaly and not all(bool(jnp.isfinite(g).all()) for g in grads):
        from ._anomaly import diagnose_backward

        diagnose_backward(region, outputs, gradients)

    from ._variable import _wrap

    store(store_nodes, stored)
    if want:
        store([single], [value])
    elif single is not None and single.value is None:
        single.bwd_sig = base
    if not retain_graph:
        _free(region, outputs)
    nodes = [n for n, _, _ in leaf_list] + [n for n, _ in probes]
    grads = [_wrap(leaf(g, aval=n.aval)) for n, g in zip(nodes, grads)]
    return _deliver(order, grads, targets, accumulate, recorded=False)


def _deliver(order, grads, targets, accumulate, recorded):
    """Return gradients by target, or accumulate them into ``.grad``: in place for computed
    values (as PyTorch does), out of place for recorded ones (create_graph)."""
    if not accumulate:
        by_var = {id(v): g for v, g in zip(order, grads)}
        return [by_var.get(id(t)) for t in targets]
    for v, g in zip(order, grads):
        if v._grad is None:
            v._grad = g
        elif recorded:
            with enable_grad():
                v._grad = v._grad + g
        else:
            v._grad._rebind(g._node)
    return []


def _vjp_op(*xs, program, n_args, packs, index):
    """The backward program as an op of its inputs: gradient number ``index``."""
    instrs, out_slots, leaf_slots, probe_slots, cot_slots, avals = program
    rest = list(xs[n_args:])
    fpack = rest.pop(0) if packs[0] else None
    ipack = rest.pop(0) if packs[1] else None
    olds = (None,) * (len(leaf_slots) + len(probe_slots))
    run_ = _program(instrs, out_slots, leaf_slots, probe_slots, olds, cot_slots, avals, False)
    return run_(xs[:n_args], fpack, ipack)[0][index]


VJP = register(
    Op(
        "vjp",
        _vjp_op,
        "VjpBackward0",
        "the backward of create_graph=True, recorded as an op so it can be differentiated again",
        "backward(create_graph=True), autograd.grad(..., create_graph=True)",
    )
)


def _record(b, outputs, leaf_list, probes, slots):
    """create_graph: one recorded ``vjp`` node per gradient instead of running the program;
    None if pending leaves had to be computed first (a leaf must be an input of the op)."""
    out_slots, probe_slots, cot_slots = slots
    pending = [n for n, s, _ in leaf_list if b.instrs[s][0] != "in"]
    if pending:
        materialize(pending)
        return None
    fpack, ipack = b.packs()
    inputs = tuple(b.arg_nodes) + tuple(
        leaf(jnp.asarray(p)) for p in (fpack, ipack) if p is not None
    )
    avals = (tuple(o.aval for o in outputs), tuple(n.aval for n, _ in probes), ())
    leaf_slots = tuple(s for _, s, _ in leaf_list)
    program = (tuple(b.instrs), out_slots, leaf_slots, probe_slots, cot_slots, avals)
    base = (("n_args", len(b.arg_nodes)), ("packs", (fpack is not None, ipack is not None)),
            ("program", program))  # fmt: skip
    from ._variable import _wrap

    with enable_grad():
        n = len(leaf_slots) + len(probe_slots)
        return [_wrap(record(VJP, inputs, (("index", i),) + base)) for i in range(n)]


# -- hooks ------------------------------------------------------------------------------------

_HOOKS = [False]  # becomes True at the first register_hook() of the process


def hooks_of(n: Node) -> list:
    """The hooks registered on the Variable currently bound to ``n``."""
    v = n.var() if n.var is not None else None
    hooks = getattr(v, "_hooks", None) if v is not None and v._node is n else None
    return list(hooks.values()) if hooks else []


def _apply_hooks(hooks: list, g):
    for h in hooks:
        r = h(g)
        if r is not None:
            if tuple(r.shape) != tuple(g.shape):
                raise RuntimeError(
                    f"hook {getattr(h, '__name__', h)!r} returned a gradient of shape "
                    f"{tuple(r.shape)} for one of shape {tuple(g.shape)}"
                )
            g = r
    return g


def _add(a, b):
    if a is None or b is None:
        return b if a is None else a
    with no_grad():
        return a + b


def _raw(outputs, gradients, targets, cuts, allow_unused=True):
    """Gradients of ``targets`` returned, not accumulated; the graph kept; no hook handling."""
    return run(outputs, gradients, targets, retain_graph=True, accumulate=False,
               allow_unused=allow_unused, create_graph=False, cuts=cuts)  # fmt: skip


def _split(outputs, gradients, targets):
    """Raw gradients (Variables or None) of ``targets``, calling intermediate hooks.

    The backward is cut at every hooked node. The first call runs from the outputs down to
    the cuts; then, latest first, each hooked node's gradient (complete by then: every path
    from the outputs to it passes through later nodes) goes through its hooks and is sent on
    down to the remaining cuts. One compiled call per hooked node, plus one.
    """
    region = _region(outputs)
    outs = {id(o) for o in outputs}
    hooked = [n for n in region if id(n) not in outs and hooks_of(n)]  # in creation order
    if not hooked:
        return _raw(outputs, gradients, targets, frozenset())
    k = len(targets)
    res = _raw(outputs, gradients, list(targets) + [n.var() for n in hooked],
               frozenset(id(n) for n in hooked))  # fmt: skip
    total, pending = res[:k], dict(zip(map(id, hooked), res[k:]))
    for i in range(len(hooked) - 1, -1, -1):
        y, rest = hooked[i], hooked[:i]
        g = pending[id(y)]
        if g is None:
            continue
        g = _apply_hooks(hooks_of(y), g)
        res = _raw([y], [g._node], list(targets) + [n.var() for n in rest],
                   frozenset(id(n) for n in rest))  # fmt: skip
        total = [_add(a, b) for a, b in zip(total, res[:k])]
        for n, r in zip(rest, res[k:]):
            pending[id(n)] = _add(pending[id(n)], r)
    return total


def _run_hooked(outputs, gradients, targets, retain_graph, accumulate, allow_unused):
    """``run`` when hooks exist somewhere: unchanged (one fused call) unless this graph has
    some, else split at hooked intermediates, with leaf hooks applied to total gradients."""
    region = _region(outputs)
    leaf_vars, seen = [], set()
    for n in region:
        for x in n.inputs:
            v = _leaf_var(x) if type(x) is Node and not x.diff else None
            if v is not None and id(x) not in seen:
                seen.add(id(x))
                leaf_vars.append(v)
    for o in outputs:
        v = None if o.diff else _leaf_var(o)
        if v is not None and id(o) not in seen:
            seen.add(id(o))
            leaf_vars.append(v)
    outs = {id(o) for o in outputs}
    hooked = any(id(n) not in outs and hooks_of(n) for n in region) or any(
        getattr(v, "_hooks", None) for v in leaf_vars
    )
    if not hooked:
        return run(
            outputs, gradients, targets, retain_graph, accumulate, allow_unused, False, frozenset()
        )
    if targets is None:
        targets = leaf_vars + [n.var() for n in region if n.retain and n.live()]
    elif not allow_unused:  # raises the usual error for an unused input
        _raw(outputs, gradients, targets, frozenset(), allow_unused=False)
    grads = _split(outputs, gradients, targets)
    grads = [
        g
        if g is None or not t.is_leaf or not getattr(t, "_hooks", None)
        else _apply_hooks(list(t._hooks.values()), g)
        for t, g in zip(targets, grads)
    ]
    if not retain_graph:
        _free(region, outputs)
    if not accumulate:
        return grads
    for t, g in zip(targets, grads):
        if g is None:
            continue
        if t._grad is None:
            t._grad = g
        else:  # accumulate into the same Variable, as PyTorch does in place
            with no_grad():
                t._grad._rebind((t._grad + g)._node)
    return []


def backward(out: Node, gradient: Node | None, retain_graph: bool) -> None:
    """Accumulate d(out)/d(leaf) into every reachable leaf Variable's ``.grad``."""
    run([out], [gradient], None, retain_graph, accumulate=True)


def _record_intermediates(outputs, gradients, targets, retain_graph, accumulate, allow_unused):
    """create_graph with intermediate targets: each is cut so it becomes an input of the
    recorded backward (differentiating the result w.r.t. it must see it); leaf targets are
    recorded without cuts, so their gradients keep every path."""
    inner = [t for t in targets if t._node.diff]
    outer = [t for t in targets if not t._node.diff]
    cut = frozenset(id(t._node) for t in inner)
    got = dict(
        zip(
            map(id, inner),
            run(outputs, gradients, inner, True, accumulate, allow_unused, True, cut)
            or [None] * len(inner),
        )
    )
    if outer:
        got.update(
            zip(
                map(id, outer),
                run(outputs, gradients, outer, True, accumulate, allow_unused, True, frozenset())
                or [None] * len(outer),
            )
        )
    if not retain_graph:
        _free(_region(outputs), outputs)
    return [] if accumulate else [got[id(t)] for t in targets]


def _free(region: list[Node], outputs: list[Node]) -> None:
    # The graph can no longer be differentiated; values no user can read are released. Their
    # recipes stay, so a live Variable downstream can still compute its own value.
    keep = {id(o) for o in outputs}
    for n in region:
        n.freed = True
        if n.value is not None and id(n) not in keep and not n.live():
            n.value = None
