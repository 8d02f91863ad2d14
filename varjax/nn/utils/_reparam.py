"""Weight and spectral normalisation as forward pre-hooks: PyTorch's legacy
``nn.utils.weight_norm`` and ``nn.utils.spectral_norm``, with their parameter and buffer names
(``weight_g``/``weight_v``; ``weight_orig`` with buffers ``weight_u``/``weight_v``), so their
``state_dict`` keys load into PyTorch modules and back."""

from __future__ import annotations

from typing import Any

from ... import _tracing
from ..._creation import tensor
from ..._grad_mode import no_grad
from ..._variable import Variable
from .. import init
from .._module import Module, Parameter

__all__ = ["remove_spectral_norm", "remove_weight_norm", "spectral_norm", "weight_norm"]


def _norm_except_dim(v: Variable, dim: int) -> Variable:
    """The 2-norm of ``v`` over every dimension but ``dim`` (kept, size 1 elsewhere); the
    whole norm (0-d) for ``dim == -1``, as PyTorch's ``norm_except_dim``."""
    if dim == -1:
        return v.norm()
    keep = dim % v.ndim
    return v.norm(2, dim=tuple(d for d in range(v.ndim) if d != keep), keepdim=True)


class WeightNorm:
    """The forward pre-hook of ``weight_norm``: ``weight = g * v / ||v||``."""

    def __init__(self, name: str, dim: int) -> None:
        self.name, self.dim = name, dim

    def compute_weight(self, module: Module) -> Variable:
        g, v = getattr(module, self.name + "_g"), getattr(module, self.name + "_v")
        return v * (g / _norm_except_dim(v, self.dim))

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module))

    def remove(self, module: Module) -> None:
        weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        module.register_parameter(self.name, Parameter(weight.detach()))


class _DetachInJit:
    """A forward hook: inside ``varjax.jit``, ``module.<name>`` (whose graph cannot outlive
    the compiled call) is left detached once forward has used it."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, module: Module, inputs: Any, output: Any) -> None:
        if _tracing.state.active:
            setattr(module, self.name, getattr(module, self.name).detach())


def _recomputed(module: Module, name: str) -> None:
    """Tell ``varjax.jit`` that ``module.<name>`` is recomputed by a hook at each call: not
    state the step reads, and stored detached."""
    module.__dict__.setdefault("_recomputed", set()).add(name)
    module.register_forward_hook(_DetachInJit(name), always_call=True)


def _unregister(module: Module, name: str, pre_hook_id: int) -> None:
    module._forward_pre_hooks.pop(pre_hook_id)
    module.__dict__.get("_recomputed", set()).discard(name)
    for hid, hook in list(module._forward_hooks.items()):
        if isinstance(hook, _DetachInJit) and hook.name == name:
            module._forward_hooks.pop(hid)
            module._forward_hooks_always_called.discard(hid)


def _find(module: Module, kind: type, name: str) -> tuple[int, Any] | None:
    for hid, hook in module.__dict__.get("_forward_pre_hooks", {}).items():
        if isinstance(hook, kind) and hook.name == name:
            return hid, hook
    return None


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Reparametrize ``module.<name>`` as ``<name>_g * <name>_v / ||<name>_v||`` (the norm
    over every dimension but ``dim``; ``dim=None``: the whole tensor), recomputed before
    each forward. PyTorch's legacy ``nn.utils.weight_norm``.

    Example:
        >>> import varjax as vj
        >>> m = vj.nn.utils.weight_norm(vj.nn.Linear(3, 2))
        >>> sorted(m.state_dict())
        ['bias', 'weight_g', 'weight_v']
    """
    if _find(module, WeightNorm, name) is not None:
        raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter {name}")
    fn = WeightNorm(name, -1 if dim is None else dim)
    weight = module._parameters[name]
    del module._parameters[name]
    with no_grad():
        g = _norm_except_dim(weight.detach(), fn.dim)
    module.register_parameter(name + "_g", Parameter(g))
    module.register_parameter(name + "_v", Parameter(weight.detach()))
    setattr(module, name, fn.compute_weight(module))
    _recomputed(module, name)
    module.register_forward_pre_hook(fn)
    return module


def remove_weight_norm(module: Module, name: str = "weight") -> Module:
    """Undo ``weight_norm``: ``<name>`` becomes a Parameter again, with the current value.
    PyTorch's ``nn.utils.remove_weight_norm``.

    Example:
        >>> import varjax as vj
        >>> m = vj.nn.utils.weight_norm(vj.nn.Linear(3, 2))
        >>> sorted(vj.nn.utils.remove_weight_norm(m).state_dict())
        ['bias', 'weight']
    """
    found = _find(module, WeightNorm, name)
    if found is None:
        raise ValueError(f"weight_norm of '{name}' not found in {module}")
    found[1].remove(module)
    _unregister(module, name, found[0])
    return module


def _normalize(x: Variable, eps: float) -> Variable:
    return x / x.norm().clamp(min=eps)


class SpectralNorm:
    """The forward pre-hook of ``spectral_norm``: ``weight = weight_orig / sigma``, sigma
    estimated by power iteration on the buffers ``u``, ``v`` (updated in training mode)."""

    def __init__(self, name: str, n_power_iterations: int, dim: int, eps: float) -> None:
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")  # fmt: skip
        self.name, self.n_power_iterations, self.dim, self.eps = name, n_power_iterations, dim, eps

    def matrix(self, weight: Variable) -> Variable:
        if self.dim != 0:
            weight = weight.permute(self.dim, *[d for d in range(weight.ndim) if d != self.dim])
        return weight.reshape(weight.shape[0], -1)

    def compute_weight(self, module: Module, do_power_iteration: bool) -> Variable:
        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        mat = self.matrix(weight)
        if do_power_iteration:
            with no_grad():
                m = mat.detach()
                for _ in range(self.n_power_iterations):
                    v.copy_(_normalize(m.t() @ u, self.eps))
                    u.copy_(_normalize(m @ v, self.eps))
                u, v = u.clone(), v.clone()  # later in-place updates must not reach sigma
        sigma = (u * (mat @ v)).sum()
        return weight / sigma

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module, module.training))

    def remove(self, module: Module) -> None:
        with no_grad():
            weight = self.compute_weight(module, False)
        delattr(module, self.name)
        for suffix in ("_u", "_v", "_orig"):
            delattr(module, self.name + suffix)
        module.register_parameter(self.name, Parameter(weight.detach()))


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None) -> Module:  # fmt: skip
    """Divide ``module.<name>`` by its largest singular value (of the weight as a matrix with
    rows along ``dim``; default 0, 1 for ``ConvTranspose``), estimated by
    ``n_power_iterations`` power-iteration steps per training-mode forward. Parameters and
    buffers ``<name>_orig``, ``<name>_u``, ``<name>_v``. PyTorch's legacy
    ``nn.utils.spectral_norm``.

    Example:
        >>> import varjax as vj
        >>> m = vj.nn.utils.spectral_norm(vj.nn.Linear(3, 2))
        >>> list(m.state_dict())
        ['bias', 'weight_orig', 'weight_u', 'weight_v']
    """
    if _find(module, SpectralNorm, name) is not None:
        raise RuntimeError(f"Cannot register two spectral_norm hooks on the same parameter {name}")
    if dim is None:
        dim = 1 if type(module).__name__.startswith("ConvTranspose") else 0
    fn = SpectralNorm(name, n_power_iterations, dim, eps)
    weight = module._parameters[name]
    h, w = fn.matrix(weight.detach()).shape
    dtype = weight.dtype
    with no_grad():
        u = _normalize(tensor(init._draw("normal", h), dtype=dtype), eps)
        v = _normalize(tensor(init._draw("normal", w), dtype=dtype), eps)
    delattr(module, name)
    module.register_parameter(name + "_orig", weight)
    setattr(module, name, weight.detach())
    _recomputed(module, name)
    module.register_buffer(name + "_u", u)
    module.register_buffer(name + "_v", v)
    module.register_forward_pre_hook(fn)
    return module


def remove_spectral_norm(module: Module, name: str = "weight") -> Module:
    """Undo ``spectral_norm``: ``<name>`` becomes a Parameter holding the normalised weight.
    PyTorch's ``nn.utils.remove_spectral_norm``.

    Example:
        >>> import varjax as vj
        >>> m = vj.nn.utils.spectral_norm(vj.nn.Linear(3, 2))
        >>> sorted(vj.nn.utils.remove_spectral_norm(m).state_dict())
        ['bias', 'weight']
    """
    found = _find(module, SpectralNorm, name)
    if found is None:
        raise ValueError(f"spectral_norm of '{name}' not found in {module}")
    found[1].remove(module)
    _unregister(module, name, found[0])
    return module
