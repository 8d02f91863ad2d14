"""The compile cache: one ``jax.jit`` program per signature, and its public statistics.

A signature is the hashable program (instructions, which already carry input shapes and
dtypes) plus what the call returns. Values never enter it, so a new learning rate or a new
random draw reuses the compiled program.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax

from . import _caches, _html, _recompile, _tracing
from ._config import config
from ._source import call_site


def _persistent_cache() -> None:
    """Turn on JAX's persistent compilation cache in a user cache folder, so a re-run of a
    script or notebook finds its programs already compiled.

    ``VARJAX_COMPILATION_CACHE=0`` (before the import) leaves it off; a path puts it there.
    The default folder is ``$XDG_CACHE_HOME/varjax/xla`` (``~/.cache/varjax/xla``). A cache
    folder set through JAX itself (``JAX_COMPILATION_CACHE_DIR``) is left as it is. Every
    program is kept, up to 1 GiB with the least recently used out first (JAX's defaults keep
    only programs that took over 1 s, most of varjax's take less, and have no bound)."""
    setting = os.environ.get("VARJAX_COMPILATION_CACHE", "")
    if setting.lower() in ("0", "false", "off") or jax.config.jax_compilation_cache_dir:
        return
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    jax.config.update("jax_compilation_cache_dir", setting or os.path.join(home, "varjax", "xla"))
    if jax.config.jax_persistent_cache_min_compile_time_secs == 1.0:  # JAX's default
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    if jax.config.jax_compilation_cache_max_size == -1:  # JAX's default: no bound
        jax.config.update("jax_compilation_cache_max_size", 2**30)


_persistent_cache()


class Signature:
    """A program's cache key, hashed once (a program tuple takes microseconds to hash)."""

    __slots__ = ("key", "_hash")

    def __init__(self, key: tuple) -> None:
        self.key = key
        self._hash = hash(key)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Signature) and self._hash == other._hash and self.key == other.key


_CACHE: OrderedDict = OrderedDict()  # least recently used first
# Whether a backward program also returns its output's value (see _vjp.run), decided per
# line of the user's code that calls backward (a new line follows the last decision). A
# scalar's value (a loss a loop logs) comes out until one returned there goes unread until the
# line's next backward; from then on the line skips it (a chain of elementwise ops fuses its
# forward into the backward, and returning the value would cost XLA a second forward). A
# value read after a backward skipped it makes that program return it from then on.
# (both keyed by a signature's hash: a collision could only return or skip a value wrongly,
# never give a wrong one, and comparing whole signatures costs microseconds)
_WANTS_VALUE: set = set()  # signatures whose skipped value was read: return it
_SKIPPED: dict = {}  # signature -> the call site that skips its value (decided: no lookup)
_SITES: dict = {}  # call site -> "read", "unread", or ("pending", signature): not read yet
_LAST = ["read"]  # what the last site decided: a new line follows it
_caches.register(_CACHE.clear)
_caches.register(_WANTS_VALUE.clear)
_caches.register(_SITES.clear)
_caches.register(_SKIPPED.clear)
_caches.register(lambda: _LAST.__setitem__(0, "read"))


@dataclass
class CompileStats:
    """Counts since start-up (or the last ``clear_caches()``).

    ``compiles`` (= ``misses``): programs compiled, ``varjax.jit`` steps included;
    ``cache_hits``: calls that reused one; ``cache_size``: programs held now;
    ``compile_seconds``: wall time of each program's first call (tracing, XLA compilation
    and that first run); ``evictions``: programs dropped because the cache was full
    (``config.max_cached_programs``).

    Example:
        >>> import varjax as vj
        >>> s = vj.compile_stats()
        >>> s.compiles >= 0 and s.cache_hits >= 0
        True
    """

    compiles: int = 0
    cache_hits: int = 0
    cache_size: int = 0
    compile_seconds: float = 0.0
    evictions: int = 0

    @property
    def misses(self) -> int:
        """Cache misses: each one compiled a program (the same number as ``compiles``)."""
        return self.compiles

    def _repr_html_(self) -> str:
        return _html.stats(self)  # Jupyter's display: the counts and what each means


_STATS = CompileStats()


def count_compile(seconds: float = 0.0) -> None:
    """Count a program compiled outside this cache (a ``varjax.jit`` step)."""
    _STATS.compiles += 1
    _STATS.compile_seconds += seconds


def count_compile_seconds(seconds: float) -> None:
    _STATS.compile_seconds += seconds


def count_hit() -> None:
    """Count a call that reused a program compiled outside this cache."""
    _STATS.cache_hits += 1


def bound(cache: OrderedDict, on_evict: Callable | None = None) -> None:
    """Drop the least recently used programs of ``cache`` beyond ``config.max_cached_programs``
    (a ``varjax.jit`` function's cache uses this too)."""
    limit = config.max_cached_programs
    if limit is None:
        return
    while len(cache) > max(limit, 1):
        key, _ = cache.popitem(last=False)
        _STATS.evictions += 1
        if on_evict is not None:
            on_evict(key)


def cached(
    sig, build: Callable[[], Callable], explain: Callable | None = None, inlined: bool = False
) -> Callable:
    """The compiled program for ``sig``, built (by ``build``) on a miss.

    ``explain()`` returns (kind, key, differ) for the recompile explanations (see
    ``_recompile``); it is only called on a miss. An ``inlined`` program runs on traced
    values (inside a ``Function``, a ``checkpoint`` or another JAX transform): it becomes part
    of the enclosing program and is no compile of its own."""
    fn = _CACHE.get(sig)
    if inlined or _tracing.state.active:  # part of an enclosing program: nothing compiles here
        if fn is None:
            fn = _CACHE[sig] = jax.jit(build())
            bound(_CACHE, _forget)
        return fn
    if fn is not None:
        _STATS.cache_hits += 1
        _CACHE.move_to_end(sig)
        return fn
    _STATS.compiles += 1
    why = explain() if explain is not None else ("program",)
    if explain is not None:
        _recompile.on_compile(*why)
    jitted = jax.jit(build())

    def first_call(*args):  # jax compiles on the first call: time it, then get out of the way
        start = time.perf_counter()
        note = compile_note(why[0], start)
        try:
            return jitted(*args)
        finally:
            _STATS.compile_seconds += time.perf_counter() - start
            if note is not None:
                note.cancel()
            if sig in _CACHE:  # (not if dropped meanwhile: the cache stays in bounds)
                _CACHE[sig] = jitted

    _CACHE[sig] = first_call
    bound(_CACHE, _forget)
    return first_call


# a compile that takes longer than this (seconds) prints a note in a notebook, so its user
# knows why the cell waits; the timer starts only around an XLA compile (milliseconds already)
NOTE_AFTER = 1.0


def _in_notebook() -> bool:
    ipython = sys.modules.get("IPython")
    get = getattr(ipython, "get_ipython", None)
    return get is not None and get() is not None


def compile_note(kind: str, start: float) -> threading.Timer | None:
    """A timer that prints "varjax: compiling ..." once the compile has taken NOTE_AFTER
    seconds, in IPython or Jupyter only (None elsewhere)."""
    if not _in_notebook():
        return None

    def say() -> None:
        so_far = time.perf_counter() - start
        print(f"varjax: compiling a {kind} program ({so_far:.1f} s so far)...", flush=True)

    timer = threading.Timer(NOTE_AFTER, say)
    timer.daemon = True
    timer.start()
    return timer


def _forget(key) -> None:
    """An evicted program: a backward's key is (signature, whether it returns the value)."""
    if type(key) is tuple and len(key) == 2 and type(key[0]) is Signature:
        _WANTS_VALUE.discard(key[0]._hash)
        _SKIPPED.pop(key[0]._hash, None)


def value_read(entry: tuple) -> None:
    """A user read the output value of a backward: ``entry`` is (signature, call site, whether
    the program returned it)."""
    sig, site, returned = entry
    if not returned:
        _WANTS_VALUE.add(sig._hash)
        _SKIPPED.pop(sig._hash, None)
    _SITES[site] = _LAST[0] = "read"


def value_returned(sig, site) -> None:
    """The backward program ``sig``, called at ``site``, returned its output's value."""
    _SITES[site] = ("pending", sig)


def wants_value(sig, scalar: bool) -> tuple[bool, Any]:
    """(whether the backward program ``sig`` returns its output's value, the user's line that
    called it); the line is None where the answer is settled (the value is read)."""
    if sig._hash in _WANTS_VALUE:
        return True, None
    site = _SKIPPED.get(sig._hash)
    if site is not None:
        return False, site
    site = call_site()
    state = _SITES.get(site, _LAST[0])
    if type(state) is tuple:  # returned there last time, and nobody read it since
        state = _SITES[site] = _LAST[0] = "unread"
    want = scalar and state != "unread"
    if not want:
        _SKIPPED[sig._hash] = site
    return want, site


def compile_stats() -> CompileStats:
    """A snapshot of varjax's compile counters (see ``CompileStats``).

    Example:
        >>> import varjax as vj
        >>> before = vj.compile_stats()
        >>> (vj.ones(2) * 3).tolist()  # computing a pending value compiles a program or reuses one
        [3.0, 3.0]
        >>> after = vj.compile_stats()
        >>> after.compiles + after.cache_hits > before.compiles + before.cache_hits
        True
    """
    size = len(_CACHE) + sum(owner.cache_size() for owner in _caches.owners())
    return CompileStats(
        _STATS.compiles, _STATS.cache_hits, size, _STATS.compile_seconds, _STATS.evictions
    )


def clear_caches() -> None:
    """Drop every compiled program, abstract-evaluation result and recompile history, and
    reset the counters.

    Example:
        >>> import varjax as vj
        >>> vj.clear_caches()
        >>> s = vj.compile_stats()
        >>> s.compiles, s.cache_hits, s.cache_size
        (0, 0, 0)
    """
    _caches.clear_all()
    _STATS.compiles = _STATS.cache_hits = _STATS.evictions = 0
    _STATS.compile_seconds = 0.0
