"""``varjax.autograd.functional``: jacobian, hessian, vjp, jvp, hvp, vhp.

The user function runs once on fresh leaves to record its graph; the graph becomes a pure
function of those leaves (the same replay backward uses), and JAX transforms it: ``jax.jacrev``
/ ``jax.jacfwd`` / ``jax.hessian`` / ``jax.jvp``, vectorized in one compiled call where
PyTorch loops over rows. Programs are cached by structure like every other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from .. import _compile, _recompile
from .._creation import zeros_like
from .._functions import stack
from .._program import Builder
from .._record import leaf
from .._variable import Variable, _wrap, as_array
from ._grad import grad

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


def _as_tuple(x: Any) -> tuple[tuple, bool]:
    if isinstance(x, (tuple, list)):
        return tuple(x), True
    return (x,), False


# -- create_graph=True: PyTorch's construction, from autograd.grad with create_graph, so the
# results keep their history (differentiable w.r.t. inputs that require grad). Not vectorized.


def _graph_inputs(ins: tuple) -> tuple:
    """Inputs that require grad are used as they are (results stay connected to them);
    others become fresh leaves."""
    return tuple(
        x if isinstance(x, Variable) and x.requires_grad
        else Variable(as_array(x), requires_grad=True)
        for x in ins
    )  # fmt: skip


def _grads(outs, xs, cots) -> tuple:
    gs = grad(outs, xs, grad_outputs=cots, retain_graph=True, create_graph=True,
              allow_unused=True)  # fmt: skip
    return tuple(zeros_like(x) if g is None else g for g, x in zip(gs, xs))


def _jacobian_rows(out: Variable, xs: tuple) -> tuple:
    """d out / d xs[i] as Variables of shape out.shape + xs[i].shape, one backward per row."""
    eye = jnp.eye(max(out.numel(), 1), dtype=out.dtype)
    rows = [_grads([out], xs, [Variable(eye[k].reshape(out.shape))]) for k in range(out.numel())]
    return tuple(
        stack([r[i] for r in rows]).reshape(*out.shape, *x.shape) if rows
        else Variable(jnp.zeros((*out.shape, *x.shape), x.dtype))
        for i, x in enumerate(xs)
    )  # fmt: skip


class _Pure:
    """``func`` recorded once and linearized into a pure function of its inputs' values."""

    def __init__(self, func: Callable, inputs: tuple, strict: bool) -> None:
        self.xs = [Variable(as_array(x), requires_grad=True) for x in inputs]
        out = func(*self.xs)
        outs, self.tuple_out = _as_tuple(out)
        if not all(isinstance(o, Variable) for o in outs):
            raise TypeError(
                "The function given to varjax.autograd.functional must return a Variable or a "
                f"tuple of Variables, got {type(out).__name__}"
            )
        self.outs = outs
        wanted = {id(x._node) for x in self.xs}
        b = Builder()
        reg = b.linearize_region([o._node for o in outs], lambda n: id(n) in wanted)
        if strict and len(reg.leaves) < len(self.xs):
            raise RuntimeError(
                "The output of the user-provided function is independent of input "
                f"{[i for i, x in enumerate(self.xs) if id(x._node) not in reg.leaves][0]}. "
                "This is not allowed in strict mode."
            )
        # An input the outputs do not use still needs a slot: feed it, it just gets zeros.
        leaf_slots = tuple(
            reg.leaves[id(x._node)][1] if id(x._node) in reg.leaves else -1 - i
            for i, x in enumerate(self.xs)
        )
        self.program = b.program(reg.out_slots, leaf_slots)

    def run(self, kind: str, transform: Callable, *extra):
        """``transform(f, primals, *extra)`` compiled once per structure and kind, where
        ``f(*primals)`` is the recorded function as a pure function of its inputs."""
        p = self.program
        sig = _compile.Signature((kind, p.instrs, p.leaves, p.outs))
        bind = p.pure()

        def build():
            def program(args, fpack, ipack, primals, extra):
                f, _ = bind(args, fpack, ipack)
                return transform(lambda *xs: f(xs), primals, *extra)

            return program

        primals = tuple(x._node.value for x in self.xs)
        explain = lambda: (kind, *_recompile.program_differ(p.instrs, p.nodes, (p.leaves, p.outs)))
        return _compile.cached(sig, build, explain)(*p.inputs, primals, extra)

    def wrap_out(self, values):
        values = tuple(_wrap(leaf(v)) for v in values)
        return values if self.tuple_out else values[0]


def _vectors(v: Any, like: tuple, name: str) -> tuple:
    vs, _ = _as_tuple(v)
    if len(vs) != len(like):
        raise RuntimeError(f"{name}: expected {len(like)} vectors, got {len(vs)}")
    out = []
    for vec, ref in zip(vs, like):
        arr = as_array(vec)
        if tuple(arr.shape) != tuple(ref.shape):
            raise RuntimeError(
                f"{name}: a vector has shape {tuple(arr.shape)} but the matching tensor has "
                f"shape {tuple(ref.shape)}"
            )
        out.append(arr.astype(ref.dtype))
    return tuple(out)


def jacobian(
    func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
    vectorize: bool = False, strategy: str = "reverse-mode",
) -> Any:  # fmt: skip
    """The Jacobian of ``func`` at ``inputs``: shape ``output.shape + input.shape``, nested as
    PyTorch nests it for tuples of outputs and inputs. Always vectorized (``vectorize`` is
    accepted for compatibility); ``strategy='forward-mode'`` uses ``jax.jacfwd``.

    Example:
        >>> import varjax as vj
        >>> vj.autograd.functional.jacobian(lambda x: x * x, vj.tensor([1.0, 2.0]))
        tensor([[2., 0.],
                [0., 4.]])
    """
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError(f"strategy must be 'reverse-mode' or 'forward-mode', got {strategy!r}")
    ins, tuple_in = _as_tuple(inputs)
    if create_graph:
        xs = _graph_inputs(ins)
        outs, tuple_out = _as_tuple(func(*xs))
        rows = [_jacobian_rows(o, xs) for o in outs]
        rows = [row if tuple_in else row[0] for row in rows]
        return tuple(rows) if tuple_out else rows[0]
    pure = _Pure(func, ins, strict)
    jac = jax.jacrev if strategy == "reverse-mode" else jax.jacfwd

    def transform(f, primals):
        return jac(f, argnums=tuple(range(len(primals))))(*primals)

    blocks = pure.run(f"jacobian:{strategy}", transform)  # [output][input]
    rows = [tuple(_wrap(leaf(b)) for b in row) for row in blocks]
    rows = [row if tuple_in else row[0] for row in rows]
    return tuple(rows) if pure.tuple_out else rows[0]


def hessian(
    func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
    vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode",
) -> Any:  # fmt: skip
    """The Hessian of a scalar ``func`` at ``inputs`` (``jax.hessian`` of the replay).

    Example:
        >>> import varjax as vj
        >>> vj.autograd.functional.hessian(lambda x: (x ** 3).sum(), vj.tensor([1.0, 2.0]))
        tensor([[ 6.,  0.],
                [ 0., 12.]])
    """
    ins, tuple_in = _as_tuple(inputs)
    if create_graph:
        xs = _graph_inputs(ins)
        out = func(*xs)
        if not isinstance(out, Variable) or out.numel() != 1:
            raise RuntimeError(
                "The function given to hessian should return a single Tensor with one element"
            )
        rows = [_jacobian_rows(g, xs) for g in _grads([out.reshape(())], xs, None)]
        return tuple(rows) if tuple_in else rows[0][0]
    pure = _Pure(func, ins, strict)
    if pure.tuple_out or pure.outs[0].numel() != 1:
        raise RuntimeError(
            "The function given to hessian should return a single Tensor with one element"
        )

    def transform(f, primals):
        scalar = lambda *p: f(*p)[0].reshape(())
        return jax.hessian(scalar, argnums=tuple(range(len(primals))))(*primals)

    blocks = pure.run("hessian", transform)
    rows = [tuple(_wrap(leaf(b)) for b in row) for row in blocks]
    return tuple(rows) if tuple_in else rows[0][0]


def vjp(
    func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False
) -> tuple:
    """``(func(inputs), v^T J)``; ``v`` may be omitted for a single-element output.

    Example:
        >>> import varjax as vj
        >>> x, v = vj.tensor([1.0, 2.0]), vj.tensor([1.0, 1.0])
        >>> vj.autograd.functional.vjp(lambda x: x * x, x, v)
        (tensor([1., 4.]), tensor([2., 4.]))
    """
    ins, tuple_in = _as_tuple(inputs)
    if create_graph:
        xs = _graph_inputs(ins)
        outs, tuple_out = _as_tuple(func(*xs))
        cots = None if v is None else [Variable(a) for a in _vectors(v, outs, "vjp")]
        grads = _grads(list(outs), xs, cots)
        return (outs if tuple_out else outs[0]), (grads if tuple_in else grads[0])
    pure = _Pure(func, ins, strict)
    if v is None:
        if pure.tuple_out or pure.outs[0].numel() != 1:
            raise RuntimeError(
                "The vector v can only be None if the user-provided function returns a single "
                "Tensor with a single element."
            )
        v = jnp.ones(pure.outs[0].shape, pure.outs[0].dtype)
    vs = _vectors(v, pure.outs, "vjp")

    def transform(f, primals, cot):
        out, pullback = jax.vjp(f, *primals)
        return out, pullback(cot)

    out, grads = pure.run("vjp", transform, vs)
    grads = tuple(_wrap(leaf(g)) for g in grads)
    return pure.wrap_out(out), grads if tuple_in else grads[0]


def jvp(
    func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False
) -> tuple:
    """``(func(inputs), J v)`` by forward mode (``jax.jvp``).

    Example:
        >>> import varjax as vj
        >>> x, v = vj.tensor([1.0, 2.0]), vj.tensor([1.0, 0.0])
        >>> vj.autograd.functional.jvp(lambda x: x * x, x, v)
        (tensor([1., 4.]), tensor([2., 0.]))
    """
    ins, _ = _as_tuple(inputs)
    if create_graph:
        # PyTorch's double-backward trick: J v = d/du <J^T u, v> for a dummy cotangent u
        xs = _graph_inputs(ins)
        outs, tuple_out = _as_tuple(func(*xs))
        vs = [Variable(a) for a in _vectors(v, xs, "jvp")] if v is not None else None
        us = [Variable(jnp.zeros(o.shape, o.dtype), requires_grad=True) for o in outs]
        gs = _grads(list(outs), xs, us)
        jv = _grads(list(gs), us, vs)
        return (outs if tuple_out else outs[0]), (jv if tuple_out else jv[0])
    pure = _Pure(func, ins, strict)
    if v is None:
        if len(ins) != 1 or Variable(as_array(ins[0])).numel() != 1:
            raise RuntimeError(
                "The vector v can only be None if the input to the user-provided function is a "
                "single Tensor with a single element."
            )
        v = jnp.ones(pure.xs[0].shape, pure.xs[0].dtype)
    vs = _vectors(v, tuple(pure.xs), "jvp")

    def transform(f, primals, tangents):
        return jax.jvp(f, primals, tangents)

    out, tangent_out = pure.run("jvp", transform, vs)
    return pure.wrap_out(out), pure.wrap_out(tangent_out)


def _hessian_product(name: str, func, inputs, v, create_graph, strict) -> tuple:
    ins, tuple_in = _as_tuple(inputs)
    if create_graph:
        xs = _graph_inputs(ins)
        out = func(*xs)
        if not isinstance(out, Variable) or out.numel() != 1:
            raise RuntimeError(
                f"The function given to {name} should return a single Tensor with one element"
            )
        gs = _grads([out.reshape(())], xs, None)
        prods = _grads(list(gs), xs, [Variable(a) for a in _vectors(v, xs, name)])
        return out, prods if tuple_in else prods[0]
    pure = _Pure(func, ins, strict)
    if pure.tuple_out or pure.outs[0].numel() != 1:
        raise RuntimeError(
            f"The function given to {name} should return a single Tensor with one element"
        )
    vs = _vectors(v, tuple(pure.xs), name)

    def transform(f, primals, tangents):
        scalar = lambda *p: f(*p)[0].reshape(())
        grad = jax.grad(scalar, argnums=tuple(range(len(primals))))
        return scalar(*primals), jax.jvp(grad, primals, tangents)[1]

    out, prods = pure.run(name, transform, vs)
    prods = tuple(_wrap(leaf(p)) for p in prods)
    return _wrap(leaf(out)).reshape(*pure.outs[0].shape), prods if tuple_in else prods[0]


def hvp(
    func: Callable, inputs: Any, v: Any, create_graph: bool = False, strict: bool = False
) -> tuple:
    """``(func(inputs), H v)`` for a scalar ``func``: forward-over-reverse, one call.

    Example:
        >>> import varjax as vj
        >>> f = lambda x: (x**3).sum()  # H = diag(6 x)
        >>> vj.autograd.functional.hvp(f, vj.tensor([1.0, 2.0]), vj.tensor([1.0, 1.0]))
        (tensor(9.), tensor([ 6., 12.]))
    """
    return _hessian_product("hvp", func, inputs, v, create_graph, strict)


def vhp(
    func: Callable, inputs: Any, v: Any, create_graph: bool = False, strict: bool = False
) -> tuple:
    """``(func(inputs), v^T H)``; equal to ``hvp`` since Hessians of smooth functions are
    symmetric.

    Example:
        >>> import varjax as vj
        >>> f = lambda x: (x**3).sum()  # H = diag(6 x)
        >>> vj.autograd.functional.vhp(f, vj.tensor([1.0, 2.0]), vj.tensor([1.0, 0.0]))
        (tensor(9.), tensor([6., 0.]))
    """
    return _hessian_product("vhp", func, inputs, v, create_graph, strict)
