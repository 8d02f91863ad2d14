"""Sharded checkpoints: ``varjax.save`` of arrays that no one process holds whole.

With several processes (``jax.process_count() > 1``) an array sharded over all of their
devices is not fully addressable: each process holds only its own slices. ``save`` then
writes, from every process ``r`` of ``w``, the file ``shard_path(path, r, w)``
(``<path>.<r>-of-<w>``, both five digits: ``model.safetensors.00001-of-00002``) with the
slices whose replica 0 lies on that process's devices, and process 0 writes ``path`` itself
with the JSON tree and an index that says, for each such tensor, its global shape and dtype
and which file holds which slice. ``load`` reads the index and puts every tensor together
on the host, so any process, or a later run on another mesh or on one device, can read it,
as long as every file can be read from there (a shared filesystem on several hosts).

A slice of tensor ``name`` starting at offsets ``(a, b)`` is stored in its shard file under
``name@a,b``; the shard file's metadata lists its slices as well, so each file describes
itself.
"""

from __future__ import annotations

import json
import math
import os
import secrets
from typing import Any

import jax
import numpy as np
import safetensors
from jax.experimental import multihost_utils

__all__ = ["ShardReader", "global_value", "index", "local_slices", "new_token", "shard_path",
           "sync"]  # fmt: skip

_SHARD_KEY = "varjax_shard"


def global_value(value: Any) -> jax.Array | None:
    """``value`` where it is an array of which this process holds only part, else None."""
    if not isinstance(value, jax.Array) or isinstance(value, jax.core.Tracer):
        return None
    return None if value.is_fully_addressable else value


def shard_path(path: str, rank: int, world: int) -> str:
    """The file that process ``rank`` of ``world`` writes next to ``path``."""
    return f"{path}.{rank:05d}-of-{world:05d}"


def new_token() -> str:
    """One random id per save, the same on every process (process 0's): the index and the
    shard files record it, so files of two different saves are never put together."""
    mine = np.int32(secrets.randbits(31))
    return str(int(multihost_utils.broadcast_one_to_all(mine)))


def sync(what: str) -> None:
    """Wait until every process gets here."""
    multihost_utils.sync_global_devices(what)


def _slices(arr: jax.Array) -> list[tuple[list[int], list[int], Any]]:
    """Every distinct slice of ``arr`` once, as ``(start, stop, device)`` with the device of
    its replica 0: the first device with that slice in ``devices_indices_map`` order, which
    is how JAX numbers replicas (``Shard.replica_id``). Every process finds the same list."""
    seen: dict[tuple, Any] = {}
    for device, idx in arr.sharding.devices_indices_map(arr.shape).items():
        bounds = tuple(s.indices(n)[:2] for s, n in zip(idx, arr.shape))
        seen.setdefault(bounds, device)
    return [([a for a, _ in b], [z for _, z in b], d) for b, d in seen.items()]


def _key(name: str, start: list[int]) -> str:
    return f"{name}@{','.join(map(str, start))}"


def local_slices(arrays: dict[str, jax.Array], rank: int, world: int,
                 token: str) -> tuple[dict[str, np.ndarray], dict[str, str]]:  # fmt: skip
    """The tensors and the metadata of this process's shard file: its slices of ``arrays``
    whose replica 0 is on one of its devices (``shard.replica_id == 0``)."""
    tensors, listed = {}, {}
    for name, arr in arrays.items():
        here = {s.device: s for s in arr.addressable_shards}
        for start, stop, device in _slices(arr):
            if device in here:
                data = np.asarray(here[device].data)
                tensors[_key(name, start)] = data if data.flags.c_contiguous else data.copy()
                listed[_key(name, start)] = [name, start, stop]
    doc = {"token": token, "rank": rank, "world": world, "slices": listed}
    return tensors, {_SHARD_KEY: json.dumps(doc), "format": "pt"}


def index(arrays: dict[str, jax.Array], path: str, world: int, token: str) -> dict:
    """The index that process 0 writes into ``path``: the shard files (names relative to
    the directory of ``path``) and, per tensor, shape, dtype and ``[file, start, stop]``
    for each slice."""
    tensors = {}
    for name, arr in arrays.items():
        slices = [[d.process_index, start, stop] for start, stop, d in _slices(arr)]
        tensors[name] = {"shape": list(arr.shape), "dtype": np.dtype(arr.dtype).name,
                         "slices": slices}  # fmt: skip
    base = os.path.basename(path)
    files = [os.path.basename(shard_path(base, r, world)) for r in range(world)]
    return {"token": token, "files": files, "tensors": tensors}


class ShardReader:
    """The tensors of a sharded checkpoint at ``path`` whose ``index`` says where they are;
    ``read(name)`` puts one together on the host from its slices."""

    def __init__(self, doc: Any, path: str) -> None:
        self.path = path
        if not (isinstance(doc, dict) and isinstance(doc.get("files"), list)
                and isinstance(doc.get("tensors"), dict)):  # fmt: skip
            raise self._damaged("its shard index has no 'files' and 'tensors' entries")
        self.token, self.files, self.tensors = doc.get("token"), doc["files"], doc["tensors"]
        self.directory = os.path.dirname(os.path.realpath(path))
        self._open: dict[int, Any] = {}

    def _damaged(self, cause: str) -> RuntimeError:
        return RuntimeError(
            f"{self.path!r} is not a valid varjax sharded checkpoint: {cause}; it was changed "
            f"by another tool or damaged in transfer. Save it again with varjax.save"
        )

    def _file(self, number: Any) -> Any:
        if number not in self._open:
            if not (isinstance(number, int) and 0 <= number < len(self.files)):
                raise self._damaged(f"a slice names shard file number {number!r}")
            self._open[number] = self._opened(os.path.join(self.directory, self.files[number]))
        return self._open[number]

    def _opened(self, file: str) -> Any:
        if not os.path.exists(file):
            raise FileNotFoundError(
                f"cannot load the sharded checkpoint {self.path!r}: its shard file {file!r} "
                f"is missing. varjax.save from {len(self.files)} processes wrote one file per "
                f"process next to it ({self.files[0]!r} ... {self.files[-1]!r}); copy them "
                f"all along with it (on several hosts, save to a filesystem they share), or "
                f"save the checkpoint again"
            )
        try:
            f = safetensors.safe_open(file, framework="np")
        except safetensors.SafetensorError as e:
            raise RuntimeError(
                f"shard file {file!r} of {self.path!r} is not a valid safetensors file (the "
                f"parser said: {e}); it may be truncated; save the checkpoint again"
            ) from None
        try:
            token = json.loads((f.metadata() or {}).get(_SHARD_KEY, "{}")).get("token")
        except (ValueError, AttributeError):
            token = None
        if token != self.token:
            raise RuntimeError(
                f"shard file {file!r} belongs to another save than {self.path!r} (save id "
                f"{token!r}, the index says {self.token!r}): a save was interrupted, or files "
                f"of two checkpoints were mixed; save the checkpoint again"
            )
        return f

    def read(self, name: str) -> np.ndarray:
        entry = self.tensors[name]
        try:
            shape, dtype, parts = tuple(entry["shape"]), entry["dtype"], entry["slices"]
            pieces = [(n, list(a), list(z)) for n, a, z in parts]
        except (KeyError, TypeError, ValueError):
            raise self._damaged(f"the index entry of tensor {name!r} is malformed") from None
        out, filled = None, 0
        for number, start, stop in pieces:
            key = _key(name, start)
            f = self._file(number)
            if key not in f.keys():
                raise self._damaged(f"shard file {self.files[number]!r} lacks slice {key!r}")
            data = f.get_tensor(key)
            if len(start) != len(shape) or data.shape != tuple(np.subtract(stop, start)):
                raise self._damaged(f"slice {key!r} has shape {data.shape}, not {start}:{stop}")
            if out is None:
                out = np.empty(shape, data.dtype)
            if data.dtype != out.dtype or out.dtype.name != dtype:
                raise self._damaged(f"slice {key!r} has dtype {data.dtype}, not {dtype}")
            out[tuple(slice(a, z) for a, z in zip(start, stop))] = data
            filled += data.size
        if out is None or filled != math.prod(shape):
            raise self._damaged(f"the slices of tensor {name!r} do not cover its shape {shape}")
        return out
