"""``varjax.utils.data``: PyTorch's datasets, samplers and ``DataLoader``.

Batches are built on the host: samples that are NumPy arrays or numbers are stacked with
NumPy and become one Variable per batch (one device transfer, not one per sample), and a
``TensorDataset`` is indexed once per batch with the batch's indices. Shuffles draw from a
``varjax.Generator`` when one is given, else from varjax's seeded state, so
``varjax.manual_seed`` makes them reproducible. ``num_workers > 0`` loads batches in worker
processes (started with ``spawn``: JAX does not survive ``fork``), which send NumPy batches
back.

Example:
    >>> import varjax as vj
    >>> from varjax.utils.data import DataLoader, TensorDataset
    >>> ds = TensorDataset(vj.arange(10.0).reshape(5, 2), vj.arange(5))
    >>> [y.tolist() for _, y in DataLoader(ds, batch_size=2)]
    [[0, 1], [2, 3], [4]]
"""

from __future__ import annotations

import bisect
import collections.abc
import itertools
import math
import multiprocessing
import numbers
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar

import jax
import numpy as np

from .. import random as _rng
from .._creation import tensor
from .._dtypes import default_float, default_int
from .._functions import stack
from .._variable import Variable
from ..distributed import get_rank, get_world_size

__all__ = [
    "BatchSampler", "ConcatDataset", "DataLoader", "Dataset", "DistributedSampler",
    "IterableDataset",
    "RandomSampler", "Sampler", "SequentialSampler", "Subset", "SubsetRandomSampler",
    "TensorDataset", "WeightedRandomSampler", "default_collate", "random_split",
]  # fmt: skip

T = TypeVar("T")


# -- datasets -------------------------------------------------------------------------------------


class Dataset(Generic[T]):
    """A map-style dataset: subclass and define ``__getitem__`` (and ``__len__``).

    Example:
        >>> from varjax.utils.data import Dataset
        >>> class Squares(Dataset):
        ...     def __len__(self):
        ...         return 4
        ...     def __getitem__(self, i):
        ...         return i * i
        >>> ds = Squares()
        >>> len(ds), ds[3], len(ds + ds)
        (4, 9, 8)
    """

    def __getitem__(self, index: int) -> T:
        raise NotImplementedError("a Dataset subclass must define __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset[T]):
    """A stream of samples: subclass and define ``__iter__``.

    Example:
        >>> from varjax.utils.data import DataLoader, IterableDataset
        >>> class Count(IterableDataset):
        ...     def __iter__(self):
        ...         return iter(range(3))
        >>> [b.tolist() for b in DataLoader(Count(), batch_size=2)]
        [[0, 1], [2]]
    """

    def __iter__(self) -> Iterator[T]:
        raise NotImplementedError("an IterableDataset subclass must define __iter__")


class TensorDataset(Dataset):
    """Samples are the ``i``-th rows of each tensor: ``TensorDataset(x, y)[i] == (x[i], y[i])``.

    Example:
        >>> import varjax as vj
        >>> from varjax.utils.data import TensorDataset
        >>> ds = TensorDataset(vj.arange(6).reshape(3, 2), vj.tensor([0, 1, 0]))
        >>> len(ds), ds[1]
        (3, (tensor([2, 3]), tensor(1)))
    """

    def __init__(self, *tensors: Variable) -> None:
        sizes = [t.shape[0] if t.ndim else None for t in tensors]
        if not tensors or None in sizes or len(set(sizes)) != 1:  # PyTorch's assert
            raise AssertionError(f"Size mismatch between tensors: first dims {sizes}")
        self.tensors = tensors

    def __getitem__(self, index: Any) -> tuple:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset[T]):
    """The samples of ``dataset`` at ``indices``.

    Example:
        >>> from varjax.utils.data import Subset
        >>> sub = Subset([10, 11, 12, 13], [3, 1])
        >>> len(sub), sub[0], sub[1]
        (2, 13, 11)
    """

    def __init__(self, dataset: Dataset[T], indices: Sequence[int]) -> None:
        self.dataset, self.indices = dataset, list(indices)

    def __getitem__(self, index: Any) -> T:
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset[T]):
    """Several datasets one after the other.

    Example:
        >>> from varjax.utils.data import ConcatDataset
        >>> ds = ConcatDataset([[1, 2], [3, 4, 5]])
        >>> len(ds), ds[2], ds.cumulative_sizes
        (5, 3, [2, 5])
    """

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise ValueError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> T:
        if index < 0:
            if -index > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            index += len(self)
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


def random_split(
    dataset: Dataset[T], lengths: Sequence[int | float], generator: _rng.Generator | None = None
) -> list[Subset[T]]:
    """Split ``dataset`` at random into non-overlapping Subsets of the given lengths, or of
    the given fractions of its length (the remainder going round-robin, as PyTorch does).

    Example:
        >>> import varjax as vj
        >>> from varjax.utils.data import random_split
        >>> g = vj.Generator().manual_seed(0)
        >>> train, val = random_split(range(10), [0.7, 0.3], generator=g)
        >>> len(train), len(val), sorted(train.indices + val.indices) == list(range(10))
        (7, 3, True)
    """
    n = len(dataset)  # type: ignore[arg-type]
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = [math.floor(n * f) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    order = _rng.host_rng(generator).permutation(n).tolist()
    ends = list(itertools.accumulate(lengths))
    return [Subset(dataset, order[e - k : e]) for k, e in zip(lengths, ends)]


# -- samplers -------------------------------------------------------------------------------------


class Sampler(Generic[T]):
    """Yields the indices (or index batches) a DataLoader loads.

    Example:
        >>> from varjax.utils.data import Sampler
        >>> class Evens(Sampler):
        ...     def __iter__(self):
        ...         return iter(range(0, 6, 2))
        >>> list(Evens())
        [0, 2, 4]
    """

    def __init__(self, data_source: Any = None) -> None:
        pass

    def __iter__(self) -> Iterator[T]:
        raise NotImplementedError


class SequentialSampler(Sampler[int]):
    """The indices ``0, 1, ..., len(data_source) - 1``, in order (PyTorch's
    ``SequentialSampler``).

    Example:
        >>> from varjax.utils.data import SequentialSampler
        >>> list(SequentialSampler(["a", "b", "c"]))
        [0, 1, 2]
    """

    def __init__(self, data_source: Any) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler[int]):
    """A random order of the indices (or ``num_samples`` draws with replacement).

    Example:
        >>> import varjax as vj
        >>> from varjax.utils.data import RandomSampler
        >>> sampler = RandomSampler(range(5), generator=vj.Generator().manual_seed(0))
        >>> len(sampler), sorted(sampler)
        (5, [0, 1, 2, 3, 4])
    """

    def __init__(
        self, data_source: Any, replacement: bool = False, num_samples: int | None = None,
        generator: _rng.Generator | None = None,
    ) -> None:  # fmt: skip
        self.data_source, self.replacement, self.generator = data_source, replacement, generator
        self._num_samples = num_samples
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(
                f"num_samples should be a positive integer value, but got "
                f"num_samples={self.num_samples}"
            )

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        rng, n = _rng.host_rng(self.generator), len(self.data_source)
        if self.replacement:
            return iter(rng.integers(0, n, self.num_samples).tolist())
        reps = -(-self.num_samples // n)
        order = np.concatenate([rng.permutation(n) for _ in range(reps)])
        return iter(order[: self.num_samples].tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler[int]):
    """The given indices, in a random order.

    Example:
        >>> import varjax as vj
        >>> from varjax.utils.data import SubsetRandomSampler
        >>> sampler = SubsetRandomSampler([4, 7, 9], generator=vj.Generator().manual_seed(0))
        >>> len(sampler), sorted(sampler)
        (3, [4, 7, 9])
    """

    def __init__(self, indices: Sequence[int], generator: _rng.Generator | None = None) -> None:
        self.indices, self.generator = indices, generator

    def __iter__(self) -> Iterator[int]:
        order = _rng.host_rng(self.generator).permutation(len(self.indices))
        return (self.indices[i] for i in order.tolist())

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler[int]):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``.

    Example:
        >>> import varjax as vj
        >>> from varjax.utils.data import WeightedRandomSampler
        >>> g = vj.Generator().manual_seed(0)
        >>> sampler = WeightedRandomSampler([0.0, 1.0, 0.0, 2.0], 2, replacement=False, generator=g)
        >>> len(sampler), sorted(sampler)  # the two indices of nonzero weight
        (2, [1, 3])
    """

    def __init__(
        self, weights: Sequence[float], num_samples: int, replacement: bool = True,
        generator: _rng.Generator | None = None,
    ) -> None:  # fmt: skip
        w = np.asarray(weights.tolist() if isinstance(weights, Variable) else weights, np.float64)
        if w.ndim != 1 or (w < 0).any() or not w.sum() > 0:
            raise ValueError(f"weights must be a 1-D sequence of non-negative numbers, got {w}")
        if not replacement and num_samples > len(w):
            raise ValueError("num_samples must not exceed len(weights) without replacement")
        self.weights, self.num_samples = w, num_samples
        self.replacement, self.generator = replacement, generator

    def __iter__(self) -> Iterator[int]:
        rng = _rng.host_rng(self.generator)
        p = self.weights / self.weights.sum()
        picks = rng.choice(len(p), self.num_samples, replace=self.replacement, p=p)
        return iter(picks.tolist())

    def __len__(self) -> int:
        return self.num_samples


class DistributedSampler(Sampler[int]):
    """This process's share of a dataset (PyTorch's ``DistributedSampler``): every
    ``num_replicas``-th index from ``rank`` on, of one order all processes agree on (a
    permutation seeded by ``seed + epoch`` when ``shuffle``; call ``set_epoch`` each epoch).
    Without ``drop_last`` the order is padded by repeating its start, so every process gets
    ``ceil(len / num_replicas)`` indices. ``num_replicas`` and ``rank`` default to the
    process group's; within a process, shard each batch over the local devices with
    ``varjax.distributed.distribute_tensor``.

    Example:
        >>> from varjax.utils.data import DistributedSampler
        >>> list(DistributedSampler(range(5), num_replicas=2, rank=1, shuffle=False))
        [1, 3, 0]
    """

    def __init__(
        self, dataset: Any, num_replicas: int | None = None, rank: int | None = None,
        shuffle: bool = True, seed: int = 0, drop_last: bool = False,
    ) -> None:  # fmt: skip
        if num_replicas is None:
            num_replicas = get_world_size()
        if rank is None:
            rank = get_rank()
        if rank >= num_replicas or rank < 0:
            raise ValueError(
                f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]"
            )
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last, self.epoch = shuffle, seed, drop_last, 0
        n = len(dataset)
        if drop_last and n % num_replicas:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng(self.seed + self.epoch).permutation(n).tolist()
        else:
            order = list(range(n))
        if self.drop_last:
            order = order[: self.total_size]
        elif order:
            pad = self.total_size - len(order)
            order += (order * math.ceil(pad / len(order)))[:pad]
        return iter(order[self.rank : self.total_size : self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """The epoch seeds the shuffle: every process must set the same one."""
        self.epoch = epoch


class BatchSampler(Sampler[list[int]]):
    """Groups the indices of ``sampler`` into lists of ``batch_size``.

    Example:
        >>> from varjax.utils.data import BatchSampler, SequentialSampler
        >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
        [[0, 1], [2, 3], [4]]
        >>> list(BatchSampler(range(5), batch_size=2, drop_last=True))
        [[0, 1], [2, 3]]
    """

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(
                f"batch_size should be a positive integer value, but got batch_size={batch_size}"
            )
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self) -> Iterator[list[int]]:
        it = iter(self.sampler)
        while batch := list(itertools.islice(it, self.batch_size)):
            if len(batch) < self.batch_size and self.drop_last:
                return
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


# -- collation ------------------------------------------------------------------------------------


def _collate_float() -> np.dtype:
    # PyTorch collates Python floats as float64 (not the default dtype); float32 without x64
    return np.dtype(np.float64) if jax.config.jax_enable_x64 else default_float()


def _host_collate(batch: list) -> Any:
    """PyTorch's default_collate with NumPy arrays for tensors (runs in worker processes)."""
    elem = batch[0]
    if isinstance(elem, Variable):
        return np.stack([np.asarray(b.detach().numpy()) for b in batch])
    if isinstance(elem, (np.ndarray, np.generic)) and elem.dtype.kind in "biufc":
        return np.stack(batch)
    if isinstance(elem, bool):
        return np.asarray(batch, np.bool_)
    if isinstance(elem, numbers.Integral):
        return np.asarray(batch, default_int())
    if isinstance(elem, numbers.Real):
        return np.asarray(batch, _collate_float())
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        return type(elem)({k: _host_collate([b[k] for b in batch]) for k in elem})  # type: ignore[call-arg]
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a namedtuple
        return type(elem)(*(_host_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if any(len(b) != len(elem) for b in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [_host_collate(list(s)) for s in zip(*batch)]
    raise TypeError(
        f"default_collate: batch must contain Variables, NumPy arrays, numbers, dicts or "
        f"lists; found {type(elem).__name__}"
    )


def default_collate(batch: list) -> Any:
    """Stack a list of samples into a batch, as PyTorch's ``default_collate``: Variables are
    stacked (on the device), NumPy arrays and numbers become one Variable per batch, dicts
    and sequences are collated field by field (a tuple sample gives a list, as PyTorch).

    Example:
        >>> import varjax as vj
        >>> from varjax.utils.data import default_collate
        >>> default_collate([(vj.tensor([1.0, 2.0]), 0), (vj.tensor([3.0, 4.0]), 1)])
        [tensor([[1., 2.],
                [3., 4.]]), tensor([0, 1])]
    """
    elem = batch[0]
    if isinstance(elem, Variable):
        return stack(list(batch))
    if isinstance(elem, collections.abc.Mapping):
        return type(elem)({k: default_collate([b[k] for b in batch]) for k in elem})  # type: ignore[call-arg]
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence) and not isinstance(elem, (str, bytes)):
        if any(len(b) != len(elem) for b in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(list(s)) for s in zip(*batch)]
    return _convert(_host_collate(batch))


# -- the loader -----------------------------------------------------------------------------------


def _fetch(dataset: Any, indices: list[int], collate: Callable) -> Any:
    if isinstance(dataset, TensorDataset) and collate is default_collate:
        rows = np.asarray(indices)  # one gather per tensor for the whole batch
        return [t[tensor(rows)] for t in dataset.tensors]
    return collate([dataset[i] for i in indices])


def _worker(dataset: Any, collate: Callable | None, tasks: Any, results: Any, wid: int,
            init: Callable | None) -> None:  # fmt: skip
    """A worker process: load the index batches it is sent, as NumPy."""
    if init is not None:
        init(wid)
    while (task := tasks.get()) is not None:
        k, indices = task
        try:
            samples = [dataset[i] for i in indices] if indices is not None else None
            out = _host_collate(samples) if collate is None else collate(samples)
            results.put((k, out, None))
        except Exception as e:  # sent back: the main process raises it at the user's loop
            results.put((k, None, f"{type(e).__name__}: {e}"))


class DataLoader(Generic[T]):
    """Batches of a dataset, in order or shuffled, as ``torch.utils.data.DataLoader``.

    Example:
        >>> import varjax as vj
        >>> from varjax.utils.data import DataLoader
        >>> [b.tolist() for b in DataLoader([1.0, 2.0, 3.0], batch_size=2)]
        [[1.0, 2.0], [3.0]]
    """

    def __init__(
        self, dataset: Any, batch_size: int | None = 1, shuffle: bool | None = None,
        sampler: Any = None, batch_sampler: Any = None, num_workers: int = 0,
        collate_fn: Callable | None = None, pin_memory: bool = False, drop_last: bool = False,
        timeout: float = 0, worker_init_fn: Callable | None = None,
        multiprocessing_context: Any = None, generator: _rng.Generator | None = None, *,
        prefetch_factor: int | None = None, persistent_workers: bool = False,
        pin_memory_device: str = "", in_order: bool = True,
    ) -> None:  # fmt: skip
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")  # fmt: skip
        iterable = isinstance(dataset, IterableDataset)
        if iterable and (shuffle or sampler is not None or batch_sampler is not None):
            raise ValueError(
                "DataLoader with IterableDataset: expected unspecified shuffle, sampler and "
                f"batch_sampler options, but got shuffle={shuffle}"
            )
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None
                                          or drop_last):  # fmt: skip
            raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                             "shuffle, sampler, and drop_last")  # fmt: skip
        if batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")  # fmt: skip
        self.dataset, self.num_workers, self.timeout = dataset, num_workers, timeout
        self.pin_memory, self.drop_last, self.generator = pin_memory, drop_last, generator
        self.worker_init_fn, self.batch_size = worker_init_fn, batch_size
        if sampler is None and not iterable:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))  # fmt: skip
        if batch_sampler is None and batch_size is not None and not iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.collate_fn = collate_fn if collate_fn is not None else (
            default_collate if batch_size is not None or batch_sampler is not None
            else _convert)  # fmt: skip

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)  # type: ignore[arg-type]
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)

    def __iter__(self) -> Iterator[Any]:
        if isinstance(self.dataset, IterableDataset):
            return self._iterable()
        if self.batch_sampler is None:  # no automatic batching: one sample at a time
            return (self.collate_fn(self.dataset[i]) for i in self.sampler)
        if self.num_workers == 0:
            return (_fetch(self.dataset, b, self.collate_fn) for b in self.batch_sampler)
        return self._multiprocess()

    def _iterable(self) -> Iterator[Any]:
        it = iter(self.dataset)
        if self.batch_size is None:
            yield from (self.collate_fn(s) for s in it)
            return
        while batch := list(itertools.islice(it, self.batch_size)):
            if len(batch) < self.batch_size and self.drop_last:
                return
            yield self.collate_fn(batch)

    def _multiprocess(self) -> Iterator[Any]:
        """Batches from worker processes, in the sampler's order."""
        ctx = multiprocessing.get_context("spawn")
        tasks, results = ctx.Queue(), ctx.Queue()
        custom = None if self.collate_fn is default_collate else self.collate_fn
        workers = [
            ctx.Process(target=_worker, daemon=True,
                        args=(self.dataset, custom, tasks, results, w, self.worker_init_fn))
            for w in range(self.num_workers)
        ]  # fmt: skip
        for w in workers:
            w.start()
        try:
            batches = list(self.batch_sampler)
            for k, indices in enumerate(batches):
                tasks.put((k, indices))
            done: dict = {}
            for k in range(len(batches)):
                while k not in done:
                    j, out, err = results.get(timeout=self.timeout or None)
                    if err is not None:
                        raise RuntimeError(f"DataLoader worker raised {err} (batch {j})")
                    done[j] = out
                out = done.pop(k)
                yield _convert(out) if custom is None else out
        finally:
            for _ in workers:
                tasks.put(None)
            for w in workers:
                w.join(timeout=5)
                if w.is_alive():
                    w.terminate()


def _convert(sample: Any) -> Any:
    """NumPy arrays (a host batch, or a sample without automatic batching) as Variables, one
    transfer per array, through dicts, namedtuples and sequences."""
    if isinstance(sample, Variable):
        return sample
    if isinstance(sample, np.ndarray) and sample.dtype.kind in "biufc":
        return tensor(sample)
    if isinstance(sample, collections.abc.Mapping):
        return type(sample)({k: _convert(v) for k, v in sample.items()})  # type: ignore[call-arg]
    if isinstance(sample, tuple) and hasattr(sample, "_fields"):
        return type(sample)(*(_convert(v) for v in sample))
    if isinstance(sample, collections.abc.Sequence) and not isinstance(sample, (str, bytes)):
        return [_convert(v) for v in sample]
    return sample
