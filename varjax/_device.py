"""Devices: PyTorch's ``device`` objects on JAX's devices.

``"cuda"`` is JAX's GPU backend, ``"tpu"`` (or ``"xla"``) its TPU backend, ``"cpu"`` its CPU
backend; the index is the position in ``jax.devices(backend)``. A value varjax placed on a
device (``.to(device)``, ``device=``) is a committed JAX array, so the programs that read it
run there, as ``jax.jit`` places computations.
"""

from __future__ import annotations

from typing import Any

import jax
from jax.sharding import SingleDeviceSharding

_TO_JAX = {"cpu": "cpu", "cuda": "gpu", "gpu": "gpu", "tpu": "tpu", "xla": "tpu"}
_FROM_JAX = {"cpu": "cpu", "gpu": "cuda", "cuda": "cuda", "rocm": "cuda", "tpu": "tpu"}


class device:  # noqa: N801 - PyTorch's name
    """A device: ``device("cpu")``, ``device("cuda")``, ``device("cuda:1")``, ``device("cuda",
    1)``, ``device("tpu")``, or a ``jax.Device``. ``type`` and ``index`` are PyTorch's.

    Example:
        >>> import varjax as vj
        >>> vj.device("cuda:1")
        device(type='cuda', index=1)
        >>> str(vj.device("cpu")), vj.device("cpu").index is None
        ('cpu', True)
    """

    __slots__ = ("type", "index")

    def __init__(self, type: Any, index: int | None = None) -> None:  # noqa: A002
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        elif isinstance(type, jax.Device):  # CPU 0 is plain "cpu", as PyTorch's CPU device
            name, i = _FROM_JAX.get(type.platform, type.platform), _index_of(type)
            type, index = name, None if name == "cpu" and i == 0 else i
        elif isinstance(type, int) and not isinstance(type, bool):  # a bare index: a GPU's
            type, index = "cuda", type
        elif not isinstance(type, str):
            raise TypeError(f"device() expects a string, an index or a jax.Device, got {type!r}")
        name, _, number = type.partition(":")
        if number:
            if index is not None or not number.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = int(number)
        if name not in _TO_JAX:
            raise RuntimeError(
                f"Expected one of cpu, cuda, tpu, xla device type at start of device string: {type}"
            )
        if index is not None and index < 0:
            raise RuntimeError(f"Device index must not be negative, got {index}")
        self.type = "cuda" if name == "gpu" else "tpu" if name == "xla" else name
        self.index = index

    def __repr__(self) -> str:
        extra = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{extra})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (str, jax.Device)):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self) -> tuple:
        return device, (self.type, self.index)

    def jax_device(self) -> jax.Device:
        """The ``jax.Device`` this device names (the backend's first one without an index)."""
        backend = _TO_JAX[self.type]
        try:
            devices = jax.devices(backend)
        except RuntimeError:
            raise RuntimeError(
                f"device '{self}' is not available: JAX has no {backend.upper()} backend here "
                f"(jax.devices() is {jax.devices()}). Remedy: use 'cpu', or choose the device "
                f"with `'cuda' if varjax.cuda.is_available() else 'cpu'`."
            ) from None
        i = self.index or 0
        if i >= len(devices):
            raise RuntimeError(
                f"device '{self}' does not exist: JAX's {backend} backend has {len(devices)} "
                f"device(s), cuda:0 to cuda:{len(devices) - 1}"
                if self.type == "cuda"
                else f"device '{self}' does not exist: JAX's {backend} backend has "
                f"{len(devices)} device(s)"
            )
        return devices[i]


def _index_of(d: jax.Device) -> int:
    return jax.devices(d.platform).index(d)


def as_device(spec: Any) -> device:
    return spec if isinstance(spec, device) else device(spec)


def of_array(value: Any) -> device | None:
    """The device a concrete array lives on (the first of several, for a sharded one)."""
    devices = getattr(value, "devices", None)
    if devices is None:
        return None
    found = sorted(devices(), key=lambda d: d.id)
    return device(found[0]) if found else None


def layout(value: Any) -> Any:
    """Where an input of a compiled program lives, as its signature records it: None on JAX's
    first device (the common case, kept cheap: a step reads this for every input), else its
    ``jax.sharding`` (another device, or several: ``jax.jit`` compiles anew for each, so
    varjax counts and explains each). Not for traced values."""
    try:
        sharding = value.sharding
    except AttributeError:  # a NumPy array or a Python number: placed by jax.jit
        return None
    if type(sharding) is SingleDeviceSharding and sharding._device is (
        _FIRST[0] if _FIRST else first_device()
    ):
        return None
    return sharding


def first_device() -> jax.Device:
    """JAX's first device, read once (not at import: ``jax.distributed.initialize`` must come
    before JAX starts). None in a signature always means this device: a changed default
    device gives its values a layout of their own, never another device's program."""
    if not _FIRST:
        _FIRST.append(jax.devices()[0])
    return _FIRST[0]


_FIRST: list = []


def describe_layout(sharding: Any) -> str:
    """``sharded P('data') over 8 devices``, ``replicated over 8 devices``, ``on cpu:3``."""
    if sharding is None:
        return f"on {device(first_device())}"
    devices = sorted(sharding.device_set, key=lambda d: d.id)
    if len(devices) == 1:  # a 1-device mesh and a plain device compile apart: say which
        mesh = " (a 1-device mesh)" if type(sharding) is not SingleDeviceSharding else ""
        return f"on {device(devices[0])}{mesh}"
    spec = getattr(sharding, "spec", None)
    if sharding.is_fully_replicated:
        return f"replicated over {len(devices)} devices"
    what = f"sharded {spec}" if spec is not None else f"sharded ({type(sharding).__name__})"
    return f"{what} over {len(devices)} devices"


def default() -> device:
    """Where new values go: JAX's default device (``set_default_device`` changes it)."""
    configured = jax.config.jax_default_device
    if configured is not None:
        return device(configured if isinstance(configured, jax.Device) else str(configured))
    return device(jax.devices()[0])


def same(a: device, b: device) -> bool:
    """True if ``a`` and ``b`` name the same JAX device (``cuda`` is ``cuda:0``)."""
    return a.type == b.type and (a.index or 0) == (b.index or 0)


def get_default_device() -> device:
    """The device new Variables are created on.

    Example:
        >>> import varjax as vj
        >>> vj.set_default_device("cpu")
        >>> vj.get_default_device()
        device(type='cpu')
        >>> vj.set_default_device(None)  # back to JAX's default device
    """
    return default()


def set_default_device(spec: Any) -> None:
    """Create new Variables on ``spec`` (a device, a string such as ``"cuda"``, or None for
    JAX's own default): JAX's ``jax_default_device`` setting.

    Example:
        >>> import varjax as vj
        >>> vj.set_default_device("cpu")
        >>> vj.ones(2).device
        device(type='cpu')
        >>> vj.set_default_device(None)  # back to JAX's default device
    """
    jax.config.update("jax_default_device", None if spec is None else as_device(spec).jax_device())
