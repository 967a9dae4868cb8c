"""The resolver loop against an in-memory registry: hoisting, peers, optional, aliases,
overrides, workspaces, cycles, scale, determinism, lockfile seeding."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fake_registry import FakeRegistry

from weir.core import events as ev
from weir.core.config import Config
from weir.core.errors import ResolveError
from weir.core.tree.lockfile import dumps_lockfile
from weir.core.npm.package_json import package_json_from_dict
from weir.core.resolve.resolver import Resolution, resolve

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def run(reg: FakeRegistry, pkg: dict[str, Any], tmp_path: Path, **kw: Any) -> Resolution:
    (tmp_path / "package.json").write_text(json.dumps(pkg))
    root = package_json_from_dict({"name": "app", "version": "1.0.0", **pkg}, source="package.json")
    return await resolve(root, tmp_path, registry=reg, config=kw.pop("config", Config()), reporter=kw.pop("reporter", None), **kw)


def versions(res: Resolution) -> dict[str, str | None]:
    return {p: e.version for p, e in res.lockfile.packages.items() if p}


async def test_simple_dedupe_hoists_shared_dep(tmp_path: Path) -> None:
    reg = FakeRegistry()
    reg.add("a", "1.0.0", dependencies={"c": "^1.0.0"}).add("b", "1.0.0", dependencies={"c": "^1.1.0"})
    reg.add("c", "1.0.0").add("c", "1.2.0")
    res = await run(reg, {"dependencies": {"a": "^1", "b": "^1"}}, tmp_path)
    assert versions(res) == {"node_modules/a": "1.0.0", "node_modules/b": "1.0.0", "node_modules/c": "1.2.0"}
    entry = res.lockfile.packages["node_modules/c"]
    assert entry.resolved == "https://fake.test/c/-/c-1.2.0.tgz" and entry.integrity == "sha512-c-1.2.0"


async def test_shadowing_nests_the_conflicting_copy_under_its_dependent(tmp_path: Path) -> None:
    reg = FakeRegistry()
    reg.add("a", "1.0.0").add("a", "2.0.0").add("b", "1.0.0", dependencies={"a": "^2.0.0"})
    res = await run(reg, {"dependencies": {"a": "^1.0.0", "b": "1.0.0"}}, tmp_path)
    assert versions(res) == {
        "node_modules/a": "1.0.0",
        "node_modules/b": "1.0.0",
        "node_modules/b/node_modules/a": "2.0.0",
    }
    placement = res.decisions["node_modules/b/node_modules/a"].placement
    assert placement is not None and placement.blocker == "node_modules/a"


async def test_deep_conflict_nests_at_the_highest_safe_level(tmp_path: Path) -> None:
    # root -> (x, y@2, z@1); x -> y@1 (nested under x); y@1 -> z@2: z@2 goes under x,
    # the highest level where nobody below still needs z@1
    reg = FakeRegistry()
    reg.add("z", "1.0.0").add("z", "2.0.0")
    reg.add("y", "1.0.0", dependencies={"z": "2"}).add("y", "2.0.0")
    reg.add("x", "1.0.0", dependencies={"y": "1"})
    res = await run(reg, {"dependencies": {"x": "1", "y": "2", "z": "1"}}, tmp_path)
    assert versions(res) == {
        "node_modules/x": "1.0.0",
        "node_modules/x/node_modules/y": "1.0.0",
        "node_modules/x/node_modules/z": "2.0.0",
        "node_modules/y": "2.0.0",
        "node_modules/z": "1.0.0",
    }


async def test_peer_dependency_is_installed_beside_its_dependent(tmp_path: Path) -> None:
    reg = FakeRegistry()
    reg.add("react", "17.0.2").add("react", "18.3.1")
    reg.add("react-dom", "18.3.1", peer_dependencies={"react": "^18.3.1"})
    res = await run(reg, {"dependencies": {"react-dom": "^18"}}, tmp_path)
    assert versions(res) == {"node_modules/react": "18.3.1", "node_modules/react-dom": "18.3.1"}
    assert res.lockfile.packages["node_modules/react"].peer


async def test_optional_peer_is_not_installed(tmp_path: Path) -> None:
    reg = FakeRegistry()
    reg.add("ts", "5.0.0")
    reg.add("lib", "1.0.0", peer_dependencies={"ts": "5"}, peer_dependencies_meta={"ts": {"optional": True}})
    res = await run(reg, {"dependencies": {"lib": "1"}}, tmp_path)
    assert versions(res) == {"node_modules/lib": "1.0.0"}
    assert res.warnings == ()


async def test_an_optional_peer_that_would_break_nests_its_dependent(tmp_path: Path) -> None:
    # npm (tinyglobby > fdir, peerOptional picomatch): fdir's peer set holds picomatch@4,
    # picked by tinyglobby's own picomatch@^4 edge; the root's picomatch@2 would break
    # it, so fdir nests under tinyglobby, beside the picomatch@4 placed there.
    reg = FakeRegistry()
    reg.add("picomatch", "2.3.1").add("picomatch", "4.0.2")
    reg.add("fdir", "6.4.0", peer_dependencies={"picomatch": "^3 || ^4"}, peer_dependencies_meta={"picomatch": {"optional": True}})
    reg.add("tinyglobby", "0.2.10", dependencies={"fdir": "^6.4.0", "picomatch": "^4.0.2"})
    res = await run(reg, {"dependencies": {"picomatch": "^2.3.1", "tinyglobby": "^0.2.10"}}, tmp_path)
    assert versions(res) == {
        "node_modules/picomatch": "2.3.1",
        "node_modules/tinyglobby": "0.2.10",
        "node_modules/tinyglobby/node_modules/fdir": "6.4.0",
        "node_modules/tinyglobby/node_modules/picomatch": "4.0.2",
    }


async def test_a_peer_of_a_peer_is_picked_by_the_root_s_own_range(tmp_path: Path) -> None:
    # npm (@typescript-eslint/eslint-plugin > peer parser > peer eslint): the root's
    # eslint@^8 chooses eslint for the whole peer set, not the parser's open range.
    reg = FakeRegistry()
    reg.add("eslint", "8.57.1").add("eslint", "9.9.0")
    reg.add("parser", "8.0.0", peer_dependencies={"eslint": "^8.57.0 || ^9.0.0"})
    reg.add("plugin", "8.0.0", peer_dependencies={"parser": "^8.0.0", "eslint": "^8.57.0 || ^9.0.0"})
    res = await run(reg, {"devDependencies": {"eslint": "^8.42.0", "parser": "^8.0.0", "plugin": "^8.0.0"}}, tmp_path)
    assert versions(res) == {"node_modules/eslint": "8.57.1", "node_modules/parser": "8.0.0", "node_modules/plugin": "8.0.0"}


async def test_peer_conflict_with_root_is_eresolve_naming_both_sides(tmp_path: Path) -> None:
    reg = FakeRegistry()
    reg.add("react", "17.0.2").add("react", "18.3.1")
    reg.add("react-dom", "18.3.1", peer_dependencies={"react": "^18.3.1"})
    with pytest.raises(ResolveError) as info:
        await run(reg, {"dependencies": {"react-dom": "^18", "react": "^17"}}, tmp_path)
    err = info.value
    assert err.code == "ERESOLVE"
    assert "react@^18.3.1" in str(err) and "react@^17" in str(err)


async def test_legacy_peer_deps_skips_peers(tmp_path: Path) -> None:
    reg = FakeRegistry()
    reg.add("react", "18.3.1").add("react-dom", "18.3.1", peer_dependencies={"react": "^18"})
    res = await run(reg, {"dependencies": {"react-dom": "^18"}}, tmp_path, config=Config(legacy_peer_deps=True))
    assert versions(res) == {"node_modules/react-dom": "18.3.1"}


async def test_missing_optional_dep_is_skipped_with_a_warning(tmp_path: Path) -> None:
    reg = FakeRegistry()
    reg.add("a", "1.0.0", optional_dependencies={"gone": "^1"})
    rec = ev.Recorder()
    res = await run(reg, {"dependencies": {"a": "1"}}, tmp_path, reporter=rec)
    assert versions(res) == {"node_modules/a": "1.0.0"}
    assert [w.package for w in rec.of(ev.Warned)] == ["gone"]


async def test_platform_specific_optional_deps_are_recorded_flagged_optional(tmp_path: Path) -> None:
    reg = FakeRegistry()
    reg.add("tool-win", "1.0.0", os=["win32"], cpu=["x64"]).add("tool-linux", "1.0.0", os=["!win32"])
    reg.add("tool", "1.0.0", optional_dependencies={"tool-win": "1.0.0", "tool-linux": "1.0.0"})
    rec = ev.Recorder()
    res = await run(reg, {"dependencies": {"tool": "1"}}, tmp_path, reporter=rec)
    win = res.lockfile.packages["node_modules/tool-win"]
    assert win.optional and win.raw["os"] == ["win32"] and win.raw["cpu"] == ["x64"]
    assert not res.lockfile.packages["node_modules/tool"].optional
    assert not rec.of(ev.Warned), "npm skips another platform's optional package silently"
    assert any("tool-win" in line.message for line in rec.of(ev.LogLine))


async def test_missing_required_dep_is_e404_naming_the_dependent(tmp_path: Path) -> None:
    reg = FakeRegistry()
    reg.add("a", "1.0.0", dependencies={"nope": "^1"})
    with pytest.raises(ResolveError) as info:
        await run(reg, {"dependencies": {"a": "1"}}, tmp_path)
    assert info.value.code == "E404" and info.value.path == ("app", "a@1.0.0")


async def test_alias_installs_the_real_package_under_the_alias_name(tmp_path: Path) -> None:
    reg = FakeRegistry()
    reg.add("lodash", "3.10.1").add("lodash", "4.17.21")
    res = await run(reg, {"dependencies": {"lodash": "^4", "old-lodash": "npm:lodash@^3"}}, tmp_path)
    entry = res.lockfile.packages["node_modules/old-lodash"]
    assert entry.version == "3.10.1" and entry.raw["name"] == "lodash"
    assert res.lockfile.packages["node_modules/lodash"].version == "4.17.21"


async def test_overrides_simple_nested_and_reference(tmp_path: Path) -> None:
    reg = FakeRegistry()
    for v in ("1.0.0", "1.5.0", "2.0.0"):
        reg.add("q", v)
    reg.add("a", "1.0.0", dependencies={"q": "^1.0.0"}).add("b", "1.0.0", dependencies={"q": "^1.0.0"})
    res = await run(reg, {"dependencies": {"a": "1", "b": "1"}, "overrides": {"q": "1.0.0"}}, tmp_path)
    assert versions(res)["node_modules/q"] == "1.0.0"
    res = await run(reg, {"dependencies": {"a": "1", "b": "1"}, "overrides": {"b": {"q": "2.0.0"}}}, tmp_path)
    assert versions(res)["node_modules/q"] == "1.5.0"
    assert versions(res)["node_modules/b/node_modules/q"] == "2.0.0"
    assert res.decisions["node_modules/b/node_modules/q"].rule == "override"
    res = await run(reg, {"dependencies": {"a": "1", "q": "1.0.0"}, "overrides": {"q": "$q"}}, tmp_path)
    assert versions(res)["node_modules/q"] == "1.0.0"


async def test_workspaces_link_and_resolve_to_each_other(tmp_path: Path) -> None:
    reg = FakeRegistry()
    reg.add("left-pad", "1.3.0")
    for name, deps in (("pa", {"pb": "^1.0.0", "left-pad": "^1"}), ("pb", {})):
        d = tmp_path / "packages" / name
        d.mkdir(parents=True)
        (d / "package.json").write_text(json.dumps({"name": name, "version": "1.0.0", "dependencies": deps}))
    res = await run(reg, {"workspaces": ["packages/*"]}, tmp_path)
    pk = res.lockfile.packages
    assert pk["node_modules/pa"].link and pk["node_modules/pa"].resolved == "packages/pa"
    assert pk["packages/pa"].raw["dependencies"] == {"pb": "^1.0.0", "left-pad": "^1"}
    assert pk["node_modules/left-pad"].version == "1.3.0"
    assert "packages/pa/node_modules/pb" not in pk
    assert "pb" not in reg.requests


async def test_cycles_terminate(tmp_path: Path) -> None:
    reg = FakeRegistry()
    reg.add("a", "1.0.0", dependencies={"b": "1"}).add("b", "1.0.0", dependencies={"a": "1"})
    res = await run(reg, {"dependencies": {"a": "1"}}, tmp_path)
    assert versions(res) == {"node_modules/a": "1.0.0", "node_modules/b": "1.0.0"}


async def test_a_500_deep_chain_and_a_20000_version_packument(tmp_path: Path) -> None:
    reg = FakeRegistry()
    for i in range(500):
        reg.add(f"p{i}", "1.0.0", dependencies={f"p{i + 1}": "^1"} if i < 499 else {"big": "^3.1.0"})
    for i in range(20_000):
        reg.add("big", f"{i // 1000}.{i % 1000}.0")
    reg.tag("big", "latest", "19.999.0")
    res = await run(reg, {"dependencies": {"p0": "1"}}, tmp_path)
    assert len(res.lockfile.packages) == 502
    assert res.lockfile.packages["node_modules/big"].version == "3.999.0"
    assert all(reg.requests.count(n) == 1 for n in set(reg.requests))


def graph() -> FakeRegistry:
    reg = FakeRegistry()
    for i in range(30):
        deps = {f"n{(i * 7 + k) % 30}": f"^{1 + (i + k) % 2}" for k in range(1, 4)}
        reg.add(f"n{i}", "1.0.0", dependencies=deps).add(f"n{i}", "2.0.0", dependencies=deps)
    return reg


async def test_same_tree_whatever_order_answers_arrive(tmp_path: Path) -> None:
    outputs = set()
    for seed in range(4):
        reg = graph()
        reg.jitter(seed, 0.01)
        res = await run(reg, {"dependencies": {"n0": "^1", "n1": "^2", "n5": "^1"}}, tmp_path)
        outputs.add(dumps_lockfile(res.lockfile))
    assert len(outputs) == 1


async def test_lockfile_seeded_run_keeps_pins_and_prunes(tmp_path: Path) -> None:
    reg = FakeRegistry()
    reg.add("a", "1.0.0", dependencies={"c": "^1"}).add("c", "1.0.0").add("b", "1.0.0")
    first = await run(reg, {"dependencies": {"a": "^1", "b": "^1"}}, tmp_path)
    reg.add("a", "1.1.0", dependencies={"c": "^1"}).add("c", "1.9.0")  # newer versions must not displace pins
    again = await run(reg, {"dependencies": {"a": "^1", "b": "^1"}}, tmp_path, lockfile=first.lockfile)
    assert dumps_lockfile(again.lockfile) == dumps_lockfile(first.lockfile)
    assert again.decisions["node_modules/a"].rule == "lockfile"
    pruned = await run(reg, {"dependencies": {"b": "^1"}}, tmp_path, lockfile=first.lockfile)
    assert versions(pruned) == {"node_modules/b": "1.0.0"}
    updated = await run(reg, {"dependencies": {"a": "^1", "b": "^1"}}, tmp_path, lockfile=first.lockfile, update={"a"})
    assert versions(updated)["node_modules/a"] == "1.1.0"
    assert versions(updated)["node_modules/c"] == "1.0.0"


async def test_prefetch_is_promoted_when_waited_on(tmp_path: Path) -> None:
    reg = FakeRegistry()
    reg.add("a", "1.0.0", dependencies={"b": "1"}).add("b", "1.0.0")
    rec = ev.Recorder()
    await run(reg, {"dependencies": {"a": "1"}}, tmp_path, reporter=rec)
    queued = {q.package: q.lane for q in rec.of(ev.JobQueued)}
    assert queued == {"a": "demand", "b": "prefetch"}
    assert [p.package for p in rec.of(ev.JobPromoted)] == ["b"]
    assert [p.name for p in rec.of(ev.VersionPinned)] == ["a", "b"]


async def test_loopback_registry_each_packument_once_and_same_bytes_under_jitter(registry: Any, tmp_path: Path) -> None:
    from weir.core.registry.http import Http
    from weir.core.registry.manifest_store import ManifestStore
    from weir.core.registry.registry import Registry

    for i in range(12):
        deps = {f"m{(i * 5 + k) % 12}": f"^{1 + (i + k) % 2}" for k in range(1, 3)}
        registry.add(f"m{i}", "1.0.0", dependencies=deps)
        registry.add(f"m{i}", "2.0.0", dependencies=deps)
    outputs = set()
    for seed in (1, 2):
        registry.delay_jitter(seed, 0.02)
        config = Config(registry=registry.url + "/", cache=tmp_path / f"cache{seed}")
        http = Http(config, ev.Reporter())
        try:
            reg = Registry(http, ManifestStore(tmp_path / f"cache{seed}"), config, ev.Reporter())
            res = await run(reg, {"dependencies": {"m0": "^1", "m3": "^2"}}, tmp_path, config=config)  # type: ignore[arg-type]
        finally:
            await http.aclose()
        outputs.add(dumps_lockfile(res.lockfile))
    assert len(outputs) == 1
    for i in range(12):
        assert len(registry.packument_requests(f"m{i}")) <= 2  # once per run, two runs


async def test_funding_bare_url_becomes_an_object_but_a_list_is_kept_as_published(tmp_path: Path) -> None:
    # What npm 11 writes for ms-like and uuid@10-like packuments.
    reg = FakeRegistry()
    reg.add("one", "1.0.0", funding="https://github.com/sponsors/one")
    reg.add("many", "1.0.0", funding=["https://github.com/sponsors/a", {"type": "github", "url": "https://b.test"}])
    res = await run(reg, {"dependencies": {"one": "1", "many": "1"}}, tmp_path)
    assert res.lockfile.packages["node_modules/one"].raw["funding"] == {"url": "https://github.com/sponsors/one"}
    assert res.lockfile.packages["node_modules/many"].raw["funding"] == [
        "https://github.com/sponsors/a",
        {"type": "github", "url": "https://b.test"},
    ]


async def test_a_name_in_both_dependency_maps_is_recorded_only_as_optional(tmp_path: Path) -> None:
    # npm's entry for watchpack@1.7.5, whose published dependencies repeat its optional ones
    reg = FakeRegistry()
    reg.add("fsevents", "1.0.0").add("neo", "1.0.0")
    reg.add("watch", "1.0.0", dependencies={"neo": "^1", "fsevents": "^1"}, optional_dependencies={"fsevents": "^1"})
    res = await run(reg, {"dependencies": {"watch": "1"}}, tmp_path)
    raw = res.lockfile.packages["node_modules/watch"].raw
    assert raw["dependencies"] == {"neo": "^1"} and raw["optionalDependencies"] == {"fsevents": "^1"}
    assert res.lockfile.packages["node_modules/fsevents"].optional


async def test_an_optional_peer_broken_after_its_dependent_was_visited_is_revisited(tmp_path: Path) -> None:
    # npm (Angular CLI app: @angular-devkit/core peerOptional chokidar@^3, visited before
    # @angular/compiler-cli puts chokidar@4 at the root): core is visited again, its
    # chokidar@3 takes the root and chokidar@4 nests under compiler-cli.
    reg = FakeRegistry()
    reg.add("c", "3.6.0").add("c", "4.0.3")
    reg.add("a-core", "1.0.0", peer_dependencies={"c": "^3.5.2"}, peer_dependencies_meta={"c": {"optional": True}})
    reg.add("a-build", "1.0.0", dependencies={"a-core": "1.0.0"})
    reg.add("b-cli", "1.0.0", dependencies={"c": "^4.0.0"})
    res = await run(reg, {"devDependencies": {"a-build": "1", "b-cli": "1"}}, tmp_path)
    assert versions(res) == {
        "node_modules/a-build": "1.0.0",
        "node_modules/a-core": "1.0.0",
        "node_modules/b-cli": "1.0.0",
        "node_modules/b-cli/node_modules/c": "4.0.3",
        "node_modules/c": "3.6.0",
    }
