"""Workspaces as npm sees them, against the loopback registry: the root found from inside a
workspace folder, a workspace link only where its version fits, -w/--workspaces, the
lockfile flags of workspace entries, nested workspace folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fake_registry import FakeRegistry
from loopback import LoopbackRegistry

from weir.core.config import Config
from weir.core.npm.package_json import package_json_from_dict
from weir.core.resolve.resolver import Resolution, resolve


def write(folder: Path, pkg: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "package.json").write_text(json.dumps(pkg, indent=2) + "\n")
    return folder


def weir_in(cwd: Path, cache: Path, registry: LoopbackRegistry, *args: str) -> subprocess.CompletedProcess[str]:
    """Run weir from ``cwd`` (no --prefix: the project root is found as npm finds it)."""
    env = dict(os.environ, CI="true")
    env.pop("npm_config_registry", None)
    cmd = [sys.executable, "-m", "weir.tui.cli.main", *args, "--registry", registry.url, "--cache", str(cache)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, cwd=cwd)


@pytest.fixture
def mono(tmp_path: Path, registry: LoopbackRegistry) -> Path:
    """A monorepo whose workspace ``b`` shares its name with a public package b@1.0.0."""
    registry.add("b", "1.0.0", dependencies={"evil": "^1.0.0"})
    registry.add("evil", "1.0.0")
    for version in ("1.0.0", "2.0.0"):
        registry.add("c", version)
    registry.add("tool", "1.0.0")
    root = write(tmp_path / "mono", {"name": "mono", "version": "1.0.0", "private": True, "workspaces": ["packages/*"]})
    write(root / "packages" / "a", {"name": "a", "version": "1.0.0", "dependencies": {"b": "^1.0.0"}})
    write(root / "packages" / "b", {"name": "b", "version": "1.0.0", "dependencies": {"c": "^1.0.0"}})
    write(root / "packages" / "w", {"name": "w", "version": "1.0.0", "dependencies": {"tool": "^1.0.0"}})
    return root


def lock_of(root: Path) -> dict[str, Any]:
    return json.loads((root / "package-lock.json").read_text())["packages"]


def test_install_inside_a_workspace_folder_installs_the_workspace_from_the_root(mono: Path, cache_dir: Path, registry: LoopbackRegistry) -> None:
    out = weir_in(mono / "packages" / "a", cache_dir, registry, "install")
    assert out.returncode == 0, out.stderr
    assert not (mono / "packages" / "a" / "package-lock.json").exists()
    assert not (mono / "packages" / "a" / "node_modules").exists()
    assert lock_of(mono)["node_modules/b"] == {"resolved": "packages/b", "link": True}
    assert os.readlink(mono / "node_modules" / "b") == "../packages/b"
    assert registry.packument_requests("b") == [] and registry.packument_requests("evil") == []  # no dependency confusion
    # npm limits node_modules to the workspace's own tree: w's tool is in the lockfile only
    assert (mono / "node_modules" / "c").is_dir() and not (mono / "node_modules" / "tool").exists()
    assert "node_modules/tool" in lock_of(mono)


def test_add_inside_a_workspace_saves_into_its_package_json(mono: Path, cache_dir: Path, registry: LoopbackRegistry) -> None:
    root_before = (mono / "package.json").read_text()
    out = weir_in(mono / "packages" / "a", cache_dir, registry, "add", "c")
    assert out.returncode == 0, out.stderr
    assert json.loads((mono / "packages/a/package.json").read_text())["dependencies"] == {"b": "^1.0.0", "c": "^2.0.0"}
    assert (mono / "package.json").read_text() == root_before
    lock = lock_of(mono)
    assert lock["packages/a"]["dependencies"] == {"b": "^1.0.0", "c": "^2.0.0"}
    assert lock["node_modules/c"]["version"] == "2.0.0" and lock["packages/b/node_modules/c"]["version"] == "1.0.0"
    out = weir_in(mono, cache_dir, registry, "remove", "c", "-w", "packages/a")
    assert out.returncode == 0, out.stderr
    assert json.loads((mono / "packages/a/package.json").read_text())["dependencies"] == {"b": "^1.0.0"}


def test_workspace_flags_select_and_refuse(mono: Path, cache_dir: Path, registry: LoopbackRegistry) -> None:
    out = weir_in(mono, cache_dir, registry, "install", "-w", "w")
    assert out.returncode == 0, out.stderr
    assert (mono / "node_modules" / "tool").is_dir() and not (mono / "node_modules" / "c").exists()
    out = weir_in(mono, cache_dir, registry, "install", "--workspaces")
    assert out.returncode == 0, out.stderr
    assert (mono / "node_modules" / "c").is_dir() and (mono / "node_modules" / "tool").is_dir()
    out = weir_in(mono, cache_dir, registry, "install", "-w", "nope")
    assert out.returncode == 2 and "--workspace=nope" in out.stderr and "a, b, w" in out.stderr
    out = weir_in(mono, cache_dir, registry, "add", "evil", "-w", "b", "--include-workspace-root")
    assert out.returncode == 0, out.stderr
    for folder in (mono, mono / "packages" / "b"):
        assert json.loads((folder / "package.json").read_text())["dependencies"]["evil"] == "^1.0.0"


def test_ls_and_why_inside_a_workspace_show_its_tree(mono: Path, cache_dir: Path, registry: LoopbackRegistry) -> None:
    assert weir_in(mono, cache_dir, registry, "install").returncode == 0
    member = mono / "packages" / "a"
    out = weir_in(member, cache_dir, registry, "ls")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[1:] == ["└─┬ a@1.0.0 -> ./packages/a", "  └─┬ b@1.0.0 -> ./packages/b", "    └── c@1.0.0", ""]
    whole = weir_in(mono, cache_dir, registry, "ls").stdout
    assert "w@1.0.0 -> ./packages/w" in whole and "tool@1.0.0" in whole
    assert weir_in(member, cache_dir, registry, "why", "tool").returncode == 4
    out = weir_in(member, cache_dir, registry, "why", "c")
    assert out.returncode == 0 and "c@1.0.0 (node_modules/c)" in out.stdout
    assert weir_in(mono, cache_dir, registry, "why", "tool", "-w", "w").returncode == 0


def test_ci_inside_a_workspace_installs_from_the_root_lockfile(mono: Path, cache_dir: Path, registry: LoopbackRegistry) -> None:
    assert weir_in(mono, cache_dir, registry, "install", "--lockfile-only").returncode == 0
    out = weir_in(mono / "packages" / "w", cache_dir, registry, "ci")
    assert out.returncode == 0, out.stderr
    assert (mono / "node_modules" / "tool").is_dir() and not (mono / "node_modules" / "c").exists()
    assert not (mono / "packages" / "w" / "node_modules").exists()


# -- the resolver ------------------------------------------------------------------------


pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def resolve_mono(reg: FakeRegistry, tmp_path: Path, root: dict[str, Any], folders: dict[str, dict[str, Any]]) -> Resolution:
    for location, pkg in folders.items():
        write(tmp_path / location, pkg)
    (tmp_path / "package.json").write_text(json.dumps(root))
    pkg = package_json_from_dict({"name": "mono", "version": "1.0.0", **root}, source="package.json")
    return await resolve(pkg, tmp_path, registry=reg, config=Config())


@pytest.mark.parametrize(
    ("workspace_version", "asked", "linked"),
    [
        ("8.0.0", "^7.2.1", False),  # npm/cli: template-oss asks arborist@^7.2.1 beside the 8.0.0 workspace
        ("6.6.6", "~3.5.0", False),  # socket.io: socket.io-client-v2 asks engine.io-client@~3.5.0
        ("1.0.0", "^1.0.0", True),
        ("2.0.0-beta.1", "*", True),  # npm: `*` takes any version, a prerelease too
        ("2.0.0-beta.1", "^2.0.0", False),  # a prerelease only where the range names one
        ("1.0.0", "latest", False),  # a tag never means a workspace
        ("1.0.0", "workspace:*", True),
    ],
)
async def test_a_workspace_is_linked_only_where_its_version_fits(tmp_path: Path, workspace_version: str, asked: str, linked: bool) -> None:
    reg = FakeRegistry()
    for v in ("1.0.0", "2.0.0", "3.5.2", "7.5.4", "8.0.0"):
        reg.add("lib", v)
    res = await resolve_mono(
        reg, tmp_path, {"workspaces": ["packages/*"]},
        {"packages/lib": {"name": "lib", "version": workspace_version}, "packages/app": {"name": "app", "version": "1.0.0", "dependencies": {"lib": asked}}},
    )
    packages = res.lockfile.packages
    assert packages["node_modules/lib"].link
    nested = packages.get("packages/app/node_modules/lib")
    assert (nested is None) == linked
    if nested is not None:
        assert nested.version == {"^7.2.1": "7.5.4", "~3.5.0": "3.5.2", "^2.0.0": "2.0.0", "latest": "8.0.0"}[asked]


async def test_workspace_entries_carry_no_dev_flag(tmp_path: Path) -> None:
    """npm: the root's edge to every workspace is a workspace edge, never dev, so neither a
    workspace the root names in devDependencies nor one only another's devDependencies
    reach is flagged (nor what it depends on)."""
    reg = FakeRegistry()
    reg.add("dep", "1.0.0")
    res = await resolve_mono(
        reg, tmp_path, {"workspaces": ["packages/*"], "devDependencies": {"c": "^1.0.0"}},
        {
            "packages/a": {"name": "a", "version": "1.0.0", "devDependencies": {"b": "^1.0.0"}},
            "packages/b": {"name": "b", "version": "1.0.0", "dependencies": {"dep": "^1.0.0"}},
            "packages/c": {"name": "c", "version": "1.0.0"},
        },
    )
    packages = res.lockfile.packages
    for path in ("packages/a", "packages/b", "packages/c", "node_modules/dep", "node_modules/c"):
        assert not ({"dev", "devOptional", "optional", "peer"} & set(packages[path].raw)), (path, packages[path].raw)


async def test_a_nested_workspace_folder_resolves_through_the_enclosing_workspace(tmp_path: Path) -> None:
    reg = FakeRegistry()
    for v in ("3.0.0", "6.0.0"):
        reg.add("num", v)
    reg.add("odd", "1.0.0", dependencies={"num": "^3.0.0"})
    res = await resolve_mono(
        reg, tmp_path, {"workspaces": ["packages/a", "packages/a/sub"], "dependencies": {"odd": "1.0.0"}},
        {
            "packages/a": {"name": "a", "version": "1.0.0", "dependencies": {"num": "^6.0.0"}},
            "packages/a/sub": {"name": "sub", "version": "1.0.0", "dependencies": {"num": "^6.0.0"}},
        },
    )
    versions = {p: e.version for p, e in res.lockfile.packages.items() if p}
    assert versions["node_modules/num"] == "3.0.0"
    assert versions["packages/a/node_modules/num"] == "6.0.0"
    assert "packages/a/sub/node_modules/num" not in versions  # node finds packages/a's copy
