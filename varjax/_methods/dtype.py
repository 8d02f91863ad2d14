"""Dtype conversions: ``to(dtype)`` and its spellings ``float()``, ``long()``, ..."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jax
import numpy as np

from .. import _device, _placement
from .._dtypes import canonical, is_floating
from .._ops import P
from .._record import leaf, record, start_placing
from ._base import Methods

if TYPE_CHECKING:
    from .._variable import Variable


def _cast(name: str, dtype: Any, example: str, shown: str):
    def method(self) -> Variable:
        return self.to(dtype)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = (
        f"``x.{name}()`` is ``x.to({np.dtype(dtype).name})``.\n\n"
        f"Example:\n    >>> import varjax as vj\n    >>> vj.tensor({example}).{name}()\n"
        f"    {shown}\n"
    )
    return method


_TYPE_NAMES = {
    "float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
    "bfloat16": "BFloat16Tensor", "int64": "LongTensor", "int32": "IntTensor",
    "int16": "ShortTensor", "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor",
}  # fmt: skip


def _size(size: tuple) -> tuple:
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size


def _is_device(x: Any) -> bool:
    return isinstance(x, (str, _device.device, jax.Device)) or (
        isinstance(x, int) and not isinstance(x, bool)
    )


def to_args(args: tuple, kwargs: dict) -> tuple:
    """(device, dtype, copy) from PyTorch's ``to`` signatures."""
    dev, dt = kwargs.pop("device", None), kwargs.pop("dtype", None)
    copy = bool(kwargs.pop("copy", False))
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    flags = []
    for a in args:
        if isinstance(a, Methods):  # another Variable: its device and dtype
            dev, dt = a.device, a.dtype
        elif isinstance(a, bool):
            flags.append(a)  # non_blocking, copy (positional, as PyTorch allows)
        elif _is_device(a):
            dev = a
        elif a is not None:
            dt = a
    if len(flags) > 1:
        copy = copy or flags[1]
    return dev, dt, copy


def _moved(x: Any, target: _device.device) -> Variable:
    """``x`` on ``target``: a new leaf over the transferred value (committed there)."""
    if _device.same(x.device, target):
        return x
    jd = target.jax_device()
    if x.requires_grad:
        raise RuntimeError(
            f"moving a Variable that requires grad from {x.device} to {target}: varjax runs "
            f"a gradient's program on one device, so a graph cannot cross devices. Remedy: "
            f"move the data before it needs a gradient, e.g. `x.detach().to({str(target)!r})"
            f".requires_grad_()`, or `model.to({str(target)!r})` for a Module's parameters."
        )
    moved = x._new(leaf(jax.device_put(x._value(), jd), aval=x._node.aval))
    moved._node.placement = _device.device(jd)
    if not _device.same(moved._node.placement, _device.default()):
        start_placing()  # from now on ops check that their inputs share a device
    return moved


class DtypeMethods(Methods):
    __slots__ = ()

    def to(self, *args: Any, **kwargs: Any) -> Variable:
        """This Variable in another dtype or on another device, as PyTorch's ``to``:
        ``x.to(varjax.float16)``, ``x.to("cuda")``, ``x.to(device, dtype)``, ``x.to(other)``
        (``other``'s device and dtype); ``self`` when nothing changes, unless ``copy=True``.
        ``non_blocking`` is accepted (JAX transfers are asynchronous anyway).

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([1, 2])
            >>> x.to(vj.float64)
            tensor([1., 2.], dtype=varjax.float64)
            >>> x.to("cpu", vj.float32)
            tensor([1., 2.])
            >>> x.to(x) is x  # nothing to change
            True
        """
        dev, dt, copy = to_args(args, kwargs)
        out = self
        if dt is not None and canonical(dt) != self._node.dtype:
            out = self._apply(P.astype, self, params=(("dtype", canonical(dt)),))
        if dev is not None:
            out = _moved(out, _device.as_device(dev))
        return out.clone() if copy and out is self else out

    def cpu(self) -> Variable:
        """This Variable on the CPU (``self`` if it is there).

        Example:
            >>> import varjax as vj
            >>> vj.tensor([1.0]).cpu().device
            device(type='cpu')
        """
        return self.to("cpu")

    def cuda(self, device: Any = None, non_blocking: bool = False) -> Variable:
        """This Variable on a GPU (``cuda:device``; the first one by default).

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([1.0, 2.0])
            >>> y = x.cuda() if vj.cuda.is_available() else x
            >>> y.device.type in ("cuda", "cpu")
            True
        """
        return self.to(_device.device("cuda", device) if isinstance(device, int) else
                       device or "cuda")  # fmt: skip

    @property
    def device(self) -> _device.device:
        """Where the value is, or will be once computed (a pending value: where the program
        that computes it runs); the first device of a value sharded over several.

        Example:
            >>> import varjax as vj
            >>> vj.tensor([1.0]).device
            device(type='cpu')
        """
        node = self._node
        found = node.placement
        if found is None and node.value is not None:
            found = _device.of_array(node.value)
        return found if found is not None else _device.default()

    @property
    def sharding(self) -> jax.sharding.Sharding:
        """How the value is laid out over devices: its ``jax.sharding.Sharding`` (a
        ``NamedSharding`` over a mesh for a value placed with
        ``varjax.distributed.distribute_tensor``, a ``SingleDeviceSharding`` otherwise). A
        pending value is computed first: its layout is what XLA's partitioner chose.

        Example:
            >>> import varjax as vj
            >>> len(vj.ones(2, 3).sharding.device_set)
            1
        """
        return self._value().sharding

    def redistribute(self, device_mesh: Any = None, placements: Any = None) -> Variable:
        """This Variable laid out anew over ``device_mesh`` (by default the mesh it is on)
        with ``placements`` (``Shard(d)`` / ``Replicate()``, one per mesh dimension), as
        PyTorch's ``DTensor.redistribute``; autograd follows the move.

        Example:
            >>> import varjax as vj
            >>> from varjax.distributed import Replicate, Shard, distribute_tensor, init_device_mesh
            >>> mesh = init_device_mesh("cpu", (1,))
            >>> w = distribute_tensor(vj.arange(4.0), mesh, [Shard(0)])
            >>> tuple(w.sharding.spec)  # split over the mesh's one dimension
            ('dim_0',)
            >>> tuple(w.redistribute(mesh, [Replicate()]).sharding.spec)  # whole on each device
            ()
        """
        return _placement.redistribute(self, device_mesh, placements)

    @property
    def is_cuda(self) -> bool:
        """True if the value is on a GPU.

        Example:
            >>> import varjax as vj
            >>> vj.tensor([1.0]).is_cuda
            False
        """
        return self.device.type == "cuda"

    def type_as(self, other: Any) -> Variable:
        """This Variable in ``other``'s dtype.

        Example:
            >>> import varjax as vj
            >>> vj.tensor([1, 2]).type_as(vj.tensor([0.5]))
            tensor([1., 2.])
        """
        return self.to(self._lift(other).dtype)

    def type(self, dtype: Any = None, non_blocking: bool = False) -> Any:  # noqa: A003
        """PyTorch's type string without an argument (``'varjax.FloatTensor'``), else
        ``to(dtype)`` (a dtype, or a type string such as ``'torch.LongTensor'``).

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([1.0, 2.0])
            >>> x.type()
            'varjax.FloatTensor'
            >>> x.type("torch.LongTensor")
            tensor([1, 2])
        """
        if dtype is None:
            return f"varjax.{_TYPE_NAMES.get(np.dtype(self.dtype).name, 'Tensor')}"
        if isinstance(dtype, str):
            name = dtype.rpartition(".")[2]
            found = [k for k, v in _TYPE_NAMES.items() if v == name]
            if not found:
                raise ValueError(f"invalid type: {dtype!r}")
            dtype = np.dtype(found[0])
        return self.to(dtype)

    # new_* make Variables of this one's dtype (and device), as PyTorch's
    def new_full(self, size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False) -> Variable:  # fmt: skip
        """A Variable of ``size`` filled with ``fill_value``, of this one's dtype and device
        unless ``dtype`` or ``device`` is given.

        Example:
            >>> import varjax as vj
            >>> vj.tensor([1.0, 2.0], dtype=vj.float64).new_full((2,), 7)
            tensor([7., 7.], dtype=varjax.float64)
        """
        shape = size if isinstance(size, (tuple, list)) else (size,)
        dt = canonical(self.dtype if dtype is None else dtype)
        node = record(P.full, (fill_value,), (("dtype", dt), ("shape", tuple(shape))), sdtype=dt)
        out = self._new(node)
        out = out.to(device if device is not None else self._node.placement)
        return out.requires_grad_() if requires_grad else out

    def new_zeros(self, *size: Any, dtype: Any = None, device: Any = None,
                  requires_grad: bool = False) -> Variable:  # fmt: skip
        """Zeros of ``size``, of this Variable's dtype and device unless given. ``new_empty``
        is the same (JAX has no uninitialised memory).

        Example:
            >>> import varjax as vj
            >>> vj.tensor([1, 2]).new_zeros(2, 3)
            tensor([[0, 0, 0],
                    [0, 0, 0]])
            >>> vj.tensor([1.0]).new_empty(2).shape
            varjax.Size([2])
        """
        return self.new_full(_size(size), 0, dtype=dtype, device=device,
                             requires_grad=requires_grad)  # fmt: skip

    def new_ones(self, *size: Any, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False) -> Variable:  # fmt: skip
        """Ones of ``size``, of this Variable's dtype and device unless given.

        Example:
            >>> import varjax as vj
            >>> vj.tensor([1.0], dtype=vj.float64).new_ones((2,))
            tensor([1., 1.], dtype=varjax.float64)
        """
        return self.new_full(_size(size), 1, dtype=dtype, device=device,
                             requires_grad=requires_grad)  # fmt: skip

    new_empty = new_zeros  # JAX has no uninitialised memory: zeros

    def new_tensor(self, data: Any, *, dtype: Any = None, device: Any = None,
                   requires_grad: bool = False) -> Variable:  # fmt: skip
        """A new leaf holding ``data`` (of this Variable's dtype unless ``dtype`` is given).

        Example:
            >>> import varjax as vj
            >>> vj.tensor([1.0], dtype=vj.float64).new_tensor([3, 4])
            tensor([3., 4.], dtype=varjax.float64)
        """
        v = type(self._lift(0))(data)  # a plain leaf, whatever this one's class
        dt = canonical(self.dtype if dtype is None else dtype)
        out = v.to(dt, device=device if device is not None else self._node.placement)
        return out.detach().requires_grad_() if requires_grad else out.detach()

    # PyTorch's method names
    float = _cast("float", np.float32, "[1, 2]", "tensor([1., 2.])")  # noqa: A003
    double = _cast("double", np.float64, "[1, 2]", "tensor([1., 2.], dtype=varjax.float64)")
    half = _cast("half", np.float16, "[1, 2]", "tensor([1., 2.], dtype=varjax.float16)")
    bfloat16 = _cast("bfloat16", jax.numpy.bfloat16, "[1, 2]",
                     "tensor([1., 2.], dtype=varjax.bfloat16)")  # fmt: skip
    long = _cast("long", np.int64, "[1.5, -2.7]", "tensor([ 1, -2])")
    int = _cast("int", np.int32, "[1.5, -2.7]", "tensor([ 1, -2], dtype=varjax.int32)")  # noqa: A003
    bool = _cast("bool", np.bool_, "[0.0, 2.0]", "tensor([False,  True])")  # noqa: A003

    def is_floating_point(self) -> bool:
        """True for a floating dtype (float16, bfloat16, float32, float64).

        Example:
            >>> import varjax as vj
            >>> vj.tensor([1.0]).is_floating_point(), vj.tensor([1]).is_floating_point()
            (True, False)
        """
        return is_floating(self._node.dtype)
