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
from ._graph import Builder, Node, differentiated, leaf, run_instrs, store

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


def _linearize(out: Node, b: Builder):
    """Emit the differentiated region ending at ``out``; return (out slot, leaves, region)."""
    leaves: dict[int, tuple[Node, int, object]] = {}  # leaf node -> (node, slot, Variable)

    def boundary(x: Node) -> int:
        s = b.value(x)
        v = _leaf_var(x)
        if v is not None:
            leaves.setdefault(id(x), (x, s, v))
        return s

    if not out.diff:
        return boundary(out), leaves, []
    region = differentiated(out)
    if any(n.freed for n in region):
        raise RuntimeError(FREED)
    dslot: dict[int, int] = {}
    b.emit(region, dslot, True, lambda x: dslot.setdefault(id(x), boundary(x)))
    return dslot[id(out)], leaves, region


def _program(instrs, out_slot, leaf_slots, old_slots, cot_slot, out_aval, store_slots, want):
    shape, dtype = out_aval

    def run(args, fpack, ipack):
        vals = [None] * len(instrs)
        run_instrs(instrs, args, fpack, ipack, vals, diff=False)

        def f(*primals):
            v = list(vals)
            for s, p in zip(leaf_slots, primals):
                v[s] = p
            run_instrs(instrs, args, fpack, ipack, v, diff=True)
            return v[out_slot]

        value, vjp = jax.vjp(f, *[vals[s] for s in leaf_slots])
        cot = jnp.ones(shape, dtype) if cot_slot is None else _sum_to(vals[cot_slot], shape)
        grads = vjp(cot.astype(dtype))
        grads = tuple(g if o is None else vals[o] + g for g, o in zip(grads, old_slots))
        return grads, tuple(vals[s] for s in store_slots), (value if want else None)

    return run


def check_gradient(out: Node, gradient: Node | None) -> None:
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
            f"Mismatch in shape: grad_output[0] has a shape of {tuple(gradient.shape)} and "
            f"output[0] has a shape of {tuple(out.shape)}; pass a gradient of the output's shape"
        )


def backward(out: Node, gradient: Node | None, retain_graph: bool) -> None:
    """Accumulate d(out)/d(leaf) into every reachable leaf Variable's ``.grad``."""
    if not out.requires_grad:
        raise RuntimeError(
            "element 0 of tensors does not require grad and does not have a grad_fn; "
            "create the inputs with requires_grad=True (outside no_grad) to differentiate"
        )
    check_gradient(out, gradient)
    b = Builder()
    out_slot, leaves, region = _linearize(out, b)  # raises on a freed graph, before any change
    cot_slot = None if gradient is None else b.value(gradient)
    nodes, leaf_slots, variables = zip(*leaves.values()) if leaves else ((), (), ())
    old_slots = tuple(None if v._grad is None else b.value(v._grad._node) for v in variables)
    store_nodes, store_slots = b.store_slots([])
    instrs = tuple(b.instrs)
    base = _compile.Signature(
        ("bwd", instrs, out_slot, leaf_slots, old_slots, cot_slot, store_slots)
    )
    want = out.value is None and _compile.wants_value(base)
    fn = _compile.cached(
        (base, want),
        lambda: _program(
            instrs, out_slot, leaf_slots, old_slots, cot_slot, out.aval, store_slots, want
        ),
    )
    grads, stored, value = fn(tuple(b.args), *b.packs())

    from ._variable import _wrap

    store(store_nodes, stored)
    for n, v, g in zip(nodes, variables, grads):
        g = leaf(g, aval=n.aval)
        if v._grad is None:
            v._grad = _wrap(g)
        else:  # accumulate into the same Variable, as PyTorch does in place
            v._grad._rebind(g)
    if want:
        store([out], [value])
    elif out.value is None:
        out.bwd_sig = base
    if not retain_graph:
        _free(region, out)


def _free(region: list[Node], out: Node) -> None:
    # The graph can no longer be differentiated; values no user can read are released. Their
    # recipes stay, so a live Variable downstream can still compute its own value.
    for n in region:
        n.freed = True
        if n.value is not None and n is not out and not n.live():
            n.value = None
