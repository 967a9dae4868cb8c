"""Every lockfile variant on real projects from the public registry, npm 11 as the oracle.

tests/fixtures/lockfile-variants/ holds what npm wrote (npm 6 for the v1 file).
For each variant, twin copies of the project get the same lockfile: `weir ci`
must give `npm ci`'s node_modules and leave package-lock.json as it was, and
`weir install` must write the bytes `npm install` writes, with the setting
omit-lockfile-registry-resolved off and on.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_ci_npm_parity import Caches, assert_same_tree, caches, npm, read_tree, weir

pytestmark = pytest.mark.network

VARIANTS = Path(__file__).parent / "fixtures" / "lockfile-variants"
CASES = [
    ("chalk", "v1"),
    ("chalk", "v2"),
    ("chalk", "v3-omit"),
    ("alias", "v2-omit"),
    ("workspaces", "v2"),
    ("workspaces", "v3-omit"),
]

__all__ = ["caches"]  # the module-scoped cache fixture, shared with test_ci_npm_parity


def twin(name: str, variant: str, tmp_path: Path, tool: str) -> Path:
    project = tmp_path / tool / name
    shutil.copytree(VARIANTS / name, project, ignore=shutil.ignore_patterns("package-lock.*.json", "README.md"))
    shutil.copyfile(VARIANTS / name / f"package-lock.{variant}.json", project / "package-lock.json")
    return project


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_weir_ci_equals_npm_ci(name: str, variant: str, tmp_path: Path, caches: Caches) -> None:
    by_npm, by_weir = twin(name, variant, tmp_path, "npm"), twin(name, variant, tmp_path, "weir")
    npm(by_npm, caches, "ci")
    weir(by_weir, caches, "ci")
    assert_same_tree(read_tree(by_npm), read_tree(by_weir))
    locked = (VARIANTS / name / f"package-lock.{variant}.json").read_bytes()
    assert (by_weir / "package-lock.json").read_bytes() == locked, "weir ci never writes package-lock.json"


@pytest.mark.parametrize("omit", ["false", "true"])
@pytest.mark.parametrize(("name", "variant"), CASES)
def test_weir_install_writes_what_npm_install_writes(name: str, variant: str, omit: str, tmp_path: Path, caches: Caches) -> None:
    by_npm, by_weir = twin(name, variant, tmp_path, "npm"), twin(name, variant, tmp_path, "weir")
    flag = f"--omit-lockfile-registry-resolved={omit}"
    npm(by_npm, caches, "install", flag)
    weir(by_weir, caches, "install", flag)
    ours, npms = (by_weir / "package-lock.json").read_text(), (by_npm / "package-lock.json").read_text()
    assert ours == npms
