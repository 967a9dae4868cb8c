"""npm accepts the lockfile weir writes for real projects (public registry).

For four of the tests/fixtures/real-ci projects, weir resolves package.json
alone (``weir install --lockfile-only``). npm must then take that lockfile as
its own: ``npm install --package-lock-only`` leaves it byte for byte as it is,
and ``npm ci`` installs it without complaint. The tree npm builds from weir's
lockfile must be the tree ``weir ci`` builds from it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_ci_npm_parity import (
    REAL_CI,
    Caches,
    assert_same_tree,
    npm,
    npm_ls_clean,
    read_tree,
    weir,
)

pytestmark = pytest.mark.network

# express-api: dev-only subtree; swc-native: other platforms' optionals; testing-peers: peer
# dependencies; workspaces: linked workspace folders with a nested conflicting version.
PROJECTS = ("express-api", "swc-native", "testing-peers", "workspaces")


@pytest.fixture(scope="module")
def caches(tmp_path_factory: pytest.TempPathFactory) -> Caches:
    root = tmp_path_factory.mktemp("caches")
    return Caches(npm=root / "npm", weir=root / "weir")


@pytest.mark.parametrize("name", PROJECTS)
def test_npm_ci_accepts_weirs_lockfile(
    name: str, tmp_path: Path, caches: Caches
) -> None:
    by_weir, by_npm = tmp_path / "weir", tmp_path / "npm"
    shutil.copytree(
        REAL_CI / name,
        by_weir,
        ignore=shutil.ignore_patterns("package-lock.json", "entries.json"),
    )
    weir(by_weir, caches, "install", "--lockfile-only", "--omit-lockfile-registry-resolved=false")
    lockfile = (by_weir / "package-lock.json").read_bytes()
    shutil.copytree(by_weir, by_npm)

    npm(
        by_npm,
        caches,
        "install",
        "--package-lock-only",
        "--omit-lockfile-registry-resolved=false",
    )
    assert (by_npm / "package-lock.json").read_bytes() == lockfile, (
        "npm rewrote weir's lockfile"
    )
    npm(by_npm, caches, "ci")
    weir(by_weir, caches, "ci", "--ignore-scripts")

    assert_same_tree(read_tree(by_npm), read_tree(by_weir))
    npm_ls_clean(by_weir)
