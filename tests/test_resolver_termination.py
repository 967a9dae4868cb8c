"""The resolver ends on every graph: peer fights below the root are overridden once
(npm's "ERESOLVE overriding peer dependency"), never retried, and each place in the
tree is filled a bounded number of times. Real HTTP on the loopback registry."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loopback import LoopbackRegistry

from weir.core import events as ev
from weir.core.config import Config
from weir.core.errors import ResolveError
from weir.core.registry.http import Http
from weir.core.registry.manifest_store import ManifestStore
from weir.core.npm.package_json import package_json_from_dict
from weir.core.registry.registry import Registry
from weir.core.resolve.resolver import Resolution, resolve

NAMES = ("p0", "p1", "p2", "p3", "p4")
VERSIONS = ("1.0.0", "2.0.0", "3.0.0")
RANGES = ("^1", "^2", "^3", "*", "1 || 2", "2 || 3")
# a generous bound: npm's rules place a node once, and again only after a replace broke it
MAX_PINS_PER_PATH = 6


async def resolve_on(registry: LoopbackRegistry, pkg: dict[str, Any], tmp: Path, reporter: ev.Reporter) -> Resolution:
    (tmp / "package.json").write_text(json.dumps(pkg))
    config = Config(registry=registry.url + "/", cache=tmp / "cache")
    http = Http(config, ev.Reporter())
    try:
        reg = Registry(http, ManifestStore(tmp / "cache"), config, ev.Reporter())
        root = package_json_from_dict({"name": "app", "version": "1.0.0", **pkg}, source="package.json")
        with anyio.fail_after(30):
            return await resolve(root, tmp, registry=reg, config=config, reporter=reporter)
    finally:
        await http.aclose()


def test_a_peer_fight_below_the_root_is_overridden_once_and_resolution_ends(registry: LoopbackRegistry, tmp_path: Path) -> None:
    # the xl fixture's shape (gatsby > @gatsbyjs/reach-router, peer react 18.x, while the
    # root asks react@^19): weir replaced the root's react with 18 for reach-router, the
    # root put 19 back, and so on forever. npm nests reach-router under gatsby, keeps
    # react 19 at the root and warns "ERESOLVE overriding peer dependency".
    for v in ("18.3.1", "19.1.0"):
        registry.add("react", v)
        registry.add("react-dom", v, peer_dependencies={"react": f"^{v}"})
    registry.add("router", "2.0.1", peer_dependencies={"react": "18.x", "react-dom": "18.x"})
    registry.add("site", "5.0.0", dependencies={"router": "^2.0.0"}, peer_dependencies={"react": "^18.0.0 || ^19.0.0", "react-dom": "^18.0.0 || ^19.0.0"})
    rec = ev.Recorder()
    res = anyio.run(resolve_on, registry, {"dependencies": {"react": "^19", "react-dom": "^19", "site": "^5"}}, tmp_path, rec)
    versions = {p: e.version for p, e in res.lockfile.packages.items() if p}
    assert versions == {
        "node_modules/react": "19.1.0",
        "node_modules/react-dom": "19.1.0",
        "node_modules/site": "5.0.0",
        "node_modules/site/node_modules/router": "2.0.1",
    }
    warned = [w for w in rec.of(ev.Warned) if w.code == "peer-conflict"]
    assert sorted(w.package for w in warned) == ["react", "react-dom"]
    assert all("app > site@5.0.0 > router@2.0.1 wants" in w.message and "keeping" in w.message for w in warned)


def test_a_peer_conflict_among_the_root_s_own_dependencies_is_still_eresolve(registry: LoopbackRegistry, tmp_path: Path) -> None:
    for v in ("17.0.2", "18.3.1"):
        registry.add("react", v)
    registry.add("dom", "18.3.1", peer_dependencies={"react": "^18.3.1"})
    with pytest.raises(ResolveError) as info:
        anyio.run(resolve_on, registry, {"dependencies": {"dom": "^18", "react": "^17"}}, tmp_path, ev.Reporter())
    assert info.value.code == "ERESOLVE" and "react@^18.3.1" in str(info.value)


@st.composite
def peer_graphs(draw: st.DrawFn) -> tuple[dict[tuple[str, str], dict[str, Any]], dict[str, str]]:
    """A few packages, each in a few versions, whose dependencies and (optional) peer
    dependencies point at each other with overlapping and disjoint ranges."""
    graph: dict[tuple[str, str], dict[str, Any]] = {}
    for name in NAMES:
        for version in draw(st.lists(st.sampled_from(VERSIONS), min_size=1, max_size=3, unique=True)):
            others = [n for n in NAMES if n != name]
            deps = draw(st.dictionaries(st.sampled_from(others), st.sampled_from(RANGES), max_size=2))
            peers = draw(st.dictionaries(st.sampled_from(others), st.sampled_from(RANGES), max_size=2))
            peers = {n: r for n, r in peers.items() if n not in deps}
            optional = draw(st.sets(st.sampled_from(sorted(peers) or ["-"])))
            graph[(name, version)] = {
                "dependencies": deps,
                "peer_dependencies": peers,
                "peer_dependencies_meta": {n: {"optional": True} for n in optional if n in peers},
            }
    root = draw(st.dictionaries(st.sampled_from(NAMES), st.sampled_from(RANGES), min_size=1, max_size=3))
    return graph, root


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(peer_graphs())
def test_resolution_ends_on_generated_adversarial_peer_graphs(tmp_path_factory: pytest.TempPathFactory, case: tuple[dict[tuple[str, str], dict[str, Any]], dict[str, str]]) -> None:
    graph, root = case
    tmp = tmp_path_factory.mktemp("graph")
    with LoopbackRegistry() as registry:
        for (name, version), fields in graph.items():
            registry.add(name, version, **fields)
        rec = ev.Recorder()
        try:
            res = anyio.run(resolve_on, registry, {"dependencies": root}, tmp, rec)
        except ResolveError as exc:  # the root's own peers conflict, or a range has no version
            assert exc.code in ("ERESOLVE", "ETARGET"), exc
            return
    pins = Counter(p.path + (p.name,) for p in rec.of(ev.VersionPinned))
    assert max(pins.values()) <= MAX_PINS_PER_PATH, pins.most_common(3)
    assert all(p.count("node_modules/") <= len(NAMES) + 1 for p in res.lockfile.packages)


def test_a_dependency_cycle_whose_versions_never_meet_ends_in_a_link(registry: LoopbackRegistry, tmp_path: Path) -> None:
    # a1 > b1 > a2 > b2 > a1: the last a1 would nest under the first one forever; npm
    # links it to the a@1 above it instead, and writes the link in the lockfile
    registry.add("a", "1.0.0", dependencies={"b": "1"})
    registry.add("b", "1.0.0", dependencies={"a": "2"})
    registry.add("a", "2.0.0", dependencies={"b": "2"})
    registry.add("b", "2.0.0", dependencies={"a": "1"})
    res = anyio.run(resolve_on, registry, {"dependencies": {"a": "1", "b": "2"}}, tmp_path, ev.Reporter())
    packages = {p: e.raw for p, e in res.lockfile.packages.items() if p}
    assert {p: raw.get("version") for p, raw in packages.items()} == {
        "node_modules/a": "1.0.0",
        "node_modules/a/node_modules/a": "2.0.0",
        "node_modules/a/node_modules/a/node_modules/a": None,
        "node_modules/a/node_modules/a/node_modules/b": "2.0.0",
        "node_modules/a/node_modules/b": "1.0.0",
        "node_modules/b": "2.0.0",
    }
    assert packages["node_modules/a/node_modules/a/node_modules/a"] == {"resolved": "node_modules/a", "link": True}
