"""Resolution failures and large graphs through the real `weir` command (SECURITY.md, "Resolution and scale").

Failures (invalid range, unknown tag, missing version, unpublished package,
malformed package.json, conflicting peers) must name the package, say what
to do, exit with the documented code and leave the previous install as it
was. Large inputs (a cycle, a 500-deep chain, a packument of 20,000 versions)
must install correctly, the last one in bounded memory. One registry and one
base install are shared by the module; each test works on its own copy.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from hardening_helpers import (
    BASE,
    Sandbox,
    State,
    assert_failed,
    base_template,
    cache_problems,
    from_template,
    with_dep,
)
from loopback import LoopbackRegistry, TarEntry, build_tgz

DEPTH = 500
MANY = [f"{major}.{minor}.0" for major in range(200) for minor in range(100)]  # 20,000 versions
MEMORY_BOUND_KB = 500 * 1024


def _stub(name: str) -> bytes:
    """One tiny tarball every version but the chosen one points at (never downloaded)."""
    return build_tgz([TarEntry("package/package.json", data=json.dumps({"name": name, "version": "0.0.0"}))])


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LoopbackRegistry, Path]]:
    with LoopbackRegistry() as registry:
        for v in ("1.0.0", "1.1.0", "2.0.0"):
            registry.add("v", v)
        registry.add("gone", "1.0.0")
        registry.unpublish("gone")
        registry.add("tomb", "1.0.0")
        registry.unpublish("tomb", tombstone=True)
        registry.add("pa", "1.0.0", peer_dependencies={"react": "^17.0.0"})
        registry.add("pb", "1.0.0", peer_dependencies={"react": "^18.0.0"})
        registry.add("react", "17.0.0")
        registry.add("react", "18.0.0")
        registry.add("ca", "1.0.0", dependencies={"cb": "1.0.0"}, files={"index.js": "exports.name = 'a'; exports.b = () => require('cb');\n"})
        registry.add("cb", "1.0.0", dependencies={"ca": "1.0.0"}, files={"index.js": "exports.name = 'b'; exports.a = () => require('ca');\n"})
        for i in range(DEPTH - 1):
            registry.add(f"d{i}", "1.0.0", dependencies={f"d{i + 1}": "^1.0.0"}, files={"index.js": f"module.exports = require('d{i + 1}');\n"})
        registry.add(f"d{DEPTH - 1}", "1.0.0", files={"index.js": "module.exports = 'deepest';\n"})
        stub = _stub("many")
        for v in MANY:
            registry.add_tarball_bytes("many", v, stub)
        registry.add("many", "57.99.0", files={"index.js": "module.exports = '57.99.0';\n"})
        yield registry, base_template(registry, tmp_path_factory.mktemp("scale-template"))


@pytest.fixture
def box(shared: tuple[LoopbackRegistry, Path], tmp_path: Path) -> Sandbox:
    registry, template = shared
    return from_template(template, tmp_path, registry)


def node(project: Path, code: str) -> str:
    out = subprocess.run(["node", "-e", code], cwd=project, capture_output=True, text=True, timeout=30, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def npm_ls_clean(project: Path) -> None:
    out = subprocess.run(["npm", "ls", "--all"], cwd=project, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stdout + out.stderr


# -- failures ----------------------------------------------------------------------------------

FAILURES: dict[str, tuple[str, str, int, tuple[str, ...]]] = {
    # id: (package, spec, exit code, words the message must hold)
    "invalid-range": ("v", "^^1 || >>", 3, ("v@^^1 || >>",)),
    "unknown-tag": ("v", "nope", 4, ("ETARGET", "nope", "2.0.0")),
    "missing-version": ("v", "^3.0.0", 4, ("ETARGET", "^3.0.0", "2.0.0, 1.1.0, 1.0.0")),
    "unpublished-404": ("gone", "1.0.0", 4, ("E404",)),
    "unpublished-tombstone": ("tomb", "1.0.0", 4, ("E404", "was unpublished")),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_resolution_failures_are_clear_and_lose_nothing(box: Sandbox, case: str) -> None:
    name, spec, code, words = FAILURES[case]
    before = with_dep(box, name, spec)
    out = box.weir("install")
    assert_failed(out, code, name, *words)
    assert State.of(box.project) == before
    box.assert_outside_untouched()
    assert not cache_problems(box.cache)


def test_malformed_package_json_names_line_and_column(box: Sandbox) -> None:
    before = State.of(box.project)
    (box.project / "package.json").write_text('{\n  "name": "app",\n  "dependencies": {"base": "^1.0.0",}\n}\n')
    box.mark_outside()
    out = box.weir("install")
    assert_failed(out, 3, "package.json")
    assert "package.json:3:37:" in out.stderr, out.stderr  # line 3, column 37: the stray comma
    assert State.of(box.project) == before
    box.assert_outside_untouched()


def test_conflicting_peers_name_both_sides_and_legacy_peer_deps_installs(box: Sandbox) -> None:
    box.write_project(dict(BASE, dependencies={"base": "^1.0.0", "pa": "1.0.0", "pb": "1.0.0"}))
    before = State.of(box.project)
    box.mark_outside()
    out = box.weir("install")
    assert_failed(out, 4, "ERESOLVE", "pa@1.0.0", "pb@1.0.0", "react@17.0.0", "react@^18.0.0")
    assert "--legacy-peer-deps" in out.stderr
    assert State.of(box.project) == before
    out = box.weir("install", "--legacy-peer-deps")
    assert out.returncode == 0, out.stderr
    assert (box.project / "node_modules/pa/index.js").is_file() and (box.project / "node_modules/pb/index.js").is_file()
    assert not (box.project / "node_modules/react").exists()  # peers are not installed
    box.assert_outside_untouched()
    assert not cache_problems(box.cache)


# -- large and circular graphs -----------------------------------------------------------------


def test_dependency_cycle_installs_and_both_sides_load(box: Sandbox) -> None:
    with_dep(box, "ca")
    out = box.weir("install")
    assert out.returncode == 0, out.stderr
    assert node(box.project, "const a = require('ca'); console.log(a.name, a.b().name, a.b().a().name)") == "a b a"
    npm_ls_clean(box.project)
    box.assert_outside_untouched()
    assert not cache_problems(box.cache)


def test_500_deep_chain_installs_and_the_deepest_loads_through_it(box: Sandbox) -> None:
    with_dep(box, "d0")
    out = box.weir("install")
    assert out.returncode == 0, out.stderr
    lock = json.loads((box.project / "package-lock.json").read_text())
    assert all(f"node_modules/d{i}" in lock["packages"] for i in range(DEPTH))
    assert node(box.project, "console.log(require('d0'))") == "deepest"
    npm_ls_clean(box.project)
    box.assert_outside_untouched()
    assert not cache_problems(box.cache)


def test_20000_versions_resolve_right_in_bounded_memory(shared: tuple[LoopbackRegistry, Path], box: Sandbox) -> None:
    registry, _ = shared
    with_dep(box, "many", "^57.3.0")
    out, peak_kb = box.weir_with_peak_rss("install")
    assert out.returncode == 0, out.stderr
    assert peak_kb < MEMORY_BOUND_KB, f"peak RSS {peak_kb // 1024} MB"
    assert node(box.project, "console.log(require('many'))") == "57.99.0"
    assert [r.path for r in registry.tarball_requests("many")] == ["/many/-/many-57.99.0.tgz"]
    box.assert_outside_untouched()
    assert not cache_problems(box.cache)
