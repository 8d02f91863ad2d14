"""What Variable gives its method mixins, and the mark of a method that is also a function.

tinygrad's mixins ask the same of its Tensor: a mixin method records ops through
``self._apply`` and makes Variables through ``self._lift`` / ``self._new``, so the mixins sit
below the Variable class and never import it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .._ops import Op
from .._record import Node

if TYPE_CHECKING:
    from .._variable import Variable

F = TypeVar("F", bound=Callable)


def function(method: F) -> F:
    """Mark a method that is also the function ``varjax.<name>(input, ...)``."""
    method.is_function = True  # type: ignore[attr-defined]
    return method


class Methods:
    """The base of every method mixin: the protocol its methods use (Variable implements it)."""

    __slots__ = ()
    _node: Node

    def _apply(self, op: Op, *inputs: Any, params: tuple = ()) -> Variable:
        """Record ``op`` on ``inputs`` (Variables, arrays or Python numbers)."""
        raise NotImplementedError

    def _new(self, node: Node) -> Variable:
        """A new Variable bound to ``node``."""
        raise NotImplementedError

    def _lift(self, x: Any) -> Variable:
        """``x`` itself if it is a Variable, else a new one holding it."""
        raise NotImplementedError
