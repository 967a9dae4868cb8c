"""`weir why` end to end: a real install against the loopback registry, then questions about it.

The graph has two copies of c (c@2.0.0 hoisted for a, c@1.1.0 nested under b
because the root's copy does not satisfy b's ^1.0.0) and rejected candidates
of every common kind: a deprecated 1.2.0, a prerelease 1.3.0-beta.1, an
engines-incompatible 2.1.0 and an out-of-range 3.0.0.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from loopback import LoopbackRegistry
from test_install_e2e import weir


@pytest.fixture
def installed(registry: LoopbackRegistry, project: Callable[..., Path], cache_dir: Path) -> Path:
    registry.add("a", "1.0.0", dependencies={"b": "^1.0.0", "c": "^2.0.0"})
    registry.add("b", "1.0.0", dependencies={"c": "^1.0.0"})
    registry.add("c", "1.0.0")
    registry.add("c", "1.1.0")
    registry.add("c", "1.2.0", deprecated="use c@1.1.0")
    registry.add("c", "1.3.0-beta.1")
    registry.add("c", "2.0.0")
    registry.add("c", "2.1.0", engines={"node": ">=999"})
    registry.add("c", "3.0.0")
    app = project({"name": "app", "version": "1.0.0", "dependencies": {"a": "^1.0.0"}})
    out = weir(app, cache_dir, registry, "install")
    assert out.returncode == 0, out.stderr
    return app


def why(app: Path, cache: Path, registry: LoopbackRegistry, *args: str) -> tuple[int, str, str]:
    before = len(registry.requests)
    out = weir(app, cache, registry, "why", *args)
    assert len(registry.requests) == before, "weir why must never touch the registry"
    return out.returncode, out.stdout, out.stderr


def section(text: str, header: str) -> str:
    """The block of `weir why` output that starts with ``header``."""
    start = text.index(header)
    end = text.find("\n\n", start)
    return text[start : end if end != -1 else None]


def test_why_explains_both_copies_from_recorded_decisions(installed: Path, cache_dir: Path, registry: LoopbackRegistry) -> None:
    assert (installed / "node_modules/.weir/decisions.json").is_file()
    code, out, err = why(installed, cache_dir, registry, "c")
    assert code == 0, err
    nested = section(out, "c@1.1.0 (node_modules/b/node_modules/c)")
    assert "app > b@1.0.0 (prod) asks for ^1.0.0" in nested
    assert "highest-in-range" in nested
    assert "placement: nested: node_modules/c is c@2.0.0" in nested
    assert "that copy is required by app > a@1.0.0 (prod) asks for ^2.0.0" in nested
    assert "1.2.0: deprecated (use c@1.1.0)" in nested
    assert "1.3.0-beta.1: a prerelease" in nested
    assert "packument: miss" in nested or "packument: hit" in nested
    hoisted = section(out, "c@2.0.0 (node_modules/c)")
    assert "app > a@1.0.0 (prod) asks for ^2.0.0" in hoisted
    assert "placement: hoisted: hoisted to the root" in hoisted
    assert "2.1.0: its engines field rejects this node" in hoisted
    assert "3.0.0: outside the range" in hoisted
    assert "answered from package-lock.json" not in out


def test_why_not_names_the_excluding_requirements(installed: Path, cache_dir: Path, registry: LoopbackRegistry) -> None:
    code, out, err = why(installed, cache_dir, registry, "c@3")
    assert code == 0, err
    assert "c@3 is not installed" in out
    assert "node_modules/c (c@2.0.0): c@3.0.0 is excluded by:\n    app > a@1.0.0 (prod) asks for ^2.0.0" in out
    assert "node_modules/b/node_modules/c (c@1.1.0): c@3.0.0 is excluded by:\n    app > b@1.0.0 (prod) asks for ^1.0.0" in out


def test_why_not_an_allowed_version_names_the_preference(installed: Path, cache_dir: Path, registry: LoopbackRegistry) -> None:
    code, out, _ = why(installed, cache_dir, registry, "c@1.2.0")
    assert code == 0
    assert "every requirement allows c@1.2.0, but it lost: deprecated (use c@1.1.0)" in out
    # the hoisted copy's range excludes 1.2.0 outright
    assert "node_modules/c (c@2.0.0): c@1.2.0 is excluded by:" in out


def test_why_with_an_installed_version_shows_only_that_copy(installed: Path, cache_dir: Path, registry: LoopbackRegistry) -> None:
    code, out, _ = why(installed, cache_dir, registry, "c@^2")
    assert code == 0
    assert "c@2.0.0 (node_modules/c)" in out
    assert "node_modules/b/node_modules/c" not in out


def test_why_json_has_every_field(installed: Path, cache_dir: Path, registry: LoopbackRegistry) -> None:
    code, out, _ = why(installed, cache_dir, registry, "c", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["source"] == "recorded"
    by_location = {c["location"]: c for c in doc["copies"]}
    nested = by_location["node_modules/b/node_modules/c"]
    decision = nested["decision"]
    assert decision["version"] == "1.1.0"
    assert decision["rule"] == "highest-in-range"
    assert decision["requirements"] == [{"spec": "^1.0.0", "kind": "prod", "path": ["app", "b@1.0.0"], "override": None}]
    assert decision["placement"]["blocker"] == "node_modules/c"
    assert decision["metadata"]["cache_status"] in ("miss", "hit")
    verdicts = {c["version"]: c["verdict"] for c in decision["candidates"]}
    assert verdicts["1.2.0"] == "deprecated" and verdicts["1.1.0"] == "chosen"
    assert nested["blocker_requirements"][0]["path"] == ["app", "a@1.0.0"]
    assert by_location["node_modules/c"]["decision"]["placement"]["hoisted"] is True

    code, out, _ = why(installed, cache_dir, registry, "c@3", "--json")
    doc = json.loads(out)
    assert doc["copies"] == []
    excluded = {w["location"]: w["excluded_by"][0]["spec"] for w in doc["why_not"]}
    assert excluded == {"node_modules/c": "^2.0.0", "node_modules/b/node_modules/c": "^1.0.0"}


def test_lockfile_fallback_without_recorded_decisions(installed: Path, cache_dir: Path, registry: LoopbackRegistry) -> None:
    (installed / "node_modules/.weir/decisions.json").unlink()
    code, out, err = why(installed, cache_dir, registry, "c")
    assert code == 0, err
    assert "answered from package-lock.json" in out
    nested = section(out, "c@1.1.0 (node_modules/b/node_modules/c)")
    assert "app > b@1.0.0 (prod) asks for ^1.0.0" in nested
    assert "chosen by: lockfile" in nested
    assert "placement: nested: node_modules/c is c@2.0.0" in nested
    # the cached packument lets the verdicts be recomputed offline
    assert "1.2.0: deprecated" in nested
    assert "app > a@1.0.0 (prod) asks for ^2.0.0" in section(out, "c@2.0.0 (node_modules/c)")
    code, out, _ = why(installed, cache_dir, registry, "c@3")
    assert "c@3.0.0 is excluded by:\n    app > a@1.0.0 (prod) asks for ^2.0.0" in out


def test_a_stale_decisions_file_is_not_trusted(installed: Path, cache_dir: Path, registry: LoopbackRegistry) -> None:
    lock = json.loads((installed / "package-lock.json").read_text())
    lock["packages"]["node_modules/b/node_modules/c"]["version"] = "1.0.0"  # as if npm had changed it
    (installed / "package-lock.json").write_text(json.dumps(lock, indent=2))
    code, out, _ = why(installed, cache_dir, registry, "c")
    assert code == 0
    assert "c@1.0.0 (node_modules/b/node_modules/c)" in out
    assert "answered from package-lock.json" in out


def test_lockfile_only_records_decisions_in_the_cache(installed: Path, cache_dir: Path, registry: LoopbackRegistry) -> None:
    import shutil

    shutil.rmtree(installed / "node_modules")
    (installed / "package-lock.json").unlink()
    assert weir(installed, cache_dir, registry, "install", "--lockfile-only").returncode == 0
    assert not (installed / "node_modules").exists()
    code, out, _ = why(installed, cache_dir, registry, "c", "--json")
    assert code == 0
    assert json.loads(out)["source"] == "recorded"


def test_unknown_name_exits_4_like_a_resolution_error(installed: Path, cache_dir: Path, registry: LoopbackRegistry) -> None:
    code, out, err = why(installed, cache_dir, registry, "nope")
    assert code == 4
    assert "No dependencies found matching nope" in err
    assert out == ""
