"""L-BFGS, as ``torch.optim.LBFGS``: a host-driven port of PyTorch's algorithm.

L-BFGS decides how often to re-evaluate the loss from the values it sees (line search,
tolerances, the number of evaluations), so it cannot be one recorded op: ``step(closure)``
runs PyTorch's loop in NumPy (float32, as PyTorch's tensors), calling ``closure`` for each
evaluation and writing the parameters back after each trial step. Call it outside
``varjax.jit``; the closure itself is an ordinary (compiled) forward and backward.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import jax.numpy as jnp
import numpy as np

from .. import _tracing
from .._grad_mode import enable_grad
from .._methods.inplace import assign
from .._variable import Variable
from ._optimizer import Optimizer

__all__ = ["LBFGS"]


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimiser of the cubic through two points with values and slopes, in ``bounds``."""
    xmin_bound, xmax_bound = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square < 0:
        return (xmin_bound + xmax_bound) / 2.0
    d2 = np.sqrt(d2_square)
    if x1 <= x2:
        min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(min_pos, xmin_bound), xmax_bound)


class _Bracket:
    """The zoom phase's interval: two points with loss, gradient and slope."""

    def __init__(self, t, f, g, gtd):
        self.t, self.f, self.g, self.gtd = list(t), list(f), list(g), list(gtd)

    def order(self) -> tuple[int, int]:
        return (0, 1) if self.f[0] <= self.f[-1] else (1, 0)

    def set(self, i, t, f, g, gtd) -> None:
        self.t[i], self.f[i], self.g[i], self.gtd[i] = t, f, g, gtd


def _bracket_phase(obj_func, x, t, d, f, g, gtd, c1, c2, max_ls):
    """Step forward until an interval holds a point meeting the strong Wolfe conditions."""
    f_new, g_new = obj_func(x, t, d)
    evals, gtd_new = 1, g_new.dot(d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    ls_iter = 0
    while ls_iter < max_ls:
        pair = ([t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new])
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            return _Bracket(*pair), False, ls_iter, evals
        if abs(gtd_new) <= -c2 * gtd:
            return _Bracket([t], [f_new], [g_new], [gtd_new]), True, ls_iter, evals
        if gtd_new >= 0:
            return _Bracket(*pair), False, ls_iter, evals
        bounds = (t + 0.01 * (t - t_prev), t * 10)
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=bounds)
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
    # out of evaluations: PyTorch keeps no slopes for this bracket
    return _Bracket([0, t], [f, f_new], [g, g_new], [None, None]), False, ls_iter, evals


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """PyTorch's ``_strong_wolfe`` line search (bracketing, then zoom by cubic steps)."""
    d_norm = np.abs(d).max()
    b, done, ls_iter, evals = _bracket_phase(obj_func, x, t, d, f, g.copy(), gtd, c1, c2, max_ls)
    insuf_progress = False
    low, high = b.order()
    while not done and ls_iter < max_ls:
        if abs(b.t[1] - b.t[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(b.t[0], b.f[0], b.gtd[0], b.t[1], b.f[1], b.gtd[1])
        hi_t, lo_t = max(b.t), min(b.t)
        eps = 0.1 * (hi_t - lo_t)
        if min(hi_t - t, t - lo_t) < eps:  # too close to an end: move in from it
            if insuf_progress or t >= hi_t or t <= lo_t:
                t = hi_t - eps if abs(t - hi_t) < abs(t - lo_t) else lo_t + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj_func(x, t, d)
        evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= b.f[low]:
            b.set(high, t, f_new, g_new, gtd_new)
            low, high = b.order()
            continue
        if abs(gtd_new) <= -c2 * gtd:
            done = True
        elif gtd_new * (b.t[high] - b.t[low]) >= 0:
            b.set(high, b.t[low], b.f[low], b.g[low], b.gtd[low])
        b.set(low, t, f_new, g_new, gtd_new)
    return b.f[low], b.g[low], b.t[low], evals


def _to_saved(v: Any) -> Any:
    if isinstance(v, list):
        return [_to_saved(x) for x in v]
    if isinstance(v, (np.ndarray, np.generic)):
        return Variable(jnp.asarray(v))
    return v


def _from_saved(v: Any) -> Any:
    if isinstance(v, list):
        return [_from_saved(x) for x in v]
    if isinstance(v, Variable):
        a = np.array(v.numpy())
        return a[()] if a.ndim == 0 else a
    return v


class LBFGS(Optimizer):
    """L-BFGS (``torch.optim.LBFGS``): quasi-Newton steps from a limited history.

    ``step(closure)`` runs up to ``max_iter`` iterations (at most ``max_eval`` loss
    evaluations): the two-loop recursion over the last ``history_size`` curvature pairs gives
    a direction, a fixed step ``lr`` (the first scaled by ``min(1, 1 / |g|_1)``) or
    ``line_search_fn="strong_wolfe"`` gives its length; it stops early on ``tolerance_grad``
    (max gradient) or ``tolerance_change`` (step or loss change). One parameter group only.
    Runs on the host, outside ``varjax.jit``.

    Example:
        >>> import varjax as vj
        >>> w = vj.tensor([3.0], requires_grad=True)
        >>> opt = vj.optim.LBFGS([w], line_search_fn="strong_wolfe")
        >>> def closure():
        ...     opt.zero_grad(); loss = ((w - 1) ** 2).sum(); loss.backward(); return loss
        >>> _ = opt.step(closure)
        >>> round(w.item(), 4)
        1.0
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if line_search_fn not in (None, "strong_wolfe"):
            raise RuntimeError(  # PyTorch raises RuntimeError (at step)
                f"LBFGS line_search_fn={line_search_fn!r}: only 'strong_wolfe' is supported; "
                f"pass None or 'strong_wolfe'"
            )
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        self._lbfgs: dict[str, Any] = {}
        defaults = dict(
            lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
            tolerance_change=tolerance_change, history_size=history_size,
            line_search_fn=line_search_fn,
        )  # fmt: skip
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """The one parameter group (PyTorch's LBFGS has no per-parameter options)."""
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self.param_groups.append(self._new_group(param_group))

    @property
    def _params(self) -> list[Variable]:
        return self.param_groups[0]["params"]

    # -- flat views of the parameters and gradients (float32 NumPy, as PyTorch's tensors) --

    def _gather_flat_grad(self) -> np.ndarray:
        views = []
        for p in self._params:
            if p.grad is None:
                views.append(np.zeros(p.numel(), np.dtype(p.dtype.name)))
            else:
                views.append(np.asarray(p.grad.numpy()).reshape(-1))
        return np.concatenate(views)

    def _clone_param(self) -> list[np.ndarray]:
        return [np.array(p.detach().numpy()) for p in self._params]

    def _set_param(self, values: list[np.ndarray]) -> None:
        for p, v in zip(self._params, values):
            assign(p, jnp.asarray(v, p._node.aval[1]).reshape(p._node.aval[0]))

    def _add_grad(self, step_size: Any, update: np.ndarray) -> None:
        offset, new = 0, []
        for x in self._clone_param():
            n = x.size
            alpha = np.asarray(step_size, x.dtype)
            new.append(x + alpha * update[offset : offset + n].reshape(x.shape))
            offset += n
        self._set_param(new)

    def _directional_evaluate(self, closure, x, t, d):
        self._add_grad(t, d)
        loss = _float(closure())
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    # -- the algorithm --------------------------------------------------------------------------

    def step(self, closure: Callable[[], Any]) -> Any:  # type: ignore[override]
        """Run L-BFGS iterations; ``closure`` zeroes the gradients, computes the loss, calls
        ``backward()`` and returns the loss. Returns the first loss evaluated."""
        if closure is None:
            raise RuntimeError("LBFGS.step() needs a closure that re-evaluates the loss")
        if _tracing.state.active:
            raise RuntimeError(
                "LBFGS.step() inside a varjax.jit function: L-BFGS decides on concrete loss "
                "values how often to evaluate, so it runs on the host. Remedy: call "
                "opt.step(closure) outside, and compile the closure's forward/backward instead"
            )
        group = self.param_groups[0]
        state = self._lbfgs
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        def evaluate():
            with enable_grad():
                return closure()

        orig_loss = evaluate()
        loss = _float(orig_loss)
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if np.abs(flat_grad).max() <= group["tolerance_grad"]:
            return orig_loss
        self._iterate(group, state, evaluate, loss, flat_grad)
        return orig_loss

    def _direction(self, state, group, flat_grad):
        """The L-BFGS direction: update the history with the last step, then two loops."""
        if state["n_iter"] == 1:
            state.update(old_dirs=[], old_stps=[], ro=[], H_diag=1)
            return -flat_grad
        old_dirs, old_stps, ro = state["old_dirs"], state["old_stps"], state["ro"]
        y = flat_grad - state["prev_flat_grad"]
        s = state["d"] * np.asarray(state["t"], flat_grad.dtype)
        ys = y.dot(s)
        if ys > 1e-10:
            if len(old_dirs) == group["history_size"]:  # forget the oldest pair
                old_dirs.pop(0)
                old_stps.pop(0)
                ro.pop(0)
            old_dirs.append(y)
            old_stps.append(s)
            ro.append(np.float32(1.0) / ys)
            state["H_diag"] = ys / y.dot(y)
        if "al" not in state:
            state["al"] = [None] * group["history_size"]
        al = state["al"]
        q = -flat_grad
        for i in range(len(old_dirs) - 1, -1, -1):
            al[i] = old_stps[i].dot(q) * ro[i]
            q = q + (-al[i]) * old_dirs[i]
        r = q * np.asarray(state["H_diag"], q.dtype)
        for i in range(len(old_dirs)):
            be_i = old_dirs[i].dot(r) * ro[i]
            r = r + (al[i] - be_i) * old_stps[i]
        return r

    def _iterate(self, group, state, evaluate, loss, flat_grad) -> None:
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        current_evals, n_iter = 1, 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            d = state["d"] = self._direction(state, group, flat_grad)
            state["prev_flat_grad"], prev_loss = flat_grad.copy(), loss
            state["prev_loss"] = prev_loss
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr
            else:
                t = lr
            gtd = flat_grad.dot(d)
            if gtd > -tol_change:
                state["t"] = t
                break
            ls_evals, opt_cond = 0, False
            if group["line_search_fn"] is not None:
                x_init = self._clone_param()

                def obj_func(x, t, d):
                    return self._directional_evaluate(evaluate, x, t, d)

                loss, flat_grad, t, ls_evals = _strong_wolfe(
                    obj_func, x_init, t, d, loss, flat_grad, gtd,
                    max_ls=max_eval - current_evals,
                )  # fmt: skip
                self._add_grad(t, d)
                opt_cond = np.abs(flat_grad).max() <= tol_grad
            else:
                self._add_grad(t, d)
                if n_iter != max_iter:  # PyTorch skips the evaluation after the last step
                    loss = _float(evaluate())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = np.abs(flat_grad).max() <= tol_grad
                    ls_evals = 1
            state["t"] = t
            current_evals += ls_evals
            state["func_evals"] += ls_evals
            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if np.abs(d * np.asarray(t, d.dtype)).max() <= tol_change:
                break
            if abs(loss - prev_loss) < tol_change:
                break

    # -- state ----------------------------------------------------------------------------------

    @property
    def state(self) -> dict[Variable, dict[str, Any]]:
        """PyTorch's layout: the global L-BFGS state, kept under the first parameter."""
        return {self._params[0]: _to_saved(dict(self._lbfgs))} if self._lbfgs else {}

    def state_dict(self) -> dict[str, Any]:
        """``{"state": {0: {...}}, "param_groups": [...]}`` with PyTorch's entry names
        (``d``, ``t``, ``old_dirs``, ``old_stps``, ``ro``, ``H_diag``, ...); copies."""
        groups = [{k: v for k, v in self.param_groups[0].items() if k != "params"}]
        groups[0]["params"] = list(range(len(self._params)))
        state = {0: _to_saved(dict(self._lbfgs))} if self._lbfgs else {}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a ``state_dict()`` (hyperparameters and the L-BFGS history)."""
        try:
            (group,), saved = state_dict["param_groups"], state_dict["state"]
        except (KeyError, TypeError, ValueError):
            raise ValueError(
                "LBFGS state_dict must have 'state' and one 'param_groups' entry (as returned "
                "by optimizer.state_dict())"
            ) from None
        if len(group["params"]) != len(self._params):
            raise ValueError(
                "loaded state dict contains a parameter group that doesn't match the size of "
                "optimizer's group"
            )
        entry = saved.get(0, saved.get("0", {}))
        self._lbfgs = {k: _from_saved(v) for k, v in entry.items()}
        self.param_groups[0].update({k: v for k, v in group.items() if k != "params"})

    # -- varjax.jit: nothing is recorded, the parameters are all there is --

    def _state_variables(self) -> tuple[Variable, ...]:
        return tuple(self._params)

    def _sync_hypers(self) -> None:
        pass


def _float(loss: Any) -> float:
    return float(loss.item()) if isinstance(loss, Variable) else float(loss)
