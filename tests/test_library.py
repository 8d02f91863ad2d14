"""The rest of the op library: dtypes and promotion, non-differentiable ops, varjax.op,
multi-output functions, and the error cases PyTorch users rely on.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_close

import varjax as vj


def executions() -> int:
    s = vj.compile_stats()
    return s.compiles + s.cache_hits


# -- dtypes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make,dtype",
    [
        (lambda: vj.tensor([1, 2]) * 1.5, np.float32),  # int tensor with a Python float
        (lambda: vj.tensor([1.0, 2.0]) * 2.5, np.float32),  # float32 stays float32
        (lambda: vj.tensor([1, 2]) / vj.tensor([2, 2]), np.float32),  # true division
        (lambda: vj.tensor([1, 2]) + 1, vj.int64),
        (lambda: vj.tensor([True, False]) + 1, vj.int64),  # PyTorch's default int
        (lambda: vj.tensor([1, 2]) * vj.tensor([0.5, 1.0]), np.float32),
        (lambda: vj.tensor([1.0], dtype=vj.float16) * 2.0, np.float16),
        (lambda: vj.tensor([1, 2]) > 1.5, np.bool_),
    ],
)
def test_promotion_follows_pytorch_for_common_cases(make, dtype):
    assert make().dtype == dtype


def test_conversions(mode):
    x = vj.tensor([1.7, -2.2], requires_grad=True)
    assert x.float() is x
    assert x.half().dtype == np.float16 and x.bfloat16().dtype == vj.bfloat16
    assert x.int().tolist() == [1, -2] and x.long().dtype == vj.int64
    assert x.bool().tolist() == [True, True] and x.to(vj.float16).dtype == np.float16
    assert x.to(dtype=vj.int32).dtype == np.int32 and x.to("cpu") is x
    assert x.is_floating_point() and not x.int().is_floating_point()
    y = x.half().float() * 3  # casts are differentiable
    y.sum().backward()
    assert_close(x.grad.numpy(), [3.0, 3.0])


def test_float64_works():
    x = vj.tensor([1.0, 2.0], requires_grad=True).double()
    assert x.dtype == np.float64 and x.is_leaf is False
    (x * x).sum().backward()
    assert (x.sin() + 1e-12).dtype == np.float64


# -- non-differentiable ops ----------------------------------------------------------------------


def test_logic_and_index_reductions(mode):
    a = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], np.float32)
    x = vj.tensor(a, requires_grad=True)
    assert x.argmax().item() == 5 and x.argmin().item() == 0
    assert x.argmax(1).tolist() == [1, 2] and x.argmin(0, keepdim=True).tolist() == [[0, 1, 0]]
    assert not x.argmax().requires_grad
    assert (x > 2).all(1).tolist() == [False, False] and (x > 2).any().item()
    assert vj.all(x > 0).item() and x.any(0).tolist() == [True] * 3
    m = vj.logical_and(x > 2, x < 6)
    np.testing.assert_array_equal(m.numpy(), (a > 2) & (a < 6))
    np.testing.assert_array_equal(vj.logical_or(x > 5, x < 2).numpy(), (a > 5) | (a < 2))
    np.testing.assert_array_equal(vj.logical_not(x > 2).numpy(), ~(a > 2))
    values, indices = x.max(1)
    assert values.tolist() == [5.0, 6.0] and indices.tolist() == [1, 2]
    assert x.min(0).indices.tolist() == [0, 1, 0]


def test_split_chunk_shapes_match_pytorch():
    x = vj.arange(10).reshape(5, 2)
    assert [p.shape[0] for p in x.split(2)] == [2, 2, 1]
    assert [p.shape[0] for p in x.split([1, 4])] == [1, 4]
    assert [p.shape[0] for p in x.chunk(3)] == [2, 2, 1]
    assert [p.shape[1] for p in x.chunk(2, 1)] == [1, 1]
    np.testing.assert_array_equal(vj.cat(x.split(2)).numpy(), x.numpy())


# -- varjax.op ------------------------------------------------------------------------------------


def test_op_lifts_a_jax_function():
    gammaln = vj.op(jax.scipy.special.gammaln)
    x = vj.tensor([3.0, 4.5], requires_grad=True)
    before = executions()
    y = gammaln(x)
    assert executions() == before  # recorded, not run
    assert y.grad_fn.name() == "GammalnBackward" and y.grad_fn.next_functions[0][0].variable is x
    y.sum().backward()
    assert_close(y.detach().numpy(), jax.scipy.special.gammaln(np.array([3.0, 4.5])), rtol=1e-6)
    assert_close(x.grad.numpy(), jax.scipy.special.digamma(np.array([3.0, 4.5])), rtol=1e-5)


def test_op_decorator_with_static_keywords():
    @vj.op
    def shifted_scale(a, b, *, shift):
        return jnp.roll(a, shift) * b

    a, b = vj.tensor([1.0, 2.0, 3.0], requires_grad=True), vj.tensor(2.0, requires_grad=True)
    out = shifted_scale(a, b, shift=1)
    out.backward(vj.tensor([1.0, 0.0, 0.0]))
    assert out.tolist() == [6.0, 2.0, 4.0]
    assert a.grad.tolist() == [0.0, 0.0, 2.0] and b.grad.item() == 3.0
    compiles = vj.compile_stats().compiles
    shifted_scale(vj.tensor([4.0, 5.0, 6.0]), 1.0, shift=1).tolist()  # new values: no compile
    shifted_scale(vj.tensor([4.0, 5.0, 6.0]), 1.0, shift=1).tolist()
    assert vj.compile_stats().compiles == compiles + 1
    assert shifted_scale(vj.tensor([4.0, 5.0, 6.0]), 1.0, shift=2).tolist() == [5.0, 6.0, 4.0]


def test_op_with_several_outputs():
    """A lifted function returning a tuple gives a tuple of Variables, one recorded op whose
    gradient is jax.grad's."""
    polar = vj.op(lambda x, y: (jnp.hypot(x, y), jnp.arctan2(y, x)))
    xs, ys = np.array([3.0, -1.0], np.float32), np.array([4.0, 2.0], np.float32)
    x, y = vj.tensor(xs, requires_grad=True), vj.tensor(ys, requires_grad=True)
    r, theta = polar(x, y)
    assert r.grad_fn == theta.grad_fn  # one node, two outputs
    (r * 2 + theta).sum().backward()
    f = lambda x, y: jnp.sum(2 * jnp.hypot(x, y) + jnp.arctan2(y, x))
    gx, gy = jax.grad(f, argnums=(0, 1))(xs, ys)
    np.testing.assert_allclose(x.grad.numpy(), gx, rtol=1e-6)
    np.testing.assert_allclose(y.grad.numpy(), gy, rtol=1e-6)


def test_op_errors():
    with pytest.raises(RuntimeError, match="must return arrays, or tuples, lists or dicts"):
        vj.op(lambda a: (a, "label"))(vj.ones(2))
    with pytest.raises(TypeError):
        vj.op(jnp.roll)(vj.ones(2), shift=np.array([1]))  # unhashable static argument


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda x: x.sum(3),
        lambda x: x.softmax(-4),
        lambda x: x.cumsum(2),
        lambda x: x.max(5),
        lambda x: x.unsqueeze(4),
        lambda x: x.transpose(0, 2),
        lambda x: x.flip(2),
        lambda x: x.var(dim=7),
        lambda x: vj.cat([x, x], 2),
    ],
)
def test_bad_dim_raises_index_error(call):
    with pytest.raises(IndexError, match="Dimension out of range"):
        call(vj.ones(2, 3))


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda x: x[2], "index 2 is out of bounds for dimension 0 with size 2"),
        (lambda x: x[0, -4], "index -4 is out of bounds for dimension 1 with size 3"),
        (lambda x: x[[0, 5]], "index 5 is out of bounds for dimension 0"),
        (lambda x: x[0, 0, 0], "too many indices for tensor of dimension 2"),
        (lambda x: x.index_select(1, vj.tensor([3])), "index 3 is out of bounds"),
        (lambda x: x.gather(1, vj.tensor([[0], [-1]])), "index -1 is out of bounds"),
        (lambda x: x.scatter(0, vj.tensor([[2]]), 1.0), "index 2 is out of bounds"),
        (lambda x: x[vj.tensor([0.5])], "tensors used as indices must be long"),
    ],
)
def test_index_out_of_range(call, match):
    x = vj.ones(2, 3)
    with pytest.raises(IndexError, match=match):
        call(x)


@pytest.mark.parametrize(
    "call,err,match",
    [
        (
            lambda: vj.tensor([1, 2]).mean(),
            RuntimeError,
            "mean\\(\\): could not infer output dtype",
        ),
        (lambda: vj.ones(2).clamp(), RuntimeError, "at least one of 'min' or 'max'"),
        (lambda: vj.where(vj.ones(2), 1.0, 0.0), RuntimeError, "boolean tensor"),
        (lambda: vj.cat([]), TypeError, "non-empty sequence"),
        (lambda: vj.ones(4).split([1, 2]), RuntimeError, "sum exactly to 4"),
        (lambda: vj.ones(2, 3).expand(4, 3), RuntimeError, "must match the existing size"),
        (lambda: vj.mm(vj.ones(2), vj.ones(2)), RuntimeError, "2D tensors expected"),
        (lambda: vj.dot(vj.ones(2, 2), vj.ones(2)), RuntimeError, "1D tensors expected"),
        (lambda: vj.linalg.inv(vj.ones(2, 3)), RuntimeError, "square matrices"),
        (lambda: vj.ones(2, 3).permute(1), RuntimeError, "does not match"),
        (lambda: vj.ones(2, 3).repeat(2), RuntimeError, "can not be smaller"),
        (lambda: vj.ones(2, 3) @ vj.ones(2, 3), RuntimeError, "matmul.*last dim"),
        (lambda: vj.cat([vj.ones(2, 3), vj.ones(3, 2)]), RuntimeError, "cat: cannot apply"),
        (lambda: vj.ones(2).div(2, rounding_mode="up"), ValueError, "rounding_mode"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, err, match):
    with pytest.raises(err, match=match):
        call()


def test_requires_grad_on_integers_is_refused():
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype"):
        vj.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype"):
        vj.ones(2).long().requires_grad_()


def test_iteration_yields_rows():
    x = vj.arange(6).reshape(3, 2)
    assert [r.tolist() for r in x] == [[0, 1], [2, 3], [4, 5]]
    a, b = vj.tensor([1.0, 2.0])
    assert (a.item(), b.item()) == (1.0, 2.0)
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        list(vj.tensor(1.0))
