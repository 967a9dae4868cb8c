"""What `weir add`/`weir remove` write and what a tarball unpacks to, next to npm on the
public registry: the same inputs in twin folders, the same bytes out."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from test_ci_npm_parity import Caches, npm, weir

pytestmark = pytest.mark.network

START = {"name": "app", "version": "1.0.0", "devDependencies": {"is-number": "^7.0.0"}}


@pytest.fixture(scope="module")
def caches(tmp_path_factory: pytest.TempPathFactory) -> Caches:
    root = tmp_path_factory.mktemp("caches")
    return Caches(npm=root / "npm", weir=root / "weir")


def twins(tmp_path: Path) -> tuple[Path, Path]:
    pair = tmp_path / "npm", tmp_path / "weir"
    for folder in pair:
        folder.mkdir()
        (folder / "package.json").write_text(json.dumps(START, indent=2) + "\n")
    return pair


@pytest.mark.parametrize(
    "args",
    [
        ["lodash@^4"],
        ["-E", "lodash@^4"],
        ["lodash@4.17.21"],
        ["lodash@latest"],
        ["lodash@>=1 <3"],
        ["lodash@>=3 <4.17.21"],
        ["lodash@~4.17.0"],
        ["lo@npm:lodash"],
        ["--save-prefix", "~", "lodash@^4"],
        ["-D", "lodash@4.x"],
    ],
    ids=" ".join,
)
def test_add_saves_what_npm_saves(tmp_path: Path, caches: Caches, args: list[str]) -> None:
    by_npm, by_weir = twins(tmp_path)
    npm(by_npm, caches, "install", "--package-lock-only", *args)
    weir(by_weir, caches, "install", "--lockfile-only", *args)
    assert (by_weir / "package.json").read_text() == (by_npm / "package.json").read_text()


def test_remove_saves_what_npm_saves(tmp_path: Path, caches: Caches) -> None:
    by_npm, by_weir = twins(tmp_path)
    npm(by_npm, caches, "uninstall", "is-number")
    weir(by_weir, caches, "remove", "is-number")
    assert (by_weir / "package.json").read_text() == (by_npm / "package.json").read_text()


def files(package: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(package)): p.read_bytes()
        for p in sorted(package.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def test_a_packed_gitignore_lands_where_npm_puts_it(tmp_path: Path, caches: Caches) -> None:
    """loglevel@1.9.1 ships vendor/…/tasks/.gitignore: npm (pacote) unpacks it as .npmignore."""
    by_npm, by_weir = twins(tmp_path)
    npm(by_npm, caches, "install", "loglevel@1.9.1")
    weir(by_weir, caches, "install", "--ignore-scripts", "loglevel@1.9.1")
    ours, theirs = files(by_weir / "node_modules/loglevel"), files(by_npm / "node_modules/loglevel")
    tasks = "vendor/grunt-template-jasmine-requirejs/tasks"
    assert f"{tasks}/.npmignore" in theirs and f"{tasks}/.gitignore" not in theirs
    assert ours == theirs
    umask = os.umask(0o022)
    os.umask(umask)
    for name in ("package.json", "package-lock.json", "node_modules/.package-lock.json"):
        assert (by_weir / name).stat().st_mode & 0o777 == (by_npm / name).stat().st_mode & 0o777, name
