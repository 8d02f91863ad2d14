"""Indexing: ``x[key]``, ``index_select``, ``gather``, ``scatter``, ``masked_fill``.

Index arrays are program inputs, never constants. Their bounds are checked at record time
(PyTorch raises where JAX would clamp) from a range known without a device read where one
is: the host data an array was made from, or the concrete array a batch was sliced,
gathered or reshaped from. Otherwise the range is reduced on the device and only its two
ends come back, which also works for arrays spread over several processes. A boolean mask
is read whole: the result's shape depends on it."""

from __future__ import annotations

import builtins
import functools
import numbers
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import _tracing
from .._args import dim1
from .._dtypes import default_int
from .._ops import P, window_shape
from .._record import Node, record
from .._views import link, strides_of
from ._base import Methods, function
from .elementwise import where

if TYPE_CHECKING:
    from .._variable import Variable


def _scalar_value(name: str, value: Any) -> None:
    """A fill value is a number or a 0-d Tensor (PyTorch's error otherwise)."""
    ndim = getattr(value, "ndim", 0)
    if ndim:
        raise RuntimeError(
            f"{name} only supports a 0-dimensional value tensor, but got tensor with {ndim} "
            f"dimension(s)."
        )


def index_values(x: Any) -> np.ndarray | None:
    """Concrete values of an index (its shape, or its bounds, must be known at record time);
    None inside ``varjax.jit``, where values are traced (bounds then go unchecked, as in JAX)."""
    if isinstance(x, Methods):
        value = x._value()
        return None if _tracing.is_tracer(value) else np.asarray(value)
    return np.asarray(x)


# ops whose output holds only values of their first input: where that input is concrete and
# in bounds, so is the output, which need not be computed to be checked (a reshaped batch of
# token ids, a window of positions, a DataLoader's rows of a dataset's labels)
_SUBSET_OPS = frozenset({P.reshape, P.transpose, P.permute, P.squeeze, P.unsqueeze, P.expand,
                         P.window, P.flip, P.clone, P.detach, P.getitem,
                         P.index_select})  # fmt: skip
# (id(array), ignored value) -> (weak reference, (min, max) or None); the last few arrays are
# remembered (arrays are immutable), so a batch checked by several ops is reduced once
_RANGES: OrderedDict = OrderedDict()


def _remember(value: jax.Array, ignore: int | None, r: tuple[int, int] | None) -> None:
    _RANGES[id(value), ignore] = (weakref.ref(value), r)
    while len(_RANGES) > 32:
        _RANGES.popitem(last=False)


def note_host_range(value: jax.Array, host: np.ndarray) -> None:
    """Remember the range of an integer array made from ``host`` data: its bounds checks then
    read nothing back from the device (a batch of labels made each step with ``tensor``)."""
    if host.dtype.kind in "iu" and host.size:
        _remember(value, None, (builtins.int(host.min()), builtins.int(host.max())))


def _value_range(value: jax.Array, ignore: int | None = None) -> tuple[int, int] | None:
    """(min, max) of a concrete index array leaving out entries equal to ``ignore``, None if
    nothing is left. Read on the host only where the array already is there (one CPU
    device); elsewhere reduced on the device, so two numbers come back, not the array."""
    entry = _RANGES.get((id(value), ignore))
    if entry is not None and entry[0]() is value:
        return entry[1]
    if ignore is not None:
        whole = _RANGES.get((id(value), None))
        known = whole is not None and whole[0]() is value
        if known and (whole[1] is None or not whole[1][0] <= ignore <= whole[1][1]):
            return whole[1]  # nothing to leave out
    r = _measure(value, ignore)
    _remember(value, ignore, r)
    return r


def _measure(value: jax.Array, ignore: int | None) -> tuple[int, int] | None:
    """The range of ``value`` (entries equal to ``ignore`` left out), read or reduced now."""
    if value.is_fully_addressable and {d.platform for d in value.devices()} == {"cpu"}:
        a = np.asarray(value)
        a = a if ignore is None else a[a != ignore]
        return (builtins.int(a.min()), builtins.int(a.max())) if a.size else None
    lo, hi, any_left = (np.asarray(v) for v in _device_range(value, ignore))
    return (builtins.int(lo), builtins.int(hi)) if any_left else None


@functools.partial(jax.jit, static_argnums=1)
def _device_range(a: jax.Array, ignore: int | None) -> tuple[jax.Array, jax.Array, jax.Array]:
    keep = jnp.ones(a.shape, bool) if ignore is None else a != ignore
    info = jnp.iinfo(a.dtype)
    lo, hi = jnp.min(jnp.where(keep, a, info.max)), jnp.max(jnp.where(keep, a, info.min))
    return lo, hi, jnp.any(keep)


def _arange_range(node: Node) -> tuple[int, int] | None:
    """(min, max) of a pending integer ``arange`` (its first and last value; None if not one,
    or empty)."""
    if node.op is not P.arange:
        return None
    p = dict(node.params)
    if not all(isinstance(p[k], numbers.Integral) for k in ("start", "stop", "step")):
        return None
    values = range(p["start"], p["stop"], p["step"])
    return (min(values[0], values[-1]), max(values[0], values[-1])) if values else (0, -1)


def known_in_bounds(x: Any, size: int, allow_negative: bool, ignore: int | None = None) -> bool:
    """True if ``x``'s values (but those equal to ``ignore``) are known to lie in bounds
    without computing ``x``: checked on the concrete array it was reshaped, sliced, gathered
    ... from, or traced by ``varjax.jit``."""
    if not isinstance(x, Methods):
        return False
    node = x._node
    while node.value is None and node.op in _SUBSET_OPS and type(node.inputs[0]) is Node:
        node = node.inputs[0]
    if not np.issubdtype(node.dtype, np.integer):
        return False
    if node.value is None:
        r = _arange_range(node)  # positions (`pos(arange(t))`): bounds known from the call
        return r is not None and (r[1] < size and r[0] >= (-size if allow_negative else 0))
    if _tracing.is_tracer(node.value):
        return True  # values unknown, as in JAX
    r = _value_range(node.value, ignore)
    return r is None or (r[1] < size and r[0] >= (-size if allow_negative else 0))


def check_index_bounds(x: Any, size: int, dim: int, allow_negative: bool,
                       ignore: int | None = None) -> None:  # fmt: skip
    """PyTorch's IndexError for an index ``x`` out of bounds of a dim of ``size`` (entries
    equal to ``ignore`` left out); the values are reduced to their range, not read back."""
    if known_in_bounds(x, size, allow_negative, ignore):
        return
    value = x._value() if isinstance(x, Methods) else np.asarray(x)
    if _tracing.is_tracer(value):
        return
    if isinstance(value, jax.Array):
        r = _value_range(value, ignore)
    else:
        kept = value if ignore is None else value[value != ignore]
        r = (kept.min(), kept.max()) if kept.size else None
    if r is not None:
        _check_range(builtins.int(r[0]), builtins.int(r[1]), size, dim, allow_negative)


def check_bounds(idx: np.ndarray | None, size: int, dim: int, allow_negative: bool) -> None:
    if idx is None or idx.size == 0:
        return
    _check_range(builtins.int(idx.min()), builtins.int(idx.max()), size, dim, allow_negative)


def _check_range(lo: int, hi: int, size: int, dim: int, allow_negative: bool) -> None:
    if hi >= size or lo < (-size if allow_negative else 0):
        bad = hi if hi >= size else lo
        raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size {size}")


class _Mask0:
    """A 0-d boolean mask: a new dim of size 1 (True) or 0 (False), as in PyTorch."""

    __slots__ = ("value",)

    def __init__(self, value: bool) -> None:
        self.value = value


def _is_tensor_index(k: Any) -> bool:
    return isinstance(k, (Methods, np.ndarray, jax.Array, list))


def _is_mask(v: np.ndarray | None) -> bool:
    return v is not None and v.dtype == np.bool_


def _mask_dims(x: Any, key: tuple, values: list) -> list:
    """The dim of ``x`` each entry of ``key`` starts at (None after an ``...``: counted from
    the end)."""
    used = [
        0 if k is None or k is Ellipsis else (v.ndim if _is_mask(v) else 1)
        for k, v in zip(key, values)
    ]
    total, dims, dim = builtins.sum(used), [], 0
    for k, n in zip(key, used):
        dims.append(dim)
        dim += x.ndim - total if k is Ellipsis else n
    return dims


def _check_mask(x: Any, mask: np.ndarray, dim: int) -> None:
    for i, n in enumerate(mask.shape):
        if dim + i >= x.ndim or x.shape[dim + i] != n:
            raise IndexError(
                f"The shape of the mask {list(mask.shape)} at index {i} does not match the "
                f"shape of the indexed tensor {list(x.shape)} at index {dim + i}"
            )


def _expand_masks(x: Any, key: tuple) -> list:
    """The key with each boolean mask turned into integer indices, one array per masked dim."""
    values = [index_values(k) if _is_tensor_index(k) else None for k in key]
    dims = _mask_dims(x, key, values)
    expanded = []
    for k, arr, dim in zip(key, values, dims):
        if not _is_tensor_index(k):
            expanded.append(k)
        elif arr is None:  # traced by varjax.jit: the dtype is known, the values are not
            if k.dtype == np.bool_:
                raise _tracing.value_dependent(
                    "indexing with a boolean mask",
                    "use varjax.where(mask, x, 0) or x.masked_fill(~mask, 0) to keep the "
                    "shape, or index outside the compiled function",
                )
            expanded.append(k)
        elif arr.dtype == np.bool_ and arr.ndim == 0:
            expanded.append(_Mask0(builtins.bool(arr)))
        elif arr.dtype == np.bool_:
            _check_mask(x, arr, dim)
            expanded.extend(np.nonzero(arr))
        elif arr.dtype.kind not in "iu":
            raise IndexError(
                f"tensors used as indices must be long, int, byte or bool tensors, got {arr.dtype}"
            )
        else:
            expanded.append(k if isinstance(k, Methods) else arr)
    return expanded


def _leading_mask(x: Any, key: Any) -> tuple | None:
    """``(mask, flat positions of its True entries)`` when ``key`` is one boolean mask over
    leading dims of ``x`` whose values are known (else None: the general path)."""
    if not isinstance(key, (Methods, np.ndarray)) or key.dtype != np.bool_ or key.ndim == 0:
        return None
    values = index_values(key)
    if values is None:  # traced: the general path says why a mask cannot index there
        return None
    _check_mask(x, values, 0)
    return x._lift(key), x._lift(np.flatnonzero(values).astype(np.int64))


def _entry(x: Any, k: Any, dim: int, arrays: list) -> tuple[tuple, int]:
    """(template entry, dims consumed) of one index entry ``k`` at ``dim``."""
    if k is None:
        return ("none",), 0
    if isinstance(k, _Mask0):
        return ("mask0", k.value), 0
    if isinstance(k, slice):
        start, stop, step = (
            None if v is None else builtins.int(v) for v in (k.start, k.stop, k.step)
        )
        if step is not None and step <= 0:
            raise ValueError("step must be greater than zero")
        return ("slice", start, stop, step), 1
    size = x.shape[dim]
    if isinstance(k, numbers.Integral) and not isinstance(k, builtins.bool):
        if not -size <= k < size:
            raise IndexError(
                f"index {builtins.int(k)} is out of bounds for dimension {dim} with size {size}"
            )
        return ("int", builtins.int(k)), 1
    if not _is_tensor_index(k):
        raise IndexError(
            "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
            f"valid indices (got {type(k).__name__})"
        )
    check_index_bounds(k, size, dim, allow_negative=True)
    arrays.append(x._lift(k if isinstance(k, Methods) else np.asarray(k)))
    return ("array",), 1


_PLANS: dict = {}  # (shape, key) -> (template, window plan): basic keys seen before


def _basic_key(key: Any) -> tuple | None:
    """A hashable form of a key of Python ints, unit ... slices, None and ``...`` (None for
    any other key: arrays, masks, bools, Variables)."""
    sig = []
    for k in key if type(key) is tuple else (key,):
        t = type(k)
        if t is int or k is None or k is Ellipsis:
            sig.append(k)
        elif t is slice and all(type(b) is int or b is None for b in (k.start, k.stop, k.step)):
            sig.append((k.start, k.stop, k.step))
        else:
            return None
    return tuple(sig)


def plan_of(x: Any, key: Any) -> tuple[tuple, list, tuple | None]:
    """(template, index arrays, window plan or None) of ``x[key]``. A basic key's template
    and plan are remembered per shape, so a loop of scalar reads and writes (``N[i, j] += 1``)
    works them out once per position."""
    basic = _basic_key(key)
    if basic is not None:
        entry = _PLANS.get((x._node.aval[0], basic))
        if entry is not None:
            return entry
    template, arrays = index_template(x, key)
    plan = None if arrays else window_plan(x, template)
    if basic is not None and not arrays:
        if len(_PLANS) >= 4096:
            _PLANS.clear()
        _PLANS[x._node.aval[0], basic] = (template, (), plan)
    return template, arrays, plan


def index_template(x: Any, key) -> tuple[tuple, list]:
    """PyTorch indexing -> (static template, index arrays that become program inputs)."""
    expanded = _expand_masks(x, key if isinstance(key, tuple) else (key,))
    consumed = builtins.sum(
        k is not None and k is not Ellipsis and not isinstance(k, _Mask0) for k in expanded
    )
    if consumed > x.ndim:
        raise IndexError(f"too many indices for tensor of dimension {x.ndim} (got {consumed})")
    template, arrays, dim = [], [], 0
    for k in expanded:
        if k is Ellipsis:
            template.append(("ellipsis",))
            dim += x.ndim - consumed
            continue
        entry, used = _entry(x, k, dim, arrays)
        template.append(entry)
        dim += used
    return tuple(template), arrays


def _index_fits(name: str, x: Any, dim: int, index: Any) -> None:
    """PyTorch's shape rules for gather/scatter indices."""
    if index.ndim != x.ndim:
        raise RuntimeError(
            f"{name}(): Index tensor must have the same number of dimensions as input tensor "
            f"(index has {index.ndim}, input has {x.ndim})"
        )
    d = dim1(dim, x.ndim)
    for k, (i, n) in enumerate(zip(index.shape, x.shape)):
        if k != d and i > n:
            raise RuntimeError(
                f"{name}(): Size does not match at dimension {k} expected index "
                f"{list(index.shape)} to be no larger than self {list(x.shape)} apart from "
                f"dimension {d}"
            )


def _index_strides(shape: tuple, strides: tuple, template: tuple) -> tuple:
    """The strides of basic indexing (ints, slices, None, ...), as PyTorch's."""
    out, d = [], 0
    consumed = builtins.sum(entry[0] in ("slice", "int") for entry in template)
    for kind, *rest in template:
        if kind == "none":
            out.append(strides[d] * shape[d] if d < len(shape) else 1)
        elif kind == "ellipsis":
            n = len(shape) - consumed
            out.extend(strides[d : d + n])
            d += n
        elif kind == "int":
            d += 1
        else:
            step = rest[2] or 1
            out.append(strides[d] * step)
            d += 1
    return tuple(out) + tuple(strides[d:])


def window_plan(x: Any, template: tuple) -> tuple[list, tuple] | None:
    """Basic indexing with unit steps as a window: (the start of each dim, static params), so
    the offsets are program inputs; None for other indexing (steps, index arrays, masks)."""
    shape, consumed = tuple(x.shape), builtins.sum(e[0] in ("slice", "int") for e in template)
    starts, sizes, squeeze, expand, d, o = [], [], [], [], 0, 0
    for kind, *rest in template:
        if kind == "none":
            expand.append(o)
            o += 1
        elif kind == "ellipsis":
            n = len(shape) - consumed
            starts += [0] * n
            sizes += shape[d : d + n]
            d, o = d + n, o + n
        elif kind == "int":
            starts.append(rest[0] % shape[d])
            sizes.append(1)
            squeeze.append(d)
            d += 1
        elif kind == "slice" and rest[2] in (None, 1):
            start, stop, _ = slice(rest[0], rest[1]).indices(shape[d])
            starts.append(start)
            sizes.append(builtins.max(stop - start, 0))
            d, o = d + 1, o + 1
        else:
            return None
    starts += [0] * (len(shape) - d)
    sizes += shape[d:]
    params = (("expand", tuple(expand)), ("sizes", tuple(sizes)), ("squeeze", tuple(squeeze)))
    return starts, params


def window(x: Any, starts: list, params: tuple) -> Variable:
    """``x``'s window at ``starts`` (see ``window_plan``): the starts are integer inputs.

    A window of a grown sequence (see ``grow``) is taken from its buffer directly: cropping
    the last tokens of a growing sequence reads a fixed shape."""
    link = getattr(x, "_vbase", None)
    src = link[0] if link is not None and type(link[1]) is _Grown else x
    return x._new(record(P.window, (src._node, *starts), params, default_int()))


def _origin(shape: tuple) -> tuple[list, tuple]:
    return [0] * len(shape), (("expand", ()), ("sizes", tuple(shape)), ("squeeze", ()))


class _Grown:
    """How a grown sequence is read from its buffer: the first ``n`` entries along ``dim``."""

    __slots__ = ("dim", "n")

    def __init__(self, dim: int, n: int) -> None:
        self.dim, self.n = dim, n

    def shape(self, buffer_shape: tuple) -> tuple:
        return buffer_shape[: self.dim] + (self.n,) + buffer_shape[self.dim + 1 :]

    def __call__(self, buffer: Any) -> Variable:
        starts, params = _origin(self.shape(tuple(buffer.shape)))
        return buffer._new(record(P.window, (buffer._node, *starts), params, default_int()))


def grow(a: Any, b: Any, dim: int) -> Variable | None:
    """``cat((a, b), dim)`` for a sequence that grows a step at a time (token-by-token
    generation), or None where a plain ``cat`` is right.

    Each step would give the sequence a new shape, and every program that reads it would
    compile again. From its second growth on, the sequence is instead the first ``n``
    entries of a buffer with room to spare (capacity doubling): a step writes ``b`` into the
    room (``lax.dynamic_update_slice`` at an offset that is a program input) and a crop of
    the last tokens is a window of that buffer, so the shapes the programs see change only
    when the buffer doubles. Only for values without history (ids, masks): a result with a
    gradient stays a plain ``cat``."""
    if a.requires_grad or b.requires_grad or a._node.dtype != b._node.dtype or a.ndim != b.ndim:
        return None
    sa, sb = tuple(a.shape), tuple(b.shape)
    if sa[:dim] + sa[dim + 1 :] != sb[:dim] + sb[dim + 1 :]:
        return None  # cat's own error
    link = getattr(a, "_vbase", None)
    n, m = sa[dim], sb[dim]
    if link is not None and type(link[1]) is _Grown and link[1].dim == dim:
        buffer = link[0]
        if buffer.shape[dim] >= n + m:  # room: write b after the n entries in use
            starts, params = _origin(sb)
            starts[dim] = n
            node = record(P.write_window, (buffer._node, b._node, *starts), params, default_int())
            return _grown(buffer._new(node), dim, n + m)
    elif a._node.op is not P.cat or a._node.params != (("axis", dim),):
        return None  # a first join: plain (only a sequence joined again grows)
    capacity = 1 << builtins.max(2 * (n + m) - 1, 1).bit_length()
    room = a._new(record(P.full, (0,), (("dtype", a._node.dtype),
                                        ("shape", sa[:dim] + (capacity - n - m,) + sa[dim + 1 :])),
                         sdtype=a._node.dtype))  # fmt: skip
    buffer = a._apply(P.cat, a, b, room, params=(("axis", dim),))
    return _grown(buffer, dim, n + m)


def _grown(buffer: Any, dim: int, n: int) -> Variable:
    read = _Grown(dim, n)
    return link(buffer, read(buffer), read, lambda base, v: write_window(base, v, *_origin(
        tuple(v.shape))))  # fmt: skip


def _fits_window(shape: tuple, params: dict) -> None:
    indexed = window_shape(params["sizes"], params["squeeze"], params["expand"])
    try:
        fits = np.broadcast_shapes(shape, indexed) == indexed
    except ValueError:
        fits = False
    if not fits:
        raise RuntimeError(
            f"shape mismatch: value tensor of shape {list(shape)} cannot be broadcast to "
            f"indexing result of shape {list(indexed)}"
        )


def write_window(x: Any, value: Any, starts: list, params: tuple) -> Variable:
    """A copy of ``x`` with ``value`` written into its window at ``starts``."""
    if not isinstance(value, Methods):  # a number in x's dtype (the starts are the integers)
        value = x._lift(np.asarray(value, np.dtype(x.dtype)))
    if value.ndim:
        _fits_window(tuple(value.shape), dict(params))
    inputs = (x._node, value._node, *starts)
    return x._new(record(P.write_window, inputs, params, default_int()))


def setitem(x: Any, template: tuple, value: Any, arrays: Sequence = ()) -> Variable:
    """A copy of ``x`` with ``value`` written at the indexed positions (for ``x[key] = v``)."""
    return x._apply(P.setitem, x, value, *arrays, params=(("template", template),))


class IndexMethods(Methods):
    __slots__ = ()

    def __getitem__(self, key) -> Variable:
        """``x[key]``: ints, slices, None, ``...``, integer arrays and boolean masks.

        Basic indexing (no index arrays) gives a view, as in PyTorch: an in-place op on it
        writes into ``x``. Integer-array and mask indexing give copies, as in PyTorch."""
        selected = _leading_mask(self, key)
        if selected is not None:  # a copy, as PyTorch
            return self._apply(P.mask_select, self, *selected)
        template, arrays, plan = plan_of(self, key)
        fwd: Any = lambda b: b[key]  # noqa: E731
        if plan is not None:
            starts, params = plan
            out = window(self, starts, params)
            inv: Any = lambda b, v: write_window(b, v, starts, params)  # noqa: E731
            shape = self._node.aval[0]
            # re-read after a write (see inplace._spread): the same window, no new view
            fwd = lambda b: window(b, starts, params) if b._node.aval[0] == shape else b[key]  # noqa: E731
        else:
            out = self._apply(P.getitem, self, *arrays, params=(("template", template),))
            if arrays or any(entry[0] == "mask0" for entry in template):  # a copy, as PyTorch
                return out
            inv = lambda b, v: setitem(b, template, v)  # noqa: E731
        strides = _index_strides(tuple(self.shape), strides_of(self), template)
        return link(self, out, fwd, inv, strides)

    def __iter__(self):
        if not self.ndim:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def _along_index(self, op, dim: int, index: Any, *rest: Any) -> Variable:
        d = dim1(dim, self.ndim)
        check_index_bounds(index, self.shape[d], d, allow_negative=False)
        return self._apply(op, self, index, *rest, params=(("axis", d),))

    @function
    def index_select(self, dim: int, index: Any) -> Variable:
        """Entries of ``index`` (1-D integers) along ``dim``.

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([[1, 2, 3], [4, 5, 6]])
            >>> vj.index_select(x, 1, vj.tensor([2, 0]))
            tensor([[3, 1],
                    [6, 4]])
        """
        return self._along_index(P.index_select, dim, index)

    @function
    def gather(self, dim: int, index: Any) -> Variable:
        """``out[i][j] = input[index[i][j]][j]`` for ``dim == 0`` (and likewise for other
        dims); the output has the index's shape.

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([[1, 2], [3, 4]])
            >>> vj.gather(x, 1, vj.tensor([[0, 0], [1, 0]]))
            tensor([[1, 1],
                    [4, 3]])
        """
        _index_fits("gather", self, dim, self._lift(index))
        return self._along_index(P.gather, dim, index)

    @function
    def scatter(self, dim: int, index: Any, src: Any = None, *, value: Any = None) -> Variable:
        """A copy of ``input`` with ``src`` (or ``value``) written at ``index`` along ``dim``.

        Example:
            >>> import varjax as vj
            >>> x = vj.zeros(2, 3)
            >>> x.scatter(1, vj.tensor([[2], [0]]), vj.tensor([[1.0], [2.0]]))
            tensor([[0., 0., 1.],
                    [2., 0., 0.]])
            >>> x.scatter(1, vj.tensor([[2], [0]]), value=7.0)
            tensor([[0., 0., 7.],
                    [7., 0., 0.]])
        """
        if (src is None) == (value is None):
            raise TypeError(
                "scatter() takes (dim, index, src) or (dim, index, value=...): give exactly one "
                f"of src and value, got src={src!r} and value={value!r}"
            )
        return self._along_index(P.scatter, dim, index, value if src is None else src)

    @function
    def scatter_add(self, dim: int, index: Any, src: Any) -> Variable:
        """A copy of ``input`` with ``src`` added at ``index`` along ``dim``.

        Example:
            >>> import varjax as vj
            >>> x = vj.zeros(4)
            >>> x.scatter_add(0, vj.tensor([0, 1, 0, 3]), vj.tensor([1.0, 2.0, 3.0, 4.0]))
            tensor([4., 2., 0., 4.])
        """
        return self._along_index(P.scatter_add, dim, index, src)

    def _slices(self, op, name: str, dim: int, index: Any, source: Any) -> Variable:
        d = dim1(dim, self.ndim)
        idx = self._lift(index)
        if idx.ndim > 1:
            raise IndexError(f"{name}(): Index is supposed to be a vector")
        check_index_bounds(idx, self.shape[d], d, allow_negative=False)
        src = self._lift(source)
        if src.ndim:
            want = tuple(self.shape[:d]) + (idx.numel(),) + tuple(self.shape[d + 1 :])
            if tuple(src.shape) != want:
                raise RuntimeError(
                    f"{name}(): source of shape {list(src.shape)} does not match the input "
                    f"{list(self.shape)} with {idx.numel()} indices along dim {d} (expected "
                    f"{list(want)})"
                )
        if isinstance(source, (int, float)):  # a Python number stays one (index_fill's overload)
            src = source
        return self._apply(op, self, idx.reshape(-1), src, params=(("axis", d),))

    @function
    def index_add(self, dim: int, index: Any, source: Any, *, alpha: float = 1) -> Variable:
        """A copy of ``input`` with ``alpha * source``'s slices added at ``index`` along
        ``dim`` (repeated indices add up).

        Example:
            >>> import varjax as vj
            >>> x = vj.zeros(3, 2)
            >>> x.index_add(0, vj.tensor([0, 2, 0]), vj.ones(3, 2))
            tensor([[2., 2.],
                    [0., 0.],
                    [1., 1.]])
        """
        src = self._lift(source)
        return self._slices(
            P.index_add, "index_add", dim, index, src * alpha if alpha != 1 else src
        )

    @function
    def index_copy(self, dim: int, index: Any, source: Any) -> Variable:
        """A copy of ``input`` with ``source``'s slices written at ``index`` along ``dim``.

        Example:
            >>> import varjax as vj
            >>> x = vj.zeros(3, 2)
            >>> x.index_copy(0, vj.tensor([2, 0]), vj.tensor([[1.0, 2.0], [3.0, 4.0]]))
            tensor([[3., 4.],
                    [0., 0.],
                    [1., 2.]])
        """
        return self._slices(P.index_copy, "index_copy", dim, index, source)

    @function
    def index_fill(self, dim: int, index: Any, value: Any) -> Variable:
        """A copy of ``input`` with ``value`` written at ``index`` along ``dim``.

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
            >>> x.index_fill(1, vj.tensor([0, 2]), -1.0)
            tensor([[-1.,  2., -1.],
                    [-1.,  5., -1.]])
        """
        _scalar_value("index_fill_", value)
        return self._slices(P.index_fill, "index_fill", dim, index, value)

    @function
    def masked_fill(self, mask: Any, value: Any) -> Variable:
        """``value`` where ``mask`` is True, else ``input``.

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([1.0, 2.0, 3.0])
            >>> x.masked_fill(x > 1.5, 0.0)
            tensor([1., 0., 0.])
        """
        mask = self._lift(mask)
        if mask.dtype != np.bool_:
            raise RuntimeError(
                f"masked_fill_ only supports boolean masks, but got mask with dtype "
                f"{mask.dtype}; compare first, e.g. x.masked_fill(x > 0, 0.0)"
            )
        _scalar_value("masked_fill_", value)
        return self._apply(P.masked_fill, self, mask, value)

    # -- results whose shape depends on values: read on the host (as PyTorch syncs), so
    # they are errors inside varjax.jit, like boolean-mask indexing

    def _known(self, name: str) -> np.ndarray:
        values = index_values(self)
        if values is None:
            raise _tracing.value_dependent(
                f"`{name}`", "compute it outside the compiled function, or use a fixed-size "
                "alternative such as varjax.where(mask, x, 0)",
            )  # fmt: skip
        return values

    @function
    def nonzero(self, *, as_tuple: bool = False) -> Any:
        """Indices of the nonzero elements: an ``(n, ndim)`` tensor, or one per dim.

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([[1, 0], [0, 2]])
            >>> vj.nonzero(x)
            tensor([[0, 0],
                    [1, 1]])
            >>> x.nonzero(as_tuple=True)
            (tensor([0, 1]), tensor([0, 1]))
        """
        values = self._known("nonzero")
        found = np.argwhere(values) if self.ndim else np.zeros((builtins.int(values != 0), 0))
        found = found.astype(np.int64)
        if as_tuple:
            return tuple(self._lift(found[:, d]) for d in range(found.shape[1])) or (
                self._lift(np.zeros(int(found.shape[0]), np.int64)),
            )
        return self._lift(found)

    @function
    def argwhere(self) -> Variable:
        """``nonzero()``: indices of the nonzero elements, ``(n, ndim)``.

        Example:
            >>> import varjax as vj
            >>> vj.argwhere(vj.tensor([[1, 0], [0, 2]]))
            tensor([[0, 0],
                    [1, 1]])
        """
        return self.nonzero()

    @function
    def masked_select(self, mask: Any) -> Variable:
        """The elements where ``mask`` (broadcast with ``input``) is True, as a 1-D tensor.

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([[1, 2], [3, 4]])
            >>> vj.masked_select(x, x > 2)
            tensor([3, 4])
        """
        m = self._lift(mask)
        shape = np.broadcast_shapes(tuple(self.shape), tuple(m.shape))
        return self.expand(*shape)[m.expand(*shape)]

    @function
    def masked_scatter(self, mask: Any, source: Any) -> Variable:
        """``input`` with the positions where ``mask`` (broadcast to ``input``) is True filled,
        in row-major order, from the first elements of ``source``.

        Example:
            >>> import varjax as vj
            >>> x = vj.zeros(4)
            >>> x.masked_scatter(vj.tensor([True, False, True, False]), vj.tensor([5.0, 6.0, 7.0]))
            tensor([5., 0., 6., 0.])
        """
        m = self._lift(mask)
        if m.dtype != np.bool_:
            raise RuntimeError(f"masked_scatter: expected a bool mask, got {m.dtype}")
        m = m.expand(*self.shape)
        src = self._lift(source).reshape(-1)
        counts = index_values(m)
        if counts is not None and int(counts.sum()) > src.numel():
            raise RuntimeError(
                f"masked_scatter: the mask selects {int(counts.sum())} elements but source has "
                f"only {src.numel()}; pass a source with at least as many elements"
            )
        # the k-th True position takes src[k]: a fixed-shape gather, differentiable in both
        pos = (m.reshape(-1).long().cumsum(0) - 1).clamp(0, max(src.numel() - 1, 0))
        return where(m, src.gather(0, pos).reshape(*self.shape), self)

    @function
    def take(self, index: Any) -> Variable:
        """Elements of the flattened input at ``index`` (the output has ``index``'s shape).

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([[1, 2], [3, 4]])
            >>> vj.take(x, vj.tensor([0, 3]))
            tensor([1, 4])
        """
        idx = self._lift(index)
        check_index_bounds(idx, self.numel(), 0, allow_negative=True)
        return self.reshape(-1)[idx]

    @function
    def unique(self, sorted: bool = True, return_inverse: bool = False,  # noqa: A002
               return_counts: bool = False, dim: int | None = None) -> Any:  # fmt: skip
        """The distinct values (sorted), and optionally the inverse indices and the counts.

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([3, 1, 3, 2, 1])
            >>> vj.unique(x)
            tensor([1, 2, 3])
            >>> vj.unique(x, return_counts=True)
            (tensor([1, 2, 3]), tensor([2, 1, 2]))
        """
        values = self._known("unique")
        axis = None if dim is None else dim1(dim, self.ndim)
        uniq, inverse, counts = np.unique(
            values, return_inverse=True, return_counts=True, axis=axis
        )
        out = [self._lift(uniq.astype(values.dtype))]
        if return_inverse:
            out.append(self._lift(inverse.reshape(values.shape if axis is None else -1)))
        if return_counts:
            out.append(self._lift(counts))
        return out[0] if len(out) == 1 else tuple(out)

    @function
    def bincount(self, weights: Any = None, minlength: int = 0) -> Variable:
        """How many times each non-negative integer occurs (or the sum of its ``weights``).

        Example:
            >>> import varjax as vj
            >>> vj.bincount(vj.tensor([0, 1, 1, 3]))
            tensor([1, 2, 0, 1])
            >>> vj.bincount(vj.tensor([0, 1, 1]), weights=vj.tensor([0.5, 1.0, 2.0]))
            tensor([0.5000, 3.0000])
        """
        values = self._known("bincount")
        if self.ndim != 1 or values.dtype.kind not in "iu" or (values.size and values.min() < 0):
            raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
        n = builtins.max(builtins.int(values.max()) + 1 if values.size else 0, minlength)
        if weights is None:
            return self._lift(np.bincount(values, minlength=n))
        w = self._lift(weights)
        return w.new_zeros(n).index_add(0, self, w)

    @function
    def repeat_interleave(self, repeats: Any, dim: int | None = None, *,
                          output_size: int | None = None) -> Variable:  # fmt: skip
        """Each element (or slice along ``dim``) repeated ``repeats`` times in place.

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([1, 2, 3])
            >>> x.repeat_interleave(2)
            tensor([1, 1, 2, 2, 3, 3])
            >>> vj.repeat_interleave(x, vj.tensor([1, 0, 2]))
            tensor([1, 3, 3])
        """
        x = self.reshape(-1) if dim is None else self
        d = 0 if dim is None else dim1(dim, self.ndim)
        if isinstance(repeats, numbers.Integral):
            counts = np.full(x.shape[d], builtins.int(repeats))
        else:
            counts = np.asarray(self._lift(repeats)._known("repeat_interleave"))
            counts = np.broadcast_to(counts, (x.shape[d],)) if counts.ndim == 0 else counts
        if (counts < 0).any():
            raise RuntimeError("repeats can not be negative")
        return x.index_select(d, self._lift(np.repeat(np.arange(x.shape[d]), counts)))
