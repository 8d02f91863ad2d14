"""``varjax.func``: ``functional_call``, as ``torch.func.functional_call``.

Example:
    >>> import varjax as vj
    >>> model = vj.nn.Linear(2, 1, bias=False)
    >>> w = {"weight": vj.tensor([[1.0, 2.0]])}
    >>> vj.func.functional_call(model, w, (vj.tensor([[3.0, 4.0]]),)).tolist()
    [[11.0]]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._variable import Variable, as_variable
from .nn import Module

__all__ = ["functional_call"]


def _slot(module: Module, name: str) -> tuple[dict, str]:
    """The dict (``_parameters`` or ``_buffers``) and key of a dotted parameter/buffer name."""
    *path, leaf = name.split(".")
    for part in path:
        module = module._modules.get(part)
        if module is None:
            break
    for store in (module._parameters, module._buffers) if module is not None else ():
        if leaf in store:
            return store, leaf
    raise KeyError(f"functional_call: {name!r} is no parameter or buffer of the module")


def functional_call(
    module: Module, parameter_and_buffer_dicts: Mapping | tuple, args: Any = None,
    kwargs: Mapping | None = None, *, tie_weights: bool = True, strict: bool = False,
) -> Any:  # fmt: skip
    """Call ``module`` with some parameters and buffers replaced by the given tensors (or
    JAX arrays); the module is left as it was, even if the call raises.

    Example:
        >>> import varjax as vj
        >>> model = vj.nn.Linear(1, 1)
        >>> params = {"weight": vj.tensor([[2.0]]), "bias": vj.tensor([1.0])}
        >>> vj.func.functional_call(model, params, (vj.tensor([[3.0]]),))
        tensor([[7.]])
    """
    dicts = parameter_and_buffer_dicts
    given: dict = {}
    for d in dicts if isinstance(dicts, (tuple, list)) else (dicts,):
        overlap = set(given) & set(d)
        if overlap:
            raise ValueError(f"{sorted(overlap)} appeared in multiple dictionaries")
        given.update(d)
    if strict:
        expected = {n for n, _ in module.named_parameters()}
        expected |= {n for n, _ in module.named_buffers()}
        if set(given) != expected:
            raise RuntimeError(
                f"functional_call got missing keys {sorted(expected - set(given))} and "
                f"unexpected keys {sorted(set(given) - expected)}"
            )
    saved = []
    try:
        for name, value in given.items():
            store, key = _slot(module, name)
            saved.append((store, key, store[key]))
            store[key] = value if isinstance(value, Variable) else as_variable(value)
        args = () if args is None else args if isinstance(args, tuple) else (args,)
        return module(*args, **(kwargs or {}))
    finally:
        for store, key, old in reversed(saved):
            store[key] = old
