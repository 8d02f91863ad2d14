"""Learning-rate schedulers with PyTorch's interface (``torch.optim.lr_scheduler``).

A scheduler sets ``group["lr"]`` of its optimizer from the epoch count with PyTorch's closed
forms or, where PyTorch's ``get_lr`` is recursive (``MultiStepLR``, ``LinearLR``, ...), with the
same recursion, so ``get_last_lr()`` gives PyTorch's sequence float for float. They compute in
Python floats (optax's schedule functions compute in float32, which would round a learning
rate of 0.1 to 0.10000000149). The learning rate is an input of the compiled
update, so a scheduler step never recompiles. Call ``scheduler.step()`` outside a
``varjax.jit`` function: it is Python bookkeeping that a compiled step would run only once.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from .. import _tracing
from ._optimizer import Optimizer

__all__ = [
    "ChainedScheduler",
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "MultiplicativeLR",
    "OneCycleLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "StepLR",
]


class LRScheduler:
    """Base class: ``step()`` advances ``last_epoch`` and sets each group's lr.

    A subclass gives the closed form ``lr_at(base_lr, group_index, epoch)`` or overrides
    ``get_lr()`` (PyTorch's recursive form, reading the groups' current ``lr``).

    Example:
        >>> import varjax as vj
        >>> class Halving(vj.optim.lr_scheduler.LRScheduler):
        ...     def get_lr(self):
        ...         return [base * 0.5**self.last_epoch for base in self.base_lrs]
        >>> opt = vj.optim.SGD([vj.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = Halving(opt)
        >>> for _ in range(2):
        ...     opt.step(); sched.step()
        >>> sched.get_last_lr()
        [0.25]
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for g in optimizer.param_groups:
                g.setdefault("initial_lr", g["lr"])
        else:
            for i, g in enumerate(optimizer.param_groups):
                if "initial_lr" not in g:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when resuming "
                        f"an optimizer"
                    )
        self.base_lrs = [g["initial_lr"] for g in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def lr_at(self, base_lr: float, group_index: int, epoch: int) -> float:
        raise NotImplementedError

    def get_lr(self) -> list[float]:
        """The learning rates for ``last_epoch`` (the closed form, unless overridden)."""
        return self._closed_form()

    def _closed_form(self) -> list[float]:
        if type(self).lr_at is LRScheduler.lr_at:  # PyTorch has no closed form: recurse
            return self.get_lr()
        return [self.lr_at(b, i, self.last_epoch) for i, b in enumerate(self.base_lrs)]

    def _update_lr(self, epoch: int) -> None:
        """Go to ``epoch`` by the closed form (``SequentialLR`` starts a scheduler so)."""
        self.last_epoch = epoch
        self._set_lrs(self._closed_form())

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch (or go to ``epoch``, PyTorch's deprecated form) and set the
        learning rates."""
        _check_not_tracing(self)
        self._step_count = getattr(self, "_step_count", 0) + 1
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            values = self._closed_form()
        self._set_lrs(values)

    def _set_lrs(self, values: Sequence[float]) -> None:
        for g, lr in zip(self.optimizer.param_groups, values, strict=True):
            g["lr"] = float(lr)
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the last ``step()``."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer (and functions, which cannot be saved)."""
        return {
            k: v
            for k, v in self.__dict__.items()
            if k != "optimizer" and not callable(v) and not _has_callables(v)
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a ``state_dict()``; the groups get the learning rates it last set, so a
        recursive schedule continues from them even before the optimizer's state is loaded
        (PyTorch leaves the groups to ``optimizer.load_state_dict``)."""
        self.__dict__.update(state_dict)
        for g, lr in zip(self.optimizer.param_groups, state_dict.get("_last_lr", ())):
            g["lr"] = lr


def _check_not_tracing(sched: Any) -> None:
    if _tracing.state.active:
        raise RuntimeError(
            f"{type(sched).__name__}.step() inside a varjax.jit function would run only "
            f"when the function is compiled. Remedy: call it outside, after the compiled "
            f"step (the learning rate is an input, so changing it does not recompile)."
        )


def _lrs(optimizer: Optimizer) -> list[float]:
    return [g["lr"] for g in optimizer.param_groups]


def _has_callables(v: Any) -> bool:
    return isinstance(v, (list, tuple)) and any(callable(x) for x in v)


class StepLR(LRScheduler):
    """``lr = base_lr * gamma ** (epoch // step_size)``.

    Example:
        >>> import varjax as vj
        >>> opt = vj.optim.SGD([vj.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = vj.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        >>> lrs = []
        >>> for _ in range(5):
        ...     lrs.append(sched.get_last_lr()[0]); sched.step()
        >>> lrs
        [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        self.step_size, self.gamma = int(step_size), gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return _lrs(self.optimizer)
        return [g["lr"] * self.gamma for g in self.optimizer.param_groups]

    def lr_at(self, base_lr: float, group_index: int, epoch: int) -> float:
        return base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """``lr = base_lr * gamma ** epoch``.

    Example:
        >>> import varjax as vj
        >>> opt = vj.optim.SGD([vj.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = vj.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
        >>> sched.step(); sched.step(); sched.get_last_lr()
        [0.25]
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return _lrs(self.optimizer)
        return [g["lr"] * self.gamma for g in self.optimizer.param_groups]

    def lr_at(self, base_lr: float, group_index: int, epoch: int) -> float:
        return base_lr * self.gamma**epoch


class CosineAnnealingLR(LRScheduler):
    """``lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2``.

    Past ``T_max`` the cosine continues (rising back to ``base_lr`` at ``2 * T_max``), as
    PyTorch's closed form does.

    Example:
        >>> import varjax as vj
        >>> opt = vj.optim.SGD([vj.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = vj.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=2)
        >>> sched.step(); round(sched.get_last_lr()[0], 6)
        0.5
    """

    def __init__(
        self,
        optimizer: Optimizer,
        T_max: int,  # noqa: N803 - PyTorch's argument name
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        self.T_max, self.eta_min = int(T_max), eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """PyTorch's recursive form (so it composes in ``ChainedScheduler`` as PyTorch's)."""
        e, t, lo = self.last_epoch, self.T_max, self.eta_min
        groups = self.optimizer.param_groups
        if self._is_initial:
            return _lrs(self.optimizer)
        if self._step_count == 1 and e > 0:
            return self._closed_form()
        if (e - 1 - t) % (2 * t) == 0:
            rise = (1 - math.cos(math.pi / t)) / 2
            return [g["lr"] + (b - lo) * rise for b, g in zip(self.base_lrs, groups)]
        ratio = (1 + math.cos(math.pi * e / t)) / (1 + math.cos(math.pi * (e - 1) / t))
        return [ratio * (g["lr"] - lo) + lo for g in groups]

    def lr_at(self, base_lr: float, group_index: int, epoch: int) -> float:
        cosine = (1 + math.cos(epoch * math.pi / self.T_max)) / 2
        return self.eta_min + (base_lr - self.eta_min) * cosine


class LambdaLR(LRScheduler):
    """``lr = base_lr * lr_lambda(epoch)``; one function, or one per parameter group.

    Example:
        >>> import varjax as vj
        >>> opt = vj.optim.SGD([vj.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = vj.optim.lr_scheduler.LambdaLR(opt, lambda e: 1 / (e + 1))
        >>> sched.step(); sched.get_last_lr()
        [0.5]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        lr_lambda: Callable[[int], float] | list[Callable[[int], float]],
        last_epoch: int = -1,
    ) -> None:
        n = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise ValueError(f"Expected {n} lr_lambdas, but got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * n
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, group_index: int, epoch: int) -> float:
        return base_lr * self.lr_lambdas[group_index](epoch)


def _lambdas(optimizer: Optimizer, lr_lambda: Any) -> list[Callable[[int], float]]:
    n = len(optimizer.param_groups)
    if not isinstance(lr_lambda, (list, tuple)):
        return [lr_lambda] * n
    if len(lr_lambda) != n:
        raise ValueError(f"Expected {n} lr_lambdas, but got {len(lr_lambda)}")
    return list(lr_lambda)


class MultiplicativeLR(LRScheduler):
    """``lr *= lr_lambda(epoch)`` each step (``torch.optim.lr_scheduler.MultiplicativeLR``).

    Example:
        >>> import varjax as vj
        >>> opt = vj.optim.SGD([vj.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = vj.optim.lr_scheduler.MultiplicativeLR(opt, lambda e: 0.5)
        >>> sched.step(); sched.step(); sched.get_last_lr()
        [0.25]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        lr_lambda: Callable[[int], float] | list[Callable[[int], float]],
        last_epoch: int = -1,
    ) -> None:
        self.lr_lambdas = _lambdas(optimizer, lr_lambda)
        for f in self.lr_lambdas:
            if not callable(f):
                raise TypeError(f"lr_lambda should be a function, but got {type(f).__name__}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return _lrs(self.optimizer)
        return [
            g["lr"] * f(self.last_epoch)
            for f, g in zip(self.lr_lambdas, self.optimizer.param_groups)
        ]


class MultiStepLR(LRScheduler):
    """``lr *= gamma`` at each epoch in ``milestones`` (``MultiStepLR``; a milestone listed
    twice multiplies twice).

    Example:
        >>> import varjax as vj
        >>> opt = vj.optim.SGD([vj.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = vj.optim.lr_scheduler.MultiStepLR(opt, milestones=[1, 3], gamma=0.5)
        >>> [sched.get_last_lr()[0] for _ in range(4) if sched.step() is None]
        [0.5, 0.5, 0.25, 0.25]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        milestones: Sequence[int],
        gamma: float = 0.1,
        last_epoch: int = -1,
    ) -> None:
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch not in self.milestones:
            return _lrs(self.optimizer)
        factor = self.gamma ** self.milestones[self.last_epoch]
        return [g["lr"] * factor for g in self.optimizer.param_groups]

    def lr_at(self, base_lr: float, group_index: int, epoch: int) -> float:
        ms = sorted(self.milestones.elements())
        return base_lr * self.gamma ** bisect_right(ms, epoch)


class ConstantLR(LRScheduler):
    """``lr = base_lr * factor`` until ``total_iters``, then ``base_lr`` (``ConstantLR``).

    Example:
        >>> import varjax as vj
        >>> opt = vj.optim.SGD([vj.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = vj.optim.lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=1)
        >>> sched.get_last_lr(), (sched.step(), sched.get_last_lr())[1]
        ([0.5], [1.0])
    """

    def __init__(
        self,
        optimizer: Optimizer,
        factor: float = 1.0 / 3,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if factor > 1.0 or factor < 0:
            raise ValueError("Constant multiplicative factor expected to be between 0 and 1.")
        self.factor, self.total_iters = factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [g["lr"] * self.factor for g in self.optimizer.param_groups]
        if self.last_epoch != self.total_iters:
            return _lrs(self.optimizer)
        return [g["lr"] * (1.0 / self.factor) for g in self.optimizer.param_groups]

    def lr_at(self, base_lr: float, group_index: int, epoch: int) -> float:
        return base_lr * (self.factor + (epoch >= self.total_iters) * (1 - self.factor))


class LinearLR(LRScheduler):
    """The factor goes linearly from ``start_factor`` to ``end_factor`` over ``total_iters``
    steps (``LinearLR``, PyTorch's recursive form).

    Example:
        >>> import varjax as vj
        >>> opt = vj.optim.SGD([vj.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = vj.optim.lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=2)
        >>> sched.step(); sched.get_last_lr()
        [0.75]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError(
                "Starting multiplicative factor expected to be greater than 0 and less or "
                "equal to 1."
            )
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
        self.start_factor, self.end_factor = start_factor, end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [g["lr"] * self.start_factor for g in self.optimizer.param_groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return _lrs(self.optimizer)
        delta = self.end_factor - self.start_factor
        factor = 1.0 + delta / (
            self.total_iters * self.start_factor + (self.last_epoch - 1) * delta
        )
        return [g["lr"] * factor for g in self.optimizer.param_groups]

    def lr_at(self, base_lr: float, group_index: int, epoch: int) -> float:
        frac = min(self.total_iters, epoch) / self.total_iters
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * frac)


class PolynomialLR(LRScheduler):
    """``lr = base_lr * (1 - epoch / total_iters) ** power`` until ``total_iters``
    (``PolynomialLR``, PyTorch's recursive form).

    Example:
        >>> import varjax as vj
        >>> opt = vj.optim.SGD([vj.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = vj.optim.lr_scheduler.PolynomialLR(opt, total_iters=4, power=1.0)
        >>> sched.step(); sched.get_last_lr()
        [0.75]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        total_iters: int = 5,
        power: float = 1.0,
        last_epoch: int = -1,
    ) -> None:
        self.total_iters, self.power = total_iters, power
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial or self.last_epoch > self.total_iters:
            return _lrs(self.optimizer)
        e, n = self.last_epoch, self.total_iters
        factor = ((1.0 - e / n) / (1.0 - (e - 1) / n)) ** self.power
        return [g["lr"] * factor for g in self.optimizer.param_groups]

    def lr_at(self, base_lr: float, group_index: int, epoch: int) -> float:
        return base_lr * (1.0 - min(self.total_iters, epoch) / self.total_iters) ** self.power


class SequentialLR(LRScheduler):
    """Runs ``schedulers[i]`` from ``milestones[i - 1]`` on (``SequentialLR``); each later
    scheduler starts at its own epoch 0 (from the closed form, as PyTorch's does).

    Example:
        >>> import varjax as vj
        >>> from varjax.optim import lr_scheduler as ls
        >>> opt = vj.optim.SGD([vj.zeros(1, requires_grad=True)], lr=1.0)
        >>> warm = ls.ConstantLR(opt, factor=0.5, total_iters=2)
        >>> decay = ls.ExponentialLR(opt, gamma=0.5)
        >>> sched = ls.SequentialLR(opt, [warm, decay], milestones=[2])
        >>> [sched.get_last_lr()[0] for _ in range(4) if sched.step() is None]
        [0.5, 1.0, 0.5, 0.25]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        schedulers: list[LRScheduler],
        milestones: list[int],
        last_epoch: int = -1,
    ) -> None:
        _check_members(type(self).__name__, optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                "Sequential Schedulers expects number of schedulers provided to be one more "
                f"than the number of milestone points, but got number of schedulers "
                f"{len(schedulers)} and the number of milestones to be equal to "
                f"{len(milestones)}"
            )
        self._schedulers, self._milestones = list(schedulers), list(milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for g in optimizer.param_groups:
            g["lr"] = g["initial_lr"]
        for sched in self._schedulers:  # undo the initial step each one took
            sched.last_epoch -= 1
        idx = bisect_right(self._milestones, 0)
        self._schedulers[idx]._initial_step()
        self._last_lr = self._schedulers[idx].get_last_lr()

    def step(self) -> None:  # type: ignore[override]
        """Advance the scheduler whose phase this epoch is in."""
        _check_not_tracing(self)
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        sched = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            sched._update_lr(0)
        else:
            sched.step()
        self._last_lr = sched.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        """This scheduler's counters and each member's ``state_dict()``."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        for s, sd in zip(self._schedulers, state.pop("_schedulers")):
            s.load_state_dict(sd)
        self.__dict__.update(state)


def _check_members(name: str, optimizer: Optimizer, schedulers: Sequence[Any]) -> None:
    if len(schedulers) < 1:
        raise ValueError(f"{name} expects at least one scheduler, but got no scheduler.")
    for i, sched in enumerate(schedulers):
        if not hasattr(sched, "optimizer"):
            raise TypeError(f"{name} at index {i} should have `optimizer` as its attribute.")
        if isinstance(sched, ReduceLROnPlateau):
            raise ValueError(
                f"{name} does not support `ReduceLROnPlateau` scheduler as it requires "
                f"additional kwargs to be specified when calling `step`, but got one at index "
                f"{i} in the given schedulers sequence."
            )
        if sched.optimizer is not optimizer:
            raise ValueError(
                f"{name} expects all schedulers to belong to the same optimizer, but got "
                f"scheduler {type(sched).__name__} at index {i} with another optimizer"
            )


class ChainedScheduler(LRScheduler):
    """Steps every scheduler in ``schedulers`` at each ``step()`` (``ChainedScheduler``), so
    their (recursive) factors multiply.

    Example:
        >>> import varjax as vj
        >>> from varjax.optim import lr_scheduler as ls
        >>> opt = vj.optim.SGD([vj.zeros(1, requires_grad=True)], lr=1.0)
        >>> a = ls.ConstantLR(opt, factor=0.5, total_iters=2)
        >>> b = ls.ExponentialLR(opt, gamma=0.5)
        >>> sched = ls.ChainedScheduler([a, b])
        >>> sched.step(); sched.get_last_lr()
        [0.25]
    """

    def __init__(
        self, schedulers: Sequence[LRScheduler], optimizer: Optimizer | None = None
    ) -> None:
        if len(schedulers) < 1:
            raise ValueError(
                "ChainedScheduler expects at least one scheduler to be chained, but got no "
                "scheduler."
            )
        optimizer = optimizer or schedulers[0].optimizer
        _check_members(type(self).__name__, optimizer, schedulers)
        self._schedulers, self.optimizer = list(schedulers), optimizer
        self._last_lr = _lrs(self._schedulers[-1].optimizer)

    def step(self) -> None:  # type: ignore[override]
        """Step each scheduler in turn."""
        _check_not_tracing(self)
        for sched in self._schedulers:
            sched.step()
        self._last_lr = _lrs(self._schedulers[-1].optimizer)

    state_dict = SequentialLR.state_dict
    load_state_dict = SequentialLR.load_state_dict


class ReduceLROnPlateau(LRScheduler):
    """``lr = max(lr * factor, min_lr)`` once a metric has not improved for ``patience``
    epochs (``ReduceLROnPlateau``; ``step(metrics)``). Improvement is relative
    (``threshold_mode="rel"``) or absolute, in ``mode`` "min" or "max"; after a reduction
    ``cooldown`` epochs are ignored; changes smaller than ``eps`` are skipped.

    Example:
        >>> import varjax as vj
        >>> opt = vj.optim.SGD([vj.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = vj.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5)
        >>> for loss in [1.0, 1.0, 1.0]:
        ...     sched.step(loss)
        >>> sched.get_last_lr()
        [0.5]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: list[float] | float = 0,
        eps: float = 1e-8,
    ) -> None:
        if factor >= 1.0:
            raise ValueError("Factor should be < 1.0.")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        if mode not in ("min", "max"):
            raise ValueError(f"mode {mode} is unknown!")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold mode {threshold_mode} is unknown!")
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(f"expected {n} min_lrs, got {len(min_lr)}")
            self.default_min_lr, self.min_lrs = None, list(min_lr)
        else:
            self.default_min_lr, self.min_lrs = min_lr, [min_lr] * n
        self.optimizer, self.factor, self.patience = optimizer, factor, patience
        self.cooldown, self.eps, self.last_epoch = cooldown, eps, 0
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self._last_lr = _lrs(optimizer)
        self.best, self.cooldown_counter, self.num_bad_epochs = self.mode_worse, 0, 0

    @property
    def in_cooldown(self) -> bool:
        """Whether the epochs after a reduction are still being ignored."""
        return self.cooldown_counter > 0

    def is_better(self, a: float, best: float) -> bool:
        """Whether ``a`` improves on ``best`` by more than the threshold."""
        if self.threshold_mode == "rel":
            scale = 1.0 - self.threshold if self.mode == "min" else self.threshold + 1.0
            return a < best * scale if self.mode == "min" else a > best * scale
        if self.mode == "min":
            return a < best - self.threshold
        return a > best + self.threshold

    def step(self, metrics: Any, epoch: int | None = None) -> None:  # type: ignore[override]
        """Record this epoch's metric; reduce the learning rates after a plateau."""
        _check_not_tracing(self)
        current = float(metrics.item() if hasattr(metrics, "item") else metrics)
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        if self.is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = _lrs(self.optimizer)

    def _reduce_lr(self) -> None:
        if len(self.min_lrs) != len(self.optimizer.param_groups):
            if self.default_min_lr is None:
                raise RuntimeError(
                    f"The number of param groups in the optimizer "
                    f"({len(self.optimizer.param_groups)}) differs from when "
                    f"ReduceLROnPlateau was initialized ({len(self.min_lrs)}); set min_lrs to "
                    f"one value per group"
                )
            self.min_lrs = [self.default_min_lr] * len(self.optimizer.param_groups)
        for g, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
            old = float(g["lr"])
            new = max(old * self.factor, min_lr)
            if old - new > self.eps:
                g["lr"] = new


def _format_param(name: str, optimizer: Optimizer, value: Any) -> list[Any]:
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(
                f"{name} must have the same length as optimizer.param_groups. "
                f"{name} has {len(value)} values, param_groups has {n}."
            )
        return list(value)
    return [value] * n


def _set_momentum(optimizer: Optimizer, use_beta1: bool, values: Sequence[float]) -> None:
    for g, m in zip(optimizer.param_groups, values):
        if use_beta1:
            g["betas"] = (m, *g["betas"][1:])
        else:
            g["momentum"] = m


def _momentum_setup(
    optimizer: Optimizer, base_momentum: Any, max_momentum: Any, last_epoch: int
) -> tuple[bool, list[float], list[float]]:
    """For ``cycle_momentum``: whether to cycle ``betas[0]`` (else ``momentum``), the
    per-group base and max momenta; a fresh start sets the groups to the max."""
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError(
            "optimizer must support momentum or beta1 with `cycle_momentum` option enabled"
        )
    use_beta1 = "betas" in optimizer.defaults
    base = _format_param("base_momentum", optimizer, base_momentum)
    top = _format_param("max_momentum", optimizer, max_momentum)
    if last_epoch == -1:
        _set_momentum(optimizer, use_beta1, top)
        for g, m, b in zip(optimizer.param_groups, top, base):
            g["max_momentum"], g["base_momentum"] = m, b
    return use_beta1, base, top


class CyclicLR(LRScheduler):
    """The learning rate cycles between ``base_lr`` and ``max_lr`` (``CyclicLR``): up over
    ``step_size_up`` steps, down over ``step_size_down``; the amplitude is scaled by
    ``mode`` ("triangular": 1, "triangular2": halved each cycle, "exp_range": ``gamma **
    step``) or ``scale_fn``. ``cycle_momentum`` cycles momentum (or ``betas[0]``) inversely.

    Example:
        >>> import varjax as vj
        >>> opt = vj.optim.SGD([vj.zeros(1, requires_grad=True)], lr=1.0, momentum=0.9)
        >>> sched = vj.optim.lr_scheduler.CyclicLR(opt, 0.1, 1.1, step_size_up=2)
        >>> [round(sched.get_last_lr()[0], 6) for _ in range(5) if sched.step() is None]
        [0.6, 1.1, 0.6, 0.1, 0.6]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        base_lr: float | list[float],
        max_lr: float | list[float],
        step_size_up: int = 2000,
        step_size_down: int | None = None,
        mode: str = "triangular",
        gamma: float = 1.0,
        scale_fn: Callable[[float], float] | None = None,
        scale_mode: str = "cycle",
        cycle_momentum: bool = True,
        base_momentum: float = 0.8,
        max_momentum: float = 0.9,
        last_epoch: int = -1,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        base_lrs = _format_param("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for lr, g in zip(base_lrs, optimizer.param_groups):
                g["lr"] = lr
        self.max_lrs = _format_param("max_lr", optimizer, max_lr)
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size, self.step_ratio = up + down, up / (up + down)
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError("mode is invalid and scale_fn is None")
        self.mode, self.gamma, self._scale_fn_custom = mode, gamma, scale_fn
        self.scale_mode = scale_mode if scale_fn is not None else _MODE_SCALE[mode]
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1, self.base_momentums, self.max_momentums = _momentum_setup(
                optimizer, base_momentum, max_momentum, last_epoch
            )
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def scale_fn(self, x: float) -> float:
        """The amplitude's scale at cycle (or iteration) ``x``."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma**x

    def get_lr(self) -> list[float]:
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            scale_factor = x / self.step_ratio
        else:
            scale_factor = (x - 1) / (self.step_ratio - 1)
        at = cycle if self.scale_mode == "cycle" else self.last_epoch
        scale = self.scale_fn(at)
        lrs = [b + (m - b) * scale_factor * scale for b, m in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            moms = [
                m - (m - b) * scale_factor * scale
                for b, m in zip(self.base_momentums, self.max_momentums)
            ]
            _set_momentum(self.optimizer, self.use_beta1, moms)
        return lrs


_MODE_SCALE = {"triangular": "cycle", "triangular2": "cycle", "exp_range": "iterations"}


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing restarted every ``T_i`` epochs, ``T_0`` first, then ``T_i *= T_mult``
    (``CosineAnnealingWarmRestarts``); ``step(epoch)`` accepts fractional epochs.

    Example:
        >>> import varjax as vj
        >>> opt = vj.optim.SGD([vj.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = vj.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2)
        >>> [round(sched.get_last_lr()[0], 6) for _ in range(3) if sched.step() is None]
        [0.5, 1.0, 0.5]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        T_0: int,  # noqa: N803 - PyTorch's argument name
        T_mult: int = 1,  # noqa: N803
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        if T_0 <= 0 or not isinstance(T_0, int):
            raise ValueError(f"Expected positive integer T_0, but got {T_0}")
        if T_mult < 1 or not isinstance(T_mult, int):
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
        if not isinstance(eta_min, (float, int)):
            raise ValueError(
                f"Expected float or int eta_min, but got {eta_min} of type {type(eta_min)}"
            )
        self.T_0, self.T_i, self.T_mult, self.eta_min = T_0, T_0, T_mult, eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        cosine = (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
        return [self.eta_min + (b - self.eta_min) * cosine for b in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        """Advance one epoch, or go to ``epoch`` (which may be fractional: ``e + i / n``)."""
        _check_not_tracing(self)
        self._step_count = getattr(self, "_step_count", 0) + 1
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur, self.T_i = self.T_cur % self.T_i, self.T_i * self.T_mult
        else:
            self._go_to(epoch)
        self.last_epoch = math.floor(epoch)
        self._set_lrs(self.get_lr())

    def _go_to(self, epoch: float) -> None:
        if epoch < 0:
            raise ValueError(f"Expected non-negative epoch, but got {epoch}")
        if epoch < self.T_0:
            self.T_i, self.T_cur = self.T_0, epoch
        elif self.T_mult == 1:
            self.T_cur = epoch % self.T_0
        else:
            n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
            self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
            self.T_i = self.T_0 * self.T_mult**n


class OneCycleLR(LRScheduler):
    """The 1cycle policy (``OneCycleLR``): the learning rate rises from ``max_lr /
    div_factor`` to ``max_lr`` over ``pct_start`` of ``total_steps``, then anneals ("cos" or
    "linear") to ``initial_lr / final_div_factor``; ``three_phase`` goes back down to the
    initial lr first. ``cycle_momentum`` moves momentum (or ``betas[0]``) the other way
    between ``base_momentum`` and ``max_momentum``.

    Example:
        >>> import varjax as vj
        >>> opt = vj.optim.SGD([vj.zeros(1, requires_grad=True)], lr=1.0, momentum=0.9)
        >>> sched = vj.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10)
        >>> round(sched.get_last_lr()[0], 6)
        0.04
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | list[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | list[float] = 0.85,
        max_momentum: float | list[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.total_steps = _total_steps(total_steps, epochs, steps_per_epoch)
        self._schedule_phases = _phases(self.total_steps, pct_start, three_phase)
        if pct_start < 0 or pct_start > 1 or not isinstance(pct_start, float):
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}"
            )
        self._anneal_func_type = anneal_strategy
        max_lrs = _format_param("max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for g, m in zip(optimizer.param_groups, max_lrs):
                g["initial_lr"] = m / div_factor
                g["max_lr"] = m
                g["min_lr"] = g["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _momentum_setup(optimizer, base_momentum, max_momentum, last_epoch)[0]
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(
                f"Tried to step {step} times. The specified number of total steps is "
                f"{self.total_steps}"
            )
        lrs, moms = [], []
        for g in self.optimizer.param_groups:
            start = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end = phase["end_step"]
                if step <= end or i == len(self._schedule_phases) - 1:
                    pct = (step - start) / (end - start)
                    lrs.append(self._anneal(g[phase["start_lr"]], g[phase["end_lr"]], pct))
                    if self.cycle_momentum:
                        moms.append(
                            self._anneal(g[phase["start_momentum"]], g[phase["end_momentum"]], pct)
                        )
                    break
                start = phase["end_step"]
        if self.cycle_momentum:
            _set_momentum(self.optimizer, self.use_beta1, moms)
        return lrs


def _total_steps(total_steps: int | None, epochs: int | None, per_epoch: int | None) -> int:
    if total_steps is not None:
        if total_steps <= 0 or not isinstance(total_steps, int):
            raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
        return total_steps
    if epochs is None or per_epoch is None:
        raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
    if not isinstance(epochs, int) or epochs <= 0:
        raise ValueError(f"Expected positive integer epochs, but got {epochs}")
    if not isinstance(per_epoch, int) or per_epoch <= 0:
        raise ValueError(f"Expected positive integer steps_per_epoch, but got {per_epoch}")
    return epochs * per_epoch


def _phase(end: float, lr: tuple[str, str], momentum: tuple[str, str]) -> dict[str, Any]:
    return dict(end_step=end, start_lr=lr[0], end_lr=lr[1],
                start_momentum=momentum[0], end_momentum=momentum[1])  # fmt: skip


def _phases(total: int, pct: float, three_phase: bool) -> list[dict[str, Any]]:
    up = _phase(float(pct * total) - 1, ("initial_lr", "max_lr"), ("max_momentum", "base_momentum"))
    if not three_phase:
        down = ("max_lr", "min_lr"), ("base_momentum", "max_momentum")
        return [up, _phase(total - 1, *down)]
    back = ("max_lr", "initial_lr"), ("base_momentum", "max_momentum")
    last = ("initial_lr", "min_lr"), ("max_momentum", "max_momentum")
    return [up, _phase(float(2 * pct * total) - 2, *back), _phase(total - 1, *last)]
