"""Train an MLP and a small CNN on scikit-learn's 8x8 digits with varjax, written as in PyTorch.

    python examples/train_digits.py                          # both models, compiled steps
    python examples/train_digits.py --model cnn --epochs 5 --no-jit

The training step (forward, ``loss.backward()``, ``optimizer.step()``) is one function. By
default it runs under ``varjax.jit``: one compiled XLA program per call, compiled on the first
calls and reused after. ``--no-jit`` runs the identical function uncompiled, op by op as
varjax records them. Every epoch prints its mean training loss and test accuracy; the script
exits with status 1 if a model's final test accuracy is below 95%. The digits ship with
scikit-learn, so nothing is downloaded.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from tqdm import tqdm

import varjax as vj
from varjax import nn
from varjax.nn import functional as F

BATCH_SIZE = 64
TARGET = 0.95


def load_data(seed: int = 0) -> tuple[vj.Variable, vj.Variable, vj.Variable, vj.Variable]:
    """Standardized 1x8x8 images and labels: a fixed, stratified 75/25 train/test split."""
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, random_state=seed, stratify=y
    )
    scaler = StandardScaler().fit(x_train)  # statistics of the training pixels only

    def images(a: np.ndarray) -> vj.Variable:
        return vj.tensor(scaler.transform(a).astype(np.float32).reshape(-1, 1, 8, 8))

    return images(x_train), vj.tensor(y_train), images(x_test), vj.tensor(y_test)


def build_mlp() -> nn.Module:
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(64, 128),
        nn.BatchNorm1d(128),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(128, 10),
    )


class CNN(nn.Module):
    """conv 3x3 (32 channels) -> ReLU -> 2x2 max pool -> linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 32, kernel_size=3, padding=1)
        self.fc = nn.Linear(32 * 4 * 4, 10)

    def forward(self, x: vj.Variable) -> vj.Variable:
        x = F.max_pool2d(F.relu(self.conv(x)), 2)
        return self.fc(x.flatten(1))


def build(name: str) -> tuple[nn.Module, vj.optim.Optimizer]:
    if name == "mlp":
        model = build_mlp()
        return model, vj.optim.Adam(model.parameters(), lr=3e-3)
    model = CNN()
    return model, vj.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)


def accuracy(model: nn.Module, x: vj.Variable, y: vj.Variable) -> float:
    model.eval()  # BatchNorm uses its running stats, Dropout is off
    with vj.no_grad():
        correct = model(x).argmax(dim=1) == y
    model.train()
    return correct.float().mean().item()


def fit(
    model: nn.Module,
    optimizer: vj.optim.Optimizer,
    data: tuple,
    epochs: int,
    jit: bool = True,
    desc: str = "",
) -> dict[str, list[float]]:
    x_train, y_train, x_test, y_test = data
    criterion = nn.CrossEntropyLoss()

    def train_step(xb, yb):
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
        return loss

    step = vj.jit(train_step) if jit else train_step
    rng = np.random.default_rng(0)
    n = x_train.shape[0]
    steps = n // BATCH_SIZE  # full batches only: one shape every step, one compiled step
    history: dict[str, list[float]] = {"loss": [], "test_acc": [], "compiles": []}
    model.train()
    bar = tqdm(range(1, epochs + 1), desc=desc)
    for epoch in bar:
        order = rng.permutation(n)
        total = 0.0
        for i in range(steps):
            idx = order[i * BATCH_SIZE : (i + 1) * BATCH_SIZE]
            total += step(x_train[idx], y_train[idx]).item()
        loss = total / steps
        acc = accuracy(model, x_test, y_test)
        history["loss"].append(loss)
        history["test_acc"].append(acc)
        history["compiles"].append(vj.compile_stats().compiles)
        bar.set_postfix(loss=f"{loss:.4f}", test_acc=f"{acc:.4f}")
        tqdm.write(f"{desc} epoch {epoch:2d}  loss {loss:.4f}  test accuracy {acc:.4f}")
    return history


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--model", choices=["mlp", "cnn", "both"], default="both")
    parser.add_argument(
        "--no-jit", action="store_true", help="run the same step uncompiled (no varjax.jit)"
    )
    args = parser.parse_args(argv)

    vj.manual_seed(0)
    data = load_data()
    names = ["mlp", "cnn"] if args.model == "both" else [args.model]
    ok = True
    for name in names:
        model, optimizer = build(name)
        start = time.perf_counter()
        history = fit(model, optimizer, data, args.epochs, jit=not args.no_jit, desc=name)
        seconds = time.perf_counter() - start
        acc = history["test_acc"][-1]
        later = history["compiles"][-1] - history["compiles"][0]
        print(
            f"{name}: final test accuracy {acc:.4f} after {args.epochs} epochs "
            f"({seconds:.1f} s, {later} compiles after the first epoch)"
        )
        if acc < TARGET:
            print(f"{name}: test accuracy {acc:.4f} is below {TARGET}", file=sys.stderr)
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
