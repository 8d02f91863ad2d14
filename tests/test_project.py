"""The project as a newcomer finds it: a version number, a licence, a changelog and a
contributing guide, and top-level pages whose links stay inside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import QUICK_FILES

import varjax as vj

ROOT = Path(__file__).resolve().parent.parent
# [text](target): the target up to a space (a title) or the closing parenthesis
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)[^)]*\)")


def test_version_is_pyprojects():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11 and newer
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert vj.__version__ == project["version"]


@pytest.mark.parametrize("name", ["LICENSE", "CHANGELOG.md", "CONTRIBUTING.md"])
def test_project_file_exists(name):
    assert (ROOT / name).is_file(), f"{name} is missing from the repository root"


def test_license_is_apache_2():
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text and "[yyyy]" not in text


def test_the_changelog_has_this_version():
    assert f"## [{vj.__version__}]" in (ROOT / "CHANGELOG.md").read_text()


@pytest.mark.parametrize("page", ["README.md", "CONTRIBUTING.md", "CHANGELOG.md"])
def test_links_stay_inside_the_repository(page):
    for target in LINK.findall((ROOT / page).read_text()):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # a web address or an anchor on the same page
        path = target.split("#")[0]
        assert not path.startswith(("/", "../")), f"{page} links outside the repository: {target}"
        resolved = (ROOT / path).resolve()
        assert resolved.is_relative_to(ROOT), f"{page} links outside the repository: {target}"
        assert resolved.exists(), f"{page} links to {target}, which does not exist"


def test_the_quick_subset_names_real_files_and_a_registered_marker():
    files = {p.stem for p in (ROOT / "tests").glob("test_*.py")}
    assert QUICK_FILES <= files, QUICK_FILES - files
    assert "slow:" in (ROOT / "pyproject.toml").read_text()  # pytest -m "not slow" knows it
