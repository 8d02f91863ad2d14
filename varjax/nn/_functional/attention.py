"""Attention: ``scaled_dot_product_attention`` (one table op over
``jax.nn.dot_product_attention``) and ``multi_head_attention_forward``, PyTorch's functional
body of ``nn.MultiheadAttention``, composed from it and table ops.

Layouts are PyTorch's: ``(..., heads, L, E)`` for attention, ``(L, N, E)`` (sequence first)
for the multi-head function. Dropout on the attention weights, and a value head size other
than the query's, take the unfused path softmax(QK^T * scale + mask) @ V, with dropout drawn
from varjax's seeded keys.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..._creation import ones, zeros
from ..._functions import cat, softmax
from ..._ops import P
from ..._variable import Variable
from ..._variable import as_variable as _var
from .basic import _apply, dropout, linear, pad

__all__ = ["multi_head_attention_forward", "scaled_dot_product_attention"]


def _check_heads(q: Variable, k: Variable, v: Variable, enable_gqa: bool) -> None:
    if q.ndim < 2 or k.ndim != q.ndim or v.ndim != q.ndim:
        raise RuntimeError(
            f"scaled_dot_product_attention expects query, key and value of the same rank >= 2 "
            f"(..., L, E), got shapes {tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}"
        )
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise RuntimeError(
            f"scaled_dot_product_attention: query and key need the same last dim and key and "
            f"value the same sequence length, got shapes {tuple(q.shape)}, {tuple(k.shape)}, "
            f"{tuple(v.shape)}"
        )
    hq, hk = (q.shape[-3], k.shape[-3]) if q.ndim > 2 else (1, 1)
    if hk != v.shape[-3 if q.ndim > 2 else -2] and q.ndim > 2:
        raise RuntimeError(f"key and value need the same number of heads, got {hk} and "
                           f"{v.shape[-3]}")  # fmt: skip
    if hq != hk and not (enable_gqa and hq % hk == 0):
        hint = "" if enable_gqa else "; pass enable_gqa=True for grouped-query attention"
        raise RuntimeError(
            f"scaled_dot_product_attention: query has {hq} heads and key/value {hk}; they must "
            f"be equal, or the query's a multiple of the key's with enable_gqa=True{hint}"
        )


def _batch_shape(*xs: Variable) -> tuple[int, ...]:
    return tuple(np.broadcast_shapes(*(tuple(x.shape[:-3]) for x in xs)))


def _as_4d(x: Variable, batch: tuple[int, ...]) -> Variable:
    """(..., heads, L, E) as (N, heads, L, E), the batch dims broadcast and flattened."""
    if x.ndim == 2:
        return x.reshape(1, 1, *x.shape)
    tail = tuple(x.shape[-3:])
    if tuple(x.shape[:-3]) != batch:
        x = x.expand(*batch, *tail)
    return x if x.ndim == 4 else x.reshape(-1, *tail)


def _repeat_heads(x: Variable, groups: int) -> Variable:
    """Each of the (..., heads, S, E) heads repeated ``groups`` times in place
    (``repeat_interleave`` on dim -3, PyTorch's ``enable_gqa``)."""
    if groups == 1:
        return x
    shape = tuple(x.shape)
    x = x.unsqueeze(-3).expand(*shape[:-2], groups, *shape[-2:])
    return x.reshape(*shape[:-3], shape[-3] * groups, *shape[-2:])


def _masked_logits(logits: Variable, mask: Any, is_causal: bool) -> Variable:
    """The logits with PyTorch's mask applied: bool True takes part, a float is added."""
    n_q, n_k = logits.shape[-2:]
    if is_causal:
        logits = logits.masked_fill(~ones(n_q, n_k, dtype=bool).tril(), float("-inf"))
    if mask is None:
        return logits
    mask = _var(mask)
    if mask.dtype == np.dtype(bool):
        return logits.masked_fill(~mask, float("-inf"))
    return logits + mask


def _unfused(q, k, v, mask, dropout_p: float, is_causal: bool, scale: float) -> Variable:
    """PyTorch's reference: softmax(q @ k^T * scale + mask), dropout, @ v."""
    groups = q.shape[-3] // k.shape[-3] if q.ndim > 2 else 1
    k, v = _repeat_heads(k, groups), _repeat_heads(v, groups)
    weights = softmax(_masked_logits(q @ k.transpose(-2, -1) * scale, mask, is_causal), -1)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p)
    return weights @ v


def _fused(q, k, v, mask, is_causal: bool, scale: float) -> Variable:
    batch = _batch_shape(q, k, v) if q.ndim > 2 else ()
    inputs = [_as_4d(q, batch), _as_4d(k, batch), _as_4d(v, batch)]
    n, heads, n_q, _ = inputs[0].shape
    if mask is not None:
        m = _var(mask)
        # the op's inputs share a dtype (the record checks it): a bool mask goes in as the
        # bias 0 / -inf, which is what it means
        if m.dtype == np.dtype(bool):
            m = zeros(*m.shape, dtype=q.dtype).masked_fill(~m, float("-inf"))
        elif m.dtype != q.dtype:
            m = m.to(q.dtype)
        full = (*batch, heads, n_q, k.shape[-2]) if q.ndim > 2 else (n_q, k.shape[-2])
        inputs.append(m.expand(*full).reshape(n, heads, n_q, k.shape[-2]))
    params = (("is_causal", bool(is_causal)), ("scale", float(scale)))
    out = _apply(P.scaled_dot_product_attention, *inputs, params=params)
    if q.ndim == 4 and tuple(q.shape[:1]) == batch:  # no reshape: grad_fn stays the op's
        return out
    return out.reshape(*batch, *out.shape[-3:]) if q.ndim > 2 else out.reshape(*out.shape[-2:])


def scaled_dot_product_attention(
    query: Any, key: Any, value: Any, attn_mask: Any = None, dropout_p: float = 0.0,
    is_causal: bool = False, scale: float | None = None, enable_gqa: bool = False,
) -> Variable:  # fmt: skip
    """softmax(query @ key^T * scale + mask) @ value over inputs (..., heads, L, E), PyTorch's
    ``F.scaled_dot_product_attention``: a bool ``attn_mask`` marks the keys that take part,
    a float one is added to the logits; ``is_causal`` keeps the lower triangle (top-left
    aligned); ``scale`` defaults to 1/sqrt(E); ``enable_gqa`` shares each key/value head
    among a group of query heads. Dropout (``dropout_p > 0``) is always applied, as PyTorch.

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> q = vj.ones(1, 2, 3, 4)
        >>> F.scaled_dot_product_attention(q, q, q, is_causal=True).shape
        varjax.Size([1, 2, 3, 4])
    """
    q, k, v = _var(query), _var(key), _var(value)
    _check_heads(q, k, v, enable_gqa)
    if attn_mask is not None and is_causal:
        raise RuntimeError(
            "_scaled_dot_product_attention: Explicit attn_mask should not be set when "
            "is_causal=True; pass one of them (a causal bool mask is ones(L, S).tril())"
        )
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    if dropout_p > 0 or v.shape[-1] != q.shape[-1]:
        return _unfused(q, k, v, attn_mask, dropout_p, is_causal, scale)
    return _fused(q, k, v, attn_mask, is_causal, scale)


# -- multi-head attention -----------------------------------------------------------------------


def _float_mask(mask: Any, dtype: Any, name: str) -> Variable | None:
    """PyTorch's ``_canonical_mask``: a bool mask (True = masked out) as a float mask of
    -inf and 0; a float mask as it is."""
    if mask is None:
        return None
    m = _var(mask)
    if m.dtype == np.dtype(bool):
        return zeros(*m.shape, dtype=dtype).masked_fill(m, float("-inf"))
    if m.dtype.kind != "f":
        raise AssertionError(f"only bool and floating types of {name} are supported, got "
                             f"{m.dtype}")  # fmt: skip
    return m


def _in_projection(query, key, value, in_proj_weight, in_proj_bias, separate) -> tuple:
    """q, k, v projected by the packed (3E, E) weight or the three separate ones."""
    if separate is None:
        ws = _var(in_proj_weight).chunk(3)
    else:
        ws = tuple(_var(w) for w in separate)
    bs = (None,) * 3 if in_proj_bias is None else _var(in_proj_bias).chunk(3)
    return tuple(linear(x, w, b) for x, w, b in zip((query, key, value), ws, bs))


def _attn_mask_3d(attn_mask: Variable | None, bsz_heads: int, tgt: int, src: int):
    if attn_mask is None:
        return None
    if attn_mask.ndim == 2:
        if tuple(attn_mask.shape) != (tgt, src):
            raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(attn_mask.shape)}, "
                               f"but should be {(tgt, src)}.")  # fmt: skip
        return attn_mask.unsqueeze(0)
    if attn_mask.ndim != 3 or tuple(attn_mask.shape) != (bsz_heads, tgt, src):
        raise RuntimeError(
            f"attn_mask of shape {tuple(attn_mask.shape)} is not supported: pass (L, S) or "
            f"(N * num_heads, L, S) = {(bsz_heads, tgt, src)}"
        )
    return attn_mask


def _add_bias_kv(k, v, bias_k, bias_v, bsz, masks: list) -> tuple:
    k = cat([k, _var(bias_k).expand(1, bsz, k.shape[-1])])
    v = cat([v, _var(bias_v).expand(1, bsz, v.shape[-1])])
    return k, v, [None if m is None else pad(m, (0, 1)) for m in masks]


def _add_zero_attn(k, v, masks: list) -> tuple:
    k = cat([k, zeros(k.shape[0], 1, k.shape[2], dtype=k.dtype)], 1)
    v = cat([v, zeros(v.shape[0], 1, v.shape[2], dtype=v.dtype)], 1)
    return k, v, [None if m is None else pad(m, (0, 1)) for m in masks]


def _heads(x: Variable, bsz_heads: int) -> Variable:
    """(S, N, E) -> (N * heads, S, head_dim)."""
    return x.reshape(x.shape[0], bsz_heads, -1).transpose(0, 1)


def _explicit_attention(q, k, v, mask, dropout_p: float) -> tuple[Variable, Variable]:
    """(output, weights) of (N * heads, L, head_dim) inputs, the weights written out."""
    logits = (q * math.sqrt(1.0 / q.shape[-1])) @ k.transpose(-2, -1)
    weights = softmax(logits if mask is None else logits + mask, -1)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p)
    return weights @ v, weights


def _check_mha(query, key, value, embed_dim: int, num_heads: int, is_causal, attn_mask):
    if query.shape[-1] != embed_dim:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim}, but got "
                             f"{query.shape[-1]}")  # fmt: skip
    if embed_dim % num_heads:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if key.shape[:-1] != value.shape[:-1]:
        raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape "
                             f"{tuple(value.shape)}")  # fmt: skip
    if is_causal and attn_mask is None:
        raise RuntimeError(
            "Need attn_mask if specifying the is_causal hint. You may use the Transformer "
            "module method `generate_square_subsequent_mask` to create this mask."
        )


def multi_head_attention_forward(
    query: Any, key: Any, value: Any, embed_dim_to_check: int, num_heads: int,
    in_proj_weight: Any, in_proj_bias: Any, bias_k: Any, bias_v: Any, add_zero_attn: bool,
    dropout_p: float, out_proj_weight: Any, out_proj_bias: Any, training: bool = True,
    key_padding_mask: Any = None, need_weights: bool = True, attn_mask: Any = None,
    use_separate_proj_weight: bool = False, q_proj_weight: Any = None,
    k_proj_weight: Any = None, v_proj_weight: Any = None, static_k: Any = None,
    static_v: Any = None, average_attn_weights: bool = True, is_causal: bool = False,
) -> tuple[Variable, Variable | None]:  # fmt: skip
    """Multi-head attention of sequence-first inputs (L, N, E) (or unbatched (L, E)),
    PyTorch's ``F.multi_head_attention_forward``: project, split heads, attend, merge, project.
    Masks follow PyTorch's ``nn.MultiheadAttention``: a bool ``attn_mask`` or
    ``key_padding_mask`` is True where attention is *not* allowed; float ones are added.
    Returns (output, attention weights averaged over heads, or per head, or None).

    Example:
        >>> import varjax as vj
        >>> import varjax.nn.functional as F
        >>> E, heads = 4, 2
        >>> q, kv = vj.ones(3, 2, E), vj.ones(5, 2, E)  # (L, N, E), (S, N, E)
        >>> out, w = F.multi_head_attention_forward(
        ...     q, kv, kv, E, heads, vj.ones(3 * E, E), None, None, None, False, 0.0,
        ...     vj.ones(E, E), None)
        >>> out.shape, w.shape  # w: the weights averaged over heads, (N, L, S)
        (varjax.Size([3, 2, 4]), varjax.Size([2, 3, 5]))
    """
    if static_k is not None or static_v is not None:
        raise NotImplementedError("multi_head_attention_forward: static_k / static_v are not "
                                  "supported; pass key and value instead")  # fmt: skip
    query, key, value = _var(query), _var(key), _var(value)
    _check_mha(query, key, value, embed_dim_to_check, num_heads, is_causal, attn_mask)
    batched = query.ndim == 3
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = _var(key_padding_mask).unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    separate = (q_proj_weight, k_proj_weight, v_proj_weight) if use_separate_proj_weight else None
    q, k, v = _in_projection(query, key, value, in_proj_weight, in_proj_bias, separate)
    masks = [
        _attn_mask_3d(_float_mask(attn_mask, q.dtype, "attn_mask"), bsz * num_heads, tgt_len,
                      key.shape[0]),
        _float_mask(key_padding_mask, q.dtype, "key_padding_mask"),
    ]  # fmt: skip
    if bias_k is not None and bias_v is not None:
        k, v, masks = _add_bias_kv(k, v, bias_k, bias_v, bsz, masks)
    q, k, v = _heads(q, bsz * num_heads), _heads(k, bsz * num_heads), _heads(v, bsz * num_heads)
    if add_zero_attn:
        k, v, masks = _add_zero_attn(k, v, masks)
    mask, padding = masks
    src_len = k.shape[1]
    if padding is not None:
        padding = padding.reshape(bsz, 1, 1, src_len).expand(bsz, num_heads, 1, src_len)
        padding = padding.reshape(bsz * num_heads, 1, src_len)
        mask = padding if mask is None else mask + padding
    dropout_p = dropout_p if training else 0.0
    if need_weights:
        out, weights = _explicit_attention(q, k, v, mask, dropout_p)
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(1)
    else:
        if mask is not None:
            heads = (1, 1) if mask.shape[0] == 1 else (bsz, num_heads)
            mask = mask.reshape(*heads, -1, src_len)
        split = lambda t: t.reshape(bsz, num_heads, t.shape[1], t.shape[2])  # noqa: E731
        out = scaled_dot_product_attention(split(q), split(k), split(v), mask, dropout_p)
        out, weights = out.reshape(bsz * num_heads, tgt_len, -1), None
    out = out.transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, embed_dim)
    if not batched:
        out = out.squeeze(1)
        weights = None if weights is None else weights.squeeze(0)
    return out, weights
