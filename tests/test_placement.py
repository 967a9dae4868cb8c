"""Placement rules on hand-built trees (no registry): dedupe, conflict, shadowing, peers."""

from __future__ import annotations

from weir.core.resolve.placement import Edge, Node, Tree, Verdict
from weir.core.npm.spec import parse_spec


def node(name: str, version: str, deps: dict[str, str] | None = None, peers: dict[str, str] | None = None) -> Node:
    n = Node(name, version=version)
    for dep, rng in (peers or {}).items():
        n.edges_out[dep] = Edge(n, dep, "peer", parse_spec(dep, rng), rng, None)
    for dep, rng in (deps or {}).items():
        n.edges_out[dep] = Edge(n, dep, "prod", parse_spec(dep, rng), rng, None)
    return n


def root(deps: dict[str, str]) -> Tree:
    return Tree(node("app", "1.0.0", deps))


def test_existing_satisfying_copy_is_kept() -> None:
    tree = root({"a": "^1", "c": "^1"})
    tree.attach(node("c", "1.2.0"), tree.root)
    a = node("a", "1.0.0", {"c": "^1.1"})
    tree.attach(a, tree.root)
    assert a.edges_out["c"].valid
    chosen, _, _ = tree.find_target(node("c", "1.2.0"), a.edges_out["c"])
    assert chosen is not None and chosen.verdict is Verdict.KEEP


def test_newer_copy_replaces_when_every_dependent_accepts_it() -> None:
    tree = root({"a": "^1", "c": "^1"})
    tree.attach(node("c", "1.0.0"), tree.root)
    a = node("a", "1.0.0", {"c": "^1.1"})
    tree.attach(a, tree.root)
    chosen, _, _ = tree.find_target(node("c", "1.1.0"), a.edges_out["c"])
    assert chosen is not None and chosen.target is tree.root and chosen.verdict is Verdict.REPLACE


def test_conflict_nests_under_the_dependent() -> None:
    tree = root({"a": "^1", "b": "^1"})
    tree.attach(node("a", "1.0.0"), tree.root)
    b = node("b", "1.0.0", {"a": "^2"})
    tree.attach(b, tree.root)
    chosen, conflict, _ = tree.find_target(node("a", "2.0.0"), b.edges_out["a"])
    assert chosen is not None and chosen.target is b
    assert conflict is not None and conflict.blocker is not None and conflict.blocker.location == "node_modules/a"


def test_placement_never_shadows_a_copy_someone_below_relies_on() -> None:
    # root -> x; x/node_modules/y -> z@1 resolved from the root's z@1. Placing z@2 for x
    # into x would shadow y's z, so z@2 must go under the node that wants it.
    tree = root({"x": "1", "z": "1"})
    tree.attach(node("z", "1.0.0"), tree.root)
    x = node("x", "1.0.0", {"y": "1", "w": "1"})
    tree.attach(x, tree.root)
    y = node("y", "1.0.0", {"z": "1"})
    tree.attach(y, x)
    w = node("w", "1.0.0", {"z": "2"})
    tree.attach(w, x)
    chosen, conflict, _ = tree.find_target(node("z", "2.0.0"), w.edges_out["z"])
    assert chosen is not None and chosen.target is w
    assert conflict is not None and conflict.target is x


def test_peer_lands_beside_its_dependent_not_under_it() -> None:
    tree = root({"plugin": "1"})
    plugin = node("plugin", "1.0.0", peers={"host": "^2"})
    tree.attach(plugin, tree.root)
    assert tree.deepest_nesting_target(plugin, "host") is tree.root


def test_unreachable_nodes_are_pruned_and_flags_computed() -> None:
    tree = root({"a": "1"})
    tree.root.edges_out["d"] = Edge(tree.root, "d", "dev", parse_spec("d", "1"), "1", None)
    tree.attach(node("a", "1.0.0"), tree.root)
    tree.attach(node("d", "1.0.0"), tree.root)
    tree.attach(node("stale", "1.0.0"), tree.root)
    tree.prune_unreachable()
    tree.calc_dep_flags()
    assert set(tree.root.children) == {"a", "d"}
    assert tree.root.children["d"].dev and not tree.root.children["a"].dev
