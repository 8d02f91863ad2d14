"""Type stub of ``varjax._functions``; written by ``python -m varjax._opdoc``."""

from collections.abc import Sequence
from typing import Any

from ._variable import Variable

Tensor = Variable
Dims = int | Sequence[int] | None

__all__ = [
    "abs",
    "acos",
    "acosh",
    "add",
    "addcdiv",
    "addcmul",
    "all",
    "allclose",
    "amax",
    "amin",
    "any",
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctan2",
    "arctanh",
    "argmax",
    "argmin",
    "argsort",
    "argwhere",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "bernoulli",
    "bincount",
    "bitwise_and",
    "bitwise_not",
    "bitwise_or",
    "bitwise_xor",
    "bmm",
    "broadcast_to",
    "bucketize",
    "cat",
    "cdist",
    "ceil",
    "chunk",
    "clamp",
    "clamp_max",
    "clamp_min",
    "clip",
    "clone",
    "concat",
    "concatenate",
    "cos",
    "cosh",
    "count_nonzero",
    "cross",
    "cummax",
    "cummin",
    "cumprod",
    "cumsum",
    "deg2rad",
    "diag",
    "diagonal",
    "diff",
    "div",
    "divide",
    "dot",
    "einsum",
    "eq",
    "equal",
    "erf",
    "erfinv",
    "exp",
    "exp2",
    "expm1",
    "fix",
    "flatten",
    "flip",
    "floor",
    "floor_divide",
    "fmod",
    "gather",
    "ge",
    "greater",
    "greater_equal",
    "gt",
    "histc",
    "hypot",
    "index_add",
    "index_copy",
    "index_fill",
    "index_select",
    "isclose",
    "isfinite",
    "isinf",
    "isnan",
    "kron",
    "kthvalue",
    "le",
    "lerp",
    "less",
    "less_equal",
    "log",
    "log10",
    "log1p",
    "log2",
    "log_softmax",
    "logaddexp",
    "logcumsumexp",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "logsumexp",
    "lt",
    "masked_fill",
    "masked_scatter",
    "masked_select",
    "matmul",
    "max",
    "maximum",
    "mean",
    "median",
    "meshgrid",
    "min",
    "minimum",
    "mm",
    "mode",
    "moveaxis",
    "movedim",
    "mul",
    "multinomial",
    "multiply",
    "nan_to_num",
    "narrow",
    "ne",
    "neg",
    "negative",
    "nonzero",
    "norm",
    "not_equal",
    "outer",
    "permute",
    "poisson",
    "pow",
    "prod",
    "rad2deg",
    "reciprocal",
    "relu",
    "remainder",
    "repeat_interleave",
    "reshape",
    "roll",
    "round",
    "rsqrt",
    "scatter",
    "scatter_add",
    "searchsorted",
    "sigmoid",
    "sign",
    "silu",
    "sin",
    "sinh",
    "softmax",
    "sort",
    "split",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "std",
    "sub",
    "subtract",
    "sum",
    "swapaxes",
    "swapdims",
    "t",
    "take",
    "take_along_dim",
    "tan",
    "tanh",
    "tile",
    "topk",
    "trace",
    "transpose",
    "tril",
    "triu",
    "true_divide",
    "trunc",
    "unbind",
    "unflatten",
    "unique",
    "unsqueeze",
    "var",
    "where",
]

def abs(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def acos(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def acosh(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def add(
    input: Tensor, other: Any, *, alpha: float = 1, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def addcdiv(
    input: Tensor,
    tensor1: Any,
    tensor2: Any,
    *,
    value: float = 1,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Variable: ...
def addcmul(
    input: Tensor,
    tensor1: Any,
    tensor2: Any,
    *,
    value: float = 1,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Variable: ...
def all(
    input: Tensor,
    dim: Dims = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Tensor: ...
def allclose(
    input: Tensor,
    other: Any,
    rtol: float = 1e-05,
    atol: float = 1e-08,
    equal_nan: bool = False,
    *,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> bool: ...
def amax(
    input: Tensor,
    dim: Dims = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Tensor: ...
def amin(
    input: Tensor,
    dim: Dims = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Tensor: ...
def any(
    input: Tensor,
    dim: Dims = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Tensor: ...
def arccos(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def arccosh(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def arcsin(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def arcsinh(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def arctan(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def arctan2(
    input: Tensor, other: Tensor | float, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Tensor: ...
def arctanh(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def argmax(
    input: Tensor,
    dim: int | None = None,
    keepdim: bool = False,
    *,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Variable: ...
def argmin(
    input: Tensor,
    dim: int | None = None,
    keepdim: bool = False,
    *,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Variable: ...
def argsort(
    input: Tensor,
    dim: int = -1,
    descending: bool = False,
    stable: bool = False,
    *,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Variable: ...
def argwhere(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Variable: ...
def asin(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def asinh(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def atan(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def atan2(
    input: Tensor, other: Tensor | float, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Tensor: ...
def atanh(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def bernoulli(
    input: Tensor,
    p: Any = None,
    *,
    generator: Any = None,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Variable: ...
def bincount(
    input: Tensor,
    weights: Any = None,
    minlength: int = 0,
    *,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Variable: ...
def bitwise_and(
    input: Tensor, other: Tensor | float, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Tensor: ...
def bitwise_not(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def bitwise_or(
    input: Tensor, other: Tensor | float, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Tensor: ...
def bitwise_xor(
    input: Tensor, other: Tensor | float, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Tensor: ...
def bmm(
    input: Tensor, mat2: Any, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def broadcast_to(
    input: Tensor, size: Any, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def bucketize(
    input: Any,
    boundaries: Any,
    *,
    right: bool = False,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Variable: ...
def cat(
    tensors: Sequence[Variable], dim: int = 0, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def cdist(
    x1: Any, x2: Any, p: float = 2.0, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def ceil(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def chunk(
    input: Tensor, chunks: int, dim: int = 0, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> tuple[Variable, ...]: ...
def clamp(
    input: Tensor,
    min: Any = None,
    max: Any = None,
    *,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Variable: ...
def clamp_max(
    input: Tensor, max: Any, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def clamp_min(
    input: Tensor, min: Any, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def clip(
    input: Tensor,
    min: Any = None,
    max: Any = None,
    *,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Variable: ...
def clone(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Variable: ...
def concat(
    tensors: Sequence[Variable], dim: int = 0, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def concatenate(
    tensors: Sequence[Variable], dim: int = 0, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def cos(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def cosh(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def count_nonzero(
    input: Tensor, dim: Any = None, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def cross(
    input: Tensor,
    other: Any,
    dim: int | None = None,
    *,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Variable: ...
def cummax(input: Tensor, dim: int, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Any: ...
def cummin(input: Tensor, dim: int, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Any: ...
def cumprod(
    input: Tensor, dim: int, dtype: Any = None, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Tensor: ...
def cumsum(
    input: Tensor, dim: int, dtype: Any = None, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Tensor: ...
def deg2rad(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def diag(
    input: Tensor, diagonal: int = 0, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def diagonal(
    input: Tensor,
    offset: int = 0,
    dim1: int = 0,
    dim2: int = 1,
    *,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Variable: ...
def diff(
    input: Tensor,
    n: int = 1,
    dim: int = -1,
    prepend: Any = None,
    append: Any = None,
    *,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Variable: ...
def div(
    input: Tensor,
    other: Any,
    *,
    rounding_mode: str | None = None,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Variable: ...
def divide(
    input: Tensor,
    other: Any,
    *,
    rounding_mode: str | None = None,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Variable: ...
def dot(
    input: Tensor, other: Any, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def einsum(
    equation: str, *operands: Any, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def eq(
    input: Tensor, other: Tensor | float, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Tensor: ...
def equal(input: Tensor, other: Any, *, out: Tensor | tuple[Tensor, ...] | None = None) -> bool: ...
def erf(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def erfinv(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def exp(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def exp2(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def expm1(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def fix(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def flatten(
    input: Tensor,
    start_dim: int = 0,
    end_dim: int = -1,
    *,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Variable: ...
def flip(input: Tensor, dims, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Variable: ...
def floor(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def floor_divide(
    input: Tensor, other: Tensor | float, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Tensor: ...
def fmod(
    input: Tensor, other: Tensor | float, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Tensor: ...
def gather(
    input: Tensor, dim: int, index: Any, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def ge(
    input: Tensor, other: Tensor | float, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Tensor: ...
def greater(
    input: Tensor, other: Tensor | float, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Tensor: ...
def greater_equal(
    input: Tensor, other: Tensor | float, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Tensor: ...
def gt(
    input: Tensor, other: Tensor | float, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Tensor: ...
def histc(
    input: Tensor,
    bins: int = 100,
    min: float = 0,
    max: float = 0,
    *,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Variable: ...
def hypot(
    input: Tensor, other: Tensor | float, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Tensor: ...
def index_add(
    input: Tensor,
    dim: int,
    index: Any,
    source: Any,
    *,
    alpha: float = 1,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Variable: ...
def index_copy(
    input: Tensor,
    dim: int,
    index: Any,
    source: Any,
    *,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Variable: ...
def index_fill(
    input: Tensor,
    dim: int,
    index: Any,
    value: Any,
    *,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Variable: ...
def index_select(
    input: Tensor, dim: int, index: Any, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def isclose(
    input: Tensor,
    other: Any,
    rtol: float = 1e-05,
    atol: float = 1e-08,
    equal_nan: bool = False,
    *,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Variable: ...
def isfinite(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def isinf(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def isnan(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def kron(
    input: Tensor, other: Any, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def kthvalue(
    input: Tensor,
    k: int,
    dim: int = -1,
    keepdim: bool = False,
    *,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Any: ...
def le(
    input: Tensor, other: Tensor | float, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Tensor: ...
def lerp(
    input: Tensor, end: Any, weight: Any, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def less(
    input: Tensor, other: Tensor | float, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Tensor: ...
def less_equal(
    input: Tensor, other: Tensor | float, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Tensor: ...
def log(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def log10(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def log1p(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def log2(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def log_softmax(
    input: Tensor, dim: int, dtype: Any = None, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Tensor: ...
def logaddexp(
    input: Tensor, other: Tensor | float, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Tensor: ...
def logcumsumexp(
    input: Tensor, dim: int, dtype: Any = None, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Tensor: ...
def logical_and(
    input: Tensor, other: Tensor | float, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Tensor: ...
def logical_not(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def logical_or(
    input: Tensor, other: Tensor | float, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Tensor: ...
def logical_xor(
    input: Tensor, other: Tensor | float, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Tensor: ...
def logsumexp(
    input: Tensor,
    dim: Dims = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Tensor: ...
def lt(
    input: Tensor, other: Tensor | float, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Tensor: ...
def masked_fill(
    input: Tensor, mask: Any, value: Any, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def masked_scatter(
    input: Tensor, mask: Any, source: Any, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def masked_select(
    input: Tensor, mask: Any, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def matmul(
    input: Tensor, other: Any, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def max(
    input: Tensor,
    dim: Any = None,
    keepdim: bool = False,
    *,
    other: Any = None,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Any: ...
def maximum(
    input: Tensor, other: Tensor | float, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Tensor: ...
def mean(
    input: Tensor,
    dim: Dims = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Tensor: ...
def median(
    input: Tensor,
    dim: Any = None,
    keepdim: bool = False,
    *,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Any: ...
def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple[Variable, ...]: ...
def min(
    input: Tensor,
    dim: Any = None,
    keepdim: bool = False,
    *,
    other: Any = None,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Any: ...
def minimum(
    input: Tensor, other: Tensor | float, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Tensor: ...
def mm(input: Tensor, mat2: Any, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Variable: ...
def mode(
    input: Tensor,
    dim: int = -1,
    keepdim: bool = False,
    *,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Any: ...
def moveaxis(
    input: Tensor, source: Any, destination: Any, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def movedim(
    input: Tensor, source: Any, destination: Any, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def mul(
    input: Tensor, other: Any, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def multinomial(
    input: Tensor,
    num_samples: int,
    replacement: bool = False,
    *,
    generator: Any = None,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Variable: ...
def multiply(
    input: Tensor, other: Any, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def nan_to_num(
    input: Tensor,
    nan: float | None = 0.0,
    posinf: float | None = None,
    neginf: float | None = None,
    *,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Tensor: ...
def narrow(
    input: Tensor,
    dim: int,
    start: int,
    length: int,
    *,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Variable: ...
def ne(
    input: Tensor, other: Tensor | float, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Tensor: ...
def neg(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def negative(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def nonzero(
    input: Tensor, *, as_tuple: bool = False, out: Tensor | tuple[Tensor, ...] | None = None
) -> Any: ...
def norm(
    input: Tensor,
    p: float | str = "fro",
    dim=None,
    keepdim: bool = False,
    *,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Variable: ...
def not_equal(
    input: Tensor, other: Tensor | float, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Tensor: ...
def outer(
    input: Tensor, vec2: Any, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def permute(
    input: Tensor, *dims: int, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def poisson(
    input: Tensor, generator: Any = None, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def pow(
    input: Tensor, exponent: Any, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def prod(
    input: Tensor,
    dim: Dims = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Tensor: ...
def rad2deg(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def reciprocal(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def relu(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def remainder(
    input: Tensor, other: Tensor | float, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Tensor: ...
def repeat_interleave(
    input: Tensor,
    repeats: Any,
    dim: int | None = None,
    *,
    output_size: int | None = None,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Variable: ...
def reshape(
    input: Tensor, *shape: int, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def roll(
    input: Tensor, shifts, dims=None, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def round(
    input: Tensor, decimals: int = 0, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def rsqrt(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def scatter(
    input: Tensor,
    dim: int,
    index: Any,
    src: Any = None,
    *,
    value: Any = None,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Variable: ...
def scatter_add(
    input: Tensor, dim: int, index: Any, src: Any, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def searchsorted(
    sorted_sequence: Any,
    values: Any,
    *,
    right: bool = False,
    side: str | None = None,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Variable: ...
def sigmoid(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def sign(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def silu(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def sin(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def sinh(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def softmax(
    input: Tensor, dim: int, dtype: Any = None, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Tensor: ...
def sort(
    input: Tensor,
    dim: int = -1,
    descending: bool = False,
    stable: bool = False,
    *,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Any: ...
def split(
    input: Tensor,
    split_size_or_sections,
    dim: int = 0,
    *,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> tuple[Variable, ...]: ...
def sqrt(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def square(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def squeeze(
    input: Tensor, dim=None, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def stack(
    tensors: Sequence[Variable], dim: int = 0, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def std(
    input: Tensor,
    dim=None,
    unbiased=None,
    keepdim=False,
    *,
    correction=None,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Variable: ...
def sub(
    input: Tensor, other: Any, *, alpha: float = 1, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def subtract(
    input: Tensor, other: Any, *, alpha: float = 1, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def sum(
    input: Tensor,
    dim: Dims = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Tensor: ...
def swapaxes(
    input: Tensor, dim0: int, dim1: int, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def swapdims(
    input: Tensor, dim0: int, dim1: int, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def t(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Variable: ...
def take(
    input: Tensor, index: Any, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def take_along_dim(
    input: Tensor, indices: Any, dim: Any = None, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def tan(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def tanh(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def tile(
    input: Tensor, dims: Any, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def topk(
    input: Tensor,
    k: int,
    dim: int = -1,
    largest: bool = True,
    sorted: bool = True,
    *,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Any: ...
def trace(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Variable: ...
def transpose(
    input: Tensor, dim0: int, dim1: int, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def tril(
    input: Tensor, diagonal: int = 0, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def triu(
    input: Tensor, diagonal: int = 0, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def true_divide(
    input: Tensor,
    other: Any,
    *,
    rounding_mode: str | None = None,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Variable: ...
def trunc(input: Tensor, *, out: Tensor | tuple[Tensor, ...] | None = None) -> Tensor: ...
def unbind(
    input: Tensor, dim: int = 0, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> tuple[Variable, ...]: ...
def unflatten(
    input: Tensor, dim: int, sizes: Any, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def unique(
    input: Tensor,
    sorted: bool = True,
    return_inverse: bool = False,
    return_counts: bool = False,
    dim: int | None = None,
    *,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Any: ...
def unsqueeze(
    input: Tensor, dim: int, *, out: Tensor | tuple[Tensor, ...] | None = None
) -> Variable: ...
def var(
    input: Tensor,
    dim=None,
    unbiased=None,
    keepdim=False,
    *,
    correction=None,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Variable: ...
def where(
    condition: Any,
    input: Any = None,
    other: Any = None,
    *,
    out: Tensor | tuple[Tensor, ...] | None = None,
) -> Any: ...
