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
