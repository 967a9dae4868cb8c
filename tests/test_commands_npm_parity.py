"""`weir update`, `dedupe`, `prune`, `outdated` and `rebuild` against npm 11 on the same project.

Each test builds one starting state (a lockfile npm wrote, and the registry as it is later),
runs npm's command and weir's on two copies of it, and requires the same package-lock.json,
the same hidden lockfile and the same node_modules (or, for `outdated`, the same JSON and
exit code). npm runs against the loopback registry with a private user config, so the
oracle is offline too.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from loopback import LoopbackRegistry
from test_bundled import HIDDEN, assert_same_file, run_npm, run_weir
from test_optional_platform import installed

APP = {"name": "app", "version": "1.0.0", "dependencies": {"a": "^1.0.0", "b": "^1.0.0", "d": "1.0.0"}}


def publish_first(registry: LoopbackRegistry) -> None:
    """b needs c in any 1.x, d needs exactly c@1.0.0."""
    registry.add("a", "1.0.0")
    registry.add("c", "1.0.0")
    registry.add("b", "1.0.0", dependencies={"c": "^1.0.0"})
    registry.add("d", "1.0.0", dependencies={"c": "1.0.0"})


def publish_later(registry: LoopbackRegistry) -> None:
    """New minors and a new major after the lockfile was written."""
    registry.add("a", "1.1.0")
    registry.add("a", "2.0.0")
    registry.add("c", "1.1.0")
    registry.add("b", "1.0.1", dependencies={"c": "^1.0.0"})


def twins(project: Callable[..., Path], tmp_path: Path, registry: LoopbackRegistry, pkg: dict[str, Any]) -> tuple[Path, Path]:
    """Two installed copies of one project from one npm lockfile: npm's, and weir's."""
    npm_app = project(pkg)
    run_npm(npm_app, tmp_path / "npm-cache-first", registry.url, "install")
    app = project(pkg)
    shutil.copy(npm_app / "package-lock.json", app / "package-lock.json")
    run_weir(app, tmp_path / "weir-cache", registry.url, "install")
    return npm_app, app


def assert_same_install(app: Path, npm_app: Path) -> None:
    assert_same_file(app / "package.json", npm_app / "package.json")
    assert_same_file(app / "package-lock.json", npm_app / "package-lock.json")
    assert_same_file(app / HIDDEN, npm_app / HIDDEN)
    assert installed(app) == installed(npm_app)


def npm(app: Path, tmp_path: Path, registry: LoopbackRegistry, *args: str) -> subprocess.CompletedProcess[str]:
    """npm with a fresh cache: the registry changed since its first install."""
    return run_npm(app, tmp_path / "npm-cache-later", registry.url, *args)


def weir(app: Path, tmp_path: Path, registry: LoopbackRegistry, *args: str) -> subprocess.CompletedProcess[str]:
    return run_weir(app, tmp_path / "weir-cache", registry.url, *args, "--prefer-online")


@pytest.mark.parametrize(
    "args",
    [
        pytest.param((), id="everything"),
        pytest.param(("a",), id="a-direct-name"),
        pytest.param(("c",), id="c-held-by-an-exact-range"),
        pytest.param(("--save",), id="save-raises-ranges"),
    ],
)
def test_update_writes_the_lockfile_and_node_modules_npm_writes(
    project: Callable[..., Path], tmp_path: Path, registry: LoopbackRegistry, args: tuple[str, ...]
) -> None:
    publish_first(registry)
    npm_app, app = twins(project, tmp_path, registry, APP)
    publish_later(registry)
    npm(npm_app, tmp_path, registry, "update", *args)
    weir(app, tmp_path, registry, "update", *args)
    assert_same_install(app, npm_app)
    pkg = json.loads((app / "package.json").read_text())
    locked = json.loads((app / "package-lock.json").read_text())["packages"]
    if not args or args == ("--save",):  # c@1.1.0 is hoisted, d keeps its own c@1.0.0 below it
        assert locked["node_modules/c"]["version"] == "1.1.0"
        assert locked["node_modules/d/node_modules/c"]["version"] == "1.0.0"
        assert locked["node_modules/a"]["version"] == "1.1.0", "the newest 1.x, not the 2.0.0 major"
    assert pkg["dependencies"]["a"] == ("^1.1.0" if args == ("--save",) else "^1.0.0")


def test_update_lockfile_only_leaves_node_modules_alone(project: Callable[..., Path], tmp_path: Path, registry: LoopbackRegistry) -> None:
    publish_first(registry)
    npm_app, app = twins(project, tmp_path, registry, APP)
    publish_later(registry)
    npm(npm_app, tmp_path, registry, "update", "a", "--package-lock-only")
    weir(app, tmp_path, registry, "update", "a", "--lockfile-only")
    assert_same_file(app / "package-lock.json", npm_app / "package-lock.json")
    assert json.loads((app / "node_modules/a/package.json").read_text())["version"] == "1.0.0"


DEDUPE = {"name": "dd", "version": "1.0.0", "dependencies": {"q": "^1.0.0", "x": "^1.0.0"}}


def test_dedupe_hoists_the_shared_version_as_npm_does(project: Callable[..., Path], tmp_path: Path, registry: LoopbackRegistry) -> None:
    # q pins c@1.0.0 at the root, so y's c@^1.1.0 is nested; once q@1.0.1 accepts any c@1, one copy serves all.
    registry.add("c", "1.0.0")
    registry.add("x", "1.0.0", dependencies={"c": "^1.0.0"})
    registry.add("q", "1.0.0", dependencies={"c": "1.0.0"})
    npm_app = project(DEDUPE)
    run_npm(npm_app, tmp_path / "npm-1", registry.url, "install")
    registry.add("c", "1.1.0")
    registry.add("y", "1.0.0", dependencies={"c": "^1.1.0"})
    run_npm(npm_app, tmp_path / "npm-2", registry.url, "install", "y@^1.0.0")
    registry.add("q", "1.0.1", dependencies={"c": "^1.0.0"})
    run_npm(npm_app, tmp_path / "npm-3", registry.url, "update", "q")
    start = json.loads((npm_app / "package-lock.json").read_text())["packages"]
    assert start["node_modules/y/node_modules/c"]["version"] == "1.1.0", "the starting tree holds two copies of c"
    app = project(json.loads((npm_app / "package.json").read_text()))
    shutil.copy(npm_app / "package-lock.json", app / "package-lock.json")
    run_weir(app, tmp_path / "weir-cache", registry.url, "install")

    npm(npm_app, tmp_path, registry, "dedupe")
    weir(app, tmp_path, registry, "dedupe")
    assert_same_install(app, npm_app)
    locked = json.loads((app / "package-lock.json").read_text())["packages"]
    assert "node_modules/y/node_modules/c" not in locked and locked["node_modules/c"]["version"] == "1.1.0"


def same_named_twins(tmp_path: Path, registry: LoopbackRegistry, pkg: dict[str, Any]) -> tuple[Path, Path]:
    """Like ``twins``, in two folders of one name: npm prints the project's folder name as the dependent."""
    copies = []
    for who in ("npm", "weir"):
        app = tmp_path / who / "app"
        app.mkdir(parents=True)
        (app / "package.json").write_text(json.dumps(pkg, indent=2) + "\n")
        copies.append(app)
    npm_app, app = copies
    run_npm(npm_app, tmp_path / "npm-cache-first", registry.url, "install")
    shutil.copy(npm_app / "package-lock.json", app / "package-lock.json")
    run_weir(app, tmp_path / "weir-cache", registry.url, "install")
    return npm_app, app


def outdated(app: Path, cache: Path, registry: LoopbackRegistry, *args: str, tool: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")}
    env["CI"] = "true"
    if tool == "npm":
        userconfig = app.parent / "user.npmrc"
        userconfig.touch()
        cmd = ["npm", "outdated", *args, "--userconfig", str(userconfig), "--cache", str(cache), "--registry", registry.url]
    else:
        cmd = [sys.executable, "-m", "weir.tui.cli.main", "outdated", *args, "--registry", registry.url, "--cache", str(cache), "-C", str(app)]
    out = subprocess.run(cmd, check=False, cwd=app, capture_output=True, text=True, env=env, timeout=300)
    return out.returncode, out.stdout.replace(str(app), "<app>")


@pytest.mark.parametrize(
    "args",
    [(), ("--json",), ("--long",), ("--long", "--json"), ("--all", "--json"), ("--all",), ("c",), ("c", "--json"), ("zz", "--json")],
    ids=lambda a: " ".join(a) or "table",
)
def test_outdated_prints_what_npm_prints(tmp_path: Path, registry: LoopbackRegistry, args: tuple[str, ...]) -> None:
    publish_first(registry)
    pkg = {**APP, "devDependencies": {"e": "^1.0.0"}}
    registry.add("e", "1.0.0")
    npm_app, app = same_named_twins(tmp_path, registry, pkg)
    publish_later(registry)
    for gone in (npm_app, app):  # a missing dependency is MISSING, with no location
        shutil.rmtree(gone / "node_modules" / "a")
        (gone / HIDDEN).unlink()
    npm_code, npm_out = outdated(npm_app, tmp_path / "npm-cache-later", registry, *args, tool="npm")
    code, out = outdated(app, tmp_path / "weir-cache", registry, *args, tool="weir")
    assert out == npm_out
    assert code == npm_code == (0 if args[:1] == ("zz",) else 1)
    if args == ("--json",):
        assert json.loads(out)["b"] == {"current": "1.0.0", "wanted": "1.0.1", "latest": "1.0.1", "dependent": "app", "location": "<app>/node_modules/b"}


def test_outdated_exits_0_and_prints_nothing_when_all_is_current(tmp_path: Path, registry: LoopbackRegistry) -> None:
    publish_first(registry)
    npm_app, app = same_named_twins(tmp_path, registry, APP)
    assert outdated(app, tmp_path / "weir-cache", registry, tool="weir") == (0, "")
    assert outdated(app, tmp_path / "weir-cache", registry, "--json", tool="weir") == outdated(
        npm_app, tmp_path / "npm-cache-first", registry, "--json", tool="npm"
    ) == (0, "{}\n")


@pytest.mark.parametrize("args", [(), ("--omit", "dev")], ids=["extraneous", "omit-dev"])
def test_prune_removes_what_npm_prune_removes(project: Callable[..., Path], tmp_path: Path, registry: LoopbackRegistry, args: tuple[str, ...]) -> None:
    publish_first(registry)
    registry.add("e", "1.0.0", dependencies={"f": "^1.0.0"})
    registry.add("f", "1.0.0")
    npm_app, app = twins(project, tmp_path, registry, {**APP, "devDependencies": {"e": "^1.0.0"}})
    for where in (npm_app, app):  # a package nothing depends on, left by hand
        stray = where / "node_modules" / "zz"
        shutil.copytree(where / "node_modules" / "a", stray)
        (stray / "package.json").write_text(json.dumps({"name": "zz", "version": "1.0.0"}))
    npm(npm_app, tmp_path, registry, "prune", *(f"{a}={b}" for a, b in zip(args[::2], args[1::2])))
    weir(app, tmp_path, registry, "prune", *args)
    assert_same_install(app, npm_app)
    assert "zz" not in installed(app)
    if args:
        assert "e" not in installed(app) and "f" not in installed(app), "dev packages left out"
        assert "node_modules/e" in json.loads((app / "package-lock.json").read_text())["packages"], "the lockfile keeps them"


BUILD = "require('fs').appendFileSync('built.txt', process.env.npm_lifecycle_event)"


def test_rebuild_runs_trusted_install_scripts_again_and_relinks_bins(project: Callable[..., Path], tmp_path: Path, registry: LoopbackRegistry) -> None:
    registry.add("trusted", "1.0.0", scripts={"install": f'node -e "{BUILD}"'}, bin={"trusted": "cli.js"})
    registry.add("stranger", "1.0.0", scripts={"postinstall": f'node -e "{BUILD}"'})
    app = project({"name": "app", "version": "1.0.0", "dependencies": {"stranger": "1.0.0", "trusted": "1.0.0"}, "trustedDependencies": ["trusted"]})
    cache = tmp_path / "weir-cache"
    run_weir(app, cache, registry.url, "install", "--ignore-scripts")
    assert not (app / "node_modules/trusted/built.txt").exists()
    (app / "node_modules/.bin/trusted").unlink()

    run_weir(app, cache, registry.url, "rebuild", "--ignore-scripts")
    assert (app / "node_modules/.bin/trusted").is_symlink(), "bins come back without scripts"
    assert not (app / "node_modules/trusted/built.txt").exists()

    out = run_weir(app, cache, registry.url, "rebuild")
    assert (app / "node_modules/trusted/built.txt").read_text() == "install"
    assert not (app / "node_modules/stranger/built.txt").exists(), "not in trustedDependencies: blocked"
    assert "stranger" in out.stderr

    run_weir(app, cache, registry.url, "rebuild", "stranger")
    assert (app / "node_modules/trusted/built.txt").read_text() == "install", "only the named package is rebuilt"
    run_weir(app, cache, registry.url, "rebuild", "trusted@1.0.0")
    assert (app / "node_modules/trusted/built.txt").read_text() == "installinstall"


def test_rebuild_without_an_install_says_what_to_do(project: Callable[..., Path], tmp_path: Path) -> None:
    app = project({"name": "app", "version": "1.0.0"})
    out = subprocess.run([sys.executable, "-m", "weir.tui.cli.main", "rebuild", "-C", str(app)], capture_output=True, text=True, check=False)
    assert out.returncode == 3 and "weir install" in out.stderr


class _Public:
    url = "https://registry.npmjs.org/"


@pytest.mark.network
def test_outdated_and_update_match_npm_on_the_public_registry(tmp_path: Path) -> None:
    # ms@~2.0.0 has one version (2.0.0), latest is 2.1.x; is-number@^6 is behind the 7.x major.
    pkg = {"name": "app", "version": "1.0.0", "dependencies": {"is-number": "^6.0.0", "ms": "~2.0.0"}}
    registry: Any = _Public()
    npm_app, app = same_named_twins(tmp_path, registry, pkg)
    npm_result = outdated(npm_app, tmp_path / "npm-cache-first", registry, "--json", "--long", tool="npm")
    result = outdated(app, tmp_path / "weir-cache", registry, "--json", "--long", tool="weir")
    assert result[0] == npm_result[0] == 1
    strip = lambda out: {k: {f: v for f, v in row.items() if f != "homepage"} for k, row in json.loads(out).items()}  # noqa: E731
    assert strip(result[1]) == strip(npm_result[1])
    npm(npm_app, tmp_path, registry, "update", "--save")
    weir(app, tmp_path, registry, "update", "--save")
    assert_same_install(app, npm_app)
