"""``varjax.nn.utils.rnn``: padding variable-length sequences, as ``torch.nn.utils.rnn``."""

from __future__ import annotations

from collections.abc import Sequence

from ... import _functions
from ..._variable import Variable

__all__ = ["pad_sequence"]


def pad_sequence(
    sequences: Sequence[Variable], batch_first: bool = False, padding_value: float = 0.0,
    padding_side: str = "right",
) -> Variable:  # fmt: skip
    """Stack sequences of shapes ``(L_i, *)`` into ``(L_max, B, *)`` (``(B, L_max, *)`` with
    ``batch_first``), filling with ``padding_value`` on ``padding_side``; differentiable.
    PyTorch's ``nn.utils.rnn.pad_sequence``.

    Example:
        >>> import varjax as vj
        >>> vj.nn.utils.rnn.pad_sequence([vj.ones(2), vj.ones(1)], batch_first=True)
        tensor([[1., 1.],
                [1., 0.]])
    """
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got "
                         f"{padding_side}.")  # fmt: skip
    if isinstance(sequences, Variable):
        sequences = list(sequences.unbind(0))
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        missing = longest - s.shape[0]
        if missing:
            fill = s.new_full((missing, *s.shape[1:]), padding_value)
            s = _functions.cat([s, fill] if padding_side == "right" else [fill, s])
        padded.append(s)
    return _functions.stack(padded, 0 if batch_first else 1)
