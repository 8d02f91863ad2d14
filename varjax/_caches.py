"""Every cache varjax keeps registers here, so ``clear_caches()`` reaches them all.

Equinox's habit: a module that caches something registers how to clear it, instead of the
public ``clear_caches()`` importing every module that keeps one.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

_CLEARS: list[Callable[[], None]] = []
_OWNERS: weakref.WeakSet = weakref.WeakSet()  # objects with caches of their own (varjax.jit)


def register(clear: Callable[[], None]) -> Callable[[], None]:
    """Have ``clear_all()`` call ``clear``; returns ``clear`` (usable as a decorator)."""
    _CLEARS.append(clear)
    return clear


def register_owner(owner) -> None:
    """Have ``clear_all()`` call ``owner.clear_cache()`` while ``owner`` lives (held weakly)."""
    _OWNERS.add(owner)


def owners() -> list:
    """The live registered owners (``compile_stats()`` counts their programs)."""
    return list(_OWNERS)


def clear_all() -> None:
    for clear in _CLEARS:
        clear()
    for owner in list(_OWNERS):
        owner.clear_cache()
