"""The no-op check reads the hidden lockfile's header and every root dependency's entry."""

from __future__ import annotations

import json
from pathlib import Path

from weir.core.noop import is_noop

ENTRY = {"version": "1.0.0", "resolved": "file:vendor/a-1.0.0.tgz", "integrity": "sha512-x"}


def installed(tmp_path: Path, *, hidden_header: dict[str, str]) -> Path:
    """A project whose node_modules an install completed, with the given hidden lockfile header."""
    deps = {"a": "file:./vendor/a-1.0.0.tgz"}
    (tmp_path / "package.json").write_text(json.dumps({"name": "app", "version": "1.0.0", "dependencies": deps}))
    lock = {"name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": True,
            "packages": {"": {"name": "app", "version": "1.0.0", "dependencies": deps}, "node_modules/a": ENTRY}}
    (tmp_path / "package-lock.json").write_text(json.dumps(lock))
    (tmp_path / "node_modules/a").mkdir(parents=True)
    hidden = {**hidden_header, "lockfileVersion": 3, "requires": True, "packages": {"node_modules/a": ENTRY}}
    (tmp_path / "node_modules/.package-lock.json").write_text(json.dumps(hidden))
    return tmp_path


def test_noop_when_the_header_is_package_lock_json_s(tmp_path: Path) -> None:
    assert is_noop(installed(tmp_path, hidden_header={"name": "app", "version": "1.0.0"}), omit=set())


def test_hidden_lockfile_without_header_is_not_trusted_for_a_noop(tmp_path: Path) -> None:
    assert not is_noop(installed(tmp_path, hidden_header={}), omit=set())


def test_lockfile_missing_a_dependency_entry_is_not_a_noop(tmp_path: Path) -> None:
    project = installed(tmp_path, hidden_header={"name": "app", "version": "1.0.0"})
    for name in ("package-lock.json", "node_modules/.package-lock.json"):
        doc = json.loads((project / name).read_text())
        del doc["packages"]["node_modules/a"]
        (project / name).write_text(json.dumps(doc))
    (project / "node_modules/a").rmdir()
    assert not is_noop(project, omit=set())
