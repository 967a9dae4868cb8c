"""Every lockfile npm writes: v1 (npm 6), v2, v3, with and without ``resolved``.

npm 11 is the oracle throughout. The unit tests read the files npm wrote for
tests/fixtures/lockfile-variants/ (see its README). The end-to-end tests run
npm and weir on twin projects against the loopback registry: npm writes the
lockfile variant, then ``weir ci`` must give ``npm ci``'s node_modules and
leave package-lock.json alone, and ``weir install`` must write the bytes
``npm install`` writes, with nothing changed and with a package added.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from loopback import LoopbackRegistry
from test_ci_npm_parity import assert_same_tree, read_tree

from weir.core.tree.lockfile import dumps_lockfile, loads_lockfile, registry_resolved

VARIANTS = Path(__file__).parent / "fixtures" / "lockfile-variants"
PROJECTS = ("alias", "chalk", "peers", "workspaces")
APP = {
    "name": "app",
    "version": "1.0.0",
    "dependencies": {"a": "^1.0.0", "c-one": "npm:c@1.0.0"},
    "devDependencies": {"tool": "^1.0.0"},
}


# -- the files npm wrote ----------------------------------------------------------------


@pytest.mark.parametrize("project", PROJECTS)
@pytest.mark.parametrize("variant", ["v2", "v2-omit"])
def test_v2_lockfiles_round_trip_npms_bytes(project: str, variant: str) -> None:
    """A v2 lockfile is written back as v2 with the legacy ``dependencies`` section npm writes."""
    data = (VARIANTS / project / f"package-lock.{variant}.json").read_bytes()
    lock = loads_lockfile(data)
    assert lock.lockfile_version == 2
    omit = registry_resolved(lock) if variant.endswith("omit") else None
    assert dumps_lockfile(lock, omit_resolved=omit) == data


@pytest.mark.parametrize("project", PROJECTS)
@pytest.mark.parametrize("version", [2, 3])
def test_omit_lockfile_registry_resolved_writes_npms_bytes(project: str, version: int) -> None:
    """From npm's lockfile with ``resolved`` to the one npm writes for the same project with the
    setting on: the registry's URLs go, a workspace link's target stays."""
    full = loads_lockfile((VARIANTS / project / f"package-lock.v{version}.json").read_bytes())
    expected = (VARIANTS / project / f"package-lock.v{version}-omit.json").read_bytes()
    assert dumps_lockfile(full, omit_resolved=registry_resolved(full)) == expected


def test_npm6_lockfile_reads_as_the_tree_npm_upgrades_it_to() -> None:
    """npm 6's nested tree gives the paths, versions, hashes and flags npm 11's v3 upgrade has;
    ``requires`` becomes ``dependencies``."""
    v1 = loads_lockfile((VARIANTS / "chalk" / "package-lock.v1.json").read_bytes())
    v3 = loads_lockfile((VARIANTS / "chalk" / "package-lock.v3-from-v1.json").read_bytes())
    assert v1.lockfile_version == 1
    assert sorted(v1.packages) == sorted(p for p in v3.packages if p)
    for path, entry in v1.packages.items():
        want = v3.packages[path]
        assert (entry.version, entry.resolved, entry.integrity, entry.dev) == (want.version, want.resolved, want.integrity, want.dev)
        assert entry.dependencies == want.dependencies


def test_npm6_nesting_aliases_and_optional_requires() -> None:
    doc = {
        "name": "app",
        "lockfileVersion": 1,
        "requires": True,
        "dependencies": {
            "b": {"version": "1.0.0", "resolved": "https://r/b/-/b-1.0.0.tgz", "integrity": "sha512-b",
                  "requires": {"c": "^1.0.0", "fsevents": "^2"},
                  "dependencies": {"c": {"version": "1.1.0", "integrity": "sha512-c1"}}},
            "c": {"version": "2.0.0", "integrity": "sha512-c2"},
            "c-one": {"version": "npm:c@1.0.0", "integrity": "sha512-c0"},
            "fsevents": {"version": "2.3.3", "integrity": "sha512-f", "optional": True},
        },
    }
    lock = loads_lockfile(json.dumps(doc).encode())
    assert lock.packages["node_modules/b/node_modules/c"].version == "1.1.0"
    assert lock.packages["node_modules/b"].dependencies == {"c": "^1.0.0"}
    assert lock.packages["node_modules/b"].optional_dependencies == {"fsevents": "^2"}
    assert (lock.packages["node_modules/c-one"].name, lock.packages["node_modules/c-one"].version) == ("c", "1.0.0")
    assert lock.packages["node_modules/c"].resolved is None  # npm 6 left it out: the registry serves it


# -- end to end, npm as the oracle -----------------------------------------------------


def run_weir(project: Path, cache: Path, registry: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    run_env = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_") or k == "npm_config_userconfig"}
    run_env.update(CI="true", **(env or {}))
    cmd = [sys.executable, "-m", "weir.tui.cli.main", *args, "--registry", registry, "--cache", str(cache), "-C", str(project)]
    return subprocess.run(cmd, check=False, capture_output=True, text=True, env=run_env, timeout=300)


def run_npm(project: Path, cache: Path, registry: str, *args: str) -> None:
    """npm 11 with a user config of its own: this machine's ~/.npmrc must not change what it writes."""
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")}
    env["CI"] = "true"
    userconfig = project.parent / f"{project.name}.npmrc"
    userconfig.touch()
    cmd = ["npm", *args, "--ignore-scripts", "--no-audit", "--no-fund", "--userconfig", str(userconfig),
           "--cache", str(cache), "--registry", registry]
    out = subprocess.run(cmd, check=False, cwd=project, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr


def ok(out: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert out.returncode == 0, out.stdout + out.stderr
    return out


class Twins:
    """The same project for npm and for weir, each with its own cache."""

    def __init__(self, project: Callable[..., Path], tmp_path: Path, registry: LoopbackRegistry, pkg: dict[str, Any] = APP) -> None:
        self.npm, self.weir = project(pkg), project(pkg)
        self.tmp, self.url = tmp_path, registry.url

    def npm_run(self, *args: str) -> None:
        run_npm(self.npm, self.tmp / "npm-cache", self.url, *args)

    def weir_run(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run_weir(self.weir, self.tmp / "weir-cache", self.url, *args, env=env)

    def lockfile(self, data: bytes) -> None:
        """Give both projects this package-lock.json and no node_modules."""
        for folder in (self.npm, self.weir):
            (folder / "package-lock.json").write_bytes(data)
            subprocess.run(["rm", "-rf", str(folder / "node_modules")], check=True)

    def lock_bytes(self, tool: str) -> bytes:
        return (getattr(self, tool) / "package-lock.json").read_bytes()

    def assert_same_lockfile(self) -> None:
        ours, npms = self.lock_bytes("weir").decode(), self.lock_bytes("npm").decode()
        assert ours == npms


@pytest.fixture
def twins(small_graph: LoopbackRegistry, project: Callable[..., Path], tmp_path: Path) -> Twins:
    small_graph.add("extra", "1.0.0")
    return Twins(project, tmp_path, small_graph)


def npm_lockfile(twins: Twins, *flags: str) -> bytes:
    """What npm writes for the project (``--package-lock-only`` with ``flags``)."""
    twins.npm_run("install", "--package-lock-only", *flags)
    return twins.lock_bytes("npm")


def check_ci(twins: Twins, data: bytes) -> None:
    """`weir ci` on ``data`` gives npm ci's node_modules and leaves package-lock.json as it was."""
    twins.lockfile(data)
    twins.npm_run("ci")
    ok(twins.weir_run("ci"))
    assert_same_tree(read_tree(twins.npm), read_tree(twins.weir))
    assert twins.lock_bytes("weir") == data, "weir ci never writes package-lock.json"


def check_install(twins: Twins, data: bytes, *flags: str) -> None:
    """`weir install` on ``data`` writes what npm install writes, then again after adding a package."""
    twins.lockfile(data)
    for extra in ((), ("extra",)):
        twins.npm_run("install", *flags, *extra)
        ok(twins.weir_run("install", *flags, *extra))
        twins.assert_same_lockfile()


def test_lockfile_without_resolved(twins: Twins) -> None:
    """npm under omit-lockfile-registry-resolved: `weir ci` installs it (it used to refuse every
    entry: ELOCKFILE no resolved URL), `weir install` keeps writing it without `resolved`."""
    data = npm_lockfile(twins, "--omit-lockfile-registry-resolved")
    assert b'"resolved"' not in data
    check_ci(twins, data)
    check_install(twins, data, "--omit-lockfile-registry-resolved")
    assert b'"resolved"' not in twins.lock_bytes("weir")


def test_lockfile_without_resolved_with_the_setting_off(twins: Twins) -> None:
    """As npm: the entries npm wrote without `resolved` stay so, a package added gets one."""
    data = npm_lockfile(twins, "--omit-lockfile-registry-resolved")
    check_install(twins, data, "--omit-lockfile-registry-resolved=false")
    assert b'"resolved"' in twins.lock_bytes("weir")


def test_lockfile_without_resolved_or_integrity(twins: Twins, small_graph: LoopbackRegistry) -> None:
    """An entry with neither takes both from the registry's packument, as npm does; the lockfile
    keeps the entry as it was (npm writes back no integrity it learned)."""
    doc = json.loads(npm_lockfile(twins, "--omit-lockfile-registry-resolved"))
    del doc["packages"]["node_modules/b"]["integrity"]
    data = (json.dumps(doc, indent=2) + "\n").encode()
    check_ci(twins, data)
    assert small_graph.tarball_requests("b")
    check_install(twins, data, "--omit-lockfile-registry-resolved")


def test_v2_lockfile(twins: Twins) -> None:
    """`weir ci` leaves a v2 lockfile as it is (it used to rewrite it as v3); `weir install`
    keeps it v2, legacy `dependencies` section included, byte for byte as npm does."""
    data = npm_lockfile(twins, "--lockfile-version", "2")
    assert b'"lockfileVersion": 2' in data
    check_ci(twins, data)
    check_install(twins, data)
    assert b'"extra": {' in twins.lock_bytes("weir")  # in the legacy section too


def test_v2_lockfile_without_resolved(twins: Twins) -> None:
    data = npm_lockfile(twins, "--lockfile-version", "2", "--omit-lockfile-registry-resolved")
    check_ci(twins, data)
    check_install(twins, data, "--omit-lockfile-registry-resolved")


def v1_from_v2(data: bytes) -> bytes:
    """npm 6's lockfile for the same tree: v2 kept npm 6's format in its legacy section."""
    doc = json.loads(data)
    v1 = {"name": doc["name"], "version": doc["version"], "lockfileVersion": 1, "requires": True, "dependencies": doc["dependencies"]}
    return (json.dumps(v1, indent=2) + "\n").encode()


def test_v1_lockfile(twins: Twins) -> None:
    """npm 6's lockfile: `weir ci` gives npm ci's node_modules (bins included: v1 has none,
    they come from the registry's manifests); `weir install` upgrades it to the v3 npm writes."""
    data = v1_from_v2(npm_lockfile(twins, "--lockfile-version", "2"))
    check_ci(twins, data)
    assert (twins.weir / "node_modules" / ".bin" / "tool").is_symlink()
    check_install(twins, data)
    assert json.loads(twins.lock_bytes("weir"))["lockfileVersion"] == 3


def test_v1_lockfile_out_of_sync_is_refused(twins: Twins) -> None:
    data = v1_from_v2(npm_lockfile(twins, "--lockfile-version", "2"))
    twins.lockfile(data)
    pkg = json.loads((twins.weir / "package.json").read_text())
    pkg["dependencies"]["extra"] = "^1.0.0"
    (twins.weir / "package.json").write_text(json.dumps(pkg))
    out = twins.weir_run("ci")
    assert out.returncode == 7, out.stderr
    assert "extra" in out.stderr


@pytest.mark.parametrize("where", ["npmrc", "env", "flag"])
def test_the_setting_strips_resolved_as_npm_does(twins: Twins, where: str) -> None:
    """From a lockfile with `resolved`, npm with the setting on writes it without; so does weir,
    wherever the setting comes from. `--omit-lockfile-registry-resolved=false` wins over .npmrc."""
    data = npm_lockfile(twins)
    assert b'"resolved"' in data
    twins.lockfile(data)
    twins.npm_run("install", "--omit-lockfile-registry-resolved")
    flags: tuple[str, ...] = ()
    env = None
    if where == "npmrc":
        (twins.weir / ".npmrc").write_text("omit-lockfile-registry-resolved=true\n")
    elif where == "env":
        env = {"npm_config_omit_lockfile_registry_resolved": "true"}
    else:
        flags = ("--omit-lockfile-registry-resolved",)
    ok(twins.weir_run("install", *flags, env=env))
    twins.assert_same_lockfile()
    hidden = (twins.weir / "node_modules" / ".package-lock.json").read_text()
    assert '"resolved"' not in hidden
    if where == "npmrc":
        twins.lockfile(data)
        ok(twins.weir_run("install", "--omit-lockfile-registry-resolved=false"))
        assert twins.lock_bytes("weir") == data


def test_scoped_entries_without_resolved_come_from_their_registry(
    registry: LoopbackRegistry, registry2: LoopbackRegistry, project: Callable[..., Path], tmp_path: Path
) -> None:
    """Without `resolved`, `@scope/pkg` is fetched from `@scope:registry`, the rest from `registry`."""
    registry.add("plain", "1.0.0")
    registry2.add("@scope/pkg", "1.0.0")
    npmrc = f"@scope:registry={registry2.url}/\n"
    app = project({"name": "app", "version": "1.0.0", "dependencies": {"plain": "^1.0.0", "@scope/pkg": "^1.0.0"}}, npmrc=npmrc)
    ok(run_weir(app, tmp_path / "c1", registry.url, "install", "--lockfile-only", "--omit-lockfile-registry-resolved"))
    data = (app / "package-lock.json").read_bytes()
    assert b'"resolved"' not in data
    ok(run_weir(app, tmp_path / "c2", registry.url, "ci"))
    assert registry2.tarball_requests("@scope/pkg") and not registry.tarball_requests("@scope/pkg")
    assert registry.tarball_requests("plain")
    assert (app / "package-lock.json").read_bytes() == data


@pytest.mark.parametrize(
    ("spec", "entry", "says"),
    [
        ("file:vendor/left-pad", {"version": "1.3.0", "resolved": "file:vendor/left-pad"}, ["folder", "not a link"]),
        (
            "https://example.invalid/left-pad-1.3.0.tgz",
            {"version": "1.3.0", "resolved": "https://example.invalid/left-pad-1.3.0.tgz"},
            ["without an integrity", "npm install"],
        ),
    ],
    ids=["folder-not-linked", "url-without-integrity"],
)
def test_entries_weir_cannot_install_are_refused_naming_them(
    small_graph: LoopbackRegistry, project: Callable[..., Path], tmp_path: Path, spec: str, entry: dict[str, str], says: list[str]
) -> None:
    """`weir ci` says which package, what its lockfile entry is and what to do, before touching
    anything (they used to fail as EINTEGRITY: no integrity recorded). Git entries install
    (tests/test_git_deps.py)."""
    app = project({"name": "app", "version": "1.0.0", "dependencies": {"a": "^1.0.0"}})
    ok(run_weir(app, tmp_path / "c", small_graph.url, "install", "--lockfile-only"))
    doc = json.loads((app / "package-lock.json").read_text())
    doc["packages"][""]["dependencies"]["left-pad"] = spec
    doc["packages"]["node_modules/left-pad"] = entry
    (app / "package-lock.json").write_text(json.dumps(doc, indent=2) + "\n")
    pkg = json.loads((app / "package.json").read_text())
    (app / "package.json").write_text(json.dumps(replace_deps(pkg, {"left-pad": spec})))
    out = run_weir(app, tmp_path / "c", small_graph.url, "ci")
    assert out.returncode == 3, out.stderr
    for text in ("left-pad", *says):
        assert text in out.stderr
    assert "EINTEGRITY" not in out.stderr
    assert not (app / "node_modules").exists()


def replace_deps(pkg: dict[str, Any], extra: dict[str, str]) -> dict[str, Any]:
    return pkg | {"dependencies": dict(pkg["dependencies"]) | extra}


def test_v2_round_trip_through_the_resolver_keeps_v2() -> None:
    """Writing any tree as v2 derives the legacy section from ``packages`` alone: npm's own v2 file,
    stripped of its legacy section, is written back whole."""
    data = (VARIANTS / "workspaces" / "package-lock.v2.json").read_bytes()
    doc = json.loads(data)
    without_legacy = json.dumps({k: v for k, v in doc.items() if k != "dependencies"}).encode()
    lock = loads_lockfile(without_legacy)
    assert dumps_lockfile(replace(lock, lockfile_version=2)) == data
