"""Dtype rules: PyTorch's defaults and promotions, on JAX's dtypes."""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def default_float() -> np.dtype:
    return np.dtype(jnp.float32)


@cache
def default_int() -> np.dtype:
    """JAX's default integer: int32 unless x64 mode is on (PyTorch's is int64)."""
    return np.dtype(jax.dtypes.canonicalize_dtype(np.int64))


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
    """The dtype a Variable can hold for a requested ``dtype``: int64 is JAX's default integer
    (int32 unless x64 mode is on); float64 without x64 mode is an error, never a silent
    float32."""
    dt = np.dtype(dtype)
    if dt == np.float64 and jax.dtypes.canonicalize_dtype(np.float64) != np.float64:
        raise RuntimeError(
            "float64 needs JAX's x64 mode, which is off: call "
            "jax.config.update('jax_enable_x64', True) at start-up (or set JAX_ENABLE_X64=1)"
        )
    return default_int() if dt == np.int64 else dt


_X64_REMEDY = (
    "JAX's default integer is int32 and its default float float32 unless x64 mode is on: "
    "call jax.config.update('jax_enable_x64', True) at start-up to keep 64-bit values"
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
                f"overflow (it holds {info.min}..{info.max}). {_X64_REMEDY}"
            )
    elif kind == "f" and to == "f" and narrowed_floats and src.dtype.itemsize > dtype.itemsize:
        finite = src[np.isfinite(src)]
        limit = float(np.finfo(dtype).max)
        if finite.size and float(np.abs(finite).max()) > limit:
            bad = finite[np.argmax(np.abs(finite))]
            raise RuntimeError(
                f"{what}: value {float(bad)!r} of a {src.dtype} array does not fit {dtype} "
                f"(largest {limit:.6g}) and would become inf. {_X64_REMEDY}"
            )
