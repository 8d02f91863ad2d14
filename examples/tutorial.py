"""The autograd tutorial's program on varjax: only the imports differ from PyTorch's.

python examples/tutorial.py
"""

import varjax as torch
from varjax.autograd import Variable

x = Variable(torch.ones(2, 2), requires_grad=True)
print(x)

y = x + 2
print(y)
print(y.grad_fn)

z = y * y * 3
out = z.mean()
print(z, out)

out.backward()
print(x.grad)  # a matrix of 4.5

x = torch.randn(3)
x = Variable(x, requires_grad=True)

y = x * 2
while y.data.norm() < 1000:
    y = y * 2
print(y)

gradients = torch.FloatTensor([0.1, 1.0, 0.0001])
y.backward(gradients)
print(x.grad)  # 2^k * [0.1, 1.0, 0.0001] for the k doublings the loop did

print(torch.compile_stats())
