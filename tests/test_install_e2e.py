"""`weir install` / `weir ci` end to end, as a user runs them, against the loopback registry.

Each test runs the real `weir` command in a subprocess (CI=true, so plain
output), then checks the result with Node itself and with `npm ls --all`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from loopback import LoopbackRegistry


def weir(project: Path, cache: Path, registry: LoopbackRegistry, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CI="true")
    env.pop("npm_config_registry", None)
    cmd = [sys.executable, "-m", "weir.tui.cli.main", *args, "--registry", registry.url, "--cache", str(cache), "-C", str(project)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)


def node_require(project: Path, name: str) -> str:
    out = subprocess.run(
        ["node", "-e", f"process.stdout.write(String(require({name!r})))"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def npm_ls_clean(project: Path) -> None:
    out = subprocess.run(["npm", "ls", "--all", "--offline"], cwd=project, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"npm ls --all failed:\n{out.stdout}\n{out.stderr}"


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under root with (inode, mtime): proves whether anything was touched."""
    seen = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + dirnames:
            p = Path(dirpath) / name
            st = p.lstat()
            seen[str(p.relative_to(root))] = (st.st_ino, st.st_mtime_ns)
    return seen


@pytest.fixture
def app(small_graph: LoopbackRegistry, project: Callable[..., Path]) -> Path:
    return project({"name": "app", "version": "1.0.0", "dependencies": {"a": "^1.0.0", "tool": "^1.0.0"}})


def test_install_gives_a_tree_node_and_npm_accept(app: Path, cache_dir: Path, small_graph: LoopbackRegistry) -> None:
    out = weir(app, cache_dir, small_graph, "install")
    assert out.returncode == 0, out.stderr
    assert "linked" in out.stderr
    for name in ("a", "b", "c", "tool", "@scope/pkg"):
        assert node_require(app, name).startswith(f"{name}@")
    # npm's hoisting: c@2 at the top (a wants ^2), c@1.1.0 nested under b
    assert json.loads((app / "node_modules/c/package.json").read_text())["version"] == "2.0.0"
    assert json.loads((app / "node_modules/b/node_modules/c/package.json").read_text())["version"] == "1.1.0"
    assert os.access(app / "node_modules/.bin/tool", os.X_OK)
    lock = json.loads((app / "package-lock.json").read_text())
    assert lock["lockfileVersion"] == 3
    assert lock["packages"]["node_modules/b/node_modules/c"]["version"] == "1.1.0"
    npm_ls_clean(app)


def test_second_install_is_a_noop(app: Path, cache_dir: Path, small_graph: LoopbackRegistry) -> None:
    assert weir(app, cache_dir, small_graph, "install").returncode == 0
    before_lock = (app / "package-lock.json").read_bytes()
    before = snapshot(app / "node_modules")
    requests = len(small_graph.requests)
    out = weir(app, cache_dir, small_graph, "install")
    assert out.returncode == 0
    assert "up to date" in out.stderr
    assert len(small_graph.requests) == requests, "a no-op install must not touch the network"
    assert snapshot(app / "node_modules") == before
    assert (app / "package-lock.json").read_bytes() == before_lock


def test_stale_dependency_flags_in_a_committed_lockfile_do_not_defeat_the_noop(app: Path, cache_dir: Path, small_graph: LoopbackRegistry) -> None:
    """npm's tree from a committed lockfile whose ``peer: true`` is stale: npm's hidden lockfile
    holds the flags recomputed, package-lock.json the committed ones. npm compares versions,
    integrity and resolved, not flags, so the next install is "up to date" and writes nothing."""
    assert weir(app, cache_dir, small_graph, "install").returncode == 0
    lock = json.loads((app / "package-lock.json").read_text())
    lock["packages"]["node_modules/b"]["peer"] = True
    (app / "package-lock.json").write_text(json.dumps(lock, indent=2) + "\n")
    hidden = app / "node_modules/.package-lock.json"
    os.utime(hidden, ns=(hidden.stat().st_atime_ns, (app / "package-lock.json").stat().st_mtime_ns + 1_000_000))
    before_lock = (app / "package-lock.json").read_bytes()
    before = snapshot(app / "node_modules")
    requests = len(small_graph.requests)
    out = weir(app, cache_dir, small_graph, "install")
    assert out.returncode == 0, out.stderr
    assert "up to date: nothing to install" in out.stderr
    assert len(small_graph.requests) == requests
    assert snapshot(app / "node_modules") == before
    assert (app / "package-lock.json").read_bytes() == before_lock


def test_lockfile_is_byte_identical_across_runs(app: Path, tmp_path: Path, small_graph: LoopbackRegistry) -> None:
    outs = []
    for n in range(2):
        (app / "package-lock.json").unlink(missing_ok=True)
        small_graph.delay_jitter(seed=n, max_seconds=0.05)
        out = weir(app, tmp_path / f"cache{n}", small_graph, "install", "--lockfile-only")
        assert out.returncode == 0, out.stderr
        outs.append((app / "package-lock.json").read_bytes())
    assert outs[0] == outs[1]
    assert not (app / "node_modules").exists(), "--lockfile-only must not touch node_modules"


def test_ci_installs_exactly_the_lockfile(app: Path, cache_dir: Path, small_graph: LoopbackRegistry) -> None:
    assert weir(app, cache_dir, small_graph, "install", "--lockfile-only").returncode == 0
    small_graph.add("c", "2.1.0")  # a newer version must not sneak in
    out = weir(app, cache_dir, small_graph, "ci")
    assert out.returncode == 0, out.stderr
    assert json.loads((app / "node_modules/c/package.json").read_text())["version"] == "2.0.0"
    npm_ls_clean(app)


def test_ci_leaves_the_lockfile_bytes_as_committed(app: Path, cache_dir: Path, small_graph: LoopbackRegistry) -> None:
    # Projects commit lockfiles npm formatted with their package.json's indent (nodemailer: four
    # spaces); like npm ci, weir ci installs from it and never writes it.
    assert weir(app, cache_dir, small_graph, "install", "--lockfile-only").returncode == 0
    lockfile = app / "package-lock.json"
    lockfile.write_text(json.dumps(json.loads(lockfile.read_text()), indent=4) + "\n")
    committed = lockfile.read_bytes()
    out = weir(app, cache_dir, small_graph, "ci")
    assert out.returncode == 0, out.stderr
    assert node_require(app, "a").startswith("a@")
    assert lockfile.read_bytes() == committed


def test_ci_refuses_a_lockfile_out_of_sync(app: Path, cache_dir: Path, small_graph: LoopbackRegistry) -> None:
    assert weir(app, cache_dir, small_graph, "install").returncode == 0
    pkg: dict[str, Any] = json.loads((app / "package.json").read_text())
    pkg["dependencies"]["c"] = "^1.0.0"
    (app / "package.json").write_text(json.dumps(pkg))
    before = snapshot(app / "node_modules")
    out = weir(app, cache_dir, small_graph, "ci")
    assert out.returncode == 7
    assert "out of sync" in out.stderr and "weir install" in out.stderr
    assert snapshot(app / "node_modules") == before


def test_ci_without_lockfile_says_what_to_do(app: Path, cache_dir: Path, small_graph: LoopbackRegistry) -> None:
    out = weir(app, cache_dir, small_graph, "ci")
    assert out.returncode == 7
    assert "package-lock.json" in out.stderr


def test_integrity_mismatch_fails_and_loses_nothing(app: Path, cache_dir: Path, small_graph: LoopbackRegistry) -> None:
    assert weir(app, cache_dir, small_graph, "install").returncode == 0
    lock_before = (app / "package-lock.json").read_bytes()
    before = snapshot(app / "node_modules")
    # Someone republishes b's tarball with other bytes; a clean install must refuse them.
    small_graph.fault(lambda r: r.path.endswith("/b-1.0.0.tgz"), "wrong_integrity", times=None)
    out = weir(app, cache_dir.parent / "fresh-cache", small_graph, "ci")
    assert out.returncode == 6, out.stderr
    assert "b@1.0.0" in out.stderr or "b-1.0.0.tgz" in out.stderr
    assert "expected" in out.stderr.lower()
    assert (app / "package-lock.json").read_bytes() == lock_before
    assert snapshot(app / "node_modules") == before


def test_unknown_package_names_the_dependent(project: Callable[..., Path], cache_dir: Path, registry: LoopbackRegistry) -> None:
    registry.add("top", "1.0.0", dependencies={"missing-dep": "^1.0.0"})
    app = project({"name": "app", "version": "1.0.0", "dependencies": {"top": "^1.0.0"}})
    out = weir(app, cache_dir, registry, "install")
    assert out.returncode == 4
    assert "missing-dep" in out.stderr
    assert "top" in out.stderr
    assert not (app / "package-lock.json").exists()
    assert not (app / "node_modules").exists()


def test_no_matching_version_lists_what_exists(project: Callable[..., Path], cache_dir: Path, registry: LoopbackRegistry) -> None:
    registry.add("x", "1.0.0")
    registry.add("x", "1.2.0")
    app = project({"name": "app", "version": "1.0.0", "dependencies": {"x": "^3.0.0"}})
    out = weir(app, cache_dir, registry, "install")
    assert out.returncode == 4
    assert "ETARGET" in out.stderr
    assert "1.2.0" in out.stderr


def test_malformed_package_json_gives_line_and_column(tmp_path: Path, cache_dir: Path, registry: LoopbackRegistry) -> None:
    (tmp_path / "package.json").write_text('{\n  "name": "app",\n  "dependencies": {"a": "1"\n}\n')
    out = weir(tmp_path, cache_dir, registry, "install")
    assert out.returncode == 3
    assert "package.json:5:1: Expecting" in out.stderr


def test_add_and_remove_save_to_package_json(app: Path, cache_dir: Path, small_graph: LoopbackRegistry) -> None:
    assert weir(app, cache_dir, small_graph, "install").returncode == 0
    out = weir(app, cache_dir, small_graph, "install", "c@1", "--save-dev")
    assert out.returncode == 0, out.stderr
    pkg = json.loads((app / "package.json").read_text())
    assert pkg["devDependencies"] == {"c": "^1.1.0"}  # npm: ^1.1.0 allows nothing 1 does not
    lock = json.loads((app / "package-lock.json").read_text())
    assert lock["packages"][""]["devDependencies"] == {"c": "^1.1.0"}
    assert lock["packages"]["node_modules/c"]["version"] == "1.1.0"
    out = weir(app, cache_dir, small_graph, "remove", "tool")
    assert out.returncode == 0, out.stderr
    assert "tool" not in json.loads((app / "package.json").read_text())["dependencies"]
    assert not (app / "node_modules/tool").exists()
    assert not (app / "node_modules/.bin/tool").exists()
    npm_ls_clean(app)


def test_bare_name_is_saved_with_caret(app: Path, cache_dir: Path, small_graph: LoopbackRegistry) -> None:
    out = weir(app, cache_dir, small_graph, "install", "@scope/pkg")
    assert out.returncode == 0, out.stderr
    assert json.loads((app / "package.json").read_text())["dependencies"]["@scope/pkg"] == "^1.0.0"


def test_offline_after_a_warm_run_makes_no_request(app: Path, cache_dir: Path, small_graph: LoopbackRegistry) -> None:
    assert weir(app, cache_dir, small_graph, "install").returncode == 0
    (app / "package-lock.json").unlink()
    import shutil

    shutil.rmtree(app / "node_modules")
    requests = len(small_graph.requests)
    out = weir(app, cache_dir, small_graph, "install", "--offline")
    assert out.returncode == 0, out.stderr
    assert len(small_graph.requests) == requests
    assert node_require(app, "a") == "a@1.0.0"


def test_workspaces_install_and_ci(project: Callable[..., Path], cache_dir: Path, small_graph: LoopbackRegistry) -> None:
    # Workspace folders are the project's own: linked, never fetched (they have no resolved URL).
    app = project({"name": "mono", "version": "1.0.0", "private": True, "workspaces": ["packages/*"]})
    for name, deps in (("lib", {"a": "^1.0.0"}), ("web", {"lib": "^1.0.0", "c": "^1.0.0"})):
        (app / "packages" / name).mkdir(parents=True)
        (app / "packages" / name / "package.json").write_text(json.dumps({"name": name, "version": "1.0.0", "dependencies": deps}))
        (app / "packages" / name / "index.js").write_text(f"module.exports = 'ws-{name}'")
    for command in ("install", "ci"):
        out = weir(app, cache_dir, small_graph, command)
        assert out.returncode == 0, out.stderr
        assert os.readlink(app / "node_modules/web") == "../packages/web"
        assert node_require(app, "lib") == "ws-lib"
        npm_ls_clean(app)


async def _replayed_counters(trace: Path) -> tuple[object, object]:
    from weir.core.events import read_trace
    from weir.core.stats import Tally
    from weir.tui.app.replay import replay_app

    events = list(read_trace(trace.read_bytes().splitlines()))
    direct = Tally()
    for e in events:
        direct.event(e)
    app = replay_app(events, speed=0)
    async with app.run_test(size=(120, 36)) as pilot:
        while not app.done:
            await pilot.pause(0.05)
        return app.model.statistics(), direct.statistics()


def test_recorded_trace_replays_to_the_same_counters(app: Path, cache_dir: Path, small_graph: LoopbackRegistry, tmp_path: Path) -> None:
    import anyio

    from weir.core.events import DecisionRecorded, RunFinished, read_trace

    trace = tmp_path / "install.ndjson"
    out = weir(app, cache_dir, small_graph, "install", "--trace", str(trace))
    assert out.returncode == 0, out.stderr
    events = list(read_trace(trace.read_bytes().splitlines()))
    assert isinstance(events[-1], RunFinished)
    assert {e.location for e in events if isinstance(e, DecisionRecorded)} >= {"node_modules/a", "node_modules/b/node_modules/c"}
    replayed, direct = anyio.run(_replayed_counters, trace)
    assert replayed == direct
    assert direct.linked == 6  # a, b, nested c, c, tool, @scope/pkg


def test_errors_are_printed_once(project: Callable[..., Path], cache_dir: Path, registry: LoopbackRegistry) -> None:
    app = project({"name": "app", "version": "1.0.0", "dependencies": {"nope": "^1.0.0"}})
    out = weir(app, cache_dir, registry, "install")
    assert out.returncode == 4
    assert out.stderr.count("nope") >= 1
    assert out.stderr.count("E404") == 1, out.stderr


def test_ci_fetches_npmjs_locked_tarballs_from_the_configured_registry(app: Path, tmp_path: Path, small_graph: LoopbackRegistry) -> None:
    """npm's replace-registry-host: a lockfile written against registry.npmjs.org installs from a mirror."""
    assert weir(app, tmp_path / "c1", small_graph, "install", "--lockfile-only").returncode == 0
    lock = (app / "package-lock.json").read_text()
    base = small_graph.url.rstrip("/") + "/"
    (app / "package-lock.json").write_text(lock.replace(base, "https://registry.npmjs.org/"))
    assert "registry.npmjs.org" in (app / "package-lock.json").read_text()
    out = weir(app, tmp_path / "c2", small_graph, "ci")
    assert out.returncode == 0, out.stderr
    assert small_graph.tarball_requests("a"), "the tarball came from the configured registry"
    assert "registry.npmjs.org" in (app / "package-lock.json").read_text(), "the lockfile is kept as written"
    npm_ls_clean(app)


def test_no_save_installs_without_touching_package_json_or_the_lockfile(app: Path, cache_dir: Path, small_graph: LoopbackRegistry) -> None:
    assert weir(app, cache_dir, small_graph, "install").returncode == 0
    pkg_before = (app / "package.json").read_bytes()
    lock_before = (app / "package-lock.json").read_bytes()
    small_graph.add("extra", "1.0.0")
    out = weir(app, cache_dir, small_graph, "install", "extra", "--no-save")
    assert out.returncode == 0, out.stderr
    assert node_require(app, "extra") == "extra@1.0.0"
    assert (app / "package.json").read_bytes() == pkg_before
    assert (app / "package-lock.json").read_bytes() == lock_before


def test_bundled_dependencies_get_their_bins_inside_the_bundler(project: Callable[..., Path], cache_dir: Path, registry: LoopbackRegistry) -> None:
    # npm links a bundled package's bins into its bundler's node_modules/.bin (semantic-release
    # depends on npm, whose bundled arborist, node-gyp, semver... each bring theirs).
    registry.add(
        "withbundle",
        "1.0.0",
        dependencies={"dep": "^1.0.0"},
        bundle_dependencies=["dep"],
        files={
            "node_modules/dep/cli.js": "#!/usr/bin/env node\nconsole.log('dep cli')\n",
            "node_modules/dep/package.json": json.dumps({"name": "dep", "version": "1.0.0", "bin": {"dep": "cli.js"}}),
        },
    )
    app = project({"name": "app", "version": "1.0.0", "dependencies": {"withbundle": "1.0.0"}})
    for command in ("install", "ci"):
        out = weir(app, cache_dir, registry, command)
        assert out.returncode == 0, out.stderr
        link = app / "node_modules/withbundle/node_modules/.bin/dep"
        assert os.readlink(link) == "../dep/cli.js", command
        assert subprocess.run([str(link)], capture_output=True, text=True).stdout == "dep cli\n"
        assert not (app / "node_modules/.bin/dep").exists()
    npm_ls_clean(app)


def test_bundled_dependencies_come_from_the_tarball_and_survive_later_installs(project: Callable[..., Path], cache_dir: Path, registry: LoopbackRegistry) -> None:
    registry.add(
        "withbundle",
        "1.0.0",
        dependencies={"dep": "^1.0.0"},
        bundle_dependencies=["dep"],
        files={
            "index.js": "module.exports = require('dep');",
            "node_modules/dep/index.js": "module.exports = 'bundled dep';",
            "node_modules/dep/package.json": json.dumps({"name": "dep", "version": "1.0.0"}),
        },
    )
    registry.add("other", "1.0.0")
    app = project({"name": "app", "version": "1.0.0", "dependencies": {"withbundle": "1.0.0"}})
    out = weir(app, cache_dir, registry, "install")
    assert out.returncode == 0, out.stderr
    assert not registry.packument_requests("dep"), "a bundled dependency is never resolved from the registry"
    assert json.loads((app / "package-lock.json").read_text())["packages"]["node_modules/withbundle"]["bundleDependencies"] == ["dep"]
    assert node_require(app, "withbundle") == "bundled dep"
    out = weir(app, cache_dir, registry, "install", "other")  # a run seeded from the lockfile, then a relink
    assert out.returncode == 0, out.stderr
    assert node_require(app, "withbundle") == "bundled dep"
    npm_ls_clean(app)
