"""PyTorch-style printing of array values: ``tensor([[4.5000, 4.5000], ...])``."""

from __future__ import annotations

import math

import numpy as np

# set_printoptions changes these (PyTorch's defaults); sci_mode None: chosen per tensor
_OPTIONS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}
_PROFILES = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80},
}


def set_printoptions(
    precision: int | None = None, threshold: float | None = None, edgeitems: int | None = None,
    linewidth: int | None = None, profile: str | None = None, sci_mode: bool | None = None,
) -> None:  # fmt: skip
    """How Variables print, as PyTorch's ``set_printoptions``: digits after the point
    (``precision``), how many elements before summarizing (``threshold``) and how many are
    shown at each end then (``edgeitems``), the line width, a ``profile`` ("default", "short",
    "full"), and ``sci_mode`` (True/False forces scientific notation on or off).

    Example:
        >>> import varjax as vj
        >>> vj.set_printoptions(precision=2)
        >>> vj.tensor([1.2345])
        tensor([1.23])
        >>> vj.set_printoptions(profile="default")
    """
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"profile must be one of {sorted(_PROFILES)}, got {profile!r}")
        _OPTIONS.update(_PROFILES[profile])
    given = {"precision": precision, "threshold": threshold, "edgeitems": edgeitems,
             "linewidth": linewidth}  # fmt: skip
    _OPTIONS.update({k: v for k, v in given.items() if v is not None})
    _OPTIONS["sci_mode"] = sci_mode


class _Formatter:
    """Chooses integer, fixed or scientific notation for all values at once, as PyTorch does."""

    def __init__(self, flat: np.ndarray) -> None:
        self.floating = flat.dtype.kind in "fc" or flat.dtype.name == "bfloat16"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        if not self.floating:
            self.width = max([len(self._plain(v)) for v in flat] or [1])
            return
        vals = flat.astype(np.float64)
        nz = np.abs(vals[np.isfinite(vals) & (vals != 0)])
        if nz.size == 0:
            self.width = max([len(self.format(v)) for v in vals] or [1])
            return
        lo, hi = nz.min(), nz.max()
        self.int_mode = bool(np.all(nz == np.ceil(nz)))
        wide = hi / lo > 1000.0 or hi > 1.0e8
        self.sci_mode = wide if self.int_mode else (wide or lo < 1.0e-4)
        if _OPTIONS["sci_mode"] is not None:
            self.sci_mode = _OPTIONS["sci_mode"]
        self.width = max(len(self.format(v)) for v in vals)

    @staticmethod
    def _plain(v) -> str:
        return str(bool(v)) if isinstance(v, np.bool_) else str(v)

    def format(self, v) -> str:
        if not self.floating:
            s = self._plain(v)
        elif self.sci_mode:
            s = f"{float(v):.{_OPTIONS['precision']}e}"
        elif self.int_mode:
            s = f"{float(v):.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
        else:
            s = f"{float(v):.{_OPTIONS['precision']}f}"
        return s.rjust(self.width)


def _summarized(a: np.ndarray) -> np.ndarray:
    # The values shown when an array is summarized: the first and last edgeitems along each dim.
    for ax in range(a.ndim):
        if a.shape[ax] > 2 * _OPTIONS["edgeitems"]:
            edge = _OPTIONS["edgeitems"]
            a = np.concatenate(
                [
                    np.take(a, range(edge), ax),
                    np.take(a, range(a.shape[ax] - edge, a.shape[ax]), ax),
                ],
                ax,
            )
    return a


def _body(a: np.ndarray, fmt: _Formatter, indent: int, summarize: bool) -> str:
    if a.ndim == 0:
        return fmt.format(a[()])
    n = a.shape[0]
    edge = _OPTIONS["edgeitems"]
    cut = summarize and n > 2 * edge
    idx = list(range(edge)) + [None] + list(range(n - edge, n)) if cut else list(range(n))
    if a.ndim == 1:
        items = ["..." if i is None else fmt.format(a[i]) for i in idx]
        per_line = max(1, (_OPTIONS["linewidth"] - indent) // (fmt.width + 2))
        lines = [", ".join(items[k : k + per_line]) for k in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    parts = ["..." if i is None else _body(a[i], fmt, indent + 1, summarize) for i in idx]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def format_tensor(a: np.ndarray, suffixes: list[str]) -> str:
    prefix = "tensor("
    summarize = a.size > _OPTIONS["threshold"]
    shown = _summarized(a) if summarize else a
    if a.size == 0:
        body = "[]"
        if a.ndim > 1:
            suffixes = [f"size={tuple(a.shape)}"] + suffixes
    else:
        body = _body(a, _Formatter(shown.reshape(-1)), len(prefix), summarize)
    return _with_suffixes(prefix + body, suffixes, len(prefix))


def _with_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    # PyTorch's layout: a suffix (dtype=, grad_fn=, ...) that would pass the line width goes
    # on a line of its own (its measure of the last line, too, is PyTorch's)
    out, last = [text], len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last + len(suffix) + 2 > _OPTIONS["linewidth"]:
            out.append(",\n" + " " * indent + suffix)
            last = indent + len(suffix)
        else:
            out.append(", " + suffix)
            last += len(suffix) + 2
    return "".join(out) + ")"
