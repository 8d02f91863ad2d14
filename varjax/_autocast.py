"""Autocast: PyTorch's mixed-precision op lists, applied when an op is recorded.

While ``varjax.autocast`` is on, ``record`` asks ``plan(op, inputs)`` which inputs to cast
before it records the op: matrix products and convolutions run in the low-precision dtype
(bfloat16 or float16), and the ops PyTorch keeps in float32 (reductions, exponentials and
logarithms, softmaxes, norms) get float32 inputs. The casts are recorded ``astype`` ops,
so gradients flow back to each input in its own dtype, as PyTorch's autocast does. Everything
else runs in the dtype its inputs promote to. The lists name ops of the table (``_ops``), so a
composite (a loss, ``layer_norm``) follows from the ops it is made of; the functions PyTorch
lists that are composites here cast their inputs themselves (``to_float32``).

The state is thread-local, like PyTorch's, and it is part of ``varjax.jit``'s cache key.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import numpy as np

from ._dtypes import is_floating, torch_dtype
from ._ops import Op

# PyTorch's "ops that can autocast to float16/bfloat16" (matmul, linear, conv, attention, the
# RNN cells), under this table's names; helpers of nn add their rows' names here.
LOW: set[str] = {
    "matmul", "linear", "linear_bias", "einsum", "outer", "conv2d", "conv_nd", "conv_transpose",
    "scaled_dot_product_attention", "rnn_layer",
}  # fmt: skip
# PyTorch's "ops that can autocast to float32", under this table's names: CUDA's list (used
# for every device but the CPU) and the CPU's, which keeps softmaxes and sums in low precision.
FLOAT32: set[str] = {
    "sum", "prod", "cumsum", "cumprod", "exp", "expm1", "log", "log10", "log1p", "log2",
    "reciprocal", "rsqrt", "sinh", "cosh", "tan", "acos", "asin", "erfinv", "pow", "softplus",
    "softmax", "log_softmax", "norm", "linalg_norm", "binary_cross_entropy",
}  # fmt: skip
FLOAT32_CPU: set[str] = {"prod", "binary_cross_entropy", "linalg_inv", "linalg_solve"}

_HALF = (np.dtype(jnp.float16), np.dtype(jnp.bfloat16))
_F32 = np.dtype("float32")
_DEFAULTS = {"cpu": "bfloat16", "cuda": "float16", "gpu": "float16", "tpu": "bfloat16",
             "xla": "bfloat16", "mps": "float16", "xpu": "bfloat16"}  # fmt: skip


def _as_dtype(d: Any) -> np.dtype:
    return np.dtype(getattr(jnp, d) if isinstance(d, str) else getattr(d, "dtype", d))


class _State(threading.local):
    dtype: np.dtype | None = None  # the low-precision dtype while autocast is on
    device_type: str = "cpu"


state = _State()

# autocast blocks open in any thread: ``record`` reads the thread-local state only while
# one is (a thread-local read on every recorded op costs more than the rest of the check)
entered = 0
_ENTERING = threading.Lock()


def key() -> Any:
    """What ``varjax.jit`` adds to its cache key: a trace recorded under autocast differs."""
    return state.dtype


def plan(op: Op, inputs: tuple) -> tuple | None:
    """``(target dtype, indices to cast)`` for ``op`` under the current autocast, or None."""
    name = op.name
    if name in LOW:
        target = state.dtype
        which = {i for i, x in enumerate(inputs) if _floating(x) and x.aval[1] != target}
    elif name in (FLOAT32_CPU if state.device_type == "cpu" else FLOAT32):
        target = _F32
        which = {i for i, x in enumerate(inputs) if _floating(x) and x.aval[1] in _HALF}
    else:
        return None
    return (target, frozenset(which)) if which else None


def _floating(x: Any) -> bool:
    return not isinstance(x, (bool, int, float, complex)) and is_floating(x.aval[1])


def to_float32(fn: Callable | None = None, *, cpu: bool = True) -> Any:
    """Decorate an ``nn.functional`` composite that PyTorch runs in float32 under autocast
    (the losses; ``layer_norm`` with ``cpu=False``, as it is on CUDA's list only): its
    half-precision Variable arguments become float32."""
    if fn is None:
        return functools.partial(to_float32, cpu=cpu)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if entered and state.dtype is not None and (cpu or state.device_type != "cpu"):
            args = tuple(_up(a) for a in args)
            kwargs = {k: _up(v) for k, v in kwargs.items()}
        return fn(*args, **kwargs)

    return wrapper


def _up(x: Any) -> Any:
    dtype = getattr(x, "dtype", None)
    if dtype is not None and hasattr(x, "float") and np.dtype(dtype) in _HALF:
        return x.float()
    return x


class autocast(contextlib.ContextDecorator):  # noqa: N801 - PyTorch's name
    """Run the ops in the block in mixed precision, with PyTorch's op lists.

    Matrix products, ``linear``, convolutions and attention run in ``dtype`` (default
    bfloat16 for ``"cpu"``/``"tpu"``, float16 for ``"cuda"``/``"gpu"``); the losses run in
    float32, and on devices other than the CPU (CUDA's list) so do sums, softmaxes,
    exponentials, logarithms, norms and ``layer_norm``; other ops follow their inputs.
    Gradients reach each input in its own dtype. Works as a context manager or decorator,
    and inside ``varjax.jit``; ``enabled=False`` turns it off inside an enclosing block.

    Example:
        >>> import varjax as vj
        >>> x, w = vj.ones(2, 3), vj.ones(3, 4)
        >>> with vj.autocast("cpu"):
        ...     (x @ w).dtype, vj.nn.functional.mse_loss(x @ w, vj.zeros(2, 4)).dtype
        (varjax.bfloat16, varjax.float32)
    """

    def __init__(self, device_type: str, dtype: Any = None, enabled: bool = True,
                 cache_enabled: bool | None = None) -> None:  # fmt: skip
        if not isinstance(device_type, str) or device_type.split(":")[0] not in _DEFAULTS:
            raise RuntimeError(
                f"User specified an unsupported autocast device_type '{device_type}'; use one "
                f"of {sorted(_DEFAULTS)}"
            )
        self.device = device_type.split(":")[0]
        self.fast_dtype = _as_dtype(_DEFAULTS[self.device] if dtype is None else dtype)
        if self.fast_dtype not in _HALF:
            raise RuntimeError(
                f"In autocast, but the target dtype is not supported: {self.fast_dtype}; "
                f"autocast runs in float16 or bfloat16"
            )
        self.enabled = bool(enabled)
        self._saved: list[tuple] = []

    def __enter__(self) -> autocast:
        global entered
        with _ENTERING:
            entered += 1
        self._saved.append((state.dtype, state.device_type))
        state.dtype = self.fast_dtype if self.enabled else None
        state.device_type = self.device
        return self

    def __exit__(self, *exc: Any) -> None:
        global entered
        state.dtype, state.device_type = self._saved.pop()
        with _ENTERING:
            entered -= 1


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """True inside an enabled ``autocast`` block (for ``device_type``, when given).

    Example:
        >>> import varjax as vj
        >>> vj.is_autocast_enabled("cpu")
        False
        >>> with vj.autocast("cpu"):
        ...     vj.is_autocast_enabled("cpu")
        True
    """
    if state.dtype is None:
        return False
    return device_type is None or device_type.split(":")[0] == state.device_type


def get_autocast_dtype(device_type: str) -> Any:
    """The low-precision dtype autocast uses now (or would use) for ``device_type``.

    Example:
        >>> import varjax as vj
        >>> vj.get_autocast_dtype("cpu"), vj.get_autocast_dtype("cuda")
        (varjax.bfloat16, varjax.float16)
    """
    if state.dtype is not None and device_type.split(":")[0] == state.device_type:
        return torch_dtype(state.dtype)
    return torch_dtype(_as_dtype(_DEFAULTS.get(device_type.split(":")[0], "bfloat16")))
