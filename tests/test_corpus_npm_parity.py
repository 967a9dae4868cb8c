"""weir against npm on a corpus of public projects' own lockfiles (public registry).

Each tests/fixtures/corpus/<name>/ holds what one public repository commits for
npm and nothing else: its package.json, every workspace's (or ``file:``
folder's) package.json, and its package-lock.json (v2 or v3), with the
repository and commit they came from in corpus.json. Every project goes through
three checks against npm 11 on the same input:

(a) ``weir ci`` builds ``npm ci``'s exact tree: the same package folders at the
    same versions, the same files byte for byte, the same ``.bin`` links, the
    same packages in ``node_modules/.package-lock.json``; ``npm ls --all``
    finds it exactly as valid as npm's own (a committed lockfile may break a
    peer range: then both get the same complaints), and weir takes npm's tree as its own (``weir install`` there is a no-op).
(b) From package.json alone, ``weir install --lockfile-only`` writes the
    lockfile ``npm install --package-lock-only`` writes, byte for byte.
(c) A second ``weir install`` on weir's tree is a no-op: "up to date",
    node_modules and the lockfile untouched.

Both tools run with a private npmrc (no ``~/.npmrc``, no global npmrc, no
project ``.npmrc``: the corpus carries none), so npm writes ``resolved`` as it
does by default. One npm cache and one weir cache serve the whole session.

A check listed in ``PENDING`` ("project/check") is not run: it waits for the
weir fix named beside it; deleting its line enables it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
from test_ci_npm_parity import (
    NPM_REGISTRY,
    Caches,
    assert_same_tree,
    clean_env,
    read_tree,
)

pytestmark = pytest.mark.network

CORPUS = Path(__file__).parent / "fixtures" / "corpus"

PROJECTS = tuple(sorted(p.name for p in CORPUS.iterdir() if p.is_dir()))

# "project/check" -> why that check fails today: the weir fix it waits for. These are not run;
# deleting a line runs that check in CI. (Each was run and failed for the reason given.)
PENDING: dict[str, str] = {}


def running(check: str) -> list[str]:
    return [p for p in PROJECTS if f"{p}/{check}" not in PENDING]


@dataclass(frozen=True, slots=True)
class Tools:
    """How to run npm and weir with the same private config and shared caches."""

    caches: Caches
    env: dict[str, str]

    def npm(self, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = ["npm", *args, "--ignore-scripts", "--cache", str(self.caches.npm),
               "--registry", NPM_REGISTRY]
        return self.run(cmd, project)

    def weir(self, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "weir.tui.cli.main", *args, "--ignore-scripts",
               "--registry", NPM_REGISTRY, "--cache", str(self.caches.weir), "-C", str(project)]
        return self.run(cmd, project)

    def run(self, cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(cmd, cwd=cwd, check=False, capture_output=True, text=True,
                             env=self.env, timeout=300)
        assert out.returncode == 0, (
            f"{' '.join(cmd[:4])} in {cwd.name} exited {out.returncode}:\n"
            f"{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
        )
        return out


@pytest.fixture(scope="session")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Tools:
    root = tmp_path_factory.mktemp("corpus-caches")
    (root / "npmrc").write_text("fund=false\naudit=false\nupdate-notifier=false\n")
    (root / "global-npmrc").write_text("")
    env = clean_env() | {"npm_config_userconfig": str(root / "npmrc"),
                         "npm_config_globalconfig": str(root / "global-npmrc")}
    return Tools(Caches(npm=root / "npm", weir=root / "weir"), env)


def copy_project(name: str, dest: Path, *, lockfile: bool) -> Path:
    ignored = ["corpus.json"] + ([] if lockfile else ["package-lock.json"])
    shutil.copytree(CORPUS / name, dest, ignore=shutil.ignore_patterns(*ignored))
    return dest


@dataclass(frozen=True, slots=True)
class Installs:
    """One project installed from its lockfile by ``npm ci`` and by ``weir ci``."""

    npm: Path
    weir: Path


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory, tools: Tools) -> Callable[[str], Installs]:
    """Each project's two ci installs, made once and shared by checks (a) and (c)."""
    done: dict[str, Installs] = {}

    def install(name: str) -> Installs:
        if name not in done:
            root = tmp_path_factory.mktemp(f"ci-{name}")
            by_npm = copy_project(name, root / "npm" / name, lockfile=True)
            by_weir = copy_project(name, root / "weir" / name, lockfile=True)
            tools.npm(by_npm, "ci")
            tools.weir(by_weir, "ci")
            done[name] = Installs(npm=by_npm, weir=by_weir)
        return done[name]

    return install


def lockfile_paths_differ(npm_lock: dict[str, Any], weir_lock: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Lockfile entries that differ, path by path (the top-level fields under key "@")."""
    top = {k: v for k, v in npm_lock.items() if k != "packages"}
    ours = {k: v for k, v in weir_lock.items() if k != "packages"}
    diff = {f"@{k}": (top.get(k), ours.get(k)) for k in set(top) | set(ours) if top.get(k) != ours.get(k)}
    a, b = npm_lock.get("packages", {}), weir_lock.get("packages", {})
    diff |= {p: (a.get(p), b.get(p)) for p in sorted(set(a) | set(b)) if a.get(p) != b.get(p)}
    return diff


def npm_ls(project: Path) -> tuple[int, str]:
    """``npm ls --all``'s verdict on a tree: its exit code, its tree and its problems (the
    project's folder written as ``.``). A project whose committed lockfile breaks a peer range
    (stylelint's typescript@7) gets the same complaints on npm's ci tree as on weir's."""
    out = subprocess.run(["npm", "ls", "--all", "--offline"], cwd=project, check=False,
                         capture_output=True, text=True, env=clean_env(), timeout=120)
    problems = [line for line in out.stderr.splitlines() if "complete log of this run" not in line]
    return out.returncode, "\n".join([out.stdout, *problems]).replace(str(project), ".")


@pytest.mark.parametrize("name", running("a"))
def test_a_weir_ci_builds_npm_ci_tree(name: str, installed: Callable[[str], Installs], tools: Tools) -> None:
    twins = installed(name)
    npm_tree, weir_tree = read_tree(twins.npm), read_tree(twins.weir)
    assert_same_tree(npm_tree, weir_tree)
    assert (twins.weir / "package-lock.json").read_bytes() == (
        CORPUS / name / "package-lock.json"
    ).read_bytes(), "ci must not rewrite the lockfile"
    ours, theirs = npm_ls(twins.weir), npm_ls(twins.npm)
    assert ours == theirs, f"npm ls --all on weir's tree (npm's own tree: exit {theirs[0]}):\n{ours[1][-3000:]}"
    # weir takes npm's tree as its own: nothing to do, nothing touched.
    assert "up to date" in tools.weir(twins.npm, "install").stderr
    assert read_tree(twins.npm) == npm_tree
    print(f"{name}: {len(weir_tree.packages)} packages, {len(weir_tree.files)} files identical")


@pytest.mark.parametrize("name", running("b"))
def test_b_weir_lockfile_is_npms(name: str, tmp_path: Path, tools: Tools) -> None:
    by_npm = copy_project(name, tmp_path / "npm" / name, lockfile=False)
    by_weir = copy_project(name, tmp_path / "weir" / name, lockfile=False)
    # Side by side, so weir's time hides in npm's and both see the registry at one moment.
    with ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(tools.npm, by_npm, "install", "--package-lock-only"),
                pool.submit(tools.weir, by_weir, "install", "--lockfile-only")]
        for run in runs:
            run.result()
    npm_bytes = (by_npm / "package-lock.json").read_bytes()
    weir_bytes = (by_weir / "package-lock.json").read_bytes()
    if npm_bytes != weir_bytes:
        diff = lockfile_paths_differ(json.loads(npm_bytes), json.loads(weir_bytes))
        shown = dict(list(diff.items())[:10])
        pytest.fail(f"{len(diff)} lockfile paths differ (npm, weir), first ones: {shown}"
                    if diff else "same entries, different bytes (key order or formatting)")


@pytest.mark.parametrize("name", running("c"))
def test_c_second_weir_install_is_a_noop(name: str, installed: Callable[[str], Installs],
                                         tools: Tools) -> None:
    twins = installed(name)
    before = read_tree(twins.weir)
    lockfile = (twins.weir / "package-lock.json").read_bytes()
    out = tools.weir(twins.weir, "install")
    assert "up to date" in out.stderr, out.stderr[-2000:]
    assert read_tree(twins.weir) == before
    assert (twins.weir / "package-lock.json").read_bytes() == lockfile
