"""Dtype rules: PyTorch's defaults and promotions, on JAX's dtypes."""

from __future__ import annotations

import os
from functools import cache, lru_cache
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import _caches


def _enable_x64() -> None:
    """Turn on JAX's x64 mode, so ``int64`` and ``float64`` are what they are in PyTorch
    (int64 the default integer, float64 exact). varjax's default float stays float32.

    ``VARJAX_X64=0`` in the environment before the import leaves JAX's setting alone (then
    int64 is held as int32 and float64 is an error, as JAX's 32-bit mode has it). The mode
    is process-wide: plain ``jnp`` code in the same process also gets 64-bit defaults."""
    if os.environ.get("VARJAX_X64", "1").lower() not in ("0", "false", "off"):
        jax.config.update("jax_enable_x64", True)


_enable_x64()
_DEFAULT_FLOAT = [np.dtype(np.float32)]


class dtype:  # noqa: N801 - PyTorch's name
    """A tensor's element type, as ``torch.dtype``: ``varjax.float32``, ``x.dtype``.

    PyTorch's attributes (``is_floating_point``, ``is_complex``, ``is_signed``, ``itemsize``,
    ``to_real()``, ``to_complex()``) on a NumPy dtype, which it equals and hashes as, so it can
    be compared with ``np.float32`` or ``"float32"`` and passed to NumPy and JAX as a dtype
    (both read its ``.dtype``). NumPy's attributes (``kind``, ``name``, ...) read through.

    Example:
        >>> import varjax as vj
        >>> vj.float16.is_floating_point, vj.float16.itemsize, vj.tensor([1]).dtype
        (True, 2, varjax.int64)
    """

    __slots__ = ("dtype",)
    _made: dict = {}

    def __new__(cls, spec: Any) -> dtype:
        dt = np.dtype(spec)
        made = cls._made.get(dt)
        if made is None:
            made = cls._made[dt] = object.__new__(cls)
            made.dtype = dt  # the NumPy dtype: what np.dtype(d) and JAX read
        return made

    @property
    def __numpy_dtype__(self) -> np.dtype:  # NumPy's conversion protocol, looked up first
        return self.dtype

    @property
    def is_floating_point(self) -> bool:
        return self.dtype.kind == "f" or self.dtype == jnp.bfloat16

    @property
    def is_complex(self) -> bool:
        return self.dtype.kind == "c"

    @property
    def is_signed(self) -> bool:
        return self.dtype.kind in "fic" or self.dtype == jnp.bfloat16

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    def to_real(self) -> dtype:
        """The real dtype of a complex one (complex64 -> float32); a real dtype itself."""
        return dtype(np.finfo(self.dtype).dtype) if self.is_complex else self

    def to_complex(self) -> dtype:
        """The complex dtype of a floating one (float32 -> complex64)."""
        if self.is_complex:
            return self
        if self.dtype not in (np.float32, np.float64):
            raise RuntimeError(f"to_complex: there is no complex dtype for {self}")
        return dtype(np.complex64 if self.dtype == np.float32 else np.complex128)

    def __getattr__(self, name: str) -> Any:
        return getattr(object.__getattribute__(self, "dtype"), name)

    def __eq__(self, other: object) -> bool:
        if type(other) is dtype:
            return self is other  # one object per dtype
        if isinstance(other, np.dtype):  # cache and dict lookups: no conversion
            return self.dtype == other
        try:
            return self.dtype == np.dtype(other)  # type: ignore[arg-type]
        except TypeError:
            return NotImplemented

    def __hash__(self) -> int:
        return hash(self.dtype)

    def __repr__(self) -> str:
        return f"varjax.{self.dtype.name}"

    def __reduce__(self) -> tuple:
        return dtype, (self.dtype,)


def torch_dtype(dt: np.dtype) -> dtype:
    """The ``varjax.dtype`` of a NumPy dtype (one object per dtype)."""
    return dtype._made.get(dt) or dtype(dt)


def default_float() -> np.dtype:
    """The dtype of Python floats and of new floating Variables (``set_default_dtype``)."""
    return _DEFAULT_FLOAT[0]


def get_default_dtype() -> dtype:
    """The default floating dtype (float32 unless ``set_default_dtype`` changed it).

    Example:
        >>> import varjax as vj
        >>> vj.get_default_dtype()
        varjax.float32
    """
    return torch_dtype(_DEFAULT_FLOAT[0])


def set_default_dtype(dtype: Any) -> None:
    """Make ``dtype`` (float16, bfloat16, float32 or float64) the dtype of Python floats and
    new floating Variables, as PyTorch's ``set_default_dtype``.

    Example:
        >>> import varjax as vj
        >>> vj.set_default_dtype(vj.float64)
        >>> vj.tensor([1.5]).dtype
        varjax.float64
        >>> vj.set_default_dtype(vj.float32)  # back to the default
    """
    dt = canonical(dtype)
    if dt.kind != "f" and dt != jnp.bfloat16:
        raise TypeError(f"only floating-point types are supported as the default type, got {dt}")
    if dt != _DEFAULT_FLOAT[0]:
        _DEFAULT_FLOAT[0] = dt
        _caches.clear_all()  # cached abstract evaluations hold the old default's dtypes


class finfo:  # noqa: N801 - PyTorch's name
    """Machine limits of a floating dtype, as ``torch.finfo``: ``bits eps max min tiny
    smallest_normal resolution dtype``.

    Example:
        >>> import varjax as vj
        >>> vj.finfo(vj.float16).max
        65504.0
    """

    def __init__(self, dtype: Any = None) -> None:
        info = jnp.finfo(default_float() if dtype is None else dtype)
        self.bits, self.dtype = int(info.bits), str(np.dtype(info.dtype))
        self.eps, self.max, self.min = float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -int(info.precision)

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution}, min={self.min}, max={self.max}, "
                f"eps={self.eps}, smallest_normal={self.tiny}, dtype={self.dtype})")  # fmt: skip


class iinfo:  # noqa: N801 - PyTorch's name
    """Limits of an integer dtype, as ``torch.iinfo``: ``bits max min dtype``.

    Example:
        >>> import varjax as vj
        >>> vj.iinfo(vj.int8)
        iinfo(min=-128, max=127, dtype=int8)
        >>> vj.iinfo(vj.int8).max
        127
    """

    def __init__(self, dtype: Any) -> None:
        info = jnp.iinfo(dtype)
        self.bits, self.max, self.min = int(info.bits), int(info.max), int(info.min)
        self.dtype = str(np.dtype(dtype))

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


def default_int() -> np.dtype:
    """The default integer: int64 as in PyTorch (int32 where JAX's x64 mode is off)."""
    return _INT64 if jax.config.jax_enable_x64 else _INT32


_INT64, _INT32 = np.dtype(np.int64), np.dtype(np.int32)


@cache
def is_floating(dtype) -> bool:
    return bool(jnp.issubdtype(dtype, jnp.inexact))


@lru_cache(maxsize=4096)
def promote(dtypes: tuple) -> np.dtype:
    return np.dtype(jnp.result_type(*dtypes))


def scalar_dtype(base: np.dtype, scalars) -> np.dtype:
    """The dtype PyTorch gives a Python scalar combined with tensors of dtype ``base``."""
    if any(isinstance(s, float) for s in scalars):
        return base if is_floating(base) else default_float()
    if any(not isinstance(s, bool) for s in scalars):
        return default_int() if base == np.bool_ else base
    return base


def canonical(dtype: Any) -> np.dtype:
    """The dtype a Variable can hold for a requested ``dtype``. Where JAX's x64 mode is off
    (``VARJAX_X64=0``), int64 is held as int32 (values that do not fit raise) and float64 is an
    error, never a silent float32."""
    dt = np.dtype(dtype)
    if dt == np.float64 and not jax.config.jax_enable_x64:
        raise RuntimeError(f"float64 needs JAX's x64 mode, which is off. {X64_REMEDY}")
    return default_int() if dt == np.int64 else dt


X64_REMEDY = (
    "varjax turns JAX's x64 mode on at import unless VARJAX_X64=0 is set; here it is off "
    "(VARJAX_X64=0, or jax_enable_x64 turned off later), so integers are int32 and float64 "
    "is refused: unset VARJAX_X64, or call jax.config.update('jax_enable_x64', True)"
)


def check_fits(src: np.ndarray, dtype: np.dtype, narrowed_floats: bool, what: str) -> None:
    """Raise where storing ``src`` as ``dtype`` would change a value instead of keeping it.

    Integers that do not fit ``dtype`` raise, as PyTorch's "cannot be converted without
    overflow"; floats that would turn into inf raise only where ``narrowed_floats`` (JAX
    narrowing float64 data, not a float32 the user asked for, which PyTorch also rounds)."""
    kind, to = src.dtype.kind, dtype.kind
    if src.size == 0 or kind not in "iuf" or to not in "iuf" or src.dtype == dtype:
        return
    if kind in "iu" and to in "iu":
        info = np.iinfo(dtype)
        lo, hi = src.min(), src.max()
        if lo < info.min or hi > info.max:
            bad = hi if hi > info.max else lo
            raise RuntimeError(
                f"{what}: value {int(bad)} cannot be converted to type {dtype} without "
                f"overflow (it holds {info.min}..{info.max}). {X64_REMEDY}"
            )
    elif kind == "f" and to == "f" and narrowed_floats and src.dtype.itemsize > dtype.itemsize:
        finite = src[np.isfinite(src)]
        limit = float(np.finfo(dtype).max)
        if finite.size and float(np.abs(finite).max()) > limit:
            bad = finite[np.argmax(np.abs(finite))]
            raise RuntimeError(
                f"{what}: value {float(bad)!r} of a {src.dtype} array does not fit {dtype} "
                f"(largest {limit:.6g}) and would become inf. {X64_REMEDY}"
            )
