# A classifier trained with a DataLoader, as the PyTorch quickstart writes it.
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(0)
features = rng.normal(size=(96, 8)).astype(np.float32)
labels = (features[:, :3].sum(1) > 0).astype(np.int64) + (features[:, 3] > 1).astype(np.int64)
w1 = (rng.normal(size=(16, 8)) * 0.3).astype(np.float32)
w2 = (rng.normal(size=(3, 16)) * 0.3).astype(np.float32)

device = "cuda" if torch.cuda.is_available() else "cpu"
print(f"Using {device} device")

dataset = TensorDataset(torch.from_numpy(features), torch.from_numpy(labels))
train = DataLoader(dataset, batch_size=16)


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.stack = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))

    def forward(self, x):
        return self.stack(self.flatten(x))


model = NeuralNetwork().to(device)
with torch.no_grad():
    model.stack[0].weight.copy_(torch.tensor(w1))
    model.stack[0].bias.zero_()
    model.stack[2].weight.copy_(torch.tensor(w2))
    model.stack[2].bias.zero_()
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

for epoch in range(4):
    model.train()
    total, correct = 0.0, 0
    for X, y in train:
        X, y = X.to(device), y.to(device)
        pred = model(X)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        total += loss.item() * len(X)
        correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    print(f"epoch {epoch}: loss {total / len(train.dataset):>7f} accuracy {correct / 96:.4f}")

model.eval()
with torch.no_grad():
    logits = model(torch.from_numpy(features[:4]))
    print("probabilities", [f"{p:.4f}" for p in torch.softmax(logits, dim=1)[0].tolist()])
