"""More of PyTorch's optimizers: NAdam, RAdam, Adamax, Adadelta, ASGD and Rprop.

Each is an ``Optimizer`` (one recorded op per parameter group, see ``_optimizer.py``). Adamax
and Adadelta are optax's transformations, whose formulas are PyTorch's; the others are written
out as PyTorch documents them (``_Rule``), with float64 hyperparameters so that scalars such
as ``1 - beta2 ** step`` are computed in double precision, as PyTorch computes them in Python.
The state keeps PyTorch's names (``exp_avg``, ``mu_product``, ``step_size``, ...), so
``state_dict()`` has PyTorch's layout.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np
import optax

from ._optimizer import Optimizer, _c, _check_betas, _count, _decay, _lerp, _Rule

__all__ = ["ASGD", "Adadelta", "Adamax", "NAdam", "RAdam", "Rprop"]


def _zero_step() -> Any:
    return jnp.zeros((), jnp.float32)  # PyTorch keeps ``step`` as a float32 scalar


def _wd(p: Any, g: Any, h: dict, on: bool, decoupled: bool) -> tuple[Any, Any]:
    """PyTorch's weight decay: ``p *= 1 - lr * wd`` (decoupled) or ``g += wd * p``."""
    if not on:
        return p, g
    if decoupled:
        return p * _c(1 - h["lr"] * h["weight_decay"], p), g
    return p, g + _c(h["weight_decay"], p) * p


def _second_moment(v: Any, g: Any, b2: Any) -> Any:
    return v * _c(b2, v) + _c(1 - b2, v) * g * g


class _NAdamState(NamedTuple):
    step: Any
    mu_product: Any
    exp_avg: Any
    exp_avg_sq: Any


class NAdam(Optimizer):
    """Adam with Nesterov momentum and momentum decay, as ``torch.optim.NAdam``.

    ``mu_t = b1 (1 - 0.96 ** (t * momentum_decay) / 2)``; the step combines the gradient
    (weight ``(1 - mu_t) / (1 - prod mu)``) and ``m`` (weight ``mu_{t+1} / (1 - prod mu
    mu_{t+1})``) over ``sqrt(v_hat) + eps``. ``decoupled_weight_decay`` makes it NAdamW.
    Differs from optax: ``optax.nadam`` has no momentum decay schedule.
    ``foreach``, ``capturable`` and ``differentiable`` are accepted and ignored.

    Example:
        >>> import varjax as vj
        >>> w = vj.tensor([1.0], requires_grad=True)
        >>> opt = vj.optim.NAdam([w], lr=0.1)
        >>> (w * 2).sum().backward(); opt.step()
        >>> round(w.item(), 4)
        0.8944
    """

    _structure_doc = "weight_decay > 0 and decoupled_weight_decay"
    _hyper_dtype = np.float64

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_betas(betas)
        if not momentum_decay >= 0:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = dict(
            lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
            momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize, foreach=foreach, capturable=capturable,
            differentiable=differentiable,
        )  # fmt: skip
        super().__init__(params, defaults)

    def _structure(self, g: dict) -> tuple:
        return (g["weight_decay"] != 0, bool(g["decoupled_weight_decay"]))

    @classmethod
    def _chain(cls, h: dict, s: tuple) -> _Rule:
        lr, (b1, b2), eps, md = h["lr"], h["betas"], h["eps"], h["momentum_decay"]

        def init(p):
            z = jnp.zeros_like(p)
            return _NAdamState(_zero_step(), jnp.ones((), jnp.float32), z, z)

        def step(p, g, st):
            t = st.step + 1
            tt = t.astype(lr.dtype)
            p, g = _wd(p, g, h, *s)
            mu = b1 * (1.0 - 0.5 * 0.96 ** (tt * md))
            mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((tt + 1) * md))
            mu_product = st.mu_product * _c(mu, st.mu_product)
            m = _lerp(st.exp_avg, g, 1 - b1)
            v = _second_moment(st.exp_avg_sq, g, b2)
            denom = jnp.sqrt(v / _c(1 - b2**tt, v)) + _c(eps, v)
            prod = mu_product.astype(lr.dtype)
            p = p + _c(-lr * (1.0 - mu) / (1.0 - prod), p) * (g / denom)
            p = p + _c(-lr * mu_next / (1.0 - prod * mu_next), p) * (m / denom)
            return p, _NAdamState(t, mu_product, m, v)

        return _Rule(init, step)


class _AdamState(NamedTuple):
    step: Any
    exp_avg: Any
    exp_avg_sq: Any


class RAdam(Optimizer):
    """Rectified Adam, as ``torch.optim.RAdam``.

    With ``rho_inf = 2 / (1 - b2) - 1`` and ``rho_t = rho_inf - 2 t b2^t / (1 - b2^t)``: while
    ``rho_t <= 5`` the step is ``lr * m_hat`` (momentum SGD); after, it is ``lr * m_hat * r_t *
    sqrt(1 - b2^t) / (sqrt(v) + eps)`` with PyTorch's rectification ``r_t``. Differs from optax:
    ``optax.radam`` adds ``eps`` to ``sqrt(v_hat)`` (not ``sqrt(v)``) and switches at
    ``rho_t >= 5``. ``decoupled_weight_decay`` makes it RAdamW; ``foreach``, ``capturable`` and
    ``differentiable`` are accepted and ignored.

    Example:
        >>> import varjax as vj
        >>> w = vj.tensor([1.0], requires_grad=True)
        >>> opt = vj.optim.RAdam([w], lr=0.1)
        >>> (w * 2).sum().backward(); opt.step()
        >>> round(w.item(), 4)
        0.8
    """

    _structure_doc = "weight_decay > 0 and decoupled_weight_decay"
    _hyper_dtype = np.float64

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        _check_betas(betas)
        defaults = dict(
            lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, maximize=maximize,
            foreach=foreach, capturable=capturable,
            decoupled_weight_decay=decoupled_weight_decay, differentiable=differentiable,
        )  # fmt: skip
        super().__init__(params, defaults)

    def _structure(self, g: dict) -> tuple:
        return (g["weight_decay"] != 0, bool(g["decoupled_weight_decay"]))

    @classmethod
    def _chain(cls, h: dict, s: tuple) -> _Rule:
        lr, (b1, b2), eps = h["lr"], h["betas"], h["eps"]

        def init(p):
            z = jnp.zeros_like(p)
            return _AdamState(_zero_step(), z, z)

        def step(p, g, st):
            t = st.step + 1
            tt = t.astype(lr.dtype)
            p, g = _wd(p, g, h, *s)
            m = _lerp(st.exp_avg, g, 1 - b1)
            v = _second_moment(st.exp_avg_sq, g, b2)
            bc1, bc2 = 1 - b1**tt, 1 - b2**tt
            m_hat = m / _c(bc1, m)
            rho_inf = 2 / (1 - b2) - 1
            rho_t = rho_inf - 2 * tt * b2**tt / bc2
            # only read where rho_t > 5, where the square root is of a positive number
            safe = jnp.maximum(rho_t, 5.0)
            rect = jnp.sqrt(
                (safe - 4) * (safe - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * safe)
            )
            adaptive = _c(bc2**0.5, v) / (jnp.sqrt(v) + _c(eps, v))
            rectified = m_hat * _c(lr, m) * adaptive * _c(rect, m)
            p = p - jnp.where(rho_t > 5.0, rectified, m_hat * _c(lr, m))
            return p, _AdamState(t, m, v)

        return _Rule(init, step)


class Adamax(Optimizer):
    """Adamax (Adam with the infinity norm), as ``torch.optim.Adamax``, computed by optax.

    ``m = b1 m + (1 - b1) g``; ``u = max(b2 u, |g| + eps)``; ``p -= lr / (1 - b1^t) * m / u``.
    ``foreach``, ``differentiable`` and ``capturable`` are accepted and ignored.

    Example:
        >>> import varjax as vj
        >>> w = vj.tensor([1.0], requires_grad=True)
        >>> opt = vj.optim.Adamax([w], lr=0.1)
        >>> (w * 2).sum().backward(); opt.step()
        >>> round(w.item(), 4)
        0.9
    """

    _STATE_NAMES = {"mu": "exp_avg", "nu": "exp_inf", "count": "step"}
    _structure_doc = "weight_decay > 0"

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        _check_betas(betas)
        defaults = dict(
            lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, foreach=foreach,
            maximize=maximize, differentiable=differentiable, capturable=capturable,
        )  # fmt: skip
        super().__init__(params, defaults)

    def _structure(self, g: dict) -> tuple:
        return (g["weight_decay"] != 0,)

    @classmethod
    def _chain(cls, h: dict, s: tuple) -> optax.GradientTransformation:
        b1, b2 = h["betas"]
        return optax.chain(
            *_decay(h, s[0]),
            optax.scale_by_adamax(b1=b1, b2=b2, eps=h["eps"]),
            optax.scale(-h["lr"]),
        )


class Adadelta(Optimizer):
    """Adadelta, as ``torch.optim.Adadelta``, computed by optax (``scale_by_adadelta``).

    ``v = rho v + (1 - rho) g^2``; ``delta = sqrt(u + eps) / sqrt(v + eps) * g``;
    ``u = rho u + (1 - rho) delta^2``; ``p -= lr * delta``. ``foreach``, ``capturable`` and
    ``differentiable`` are accepted and ignored.

    Example:
        >>> import varjax as vj
        >>> w = vj.tensor([1.0], requires_grad=True)
        >>> opt = vj.optim.Adadelta([w])
        >>> (w * 2).sum().backward(); opt.step()
        >>> round(w.item(), 5)
        0.99684
    """

    _STATE_NAMES = {"e_g": "square_avg", "e_x": "acc_delta"}
    _structure_doc = "weight_decay > 0"

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        defaults = dict(
            lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
            capturable=capturable, foreach=foreach, differentiable=differentiable,
        )  # fmt: skip
        super().__init__(params, defaults)

    def _structure(self, g: dict) -> tuple:
        return (g["weight_decay"] != 0,)

    @classmethod
    def _chain(cls, h: dict, s: tuple) -> optax.GradientTransformation:
        return optax.chain(
            _count(),
            *_decay(h, s[0]),
            optax.scale_by_adadelta(rho=h["rho"], eps=h["eps"]),
            optax.scale(-h["lr"]),
        )


class _ASGDState(NamedTuple):
    step: Any
    eta: Any
    mu: Any
    ax: Any


class ASGD(Optimizer):
    """Averaged SGD, as ``torch.optim.ASGD``.

    ``p *= 1 - lambd * eta``; ``p -= eta * g``; the average ``ax`` follows ``p`` (``ax +=
    mu (p - ax)``); then ``eta = lr / (1 + lambd lr t) ** alpha`` and ``mu = 1 / max(1, t -
    t0)``. optax has no ASGD. ``foreach``, ``differentiable`` and ``capturable`` are accepted
    and ignored.

    Example:
        >>> import varjax as vj
        >>> w = vj.tensor([1.0], requires_grad=True)
        >>> opt = vj.optim.ASGD([w], lr=0.1)
        >>> (w * 2).sum().backward(); opt.step()
        >>> round(w.item(), 4)
        0.8
    """

    _structure_doc = "weight_decay > 0"
    _hyper_dtype = np.float64

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
            foreach=foreach, maximize=maximize, differentiable=differentiable,
            capturable=capturable,
        )  # fmt: skip
        super().__init__(params, defaults)

    def _structure(self, g: dict) -> tuple:
        return (g["weight_decay"] != 0,)

    @classmethod
    def _chain(cls, h: dict, s: tuple) -> _Rule:
        lr, lambd, alpha, t0 = h["lr"], h["lambd"], h["alpha"], h["t0"]

        def init(p):
            eta = jnp.asarray(h["lr"], jnp.float32)
            return _ASGDState(_zero_step(), eta, jnp.ones((), jnp.float32), jnp.zeros_like(p))

        def step(p, g, st):
            t = st.step + 1
            p, g = _wd(p, g, h, s[0], False)
            eta = st.eta.astype(lr.dtype)
            p = p * _c(1 - lambd * eta, p)
            p = p + _c(-eta, p) * g
            ax = jnp.where(st.mu != 1, st.ax + (p - st.ax) * _c(st.mu, p), p)
            tt = t.astype(lr.dtype)
            new_eta = (lr / (1 + lambd * lr * tt) ** alpha).astype(jnp.float32)
            new_mu = (1 / jnp.maximum(1.0, tt - t0)).astype(jnp.float32)
            return p, _ASGDState(t, new_eta, new_mu, ax)

        return _Rule(init, step)


class _RpropState(NamedTuple):
    step: Any
    prev: Any
    step_size: Any


class Rprop(Optimizer):
    """Resilient backpropagation, as ``torch.optim.Rprop``.

    Each element's step size grows by ``etas[1]`` while its gradient keeps its sign, shrinks
    by ``etas[0]`` when the sign flips (and that step is skipped), clipped to ``step_sizes``;
    ``p -= sign(g) * step_size``. Differs from optax: ``optax.scale_by_rprop`` leaves a step
    size unclipped where the sign product is zero (PyTorch clips every step size) and
    remembers ``step_size * sign(g)`` rather than ``g``. ``foreach``, ``capturable`` and
    ``differentiable`` are accepted and ignored.

    Example:
        >>> import varjax as vj
        >>> w = vj.tensor([1.0], requires_grad=True)
        >>> opt = vj.optim.Rprop([w], lr=0.1)
        >>> (w * 2).sum().backward(); opt.step()
        >>> round(w.item(), 4)
        0.9
    """

    _hyper_dtype = np.float64

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = dict(
            lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), foreach=foreach,
            maximize=maximize, differentiable=differentiable, capturable=capturable,
        )  # fmt: skip
        super().__init__(params, defaults)

    @classmethod
    def _chain(cls, h: dict, s: tuple) -> _Rule:
        (minus, plus), (lo, hi) = h["etas"], h["step_sizes"]

        def init(p):
            return _RpropState(_zero_step(), jnp.zeros_like(p), jnp.full_like(p, h["lr"]))

        def step(p, g, st):
            sign = jnp.sign(g * st.prev)
            factor = jnp.where(sign > 0, _c(plus, p), jnp.where(sign < 0, _c(minus, p), 1))
            size = jnp.clip(st.step_size * factor, _c(lo, p), _c(hi, p))
            g = jnp.where(factor == _c(minus, p), 0, g)
            return p - jnp.sign(g) * size, _RpropState(st.step + 1, g, size)

        return _Rule(init, step)
