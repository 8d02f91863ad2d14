"""varjax.utils.checkpoint: same gradients as without it, and the backward keeps only the
checkpointed function's inputs instead of its intermediates."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from conftest import assert_close

import varjax as vj
from varjax.utils import checkpoint

RNG = np.random.default_rng(3)
WS = [(RNG.standard_normal((64, 64)) / 8).astype(np.float32) for _ in range(6)]
X = RNG.standard_normal((16, 64)).astype(np.float32)


def block(h, *ws):
    for w in ws:
        h = (h @ w).tanh()
    return h


def block_jnp(h, *ws):
    for w in ws:
        h = jnp.tanh(h @ w)
    return h


def test_checkpoint_gives_the_same_gradients(mode):
    ws = [vj.tensor(w, requires_grad=True) for w in WS]
    x = vj.tensor(X, requires_grad=True)
    out = checkpoint(block, x, *ws)
    assert out.grad_fn.name() == "CheckpointFunctionBackward"
    (out * out).sum().backward()
    f = lambda x, *ws: jnp.sum(block_jnp(x, *ws) ** 2)
    grads = jax.grad(f, argnums=tuple(range(7)))(X, *WS)
    assert_close(x.grad.numpy(), grads[0], rtol=1e-4, atol=1e-5)
    for w, g in zip(ws, grads[1:]):
        assert_close(w.grad.numpy(), g, rtol=1e-4, atol=1e-5)


def _saved_bytes(fn, *args) -> int:
    """Bytes the backward keeps: the residual arrays held by jax.vjp's pullback."""
    _, pullback = jax.vjp(fn, *args)
    return sum(leaf.nbytes for leaf in jax.tree_util.tree_leaves(pullback))


def test_checkpoint_saves_memory():
    x = vj.tensor(X, requires_grad=True)
    out = checkpoint(block, x, *[vj.tensor(w) for w in WS])
    node = out._node
    op = lambda *a: node.op.fn(*a, **dict(node.params))  # the recorded op, as the replay runs it
    args = (X, *WS)
    plain = _saved_bytes(block_jnp, *args)
    with_checkpoint = _saved_bytes(op, *args)
    inputs = sum(a.nbytes for a in args)
    assert with_checkpoint <= inputs  # only the inputs are kept
    assert plain >= inputs + 6 * X.nbytes  # vs. every layer's activations
    assert with_checkpoint < plain
