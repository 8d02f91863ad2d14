"""``varjax.autograd.backward`` and ``grad``: PyTorch's signatures over the engine's two
entry points (``varjax._backward``)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from .. import _backward
from .._creation import zeros_like
from .._functions import stack
from .._record import Node
from .._variable import Variable, _gradient_node, handle

__all__ = ["backward", "grad"]


def _seq(x: Any) -> list:
    if x is None:
        return []
    return [x] if isinstance(x, Variable) else list(x)


def _gradient_nodes(outputs: list[Variable], grads: Any, name: str) -> list[Node | None]:
    grads = _seq(grads) if grads is not None else [None] * len(outputs)
    if len(grads) != len(outputs):
        raise RuntimeError(
            f"{name}: got {len(grads)} gradients for {len(outputs)} outputs; pass one per output"
        )
    return [None if g is None else _gradient_node(g) for g in grads]


def backward(
    tensors: Variable | Sequence[Variable],
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    grad_variables: Any = None,
    inputs: Variable | Sequence[Variable] | None = None,
) -> None:
    """Accumulate gradients of ``tensors`` into ``.grad`` (of ``inputs`` only, if given).

    Example:
        >>> import varjax as vj
        >>> x = vj.tensor([1.0, 2.0], requires_grad=True)
        >>> y = vj.tensor([3.0], requires_grad=True)
        >>> vj.autograd.backward([(x * x).sum(), (y * 2).sum()])
        >>> x.grad, y.grad
        (tensor([2., 4.]), tensor([2.]))
    """
    if grad_variables is not None:  # PyTorch's deprecated name of grad_tensors
        if grad_tensors is not None:
            raise RuntimeError("'grad_tensors' and 'grad_variables' (deprecated) arguments "
                               "both passed to backward(). Please only use "
                               "'grad_tensors'.")  # fmt: skip
        warnings.warn("'grad_variables' is deprecated. Use 'grad_tensors' instead.",
                      FutureWarning, stacklevel=2)  # fmt: skip
        grad_tensors = grad_variables
    outputs = _seq(tensors)
    grads = _gradient_nodes(outputs, grad_tensors, "backward")
    targets = None if inputs is None else _seq(inputs)
    if targets is not None and not targets:
        raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    retain = create_graph if retain_graph is None else retain_graph  # PyTorch's default
    _backward.backward([o._node for o in outputs], grads, inputs=targets,
                       retain_graph=bool(retain), create_graph=create_graph)  # fmt: skip


def grad(
    outputs: Variable | Sequence[Variable],
    inputs: Variable | Sequence[Variable],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    only_inputs: bool = True,
    allow_unused: bool | None = None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
) -> tuple[Variable | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned; ``.grad`` is untouched.

    Example:
        >>> import varjax as vj
        >>> x = vj.tensor([1.0, 2.0], requires_grad=True)
        >>> h = x * 3
        >>> vj.autograd.grad((h * h).sum(), [x, h])
        (tensor([18., 36.]), tensor([ 6., 12.]))
    """
    if not only_inputs:
        warnings.warn("only_inputs argument is deprecated and is ignored now (defaults to "
                      "True). To accumulate gradient for other parts of the graph, please use "
                      "torch.autograd.backward.", FutureWarning, stacklevel=2)  # fmt: skip
    if is_grads_batched:
        return _batched(outputs, inputs, grad_outputs, retain_graph, create_graph,
                        allow_unused, materialize_grads)  # fmt: skip
    outs = _seq(outputs)
    targets = _seq(inputs)
    grads = _gradient_nodes(outs, grad_outputs, "grad")
    allow = bool(allow_unused) or materialize_grads
    retain = create_graph if retain_graph is None else retain_graph  # PyTorch's default
    got = _backward.grad([o._node for o in outs], targets, grads, retain_graph=bool(retain),
                         create_graph=create_graph, allow_unused=allow)  # fmt: skip
    result = [None if g is None else handle(g) for g in got]
    if materialize_grads:
        result = [zeros_like(t) if g is None else g for g, t in zip(result, targets)]
    return tuple(result)


def _batched(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused,
             materialize_grads) -> tuple:  # fmt: skip
    """``is_grads_batched``: each ``grad_outputs`` entry holds a batch of cotangents along its
    first dim; one gradient per cotangent, stacked (one backward each)."""
    cots = _seq(grad_outputs)
    if not cots or any(c is None for c in cots):
        raise RuntimeError("is_grads_batched=True needs a batched tensor in grad_outputs for "
                           "every output")  # fmt: skip
    sizes = {int(c.shape[0]) for c in cots}
    if len(sizes) != 1:
        raise RuntimeError(f"is_grads_batched=True: the grad_outputs have different batch "
                           f"sizes {sorted(sizes)}")  # fmt: skip
    n = sizes.pop()
    keep = create_graph if retain_graph is None else retain_graph
    rows = [grad(outputs, inputs, [c[i] for c in cots], retain_graph=True if i < n - 1 else keep,
                 create_graph=create_graph, allow_unused=allow_unused,
                 materialize_grads=materialize_grads) for i in range(n)]  # fmt: skip
    return tuple(None if col[0] is None else stack(list(col)) for col in zip(*rows))
