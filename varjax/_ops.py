"""The op table: every primitive varjax records, declared once.

An op is a name, a pure JAX function of positional arrays and keyword static params, and the
name PyTorch gives its ``grad_fn``. Gradients come from ``jax.vjp`` of the replay, so no op
has a hand-written backward. An op whose ``grad_name`` is ``None`` is not differentiable: its
output never requires grad (comparisons, creation, indices, ``detach``). ``note`` records a
behaviour that differs from PyTorch; ``docs/ops.md`` is generated from this table.

Composite functions (``cross_entropy``, ``linear``, ``max(dim)``...) are built from these ops in
the modules that expose them. Adding an op is one line here plus its row in the tests.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp
import jax.scipy.special as jsp
from jax import lax


class Op:
    """One primitive: a pure JAX function of positional arrays and keyword static params.

    Compared and hashed by identity: a program holds its ops, never their names."""

    __slots__ = ("name", "fn", "grad_name", "note", "torch", "__weakref__")

    def __init__(
        self, name: str, fn: Callable[..., jax.Array], grad_name: str | None, note: str = "",
        torch: str = "",
    ) -> None:  # fmt: skip
        self.name = name
        self.fn = fn
        self.grad_name = grad_name
        self.note = note
        self.torch = torch  # the PyTorch API it implements, when not torch.<name> / Tensor.<name>

    def __repr__(self) -> str:
        return f"Op({self.name})"


# -- helpers for ops whose JAX spelling differs from PyTorch's --------------------------------


def _norm(x, *, p, axis, keepdims):
    # PyTorch's vector p-norm. The 2-norm takes the gradient 0 at x == 0, as PyTorch does,
    # where a plain sqrt(sum(x*x)) would give NaN.
    if p == 2:
        sq = jnp.sum(x * x, axis=axis, keepdims=keepdims)
        pos = sq > 0
        return jnp.where(pos, jnp.sqrt(jnp.where(pos, sq, 1)), 0).astype(x.dtype)
    ax = jnp.abs(x)
    if p == float("inf"):
        return jnp.max(ax, axis=axis, keepdims=keepdims)
    if p == float("-inf"):
        return jnp.min(ax, axis=axis, keepdims=keepdims)
    if p == 1:
        return jnp.sum(ax, axis=axis, keepdims=keepdims)
    if p == 0:
        return jnp.sum(ax != 0, axis=axis, keepdims=keepdims).astype(x.dtype)
    return jnp.sum(ax**p, axis=axis, keepdims=keepdims) ** (1.0 / p)


def _softplus(x, *, beta, threshold):
    # PyTorch's softplus: linear once beta * x exceeds the threshold.
    bx = beta * x
    return jnp.where(bx > threshold, x, jnp.logaddexp(bx, 0.0) / beta)


def _clamp(x, *bounds, has_min, has_max):
    # Gradient 1 inside [min, max] including its ends, as PyTorch (jnp.clip splits it at ties).
    bounds = list(bounds)
    y = x
    if has_min:
        lo = bounds.pop(0)
        y = jnp.where(x < lo, lo, y)
    if has_max:
        hi = bounds.pop(0)
        y = jnp.where(y > hi, hi, y)
    return y


def _div(a, b, *, rounding_mode=None):
    if rounding_mode is None:
        return jnp.true_divide(a, b)
    q = jnp.true_divide(a, b)
    out = jnp.trunc(q) if rounding_mode == "trunc" else jnp.floor(q)
    if jnp.issubdtype(jnp.result_type(a, b), jnp.integer):
        return out.astype(jnp.result_type(a, b))
    return out


def _lerp(start, end, weight):
    return start + weight * (end - start)


def _var(x, *, axis, correction, keepdims):
    return jnp.var(x, axis=axis, ddof=correction, keepdims=keepdims)


def _std(x, *, axis, correction, keepdims):
    return jnp.std(x, axis=axis, ddof=correction, keepdims=keepdims)


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


def _getitem(x, *arrays, template):
    return x[_index(template, arrays)]


def _setitem(x, value, *arrays, template):
    return x.at[_index(template, arrays)].set(jnp.asarray(value, x.dtype))


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


def _dropout(x, key, counter, *, p):
    keep = jax.random.bernoulli(jax.random.fold_in(key, counter), 1.0 - p, x.shape)
    return jnp.where(keep, x / (1.0 - p), jnp.zeros((), x.dtype))


def _full(value, *, shape, dtype):
    return jnp.full(shape, value, dtype)


def _linspace(start, end, *, steps, dtype):
    return jnp.linspace(start, end, steps, dtype=dtype)


def _normal(key, counter, *, shape, dtype):
    return jax.random.normal(jax.random.fold_in(key, counter), shape, dtype)


def _uniform(key, counter, *, shape, dtype):
    return jax.random.uniform(jax.random.fold_in(key, counter), shape, dtype)


_ZERO_GRAD = "gradient is zero everywhere, as in PyTorch"

_TABLE = (
    # arithmetic (Python scalars may stand in either position)
    Op("add", jnp.add, "AddBackward0", torch="torch.add, +, +=, add_"),
    Op("sub", jnp.subtract, "SubBackward0", torch="torch.sub, -, -=, sub_"),
    Op("mul", jnp.multiply, "MulBackward0", torch="torch.mul, *, *=, mul_"),
    Op("div", _div, "DivBackward0", torch="torch.div, true_divide, /, /=, div_"),
    Op("pow", jnp.power, "PowBackward0", torch="torch.pow, **"),
    Op("neg", jnp.negative, "NegBackward0", torch="torch.neg, unary -"),
    Op("maximum", jnp.maximum, "MaximumBackward0", torch="torch.maximum, torch.max(a, b)"),
    Op("minimum", jnp.minimum, "MinimumBackward0", torch="torch.minimum, torch.min(a, b)"),
    Op("clamp", _clamp, "ClampBackward1", torch="torch.clamp, clip, clamp_"),
    Op("where", jnp.where, "WhereBackward0", torch="torch.where, masked_fill"),
    Op("lerp", _lerp, "LerpBackward0"),
    Op("reciprocal", jnp.reciprocal, "ReciprocalBackward0"),
    # elementwise functions
    Op("exp", jnp.exp, "ExpBackward0"),
    Op("expm1", jnp.expm1, "Expm1Backward0"),
    Op("log", jnp.log, "LogBackward0"),
    Op("log1p", jnp.log1p, "Log1PBackward0"),
    Op("log2", jnp.log2, "Log2Backward0"),
    Op("sin", jnp.sin, "SinBackward0"),
    Op("cos", jnp.cos, "CosBackward0"),
    Op("tan", jnp.tan, "TanBackward0"),
    Op("tanh", jnp.tanh, "TanhBackward0"),
    Op("sigmoid", jax.nn.sigmoid, "SigmoidBackward0"),
    Op("relu", jax.nn.relu, "ReluBackward0", torch="torch.relu, F.relu"),
    Op(
        "gelu", jax.nn.gelu, "GeluBackward0", torch="F.gelu"
    ),  # param approximate: PyTorch's default is exact
    Op("silu", jax.nn.silu, "SiluBackward0", torch="F.silu"),
    Op("softplus", _softplus, "SoftplusBackward0", torch="F.softplus"),
    Op("sqrt", jnp.sqrt, "SqrtBackward0"),
    Op("rsqrt", lax.rsqrt, "RsqrtBackward0"),
    Op("abs", jnp.abs, "AbsBackward0"),
    Op("erf", jsp.erf, "ErfBackward0"),
    Op("sign", jnp.sign, "SignBackward0", _ZERO_GRAD),
    Op("floor", jnp.floor, "FloorBackward0", _ZERO_GRAD),
    Op("ceil", jnp.ceil, "CeilBackward0", _ZERO_GRAD),
    Op("round", jnp.round, "RoundBackward0", _ZERO_GRAD + "; halves round to even"),
    Op("trunc", jnp.trunc, "TruncBackward0", _ZERO_GRAD),
    # comparisons and logic: boolean results, never differentiable
    Op("lt", jnp.less, None, torch="<"),
    Op("le", jnp.less_equal, None, torch="<="),
    Op("gt", jnp.greater, None, torch=">"),
    Op("ge", jnp.greater_equal, None, torch=">="),
    Op("eq", jnp.equal, None, torch="=="),
    Op("ne", jnp.not_equal, None, torch="!="),
    Op("logical_not", jnp.logical_not, None),
    Op("logical_and", jnp.logical_and, None),
    Op("logical_or", jnp.logical_or, None),
    Op("all", jnp.all, None),
    Op("any", jnp.any, None),
    # reductions (params: axis, keepdims)
    Op("sum", jnp.sum, "SumBackward0"),
    Op("mean", jnp.mean, "MeanBackward0"),
    Op("prod", jnp.prod, "ProdBackward0"),
    Op(
        "amax",
        jnp.max,
        "AmaxBackward0",
        "ties share the gradient evenly, as in PyTorch",
        torch="torch.amax, max() without dim",
    ),
    Op(
        "amin",
        jnp.min,
        "AminBackward0",
        "ties share the gradient evenly, as in PyTorch",
        torch="torch.amin, min() without dim",
    ),
    Op("argmax", jnp.argmax, None, torch="torch.argmax, indices of max(dim)"),
    Op("argmin", jnp.argmin, None, torch="torch.argmin, indices of min(dim)"),
    Op("var", _var, "VarBackward0"),
    Op("std", _std, "StdBackward0"),
    Op("norm", _norm, "NormBackward0"),
    Op("logsumexp", jsp.logsumexp, "LogsumexpBackward0"),
    Op("cumsum", jnp.cumsum, "CumsumBackward0"),
    Op("cumprod", jnp.cumprod, "CumprodBackward0"),
    Op("softmax", jax.nn.softmax, "SoftmaxBackward0", torch="torch.softmax, F.softmax"),
    Op(
        "log_softmax",
        jax.nn.log_softmax,
        "LogSoftmaxBackward0",
        torch="F.log_softmax, F.cross_entropy",
    ),
    # shape
    Op(
        "reshape",
        jnp.reshape,
        "ViewBackward0",
        "a view: in-place ops on it write into its input",
        torch="reshape, view, flatten",
    ),
    Op("transpose", jnp.swapaxes, "TransposeBackward0", torch="transpose, swapaxes, t"),
    Op("permute", jnp.transpose, "PermuteBackward0", torch="permute, T"),
    Op("squeeze", jnp.squeeze, "SqueezeBackward0"),
    Op("unsqueeze", jnp.expand_dims, "UnsqueezeBackward0"),
    Op("expand", jnp.broadcast_to, "ExpandBackward0", torch="expand, expand_as"),
    Op("repeat", jnp.tile, "RepeatBackward0"),
    Op(
        "cat",
        lambda *xs, axis: jnp.concatenate(xs, axis),
        "CatBackward0",
        torch="torch.cat, concat",
    ),
    Op("stack", lambda *xs, axis: jnp.stack(xs, axis), "StackBackward0"),
    Op("flip", jnp.flip, "FlipBackward0"),
    Op("roll", jnp.roll, "RollBackward0"),
    Op("pad", _pad, "ConstantPadNdBackward0", torch="F.pad"),
    Op(
        "astype",
        lambda x, *, dtype: x.astype(dtype),
        "ToCopyBackward0",
        torch="to, float, double, half, bfloat16, long, int, bool",
    ),
    # indexing
    Op(
        "getitem",
        _getitem,
        "IndexBackward0",
        "basic indexing gives views; integer arrays and masks give copies (as PyTorch)",
        torch="x[...] (ints, slices, None, ..., integer arrays, boolean masks), split, chunk",
    ),
    Op("setitem", _setitem, "IndexPutBackward0", torch="x[...] = v"),
    Op(
        "index_select",
        lambda x, i, *, axis: jnp.take(x, i, axis),
        "IndexSelectBackward0",
        torch="torch.index_select, F.embedding",
    ),
    Op(
        "gather",
        lambda x, i, *, axis: jnp.take_along_axis(x, i, axis),
        "GatherBackward0",
        torch="torch.gather, values of max/min(dim)",
    ),
    Op("scatter", _scatter, "ScatterBackward0"),
    Op("scatter_add", _scatter_add, "ScatterAddBackward0"),
    # linear algebra
    Op("matmul", jnp.matmul, "MmBackward0", torch="torch.matmul, @, mm, bmm, dot"),
    Op("linear", lambda x, w: jnp.matmul(x, w.T), "MmBackward0", torch="F.linear without bias"),
    Op(
        "linear_bias",
        lambda x, w, b: jnp.matmul(x, w.T) + b,
        "AddmmBackward0",
        torch="F.linear, nn.Linear",
    ),
    Op("outer", jnp.outer, "OuterBackward0"),
    Op("einsum", lambda *xs, eq: jnp.einsum(eq, *xs), "EinsumBackward0"),
    Op("linalg_norm", jnp.linalg.norm, "LinalgVectorNormBackward0", torch="torch.linalg.norm"),
    Op("linalg_inv", jnp.linalg.inv, "LinalgInvExBackward0", torch="torch.linalg.inv"),
    Op("linalg_solve", jnp.linalg.solve, "LinalgSolveExBackward0", torch="torch.linalg.solve"),
    # neural-network primitives
    Op("conv2d", _conv2d, "ConvolutionBackward0", torch="F.conv2d"),
    Op(
        "max_pool2d",
        partial(_pool, kind="max"),
        "MaxPool2DWithIndicesBackward0",
        torch="F.max_pool2d",
    ),
    Op("avg_pool2d", partial(_pool, kind="avg"), "AvgPool2DBackward0", torch="F.avg_pool2d"),
    Op(
        "dropout",
        _dropout,
        "NativeDropoutBackward0",
        "masks come from varjax's seeded keys",
        torch="F.dropout",
    ),
    Op(
        "one_hot",
        lambda x, *, num_classes: jax.nn.one_hot(x, num_classes, dtype=x.dtype),
        None,
        torch="F.one_hot",
    ),
    Op("clone", jnp.copy, "CloneBackward0", "a new buffer, never an alias", torch="clone"),
    # values without history
    Op("detach", lax.stop_gradient, None, torch="detach, .data, Variable(v)"),
    Op("full", _full, None, torch="full, ones, zeros, ones_like, zeros_like"),
    Op("arange", lambda *, start, stop, step, dtype: jnp.arange(start, stop, step, dtype), None),
    Op("linspace", _linspace, None),
    Op("eye", lambda *, n, m, dtype: jnp.eye(n, m, dtype=dtype), None),
    Op("normal", _normal, None, torch="randn"),
    Op("uniform", _uniform, None, torch="rand"),
)

OPS: dict[str, Op] = {op.name: op for op in _TABLE}


def register(op: Op) -> Op:
    """Add an op to the table (``varjax.op`` does this for user functions)."""
    existing = OPS.get(op.name)
    if existing is not None and existing.fn is not op.fn:
        raise ValueError(f"an op named {op.name!r} is already registered")
    OPS[op.name] = op
    return op
