"""JAX's persistent compilation cache is on by default in a user cache folder (issue 13), so a
re-run of a script starts with its programs compiled; ``VARJAX_COMPILATION_CACHE`` turns it off
or moves it, and JAX's own setting wins. Each case runs in a child process: the cache is set up
when varjax is imported."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
import jax, varjax as vj
x = vj.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
((x.sin() * 3 + x).sum() ** 2).backward()
print(jax.config.jax_compilation_cache_dir, x.grad.tolist())
"""


def _run(tmp_path, **env) -> list[str]:
    child = {k: v for k, v in os.environ.items() if not k.startswith(("VARJAX_", "JAX_C"))}
    child.update(JAX_PLATFORMS="cpu", XDG_CACHE_HOME=str(tmp_path / "home"), **env)
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=child, capture_output=True,
                         text=True, timeout=300, check=True)  # fmt: skip
    assert "Warning" not in out.stderr, out.stderr
    return out.stdout.split(" ", 1)


def test_programs_are_kept_in_the_user_cache_folder_and_reused(tmp_path):
    folder, first = _run(tmp_path)  # varjax keeps every program, even quick ones
    assert folder == str(tmp_path / "home" / "varjax" / "xla")
    entries = os.listdir(folder)
    assert entries  # the forward and backward programs
    _, again = _run(tmp_path)
    assert again == first and sorted(os.listdir(folder)) == sorted(entries)  # found, not new


def test_the_cache_can_be_turned_off_or_moved(tmp_path):
    assert _run(tmp_path, VARJAX_COMPILATION_CACHE="0")[0] == "None"
    assert not (tmp_path / "home").exists()
    assert _run(tmp_path, VARJAX_COMPILATION_CACHE=str(tmp_path / "mine"))[0] == str(
        tmp_path / "mine"
    )
    assert _run(tmp_path, JAX_COMPILATION_CACHE_DIR=str(tmp_path / "jax"))[0] == str(
        tmp_path / "jax"
    )
