"""Optimizers with PyTorch's interface and update rules, computed by optax.

Each optimizer builds an optax chain that reproduces PyTorch's documented update for one
parameter group. The state is optax's, one state per parameter (as PyTorch keeps
``optimizer.state[p]``), held in Variables; a parameter without a gradient is skipped.

``step()`` records the update like any other op: the parameters and the state are rebound
to pending values, computed by the next compiled program that needs them (usually the next
forward and backward), so an imperative training loop runs one compiled call per iteration.
Reading a parameter computes its update at once. Hyperparameters (``lr``, ``momentum``,
``betas``, ...) are one small array per group, an input of that program, so changing a
learning rate (by hand or through a scheduler) never recompiles; which transforms the chain
contains (momentum on or off, weight decay on or off, nesterov, maximize, ...) is fixed when a
group is added.

PyTorch's ``foreach``, ``fused``, ``capturable`` and ``differentiable`` flags are accepted and
kept in the parameter groups (so a PyTorch ``state_dict`` round-trips) but change nothing:
every update is one fused, compiled op already, and an optimizer step is not differentiable.

A subclass whose update optax does not compute exactly as PyTorch documents it returns a
``_Rule`` (a plain ``init``/``step`` pair on one parameter) from ``_chain`` instead of an optax
transformation; such a class usually packs its hyperparameters in float64, so step-dependent
scalars (``1 - beta2 ** step``, ...) are computed in double precision as PyTorch computes them
in Python, then rounded to the parameter's dtype.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import NamedSharding, PartitionSpec

from .. import _device, _state, _tracing
from .._forward import materialize
from .._grad_mode import enable_grad
from .._methods.inplace import assign, assign_node
from .._ops import Op, register
from .._placement import FOLLOWERS, put, spread_over
from .._record import leaf, record_multi
from .._variable import Variable, _bind, _wrap

__all__ = ["Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "SGD"]


class _Rule(NamedTuple):
    """An update written out as PyTorch documents it, for one parameter: ``init(p)`` gives the
    state (a NamedTuple whose field names are PyTorch's state names), ``step(p, g, state)``
    gives ``(new_p, new_state)``."""

    init: Callable[[Any], Any]
    step: Callable[[Any, Any, Any], tuple[Any, Any]]


def _c(value: Any, like: Any) -> jax.Array:
    """A (float64) scalar rounded to ``like``'s dtype, as PyTorch rounds a Python scalar."""
    return jnp.asarray(value, like.dtype)


def _lerp(a: Any, b: Any, w: Any) -> jax.Array:
    """``torch.lerp(a, b, w)`` with PyTorch's two-sided formula (exact at ``w = 1``)."""
    w = _c(w, a)
    return jnp.where(w < 0.5, a + w * (b - a), b - (b - a) * (1 - w))


def _step_one(tx: Any, p: Any, g: Any, state: Any) -> tuple[Any, Any]:
    if isinstance(tx, _Rule):
        new_p, new_state = tx.step(p, g, state)
        return new_p.astype(p.dtype), new_state
    updates, new_state = tx.update(g, state, p)
    return (p + updates).astype(p.dtype), new_state


def _update(hyper, *inputs, cls, structure, layout, trees):
    """A group's optax updates: for each parameter (its inputs are the parameter, its
    gradient and its state's leaves), the new parameter, then the new state's leaves."""
    h, i = {}, 0
    for name, n in layout:
        h[name] = hyper[i] if n == 0 else tuple(hyper[i + j] for j in range(n))
        i += max(n, 1)
    maximize, structure = structure
    tx = cls._chain(h, structure)
    outs, k = [], 0
    for tree in trees:
        p, g, state = inputs[k], inputs[k + 1], inputs[k + 2 : k + 2 + tree.num_leaves]
        k += 2 + tree.num_leaves
        state = jax.tree_util.tree_unflatten(tree, state)
        g = g.astype(p.dtype)
        # PyTorch's maximize negates the gradient before anything else reads it
        new_p, new_state = _step_one(tx, p, -g if maximize else g, state)
        outs += [new_p, *jax.tree_util.tree_leaves(new_state)]
    return tuple(outs)


_UPDATE = register(
    Op(
        "optim_update",
        _update,
        None,
        "an optimizer step for a parameter group (optax; one op for the group, so a step "
        "records one node, not one per parameter); not differentiable",
        "optimizer.step()",
    )
)


class _Required:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


_LIVE: weakref.WeakSet = weakref.WeakSet()  # every optimizer, for follow_layout


def _laid_out_like(x: jax.Array, p: jax.Array) -> jax.Array:
    """A state entry of parameter ``p`` laid out as ``p`` is (a scalar such as Adam's step
    replicated on its mesh), so a sharded step keeps one signature from the first."""
    sharding = _device.layout(p)
    if sharding is None:
        return x
    if x.shape != p.shape:
        if not isinstance(sharding, NamedSharding):
            return x
        sharding = NamedSharding(sharding.mesh, PartitionSpec())
    return x if _device.layout(x) == sharding else put(x, sharding)


def follow_layout(p: Variable) -> None:
    """Lay the optimizer state of ``p`` out as ``p`` now is, in every optimizer holding it
    (``DistributedDataParallel``, ``fully_shard`` and ``parallelize_module`` lay parameters
    out anew in place, and tell it through ``_placement.FOLLOWERS``)."""
    for opt in list(_LIVE):
        params = [q for g in opt.param_groups for q in g["params"]]
        for i, q in enumerate(params):
            if q is p:
                for slot in opt._slots[i]:
                    assign(slot, _laid_out_like(slot._value(), p._value()))


FOLLOWERS.append(follow_layout)


_NONNEGATIVE = ("lr", "eps", "weight_decay", "momentum", "lr_decay", "initial_accumulator_value")


class Optimizer:
    """Base class: ``param_groups``, ``zero_grad``, ``step``, ``state_dict``.

    A subclass names its hyperparameters in ``defaults`` and implements ``_chain(h, s)``: the
    optax transformation for hyperparameter values ``h`` (arrays) and structure ``s`` (what
    ``_structure(group)`` returned for the group).

    Example:
        >>> import varjax as vj
        >>> w = vj.tensor([1.0, 2.0], requires_grad=True)
        >>> opt = vj.optim.SGD([w], lr=0.5)  # an Optimizer subclass
        >>> (w**2).sum().backward()
        >>> opt.step(); opt.zero_grad()
        >>> w, w.grad
        (tensor([0., 0.], requires_grad=True), None)
    """

    # optax state field -> PyTorch's state_dict name
    _STATE_NAMES: dict[str, str] = {}
    _structure_doc = "which transforms are used"
    # dtype of the packed hyperparameters (float64 for the hand-written ``_Rule`` updates)
    _hyper_dtype: Any = np.float32

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        _LIVE.add(self)
        # per parameter (in param_groups order): its optax state as Variables, and its treedef
        self._slots: list[list[Variable]] = []
        self._trees: list[Any] = []
        self._hypers: list[Variable] = []  # per group: its hyperparameters as one array
        self._hyper_seen: list[list] = []  # per group: the values _hypers[i] holds
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for g in groups:
            self.add_param_group(g)

    # -- groups ---------------------------------------------------------------------------------

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (defaults fill the rest)."""
        group = self._new_group(param_group)
        params = group["params"]
        structure = self._full_structure(group)
        tx = self._chain(self._hyper_dict(group), structure[1])
        pending = [p._node for p in params if p._node.value is None]
        if pending:  # one program for all of them, not one per parameter
            materialize(pending)
        for p in params:
            value = p._value()
            leaves, tree = jax.tree_util.tree_flatten(tx.init(value))
            # jnp.array copies: two state entries never share a buffer (a compiled step
            # donates each one)
            self._slots.append([_wrap(leaf(_laid_out_like(jnp.array(x), value))) for x in leaves])
            self._trees.append(tree)
        self.param_groups.append(group)
        self._hypers.append(_wrap(leaf(jnp.asarray(self._pack(group)))))
        self._hyper_seen.append(self._group_values(group))
        group["_structure"] = structure

    def _new_group(self, param_group: dict[str, Any]) -> dict[str, Any]:
        """``param_group`` checked, with the defaults filled in."""
        group = dict(param_group)
        params = group["params"]
        params = [params] if isinstance(params, Variable) else list(params)
        for p in params:
            if not isinstance(p, Variable):
                raise TypeError(
                    f"optimizer can only optimize Variables, but one of the params is "
                    f"{type(p).__name__}"
                )
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Variable; pass the leaf parameters")
        known = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in known for p in params) or len({id(p) for p in params}) != len(params):
            raise ValueError("some parameters appear in more than one parameter group")
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required '{name}'")
            group.setdefault(name, default)
        group["params"] = params
        self._validate(group)
        return group

    def _validate(self, group: dict) -> None:
        for name in _NONNEGATIVE:
            if name in group and not group[name] >= 0:
                raise ValueError(f"Invalid {name} value: {group[name]}")

    def _structure(self, group: dict) -> tuple:
        return ()

    def _full_structure(self, group: dict) -> tuple:
        """``(maximize, the subclass's structure)``: what decides the recorded update's form."""
        return (bool(group.get("maximize", False)), self._structure(group))

    @classmethod
    def _chain(cls, h: dict, s: tuple) -> optax.GradientTransformation:
        raise NotImplementedError

    def _hyper_names(self) -> list[str]:
        """The numeric defaults (flags such as ``amsgrad`` or ``foreach`` are structure)."""
        return [k for k, v in self.defaults.items() if _numeric(v)]

    def _hyper_dict(self, group: dict) -> dict:
        return {k: group[k] for k in self._hyper_names()}

    def _layout(self, group: dict) -> tuple:
        """(name, tuple length or 0 for a scalar) of each hyperparameter, in packing order."""
        return tuple(
            (k, len(group[k]) if isinstance(group[k], (tuple, list)) else 0)
            for k in self._hyper_names()
        )

    def _pack(self, group: dict) -> np.ndarray:
        vals = []
        for k in self._hyper_names():
            v = group[k]
            vals.extend(v if isinstance(v, (tuple, list)) else (v,))
        return np.asarray(vals, self._hyper_dtype)

    @staticmethod
    def _group_values(group: dict) -> list:
        return [v for k, v in group.items() if k not in ("params", "_structure")]

    def _hyper(self, i: int) -> Variable:
        """Group ``i``'s hyperparameter Variable, updated if a value changed since last time."""
        group = self.param_groups[i]
        values = self._group_values(group)
        if values != self._hyper_seen[i]:
            if self._full_structure(group) != group["_structure"]:
                raise ValueError(
                    f"{type(self).__name__}: a parameter group changed a setting that decides "
                    f"the update's form ({self._structure_doc}, maximize) after it was "
                    f"created; create "
                    f"the optimizer with the final setting (e.g. momentum > 0) instead"
                )
            if _tracing.state.active:
                raise RuntimeError(
                    "varjax.jit: a hyperparameter (e.g. lr) was changed inside the compiled "
                    "function; change it outside (it is an input, so that does not recompile)"
                )
            assign(self._hypers[i], jax.device_put(self._pack(group)))
            self._hyper_seen[i] = values
        return self._hypers[i]

    # -- stepping -------------------------------------------------------------------------------

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters (to ``None`` by default, as PyTorch 2 does)."""
        for g in self.param_groups:
            for p in g["params"]:
                if p._grad is None:
                    continue
                if set_to_none:
                    p._grad = None
                else:  # in place, as PyTorch: whoever holds the gradient sees the zeros
                    p._grad.zero_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient (recorded; computed when next needed).

        ``closure`` (optional) re-evaluates the model and returns the loss, as in PyTorch.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        k = 0
        for gi, group in enumerate(self.param_groups):
            inputs, trees, targets = [], [], []
            for p in group["params"]:
                i, k = k, k + 1
                g = p._grad
                if g is None:
                    continue
                if g._node.aval[0] != p._node.aval[0]:
                    raise RuntimeError(
                        f"a gradient of shape {tuple(g.shape)} was set on a parameter of shape "
                        f"{tuple(p.shape)}; assign .grad with the parameter's shape"
                    )
                inputs += [p._node, g._node, *(v._node for v in self._slots[i])]
                trees.append(self._trees[i])
                targets.append((p, self._slots[i]))
            if not targets:
                continue
            params = (
                ("cls", type(self)),
                ("layout", self._layout(group)),
                ("structure", group["_structure"]),
                ("trees", tuple(trees)),
            )
            # one op, every parameter and its state as outputs: computing one computes all
            outs = iter(record_multi(_UPDATE, (self._hyper(gi)._node, *inputs), params))
            for p, slots in targets:
                assign_node(p, next(outs))
                for v in slots:
                    _bind(v, next(outs))
        return loss

    # -- state ------------------------------------------------------------------------------------

    def _param_list(self) -> list[Variable]:
        return [p for g in self.param_groups for p in g["params"]]

    def _named_state(self, i: int) -> dict[str, Variable]:
        """Parameter ``i``'s state under PyTorch's names (e.g. ``momentum_buffer``)."""
        dummy = jax.tree_util.tree_unflatten(self._trees[i], range(len(self._slots[i])))
        named = {}
        for path, j in jax.tree_util.tree_flatten_with_path(dummy)[0]:
            field = next(
                (getattr(k, "name", None) for k in reversed(path) if hasattr(k, "name")), "value"
            )
            name = self._STATE_NAMES.get(field, field)
            while name in named:
                name += "_"
            named[name] = self._slots[i][j]
        return named

    @property
    def state(self) -> dict[Variable, dict[str, Variable]]:
        """Per-parameter state, keyed by parameter, with PyTorch's names (copies)."""
        return {
            p: {k: v.detach().clone() for k, v in self._named_state(i).items()}
            for i, p in enumerate(self._param_list())
        }

    def state_dict(self) -> dict[str, Any]:
        """PyTorch's layout: ``{"state": {index: {name: Variable}}, "param_groups": [...]}``.

        The Variables are copies, so a state dict kept in memory does not change as training
        goes on."""
        state = {
            i: {k: v.detach().clone() for k, v in self._named_state(i).items()}
            for i in range(len(self._slots))
        }
        groups, i = [], 0
        for g in self.param_groups:
            d = {k: v for k, v in g.items() if k not in ("params", "_structure")}
            d = {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}
            d["params"] = list(range(i, i + len(g["params"])))
            i += len(g["params"])
            groups.append(d)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a ``state_dict()``; everything is checked before anything changes."""
        try:
            groups, saved = state_dict["param_groups"], state_dict["state"]
        except (KeyError, TypeError):
            raise ValueError(
                "optimizer state_dict must have 'state' and 'param_groups' entries (as returned "
                "by optimizer.state_dict())"
            ) from None
        if len(groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has {len(groups)} parameter groups, the optimizer has "
                f"{len(self.param_groups)}"
            )
        for mine, theirs in zip(self.param_groups, groups):
            if len(mine["params"]) != len(theirs["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size "
                    "of optimizer's group"
                )
        new_groups = []
        for mine, theirs in zip(self.param_groups, groups):
            g = dict(mine)
            for k, v in theirs.items():
                if k != "params":
                    g[k] = tuple(v) if isinstance(mine.get(k), tuple) else v
            if self._full_structure(g) != mine["_structure"]:
                raise ValueError(
                    f"loaded state dict sets {self._structure_doc} differently from this "
                    f"optimizer; create the optimizer with the same settings"
                )
            new_groups.append(g)
        order = [i for g in groups for i in g["params"]]
        updates = []  # (state Variable, new value), applied once everything is checked
        for pos in range(len(self._slots)):
            key = order[pos]
            entry = saved.get(key, saved.get(str(key)))
            if entry is None:
                continue  # PyTorch also leaves unsaved state alone
            named = self._named_state(pos)
            # a saved state without a step counter (an older varjax checkpoint, or a PyTorch
            # optimizer that keeps none) keeps this one's counter
            if "step" in named and "step" not in entry:
                named.pop("step")
            if set(entry) != set(named):
                raise ValueError(
                    f"state of parameter {key} has entries {sorted(entry)}, expected "
                    f"{sorted(named)} for {type(self).__name__}"
                )
            for name, var in named.items():
                new = Variable(entry[name])
                if tuple(new.shape) != tuple(var.shape):
                    raise ValueError(
                        f"state '{name}' of parameter {key} has shape {tuple(new.shape)}, "
                        f"expected {tuple(var.shape)}"
                    )
                value = jnp.asarray(new._value(), var.dtype)
                sharding = spread_over(var)
                if sharding is not None:  # keep the layout of a sharded state
                    value = put(value, sharding)
                updates.append((var, value))
        for var, value in updates:
            assign(var, value)
        for g, new in zip(self.param_groups, new_groups):
            g.update(new)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(k for k in g if k not in ("params", "_structure")):
                lines.append(f"    {k}: {g[k]}")
        return "\n".join(lines) + "\n)"

    # -- varjax.jit -----------------------------------------------------------------------------

    def _state_variables(self) -> tuple[Variable, ...]:
        """Parameters, then the optimizer's state and hyperparameters: what a compiled step
        reads and writes. The list changes only with add_param_group (cached until then)."""
        cached = self.__dict__.get("_state_cache")
        if cached is None or cached[0] != len(self._hypers):
            state = [p for g in self.param_groups for p in g["params"]]
            state += [v for slots in self._slots for v in slots] + list(self._hypers)
            cached = self._state_cache = (len(self._hypers), tuple(state))
        return cached[1]

    def _sync_hypers(self) -> None:
        """Bring every group's hyperparameter Variable up to date. varjax.jit calls this
        before each call, outside the trace: a compiled call never runs ``step()`` again,
        and a change made before a call must not look like one made inside it."""
        for i, g in enumerate(self.param_groups):
            if self._full_structure(g) == g["_structure"]:  # else step() raises the error
                self._hyper(i)

    def _jit_key(self) -> tuple:
        """What decides the recorded update's form (a change recompiles a varjax.jit step)."""
        return (type(self), tuple(self._full_structure(g) for g in self.param_groups))


class _Counted(NamedTuple):
    step: Any


def _count() -> optax.GradientTransformation:
    """Counts steps as PyTorch's ``state["step"]`` (float32) and leaves updates alone."""

    def update(updates, state, params=None):
        return updates, _Counted(state.step + 1)

    return optax.GradientTransformation(lambda p: _Counted(jnp.zeros((), jnp.float32)), update)


def _numeric(v: Any) -> bool:
    if isinstance(v, (tuple, list)):
        return bool(v) and all(_numeric(x) for x in v)
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _decay(h: dict, s_wd: bool) -> list:
    return [optax.add_decayed_weights(h["weight_decay"])] if s_wd else []


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum, as PyTorch's ``torch.optim.SGD``.

    With weight decay ``wd``, momentum ``m``, dampening ``d`` and gradient ``g`` (negated
    first with ``maximize=True``): ``g += wd * p``; ``b = g`` on the first step, then
    ``b = m * b + (1 - d) * g``; with nesterov ``g = g + m * b`` else ``g = b``;
    ``p -= lr * g``. ``foreach``, ``differentiable`` and ``fused`` are accepted and ignored.

    Example:
        >>> import varjax as vj
        >>> w = vj.tensor([1.0, 2.0], requires_grad=True)
        >>> opt = vj.optim.SGD([w], lr=0.1, momentum=0.9)
        >>> (w ** 2).sum().backward(); opt.step()
        >>> w
        tensor([0.8000, 1.6000], requires_grad=True)
    """

    _STATE_NAMES = {"trace": "momentum_buffer", "count": "step"}
    _structure_doc = "momentum > 0, dampening > 0, weight_decay > 0 and nesterov"

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(
            lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
            nesterov=nesterov, maximize=maximize, foreach=foreach,
            differentiable=differentiable, fused=fused,
        )  # fmt: skip
        super().__init__(params, defaults)

    def _hyper_names(self) -> list[str]:
        return ["lr", "momentum", "dampening", "weight_decay"]

    def _structure(self, g: dict) -> tuple:
        return (g["momentum"] != 0, g["dampening"] != 0, g["weight_decay"] != 0, g["nesterov"])

    @classmethod
    def _chain(cls, h: dict, s: tuple) -> optax.GradientTransformation:
        momentum, dampening, wd, nesterov = s
        parts = _decay(h, wd)
        if momentum:
            if dampening:
                # PyTorch: the first buffer is g itself, later ones add (1 - d) * g
                d = h["dampening"]
                parts.append(optax.scale_by_schedule(lambda c: jnp.where(c == 0, 1.0, 1.0 - d)))
            parts.append(optax.trace(decay=h["momentum"], nesterov=nesterov))
        parts.append(optax.scale(-h["lr"]))
        return optax.chain(*parts)


class _AmsgradState(NamedTuple):
    step: Any
    exp_avg: Any
    exp_avg_sq: Any
    max_exp_avg_sq: Any


def _amsgrad(h: dict, wd: bool, decoupled: bool) -> _Rule:
    """PyTorch's Adam/AdamW with ``amsgrad=True``: the running maximum of the raw ``v`` is
    bias-corrected by the current step (differs from optax: ``scale_by_amsgrad`` takes the
    maximum of the bias-corrected ``v``)."""
    lr, (b1, b2), eps, decay = h["lr"], h["betas"], h["eps"], h["weight_decay"]

    def init(p):
        z = jnp.zeros_like(p)
        return _AmsgradState(jnp.zeros((), jnp.float32), z, z, z)

    def step(p, g, s):
        t = s.step + 1
        if wd and decoupled:
            p = p * _c(1 - lr * decay, p)
        elif wd:
            g = g + _c(decay, p) * p
        m = _lerp(s.exp_avg, g, 1 - b1)
        v = s.exp_avg_sq * _c(b2, p) + _c(1 - b2, p) * g * g
        vmax = jnp.maximum(s.max_exp_avg_sq, v)
        tt = t.astype(h["lr"].dtype)
        bc1, bc2 = 1 - b1**tt, 1 - b2**tt
        denom = jnp.sqrt(vmax) / _c(jnp.sqrt(bc2), p) + _c(eps, p)
        return p + _c(-lr / bc1, p) * (m / denom), _AmsgradState(t, m, v, vmax)

    return _Rule(init, step)


class Adam(Optimizer):
    """Adam (PyTorch's ``torch.optim.Adam``, L2 weight decay added to the gradient unless
    ``decoupled_weight_decay=True``, which makes it AdamW).

    ``m = b1 m + (1 - b1) g``; ``v = b2 v + (1 - b2) g^2``;
    ``p -= lr * m_hat / (sqrt(v_hat) + eps)`` with bias-corrected ``m_hat``, ``v_hat``.
    ``amsgrad`` uses the running maximum of ``v`` (state ``max_exp_avg_sq``); ``maximize``
    ascends. ``foreach``, ``capturable``, ``differentiable`` and ``fused`` are accepted and
    ignored.

    Example:
        >>> import varjax as vj
        >>> w = vj.tensor([1.0, -1.0], requires_grad=True)
        >>> opt = vj.optim.Adam([w], lr=0.1)
        >>> (w ** 2).sum().backward(); opt.step()
        >>> w
        tensor([ 0.9000, -0.9000], requires_grad=True)
    """

    _STATE_NAMES = {"mu": "exp_avg", "nu": "exp_avg_sq", "count": "step"}
    _structure_doc = "weight_decay > 0, amsgrad and decoupled_weight_decay"

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        _check_betas(betas)
        defaults = dict(
            lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
            maximize=maximize, foreach=foreach, capturable=capturable,
            differentiable=differentiable, fused=fused,
            decoupled_weight_decay=decoupled_weight_decay,
        )  # fmt: skip
        super().__init__(params, defaults)

    def _structure(self, g: dict) -> tuple:
        return (g["weight_decay"] != 0, bool(g["amsgrad"]), bool(g["decoupled_weight_decay"]))

    @classmethod
    def _chain(cls, h: dict, s: tuple) -> optax.GradientTransformation | _Rule:
        wd, amsgrad, decoupled = s
        if amsgrad:
            return _amsgrad(h, wd, decoupled)
        b1, b2 = h["betas"]
        adam = optax.scale_by_adam(b1=b1, b2=b2, eps=h["eps"])
        if decoupled:
            parts = [adam, *_decay(h, wd)]
        else:
            parts = [*_decay(h, wd), adam]
        return optax.chain(*parts, optax.scale(-h["lr"]))


def _check_betas(betas: tuple[float, float]) -> None:
    if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
        raise ValueError(f"Invalid beta parameters: {betas}")


class AdamW(Adam):
    """Adam with decoupled weight decay (``torch.optim.AdamW``): ``p -= lr * wd * p`` too.

    Example:
        >>> import varjax as vj
        >>> w = vj.tensor([1.0], requires_grad=True)
        >>> opt = vj.optim.AdamW([w], lr=0.1, weight_decay=0.5)
        >>> (w * 2).sum().backward(); opt.step()
        >>> w
        tensor([0.8500], requires_grad=True)
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
            capturable=capturable, differentiable=differentiable, fused=fused,
            decoupled_weight_decay=True,
        )  # fmt: skip


class RMSprop(Optimizer):
    """RMSprop (``torch.optim.RMSprop``): ``v = a v + (1-a) g^2``; ``p -= lr g / (sqrt(v) + eps)``.

    ``centered`` subtracts the squared running mean of ``g`` from ``v``; ``momentum`` keeps
    ``b = m b + g / (sqrt(v) + eps)`` and steps by ``lr * b``; ``maximize`` ascends.
    ``capturable``, ``foreach`` and ``differentiable`` are accepted and ignored.

    Example:
        >>> import varjax as vj
        >>> w = vj.tensor([1.0], requires_grad=True)
        >>> opt = vj.optim.RMSprop([w], lr=0.01)
        >>> (w * 2).sum().backward(); opt.step()
        >>> round(w.item(), 4)
        0.9
    """

    _STATE_NAMES = {"nu": "square_avg", "mu": "grad_avg", "trace": "momentum_buffer"}
    _structure_doc = "momentum > 0, weight_decay > 0 and centered"

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(
            lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
            weight_decay=weight_decay, capturable=capturable, foreach=foreach,
            maximize=maximize, differentiable=differentiable,
        )  # fmt: skip
        super().__init__(params, defaults)

    def _hyper_names(self) -> list[str]:
        return ["lr", "alpha", "eps", "weight_decay", "momentum"]

    def _structure(self, g: dict) -> tuple:
        return (g["momentum"] != 0, g["weight_decay"] != 0, bool(g["centered"]))

    @classmethod
    def _chain(cls, h: dict, s: tuple) -> optax.GradientTransformation:
        momentum, wd, centered = s
        scale = optax.scale_by_stddev if centered else optax.scale_by_rms
        rms = scale(decay=h["alpha"], eps=h["eps"], eps_in_sqrt=False)
        parts = [_count(), *_decay(h, wd), rms]
        if momentum:
            parts.append(optax.trace(decay=h["momentum"]))
        return optax.chain(*parts, optax.scale(-h["lr"]))


class _AdagradState(NamedTuple):
    step: Any
    sum: Any


class Adagrad(Optimizer):
    """Adagrad as ``torch.optim.Adagrad``: ``s += g^2``; ``p -= clr * g / (sqrt(s) + eps)``.

    ``clr = lr / (1 + (step - 1) * lr_decay)``; ``s`` starts at ``initial_accumulator_value``;
    ``maximize`` ascends; ``foreach``, ``differentiable`` and ``fused`` are accepted and
    ignored. Differs from optax: ``optax.scale_by_rss`` puts ``eps`` under the square root
    (and zeroes the step where the sum is 0), so this update is written out as PyTorch's.

    Example:
        >>> import varjax as vj
        >>> w = vj.tensor([1.0], requires_grad=True)
        >>> opt = vj.optim.Adagrad([w], lr=0.5)
        >>> (w * 2).sum().backward(); opt.step()
        >>> round(w.item(), 4)
        0.5
    """

    _structure_doc = "weight_decay > 0"
    _hyper_dtype = np.float64

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        defaults = dict(
            lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value, foreach=foreach,
            maximize=maximize, differentiable=differentiable, fused=fused,
        )  # fmt: skip
        super().__init__(params, defaults)

    def _structure(self, g: dict) -> tuple:
        return (g["weight_decay"] != 0,)

    @classmethod
    def _chain(cls, h: dict, s: tuple) -> _Rule:
        lr, decay, eps, wd = h["lr"], h["lr_decay"], h["eps"], h["weight_decay"]

        def init(p):
            total = jnp.full_like(p, h["initial_accumulator_value"])
            return _AdagradState(jnp.zeros((), jnp.float32), total)

        def step(p, g, st):
            t = st.step + 1
            if s[0]:
                g = g + _c(wd, p) * p
            clr = lr / (1 + (t.astype(lr.dtype) - 1) * decay)
            total = st.sum + g * g
            return p + _c(-clr, p) * (g / (jnp.sqrt(total) + _c(eps, p))), _AdagradState(t, total)

        return _Rule(init, step)


def _walk_optimizer(opt: Optimizer, found: _state.Found) -> None:
    # a compiled call never runs step() again: hyperparameters changed before the call go
    # into their Variables now, outside the trace (a change inside it would be an error)
    opt._sync_hypers()
    found.static(opt._jit_key())
    for v in opt._state_variables():
        found.variable(v)


_state.register(Optimizer, _walk_optimizer)
