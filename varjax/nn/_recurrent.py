"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their cells, with PyTorch's arguments,
parameter names (``weight_ih_l{k}[_reverse]``, ...), gate order, shapes and default init.

A layer's time loop is one recorded op per layer and direction (``rnn_layer``, a library op:
a ``lax.scan`` over time), so a long sequence records, compiles and differentiates as one
node rather than hundreds of small ones. The cells are composites of table ops.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from .. import _functions
from .._ops import Op, register
from .._record import record_multi
from .._variable import Variable, _node_of, _wrap
from .._variable import as_variable as _var
from . import functional as F
from . import init
from ._module import Module, Parameter

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# -- the time loop: one op per layer and direction ---------------------------------------------


def _rnn_step(mode: str, w_hh, b_hh, w_hr):
    """The scan body of ``mode``: (carry, projected input) -> (carry, output)."""

    def hidden(h):
        gh = h @ w_hh.T
        return gh if b_hh is None else gh + b_hh

    def simple(h, xw):
        pre = xw + hidden(h)
        h = jnp.tanh(pre) if mode == "RNN_TANH" else jnp.maximum(pre, 0)
        return h, h

    def lstm(carry, xw):
        h, c = carry
        i, f, g, o = jnp.split(xw + hidden(h), 4, axis=-1)
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        if w_hr is not None:
            h = h @ w_hr.T
        return (h, c), h

    def gru(h, xw):
        xr, xz, xn = jnp.split(xw, 3, axis=-1)
        hr, hz, hn = jnp.split(hidden(h), 3, axis=-1)
        r, z = jax.nn.sigmoid(xr + hr), jax.nn.sigmoid(xz + hz)
        n = jnp.tanh(xn + r * hn)
        h = (1 - z) * n + z * h
        return h, h

    return {"LSTM": lstm, "GRU": gru}.get(mode, simple)


def _rnn_layer(x, *arrays, mode, reverse, bias, proj):
    """One layer and direction over a time-major (L, N, H_in) input: ``arrays`` are the
    initial state (h0, and c0 for LSTM), then w_ih, w_hh, [b_ih, b_hh], [w_hr]. Returns the
    (L, N, H_out) outputs and the final state."""
    n_state = 2 if mode == "LSTM" else 1
    state, weights = arrays[:n_state], list(arrays[n_state:])
    w_ih, w_hh = weights[0], weights[1]
    b_ih, b_hh = (weights[2], weights[3]) if bias else (None, None)
    w_hr = weights[-1] if proj else None
    xw = x @ w_ih.T  # the input projection of every step at once, outside the loop
    if b_ih is not None:
        xw = xw + b_ih
    state = tuple(s.astype(xw.dtype) for s in state)  # a scan's carry keeps its dtype
    carry = state if mode == "LSTM" else state[0]
    carry, ys = lax.scan(_rnn_step(mode, w_hh, b_hh, w_hr), carry, xw, reverse=reverse)
    return (ys, *carry) if mode == "LSTM" else (ys, carry)


RNN_LAYER = register(
    Op(
        "rnn_layer",
        _rnn_layer,
        "CudnnRnnBackward0",
        "one layer and direction of nn.RNN/LSTM/GRU as a single lax.scan over time",
        "nn.RNN, nn.LSTM, nn.GRU",
    )
)


def _layer(x: Variable, state: tuple, weights: list, **params: Any) -> tuple:
    inputs = tuple(_node_of(a) for a in (x, *state, *weights))
    nodes = record_multi(RNN_LAYER, inputs, tuple(sorted(params.items())))
    return tuple(_wrap(n) for n in nodes)


# -- the layers ---------------------------------------------------------------------------------


def _uniform(shape: tuple, bound: float) -> Parameter:
    return Parameter(init._draw("uniform", shape, None, None, -bound, bound))


class _RNNBase(Module):
    """Shared body of ``RNN``, ``LSTM`` and ``GRU``: parameters, checks, and the stack of
    layers and directions."""

    _NAME = "RNN"

    def __init__(
        self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
        bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
        bidirectional: bool = False, proj_size: int = 0,
    ) -> None:  # fmt: skip
        super().__init__()
        _check_args(hidden_size, num_layers, dropout, proj_size)
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        gates = _GATES[mode] * hidden_size
        real = proj_size or hidden_size
        bound = 1 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
        for layer in range(num_layers):
            for suffix in self._suffixes():
                width = input_size if layer == 0 else real * self.num_directions
                names = [f"weight_ih_l{layer}{suffix}", f"weight_hh_l{layer}{suffix}"]
                shapes = [(gates, width), (gates, real)]
                if bias:
                    names += [f"bias_ih_l{layer}{suffix}", f"bias_hh_l{layer}{suffix}"]
                    shapes += [(gates,), (gates,)]
                if proj_size:
                    names.append(f"weight_hr_l{layer}{suffix}")
                    shapes.append((proj_size, hidden_size))
                for name, shape in zip(names, shapes):
                    setattr(self, name, _uniform(shape, bound))

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def _suffixes(self) -> tuple[str, ...]:
        return ("", "_reverse") if self.bidirectional else ("",)

    def _weights(self, layer: int, suffix: str) -> list:
        names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if self.bias else [])
        names += ["weight_hr"] if self.proj_size else []
        return [getattr(self, f"{n}_l{layer}{suffix}") for n in names]

    def _check_input(self, x: Variable) -> None:
        if x.ndim not in (2, 3):
            tensor = " tensor" if self._NAME == "RNN" else ""  # PyTorch's wording differs
            raise ValueError(
                f"{self._NAME}: Expected input to be 2D or 3D, got {x.ndim}D{tensor} instead"
            )
        w = self.weight_ih_l0
        if x.dtype != w.dtype:
            raise RuntimeError(
                f"input must have the type {w.dtype}, got type {x.dtype}; convert the input "
                f"with .to({w.dtype}) or the module with .to(dtype)"
            )
        if x.shape[-1] != self.input_size:
            raise RuntimeError(
                f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got "
                f"{x.shape[-1]}; build the layer with input_size={x.shape[-1]} or fix the "
                f"input's last dim"
            )

    def _state_shape(self, batch: int, hidden: int) -> tuple[int, int, int]:
        return (self.num_layers * self.num_directions, batch, hidden)

    def _run(self, x: Variable, state: list[Variable]) -> tuple[Variable, list[Variable]]:
        """All layers over a time-major (L, N, H_in) ``x``; ``state`` holds (layers * dirs,
        N, H) tensors. Returns the last layer's outputs and the final states, stacked."""
        finals: list[list[Variable]] = [[] for _ in state]
        for layer in range(self.num_layers):
            if layer and self.dropout and self.training:
                x = F.dropout(x, self.dropout, True)
            outs = []
            for d, suffix in enumerate(self._suffixes()):
                k = layer * self.num_directions + d
                y, *last = _layer(
                    x, tuple(s[k] for s in state), self._weights(layer, suffix), mode=self.mode,
                    reverse=bool(d), bias=self.bias, proj=bool(self.proj_size),
                )  # fmt: skip
                outs.append(y)
                for f, v in zip(finals, last):
                    f.append(v)
            x = outs[0] if len(outs) == 1 else _functions.cat(outs, -1)
        return x, [_functions.stack(f, 0) for f in finals]

    def _forward(self, input: Any, hx: tuple | None) -> tuple[Variable, list[Variable], bool]:
        """Checks, batches and runs ``input``; ``hx`` is a tuple of initial states or None."""
        x = _var(input)
        self._check_input(x)
        unbatched = x.ndim == 2
        if unbatched:
            x = x.unsqueeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)
        sizes = self._state_sizes()
        if hx is None:
            state = [x.new_zeros(self._state_shape(x.shape[1], h)) for h in sizes]
        else:
            state = self._check_state(hx, unbatched, x.shape[1], sizes)
        out, finals = self._run(x, state)
        if unbatched:
            return out.squeeze(1), [f.squeeze(1) for f in finals], True
        return (out.transpose(0, 1) if self.batch_first else out), finals, False

    def _state_sizes(self) -> tuple[int, ...]:
        return (self.hidden_size,)

    def _check_state(self, hx: tuple, unbatched: bool, batch: int, sizes: tuple) -> list:
        states = [_var(h) for h in hx]
        want = 2 if unbatched else 3
        if any(s.ndim != want for s in states):
            raise RuntimeError(self._dims_message(unbatched, states))
        if unbatched:
            states = [s.unsqueeze(1) for s in states]
        for i, (s, h) in enumerate(zip(states, sizes)):
            expected = self._state_shape(batch, h)
            if tuple(s.shape) != expected:
                which = f"hidden[{i}] size" if len(sizes) > 1 else "hidden size"
                raise RuntimeError(f"Expected {which} {expected}, got {list(s.shape)}")
        return states

    def _dims_message(self, unbatched: bool, states: list) -> str:
        want = "2-D" if unbatched else "3-D"
        batched = "unbatched 2-D" if unbatched else "batched 3-D"
        return f"For {batched} input, hx should also be {want} but got {states[0].ndim}-D tensor"

    def flatten_parameters(self) -> None:
        """A no-op kept for PyTorch code: the weights are never packed into one buffer."""

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """The parameters of each layer and direction, in PyTorch's order."""
        return [self._weights(k, s) for k in range(self.num_layers) for s in self._suffixes()]

    def extra_repr(self) -> str:  # PyTorch's: settings at their defaults are left out
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


def _check_args(hidden_size: int, num_layers: int, dropout: float, proj_size: int) -> None:
    for name, v in (("hidden_size", hidden_size), ("num_layers", num_layers)):
        if not isinstance(v, int) or isinstance(v, bool):
            raise TypeError(f"{name} should be of type int, got: {type(v).__name__}")
    if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
        raise ValueError(
            "dropout should be a number in range [0, 1] representing the probability of an "
            "element being zeroed"
        )
    if hidden_size <= 0 or num_layers <= 0:
        raise ValueError(
            f"hidden_size and num_layers must be positive integers, got hidden_size="
            f"{hidden_size} and num_layers={num_layers}"
        )
    if proj_size < 0 or (proj_size and proj_size >= hidden_size):
        raise ValueError(
            f"proj_size has to be a positive integer smaller than hidden_size, got "
            f"proj_size={proj_size} and hidden_size={hidden_size}"
        )
    if dropout > 0 and num_layers == 1:
        warnings.warn(
            "dropout option adds dropout after all but last recurrent layer, so non-zero "
            f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
            f"num_layers={num_layers}",
            UserWarning,
            stacklevel=4,
        )


class RNN(_RNNBase):
    """Elman RNN (PyTorch's ``nn.RNN``): ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T +
    b_hh)`` (or ``relu``), stacked ``num_layers`` deep, optionally bidirectional.

    ``forward(input, hx=None)`` takes (L, N, H_in) (``batch_first``: (N, L, H_in)) or
    unbatched (L, H_in) input and returns ``(output, h_n)``.

    Example:
        >>> import varjax as vj
        >>> rnn = vj.nn.RNN(3, 4, num_layers=2)
        >>> out, h = rnn(vj.zeros(5, 2, 3))
        >>> out.shape, h.shape
        (varjax.Size([5, 2, 4]), varjax.Size([2, 2, 4]))
    """

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1,
        nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
        dropout: float = 0.0, bidirectional: bool = False,
    ) -> None:  # fmt: skip
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional)  # fmt: skip
        self.nonlinearity = nonlinearity

    def forward(self, input: Any, hx: Any = None) -> tuple[Variable, Variable]:
        out, finals, _ = self._forward(input, None if hx is None else (hx,))
        return out, finals[0]


class GRU(_RNNBase):
    """Gated recurrent unit (PyTorch's ``nn.GRU``), gates (r, z, n) in that order:
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = (1 - z) * n + z * h``.

    ``forward(input, hx=None)`` returns ``(output, h_n)`` with ``RNN``'s shapes.

    Example:
        >>> import varjax as vj
        >>> gru = vj.nn.GRU(3, 4, num_layers=2)
        >>> out, h = gru(vj.zeros(5, 2, 3))
        >>> out.shape, h.shape
        (varjax.Size([5, 2, 4]), varjax.Size([2, 2, 4]))
        >>> gru
        GRU(3, 4, num_layers=2)
    """

    _NAME = "GRU"

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
        batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
    ) -> None:  # fmt: skip
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional)  # fmt: skip

    def forward(self, input: Any, hx: Any = None) -> tuple[Variable, Variable]:
        out, finals, _ = self._forward(input, None if hx is None else (hx,))
        return out, finals[0]


class LSTM(_RNNBase):
    """Long short-term memory (PyTorch's ``nn.LSTM``), gates (i, f, g, o) in that order;
    ``proj_size > 0`` projects each hidden state by ``weight_hr_l{k}``.

    ``forward(input, hx=None)`` takes ``hx = (h_0, c_0)`` or None and returns
    ``(output, (h_n, c_n))``.

    Example:
        >>> import varjax as vj
        >>> lstm = vj.nn.LSTM(3, 4, batch_first=True, bidirectional=True)
        >>> out, (h, c) = lstm(vj.zeros(2, 5, 3))
        >>> out.shape, h.shape, c.shape
        (varjax.Size([2, 5, 8]), varjax.Size([2, 2, 4]), varjax.Size([2, 2, 4]))
    """

    _NAME = "LSTM"

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
        batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
        proj_size: int = 0,
    ) -> None:  # fmt: skip
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size)  # fmt: skip

    def _state_sizes(self) -> tuple[int, ...]:
        return (self.proj_size or self.hidden_size, self.hidden_size)

    def _dims_message(self, unbatched: bool, states: list) -> str:
        want = "2-D" if unbatched else "3-D"
        batched = "unbatched 2-D" if unbatched else "batched 3-D"
        got = ", ".join(f"{s.ndim}-D" for s in states)
        return f"For {batched} input, hx and cx should also be {want} but got ({got}) tensors"

    def forward(self, input: Any, hx: Any = None) -> tuple[Variable, tuple[Variable, Variable]]:
        if hx is not None and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise RuntimeError(
                f"LSTM expects hx as a tuple (h_0, c_0) of two tensors, got "
                f"{type(hx).__name__}; pass (h_0, c_0) or None for zeros"
            )
        out, (h, c), _ = self._forward(input, None if hx is None else tuple(hx))
        return out, (h, c)


# -- the cells: one step, composed of table ops -------------------------------------------------


class _CellBase(Module):
    """Shared body of the cells: ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``."""

    _NAME = "RNNCell"
    _N_STATE = 1  # LSTMCell's state is (h, c)

    def __init__(self, input_size: int, hidden_size: int, bias: bool, gates: int) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        bound = 1 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
        self.weight_ih = _uniform((gates * hidden_size, input_size), bound)
        self.weight_hh = _uniform((gates * hidden_size, hidden_size), bound)
        if bias:
            self.bias_ih = _uniform((gates * hidden_size,), bound)
            self.bias_hh = _uniform((gates * hidden_size,), bound)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)

    def _prepare(self, input: Any, hx: Any) -> tuple[Variable, list[Variable], bool]:
        """(batched input, batched states, unbatched?) with PyTorch's checks."""
        x = _var(input)
        if x.ndim not in (1, 2):
            raise ValueError(f"{self._NAME}: Expected input to be 1D or 2D, got {x.ndim}D instead")
        unbatched = x.ndim == 1
        x = x.unsqueeze(0) if unbatched else x
        if x.shape[1] != self.input_size:
            raise RuntimeError(
                f"input has inconsistent input_size: got {x.shape[1]} expected {self.input_size}"
            )
        if hx is None:
            zeros = x.new_zeros(x.shape[0], self.hidden_size)
            return x, [zeros] * self._N_STATE, unbatched
        states = [_var(h) for h in (hx if self._N_STATE == 2 else (hx,))]
        states = [s.unsqueeze(0) if unbatched and s.ndim == 1 else s for s in states]
        for i, s in enumerate(states):
            self._check_state(i, s, x)
        return x, states, unbatched

    def _check_state(self, i: int, s: Variable, x: Variable) -> None:
        if s.ndim != 2:
            raise RuntimeError(
                f"{self._NAME}: Expected hidden{i} to be 1D for an unbatched input or 2D for a "
                f"batched one, like the input, got {s.ndim}D of size {list(s.shape)}"
            )
        if s.shape[1] != self.hidden_size:
            raise RuntimeError(
                f"hidden{i} has inconsistent hidden_size: got {s.shape[1]}, expected "
                f"{self.hidden_size}"
            )
        if s.shape[0] != x.shape[0]:
            raise RuntimeError(
                f"Input batch size {x.shape[0]} doesn't match hidden{i} batch size {s.shape[0]}"
            )

    def _gates(self, x: Variable, h: Variable) -> tuple[Variable, Variable]:
        return F.linear(x, self.weight_ih, self.bias_ih), F.linear(h, self.weight_hh, self.bias_hh)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


class RNNCell(_CellBase):
    """One Elman RNN step (PyTorch's ``nn.RNNCell``): ``h' = tanh(x W_ih^T + b_ih +
    h W_hh^T + b_hh)`` (or ``relu``), for (N, H_in) or unbatched (H_in,) input.

    Example:
        >>> import varjax as vj
        >>> cell = vj.nn.RNNCell(3, 4, nonlinearity='relu')
        >>> cell(vj.zeros(2, 3)).shape
        varjax.Size([2, 4])
        >>> cell
        RNNCell(3, 4, nonlinearity=relu)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh") -> None:  # fmt: skip
        super().__init__(input_size, hidden_size, bias, 1)
        self.nonlinearity = nonlinearity

    def forward(self, input: Any, hx: Any = None) -> Variable:
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        x, (h,), unbatched = self._prepare(input, hx)
        gi, gh = self._gates(x, h)
        h = (gi + gh).tanh() if self.nonlinearity == "tanh" else (gi + gh).relu()
        return h.squeeze(0) if unbatched else h


class LSTMCell(_CellBase):
    """One LSTM step (PyTorch's ``nn.LSTMCell``), gates (i, f, g, o): returns ``(h', c')``.

    Example:
        >>> import varjax as vj
        >>> cell = vj.nn.LSTMCell(3, 4)
        >>> h, c = cell(vj.zeros(2, 3))
        >>> h.shape, c.shape
        (varjax.Size([2, 4]), varjax.Size([2, 4]))
        >>> cell
        LSTMCell(3, 4)
    """

    _NAME = "LSTMCell"
    _N_STATE = 2

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__(input_size, hidden_size, bias, 4)

    def forward(self, input: Any, hx: Any = None) -> tuple[Variable, Variable]:
        x, (h, c), unbatched = self._prepare(input, hx)
        gi, gh = self._gates(x, h)
        i, f, g, o = (gi + gh).chunk(4, 1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        h = o.sigmoid() * c.tanh()
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)


class GRUCell(_CellBase):
    """One GRU step (PyTorch's ``nn.GRUCell``), gates (r, z, n): ``n = tanh(W_in x + b_in +
    r * (W_hn h + b_hn))``, ``h' = (1 - z) * n + z * h``.

    Example:
        >>> import varjax as vj
        >>> cell = vj.nn.GRUCell(3, 4)
        >>> cell(vj.zeros(2, 3)).shape
        varjax.Size([2, 4])
        >>> cell
        GRUCell(3, 4)
    """

    _NAME = "GRUCell"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__(input_size, hidden_size, bias, 3)

    def forward(self, input: Any, hx: Any = None) -> Variable:
        x, (h,), unbatched = self._prepare(input, hx)
        gi, gh = self._gates(x, h)
        xr, xz, xn = gi.chunk(3, 1)
        hr, hz, hn = gh.chunk(3, 1)
        r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
        n = (xn + r * hn).tanh()
        h = (1 - z) * n + z * h
        return h.squeeze(0) if unbatched else h
