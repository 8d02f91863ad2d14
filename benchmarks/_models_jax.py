"""The five models of ``examples/models.py`` written by hand as functional JAX: the reference
column of ``bench_models``.

Each model is a loss of (parameters, buffers, x, y) in ``jax.numpy``/``jax.lax`` that follows
the PyTorch module it mirrors op for op (layouts, eps, reductions), and returns the buffers it
updates (BatchNorm's running statistics) beside the loss. ``jax_step`` wraps one of them with
``jax.value_and_grad`` and the optax form of the model's PyTorch optimizer into a single
``jax.jit`` with the parameters, buffers and optimizer state donated, as a JAX user would
write a training step. Parameters keep PyTorch's ``state_dict`` names, so weights move across
without renaming.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

HEADS = 4  # models.gpt's default: the head count is not visible in the state dict
EPS = 1e-5  # LayerNorm's and BatchNorm2d's default eps
BN_MOMENTUM = 0.1  # BatchNorm2d's default momentum
BUFFERS = ("running_mean", "running_var", "num_batches_tracked")

Params = dict[str, jax.Array]


# -- layers, each PyTorch's formula ----------------------------------------------------------


def _linear(p: Params, name: str, x: jax.Array) -> jax.Array:
    """``nn.Linear``: x W^T + b, the bias optional as in ``bias=False``."""
    y = x @ p[name + ".weight"].T
    return y + p[name + ".bias"] if name + ".bias" in p else y


def _layer_norm(p: Params, name: str, x: jax.Array) -> jax.Array:
    """``nn.LayerNorm`` over the last axis, with the biased variance."""
    mu = x.mean(-1, keepdims=True)
    var = jnp.square(x - mu).mean(-1, keepdims=True)
    return (x - mu) * lax.rsqrt(var + EPS) * p[name + ".weight"] + p[name + ".bias"]


def _cross_entropy(logits: jax.Array, target: jax.Array) -> jax.Array:
    """``F.cross_entropy`` with integer targets, mean reduction; the classes on axis 1 as
    PyTorch, so (N, C) against (N,) or per pixel (N, C, H, W) against (N, H, W)."""
    logp = jax.nn.log_softmax(logits, axis=1)
    return -jnp.take_along_axis(logp, target[:, None], axis=1).mean()


def _conv(p: Params, name: str, x: jax.Array, stride: int, padding: int) -> jax.Array:
    """``nn.Conv2d``: NCHW input, OIHW weight (PyTorch's layouts), the bias optional as in
    ``bias=False``."""
    y = lax.conv_general_dilated(
        x, p[name + ".weight"], (stride, stride), [(padding, padding)] * 2,
        dimension_numbers=("NCHW", "OIHW", "NCHW"),
    )  # fmt: skip
    return y + p[name + ".bias"][:, None, None] if name + ".bias" in p else y


def _conv_transpose2(p: Params, name: str, x: jax.Array) -> jax.Array:
    """``nn.ConvTranspose2d(c_in, c_out, 2, stride=2)``: weight (in, out, 2, 2), so each
    input pixel becomes a 2x2 patch, out[n, o, 2i+a, 2j+b] = sum_c x[n,c,i,j] w[c,o,a,b] + b[o]."""
    n, _, h, w = x.shape
    weight = p[name + ".weight"]
    y = jnp.einsum("nchw,coab->nohawb", x, weight).reshape(n, weight.shape[1], 2 * h, 2 * w)
    return y + p[name + ".bias"][:, None, None]


def _max_pool2(x: jax.Array) -> jax.Array:
    """``nn.MaxPool2d(2)``: the max of each 2x2 window, stride 2, odd edges dropped."""
    return lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")


def _upsample_bilinear2(x: jax.Array) -> jax.Array:
    """``F.interpolate(scale_factor=2, mode="bilinear", align_corners=False)``: both sample
    at source (dst + 0.5) / 2 - 0.5 with the edges clamped (antialiasing is a no-op when
    upsampling)."""
    n, c, h, w = x.shape
    return jax.image.resize(x, (n, c, 2 * h, 2 * w), "bilinear")


def _batch_norm(p: Params, b: Params, name: str, x: jax.Array) -> tuple[jax.Array, Params]:
    """``nn.BatchNorm2d`` in training mode: normalise by the batch's biased variance, and
    move the running statistics by ``BN_MOMENTUM`` toward the batch's (the variance
    unbiased, as PyTorch). Returns the output and the updated buffers of this layer."""
    mean = x.mean((0, 2, 3))
    var = jnp.square(x - mean[:, None, None]).mean((0, 2, 3))
    n = x.size // x.shape[1]
    scale = p[name + ".weight"] * lax.rsqrt(var + EPS)
    y = (x - mean[:, None, None]) * scale[:, None, None] + p[name + ".bias"][:, None, None]
    m = BN_MOMENTUM
    new = {
        name + ".running_mean": (1 - m) * b[name + ".running_mean"] + m * mean,
        name + ".running_var": (1 - m) * b[name + ".running_var"] + m * var * (n / (n - 1)),
        name + ".num_batches_tracked": b[name + ".num_batches_tracked"] + 1,
    }
    return y, new


# -- the five models ------------------------------------------------------------------------


def gpt_loss(p: Params, b: Params, idx: jax.Array, target: jax.Array):
    """``models.gpt``: pre-norm blocks of causal self-attention and an exact-GELU MLP, a
    bias-free head, cross-entropy of the next token."""
    batch, t = idx.shape
    width = p["tok.weight"].shape[1]
    hd = width // HEADS
    causal = jnp.tril(jnp.ones((t, t), bool))
    x = p["tok.weight"][idx] + p["pos.weight"][jnp.arange(t)]
    layers = sum(1 for k in p if k.startswith("blocks.") and k.endswith(".ln1.weight"))
    for i in range(layers):
        n = f"blocks.{i}."
        qkv = _linear(p, n + "attn.qkv", _layer_norm(p, n + "ln1", x))
        q, k, v = (
            z.reshape(batch, t, HEADS, hd).transpose(0, 2, 1, 3) for z in jnp.split(qkv, 3, 2)
        )
        # F.scaled_dot_product_attention(is_causal=True): scale 1/sqrt(E), -inf above diagonal
        att = jnp.where(causal, q @ k.transpose(0, 1, 3, 2) / math.sqrt(hd), -jnp.inf)
        y = (jax.nn.softmax(att, -1) @ v).transpose(0, 2, 1, 3).reshape(batch, t, width)
        x = x + _linear(p, n + "attn.proj", y)
        h = jax.nn.gelu(_linear(p, n + "mlp.0", _layer_norm(p, n + "ln2", x)), approximate=False)
        x = x + _linear(p, n + "mlp.2", h)
    logits = _linear(p, "head", _layer_norm(p, "ln_f", x))
    return _cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1)), b


def _basic_block(p: Params, b: Params, name: str, x: jax.Array, stride: int):
    """``models.resnet``'s BasicBlock; the 1x1 projection shortcut when its weights exist."""
    out, b1 = _batch_norm(p, b, name + ".bn1", _conv(p, name + ".conv1", x, stride, 1))
    out, b2 = _batch_norm(p, b, name + ".bn2", _conv(p, name + ".conv2", jax.nn.relu(out), 1, 1))
    new = {**b1, **b2}
    if name + ".down.0.weight" in p:
        x, bd = _batch_norm(p, b, name + ".down.1", _conv(p, name + ".down.0", x, stride, 0))
        new.update(bd)
    return jax.nn.relu(out + x), new


def resnet_loss(p: Params, b: Params, img: jax.Array, label: jax.Array):
    """``models.resnet``: conv-BN-ReLU stem, two BasicBlocks (the second strided), global
    average pool, linear classifier; the Sequential's indices are the parameter names."""
    x, new = _batch_norm(p, b, "1", _conv(p, "0", img, 1, 1))
    x = jax.nn.relu(x)
    for name, stride in (("3", 1), ("4", 2)):
        x, nb = _basic_block(p, b, name, x, stride)
        new.update(nb)
    logits = _linear(p, "7", x.mean((2, 3)))  # AdaptiveAvgPool2d(1), then Flatten
    return _cross_entropy(logits, label), new


def _lstm_layer(p: Params, k: int, x: jax.Array) -> jax.Array:
    """Layer ``k`` of ``nn.LSTM`` over time-major ``x`` (T, B, H) from zero state; PyTorch's
    gate order i, f, g, o. The input projection of all steps is one matmul before the scan."""
    w_hh = p[f"lstm.weight_hh_l{k}"].T
    gx = x @ p[f"lstm.weight_ih_l{k}"].T + p[f"lstm.bias_ih_l{k}"] + p[f"lstm.bias_hh_l{k}"]

    def cell(carry, g):
        h, c = carry
        i, f, g, o = jnp.split(g + h @ w_hh, 4, axis=-1)
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return (h, c), h

    zero = jnp.zeros((x.shape[1], w_hh.shape[0]), x.dtype)
    return lax.scan(cell, (zero, zero), gx)[1]


def lstm_lm_loss(p: Params, b: Params, idx: jax.Array, target: jax.Array):
    """``models.lstm_lm``: embedding, a 2-layer batch-first LSTM, linear to the vocabulary."""
    h = p["embed.weight"][idx].transpose(1, 0, 2)  # batch_first: scan runs over axis 0
    layers = sum(1 for k in p if k.startswith("lstm.weight_ih_l"))
    for k in range(layers):
        h = _lstm_layer(p, k, h)
    logits = _linear(p, "out", h.transpose(1, 0, 2))
    return _cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1)), b


def vae_loss(p: Params, b: Params, x: jax.Array, noise: jax.Array):
    """``models.vae``: summed BCE-with-logits reconstruction plus the Gaussian KL, per
    example; ``noise`` is the reparametrisation's draw, made by the batch."""
    h = jax.nn.relu(_linear(p, "enc.0", x))
    mu, logvar = _linear(p, "mu", h), _linear(p, "logvar", h)
    z = mu + noise * jnp.exp(0.5 * logvar)
    recon = _linear(p, "dec.2", jax.nn.relu(_linear(p, "dec.0", z)))
    # PyTorch's stable form: max(r, 0) - r x + log(1 + exp(-|r|))
    rec = jnp.sum(jnp.maximum(recon, 0) - recon * x + jnp.log1p(jnp.exp(-jnp.abs(recon))))
    kld = -0.5 * jnp.sum(1 + logvar - jnp.square(mu) - jnp.exp(logvar))
    return (rec + kld) / x.shape[0], b


def _double_conv(p: Params, b: Params, name: str, x: jax.Array):
    """``models.unet``'s double_conv: (3x3 Conv2d(bias=False), BatchNorm2d, ReLU) twice, the
    Sequential's indices 0, 1 and 3, 4 the layer names."""
    new = {}
    for conv, bn in (("0", "1"), ("3", "4")):
        x, nb = _batch_norm(p, b, f"{name}.{bn}", _conv(p, f"{name}.{conv}", x, 1, 1))
        x = jax.nn.relu(x)
        new.update(nb)
    return x, new


def unet_loss(p: Params, b: Params, img: jax.Array, mask: jax.Array):
    """``models.unet``: two double_conv encoders around a 2x2 max pool; the decoder's input
    is the skip concatenated with a stride-2 transposed conv plus a 1x1 conv of the bilinear
    upsampling; a 1x1 head; cross-entropy per pixel."""
    x1, new = _double_conv(p, b, "enc1", img)
    x2, nb = _double_conv(p, b, "enc2", _max_pool2(x1))
    new.update(nb)
    up = _conv_transpose2(p, "up", x2) + _conv(p, "mix", _upsample_bilinear2(x2), 1, 0)
    h, nb = _double_conv(p, b, "dec", jnp.concatenate([x1, up], axis=1))
    new.update(nb)
    return _cross_entropy(_conv(p, "head", h, 1, 0), mask), new


# -- optimizers: optax chains with PyTorch's update rules -----------------------------------


def _sgd(group: dict) -> optax.GradientTransformation:
    """``torch.optim.SGD`` (no dampening or Nesterov): g += wd p; buf = m buf + g, which
    from optax's zero trace makes buf = g on the first step as PyTorch; p -= lr buf."""
    return optax.chain(
        optax.add_decayed_weights(group["weight_decay"]),
        optax.trace(decay=group["momentum"], nesterov=False),
        optax.scale(-group["lr"]),
    )


def _adam(group: dict) -> optax.GradientTransformation:
    """``torch.optim.Adam`` without weight decay (eps outside the square root, as optax)."""
    assert not group["weight_decay"], "coupled weight decay is not written here"
    b1, b2 = group["betas"]
    return optax.adam(group["lr"], b1=b1, b2=b2, eps=group["eps"])


def _adamw(group: dict) -> optax.GradientTransformation:
    """``torch.optim.AdamW``: optax's decoupled decay -lr wd p is PyTorch's p *= 1 - lr wd."""
    b1, b2 = group["betas"]
    return optax.adamw(
        group["lr"], b1=b1, b2=b2, eps=group["eps"], weight_decay=group["weight_decay"]
    )


#: model name -> (loss, optimizer of the PyTorch optimizer's hyperparameters)
MODELS = {
    "gpt": (gpt_loss, _adamw),
    "resnet": (resnet_loss, _sgd),
    "lstm_lm": (lstm_lm_loss, _adam),
    "vae": (vae_loss, _adam),
    "unet": (unet_loss, _adam),
}


def jax_step(
    name: str, state: dict[str, np.ndarray], batch: tuple[np.ndarray, np.ndarray], group: dict
) -> Callable[[], float]:
    """One training step of model ``name`` as a zero-argument callable returning the loss.

    ``state`` is the model's ``state_dict`` as NumPy arrays (buffers are told apart by
    name), ``batch`` the (x, y) it trains on each call, ``group`` the PyTorch-style
    optimizer's hyperparameters (``param_groups[0]``: the lr a scheduler has set is read
    there). Parameters, buffers and optimizer state live on in the closure between calls.
    """
    loss_fn, make_tx = MODELS[name]
    tx = make_tx(group)
    params = {k: jnp.array(v) for k, v in state.items() if not k.endswith(BUFFERS)}
    buffers = {k: jnp.array(v) for k, v in state.items() if k.endswith(BUFFERS)}
    box = [params, buffers, tx.init(params)]
    x, y = (jnp.asarray(a) for a in batch)

    # donated: XLA may update parameters and moments in place, as the optimizers do
    @partial(jax.jit, donate_argnums=(0, 1, 2))
    def step(params, buffers, opt_state, x, y):
        (loss, buffers), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, buffers, x, y)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), buffers, opt_state, loss

    def run() -> float:
        box[0], box[1], box[2], loss = step(*box, x, y)
        return float(loss)  # a host sync, as the varjax and torch steppers' .item()

    return run
