"""Workspaces against npm 11 itself (public registry): the lockfile weir writes must be npm's,
byte for byte, and an install run inside a workspace folder must fill the same node_modules.

Layouts (small, real packages: is-number has 3.x, 6.x and 7.x; is-odd and is-even pull older ones):
- ranges-and-dev: a workspace named is-number at 7.0.0 that another workspace asks for at ^6
  (npm nests the registry's 6.0.0, as it nests @npmcli/arborist@7 under template-oss beside
  the arborist 8 workspace in npm/cli); the root's devDependencies name a workspace; one
  workspace is reached only from another's devDependencies. No workspace entry is `dev`.
- nested: a workspace inside another's folder (it resolves through that one's node_modules),
  a prerelease workspace asked for with `*`, and a workspace asking the registry for another
  version of a sibling's name (socket.io-client-v2's engine.io-client@~3.5.0 pattern).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.network

NPM_REGISTRY = "https://registry.npmjs.org/"

LAYOUTS: dict[str, dict[str, dict[str, Any]]] = {
    "ranges-and-dev": {
        "": {"name": "root", "version": "1.0.0", "workspaces": ["packages/*"], "devDependencies": {"c": "^1.0.0"}},
        "packages/a": {"name": "a", "version": "1.0.0", "dependencies": {"is-number": "^6.0.0"}, "devDependencies": {"b": "^1.0.0"}},
        "packages/b": {"name": "b", "version": "1.0.0", "dependencies": {"is-odd": "^3.0.0"}},
        "packages/c": {"name": "c", "version": "1.0.0"},
        "packages/is-number": {"name": "is-number", "version": "7.0.0"},
    },
    "nested": {
        "": {"name": "root", "version": "1.0.0", "workspaces": ["packages/a", "packages/a/sub", "tools/*"], "devDependencies": {"x": "^1.0.0"}},
        "packages/a": {"name": "a", "version": "1.0.0", "dependencies": {"is-number": "^6.0.0"}},
        "packages/a/sub": {"name": "sub", "version": "2.0.0-beta.1", "dependencies": {"is-number": "^6.0.0", "is-odd": "*"}},
        "tools/x": {"name": "x", "version": "1.0.0", "dependencies": {"sub": "*", "is-even": "^1.0.0"}, "devDependencies": {"a": "^2.0.0"}},
    },
    "member": {
        "": {"name": "root", "version": "1.0.0", "workspaces": ["packages/*"], "dependencies": {"is-odd": "3.0.1"}},
        "packages/a": {"name": "a", "version": "1.0.0", "dependencies": {"b": "^1.0.0"}},
        "packages/b": {"name": "b", "version": "1.0.0", "dependencies": {"is-number": "^7.0.0"}},
        "packages/c": {"name": "c", "version": "1.0.0", "dependencies": {"is-even": "1.0.0"}},
    },
}


def layout(root: Path, files: dict[str, dict[str, Any]]) -> Path:
    for location, pkg in files.items():
        folder = root / location
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "package.json").write_text(json.dumps(pkg, indent=2) + "\n")
    return root


def clean_env() -> dict[str, str]:
    """No npm_config_* from the caller, and an empty user config for both tools: this machine's
    ~/.npmrc (omit-lockfile-registry-resolved, read by weir and npm alike) must not decide."""
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")}
    return env | {"CI": "true", "npm_config_userconfig": os.devnull}


def npm(cwd: Path, cache: Path, *args: str) -> subprocess.Popen[str]:
    cmd = ["npm", *args, "--ignore-scripts", "--no-audit", "--no-fund", "--omit-lockfile-registry-resolved=false",
           "--cache", str(cache), "--registry", NPM_REGISTRY]
    return subprocess.Popen(cmd, cwd=cwd, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def weir(cwd: Path, cache: Path, *args: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "weir.tui.cli.main", *args, "--ignore-scripts", "--cache", str(cache), "--registry", NPM_REGISTRY]
    return subprocess.Popen(cmd, cwd=cwd, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen[str]) -> None:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, f"{proc.args}: {out}\n{err}"


@pytest.mark.parametrize("name", ["ranges-and-dev", "nested"])
def test_lockfile_is_npms_byte_for_byte(name: str, tmp_path: Path) -> None:
    ours = layout(tmp_path / "weir", LAYOUTS[name])
    theirs = layout(tmp_path / "npm", LAYOUTS[name])
    procs = [npm(theirs, tmp_path / "npm-cache", "install", "--package-lock-only"), weir(ours, tmp_path / "weir-cache", "install", "--lockfile-only")]
    for proc in procs:
        finish(proc)
    assert (ours / "package-lock.json").read_text() == (theirs / "package-lock.json").read_text()


def test_install_inside_a_workspace_folder_matches_npm(tmp_path: Path) -> None:
    ours = layout(tmp_path / "weir", LAYOUTS["member"])
    theirs = layout(tmp_path / "npm", LAYOUTS["member"])
    procs = [npm(theirs / "packages" / "a", tmp_path / "npm-cache", "install"), weir(ours / "packages" / "a", tmp_path / "weir-cache", "install")]
    for proc in procs:
        finish(proc)
    assert (ours / "package-lock.json").read_text() == (theirs / "package-lock.json").read_text()
    assert not (ours / "packages" / "a" / "package-lock.json").exists()

    def installed(root: Path) -> list[str]:
        return sorted(json.loads((root / "node_modules" / ".package-lock.json").read_text())["packages"])

    assert installed(ours) == installed(theirs)  # only a's tree: a, b, b's is-number@7
