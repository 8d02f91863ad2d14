"""``MultiheadAttention`` and the Transformer family (encoder and decoder layers and stacks,
the full ``Transformer``), with PyTorch's constructor arguments, attribute names and
``state_dict`` keys, so a PyTorch checkpoint loads.

Stacks deep-copy their layer, as PyTorch's ``_get_clones`` does; ``Transformer`` re-draws
every parameter of two or more dims Xavier-uniform, as PyTorch's ``_reset_parameters``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

from .._creation import full
from .._variable import Variable
from . import functional as F
from . import init
from ._layers import Dropout, LayerNorm, Linear, ModuleList
from ._linear import NonDynamicallyQuantizableLinear
from ._module import Module, Parameter

__all__ = [
    "MultiheadAttention", "Transformer", "TransformerDecoder", "TransformerDecoderLayer",
    "TransformerEncoder", "TransformerEncoderLayer",
]  # fmt: skip


def _empty(*shape: int) -> Parameter:
    return Parameter(init._draw("uniform", shape, None, None, 0.0, 0.0))


class MultiheadAttention(Module):
    """Multi-head attention, PyTorch's ``nn.MultiheadAttention``: ``in_proj_weight`` (3E, E)
    (or ``q_proj_weight``/``k_proj_weight``/``v_proj_weight`` when ``kdim``/``vdim`` differ
    from E) starts Xavier-uniform, the biases zero. ``forward`` returns (output, attention
    weights or None); inputs are (L, N, E), or (N, L, E) with ``batch_first``, or (L, E).

    Example:
        >>> import varjax as vj
        >>> mha = vj.nn.MultiheadAttention(8, 2, batch_first=True)
        >>> x = vj.ones(3, 5, 8)
        >>> out, w = mha(x, x, x)
        >>> out.shape, w.shape
        (varjax.Size([3, 5, 8]), varjax.Size([3, 5, 5]))
    """

    def __init__(
        self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
        add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
        vdim: int | None = None, batch_first: bool = False,
    ) -> None:  # fmt: skip
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got embed_dim="
                             f"{embed_dim} and num_heads={num_heads} instead")  # fmt: skip
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads, self.dropout, self.batch_first = num_heads, dropout, batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        self._projections(embed_dim, bias)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias)
        if add_bias_kv:
            self.bias_k, self.bias_v = _empty(1, 1, embed_dim), _empty(1, 1, embed_dim)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _projections(self, embed_dim: int, bias: bool) -> None:
        if not self._qkv_same_embed_dim:
            self.q_proj_weight = _empty(embed_dim, embed_dim)
            self.k_proj_weight = _empty(embed_dim, self.kdim)
            self.v_proj_weight = _empty(embed_dim, self.vdim)
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = _empty(3 * embed_dim, embed_dim)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        if bias:
            self.in_proj_bias = _empty(3 * embed_dim)
        else:
            self.register_parameter("in_proj_bias", None)

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def forward(
        self, query: Variable, key: Variable, value: Variable,
        key_padding_mask: Variable | None = None, need_weights: bool = True,
        attn_mask: Variable | None = None, average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Variable, Variable | None]:  # fmt: skip
        batched = query.ndim == 3
        if self.batch_first and batched:
            query, key, value = (x.transpose(1, 0) for x in (query, key, value))
        separate = not self._qkv_same_embed_dim
        out, weights = F.multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
            use_separate_proj_weight=separate, q_proj_weight=self.q_proj_weight,
            k_proj_weight=self.k_proj_weight, v_proj_weight=self.v_proj_weight,
            average_attn_weights=average_attn_weights, is_causal=is_causal,
        )  # fmt: skip
        if self.batch_first and batched:
            out = out.transpose(1, 0)
        return out, weights


def _activation(activation: str | Callable) -> Callable:
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    if callable(activation):
        return activation
    raise RuntimeError(f"activation should be relu/gelu, not {activation}")


def _layer_norm(d_model: int, eps: float, bias: bool) -> LayerNorm:
    norm = LayerNorm(d_model, eps=eps)
    if not bias:  # PyTorch's LayerNorm(bias=False): a weight and no bias
        norm.register_parameter("bias", None)
    return norm


def _clones(module: Module, n: int) -> ModuleList:
    return ModuleList([copy.deepcopy(module) for _ in range(n)])


class TransformerEncoderLayer(Module):
    """Self-attention then a feed-forward block, each with a residual connection and a
    LayerNorm (after it, or before with ``norm_first``), PyTorch's
    ``nn.TransformerEncoderLayer``.

    Example:
        >>> import varjax as vj
        >>> layer = vj.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True)
        >>> layer(vj.ones(3, 5, 8)).shape
        varjax.Size([3, 5, 8])
    """

    def __init__(
        self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
        activation: str | Callable = F.relu, layer_norm_eps: float = 1e-5,
        batch_first: bool = False, norm_first: bool = False, bias: bool = True,
    ) -> None:  # fmt: skip
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first)  # fmt: skip
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias)
        self.norm_first = norm_first
        self.norm1 = _layer_norm(d_model, layer_norm_eps, bias)
        self.norm2 = _layer_norm(d_model, layer_norm_eps, bias)
        self.dropout1, self.dropout2 = Dropout(dropout), Dropout(dropout)
        self.activation = _activation(activation)

    def forward(self, src: Variable, src_mask: Variable | None = None,
                src_key_padding_mask: Variable | None = None,
                is_causal: bool = False) -> Variable:  # fmt: skip
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal) -> Variable:
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]  # fmt: skip
        return self.dropout1(x)

    def _ff_block(self, x: Variable) -> Variable:
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerDecoderLayer(Module):
    """Self-attention, attention over the encoder's ``memory``, then a feed-forward block,
    each with a residual connection and a LayerNorm, PyTorch's ``nn.TransformerDecoderLayer``.

    Example:
        >>> import varjax as vj
        >>> layer = vj.nn.TransformerDecoderLayer(8, 2, 16, batch_first=True)
        >>> layer(vj.ones(2, 3, 8), vj.ones(2, 5, 8)).shape
        varjax.Size([2, 3, 8])
    """

    def __init__(
        self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
        activation: str | Callable = F.relu, layer_norm_eps: float = 1e-5,
        batch_first: bool = False, norm_first: bool = False, bias: bool = True,
    ) -> None:  # fmt: skip
        super().__init__()
        kw = {"dropout": dropout, "bias": bias, "batch_first": batch_first}
        self.self_attn = MultiheadAttention(d_model, nhead, **kw)
        self.multihead_attn = MultiheadAttention(d_model, nhead, **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias)
        self.norm_first = norm_first
        self.norm1 = _layer_norm(d_model, layer_norm_eps, bias)
        self.norm2 = _layer_norm(d_model, layer_norm_eps, bias)
        self.norm3 = _layer_norm(d_model, layer_norm_eps, bias)
        self.dropout1, self.dropout2 = Dropout(dropout), Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _activation(activation)

    def forward(
        self, tgt: Variable, memory: Variable, tgt_mask: Variable | None = None,
        memory_mask: Variable | None = None, tgt_key_padding_mask: Variable | None = None,
        memory_key_padding_mask: Variable | None = None, tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> Variable:  # fmt: skip
        x = tgt
        sa = lambda y: self._sa_block(y, tgt_mask, tgt_key_padding_mask, tgt_is_causal)  # noqa: E731
        mha = lambda y: self._mha_block(y, memory, memory_mask, memory_key_padding_mask,  # noqa: E731
                                        memory_is_causal)  # fmt: skip
        if self.norm_first:
            x = x + sa(self.norm1(x))
            x = x + mha(self.norm2(x))
            return x + self._ff_block(self.norm3(x))
        x = self.norm1(x + sa(x))
        x = self.norm2(x + mha(x))
        return self.norm3(x + self._ff_block(x))

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal) -> Variable:
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           is_causal=is_causal, need_weights=False)[0]  # fmt: skip
        return self.dropout1(x)

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal) -> Variable:
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask,
                                key_padding_mask=key_padding_mask, is_causal=is_causal,
                                need_weights=False)[0]  # fmt: skip
        return self.dropout2(x)

    def _ff_block(self, x: Variable) -> Variable:
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoder(Module):
    """``num_layers`` deep copies of ``encoder_layer`` applied in turn, then ``norm`` if
    given, PyTorch's ``nn.TransformerEncoder`` (``enable_nested_tensor`` is accepted and has
    no effect: outputs are dense, as PyTorch's are when gradients are recorded).

    Example:
        >>> import varjax as vj
        >>> layer = vj.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True)
        >>> encoder = vj.nn.TransformerEncoder(layer, num_layers=2)
        >>> encoder(vj.ones(3, 5, 8)).shape
        varjax.Size([3, 5, 8])
    """

    def __init__(self, encoder_layer: Module, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True) -> None:  # fmt: skip
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers, self.norm = num_layers, norm
        self.enable_nested_tensor, self.mask_check = enable_nested_tensor, mask_check

    def forward(self, src: Variable, mask: Variable | None = None,
                src_key_padding_mask: Variable | None = None,
                is_causal: bool | None = None) -> Variable:  # fmt: skip
        output = src
        for mod in self.layers:
            output = mod(output, src_mask=mask, is_causal=bool(is_causal),
                         src_key_padding_mask=src_key_padding_mask)  # fmt: skip
        return output if self.norm is None else self.norm(output)


class TransformerDecoder(Module):
    """``num_layers`` deep copies of ``decoder_layer`` applied in turn over ``memory``, then
    ``norm`` if given, PyTorch's ``nn.TransformerDecoder``.

    Example:
        >>> import varjax as vj
        >>> layer = vj.nn.TransformerDecoderLayer(8, 2, 16, batch_first=True)
        >>> decoder = vj.nn.TransformerDecoder(layer, num_layers=2)
        >>> decoder(vj.ones(2, 3, 8), vj.ones(2, 5, 8)).shape
        varjax.Size([2, 3, 8])
    """

    def __init__(self, decoder_layer: Module, num_layers: int,
                 norm: Module | None = None) -> None:  # fmt: skip
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers, self.norm = num_layers, norm

    def forward(
        self, tgt: Variable, memory: Variable, tgt_mask: Variable | None = None,
        memory_mask: Variable | None = None, tgt_key_padding_mask: Variable | None = None,
        memory_key_padding_mask: Variable | None = None, tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Variable:  # fmt: skip
        output = tgt
        for mod in self.layers:
            output = mod(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                         tgt_key_padding_mask=tgt_key_padding_mask,
                         memory_key_padding_mask=memory_key_padding_mask,
                         tgt_is_causal=bool(tgt_is_causal),
                         memory_is_causal=memory_is_causal)  # fmt: skip
        return output if self.norm is None else self.norm(output)


class Transformer(Module):
    """The encoder-decoder Transformer of "Attention Is All You Need", PyTorch's
    ``nn.Transformer``: ``forward(src, tgt, ...)`` encodes ``src`` and decodes ``tgt`` over it.

    Example:
        >>> import varjax as vj
        >>> model = vj.nn.Transformer(8, 2, 1, 1, 16, dropout=0.0, batch_first=True)
        >>> model(vj.ones(2, 5, 8), vj.ones(2, 3, 8)).shape
        varjax.Size([2, 3, 8])
    """

    def __init__(
        self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
        num_decoder_layers: int = 6, dim_feedforward: int = 2048, dropout: float = 0.1,
        activation: str | Callable = F.relu, custom_encoder: Module | None = None,
        custom_decoder: Module | None = None, layer_norm_eps: float = 1e-5,
        batch_first: bool = False, norm_first: bool = False, bias: bool = True,
    ) -> None:  # fmt: skip
        super().__init__()
        layer_args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                      batch_first, norm_first, bias)  # fmt: skip
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            norm = _layer_norm(d_model, layer_norm_eps, bias)
            layer = TransformerEncoderLayer(*layer_args)
            self.encoder = TransformerEncoder(layer, num_encoder_layers, norm)
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            norm = _layer_norm(d_model, layer_norm_eps, bias)
            layer = TransformerDecoderLayer(*layer_args)
            self.decoder = TransformerDecoder(layer, num_decoder_layers, norm)
        self._reset_parameters()
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def _reset_parameters(self) -> None:
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)

    def forward(
        self, src: Variable, tgt: Variable, src_mask: Variable | None = None,
        tgt_mask: Variable | None = None, memory_mask: Variable | None = None,
        src_key_padding_mask: Variable | None = None,
        tgt_key_padding_mask: Variable | None = None,
        memory_key_padding_mask: Variable | None = None, src_is_causal: bool | None = None,
        tgt_is_causal: bool | None = None, memory_is_causal: bool = False,
    ) -> Variable:  # fmt: skip
        batch_dim = 0 if self.batch_first else 1
        if src.ndim == 3 and src.shape[batch_dim] != tgt.shape[batch_dim]:
            raise RuntimeError("the batch number of src and tgt must be equal")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError("the feature number of src and tgt must be equal to d_model")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)  # fmt: skip
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal,
                            memory_is_causal=memory_is_causal)  # fmt: skip

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device: Any = None,
                                        dtype: Any = None) -> Variable:  # fmt: skip
        """A (sz, sz) float mask: 0 on and below the diagonal, -inf above (PyTorch's)."""
        mask = full((sz, sz), -math.inf, dtype=dtype)
        return mask.triu(1)
