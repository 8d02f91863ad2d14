"""Where is the user's code: the frame that recorded an op, and which files are the user's.

Errors and recompile explanations name the user's line, never varjax's; ``varjax.jit`` looks
for state only in the user's own modules and objects.
"""

from __future__ import annotations

import functools
import linecache
import os
import sys
import sysconfig

PACKAGE = os.path.dirname(os.path.abspath(__file__))

_LIBRARY_ROOTS = tuple(
    os.path.abspath(p)
    for p in {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], sys.prefix}
) + (PACKAGE,)

Site = tuple[str, int, str]  # (file, line, code)


def user_site() -> Site | None:
    """The innermost frame of the user's code (else the innermost outside varjax): where the
    user's code called in, never a line of JAX that happens to run varjax (a traced step)."""
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(PACKAGE):
        frame = frame.f_back
    outside = frame
    while frame is not None and not is_user_file(frame.f_code.co_filename):
        frame = frame.f_back
    frame = frame or outside
    if frame is None:
        return None
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    return frame.f_code.co_filename, frame.f_lineno, line


@functools.cache
def _in_package(filename: str) -> bool:
    return os.path.abspath(filename).startswith(PACKAGE)


_INSIDE: dict = {}  # id of a code object -> (whether it is varjax's, the code object: kept,
# so that its id stays its own)


def call_site() -> tuple[int, int] | None:
    """(id of the code object, line) of the innermost frame outside varjax: a cheap key for
    the line that called in (no file reads, unlike ``user_site``)."""
    frame, inside = sys._getframe(1), _INSIDE
    while frame is not None:
        code = frame.f_code
        entry = inside.get(id(code))  # (a code object's own hash is slow to compute)
        if entry is None:
            entry = inside[id(code)] = (_in_package(code.co_filename), code)
        if not entry[0]:
            return id(code), frame.f_lineno
        frame = frame.f_back
    return None


def describe(site: Site | None, unknown: str = "") -> str:
    """``File "x.py", line 3: code`` for a site; ``unknown`` when there is none."""
    if not site:
        return unknown
    file, line, code = site
    return f'File "{file}", line {line}: {code}'


@functools.cache
def is_user_module(name: str) -> bool:
    """True for modules the user wrote (``__main__``, a notebook, a project file)."""
    if name == "__main__":  # a script, or a notebook (whose __main__ is ipykernel's launcher)
        return True
    mod = sys.modules.get(name)
    file = getattr(mod, "__file__", None)
    if file is None:
        return mod is None
    return not os.path.abspath(file).startswith(_LIBRARY_ROOTS)


@functools.cache
def is_user_file(filename: str) -> bool:
    """True for code the user wrote: a script, a notebook cell, a doctest, a project file."""
    return not os.path.abspath(filename).startswith(_LIBRARY_ROOTS)
