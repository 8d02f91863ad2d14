"""The Variable facade: PyTorch's tensor-with-autograd over a node of the lazy graph.

A Variable holds a ``Node`` (a concrete ``jax.Array`` or a pending op) and its ``.grad``.
No math lives here: every operator and method records an op from the table in ``_ops``.
The whole surface is declared by this class and its bases: the op table's sections (one
method per row, made when the class is created) and the hand-written mixins of
``_methods/``. ``varjax.Tensor`` is this class.
"""

from __future__ import annotations

import sys
import warnings
import weakref
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import _backward, _hooks, _html, _tracing, _vjp
from ._args import dim1
from ._dtypes import check_fits, default_float, default_int, dtype, is_floating, torch_dtype
from ._format import format_tensor
from ._forward import materialize, read
from ._grad_mode import enable_grad, no_grad
from ._methods.dtype import DtypeMethods
from ._methods.elementwise import ElementwiseMethods
from ._methods.index import IndexMethods, note_host_range
from ._methods.inplace import InplaceMethods
from ._methods.linalg import LinalgMethods
from ._methods.reduce import ReduceMethods
from ._methods.sampling import SamplingMethods
from ._methods.shape import ShapeMethods
from ._ops import OPS, Binary, Elementwise, Facade, Op, P, Reductions, Scans
from ._record import Node, autograd_node, detached, leaf, record


class Size(tuple):
    """The shape of a Variable: a tuple that prints as ``varjax.Size([2, 2])``.

    Example:
        >>> import varjax as vj
        >>> vj.ones(2, 3).shape
        varjax.Size([2, 3])
        >>> vj.Size([2, 3]).numel()
        6
    """

    def __repr__(self) -> str:
        return f"varjax.Size({list(self)})"

    def numel(self) -> int:
        return int(np.prod(self, dtype=np.int64))


def _bind(v: Variable, node: Node) -> Variable:
    v._node = node
    node.var = weakref.ref(v)
    return v


def _wrap(node: Node) -> Variable:
    v = _new(Variable)
    v._grad = None
    v._node = node
    node.var = _ref(v)
    return v


_new, _ref = object.__new__, weakref.ref


def as_array(data: Any, dtype=None, what: str = "tensor()") -> jax.Array:
    """A ``jax.Array`` from user data, with PyTorch's default dtypes for Python numbers.

    A value the array cannot hold (with ``VARJAX_X64=0``: an integer beyond int32, a float64
    beyond float32's range) raises instead of wrapping or turning into inf."""
    if isinstance(data, Variable):
        arr = data._value()
        return arr if dtype is None else arr.astype(dtype)
    if isinstance(data, jax.Array):
        return data if dtype is None else data.astype(dtype)
    python = not isinstance(data, (np.ndarray, np.generic))
    src = np.asarray(data)
    requested = dtype
    if dtype is None:
        dtype = _python_dtype(src, data) if python else src.dtype
    target = np.dtype(jax.dtypes.canonicalize_dtype(dtype))
    check_fits(src, target, python is False and requested is None, what)
    if src.dtype != target:
        with np.errstate(over="ignore"):  # a Python float beyond float32 is inf, as in PyTorch
            src = src.astype(target)
    arr = jnp.asarray(src)
    note_host_range(arr, src)  # index bounds checks then need no read back from the device
    return arr


def _python_dtype(src: np.ndarray, data: Any) -> np.dtype:
    """PyTorch's dtype for Python data: float32 for floats, int64 (JAX: int32) for ints."""
    kind = src.dtype.kind
    if kind == "f":
        return default_float()
    if kind in "iu":
        return default_int()
    if kind == "b":
        return src.dtype
    if kind == "c":
        return np.dtype(np.complex64)  # PyTorch's default complex, for its default float32
    if kind == "O" and src.size and all(isinstance(v, int) for v in src.flat):
        raise RuntimeError(
            f"tensor(): the integer {max(src.flat, key=abs)} does not fit int64 (overflow); "
            f"store it as a float, or split it into smaller integers"
        )
    raise TypeError(
        f"cannot make a Variable from {type(data).__name__} data of dtype "
        f"{src.dtype}; pass numbers, nested lists of numbers, or an array"
    )


def _node_of(x: Any) -> Node | int | float | bool:
    """An op input: a Variable's node, a Python scalar as is, anything array-like as a leaf."""
    if type(x) is Variable:
        return x._node
    if type(x) is Node:
        return x
    if isinstance(x, (bool, int, float)):
        return x
    if isinstance(x, np.generic) and x.ndim == 0 and not isinstance(x, np.bool_):
        return x.item()
    if isinstance(x, Variable):
        return x._node
    if isinstance(x, (jax.Array, np.ndarray, list, tuple, np.bool_)):
        return leaf(as_array(x))
    raise TypeError(
        f"unsupported operand of type {type(x).__name__}; use a Variable, an array or a number"
    )


def _gradient_node(g: Any) -> Node:
    """The node of a ``gradient`` argument (a Variable, an array or a number)."""
    node = _node_of(g)
    return node if type(node) is Node else leaf(as_array(node))


def handle(node: Node) -> Variable:
    """The live Variable bound to ``node``, or a new one."""
    v = node.var() if node.var is not None else None
    return v if v is not None and v._node is node else _wrap(node)


def _binary(op: Op, reflected: bool = False):
    """The method for a binary operator: records ``op`` on (self, other) or (other, self).

    This is the hot path of every operator: plain numbers and Variables go straight in."""

    def method(self, other):
        t = type(other)
        if t is Variable:
            o = other._node
        elif t is float or t is int:
            o = other
        else:
            try:
                o = _node_of(other)
            except TypeError:
                return NotImplemented  # let Python try the other operand, then raise TypeError
        return _wrap(record(op, (o, self._node) if reflected else (self._node, o)))

    name = op.name
    method.__name__ = f"__r{name}__" if reflected else f"__{name}__"
    method.__doc__ = f"Records ``{name}`` ({'other, self' if reflected else 'self, other'})."
    return method


def as_variable(x: Any) -> Variable:
    """``x`` itself if it is a Variable, else a new leaf holding it."""
    if isinstance(x, Variable):
        return x
    # a Python int is a value here, not a size (``Variable(3)`` is PyTorch's ``Tensor(3)``)
    return Variable(as_array(x) if type(x) is int else x)


def _unary(op: Op):
    """The method for a unary operator (``-x``, ``abs(x)``)."""

    def method(self) -> Variable:
        return _wrap(record(op, (self._node,)))

    method.__name__ = f"__{op.name}__"
    method.__doc__ = f"Records ``{op.name}``."
    return method


def _construct(args: tuple) -> tuple[Node, bool]:
    """(node, requires_grad) for ``Variable(*args)`` other than ``Variable(data)``: the legacy
    ``(data, requires_grad)``, PyTorch's ``Tensor(*sizes)`` (zeros) and ``Tensor()``."""
    if all(type(a) is int for a in args):  # Python ints are sizes; a NumPy scalar is data
        return leaf(jnp.zeros(tuple(args) or (0,), default_float())), False
    if len(args) != 2 or not isinstance(args[1], bool):
        raise TypeError(
            f"Variable() takes data (and requires_grad), or sizes as ints; got {args!r}"
        )
    data, requires_grad = args
    node = detached(data._node) if isinstance(data, Variable) else leaf(as_array(data))
    return node, requires_grad


def _check_hook_result(hook: Any, r: Any, grad: Variable) -> None:
    name = getattr(hook, "__name__", hook)
    if not isinstance(r, Variable):
        raise TypeError(f"expected Variable, but hook {name!r} returned {type(r).__name__!r}")
    if tuple(r.shape) != tuple(grad.shape):
        raise RuntimeError(
            f"hook {name!r} returned a gradient of shape {tuple(r.shape)} for one of shape "
            f"{tuple(grad.shape)}"
        )
    if r.dtype != grad.dtype:
        raise RuntimeError(
            f"hook {name!r} has changed the type of value (was {grad.dtype} got {r.dtype})"
        )


class Hooks(dict):
    """Backward hooks, in registration order: a leaf's (on its Variable, for every version) or
    an intermediate's (on the node it was registered on, as PyTorch binds them to a version)."""

    def run(self, g: Node) -> Node:
        """The gradient ``g`` through each hook; a returned Variable replaces it."""
        grad = _wrap(g)
        for h in list(self.values()):
            r = h(grad)
            if r is not None:
                _check_hook_result(h, r, grad)
                grad = r
        return grad._node


class RemovableHandle:
    """Returned by ``register_hook``; ``remove()`` unregisters the hook."""

    _next = 0

    def __init__(self, hooks: dict) -> None:
        self._hooks = hooks
        self.id = RemovableHandle._next
        RemovableHandle._next += 1

    def remove(self) -> None:
        self._hooks.pop(self.id, None)


class GradFn:
    """The backward node that produced a Variable (its ``grad_fn``), as in PyTorch."""

    __slots__ = ("_node",)

    def __init__(self, node: Node) -> None:
        self._node = autograd_node(node)  # an update autograd did not see keeps the grad_fn

    def name(self) -> str:
        return self._node.op.grad_name_of(self._node)

    @property
    def next_functions(self) -> tuple:
        return tuple((_grad_fn_of(x), 0) for x in self._node.inputs)

    def __repr__(self) -> str:
        return f"<{self.name()}>"

    def _identity(self) -> object:
        # the outputs of one multi-output op share their backward node, as in PyTorch
        node = self._node
        return node if node.group is None else node.group

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GradFn) and other._identity() is self._identity()

    def __hash__(self) -> int:
        return id(self._identity())


class AccumulateGrad:
    """The ``next_functions`` entry for a leaf that requires grad; ``.variable`` is the leaf."""

    __slots__ = ("variable",)

    def __init__(self, variable: Variable) -> None:
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    next_functions = ()

    def __repr__(self) -> str:
        return "<AccumulateGrad>"


def _grad_fn_of(x) -> GradFn | AccumulateGrad | None:
    if type(x) is not Node or not x.requires_grad:
        return None
    if not x.is_leaf:
        return GradFn(x)
    v = x.var() if x.var is not None else None
    return AccumulateGrad(v) if v is not None else None


def _rebuild(cls: type, value: Any, requires_grad: bool) -> Variable:
    """A Variable of class ``cls`` (Variable, nn.Parameter, ...) over ``value``: unpickling."""
    v = Variable.__new__(cls)
    Variable.__init__(v, value)
    v.requires_grad = requires_grad
    return v


class Variable(
    Elementwise, Binary, Reductions, Scans,  # the op table's rows: x.exp(), x.sum(1), ...
    ElementwiseMethods, ReduceMethods, ShapeMethods, IndexMethods, LinalgMethods,
    DtypeMethods, InplaceMethods, SamplingMethods,
    facade=Facade(record, _wrap, as_variable, _node_of),
):  # fmt: skip
    """A value with autograd: PyTorch's ``Variable`` / ``Tensor``, recorded lazily on JAX.

    Args:
        *args: the data: a Variable, ``jax.Array``, NumPy array, nested list or Python
            scalar; or, as PyTorch's ``Tensor(2, 3)``, sizes (a Variable of zeros of that
            shape).
        requires_grad: track operations on it so ``backward()`` fills ``.grad``. Only
            floating dtypes may require grad.

    Example:
        >>> import varjax as vj
        >>> x = vj.Variable(vj.ones(2, 2), requires_grad=True)
        >>> out = ((x + 2) * (x + 2) * 3).mean()
        >>> out.backward()
        >>> x.grad
        tensor([[4.5000, 4.5000],
                [4.5000, 4.5000]])
        >>> isinstance(out, vj.Tensor), vj.Tensor([1.0, 2.0])
        (True, tensor([1., 2.]))
    """

    # _vc (version counter cell), _alias (.data / detach() sharing storage), _vbase and
    # _vlinks (view links, _views.py) are set only when used; most Variables never have them.
    __slots__ = (
        "_node", "_grad", "_vc", "_alias", "_vbase", "_vlinks", "_hooks", "__weakref__",
    )  # fmt: skip
    __array_priority__ = 100  # NumPy defers to our reflected operators

    _node: Node
    _grad: Variable | None

    def __init__(self, *args: Any, requires_grad: bool = False) -> None:
        if len(args) == 1 and type(args[0]) is not int:  # Variable(data): the common case
            data = args[0]
            node = detached(data._node) if isinstance(data, Variable) else leaf(as_array(data))
        else:
            node, legacy_requires_grad = _construct(args)
            requires_grad = requires_grad or legacy_requires_grad
        self._grad = None
        _bind(self, node)
        if requires_grad:
            self.requires_grad = True

    # -- what the method mixins use (see _methods/_base.py) -----------------------------------

    def _apply(self, op: Op, *inputs: Any, params: tuple = ()) -> Variable:
        return _wrap(record(op, tuple([_node_of(a) for a in inputs]), params))

    def _new(self, node: Node) -> Variable:
        return _wrap(node)

    def _lift(self, x: Any) -> Variable:
        return as_variable(x)

    # -- copying and pickling: value, dtype and requires_grad, as PyTorch --------------------

    def __reduce_ex__(self, protocol: Any) -> tuple:  # the value; history is not pickled
        return (_rebuild, (type(self), self._host("pickling a Variable"), self.requires_grad))

    def __deepcopy__(self, memo: dict) -> Variable:
        if not self._node.is_leaf and self.requires_grad:
            raise RuntimeError(
                f"Only Variables created explicitly by the user (graph leaves) support the "
                f"deepcopy protocol; this one has grad_fn={self.grad_fn!r}. Remedy: deepcopy "
                f"`.detach()` of it."
            )
        # a copy of the buffer, as PyTorch copies storage: varjax.jit may donate the original's
        out = _rebuild(type(self), jnp.copy(self._value()), self.requires_grad)
        memo[id(self)] = out
        if self._grad is not None:
            out._grad = self._grad.__deepcopy__(memo)
        return out

    # -- internal -----------------------------------------------------------------------------

    def _value(self) -> jax.Array:
        node = self._node
        if node.value is None:
            materialize([node])
        elif node.bwd_sig is not None:  # a backward returned this value: it is read
            read(node)
        return node.value

    def _host(self, what: str) -> np.ndarray:
        """The value as a NumPy array; inside varjax.jit, an error naming ``what`` and the line."""
        value = self._value()
        if _tracing.is_tracer(value):
            raise _tracing.host_read(what) if _tracing.state.active else _tracing.traced_read(what)
        return np.asarray(value)

    def _rebind(self, node: Node) -> None:
        _bind(self, node)

    # -- autograd state -------------------------------------------------------------------------

    @property
    def requires_grad(self) -> bool:
        """Whether backward computes a gradient for this Variable: set on a leaf (floating
        dtypes only), inherited by what is computed from one.

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([1.0, 2.0], requires_grad=True)
            >>> x.requires_grad, (x * 2).requires_grad, vj.tensor([1.0]).requires_grad
            (True, True, False)
        """
        return self._node.requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        node = self._node
        if not node.is_leaf:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        if flag and not is_floating(node.dtype):
            raise RuntimeError(
                f"only Tensors of floating point dtype can require gradients, got {node.dtype}; "
                f"convert first, e.g. Variable(x.astype('float32'), requires_grad=True)"
            )
        node.requires_grad = bool(flag)

    def requires_grad_(self, requires_grad: bool = True) -> Variable:
        """Set ``requires_grad`` in place (on a leaf) and return this Variable.

        Example:
            >>> import varjax as vj
            >>> vj.tensor([1.0, 2.0]).requires_grad_()
            tensor([1., 2.], requires_grad=True)
        """
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        """True for a Variable no recorded op made (a user's input or parameter), or one that
        does not require grad; backward fills ``.grad`` of leaves only.

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([1.0, 2.0], requires_grad=True)
            >>> x.is_leaf, (x * 2).is_leaf
            (True, False)
        """
        return self._node.is_leaf

    @property
    def grad_fn(self) -> GradFn | None:
        """The backward of the op that made this Variable, named as PyTorch's
        (``MulBackward0``, ...); ``None`` for a leaf.

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([1.0, 2.0], requires_grad=True)
            >>> (x * 2).grad_fn.name(), x.grad_fn is None
            ('MulBackward0', True)
        """
        node = self._node
        return None if node.is_leaf else GradFn(node)

    @property
    def grad(self) -> Variable | None:
        """The gradient backward accumulated here (``None`` until one runs); on an
        intermediate only after ``retain_grad()``. Assignable (same shape and dtype).

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([1.0, 2.0], requires_grad=True)
            >>> (x * x).sum().backward()
            >>> x.grad
            tensor([2., 4.])
        """
        if self._grad is None and not self._node.is_leaf and not self._node.retain:
            warnings.warn(
                "The .grad attribute of a Variable that is not a leaf is being accessed. Its .grad "
                "attribute won't be populated during backward(). Read the gradient of a leaf "
                "instead, or call .detach() on the non-leaf to make a new leaf.",
                UserWarning,
                stacklevel=2,
            )
        return self._grad

    @grad.setter
    def grad(self, value: Variable | None) -> None:
        if value is not None:
            if not isinstance(value, (Variable, jax.Array, np.ndarray)):
                raise TypeError(
                    f"assigned grad expected to be a Variable or None but got grad of type "
                    f"{type(value).__name__}"
                )
            value = value if isinstance(value, Variable) else Variable(value)
            if tuple(value.shape) != tuple(self.shape):
                raise RuntimeError(
                    f"assigned grad has data of a different size: {tuple(value.shape)} "
                    f"for a Variable of shape {tuple(self.shape)}"
                )
            if value.dtype != self.dtype:
                raise RuntimeError(
                    f"attempting to assign a gradient with dtype {value.dtype} to a Variable of "
                    f"dtype {self.dtype}: the gradient must have the Variable's dtype. Remedy: "
                    f"assign `grad.to({self.dtype})`."
                )
        self._grad = value

    def backward(
        self,
        gradient: Any = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        inputs: Sequence[Variable] | None = None,
    ) -> None:
        """Accumulate the gradient of this Variable into ``.grad`` of the leaves it depends on.

        Args:
            gradient: d(something)/d(self), of self's shape; needed unless self has one element.
            retain_graph: keep the graph so backward can run through it again.
            create_graph: record the backward itself for higher-order gradients (not yet
                supported: raises NotImplementedError).
            inputs: accumulate only into these Variables' ``.grad`` (leaves or intermediates).

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor(2.0, requires_grad=True)
            >>> (x**3).backward()
            >>> x.grad
            tensor(12.)
            >>> w = vj.tensor([1.0, 2.0], requires_grad=True)
            >>> (w * w).backward(vj.tensor([1.0, 0.5]))  # a vector-Jacobian product
            >>> w.grad
            tensor([2., 2.])
        """
        if inputs is not None:
            inputs = [inputs] if isinstance(inputs, Variable) else list(inputs)
            if not inputs:
                raise RuntimeError("'inputs' argument to backward() cannot be empty.")
        retain = create_graph if retain_graph is None else retain_graph  # PyTorch's default
        _backward.backward(
            [self._node], [None if gradient is None else _gradient_node(gradient)],
            inputs=inputs, retain_graph=bool(retain), create_graph=create_graph,
        )  # fmt: skip

    def register_hook(self, hook) -> RemovableHandle:
        """Call ``hook(grad)`` when backward computes this Variable's gradient; a returned
        Variable replaces the gradient. A hook on an intermediate splits the compiled backward
        at that node only; hooks on leaves see the total gradient, before accumulation.

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([1.0, 2.0], requires_grad=True)
            >>> h = x.register_hook(lambda g: g * 10)
            >>> (x * x).sum().backward()
            >>> x.grad
            tensor([20., 40.])
            >>> h.remove()
        """
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        node = self._node
        if node.is_leaf:  # every version of a leaf accumulates into one .grad: one set of hooks
            hooks = getattr(self, "_hooks", None)
            if hooks is None:
                hooks = self._hooks = Hooks()
        else:  # an intermediate's hooks stay with the version they were registered on
            node = autograd_node(node)
            hooks = node.hooks
            if hooks is None:
                hooks = node.hooks = Hooks()
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        _hooks.note_registered()
        return handle

    def _accumulate_grad(self, g: Node, summed: bool) -> None:
        """Put a gradient from backward into ``.grad``: the one place backward changes it.

        ``summed``: the backward program already added the old ``.grad`` in. A computed
        gradient goes in in place, as PyTorch does (whoever holds ``.grad`` sees the sum);
        a recorded one (``create_graph``) out of place, so the old gradient's graph stays."""
        old = self._grad
        if old is None:
            self._grad = _wrap(g)
        elif summed:
            old._rebind(g)
        elif g.requires_grad or old._node.requires_grad:
            with enable_grad():
                self._grad = old + _wrap(g)
        else:
            with no_grad():
                old._rebind((old + _wrap(g))._node)

    def retain_grad(self) -> None:
        """Have backward fill ``.grad`` of this intermediate too (no-op on a leaf).

        Example:
            >>> import varjax as vj
            >>> x = vj.tensor([1.0, 2.0], requires_grad=True)
            >>> y = x * 3
            >>> y.retain_grad()
            >>> y.sum().backward()
            >>> y.grad
            tensor([1., 1.])
        """
        node = self._node
        if not node.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if not node.is_leaf:
            node.retain = True
            _vjp.note_retain()

    @property
    def retains_grad(self) -> bool:
        """True for an intermediate whose ``.grad`` backward fills (see ``retain_grad``).

        Example:
            >>> import varjax as vj
            >>> y = vj.tensor([1.0], requires_grad=True) * 3
            >>> y.retain_grad()
            >>> y.retains_grad
            True
        """
        return not self._node.is_leaf and self._node.retain

    # -- metadata -------------------------------------------------------------------------------

    @property
    def shape(self) -> Size:
        """The size of each dimension, a ``varjax.Size`` (a tuple).

        Example:
            >>> import varjax as vj
            >>> vj.zeros(2, 3).shape
            varjax.Size([2, 3])
        """
        return Size(self._node.shape)

    def size(self, dim: int | None = None) -> Size | int:
        """``shape``, or the size of dimension ``dim`` (negative counts from the end).

        Example:
            >>> import varjax as vj
            >>> x = vj.zeros(2, 3)
            >>> x.size(), x.size(-1)
            (varjax.Size([2, 3]), 3)
        """
        if dim is None:
            return self.shape
        return self._node.shape[dim1(dim, self.ndim)]

    @property
    def dtype(self) -> dtype:
        """The element type (``varjax.float32``, ...; a NumPy dtype for NumPy and JAX).

        Example:
            >>> import varjax as vj
            >>> vj.zeros(2).dtype, vj.tensor([1, 2]).dtype
            (varjax.float32, varjax.int64)
        """
        return torch_dtype(self._node.dtype)

    @property
    def ndim(self) -> int:
        """The number of dimensions (``dim()``).

        Example:
            >>> import varjax as vj
            >>> vj.zeros(2, 3).ndim
            2
        """
        return len(self._node.shape)

    def dim(self) -> int:
        """The number of dimensions (``ndim``).

        Example:
            >>> import varjax as vj
            >>> vj.zeros(2, 3).dim()
            2
        """
        return self.ndim

    def numel(self) -> int:
        """The number of elements.

        Example:
            >>> import varjax as vj
            >>> vj.zeros(2, 3).numel()
            6
        """
        return self.shape.numel()

    def nelement(self) -> int:
        """``numel()``, PyTorch's older name.

        Example:
            >>> import varjax as vj
            >>> vj.zeros(2, 3).nelement()
            6
        """
        return self.numel()

    # -- reading values (each runs the pending segment) -------------------------------------------

    def item(self) -> bool | int | float:
        """The value of a one-element Variable as a Python number (computing it first if it
        is pending).

        Example:
            >>> import varjax as vj
            >>> vj.tensor([2.5]).item()
            2.5
        """
        return self._item("`.item()`")

    def _item(self, what: str) -> bool | int | float:
        n = self.numel()
        if n != 1:
            raise RuntimeError(
                f"a Tensor with {n} elements cannot be converted to Scalar; "
                f"index one element or reduce (e.g. .sum()) first"
            )
        return self._host(what).reshape(()).item()

    def numpy(self) -> np.ndarray:
        """The value as a NumPy array (``detach()`` first if it requires grad, as in
        PyTorch).

        Example:
            >>> import varjax as vj
            >>> vj.tensor([1.0, 2.0]).numpy()
            array([1., 2.], dtype=float32)
        """
        if self.requires_grad:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. "
                "Use tensor.detach().numpy() instead."
            )
        return self._host("`.numpy()`")

    def tolist(self) -> Any:
        """The value as (nested) Python lists of Python numbers.

        Example:
            >>> import varjax as vj
            >>> vj.tensor([[1, 2], [3, 4]]).tolist()
            [[1, 2], [3, 4]]
        """
        return self._host("`.tolist()`").tolist()

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        a = self._host("converting a Variable to a NumPy array")
        return a if dtype is None else a.astype(dtype)

    def __dlpack__(self, *args: Any, **kwargs: Any) -> Any:
        """DLPack export (``torch.from_dlpack(v)``, ``np.from_dlpack(v)``): the value's buffer."""
        if self._node.requires_grad:
            raise RuntimeError(
                "Can't export a Variable that requires grad through DLPack; use "
                "v.detach() (the gradient stays with v)"
            )
        return self._value().__dlpack__(*args, **kwargs)

    def __dlpack_device__(self) -> tuple:
        return self._value().__dlpack_device__()

    @property
    def __jax_array__(self) -> Any:
        """JAX's conversion protocol: ``jnp.asarray(v)`` gives the value. A JAX array's
        operator (``jnp_array + v``) finds no protocol, so Python calls the Variable's own
        reflected operator: the result is a Variable that keeps the gradient."""
        if sys._getframe(1).f_code.co_name.startswith("_operator_"):  # jax.Array.__add__ & co.
            raise AttributeError("__jax_array__")
        return self._value

    def __float__(self) -> float:
        return float(self._item("`float()` of a Variable"))

    def __int__(self) -> int:
        return int(self._item("`int()` of a Variable"))

    def __index__(self) -> int:
        """An integer one-element Variable as a Python index (``range(n)``, ``seq[i]``)."""
        if self.dtype.kind not in "iub" or self.numel() != 1:
            raise TypeError(
                f"only integer tensors of a single element can be converted to an index "
                f"(got dtype {self.dtype}, shape {tuple(self.shape)})"
            )
        return int(self._item("using a Variable as an index (`__index__`)"))

    def __format__(self, spec: str) -> str:
        """``f"{loss:.4f}"`` formats a one-element Variable's value; other Variables (or an
        empty spec) format as ``str``, as PyTorch."""
        if spec and self.numel() == 1:
            return format(self._item("formatting a Variable's value"), spec)
        return format(str(self), spec)

    def __bool__(self) -> bool:
        if self.numel() != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with more than one value is ambiguous (shape "
                f"{tuple(self.shape)}); use .any() or .all(), or compare a reduced value"
            )
        return bool(self._item("a Python branch on a Variable's value (`bool()`)"))

    def __len__(self) -> int:
        if not self.ndim:
            raise TypeError("len() of a 0-d tensor")
        return self._node.shape[0]

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        node = self._node
        suffixes = []
        if node.dtype not in (default_float(), default_int(), np.dtype(bool)):
            suffixes.append(f"dtype=varjax.{node.dtype.name}")
        if node.requires_grad:
            suffixes.append(
                f"grad_fn={self.grad_fn!r}" if not node.is_leaf else "requires_grad=True"
            )
        return format_tensor(self._host("printing a Variable's value"), suffixes)

    __str__ = __repr__

    def _repr_html_(self) -> str:
        return _html.variable(self)  # Jupyter's display: shape, dtype, device, grad_fn, state

    # -- operators --------------------------------------------------------------------------------

    __add__, __radd__ = _binary(P.add), _binary(P.add, reflected=True)
    __sub__, __rsub__ = _binary(P.sub), _binary(P.sub, reflected=True)
    __mul__, __rmul__ = _binary(P.mul), _binary(P.mul, reflected=True)
    __truediv__, __rtruediv__ = _binary(P.div), _binary(P.div, reflected=True)
    __floordiv__ = _binary(OPS["floor_divide"])
    __rfloordiv__ = _binary(OPS["floor_divide"], reflected=True)
    __mod__, __rmod__ = _binary(OPS["remainder"]), _binary(OPS["remainder"], reflected=True)
    __pow__, __rpow__ = _binary(P.pow), _binary(P.pow, reflected=True)
    __matmul__, __rmatmul__ = _binary(P.matmul), _binary(P.matmul, reflected=True)
    __lt__, __le__, __gt__ = _binary(OPS["lt"]), _binary(OPS["le"]), _binary(OPS["gt"])
    __ge__, __eq__, __ne__ = _binary(OPS["ge"]), _binary(OPS["eq"]), _binary(OPS["ne"])
    __neg__, __abs__ = _unary(OPS["neg"]), _unary(OPS["abs"])
    __and__, __rand__ = _binary(OPS["bitwise_and"]), _binary(OPS["bitwise_and"], reflected=True)
    __or__, __ror__ = _binary(OPS["bitwise_or"]), _binary(OPS["bitwise_or"], reflected=True)
    __xor__, __rxor__ = _binary(OPS["bitwise_xor"]), _binary(OPS["bitwise_xor"], reflected=True)
    __invert__ = _unary(OPS["bitwise_not"])

    def __pos__(self) -> Variable:
        return self


def from_dlpack(ext: Any) -> Variable:
    """A Variable over a DLPack-exporting array (a torch tensor, a NumPy array, ...).

    Example:
        >>> import numpy as np
        >>> import varjax as vj
        >>> vj.from_dlpack(np.array([1.0, 2.0]))
        tensor([1., 2.], dtype=varjax.float64)
    """
    return Variable(jax.dlpack.from_dlpack(ext))
