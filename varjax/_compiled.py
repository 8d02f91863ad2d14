"""``varjax.compile``: PyTorch's ``torch.compile`` spelling, on varjax's two ways of compiling.

Every recorded segment is already one compiled program (the lazy replay), so a call that
needs gradients runs as it would uncompiled: its ``backward()`` compiles with it. A call that
cannot need gradients (under ``no_grad``/``inference_mode``, or with no parameter or input
requiring grad) runs through ``varjax.jit``: the whole call is one cached XLA program.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ._grad_mode import is_grad_enabled
from ._jit import jit
from ._variable import Variable
from .nn import Module

__all__ = ["compile"]


def _needs_grad(target: Any, args: tuple, kwargs: dict) -> bool:
    if not is_grad_enabled():
        return False
    if isinstance(target, Module) and any(p.requires_grad for p in target.parameters()):
        return True
    values = list(args) + list(kwargs.values())
    return any(isinstance(v, Variable) and v.requires_grad for v in values)


class _Compiled:
    """A function or Module compiled by ``varjax.compile``; call it as the original. A
    Module's attributes (``parameters()``, ``train()``, ...) are the original's
    (``_orig_mod``)."""

    def __init__(self, target: Callable) -> None:
        self._orig_mod = target
        self._whole = jit(target)
        if not isinstance(target, Module):
            functools.update_wrapper(self, target)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _needs_grad(self._orig_mod, args, kwargs):
            return self._orig_mod(*args, **kwargs)
        return self._whole(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_orig_mod"], name)


def compile(model: Callable | None = None, *, fullgraph: bool = False, dynamic: Any = None,  # noqa: A001
            backend: Any = "inductor", mode: Any = None, options: Any = None,
            disable: bool = False) -> Any:  # fmt: skip
    """``torch.compile``: a callable that runs ``model`` (a function or a Module) compiled.

    The arguments PyTorch takes are accepted; XLA decides the kernels. Use as a call or as a
    decorator (``@varjax.compile`` or ``@varjax.compile(mode=...)``).

    Example:
        >>> import varjax as vj
        >>> f = vj.compile(lambda x: (x * 2).sum())
        >>> f(vj.ones(3)).item()
        6.0
    """
    if model is None:
        return lambda m: compile(m, disable=disable)
    return model if disable else _Compiled(model)
