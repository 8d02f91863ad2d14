"""Learning-rate schedulers with PyTorch's interface (``torch.optim.lr_scheduler``).

A scheduler sets ``group["lr"]`` of its optimizer from the epoch count with PyTorch's closed
forms, in Python floats (optax's schedule functions compute in float32, which would round a
learning rate of 0.1 to 0.10000000149). The learning rate is an input of the compiled
update, so a scheduler step never recompiles. Call ``scheduler.step()`` outside a
``varjax.jit`` function: it is Python bookkeeping that a compiled step would run only once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .. import _tracing
from ._optimizer import Optimizer

__all__ = ["CosineAnnealingLR", "ExponentialLR", "LRScheduler", "LambdaLR", "StepLR"]


class LRScheduler:
    """Base class: ``step()`` advances ``last_epoch`` and sets each group's lr."""

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
        self.step()

    def lr_at(self, base_lr: float, group_index: int, epoch: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch and set the learning rates."""
        if _tracing.state.active:
            raise RuntimeError(
                f"{type(self).__name__}.step() inside a varjax.jit function would run only "
                f"when the function is compiled. Remedy: call it outside, after the compiled "
                f"step (the learning rate is an input, so changing it does not recompile)."
            )
        self.last_epoch += 1
        for i, (g, base) in enumerate(zip(self.optimizer.param_groups, self.base_lrs)):
            g["lr"] = float(self.lr_at(base, i, self.last_epoch))
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
        self.__dict__.update(state_dict)


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

    def lr_at(self, base_lr: float, group_index: int, epoch: int) -> float:
        cosine = (1 + math.cos(math.pi * epoch / self.T_max)) / 2
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
