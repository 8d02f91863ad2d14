"""``save`` and ``load``: Variables and nested state dicts in safetensors files, never pickle.

A file holds the tensors in the safetensors tensor section and, in its ``__metadata__``, one
JSON document under the key ``"varjax"`` that records the structure (dicts with str or int
keys, lists, tuples) and the non-tensor leaves (int, float, bool, str, None). Loading parses
that JSON and nothing else, so opening a file never runs code.

Tensor names are key paths joined by dots (``"state.0.momentum_buffer"``), so a flat
str -> tensor dict such as a Module's ``state_dict()`` is stored under exactly its keys and
other safetensors readers (``safetensors.numpy.load_file``, ``safetensors.torch.load_file``)
see the same names.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, BinaryIO

import jax
import numpy as np
import safetensors
import safetensors.numpy

from . import _checkpoint_shards as shards
from ._variable import Variable, as_array

__all__ = ["load", "save"]

_META_KEY = "varjax"
_VERSION = 1
# A sharded checkpoint (several processes, see _checkpoint_shards): a reader of version 1
# would take its tensors in other files for damage; 2 tells it to upgrade instead.
_SHARDED_VERSION = 2
# The name of the one tensor of ``save(variable, path)``.
_SINGLE = "tensor"
# dtypes that safetensors writes and its NumPy reader reads back (float8 is written, not read).
_DTYPES = frozenset(
    ["bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
     "float16", "bfloat16", "float32", "float64", "complex64"]
)  # fmt: skip
_SCALARS = (bool, int, float, str, type(None))

PathLike = str | os.PathLike


def _where(keys: tuple) -> str:
    return "obj" + "".join(f"[{k!r}]" for k in keys)


def _check_dtype(dtype: np.dtype, keys: tuple) -> None:
    if dtype.name not in _DTYPES:
        raise TypeError(
            f"cannot save {_where(keys)}: dtype {dtype} has no safetensors encoding; "
            f"convert it first to one of {', '.join(sorted(_DTYPES))}"
        )


class _Encoder:
    """Splits an object into named NumPy arrays and a JSON tree that refers to them by name."""

    def __init__(self) -> None:
        self.tensors: dict[str, np.ndarray] = {}
        # arrays that this process holds only part of: each process writes its own slices
        self.sharded: dict[str, jax.Array] = {}

    def _name(self, keys: tuple) -> str:
        name = ".".join(str(k) for k in keys) or _SINGLE
        # Dotted paths can collide ({"a.b": x, "a": {"b": y}}); the tree records every name,
        # so any unique suffix reads back correctly.
        base, n = name, 1
        while name in self.tensors or name in self.sharded:
            name, n = f"{base}#{n}", n + 1
        return name

    def _array(self, obj: Any, keys: tuple) -> np.ndarray:
        arr = np.asarray(obj)
        # Not np.ascontiguousarray, which turns a 0-d array into shape (1,).
        arr = arr if arr.flags.c_contiguous else arr.copy(order="C")
        _check_dtype(arr.dtype, keys)
        return arr

    def encode(self, obj: Any, keys: tuple = ()) -> dict:
        if isinstance(obj, (Variable, jax.Array, np.ndarray, np.generic)):
            name = self._name(keys)
            part = None  # with one process every array is whole here
            if jax.process_count() > 1:
                part = shards.global_value(obj._value() if isinstance(obj, Variable) else obj)
            if part is None:
                self.tensors[name] = self._array(obj, keys)
            else:
                _check_dtype(np.dtype(part.dtype), keys)
                self.sharded[name] = part
            return {"tensor": name}
        return self._encode_structure(obj, keys)

    def _encode_structure(self, obj: Any, keys: tuple) -> dict:
        if isinstance(obj, _SCALARS):
            return {"value": obj}
        if isinstance(obj, Mapping):
            items = []
            for k, v in obj.items():
                if isinstance(k, bool) or not isinstance(k, (str, int)):
                    raise TypeError(
                        f"cannot save {_where(keys)}: dict key {k!r} of type "
                        f"{type(k).__name__} is not str or int; convert the keys, "
                        f"e.g. {{str(k): v for k, v in d.items()}}"
                    )
                items.append([k, self.encode(v, (*keys, k))])
            return {"dict": items, "ordered": isinstance(obj, OrderedDict)}
        if isinstance(obj, (list, tuple)):
            kind = "list" if isinstance(obj, list) else "tuple"
            return {kind: [self.encode(v, (*keys, i)) for i, v in enumerate(obj)]}
        raise TypeError(
            f"cannot save {_where(keys)} of type {type(obj).__name__}: varjax.save stores "
            f"Variables, arrays, dicts, lists, tuples and int/float/bool/str/None leaves only "
            f"(no pickle); store the object's state (e.g. a state_dict()) instead"
        )


def save(obj: Any, f: PathLike | BinaryIO, pickle_module: Any = None,
         pickle_protocol: int | None = None, _use_new_zipfile_serialization: bool = True,
         _disable_byteorder_record: bool = False) -> None:  # fmt: skip
    """Write ``obj`` to ``f`` (a path, or a binary file object such as ``io.BytesIO``) as a
    safetensors file, atomically for a path. PyTorch's pickle settings are accepted and
    mean nothing here: nothing is pickled.

    ``obj`` is a Variable or array, a dict of them (a Module's ``state_dict()``), or a nested
    structure of dicts (str or int keys), lists and tuples whose leaves are Variables, arrays,
    or int/float/bool/str/None (an optimizer's ``state_dict()``). A flat str -> tensor dict is
    stored under exactly its keys, so other safetensors readers see the same names. The file
    is written next to ``path`` and renamed over it, so a failed save leaves any old file as
    it was.

    Sharded values: one process saves a Variable sharded over a mesh whole, like any other.
    With several processes (``jax.process_count() > 1``), values of which each process holds
    only part make a sharded checkpoint: every process calls ``save(obj, path)`` alike;
    process ``r`` of ``w`` writes ``<path>.<r>-of-<w>`` (five digits each:
    ``model.safetensors.00001-of-00002``) with the slices on its devices, each slice once, as
    ``<name>@<start offsets>``; then process 0 writes ``path``: the structure, the values
    that each process holds whole (process 0's), and an index of each sharded tensor's shape,
    dtype and slices. Each file is written atomically; ``save`` returns once all are on disk.
    On several hosts, save to a filesystem they share. Where every value is whole on each
    process, the file is the plain one (then save from one rank, as in PyTorch).

    Example:
        >>> import os, tempfile
        >>> import varjax as vj
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = os.path.join(tmp.name, "model.safetensors")
        >>> vj.save({"weight": vj.ones(2), "step": 3}, path)
        >>> vj.load(path)
        {'weight': tensor([1., 1.]), 'step': 3}
        >>> tmp.cleanup()
    """
    encoder = _Encoder()
    tree = encoder.encode(obj)  # every TypeError comes before the disk is touched
    if encoder.sharded:
        if hasattr(f, "write"):
            raise ValueError(
                f"cannot save {', '.join(map(repr, encoder.sharded))} to a file object: "
                f"each of the {jax.process_count()} processes holds only part of them, and "
                f"a sharded checkpoint is one file per process; pass a path instead"
            )
        _save_sharded(encoder, tree, _target(f))
        return
    metadata = _metadata({"version": _VERSION, "root": tree})
    if hasattr(f, "write"):
        f.write(safetensors.numpy.save(encoder.tensors, metadata=metadata))
        return
    _write_file(_target(f), encoder.tensors, metadata)


def _metadata(doc: dict) -> dict[str, str]:
    # "format": "pt" marks PyTorch-layout weights for readers such as transformers, which
    # refuse a file whose metadata lacks it.
    return {_META_KEY: json.dumps(doc), "format": "pt"}


def _save_sharded(encoder: _Encoder, tree: dict, path: str) -> None:
    """Each process writes its slices to its own file, then process 0 writes ``path`` with
    the tree and the index (see _checkpoint_shards); no process returns before all is on
    disk, so any of them can load the checkpoint next."""
    rank, world = jax.process_index(), jax.process_count()
    token = shards.new_token()
    tensors, metadata = shards.local_slices(encoder.sharded, rank, world, token)
    _write_file(shards.shard_path(path, rank, world), tensors, metadata)
    shards.sync(f"varjax.save shards of {path}")
    if rank == 0:
        index = shards.index(encoder.sharded, path, world, token)
        doc = {"version": _SHARDED_VERSION, "root": tree, "shards": index}
        _write_file(path, encoder.tensors, _metadata(doc))
    shards.sync(f"varjax.save of {path}")


def _target(f: PathLike) -> str:
    """The file to write for the path ``f``: the one a link points to (the link stays)."""
    path = os.fspath(f)
    if os.path.islink(path):
        path = os.path.realpath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"cannot save to {path!r}: the directory {directory!r} does not exist; "
            f"create it first, e.g. os.makedirs({directory!r})"
        )
    return path


def _write_file(path: str, tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    """Write a safetensors file next to ``path`` and rename it over ``path``."""
    directory = os.path.dirname(os.path.abspath(path))
    _remove_stale(directory, os.path.basename(path))
    tmp = os.path.join(
        directory, f".{os.path.basename(path)}.{os.getpid()}.{secrets.token_hex(8)}.tmp"
    )
    # O_EXCL never follows or clobbers someone else's file; mode 0o666 lets the umask decide
    # the permissions, as a plain open() would.
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        safetensors.numpy.save_file(tensors, tmp, metadata=metadata)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)  # the data is on disk before the rename makes it visible
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _remove_stale(directory: str, base: str) -> None:
    """Delete the temporary files of saves to ``base`` whose process is gone (killed mid-save);
    a save still running in another process keeps its file."""
    prefix = f".{base}."
    for entry in os.listdir(directory):
        if not (entry.startswith(prefix) and entry.endswith(".tmp")):
            continue
        parts = entry[len(prefix) : -len(".tmp")].split(".")
        if len(parts) != 2 or not parts[0].isdigit():
            continue
        try:
            os.kill(int(parts[0]), 0)
        except ProcessLookupError:
            try:
                os.unlink(os.path.join(directory, entry))
            except OSError:
                pass
        except OSError:  # alive, owned by another user
            pass


def _corrupt(path: str, cause: str) -> RuntimeError:
    return RuntimeError(
        f"{path!r} is not a valid varjax file: {cause}; it was changed by another tool or "
        f"damaged in transfer. Save it again with varjax.save"
    )


_MAX_DEPTH = 200  # nesting of the structure; a state dict needs a handful of levels


class _Reader:
    """One file's tensors, each read once: metadata that names a tensor many times gets one
    array (Variables over it are separate, as arrays are immutable), so what a load holds is
    bounded by the file's size."""

    def __init__(self, f: Any, path: str) -> None:
        self.f, self.path = f, path
        self.names = set(f.keys())
        self.arrays: dict[str, jax.Array] = {}
        self.shards: shards.ShardReader | None = None  # a sharded checkpoint's other files

    def tensor(self, name: str) -> Variable:
        sharded = self.shards is not None and name in self.shards.tensors
        if name not in self.names and not sharded:
            raise _corrupt(self.path, f"the metadata refers to tensor {name!r}, which is missing")
        if name not in self.arrays:
            self.arrays[name] = self._read(name, sharded)
        return Variable(self.arrays[name])

    def _read(self, name: str, sharded: bool) -> jax.Array:
        if sharded:  # put together on the host from the shard files
            return as_array(self.shards.read(name), what=f"loading {name!r} from {self.path!r}")
        try:
            raw = self.f.get_tensor(name)
        except (AttributeError, TypeError, ValueError) as e:  # e.g. float8: no NumPy dtype
            dtype = self.f.get_slice(name).get_dtype()
            raise RuntimeError(
                f"cannot load tensor {name!r} from {self.path!r}: its dtype {dtype} has no "
                f"NumPy type in safetensors' reader ({e}). Remedy: convert it to one of "
                f"{', '.join(sorted(_DTYPES))} with the tool that wrote the file"
            ) from None
        # a 64-bit value that does not fit JAX's 32-bit defaults (x64 mode off) raises
        return as_array(raw, what=f"loading tensor {name!r} from {self.path!r}")


def _decode(node: Any, r: _Reader, depth: int = 0) -> Any:
    path = r.path
    if depth > _MAX_DEPTH:
        raise _corrupt(path, f"its structure is nested deeper than {_MAX_DEPTH} levels")
    if not isinstance(node, dict) or len(node) - ("ordered" in node) != 1:
        raise _corrupt(path, f"unexpected node {_short(node)} in the metadata")
    if "tensor" in node:
        if not isinstance(node["tensor"], str):
            raise _corrupt(path, f"unexpected tensor name {_short(node['tensor'])}")
        return r.tensor(node["tensor"])
    if "value" in node:
        if not isinstance(node["value"], _SCALARS):
            raise _corrupt(path, f"unexpected value {_short(node['value'])} in the metadata")
        return node["value"]
    if "dict" in node and isinstance(node["dict"], list):
        out = OrderedDict() if node.get("ordered") else {}
        for item in node["dict"]:
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], (str, int))):
                raise _corrupt(path, f"unexpected dict item {_short(item)} in the metadata")
            out[item[0]] = _decode(item[1], r, depth + 1)
        return out
    for kind, cls in (("list", list), ("tuple", tuple)):
        if kind in node and isinstance(node[kind], list):
            return cls([_decode(v, r, depth + 1) for v in node[kind]])
    raise _corrupt(path, f"unexpected node {_short(node)} in the metadata")


def _short(obj: Any) -> str:
    text = repr(obj)
    return text if len(text) <= 80 else text[:77] + "..."


def load(f: PathLike | BinaryIO, map_location: Any = None, pickle_module: Any = None, *,
         weights_only: bool | None = None, mmap: bool | None = None,
         **pickle_load_args: Any) -> Any:  # fmt: skip
    """Read what :func:`save` wrote to ``f`` (a path or a binary file object): the same
    structure, with Variables for the tensors.

    ``map_location`` places them, as in PyTorch: a device (``"cpu"``, ``varjax.device(...)``),
    a dict whose values name one device, or a function ``(tensor, "cpu") -> tensor``. Loading
    is always ``weights_only`` (nothing is unpickled), and ``mmap`` and PyTorch's pickle
    arguments change nothing.

    Variables come back with ``requires_grad=False`` on the default device; dicts keep their
    int keys and order, and what was an ``OrderedDict`` (a ``state_dict()``) is one again. A
    safetensors file from another writer, without varjax's metadata, loads as a plain dict
    of Variables in the file's (alphabetical) key order. Only JSON and raw tensor bytes are
    parsed, never pickle, so loading a file never runs code.

    A sharded checkpoint (what :func:`save` writes from several processes) loads from its
    file ``path`` and the files ``<path>.<r>-of-<w>`` next to it, all of which must be
    there (a missing one raises ``FileNotFoundError`` naming it): each tensor is put
    together whole on the host, so it loads into one process or many, on any mesh. The
    Variables are ordinary ones; ``model.load_state_dict(state)`` and
    ``optimizer.load_state_dict(state)`` copy them into the parameters' and states' own
    layouts, which they keep.

    Example:
        >>> import os, tempfile
        >>> import varjax as vj
        >>> tmp = tempfile.TemporaryDirectory()
        >>> path = os.path.join(tmp.name, "linear.safetensors")
        >>> model = vj.nn.Linear(2, 1)
        >>> vj.save(model.state_dict(), path)
        >>> state = vj.load(path)
        >>> type(state).__name__, list(state), state["weight"].requires_grad
        ('OrderedDict', ['weight', 'bias'], False)
        >>> copy = vj.nn.Linear(2, 1)
        >>> _ = copy.load_state_dict(state)
        >>> bool((copy.weight == model.weight).all())
        True
        >>> tmp.cleanup()
    """
    if hasattr(f, "read"):
        return _load_bytes(f.read(), map_location)
    return _placed(_load_path(os.fspath(f)), map_location)


def _load_bytes(data: bytes, map_location: Any) -> Any:
    """Load from a file object's bytes: through a private temporary file (safetensors opens
    paths), removed again."""
    fd, tmp = tempfile.mkstemp(suffix=".safetensors")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        return _placed(_load_path(tmp), map_location)
    finally:
        os.unlink(tmp)


def _placed(obj: Any, map_location: Any) -> Any:
    """``obj`` with its Variables placed as ``map_location`` says (see ``load``)."""
    if map_location is None:
        return obj
    if isinstance(map_location, Mapping):
        targets = set(map(str, map_location.values()))
        if len(targets) != 1:
            raise ValueError(
                f"map_location={map_location!r} names several devices, and a varjax file does "
                f"not record where its tensors were; pass one device instead"
            )
        map_location = next(iter(map_location.values()))
    move = map_location if callable(map_location) else lambda v, _: v.to(map_location)
    return _map_variables(obj, lambda v: move(v, "cpu"))


def _map_variables(obj: Any, fn: Any) -> Any:
    if isinstance(obj, Variable):
        return fn(obj)
    if isinstance(obj, Mapping):
        out = type(obj)() if isinstance(obj, OrderedDict) else {}
        for k, v in obj.items():
            out[k] = _map_variables(v, fn)
        return out
    if isinstance(obj, (list, tuple)):
        return type(obj)(_map_variables(v, fn) for v in obj)
    return obj


def _load_path(path: str) -> Any:
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"no file at {path!r} (absolute: {os.path.abspath(path)!r}); check the path, or "
            f"write the file first with varjax.save(obj, path)"
        )
    if os.path.isdir(path):
        raise IsADirectoryError(
            f"{path!r} is a directory, not a file; pass the path of a file that varjax.save "
            f"wrote (e.g. {os.path.join(path, 'model.safetensors')!r})"
        )
    try:
        with safetensors.safe_open(path, framework="np") as f:
            r = _Reader(f, path)
            raw = (f.metadata() or {}).get(_META_KEY)
            if raw is None:
                return {name: r.tensor(name) for name in sorted(r.names)}
            try:
                doc = json.loads(raw)
            except (ValueError, RecursionError) as e:  # not JSON, too deep, a huge number
                raise _corrupt(
                    path,
                    f"its {_META_KEY!r} metadata is not JSON that can be read "
                    f"({type(e).__name__}: {_short(str(e))})",
                ) from None
            if not isinstance(doc, dict) or "root" not in doc:
                raise _corrupt(path, f"its {_META_KEY!r} metadata has no 'root' entry")
            if doc.get("version") == _SHARDED_VERSION:
                r.shards = shards.ShardReader(doc.get("shards"), path)
            elif doc.get("version") != _VERSION:
                raise RuntimeError(
                    f"{path!r} has varjax format version {doc.get('version')!r}, and this "
                    f"varjax reads versions {_VERSION} and {_SHARDED_VERSION}; upgrade "
                    f"varjax to load it"
                )
            return _decode(doc["root"], r)
    except safetensors.SafetensorError as e:
        raise RuntimeError(
            f"{path!r} is not a valid safetensors file (the parser said: {e}); it may be "
            f"truncated or corrupt, or written in another format such as torch.save's pickle "
            f"(convert that with safetensors.torch.save_file); save it again with varjax.save"
        ) from None
