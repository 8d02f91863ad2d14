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

from . import _compile
from ._grad_mode import enable_grad
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


def _region(outputs: list[Node]) -> list[Node]:
    """The differentiated nodes behind all ``outputs``, in creation order, without repeats."""
    if len(outputs) == 1:
        return differentiated(outputs[0]) if outputs[0].diff else []
    seen: dict[int, Node] = {}
    for o in outputs:
        if o.diff and id(o) not in seen:
            for n in differentiated(o):
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
) -> list:
    """Differentiate ``sum_i <outputs[i], gradients[i]>`` in one compiled program.

    ``targets`` None means every live leaf and every intermediate that retains its grad (what
    ``backward()`` fills); otherwise the given Variables (leaves or intermediates). With
    ``accumulate`` the gradients go into ``.grad`` (PyTorch's backward); without, they are
    returned (``autograd.grad``), ``None`` for an unused target. With ``create_graph`` the
    backward program is recorded as an op instead of run, so its results can be
    differentiated again.
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
    b = Builder()
    region = _region(outputs)
    if any(n.freed for n in region):
        raise RuntimeError(FREED)
    leaves: dict[int, tuple[Node, int, object]] = {}  # leaf node -> (node, slot, Variable)
    wanted = None if targets is None else {id(t._node) for t in targets}

    def boundary(x: Node) -> int:
        s = b.value(x)
        v = _leaf_var(x)
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
            if n.diff and id(n) in dslot:
                probes.append((n, t))
            elif not n.diff and id(n) in leaves:
                leaf_list.append(leaves[id(n)])
            elif not allow_unused:
                raise RuntimeError(UNUSED)
        order = [v for _, _, v in leaf_list] + [v for _, v in probes]
    probe_slots = tuple(dslot[id(n)] for n, _ in probes)
    if create_graph:
        structure = (out_slots, probe_slots, cot_slots)
        return _record(
            b,
            outputs,
            gradients,
            region,
            leaf_list,
            probes,
            order,
            structure,
            targets,
            accumulate,
            retain_graph,
            allow_unused,
        )
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
    )
    grads, stored, value = fn(tuple(b.args), *b.packs())

    from ._variable import _wrap

    store(store_nodes, stored)
    if want:
        store([single], [value])
    elif single is not None and single.value is None:
        single.bwd_sig = base
    if not retain_graph:
        _free(region, outputs)
    nodes = [n for n, _, _ in leaf_list] + [n for n, _ in probes]
    if not accumulate:
        by_var = {id(v): _wrap(leaf(g, aval=n.aval)) for n, v, g in zip(nodes, order, grads)}
        return [by_var.get(id(t)) for t in targets]
    for n, v, g in zip(nodes, order, grads):
        g = leaf(g, aval=n.aval)
        if v._grad is None:
            v._grad = _wrap(g)
        else:  # accumulate into the same Variable, as PyTorch does in place
            v._grad._rebind(g)
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


def _record(
    b,
    outputs,
    gradients,
    region,
    leaf_list,
    probes,
    order,
    structure,
    targets,
    accumulate,
    retain_graph,
    allow_unused,
):
    """create_graph: record one ``vjp`` node per gradient instead of running the program."""
    out_slots, probe_slots, cot_slots = structure
    pending = [n for n, s, _ in leaf_list if b.instrs[s][0] != "in"]
    if pending:  # a leaf must be an input of the recorded op to be differentiated again
        materialize(pending)
        return run(outputs, gradients, targets, retain_graph, accumulate, allow_unused, True)
    fpack, ipack = b.packs()
    inputs = tuple(b.arg_nodes) + tuple(
        leaf(jnp.asarray(p)) for p in (fpack, ipack) if p is not None
    )
    avals = (tuple(o.aval for o in outputs), tuple(n.aval for n, _ in probes), ())
    leaf_slots = tuple(s for _, s, _ in leaf_list)
    program = (tuple(b.instrs), out_slots, leaf_slots, probe_slots, cot_slots, avals)
    packs = (fpack is not None, ipack is not None)
    from ._variable import _wrap

    grads = []
    with enable_grad():
        for i in range(len(order)):
            params = (
                ("index", i),
                ("n_args", len(b.arg_nodes)),
                ("packs", packs),
                ("program", program),
            )
            grads.append(_wrap(record(VJP, inputs, params)))
    if not retain_graph:
        _free(region, outputs)
    if not accumulate:
        by_var = {id(v): g for v, g in zip(order, grads)}
        return [by_var.get(id(t)) for t in targets]
    with enable_grad():
        for v, g in zip(order, grads):
            v._grad = g if v._grad is None else v._grad + g  # out of place, as PyTorch does
    return []


def backward(out: Node, gradient: Node | None, retain_graph: bool) -> None:
    """Accumulate d(out)/d(leaf) into every reachable leaf Variable's ``.grad``."""
    run([out], [gradient], None, retain_graph, accumulate=True)


def _free(region: list[Node], outputs: list[Node]) -> None:
    # The graph can no longer be differentiated; values no user can read are released. Their
    # recipes stay, so a live Variable downstream can still compute its own value.
    keep = {id(o) for o in outputs}
    for n in region:
        n.freed = True
        if n.value is not None and id(n) not in keep and not n.live():
            n.value = None
