"""arborist placement rules weir follows, each on a small graph served by the loopback
registry. Every expected tree is the one npm 11.19 writes for the same graph and
package.json (`npm install --package-lock-only` against the same loopback registry)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
from loopback import LoopbackRegistry

from weir.core import events as ev
from weir.core.config import Config
from weir.core.registry.http import Http
from weir.core.registry.manifest_store import ManifestStore
from weir.core.npm.package_json import package_json_from_dict
from weir.core.registry.registry import Registry
from weir.core.resolve.resolver import resolve

FLAGS = ("dev", "optional", "peer", "extraneous")


def tree(registry: LoopbackRegistry, deps: dict[str, str], tmp: Path) -> dict[str, tuple[Any, ...]]:
    """weir's lockfile for ``deps``: path -> (version, flags that are set)."""

    async def go() -> dict[str, tuple[Any, ...]]:
        (tmp / "package.json").write_text(json.dumps({"dependencies": deps}))
        config = Config(registry=registry.url + "/", cache=tmp / "cache")
        http = Http(config, ev.Reporter())
        try:
            reg = Registry(http, ManifestStore(tmp / "cache"), config, ev.Reporter())
            root = package_json_from_dict({"name": "app", "version": "1.0.0", "dependencies": deps}, source="package.json")
            with anyio.fail_after(30):
                res = await resolve(root, tmp, registry=reg, config=config)
        finally:
            await http.aclose()
        return {p: (e.raw.get("version"), *(f for f in FLAGS if e.raw.get(f))) for p, e in res.lockfile.packages.items() if p}

    return anyio.run(go)


def optional_peer(name: str, spec: str) -> dict[str, Any]:
    return {"peer_dependencies": {name: spec}, "peer_dependencies_meta": {name: {"optional": True}}}


def test_optional_peers_join_the_peer_set_and_can_push_a_package_deeper(registry: LoopbackRegistry, tmp_path: Path) -> None:
    # the xl fixture: jest-config peer-optionally wants ts-node, whose optional peer
    # @swc/core wants @swc/helpers >=0.5.17 while the root holds 0.4.37, so npm nests
    # jest-config under its dependents; none of the optional peers is installed
    registry.add("core", "1.0.0", dependencies={"cfg": "1"})
    registry.add("cfg", "1.0.0", **optional_peer("tsn", "*"))
    registry.add("tsn", "1.0.0", **optional_peer("swc", "*"))
    registry.add("swc", "1.0.0", **optional_peer("helpers", ">=0.5.0"))
    registry.add("helpers", "0.4.0")
    registry.add("helpers", "0.5.0")
    assert tree(registry, {"core": "1", "helpers": "0.4.0"}, tmp_path) == {
        "node_modules/core": ("1.0.0",),
        "node_modules/core/node_modules/cfg": ("1.0.0",),
        "node_modules/helpers": ("0.4.0",),
    }


def test_a_peer_overridden_while_its_set_was_chosen_keeps_the_matching_copy(registry: LoopbackRegistry, tmp_path: Path) -> None:
    # gatsby > react-server-dom-webpack, peer react@0.0.0-experimental: its set carries
    # the react@19 gatsby's own range picked, which the root's react@19 matches: KEEP,
    # so react-server-dom-webpack hoists to the root (weir nested it under gatsby)
    registry.add("react", "19.0.0")
    registry.add("react", "0.0.0-experimental-x")
    registry.add("site", "1.0.0", dependencies={"rsdw": "1.0.0"}, peer_dependencies={"react": "^18.0.0 || ^19.0.0 || ^0.0.0"})
    registry.add("rsdw", "1.0.0", peer_dependencies={"react": "0.0.0-experimental-x"})
    assert tree(registry, {"react": "^19.0.0", "site": "1"}, tmp_path) == {
        "node_modules/react": ("19.0.0",),
        "node_modules/rsdw": ("1.0.0",),
        "node_modules/site": ("1.0.0",),
    }


def test_a_peer_displaces_a_copy_that_can_nest_deeper_and_deeper_duplicates_go(registry: LoopbackRegistry, tmp_path: Path) -> None:
    # the xl fixture's yaml: vite's optional peer yaml@^2 takes the root from cosmiconfig's
    # yaml@1 (cosmiconfig can hold its own copy), and lint-staged's nested yaml@2 is then
    # a duplicate of the root's, so it goes
    registry.add("yaml", "1.0.0")
    registry.add("yaml", "2.0.0")
    registry.add("cc", "1.0.0", dependencies={"yaml": "^1.0.0"})
    registry.add("ls", "1.0.0", dependencies={"yaml": "^2.0.0"})
    registry.add("vt", "1.0.0", **optional_peer("yaml", "^2.0.0"))
    assert tree(registry, {"cc": "1", "ls": "1", "vt": "1"}, tmp_path) == {
        "node_modules/cc": ("1.0.0",),
        "node_modules/cc/node_modules/yaml": ("1.0.0",),
        "node_modules/ls": ("1.0.0",),
        "node_modules/vt": ("1.0.0",),
        "node_modules/yaml": ("2.0.0",),
    }


def test_a_copy_left_without_dependents_stays_in_a_fresh_lockfile_as_extraneous(registry: LoopbackRegistry, tmp_path: Path) -> None:
    # c@3 goes to the root for top/a (c@*); top/e's c@^1 then lands under top, where
    # top/a resolves it too. npm keeps the root's c@3 as
    # it was during the build, flagged extraneous; so does w's optional peer on c.
    registry.add("a", "2.0.0")
    registry.add("e", "2.0.0")
    registry.add("top", "1.0.0", dependencies={"a": "1", "e": "1"})
    registry.add("a", "1.0.0", dependencies={"c": "*"})
    registry.add("e", "1.0.0", dependencies={"c": "^1"})
    registry.add("c", "1.0.0", dependencies={"d": "1"})
    registry.add("c", "3.0.0", dependencies={"d": "1"})
    registry.add("d", "1.0.0")
    registry.add("w", "1.0.0", **optional_peer("c", "*"))
    assert tree(registry, {"a": "2", "e": "2", "top": "1", "w": "1"}, tmp_path) == {
        "node_modules/a": ("2.0.0",),
        "node_modules/c": ("3.0.0", "extraneous"),
        "node_modules/d": ("1.0.0",),
        "node_modules/e": ("2.0.0",),
        "node_modules/top": ("1.0.0",),
        "node_modules/top/node_modules/a": ("1.0.0",),
        "node_modules/top/node_modules/c": ("1.0.0",),
        "node_modules/top/node_modules/e": ("1.0.0",),
        "node_modules/w": ("1.0.0",),
    }


def test_minimatch_10_takes_the_root_when_an_optional_peer_pushes_the_minimatch_3_dependent_deeper(registry: LoopbackRegistry, tmp_path: Path) -> None:
    # issue 14 part 5 in miniature: cfg (jest-config's place) asks mm@^3 and sorts before
    # zlib, which asks mm@^10. weir hoisted cfg, so cfg's mm@3 took the root and mm@10
    # nested; npm nests cfg under core (its optional peer chain conflicts at the root),
    # so zlib's mm@10 (with brace@5) is hoisted and mm@3 nests under core.
    registry.add("core", "1.0.0", dependencies={"cfg": "1"})
    registry.add("cfg", "1.0.0", dependencies={"mm": "^3.0.0"}, **optional_peer("tsn", "*"))
    registry.add("tsn", "1.0.0", **optional_peer("swc", "*"))
    registry.add("swc", "1.0.0", **optional_peer("helpers", ">=0.5.0"))
    registry.add("helpers", "0.4.0")
    registry.add("helpers", "0.5.0")
    registry.add("mm", "3.1.5", dependencies={"brace": "^1.1.7"})
    registry.add("mm", "10.2.6", dependencies={"brace": "^5.0.0"})
    registry.add("brace", "1.1.12")
    registry.add("brace", "5.0.0")
    registry.add("zlib", "1.0.0", dependencies={"mm": "^10.0.0"})
    assert tree(registry, {"core": "1", "helpers": "0.4.0", "zlib": "1"}, tmp_path) == {
        "node_modules/brace": ("5.0.0",),
        "node_modules/core": ("1.0.0",),
        "node_modules/core/node_modules/brace": ("1.1.12",),
        "node_modules/core/node_modules/cfg": ("1.0.0",),
        "node_modules/core/node_modules/mm": ("3.1.5",),
        "node_modules/helpers": ("0.4.0",),
        "node_modules/mm": ("10.2.6",),
        "node_modules/zlib": ("1.0.0",),
    }


# A graph the differential search against npm found (seed 361): placing b@1.1.0 for
# e > a@1.0.0 replaces the root's b@3, which e itself peer-depends on. The project brought
# e's peer group in, so npm overrides e's peer edge (a warning) and goes on; weir used to
# come back to that edge later and fail ERESOLVE.
SEARCH_361 = {
    "a@1.0.0": {"dependencies": {"d": "^1.0.0 || ^2.0.0"}, "peer_dependencies": {"b": "^1.0.0"}},
    "a@1.1.0": {"dependencies": {"c": "1.0.0"}},
    "a@2.0.0": {"dependencies": {"c": "^1.0.0", "b": "^3.0.0"}, **optional_peer("g", "^1.0.0 || ^2.0.0")},
    "a@3.0.0": {},
    "b@1.0.0": {"peer_dependencies": {"c": "^1.0.0 || ^2.0.0"}},
    "b@1.1.0": {"dependencies": {"c": "2.0.0", "a": "*", "m": "~1.0.0"}, **optional_peer("e", "1.0.0")},
    "b@2.0.0": {"peer_dependencies": {"c": "^1.0.0"}},
    "b@3.0.0": {"dependencies": {"m": "^1.0.0", "a": "2.0.0"}},
    "c@1.0.0": {"dependencies": {"m": ">=1.0.0"}, "peer_dependencies": {"b": "*"}},
    "c@1.1.0": {},
    "c@2.0.0": {"dependencies": {"m": "2.0.0"}, "peer_dependencies": {"g": "^2.0.0"}},
    "c@3.0.0": {"peer_dependencies": {"g": "^1.0.0", "m": "*"}, "peer_dependencies_meta": {"m": {"optional": True}}},
    "d@1.0.0": {},
    "d@1.1.0": optional_peer("m", "^1.0.0 || ^2.0.0"),
    "d@2.0.0": {"dependencies": {"e": "^2.0.0", "a": ">=1.0.0", "b": "1.0.0"}},
    "d@3.0.0": {"dependencies": {"b": "^1.0.0 || ^2.0.0", "e": "^1.0.0", "g": "^2.0.0"}, **optional_peer("a", "^1.1.0")},
    "e@1.0.0": {"dependencies": {"g": ">=1.0.0", "a": "~1.0.0", "c": "*"}, "peer_dependencies": {"d": "^2.0.0", "b": "^3.0.0"}},
    "e@1.1.0": {"dependencies": {"d": "~1.0.0", "a": "^3.0.0", "m": "*"}},
    "e@2.0.0": {"dependencies": {"d": "^2.0.0", "b": "*", "c": "^3.0.0"}},
    "e@3.0.0": {"dependencies": {"b": "2.0.0", "g": "2.0.0", "a": "*"}},
    "g@1.0.0": {"dependencies": {"m": "^1.0.0"}},
    "g@1.1.0": {"dependencies": {"m": "^2.0.0"}},
    "g@2.0.0": {"dependencies": {"m": "^3.0.0"}},
    "g@3.0.0": {"dependencies": {"m": "^1.0.0 || ^2.0.0"}},
    "m@1.0.0": {}, "m@1.1.0": {}, "m@2.0.0": {}, "m@3.0.0": {},
}


def test_a_replace_that_breaks_the_project_s_own_peer_group_overrides_that_edge(registry: LoopbackRegistry, tmp_path: Path) -> None:
    for spec, fields in SEARCH_361.items():
        name, _, version = spec.partition("@")
        registry.add(name, version, **fields)
    assert tree(registry, {"e": "~1.0.0", "c": "2.0.0", "m": "2.0.0", "g": "*"}, tmp_path) == {
        "node_modules/a": ("2.0.0",),
        "node_modules/a/node_modules/b": ("3.0.0",),
        "node_modules/a/node_modules/c": ("1.1.0",),
        "node_modules/a/node_modules/m": ("1.1.0",),
        "node_modules/b": ("1.1.0", "peer"),
        "node_modules/b/node_modules/m": ("1.0.0", "peer"),
        "node_modules/c": ("2.0.0",),
        "node_modules/d": ("2.0.0",),
        "node_modules/d/node_modules/b": ("1.0.0",),
        "node_modules/d/node_modules/e": ("2.0.0",),
        "node_modules/d/node_modules/e/node_modules/c": ("3.0.0",),
        "node_modules/d/node_modules/g": ("1.1.0", "peer"),
        "node_modules/e": ("1.0.0",),
        "node_modules/e/node_modules/a": ("1.0.0",),
        "node_modules/g": ("2.0.0",),
        "node_modules/g/node_modules/m": ("3.0.0",),
        "node_modules/m": ("2.0.0",),
    }
