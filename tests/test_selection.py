"""What goes into node_modules: --omit, platform-skipped optionals, and the no-op check."""

from __future__ import annotations

import json
import os
from pathlib import Path

from weir.core.noop import is_noop
from weir.core.npm.platform import allowed, current
from weir.core.tree.selection import installed_paths, is_installed


def test_platform_lists_follow_npm_rules() -> None:
    assert allowed(None, "linux")
    assert allowed(["linux", "darwin"], "linux")
    assert not allowed(["darwin"], "linux")
    assert not allowed(["!linux"], "linux")
    assert allowed(["!win32"], "linux")


def test_omit_rules() -> None:
    assert not is_installed({"dev": True}, {"dev"})
    assert is_installed({"dev": True}, set())
    assert not is_installed({"optional": True}, {"optional"})
    assert is_installed({"devOptional": True}, {"dev"})  # still needed by an optional prod path
    assert not is_installed({"devOptional": True}, {"dev", "optional"})
    assert not is_installed({"peer": True}, {"peer"})


def test_optional_for_another_platform_is_not_installed() -> None:
    os_name, cpu, _ = current()
    other = "win32" if os_name != "win32" else "linux"
    assert not is_installed({"optional": True, "os": [other]}, set())
    assert is_installed({"optional": True, "os": [os_name], "cpu": [cpu]}, set())


def test_children_of_omitted_packages_are_omitted() -> None:
    packages = {
        "": {},
        "node_modules/a": {"dev": True},
        "node_modules/a/node_modules/b": {},
        "node_modules/c": {},
    }
    assert installed_paths(packages, {"dev"}) == ["node_modules/c"]
    assert installed_paths(packages, set()) == ["node_modules/a", "node_modules/a/node_modules/b", "node_modules/c"]


def _installed_project(tmp_path: Path) -> Path:
    pkg = {"name": "app", "version": "1.0.0", "dependencies": {"a": "^1.0.0"}}
    entry = {"version": "1.0.0", "resolved": "http://r/a.tgz", "integrity": "sha512-x"}
    lock = {"name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": True,
            "packages": {"": {"name": "app", "version": "1.0.0", "dependencies": {"a": "^1.0.0"}}, "node_modules/a": entry}}
    (tmp_path / "package.json").write_text(json.dumps(pkg))
    (tmp_path / "package-lock.json").write_text(json.dumps(lock))
    (tmp_path / "node_modules" / "a").mkdir(parents=True)
    hidden = {"name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": True, "packages": {"node_modules/a": entry}}
    (tmp_path / "node_modules" / ".package-lock.json").write_text(json.dumps(hidden))
    return tmp_path


def test_noop_when_everything_matches(tmp_path: Path) -> None:
    assert is_noop(_installed_project(tmp_path), omit=set())


def test_not_noop_after_package_json_changes(tmp_path: Path) -> None:
    project = _installed_project(tmp_path)
    pkg = json.loads((project / "package.json").read_text())
    pkg["dependencies"]["b"] = "^2.0.0"
    (project / "package.json").write_text(json.dumps(pkg))
    assert not is_noop(project, omit=set())


def test_not_noop_when_package_json_is_newer_than_the_install(tmp_path: Path) -> None:
    project = _installed_project(tmp_path)
    hidden = project / "node_modules" / ".package-lock.json"
    st = hidden.stat()
    os.utime(hidden, ns=(st.st_atime_ns, st.st_mtime_ns - 10**9))
    assert not is_noop(project, omit=set())


def test_not_noop_when_a_package_folder_is_gone(tmp_path: Path) -> None:
    project = _installed_project(tmp_path)
    (project / "node_modules" / "a").rmdir()
    assert not is_noop(project, omit=set())


def test_not_noop_without_hidden_lockfile(tmp_path: Path) -> None:
    project = _installed_project(tmp_path)
    assert is_noop(project, omit={"dev"})  # a is a prod dependency: the same tree either way
    (project / "node_modules" / ".package-lock.json").unlink()
    assert not is_noop(project, omit=set())


def test_noop_when_npm_left_resolved_out_of_the_hidden_lockfile(tmp_path: Path) -> None:
    # npm with omit-lockfile-registry-resolved writes node_modules/.package-lock.json without "resolved".
    project = _installed_project(tmp_path)
    hidden_path = project / "node_modules" / ".package-lock.json"
    hidden = json.loads(hidden_path.read_text())
    del hidden["packages"]["node_modules/a"]["resolved"]
    hidden_path.write_text(json.dumps(hidden))
    assert is_noop(project, omit=set())
    hidden["packages"]["node_modules/a"]["integrity"] = "sha512-other"
    hidden_path.write_text(json.dumps(hidden))
    assert not is_noop(project, omit=set())
