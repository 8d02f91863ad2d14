"""PyTorch's tensor functions on the op table: ``varjax.X(t, ...)`` and the method ``t.X(...)``.

Each function normalizes PyTorch's arguments (``dim``, ``keepdim``, ``unbiased``, index
tensors, ...) into static params and records one op from ``_ops``, or composes a few. The same
function object becomes the Variable method at the bottom of this file, so both spellings
share one definition.
"""

from __future__ import annotations

import builtins
import math
import numbers
from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from . import _tracing
from . import random as _rng
from ._dtypes import default_int, is_floating
from ._ops import OPS
from ._record import record
from ._variable import Variable, _apply, _dims, _shape_arg, _wrap
from ._views import link

MaxResult = namedtuple("max", ["values", "indices"])
MinResult = namedtuple("min", ["values", "indices"])


def _var(x: Any) -> Variable:
    return x if isinstance(x, Variable) else Variable(x)


def _dim1(dim: int, ndim: int) -> int:
    (d,) = _dims(dim, ndim) or (0,)
    return d


def _red(dim, keepdim: bool, ndim: int) -> tuple:
    return (("axis", _dims(dim, ndim)), ("keepdims", builtins.bool(keepdim)))


def _float_only(name: str, x: Variable) -> None:
    if not is_floating(x.dtype):
        raise RuntimeError(
            f"{name}(): could not infer output dtype. Input dtype must be either a floating "
            f"point or complex dtype. Got: {x.dtype}; convert with .float() first"
        )


# -- elementwise --------------------------------------------------------------------------------


def _elementwise(name: str, doc: str):
    op = OPS[name]

    def fn(input: Variable) -> Variable:
        x = input if type(input) is Variable else _var(input)
        return _wrap(record(op, (x._node,)))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"{doc}, elementwise. ``varjax.{name}(x)`` or ``x.{name}()``."
    return fn


exp = _elementwise("exp", "e to the power x")
expm1 = _elementwise("expm1", "exp(x) - 1, accurate near 0")
log = _elementwise("log", "Natural logarithm")
log1p = _elementwise("log1p", "log(1 + x), accurate near 0")
log2 = _elementwise("log2", "Base-2 logarithm")
sin = _elementwise("sin", "Sine")
cos = _elementwise("cos", "Cosine")
tan = _elementwise("tan", "Tangent")
tanh = _elementwise("tanh", "Hyperbolic tangent")
sigmoid = _elementwise("sigmoid", "Logistic sigmoid 1 / (1 + exp(-x))")
relu = _elementwise("relu", "max(x, 0), with gradient 0 at 0")
silu = _elementwise("silu", "x * sigmoid(x)")
sqrt = _elementwise("sqrt", "Square root")
rsqrt = _elementwise("rsqrt", "1 / sqrt(x)")
abs = _elementwise("abs", "Absolute value")  # noqa: A001 - PyTorch's name
erf = _elementwise("erf", "Error function")
reciprocal = _elementwise("reciprocal", "1 / x")
neg = _elementwise("neg", "Negation")
sign = _elementwise("sign", "Sign (-1, 0, 1); zero gradient")
floor = _elementwise("floor", "Round down; zero gradient")
ceil = _elementwise("ceil", "Round up; zero gradient")
trunc = _elementwise("trunc", "Round toward zero; zero gradient")
logical_not = _elementwise("logical_not", "Boolean not")
negative = neg


def round(input: Variable, decimals: builtins.int = 0) -> Variable:  # noqa: A001
    """Round to ``decimals`` places, halves to even; zero gradient."""
    params = (("decimals", builtins.int(decimals)),) if decimals else ()
    return _apply("round", _var(input), params=params)


def gelu(input: Variable, approximate: str = "none") -> Variable:
    """GELU: exact (``approximate='none'``, PyTorch's default) or the tanh approximation."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    return _apply("gelu", _var(input), params=(("approximate", approximate == "tanh"),))


def softplus(input: Variable, beta: float = 1.0, threshold: float = 20.0) -> Variable:
    """log(1 + exp(beta * x)) / beta, linear where beta * x > threshold (as PyTorch)."""
    params = (("beta", builtins.float(beta)), ("threshold", builtins.float(threshold)))
    return _apply("softplus", _var(input), params=params)


# -- binary -------------------------------------------------------------------------------------


def add(input: Any, other: Any, *, alpha: float = 1) -> Variable:
    """input + alpha * other."""
    return _apply("add", input, other if alpha == 1 else _apply("mul", other, alpha))


def sub(input: Any, other: Any, *, alpha: float = 1) -> Variable:
    """input - alpha * other."""
    return _apply("sub", input, other if alpha == 1 else _apply("mul", other, alpha))


def mul(input: Any, other: Any) -> Variable:
    """Elementwise product, with broadcasting."""
    return _apply("mul", input, other)


def div(input: Any, other: Any, *, rounding_mode: str | None = None) -> Variable:
    """input / other; ``rounding_mode`` ``'trunc'`` or ``'floor'`` rounds the quotient."""
    if rounding_mode not in (None, "trunc", "floor"):
        raise ValueError(f"rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")
    params = () if rounding_mode is None else (("rounding_mode", rounding_mode),)
    return _apply("div", input, other, params=params)


def pow(input: Any, exponent: Any) -> Variable:  # noqa: A001 - PyTorch's name
    """input ** exponent."""
    return _apply("pow", input, exponent)


def maximum(input: Any, other: Any) -> Variable:
    """Elementwise maximum; ties share the gradient, as in PyTorch."""
    return _apply("maximum", input, other)


def minimum(input: Any, other: Any) -> Variable:
    """Elementwise minimum; ties share the gradient, as in PyTorch."""
    return _apply("minimum", input, other)


def logical_and(input: Any, other: Any) -> Variable:
    return _apply("logical_and", input, other)


def logical_or(input: Any, other: Any) -> Variable:
    return _apply("logical_or", input, other)


def clamp(input: Variable, min: Any = None, max: Any = None) -> Variable:  # noqa: A002
    """Limit values to [min, max] (either may be None, a number or a Variable)."""
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
    bounds = [b for b in (min, max) if b is not None]
    params = (("has_max", max is not None), ("has_min", min is not None))
    return _apply("clamp", _var(input), *bounds, params=params)


clip = clamp


def where(condition: Any, input: Any, other: Any) -> Variable:
    """``input`` where ``condition`` holds, else ``other`` (a boolean condition)."""
    condition = _var(condition)
    if condition.dtype != np.bool_:
        raise RuntimeError(
            f"where expected condition to be a boolean tensor, but got a tensor with dtype "
            f"{condition.dtype}; compare first, e.g. x > 0"
        )
    return _apply("where", condition, input, other)


def lerp(input: Any, end: Any, weight: Any) -> Variable:
    """input + weight * (end - input)."""
    return _apply("lerp", input, end, weight)


# -- reductions ---------------------------------------------------------------------------------


def sum(input: Variable, dim=None, keepdim: bool = False, *, dtype=None) -> Variable:  # noqa: A001
    """Sum over ``dim`` (an int, a tuple, or all dims)."""
    x = _var(input) if dtype is None else to(_var(input), dtype)
    return _apply("sum", x, params=_red(dim, keepdim, x.ndim))


def mean(input: Variable, dim=None, keepdim: bool = False, *, dtype=None) -> Variable:
    """Mean over ``dim``; floating inputs only, as in PyTorch."""
    x = _var(input) if dtype is None else to(_var(input), dtype)
    _float_only("mean", x)
    return _apply("mean", x, params=_red(dim, keepdim, x.ndim))


def prod(input: Variable, dim: int | None = None, keepdim: bool = False) -> Variable:
    """Product over one ``dim`` or all elements."""
    x = _var(input)
    return _apply("prod", x, params=_red(dim, keepdim, x.ndim))


def _extreme(name: str, result, input, dim, keepdim, other):
    x = _var(input)
    if isinstance(dim, (Variable, jax.Array, np.ndarray)):
        other, dim = dim, None
    if other is not None:
        return _apply("maximum" if name == "max" else "minimum", x, other)
    if dim is None:
        if x.numel() == 0:
            raise RuntimeError(
                f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                f"Specify the reduction dim with the 'dim' argument."
            )
        return _apply("amax" if name == "max" else "amin", x, params=_red(None, False, x.ndim))
    d = _dim1(dim, x.ndim)
    arg = "argmax" if name == "max" else "argmin"
    indices = _apply(arg, x, params=(("axis", d), ("keepdims", True)))
    values = _apply("gather", x, indices, params=(("axis", d),))
    if not keepdim:
        values, indices = squeeze(values, d), squeeze(indices, d)
    return result(values, indices)


def max(input: Variable, dim: Any = None, keepdim: bool = False, *, other=None):  # noqa: A001
    """``max(x)``: the largest value; ``max(x, dim)``: ``(values, indices)``; ``max(x, y)``:
    elementwise maximum. With ``dim`` the gradient goes to the returned index, as in PyTorch."""
    return _extreme("max", MaxResult, input, dim, keepdim, other)


def min(input: Variable, dim: Any = None, keepdim: bool = False, *, other=None):  # noqa: A001
    """``min(x)``, ``min(x, dim)`` -> ``(values, indices)``, or elementwise ``min(x, y)``."""
    return _extreme("min", MinResult, input, dim, keepdim, other)


def amax(input: Variable, dim=(), keepdim: bool = False) -> Variable:
    """Largest values over ``dim`` (all dims by default); ties share the gradient evenly."""
    x = _var(input)
    return _apply("amax", x, params=_red(None if dim == () else dim, keepdim, x.ndim))


def amin(input: Variable, dim=(), keepdim: bool = False) -> Variable:
    """Smallest values over ``dim`` (all dims by default); ties share the gradient evenly."""
    x = _var(input)
    return _apply("amin", x, params=_red(None if dim == () else dim, keepdim, x.ndim))


def argmax(input: Variable, dim: int | None = None, keepdim: bool = False) -> Variable:
    """Index of the largest value (into the flattened input when ``dim`` is None)."""
    x = _var(input)
    d = None if dim is None else _dim1(dim, x.ndim)
    return _apply(
        "argmax", x, params=(("axis", d), ("keepdims", builtins.bool(keepdim and d is not None)))
    )


def argmin(input: Variable, dim: int | None = None, keepdim: bool = False) -> Variable:
    """Index of the smallest value (into the flattened input when ``dim`` is None)."""
    x = _var(input)
    d = None if dim is None else _dim1(dim, x.ndim)
    return _apply(
        "argmin", x, params=(("axis", d), ("keepdims", builtins.bool(keepdim and d is not None)))
    )


def _moment(name, input, dim, unbiased, keepdim, correction):
    x = _var(input)
    _float_only(name, x)
    if isinstance(dim, builtins.bool):  # the legacy var(x, unbiased) form
        dim, unbiased = None, dim
    if correction is None:
        correction = 1 if unbiased in (None, True) else 0
    params = (("axis", _dims(dim, x.ndim)), ("correction", builtins.int(correction)))
    return _apply(name, x, params=params + (("keepdims", builtins.bool(keepdim)),))


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None) -> Variable:
    """Variance over ``dim``; ``correction=1`` (``unbiased=True``) by default, as PyTorch."""
    return _moment("var", input, dim, unbiased, keepdim, correction)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None) -> Variable:
    """Standard deviation over ``dim``; ``correction=1`` by default, as PyTorch."""
    return _moment("std", input, dim, unbiased, keepdim, correction)


def norm(input: Variable, p: float | str = "fro", dim=None, keepdim: bool = False) -> Variable:
    """The vector p-norm over ``dim`` (all elements by default); ``'fro'`` is the 2-norm."""
    x = _var(input)
    if p == "fro":
        p = 2
    if isinstance(p, str) or not isinstance(p, numbers.Real):
        raise ValueError(f"norm: unsupported p={p!r}; use a number, inf, -inf or 'fro'")
    params = _red(dim, keepdim, x.ndim) + (("p", builtins.float(p)),)
    return _apply("norm", x, params=params)


def logsumexp(input: Variable, dim, keepdim: bool = False) -> Variable:
    """log(sum(exp(x))) over ``dim``, computed stably."""
    x = _var(input)
    return _apply("logsumexp", x, params=(("axis", _dims(dim, x.ndim)), ("keepdims", keepdim)))


def cumsum(input: Variable, dim: int, *, dtype=None) -> Variable:
    """Running sum along ``dim``."""
    x = _var(input) if dtype is None else to(_var(input), dtype)
    return _apply("cumsum", x, params=(("axis", _dim1(dim, x.ndim)),))


def cumprod(input: Variable, dim: int, *, dtype=None) -> Variable:
    """Running product along ``dim``."""
    x = _var(input) if dtype is None else to(_var(input), dtype)
    return _apply("cumprod", x, params=(("axis", _dim1(dim, x.ndim)),))


def all(input: Variable, dim=None, keepdim: bool = False) -> Variable:  # noqa: A001
    """True where every element (over ``dim``) is nonzero."""
    x = _var(input)
    return _apply("all", x, params=_red(dim, keepdim, x.ndim))


def any(input: Variable, dim=None, keepdim: bool = False) -> Variable:  # noqa: A001
    """True where some element (over ``dim``) is nonzero."""
    x = _var(input)
    return _apply("any", x, params=_red(dim, keepdim, x.ndim))


def softmax(input: Variable, dim: int) -> Variable:
    """exp(x) / sum(exp(x)) along ``dim``."""
    x = _var(input)
    return _apply("softmax", x, params=(("axis", _dim1(dim, x.ndim)),))


def log_softmax(input: Variable, dim: int) -> Variable:
    """log(softmax(x)) along ``dim``, computed stably."""
    x = _var(input)
    return _apply("log_softmax", x, params=(("axis", _dim1(dim, x.ndim)),))


# -- shape --------------------------------------------------------------------------------------


def _back_to_shape(base: Variable, view: Variable) -> Variable:
    return reshape(view, *base.shape)


def reshape(input: Variable, *shape: int) -> Variable:
    """The same values in a new shape (one dim may be -1): ``reshape(2, 3)`` or ``((2, 3))``.

    The result is a view: an in-place op on it changes ``input`` too, as in PyTorch."""
    x = _var(input)
    shape = _shape_arg(shape)
    out = _apply("reshape", x, params=(("shape", shape),))
    return link(x, out, lambda b: reshape(b, *shape), _back_to_shape)


view = reshape


def flatten(input: Variable, start_dim: int = 0, end_dim: int = -1) -> Variable:
    """Merge dims ``start_dim``..``end_dim`` into one."""
    x = _var(input)
    if x.ndim == 0:
        return reshape(x, 1)
    s, e = _dim1(start_dim, x.ndim), _dim1(end_dim, x.ndim)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shape = x.shape
    return reshape(x, *shape[:s], math.prod(shape[s : e + 1]), *shape[e + 1 :])


def squeeze(input: Variable, dim=None) -> Variable:
    """Drop dims of size 1 (all of them, or those in ``dim``; others are left as they are)."""
    x = _var(input)
    dims = range(x.ndim) if dim is None else _dims(dim, x.ndim)
    axes = tuple(d for d in dims if x.shape[d] == 1)
    if not axes:
        return x
    out = _apply("squeeze", x, params=(("axis", axes),))
    return link(x, out, lambda b: squeeze(b, dim), _back_to_shape)


def unsqueeze(input: Variable, dim: int) -> Variable:
    """Insert a dim of size 1 at ``dim`` (in [-ndim-1, ndim])."""
    x = _var(input)
    d = _dim1(dim, x.ndim + 1)
    out = _apply("unsqueeze", x, params=(("axis", d),))
    return link(x, out, lambda b: unsqueeze(b, d), _back_to_shape)


def expand(input: Variable, *sizes: int) -> Variable:
    """Broadcast to ``sizes`` (-1 keeps a dim; new dims may be added in front)."""
    x = _var(input)
    sizes = _shape_arg(sizes)
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to "
            f"the number of dimensions in the tensor ({x.ndim})"
        )
    shape = tuple(
        (x.shape[i - lead] if s == -1 else s) if i >= lead else s for i, s in enumerate(sizes)
    )
    for i, n in enumerate(x.shape):
        if n != 1 and shape[i + lead] != n:
            raise RuntimeError(
                f"The expanded size of the tensor ({shape[i + lead]}) must match the existing "
                f"size ({n}) at non-singleton dimension {i + lead}. Target sizes: {list(sizes)}."
                f"  Tensor sizes: {list(x.shape)}"
            )
    out = _apply("expand", x, params=(("shape", shape),))
    writable = shape == tuple(x.shape)  # otherwise elements would share one location
    return link(x, out, lambda b: expand(b, *shape), _back_to_shape if writable else None)


def expand_as(input: Variable, other: Variable) -> Variable:
    """Broadcast to ``other``'s shape."""
    return expand(input, tuple(_var(other).shape))


def repeat(input: Variable, *sizes: int) -> Variable:
    """Tile the input ``sizes[i]`` times along each dim (like ``numpy.tile``)."""
    x = _var(input)
    sizes = _shape_arg(sizes)
    if len(sizes) < x.ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions "
            f"of tensor ({len(sizes)} < {x.ndim})"
        )
    return _apply("repeat", x, params=(("reps", sizes),))


def transpose(input: Variable, dim0: int, dim1: int) -> Variable:
    """Swap two dims."""
    x = _var(input)
    if not x.ndim:
        return x
    a, b = _dim1(dim0, x.ndim), _dim1(dim1, x.ndim)
    out = _apply("transpose", x, params=(("axis1", a), ("axis2", b)))
    return link(x, out, lambda base: transpose(base, a, b), lambda base, v: transpose(v, a, b))


swapaxes = transpose


def permute(input: Variable, *dims: int) -> Variable:
    """Reorder dims: ``permute(2, 0, 1)``."""
    x = _var(input)
    axes = _dims(_shape_arg(dims), x.ndim)
    if len(axes) != x.ndim:
        raise RuntimeError(
            f"permute(): number of dimensions in the tensor input does not match the length of "
            f"the desired ordering of dimensions i.e. input.dim() = {x.ndim} is not equal to "
            f"len(dims) = {len(axes)}"
        )
    out = _apply("permute", x, params=(("axes", axes),))
    undo = tuple(builtins.int(i) for i in np.argsort(axes))
    return link(x, out, lambda b: permute(b, *axes), lambda b, v: permute(v, *undo))


def t(input: Variable) -> Variable:
    """Transpose a matrix (0-D and 1-D inputs come back as they are)."""
    x = _var(input)
    if x.ndim > 2:
        raise RuntimeError(
            f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D; "
            f"use transpose(dim0, dim1) or permute"
        )
    return transpose(x, 0, 1) if x.ndim == 2 else x


def _tensors(tensors: Sequence, name: str) -> list[Variable]:
    if isinstance(tensors, Variable) or not len(tensors):
        raise TypeError(f"{name}() expects a non-empty sequence of Variables")
    return [_var(t) for t in tensors]


def cat(tensors: Sequence[Variable], dim: int = 0) -> Variable:
    """Join along an existing ``dim``."""
    xs = _tensors(tensors, "cat")
    return _apply("cat", *xs, params=(("axis", _dim1(dim, xs[0].ndim)),))


concat = concatenate = cat


def stack(tensors: Sequence[Variable], dim: int = 0) -> Variable:
    """Join along a new ``dim``."""
    xs = _tensors(tensors, "stack")
    return _apply("stack", *xs, params=(("axis", _dim1(dim, xs[0].ndim + 1)),))


def split(input: Variable, split_size_or_sections, dim: int = 0) -> tuple[Variable, ...]:
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of listed sizes."""
    x = _var(input)
    d = _dim1(dim, x.ndim)
    n = x.shape[d]
    if isinstance(split_size_or_sections, numbers.Integral):
        size = builtins.int(split_size_or_sections)
        if size <= 0:
            raise RuntimeError(f"split expects split_size be positive, but got {size}")
        sizes = [size] * (n // size) + ([n % size] if n % size else [])
    else:
        sizes = [builtins.int(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != n:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's "
                f"size at dimension {d}), but got split_sizes={sizes}"
            )
    out, start = [], 0
    for s in sizes or [0]:
        idx = (slice(None),) * d + (slice(start, start + s),)
        out.append(x[idx])
        start += s
    return tuple(out)


def chunk(input: Variable, chunks: int, dim: int = 0) -> tuple[Variable, ...]:
    """Split into ``chunks`` pieces of equal size (the last may be smaller), as PyTorch."""
    x = _var(input)
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    n = x.shape[_dim1(dim, x.ndim)]
    return split(x, builtins.max(1, -(-n // chunks)), dim)


def flip(input: Variable, dims) -> Variable:
    """Reverse the order along ``dims``."""
    x = _var(input)
    return _apply("flip", x, params=(("axis", _dims(dims, x.ndim)),))


def roll(input: Variable, shifts, dims=None) -> Variable:
    """Shift elements cyclically along ``dims`` (the flattened input when ``dims`` is None)."""
    x = _var(input)
    shifts = (shifts,) if isinstance(shifts, numbers.Integral) else tuple(shifts)
    axes = _dims(dims, x.ndim)
    if axes is not None and len(axes) != len(shifts):
        raise RuntimeError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    return _apply("roll", x, params=(("axis", axes), ("shift", shifts)))


def clone(input: Variable) -> Variable:
    """A copy with its own storage; gradients flow through it (``CloneBackward0``)."""
    return _apply("clone", _var(input))


def contiguous(input: Variable) -> Variable:
    """The input itself: varjax values have no memory layout to fix."""
    return _var(input)


# -- indexing -----------------------------------------------------------------------------------


def _index_values(x: Any) -> np.ndarray | None:
    """Concrete values of an index (its shape, or its bounds, must be known at record time);
    None inside ``varjax.jit``, where values are traced (bounds then go unchecked, as in JAX)."""
    if isinstance(x, Variable):
        value = x._value()
        return None if _tracing.is_tracer(value) else np.asarray(value)
    return np.asarray(x)


def _check_bounds(idx: np.ndarray | None, size: int, dim: int, allow_negative: bool) -> None:
    if idx is None or idx.size == 0:
        return
    lo, hi = builtins.int(idx.min()), builtins.int(idx.max())
    if hi >= size or lo < (-size if allow_negative else 0):
        bad = hi if hi >= size else lo
        raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size {size}")


def _index_template(x: Variable, key) -> tuple[tuple, list]:
    """PyTorch indexing -> (static template, index arrays that become program inputs)."""
    key = key if isinstance(key, tuple) else (key,)
    expanded = []
    for k in key:  # boolean masks become integer indices, one array per masked dim
        if isinstance(k, (Variable, np.ndarray, jax.Array, list)):
            arr = _index_values(k)
            if arr is None:  # traced by varjax.jit: the dtype is known, the values are not
                if k.dtype == np.bool_:
                    raise _tracing.value_dependent(
                        "indexing with a boolean mask",
                        "use varjax.where(mask, x, 0) or x.masked_fill(~mask, 0) to keep the "
                        "shape, or index outside the compiled function",
                    )
                expanded.append(k)
                continue
            if arr.dtype == np.bool_:
                expanded.extend(np.nonzero(arr))
                continue
            if arr.dtype.kind not in "iu":
                raise IndexError(
                    f"tensors used as indices must be long, int, byte or bool tensors, got "
                    f"{arr.dtype}"
                )
            k = k if isinstance(k, Variable) else arr
            expanded.append(k)
        else:
            expanded.append(k)
    consumed = builtins.sum(k is not None and k is not Ellipsis for k in expanded)
    if consumed > x.ndim:
        raise IndexError(f"too many indices for tensor of dimension {x.ndim} (got {consumed})")
    template, arrays, dim = [], [], 0
    for k in expanded:
        if k is None:
            template.append(("none",))
        elif k is Ellipsis:
            template.append(("ellipsis",))
            dim += x.ndim - consumed
        elif isinstance(k, slice):
            start, stop, step = (
                None if v is None else builtins.int(v) for v in (k.start, k.stop, k.step)
            )
            if step is not None and step <= 0:
                raise ValueError("step must be greater than zero")
            template.append(("slice", start, stop, step))
            dim += 1
        elif isinstance(k, numbers.Integral) and not isinstance(k, builtins.bool):
            size = x.shape[dim]
            if not -size <= k < size:
                raise IndexError(
                    f"index {builtins.int(k)} is out of bounds for dimension {dim} with size {size}"
                )
            template.append(("int", builtins.int(k)))
            dim += 1
        else:
            _check_bounds(_index_values(k), x.shape[dim], dim, allow_negative=True)
            template.append(("array",))
            arrays.append(k if isinstance(k, Variable) else Variable(np.asarray(k)))
            dim += 1
    return tuple(template), arrays


def getitem(x: Variable, key) -> Variable:
    """``x[key]``: ints, slices, None, ``...``, integer arrays and boolean masks.

    Basic indexing (no index arrays) gives a view, as in PyTorch: an in-place op on it
    writes into ``x``. Integer-array and mask indexing give copies, as in PyTorch."""
    template, arrays = _index_template(x, key)
    out = _apply("getitem", x, *arrays, params=(("template", template),))
    if arrays:
        return out
    return link(x, out, lambda b: getitem(b, key), lambda b, v: _setitem(b, template, v))


def _setitem(x: Variable, template: tuple, value: Any, arrays: Sequence = ()) -> Variable:
    """A copy of ``x`` with ``value`` written at the indexed positions (for ``x[key] = v``)."""
    return _apply("setitem", x, value, *arrays, params=(("template", template),))


def index_select(input: Variable, dim: int, index: Any) -> Variable:
    """Entries of ``index`` (1-D integers) along ``dim``."""
    x = _var(input)
    d = _dim1(dim, x.ndim)
    _check_bounds(_index_values(index), x.shape[d], d, allow_negative=False)
    return _apply("index_select", x, index, params=(("axis", d),))


def gather(input: Variable, dim: int, index: Any) -> Variable:
    """``out[i][j] = input[index[i][j]][j]`` for ``dim == 0`` (and likewise for other dims)."""
    x = _var(input)
    d = _dim1(dim, x.ndim)
    _check_bounds(_index_values(index), x.shape[d], d, allow_negative=False)
    return _apply("gather", x, index, params=(("axis", d),))


def scatter(input: Variable, dim: int, index: Any, src: Any = None, *, value: Any = None):
    """A copy of ``input`` with ``src`` (or ``value``) written at ``index`` along ``dim``."""
    x = _var(input)
    d = _dim1(dim, x.ndim)
    _check_bounds(_index_values(index), x.shape[d], d, allow_negative=False)
    return _apply("scatter", x, index, value if src is None else src, params=(("axis", d),))


def scatter_add(input: Variable, dim: int, index: Any, src: Any) -> Variable:
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim``."""
    x = _var(input)
    d = _dim1(dim, x.ndim)
    _check_bounds(_index_values(index), x.shape[d], d, allow_negative=False)
    return _apply("scatter_add", x, index, src, params=(("axis", d),))


def masked_fill(input: Variable, mask: Any, value: Any) -> Variable:
    """``value`` where ``mask`` is True, else ``input``."""
    return where(mask, value, input)


# -- linear algebra -----------------------------------------------------------------------------


def matmul(input: Any, other: Any) -> Variable:
    """Matrix product with NumPy's broadcasting rules."""
    return _apply("matmul", input, other)


def _ranks(name: str, want: int, *xs: Variable) -> None:
    if builtins.any(x.ndim != want for x in xs):
        got = " and ".join(f"{x.ndim}D" for x in xs)
        raise RuntimeError(f"{name}: {want}D tensors expected, but got {got} tensors")


def mm(input: Variable, mat2: Variable) -> Variable:
    """Matrix product of two matrices."""
    a, b = _var(input), _var(mat2)
    _ranks("mm", 2, a, b)
    return matmul(a, b)


def bmm(input: Variable, mat2: Variable) -> Variable:
    """Batched matrix product of two 3-D inputs."""
    a, b = _var(input), _var(mat2)
    _ranks("bmm", 3, a, b)
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(f"bmm: batch sizes differ: {a.shape[0]} and {b.shape[0]}")
    return matmul(a, b)


def dot(input: Variable, other: Variable) -> Variable:
    """Inner product of two 1-D inputs."""
    a, b = _var(input), _var(other)
    _ranks("dot", 1, a, b)
    return matmul(a, b)


def outer(input: Variable, vec2: Variable) -> Variable:
    """Outer product of two 1-D inputs."""
    a, b = _var(input), _var(vec2)
    _ranks("outer", 1, a, b)
    return _apply("outer", a, b)


def einsum(equation: str, *operands: Any) -> Variable:
    """Einstein summation: ``einsum('ij,jk->ik', a, b)``."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return _apply("einsum", *[_var(o) for o in operands], params=(("eq", equation),))


# -- dtypes -------------------------------------------------------------------------------------


def to(input: Variable, dtype: Any = None, *args: Any, **kwargs: Any) -> Variable:
    """A copy in another dtype: ``x.to(varjax.float32)``. Devices other than the current one
    are not handled here: use ``jax.device_put`` on ``jnp.asarray(x)``."""
    x = _var(input)
    if dtype is None or isinstance(dtype, (str, jax.Device)) and dtype in ("cpu", x.device):
        dtype = kwargs.get("dtype", args[0] if args else None)
        if dtype is None:
            return x
    dt = np.dtype(dtype)
    if dt == np.float64 and jax.dtypes.canonicalize_dtype(np.float64) != np.float64:
        raise RuntimeError(
            "float64 needs JAX's x64 mode, which is off: call "
            "jax.config.update('jax_enable_x64', True) at start-up (or set JAX_ENABLE_X64=1)"
        )
    if dt == np.int64:
        dt = default_int()  # int32 unless x64 is on, as JAX does
    if dt == x.dtype:
        return x
    return _apply("astype", x, params=(("dtype", dt),))


def _cast(name: str, dtype):
    def fn(input: Variable) -> Variable:
        return to(input, dtype)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``x.{name}()`` is ``x.to({np.dtype(dtype).name})``."
    return fn


float = _cast("float", np.float32)  # noqa: A001 - PyTorch's method name
double = _cast("double", np.float64)
half = _cast("half", np.float16)
bfloat16 = _cast("bfloat16", jax.numpy.bfloat16)
long = _cast("long", np.int64)
int = _cast("int", np.int32)  # noqa: A001 - PyTorch's method name
bool = _cast("bool", np.bool_)  # noqa: A001 - PyTorch's method name


# -- random -------------------------------------------------------------------------------------


def dropout(input: Variable, p: builtins.float = 0.5, training: builtins.bool = True) -> Variable:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (training only)."""
    x = _var(input)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    key, counter = _rng.next_draw()
    return _apply("dropout", x, key, counter, params=(("p", builtins.float(p)),))


# -- the Variable methods -------------------------------------------------------------------------

_METHODS = (
    "exp expm1 log log1p log2 sin cos tan tanh sigmoid relu silu sqrt rsqrt abs erf reciprocal "
    "neg negative sign floor ceil trunc round logical_not logical_and logical_or add sub mul div "
    "pow maximum minimum clamp clip lerp sum mean prod max min amax amin argmax argmin var std "
    "norm logsumexp cumsum cumprod all any softmax log_softmax reshape view flatten squeeze "
    "unsqueeze expand expand_as repeat transpose swapaxes permute t split chunk flip roll "
    "clone contiguous index_select gather scatter scatter_add masked_fill matmul mm bmm dot "
    "outer to float double half bfloat16 long int bool"
).split()

for _name in _METHODS:
    setattr(Variable, _name, globals()[_name])
Variable.__getitem__ = getitem


def _iter(self: Variable):
    if not self.ndim:
        raise TypeError("iteration over a 0-d tensor")
    return (self[i] for i in range(self.shape[0]))


Variable.__iter__ = _iter
Variable.T = property(lambda self: permute(self, *reversed(range(self.ndim))))
Variable.true_divide = div
Variable.divide = div
Variable.multiply = mul
Variable.subtract = sub
Variable.softplus = softplus
Variable.gelu = gelu
Variable.is_floating_point = lambda self: is_floating(self.dtype)
