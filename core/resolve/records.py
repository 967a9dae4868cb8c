"""What the loop writes down while it builds the tree: why each node is there, and the warnings.

Rules this module holds (DESIGN rule 7, "why is recorded, not reconstructed"):

1. A candidate's ``Why`` (the rule that chose it, the candidates with verdicts,
   how its packument was obtained) is noted when the candidate is made: picked
   from a packument, kept from the lockfile, a workspace, a file: folder, a
   tarball or git. A placed copy takes its candidate's ``Why``, and its
   ``Placement`` (hoisted, or nested because of which blocker) is noted at the
   moment it is placed.
2. A node's records are held by the node (``Node.why``, ``Node.placement``), never
   in a map keyed by ``id(node)``: a candidate the loop drops or a copy a placement
   prunes is freed, and its id could come back as another node's, which would then
   read the dropped one's record. Nor in a map keyed by the node: that keeps every
   dropped node alive (+8 MB peak on the large bench, +23 MB on xl).
3. A node without a ``Why`` (a link that closes a dependency cycle, a copy the
   placement rules moved) reads as ``dedupe``; one the loop never placed (seeded
   from the lockfile) reads its ``Placement`` from where it stands.
4. A Decision's requirements are the edges into the node, in their dependents'
   location order; a dependent path is outermost first, the project's folders by
   name, packages as ``name@version``.
5. A warning goes to the run's list (``Resolution.warnings``) and to the reporter
   as a ``Warned`` event, in the order the loop meets it.
"""

from __future__ import annotations

from dataclasses import dataclass

from weir.core import events as ev
from weir.core.resolve.decision import Candidate, DepKind, Decision, Metadata, Placement, Requirement, Rule
from weir.core.resolve.placement import Check, Node, Tree
from weir.core.tree.lockfile import collation_key

__all__ = ["Warnings", "Why", "decision_of", "dependent_path", "note_placed", "placement_of", "rule_of"]

_DEP_KINDS: dict[str, DepKind] = {"prod": "prod", "dev": "dev", "optional": "optional", "peer": "peer", "peerOptional": "peerOptional"}


@dataclass(frozen=True, slots=True)
class Why:
    rule: Rule
    candidates: tuple[Candidate, ...] = ()
    metadata: Metadata | None = None


def note_placed(dep: Node, placed: Node, conflict: Check | None) -> None:
    """``placed`` is the copy of candidate ``dep`` the tree now holds: it takes the candidate's
    Why, and its Placement says whether ``conflict`` (the check that stopped it from going
    higher) nested it."""
    if dep.why is not None:
        placed.why = dep.why
    placed.placement = placement_of(placed, conflict)


def rule_of(node: Node) -> Rule:
    return node.why.rule if node.why is not None else "dedupe"


def decision_of(node: Node, tree: Tree) -> Decision:
    why = node.why or Why("dedupe")
    requirements = tuple(
        Requirement(spec=e.raw, kind=_DEP_KINDS.get(e.type, "workspace"), path=dependent_path(e.source), override=e.override)
        for e in sorted(tree.edges_in(node), key=lambda e: collation_key(e.source.location))
    )
    return Decision(
        name=node.name, version=node.version or "", rule=why.rule, requirements=requirements,
        candidates=why.candidates, placement=node.placement or placement_of(node, None), metadata=why.metadata,
    )


def placement_of(node: Node, conflict: Check | None) -> Placement:
    hoisted = node.parent is not None and node.parent.is_root
    if hoisted or conflict is None or conflict.blocker is None:
        return Placement(location=node.location, hoisted=hoisted, reason="hoisted to the root" if hoisted else "placed under its dependent")
    b = conflict.blocker
    return Placement(
        location=node.location, hoisted=False,
        reason=f"nested: {b.location} is {b.package_name}@{b.version}",
        blocker=b.location,
    )


def dependent_path(node: Node) -> tuple[str, ...]:
    """Rule 4: the chain from the project down to ``node``, as errors and Decisions name it."""
    chain: list[str] = []
    n: Node | None = node
    while n is not None:
        chain.append(n.package_name if n.is_top else f"{n.package_name}@{n.version}")
        n = n.resolve_parent
    return tuple(reversed(chain))


class Warnings:
    """Rule 5."""

    def __init__(self, reporter: ev.Reporter) -> None:
        self.reporter = reporter
        self.messages: list[str] = []

    def warn(self, code: str, message: str, package: str | None) -> None:
        self.messages.append(message)
        self.reporter.event(ev.Warned(code=code, message=message, package=package))

