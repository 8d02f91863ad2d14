"""Creation functions: ``tensor``, ``ones``, ``randn``, ... and the tutorial's ``FloatTensor``.

Creation ops are recorded like any other op, so a created value is computed inside the program
that first needs it; fill values and random keys are inputs, never baked-in constants.
"""

from __future__ import annotations

import numbers
from typing import Any

import jax.numpy as jnp
import numpy as np

from . import _tracing
from . import random as _rng
from ._args import new_shape as _new_shape
from ._args import shape_arg as _shape_arg
from ._dtypes import default_float, default_int
from ._ops import P
from ._record import leaf, record
from ._variable import Variable, _wrap, as_array


def _dtype(dtype, fallback) -> np.dtype:
    return np.dtype(fallback if dtype is None else dtype)


def _like_device(x: Variable, device: Any) -> Any:
    """``device``, or the device ``x`` was placed on (None: wherever JAX puts new values)."""
    return x._node.placement if device is None else device


def _made(node, requires_grad: bool, device: Any = None) -> Variable:
    v = _wrap(node)
    if device is not None:  # placed before it needs a gradient: a leaf on that device
        v = v.to(device)
    if requires_grad:
        v.requires_grad = True  # checks the dtype and leafness with PyTorch's messages
    return v


def made_now(v: Any) -> Any:
    """``v``, its value made on the host now if it is a pending ``full`` or ``arange``.

    For parameters and buffers (``nn.Parameter(vj.ones(n))``, ``register_buffer``): they live
    the whole run, so the optimizer's first step, a save or a print computes nothing for them.
    """
    node = getattr(v, "_node", None)
    if node is None or node.value is not None or _tracing.state.active or not node.is_leaf:
        return v
    params = dict(node.params)
    if node.op is P.full and not isinstance(node.inputs[0], Variable):
        value = np.full(params["shape"], node.inputs[0], params["dtype"])
    elif node.op is P.arange:
        value = np.arange(params["start"], params["stop"], params["step"], params["dtype"])
    else:
        return v
    made = leaf(jnp.asarray(value), aval=node.aval)
    made.requires_grad = node.requires_grad
    v._rebind(made)
    return v


def tensor(data: Any, dtype=None, *, device=None, requires_grad: bool = False) -> Variable:
    """A new leaf Variable holding a copy of ``data``.

    Example:
        >>> import varjax as vj
        >>> vj.tensor([1.0, 2.0], requires_grad=True)
        tensor([1., 2.], requires_grad=True)
    """
    return _made(leaf(as_array(data, dtype)), requires_grad, device)


def full(
    size, fill_value: float, dtype=None, *, device=None, requires_grad: bool = False
) -> Variable:
    """A Variable of shape ``size`` filled with ``fill_value`` (float32 for floats).

    Example:
        >>> import varjax as vj
        >>> vj.full((2,), 3.5)
        tensor([3.5000, 3.5000])
    """
    if dtype is None:
        dtype = (
            np.bool_
            if isinstance(fill_value, bool)
            else (default_int() if isinstance(fill_value, numbers.Integral) else default_float())
        )
    dt = np.dtype(dtype)
    shape = _new_shape(_shape_arg((size,)) if not isinstance(size, numbers.Integral) else (size,))
    node = record(P.full, (fill_value,), (("dtype", dt), ("shape", shape)), sdtype=dt)
    return _made(node, requires_grad, device)


def ones(*size: int, dtype=None, device=None, requires_grad: bool = False) -> Variable:
    """A Variable of ones: ``ones(2, 2)`` or ``ones((2, 2))``.

    Example:
        >>> import varjax as vj
        >>> vj.ones(2, 3)
        tensor([[1., 1., 1.],
                [1., 1., 1.]])
    """
    dt = _dtype(dtype, default_float())
    return full(_shape_arg(size), 1, dt, device=device, requires_grad=requires_grad)


def zeros(*size: int, dtype=None, device=None, requires_grad: bool = False) -> Variable:
    """A Variable of zeros: ``zeros(2, 2)`` or ``zeros((2, 2))``.

    Example:
        >>> import varjax as vj
        >>> vj.zeros(2)
        tensor([0., 0.])
    """
    dt = _dtype(dtype, default_float())
    return full(_shape_arg(size), 0, dt, device=device, requires_grad=requires_grad)


def ones_like(x: Variable, dtype=None, *, device=None, requires_grad: bool = False) -> Variable:
    """Ones of ``x``'s shape and dtype.

    Example:
        >>> import varjax as vj
        >>> vj.ones_like(vj.tensor([1, 2]))
        tensor([1, 1])
    """
    dev = _like_device(x, device)
    dt = _dtype(dtype, x.dtype)
    return full(tuple(x.shape), 1, dt, device=dev, requires_grad=requires_grad)


def zeros_like(x: Variable, dtype=None, *, device=None, requires_grad: bool = False) -> Variable:
    """Zeros of ``x``'s shape and dtype.

    Example:
        >>> import varjax as vj
        >>> vj.zeros_like(vj.tensor([[1, 2]]))
        tensor([[0, 0]])
    """
    dev = _like_device(x, device)
    dt = _dtype(dtype, x.dtype)
    return full(tuple(x.shape), 0, dt, device=dev, requires_grad=requires_grad)


def arange(
    start: float, end: float | None = None, step: float = 1, dtype=None, *, device=None,
    requires_grad: bool = False,
) -> Variable:  # fmt: skip
    """Values from ``start`` up to (not including) ``end``: ``arange(5)``, ``arange(1, 4, 0.5)``.

    Example:
        >>> import varjax as vj
        >>> vj.arange(3)
        tensor([0, 1, 2])
    """
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    ints = all(isinstance(v, numbers.Integral) for v in (start, end, step))
    dt = _dtype(dtype, default_int() if ints else default_float())
    params = (("dtype", dt), ("start", start), ("step", step), ("stop", end))
    return _made(record(P.arange, (), params), requires_grad, device)


def linspace(
    start: float, end: float, steps: int, dtype=None, *, device=None, requires_grad: bool = False
) -> Variable:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive.

    Example:
        >>> import varjax as vj
        >>> vj.linspace(0, 1, 5)
        tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000])
    """
    dt = _dtype(dtype, default_float())
    node = record(
        P.linspace,
        (float(start), float(end)),
        (("dtype", dt), ("steps", int(steps))),
        sdtype=dt,
    )
    return _made(node, requires_grad, device)


def eye(
    n: int, m: int | None = None, dtype=None, *, device=None, requires_grad: bool = False
) -> Variable:
    """The ``n`` x ``m`` identity matrix (square by default).

    Example:
        >>> import varjax as vj
        >>> vj.eye(2)
        tensor([[1., 0.],
                [0., 1.]])
        >>> vj.eye(2, 3)
        tensor([[1., 0., 0.],
                [0., 1., 0.]])
    """
    dt = _dtype(dtype, default_float())
    params = (("dtype", dt), ("m", int(n if m is None else m)), ("n", int(n)))
    return _made(record(P.eye, (), params), requires_grad, device)


def _draw(op, size, dtype, device, requires_grad: bool, generator=None) -> Variable:
    dt = _dtype(dtype, default_float())
    key, counter = _rng.next_draw(generator)
    node = record(op, (key, counter), (("dtype", dt), ("shape", _new_shape(_shape_arg(size)))))
    return _made(node, requires_grad, device)


def randn(
    *size: int, generator=None, dtype=None, device=None, requires_grad: bool = False
) -> Variable:
    """Standard normal samples of the given shape, from varjax's seeded state (``manual_seed``).

    Example:
        >>> import varjax as vj
        >>> x = vj.randn(2, 3)
        >>> x.shape, x.dtype
        (varjax.Size([2, 3]), varjax.float32)
    """
    return _draw(P.normal, size, dtype, device, requires_grad, generator)


def rand(
    *size: int, generator=None, dtype=None, device=None, requires_grad: bool = False
) -> Variable:
    """Uniform samples in [0, 1) of the given shape, from varjax's seeded state.

    Example:
        >>> import varjax as vj
        >>> x = vj.rand(4)
        >>> x.shape, x.dtype
        (varjax.Size([4]), varjax.float32)
        >>> bool(((x >= 0) & (x < 1)).all())
        True
    """
    return _draw(P.uniform, size, dtype, device, requires_grad, generator)


def FloatTensor(*args: Any) -> Variable:  # noqa: N802 - PyTorch's legacy constructor name
    """``Tensor`` with dtype float32, as in the tutorial: ``FloatTensor([0.1, 1.0, 0.0001])``;
    ``FloatTensor(2, 3)`` has that shape.

    Example:
        >>> import varjax as vj
        >>> vj.FloatTensor([1, 2])
        tensor([1., 2.])
        >>> vj.FloatTensor(2, 3).shape
        varjax.Size([2, 3])
    """
    v = Variable(*args)
    return v if v.dtype == np.float32 else v.float()


def full_like(
    x: Variable, fill_value: float, dtype=None, *, device=None, requires_grad: bool = False
) -> Variable:
    """``fill_value`` in ``x``'s shape and dtype.

    Example:
        >>> import varjax as vj
        >>> vj.full_like(vj.tensor([1.0, 2.0]), 7.0)
        tensor([7., 7.])
    """
    dev = _like_device(x, device)
    dt = _dtype(dtype, x.dtype)
    return full(tuple(x.shape), fill_value, dt, device=dev, requires_grad=requires_grad)


def empty(*size: int, dtype=None, device=None, requires_grad: bool = False) -> Variable:
    """``zeros``: JAX has no uninitialised memory, and a program must not read garbage.

    Example:
        >>> import varjax as vj
        >>> vj.empty(2, 3).shape
        varjax.Size([2, 3])
    """
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def empty_like(x: Variable, dtype=None, *, device=None, requires_grad: bool = False) -> Variable:
    """``zeros_like`` (see ``empty``).

    Example:
        >>> import varjax as vj
        >>> vj.empty_like(vj.ones(2, 3)).shape
        varjax.Size([2, 3])
    """
    return zeros_like(x, dtype, device=device, requires_grad=requires_grad)


def randn_like(x: Variable, dtype=None, *, device=None, requires_grad: bool = False) -> Variable:
    """Standard normal samples in ``x``'s shape and dtype.

    Example:
        >>> import varjax as vj
        >>> x = vj.randn_like(vj.zeros(2, 3, dtype=vj.float64))
        >>> x.shape, x.dtype
        (varjax.Size([2, 3]), varjax.float64)
    """
    dev = _like_device(x, device)
    return randn(*x.shape, dtype=_dtype(dtype, x.dtype), device=dev, requires_grad=requires_grad)


def rand_like(x: Variable, dtype=None, *, device=None, requires_grad: bool = False) -> Variable:
    """Uniform samples in [0, 1) in ``x``'s shape and dtype.

    Example:
        >>> import varjax as vj
        >>> vj.rand_like(vj.ones(2, 3)).shape
        varjax.Size([2, 3])
    """
    dev = _like_device(x, device)
    return rand(*x.shape, dtype=_dtype(dtype, x.dtype), device=dev, requires_grad=requires_grad)


def randint(
    low: int, high: int | None = None, size: Any = None, *, generator=None, dtype=None,
    device=None, requires_grad: bool = False,
) -> Variable:  # fmt: skip
    """Integers drawn uniformly from [low, high): ``randint(10, (3,))``, ``randint(2, 5, (3,))``.

    Example:
        >>> import varjax as vj
        >>> x = vj.randint(10, (3,))
        >>> x.shape, x.dtype
        (varjax.Size([3]), varjax.int64)
        >>> bool(((x >= 0) & (x < 10)).all())
        True
    """
    if size is None:
        if high is None or isinstance(high, numbers.Integral):
            raise TypeError("randint() missing the size argument, e.g. randint(10, (3,))")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= "
                           f"to={high}")  # fmt: skip
    dt = _dtype(dtype, default_int())
    key, counter = _rng.next_draw(generator)
    shape = _new_shape(_shape_arg((size,)) if not isinstance(size, numbers.Integral) else (size,))
    params = (("dtype", dt), ("high", int(high)), ("low", int(low)), ("shape", shape))
    return _made(record(P.randint, (key, counter), params), requires_grad, device)


def randint_like(x: Variable, low: int, high: int | None = None, *, dtype=None,
                 device=None) -> Variable:  # fmt: skip
    """``randint`` in ``x``'s shape and dtype.

    Example:
        >>> import varjax as vj
        >>> x = vj.randint_like(vj.zeros(2, 2), 5)
        >>> x.shape, x.dtype
        (varjax.Size([2, 2]), varjax.float32)
    """
    if high is None:
        low, high = 0, low
    dev = _like_device(x, device)
    return randint(low, high, tuple(x.shape), dtype=_dtype(dtype, x.dtype), device=dev)


def randperm(
    n: int, *, generator=None, dtype=None, device=None, requires_grad: bool = False
) -> Variable:
    """A random permutation of ``0 .. n-1``.

    Example:
        >>> import varjax as vj
        >>> vj.randperm(4).sort().values
        tensor([0, 1, 2, 3])
    """
    if n < 0:
        raise RuntimeError(f"n must be non-negative, got {n}")
    key, counter = _rng.next_draw(generator)
    params = (("dtype", _dtype(dtype, default_int())), ("n", int(n)))
    return _made(record(P.randperm, (key, counter), params), requires_grad, device)


def from_numpy(array: np.ndarray) -> Variable:
    """A Variable with the array's values and dtype (a copy: JAX arrays are immutable, so
    writes to one are not seen by the other, unlike PyTorch's shared memory).

    Example:
        >>> import numpy as np
        >>> import varjax as vj
        >>> vj.from_numpy(np.array([1.5, 2.5]))
        tensor([1.5000, 2.5000], dtype=varjax.float64)
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    return tensor(array)


def as_tensor(data: Any, dtype=None, device=None) -> Variable:
    """``data`` as a Variable: the same Variable when it already is one of that dtype and
    device, else a new one.

    Example:
        >>> import varjax as vj
        >>> vj.as_tensor([1, 2])
        tensor([1, 2])
        >>> vj.as_tensor([1, 2], dtype=vj.float32)
        tensor([1., 2.])
    """
    if isinstance(data, Variable):
        return data.to(device, dtype)
    return tensor(data, dtype, device=device)


asarray = as_tensor


def is_tensor(obj: Any) -> bool:
    """True for a Variable (``varjax.Tensor``).

    Example:
        >>> import varjax as vj
        >>> vj.is_tensor(vj.ones(2)), vj.is_tensor([1.0])
        (True, False)
    """
    return isinstance(obj, Variable)


def numel(x: Variable) -> int:
    """The number of elements.

    Example:
        >>> import varjax as vj
        >>> vj.numel(vj.ones(2, 3))
        6
    """
    return x.numel()


def normal(mean: Any, std: Any = 1.0, size: Any = None, *, generator=None, dtype=None,
           device=None, requires_grad: bool = False) -> Variable:  # fmt: skip
    """Normal samples: ``normal(mean_tensor, std_tensor)`` (broadcast), or ``normal(0.0, 1.0,
    size=(2, 3))`` with numbers.

    Example:
        >>> import varjax as vj
        >>> vj.normal(0.0, 1.0, size=(2, 3)).shape
        varjax.Size([2, 3])
        >>> vj.normal(vj.zeros(2), vj.ones(2)).shape
        varjax.Size([2])
    """
    if size is not None:
        shape = _shape_arg((size,)) if not isinstance(size, numbers.Integral) else (size,)
        z = randn(*shape, generator=generator, dtype=dtype, device=device)
    else:
        m, s = (x if isinstance(x, Variable) else tensor(x) for x in (mean, std))
        shape = np.broadcast_shapes(tuple(m.shape), tuple(s.shape))
        z = randn(*shape, generator=generator, dtype=dtype or m.dtype, device=device)
    out = (z * std + mean).detach()
    return out.requires_grad_() if requires_grad else out
