"""``nn.Module`` and ``nn.Parameter``: PyTorch's module tree over varjax Variables.

A Module keeps its parameters, buffers and submodules in three ordered dicts, as PyTorch's
does, so iteration order, ``state_dict`` keys and ``repr`` match what PyTorch users expect.
"""

from __future__ import annotations

import functools
import inspect
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np

from .. import _device, _functions, _html, _state
from .._creation import made_now, zeros_like
from .._grad_mode import is_grad_enabled, no_grad
from .._methods.dtype import to_args
from .._placement import put, spread_over
from .._variable import RemovableHandle, Variable

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
        super().__init__(np.zeros(0, np.float32) if data is None else made_now(data), requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


def _factory_kwargs(init: Callable) -> Callable:
    """A varjax layer's ``__init__`` taking PyTorch's factory kwargs: ``nn.Linear(4, 2,
    device=d, dtype=t)`` makes its parameters and buffers there, the floating ones in ``t``
    (drawn as PyTorch would, then placed and cast, as ``module.to(d, t)`` does). An
    ``__init__`` that takes them itself is returned as it is."""
    sig = inspect.signature(init)
    if "device" in sig.parameters or "dtype" in sig.parameters:
        return init

    @functools.wraps(init)
    def wrapped(self, *args: Any, device: Any = None, dtype: Any = None, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        if device is not None or dtype is not None:
            self.to(**{k: v for k, v in (("device", device), ("dtype", dtype)) if v is not None})

    extra = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=None)
             for n in ("device", "dtype")]  # fmt: skip
    params = list(sig.parameters.values())
    tail = [p for p in params if p.kind is inspect.Parameter.VAR_KEYWORD]
    head = [p for p in params if p.kind is not inspect.Parameter.VAR_KEYWORD]
    wrapped.__signature__ = sig.replace(parameters=head + extra + tail)
    return wrapped


_EPOCH = [0]  # bumped by every change to a Module's parameters, buffers, submodules or attributes


def _structure_changed() -> None:
    _EPOCH[0] += 1


def _laid_out_as(value: Variable, current: Variable) -> Variable:
    """``value`` laid out as ``current`` where that is sharded over several devices: copy_
    of a value on one device would leave the result where XLA puts it (one device), and the
    parameter would lose its layout. A value on one device needs no move."""
    sharding = spread_over(current)
    if sharding is None:
        return value
    return Variable(put(value.detach()._value(), sharding))


class _IncompatibleKeys(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (f"_IncompatibleKeys(missing_keys={self.missing_keys!r}, "
                f"unexpected_keys={self.unexpected_keys!r})")  # fmt: skip

    __str__ = __repr__


_HOOK_STORES = ("_forward_pre_hooks", "_forward_hooks", "_backward_pre_hooks", "_backward_hooks")
# the ids (of the hook stores above) whose hooks take kwargs / run even when forward raises
_HOOK_FLAGS = ("_forward_pre_hooks_with_kwargs", "_forward_hooks_with_kwargs",
               "_forward_hooks_always_called")  # fmt: skip


class _ModuleHandle(RemovableHandle):
    """The handle a Module's ``register_*_hook`` returns (PyTorch's ``RemovableHandle``):
    ``remove()`` unregisters the hook; usable as a context manager."""

    def __init__(self, hooks: dict, *flags: set) -> None:
        super().__init__(hooks)
        self._flags = flags

    def remove(self) -> None:
        _structure_changed()
        super().remove()
        for f in self._flags:
            f.discard(self.id)

    def __enter__(self) -> _ModuleHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None and cls.__module__.startswith("varjax.nn"):
            cls.__init__ = _factory_kwargs(init)

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)
        for name in _HOOK_STORES:
            object.__setattr__(self, name, OrderedDict())
        for name in _HOOK_FLAGS:
            object.__setattr__(self, name, set())

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
        """Register ``param`` (or None) as the parameter ``name`` (PyTorch's method)."""
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
        self._buffers[name] = made_now(tensor)
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` as the child ``name``. PyTorch's ``Module.add_module``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if not isinstance(name, str):
            raise TypeError(f"module name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError(f'module name can\'t contain ".", got: {name}')
        if name == "":
            raise KeyError('module name can\'t be empty string ""')
        _structure_changed()
        self._modules[name] = module

    register_module = add_module

    # -- the call -------------------------------------------------------------------------------

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; subclasses define it, and call the module rather than ``forward``."""
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing "forward"')

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        d = self.__dict__
        if not any(d.get(k) for k in _HOOK_STORES):
            return self.forward(*args, **kwargs)
        return _hooks_call(self, args, kwargs)

    # -- hooks ----------------------------------------------------------------------------------

    def _add_hook(self, store: str, hook: Callable, prepend: bool, **flags: bool) -> _ModuleHandle:
        d = self.__dict__
        for name in (store, *_HOOK_FLAGS):  # a Module unpickled from before hooks existed
            d.setdefault(name, OrderedDict() if name in _HOOK_STORES else set())
        hooks = d[store]
        marks = [d[f"{store}_{flag}"] for flag in flags]
        handle = _ModuleHandle(hooks, *marks)
        hooks[handle.id] = hook
        for flag, on in flags.items():
            if on:
                d[f"{store}_{flag}"].add(handle.id)
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        _structure_changed()  # varjax.jit: a new hook is a new program
        return handle

    def register_forward_pre_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False
    ) -> _ModuleHandle:
        """Call ``hook(module, args)`` (``hook(module, args, kwargs)`` with ``with_kwargs``)
        before each ``forward``; a returned value replaces the arguments (a non-tuple is
        wrapped in one; with kwargs it must be ``(args, kwargs)``). PyTorch's
        ``Module.register_forward_pre_hook``."""
        return self._add_hook("_forward_pre_hooks", hook, prepend, with_kwargs=with_kwargs)

    def register_forward_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False,
        always_call: bool = False,
    ) -> _ModuleHandle:  # fmt: skip
        """Call ``hook(module, args, output)`` (``hook(module, args, kwargs, output)`` with
        ``with_kwargs``) after each ``forward``; a returned value replaces the output.
        ``always_call`` runs it even when ``forward`` raises. PyTorch's
        ``Module.register_forward_hook``."""
        return self._add_hook("_forward_hooks", hook, prepend, with_kwargs=with_kwargs,
                              always_called=always_call)  # fmt: skip

    def register_full_backward_pre_hook(self, hook: Callable, prepend: bool = False
                                        ) -> _ModuleHandle:  # fmt: skip
        """Call ``hook(module, grad_output)`` when the gradients of the outputs are known; a
        returned tuple replaces ``grad_output``. PyTorch's
        ``Module.register_full_backward_pre_hook``."""
        return self._add_hook("_backward_pre_hooks", hook, prepend)

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False
                                    ) -> _ModuleHandle:  # fmt: skip
        """Call ``hook(module, grad_input, grad_output)`` when the gradients of the module's
        positional inputs are known (``None`` for an input that is not a Variable requiring
        grad); a returned tuple replaces ``grad_input``. PyTorch's
        ``Module.register_full_backward_hook``, built on Variable hooks at an identity taken
        of the inputs and of the outputs."""
        return self._add_hook("_backward_hooks", hook, prepend)

    def register_backward_hook(self, hook: Callable) -> _ModuleHandle:
        """PyTorch's deprecated non-full backward hook: not supported."""
        raise NotImplementedError(
            "Module.register_backward_hook (deprecated in PyTorch) is not supported; use "
            "register_full_backward_hook(hook), which has the same hook(module, grad_input, "
            "grad_output) signature"
        )

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

    def modules(self, remove_duplicate: bool = True) -> Iterator[Module]:
        """This module and every submodule, once each (unless ``remove_duplicate`` is False)."""
        for _, m in self.named_modules(remove_duplicate=remove_duplicate):
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) of the direct submodules, once each."""
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        """The direct submodules, once each."""
        for _, m in self.named_children():
            yield m

    def _named(self, store: str, prefix: str, recurse: bool, remove_duplicate: bool = True
               ) -> Iterator[tuple[str, Variable]]:  # fmt: skip
        seen = set()
        for key, _, kind, _, value in self._named_state(prefix, recurse, remove_duplicate):
            if kind == store and (not remove_duplicate or id(value) not in seen):
                seen.add(id(value))
                yield key, value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) pairs, this module's first, then its submodules' (with
        ``recurse``); a shared Parameter appears once unless ``remove_duplicate`` is False.
        PyTorch's ``Module.named_parameters``."""
        return self._named("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """The Parameters of ``named_parameters``."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Variable]]:  # fmt: skip
        """(dotted name, buffer) pairs, as ``named_parameters``. PyTorch's
        ``Module.named_buffers``."""
        return self._named("_buffers", prefix, recurse, remove_duplicate)

    def get_submodule(self, target: str) -> Module:
        """The submodule at dotted path ``target`` (``""`` is this module); AttributeError
        naming the missing step otherwise. PyTorch's ``Module.get_submodule``."""
        mod = self
        for item in target.split(".") if target else ():
            if not hasattr(mod, item):
                raise AttributeError(f"{type(mod).__name__} has no attribute `{item}`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return mod

    def get_parameter(self, target: str) -> Parameter:
        """The Parameter at dotted path ``target``. PyTorch's ``Module.get_parameter``."""
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if not hasattr(mod, name):
            raise AttributeError(f"{type(mod).__name__} has no attribute `{name}`")
        param = getattr(mod, name)
        if not isinstance(param, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return param

    def get_buffer(self, target: str) -> Variable:
        """The buffer at dotted path ``target``. PyTorch's ``Module.get_buffer``."""
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if not hasattr(mod, name):
            raise AttributeError(f"{type(mod).__name__} has no attribute `{name}`")
        if name not in mod._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return getattr(mod, name)

    def buffers(self, recurse: bool = True) -> Iterator[Variable]:
        """The buffers of ``named_buffers``."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # -- state ----------------------------------------------------------------------------------

    def state_dict(self, *args: Any, destination: dict | None = None, prefix: str = "",
                   keep_vars: bool = False) -> OrderedDict:  # fmt: skip
        """Parameters and persistent buffers by dotted name (detached, or the Variables
        themselves with ``keep_vars``). PyTorch's ``Module.state_dict``."""
        if args:  # PyTorch's deprecated positional form: (destination, prefix, keep_vars)
            destination, prefix, keep_vars = (*args, *(destination, prefix, keep_vars)[len(args) :])
        out = OrderedDict() if destination is None else destination
        for key, _, _, _, v in self._state_entries(prefix):
            out[key] = v if keep_vars else v.detach()
        return out

    def _state_entries(self, prefix: str = "") -> Iterator[tuple[str, Module, str, str, Variable]]:
        # a module reached twice appears under each of its names, as in PyTorch
        return self._named_state(prefix.rstrip("."), remove_duplicate=False, persistent=True)

    def _state_slots(self) -> dict[str, tuple[Module, str, str]]:
        return {key: (m, store, name) for key, m, store, name, _ in self._state_entries()}

    def load_state_dict(self, state_dict: Mapping, strict: bool = True, assign: bool = False
                        ) -> _IncompatibleKeys:  # fmt: skip
        """Copy values into the parameters and buffers (with ``assign``, take the given
        tensors as the new parameters and buffers instead); every check runs before any
        change, so a bad state dict leaves the model as it was. Returns
        ``(missing_keys, unexpected_keys)``. PyTorch's ``Module.load_state_dict``."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
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
                current = getattr(module, store)[name]
                if not assign:
                    current.copy_(_laid_out_as(value, current))
                elif store == "_parameters" and not isinstance(value, Parameter):
                    module.register_parameter(name, Parameter(value.detach(),
                                                              current.requires_grad))  # fmt: skip
                else:
                    getattr(module, store)[name] = value
        _structure_changed()
        return _IncompatibleKeys(missing, unexpected)

    # -- modes and helpers ----------------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Set ``training`` on this module and, through their own ``train``, its children.
        PyTorch's ``Module.train``."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        object.__setattr__(self, "training", mode)
        for m in self.children():
            m.train(mode)
        return self

    def eval(self) -> Module:
        """``train(False)``. PyTorch's ``Module.eval``."""
        return self.train(False)

    def share_memory(self) -> Module:
        """No-op (varjax arrays are not shared between processes). PyTorch's
        ``Module.share_memory``."""
        return self

    def __dir__(self) -> list[str]:
        d = self.__dict__
        names = [*dir(type(self)), *d, *d["_parameters"], *d["_buffers"], *d["_modules"]]
        return sorted(n for n in set(names) if not n[:1].isdigit())

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set ``requires_grad`` on every parameter. PyTorch's ``Module.requires_grad_``."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients: ``None``, or zeros in place with ``set_to_none=False``."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.zero_()

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every submodule (children first), then on this module.
        PyTorch's ``Module.apply``."""
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
        """Cast floating parameters and buffers to float64."""
        return self.to(np.float64)

    def half(self) -> Module:
        """Cast floating parameters and buffers to float16."""
        return self.to(np.float16)

    def float(self) -> Module:
        """Cast floating parameters and buffers to float32."""
        return self.to(np.float32)

    def bfloat16(self) -> Module:
        """Cast floating parameters and buffers to bfloat16."""
        return self.to(jnp.bfloat16)

    def type(self, dst_type: Any) -> Module:
        """Cast every parameter and buffer (floating or not) to ``dst_type``. PyTorch's
        ``Module.type``."""
        with no_grad():
            for v in {id(v): v for *_, v in self._named_state()}.values():
                v.data = v.detach().to(dst_type)
                if v.grad is not None:
                    v.grad = v.grad.to(dst_type)
        return self

    # -- repr -----------------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The settings shown inside this module's ``repr``."""
        return ""

    def __repr__(self) -> str:
        children = [f"({name}): " + _indent(repr(m)) for name, m in self._modules.items()]
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        if len(extra_lines) == 1 and not children:
            return f"{type(self).__name__}({extra})"
        if not extra_lines and not children:
            return f"{type(self).__name__}()"
        return f"{type(self).__name__}(\n  " + "\n  ".join(extra_lines + children) + "\n)"

    def _repr_html_(self) -> str:
        return _html.module(self)  # Jupyter's display: the tree with parameter counts and shapes


# -- calling with hooks (PyTorch's Module._call_impl) -------------------------------------------


def _hooks_call(m: Module, args: tuple, kwargs: dict) -> Any:
    """``m(*args, **kwargs)`` with its hooks: forward pre-hooks, the backward hooks' identity
    on the inputs, ``forward``, forward hooks, the backward hooks' identity on the outputs."""
    args, kwargs = _run_pre_hooks(m, args, kwargs)
    d = m.__dict__
    bw = None
    if (d.get("_backward_hooks") or d.get("_backward_pre_hooks")) and is_grad_enabled():
        bw = _BackwardHook(m)
        args = bw.setup_inputs(args)
    called: set[int] = set()
    result = None
    try:
        result = m.forward(*args, **kwargs)
        result = _run_forward_hooks(m, args, kwargs, result, called)
    except Exception:
        _run_always_called(m, args, kwargs, result, called)
        raise
    return result if bw is None else bw.setup_outputs(result)


def _run_pre_hooks(m: Module, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    with_kwargs = m.__dict__.get("_forward_pre_hooks_with_kwargs", ())
    for hid, hook in list(m.__dict__.get("_forward_pre_hooks", {}).items()):
        if hid in with_kwargs:
            r = hook(m, args, kwargs)
            if r is not None:
                if not (isinstance(r, tuple) and len(r) == 2):
                    raise RuntimeError("forward pre-hook must return None or a tuple of "
                                       f"(new_args, new_kwargs), but got {r}.")  # fmt: skip
                args, kwargs = r
        else:
            r = hook(m, args)
            if r is not None:
                args = r if isinstance(r, tuple) else (r,)
    return args, kwargs


def _run_forward_hooks(m: Module, args: tuple, kwargs: dict, result: Any, called: set) -> Any:
    d = m.__dict__
    for hid, hook in list(d.get("_forward_hooks", {}).items()):
        if hid in d.get("_forward_hooks_always_called", ()):
            called.add(hid)
        if hid in d.get("_forward_hooks_with_kwargs", ()):
            r = hook(m, args, kwargs, result)
        else:
            r = hook(m, args, result)
        result = result if r is None else r
    return result


def _run_always_called(m: Module, args: tuple, kwargs: dict, result: Any, called: set) -> None:
    """After ``forward`` raised: the ``always_call`` hooks not run yet (their own errors are
    silenced with a warning, so the user sees the first error)."""
    d = m.__dict__
    for hid, hook in list(d.get("_forward_hooks", {}).items()):
        if hid not in d.get("_forward_hooks_always_called", ()) or hid in called:
            continue
        try:
            if hid in d.get("_forward_hooks_with_kwargs", ()):
                hook(m, args, kwargs, result)
            else:
                hook(m, args, result)
        except Exception as e:
            warnings.warn(
                "forward hook with ``always_call=True`` raised an exception that was "
                f"silenced as another error was raised in forward: {e}",
                stacklevel=3,
            )


def _pack(index: list[int], values: Any, n: int) -> tuple:
    out: list = [None] * n
    for i, v in zip(index, values):
        out[i] = v
    return tuple(out)


def _hooked_identity(vs: list[Variable], hook: Callable[[tuple], Any]) -> list[Variable]:
    """Copies of ``vs`` whose gradients, all at once, go through ``hook(grads) -> grads``:
    one cloned Variable, or several joined into one flat Variable (one node, so the hook
    sees every gradient together, as PyTorch's multi-output ``BackwardHookFunction``)."""
    if len(vs) == 1:
        y = vs[0].clone()
        y.register_hook(lambda g: hook((g,))[0])
        return [y]
    if len({v.dtype for v in vs}) > 1:
        raise NotImplementedError(
            "full backward hooks on a module whose tensor inputs (or outputs) differ in dtype "
            f"({', '.join(str(v.dtype) for v in vs)}) are not supported; cast them to one dtype"
        )
    sizes = [v.numel() for v in vs]
    flat = _functions.cat([v.reshape(-1) for v in vs])

    def split(g: Variable) -> list[Variable]:
        pieces, start = [], 0
        for v, n in zip(vs, sizes):
            pieces.append(g[start : start + n].reshape(*v.shape))
            start += n
        return pieces

    def joined(g: Variable) -> Variable:
        new = hook(tuple(split(g)))
        return _functions.cat([(n if n is not None else zeros_like(v)).reshape(-1)
                               for n, v in zip(new, vs)])  # fmt: skip

    flat.register_hook(joined)
    return split(flat)


class _BackwardHook:
    """One call's full backward hooks (PyTorch's ``torch.utils.hooks.BackwardHook``): the
    outputs' gradients are kept until the inputs' arrive, then the hooks see both."""

    def __init__(self, module: Module) -> None:
        self.module = module
        self.hooks = list(module._backward_hooks.values())
        self.pre_hooks = list(module._backward_pre_hooks.values())
        self.grad_outputs: tuple | None = None
        self.n_inputs, self.input_index = 0, None

    def setup_inputs(self, args: tuple) -> tuple:
        self.n_inputs = len(args)
        idx = [i for i, a in enumerate(args) if isinstance(a, Variable) and a.requires_grad]
        if not idx:
            return args
        self.input_index = idx
        out = list(args)
        for i, v in zip(idx, _hooked_identity([args[i] for i in idx], self._at_inputs)):
            out[i] = v
        return tuple(out)

    def setup_outputs(self, result: Any) -> Any:
        single = isinstance(result, Variable)
        outs = (result,) if single else result
        if not isinstance(outs, tuple):
            warnings.warn(
                "For backward hooks to be called, module output should be a Tensor or a tuple "
                f"of Tensors but received {type(result)}", stacklevel=3,
            )  # fmt: skip
            return result
        idx = [i for i, o in enumerate(outs) if isinstance(o, Variable) and o.requires_grad]
        if not idx:
            return result
        self.output_index, self.n_outputs = idx, len(outs)
        new = list(outs)
        for i, v in zip(idx, _hooked_identity([outs[i] for i in idx], self._at_outputs)):
            new[i] = v
        return new[0] if single else tuple(new)

    def _at_outputs(self, grads: tuple) -> tuple:
        got = _pack(self.output_index, grads, self.n_outputs)
        for hook in self.pre_hooks:
            r = hook(self.module, got)
            if r is None:
                continue
            if len(r) != len(got):
                raise RuntimeError("Backward pre hook returned an invalid number of grad_output, "
                                   f"got {len(r)}, but expected {len(got)}")  # fmt: skip
            got = tuple(r)
        self.grad_outputs = got
        if self.input_index is None:  # no input needs a gradient: the hooks run now
            none = (None,) * self.n_inputs
            for hook in self.hooks:
                r = hook(self.module, none, got)
                if r is not None and not all(x is None for x in r):
                    raise RuntimeError("Backward hook for Modules where no input requires "
                                       "gradient should always return None or None for all "
                                       "gradients.")  # fmt: skip
            self.grad_outputs = None
        return tuple(got[i] for i in self.output_index)

    def _at_inputs(self, grads: tuple) -> tuple:
        if self.grad_outputs is None:  # the outputs got no gradient: PyTorch skips the hooks
            return grads
        res = _pack(self.input_index, grads, self.n_inputs)
        for hook in self.hooks:
            r = hook(self.module, res, self.grad_outputs)
            if r is None:
                continue
            if len(r) != len(res):
                raise RuntimeError("Backward hook returned an invalid number of grad_input, "
                                   f"got {len(r)}, but expected {len(res)}")  # fmt: skip
            res = tuple(r)
        self.grad_outputs = None
        return tuple(res[i] for i in self.input_index)


# -- varjax.jit: how to find a module tree's state ----------------------------------------------

_WALKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_SLOTS = frozenset({"_parameters", "_buffers", "_modules", "_non_persistent", "training",
                    "_recomputed"})  # fmt: skip


def _tree(root: Module) -> tuple:
    """(modules, state Variables, other attribute values) of a module tree, in order; cached
    until any Module changes, so a call walks a big model in one lookup."""
    entry = _WALKS.get(root)
    if entry is not None and entry[0] == _EPOCH[0]:
        return entry[1:]
    mods = [m for _, m in root.named_modules()]
    state = list({id(v): v for *_, v in root._named_state()}.values())
    # an attribute a forward pre-hook recomputes each call (``weight_norm``'s ``weight``) is
    # an output of the step, not state it reads
    others = [v for m in mods for k, v in m.__dict__.items()
              if k not in _SLOTS and k not in m.__dict__.get("_recomputed", ())
              and not _inert(k, v)]  # fmt: skip
    _WALKS[root] = (_EPOCH[0], tuple(mods), tuple(state), tuple(others))
    return _WALKS[root][1:]


_PLAIN = (int, float, bool, str, type(None))


def _inert(name: str, value: Any) -> bool:
    """An attribute the walk may skip until the tree changes (any change bumps ``_EPOCH``):
    a plain number or string, or an empty hook store."""
    return type(value) in _PLAIN or (name in _HOOK_STORES or name in _HOOK_FLAGS) and not value


def _walk_module(root: Module, found: _state.Found) -> None:
    mods, state, others = _tree(root)
    for m in mods:
        if m is root or found.first(m):
            found.static(m.training)  # train/eval decides the program
            if any(m.__dict__.get(k) for k in _HOOK_STORES):  # so do the hooks registered
                found.static(tuple(tuple(m.__dict__.get(k, ())) for k in _HOOK_STORES))
            found.holder(m, m.__dict__)  # ``self.h = ...`` and ``self.buffer = ...`` in a step
            found.holder(m, m._buffers)
    for v in state:
        found.variable(v)
    for v in others:  # plain attributes (a Variable, a list, an Optimizer kept on the model)
        found.walk(v)


_state.register(Module, _walk_module)


def _indent(text: str) -> str:
    return text.replace("\n", "\n  ")
