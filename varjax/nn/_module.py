"""``nn.Module`` and ``nn.Parameter``: PyTorch's module tree over varjax Variables.

A Module keeps its parameters, buffers and submodules in three ordered dicts, as PyTorch's
does, so iteration order, ``state_dict`` keys and ``repr`` match what PyTorch users expect.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np

from .. import _device, _state
from .._grad_mode import no_grad
from .._methods.dtype import to_args
from .._variable import Variable

__all__ = ["Module", "Parameter"]


class Parameter(Variable):
    """A Variable that a Module registers as a parameter (``requires_grad=True`` by default).

    Example:
        >>> import varjax as vj
        >>> p = vj.nn.Parameter(vj.zeros(2))
        >>> p.requires_grad, isinstance(p, vj.Variable)
        (True, True)
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        super().__init__(np.zeros(0, np.float32) if data is None else data, requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


_EPOCH = [0]  # bumped by every change to a Module's parameters, buffers, submodules or attributes


def _structure_changed() -> None:
    _EPOCH[0] += 1


class _IncompatibleKeys(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of models: assign Parameters and Modules as attributes, define ``forward``.

    Example:
        >>> import varjax as vj
        >>> class Affine(vj.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.scale = vj.nn.Parameter(vj.ones(2))
        ...     def forward(self, x):
        ...         return x * self.scale
        >>> m = Affine()
        >>> [name for name, _ in m.named_parameters()]
        ['scale']
        >>> m(vj.tensor([1.0, 2.0]))
        tensor([1., 2.], grad_fn=<MulBackward0>)
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # -- attributes -----------------------------------------------------------------------------

    def __setattr__(self, name: str, value: Any) -> None:
        _structure_changed()
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign to a Module before Module.__init__() call")
        if isinstance(value, Parameter):
            self.__dict__.pop(name, None)
            self._buffers.pop(name, None)
            self._modules.pop(name, None)
            self._parameters[name] = value
        elif isinstance(value, Module):
            self.__dict__.pop(name, None)
            self._parameters.pop(name, None)
            self._buffers.pop(name, None)
            self._modules[name] = value
        elif name in self._buffers or (value is None and name in self._parameters):
            target = self._buffers if name in self._buffers else self._parameters
            target[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        _structure_changed()
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                f"(varjax.nn.Parameter or None required)"
            )
        _structure_changed()
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Variable | None, persistent: bool = True) -> None:
        """A Variable that is state but not a parameter (e.g. BatchNorm's running mean)."""
        if tensor is not None and not isinstance(tensor, Variable):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}'")
        _structure_changed()
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        _structure_changed()
        self._modules[name] = module

    register_module = add_module

    # -- the call -------------------------------------------------------------------------------

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing "forward"')

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # -- iteration ------------------------------------------------------------------------------

    def named_modules(
        self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """This module and its submodules, depth-first; a module reached twice appears once
        unless ``remove_duplicate`` is False."""
        memo = set() if memo is None else memo
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                sub = f"{prefix}.{name}" if prefix else name
                yield from module.named_modules(memo, sub, remove_duplicate)

    def _named_state(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True,
        persistent: bool = False,
    ) -> Iterator[tuple[str, Module, str, str, Variable]]:  # fmt: skip
        """(dotted name, owner, store, name, value) of every parameter and buffer: the one
        walk of a module tree's state (``parameters``, ``state_dict``, ``load_state_dict``,
        ``to``, ``varjax.jit``), in PyTorch's order: each module's parameters, then its
        buffers, modules depth-first. ``persistent`` leaves out non-persistent buffers."""
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
        for mod_prefix, m in modules if recurse else [(prefix, self)]:
            d = m.__dict__
            for store in ("_parameters", "_buffers"):
                for name, v in d[store].items():
                    if v is None or persistent and name in d["_non_persistent"]:
                        continue
                    yield (f"{mod_prefix}.{name}" if mod_prefix else name), m, store, name, v

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named(self, store: str, prefix: str, recurse: bool) -> Iterator[tuple[str, Variable]]:
        seen = set()
        for key, _, kind, _, value in self._named_state(prefix, recurse):
            if kind == store and id(value) not in seen:
                seen.add(id(value))
                yield key, value

    def named_parameters(self, prefix: str = "", recurse: bool = True):
        return self._named("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True):
        return self._named("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Variable]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # -- state ----------------------------------------------------------------------------------

    def state_dict(self, destination: dict | None = None, prefix: str = "") -> OrderedDict:
        """Parameters and persistent buffers by dotted name (values without history)."""
        out = OrderedDict() if destination is None else destination
        for key, _, _, _, v in self._state_entries(prefix):
            out[key] = v.detach()
        return out

    def _state_entries(self, prefix: str = "") -> Iterator[tuple[str, Module, str, str, Variable]]:
        # a module reached twice appears under each of its names, as in PyTorch
        return self._named_state(prefix.rstrip("."), remove_duplicate=False, persistent=True)

    def _state_slots(self) -> dict[str, tuple[Module, str, str]]:
        return {key: (m, store, name) for key, m, store, name, _ in self._state_entries()}

    def load_state_dict(self, state_dict: dict, strict: bool = True) -> _IncompatibleKeys:
        """Copy values into the parameters and buffers; every check runs before any change,
        so a bad state dict leaves the model as it was."""
        slots = self._state_slots()
        missing = [k for k in slots if k not in state_dict]
        unexpected = [k for k in state_dict if k not in slots]
        errors = []
        if strict and unexpected:
            errors.append(
                "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ". "
            )
        if strict and missing:
            errors.append(
                "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ". "
            )
        values = {}
        for key, (module, store, name) in slots.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            value = value if isinstance(value, Variable) else Variable(value)
            current = getattr(module, store)[name]
            if tuple(value.shape) != tuple(current.shape):
                errors.append(
                    f"size mismatch for {key}: copying a param with shape {tuple(value.shape)} "
                    f"from checkpoint, the shape in current model is {tuple(current.shape)}."
                )
            values[key] = value
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                + "\n\t".join(errors)
            )
        with no_grad():
            for key, value in values.items():
                module, store, name = slots[key]
                getattr(module, store)[name].copy_(value)
        return _IncompatibleKeys(missing, unexpected)

    # -- modes and helpers ----------------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.zero_()

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Move parameters and buffers (and gradients) to a device and/or cast the floating
        ones to a dtype, in place, as PyTorch's ``Module.to``: ``model.to("cuda")``,
        ``model.to(varjax.float16)``, ``model.to(device, dtype)``. Returns the module."""
        dev, dt, _ = to_args(args, dict(kwargs))
        with no_grad():
            seen = set()
            for _, _, _, _, v in self._named_state():
                if id(v) in seen:
                    continue
                seen.add(id(v))
                cast = dt if dt is not None and v.is_floating_point() else None
                if cast is None and dev is None:
                    continue
                v.data = v.detach().to(dev, cast)
                if v.grad is not None:
                    v.grad = v.grad.to(dev, cast)
        return self

    def cuda(self, device: Any = None) -> Module:
        """Move parameters and buffers to a GPU (``cuda:device``)."""
        return self.to(_device.device("cuda", device) if isinstance(device, int) else
                       device or "cuda")  # fmt: skip

    def cpu(self) -> Module:
        """Move parameters and buffers to the CPU."""
        return self.to("cpu")

    def double(self) -> Module:
        return self.to(np.float64)

    def half(self) -> Module:
        return self.to(np.float16)

    def float(self) -> Module:
        return self.to(np.float32)

    # -- repr -----------------------------------------------------------------------------------

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + _indent(repr(m)) for name, m in self._modules.items()]
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        body = ([extra] if extra else []) + lines
        return f"{type(self).__name__}(\n  " + "\n  ".join(body) + "\n)"


# -- varjax.jit: how to find a module tree's state ----------------------------------------------

_WALKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_SLOTS = frozenset({"_parameters", "_buffers", "_modules", "_non_persistent", "training"})


def _tree(root: Module) -> tuple:
    """(modules, state Variables, other attribute values) of a module tree, in order; cached
    until any Module changes, so a call walks a big model in one lookup."""
    entry = _WALKS.get(root)
    if entry is not None and entry[0] == _EPOCH[0]:
        return entry[1:]
    mods = [m for _, m in root.named_modules()]
    state = list({id(v): v for *_, v in root._named_state()}.values())
    others = [v for m in mods for k, v in m.__dict__.items() if k not in _SLOTS]
    _WALKS[root] = (_EPOCH[0], tuple(mods), tuple(state), tuple(others))
    return _WALKS[root][1:]


def _walk_module(root: Module, found: _state.Found) -> None:
    mods, state, others = _tree(root)
    for m in mods:
        if m is root or found.first(m):
            found.static(m.training)  # train/eval decides the program
            found.holder(m, m.__dict__)  # ``self.h = ...`` and ``self.buffer = ...`` in a step
            found.holder(m, m._buffers)
    for v in state:
        found.variable(v)
    for v in others:  # plain attributes (a Variable, a list, an Optimizer kept on the model)
        found.walk(v)


_state.register(Module, _walk_module)


def _indent(text: str) -> str:
    return text.replace("\n", "\n  ")
