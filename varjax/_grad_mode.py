"""Grad mode: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, thread-local as in PyTorch."""

from __future__ import annotations

import contextlib
import threading


class _State(threading.local):
    enabled = True


_state = _State()


def is_grad_enabled() -> bool:
    """True when newly recorded ops track gradients in this thread.

    Example:
        >>> import varjax as vj
        >>> vj.is_grad_enabled()
        True
        >>> with vj.no_grad():
        ...     vj.is_grad_enabled()
        False
    """
    return _state.enabled


class set_grad_enabled(contextlib.ContextDecorator):  # noqa: N801 - PyTorch name
    """Turn gradient tracking on or off, as a function call, context manager or decorator.

    Example:
        >>> import varjax as vj
        >>> x = vj.ones(2, requires_grad=True)
        >>> with vj.set_grad_enabled(False):
        ...     (x * 2).requires_grad
        False
    """

    def __init__(self, mode: bool) -> None:
        self.prev = _state.enabled
        self.mode = bool(mode)
        _state.enabled = self.mode  # like PyTorch, calling it as a function takes effect at once

    def __enter__(self) -> None:
        _state.enabled = self.mode

    def __exit__(self, *exc) -> None:
        _state.enabled = self.prev

    def __call__(self, func):
        # Used as a decorator the call above must not leak into the caller's mode.
        _state.enabled = self.prev
        return super().__call__(func)

    def _recreate_cm(self):
        cm = set_grad_enabled.__new__(set_grad_enabled)
        cm.prev, cm.mode = _state.enabled, self.mode
        return cm


class _GradMode(contextlib.ContextDecorator):
    mode: bool

    def __new__(cls, *args, **kwargs):
        # PyTorch's bare decorator, ``@no_grad`` without the call: wrap the function at once
        if len(args) == 1 and not kwargs and callable(args[0]) and not isinstance(args[0], bool):
            return cls()(args[0])
        return super().__new__(cls)

    def __enter__(self) -> None:
        self.prev = _state.enabled
        _state.enabled = self.mode

    def __exit__(self, *exc) -> None:
        _state.enabled = self.prev

    def _recreate_cm(self):
        return type(self)()  # a fresh object per decorated call, so recursion and threads nest


class no_grad(_GradMode):  # noqa: N801 - PyTorch name
    """Context manager and decorator: ops inside record no history.

    Example:
        >>> import varjax as vj
        >>> x = vj.ones(2, requires_grad=True)
        >>> with vj.no_grad():
        ...     y = x * 2
        >>> y.requires_grad
        False
    """

    mode = False


class enable_grad(_GradMode):  # noqa: N801 - PyTorch name
    """Context manager and decorator: track gradients even inside ``no_grad``.

    Example:
        >>> import varjax as vj
        >>> x = vj.ones(2, requires_grad=True)
        >>> with vj.no_grad():
        ...     with vj.enable_grad():
        ...         y = x * 2
        >>> y.requires_grad
        True
    """

    mode = True


class inference_mode(_GradMode):  # noqa: N801 - PyTorch name
    """``no_grad`` for inference (``inference_mode(False)`` leaves gradients on); varjax has
    no separate inference tensors, so the two behave the same.

    Example:
        >>> import varjax as vj
        >>> with vj.inference_mode():
        ...     y = vj.ones(2, requires_grad=True) * 2
        >>> y.requires_grad
        False
    """

    def __init__(self, mode: bool = True) -> None:
        self.mode = not mode

    def _recreate_cm(self):
        return inference_mode(not self.mode)

    def __call__(self, func=None):
        if isinstance(func, bool):  # @inference_mode(False) is handled by __init__
            return inference_mode(func)
        return super().__call__(func)
