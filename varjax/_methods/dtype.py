"""Dtype conversions: ``to(dtype)`` and its spellings ``float()``, ``long()``, ..."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jax
import numpy as np

from .._dtypes import canonical, is_floating
from .._ops import P
from ._base import Methods

if TYPE_CHECKING:
    from .._variable import Variable


def _cast(name: str, dtype: Any):
    def method(self) -> Variable:
        return self.to(dtype)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``x.{name}()`` is ``x.to({np.dtype(dtype).name})``."
    return method


class DtypeMethods(Methods):
    __slots__ = ()

    def to(self, dtype: Any = None, *args: Any, **kwargs: Any) -> Variable:
        """A copy in another dtype: ``x.to(varjax.float32)``. Devices other than the current
        one are not handled here: use ``jax.device_put`` on ``jnp.asarray(x)``."""
        if dtype is None or isinstance(dtype, (str, jax.Device)) and dtype in ("cpu", self.device):
            dtype = kwargs.get("dtype", args[0] if args else None)
            if dtype is None:
                return self
        dt = canonical(dtype)
        if dt == self.dtype:
            return self
        return self._apply(P.astype, self, params=(("dtype", dt),))

    float = _cast("float", np.float32)  # noqa: A003 - PyTorch's method names
    double = _cast("double", np.float64)
    half = _cast("half", np.float16)
    bfloat16 = _cast("bfloat16", jax.numpy.bfloat16)
    long = _cast("long", np.int64)
    int = _cast("int", np.int32)  # noqa: A003
    bool = _cast("bool", np.bool_)  # noqa: A003

    def is_floating_point(self) -> bool:
        return is_floating(self.dtype)
