"""`weir ci` against `npm ci` on real projects and npm's own lockfiles (public registry).

Each tests/fixtures/real-ci/<name>/ holds a package.json, the package-lock.json
npm 11 wrote for it, and entries.json (which direct dependencies Node can load
with ``require``, which only with ``import()``, and which have no runtime entry).
Both tools install that lockfile into twin copies of the project; the two
node_modules (the project's and each workspace folder's) must be the same tree:
the same package folders at the same versions, the same files byte for byte
(size, sha1, executable bit), the same ``.bin`` links, and the same packages
recorded in ``node_modules/.package-lock.json``.
Then npm itself must find weir's tree valid (``npm ls --all``) and Node must load
every direct dependency from it.

The npm and weir caches are shared by the whole module, so each tarball is
downloaded once per tool.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.network

REAL_CI = Path(__file__).parent / "fixtures" / "real-ci"
NPM_REGISTRY = "https://registry.npmjs.org/"
HIDDEN_LOCKFILE = "node_modules/.package-lock.json"


@dataclass(frozen=True, slots=True)
class Caches:
    npm: Path
    weir: Path


@pytest.fixture(scope="module")
def caches(tmp_path_factory: pytest.TempPathFactory) -> Caches:
    root = tmp_path_factory.mktemp("caches")
    return Caches(npm=root / "npm", weir=root / "weir")


def clean_env() -> dict[str, str]:
    """The caller's npm_config_* must not steer either tool (a test run under `npm test` sets many)."""
    env = {
        k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")
    }
    env["CI"] = "true"
    env["npm_config_userconfig"] = os.devnull  # nor this machine's ~/.npmrc (omit-lockfile-registry-resolved)
    return env


def npm(project: Path, caches: Caches, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        "npm",
        *args,
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
        "--cache",
        str(caches.npm),
        "--registry",
        NPM_REGISTRY,
    ]
    out = subprocess.run(
        cmd,
        cwd=project,
        check=False,
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=300,
    )
    assert out.returncode == 0, f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}"
    return out


def weir(project: Path, caches: Caches, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        sys.executable,
        "-m",
        "weir.tui.cli.main",
        *args,
        "--registry",
        NPM_REGISTRY,
        "--cache",
        str(caches.weir),
        "-C",
        str(project),
    ]
    out = subprocess.run(
        cmd, check=False, capture_output=True, text=True, env=clean_env(), timeout=300
    )
    assert out.returncode == 0, (
        f"weir {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}"
    )
    return out


def twin(name: str, tmp_path: Path, tool: str) -> Path:
    project = tmp_path / tool / name
    shutil.copytree(
        REAL_CI / name, project, ignore=shutil.ignore_patterns("entries.json")
    )
    return project


@dataclass(frozen=True, slots=True)
class Tree:
    """What a user can observe of a node_modules folder."""

    packages: dict[str, str]  # "node_modules/a/node_modules/@s/b" -> version
    files: dict[
        str, tuple[Any, ...]
    ]  # path -> (size, executable, sha1) or ("link", target)
    bins: dict[str, str]  # every .bin entry (top, nested, workspace) -> link target
    recorded: dict[str, str]  # node_modules/.package-lock.json: path -> version


def package_dirs(node_modules: Path) -> list[Path]:
    """Package folders in node_modules and, recursively, in their own node_modules."""
    found = []
    if not node_modules.is_dir():
        return found
    for entry in sorted(node_modules.iterdir()):
        if entry.name.startswith("."):
            continue
        candidates = (
            sorted(entry.iterdir())
            if entry.name.startswith("@") and not entry.is_symlink()
            else [entry]
        )
        for pkg in candidates:
            if (pkg / "package.json").is_file():
                found.append(pkg)
                if not pkg.is_symlink():
                    found.extend(package_dirs(pkg / "node_modules"))
    return found


def module_roots(project: Path) -> list[Path]:
    """The node_modules folders an install fills: the project's and each workspace folder's."""
    lock = json.loads((project / "package-lock.json").read_text()).get("packages", {})  # an npm 6 lockfile has none
    folders = [p for p in sorted(lock) if p and "node_modules/" not in p]
    return [project / "node_modules", *(project / p / "node_modules" for p in folders)]


def read_tree(project: Path) -> Tree:
    roots = module_roots(project)
    packages = {
        # a linked file: folder may have no version (mocha's test fixture package)
        str(p.relative_to(project)): json.loads((p / "package.json").read_text()).get(
            "version", ""
        )
        for root in roots
        for p in package_dirs(root)
    }
    files: dict[str, tuple[Any, ...]] = {}
    for dirpath, dirnames, filenames in (
        step for root in roots for step in os.walk(root)
    ):
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        for name in filenames + links:
            path = Path(dirpath) / name
            rel = str(path.relative_to(project))
            if rel == HIDDEN_LOCKFILE:
                continue
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                files[rel] = ("link", os.readlink(path))
            else:
                files[rel] = (
                    st.st_size,
                    bool(st.st_mode & 0o111),
                    hashlib.sha1(path.read_bytes()).hexdigest(),
                )
    bins = {
        rel: value[1]
        for rel, value in files.items()
        if Path(rel).parent.name == ".bin" and value[0] == "link"
    }
    hidden = project / HIDDEN_LOCKFILE
    recorded = (
        {
            p: e.get("version", "")
            for p, e in json.loads(hidden.read_text())["packages"].items()
        }
        if hidden.is_file()
        else {}
    )
    return Tree(packages=packages, files=files, bins=bins, recorded=recorded)


def differences(a: dict[str, Any], b: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {
        k: (a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)
    }


def assert_same_tree(npm_tree: Tree, weir_tree: Tree) -> None:
    assert npm_tree.packages, "npm installed nothing: the fixture is broken"
    assert differences(npm_tree.packages, weir_tree.packages) == {}
    assert differences(npm_tree.bins, weir_tree.bins) == {}
    diff = differences(npm_tree.files, weir_tree.files)
    assert not diff, (
        f"{len(diff)} files differ, first ones: {dict(list(diff.items())[:20])}"
    )
    assert differences(npm_tree.recorded, weir_tree.recorded) == {}


def npm_ls_clean(project: Path) -> None:
    out = subprocess.run(
        ["npm", "ls", "--all", "--offline"],
        cwd=project,
        check=False,
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=120,
    )
    assert out.returncode == 0, (
        f"npm ls --all on weir's tree:\n{out.stdout}\n{out.stderr}"
    )


def node_loads(project: Path, entries: dict[str, Any]) -> None:
    """Every direct dependency loads from the project, the way its entries.json says it can."""
    manifest = json.loads((project / "package.json").read_text())
    direct = {*manifest.get("dependencies", {}), *manifest.get("devDependencies", {})}
    listed = [*entries["require"], *entries["import"], *entries["skip"]]
    assert sorted(listed) == sorted(direct), (
        "entries.json must name every direct dependency once"
    )
    scripts = [
        ["node", "-e", "".join(f"require({n!r});" for n in entries["require"])],
        [
            "node",
            "--input-type=module",
            "-e",
            "".join(f"await import({n!r});" for n in entries["import"]),
        ],
    ]
    for cmd in scripts:
        out = subprocess.run(
            cmd, cwd=project, check=False, capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, f"{cmd[-1]}\n{out.stderr}"


@pytest.mark.parametrize("name", sorted(p.name for p in REAL_CI.iterdir()))
def test_weir_ci_equals_npm_ci(name: str, tmp_path: Path, caches: Caches) -> None:
    by_npm, by_weir = twin(name, tmp_path, "npm"), twin(name, tmp_path, "weir")
    # Without "resolved" in npm's node_modules/.package-lock.json, as npm writes it under
    # omit-lockfile-registry-resolved (this option changes nothing else in the tree).
    npm(by_npm, caches, "ci", "--omit-lockfile-registry-resolved=true")
    weir(by_weir, caches, "ci", "--ignore-scripts")

    npm_tree, weir_tree = read_tree(by_npm), read_tree(by_weir)
    assert_same_tree(npm_tree, weir_tree)
    # weir takes npm's tree as its own: nothing to do, nothing touched.
    assert "up to date" in weir(by_npm, caches, "install", "--ignore-scripts").stderr
    assert read_tree(by_npm) == npm_tree
    assert (by_weir / "package-lock.json").read_bytes() == (
        REAL_CI / name / "package-lock.json"
    ).read_bytes(), "ci must not rewrite the lockfile"
    npm_ls_clean(by_weir)
    node_loads(by_weir, json.loads((REAL_CI / name / "entries.json").read_text()))
    print(
        f"{name}: {len(weir_tree.packages)} packages, {len(weir_tree.files)} files identical"
    )
