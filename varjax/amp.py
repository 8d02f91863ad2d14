"""``varjax.amp``: mixed precision, ``autocast`` and ``GradScaler``, with PyTorch's names.

``GradScaler`` is dynamic loss scaling for float16 training: the loss is multiplied by a
scale before ``backward()`` so small gradients do not underflow, the gradients are divided
by it before the optimizer step, a step whose gradients hold an inf or NaN is skipped, and
the scale shrinks after such a step and grows after ``growth_interval`` clean ones.
Imperatively the skip is a Python branch on the inf check, as in PyTorch; inside
``varjax.jit``, where no value can be read, the step runs and every parameter and optimizer
state is then selected back to its old value where the check found an inf, so the compiled
step does the same as the imperative one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import _state, _tracing
from ._autocast import autocast, get_autocast_dtype, is_autocast_enabled
from ._creation import tensor
from ._functions import isfinite, where
from ._grad_mode import no_grad
from ._variable import Variable

__all__ = ["GradScaler", "autocast", "get_autocast_dtype", "is_autocast_enabled"]

_READY, _UNSCALED, _STEPPED = "ready", "unscaled", "stepped"


class GradScaler:
    """Dynamic loss scaling (PyTorch's ``torch.amp.GradScaler``), imperative and in ``jit``.

    Example:
        >>> import varjax as vj
        >>> w = vj.nn.Parameter(vj.ones(2))
        >>> opt = vj.optim.SGD([w], lr=0.1)
        >>> scaler = vj.amp.GradScaler(init_scale=1024.0)
        >>> scaler.scale((w * 3).sum()).backward()
        >>> scaler.step(opt); scaler.update()
        >>> w.tolist(), scaler.get_scale()
        ([0.699999988079071, 0.699999988079071], 1024.0)
    """

    def __init__(self, device: str = "cuda", init_scale: float = 2.0**16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:  # fmt: skip
        if not growth_factor > 1.0:
            raise ValueError(f"The growth factor must be > 1.0, got {growth_factor}")
        if not 0.0 < backoff_factor < 1.0:
            raise ValueError(f"The backoff factor must be < 1.0 and > 0, got {backoff_factor}")
        if int(growth_interval) != growth_interval or growth_interval <= 0:
            raise ValueError(f"growth_interval must be a positive int, got {growth_interval}")
        self._device = device
        self._enabled = bool(enabled)
        self._growth_factor, self._backoff_factor = float(growth_factor), float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._scale = tensor(float(init_scale))
        self._growth_tracker = tensor(0)
        self._per_optimizer: dict[int, dict[str, Any]] = {}

    # -- scaling ----------------------------------------------------------------------------

    def scale(self, outputs: Any) -> Any:
        """``outputs`` (a Variable, or lists/tuples of them) multiplied by the scale."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Variable):
            return outputs * self._scale
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        if isinstance(outputs, Iterable):
            return map(self.scale, outputs)
        raise ValueError("outputs must be a Variable or an iterable of Variables")

    def unscale_(self, optimizer: Any) -> None:
        """Divide ``optimizer``'s gradients by the scale in place and note whether any holds
        an inf or NaN (call it before clipping gradients; ``step`` calls it otherwise)."""
        if not self._enabled:
            return
        state = self._state(optimizer)
        if state["stage"] is _UNSCALED:
            raise RuntimeError(
                "unscale_() has already been called on this optimizer since the last update()."
            )
        if state["stage"] is _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        inv = 1.0 / self._scale
        found = tensor(0.0)
        with no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    if str(p.grad.dtype) == "varjax.float16":
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    found = found + (~isfinite(p.grad)).any().float()
                    p.grad.mul_(inv)
        state["found_inf"], state["stage"] = found, _UNSCALED

    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        """Unscale (if not done yet) and run ``optimizer.step()`` unless a gradient holds an
        inf or NaN; returns what the step returned (None when skipped)."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs or args:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        state = self._state(optimizer)
        if state["stage"] is _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] is _READY:
            self.unscale_(optimizer)
        state["stage"] = _STEPPED
        if _tracing.state.active:
            return _selected_step(optimizer, state["found_inf"] > 0)
        if state["found_inf"].item():
            return None
        return optimizer.step()

    def update(self, new_scale: float | Variable | None = None) -> None:
        """Shrink the scale by ``backoff_factor`` if a step since the last update found an inf,
        else grow it by ``growth_factor`` after ``growth_interval`` clean steps; or set it."""
        if not self._enabled:
            return
        # in place, so that varjax.jit, which finds the two as state, writes them back
        if new_scale is not None:
            with no_grad():
                self._scale.copy_(new_scale if isinstance(new_scale, Variable) else
                                  tensor(float(new_scale)))  # fmt: skip
        else:
            found = [s["found_inf"] for s in self._per_optimizer.values() if "found_inf" in s]
            if not found:
                raise AssertionError("No inf checks were recorded prior to update.")
            bad = sum(found[1:], found[0]) > 0
            grown = self._growth_tracker + 1
            due = grown == self._growth_interval
            factor = where(bad, self._backoff_factor, where(due, self._growth_factor, 1.0))
            with no_grad():
                self._scale.mul_(factor)
                self._growth_tracker.copy_(where(bad | due, 0, grown))
        self._per_optimizer = {}

    def _state(self, optimizer: Any) -> dict[str, Any]:
        return self._per_optimizer.setdefault(id(optimizer), {"stage": _READY})

    # -- settings and state -----------------------------------------------------------------

    def is_enabled(self) -> bool:
        return self._enabled

    def get_scale(self) -> float:
        """The current scale as a Python float (1.0 when disabled)."""
        return float(self._scale.item()) if self._enabled else 1.0

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = int(new_interval)

    def state_dict(self) -> dict[str, Any]:
        """PyTorch's keys: ``scale``, ``growth_factor``, ``backoff_factor``,
        ``growth_interval``, ``_growth_tracker`` (empty when disabled)."""
        if not self._enabled:
            return {}
        return {
            "scale": self.get_scale(), "growth_factor": self._growth_factor,
            "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
            "_growth_tracker": int(self._growth_tracker.item()),
        }  # fmt: skip

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError(
                "The source state dict is empty, possibly because it was saved from a disabled "
                "instance of GradScaler."
            )
        self._scale = tensor(float(state_dict["scale"]))
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = tensor(int(state_dict["_growth_tracker"]))


def _selected_step(optimizer: Any, bad: Variable) -> Any:
    """``optimizer.step()`` inside ``varjax.jit``: its parameters and state go back to their
    old values where ``bad`` (no value can be read there to skip it)."""
    params = [p for g in optimizer.param_groups for p in g["params"]]
    with no_grad():
        before = [p.detach().clone() for p in params]
    saved = optimizer.state_dict()
    out = optimizer.step()
    after = optimizer.state_dict()
    for i, entry in after["state"].items():
        old = saved["state"].get(i)
        for name, value in entry.items():
            if old is not None and isinstance(value, Variable):
                entry[name] = where(bad, old[name], value)
    optimizer.load_state_dict(after)
    with no_grad():
        for p, old in zip(params, before):
            p.copy_(where(bad, old, p))
    return out


def _walk_scaler(scaler: GradScaler, found: _state.Found) -> None:
    found.walk(scaler._scale)
    found.walk(scaler._growth_tracker)


_state.register(GradScaler, _walk_scaler)
