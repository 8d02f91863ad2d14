"""Attention, transformers and the small layers (bilinear, embedding bags, distances):
values and gradients against PyTorch (skipped without it) and plain jax.numpy / NumPy."""

from __future__ import annotations

import copy

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import assert_close

import varjax as vj
import varjax.nn as nn
import varjax.nn.functional as F

# PyTorch's own deprecation notes on mixed mask types and nested tensors
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:torch.*")


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _r(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def _load(torch, tmod, vmod):
    """The varjax module's weights into the torch module (strict: the keys must agree)."""
    tmod.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in vmod.state_dict().items()})
    return tmod


def _grads_close(vparams, tparams, **tol):
    for (name, p), (tname, tp) in zip(vparams, tparams):
        assert name == tname
        assert_close(p.grad, tp.grad.numpy(), msg=name, **tol)


# -- scaled_dot_product_attention -------------------------------------------------------------

SDPA_CASES = {
    "4d": ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 5), {}),
    "causal": ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 5), {"is_causal": True}),
    "scale": ((1, 2, 4, 5), (1, 2, 4, 5), (1, 2, 4, 5), {"scale": 0.3}),
    "3d": ((3, 4, 5), (3, 6, 5), (3, 6, 5), {}),
    "5d": ((2, 2, 2, 3, 4), (2, 2, 2, 5, 4), (2, 2, 2, 5, 4), {"is_causal": True}),
    "gqa": ((2, 4, 3, 5), (2, 2, 6, 5), (2, 2, 6, 5), {"enable_gqa": True}),
    "value_dim": ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), {}),
}


@pytest.mark.parametrize("case", SDPA_CASES, ids=list(SDPA_CASES))
def test_sdpa_matches_torch(torch, rng, case):
    qs, ks, vs, kw = SDPA_CASES[case]
    arrays = [_r(rng, *qs), _r(rng, *ks), _r(rng, *vs)]
    vin = [vj.tensor(a, requires_grad=True) for a in arrays]
    tin = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = F.scaled_dot_product_attention(*vin, **kw)
    ref = torch.nn.functional.scaled_dot_product_attention(*tin, **kw)
    assert out.shape == tuple(ref.shape) and out.dtype == vj.float32
    assert_close(out, ref.detach().numpy(), atol=1e-5)
    g = _r(rng, *ref.shape)
    (out * vj.tensor(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    for v, t in zip(vin, tin):
        assert_close(v.grad, t.grad.numpy(), atol=1e-5)


@pytest.mark.parametrize("kind", ["bool", "bool_broadcast", "float", "float_4d", "dead_row"])
def test_sdpa_masks_match_torch(torch, rng, kind):
    arrays = [_r(rng, 2, 3, 4, 5), _r(rng, 2, 3, 6, 5), _r(rng, 2, 3, 6, 5)]
    if kind.startswith("bool"):
        mask = rng.random((2, 1, 4, 6) if kind == "bool_broadcast" else (4, 6)) > 0.4
        mask[..., 0] = True  # no fully masked rows (their value is NaN-prone in either)
    elif kind == "dead_row":  # a query no key may attend to: zeros, as PyTorch's kernels
        mask = np.ones((4, 6), bool)
        mask[1] = False
    else:
        mask = _r(rng, *((2, 3, 4, 6) if kind == "float_4d" else (4, 6)))
    vin = [vj.tensor(a, requires_grad=True) for a in arrays]
    tin = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = F.scaled_dot_product_attention(*vin, attn_mask=vj.tensor(mask))
    ref = torch.nn.functional.scaled_dot_product_attention(*tin, attn_mask=torch.tensor(mask))
    assert_close(out, ref.detach().numpy(), atol=1e-5)
    out.sum().backward()
    ref.sum().backward()
    for v, t in zip(vin, tin):
        assert_close(v.grad, t.grad.numpy(), atol=1e-5)


def _jnp_attention(q, k, v, mask=None, causal=False, scale=None):
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    logits = q @ jnp.swapaxes(k, -1, -2) * scale
    if causal:
        logits = jnp.where(jnp.tril(jnp.ones(logits.shape[-2:], bool)), logits, -jnp.inf)
    if mask is not None:
        logits = logits + mask
    return jax.nn.softmax(logits, -1) @ v


@pytest.mark.parametrize("causal", [False, True])
def test_sdpa_matches_plain_jnp(rng, causal):
    q, k, v, bias = _r(rng, 2, 2, 3, 4), _r(rng, 2, 2, 5, 4), _r(rng, 2, 2, 5, 4), _r(rng, 3, 5)
    mask = None if causal else bias
    vin = [vj.tensor(a, requires_grad=True) for a in (q, k, v)]
    out = F.scaled_dot_product_attention(*vin, attn_mask=None if causal else vj.tensor(bias),
                                         is_causal=causal, scale=0.7)  # fmt: skip
    ref = _jnp_attention(q, k, v, mask, causal, 0.7)
    assert_close(out, ref, atol=1e-5)
    assert out.grad_fn.name() == "ScaledDotProductEfficientAttentionBackward0"
    out.sum().backward()
    grads = jax.grad(lambda *a: _jnp_attention(*a, mask, causal, 0.7).sum(), (0, 1, 2))(q, k, v)
    for a, b in zip(vin, grads):
        assert_close(a.grad, b, atol=1e-5)


def test_sdpa_dropout_is_seeded_and_unbiased(rng):
    q, k = vj.tensor(_r(rng, 2, 2, 32, 4)), vj.tensor(_r(rng, 2, 2, 32, 4))
    v = vj.ones(2, 2, 32, 3)
    vj.manual_seed(3)
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy()
    vj.manual_seed(3)
    b = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy()
    np.testing.assert_array_equal(a, b)
    # each output is sum_j w_j * keep_j / (1 - p): some rows differ from 1, the mean is ~1
    assert np.abs(a - 1).max() > 0.1
    assert abs(a.mean() - 1) < 0.1
    assert np.all(F.scaled_dot_product_attention(q, k, v, dropout_p=1.0).numpy() == 0)


def test_sdpa_errors():
    q = vj.ones(1, 4, 3, 2)
    with pytest.raises(RuntimeError, match="attn_mask should not be set when is_causal"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=vj.ones(3, 3), is_causal=True)
    kv = vj.ones(1, 2, 3, 2)
    with pytest.raises(RuntimeError, match="enable_gqa=True"):
        F.scaled_dot_product_attention(q, kv, kv)
    with pytest.raises(RuntimeError, match="same last dim"):
        F.scaled_dot_product_attention(q, vj.ones(1, 4, 3, 5), vj.ones(1, 4, 3, 5))


# -- MultiheadAttention -----------------------------------------------------------------------

MHA_CASES = {
    "self": ({}, {}),
    "batch_first": ({"batch_first": True}, {}),
    "kdim_vdim": ({"kdim": 3, "vdim": 5}, {}),
    "no_bias": ({"bias": False}, {"average_attn_weights": False}),
    "bias_kv_zero_attn": ({"add_bias_kv": True, "add_zero_attn": True}, {"masks": True}),
    "masks": ({"batch_first": True}, {"masks": True}),
    "float_mask_no_weights": ({}, {"float_mask": True, "need_weights": False}),
    "no_weights": ({"batch_first": True}, {"need_weights": False, "masks": True}),
}


def _mha_inputs(rng, cfg, fwd, batched=True):
    n_q, n_k, n, e = 3, 4, 2, 4
    kd, vd = cfg.get("kdim", e), cfg.get("vdim", e)
    bf = cfg.get("batch_first", False)
    shape = (lambda t, d: (n, t, d) if bf else (t, n, d)) if batched else (lambda t, d: (t, d))
    arrays = [_r(rng, *shape(n_q, e)), _r(rng, *shape(n_k, kd)), _r(rng, *shape(n_k, vd))]
    kw = {k: v for k, v in fwd.items() if k not in ("masks", "float_mask")}
    masks = {}
    if fwd.get("masks"):
        pad = np.zeros((n, n_k) if batched else (n_k,), bool)
        pad[..., -1] = True
        masks["key_padding_mask"] = pad
        masks["attn_mask"] = np.triu(np.ones((n_q, n_k), bool), 2)
    if fwd.get("float_mask"):
        masks["attn_mask"] = _r(rng, n * 2, n_q, n_k)
    return arrays, kw, masks


@pytest.mark.parametrize("case", MHA_CASES, ids=list(MHA_CASES))
def test_multihead_attention_matches_torch(torch, rng, case):
    cfg, fwd = MHA_CASES[case]
    m = nn.MultiheadAttention(4, 2, **cfg)
    tm = _load(torch, torch.nn.MultiheadAttention(4, 2, **cfg), m)
    assert list(m.state_dict()) == list(tm.state_dict())
    arrays, kw, masks = _mha_inputs(rng, cfg, fwd)
    vin = [vj.tensor(a, requires_grad=True) for a in arrays]
    tin = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, w = m(*vin, **{k: vj.tensor(v) for k, v in masks.items()}, **kw)
    ref, tw = tm(*tin, **{k: torch.tensor(v) for k, v in masks.items()}, **kw)
    assert out.shape == tuple(ref.shape)
    assert_close(out, ref.detach().numpy(), atol=1e-5)
    if tw is None:
        assert w is None
    else:
        assert_close(w, tw.detach().numpy(), atol=1e-5)
    loss, tloss = out.square().sum(), ref.square().sum()
    if w is not None:
        loss, tloss = loss + (w * w).sum(), tloss + (tw * tw).sum()
    loss.backward()
    tloss.backward()
    for v, t in zip(vin, tin):
        assert_close(v.grad, t.grad.numpy(), atol=1e-5)
    _grads_close(m.named_parameters(), tm.named_parameters(), atol=1e-5)


def test_multihead_attention_unbatched_matches_torch(torch, rng):
    m = nn.MultiheadAttention(4, 2)
    tm = _load(torch, torch.nn.MultiheadAttention(4, 2), m)
    arrays, kw, masks = _mha_inputs(rng, {}, {"masks": True}, batched=False)
    out, w = m(*map(vj.tensor, arrays), **{k: vj.tensor(v) for k, v in masks.items()})
    ref, tw = tm(*map(torch.tensor, arrays), **{k: torch.tensor(v) for k, v in masks.items()})
    assert out.shape == (3, 4) and w.shape == (3, 4)
    assert_close(out, ref.detach().numpy(), atol=1e-5)
    assert_close(w, tw.detach().numpy(), atol=1e-5)


def test_multihead_attention_init_repr_and_errors():
    vj.manual_seed(0)
    m = nn.MultiheadAttention(8, 2)
    bound = np.sqrt(6 / (8 + 24))  # Xavier-uniform of the (3E, E) packed weight
    w = m.in_proj_weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert np.all(m.in_proj_bias.detach().numpy() == 0)
    assert np.all(m.out_proj.bias.detach().numpy() == 0)
    assert m.head_dim == 4 and m.bias_k is None and m._qkv_same_embed_dim
    assert repr(m) == (
        "MultiheadAttention(\n  (out_proj): NonDynamicallyQuantizableLinear(in_features=8, "
        "out_features=8, bias=True)\n)"
    )
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        nn.MultiheadAttention(5, 2)
    x = vj.ones(3, 1, 8)
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        m(x, x, x, is_causal=True)
    with pytest.raises(RuntimeError, match="shape of the 2D attn_mask"):
        m(x, x, x, attn_mask=vj.zeros(2, 3))


# -- transformer layers -----------------------------------------------------------------------


def _layer_inputs(rng, batch_first, n=2, n_q=3, n_k=4, d=4):
    shape = (lambda t: (n, t, d)) if batch_first else (lambda t: (t, n, d))
    return _r(rng, *shape(n_q)), _r(rng, *shape(n_k))


def _compare_layer(torch, m, tm, v_args, t_args, v_kw, t_kw):
    m.eval()
    tm.eval()
    out, ref = m(*v_args, **v_kw), tm(*t_args, **t_kw)
    assert_close(out, ref.detach().numpy(), atol=1e-5)
    out.square().sum().backward()
    ref.square().sum().backward()
    for v, t in zip(v_args, t_args):
        assert_close(v.grad, t.grad.numpy(), atol=1e-4)
    _grads_close(m.named_parameters(), tm.named_parameters(), atol=1e-4)


@pytest.mark.parametrize(("norm_first", "batch_first"), [(False, False), (True, True)])
def test_encoder_layer_matches_torch(torch, rng, norm_first, batch_first):
    kw = {"dim_feedforward": 8, "batch_first": batch_first, "norm_first": norm_first,
          "activation": "gelu" if norm_first else "relu"}  # fmt: skip
    m = nn.TransformerEncoderLayer(4, 2, **kw)
    tm = _load(torch, torch.nn.TransformerEncoderLayer(4, 2, **kw), m)
    assert list(m.state_dict()) == list(tm.state_dict())
    src, _ = _layer_inputs(rng, batch_first)
    pad = np.zeros((2, 3), bool)
    pad[1, -1] = True
    mask = np.asarray(nn.Transformer.generate_square_subsequent_mask(3))
    _compare_layer(
        torch, m, tm, [vj.tensor(src, requires_grad=True)], [torch.tensor(src, requires_grad=True)],
        {"src_mask": vj.tensor(mask), "src_key_padding_mask": vj.tensor(pad)},
        {"src_mask": torch.tensor(mask), "src_key_padding_mask": torch.tensor(pad)},
    )  # fmt: skip


@pytest.mark.parametrize(("norm_first", "batch_first"), [(False, False), (True, True)])
def test_decoder_layer_matches_torch(torch, rng, norm_first, batch_first):
    kw = {"dim_feedforward": 8, "batch_first": batch_first, "norm_first": norm_first}
    m = nn.TransformerDecoderLayer(4, 2, **kw)
    tm = _load(torch, torch.nn.TransformerDecoderLayer(4, 2, **kw), m)
    assert list(m.state_dict()) == list(tm.state_dict())
    tgt, mem = _layer_inputs(rng, batch_first)
    mask = np.asarray(nn.Transformer.generate_square_subsequent_mask(3))
    pad = np.zeros((2, 4), bool)
    pad[0, -1] = True
    _compare_layer(
        torch, m, tm, [vj.tensor(a, requires_grad=True) for a in (tgt, mem)],
        [torch.tensor(a, requires_grad=True) for a in (tgt, mem)],
        {"tgt_mask": vj.tensor(mask), "memory_key_padding_mask": vj.tensor(pad)},
        {"tgt_mask": torch.tensor(mask), "memory_key_padding_mask": torch.tensor(pad)},
    )  # fmt: skip


def test_transformer_matches_torch(torch, rng, batch_first=True):
    kw = {"num_encoder_layers": 1, "num_decoder_layers": 1, "dim_feedforward": 8,
          "batch_first": batch_first, "norm_first": True}  # fmt: skip
    m = nn.Transformer(4, 2, **kw)
    tm = _load(torch, torch.nn.Transformer(4, 2, **kw), m)
    assert list(m.state_dict()) == list(tm.state_dict())
    tgt, src = _layer_inputs(rng, batch_first)
    mask = np.asarray(nn.Transformer.generate_square_subsequent_mask(3))
    np.testing.assert_array_equal(
        mask, torch.nn.Transformer.generate_square_subsequent_mask(3).numpy()
    )
    _compare_layer(
        torch, m, tm, [vj.tensor(a, requires_grad=True) for a in (src, tgt)],
        [torch.tensor(a, requires_grad=True) for a in (src, tgt)],
        {"tgt_mask": vj.tensor(mask)}, {"tgt_mask": torch.tensor(mask)},
    )  # fmt: skip


def test_transformer_structure_and_errors():
    layer = nn.TransformerEncoderLayer(4, 2, 8, bias=False)
    enc = nn.TransformerEncoder(layer, 2)
    a, b = enc.layers[0].linear1.weight, enc.layers[1].linear1.weight
    assert a is not b and a is not layer.linear1.weight  # deep copies, as PyTorch's _get_clones
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    assert "layers.0.norm1.bias" not in enc.state_dict()
    assert "layers.1.self_attn.in_proj_weight" in enc.state_dict()
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(4, 2, activation="tanh")
    model = nn.Transformer(4, 2, 1, 1, 8, dropout=0.0)
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        model(vj.ones(3, 2, 4), vj.ones(3, 1, 4))
    with pytest.raises(RuntimeError, match="feature number of src and tgt must be equal"):
        model(vj.ones(3, 2, 4), vj.ones(3, 2, 5))


def test_encoder_training_step_under_jit_equals_imperative(rng):
    x, y = vj.tensor(_r(rng, 2, 3, 4)), vj.tensor(_r(rng, 2, 3, 4))

    def make():
        vj.manual_seed(0)
        layer = nn.TransformerEncoderLayer(4, 2, 8, dropout=0.1, batch_first=True)
        model = nn.TransformerEncoder(layer, 1)
        return model, vj.optim.SGD(model.parameters(), lr=0.1)

    def stepper(model, opt):
        def step(x, y):
            opt.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            return loss

        return step

    m1, o1 = make()
    m2, o2 = make()
    plain, compiled = stepper(m1, o1), vj.jit(stepper(m2, o2))
    vj.manual_seed(5)  # the same dropout masks in both: varjax's seeded keys
    loss1 = plain(x, y).item()
    vj.manual_seed(5)
    loss2 = compiled(x, y).item()
    assert_close(loss2, loss1, atol=1e-5)
    for a, b in zip(m2.parameters(), m1.parameters()):
        assert_close(a.detach().numpy(), b.detach().numpy(), atol=1e-5)
        assert_close(a.grad, b.grad, atol=1e-5)


# -- small layers -----------------------------------------------------------------------------


def test_bilinear_matches_torch(torch, rng):
    vj.manual_seed(0)
    m = nn.Bilinear(3, 4, 5)
    assert np.abs(m.weight.detach().numpy()).max() <= 1 / np.sqrt(3)
    assert repr(m) == "Bilinear(in1_features=3, in2_features=4, out_features=5, bias=True)"
    tm = _load(torch, torch.nn.Bilinear(3, 4, 5), m)
    a, b = _r(rng, 2, 6, 3), _r(rng, 2, 6, 4)
    va, vb = vj.tensor(a, requires_grad=True), vj.tensor(b, requires_grad=True)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    out, ref = m(va, vb), tm(ta, tb)
    assert_close(out, ref.detach().numpy(), atol=1e-5)
    out.square().sum().backward()
    ref.square().sum().backward()
    assert_close(va.grad, ta.grad.numpy(), atol=1e-4)
    assert_close(vb.grad, tb.grad.numpy(), atol=1e-4)
    _grads_close(m.named_parameters(), tm.named_parameters(), atol=1e-4)
    assert nn.Bilinear(2, 2, 1, bias=False).bias is None
    assert repr(nn.CosineSimilarity()) == "CosineSimilarity()"


BAG_CASES = {
    "mean_offsets": ({"mode": "mean"}, "offsets"),
    "sum_2d": ({"mode": "sum"}, "2d"),
    "max_offsets": ({"mode": "max"}, "offsets"),
    "sum_weights": ({"mode": "sum"}, "weights"),
    "mean_padding": ({"mode": "mean", "padding_idx": 2}, "offsets"),
    "last_offset": ({"mode": "sum", "include_last_offset": True}, "offsets"),
}


@pytest.mark.parametrize("case", BAG_CASES, ids=list(BAG_CASES))
def test_embedding_bag_matches_torch(torch, rng, case):
    kw, kind = BAG_CASES[case]
    m = nn.EmbeddingBag(6, 3, **kw)
    tm = _load(torch, torch.nn.EmbeddingBag(6, 3, **kw), m)
    assert repr(m) == repr(tm)
    idx = np.array([1, 2, 4, 5, 4, 3, 2, 9 % 6], np.int64)
    # (with include_last_offset, PyTorch 2.13's CPU kernel reads garbage for an empty bag)
    offsets = [0, 2, 5, 8] if kw.get("include_last_offset") else [0, 2, 2, 5]
    args = {"2d": (idx.reshape(2, 4),)}.get(kind, (idx, np.array(offsets, np.int64)))
    extra = {}
    if kind == "weights":
        extra["per_sample_weights"] = _r(rng, 8)
    out = m(*map(vj.tensor, args), **{k: vj.tensor(v) for k, v in extra.items()})
    ref = tm(*map(torch.tensor, args), **{k: torch.tensor(v) for k, v in extra.items()})
    assert out.shape == tuple(ref.shape)
    assert_close(out, ref.detach().numpy(), atol=1e-6)
    out.square().sum().backward()
    ref.square().sum().backward()
    assert_close(m.weight.grad, tm.weight.grad.numpy(), atol=1e-5)


def test_embedding_bag_matches_numpy_and_errors(rng):
    w = _r(rng, 5, 2)
    idx, offsets = np.array([0, 1, 1, 4, 3]), np.array([0, 3])
    out = F.embedding_bag(vj.tensor(idx), vj.tensor(w), vj.tensor(offsets), mode="max")
    ref = np.stack([w[idx[:3]].max(0), w[idx[3:]].max(0)])
    assert_close(out, ref)
    with pytest.raises(ValueError, match="offsets has to be None"):
        F.embedding_bag(vj.tensor(idx.reshape(1, 5)), vj.tensor(w), vj.tensor(offsets))
    with pytest.raises(ValueError, match="offsets has to be a 1D Tensor but got None"):
        F.embedding_bag(vj.tensor(idx), vj.tensor(w))
    with pytest.raises(NotImplementedError, match="only supported for mode='sum'"):
        F.embedding_bag(vj.tensor(idx), vj.tensor(w), vj.tensor(offsets),
                        per_sample_weights=vj.ones(5))  # fmt: skip
    with pytest.raises(ValueError, match="mode has to be one of sum, mean or max"):
        F.embedding_bag(vj.tensor(idx), vj.tensor(w), vj.tensor(offsets), mode="min")


DISTANCES = {
    "normalize": (lambda f, a, b: f.normalize(a, p=3.0, dim=-1)),
    "normalize_dim0": (lambda f, a, b: f.normalize(a, dim=0)),
    "cosine": (lambda f, a, b: f.cosine_similarity(a, b, dim=-1)),
    "cosine_broadcast": (lambda f, a, b: f.cosine_similarity(a, b[:1], dim=1)),
    "pairwise": (lambda f, a, b: f.pairwise_distance(a, b)),
    "pairwise_p1_keepdim": (lambda f, a, b: f.pairwise_distance(a, b, p=1.0, keepdim=True)),
    "pdist": (lambda f, a, b: f.pdist(a)),
}


@pytest.mark.parametrize("name", DISTANCES, ids=list(DISTANCES))
def test_distances_match_torch(torch, rng, name):
    fn = DISTANCES[name]
    a, b = _r(rng, 4, 5), _r(rng, 4, 5)
    va, vb = vj.tensor(a, requires_grad=True), vj.tensor(b, requires_grad=True)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    out, ref = fn(F, va, vb), fn(torch.nn.functional, ta, tb)
    assert out.shape == tuple(ref.shape)
    assert_close(out, ref.detach().numpy(), atol=1e-5)
    out.square().sum().backward()
    ref.square().sum().backward()
    assert_close(va.grad, ta.grad.numpy(), atol=1e-5)
    if tb.grad is not None:
        assert_close(vb.grad, tb.grad.numpy(), atol=1e-5)


def test_distance_modules_match_numpy(rng):
    a, b = _r(rng, 3, 4), _r(rng, 3, 4)
    cos = nn.CosineSimilarity(dim=1)(vj.tensor(a), vj.tensor(b))
    ref = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert_close(cos, ref)
    dist = nn.PairwiseDistance(p=2.0)(vj.tensor(a), vj.tensor(b))
    assert_close(dist, np.linalg.norm(a - b + 1e-6, axis=1))
    assert repr(nn.PairwiseDistance()) == "PairwiseDistance()"
    va = vj.tensor(a, requires_grad=True)
    F.normalize(va).sum().backward()
    grad = jax.grad(lambda x: (x / jnp.linalg.norm(x, axis=1, keepdims=True)).sum())(a)
    assert_close(va.grad, grad, atol=1e-5)


def test_layers_deepcopy_independently():
    m = nn.Bilinear(2, 2, 2)
    c = copy.deepcopy(m)
    with vj.no_grad():
        c.weight.zero_()
    assert np.abs(m.weight.detach().numpy()).sum() > 0
