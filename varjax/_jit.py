"""``varjax.jit``: a whole imperative step (forward, backward, optimizer update) as one program.

Split -> pure call -> merge, as Flax NNX does for its modules:

1. *Split.* Find the state the function can reach: Variables, Modules (parameters, buffers,
   submodules), Optimizers (their per-parameter state and hyperparameters) and varjax's random
   state, in the arguments, the closure, the globals the code names, and the attributes of
   user objects found there. Their arrays become the inputs of one ``jax.jit`` program.
2. *Pure call.* The first call for a structure traces the user's function once
   (``jax.make_jaxpr``), with every state Variable temporarily bound to a traced value; the
   engine records, backward runs and optimizers step exactly as in an uncompiled call, but
   on tracers, so the whole step becomes one XLA program, compiled with the buffers it
   replaces donated. Later calls with the same structure run that program without executing
   any Python of the function.
3. *Merge.* New values of state that changed (parameters, gradients, buffers, optimizer
   state, the random counter) are written back into the same Python objects, as in-place
   updates. A donated buffer that anything else still holds is copied first, so donation
   is never visible.

The cache key is the structure of the state (shapes, dtypes, which gradients exist,
``training`` flags, optimizer settings) and of the arguments: arrays by shape and dtype, other
Python values by value. Python control flow and container lengths are read when a structure
is first compiled, as in ``jax.jit``.
"""

from __future__ import annotations

import functools
import sys
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import jax
import jax.extend
import numpy as np
from jax.sharding import SingleDeviceSharding

from . import _autocast, _caches, _compile, _device, _recompile, _record, _state, _tracing
from . import random as _rng
from ._device import layout
from ._forward import materialize
from ._grad_mode import _state as _grad_state
from ._methods.inplace import assign, shares_storage
from ._record import leaf
from ._variable import Variable, _bind, _wrap
from ._views import _version_cell

__all__ = ["jit"]


def _is_leaf(x: Any) -> bool:
    return isinstance(x, Variable)


def _arg_spec(leaf_: Any) -> tuple:
    """The cache-key part of an argument leaf that is not a Variable."""
    if isinstance(leaf_, (jax.Array, np.ndarray)):
        return ("array", tuple(leaf_.shape), np.dtype(leaf_.dtype), layout(leaf_))
    try:
        hash(leaf_)
        return ("static", type(leaf_), leaf_)
    except TypeError:
        return ("object", id(leaf_))


class _Plan:
    """What the traced call produced, filled in while tracing: how to merge its outputs."""

    def __init__(self) -> None:
        self.out_tree = None
        self.out_kinds: list = []  # ("state", i) / ("new", aval) / ("array",) / ("static", obj)
        self.changed: list[tuple] = []  # (var index, requires_grad afterwards, aval)
        self.grads: list[tuple] = []  # (var index, "none" | "inplace" | "new", aval)
        # Variables the step stored on an object: (holder index, attribute, kind, what), kind
        # "new" (what: aval, requires_grad), "state" (what: var index) or "static" (the value)
        self.stored: list[tuple] = []
        self.draws = 0


class _Entry:
    """One compiled structure: the program, its merge plan, and which inputs it may reuse."""

    __slots__ = ("fn", "plan", "donate", "grad_slot", "fresh")

    def __init__(
        self, fn: Callable, plan: _Plan, donate: tuple, grad_slot: dict, fresh: frozenset
    ) -> None:
        self.fn, self.plan, self.donate = fn, plan, donate
        # state index -> input index of its gradient (which gradients exist is in the key)
        self.grad_slot = grad_slot
        # donated gradient inputs that the call replaces with a new gradient Variable: the old
        # Variable must keep its value, so its buffer may only be reused if nobody holds it
        self.fresh = fresh


def _node_refs(v: Variable) -> tuple[int, int]:
    return sys.getrefcount(v._node), sys.getrefcount(v._node.value)


def _grad_refs(v: Variable) -> int:
    return sys.getrefcount(v._grad)


@functools.cache
def _sole_refs() -> tuple[tuple[int, int], int]:
    """Reference counts of a value held by nothing but its Variable, and of a gradient held
    by nothing but its Variable's ``.grad``, measured through the same helpers that check real
    state (before donating a buffer, and before reusing a gradient Variable)."""
    probe = _wrap(leaf(jax.numpy.zeros(())))
    probe._grad = _wrap(leaf(jax.numpy.zeros(())))
    return _node_refs(probe), _grad_refs(probe)


def _flat_inputs(state, key_node, arrays, counter, entry: _Entry | None) -> tuple[list, set]:
    """The program's inputs, flat: values, then gradients, then the random state and the
    argument arrays; and the donated inputs whose node only their Variable holds.

    A buffer the program may reuse in place (donate) is copied if anything besides its
    Variable holds it, so donation never invalidates an array someone can still read (a
    pending op, an alias, an array the user kept)."""
    held = set()
    if entry is not None and entry.fresh:  # counted before this function holds them
        sole_grad = _sole_refs()[1]
        held = {
            s
            for i, s in entry.grad_slot.items()
            if s in entry.fresh and _grad_refs(state[i]) != sole_grad
        }
    owners = state + [v._grad for v in state if v._grad is not None]
    shared, sole = [], set()
    if entry is not None and entry.donate:  # counted before this function holds the arrays
        sole_node = _sole_refs()[0]
        for i in entry.donate:
            if _node_refs(owners[i]) == sole_node and i not in held:
                sole.add(i)
            else:
                shared.append(i)
    flat = [v._node.value for v in owners]
    for i in shared:
        flat[i] = jax.numpy.array(flat[i], copy=True)
    flat += [key_node.value, counter]
    flat += arrays
    return flat, sole


class _Jitted:
    """A function compiled whole by ``varjax.jit``; call it like the function."""

    def __init__(self, fn: Callable) -> None:
        self.fn = fn
        self._cache: OrderedDict = OrderedDict()  # least recently used first
        functools.update_wrapper(self, fn)
        if not hasattr(self, "__name__"):  # a callable object, e.g. a Module
            self.__name__ = type(fn).__name__
        _caches.register_owner(self)

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        return self if obj is None else functools.partial(self.__call__, obj)

    def clear_cache(self) -> None:
        self._cache.clear()

    def cache_size(self) -> int:
        return len(self._cache)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _tracing.state.active:  # inside another varjax.jit: part of its program
            return self.fn(*args, **kwargs)
        leaves, treedef = jax.tree_util.tree_flatten((args, kwargs), is_leaf=_is_leaf)
        found = _state.Found()
        for x in leaves:  # argument Variables first, then what the rest reaches
            if isinstance(x, Variable):
                found.walk(x)
        for x in leaves:
            if not isinstance(x, Variable):
                found.walk(x)
        found.walk(self.fn)
        state = found.vars
        key_node = _rng.key_node()
        specs, pending = [], []
        first = _device.first_device()
        for v in state:  # one pass: what the key needs, what must be computed first
            node, grad = v._node, v._grad
            if node.diff:
                self._reject(v)
            if node.value is None:
                pending.append(node)
            # _device.layout inlined (this loop runs per state Variable at every call)
            where = getattr(node.value, "sharding", None)
            if type(where) is SingleDeviceSharding and where._device is first:
                where = None
            if grad is None:
                specs.append((node.aval, node.requires_grad, None, where))
            else:
                if grad._node.value is None:
                    pending.append(grad._node)
                specs.append((node.aval, node.requires_grad, grad._node.aval, where))
        if pending:
            materialize(pending)
            specs = [s[:3] + (layout(v._node.value),) for s, v in zip(specs, state)]
        index = {id(v): i for i, v in enumerate(state[: len(leaves)])}  # argument Variables
        key = (
            treedef,
            tuple(
                _arg_spec(x) if not isinstance(x, Variable) else ("var", index[id(x)])
                for x in leaves
            ),
            tuple(specs),
            tuple(found.statics),
            len(found.holders),
            _grad_state.enabled,
            _autocast.key(),
        )
        arrays = [x for x in leaves if isinstance(x, (jax.Array, np.ndarray))]
        entry = self._cache.get(key)
        if entry is None:
            _compile.count_compile()
            _recompile.on_compile("varjax.jit", key, _recompile.jit_differ(key, state))
            start = time.perf_counter()
            note = _compile.compile_note("varjax.jit", start)
            try:
                flat, _ = _flat_inputs(state, key_node, arrays, np.uint32(_rng.counter()), None)
                entry = self._compile(treedef, leaves, found, flat)
                outs = entry.fn(*flat)
            finally:
                if note is not None:
                    note.cancel()
            self._cache[key] = entry  # only once the program has compiled and run
            _compile.bound(self._cache)
            _compile.count_compile_seconds(time.perf_counter() - start)
            sole = set()
        else:
            _compile.count_hit()
            self._cache.move_to_end(key)
            counter = _counter(entry.plan)
            flat, sole = _flat_inputs(state, key_node, arrays, counter, entry)
            outs = entry.fn(*flat)
        del flat
        return self._merge(entry, state, outs, sole, found.holders)

    # -- split ------------------------------------------------------------------------------------

    def _reject(self, v: Variable) -> None:
        raise RuntimeError(
            f"varjax.jit: '{self.__name__}' can reach a Variable of shape {tuple(v.shape)} "
            f"with grad_fn={v.grad_fn!r}: an intermediate result made before the call, and "
            f"backward cannot cross into a compiled call. Remedy: compute it inside the "
            f"function, or pass `.detach()` of it."
        )

    def _compile(self, treedef, leaves: list, found: _state.Found, flat: list) -> _Entry:
        """Trace the function once into a jaxpr, then compile it with the state buffers that
        the call replaces donated, so XLA updates parameters and optimizer state in place."""
        plan = _Plan()
        state = found.vars
        n_grads = sum(v._grad is not None for v in state)
        pure = self._pure(treedef, leaves, found, plan)

        def pure_flat(*flat):
            k = len(state)
            var_vals, grad_vals = flat[:k], flat[k : k + n_grads]
            k += n_grads
            return pure(var_vals, grad_vals, flat[k : k + 2], flat[k + 2 :])

        closed, out_shapes = jax.make_jaxpr(pure_flat, return_shape=True)(*flat)
        with_grads = [i for i, v in enumerate(state) if v._grad is not None]
        grad_slot = {i: len(state) + j for j, i in enumerate(with_grads)}
        donate = [i for i, _, _ in plan.changed]  # replaced parameters, buffers, state
        donate += [grad_slot[i] for i, how, _ in plan.grads if how != "none" and i in grad_slot]
        donate = tuple(sorted(donate))
        fresh = frozenset(
            grad_slot[i] for i, how, _ in plan.grads if how == "new" and i in grad_slot
        )
        unflatten = jax.tree_util.tree_structure(out_shapes).unflatten
        run = jax.extend.core.jaxpr_as_fun(closed)
        fn = jax.jit(lambda *xs: unflatten(run(*xs)), donate_argnums=donate)
        return _Entry(fn, plan, donate, grad_slot, fresh)

    def _pure(self, treedef, leaves: list, found: _state.Found, plan: _Plan) -> Callable:
        """The traced function: state in, state out. Runs Python only when jax traces it;
        what it learns about the outputs goes into ``plan``."""
        fn, name = self.fn, self.__name__

        def pure(var_vals, grad_vals, rng, arrays):
            plan.__init__()  # a retrace starts over
            state = found.vars
            saved = [(v._node, v._grad) for v in state]
            versions = [_version_cell(v)[0] for v in state]  # tracing is not modifying
            saved_grad_nodes = [v._grad._node for v in state if v._grad is not None]
            ts = _tracing.state
            ts.active, ts.start_seq, ts.name = True, _record.next_seq(), name
            watched = [(owner, ns, dict(ns)) for owner, ns in found.holders]
            try:
                bound = []
                for v, val in zip(state, var_vals):
                    node = leaf(val, aval=v._node.aval)
                    node.requires_grad = v._node.requires_grad
                    bound.append(_bind(v, node)._node)
                gi = iter(grad_vals)
                bound_grads = []
                for v in state:
                    if v._grad is not None:
                        g = v._grad
                        bound_grads.append((g, _bind(g, leaf(next(gi), aval=g._node.aval))._node))
                    else:
                        bound_grads.append(None)
                ts.rng = [leaf(rng[0]), rng[1], 0]
                ai = iter(arrays)
                call_leaves = [
                    next(ai) if isinstance(x, (jax.Array, np.ndarray)) else x for x in leaves
                ]
                args, kwargs = jax.tree_util.tree_unflatten(treedef, call_leaves)
                out = fn(*args, **kwargs)
                stored = _stored(name, plan, watched, state, ts.start_seq)
                _check_leaks(name, leaves, fn, state, stored, ts.start_seq)
                return _collect(plan, out, state, bound, bound_grads, ts.rng[2], stored)
            finally:
                ts.active, ts.rng = False, None
                _restore(watched)  # the merge stores the values; an error stores nothing
                for v, (node, grad), n in zip(state, saved, versions):
                    _bind(v, node)
                    v._grad = grad
                    _version_cell(v)[0] = n
                gn = iter(saved_grad_nodes)
                for v in state:
                    if v._grad is not None:
                        _bind(v._grad, next(gn))

        return pure

    # -- merge ------------------------------------------------------------------------------------

    def _merge(self, entry: _Entry, state: list, outputs: tuple, sole: set, holders: list) -> Any:
        """Write the new values into the state. A node that nothing but its Variable holds
        (``sole``: its buffer was donated to this call) takes the new value in place; so does
        a gradient Variable that nothing but its parameter holds."""
        plan, slots = entry.plan, entry.grad_slot
        outs, changed, grads, stored = outputs
        _store(plan, state, holders, stored)
        for (i, rg, aval), value in zip(plan.changed, changed):
            v = state[i]
            node = v._node
            if node.aval != aval:  # the function replaced the storage (``v.data = ...``)
                _version_cell(v)[0] += 1
                _bind(v, leaf(value, aval=aval))
            elif i in sole and not node.diff and not shares_storage(v):
                _version_cell(v)[0] += 1
                node.value = value
            else:
                assign(v, value)
            v._node.requires_grad = rg
        values = iter(grads)
        for i, how, aval in plan.grads:
            v = state[i]
            if how == "none":
                v._grad = None
                continue
            value = next(values)
            g = v._grad
            if g is not None and slots.get(i) in sole:
                g._node.value = value  # its buffer was donated: nobody else can see it
            elif how == "inplace":
                _bind(g, leaf(value, aval=aval))
            else:
                v._grad = _wrap(leaf(value, aval=aval))
        _rng.advance(plan.draws)
        vals = iter(outs)
        result = []
        for kind in plan.out_kinds:
            if kind[0] == "state":
                result.append(state[kind[1]])
            elif kind[0] == "new":
                result.append(_wrap(leaf(next(vals), aval=kind[1])))
            elif kind[0] == "array":
                result.append(next(vals))
            else:
                result.append(kind[1])
        return jax.tree_util.tree_unflatten(plan.out_tree, result)


_NO_DRAWS: list = []


def _counter(plan: _Plan) -> Any:
    """The random counter as an input: a new value only for steps that draw."""
    if plan.draws:
        return np.uint32(_rng.counter())
    if not _NO_DRAWS:
        _NO_DRAWS.append(jax.device_put(np.uint32(0)))
    return _NO_DRAWS[0]


_MISSING = object()


def _stored(name: str, plan: _Plan, watched: list, state: list, start_seq: int) -> list:
    """The Variables the traced step stored on the objects it can reach, as plan entries;
    returns the nodes whose values the program must output for them."""
    index = {id(v): i for i, v in enumerate(state)}
    nodes = []
    for h, (owner, ns, before) in enumerate(watched):
        for attr, v in ns.items():
            if not isinstance(v, Variable) or before.get(attr, _MISSING) is v:
                continue
            if id(v) in index:
                plan.stored.append((h, attr, "state", index[id(v)]))
            elif v._node.seq < start_seq and not _tracing.is_tracer(v._node.value):
                plan.stored.append((h, attr, "static", v))
            elif v._node.diff:
                raise RuntimeError(
                    f"varjax.jit: '{name}' stores a Variable with grad_fn={v.grad_fn!r} on "
                    f"{type(owner).__name__}.{attr}; its graph cannot outlive the compiled "
                    f"call. Remedy: store `.detach()` of it (varjax.jit writes it back after "
                    f"each call), or return it from the function."
                )
            else:
                plan.stored.append((h, attr, "new", (v._node.aval, v._node.requires_grad)))
                nodes.append(v._node)
    return nodes


def _check_leaks(name: str, leaves: list, fn: Callable, state: list, stored: list, start_seq):
    """A Variable made inside the step and left where the walk finds it (a list or dict the
    step appended to) would hold a traced value after the call: an error, not a leak."""
    again = _state.Found()
    for x in leaves:
        again.walk(x)
    again.walk(fn)
    known = {id(v) for v in state} | {id(n) for n in stored}
    for v in again.vars:
        if id(v) not in known and id(v._node) not in known and v._node.seq >= start_seq:
            raise RuntimeError(
                f"varjax.jit: '{name}' stores a Variable of shape {tuple(v.shape)} made inside "
                f"the call in a container it can reach (a list, dict or tuple); after the call "
                f"it would hold a value of the compiled trace. Remedy: return it from the "
                f"function, or store it as an attribute (`self.h = h.detach()`), which "
                f"varjax.jit writes back after each call."
            )


def _restore(watched: list) -> None:
    """Undo the traced step's stores of Variables, leaving every object as before the call."""
    for owner, ns, before in watched:
        for attr in [a for a, v in ns.items() if isinstance(v, Variable)]:
            old = before.get(attr, _MISSING)
            if old is not ns[attr]:  # through the owner: a Module notes its change
                if old is _MISSING:
                    delattr(owner, attr)
                else:
                    setattr(owner, attr, old)


def _store(plan: _Plan, state: list, holders: list, values: tuple) -> None:
    """Make the stores the step did while it was traced, with this call's values."""
    vals = iter(values)
    for h, attr, kind, what in plan.stored:
        if kind == "new":
            aval, rg = what
            value = _wrap(leaf(next(vals), aval=aval))
            value._node.requires_grad = rg
        else:
            value = state[what] if kind == "state" else what
        setattr(holders[h][0], attr, value)


def _collect(plan: _Plan, out, state, bound, bound_grads, draws, stored: list) -> tuple:
    """Outputs of the traced call, and the plan for merging them (see ``_Jitted._merge``)."""
    index = {id(v): i for i, v in enumerate(state)}
    leaves, plan.out_tree = jax.tree_util.tree_flatten(out, is_leaf=_is_leaf)
    out_nodes = []
    for x in leaves:
        if isinstance(x, Variable):
            if id(x) in index:
                plan.out_kinds.append(("state", index[id(x)]))
            else:
                plan.out_kinds.append(("new", x._node.aval))
                out_nodes.append(x._node)
        elif isinstance(x, jax.Array):
            plan.out_kinds.append(("array",))
            out_nodes.append(leaf(x))
        else:
            plan.out_kinds.append(("static", x))
    changed_nodes = []
    for i, (v, b) in enumerate(zip(state, bound)):
        if v._node is not b:
            plan.changed.append((i, v._node.requires_grad, v._node.aval))
            changed_nodes.append(v._node)
    grad_nodes = []
    for i, (v, bg) in enumerate(zip(state, bound_grads)):
        g = v._grad
        if g is None:
            if bg is not None:
                plan.grads.append((i, "none", None))
            continue
        if bg is not None and g is bg[0]:
            if g._node is bg[1]:
                continue
            plan.grads.append((i, "inplace", g._node.aval))
        else:
            plan.grads.append((i, "new", g._node.aval))
        grad_nodes.append(g._node)
    need = [n for n in out_nodes + changed_nodes + grad_nodes + stored if n.value is None]
    if need:
        materialize(need)
    plan.draws = draws
    return (
        tuple(n.value for n in out_nodes),
        tuple(n.value for n in changed_nodes),
        tuple(n.value for n in grad_nodes),
        tuple(n.value for n in stored),
    )


def jit(fn: Callable | None = None) -> Any:
    """Compile an imperative function (forward, ``backward()``, ``optimizer.step()``) whole.

    State reachable from the arguments, the closure and the globals the function names
    (Variables, Modules, Optimizers, the random state) is lifted into one ``jax.jit``
    program and written back after each call. The first call for a new structure runs the
    function once to trace it; later calls run the compiled program only. Reading a value on
    the host inside (``.item()``, ``print(x)``, ``if x > 0:``) raises an error naming the line;
    return the value instead.

    Example:
        >>> import varjax as vj
        >>> w = vj.tensor([1.0, 2.0], requires_grad=True)
        >>> opt = vj.optim.SGD([w], lr=0.1)
        >>> @vj.jit
        ... def step(x):
        ...     opt.zero_grad()
        ...     loss = ((w * x) ** 2).sum()
        ...     loss.backward()
        ...     opt.step()
        ...     return loss
        >>> step(vj.tensor([1.0, 1.0])).item()
        5.0
        >>> w
        tensor([0.8000, 1.6000], requires_grad=True)
    """
    if fn is None:
        return jit
    return _Jitted(fn)


_state.register(_Jitted, lambda jitted, found: found.walk(jitted.fn))
