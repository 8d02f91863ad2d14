"""``varjax.testing.assert_close``: PyTorch's comparison of tensors for tests.

Example:
    >>> import varjax as vj
    >>> vj.testing.assert_close(vj.tensor([1.0, 2.0]), vj.tensor([1.0, 2.0 + 1e-7]))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jax
import numpy as np

from ._variable import Variable

__all__ = ["assert_close"]

# PyTorch's default (rtol, atol) per dtype; integers and bools compare exactly
_TOLERANCES = {
    "float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
    "float64": (1e-7, 1e-7), "complex64": (1.3e-6, 1e-5), "complex128": (1e-7, 1e-7),
}  # fmt: skip


def _array(x: Any) -> tuple[np.ndarray, str, Any]:
    if isinstance(x, Variable):
        return np.asarray(x.detach().numpy()), str(x.dtype), x.shape
    if isinstance(x, (jax.Array, np.ndarray, np.generic)):
        a = np.asarray(x)
        return a, str(a.dtype), tuple(a.shape)
    return np.asarray(x), type(x).__name__, ()


def _compare(actual: Any, expected: Any, rtol, atol, equal_nan, check_dtype, msg, where) -> None:
    a, adt, ashape = _array(actual)
    e, edt, eshape = _array(expected)
    if ashape != eshape:
        raise AssertionError(
            f"The values for attribute 'shape' do not match: {ashape} != {eshape}.{where}"
        )
    if (
        check_dtype
        and isinstance(actual, Variable) == isinstance(expected, Variable)
        and adt != edt
    ):
        raise AssertionError(
            f"The values for attribute 'dtype' do not match: {adt} != {edt}.{where}"
        )
    default = _TOLERANCES.get(edt.removeprefix("varjax."), (0.0, 0.0))
    rt, at = default if rtol is None else (rtol, atol)
    a64, e64 = (
        a.astype(np.complex128 if a.dtype.kind == "c" else np.float64),
        e.astype(np.float64 if e.dtype.kind != "c" else np.complex128),
    )
    with np.errstate(invalid="ignore"):  # inf - inf: NaN, and equal infinities pass below
        diff = np.abs(a64 - e64)
        close = diff <= at + rt * np.abs(e64)
    close |= a64 == e64  # equal infinities
    if equal_nan:
        close |= np.isnan(a64) & np.isnan(e64)
    if close.all():
        return
    if msg is not None:
        raise AssertionError(msg)
    bad = ~close
    n, total = int(bad.sum()), close.size
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(e64 != 0, diff / np.abs(e64), np.inf)
    # the differences as PyTorch reports them: in the inputs' common dtype (float32's 1 / 3 is
    # 0.3333333432674408), NumPy's float64 for integers
    common = np.result_type(a.dtype, e.dtype)
    if common.kind in "fc":
        diff, rel = diff.astype(common.type(0).real.dtype), rel.astype(common.type(0).real.dtype)
    if diff.ndim == 0:
        raise AssertionError(
            f"Scalars are not close!{where}\n\nExpected {e64.item()} but got {a64.item()}.\n"
            f"Absolute difference: {diff.item()} (up to {at} allowed)\n"
            f"Relative difference: {rel.item()} (up to {rt} allowed)"
        )
    worst_abs = _index(np.argmax(np.where(bad, diff, -1)), diff.shape)  # a NaN is the worst
    worst_rel = _index(np.argmax(np.where(bad, rel, -1)), diff.shape)
    kind = "Tensor-likes"
    raise AssertionError(
        f"{kind} are not close!{where}\n\n"
        f"Mismatched elements: {n} / {total} ({100 * n / total:.1f}%)\n"
        f"Greatest absolute difference: {float(diff[worst_abs])} at index {worst_abs} "
        f"(up to {at} allowed)\n"
        f"Greatest relative difference: {float(rel[worst_rel])} at index {worst_rel} "
        f"(up to {rt} allowed)"
    )


def _index(flat: Any, shape: tuple) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(flat, shape))


def assert_close(
    actual: Any, expected: Any, *, allow_subclasses: bool = True, rtol: float | None = None,
    atol: float | None = None, equal_nan: bool = False, check_device: bool = True,
    check_dtype: bool = True, check_layout: bool = True, check_stride: bool = False,
    msg: str | None = None,
) -> None:  # fmt: skip
    """Raise ``AssertionError`` unless ``actual`` and ``expected`` (Variables, arrays, numbers,
    or sequences and mappings of them) have the same shapes and dtypes and values within
    ``atol + rtol * |expected|``; the defaults are PyTorch's per dtype. The message gives the
    mismatched count and the greatest differences with their indices, as PyTorch's.

    Example:
        >>> import varjax as vj
        >>> vj.testing.assert_close(vj.tensor([1.0, 2.0]), vj.tensor([1.0, 2.0 + 1e-7]))
        >>> try:
        ...     vj.testing.assert_close(vj.tensor([1.0]), vj.tensor([1.5]))
        ... except AssertionError as e:
        ...     print(str(e).splitlines()[0])
        Tensor-likes are not close!
    """
    if (rtol is None) != (atol is None):
        raise ValueError("Both 'rtol' and 'atol' must be either specified or omitted, but got "
                         f"no {'rtol' if rtol is None else 'atol'}.")  # fmt: skip
    _walk(actual, expected, rtol, atol, equal_nan, check_dtype, msg, ())


def _walk(actual, expected, rtol, atol, equal_nan, check_dtype, msg, path) -> None:
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping) or set(actual) != set(expected):
            raise AssertionError(f"The keys of the mappings do not match{_at(path)}")
        for k in expected:
            _walk(actual[k], expected[k], rtol, atol, equal_nan, check_dtype, msg, (*path, k))
        return
    if isinstance(expected, Sequence) and not isinstance(expected, str):
        if not isinstance(actual, Sequence) or len(actual) != len(expected):
            raise AssertionError(f"The length of the sequences do not match{_at(path)}")
        for i, (a, e) in enumerate(zip(actual, expected)):
            _walk(a, e, rtol, atol, equal_nan, check_dtype, msg, (*path, i))
        return
    if not isinstance(
        expected, (Variable, jax.Array, np.ndarray, np.generic, int, float, bool, complex)
    ):
        raise TypeError(
            f"No comparison pair was able to handle inputs of type {type(actual)} and "
            f"{type(expected)}."
        )
    _compare(actual, expected, rtol, atol, equal_nan, check_dtype, msg, _at(path))


def _at(path: tuple) -> str:
    return (
        "" if not path else "\n\nThe failure occurred for item " + "".join(f"[{p!r}]" for p in path)
    )
