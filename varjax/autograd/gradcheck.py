"""``gradcheck`` / ``gradgradcheck``: analytical gradients against central finite differences.

As in PyTorch, inputs should be float64 (float32 differences are too coarse to be a check),
tolerances default to ``eps=1e-6, atol=1e-5, rtol=1e-3``, and a mismatch raises
``GradcheckError`` naming the output and input with both Jacobians.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from .._dtypes import X64_REMEDY
from .._variable import Variable
from ._grad import grad

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck`` when an analytical gradient disagrees with finite differences.

    Example:
        >>> import varjax as vj
        >>> from varjax.autograd.gradcheck import GradcheckError
        >>> x = vj.tensor([1.0], dtype=vj.float64, requires_grad=True)
        >>> try:  # floor's gradient is 0, its slope across the step at 1 is not
        ...     vj.autograd.gradcheck(vj.floor, (x,))
        ... except GradcheckError:
        ...     print("mismatch")
        mismatch
    """


def _tuple(x: Any) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _require_x64() -> None:
    if not jax.config.jax_enable_x64:
        raise RuntimeError(f"gradcheck needs float64, which needs JAX's x64 mode. {X64_REMEDY}")


def _outputs(func: Callable, inputs: tuple) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(o.detach().numpy(), np.float64) for o in _tuple(func(*inputs)))


def _leaves(values: list, diff: list[int]) -> tuple:
    return tuple(Variable(v, requires_grad=i in diff) for i, v in enumerate(values))


def _numerical(func: Callable, inputs: tuple, diff: list[int], eps: float) -> list:
    """jac[o][i]: d output o / d input i, shape (out.size, in.size), by central differences."""
    base = [np.asarray(x.detach().numpy(), np.float64) for x in inputs]
    n_out = len(_outputs(func, inputs))
    jac = [[None] * len(inputs) for _ in range(n_out)]
    for i in diff:
        cols = []
        for k in range(base[i].size):
            plus, minus = [b.copy() for b in base], [b.copy() for b in base]
            plus[i].reshape(-1)[k] += eps
            minus[i].reshape(-1)[k] -= eps
            hi = _outputs(func, _leaves(plus, diff))
            lo = _outputs(func, _leaves(minus, diff))
            cols.append([(h - low).reshape(-1) / (2 * eps) for h, low in zip(hi, lo)])
        for o in range(n_out):
            jac[o][i] = np.stack([c[o] for c in cols], axis=1) if cols else None
    return jac


def _analytical(func: Callable, inputs: tuple, diff: list[int]) -> list:
    """jac[o][i] from backward passes: one ``autograd.grad`` per output element."""
    xs = tuple(
        Variable(x.detach(), requires_grad=True) if i in diff else x.detach()
        for i, x in enumerate(inputs)
    )
    outs = _tuple(func(*xs))
    jac = [[None] * len(inputs) for _ in outs]
    for o, out in enumerate(outs):
        rows = {i: [] for i in diff}
        for k in range(out.numel()):
            seed = np.zeros(out.numel(), np.float64)
            seed[k] = 1.0
            grads = grad(
                out,
                [xs[i] for i in diff],
                grad_outputs=Variable(seed.reshape(out.shape).astype(out.dtype)),
                retain_graph=True,
                allow_unused=True,
            )
            for i, g in zip(diff, grads):
                rows[i].append(
                    np.zeros(xs[i].numel())
                    if g is None
                    else np.asarray(g.numpy(), np.float64).reshape(-1)
                )
        for i in diff:
            jac[o][i] = np.stack(rows[i]) if rows[i] else np.zeros((0, xs[i].numel()))
    return jac


def _unsupported(**asked: bool) -> None:
    for name, on in asked.items():
        if on:
            raise NotImplementedError(
                f"gradcheck: {name}=True is a check varjax does not run; leave it off (the "
                f"reverse-mode check against finite differences runs)"
            )


def gradcheck(
    func: Callable,
    inputs: Any,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    nondet_tol: float = 0.0,
    check_undefined_grad: bool = True,
    check_grad_dtypes: bool = False,
    check_batched_grad: bool = False,
    check_batched_forward_grad: bool = False,
    check_forward_ad: bool = False,
    check_backward_ad: bool = True,
    fast_mode: bool = False,
    masked: bool | None = None,
) -> bool:
    """Check ``func``'s gradients w.r.t. the ``inputs`` that require grad against finite
    differences. Returns True, or raises ``GradcheckError`` (False without
    ``raise_exception``).

    PyTorch's other options are accepted: ``fast_mode`` runs the full check (a superset),
    ``nondet_tol`` has nothing to tolerate (a replay is deterministic), and the undefined-grad
    and dtype checks hold by construction; the checks varjax does not do (batched, forward-mode,
    masked) raise ``NotImplementedError`` when asked for, and ``check_backward_ad=False`` with
    nothing else asked checks nothing, as in PyTorch.

    Example:
        >>> import varjax as vj
        >>> x = vj.tensor([1.0, 2.0], dtype=vj.float64, requires_grad=True)
        >>> vj.autograd.gradcheck(lambda x: x.sin() * x, (x,))
        True
    """
    _unsupported(check_batched_grad=check_batched_grad, check_forward_ad=check_forward_ad,
                 check_batched_forward_grad=check_batched_forward_grad,
                 masked=bool(masked))  # fmt: skip
    if not check_backward_ad:
        return True
    _require_x64()
    inputs = tuple(x if isinstance(x, Variable) else Variable(x) for x in _tuple(inputs))
    diff = [i for i, x in enumerate(inputs) if x.requires_grad]
    if not diff:
        raise ValueError("gradcheck expects at least one input that requires grad")
    for i in diff:
        if inputs[i].dtype != np.float64:
            raise ValueError(
                f"gradcheck: input {i} is {inputs[i].dtype}; finite differences need float64 "
                f"inputs: pass x.double()"
            )
    numerical = _numerical(func, inputs, diff, eps)
    analytical = _analytical(func, inputs, diff)
    for o in range(len(numerical)):
        for i in diff:
            n, a = numerical[o][i], analytical[o][i]
            if not np.allclose(a, n, rtol=rtol, atol=atol):
                if not raise_exception:
                    return False
                raise GradcheckError(
                    f"Jacobian mismatch for output {o} with respect to input {i},\n"
                    f"numerical:{n}\nanalytical:{a}\n"
                )
    return True


def gradgradcheck(
    func: Callable,
    inputs: Any,
    grad_outputs: Any = None,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    gen_non_contig_grad_outputs: bool = False,
    raise_exception: bool = True,
    nondet_tol: float = 0.0,
    check_undefined_grad: bool = True,
    check_grad_dtypes: bool = False,
    check_batched_grad: bool = False,
    check_fwd_over_rev: bool = False,
    check_rev_over_rev: bool = True,
    fast_mode: bool = False,
    masked: bool = False,
) -> bool:
    """Check second derivatives: ``gradcheck`` of the (create_graph) vector-Jacobian product
    of ``func`` with ``grad_outputs`` (random, fixed by a seed, when omitted). PyTorch's
    options are accepted as in ``gradcheck`` (non-contiguous outputs: every array here is).

    Example:
        >>> import varjax as vj
        >>> x = vj.tensor([1.0, 2.0], dtype=vj.float64, requires_grad=True)
        >>> vj.autograd.gradgradcheck(lambda x: x.sin() * x, (x,))
        True
    """
    _unsupported(check_batched_grad=check_batched_grad, check_fwd_over_rev=check_fwd_over_rev,
                 masked=masked)  # fmt: skip
    if not check_rev_over_rev:
        return True
    _require_x64()
    inputs = _tuple(inputs)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Variable) and x.requires_grad]
    outs = _tuple(func(*inputs))
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(Variable(rng.standard_normal(o.shape)) for o in outs)
    cots = _tuple(grad_outputs)

    def first_derivatives(*xs):
        ys = _tuple(func(*xs))
        gs = grad(
            ys, [xs[i] for i in diff], grad_outputs=cots, create_graph=True, allow_unused=True
        )
        return tuple(g for g in gs if g is not None)

    return gradcheck(
        first_derivatives, inputs, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception
    )
