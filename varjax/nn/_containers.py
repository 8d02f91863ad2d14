"""Containers of Parameters and shape layers: ``ParameterList``, ``ParameterDict``, ``Unflatten``.

``ParameterList`` and ``ParameterDict`` register each entry as a parameter of the container
itself (named ``'0'``, ``'1'``, ... or by key), so ``state_dict`` keys match PyTorch's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .._variable import Variable
from ._module import Module, Parameter

__all__ = ["ParameterDict", "ParameterList", "Unflatten"]


def _as_param(value: Any) -> Any:
    """A Variable that is not yet a Parameter becomes one, as PyTorch's containers do."""
    if isinstance(value, Variable) and not isinstance(value, Parameter):
        return Parameter(value.detach(), value.requires_grad)
    return value


def _entry_repr(key: Any, p: Any) -> str:
    if isinstance(p, Variable):
        kind = "Parameter" if isinstance(p, Parameter) else "Tensor"
        size = "x".join(str(n) for n in p.shape)
        return f"  ({key}): {kind} containing: [{p.dtype} of size {size}]"
    return f"  ({key}): Object of type: {type(p).__name__}"


def _store(m: Module, key: str, value: Any) -> None:
    value = _as_param(value)
    if isinstance(value, Parameter) or value is None:
        m._parameters.pop(key, None)
        m.register_parameter(key, value)
    else:  # PyTorch keeps other objects as plain attributes
        object.__setattr__(m, key, value)


class ParameterList(Module):
    """A list of Parameters registered as ``'0'``, ``'1'``, ...; Variables appended are
    wrapped as Parameters. PyTorch's ``nn.ParameterList``.

    Example:
        >>> import varjax as vj
        >>> pl = vj.nn.ParameterList([vj.nn.Parameter(vj.zeros(2)), vj.ones(3)])
        >>> list(pl.state_dict())
        ['0', '1']
    """

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        object.__setattr__(self, "_size", 0)
        if values is not None:
            self.extend(values)

    def _index(self, idx: int) -> str:
        if not -self._size <= idx < self._size:
            raise IndexError(f"index {idx} is out of range")
        return str(idx % self._size)

    def __getitem__(self, idx: int | slice) -> Any:
        if isinstance(idx, slice):
            return ParameterList([self[i] for i in range(self._size)[idx]])
        return getattr(self, self._index(idx))

    def __setitem__(self, idx: int, param: Any) -> None:
        _store(self, self._index(idx), param)

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[Any]:
        return (self[i] for i in range(self._size))

    def __iadd__(self, parameters: Iterable[Any]) -> ParameterList:
        return self.extend(parameters)

    def append(self, value: Any) -> ParameterList:
        """Add ``value`` at the end (a Variable becomes a Parameter)."""
        object.__setattr__(self, "_size", self._size + 1)
        _store(self, str(self._size - 1), value)
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        """Append each of ``values``."""
        if not isinstance(values, Iterable) or isinstance(values, Variable):
            raise TypeError("ParameterList.extend should be called with an iterable, but got "
                            + type(values).__name__)  # fmt: skip
        for v in values:
            self.append(v)
        return self

    def extra_repr(self) -> str:
        return "\n".join(_entry_repr(k, p) for k, p in enumerate(self))


class ParameterDict(Module):
    """An ordered dict of Parameters registered under their (string) keys; Variables stored
    are wrapped as Parameters. PyTorch's ``nn.ParameterDict``.

    Example:
        >>> import varjax as vj
        >>> pd = vj.nn.ParameterDict({"a": vj.zeros(2)})
        >>> pd["b"] = vj.nn.Parameter(vj.ones(1))
        >>> list(pd.keys()), list(pd.state_dict())
        (['a', 'b'], ['a', 'b'])
    """

    def __init__(self, parameters: Any = None) -> None:
        super().__init__()
        object.__setattr__(self, "_keys", {})
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys:
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(f"ParameterDict keys must be strings, got {type(key).__name__}")
        self._keys[key] = None
        _store(self, key, value)

    def __delitem__(self, key: str) -> None:
        del self._keys[key]
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __reversed__(self) -> Iterator[str]:
        return reversed(list(self._keys))

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def keys(self) -> Iterable[str]:
        """The keys, in insertion order."""
        return self._keys.keys()

    def values(self) -> Iterable[Any]:
        """The Parameters, in insertion order."""
        return [self[k] for k in self._keys]

    def items(self) -> Iterable[tuple[str, Any]]:
        """(key, Parameter) pairs, in insertion order."""
        return [(k, self[k]) for k in self._keys]

    def get(self, key: str, default: Any = None) -> Any:
        """``self[key]`` if present, else ``default``."""
        return self[key] if key in self else default

    def pop(self, key: str) -> Any:
        """Remove ``key`` and return its Parameter."""
        v = self[key]
        del self[key]
        return v

    def setdefault(self, key: str, default: Any = None) -> Any:
        """``self[key]``, first storing ``default`` there if ``key`` is absent."""
        if key not in self:
            self[key] = default
        return self[key]

    def clear(self) -> None:
        """Remove every entry."""
        for k in list(self._keys):
            del self[k]

    def copy(self) -> ParameterDict:
        """A new ParameterDict holding the same Parameters."""
        return ParameterDict(dict(self.items()))

    def update(self, parameters: Any) -> None:
        """Store each (key, value) of a mapping or an iterable of pairs; a plain dict's
        order is kept, as in PyTorch (which sorts only ``Mapping`` types it cannot order)."""
        if isinstance(parameters, (Mapping, ParameterDict)):
            pairs = list(parameters.items())
        else:
            pairs = []
            for j, p in enumerate(parameters):
                if len(p) != 2:
                    raise ValueError(f"ParameterDict update sequence element #{j} has length "
                                     f"{len(p)}; 2 is required")  # fmt: skip
                pairs.append(tuple(p))
        for k, v in pairs:
            self[k] = v

    def extra_repr(self) -> str:
        return "\n".join(_entry_repr(k, p) for k, p in self.items())


class Unflatten(Module):
    """Expand dimension ``dim`` into ``unflattened_size``. PyTorch's ``nn.Unflatten``.

    Example:
        >>> import varjax as vj
        >>> unflat = vj.nn.Unflatten(1, (2, 3))
        >>> unflat(vj.zeros(4, 6)).shape
        varjax.Size([4, 2, 3])
        >>> unflat
        Unflatten(dim=1, unflattened_size=(2, 3))
    """

    def __init__(self, dim: int, unflattened_size: Any) -> None:
        super().__init__()
        if isinstance(dim, str):
            raise NotImplementedError("Unflatten with a named dimension (named tensors) is not "
                                      "supported; pass an integer dim")  # fmt: skip
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError("unflattened_size must be tuple of ints, but found type "
                            f"{type(unflattened_size).__name__}")  # fmt: skip
        self.dim, self.unflattened_size = dim, unflattened_size

    def forward(self, input: Variable) -> Variable:
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
