"""The Variable facade: construction, attributes, conversions, printing, autograd state,
grad mode, and the bad-input errors PyTorch raises (checked against PyTorch's documented
behaviour and messages).
"""

from __future__ import annotations

import threading
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_close

import varjax as vj
from varjax.autograd import Variable


def test_variable_is_reachable_from_both_namespaces():
    assert vj.Variable is Variable is vj.autograd.Variable


@pytest.mark.parametrize(
    "data,dtype",
    [
        ([1.0, 2.0], np.float32),  # Python floats -> float32, as torch.tensor does
        ([1, 2], None),  # Python ints -> the default integer dtype
        ([True, False], np.bool_),
        (np.arange(3, dtype=np.float32), np.float32),
        (np.arange(3, dtype=np.int32), np.int32),
        (jnp.ones((2, 2), jnp.float32), np.float32),
        (np.ones(2), np.float64),  # a float64 array keeps its dtype, as in PyTorch
        (2.5, np.float32),
    ],
)
def test_construction_from_every_kind_of_data(data, dtype):
    v = Variable(data)
    assert v.is_leaf and not v.requires_grad and v.grad is None and v.grad_fn is None
    np.testing.assert_array_equal(v.numpy(), np.asarray(data))
    if dtype is not None:
        assert v.dtype == dtype
    else:
        assert v.dtype.kind == "i"


def test_construction_from_a_variable_makes_a_new_leaf(mode):
    base = vj.ones(2, 2)  # pending in lazy mode
    x = Variable(base, requires_grad=True)
    assert x.is_leaf and x.requires_grad and x.grad_fn is None
    assert not base.requires_grad
    (x * 2).sum().backward()
    assert_close(x.grad.numpy(), np.full((2, 2), 2.0))


def test_metadata():
    x = vj.zeros(2, 3, 4)
    assert x.shape == (2, 3, 4) and x.size() == (2, 3, 4) and x.size(1) == 3 and x.size(-1) == 4
    assert repr(x.shape) == "varjax.Size([2, 3, 4])"
    assert x.ndim == x.dim() == 3 and x.numel() == 24 and len(x) == 2
    assert x.dtype == vj.float32 and x.device == jax.devices()[0]


def test_conversions(mode):
    x = vj.tensor([[1.5, 2.0], [3.0, 4.0]])
    assert x.tolist() == [[1.5, 2.0], [3.0, 4.0]]
    assert isinstance(np.asarray(x), np.ndarray) and np.asarray(x).shape == (2, 2)
    assert isinstance(jnp.asarray(x), jax.Array)
    assert jnp.sum(jnp.asarray(x)) == 10.5  # jnp.asarray reads the value via __jax_array__
    s = x.sum()
    assert s.item() == 10.5 and float(s) == 10.5 and int(s) == 10 and bool(s)
    assert isinstance(vj.tensor([3]).item(), int) and isinstance(vj.tensor([True]).item(), bool)


def test_conversion_errors():
    x = vj.ones(3)
    with pytest.raises(
        RuntimeError, match="a Tensor with 3 elements cannot be converted to Scalar"
    ):
        x.item()
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with more than one value"):
        bool(x)
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(x.sum())
    w = vj.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="Use tensor.detach\\(\\).numpy\\(\\) instead"):
        w.numpy()
    np.testing.assert_array_equal(w.detach().numpy(), [1.0, 1.0])


def test_repr_matches_pytorch_format():
    x = Variable(vj.ones(2, 2), requires_grad=True)
    assert repr(x) == "tensor([[1., 1.],\n        [1., 1.]], requires_grad=True)"
    y = x + 2
    assert repr(y) == "tensor([[3., 3.],\n        [3., 3.]], grad_fn=<AddBackward0>)"
    out = (y * y * 3).mean()
    assert repr(out) == "tensor(27., grad_fn=<MeanBackward0>)"
    assert repr(vj.tensor([0.1, 1.0, 0.0001])) == "tensor([1.0000e-01, 1.0000e+00, 1.0000e-04])"
    assert repr(vj.tensor([4.5, 1.25])) == "tensor([4.5000, 1.2500])"
    assert repr(vj.tensor([1, 2, 3])) == "tensor([1, 2, 3])"
    assert repr(vj.tensor([True, False])) == "tensor([ True, False])"
    assert repr(vj.zeros(0)) == "tensor([])"
    assert "..." in repr(vj.zeros(2000)) and str(vj.ones(1)) == "tensor([1.])"


def test_grad_fn_graph_structure():
    x = vj.ones(2, requires_grad=True)
    c = vj.ones(2)
    y = x * c + 2
    assert y.grad_fn.name() == "AddBackward0" and repr(y.grad_fn) == "<AddBackward0>"
    (mul_fn, _), (scalar_fn, _) = y.grad_fn.next_functions
    assert mul_fn.name() == "MulBackward0" and scalar_fn is None
    (acc, _), (const, _) = mul_fn.next_functions
    assert acc.variable is x and const is None and acc.next_functions == ()
    assert y.grad_fn == y.grad_fn  # the same node, whatever wrapper object is handed out


def test_requires_grad_rules():
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require"):
        Variable([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype"):
        vj.arange(3, requires_grad=True)
    x = vj.ones(2)
    x.requires_grad = True
    assert x.requires_grad and x.requires_grad_(False) is x and not x.requires_grad
    y = vj.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf variables"):
        y.requires_grad = False
    assert y.requires_grad  # unchanged after the error


def test_nonleaf_grad_access_warns_and_is_none():
    y = vj.ones(2, requires_grad=True) * 2
    y.sum().backward()
    with pytest.warns(UserWarning, match="not a leaf"):
        assert y.grad is None


def test_grad_assignment_checks_shape():
    x = vj.ones(2, requires_grad=True)
    x.grad = vj.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="assigned grad has data of a different size"):
        x.grad = vj.ones(3)
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0])  # untouched by the error
    x.grad = None
    assert x.grad is None


def test_data_is_detached_and_settable(mode):
    x = vj.tensor([1.0, 2.0], requires_grad=True)
    d = x.data
    assert not d.requires_grad and d.is_leaf
    x.data = vj.tensor([5.0, 6.0])
    assert x.requires_grad and x.is_leaf
    (x * x).sum().backward()
    assert_close(x.grad.numpy(), [10.0, 12.0])


# -- backward --------------------------------------------------------------------------------


def test_gradients_accumulate_until_reset(mode):
    x = vj.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    g = x.grad
    (x * 3).sum().backward()
    assert x.grad is g  # accumulated into the same Variable, as PyTorch does
    assert_close(g.numpy(), 2 * np.array([1.0, 2.0, 3.0]) + 3)
    x.grad = None
    x.sin().sum().backward()
    assert_close(x.grad.numpy(), np.cos([1.0, 2.0, 3.0]))


def test_backward_with_gradient_argument(mode):
    x = vj.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    y.backward(vj.tensor([0.5, 2.0]))
    assert_close(x.grad.numpy(), [1.0, 8.0])
    x.grad = None
    (x * x).backward([1.0, 1.0])  # a plain list works as the gradient too
    assert_close(x.grad.numpy(), [2.0, 4.0])


def test_scalar_output_takes_a_gradient_of_its_own_shape(mode):
    # The tutorial says out.backward() equals out.backward(torch.Tensor([1.0])): written when
    # out had shape (1,). PyTorch 2 wants exactly the output's shape (here 0-d) and raises
    # "Mismatch in shape" for (1,); so does varjax.
    x = vj.ones(2, 2, requires_grad=True)
    out = ((x + 2) * (x + 2) * 3).mean()
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        out.backward(vj.Tensor([1.0]), retain_graph=True)
    out.backward(vj.tensor(1.0))
    assert_close(x.grad.numpy(), np.full((2, 2), 4.5))


def test_backward_of_a_leaf_itself():
    x = vj.tensor([1.0, 2.0], requires_grad=True)
    x.backward(vj.tensor([3.0, 4.0]))
    assert_close(x.grad.numpy(), [3.0, 4.0])


def test_backward_errors_leave_state_unchanged():
    x = vj.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(
        RuntimeError, match="grad can be implicitly created only for scalar outputs"
    ):
        y.backward()
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        y.backward(vj.ones(3))
    assert x.grad is None
    with pytest.raises(RuntimeError, match="does not require grad"):
        vj.ones(2).sum().backward()
    y.sum().backward()  # the graph is intact after the errors
    assert_close(x.grad.numpy(), [2.0, 2.0])


def test_second_backward_through_a_freed_graph_raises(mode):
    x = vj.tensor([1.0, 2.0], requires_grad=True)
    out = (x * x).sum()
    out.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        out.backward()
    assert_close(x.grad.numpy(), [2.0, 4.0])  # not changed by the failed call
    assert out.item() == 5.0  # the value is still readable after the graph is freed


def test_retain_graph_allows_a_second_backward(mode):
    x = vj.tensor([1.0, 2.0], requires_grad=True)
    out = (x * x).sum()
    out.backward(retain_graph=True)
    out.backward()
    assert_close(x.grad.numpy(), [4.0, 8.0])


def test_shared_subgraph_freed_by_first_backward():
    x = vj.tensor([1.0, 2.0], requires_grad=True)
    a = x * x
    b, c = a.sum(), (a * 2).sum()
    b.backward()
    with pytest.raises(RuntimeError, match="second time"):
        c.backward()


def test_unknown_dim_raises_index_error():
    x = vj.ones(2, 3)
    with pytest.raises(IndexError, match=r"expected to be in range of \[-2, 1\], but got 2"):
        x.sum(2)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.mean(dim=-3)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.transpose(0, 5)
    with pytest.raises(RuntimeError, match="appears multiple times"):
        x.sum((1, -1))


def test_shape_errors_name_the_op_and_shapes():
    a, b = vj.ones(2, 3), vj.ones(4)
    with pytest.raises(
        RuntimeError, match=r"add: cannot apply to inputs of shapes \(2, 3\) and \(4,\)"
    ):
        a + b
    with pytest.raises(RuntimeError, match=r"matmul.*\(2, 3\) and \(2, 3\).*last dim"):
        a @ a
    with pytest.raises(RuntimeError, match=r"reshape.*\(2, 3\).*same number of elements"):
        a.reshape(4, 2)
    with pytest.raises(TypeError, match="unsupported operand"):
        a + "x"


# -- grad mode ---------------------------------------------------------------------------------


def test_no_grad_enable_grad_set_grad_enabled(mode):
    x = vj.ones(2, requires_grad=True)
    with vj.no_grad():
        y = x * 2
        with vj.enable_grad():
            z = x * 2
        assert not vj.is_grad_enabled()
    assert vj.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    assert z.requires_grad and z.grad_fn.name() == "MulBackward0"
    with vj.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert vj.is_grad_enabled()
    vj.set_grad_enabled(False)  # as a plain call it takes effect at once, like PyTorch
    try:
        assert not vj.is_grad_enabled()
    finally:
        vj.set_grad_enabled(True)


def test_grad_mode_decorators():
    x = vj.ones(2, requires_grad=True)

    @vj.no_grad()
    def f():
        return x * 2

    @vj.set_grad_enabled(False)
    def g():
        return x * 2

    assert vj.is_grad_enabled()  # defining g did not switch grad off
    assert not f().requires_grad and not g().requires_grad and vj.is_grad_enabled()


def test_grad_mode_is_thread_local():
    seen = []
    with vj.no_grad():
        t = threading.Thread(target=lambda: seen.append(vj.is_grad_enabled()))
        t.start()
        t.join()
        assert not vj.is_grad_enabled()
    assert seen == [True]


def test_no_grad_subgraph_is_excluded_from_backward(mode):
    # The tutorial's exercise: a frozen subgraph contributes values but no gradient.
    w = vj.tensor([2.0, 3.0], requires_grad=True)
    frozen = vj.tensor([1.0, 1.0], requires_grad=True)
    with vj.no_grad():
        feat = frozen * 5
    (w * feat).sum().backward()
    assert_close(w.grad.numpy(), [5.0, 5.0])
    assert frozen.grad is None


def test_no_warning_on_leaf_grad():
    x = vj.ones(1, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert x.grad is None
