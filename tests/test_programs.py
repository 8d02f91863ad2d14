"""PyTorch programs run unchanged (issue 12): each file in ``tests/programs`` is written as
PyTorch's tutorials and courses write it, with ``import torch``. It runs once with the imports
pointed at varjax (the only change) and, where torch is installed, once on PyTorch; the printed
lines must agree (numbers to 1e-4 relative)."""

from __future__ import annotations

import contextlib
import io
import math
import re
from pathlib import Path

import pytest

try:
    import torch  # noqa: F401 - the oracle
except ImportError:  # pragma: no cover - depends on the machine
    torch = None

PROGRAMS = sorted((Path(__file__).parent / "programs").glob("*.py"))

_IMPORTS = [  # the only change a user makes
    (r"^import torch\.nn\.functional as F$", "import varjax.nn.functional as F"),
    (r"^import torch$", "import varjax as torch"),
    (r"^from torch import nn$", "from varjax import nn"),
    (r"^from torch\.utils\.data import", "from varjax.utils.data import"),
]
_NUMBER = re.compile(r"-?\d+\.\d+(?:e[-+]?\d+)?|-?\d+")


def _varjax_source(src: str) -> str:
    for pattern, repl in _IMPORTS:
        src = re.sub(pattern, repl, src, flags=re.M)
    assert "import torch" not in src.replace("import varjax as torch", ""), "an import left"
    return src


def _run(src: str, path: Path) -> list[str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(src, str(path), "exec"), {"__name__": "__main__"})  # noqa: S102
    return out.getvalue().splitlines()


def _same_line(a: str, b: str) -> bool:
    na, nb = _NUMBER.findall(a), _NUMBER.findall(b)
    if _NUMBER.sub("#", a) != _NUMBER.sub("#", b) or len(na) != len(nb):
        return False
    return all(math.isclose(float(x), float(y), rel_tol=1e-4, abs_tol=1e-4) for x, y in zip(na, nb))


@pytest.mark.parametrize("path", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_program_runs_unchanged_with_pytorchs_numbers(path):
    src = path.read_text()
    got = _run(_varjax_source(src), path)
    assert got, "the program printed nothing"
    if torch is not None:
        want = _run(src, path)
        assert len(got) == len(want), (got, want)
        for g, w in zip(got, want):
            assert _same_line(g, w), f"varjax printed {g!r} where PyTorch printed {w!r}"
