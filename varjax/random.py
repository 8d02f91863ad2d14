"""Seeded random state, threaded through compiled programs as an input.

The state is a base key and a draw counter. A draw records ``fold_in(key, counter)`` inside the
program, with the key and the counter as inputs: a new draw changes an input, not the
program, so loops that draw fresh noise never recompile.
"""

from __future__ import annotations

import threading
from typing import Any

import jax
import numpy as np

from . import _tracing
from ._record import Node, leaf

# the public names (PyTorch's torch.random); the others serve varjax's own modules
__all__ = [
    "Generator", "default_generator", "get_rng_state", "initial_seed", "manual_seed",
    "set_rng_state",
]  # fmt: skip

_DEFAULT_SEED = 0


class _KeyState:
    """One state for the process, as PyTorch's default generator: a thread started after
    ``manual_seed`` draws from the seeded state; draws from several threads never repeat."""

    key: Node | None = None
    seed: int = _DEFAULT_SEED
    counter: int = 0


_state = _KeyState()
_lock = threading.Lock()


def manual_seed(seed: int) -> Generator:
    """Seed varjax's random draws (``randn``, ``rand``); the same seed gives the same draws.
    Returns ``default_generator``, as PyTorch's returns ``torch.default_generator``.

    Example:
        >>> import varjax as vj
        >>> _ = vj.manual_seed(0); a = vj.randn(3)
        >>> vj.manual_seed(0) is vj.default_generator
        True
        >>> a.tolist() == vj.randn(3).tolist()
        True
    """
    seed = int(seed)
    with _lock:
        _state.seed, _state.key, _state.counter = seed, None, 0
    return default_generator


def initial_seed() -> int:
    """The seed of the current random state.

    Example:
        >>> import varjax as vj
        >>> _ = vj.manual_seed(42)
        >>> vj.initial_seed()
        42
    """
    return _state.seed


def counter() -> int:
    """How many draws the current random state has made (the next draw's counter is one more)."""
    return _state.counter


def advance(draws: int) -> None:
    """Count ``draws`` draws made elsewhere (inside a compiled ``varjax.jit`` step)."""
    with _lock:
        _state.counter += draws


def key_node() -> Node:
    """The node holding the base key (made from the seed on first use)."""
    with _lock:
        return _key()


def _key() -> Node:
    if _state.key is None:  # callers hold _lock
        _state.key = _seed_key(_state.seed)
    return _state.key


def _seed_key(seed: int) -> Node:
    # uint32 raw keys: the seed is taken modulo 2**32 in each half, as jax.random.PRNGKey does
    return leaf(jax.random.PRNGKey(np.uint64(seed % 2**64)))


def next_draw(generator: Generator | None = None) -> tuple[Node, int | Node]:
    """The key node and counter of a fresh draw (from ``generator``'s own state if given).

    Inside ``varjax.jit`` the key and the counter before the call are traced inputs, so each
    call of the compiled step draws what the same calls would draw uncompiled."""
    if generator is not None:
        return _checked(generator)._draw()
    traced = _tracing.state.rng
    if traced is not None:
        traced[2] += 1
        return traced[0], leaf(traced[1] + traced[2], aval=((), np.dtype(traced[1].dtype)))
    with _lock:
        key = _key()
        _state.counter += 1
        return key, _state.counter


class Generator:
    """A random state of its own, as ``torch.Generator``: a seed and a draw counter.

    Passed as ``generator=`` to ``DataLoader``, ``random_split`` and the samplers, it makes
    their shuffles reproducible without touching varjax's global state.

    Example:
        >>> import varjax as vj
        >>> g = vj.Generator().manual_seed(42)
        >>> g.initial_seed()
        42
    """

    def __init__(self, device: Any = "cpu") -> None:
        self.device = device
        self._seed, self._counter = _DEFAULT_SEED, 0
        self._key: Node | None = None
        self._lock = threading.Lock()

    def manual_seed(self, seed: int) -> Generator:
        with self._lock:
            self._seed, self._counter, self._key = int(seed), 0, None
        return self

    def _draw(self) -> tuple[Node, int]:
        """A draw of varjax's random functions (``randn(..., generator=g)``)."""
        with self._lock:
            if self._key is None:
                self._key = _seed_key(self._seed)
            self._counter += 1
            return self._key, self._counter

    def initial_seed(self) -> int:
        return self._seed

    def seed(self) -> int:
        """Seed from the operating system's entropy; returns the new seed."""
        seed = int(np.random.SeedSequence().generate_state(1, np.uint64)[0])
        return self.manual_seed(seed).initial_seed()

    def get_state(self) -> tuple[int, int]:
        return self._seed, self._counter

    def set_state(self, state: tuple[int, int]) -> Generator:
        with self._lock:
            self._seed, self._counter, self._key = int(state[0]), int(state[1]), None
        return self

    def _host_rng(self) -> np.random.Generator:
        with self._lock:
            self._counter += 1
            return _numpy_rng(self._seed, self._counter)


def _numpy_rng(seed: int, counter: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence((seed % 2**64, counter)))


def host_rng(generator: Generator | None = None) -> np.random.Generator:
    """A NumPy generator for host-side randomness (shuffles, splits), drawn from
    ``generator`` or, without one, from varjax's seeded state (one draw: ``manual_seed``
    makes it reproducible)."""
    if generator is not None:
        return _checked(generator)._host_rng()
    with _lock:
        _state.counter += 1
        return _numpy_rng(_state.seed, _state.counter)


def _checked(generator: Any) -> Generator:
    if not isinstance(generator, Generator):
        raise TypeError(
            f"generator must be a varjax.Generator, got {type(generator).__name__}; make one "
            f"with varjax.Generator().manual_seed(seed)"
        )
    return generator


def get_rng_state() -> tuple[int, int]:
    """The global random state (seed, draws made): ``set_rng_state`` restores it.

    Example:
        >>> import varjax as vj
        >>> state = vj.get_rng_state()
        >>> a = vj.rand(2)
        >>> vj.set_rng_state(state)
        >>> vj.rand(2).tolist() == a.tolist()  # the same draw again
        True
    """
    with _lock:
        return _state.seed, _state.counter


def set_rng_state(state: tuple[int, int]) -> None:
    """Restore a state from ``get_rng_state``: the draws that followed it repeat.

    Example:
        >>> import varjax as vj
        >>> state = vj.get_rng_state()
        >>> a = vj.randn(3)
        >>> vj.set_rng_state(state)
        >>> b = vj.randn(3)
        >>> a.tolist() == b.tolist()
        True
    """
    with _lock:
        seed = int(state[0])
        if seed != _state.seed:
            _state.key = None
        _state.seed, _state.counter = seed, int(state[1])


class _GlobalGenerator(Generator):
    """varjax's global random state seen as a ``Generator`` (``default_generator``): what
    ``manual_seed`` seeds and what draws without ``generator=`` use."""

    def manual_seed(self, seed: int) -> Generator:
        return manual_seed(seed)

    def _draw(self) -> tuple[Node, int | Node]:
        return next_draw()

    def initial_seed(self) -> int:
        return initial_seed()

    def get_state(self) -> tuple[int, int]:
        return get_rng_state()

    def set_state(self, state: tuple[int, int]) -> Generator:
        set_rng_state(state)
        return self

    def _host_rng(self) -> np.random.Generator:
        return host_rng()

    def __repr__(self) -> str:
        return "<varjax.default_generator>"


default_generator: Generator = _GlobalGenerator()
"""The global random state as a ``Generator`` (PyTorch's ``torch.default_generator``).

Example:
    >>> import varjax as vj
    >>> vj.default_generator.manual_seed(3).initial_seed() == vj.initial_seed() == 3
    True
"""
