# A character-level bigram model with an embedding table (after makemore), trained on a
# fixed synthetic corpus; sampling uses the trained probabilities.
import numpy as np
import torch
import torch.nn.functional as F

words = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "harper", "evelyn"]
chars = sorted(set("".join(words)))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi["."] = 0
itos = {i: s for s, i in stoi.items()}
V = len(stoi)

xs, ys = [], []
for w in words:
    cs = ["."] + list(w) + ["."]
    for ch1, ch2 in zip(cs, cs[1:]):
        xs.append(stoi[ch1])
        ys.append(stoi[ch2])
xs, ys = torch.tensor(xs), torch.tensor(ys)
print("examples", xs.nelement(), "vocabulary", V)

rng = np.random.default_rng(2147483647)
W = torch.tensor(rng.normal(size=(V, V)).astype(np.float32), requires_grad=True)
for k in range(60):
    logits = F.one_hot(xs, num_classes=V).float() @ W
    counts = logits.exp()
    probs = counts / counts.sum(1, keepdims=True)
    loss = -probs[torch.arange(xs.shape[0]), ys].log().mean() + 0.01 * (W**2).mean()
    if k % 20 == 0:
        print(k, f"{loss.item():.4f}")
    W.grad = None
    loss.backward()
    W.data += -20 * W.grad

emb = torch.nn.Embedding(V, 8)
with torch.no_grad():
    emb.weight.copy_(torch.tensor(rng.normal(size=(V, 8)).astype(np.float32)))
head = torch.nn.Linear(8, V)
with torch.no_grad():
    head.weight.copy_(torch.tensor((rng.normal(size=(V, 8)) * 0.1).astype(np.float32)))
    head.bias.zero_()
opt = torch.optim.Adam(list(emb.parameters()) + list(head.parameters()), lr=0.05)
for step in range(60):
    loss = F.cross_entropy(head(emb(xs)), ys)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    if step % 20 == 19:
        print("embedding model", step, f"{loss.item():.4f}")

g = torch.Generator().manual_seed(2147483647)
with torch.no_grad():
    p = torch.softmax(head(emb(torch.tensor([0]))), dim=1)
    ix = torch.multinomial(p, num_samples=5, replacement=True, generator=g)
print("samples are valid characters", all(0 <= i < V for i in ix[0].tolist()))
print("most likely first letter", itos[int(p.argmax())])
