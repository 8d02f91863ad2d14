"""In-place ops: values, PyTorch's protective rules, version counters, storage sharing through
.data / detach(), and correct gradients where PyTorch would refuse the backward.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_close

import varjax as vj

X0 = np.array([0.5, -1.0, 2.0], np.float32)


@pytest.mark.parametrize(
    "name,call,expected",
    [
        ("add_", lambda v: v.add_(2.0), X0 + 2),
        ("add_ alpha", lambda v: v.add_(vj.ones(3), alpha=3), X0 + 3),
        ("sub_", lambda v: v.sub_(vj.tensor(X0)), X0 * 0),
        ("mul_", lambda v: v.mul_(3), X0 * 3),
        ("div_", lambda v: v.div_(2), X0 / 2),
        ("zero_", lambda v: v.zero_(), X0 * 0),
        ("fill_", lambda v: v.fill_(7.5), np.full(3, 7.5)),
        ("copy_", lambda v: v.copy_(vj.tensor([1.0, 2.0, 3.0])), [1.0, 2.0, 3.0]),
        ("copy_ broadcast", lambda v: v.copy_(vj.tensor(4.0)), [4.0] * 3),
        ("clamp_", lambda v: v.clamp_(-0.5, 1.0), np.clip(X0, -0.5, 1.0)),
    ],
    ids=lambda p: p if isinstance(p, str) else "",
)
def test_inplace_values(name, call, expected, mode):
    v = vj.tensor(X0)
    out = call(v)
    assert out is v and v._version == 1 and v.is_leaf
    np.testing.assert_allclose(v.numpy(), expected, rtol=1e-6)


def test_augmented_assignment_keeps_identity(mode):
    v = vj.tensor(X0)
    ident = id(v)
    v += 1
    v -= 0.5
    v *= 2
    v /= 4
    assert id(v) == ident and v._version == 4
    np.testing.assert_allclose(v.numpy(), (X0 + 0.5) * 2 / 4, rtol=1e-6)


def test_setitem(mode):
    v = vj.zeros(2, 3)
    v[0] = 1.0
    v[1, 1:] = vj.tensor([5.0, 6.0])
    v[v > 5.5] = -1.0  # a boolean mask, made static
    v[[1], [0]] = 9.0
    np.testing.assert_array_equal(v.numpy(), [[1, 1, 1], [9, 5, -1]])
    assert v._version == 4


def test_leaf_that_requires_grad_is_protected():
    w = vj.tensor(X0, requires_grad=True)
    for op in (lambda: w.add_(1), lambda: w.zero_(), lambda: w.__setitem__(0, 1.0)):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used"):
            op()
    np.testing.assert_array_equal(w.numpy() if not w.requires_grad else w.detach().numpy(), X0)
    assert w._version == 0  # nothing changed
    with vj.no_grad():  # as optimizers do
        w.sub_(0.5)
    assert w.is_leaf and w.requires_grad and w.grad_fn is None and w._version == 1
    (w * w).sum().backward()
    assert_close(w.grad.numpy(), 2 * (X0 - 0.5))


def test_inplace_on_nonleaf_extends_history(mode):
    x = vj.tensor(X0, requires_grad=True)
    y = x * 2
    y.add_(1)
    assert y.grad_fn.name() == "AddBackward0" and not y.is_leaf
    (y * y).sum().backward()
    assert_close(x.grad.numpy(), jax.grad(lambda x: jnp.sum((2 * x + 1) ** 2))(X0))


def test_leaf_without_grad_joins_the_graph():
    w = vj.tensor(X0, requires_grad=True)
    acc = vj.zeros(3)
    acc += w * 3
    assert not acc.is_leaf and acc.grad_fn.name() == "AddBackward0"
    acc.sum().backward()
    assert_close(w.grad.numpy(), [3.0, 3.0, 3.0])


def test_gradient_where_pytorch_refuses():
    # PyTorch: "one of the variables needed for gradient computation has been modified by an
    # inplace operation" (sigmoid saves its output, which mul_ overwrites). varjax rebinds, so
    # the backward is the gradient of what the program means: d/dx sum(2 * sigmoid(x)).
    x = vj.tensor(X0, requires_grad=True)
    y = x.sigmoid()
    y.mul_(2)
    y.sum().backward()
    assert_close(x.grad.numpy(), jax.grad(lambda x: jnp.sum(2 * jax.nn.sigmoid(x)))(X0))

    x.grad = None
    a = x * 1
    b = a * a  # saves a
    a.add_(1)  # then a changes
    (a * b).sum().backward()
    assert_close(x.grad.numpy(), jax.grad(lambda x: jnp.sum((x + 1) * x * x))(X0))

    x.grad = None
    z = x.exp()
    z[1] = 0.0  # setitem on a saved output
    (z * z).sum().backward()
    mask = np.array([1.0, 0.0, 1.0], np.float32)
    assert_close(x.grad.numpy(), jax.grad(lambda x: jnp.sum((jnp.exp(x) * mask) ** 2))(X0))


def test_data_shares_storage_but_not_the_version_counter():
    p = vj.tensor(X0, requires_grad=True)
    d = p.data
    assert not d.requires_grad and d._version == 0
    d.mul_(2)  # the old-style optimizer update: p.data.add_(...)
    np.testing.assert_allclose(p.detach().numpy(), X0 * 2)
    assert p.is_leaf and p.requires_grad
    assert d._version == 1 and p._version == 0  # .data has a counter of its own, as in PyTorch
    with vj.no_grad():
        p.add_(1)  # and the other way round
    np.testing.assert_allclose(d.numpy(), X0 * 2 + 1)


def test_detach_shares_storage_and_version_counter():
    p = vj.tensor(X0, requires_grad=True)
    q = p.detach()
    q.zero_()
    np.testing.assert_array_equal(p.detach().numpy(), [0, 0, 0])
    assert q._version == p._version == 1
    (p * 3).sum().backward()  # p is still a leaf that requires grad
    assert_close(p.grad.numpy(), [3.0, 3.0, 3.0])


def test_modifying_a_nonleaf_through_data_keeps_its_gradient_path():
    x = vj.tensor(X0, requires_grad=True)
    y = x * 2
    y.data.fill_(1.0)  # value changes; autograd does not see it (as in PyTorch)
    np.testing.assert_array_equal(y.detach().numpy(), [1, 1, 1])
    (y * 3).sum().backward()
    assert_close(x.grad.numpy(), [6.0, 6.0, 6.0])


def test_inplace_shape_and_dtype_rules():
    v = vj.zeros(3)
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        v.add_(vj.ones(2, 3))
    i = vj.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        i.add_(0.5)
    i.add_(2)
    assert i.dtype.kind == "i" and i.tolist() == [3, 4, 5]
    f = vj.zeros(2)
    f.add_(vj.tensor([1, 2]))  # integer into float is fine
    assert f.dtype == np.float32 and f.tolist() == [1.0, 2.0]
    assert v._version == 0 and i._version == 1


def test_optimizer_style_loop_recompiles_nothing():
    w = vj.tensor(np.linspace(-1, 1, 4, dtype=np.float32), requires_grad=True)
    target = np.array([0.5, 0.1, -0.2, 0.3], np.float32)
    for step in range(30):
        loss = ((w - vj.tensor(target)) ** 2).sum()
        loss.backward()
        with vj.no_grad():
            w -= 0.1 * w.grad
        w.grad.zero_()
        if step == 3:
            before = vj.compile_stats().compiles
    assert vj.compile_stats().compiles == before
    # plain gradient descent on a quadratic: w_k - t = (1 - 0.2)^k (w_0 - t)
    expected = target + 0.8**30 * (np.linspace(-1, 1, 4) - target)
    assert_close(w.detach().numpy(), expected, rtol=1e-4, atol=1e-6)


def test_views_share_storage_both_ways(mode):
    x = vj.zeros(2, 3)
    x[0].fill_(1.0)  # a basic-index view writes into its base
    x.view(-1)[4:].add_(5)  # a view of a view
    x.t()[0].mul_(10)
    x.unsqueeze(0).squeeze(0)[1, 0] = 7.0
    np.testing.assert_array_equal(x.numpy(), [[10, 1, 1], [7, 5, 5]])
    assert x._version == 4
    row = x[1]
    x.mul_(2)  # a base change shows in its views
    np.testing.assert_array_equal(row.numpy(), [14, 10, 10])
    assert row._version == x._version == 5  # views share the base's version counter
    parts = x.split(1, 1)
    parts[2].zero_()
    np.testing.assert_array_equal(x[:, 2].numpy(), [0, 0])
    picked = x[[0]]  # integer-array indexing copies, as in PyTorch
    picked.fill_(-1)
    assert x[0, 0].item() == 20


def test_inplace_on_views_differentiates_through_the_write_back():
    w = vj.tensor(np.arange(6, dtype=np.float32).reshape(2, 3) + 1, requires_grad=True)
    y = w * 1
    y[0].mul_(3)  # y = w with row 0 tripled
    y.t()[2].add_(w[:, 0])  # column 2 += column 0 of w
    (y * y).sum().backward()

    def f(w):
        y = w.at[0].multiply(3)
        y = y.at[:, 2].add(w[:, 0])
        return jnp.sum(y * y)

    assert_close(w.grad.numpy(), jax.grad(f)(np.arange(6, dtype=np.float32).reshape(2, 3) + 1))


def test_view_rules():
    w = vj.ones(2, 2, requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        w[0].zero_()
    with vj.no_grad():
        w[0].zero_()  # allowed, as for optimizers; w stays a leaf that requires grad
    assert w.is_leaf and w.requires_grad and w.detach().tolist() == [[0, 0], [1, 1]]
    e = vj.ones(3).expand(2, 3)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        e.add_(1)
    v = w.detach()[1]
    v.fill_(4.0)  # through detach() and a slice, into w
    assert w.detach().tolist() == [[0, 0], [4, 4]]
