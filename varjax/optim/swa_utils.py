"""Weight averaging, as ``torch.optim.swa_utils``: ``AveragedModel`` (SWA or EMA of a
model's parameters), the averaging functions, ``SWALR`` and ``update_bn``.

The averages are plain in-place updates under ``no_grad`` (one small op per tensor); they are
not part of the optimizer's recorded update.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable
from typing import Any

from .. import nn
from .._creation import tensor
from .._grad_mode import no_grad
from .._variable import Variable
from ._optimizer import Optimizer
from .lr_scheduler import LRScheduler, _format_param

__all__ = [
    "SWALR",
    "AveragedModel",
    "get_ema_avg_fn",
    "get_ema_multi_avg_fn",
    "get_swa_avg_fn",
    "get_swa_multi_avg_fn",
    "update_bn",
]

ParamList = list[Variable]


def _lerp_into(averaged: ParamList, current: ParamList, weight: float) -> None:
    """``a = lerp(a, c, weight)`` in place, with PyTorch's two-sided lerp formula."""
    with no_grad():
        for a, c in zip(averaged, current, strict=True):
            if not a.is_floating_point():
                a.copy_(a + (c - a) * weight)
            elif weight < 0.5:
                a.copy_(a + (c - a) * weight)
            else:
                a.copy_(c - (c - a) * (1 - weight))


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable[[ParamList, ParamList, Any], None]:
    """The exponential moving average ``ema = decay * ema + (1 - decay) * p`` over lists of
    tensors, in place (PyTorch's ``get_ema_multi_avg_fn``).

    Example:
        >>> import varjax as vj
        >>> ema = [vj.tensor([0.0])]
        >>> vj.optim.swa_utils.get_ema_multi_avg_fn(0.5)(ema, [vj.tensor([2.0])], 1)
        >>> ema
        [tensor([1.])]
    """
    if decay < 0.0 or decay > 1.0:
        raise ValueError(
            f"Invalid decay value {decay} provided. Please provide a value in [0,1] range."
        )

    def ema_update(ema: ParamList, current: ParamList, num_averaged: Any) -> None:
        _lerp_into(ema, current, 1 - decay)

    return ema_update


def get_swa_multi_avg_fn() -> Callable[[ParamList, ParamList, Any], None]:
    """The running mean ``a += (p - a) / (n + 1)`` over lists of tensors, in place
    (PyTorch's ``get_swa_multi_avg_fn``).

    Example:
        >>> import varjax as vj
        >>> avg = [vj.tensor([1.0])]  # the mean of 2 values so far
        >>> vj.optim.swa_utils.get_swa_multi_avg_fn()(avg, [vj.tensor([4.0])], 2)
        >>> avg
        [tensor([2.])]
    """

    def swa_update(averaged: ParamList, current: ParamList, num_averaged: Any) -> None:
        n = num_averaged.item() if isinstance(num_averaged, Variable) else num_averaged
        _lerp_into(averaged, current, 1 / (n + 1))

    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable[[Variable, Variable, Any], Variable]:
    """One tensor's EMA: returns ``decay * ema + (1 - decay) * p`` (``get_ema_avg_fn``).

    Example:
        >>> import varjax as vj
        >>> ema = vj.optim.swa_utils.get_ema_avg_fn(0.5)
        >>> ema(vj.tensor([0.0]), vj.tensor([2.0]), 1)
        tensor([1.])
    """
    if decay < 0.0 or decay > 1.0:
        raise ValueError(
            f"Invalid decay value {decay} provided. Please provide a value in [0,1] range."
        )

    def ema_update(ema: Variable, current: Variable, num_averaged: Any) -> Variable:
        return decay * ema + (1 - decay) * current

    return ema_update


def get_swa_avg_fn() -> Callable[[Variable, Variable, Any], Variable]:
    """One tensor's running mean: returns ``a + (p - a) / (n + 1)`` (``get_swa_avg_fn``).

    Example:
        >>> import varjax as vj
        >>> avg = vj.optim.swa_utils.get_swa_avg_fn()
        >>> avg(vj.tensor([1.0]), vj.tensor([4.0]), 2)  # the mean of 2 values so far, and 4
        tensor([2.])
    """

    def swa_update(averaged: Variable, current: Variable, num_averaged: Any) -> Variable:
        return averaged + (current - averaged) / (num_averaged + 1)

    return swa_update


class AveragedModel(nn.Module):
    """A copy of ``model`` whose parameters are the average of the ``model``'s parameters
    over the calls to ``update_parameters`` (``torch.optim.swa_utils.AveragedModel``).

    The default is the equal-weight SWA mean; ``multi_avg_fn`` (e.g.
    ``get_ema_multi_avg_fn(0.999)``) or ``avg_fn`` (one tensor at a time) choose another.
    ``use_buffers=True`` averages the buffers too; otherwise they are copied from ``model``.
    ``n_averaged`` counts the updates. ``device`` must be None (one device here).

    Example:
        >>> import varjax as vj
        >>> from varjax.optim.swa_utils import AveragedModel
        >>> lin = vj.nn.Linear(1, 1, bias=False)
        >>> swa = AveragedModel(lin)
        >>> with vj.no_grad():
        ...     _ = lin.weight.fill_(1.0); swa.update_parameters(lin)
        ...     _ = lin.weight.fill_(3.0); swa.update_parameters(lin)
        >>> swa.module.weight.item()
        2.0
    """

    def __init__(
        self,
        model: nn.Module,
        device: Any = None,
        avg_fn: Callable[[Variable, Variable, Any], Variable] | None = None,
        multi_avg_fn: Callable[[ParamList, ParamList, Any], None] | None = None,
        use_buffers: bool = False,
    ) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            # PyTorch's exception type
            raise AssertionError(
                "Only one of avg_fn and multi_avg_fn should be provided; pass one of them"
            )
        if device is not None:
            raise NotImplementedError(
                "AveragedModel(device=...) is not supported: varjax keeps one device; "
                "leave device=None"
            )
        self.module = copy.deepcopy(model)
        self.register_buffer("n_averaged", tensor(0, dtype="int64"))
        self.avg_fn, self.multi_avg_fn, self.use_buffers = avg_fn, multi_avg_fn, use_buffers

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Run the averaged copy."""
        return self.module(*args, **kwargs)

    def _tensors(self, model: nn.Module) -> list[Variable]:
        if self.use_buffers:
            return list(itertools.chain(model.parameters(), model.buffers()))
        return list(model.parameters())

    def update_parameters(self, model: nn.Module) -> None:
        """Fold ``model``'s current parameters into the average (the first call copies)."""
        mine = [p.detach() for p in self._tensors(self.module)]
        theirs = [p.detach() for p in self._tensors(model)]
        n = int(self.n_averaged.item())
        with no_grad():
            if n == 0:
                for a, c in zip(mine, theirs):
                    a.copy_(c)
            elif self.avg_fn is not None:
                for a, c in zip(mine, theirs):
                    a.copy_(self.avg_fn(a, c, self.n_averaged))
            else:
                (self.multi_avg_fn or get_swa_multi_avg_fn())(mine, theirs, self.n_averaged)
            if not self.use_buffers:  # keep the buffers in sync with the model
                for b, c in zip(self.module.buffers(), model.buffers(), strict=True):
                    b.copy_(c.detach())
            self.n_averaged.copy_(self.n_averaged + 1)


def update_bn(loader: Iterable[Any], model: nn.Module, device: Any = None) -> None:
    """Recompute the BatchNorm running statistics of ``model`` with one pass over
    ``loader`` (cumulative averages, momentum ``None``), as PyTorch's ``update_bn``; a batch
    that is a list or tuple contributes its first element.

    Example:
        >>> import varjax as vj
        >>> bn = vj.nn.BatchNorm1d(1)
        >>> loader = [vj.tensor([[1.0], [3.0]]), vj.tensor([[5.0], [7.0]])]
        >>> vj.optim.swa_utils.update_bn(loader, bn)
        >>> bn.running_mean, bn.running_var
        (tensor([4.]), tensor([2.]))
    """
    momenta = {}
    for module in model.modules():
        # by name, as PyTorch's _BatchNorm family (BatchNorm1d/2d/3d, SyncBatchNorm, lazy
        # ones), which live in more than one varjax module; instance norms are not included
        if "BatchNorm" in type(module).__name__ and hasattr(module, "reset_running_stats"):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    with no_grad():
        for batch in loader:
            model(batch[0] if isinstance(batch, (list, tuple)) else batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneals each group's lr to ``swa_lr`` over ``anneal_epochs`` ("cos" or "linear"),
    then holds it (``torch.optim.swa_utils.SWALR``, PyTorch's recursive form).

    Example:
        >>> import varjax as vj
        >>> opt = vj.optim.SGD([vj.zeros(1, requires_grad=True)], lr=1.0)
        >>> sched = vj.optim.swa_utils.SWALR(opt, swa_lr=0.5, anneal_epochs=2,
        ...                                  anneal_strategy="linear")
        >>> [sched.get_last_lr()[0] for _ in range(3) if sched.step() is None]
        [0.75, 0.5, 0.5]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        swa_lr: float | list[float],
        anneal_epochs: int = 10,
        anneal_strategy: str = "cos",
        last_epoch: int = -1,
    ) -> None:
        for lr, g in zip(_format_param("swa_lr", optimizer, swa_lr), optimizer.param_groups):
            g["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}"
            )
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self._anneal_strategy, self.anneal_epochs = anneal_strategy, anneal_epochs
        super().__init__(optimizer, last_epoch)

    def _anneal(self, t: float) -> float:
        return t if self._anneal_strategy == "linear" else (1 - math.cos(math.pi * t)) / 2

    def get_lr(self) -> list[float]:
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_alpha = self._anneal(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        alpha = self._anneal(max(0, min(1, step / max(1, self.anneal_epochs))))
        out = []
        for g in self.optimizer.param_groups:
            swa = g["swa_lr"]
            prev = swa if prev_alpha == 1 else (g["lr"] - prev_alpha * swa) / (1 - prev_alpha)
            out.append(swa * alpha + prev * (1 - alpha))
        return out
