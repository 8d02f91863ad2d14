"""The op table: every primitive varjax records, declared once, one row each.

An op is a pure JAX function of positional arrays and keyword static params, and the name
PyTorch gives its ``grad_fn``. Gradients come from ``jax.vjp`` of the replay, so no op has a
hand-written backward. An op whose ``grad_name`` is ``None`` is not differentiable: its
output never requires grad (comparisons, creation, indices, ``detach``). ``note`` records a
behaviour that differs from PyTorch; ``docs/ops.md`` is generated from this table.

Most rows follow an argument convention (``unary``, ``binary``, ``reduction``, ``along``),
which is all the user-facing code the op needs: the row

    sinh = unary(in_float(jnp.sinh), "SinhBackward0", "Hyperbolic sine")

is the op, the method ``x.sinh()``, the function ``varjax.sinh(x)`` and its line in the
docs. The sections holding such rows are mixins of ``Variable``
(``class Variable(Elementwise, Binary, Reductions, Scans, ..., facade=...)``), whose
row methods are made when that class is created. Ops whose arguments need more than a
convention (views, indices, composites, creation) are rows of ``Primitives``, and their
functions are written out in ``_methods/``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache, partial
from typing import TYPE_CHECKING, Any, NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.special as jsp
import numpy as np
from jax import lax

from ._args import dim1, reduce_params
from ._dtypes import default_float, default_int, is_floating
from ._op_examples import EXAMPLES

if TYPE_CHECKING:
    from ._variable import Variable


class Op:
    """One primitive: a pure JAX function of positional arrays and keyword static params.

    Compared and hashed by identity: a program holds its ops, never their names. An op made
    as a row of the table is named by its attribute (``Op.__set_name__``)."""

    __slots__ = (
        "name", "fn", "grad_name", "note", "torch", "doc", "elementwise", "check", "overload",
        "__weakref__",
    )  # fmt: skip

    def __init__(
        self, name: str | None, fn: Callable[..., Any], grad_name: str | None, note: str = "",
        torch: str = "", *, doc: str = "", elementwise: bool = False,
        check: Callable[..., None] | None = None, overload: Callable[..., int] | None = None,
    ) -> None:  # fmt: skip
        self.name = name
        self.fn = fn
        self.grad_name = grad_name
        self.note = note
        self.torch = torch  # the PyTorch API it implements, when not torch.<name> / Tensor.<name>
        self.doc = doc
        self.elementwise = elementwise  # shapes broadcast (NumPy rules): its errors say so
        # check(*inputs) at record time, for errors that depend on a Python scalar's value
        # (abstract evaluation sees only its type)
        self.check = check
        # overload(node): which of PyTorch's overloads a node is, numbering its backward's name
        # (sum() is SumBackward0, sum(dim) SumBackward1)
        self.overload = overload

    def grad_name_of(self, node: Any) -> str | None:
        """PyTorch's name for the backward of ``node``, an application of this op."""
        if self.overload is None or self.grad_name is None:
            return self.grad_name
        return f"{self.grad_name[:-1]}{self.overload(node)}"

    def overloads(self) -> str:
        """What the backward's other numbers mean, for the docs ("SumBackward1 along
        ``dim``"); "" for an op without overloads."""
        if self.overload is None or self.grad_name is None:
            return ""
        return OVERLOADS[self.overload].format(self.grad_name[:-1])

    def __set_name__(self, owner: type, name: str) -> None:
        if self.name is None:
            self.name = name
            register(self)

    def __repr__(self) -> str:
        return f"Op({self.name})"


OPS: dict[str, Op] = {}  # the table's ops by name (docs, tests); programs hold Op objects


def register(op: Op) -> Op:
    """Add a library op (defined beside its machinery, e.g. ``vjp``) to the table's index."""
    existing = OPS.get(op.name)
    if existing is not None and existing is not op:
        raise ValueError(f"an op named {op.name!r} is already registered")
    OPS[op.name] = op
    return op


# -- argument conventions: a row makes its op and its user-facing function --------------------


class Facade(NamedTuple):
    """What a row's function needs from the class it becomes a method of (see ``Table``)."""

    record: Callable  # (op, inputs, params) -> Node
    wrap: Callable  # Node -> Variable
    lift: Callable  # anything tensor-like -> Variable
    node_of: Callable  # an operand -> Node or Python scalar


class Row:
    """A table row with an argument convention: its op, and how to make its function."""

    __slots__ = ("op", "build", "signature", "names")

    def __init__(self, op: Op, build: Callable, signature: str) -> None:
        self.op, self.build, self.signature = op, build, signature
        self.names: list[str] = []  # the attribute names (the first one names the op)

    def __set_name__(self, owner: type, name: str) -> None:
        self.names.append(name)
        if self.op.name is None:
            self.op.name = name
            register(self.op)


def _lifted(input: Any, lift: Callable) -> Any:
    return input if hasattr(input, "_node") else lift(input)


def in_float(fn: Callable) -> Callable:
    """``fn`` computing in the default float (float32) where its inputs are integers or bools,
    as PyTorch's ``sin(int_tensor)`` and ``int / int`` do (JAX's x64 mode would give float64)."""

    def floating(*xs, **params):
        dt = jnp.result_type(*xs)
        if not jnp.issubdtype(dt, jnp.inexact):
            xs = tuple(jnp.asarray(x, default_float()) for x in xs)
        return fn(*xs, **params)

    floating.__name__ = getattr(fn, "__name__", "in_float")
    return floating


def _unary(op: Op, f: Facade) -> Callable:
    record, wrap, lift = f.record, f.wrap, f.lift

    def fn(input):
        try:
            node = input._node
        except AttributeError:
            node = lift(input)._node
        return wrap(record(op, (node,)))

    return fn


def _binary(op: Op, f: Facade) -> Callable:
    record, wrap, lift, node_of = f

    def fn(input, other):
        try:
            node = input._node
        except AttributeError:
            node = lift(input)._node
        return wrap(record(op, (node, node_of(other))))

    return fn


def _reduction(op: Op, f: Facade, floating: bool) -> Callable:
    record, wrap, lift, _ = f

    def fn(input, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
        # axis= and keepdims= are the NumPy spellings PyTorch accepts too
        dim = axis if dim is None else dim
        keepdim = keepdims if keepdims is not None else keepdim
        x = _lifted(input, lift) if dtype is None else _lifted(input, lift).to(dtype)
        if floating and not is_floating(x._node.dtype):
            raise RuntimeError(
                f"{op.name}(): could not infer output dtype. Input dtype must be either a "
                f"floating point or complex dtype. Got: {x.dtype}; convert with .float() first"
            )
        return wrap(record(op, (x._node,), reduce_params(dim, keepdim, x.ndim)))

    return fn


def _scan(op: Op, f: Facade) -> Callable:
    record, wrap, lift, _ = f

    def fn(input, dim, dtype=None):
        x = _lifted(input, lift) if dtype is None else _lifted(input, lift).to(dtype)
        return wrap(record(op, (x._node,), (("axis", dim1(dim, x.ndim)),)))

    return fn


def _row(build, signature, fn, grad_name, doc, note, torch, **flags) -> Any:
    op = Op(None, fn, grad_name, note, torch, doc=doc, **flags)
    return Row(op, partial(build, op), signature)


def _unary_with(op: Op, f: Facade, defaults: dict) -> Callable:
    """A unary function with numeric keyword arguments, passed as static params."""
    record, wrap, lift = f.record, f.wrap, f.lift
    names = tuple(defaults)

    def fn(input, *args, **kwargs):
        unknown = set(kwargs) - set(names)
        if unknown or len(args) > len(names):
            raise TypeError(f"{op.name}() takes (input, {', '.join(names)}); got {args} {kwargs}")
        values = {**defaults, **dict(zip(names, args)), **kwargs}
        params = tuple((k, None if v is None else float(v)) for k, v in values.items())
        return wrap(record(op, (_lifted(input, lift)._node,), params))

    return fn


def unary(
    fn: Callable, grad_name: str | None, doc: str, *, note: str = "", torch: str = "",
    **params: float | None,
) -> Callable[..., Variable]:  # fmt: skip
    """``x.f()`` and ``varjax.f(x)``: a function of one tensor; ``params`` are the defaults of
    numeric keyword arguments, passed to ``fn`` as static params."""
    if not params:
        return _row(_unary, "(input: Tensor) -> Tensor", fn, grad_name, doc, note, torch,
                    elementwise=True)  # fmt: skip
    extra = ", ".join(f"{k}: float | None = {v!r}" for k, v in params.items())
    return _row(partial(_unary_with, defaults=params), f"(input: Tensor, {extra}) -> Tensor",
                fn, grad_name, doc, note, torch, elementwise=True)  # fmt: skip


def binary(
    fn: Callable, grad_name: str | None, doc: str, *, note: str = "", torch: str = "",
    overload: Callable[..., int] | None = None,
) -> Callable[[Variable, Any], Variable]:  # fmt: skip
    """``x.f(other)`` and ``varjax.f(x, other)``: elementwise, broadcasting; ``other`` may be
    a Python number."""
    return _row(_binary, "(input: Tensor, other: Tensor | float) -> Tensor", fn, grad_name,
                doc, note, torch, elementwise=True, overload=overload)  # fmt: skip


def reduction(
    fn: Callable, grad_name: str | None, doc: str, *, note: str = "", torch: str = "",
    floating: bool = False, overload: Callable[..., int] | None = None,
) -> Callable[..., Variable]:  # fmt: skip
    """``x.f(dim=None, keepdim=False, *, dtype=None)``: reduce over ``dim`` (an int, a tuple,
    or every dim); ``floating`` ops refuse integer inputs, as PyTorch's mean does."""
    sig = "(input: Tensor, dim: Dims = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor"
    build = partial(_reduction, floating=floating)
    return _row(lambda op, f: build(op, f), sig, fn, grad_name, doc, note, torch,
                overload=overload)  # fmt: skip


def along(
    fn: Callable, grad_name: str | None, doc: str, *, note: str = "", torch: str = ""
) -> Callable[..., Variable]:
    """``x.f(dim, dtype=None)``: along one dim, keeping the shape (scans, softmaxes)."""
    return _row(_scan, "(input: Tensor, dim: int, dtype: Any = None) -> Tensor", fn,
                grad_name, doc, note, torch)  # fmt: skip


class Table:
    """A section of the op table. Rows with a convention become methods of the class declared
    with ``facade=Facade(...)`` (``Variable``), made once, when that class is created."""

    __slots__ = ()  # a mixin of Variable, which keeps its instances slotted

    def __init_subclass__(cls, facade: Facade | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if facade is None:
            return
        for base in reversed(cls.__mro__):
            for value in list(vars(base).values()):
                if isinstance(value, Row):
                    fn = value.build(facade)
                    fn.__name__ = fn.__qualname__ = value.op.name
                    fn.__doc__ = _docstring(value)
                    fn.row = value  # type: ignore[attr-defined]
                    for name in value.names:
                        setattr(cls, name, fn)


def _docstring(row: Row) -> str:
    name, op = row.op.name, row.op
    note = f" {op.note[:1].upper()}{op.note[1:]}." if op.note else ""
    grad = f" ``grad_fn``: ``{op.grad_name}``." if op.grad_name else " Not differentiable."
    if op.overloads():
        grad = f"{grad[:-1]} ({op.overloads()})."
    call = f"``varjax.{name}{row.signature.split(' ->')[0]}`` or ``x.{name}(...)``"
    return f"{op.doc}. {call}.{grad}{note}" + example(name)


def example(name: str) -> str:
    """The example section of a row's or in-place method's docstring ("" if it has none); its
    expected output is PyTorch's (tools/op_examples.py)."""
    body = ["", "", "Example:", "    >>> import varjax as vj"]
    for line, shown in EXAMPLES.get(name, ()):
        body.append(f"    >>> {line}")
        body += [f"    {out}" for out in (shown.splitlines() if shown else ())]
    return "\n".join(body) if len(body) > 4 else ""


def rows() -> list[Row]:
    """Every row with a convention, in table order."""
    return [v for section in SECTIONS for v in dict.fromkeys(vars(section).values())
            if isinstance(v, Row)]  # fmt: skip


# -- PyTorch's overloads, which number a backward's name -----------------------------------


def _number(x: Any) -> bool:
    return isinstance(x, (int, float, complex))  # a Python number among a node's inputs


def _along_dims(node: Any) -> int:
    """0 for ``sum(x)``, 1 for ``sum(x, dim)`` (PyTorch's ``sum.dim_IntList``)."""
    return int(dict(node.params).get("axis") is not None)


def _pow_overload(node: Any) -> int:
    """0 for ``x ** 2``, 1 for ``x ** y``, 2 for ``2 ** x``."""
    base, exponent = node.inputs
    return 0 if _number(exponent) else 2 if _number(base) else 1


def _number_bounds(node: Any) -> int:
    """0 for ``clamp(x, lo, hi)`` with a Tensor bound, 1 for numbers only."""
    return int(all(_number(b) for b in node.inputs[1:]))


# what each overload number means, for the docs ({0}: the name without its number)
OVERLOADS = {
    _along_dims: "{0}1 along ``dim``",
    _pow_overload: "{0}1 for a Tensor exponent, {0}2 for a number base",
    _number_bounds: "{0}0 for a Tensor bound",
}


def _tensor_at(i: int, shown: str) -> Callable[[Any], int]:
    """The overload that is 0 where input ``i`` is a Python number, 1 where it is a Tensor
    (``fmod(x, 2.0)`` / ``fmod(x, y)``: PyTorch's ``.Scalar`` and ``.Tensor`` overloads)."""

    def overload(node: Any) -> int:
        return int(not _number(node.inputs[i]))

    OVERLOADS[overload] = shown
    return overload


_tensor_other = _tensor_at(1, "{0}1 when ``other`` is a Tensor")  # fmod, remainder
_tensor_bound = _tensor_at(1, "{0}1 for a Tensor bound")  # clamp_min, clamp_max
_tensor_value = _tensor_at(2, "{0}1 for a Tensor value")  # masked_fill, index_fill
_tensor_weight = _tensor_at(2, "{0}1 for a Tensor weight")  # lerp


# -- helpers for ops whose JAX spelling differs from PyTorch's --------------------------------


# -- PyTorch's derivatives where the function has none (kinks, ties, NaN, 0 ** 0) ----------
# Each is the value JAX computes; the derivative at the singular points is PyTorch's, either
# from an identity whose derivative is (abs, relu, sqrt at 0) or from a custom JVP.


def _sign(x):
    return jnp.where(jnp.isnan(x), jnp.zeros((), x.dtype), jnp.sign(x))  # sign(NaN) is 0


@jax.custom_jvp
def _abs_float(x):
    return jnp.abs(x)


_abs_float.defjvp(lambda p, t: (jnp.abs(p[0]), t[0] * _sign(p[0])))  # 0 at 0 and at NaN


def _abs(x):
    return _abs_float(x) if jnp.issubdtype(x.dtype, jnp.floating) else jnp.abs(x)


def _relu(x):
    return jnp.where(x <= 0, jnp.zeros((), x.dtype), x)  # 0 at 0, 1 at NaN, as PyTorch


def _sqrt0(v):
    # sqrt with derivative 0 at 0 (a norm or a standard deviation of zeros, as PyTorch)
    zero = v == 0
    return jnp.where(zero, 0, jnp.sqrt(jnp.where(zero, 1, v))).astype(v.dtype)


def _chooser(pick, mine_loses):
    """maximum/minimum: ties share the gradient, and NaN takes it (PyTorch's formula)."""

    @jax.custom_jvp
    def f(a, b):
        return pick(a, b)

    def jvp(primals, tangents):
        a, b = primals
        ta, tb = tangents
        eq = a == b
        ca = jnp.where(eq, 0.5, jnp.where(mine_loses(a, b), 0.0, 1.0)).astype(ta.dtype)
        cb = jnp.where(eq, 0.5, jnp.where(mine_loses(b, a), 0.0, 1.0)).astype(tb.dtype)
        return pick(a, b), ca * ta + cb * tb

    f.defjvp(jvp)

    def op(a, b):
        if not (jnp.issubdtype(jnp.result_type(a, b), jnp.floating)):
            return pick(a, b)
        dt = jnp.result_type(a, b)
        return f(jnp.asarray(a, dt), jnp.asarray(b, dt))

    return op


_maximum = _chooser(jnp.maximum, lambda a, b: a < b)
_minimum = _chooser(jnp.minimum, lambda a, b: a > b)


def _extreme(reduce, nan_takes: bool):
    """amax/amin (``nan_takes`` False: a NaN makes every gradient NaN, as PyTorch's amax) and
    max()/min() without dim (True: the NaN takes the gradient, as PyTorch's MaxBackward1);
    ties share the gradient evenly in both."""

    @partial(jax.custom_jvp, nondiff_argnums=(1, 2))
    def f(x, axis, keepdims):
        return reduce(x, axis=axis, keepdims=keepdims)

    def jvp(axis, keepdims, primals, tangents):
        (x,), (t,) = primals, tangents
        out = reduce(x, axis=axis, keepdims=True)
        mask = x == out
        if nan_takes:
            mask = mask | (jnp.isnan(x) & jnp.isnan(out))
        mask = mask.astype(t.dtype)
        count = jnp.sum(mask, axis=axis, keepdims=True)
        # no position equals a NaN result: PyTorch's gradient is then NaN everywhere (a
        # coefficient, so that XLA cannot simplify the NaN away)
        coef = jnp.where(count == 0, jnp.nan, mask / jnp.where(count == 0, 1, count))
        tout = jnp.sum(t * coef.astype(t.dtype), axis=axis, keepdims=True)
        shape = jnp.shape(reduce(x, axis=axis, keepdims=keepdims))
        return reduce(x, axis=axis, keepdims=keepdims), tout.reshape(shape)

    f.defjvp(jvp)

    def op(x, *, axis=None, keepdims=False):
        if not jnp.issubdtype(x.dtype, jnp.floating):
            return reduce(x, axis=axis, keepdims=keepdims)
        return f(x, axis, keepdims)

    return op


_amax, _amin = _extreme(jnp.max, False), _extreme(jnp.min, False)
_max_all, _min_all = _extreme(jnp.max, True), _extreme(jnp.min, True)


@partial(jax.custom_jvp, nondiff_argnums=(1, 2))
def _prod_float(x, axis, keepdims):
    return jnp.prod(x, axis=axis, keepdims=keepdims)


def _others(x, axis):
    """The product of the other elements along the (last, moved) axis, exactly."""
    ones = jnp.ones_like(x[..., :1])
    left = jnp.cumprod(jnp.concatenate([ones, x[..., :-1]], -1), -1)
    right = jnp.flip(jnp.cumprod(jnp.concatenate([ones, jnp.flip(x, -1)[..., :-1]], -1), -1), -1)
    return left * right


@_prod_float.defjvp
def _prod_jvp(axis, keepdims, primals, tangents):
    # PyTorch's prod backward: result / x when no element is 0 (so a NaN reaches every
    # gradient), the product of the others where one is
    (x,), (t,) = primals, tangents
    axes = tuple(range(x.ndim)) if axis is None else axis if isinstance(axis, tuple) else (axis,)
    rest = [d for d in range(x.ndim) if d not in axes]
    moved = jnp.transpose(x, rest + list(axes)).reshape(*[x.shape[d] for d in rest], -1)
    others = _others(moved, -1).reshape([x.shape[d] for d in rest + list(axes)])
    others = jnp.transpose(others, list(np.argsort(rest + list(axes))))
    full = jnp.prod(x, axis=axes, keepdims=True)
    zero = jnp.any(x == 0, axis=axes, keepdims=True)
    coef = jnp.where(zero, others, full / jnp.where(x == 0, 1, x))
    out = jnp.prod(x, axis=axis, keepdims=keepdims)
    return out, jnp.sum(t * coef, axis=axes, keepdims=keepdims).reshape(out.shape)


def _prod(x, *, axis=None, keepdims=False):
    if x.ndim == 0:
        return x  # PyTorch: the gradient of a 0-d product is the gradient itself
    if not jnp.issubdtype(x.dtype, jnp.floating) or x.size == 0:
        return jnp.prod(x, axis=axis, keepdims=keepdims)
    return _prod_float(x, axis, keepdims)


@jax.custom_jvp
def _pow_float(x, y):
    return jnp.power(x, y)


@_pow_float.defjvp
def _pow_jvp(primals, tangents):
    # PyTorch: d/dx is 0 where y == 0 (0 ** 0 included), d/dy is 0 where x == 0 and y >= 0
    x, y = primals
    tx, ty = tangents
    out = jnp.power(x, y)
    zx, zy = y == 0, (x == 0) & (y >= 0)  # where each gradient is exactly 0 (NaN or not)
    dx = jnp.where(zx, 0.0, y * jnp.power(x, y - 1)).astype(out.dtype)
    dy = jnp.where(zy, 0.0, out * jnp.log(jnp.where(x == 0, 1.0, x))).astype(out.dtype)
    return out, jnp.where(zx, 0.0, dx * tx) + jnp.where(zy, 0.0, dy * ty)


def _int_pow(x, y):
    # XLA's integer power loops on the exponent's bits, which a negative exponent never
    # ends well; PyTorch's is integer division's: 1 ** -n = 1, (-1) ** -n = +-1, else 0
    out = jnp.power(x, jnp.maximum(y, 0))
    if jnp.issubdtype(jnp.result_type(y), jnp.unsignedinteger):
        return out
    odd = jnp.asarray(y % 2 != 0)
    negative = jnp.where(x == 1, 1, jnp.where(x == -1, jnp.where(odd, -1, 1), 0))
    return jnp.where(y < 0, negative.astype(out.dtype), out)


def _pow(x, y):
    dt = jnp.result_type(x, y)
    if not jnp.issubdtype(dt, jnp.inexact):
        return jnp.power(x, y) if type(y) is int or dt == np.bool_ else _int_pow(x, y)
    return _pow_float(jnp.asarray(x, dt), jnp.asarray(y, dt))


def _pow_check(x, y) -> None:
    # PyTorch refuses a negative Python exponent of an integer tensor (a tensor exponent
    # gives integer division's results, as here)
    if type(y) is int and y < 0 and not isinstance(x, (int, float)):
        if not is_floating(x.aval[1]) and x.aval[1] != np.bool_:
            raise RuntimeError(
                f"Integers to negative integer powers are not allowed: the base is an "
                f"{x.aval[1]} tensor and the exponent {y}; make one of them a float, e.g. "
                f"x.float() ** {y} or x ** {float(y)}"
            )


@partial(jax.custom_jvp, nondiff_argnums=(1, 2, 3))
def _pnorm(x, p, axis, keepdims):
    return jnp.sum(jnp.abs(x) ** p, axis=axis, keepdims=keepdims) ** (1.0 / p)


@_pnorm.defjvp
def _pnorm_jvp(p, axis, keepdims, primals, tangents):
    # PyTorch's norm backward: x |x|^(p-2) / norm^(p-1), 0 where x == 0 or the norm is 0
    (x,), (t,) = primals, tangents
    norm = _pnorm(x, p, axis, True)
    ax = jnp.abs(x)
    scaled = jnp.where(x == 0, 0.0, jnp.sign(x) * jnp.power(jnp.where(x == 0, 1.0, ax), p - 1))
    denom = jnp.where(norm == 0, 1.0, norm ** (p - 1))
    d = jnp.where(norm == 0, 0.0, jnp.sum(scaled * t, axis=axis, keepdims=True) / denom)
    out = _pnorm(x, p, axis, keepdims)
    return out, d.reshape(out.shape).astype(out.dtype)


def _norm(x, *, p, axis, keepdims):
    # PyTorch's vector p-norm, with its gradient 0 where the norm is 0 (for every p)
    if p == 2:
        return _sqrt0(jnp.sum(x * x, axis=axis, keepdims=keepdims))
    ax = _abs(x)
    if p == float("inf"):
        return _amax(ax, axis=axis, keepdims=keepdims)
    if p == float("-inf"):
        return _amin(ax, axis=axis, keepdims=keepdims)
    if p == 1:
        return jnp.sum(ax, axis=axis, keepdims=keepdims)
    if p == 0:
        return jnp.sum(ax != 0, axis=axis, keepdims=keepdims).astype(x.dtype)
    return _pnorm(x, p, axis, keepdims)


def _softplus(x, *, beta, threshold):
    # PyTorch's softplus: linear once beta * x exceeds the threshold.
    bx = beta * x
    return jnp.where(bx > threshold, x, jnp.logaddexp(bx, 0.0) / beta)


def _masked_fill(x, mask, value):
    return jnp.where(mask, jnp.asarray(value, x.dtype), x)  # x's dtype, as PyTorch's


def _clamp(x, *bounds, has_min, has_max):
    # PyTorch's gradient: 1 inside [min, max] including its ends (jnp.clip splits it at
    # ties), to a bound where it is taken, and 0 at NaN (NaN stays NaN)
    bounds = list(bounds)
    lo = bounds.pop(0) if has_min else None
    hi = bounds.pop(0) if has_max else None
    inside = jnp.ones(jnp.shape(x), bool)
    if lo is not None:
        inside = inside & (x >= lo)
    if hi is not None:
        inside = inside & (x <= hi)
    y = lax.stop_gradient(x)  # NaN: neither inside nor beyond a bound
    if hi is not None:
        y = jnp.where(x > hi, hi, y)
    if lo is not None:
        y = jnp.where(x < lo, lo, y)
    return jnp.where(inside, x, y)


def _wide(scan: Callable) -> Callable:
    """A running sum or product holding integers and bools as int64, as PyTorch's does."""

    def wide(x, axis):
        return scan(x if jnp.issubdtype(x.dtype, jnp.inexact) else x.astype(default_int()), axis)

    return wide


def _div(a, b, *, rounding_mode=None):
    if rounding_mode is None:
        return in_float(jnp.true_divide)(a, b)
    dt = jnp.result_type(a, b)
    if jnp.issubdtype(dt, jnp.integer):  # exact integer quotients, even beyond 2**53
        a, b = jnp.asarray(a, dt), jnp.asarray(b, dt)
        return jnp.floor_divide(a, b) if rounding_mode == "floor" else lax.div(a, b)
    q = jnp.true_divide(a, b)
    return jnp.trunc(q) if rounding_mode == "trunc" else jnp.floor(q)


def _lerp(start, end, weight):
    return start + weight * (end - start)


def _var(x, *, axis, correction, keepdims):
    return jnp.var(x, axis=axis, ddof=correction, keepdims=keepdims)


def _std(x, *, axis, correction, keepdims):
    # the gradient of a standard deviation of equal values is 0, as in PyTorch
    return _sqrt0(jnp.var(x, axis=axis, ddof=correction, keepdims=keepdims))


def _index(template, arrays):
    # Rebuild an index tuple from its static template and the index arrays (program inputs).
    arrays = iter(arrays)
    out = []
    for kind, *rest in template:
        if kind == "slice":
            out.append(slice(*rest))
        elif kind == "int":
            out.append(rest[0])
        elif kind == "none":
            out.append(None)
        elif kind == "ellipsis":
            out.append(Ellipsis)
        else:
            out.append(next(arrays))
    return tuple(out)


def _running_arg(x, *, axis, largest):
    # the latest position whose value is the running max (min) so far
    run = lax.cummax(x, axis=axis) if largest else lax.cummin(x, axis=axis)
    pos = lax.broadcasted_iota(default_int(), x.shape, axis)  # PyTorch's indices are int64
    return lax.cummax(jnp.where(x == run, pos, -1), axis=axis)


def _searchsorted(s, v, *, side):
    return jnp.searchsorted(s, v, side=side).astype(default_int())  # int64, as PyTorch's


def _argsort(x, *, axis, descending):
    # PyTorch's order: NaN is the largest value, so it goes last ascending and first descending
    floating = jnp.issubdtype(x.dtype, jnp.floating)
    nan = jnp.isnan(x) if floating else jnp.zeros(x.shape, bool)
    key = jnp.where(nan, 0, x) if floating else x
    if descending:  # a stable sort of the reversed key keeps equal values in order
        flipped = -key if floating else ~key  # ~ for integers: no overflow at the minimum
        return jnp.lexsort((flipped, ~nan), axis=axis)
    return jnp.lexsort((key, nan), axis=axis)


def _mask0(x, template, arrays):
    # a 0-d boolean mask indexes a new dim of size 1: all of it (True) or none of it (False);
    # beside index arrays it is one too (index [0] or []), broadcast with them as in PyTorch
    if not any(kind == "mask0" for kind, *_ in template):
        return x, template, arrays
    kinds = [kind for kind, *_ in template]
    n, advanced = kinds.count("mask0"), "array" in kinds
    consumed = sum(kind in ("slice", "int", "array", "mask0") for kind in kinds)
    axes, out, pos, given, new_arrays = [], [], 0, iter(arrays), []
    for kind, *rest in template:
        if kind == "mask0":
            axes.append(pos)
            if advanced:
                out.append(("array",))
                new_arrays.append(jnp.zeros((1 if rest[0] else 0,), jnp.int32))
            else:
                out.append(("slice", None if rest[0] else 0, None if rest[0] else 0, None))
        else:
            out.append((kind, *rest))
            if kind == "array":
                new_arrays.append(next(given))
        if kind == "ellipsis":
            pos += x.ndim + n - consumed
        elif kind != "none":
            pos += 1
    return jnp.expand_dims(x, axes), tuple(out), new_arrays


def _getitem(x, *arrays, template):
    x, template, arrays = _mask0(x, template, arrays)
    return x[_index(template, arrays)]


def _mask_select(x, mask, idx):
    # x[mask] for a mask over x's leading dims: idx holds the flat positions of its True
    # entries (the mask itself is an input for the fused reductions below, not read here)
    return x.reshape((-1,) + x.shape[mask.ndim :])[idx]


def _select_reduce(x, mask, *, reduce):
    """``x[mask].sum()`` or ``.mean()`` as a reduction of ``where(mask, x, 0)``: the selection's
    size is not part of the program, so a changing mask count compiles nothing new
    (``Builder.emit`` fuses a reduction into a selection nothing else reads)."""
    m = mask.reshape(mask.shape + (1,) * (x.ndim - mask.ndim))
    kept = jnp.where(m, x, jnp.zeros((), x.dtype))
    if reduce == "sum":
        return jnp.sum(kept)  # as the sum row: the same dtype as x[mask].sum()
    acc = jnp.promote_types(x.dtype, jnp.float32)  # as jnp.mean accumulates low precision
    count = jnp.sum(mask) * math.prod(x.shape[mask.ndim :])
    return (jnp.sum(kept, dtype=acc) / count).astype(x.dtype)


def _setitem(x, value, *arrays, template):
    wide, template, arrays = _mask0(x, template, arrays)
    out = wide.at[_index(template, arrays)].set(jnp.asarray(value, x.dtype))
    return out.reshape(x.shape)


def _window(x, *starts, sizes, squeeze, expand):
    # basic indexing with unit steps: the starts are program inputs (integers), so a loop over
    # offsets (x[i * bs:(i + 1) * bs]) runs one program; the sizes are static
    out = lax.dynamic_slice(x, starts, sizes)
    return jnp.expand_dims(jnp.squeeze(out, squeeze), expand) if squeeze or expand else out


def window_shape(sizes: tuple, squeeze: tuple, expand: tuple) -> tuple:
    """The shape basic indexing gives: the window's sizes, less the int dims, plus ``None``'s."""
    indexed = [n for i, n in enumerate(sizes) if i not in squeeze]
    for a in expand:
        indexed.insert(a, 1)
    return tuple(indexed)


def _write_window(x, value, *starts, sizes, squeeze, expand):
    # the inverse of _window: value, broadcast to the indexed shape, written at the starts
    v = jnp.broadcast_to(jnp.asarray(value, x.dtype), window_shape(sizes, squeeze, expand))
    return lax.dynamic_update_slice(x, jnp.reshape(v, sizes), starts)


def _along(index, axis):
    # Full index tuple addressing ``index`` along ``axis`` (PyTorch's gather/scatter layout).
    idx = [lax.broadcasted_iota(jnp.int32, index.shape, d) for d in range(index.ndim)]
    idx[axis] = index
    return tuple(idx)


def _src(src, index):
    # scatter reads src only where index has entries (src may be larger, or a scalar).
    if jnp.ndim(src) == 0:
        return src
    return src[tuple(slice(0, n) for n in index.shape)]


def _scatter(x, index, src, *, axis):
    return x.at[_along(index, axis)].set(_src(src, index).astype(x.dtype))


def _rows(fn):
    # an op on whole slices along ``axis`` (index_add, index_copy, index_fill): done on axis 0
    def op(x, index, src, *, axis):
        front = jnp.moveaxis(x, axis, 0)
        src = jnp.moveaxis(src, axis, 0) if jnp.ndim(src) == x.ndim else src
        return jnp.moveaxis(fn(front.at[index], jnp.asarray(src, x.dtype)), 0, axis)

    return op


def _scatter_add(x, index, src, *, axis):
    return x.at[_along(index, axis)].add(_src(src, index).astype(x.dtype))


_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _pad(x, value, *, pad, mode="constant"):
    # PyTorch lists (left, right) pairs from the last dim backwards.
    pairs = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        pairs[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if mode != "constant":
        return jnp.pad(x, pairs, mode=_PAD_MODES[mode])
    neg = any(a < 0 or b < 0 for a, b in pairs)
    if not neg:
        return jnp.pad(x, pairs, constant_values=value)
    config = [(a, b, 0) for a, b in pairs]  # negative padding crops, as in PyTorch
    return lax.pad(x, jnp.asarray(value, x.dtype), config)


def _conv2d(x, w, *, stride, padding, dilation, groups):
    return lax.conv_general_dilated(
        x, w, window_strides=stride, padding=padding, rhs_dilation=dilation,
        dimension_numbers=("NCHW", "OIHW", "NCHW"), feature_group_count=groups,
    )  # fmt: skip


def _pool(x, *, kind, kernel, stride, padding, ceil_mode):
    window = (1,) * (x.ndim - 2) + kernel
    strides = (1,) * (x.ndim - 2) + stride
    pads = [(0, 0)] * (x.ndim - 2)
    for k, s, p, n in zip(kernel, stride, padding, x.shape[-2:]):
        extra = 0
        if ceil_mode:  # one more window if it starts inside the (left-padded) input
            out = -(-(n + 2 * p - k) // s) + 1
            if (out - 1) * s >= n + p:
                out -= 1
            extra = max(0, (out - 1) * s + k - (n + 2 * p))
        pads.append((p, p + extra))
    # Python-scalar inits let JAX pick its differentiable max/sum window primitives
    floating = jnp.issubdtype(x.dtype, jnp.floating)
    if kind == "max":
        init = -jnp.inf if floating else int(jnp.iinfo(x.dtype).min)
        return lax.reduce_window(x, init, lax.max, window, strides, pads)
    total = lax.reduce_window(x, 0.0 if floating else 0, lax.add, window, strides, pads)
    # count_include_pad=True (PyTorch's default): padding counts, the ceil_mode overhang doesn't
    ones = jnp.ones([n + 2 * p for n, p in zip(x.shape[-2:], padding)], x.dtype)
    count = lax.reduce_window(
        ones, 0.0 if floating else 0, lax.add, kernel, stride,
        [(0, e - p) for (p, e) in pads[-2:]],
    )  # fmt: skip
    return total / count


# -- convolutions, pooling, resampling (issue 14) -------------------------------------------


def _conv_dims(n: int) -> tuple[str, str, str]:
    sp = "DHW"[3 - n :] if n <= 3 else None
    return ("NC" + sp, "OI" + sp, "NC" + sp)


def _conv_nd(x, w, *, stride, padding, dilation, groups):
    # padding: pairs, or "SAME"/"VALID"; any number of spatial dims
    return lax.conv_general_dilated(
        x, w, window_strides=stride, padding=padding, rhs_dilation=dilation,
        dimension_numbers=_conv_dims(x.ndim - 2), feature_group_count=groups,
        precision=lax.Precision.HIGHEST,
    )  # fmt: skip


def _conv_transpose(x, w, *, stride, padding, output_padding, dilation, groups):
    # the gradient of a convolution: dilate the input by the stride and correlate with the
    # flipped kernel, its (in, out/groups) axes swapped within each group
    n = x.ndim - 2
    cin, cout_g, *k = w.shape
    w = w.reshape(groups, cin // groups, cout_g, *k).swapaxes(1, 2)
    w = jnp.flip(w.reshape(groups * cout_g, cin // groups, *k), tuple(range(2, 2 + n)))
    pads = [(d * (kk - 1) - p, d * (kk - 1) - p + op)
            for kk, d, p, op in zip(k, dilation, padding, output_padding)]  # fmt: skip
    return lax.conv_general_dilated(
        x, w, window_strides=(1,) * n, padding=pads, lhs_dilation=stride, rhs_dilation=dilation,
        dimension_numbers=_conv_dims(n), feature_group_count=groups,
        precision=lax.Precision.HIGHEST,
    )  # fmt: skip


def _pool_window(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> tuple[int, int]:
    """One axis of a pooling: (output length, right padding its windows need), PyTorch's
    pooling_output_shape (a ceil_mode window never starts in the right padding)."""
    span = d * (k - 1) + 1
    out = (-(-(size + 2 * p - span) // s) if ceil_mode else (size + 2 * p - span) // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out, max(p, (out - 1) * s + span - size - p)


def _pool_nd(x, *, kind, kernel, stride, padding, dilation, ceil_mode, count_include_pad,
             divisor=None):
    n = len(kernel)
    lead = (1,) * (x.ndim - n)
    pads = [(0, 0)] * (x.ndim - n)
    for k, s, p, d, size in zip(kernel, stride, padding, dilation, x.shape[-n:]):
        pads.append((p, _pool_window(size, k, s, p, d, ceil_mode)[1]))
    floating = jnp.issubdtype(x.dtype, jnp.floating)
    if kind == "max" and floating and any(d != 1 for d in dilation):
        # a dilated reduce_window has no VJP in JAX: gather the windows instead
        return _max_windows(x, kernel, stride, padding, dilation, ceil_mode)[0]
    if kind == "max":
        init = -jnp.inf if floating else int(jnp.iinfo(x.dtype).min)
        return lax.reduce_window(x, init, lax.max, lead + kernel, lead + stride, pads,
                                 window_dilation=lead + dilation)  # fmt: skip
    total = lax.reduce_window(x, 0.0, lax.add, lead + kernel, lead + stride, pads)
    if divisor is not None:  # divisor_override: every window's sum over the same number
        return total / divisor
    # the divisor counts the padding (count_include_pad) but never the ceil_mode overhang
    inner = [(p, p) if count_include_pad else (0, 0) for p in padding]
    ones = jnp.pad(jnp.ones(x.shape[-n:], x.dtype), inner, constant_values=1)
    rest = [(p - a, e - b) for (p, e), (a, b) in zip(pads[-n:], inner)]
    count = lax.reduce_window(ones, 0.0, lax.add, kernel, stride, rest)
    return total / count


def _flat_positions(x, n: int):
    """Each element's flat index into its plane's last ``n`` (spatial) dims."""
    spatial = x.shape[x.ndim - n :]
    return jnp.broadcast_to(jnp.arange(math.prod(spatial)).reshape(spatial), x.shape)


def _lowest(x) -> Any:
    return -jnp.inf if jnp.issubdtype(x.dtype, jnp.floating) else int(jnp.iinfo(x.dtype).min)


def _first_max(g, gi, axis: int):
    """(values, positions) of the first maximum of ``g`` along ``axis`` (removed); ``gi`` holds
    each entry's position (None: not tracked)."""
    best = jnp.expand_dims(jnp.argmax(g, axis=axis), axis)
    value = jnp.take_along_axis(g, best, axis=axis).squeeze(axis)
    return value, None if gi is None else jnp.take_along_axis(gi, best, axis=axis).squeeze(axis)


def _max_windows(x, kernel, stride, padding, dilation, ceil_mode, index: bool = False):
    """Max pooling by gathering each axis's windows and keeping the first maximum, the last
    axis first, so a tie's gradient (and the index) goes to the first maximum in row-major
    order, as PyTorch's argmax does: (values, flat spatial indices if ``index`` else None)."""
    n = len(kernel)
    idx = _flat_positions(x, n) if index else None
    for i in reversed(range(n)):
        k, s, p, d = kernel[i], stride[i], padding[i], dilation[i]
        axis = x.ndim - n + i
        out, right = _pool_window(x.shape[axis], k, s, p, d, ceil_mode)
        pads = [(0, 0)] * x.ndim
        pads[axis] = (p, right)
        win = (np.arange(out)[:, None] * s + np.arange(k)[None, :] * d).reshape(-1)
        shape = (*x.shape[:axis], out, k, *x.shape[axis + 1 :])
        g = jnp.take(jnp.pad(x, pads, constant_values=_lowest(x)), win, axis=axis).reshape(shape)
        if index:
            idx = jnp.take(jnp.pad(idx, pads, constant_values=-1), win, axis=axis).reshape(shape)
        x, idx = _first_max(g, idx, axis + 1)
    return x, idx


def _max_pool_indices(x, *, kernel, stride, padding, dilation, ceil_mode):
    """PyTorch's ``return_indices``: the flat index (into each plane's spatial dims) of every
    window's first maximum in row-major order."""
    idx = _max_windows(x, kernel, stride, padding, dilation, ceil_mode, index=True)[1]
    return idx.astype(default_int())


def _max_unpool(x, idx, *, total):
    """``x`` (..., m) put at ``idx`` (..., m) along a last axis of size ``total``, zeros
    elsewhere; the gradient gathers, so an index repeated by overlapping windows gives each
    repeat the whole cotangent, as PyTorch's ``max_unpool`` backward does."""
    lead = x.shape[:-1]
    flat_x, flat_i = x.reshape(-1, x.shape[-1]), idx.reshape(-1, x.shape[-1])
    return _unpool_rows(total)(flat_x, flat_i).reshape(*lead, total)


@cache
def _unpool_rows(total: int) -> Callable:
    @jax.custom_vjp
    def unpool(x, idx):
        rows = jnp.arange(x.shape[0])[:, None]
        return jnp.zeros((x.shape[0], total), x.dtype).at[rows, idx].set(x)

    def fwd(x, idx):
        return unpool(x, idx), idx

    def bwd(idx, g):
        return jnp.take_along_axis(g, idx, axis=1), None

    unpool.defvjp(fwd, bwd)
    return unpool


def _bins(size: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's adaptive-pooling bins: indices (out, K) and a validity mask (out, K)."""
    start = (np.arange(out) * size) // out
    end = -((-(np.arange(out) + 1) * size) // out)
    k = int((end - start).max())
    idx = start[:, None] + np.arange(k)[None, :]
    valid = idx < end[:, None]
    return np.where(valid, idx, start[:, None]), valid


def _adaptive_pool(x, *, kind, output_size):
    return _adaptive_bins(x, kind, output_size)[0]


def _adaptive_bins(x, kind: str, output_size: tuple, index: bool = False):
    """Pooling over PyTorch's adaptive bins: (values, flat spatial indices of each bin's first
    maximum if ``index`` else None). The last axis goes first, so a maximum's tie goes to the
    first one in row-major order (its gradient and its index), as PyTorch's argmax."""
    n = len(output_size)
    idx = _flat_positions(x, n) if index else None
    for i in reversed(range(n)):
        axis = x.ndim - n + i
        bins, valid = _bins(x.shape[axis], output_size[i])
        shape = (*x.shape[:axis], *bins.shape, *x.shape[axis + 1 :])
        g = jnp.take(x, bins.reshape(-1), axis=axis).reshape(shape)
        mask = valid.reshape(valid.shape + (1,) * (x.ndim - axis - 1))
        if kind == "avg":
            x = jnp.sum(jnp.where(mask, g, 0), axis=axis + 1) / mask.sum(1).astype(x.dtype)
            continue
        if index:
            idx = jnp.take(idx, bins.reshape(-1), axis=axis).reshape(shape)
        x, idx = _first_max(jnp.where(mask, g, _lowest(g)), idx, axis + 1)
    return x, idx


def _adaptive_max_indices(x, *, output_size):
    """``adaptive_max_pool``'s ``return_indices``: the flat spatial index of each bin's first
    maximum in row-major order."""
    return _adaptive_bins(x, "max", output_size, index=True)[1].astype(default_int())


def _source(size: int, out: int, scale, align_corners: bool) -> np.ndarray:
    """PyTorch's source coordinate of each output position along one axis (float64)."""
    j = np.arange(out, dtype=np.float64)
    if align_corners:
        return j * ((size - 1) / (out - 1) if out > 1 else 0.0)
    ratio = 1.0 / scale if scale else size / out
    return (j + 0.5) * ratio - 0.5


def _cubic_weights(t: np.ndarray, a: float = -0.75) -> list[np.ndarray]:
    def near(s):
        return ((a + 2) * s - (a + 3)) * s * s + 1

    def far(s):
        return ((a * s - 5 * a) * s + 8 * a) * s - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _axis_taps(mode, size, out, scale, align_corners):
    """(indices, weights) lists: the output along an axis is sum_k w_k * x[idx_k]."""
    if mode in ("nearest", "nearest-exact"):
        ratio = 1.0 / scale if scale else size / out
        j = np.arange(out, dtype=np.float64)
        src = np.floor((j + 0.5) * ratio) if mode == "nearest-exact" else np.floor(j * ratio)
        return [np.minimum(src.astype(np.int64), size - 1)], [np.ones(out)]
    src = _source(size, out, scale, align_corners)
    if mode == "linear":
        src = np.maximum(src, 0.0)
        i0 = np.minimum(np.floor(src).astype(np.int64), size - 1)
        i1 = np.minimum(i0 + 1, size - 1)
        lam = src - i0
        return [i0, i1], [1 - lam, lam]
    i0 = np.floor(src).astype(np.int64)  # cubic: four taps, clamped at the borders
    idx = [np.clip(i0 + d, 0, size - 1) for d in (-1, 0, 1, 2)]
    return idx, _cubic_weights(src - i0)


def _resample(x, *, mode, output_size, scales, align_corners):
    n = len(output_size)
    for i, (out, scale) in enumerate(zip(output_size, scales)):
        axis = x.ndim - n + i
        idx, wts = _axis_taps(mode, x.shape[axis], out, scale, align_corners)
        if mode.startswith("nearest"):  # a plain gather: integer images keep their dtype
            x = jnp.take(x, idx[0], axis=axis)
            continue
        shape = (out,) + (1,) * (x.ndim - axis - 1)
        x = sum(jnp.take(x, ix, axis=axis) * jnp.asarray(w.reshape(shape), x.dtype)
                for ix, w in zip(idx, wts))  # fmt: skip
    return x


def _grid_coord(g, size, align_corners, padding_mode):
    c = (g + 1) / 2 * (size - 1) if align_corners else ((g + 1) * size - 1) / 2
    return jnp.clip(c, 0, size - 1) if padding_mode == "border" else c


def _grid_pick(x, iy, ix):
    """x[n, :, iy, ix] for (N, Ho, Wo) integer grids, zero outside the image."""
    h, w = x.shape[-2:]
    inside = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
    flat = (jnp.clip(iy, 0, h - 1) * w + jnp.clip(ix, 0, w - 1)).reshape(x.shape[0], 1, -1)
    v = jnp.take_along_axis(x.reshape(*x.shape[:2], -1), flat, axis=2)
    return v.reshape(*x.shape[:2], *iy.shape[1:]) * inside[:, None].astype(x.dtype)


def _grid_sample(x, grid, *, mode, padding_mode, align_corners):
    h, w = x.shape[-2:]
    cx = _grid_coord(grid[..., 0], w, align_corners, padding_mode)
    cy = _grid_coord(grid[..., 1], h, align_corners, padding_mode)
    if mode == "nearest":  # round half to even, as PyTorch's nearbyint
        return _grid_pick(x, jnp.round(cy).astype(jnp.int32), jnp.round(cx).astype(jnp.int32))
    x0, y0 = jnp.floor(cx), jnp.floor(cy)
    out = 0
    for dy, dx in ((0, 0), (0, 1), (1, 0), (1, 1)):
        wy = (cy - y0) if dy else (y0 + 1 - cy)
        wx = (cx - x0) if dx else (x0 + 1 - cx)
        v = _grid_pick(x, (y0 + dy).astype(jnp.int32), (x0 + dx).astype(jnp.int32))
        out = out + v * (wy * wx)[:, None]
    return out


def _patch_index(size, kernel, dilation, padding, stride) -> np.ndarray:
    """Flat indices into the padded image, shape (prod(kernel), L): unfold's gather."""
    axes = []
    for n, k, d, p, s in zip(size, kernel, dilation, padding, stride):
        out = (n + 2 * p - d * (k - 1) - 1) // s + 1
        axes.append(np.arange(k)[:, None] * d + np.arange(out)[None, :] * s)  # (k, out)
    (ky, oy), (kx, ox) = axes[0].shape, axes[1].shape
    wp = size[1] + 2 * padding[1]
    rows = axes[0][:, None, :, None] * wp + axes[1][None, :, None, :]  # (ky, kx, oy, ox)
    return rows.reshape(ky * kx, oy * ox)


def _unfold(x, *, kernel, dilation, padding, stride):
    idx = _patch_index(x.shape[-2:], kernel, dilation, padding, stride)
    xp = jnp.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in padding])
    g = jnp.take(xp.reshape(*xp.shape[:2], -1), idx.reshape(-1), axis=2)
    return g.reshape(x.shape[0], x.shape[1] * idx.shape[0], idx.shape[1])


def _fold(x, *, output_size, kernel, dilation, padding, stride):
    # unfold's adjoint: every patch entry added back where unfold read it
    idx = _patch_index(output_size, kernel, dilation, padding, stride)
    n, c = x.shape[0], x.shape[1] // idx.shape[0]
    hp, wp = (s + 2 * p for s, p in zip(output_size, padding))
    out = jnp.zeros((n, c, hp * wp), x.dtype)
    out = out.at[:, :, idx.reshape(-1)].add(x.reshape(n, c, -1))
    out = out.reshape(n, c, hp, wp)
    return out[:, :, padding[0] : hp - padding[0], padding[1] : wp - padding[1]]



def _attention(q, k, v, *mask, is_causal, scale):
    # PyTorch's layout (N, heads, L, E) is JAX's (N, L, heads, E) with two axes swapped; a
    # bool mask means "takes part in attention" in both, a float mask is added to the logits
    swap = partial(jnp.swapaxes, axis1=1, axis2=2)
    keep = mask[0] if mask and mask[0].dtype == jnp.bool_ else None
    bias = mask[0].astype(q.dtype) if mask and keep is None else None
    # a query that no key may attend to gives zeros (and zero gradients), as PyTorch's kernels
    dead = None if not mask else ~jnp.any(keep, -1, keepdims=True) if bias is None else (
        jnp.all(bias == -jnp.inf, -1, keepdims=True))  # fmt: skip
    if bias is not None:
        bias = jnp.where(dead, jnp.zeros((), bias.dtype), bias)
    out = jax.nn.dot_product_attention(
        swap(q), swap(k), swap(v), bias=bias, mask=keep, scale=scale, is_causal=is_causal
    )
    return swap(out) if dead is None else jnp.where(dead, jnp.zeros((), q.dtype), swap(out))


@jax.custom_jvp
def _bce(p, y):
    # PyTorch's binary_cross_entropy: each log clamped at -100; an input outside [0, 1] (an
    # error in PyTorch, checked where the value is known at the call) gives NaN, never a value
    loss = -(y * jnp.maximum(jnp.log(p), -100) + (1 - y) * jnp.maximum(jnp.log1p(-p), -100))
    return jnp.where((p < 0) | (p > 1), jnp.nan, loss).astype(p.dtype)


def _bce_jvp(primals, tangents):
    p, y = primals
    tp, ty = tangents
    # PyTorch's formulas: (p - y) / max(p (1 - p), 1e-12) and log(1 - p) - log(p)
    dp = (p - y) / jnp.maximum(p * (1 - p), 1e-12)
    return _bce(p, y), (tp * dp + ty * (jnp.log1p(-p) - jnp.log(p))).astype(p.dtype)


_bce.defjvp(_bce_jvp)


# activations and CTC (issue 14: activations and losses). The jnp.where forms give
# PyTorch's gradient at the kinks (e.g. 0 at hardtanh's bounds, negative_slope at 0).
def _leaky_relu(x, *, negative_slope):
    return jnp.where(x > 0, x, x * negative_slope)


def _elu(x, *, alpha, scale, input_scale):
    # the exp branch sees no positive x, so a large x never gives an inf (and a NaN gradient)
    neg = jnp.where(x > 0, 0.0, x)
    return jnp.where(x > 0, x * scale, (alpha * scale) * jnp.expm1(neg * input_scale))


def _hardtanh(x, *, min_val, max_val):
    return jnp.where(x <= min_val, min_val, jnp.where(x >= max_val, max_val, x)).astype(x.dtype)


def _hardswish(x):
    # x * 0 below -3: PyTorch's x * relu6(x + 3) / 6 is -0.0 there
    return jnp.where(x <= -3, x * 0.0, jnp.where(x >= 3, x, x * (x + 3) / 6)).astype(x.dtype)


def _hardsigmoid(x):
    return jnp.where(x <= -3, 0.0, jnp.where(x >= 3, 1.0, x / 6 + 0.5)).astype(x.dtype)


def _mish(x):
    return x * jnp.tanh(jax.nn.softplus(x))


def _threshold(x, *, threshold, value):
    return jnp.where(x <= threshold, value, x).astype(x.dtype)


def _hardshrink(x, *, lambd):
    return jnp.where((x >= -lambd) & (x <= lambd), 0.0, x).astype(x.dtype)


def _softshrink(x, *, lambd):
    return jnp.where(x > lambd, x - lambd, jnp.where(x < -lambd, x + lambd, 0.0)).astype(x.dtype)


_CTC_NEG = -1e30  # a finite log(0): with -inf, logsumexp over unreachable states gives NaN grads


def _lse(*xs):
    m = xs[0]
    for x in xs[1:]:
        m = jnp.maximum(m, x)
    m = lax.stop_gradient(m)  # m cancels out of the gradient
    return m + jnp.log(sum(jnp.exp(x - m) for x in xs))


def _ctc_targets(targets, target_lengths, size, concatenated):
    """(N, size) padded targets from PyTorch's padded (N, S) or concatenated (sum S) layout."""
    if not concatenated:
        return targets[:, :size]
    starts = jnp.cumsum(target_lengths) - target_lengths
    idx = jnp.minimum(starts[:, None] + jnp.arange(size), targets.shape[0] - 1)
    return targets[jnp.maximum(idx, 0)]


def _ctc_loss(log_probs, targets, input_lengths, target_lengths, *, blank, size, concatenated):
    """Negative log-likelihood (N,) of each target under (T, N, C) log-probabilities: the
    CTC forward (alpha) recursion in log space over the blank-extended targets, by lax.scan."""
    lp = jnp.maximum(log_probs.astype(jnp.promote_types(log_probs.dtype, jnp.float32)), _CTC_NEG)
    t_max, n = lp.shape[:2]
    tgt = _ctc_targets(targets, target_lengths, size, concatenated).astype(jnp.int32)
    ext = jnp.full((n, 2 * size + 1), blank, jnp.int32).at[:, 1::2].set(tgt)
    before = jnp.pad(ext, ((0, 0), (2, 0)), constant_values=blank)[:, :-2]
    skip = (ext != blank) & (ext != before)  # s-2 -> s: between distinct labels only
    emit = jnp.take_along_axis(lp, jnp.broadcast_to(ext[None], (t_max, *ext.shape)), axis=2)
    neg = jnp.full((n, 2 * size + 1), _CTC_NEG, lp.dtype)
    alpha0 = neg.at[:, :2].set(emit[0, :, :2])

    def step(alpha, inputs):
        e, t = inputs
        a1 = jnp.concatenate([neg[:, :1], alpha[:, :-1]], axis=1)
        a2 = jnp.where(skip, jnp.concatenate([neg[:, :2], alpha[:, :-2]], axis=1), _CTC_NEG)
        new = _lse(alpha, a1, a2) + e
        return jnp.where((t < input_lengths)[:, None], new, alpha), None

    alpha, _ = lax.scan(step, alpha0, (emit[1:], jnp.arange(1, t_max)))
    last = jnp.take_along_axis(alpha, (2 * target_lengths)[:, None].astype(jnp.int32), 1)[:, 0]
    prev = jnp.take_along_axis(alpha, jnp.maximum(2 * target_lengths - 1, 0)[:, None].astype(
        jnp.int32), 1)[:, 0]  # fmt: skip
    ll = _lse(last, jnp.where(target_lengths > 0, prev, _CTC_NEG))
    return jnp.where(ll < _CTC_NEG / 2, jnp.inf, -ll).astype(log_probs.dtype)  # no alignment


@jax.custom_jvp
def _overwrite(old, new):
    # an in-place op that replaces every value (zero_, fill_, copy_): the result reads the
    # old value for nothing; a zero gradient still flows to it, as in PyTorch, where it meets
    # the old value's history (0 * NaN is NaN there too)
    return jnp.broadcast_to(new, jnp.shape(old)).astype(old.dtype)


def _zero_tangent(t):
    # a numeric zero, whatever ``t`` holds: its transpose sends exact zeros back (PyTorch's
    # zeros_like(grad)), where ``t * 0`` would send NaN for a NaN gradient
    return jnp.where(jnp.ones(jnp.shape(t), bool), jnp.zeros((), t.dtype), t)


_overwrite.defjvp(
    lambda p, t: (_overwrite(*p), (_zero_tangent(t[0]) + jnp.broadcast_to(t[1], jnp.shape(p[0])))
                  .astype(p[0].dtype))
)  # fmt: skip


@jax.custom_jvp
def _follow(old, new):
    # a change autograd does not see (under no_grad, or through an alias): the value is
    # exactly ``new``, the gradient is that of ``old``, as in PyTorch
    return new


_follow.defjvp(lambda primals, tangents: (primals[1], tangents[0]))


def _dropout(x, key, counter, *, p):
    keep = jax.random.bernoulli(jax.random.fold_in(key, counter), 1.0 - p, x.shape)
    return jnp.where(keep, x / (1.0 - p), jnp.zeros((), x.dtype))


def _full(value, *, shape, dtype):
    return jnp.full(shape, value, dtype)


def _linspace(start, end, *, steps, dtype):
    return jnp.linspace(start, end, steps, dtype=dtype)


def _normal(key, counter, *, shape, dtype):
    return jax.random.normal(jax.random.fold_in(key, counter), shape, dtype)


def _randint(key, counter, *, shape, dtype, low, high):
    # integers drawn as integers, then held in dtype (randint(..., dtype=float32) as PyTorch)
    draw_dtype = dtype if jnp.issubdtype(dtype, jnp.integer) else jnp.int64
    draw = jax.random.randint(jax.random.fold_in(key, counter), shape, low, high, draw_dtype)
    return draw.astype(dtype)


def _bernoulli(p, key, counter):
    draw = jax.random.uniform(jax.random.fold_in(key, counter), jnp.shape(p), jnp.float32)
    return (draw < p).astype(p.dtype)


def _poisson(rate, key, counter):
    return jax.random.poisson(jax.random.fold_in(key, counter), rate).astype(rate.dtype)


def _exponential(key, counter, *, shape, dtype):
    return jax.random.exponential(jax.random.fold_in(key, counter), shape, dtype)


def _multinomial(p, key, counter, *, n, replacement):
    # without replacement: the Gumbel top-k trick draws n distinct categories in one pass
    k = jax.random.fold_in(key, counter)
    logits = jnp.log(p.astype(jnp.float32))
    if replacement:
        shape = (n, *p.shape[:-1])
        out = jax.random.categorical(k, logits, axis=-1, shape=shape)
        return jnp.moveaxis(out, 0, -1)
    gumbel = jax.random.gumbel(k, p.shape)
    return jnp.argsort(-(logits + gumbel), axis=-1)[..., :n]


def _randperm(key, counter, *, n, dtype):
    return jax.random.permutation(jax.random.fold_in(key, counter), n).astype(dtype)


def _uniform(key, counter, *, shape, dtype):
    return jax.random.uniform(jax.random.fold_in(key, counter), shape, dtype)


_ZERO_GRAD = "gradient is zero everywhere, as in PyTorch"
_TIES = "ties share the gradient evenly, as in PyTorch"  # and NaN: see _chooser, _extreme


class Elementwise(Table):
    """Functions of one tensor, elementwise."""

    __slots__ = ()

    exp = unary(in_float(jnp.exp), "ExpBackward0", "e to the power x")
    expm1 = unary(in_float(jnp.expm1), "Expm1Backward0", "exp(x) - 1, accurate near 0")
    exp2 = unary(in_float(jnp.exp2), "Exp2Backward0", "2 to the power x")
    log = unary(in_float(jnp.log), "LogBackward0", "Natural logarithm")
    log1p = unary(in_float(jnp.log1p), "Log1PBackward0", "log(1 + x), accurate near 0")
    log2 = unary(in_float(jnp.log2), "Log2Backward0", "Base-2 logarithm")
    log10 = unary(in_float(jnp.log10), "Log10Backward0", "Base-10 logarithm")
    sqrt = unary(in_float(jnp.sqrt), "SqrtBackward0", "Square root")
    rsqrt = unary(in_float(lax.rsqrt), "RsqrtBackward0", "1 / sqrt(x)")
    square = unary(jnp.square, "PowBackward0", "x * x (PyTorch computes it as a power)")
    reciprocal = unary(in_float(jnp.reciprocal), "ReciprocalBackward0", "1 / x")
    neg = negative = unary(jnp.negative, "NegBackward0", "Negation", torch="torch.neg, unary -")
    abs = unary(_abs, "AbsBackward0", "Absolute value")  # noqa: A003 - PyTorch's name
    sin = unary(in_float(jnp.sin), "SinBackward0", "Sine")
    cos = unary(in_float(jnp.cos), "CosBackward0", "Cosine")
    tan = unary(in_float(jnp.tan), "TanBackward0", "Tangent")
    asin = arcsin = unary(in_float(jnp.arcsin), "AsinBackward0", "Inverse sine")
    acos = arccos = unary(in_float(jnp.arccos), "AcosBackward0", "Inverse cosine")
    atan = arctan = unary(in_float(jnp.arctan), "AtanBackward0", "Inverse tangent")
    sinh = unary(in_float(jnp.sinh), "SinhBackward0", "Hyperbolic sine")
    cosh = unary(in_float(jnp.cosh), "CoshBackward0", "Hyperbolic cosine")
    tanh = unary(in_float(jnp.tanh), "TanhBackward0", "Hyperbolic tangent")
    asinh = arcsinh = unary(in_float(jnp.arcsinh), "AsinhBackward0", "Inverse hyperbolic sine")
    acosh = arccosh = unary(in_float(jnp.arccosh), "AcoshBackward0", "Inverse hyperbolic cosine")
    atanh = arctanh = unary(in_float(jnp.arctanh), "AtanhBackward0", "Inverse hyperbolic tangent")
    deg2rad = unary(in_float(jnp.deg2rad), "Deg2RadBackward0", "Degrees to radians")
    rad2deg = unary(in_float(jnp.rad2deg), "Rad2DegBackward0", "Radians to degrees")
    erf = unary(in_float(jsp.erf), "ErfBackward0", "Error function")
    erfinv = unary(in_float(jsp.erfinv), "ErfinvBackward0", "Inverse error function, on (-1, 1)")
    sigmoid = unary(in_float(jax.nn.sigmoid), "SigmoidBackward0",
                    "Logistic sigmoid 1 / (1 + exp(-x))")  # fmt: skip
    relu = unary(_relu, "ReluBackward0", "max(x, 0), with gradient 0 at 0",
                 torch="torch.relu, Tensor.relu, F.relu")  # fmt: skip
    silu = unary(jax.nn.silu, "SiluBackward0", "x * sigmoid(x)", torch="F.silu, Tensor.silu")
    sign = unary(_sign, "SignBackward0", "Sign (-1, 0, 1; 0 for NaN, as PyTorch)",
                 note=_ZERO_GRAD)  # fmt: skip
    floor = unary(jnp.floor, "FloorBackward0", "Round down", note=_ZERO_GRAD)
    ceil = unary(jnp.ceil, "CeilBackward0", "Round up", note=_ZERO_GRAD)
    trunc = fix = unary(jnp.trunc, "TruncBackward0", "Round toward zero", note=_ZERO_GRAD)
    nan_to_num = unary(jnp.nan_to_num, "NanToNumBackward0", "NaN, +inf and -inf replaced by "
                       "nan, posinf and neginf (by default 0 and the dtype's extremes); zero "
                       "gradient where replaced", nan=0.0, posinf=None, neginf=None)  # fmt: skip
    isnan = unary(jnp.isnan, None, "True where x is NaN")
    isinf = unary(jnp.isinf, None, "True where x is +-inf")
    isfinite = unary(jnp.isfinite, None, "True where x is neither NaN nor +-inf")
    logical_not = unary(jnp.logical_not, None, "Boolean not")
    bitwise_not = unary(jnp.bitwise_not, None, "Bitwise not (boolean not of a bool tensor)",
                        torch="torch.bitwise_not, ~")  # fmt: skip


class Binary(Table):
    """Elementwise functions of two tensors (or a tensor and a number), broadcasting."""

    __slots__ = ()

    maximum = binary(_maximum, "MaximumBackward0", "Elementwise maximum", note=_TIES,
                     torch="torch.maximum, torch.max(a, b)")  # fmt: skip
    minimum = binary(_minimum, "MinimumBackward0", "Elementwise minimum", note=_TIES,
                     torch="torch.minimum, torch.min(a, b)")  # fmt: skip
    atan2 = arctan2 = binary(in_float(jnp.arctan2), "Atan2Backward0",
                             "Angle of the point (other, input)")  # fmt: skip
    hypot = binary(jnp.hypot, "HypotBackward0", "sqrt(input**2 + other**2)")
    logaddexp = binary(jnp.logaddexp, "LogaddexpBackward0", "log(exp(input) + exp(other))")
    fmod = binary(jnp.fmod, "FmodBackward0", "Remainder of a division rounded toward zero: "
                  "its sign is the dividend's (C's fmod)", overload=_tensor_other)  # fmt: skip
    remainder = binary(jnp.remainder, "RemainderBackward0", "Remainder of a division rounded "
                       "down: its sign is the divisor's (Python's %)",
                       torch="torch.remainder, Tensor.remainder, %, %=",
                       overload=_tensor_other)  # fmt: skip
    floor_divide = binary(jnp.floor_divide, "FloorDivideBackward0", "input / other rounded "
                          "down (Python's //)", torch="torch.floor_divide, //, //=",
                          note="PyTorch has no derivative and raises in backward; varjax's "
                          "gradient is zero everywhere, as for floor")  # fmt: skip
    logical_and = binary(jnp.logical_and, None, "Boolean and")
    logical_or = binary(jnp.logical_or, None, "Boolean or")
    logical_xor = binary(jnp.logical_xor, None, "Boolean exclusive or")
    bitwise_and = binary(jnp.bitwise_and, None, "Bitwise and (boolean and of bool tensors)",
                         torch="torch.bitwise_and, &")  # fmt: skip
    bitwise_or = binary(jnp.bitwise_or, None, "Bitwise or (boolean or of bool tensors)",
                        torch="torch.bitwise_or, |")  # fmt: skip
    bitwise_xor = binary(jnp.bitwise_xor, None, "Bitwise exclusive or",
                         torch="torch.bitwise_xor, ^")  # fmt: skip
    lt = less = binary(jnp.less, None, "input < other", torch="torch.lt, <")
    le = less_equal = binary(jnp.less_equal, None, "input <= other", torch="torch.le, <=")
    gt = greater = binary(jnp.greater, None, "input > other", torch="torch.gt, >")
    ge = greater_equal = binary(jnp.greater_equal, None, "input >= other", torch="torch.ge, >=")
    eq = binary(jnp.equal, None, "input == other", torch="torch.eq, ==")
    ne = not_equal = binary(jnp.not_equal, None, "input != other", torch="torch.ne, !=")


class Reductions(Table):
    """Reductions over ``dim`` (an int, a tuple, or every dim)."""

    __slots__ = ()

    sum = reduction(jnp.sum, "SumBackward0", "Sum", overload=_along_dims)  # noqa: A003
    mean = reduction(jnp.mean, "MeanBackward0", "Mean", floating=True, overload=_along_dims)
    prod = reduction(_prod, "ProdBackward0", "Product", overload=_along_dims)
    amax = reduction(_amax, "AmaxBackward0", "Largest value", note=_TIES,
                     torch="torch.amax, max() without dim")  # fmt: skip
    amin = reduction(_amin, "AminBackward0", "Smallest value", note=_TIES,
                     torch="torch.amin, min() without dim")  # fmt: skip
    logsumexp = reduction(jsp.logsumexp, "LogsumexpBackward0", "log(sum(exp(x))), computed "
                          "stably")  # fmt: skip
    all = reduction(jnp.all, None, "True where every element is nonzero")  # noqa: A003
    any = reduction(jnp.any, None, "True where some element is nonzero")  # noqa: A003


class Scans(Table):
    """Functions along one dim that keep the shape."""

    __slots__ = ()

    cumsum = along(_wide(jnp.cumsum), "CumsumBackward0", "Running sum")
    cumprod = along(_wide(jnp.cumprod), "CumprodBackward0", "Running product")
    logcumsumexp = along(lambda x, axis: lax.cumlogsumexp(x, axis=axis), "LogcumsumexpBackward0",
                         "Running log(sum(exp(x))), computed stably")  # fmt: skip
    softmax = along(jax.nn.softmax, "SoftmaxBackward0", "exp(x) / sum(exp(x))",
                    torch="torch.softmax, Tensor.softmax, F.softmax")  # fmt: skip
    log_softmax = along(jax.nn.log_softmax, "LogSoftmaxBackward0", "log(softmax(x)), computed "
                        "stably", torch="F.log_softmax, F.cross_entropy")  # fmt: skip


def _op(fn, grad_name, note="", torch="", **kw) -> Op:
    return Op(None, fn, grad_name, note, torch, **kw)


class Primitives(Table):
    """Ops whose functions are written out in ``_methods/`` (views, indices, composites,
    creation): their arguments need more than a convention. Not a mixin of Variable."""

    # arithmetic (Python scalars may stand in either position)
    add = _op(jnp.add, "AddBackward0", torch="torch.add, +, +=, add_", elementwise=True)
    sub = _op(jnp.subtract, "SubBackward0", torch="torch.sub, -, -=, sub_", elementwise=True)
    mul = _op(jnp.multiply, "MulBackward0", torch="torch.mul, *, *=, mul_", elementwise=True)
    div = _op(_div, "DivBackward0", torch="torch.div, true_divide, /, /=, div_",
              elementwise=True)  # fmt: skip
    pow = _op(_pow, "PowBackward0", "the gradient of 0 ** 0 is 0, as in PyTorch",  # noqa: A003
              torch="torch.pow, **", elementwise=True, check=_pow_check,
              overload=_pow_overload)  # fmt: skip
    clamp = _op(_clamp, "ClampBackward1", torch="torch.clamp, clip, clamp_", elementwise=True,
                overload=_number_bounds)  # fmt: skip
    clamp_min = _op(lambda x, lo: _clamp(x, lo, has_min=True, has_max=False), "ClampMinBackward0",
                    torch="torch.clamp_min, clamp_min_", elementwise=True,
                    overload=_tensor_bound)  # fmt: skip
    clamp_max = _op(lambda x, hi: _clamp(x, hi, has_min=False, has_max=True), "ClampMaxBackward0",
                    torch="torch.clamp_max, clamp_max_", elementwise=True,
                    overload=_tensor_bound)  # fmt: skip
    where = _op(jnp.where, "WhereBackward0", elementwise=True)
    masked_fill = _op(_masked_fill, "MaskedFillBackward0", torch="masked_fill, masked_fill_",
                      elementwise=True, overload=_tensor_value)  # fmt: skip
    lerp = _op(_lerp, "LerpBackward0", elementwise=True, overload=_tensor_weight)
    round = _op(jnp.round, "RoundBackward0", _ZERO_GRAD + "; halves round to even")  # noqa: A003
    gelu = _op(jax.nn.gelu, "GeluBackward0", torch="F.gelu")  # approximate: exact by default
    softplus = _op(_softplus, "SoftplusBackward0", torch="F.softplus")
    # reductions with arguments of their own
    max_all = _op(_max_all, "MaxBackward1", _TIES + "; a NaN takes the gradient",
                  torch="max() without dim")  # fmt: skip
    min_all = _op(_min_all, "MinBackward1", _TIES + "; a NaN takes the gradient",
                  torch="min() without dim")  # fmt: skip
    argmax = _op(jnp.argmax, None, torch="torch.argmax, indices of max(dim)")
    argmin = _op(jnp.argmin, None, torch="torch.argmin, indices of min(dim)")
    var = _op(_var, "VarBackward0")
    std = _op(_std, "StdBackward0")
    norm = _op(_norm, "LinalgVectorNormBackward0")  # PyTorch's norm is linalg.vector_norm
    # shape
    reshape = _op(jnp.reshape, "ViewBackward0", "a view: in-place ops on it write into its input",
                  torch="reshape, view, flatten")  # fmt: skip
    transpose = _op(jnp.swapaxes, "TransposeBackward0", torch="transpose, swapaxes, t")
    permute = _op(jnp.transpose, "PermuteBackward0", torch="permute, T")
    squeeze = _op(jnp.squeeze, "SqueezeBackward0")
    unsqueeze = _op(jnp.expand_dims, "UnsqueezeBackward0")
    expand = _op(jnp.broadcast_to, "ExpandBackward0", torch="expand, expand_as")
    repeat = _op(jnp.tile, "RepeatBackward0")
    cat = _op(lambda *xs, axis: jnp.concatenate(xs, axis), "CatBackward0",
              torch="torch.cat, concat")  # fmt: skip
    stack = _op(lambda *xs, axis: jnp.stack(xs, axis), "StackBackward0")
    flip = _op(jnp.flip, "FlipBackward0")
    tril = _op(lambda x, *, k: jnp.tril(x, k), "TrilBackward0")
    triu = _op(lambda x, *, k: jnp.triu(x, k), "TriuBackward0")
    diagonal = _op(lambda x, *, offset, a, b: jnp.diagonal(x, offset, a, b), "DiagonalBackward0",
                   torch="diagonal, diag of a matrix, trace")  # fmt: skip
    diag_embed = _op(lambda x, *, k: jnp.diag(x, k), "DiagEmbedBackward0",
                     torch="diag of a vector")  # fmt: skip
    running_arg = _op(_running_arg, None, "the index of the running max (min): the latest "
                      "one among equal values, as PyTorch", torch="cummax, cummin")  # fmt: skip
    searchsorted = _op(_searchsorted, None,
                       torch="searchsorted, bucketize")  # fmt: skip
    argsort = _op(
        _argsort,
        None,
        "stable: equal values keep their order; NaN sorts last "
        "(first when descending), as in PyTorch",
        torch="argsort, sort, topk, msort",
    )
    roll = _op(jnp.roll, "RollBackward0")
    pad = _op(_pad, "ConstantPadNdBackward0", torch="F.pad")
    astype = _op(lambda x, *, dtype: x.astype(dtype), "ToCopyBackward0",
                 torch="to, float, double, half, bfloat16, long, int, bool")  # fmt: skip
    # indexing
    getitem = _op(_getitem, "IndexBackward0",
                  "basic indexing gives views; integer arrays and masks give copies (as PyTorch)",
                  torch="x[...] (ints, slices, None, ..., integer arrays, boolean masks), split, "
                  "chunk")  # fmt: skip
    mask_select = _op(_mask_select, "IndexBackward0", "x[mask] for a mask over leading dims",
                      torch="x[mask], masked_select")  # fmt: skip
    select_reduce = _op(_select_reduce, "SumBackward0", "a sum or mean of a mask selection")
    setitem = _op(_setitem, "IndexPutBackward0", torch="x[...] = v")
    window = _op(_window, "SliceBackward0", "ints and unit-step slices: the offsets are "
                 "inputs, not part of the program", torch="x[i], x[a:b] (basic indexing)")
    write_window = _op(_write_window, "SliceScatterBackward0", torch="x[a:b] = v")
    index_select = _op(lambda x, i, *, axis: jnp.take(x, i, axis), "IndexSelectBackward0",
                       torch="torch.index_select, F.embedding")  # fmt: skip
    gather = _op(lambda x, i, *, axis: x[_along(i, axis)], "GatherBackward0",
                 torch="torch.gather, values of max/min(dim)")  # fmt: skip
    scatter = _op(_scatter, "ScatterBackward0")
    scatter_add = _op(_scatter_add, "ScatterAddBackward0")
    index_add = _op(_rows(lambda at, src: at.add(src)), "IndexAddBackward0",
                    "repeated indices add up", torch="index_add, index_add_")  # fmt: skip
    index_copy = _op(_rows(lambda at, src: at.set(src)), "IndexCopyBackward0",
                     torch="index_copy, index_copy_")  # fmt: skip
    index_fill = _op(_rows(lambda at, value: at.set(value)), "IndexFillBackward0",
                     torch="index_fill, index_fill_", overload=_tensor_value)  # fmt: skip
    # linear algebra
    matmul = _op(jnp.matmul, "MmBackward0", torch="torch.matmul, @, mm, bmm, dot")
    linear = _op(lambda x, w: jnp.matmul(x, w.T), "MmBackward0", torch="F.linear without bias")
    linear_bias = _op(lambda x, w, b: jnp.matmul(x, w.T) + b, "AddmmBackward0",
                      torch="F.linear, nn.Linear")  # fmt: skip
    outer = _op(jnp.outer, "OuterBackward0")
    einsum = _op(lambda *xs, eq: jnp.einsum(eq, *xs), "EinsumBackward0")
    linalg_norm = _op(jnp.linalg.norm, "LinalgVectorNormBackward0", torch="torch.linalg.norm")
    linalg_inv = _op(jnp.linalg.inv, "LinalgInvExBackward0", torch="torch.linalg.inv")
    linalg_solve = _op(jnp.linalg.solve, "LinalgSolveExBackward0", torch="torch.linalg.solve")
    # neural-network primitives
    conv2d = _op(_conv2d, "ConvolutionBackward0", torch="F.conv2d")
    max_pool2d = _op(partial(_pool, kind="max"), "MaxPool2DWithIndicesBackward0",
                     torch="F.max_pool2d")  # fmt: skip
    avg_pool2d = _op(partial(_pool, kind="avg"), "AvgPool2DBackward0", torch="F.avg_pool2d")
    # convolutions, pooling, resampling (issue 14), any number of spatial dims
    conv_nd = _op(_conv_nd, "ConvolutionBackward0", torch="F.conv1d, F.conv3d")
    conv_transpose = _op(_conv_transpose, "ConvolutionBackward0",
                         torch="F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d")
    max_pool_nd = _op(partial(_pool_nd, kind="max"), "MaxPoolWithIndicesBackward0",
                      torch="F.max_pool1d, F.max_pool3d")  # fmt: skip
    avg_pool_nd = _op(partial(_pool_nd, kind="avg"), "AvgPoolBackward0",
                      torch="F.avg_pool1d, F.avg_pool3d")  # fmt: skip
    max_pool_indices = _op(_max_pool_indices, None, "where each window's first maximum is",
                           torch="F.max_pool1d/2d/3d(return_indices=True)")  # fmt: skip
    adaptive_max_indices = _op(_adaptive_max_indices, None, "where each bin's first maximum is",
                               torch="F.adaptive_max_pool1d/2d(return_indices=True)")  # fmt: skip
    max_unpool = _op(_max_unpool, "MaxUnpool2DBackward0",
                     torch="F.max_unpool1d, F.max_unpool2d, F.max_unpool3d")  # fmt: skip
    adaptive_max_pool = _op(partial(_adaptive_pool, kind="max"), "AdaptiveMaxPoolBackward0",
                            "the first maximum in a bin takes the gradient",
                            torch="F.adaptive_max_pool1d, F.adaptive_max_pool2d")  # fmt: skip
    adaptive_avg_pool = _op(partial(_adaptive_pool, kind="avg"), "AdaptiveAvgPoolBackward0",
                            torch="F.adaptive_avg_pool1d, F.adaptive_avg_pool2d")  # fmt: skip
    upsample = _op(_resample, "UpsampleBackward0", "separable gathers with PyTorch's source "
                   "coordinates (bicubic A = -0.75)", torch="F.interpolate, F.upsample")
    grid_sample = _op(_grid_sample, "GridSampler2DBackward0", torch="F.grid_sample")
    unfold = _op(_unfold, "Im2ColBackward0", torch="F.unfold")
    fold = _op(_fold, "Col2ImBackward0", torch="F.fold")
    # attention (issue 14: attention and transformers)
    scaled_dot_product_attention = _op(
        _attention, "ScaledDotProductEfficientAttentionBackward0",
        "jax.nn.dot_product_attention; dropout_p > 0 and a value head size other than the "
        "query's take the unfused softmax(QK^T * scale + mask) @ V path",
        torch="F.scaled_dot_product_attention",
    )  # fmt: skip
    # activations and CTC (issue 14: activations and losses)
    leaky_relu = _op(_leaky_relu, "LeakyReluBackward0", torch="F.leaky_relu, F.rrelu (eval)",
                     elementwise=True)  # fmt: skip
    elu = _op(_elu, "EluBackward0", torch="F.elu, F.selu", elementwise=True)
    celu = _op(_elu, "CeluBackward0", torch="F.celu", elementwise=True)
    hardtanh = _op(_hardtanh, "HardtanhBackward0", "gradient 0 at the bounds, as in PyTorch",
                   torch="F.hardtanh, F.relu6", elementwise=True)  # fmt: skip
    hardswish = _op(_hardswish, "HardswishBackward0", torch="F.hardswish", elementwise=True)
    hardsigmoid = _op(_hardsigmoid, "HardsigmoidBackward0", torch="F.hardsigmoid",
                      elementwise=True)  # fmt: skip
    mish = _op(_mish, "MishBackward0", torch="F.mish", elementwise=True)
    threshold = _op(_threshold, "ThresholdBackward0", torch="F.threshold", elementwise=True)
    log_sigmoid = _op(jax.nn.log_sigmoid, "LogSigmoidBackward0", torch="F.logsigmoid",
                      elementwise=True)  # fmt: skip
    hardshrink = _op(_hardshrink, "HardshrinkBackward0", torch="F.hardshrink", elementwise=True)
    softshrink = _op(_softshrink, "SoftshrinkBackward0", torch="F.softshrink", elementwise=True)
    ctc_loss = _op(_ctc_loss, "CtcLossBackward0", "the forward recursion by lax.scan; the "
                   "gradient is jax's of the loss (PyTorch's gradient for log_probs adds "
                   "exp(log_probs), which cancels through a log_softmax)",
                   torch="F.ctc_loss")  # fmt: skip
    binary_cross_entropy = _op(_bce, "BinaryCrossEntropyBackward0", torch="F.binary_cross_entropy",
                               elementwise=True)  # fmt: skip
    dropout = _op(_dropout, "NativeDropoutBackward0", "masks come from varjax's seeded keys",
                  torch="F.dropout")  # fmt: skip
    one_hot = _op(lambda x, *, num_classes: jax.nn.one_hot(x, num_classes, dtype=x.dtype), None,
                  torch="F.one_hot")  # fmt: skip
    clone = _op(jnp.copy, "CloneBackward0", "a new buffer, never an alias", torch="clone")
    reshard = _op(lambda x, *, sharding: lax.with_sharding_constraint(x, sharding),
                  "RedistributeBackward", "the gradient is laid out as the input was",
                  torch="DTensor.redistribute")  # fmt: skip
    # in-place writes: every value replaced with autograd watching (no gradient to the old
    # values), or a value changed where autograd does not see it (the gradient stays)
    zero = _op(_overwrite, "ZeroBackward0", torch="zero_")
    fill = _op(_overwrite, "FillBackward2", torch="fill_")
    copy = _op(_overwrite, "CopyBackwards", torch="copy_")
    follow = _op(
        _follow,
        "(the old one's)",
        "keeps the old grad_fn, as PyTorch does",
        torch="in-place ops under no_grad, and through .data and detach() aliases",
    )
    # values without history
    detach = _op(lax.stop_gradient, None, torch="detach, .data, Variable(v)")
    full = _op(_full, None, torch="full, ones, zeros, ones_like, zeros_like")
    arange = _op(lambda *, start, stop, step, dtype: jnp.arange(start, stop, step, dtype), None)
    linspace = _op(_linspace, None)
    eye = _op(lambda *, n, m, dtype: jnp.eye(n, m, dtype=dtype), None)
    normal = _op(_normal, None, torch="randn")
    uniform = _op(_uniform, None, torch="rand")
    randint = _op(_randint, None, torch="randint, randint_like")
    randperm = _op(_randperm, None)
    bernoulli = _op(_bernoulli, None, torch="bernoulli, bernoulli_")
    poisson = _op(_poisson, None)
    exponential = _op(_exponential, None, torch="exponential_")
    multinomial = _op(_multinomial, None, "without replacement: the Gumbel top-k trick")


P = Primitives
SECTIONS = (Elementwise, Binary, Reductions, Scans, Primitives)
