"""The documentation site's sources are whole: every page in ``mkdocs.yml``'s nav exists,
every notebook is in the nav, and every module the reference pages render imports. CI
builds the site itself (``mkdocs build --strict`` in ``.ci/run``); this stays fast."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")  # a test dependency: it reads mkdocs.yml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# The hook docs/hooks/notebooks.py serves notebooks/*.ipynb from the repository's notebooks/.
NOTEBOOKS = "notebooks/"


def _config() -> dict:
    # mkdocs.yml holds no YAML tags, so a safe load reads all of it.
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text())


def _nav_pages(nav) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, dict):
        return [p for value in nav.values() for p in _nav_pages(value)]
    return [p for item in nav for p in _nav_pages(item)]


def _source(page: str) -> Path:
    return ROOT / page if page.startswith(NOTEBOOKS) else DOCS / page


def _reference_modules() -> list[str]:
    pages = sorted((DOCS / "reference").glob("*.md"))
    return sorted({m for p in pages for m in re.findall(r"^::: *(\S+)", p.read_text(), re.M)})


def test_config_points_at_docs():
    config = _config()
    assert config["site_name"] == "varjax"
    assert config["docs_dir"] == "docs"
    for hook in config.get("hooks", []):
        assert (ROOT / hook).is_file(), f"mkdocs.yml names the hook {hook}, which is missing"


def test_every_nav_page_exists():
    pages = _nav_pages(_config()["nav"])
    missing = [p for p in pages if not _source(p).is_file()]
    assert not missing, f"mkdocs.yml's nav lists pages that do not exist: {missing}"
    assert len(pages) == len(set(pages)), "a page is listed twice in the nav"


def test_every_page_and_notebook_is_in_the_nav():
    pages = set(_nav_pages(_config()["nav"]))
    docs = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    notebooks = {f"{NOTEBOOKS}{p.name}" for p in (ROOT / "notebooks").glob("*.ipynb")}
    omitted = sorted((docs | notebooks) - pages)
    assert not omitted, f"add these to mkdocs.yml's nav: {omitted}"


def test_reference_pages_render_modules():
    assert len(_reference_modules()) >= 10


@pytest.mark.parametrize("target", _reference_modules())
def test_reference_target_resolves(target):
    """A ``::: target`` is a module, or a name in one (``varjax.autograd.gradcheck.gradcheck``)."""
    try:
        importlib.import_module(target)
    except ModuleNotFoundError:
        module, _, name = target.rpartition(".")
        assert callable(getattr(importlib.import_module(module), name))
