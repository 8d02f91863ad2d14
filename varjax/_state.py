"""Finding the state a function can reach: Variables, and the objects that hold them.

``varjax.jit`` lifts every Variable a step can reach into its compiled program: through the
arguments, the closure, the globals the code names, and the attributes of the user's own
objects found there. Types that hold state their own way register a walker here, as Flax
NNX's graph registry does (``register_graph_node_type``): ``nn.Module`` walks its
parameters, buffers and submodules, ``optim.Optimizer`` its per-parameter state and
hyperparameters. The walk itself knows neither.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Hashable
from typing import Any

import jax
import numpy as np

from ._source import is_user_file, is_user_module
from ._variable import Variable

Walker = Callable[[Any, "Found"], None]


class Found:
    """What a walk found, in a deterministic order: the state Variables, and the static facts
    that decide the compiled program (``training`` flags, optimizer settings)."""

    def __init__(self) -> None:
        self.vars: list[Variable] = []
        self.statics: list[Hashable] = []
        self.seen: set[int] = set()
        # (owner, namespace) of the user objects met: a step that stores a Variable there
        # (``self.h = h.detach()``) has it written back after each call
        self.holders: list[tuple[Any, dict]] = []

    def holder(self, owner: Any, namespace: dict) -> None:
        """Watch ``namespace`` (``owner``'s attributes) for Variables the step stores."""
        self.holders.append((owner, namespace))

    def variable(self, v: Variable) -> None:
        if id(v) not in self.seen:
            self.seen.add(id(v))
            self.vars.append(v)

    def static(self, part: Hashable) -> None:
        """Part of the compiled program's cache key: a new value compiles a new program."""
        self.statics.append(part)

    def first(self, obj: Any) -> bool:
        """True the first time ``obj`` is met (then marks it seen)."""
        if id(obj) in self.seen:
            return False
        self.seen.add(id(obj))
        return True

    def walk(self, obj: Any) -> None:
        handler = _HANDLERS.get(type(obj))
        if handler is None:
            handler = _HANDLERS[type(obj)] = _handler(type(obj))
        if handler is not _skip and self.first(obj):
            handler(obj, self)


_REGISTRY: list[tuple[type | tuple[type, ...], Walker]] = []
_HANDLERS: dict[type, Walker] = {}


def register(cls: type | tuple[type, ...], walker: Walker) -> None:
    """Walk objects of ``cls`` (and its subclasses) with ``walker(obj, found)``."""
    _REGISTRY.append((cls, walker))
    _HANDLERS.clear()


def _skip(obj: Any, found: Found) -> None:
    pass


def _handler(cls: type) -> Walker:
    """How to search objects of type ``cls`` for state (decided once per type)."""
    for types_, walker in _REGISTRY:
        if issubclass(cls, types_):
            return walker
    return _walk_object if is_user_module(cls.__module__) else _skip


@functools.cache
def _code_names(code: types.CodeType) -> tuple[str, ...]:
    """Global names a code object (and the functions and comprehensions inside it) reads."""
    names = list(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            names.extend(_code_names(c))
    return tuple(dict.fromkeys(names))


def _walk_items(obj: Any, found: Found) -> None:
    for x in obj.values() if isinstance(obj, dict) else obj:
        found.walk(x)


def _walk_function(obj: types.FunctionType, found: Found) -> None:
    if not is_user_file(obj.__code__.co_filename):
        return
    for cell in obj.__closure__ or ():
        try:
            found.walk(cell.cell_contents)
        except ValueError:  # an empty cell (a name assigned later)
            pass
    glb = obj.__globals__
    for name in _code_names(obj.__code__):
        if name in glb:
            found.walk(glb[name])


def _walk_method(obj: types.MethodType, found: Found) -> None:
    found.walk(obj.__self__)
    found.walk(obj.__func__)


def _walk_partial(obj: functools.partial, found: Found) -> None:
    found.walk((obj.func, obj.args, obj.keywords))


def _walk_object(obj: Any, found: Found) -> None:
    namespace = getattr(obj, "__dict__", None)
    if isinstance(namespace, dict):
        found.holder(obj, namespace)
        found.walk(namespace)


_ATOMS = (str, bytes, int, float, complex, bool, type(None), np.ndarray, np.generic, jax.Array)
register(_ATOMS + (type, types.ModuleType), _skip)
register(Variable, lambda v, found: found.vars.append(v))  # first() already marked it seen
register((list, tuple, set, frozenset, dict), _walk_items)
register(types.FunctionType, _walk_function)
register(types.MethodType, _walk_method)
register(functools.partial, _walk_partial)
