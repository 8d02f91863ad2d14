"""Random sampling methods: ``multinomial``, ``bernoulli``, ``poisson`` and the in-place fills
``uniform_``, ``normal_``, ``bernoulli_``, ``exponential_``, ``random_``.

Draws come from varjax's seeded state, or from a ``varjax.Generator`` passed as
``generator=``; an in-place fill is a ``copy_`` of fresh samples, so it follows ``copy_``'s
rules (an error on a leaf that requires grad outside ``no_grad``, as PyTorch's).
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

import jax.numpy as jnp
import numpy as np

from .. import _tracing
from .. import random as _rng
from .._dtypes import is_floating
from .._ops import P
from .._record import record
from ._base import Methods, function

if TYPE_CHECKING:
    from .._variable import Variable


class SamplingMethods(Methods):
    __slots__ = ()

    def _draw(self, op, *inputs: Any, generator: Any = None, params: tuple = ()) -> Variable:
        key, counter = _rng.next_draw(generator)
        nodes = tuple(self._lift(x)._node for x in inputs)
        return self._new(record(op, (*nodes, key, counter), params))

    def _sampled(self, op, dtype: Any = None, generator: Any = None) -> Variable:
        key, counter = _rng.next_draw(generator)
        params = (("dtype", np.dtype(dtype or self.dtype)), ("shape", tuple(self.shape)))
        return self._new(record(op, (key, counter), params))

    @function
    def multinomial(self, num_samples: int, replacement: bool = False, *,
                    generator: Any = None) -> Variable:  # fmt: skip
        """Indices drawn from the categories of the last dim, with probabilities proportional
        to ``input`` (1-D: ``(num_samples,)``; 2-D: one row of draws per row).

        Example:
            >>> import varjax as vj
            >>> _ = vj.manual_seed(0)
            >>> vj.multinomial(vj.tensor([0.0, 0.0, 1.0]), 3, replacement=True)
            tensor([2, 2, 2])
            >>> vj.multinomial(vj.tensor([0.0, 1.0, 3.0]), 2).sort().values
            tensor([1, 2])
        """
        if self.ndim not in (1, 2):
            raise RuntimeError("prob_dist must be 1 or 2 dim")
        n = self.shape[-1]
        if not replacement and num_samples > n:
            raise RuntimeError(
                "cannot sample n_sample > prob_dist.size(-1) samples without replacement"
            )
        if num_samples <= 0:
            raise RuntimeError("cannot sample n_sample <= 0 samples")
        value = self._value()  # checked where known (not inside varjax.jit), as PyTorch does
        if not _tracing.is_tracer(value) and builtins.bool(
            jnp.any(value < 0) | ~jnp.all(jnp.isfinite(value))
        ):
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        params = (("n", builtins.int(num_samples)), ("replacement", builtins.bool(replacement)))
        return self._draw(P.multinomial, self.detach(), generator=generator, params=params)

    @function
    def bernoulli(self, p: Any = None, *, generator: Any = None) -> Variable:
        """1 with probability ``input`` (or ``p``), else 0, in ``input``'s dtype.

        Example:
            >>> import varjax as vj
            >>> _ = vj.manual_seed(0)
            >>> vj.bernoulli(vj.tensor([0.0, 1.0, 1.0]))
            tensor([0., 1., 1.])
            >>> s = vj.tensor([0.5, 0.5]).bernoulli()
            >>> s.shape, s.dtype
            (varjax.Size([2]), varjax.float32)
            >>> bool(((s == 0) | (s == 1)).all())
            True
        """
        probs = self.detach() if p is None else (self.detach() * 0 + p)
        return self._draw(P.bernoulli, probs, generator=generator)

    @function
    def poisson(self, generator: Any = None) -> Variable:
        """Poisson samples with rates ``input``.

        Example:
            >>> import varjax as vj
            >>> _ = vj.manual_seed(0)
            >>> s = vj.poisson(vj.tensor([0.0, 2.0, 5.0]))
            >>> s.shape, s.dtype
            (varjax.Size([3]), varjax.float32)
            >>> s[0], bool((s >= 0).all())
            (tensor(0.), True)
        """
        return self._draw(P.poisson, self.detach(), generator=generator)

    # -- in-place fills

    def uniform_(self, from_: float = 0.0, to: float = 1.0, *, generator: Any = None) -> Variable:
        """Fill with uniform samples in ``[from_, to)``.

        Example:
            >>> import varjax as vj
            >>> _ = vj.manual_seed(0)
            >>> x = vj.empty(1000).uniform_(-1, 1)
            >>> bool(x.min() >= -1), bool(x.max() < 1)
            (True, True)
        """
        return self.copy_(self._sampled(P.uniform, generator=generator) * (to - from_) + from_)

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Variable:
        """Fill with normal samples.

        Example:
            >>> import varjax as vj
            >>> vj.empty(3).normal_(mean=5.0, std=0.0)
            tensor([5., 5., 5.])
        """
        return self.copy_(self._sampled(P.normal, generator=generator) * std + mean)

    def bernoulli_(self, p: float = 0.5, *, generator: Any = None) -> Variable:
        """Fill with 1 (probability ``p``) or 0.

        Example:
            >>> import varjax as vj
            >>> vj.empty(4).bernoulli_(1.0)
            tensor([1., 1., 1., 1.])
        """
        return self.copy_(self.detach().bernoulli(p, generator=generator))

    def exponential_(self, lambd: float = 1.0, *, generator: Any = None) -> Variable:
        """Fill with exponential samples of rate ``lambd``.

        Example:
            >>> import varjax as vj
            >>> _ = vj.manual_seed(0)
            >>> bool((vj.empty(1000).exponential_(2.0) > 0).all())
            True
        """
        return self.copy_(self._sampled(P.exponential, generator=generator) / lambd)

    def random_(self, from_: int = 0, to: int | None = None, *, generator: Any = None) -> Variable:
        """Fill with integers drawn uniformly from ``[from_, to)``.

        Example:
            >>> import varjax as vj
            >>> _ = vj.manual_seed(0)
            >>> sorted(set(vj.zeros(1000, dtype=vj.int64).random_(0, 3).tolist()))
            [0, 1, 2]
            >>> sorted(set(vj.zeros(1000).random_(5).tolist()))  # one bound: [0, to)
            [0.0, 1.0, 2.0, 3.0, 4.0]
        """
        if to is None:
            from_, to = 0, from_ if from_ else (2**24 if is_floating(self.dtype) else 2**31 - 1)
        key, counter = _rng.next_draw(generator)
        params = (("dtype", np.dtype(self.dtype)), ("high", builtins.int(to)),
                  ("low", builtins.int(from_)), ("shape", tuple(self.shape)))  # fmt: skip
        if is_floating(self.dtype):
            params = (("dtype", np.dtype(np.int32)),) + params[1:]
        return self.copy_(self._new(record(P.randint, (key, counter), params)))
