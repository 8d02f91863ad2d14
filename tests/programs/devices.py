# A program written against the device API, as tutorials write it.
import torch

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
print("device type", device.type)
x = torch.arange(12, dtype=torch.float32, device=device).reshape(3, 4) / 10
w = torch.linspace(-1, 1, 4, device=device).unsqueeze(1).requires_grad_()
y = (x @ w).tanh()
y.sum().backward()
print("on", y.device.type, "grad", [f"{v:.4f}" for v in w.grad.cpu().flatten().tolist()])
model = torch.nn.Linear(4, 2).to(device)
with torch.no_grad():
    model.weight.copy_(torch.ones(2, 4, device=device) * 0.25)
    model.bias.fill_(0.5)
out = model(x.to(device)).cpu()
print("out", [f"{v:.4f}" for v in out.flatten().tolist()], out.device.type, out.is_cuda)
print("same device", model.weight.device == x.device)
