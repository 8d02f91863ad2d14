"""Small conveniences (issue 12, part 6): ``varjax.testing.assert_close`` with PyTorch's
tolerances and messages, and ``set_printoptions``; compared with PyTorch where it is
installed."""

from __future__ import annotations

import pytest

import varjax as vj

try:
    import torch
except ImportError:  # pragma: no cover - depends on the machine
    torch = None


def _message(lib, actual, expected, **kw):
    try:
        lib.testing.assert_close(actual, expected, **kw)
    except AssertionError as e:
        return str(e)
    return None


@pytest.mark.parametrize(
    ("a", "e", "kw"),
    [
        ([1.0, 2.0, 3.0], [1.0, 2.0 + 1e-6, 3.0], {}),  # within float32's defaults
        ([1.0, 2.0, 3.0], [1.0, 2.5, 3.0], {}),
        ([1.0, 2.0, 3.0], [1.0, 2.5, 3.0], {"rtol": 0.3, "atol": 0.0}),
        ([float("nan"), 1.0], [float("nan"), 1.0], {}),
        ([float("nan"), 1.0], [float("nan"), 1.0], {"equal_nan": True}),
        ([float("inf"), 1.0], [float("inf"), 1.0], {}),
        ([[1.0, 5.0], [3.0, 4.0]], [[1.0, 2.0], [3.0, 4.1]], {}),
        ([1.0, 2.0], [1.5, 2.0], {}),  # 1 / 3 in float32, as PyTorch reports it
        ([float("nan"), 1.0], [1.0, 3.0], {}),  # a NaN is the greatest difference
    ],
)
def test_assert_close_passes_and_fails_as_pytorchs(a, e, kw):
    got = _message(vj, vj.tensor(a), vj.tensor(e), **kw)
    if torch is not None:
        want = _message(torch, torch.tensor(a), torch.tensor(e), **kw)
        assert (got is None) == (want is None)
        assert got == want  # the same counts and greatest differences, line by line


def test_assert_close_messages_name_what_differs():
    msg = _message(vj, vj.tensor([1.0, 2.0, 3.0]), vj.tensor([1.0, 2.5, 3.0]))
    assert msg.splitlines()[:4] == [
        "Tensor-likes are not close!", "",
        "Mismatched elements: 1 / 3 (33.3%)",
        "Greatest absolute difference: 0.5 at index (1,) (up to 1e-05 allowed)",
    ]  # fmt: skip
    assert "attribute 'shape'" in _message(vj, vj.ones(2), vj.ones(3))
    assert "attribute 'dtype'" in _message(vj, vj.ones(2), vj.ones(2, dtype=vj.int32))
    assert _message(vj, vj.ones(2), vj.ones(2, dtype=vj.int32), check_dtype=False) is None
    assert "Expected 1.5 but got 1.0" in _message(vj, vj.tensor(1.0), vj.tensor(1.5))
    assert "item ['b']" in _message(vj, {"a": vj.ones(1), "b": vj.ones(1)},
                                    {"a": vj.ones(1), "b": vj.zeros(1)})  # fmt: skip
    assert _message(vj, [vj.ones(2), 3], [vj.ones(2), 3]) is None
    assert _message(vj, vj.ones(2), vj.ones(2) * 2, msg="custom") == "custom"
    with pytest.raises(ValueError, match="Both 'rtol' and 'atol'"):
        vj.testing.assert_close(vj.ones(1), vj.ones(1), rtol=1e-3)
    half = vj.tensor([1.0], dtype=vj.float16)
    assert _message(vj, half, half * (1 + 5e-4)) is None  # float16's looser default


def test_set_printoptions_follows_pytorch():
    values = [1.23456789, 2.5, 1e-5]
    cases = [{"precision": 2}, {"sci_mode": False, "precision": 3}, {"sci_mode": True},
             {"profile": "short"}]  # fmt: skip
    for opts in cases:
        try:
            vj.set_printoptions(**opts)
            got = repr(vj.tensor(values))
        finally:
            vj.set_printoptions(profile="default")
        if torch is not None:
            try:
                torch.set_printoptions(**opts)
                want = repr(torch.tensor(values))
            finally:
                torch.set_printoptions(profile="default")
            assert got == want, (opts, got, want)
    try:
        vj.set_printoptions(threshold=5, edgeitems=1)
        assert repr(vj.arange(10)) == "tensor([0, ..., 9])"
    finally:
        vj.set_printoptions(profile="default")
    assert repr(vj.tensor([1.23456789])) == "tensor([1.2346])"
    with pytest.raises(ValueError, match="profile"):
        vj.set_printoptions(profile="nope")


@pytest.mark.parametrize(
    "program",
    [
        lambda lib: lib.nn.functional.hardswish(lib.tensor([-4.0, -1.0, 3.0, 4.0, 5.5],
                                                            requires_grad=True)),
        lambda lib: lib.tensor([1.12345, 2.0, 3.0, 4.0, 5.0, 6.0], dtype=lib.float64,
                               requires_grad=True) * 2,
        lambda lib: lib.arange(30.0).reshape(3, 10).to(lib.float16),
        lambda lib: lib.tensor([1.5, 2.5], dtype=lib.float64),
        lambda lib: lib.ones(2, 2, requires_grad=True),
    ],
)  # fmt: skip
def test_suffixes_wrap_at_the_line_width_as_pytorchs(program):
    got = repr(program(vj))
    if torch is not None:
        assert got == repr(program(torch)).replace("torch.", "varjax.")
    assert max(len(line) for line in got.splitlines()) <= 80
