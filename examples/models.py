"""Five models written for PyTorch, run on varjax with only the import changed.

Each builder takes the library (``varjax`` or ``torch``) and returns (model, optimizer,
scheduler or None, a function making batch ``i``, the loss of a batch). The same code
trains on either library; ``tests/test_models.py`` checks that varjax and PyTorch, started
from the same weights, give the same losses, and that ``varjax.jit`` gives the imperative
numbers. Run it to train each model a few hundred steps on synthetic data::

    python examples/models.py            # varjax
    python examples/models.py --torch    # the same script on PyTorch
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

VOCAB, BLOCK = 32, 16


def _tokens(i: int, batch: int) -> np.ndarray:
    """Batch ``i`` of a learnable sequence task: each row counts up from a random start."""
    rng = np.random.default_rng(i)
    start = rng.integers(0, VOCAB, size=(batch, 1))
    return (start + np.arange(BLOCK + 1)) % VOCAB


def gpt(torch, steps: int = 300, width: int = 32, heads: int = 4, layers: int = 2):
    nn, F = torch.nn, torch.nn.functional  # noqa: N806 - PyTorch code calls it F

    class CausalSelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = nn.Linear(width, 3 * width)
            self.proj = nn.Linear(width, width)

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = self.qkv(x).split(c, dim=2)
            q, k, v = (z.view(b, t, heads, c // heads).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.proj(y.transpose(1, 2).contiguous().view(b, t, c))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
            self.attn = CausalSelfAttention()
            self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(),
                                     nn.Linear(4 * width, width))  # fmt: skip

        def forward(self, x):
            x = x + self.attn(self.ln1(x))
            return x + self.mlp(self.ln2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok, self.pos = nn.Embedding(VOCAB, width), nn.Embedding(BLOCK, width)
            self.blocks = nn.ModuleList([Block() for _ in range(layers)])
            self.ln_f, self.head = nn.LayerNorm(width), nn.Linear(width, VOCAB, bias=False)

        def forward(self, idx):
            x = self.tok(idx) + self.pos(torch.arange(idx.shape[1]))
            for block in self.blocks:
                x = block(x)
            return self.head(self.ln_f(x))

    model = GPT()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.1)
    warmup = max(steps // 10, 1)
    sched = torch.optim.lr_scheduler.SequentialLR(opt, [
        torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=warmup),
        torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps - warmup, eta_min=3e-4),
    ], milestones=[warmup])  # fmt: skip

    def batch(i):
        data = torch.tensor(_tokens(i, 8))
        return data[:, :-1], data[:, 1:]

    def loss_fn(x, y):
        logits = model(x)
        return F.cross_entropy(logits.reshape(-1, VOCAB), y.reshape(-1))

    return model, opt, sched, batch, loss_fn


def resnet(torch, steps: int = 200, channels: int = 8):
    nn, F = torch.nn, torch.nn.functional  # noqa: N806 - PyTorch code calls it F

    class BasicBlock(nn.Module):
        def __init__(self, c_in, c_out, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(c_out)
            self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(c_out)
            self.down = None
            if stride != 1 or c_in != c_out:
                self.down = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                          nn.BatchNorm2d(c_out))  # fmt: skip

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + (x if self.down is None else self.down(x)))

    model = nn.Sequential(
        nn.Conv2d(1, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(),
        BasicBlock(channels, channels, 1), BasicBlock(channels, 2 * channels, 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * channels, 4),
    )  # fmt: skip
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[steps // 2], gamma=0.3)

    def batch(i):
        rng = np.random.default_rng(i)
        label = rng.integers(0, 4, size=16)
        img = rng.normal(0, 0.3, size=(16, 1, 8, 8)).astype(np.float32)
        for n, c in enumerate(label):  # the class is which quadrant is bright
            r, s = divmod(int(c), 2)
            img[n, 0, 4 * r:4 * r + 4, 4 * s:4 * s + 4] += 1.0
        return torch.tensor(img), torch.tensor(label)

    def loss_fn(x, y):
        return F.cross_entropy(model(x), y)

    return model, opt, sched, batch, loss_fn


def lstm_lm(torch, steps: int = 300, hidden: int = 32):
    nn, F = torch.nn, torch.nn.functional  # noqa: N806 - PyTorch code calls it F

    class LanguageModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(VOCAB, hidden)
            self.lstm = nn.LSTM(hidden, hidden, num_layers=2, batch_first=True)
            self.out = nn.Linear(hidden, VOCAB)

        def forward(self, idx):
            h, _ = self.lstm(self.embed(idx))
            return self.out(h)

    model = LanguageModel()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)

    def batch(i):
        data = torch.tensor(_tokens(i, 8))
        return data[:, :-1], data[:, 1:]

    def loss_fn(x, y):
        loss = F.cross_entropy(model(x).reshape(-1, VOCAB), y.reshape(-1))
        return loss

    return model, opt, None, batch, loss_fn


def vae(torch, steps: int = 300, latent: int = 4, width: int = 64):
    nn, F = torch.nn, torch.nn.functional  # noqa: N806 - PyTorch code calls it F

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(nn.Linear(16, width), nn.ReLU())
            self.mu, self.logvar = nn.Linear(width, latent), nn.Linear(width, latent)
            self.dec = nn.Sequential(nn.Linear(latent, width), nn.ReLU(), nn.Linear(width, 16))

        def forward(self, x, noise):
            h = self.enc(x)
            mu, logvar = self.mu(h), self.logvar(h)
            z = mu + noise * torch.exp(0.5 * logvar)  # the reparametrisation trick
            return self.dec(z), mu, logvar

    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)

    def batch(i):
        rng = np.random.default_rng(i)
        # binary 4x4 images: a bar in one of 8 places (rows or columns)
        which = rng.integers(0, 8, size=32)
        img = np.zeros((32, 4, 4), np.float32)
        for n, w in enumerate(which):
            if w < 4:
                img[n, w, :] = 1.0
            else:
                img[n, :, w - 4] = 1.0
        noise = rng.normal(size=(32, latent)).astype(np.float32)  # drawn here: both libraries
        return torch.tensor(img.reshape(32, 16)), torch.tensor(noise)

    def loss_fn(x, noise):
        recon, mu, logvar = model(x, noise)
        rec = F.binary_cross_entropy_with_logits(recon, x, reduction="sum")
        kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return (rec + kld) / x.shape[0]

    return model, opt, None, batch, loss_fn


def unet(torch, steps: int = 200, channels: int = 8):
    nn, F = torch.nn, torch.nn.functional  # noqa: N806 - PyTorch code calls it F

    def double_conv(c_in, c_out):
        return nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
        )  # fmt: skip

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc1, self.enc2 = double_conv(1, channels), double_conv(channels, 2 * channels)
            self.pool = nn.MaxPool2d(2)
            self.up = nn.ConvTranspose2d(2 * channels, channels, 2, stride=2)
            self.mix = nn.Conv2d(2 * channels, channels, 1)  # the bilinear path's channels
            self.dec = double_conv(2 * channels, channels)
            self.head = nn.Conv2d(channels, 2, 1)

        def forward(self, x):
            x1 = self.enc1(x)
            x2 = self.enc2(self.pool(x1))
            wide = F.interpolate(x2, scale_factor=2, mode="bilinear", align_corners=False)
            up = self.up(x2) + self.mix(wide)
            return self.head(self.dec(torch.cat([x1, up], dim=1)))

    model = UNet()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=max(steps // 3, 1), gamma=0.5)

    def batch(i):
        rng = np.random.default_rng(i)
        img = rng.normal(0, 0.3, size=(8, 1, 8, 8)).astype(np.float32)
        mask = np.zeros((8, 8, 8), np.int64)
        for n in range(8):  # segment a bright rectangle
            r, c = rng.integers(0, 5, size=2)
            h, w = rng.integers(2, 5, size=2)
            mask[n, r:r + h, c:c + w] = 1
        img[:, 0] += mask
        return torch.tensor(img), torch.tensor(mask)

    def loss_fn(x, y):
        return F.cross_entropy(model(x), y)  # per pixel: (N, 2, H, W) against (N, H, W)

    return model, opt, sched, batch, loss_fn


MODELS = {"gpt": gpt, "resnet": resnet, "lstm_lm": lstm_lm, "vae": vae, "unet": unet}


def train(lib, name: str, steps: int, jit: bool = False, state: dict | None = None,
          clip: float | None = 1.0, horizon: int | None = None) -> list[float]:  # fmt: skip
    """Train model ``name`` for ``steps`` steps on library ``lib``; the losses. ``state``
    (a state dict) starts it from given weights; ``jit`` compiles the step with
    ``varjax.jit``; ``horizon`` is the run length the schedule is made for (``steps``)."""
    model, opt, sched, batch, loss_fn = MODELS[name](lib, horizon or steps)
    if state is not None:
        model.load_state_dict(state)

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(x, y)
        loss.backward()
        if clip is not None:
            lib.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        return loss

    if jit:
        step = lib.jit(step)
    losses = []
    for i in range(steps):
        losses.append(float(step(*batch(i)).item()))
        if sched is not None:
            sched.step()
    return losses


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torch", action="store_true", help="run the same code on PyTorch")
    parser.add_argument("--jit", action="store_true", help="compile each step (varjax.jit)")
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args(argv)
    if args.torch:
        import torch as lib
    else:
        import varjax as lib

        # each model compiles its own programs at the same lines of train(): expected, not a
        # line whose structure keeps changing (what the recompile budget warns about)
        lib.config.max_recompiles = 8 * len(MODELS)
    for name in MODELS:
        lib.manual_seed(0)
        t0 = time.perf_counter()
        losses = train(lib, name, args.steps, jit=args.jit)
        first, last = np.mean(losses[:10]), np.mean(losses[-10:])
        print(f"{name:8s} loss {first:.3f} -> {last:.3f} over {args.steps} steps "
              f"({time.perf_counter() - t0:.1f} s)")  # fmt: skip
        assert last < first and math.isfinite(last), name


if __name__ == "__main__":
    main()
