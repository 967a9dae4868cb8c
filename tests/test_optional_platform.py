"""An optional dependency skipped for this machine's os/cpu takes its subtree with it.

npm keeps the whole optional subtree in package-lock.json (resolution is the
same on every platform) but installs neither the skipped package nor anything
only it needs; a package also needed from elsewhere stays. The loopback tests
publish a platform package for a cpu no machine here has (``wasm32``) with
dependencies of its own, install with npm 11 and with weir, and require the
same lockfile, the same hidden lockfile and the same node_modules. The network
test does the same with oxc-parser, whose wasm32 binding needs six packages.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from loopback import LoopbackRegistry
from test_bundled import HIDDEN, assert_same_file, lock_packages, run_npm, run_weir

from weir.core.tree.selection import installed_paths

APP = {"name": "app", "version": "1.0.0", "dependencies": {"host": "^1.0.0", "user": "^1.0.0"}}
SKIPPED = ["node_modules/helper", "node_modules/host-wasm", "node_modules/runtime"]


def publish(registry: LoopbackRegistry) -> None:
    """host optionally needs host-wasm (cpu wasm32), which needs runtime (which needs helper)
    and shared; user needs shared too."""
    registry.add("host", "1.0.0", optional_dependencies={"host-wasm": "1.0.0"})
    registry.add("host-wasm", "1.0.0", cpu=["wasm32"], dependencies={"runtime": "^1.0.0", "shared": "^1.0.0"})
    registry.add("runtime", "1.0.0", dependencies={"helper": "^1.0.0"})
    registry.add("helper", "1.0.0")
    registry.add("shared", "1.0.0")
    registry.add("user", "1.0.0", dependencies={"shared": "^1.0.0"})


def installed(project: Path) -> list[str]:
    """Every package folder under node_modules (scoped ones as @scope/name)."""
    root = project / "node_modules"
    out = []
    for child in sorted(root.iterdir()):
        if child.name.startswith("."):
            continue
        out += [f"{child.name}/{c.name}" for c in sorted(child.iterdir())] if child.name.startswith("@") else [child.name]
    return out


def test_install_leaves_out_the_skipped_packages_subtree_as_npm_does(project: Callable[..., Path], tmp_path: Path, registry: LoopbackRegistry) -> None:
    publish(registry)
    npm_app, app = project(APP), project(APP)
    run_npm(npm_app, tmp_path / "npm-cache", registry.url, "install")
    run_weir(app, tmp_path / "weir-cache", registry.url, "install")
    assert_same_file(app / "package-lock.json", npm_app / "package-lock.json")
    packages = lock_packages(app)
    assert all(packages[p].get("optional") for p in SKIPPED), "the lockfile keeps the whole optional subtree"
    assert installed(app) == installed(npm_app) == ["host", "shared", "user"]
    assert_same_file(app / HIDDEN, npm_app / HIDDEN)
    ls = run_weir(app, tmp_path / "weir-cache", registry.url, "ls", "--all")
    assert "extraneous" not in ls.stdout and "shared@1.0.0" in ls.stdout


def test_ci_and_a_reinstall_leave_them_out_too(project: Callable[..., Path], tmp_path: Path, registry: LoopbackRegistry) -> None:
    publish(registry)
    app, cache = project(APP), tmp_path / "weir-cache"
    run_weir(app, cache, registry.url, "install", "--lockfile-only")
    run_weir(app, cache, registry.url, "ci")
    assert installed(app) == ["host", "shared", "user"]
    assert sorted(lock_packages(app, HIDDEN)) == ["node_modules/host", "node_modules/shared", "node_modules/user"]
    hidden = (app / HIDDEN).read_bytes()
    second = run_weir(app, cache, registry.url, "install")
    assert "up to date" in second.stderr
    # An older weir installed the subtree: the next install removes it.
    for name in ("runtime", "helper"):
        shutil.copytree(app / "node_modules" / "shared", app / "node_modules" / name)
        (app / "node_modules" / name / "package.json").write_text(json.dumps({"name": name, "version": "1.0.0"}))
    (app / HIDDEN).unlink()
    run_weir(app, cache, registry.url, "install")
    assert installed(app) == ["host", "shared", "user"]
    assert (app / HIDDEN).read_bytes() == hidden


def _packages(**entries: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {"": {"dependencies": {"a": "1", "b": "1"}}} | {f"node_modules/{n}": e for n, e in entries.items()}


def test_a_dependent_through_a_required_edge_goes_with_the_skipped_package() -> None:
    # a is optional (root → a optional); a needs wasm (required edge), so a cannot work without it.
    packages = _packages(
        a={"optional": True, "dependencies": {"wasm": "1"}},
        wasm={"optional": True, "cpu": ["wasm32"], "dependencies": {"c": "1"}},
        c={"optional": True},
        b={},
    )
    packages[""] = {"dependencies": {"b": "1"}, "optionalDependencies": {"a": "1"}}
    assert installed_paths(packages, set()) == ["node_modules/b"]


def test_two_skipped_packages_sharing_a_dependency_take_it_with_them() -> None:
    packages = _packages(
        a={"optional": True, "os": ["aix"], "dependencies": {"rt": "1"}},
        b={"optional": True, "os": ["sunos"], "dependencies": {"rt": "1"}},
        rt={"optional": True},
    )
    packages[""] = {"optionalDependencies": {"a": "1", "b": "1"}}
    assert installed_paths(packages, set()) == []


def test_a_nested_copy_is_found_before_the_hoisted_one() -> None:
    # wasm's rt is its own nested copy: the hoisted rt (a root dependency) stays, wasm's `only` goes.
    packages = _packages(
        wasm={"optional": True, "cpu": ["wasm32"], "dependencies": {"rt": "2", "only": "1"}},
        **{"wasm/node_modules/rt": {"optional": True, "dependencies": {"only": "1"}}},
        only={"optional": True},
        rt={},
    )
    packages[""] = {"dependencies": {"rt": "1"}, "optionalDependencies": {"wasm": "1"}}
    assert installed_paths(packages, set()) == ["node_modules/rt"]


OXC = {"name": "app", "version": "1.0.0", "dependencies": {"oxc-parser": "0.140.0"}}
OXC_WASM_SUBTREE = {
    "node_modules/@emnapi/core", "node_modules/@emnapi/runtime", "node_modules/@emnapi/wasi-threads",
    "node_modules/@napi-rs/wasm-runtime", "node_modules/@tybys/wasm-util", "node_modules/tslib",
}


@pytest.mark.network
def test_oxc_parser_wasm_binding_subtree_is_not_installed_as_npm(project: Callable[..., Path], tmp_path: Path) -> None:
    registry = "https://registry.npmjs.org/"
    npm_app, app = project(OXC), project(OXC)
    run_npm(npm_app, tmp_path / "npm-cache", registry, "install")
    run_weir(app, tmp_path / "weir-cache", registry, "install")
    assert_same_file(app / "package-lock.json", npm_app / "package-lock.json")
    assert OXC_WASM_SUBTREE <= set(lock_packages(app)), "oxc-parser@0.140.0's wasm binding no longer needs these"
    assert installed(app) == installed(npm_app)
    assert lock_packages(app, HIDDEN) == lock_packages(npm_app, HIDDEN)
    assert not OXC_WASM_SUBTREE & set(lock_packages(app, HIDDEN))
    shutil.rmtree(app / "node_modules")
    run_weir(app, tmp_path / "weir-cache", registry, "ci")
    assert installed(app) == installed(npm_app)
    assert lock_packages(app, HIDDEN) == lock_packages(npm_app, HIDDEN)


ENGINES_APP = {"name": "app", "version": "1.0.0", "dependencies": {"host": "^1.0.0", "user": "^1.0.0"}}


def publish_engines(registry: LoopbackRegistry) -> None:
    """host optionally needs future (engines.node >=99: no node here runs it), which needs
    runtime and shared, old (engines.node <1) and now (>=1, any node); user needs shared too."""
    registry.add("host", "1.0.0", optional_dependencies={"future": "1.0.0", "old": "1.0.0", "now": "1.0.0"})
    registry.add("future", "1.0.0", engines={"node": ">=99"}, dependencies={"runtime": "^1.0.0", "shared": "^1.0.0"})
    registry.add("old", "1.0.0", engines={"node": "<1"})
    registry.add("now", "1.0.0", engines={"node": ">=1"})
    registry.add("runtime", "1.0.0")
    registry.add("shared", "1.0.0")
    registry.add("user", "1.0.0", dependencies={"shared": "^1.0.0"})


def test_optional_packages_whose_engines_exclude_this_node_are_skipped_as_npm_does(
        project: Callable[..., Path], tmp_path: Path, registry: LoopbackRegistry) -> None:
    publish_engines(registry)
    npm_app, app = project(ENGINES_APP), project(ENGINES_APP)
    run_npm(npm_app, tmp_path / "npm-cache", registry.url, "install")
    run_weir(app, tmp_path / "weir-cache", registry.url, "install")
    assert_same_file(app / "package-lock.json", npm_app / "package-lock.json")
    assert {"node_modules/future", "node_modules/old", "node_modules/runtime"} <= set(lock_packages(app))
    assert installed(app) == installed(npm_app) == ["host", "now", "shared", "user"]
    assert_same_file(app / HIDDEN, npm_app / HIDDEN)
    cache = tmp_path / "weir-cache"
    assert "up to date" in run_weir(app, cache, registry.url, "install").stderr
    shutil.rmtree(app / "node_modules")
    run_weir(app, cache, registry.url, "ci")
    assert installed(app) == ["host", "now", "shared", "user"]
    assert_same_file(app / HIDDEN, npm_app / HIDDEN)


def test_node_is_asked_only_when_an_optional_entry_names_engines_node(monkeypatch: pytest.MonkeyPatch) -> None:
    # The no-op check runs this on every install: no `node --version` for a lockfile that does not need it.
    asked: list[bool] = []
    monkeypatch.setattr("weir.core.tree.selection.running_node", lambda: asked.append(True) or "20.0.0")
    packages = _packages(a={"engines": {"node": ">=99"}}, b={"optional": True, "engines": {"npm": ">=99"}})
    assert installed_paths(packages, set()) == ["node_modules/a", "node_modules/b"]
    assert not asked
    packages["node_modules/b"]["engines"] = {"node": ">=99"}
    assert installed_paths(packages, set()) == ["node_modules/a"]
    assert asked == [True]
