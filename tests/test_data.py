"""``varjax.utils.data`` against ``torch.utils.data``: the same program on both libraries (only
the import differs) gives the same batches, sizes and errors; shuffles are reproducible."""

from __future__ import annotations

import copy
import pickle
from collections import namedtuple

import numpy as np
import pytest
from conftest import assert_close

import varjax as vj
from varjax.utils import data as vdata

try:
    import torch
    import torch.utils.data as tdata
except ImportError:  # pragma: no cover - depends on the machine
    torch = tdata = None

needs_torch = pytest.mark.skipif(torch is None, reason="needs torch (the oracle)")


def _plain(obj):
    """A batch as nested Python lists and numbers, for comparing the two libraries."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def _both(program):
    """``program(lib, data)`` on varjax, and on torch when installed: the same plain result."""
    got = program(vj, vdata)
    if torch is not None:
        assert got == program(torch, tdata)
    return got


def test_tensor_dataset_batches_in_order():
    def program(lib, data):
        ds = data.TensorDataset(lib.arange(10.0).reshape(5, 2), lib.arange(5))
        out = []
        for drop_last in (False, True):
            loader = data.DataLoader(ds, batch_size=2, drop_last=drop_last)
            out.append([len(loader), [_plain(b) for b in loader], type(next(iter(loader)))])
        return out + [_plain(ds[1]), len(ds)]

    got = _both(program)
    assert got[0][1][0] == [[[0.0, 1.0], [2.0, 3.0]], [0, 1]] and got[0][2] is list


def test_default_collate_follows_pytorchs_structure():
    Point = namedtuple("Point", "x y")

    def program(lib, data):
        samples = [
            {"a": 1.0, "b": (1, np.float32(2.0)), "c": "s", "d": np.ones(2, np.float32),
             "p": Point(1, 2)},
            {"a": 2.0, "b": (3, np.float32(4.0)), "c": "t", "d": np.zeros(2, np.float32),
             "p": Point(3, 4)},
        ]  # fmt: skip
        batch = data.default_collate(samples)
        return [_plain(batch), type(batch["b"]).__name__, type(batch["p"]).__name__,
                _plain(data.default_collate([lib.ones(2), lib.zeros(2)]))]  # fmt: skip

    got = _both(program)
    assert got[0]["a"] == [1.0, 2.0] and got[1] == "list" and got[2] == "Point"
    batch = vdata.default_collate([1.0, 2.0])
    assert batch.dtype == np.float64 and vdata.default_collate([1, 2]).dtype == vj.tensor(1).dtype


def test_no_automatic_batching_and_iterable_datasets():
    def program(lib, data):
        class Stream(data.IterableDataset):
            def __iter__(self):
                return iter(range(7))

        whole = [_plain(b) for b in data.DataLoader(Stream(), batch_size=3)]
        dropped = [_plain(b) for b in data.DataLoader(Stream(), batch_size=3, drop_last=True)]
        single = [_plain(b) for b in data.DataLoader([np.ones(2, np.float32)], batch_size=None)]
        return [whole, dropped, single]

    assert _both(program) == [[[0, 1, 2], [3, 4, 5], [6]], [[0, 1, 2], [3, 4, 5]], [[1.0, 1.0]]]


def test_subset_concat_and_batch_sampler():
    def program(lib, data):
        cat = data.ConcatDataset([range(3), range(10, 14)])
        sub = data.Subset(range(100), [5, 7, 9])
        sampler = data.BatchSampler(data.SequentialSampler(range(7)), 3, drop_last=False)
        n = len(data.DataLoader(range(7), 3, drop_last=True))
        return [len(cat), [cat[i] for i in (0, 2, 3, 6, -1)], len(sub), list(sub),
                list(sampler), len(sampler), n]  # fmt: skip

    assert _both(program)[1] == [0, 2, 10, 13, 13]


def test_random_split_sizes_are_pytorchs():
    def program(lib, data):
        splits = [data.random_split(range(n), lengths) for n, lengths in
                  ((10, [0.33, 0.33, 0.34]), (11, [0.5, 0.5]), (10, [3, 7]))]  # fmt: skip
        return [[len(s) for s in split] for split in splits]

    assert _both(program) == [[4, 3, 3], [6, 5], [3, 7]]
    parts = vdata.random_split(range(10), [3, 7], generator=vj.Generator().manual_seed(1))
    assert sorted(list(parts[0]) + list(parts[1])) == list(range(10))


def _epoch(seed=None, generator=None):
    if seed is not None:
        vj.manual_seed(seed)
    ds = vdata.TensorDataset(vj.arange(20))
    loader = vdata.DataLoader(ds, batch_size=6, shuffle=True, generator=generator)
    return [i for (b,) in loader for i in b.tolist()]


def test_shuffles_are_permutations_and_reproducible():
    a, b, c = _epoch(0), _epoch(0), _epoch(1)
    assert sorted(a) == list(range(20)) and a == b and a != c
    g1, g2 = vj.Generator().manual_seed(5), vj.Generator().manual_seed(5)
    vj.manual_seed(0)
    before = vj.random.counter()
    assert _epoch(generator=g1) == _epoch(generator=g2)
    assert vj.random.counter() == before  # a generator leaves the global state alone
    assert _epoch(generator=g1) != _epoch(generator=vj.Generator().manual_seed(5))  # 2nd epoch


def test_samplers_draw_what_they_promise():
    vj.manual_seed(0)
    picks = list(vdata.WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 50))
    assert set(picks) <= {1, 3} and len(picks) == 50
    drawn = list(vdata.RandomSampler(range(5), replacement=True, num_samples=12))
    assert len(drawn) == 12 and set(drawn) <= set(range(5))
    assert sorted(vdata.SubsetRandomSampler([4, 8, 15])) == [4, 8, 15]
    assert sorted(vdata.RandomSampler(range(4), num_samples=6))[:4] == [0, 0, 1, 1]


@pytest.mark.parametrize(
    ("make", "exc"),
    [
        (lambda lib, data: data.DataLoader(range(4), 2, batch_sampler=[[0]]), ValueError),
        (lambda lib, data: data.DataLoader(range(4), shuffle=True, sampler=[0]), ValueError),
        (lambda lib, data: data.DataLoader(range(4), batch_size=None, drop_last=True), ValueError),
        (lambda lib, data: data.DataLoader(range(4), num_workers=-1), ValueError),
        (lambda lib, data: data.BatchSampler(range(4), 0, False), ValueError),
        (lambda lib, data: data.TensorDataset(lib.ones(3), lib.ones(4)), AssertionError),
        (lambda lib, data: data.random_split(range(4), [1, 2]), ValueError),
    ],
)  # fmt: skip
def test_errors_are_pytorchs(make, exc):
    with pytest.raises(exc):
        make(vj, vdata)
    if torch is not None:
        with pytest.raises(exc):
            make(torch, tdata)


def _square(i):
    return {"x": np.full(2, i, np.float32), "i": i}


class _Squares(vdata.Dataset):
    def __len__(self):
        return 9

    def __getitem__(self, i):
        return _square(i)


def test_worker_processes_give_the_same_batches():
    ds = _Squares()
    one = [_plain(b) for b in vdata.DataLoader(ds, batch_size=4)]
    two = [_plain(b) for b in vdata.DataLoader(ds, batch_size=4, num_workers=2)]
    assert one == two and len(two) == 3 and two[2]["i"] == [8]
    tensors = vdata.TensorDataset(vj.arange(6.0).reshape(3, 2))  # Variables pickle to workers
    assert [_plain(b) for b in vdata.DataLoader(tensors, batch_size=2, num_workers=1)] == [
        [[[0.0, 1.0], [2.0, 3.0]]],
        [[[4.0, 5.0]]],
    ]


def test_a_dataloader_training_loop_gives_pytorchs_losses():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.3).astype(np.float32)
    w0 = rng.normal(size=(1, 3)).astype(np.float32)

    def program(lib, data):
        model = lib.nn.Linear(3, 1)
        with lib.no_grad():
            model.weight.copy_(lib.tensor(w0))
            model.bias.zero_()
        opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        loader = data.DataLoader(data.TensorDataset(lib.tensor(x), lib.tensor(y)), batch_size=8)
        losses = []
        for _ in range(3):
            for xb, yb in loader:
                opt.zero_grad()
                loss = lib.nn.functional.mse_loss(model(xb), yb)
                loss.backward()
                opt.step()
                losses.append(loss.item())
        return losses

    got = program(vj, vdata)
    assert got[-1] < 0.2 * got[0]
    if torch is not None:
        assert_close(got, program(torch, tdata), rtol=1e-4, atol=1e-5)


def test_variables_pickle_and_deepcopy_as_pytorchs():
    x = vj.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    y = pickle.loads(pickle.dumps(x))
    assert y.tolist() == [1.0, 2.0] and y.requires_grad and y.is_leaf and y.grad is None
    z = copy.deepcopy(x)
    assert z.grad.tolist() == [3.0, 3.0] and z.grad is not x.grad
    p = pickle.loads(pickle.dumps(vj.nn.Parameter(vj.ones(2))))
    assert type(p) is vj.nn.Parameter and p.requires_grad
    h = pickle.loads(pickle.dumps(x * 2))  # history is not pickled, the value is
    assert h.tolist() == [2.0, 4.0] and h.is_leaf
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(x * 2)
    if torch is not None:
        with pytest.raises(RuntimeError, match="graph leaves"):
            copy.deepcopy(torch.ones(2, requires_grad=True) * 2)


def test_label_bounds_checks_read_nothing_back_in_a_training_loop(monkeypatch):
    """Item 5 of the scale-out issue: a DataLoader over a dataset, or labels made from host
    data each step, are known in bounds without a read of the device; only a label computed
    on the device is measured (its range: two numbers), and a bad one still raises."""
    from varjax._methods import index

    measured = []
    real = index._measure
    monkeypatch.setattr(index, "_measure", lambda v, ig: measured.append(v.shape) or real(v, ig))
    rng = np.random.default_rng(0)
    x = vj.tensor(rng.standard_normal((64, 5)).astype(np.float32))
    y = vj.tensor(rng.integers(0, 3, 64))
    net, loss_fn = vj.nn.Linear(5, 3), vj.nn.CrossEntropyLoss()
    loader = vdata.DataLoader(vdata.TensorDataset(x, y), batch_size=16, shuffle=True)
    for _ in range(2):
        for xb, yb in loader:
            loss_fn(net(xb), yb).backward()
    for _ in range(3):  # a fresh batch of labels from host data every step
        labels = vj.tensor(rng.integers(0, 3, 16))
        loss_fn(net(x[:16]), labels).backward()
    emb = vj.nn.Embedding(10, 4)
    emb(vj.tensor(rng.integers(0, 10, (4, 3)))).sum().backward()
    assert measured == []  # nothing was read: every range was known from the host
    computed = (y[:16] + 1) % 3  # made on the device
    loss_fn(net(x[:16]), computed).backward()
    assert measured == [(16,)]
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 1 with size 3"):
        loss_fn(net(x[:16]), computed + 1)
    ignored = vj.where(computed == 0, -100, computed)  # PyTorch's ignore_index left out
    loss_fn(net(x[:16]), ignored).backward()
