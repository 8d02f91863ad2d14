"""Layers and losses as Modules over ``nn.functional``, initialised as PyTorch documents.

Initial values are drawn on the host from varjax's seeded state (``manual_seed``; see ``init``):
``Linear`` uses PyTorch's default Kaiming-uniform weights (bound ``1/sqrt(fan_in)``) and
uniform biases with the same bound (the convolutions, in ``_conv``, too); ``Embedding`` is N(0, 1);
``LayerNorm`` and ``BatchNorm`` start at weight 1, bias 0.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any

from .._creation import ones, tensor, zeros
from .._grad_mode import no_grad
from .._variable import Variable
from . import functional as F
from . import init
from ._module import Module, Parameter

__all__ = [
    "BatchNorm1d", "BatchNorm2d", "BCEWithLogitsLoss", "CrossEntropyLoss", "Dropout",
    "Embedding", "Flatten", "GELU", "Identity", "L1Loss", "LayerNorm", "Linear", "MSELoss",
    "ModuleDict", "ModuleList", "NLLLoss", "ReLU", "Sequential", "Sigmoid", "SmoothL1Loss", "Tanh",
]  # fmt: skip


def _uniform(shape: tuple, bound: float) -> Parameter:
    return Parameter(init._draw("uniform", shape, None, None, -bound, bound))


class Identity(Module):
    """A placeholder that returns its input unchanged (PyTorch's ``nn.Identity()``).

    Example:
        >>> import varjax as vj
        >>> vj.nn.Identity()(vj.tensor([1.0, 2.0]))
        tensor([1., 2.])
    """

    def forward(self, x: Variable) -> Variable:
        return x


class Linear(Module):
    """``y = x @ weight.T + bias`` with weight (out_features, in_features).

    Example:
        >>> import varjax as vj
        >>> lin = vj.nn.Linear(3, 2)
        >>> lin(vj.zeros(4, 3)).shape
        varjax.Size([4, 2])
        >>> lin
        Linear(in_features=3, out_features=2, bias=True)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = 1 / math.sqrt(in_features) if in_features > 0 else 0.0  # < 0: the draw raises
        self.weight = _uniform((out_features, in_features), bound)
        if bias:
            self.bias = _uniform((out_features,), bound)
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Variable) -> Variable:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")  # fmt: skip


class Flatten(Module):
    """Flatten dims ``start_dim`` to ``end_dim`` into one (PyTorch's
    ``nn.Flatten(start_dim=1, end_dim=-1)``).

    Example:
        >>> import varjax as vj
        >>> vj.nn.Flatten()(vj.zeros(2, 3, 4)).shape
        varjax.Size([2, 12])
        >>> vj.nn.Flatten(0, 1)
        Flatten(start_dim=0, end_dim=1)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Variable) -> Variable:
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class ReLU(Module):
    """``max(x, 0)`` (PyTorch's ``nn.ReLU``); ``inplace`` writes the result into the input.

    Example:
        >>> import varjax as vj
        >>> vj.nn.ReLU()(vj.tensor([-1.0, 0.0, 2.0]))
        tensor([0., 0., 2.])
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, x: Variable) -> Variable:
        return F.relu(x, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class GELU(Module):
    """``x * Phi(x)``, Phi the standard normal CDF (PyTorch's ``nn.GELU(approximate='none')``;
    ``approximate='tanh'`` uses the tanh approximation).

    Example:
        >>> import varjax as vj
        >>> vj.nn.GELU()(vj.tensor([-1.0, 0.0, 1.0]))
        tensor([-0.1587,  0.0000,  0.8413])
        >>> vj.nn.GELU(approximate="tanh")
        GELU(approximate='tanh')
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, x: Variable) -> Variable:
        return F.gelu(x, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate='{self.approximate}'"


class Tanh(Module):
    """Elementwise ``tanh(x)`` (PyTorch's ``nn.Tanh()``).

    Example:
        >>> import varjax as vj
        >>> vj.nn.Tanh()(vj.tensor([0.0, 1.0]))
        tensor([0.0000, 0.7616])
    """

    def forward(self, x: Variable) -> Variable:
        return x.tanh()


class Sigmoid(Module):
    """Elementwise ``1 / (1 + exp(-x))`` (PyTorch's ``nn.Sigmoid()``).

    Example:
        >>> import varjax as vj
        >>> vj.nn.Sigmoid()(vj.tensor([0.0, 2.0]))
        tensor([0.5000, 0.8808])
    """

    def forward(self, x: Variable) -> Variable:
        return x.sigmoid()


class Dropout(Module):
    """Zero elements with probability ``p`` in training mode (seeded keys); identity in eval.

    Example:
        >>> import varjax as vj
        >>> drop = vj.nn.Dropout(0.5)
        >>> drop
        Dropout(p=0.5, inplace=False)
        >>> _ = vj.manual_seed(0)
        >>> y = drop(vj.ones(8))  # training: each entry is 0 or 1 / (1 - p)
        >>> bool(((y == 0) | (y == 2)).all())
        True
        >>> drop.eval()(vj.ones(3))
        tensor([1., 1., 1.])
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, x: Variable) -> Variable:
        return F.dropout(x, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class LayerNorm(Module):
    """Normalize over the last ``len(normalized_shape)`` dims, then scale by ``weight`` and add
    ``bias`` (PyTorch's ``nn.LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True,
    bias=True)``).

    Example:
        >>> import varjax as vj
        >>> ln = vj.nn.LayerNorm(3)
        >>> ln(vj.zeros(2, 3)).shape
        varjax.Size([2, 3])
        >>> ln
        LayerNorm((3,), eps=1e-05, elementwise_affine=True, bias=True)
    """

    def __init__(self, normalized_shape: Any, eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True) -> None:  # fmt: skip
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(
            normalized_shape)  # fmt: skip
        self.normalized_shape, self.eps = shape, eps
        self.elementwise_affine = elementwise_affine
        self.weight = Parameter(ones(*shape)) if elementwise_affine else None
        self.bias = Parameter(zeros(*shape)) if elementwise_affine and bias else None
        for name in ("weight", "bias"):
            if getattr(self, name) is None:
                self.register_parameter(name, None)

    def forward(self, x: Variable) -> Variable:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine="
                f"{self.elementwise_affine}, bias={self.bias is not None}")  # fmt: skip


class _BatchNorm(Module):
    """Shared body of ``BatchNorm1d`` / ``BatchNorm2d``; subclasses check the input's rank.

    The running stats are buffers updated in place (``mul_``/``add_`` under ``no_grad``), so
    the same buffer Variables are rebound every step: code that lifts module buffers as state
    (``varjax.jit``) sees the update and can write it back.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(ones(num_features)) if affine else None
        self.bias = Parameter(zeros(num_features)) if affine and bias else None
        for name in ("weight", "bias"):
            if getattr(self, name) is None:
                self.register_parameter(name, None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features))
            self.register_buffer("running_var", ones(num_features))
            self.register_buffer("num_batches_tracked", tensor(0))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1)
                self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            with no_grad():
                self.weight.fill_(1)
                if self.bias is not None:
                    self.bias.zero_()

    def _check_input_dim(self, x: Variable) -> None:
        raise NotImplementedError

    def forward(self, input: Variable) -> Variable:
        self._check_input_dim(input)
        counting = self.training and self.track_running_stats
        counting = counting and self.num_batches_tracked is not None
        factor = 0.0 if self.momentum is None else self.momentum
        if counting and self.momentum is None:
            # cumulative average over this and the previous batches; the count stays on the
            # device (no host read), and is only incremented once batch_norm has accepted input
            factor = 1.0 / (self.num_batches_tracked + 1)
        use_batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        keep_stats = not self.training or self.track_running_stats
        out = F.batch_norm(
            input,
            self.running_mean if keep_stats else None,
            self.running_var if keep_stats else None,
            self.weight,
            self.bias,
            use_batch_stats,
            factor,
            self.eps,
        )
        if counting:
            with no_grad():
                self.num_batches_tracked.add_(1)
        return out

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) input over all dims but C.

    Example:
        >>> import varjax as vj
        >>> bn = vj.nn.BatchNorm1d(2)
        >>> bn(vj.tensor([[1.0, 0.0], [3.0, 4.0]]))
        tensor([[-1.0000, -1.0000],
                [ 1.0000,  1.0000]], grad_fn=<AddBackward0>)
        >>> bn.running_mean, bn.num_batches_tracked
        (tensor([0.2000, 0.2000]), tensor(1))
        >>> bn
        BatchNorm1d(2, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    """

    def _check_input_dim(self, x: Variable) -> None:
        if x.ndim not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {x.ndim}D input)")


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) input over N, H and W for each channel C.

    Example:
        >>> import varjax as vj
        >>> bn = vj.nn.BatchNorm2d(3).eval()  # eval: normalize with the running stats
        >>> bn(vj.ones(2, 3, 4, 4)).shape
        varjax.Size([2, 3, 4, 4])
        >>> sorted(bn.state_dict())
        ['bias', 'num_batches_tracked', 'running_mean', 'running_var', 'weight']
    """

    def _check_input_dim(self, x: Variable) -> None:
        if x.ndim != 4:
            raise ValueError(f"expected 4D input (got {x.ndim}D input)")


class Embedding(Module):
    """A lookup table of ``num_embeddings`` rows of size ``embedding_dim`` (PyTorch's
    ``nn.Embedding``, N(0, 1) init); see ``F.embedding`` for ``max_norm``,
    ``scale_grad_by_freq`` and ``sparse``.

    Example:
        >>> import varjax as vj
        >>> emb = vj.nn.Embedding(10, 3, padding_idx=0)
        >>> emb(vj.tensor([[0, 2], [4, 0]])).shape, emb
        (varjax.Size([2, 2, 3]), Embedding(10, 3, padding_idx=0))
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0,
                 scale_grad_by_freq: bool = False, sparse: bool = False,
                 _weight: Variable | None = None, _freeze: bool = False) -> None:  # fmt: skip
        super().__init__()
        if padding_idx is not None:
            padding_idx = F._padding_index(padding_idx, num_embeddings)
        self.num_embeddings, self.embedding_dim, self.padding_idx = (
            num_embeddings, embedding_dim, padding_idx)  # fmt: skip
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = Parameter(init._draw("normal", (num_embeddings, embedding_dim)),
                                    requires_grad=not _freeze)  # fmt: skip
            if padding_idx is not None:
                with no_grad():
                    self.weight[padding_idx] = 0.0
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise AssertionError("Shape of weight does not match num_embeddings and "
                                     "embedding_dim")  # fmt: skip
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    @classmethod
    def from_pretrained(cls, embeddings: Variable, freeze: bool = True,
                        padding_idx: int | None = None, max_norm: float | None = None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> Embedding:  # fmt: skip
        """An Embedding holding ``embeddings`` (2-D), frozen unless ``freeze=False``."""
        if embeddings.ndim != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        rows, cols = embeddings.shape
        return cls(rows, cols, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=embeddings, _freeze=freeze)  # fmt: skip

    def forward(self, idx: Variable) -> Variable:
        return F.embedding(idx, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)  # fmt: skip

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += ", scale_grad_by_freq=True"
        if self.sparse:
            s += ", sparse=True"
        return s


# -- containers ---------------------------------------------------------------------------------


class Sequential(Module):
    """Modules applied in order: ``Sequential(Linear(4, 8), ReLU(), Linear(8, 2))``.

    Example:
        >>> import varjax as vj
        >>> net = vj.nn.Sequential(vj.nn.Linear(4, 8), vj.nn.ReLU(), vj.nn.Linear(8, 2))
        >>> net(vj.zeros(3, 4)).shape
        varjax.Size([3, 2])
        >>> net
        Sequential(
          (0): Linear(in_features=4, out_features=8, bias=True)
          (1): ReLU()
          (2): Linear(in_features=8, out_features=2, bias=True)
        )
    """

    def __init__(self, *modules: Any) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    def forward(self, x: Any) -> Any:
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, i: int | slice) -> Module:
        mods = list(self._modules.values())
        return Sequential(*mods[i]) if isinstance(i, slice) else mods[i]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self)), module)
        return self


class ModuleList(Module):
    """Holds submodules in a list, registered as ``'0'``, ``'1'``, ... (PyTorch's
    ``nn.ModuleList(modules=None)``).

    Example:
        >>> import varjax as vj
        >>> layers = vj.nn.ModuleList([vj.nn.ReLU(), vj.nn.Tanh()])
        >>> layers.append(vj.nn.Sigmoid())
        ModuleList(
          (0): ReLU()
          (1): Tanh()
          (2): Sigmoid()
        )
        >>> len(layers), layers[1]
        (3, Tanh())
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        for m in modules or ():
            self.append(m)

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for m in modules:
            self.append(m)
        return self

    def __getitem__(self, i: int) -> Module:
        return list(self._modules.values())[i]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


class ModuleDict(Module):
    """Holds submodules in an ordered dict under string keys (PyTorch's
    ``nn.ModuleDict(modules=None)``).

    Example:
        >>> import varjax as vj
        >>> heads = vj.nn.ModuleDict({"act": vj.nn.ReLU()})
        >>> heads["out"] = vj.nn.Linear(2, 1)
        >>> list(heads.keys())
        ['act', 'out']
        >>> heads
        ModuleDict(
          (act): ReLU()
          (out): Linear(in_features=2, out_features=1, bias=True)
        )
    """

    def __init__(self, modules: dict[str, Module] | None = None) -> None:
        super().__init__()
        for name, m in (modules or {}).items():
            self.add_module(name, m)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()


# -- losses -------------------------------------------------------------------------------------


class _Loss(Module):
    def __init__(self, size_average: Any = None, reduce: Any = None,
                 reduction: str = "mean") -> None:  # fmt: skip
        super().__init__()
        self.reduction = F._legacy(size_average, reduce, reduction)


class MSELoss(_Loss):
    """Mean squared error ``(input - target) ** 2``, reduced by ``reduction`` (PyTorch's
    ``nn.MSELoss(size_average=None, reduce=None, reduction='mean')``).

    Example:
        >>> import varjax as vj
        >>> vj.nn.MSELoss()(vj.tensor([1.0, 2.0]), vj.tensor([1.0, 4.0]))
        tensor(2.)
        >>> vj.nn.MSELoss(reduction="sum")(vj.tensor([1.0, 2.0]), vj.tensor([1.0, 4.0]))
        tensor(4.)
    """

    def forward(self, input: Variable, target: Variable) -> Variable:
        return F.mse_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """Squared error ``0.5 * d ** 2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 * beta``
    (PyTorch's ``nn.SmoothL1Loss(size_average=None, reduce=None, reduction='mean', beta=1.0)``).

    Example:
        >>> import varjax as vj
        >>> vj.nn.SmoothL1Loss()(vj.tensor([1.0, 2.0]), vj.tensor([1.0, 4.0]))
        tensor(0.7500)
    """

    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
                 beta: float = 1.0) -> None:  # fmt: skip
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input: Variable, target: Variable) -> Variable:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class L1Loss(_Loss):
    """Mean absolute error ``|input - target|``, reduced by ``reduction`` (PyTorch's
    ``nn.L1Loss(size_average=None, reduce=None, reduction='mean')``).

    Example:
        >>> import varjax as vj
        >>> vj.nn.L1Loss()(vj.tensor([1.0, 2.0]), vj.tensor([1.0, 4.0]))
        tensor(1.)
    """

    def forward(self, input: Variable, target: Variable) -> Variable:
        return F.l1_loss(input, target, reduction=self.reduction)


class CrossEntropyLoss(_Loss):
    """Cross entropy between ``input`` logits and class-index (or probability) targets
    (PyTorch's ``nn.CrossEntropyLoss(weight=None, size_average=None, ignore_index=-100,
    reduce=None, reduction='mean', label_smoothing=0.0)``).

    Example:
        >>> import varjax as vj
        >>> logits = vj.tensor([[0.0, 0.0], [0.0, 0.0]])
        >>> vj.nn.CrossEntropyLoss()(logits, vj.tensor([0, 1]))
        tensor(0.6931)
    """

    def __init__(self, weight: Variable | None = None, size_average: Any = None,
                 ignore_index: int = -100, reduce: Any = None, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:  # fmt: skip
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input: Variable, target: Variable) -> Variable:
        return F.cross_entropy(input, target, self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction,
                               label_smoothing=self.label_smoothing)  # fmt: skip


class NLLLoss(_Loss):
    """Negative log likelihood ``-input[n, target[n]]`` of log-probabilities (PyTorch's
    ``nn.NLLLoss(weight=None, size_average=None, ignore_index=-100, reduce=None,
    reduction='mean')``).

    Example:
        >>> import varjax as vj
        >>> log_probs = vj.tensor([[-1.0, -2.0], [-3.0, -0.5]])
        >>> vj.nn.NLLLoss()(log_probs, vj.tensor([0, 1]))
        tensor(0.7500)
    """

    def __init__(self, weight: Variable | None = None, size_average: Any = None,
                 ignore_index: int = -100, reduce: Any = None,
                 reduction: str = "mean") -> None:  # fmt: skip
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, input: Variable, target: Variable) -> Variable:
        return F.nll_loss(input, target, self.weight, ignore_index=self.ignore_index,
                          reduction=self.reduction)  # fmt: skip


class BCEWithLogitsLoss(_Loss):
    """Binary cross entropy of ``sigmoid(input)`` against ``target``, computed stably (PyTorch's
    ``nn.BCEWithLogitsLoss(weight=None, size_average=None, reduce=None, reduction='mean',
    pos_weight=None)``).

    Example:
        >>> import varjax as vj
        >>> vj.nn.BCEWithLogitsLoss()(vj.tensor([0.0, 0.0]), vj.tensor([0.0, 1.0]))
        tensor(0.6931)
    """

    def __init__(self, weight: Variable | None = None, size_average: Any = None,
                 reduce: Any = None, reduction: str = "mean",
                 pos_weight: Variable | None = None) -> None:  # fmt: skip
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Variable, target: Variable) -> Variable:
        return F.binary_cross_entropy_with_logits(input, target, self.weight,
                                                  reduction=self.reduction,
                                                  pos_weight=self.pos_weight)  # fmt: skip
