"""The everyday tensor API (issue 12, part 3) against PyTorch: the same program on both
libraries, values, gradients, dtypes and errors compared. Without torch, each test still
checks varjax against NumPy or the values PyTorch gives (written out)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from conftest import assert_close

import varjax as vj

try:
    import torch
except ImportError:  # pragma: no cover - depends on the machine
    torch = None

X = np.array([[3.0, -1.0, 2.5, 0.5], [0.0, 5.0, 4.0, -2.0], [1.5, 1.0, -3.0, 2.0]], np.float32)


def _plain(obj):
    if hasattr(obj, "detach"):
        return obj.detach().numpy().tolist()
    if isinstance(obj, (list, tuple)):
        return [_plain(o) for o in obj]
    return obj


def _compare(program, expected=None):
    """``program(lib, x)`` with ``x`` a leaf requiring grad: its outputs (plain) and ``x``'s
    gradient of the sum of its first output, on varjax, torch, and against ``expected``."""

    def run(lib):
        x = lib.tensor(X.copy(), requires_grad=True)
        outs = program(lib, x)
        first = outs[0] if isinstance(outs, (list, tuple)) else outs
        if getattr(first, "requires_grad", False):
            (
                first * lib.arange(first.numel()).reshape(first.shape).to(first.dtype)
            ).sum().backward()
        grad = None if x.grad is None else x.grad.numpy().tolist()
        return _plain(outs), grad

    got = run(vj)
    if torch is not None:
        _same(got, run(torch))
    if expected is not None:
        _same(got[0], expected)
    return got


def _same(a, b):
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        assert len(a) == len(b), (a, b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, float) or isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-5) or (math.isnan(a) and math.isnan(b))
    else:
        assert a == b, (a, b)


@pytest.mark.parametrize(
    "program",
    [
        lambda lib, x: list(x.sort(1)),
        lambda lib, x: list(x.sort(0, descending=True)),
        lambda lib, x: list(lib.sort(x, dim=-1, stable=True)),
        lambda lib, x: [x.argsort(1), x.argsort(0, descending=True)],
        lambda lib, x: list(x.topk(2, dim=1)),
        lambda lib, x: list(x.topk(2, dim=0, largest=False)),
        lambda lib, x: list(x.kthvalue(2, 1)),
        lambda lib, x: list(x.kthvalue(2, 0, keepdim=True)),
        lambda lib, x: [x.median()],
        lambda lib, x: list(x.median(1)),
    ],
)
def test_order_statistics_and_their_gradients(program):
    _compare(program)


def test_sort_puts_nan_last_and_keeps_ties_in_order():
    def program(lib, x):
        y = lib.tensor([2.0, float("nan"), 1.0, 2.0, -1.0, 2.0])
        return [y.sort(stable=True).indices, y.sort(descending=True, stable=True).indices,
                lib.tensor([3, 1, 3, 2]).argsort(stable=True)]  # fmt: skip

    _compare(program, [[4, 2, 0, 3, 5, 1], [1, 0, 3, 5, 2, 4], [1, 3, 0, 2]])


@pytest.mark.parametrize(
    "program",
    [
        lambda lib, x: [x.tril(), x.triu(1), x.tril(-1)],
        lambda lib, x: [x.diagonal(), x.diagonal(1), lib.diagonal(x, -1)],
        lambda lib, x: [x[:, :3].trace() * x.diag().sum()],
        lambda lib, x: [lib.diag(x[0]), lib.diag(x[0], -1)],
        lambda lib, x: [x.narrow(1, 1, 2), x.narrow(0, -2, 2)],
        lambda lib, x: [lib.stack(x.unbind(1)) * 2, *x.unbind(0)],
        lambda lib, x: [x.movedim(0, 1), x.reshape(3, 2, 2).movedim((0, 1), (2, 0))],
        lambda lib, x: [x.unflatten(1, (2, 2)), x.unflatten(1, (-1, 2))],
        lambda lib, x: [x.tile((2,)), x.tile((2, 1, 1))],
        lambda lib, x: [x[0].broadcast_to((2, 4)), x.view_as(lib.ones(4, 3)), x.reshape_as(x.t())],
        lambda lib, x: [x.diff(), x.diff(n=2, dim=0), x.diff(dim=1, prepend=x[:, :1])],
        lambda lib, x: [
            x.take_along_dim(lib.tensor([[0], [2], [1]]), 1),
            x.take_along_dim(lib.tensor([3, 0])),
        ],  # fmt: skip
    ],
)
def test_shape_functions_and_their_gradients(program):
    _compare(program)


@pytest.mark.parametrize(
    "program",
    [
        lambda lib, x: [x.index_add(0, lib.tensor([0, 0]), x[:2] * 2, alpha=2)],
        lambda lib, x: [x.index_copy(1, lib.tensor([3, 0]), x[:, :2] * 3)],
        lambda lib, x: [x.index_fill(1, lib.tensor([1, 2]), -1.0)],
        # a Python int value is a value, not a size
        lambda lib, x: [
            x.index_fill(0, lib.tensor([1]), 2), x.long().index_fill(1, lib.tensor([0]), -1)
        ],
        # a Python number scaled by alpha
        lambda lib, x: [x.add(2, alpha=3), lib.sub(x, 1.5, alpha=2), x.long().sub(1, alpha=3)],
        lambda lib, x: [x.clamp_min(0.5), x.clamp_max(1.0)],
        lambda lib, x: [x.addcmul(x, x, value=0.5), lib.addcdiv(x, x, x.abs() + 1, value=2)],
    ],
)
def test_index_and_arithmetic_functions(program):
    _compare(program)


def test_in_place_forms():
    def program(lib, x):
        y = x * 1
        y.masked_fill_(y > 2, 0.0).clamp_min_(-1).addcmul_(x, x, value=0.1).pow_(2)
        z = lib.zeros(3, 4)
        z.index_add_(0, lib.tensor([1, 1]), x[:2]).index_fill_(1, lib.tensor([0]), 5.0)
        z.scatter_(1, lib.tensor([[3], [3], [3]]), 9.0).scatter_add_(0, lib.tensor([[0, 0]]),
                                                                    lib.ones(1, 2))  # fmt: skip
        w = x.detach().clone()
        for name in ("exp_", "sqrt_", "log_", "neg_", "sigmoid_", "tanh_", "relu_", "abs_",
                     "floor_", "round_", "sign_", "reciprocal_"):  # fmt: skip
            w = x.detach().abs().clone() + 0.5
            getattr(w, name)()
        i = lib.tensor([6, 3])
        i &= lib.tensor([3, 3])
        return [y, z, w, i]

    _compare(program)


@pytest.mark.parametrize(
    "program",
    [
        lambda lib, x: [
            x.nonzero(),
            (x > 1).nonzero(as_tuple=True),
            lib.where(x > 1),
            lib.argwhere(x < 0),
        ],  # fmt: skip
        lambda lib, x: [
            x.masked_select(x > 1),
            x.masked_select(lib.tensor([True, False, True, False])),
        ],  # fmt: skip
        lambda lib, x: [x.take(lib.tensor([[0, 11], [5, -1]]))],
        lambda lib, x: [
            *lib.unique(lib.tensor([3, 1, 3, 2, 1]), return_inverse=True, return_counts=True),
            lib.unique(x.round()),
        ],  # fmt: skip
        lambda lib, x: [
            lib.tensor([1, 3, 3, 0]).bincount(),
            lib.tensor([2, 0]).bincount(minlength=4),
            lib.tensor([0, 2, 0]).bincount(lib.tensor([0.5, 1.0, 2.0])),
        ],  # fmt: skip
        lambda lib, x: [
            x.repeat_interleave(2, dim=1),
            x.repeat_interleave(lib.tensor([1, 0, 2]), dim=0),
            lib.tensor([1, 2]).repeat_interleave(3),
        ],  # fmt: skip
        lambda lib, x: [*x.cummax(1), *x.cummin(0), x.logcumsumexp(1)],
        lambda lib, x: [lib.histc(x, bins=4, min=-3, max=5), lib.histc(x, bins=3)],
        lambda lib, x: [
            *lib.meshgrid(x[0], x[1, :2], indexing="ij"),
            *lib.meshgrid(x[0], x[1, :2], indexing="xy"),
        ],
        lambda lib, x: [lib.cdist(x, x[:2]), lib.cdist(x, x[1:], p=1.0)],
        lambda lib, x: [
            lib.searchsorted(lib.tensor([-1.0, 0.5, 2.0]), x),
            lib.bucketize(x, lib.tensor([-1.0, 0.5, 2.0]), right=True),
        ],  # fmt: skip
        lambda lib, x: [lib.cross(x[:, :3], x[:, 1:], dim=1), lib.kron(x[:2, :2], x[1:, 2:])],
    ],
)
def test_value_dependent_and_composite_functions(program):
    _compare(program)


def test_value_dependent_results_are_an_error_inside_jit():
    @vj.jit
    def f(x):
        return x.nonzero()

    with pytest.raises(RuntimeError, match="`nonzero`.*has a shape that depends on values"):
        f(vj.tensor([1.0, 0.0]))


def test_comparisons_of_whole_tensors():
    def program(lib, x):
        y = x.detach() * (1 + 1e-6)
        nan = lib.tensor([float("nan"), 1.0])
        return [x.isclose(y), x.allclose(y), x.allclose(y + 1), x.equal(x.detach()),
                x.equal(x[:2]), nan.isclose(nan), nan.isclose(nan, equal_nan=True),
                x.count_nonzero(), x.count_nonzero(0), lib.count_nonzero(x, dim=1)]  # fmt: skip

    got = _compare(program)
    assert got[0][1:5] == [True, False, True, False]


def test_bitwise_operators():
    def program(lib, x):
        a, b = x > 0, x < 3
        i, j = lib.tensor([6, 3, 5]), lib.tensor([3, 5, 1])
        return [a & b, a | b, a ^ b, ~a, i & j, i | j, i ^ j, ~i, a & True, 1 | i]

    _compare(program)


def test_new_tensors_types_and_python_protocols():
    def program(lib, x):
        return [
            x.new_zeros(2, 3), x.new_ones((2,)), x.new_full((2,), 7), x.new_tensor([1, 2]),
            x.new_empty(3).shape == (3,), x.new_zeros(2, dtype=lib.int32),
            x.type_as(lib.tensor([1, 2])), x.nelement(), lib.numel(x), lib.is_tensor(x),
            lib.is_tensor(X), f"{x.sum():.3f}", f"{x[0, 0]:>8.2f}", list(range(lib.tensor(3))),
            [10, 20, 30][lib.tensor(1)], x.new_zeros(2).requires_grad,
            lib.full_like(x, 2.5)[0], lib.empty(2, 3).shape == (2, 3),
            lib.empty_like(x).shape == x.shape,
            str(lib.full_like(x, 2, dtype=lib.int32).dtype)[-5:],
        ]  # fmt: skip

    got = _compare(program)
    assert got[0][11] == "13.500"
    assert vj.tensor([1.0]).type() == "varjax.FloatTensor"
    assert vj.tensor([1.5]).type("torch.LongTensor").tolist() == [1]
    with pytest.raises(TypeError, match="integer tensors of a single element"):
        [1, 2][vj.tensor(1.0)]


def test_random_creation():
    vj.manual_seed(0)
    a = vj.randint(3, 7, (200,))
    assert a.dtype == vj.tensor(1).dtype and 3 <= a.min().item() and a.max().item() <= 6
    assert set(a.tolist()) == {3, 4, 5, 6}
    assert vj.randint(5, (3, 2)).shape == (3, 2)
    p = vj.randperm(10)
    assert sorted(p.tolist()) == list(range(10)) and p.tolist() != list(range(10))
    x = vj.ones(4, 2, dtype=vj.float16)
    assert vj.randn_like(x).shape == (4, 2) and vj.rand_like(x).dtype == vj.float16
    assert vj.randint_like(vj.ones(3, dtype=vj.int32), 4).dtype == vj.int32
    vj.manual_seed(1)
    b = vj.randperm(10).tolist()
    vj.manual_seed(1)
    assert vj.randperm(10).tolist() == b
    with pytest.raises(RuntimeError, match="'from' to be less than 'to'"):
        vj.randint(5, 5, (2,))
    if torch is not None:
        with pytest.raises(RuntimeError, match="'from' to be less than 'to'"):
            torch.randint(5, 5, (2,))


def test_from_numpy_and_as_tensor():
    a = np.arange(6, dtype=np.int32).reshape(2, 3)
    t = vj.from_numpy(a)
    assert t.dtype == np.int32 and t.tolist() == a.tolist()
    v = vj.ones(2)
    assert vj.as_tensor(v) is v and vj.asarray([1.0, 2.0]).tolist() == [1.0, 2.0]
    assert vj.as_tensor(v, dtype=vj.float16).dtype == vj.float16
    with pytest.raises(TypeError, match="expected np.ndarray"):
        vj.from_numpy([1, 2])
    if torch is not None:
        with pytest.raises(TypeError, match="expected np.ndarray"):
            torch.from_numpy([1, 2])


@pytest.mark.parametrize(
    "program",
    [
        lambda lib, x: [lib.nn.functional.tanh(x), lib.nn.functional.sigmoid(x)],
        lambda lib, x: [lib.nn.functional.smooth_l1_loss(x, lib.zeros(3, 4))],
        lambda lib, x: [
            lib.nn.functional.smooth_l1_loss(x, lib.ones(3, 4), beta=0.5, reduction="none")
        ],  # fmt: skip
        lambda lib, x: [lib.nn.SmoothL1Loss(reduction="sum", beta=2.0)(x, lib.zeros(3, 4))],
    ],
)
def test_functional_additions(program):
    _compare(program)


def test_clip_grad_norm_and_value():
    def program(lib, norm_type):
        w = lib.tensor([[3.0, -4.0]], requires_grad=True)
        b = lib.tensor([12.0], requires_grad=True)
        ((w * lib.tensor([[1.0, 1.0]])).sum() + b.sum() * lib.tensor(1.0)).backward()
        w.grad.mul_(lib.tensor([[3.0, -4.0]]))
        b.grad.mul_(12)
        total = lib.nn.utils.clip_grad_norm_([w, b], 5.0, norm_type=norm_type)
        return [total.item(), w.grad.tolist(), b.grad.tolist()]

    for norm_type in (2.0, 1.0, float("inf")):
        got = program(vj, norm_type)
        if torch is not None:
            _same(got, program(torch, norm_type))
    assert math.isclose(program(vj, 2.0)[0], 13.0, rel_tol=1e-6)
    w = vj.tensor([1.0, -5.0], requires_grad=True)
    (w * w).sum().backward()
    vj.nn.utils.clip_grad_value_([w], 3.0)
    assert w.grad.tolist() == [2.0, -3.0]


def test_init_functions():
    names = ["linear", "relu", "tanh", "sigmoid", "selu", "conv2d"]
    gains = [vj.nn.init.calculate_gain(n) for n in names] + [
        vj.nn.init.calculate_gain("leaky_relu", 0.2)
    ]
    if torch is not None:
        want = [torch.nn.init.calculate_gain(n) for n in names]
        want.append(torch.nn.init.calculate_gain("leaky_relu", 0.2))
        assert_close(gains, want)
    vj.manual_seed(0)
    w = vj.nn.Parameter(vj.zeros(200, 300))
    assert vj.nn.init.xavier_uniform_(w) is w and w.requires_grad
    bound = math.sqrt(6.0 / 500)
    assert w.abs().max().item() <= bound and w.abs().max().item() > 0.9 * bound
    vj.nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert math.isclose(w.std().item(), math.sqrt(2.0 / 200), rel_tol=0.05)
    vj.nn.init.kaiming_uniform_(w, a=math.sqrt(5))  # what Linear uses: bound 1/sqrt(fan_in)
    assert w.abs().max().item() <= 1 / math.sqrt(300) + 1e-6
    vj.nn.init.trunc_normal_(w, std=1.0, a=-0.5, b=0.5)
    assert w.abs().max().item() <= 0.5 and w.abs().min().item() < 0.01
    vj.nn.init.normal_(w, 3.0, 0.1)
    assert math.isclose(w.mean().item(), 3.0, rel_tol=0.01)
    e = vj.zeros(2, 3)
    assert vj.nn.init.eye_(e).tolist() == [[1, 0, 0], [0, 1, 0]]
    assert vj.nn.init.constant_(vj.zeros(2), 0.3).tolist() == pytest.approx([0.3, 0.3])
    with pytest.raises(ValueError, match="fewer than 2"):
        vj.nn.init.xavier_uniform_(vj.zeros(3))


def test_inference_mode():
    x = vj.ones(2, requires_grad=True)
    with vj.inference_mode():
        assert not (x * 2).requires_grad
    with vj.inference_mode(False):
        assert (x * 2).requires_grad

    @vj.inference_mode()
    def f(v):
        return v * 2

    assert not f(x).requires_grad and (x * 2).requires_grad


def test_dtype_limits_and_the_default_dtype():
    def program(lib):
        fs = [lib.finfo(d) for d in (lib.float16, lib.bfloat16, lib.float32)] + [lib.finfo()]
        ints = [lib.iinfo(d) for d in (lib.int32, lib.uint8, lib.int16)]
        return [[f.bits, f.eps, f.max, f.min, f.tiny, f.smallest_normal, f.resolution]
                for f in fs] + [[i.bits, i.max, i.min] for i in ints]  # fmt: skip

    got = program(vj)
    assert got[0][2] == 65504.0 and got[4] == [32, 2147483647, -2147483648]
    if torch is not None:
        _same(got, program(torch))
    assert vj.get_default_dtype() is vj.float32  # the dtype object, as torch.float32
    if torch is not None:
        expected = repr(torch.get_default_dtype()).replace("torch", "varjax")
        assert repr(vj.get_default_dtype()) == expected
    try:
        vj.set_default_dtype(vj.float16)
        assert vj.tensor([1.5]).dtype == vj.float16 and vj.ones(2).dtype == vj.float16
        assert (vj.ones(2, dtype=vj.int32) * 0.5).dtype == vj.float16
    finally:
        vj.set_default_dtype(vj.float32)
    assert (vj.ones(2, dtype=vj.int32) * 0.5).dtype == vj.float32
    with pytest.raises(TypeError, match="only floating-point types"):
        vj.set_default_dtype(vj.int32)


@pytest.mark.parametrize(
    "program",
    [
        lambda lib, x: [
            lib.nn.functional.mse_loss(x, x.detach() * 0.5, size_average=False),
            lib.nn.functional.l1_loss(x, x.detach() * 0, reduce=False),
        ],  # fmt: skip
        lambda lib, x: [
            lib.nn.MSELoss(size_average=False, reduce=True)(x, x.detach() + 1),
            lib.nn.L1Loss(None, None, "sum")(x, x.detach() * 2),
        ],  # fmt: skip
        lambda lib, x: [
            lib.nn.functional.cross_entropy(x, lib.tensor([1, 3, 0]), None, False),
            lib.nn.CrossEntropyLoss(reduce=False)(x, lib.tensor([1, 3, 0])),
        ],
        lambda lib, x: [
            lib.nn.functional.nll_loss(
                x.log_softmax(1), lib.tensor([0, 1, 2]), None, False, -100, None, "mean"
            )
        ],  # fmt: skip
        lambda lib, x: [
            lib.nn.functional.binary_cross_entropy_with_logits(x, (x > 0).float(), None, False)
        ],  # fmt: skip
    ],
)
def test_legacy_reduction_arguments(program):
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        program(vj, vj.tensor(X, requires_grad=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _compare(program)


def test_masked_scatter_values_gradients_and_errors():
    mask = [[True, False, True, False], [False, False, True, True], [True, False, False, False]]
    source = np.arange(12, dtype=np.float32).reshape(3, 4) * 10
    sources = []  # kept alive: the gradient of the source is compared below

    def program(lib, x):
        src = lib.tensor(source, requires_grad=True)
        sources.append(src)
        out = (x * 2).masked_scatter(lib.tensor(mask), src * 1)
        row = x.detach().clone().masked_scatter_(lib.tensor([True, False, True, False]), src)
        return [out, row]

    got = _compare(program)
    assert got[0][0][0] == [0.0, -2.0, 10.0, 1.0]
    assert sources[0].grad.tolist()[0] == [0.0, 2.0, 6.0, 7.0]
    if torch is not None:
        assert sources[0].grad.tolist() == sources[1].grad.tolist()
    for lib in [vj] + ([torch] if torch is not None else []):
        with pytest.raises(RuntimeError):
            lib.zeros(3).masked_scatter(lib.tensor([True, True, True]), lib.ones(2))


def test_in_place_view_ops_change_the_shape_and_keep_history():
    def program(lib, x):
        y = x * 2
        y.t_()
        z = (x + 1).unsqueeze_(0)
        w = lib.ones(2, 1, 3).squeeze_(1)
        v = lib.ones(2, 3)
        v.transpose_(0, 1)
        return [y * lib.arange(12.0).reshape(4, 3), z, w, list(v.shape), list(y.shape)]

    got = _compare(program)
    assert got[0][-1] == [4, 3]
    for lib in [vj] + ([torch] if torch is not None else []):
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            lib.ones(2, 3, requires_grad=True).t_()
    x = vj.ones(2, 3)
    view = x[0]
    with pytest.raises(RuntimeError, match="use the out-of-place form, x = x.t()"):
        x.t_()  # varjax refuses where a view shares the storage (PyTorch changes metadata)
    assert view.shape == (3,) and x.shape == (2, 3)


def test_out_writes_into_the_given_tensor_as_pytorch():
    def program(lib):
        a, b = lib.tensor([1.0, 2.0]), lib.tensor([3.0, 4.0])
        c = lib.zeros(2)
        same = lib.add(a, b, out=c) is c
        empty = lib.tensor([])
        lib.mul(a, b, out=empty)
        as_float = lib.zeros(2)
        lib.add(lib.tensor([1, 2]), 1, out=as_float)
        values, indices = lib.zeros(3), lib.zeros(3, dtype=lib.long)
        lib.sort(lib.tensor([2.0, 0.5, 1.0]), out=(values, indices))
        joined = lib.zeros(4)
        lib.cat([a, b], out=joined)
        with lib.no_grad():
            lib.exp(lib.ones(2, requires_grad=True), out=c)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            resized = lib.zeros(5)
            lib.matmul(lib.ones(2, 3), lib.ones(3), out=resized)
        return [same, _plain(empty), _plain(as_float), _plain(values), _plain(indices),
                _plain(joined), _plain(c), _plain(resized),
                [str(w.message)[:60] for w in caught]]  # fmt: skip

    got = program(vj)
    assert got[0] is True and got[1] == [3.0, 8.0] and got[7] == [3.0, 3.0]
    if torch is not None:
        _same(got, program(torch))
    for lib in [vj] + ([torch] if torch is not None else []):
        with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
            lib.add(lib.ones(2), 1.5, out=lib.zeros(2, dtype=lib.long))
        with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
            lib.add(lib.ones(2, requires_grad=True), 1, out=lib.zeros(2))
        with pytest.raises(TypeError, match="argument 'out' must be Tensor, not list"):
            lib.add(lib.ones(2), 1, out=[1])
        with pytest.raises(TypeError, match="unexpected keyword argument 'out'"):
            lib.allclose(lib.ones(2), lib.ones(2), out=lib.zeros(1))


@pytest.mark.parametrize(
    "program",
    [
        lambda lib, x: list(lib.mode(x.round(), 1)),
        lambda lib, x: list((x.round() * 0).mode(0, keepdim=True)),
        lambda lib, x: list(lib.tensor([3, 1, 3, 1, 2]).mode()),
        lambda lib, x: [x.swapdims(0, 1), lib.masked_scatter(x, x > 1, lib.ones(12))],
    ],
)
def test_mode_swapdims_and_function_forms(program):
    _compare(program)


@pytest.mark.parametrize(
    "program",
    [
        lambda lib: lib.cummax(lib.tensor([1.0, 3.0, 2.0, 5.0]), dim=0).indices,
        lambda lib: lib.cummin(lib.tensor([[1.0, 3.0], [2.0, 0.5]]), dim=1).indices,
        lambda lib: lib.searchsorted(lib.tensor([1, 3, 5, 7]), lib.tensor([3, 6])),
        lambda lib: lib.bucketize(lib.tensor([0.5, 6.0]), lib.tensor([1.0, 3.0]), right=True),
    ],
)
def test_index_results_are_int64_as_pytorchs(program):
    got = program(vj)
    assert str(got.dtype) == "varjax.int64"
    if torch is not None:
        assert got.tolist() == program(torch).tolist()


@pytest.mark.parametrize(
    "program",
    [
        lambda lib, x: x.max(0), lambda lib, x: x.min(1, keepdim=True), lambda lib, x: x.sort(1),
        lambda lib, x: x.topk(2), lambda lib, x: x.kthvalue(2, 0), lambda lib, x: x.median(1),
        lambda lib, x: x.mode(0), lambda lib, x: lib.cummax(x, 1), lambda lib, x: lib.cummin(x, 0),
    ],
)  # fmt: skip
def test_values_and_indices_results_print_as_pytorchs(program):
    got = program(vj, vj.tensor(X[:2, :3]))
    assert got.values is got[0] and got.indices is got[1]
    if torch is not None:
        expected = repr(program(torch, torch.tensor(X[:2, :3])))
        assert repr(got) == expected.replace("torch.", "varjax.")
