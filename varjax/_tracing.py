"""What the engine must know while ``varjax.jit`` traces a step into one program.

During the trace every value is a JAX tracer, so reading one on the host (``.item()``,
``print``, ``if loss > 0:``) is impossible; the checks here turn those reads into errors that
name the user's line and the remedy, instead of JAX's internal ConcretizationTypeError. The
trace also forbids reading or writing a Variable that existed before the call but was not
lifted as state, since its value would be frozen into the program as a constant.
"""

from __future__ import annotations

import threading

import jax

from ._source import describe, user_site


class _TraceState(threading.local):
    active: bool = False
    start_seq: int = 0  # nodes created before the trace started have smaller seq numbers
    name: str = ""  # the jitted function's name, for messages
    rng: list | None = None  # [key node, base counter (traced), draws so far]


state = _TraceState()


def is_tracer(value) -> bool:
    return isinstance(value, jax.core.Tracer)


def _where() -> str:
    site = user_site()
    return f" at {describe(site)}" if site else ""


def host_read(what: str) -> RuntimeError:
    """The error for reading a value on the host inside a traced step."""
    return RuntimeError(
        f"varjax.jit: {what} inside '{state.name}'{_where()} needs a concrete value, but "
        f"varjax.jit compiles the whole function into one program, where values are only "
        f"known when it runs. Remedy: return the value from the function and read it (or "
        f"print it, or branch on it) outside, e.g. `loss = step(x, y); print(loss.item())`; "
        f"use varjax.where(...) for a value-dependent choice; or call the function without "
        f"varjax.jit."
    )


def traced_read(what: str) -> RuntimeError:
    """The error for reading a value on the host where JAX traces the code outside
    ``varjax.jit``: a custom Function's forward/backward, a checkpointed function,
    ``autograd.functional``."""
    return RuntimeError(
        f"{what}{_where()} needs a concrete value, but this code runs while JAX traces it "
        f"(a custom autograd.Function's forward or backward, a checkpointed function, or "
        f"autograd.functional), where values are only known when the compiled program runs. "
        f"Remedy: compute with Variable ops instead (varjax.where(...) for a value-dependent "
        f"choice), or read the value before apply() and pass it as a non-tensor argument."
    )


def value_dependent(what: str, remedy: str) -> RuntimeError:
    """The error for an op whose output shape depends on values (e.g. a boolean mask)."""
    return RuntimeError(
        f"varjax.jit: {what} inside '{state.name}'{_where()} has a shape that depends on "
        f"values, which a compiled program cannot have. Remedy: {remedy}."
    )


def stale(node_shape: tuple, writing: bool) -> RuntimeError:
    verb = "modifies" if writing else "reads"
    return RuntimeError(
        f"varjax.jit: '{state.name}'{_where()} {verb} a Variable of shape {tuple(node_shape)} "
        f"that was created before the call and that varjax.jit did not find in the "
        f"function's arguments, closure, globals, or the Modules and Optimizers reachable "
        f"from them; its value would be frozen into the compiled program. Remedy: pass it as "
        f"an argument, or keep it on a Module (as a Parameter or buffer)."
    )


def check_capture(node) -> None:
    """Called for every concrete node a traced program reads (see Builder.array)."""
    if node.seq < state.start_seq and not is_tracer(node.value):
        raise stale(node.aval[0], writing=False)
