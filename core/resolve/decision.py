"""Decision records: why a version was chosen and where it was placed (DESIGN rule 7).

Why is recorded, not reconstructed: the resolver loop fills a ``Decision`` at
the moment it pins a version, with everything it knew then. ``weir why``, the
TUI's Why screen and ``--json`` output all read these records; a trace
carries them inside ``VersionPinned`` events so a replay can answer "why"
too. Labels are words, never colour alone. Like events, each record takes
its equality, hash and repr from ``weir.core.events.Record`` (events rule 5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from weir.core.events import Record, record

DepKind = Literal["prod", "dev", "optional", "peer", "peerOptional", "workspace"]

# The rule that decided the version.
Rule = Literal[
    "lockfile",  # an existing lockfile pin that still satisfies every requirement
    "exact",  # the spec named one version
    "dist-tag",  # the spec was a dist-tag (latest, next, ...)
    "latest-in-range",  # the `latest` tag satisfied the range, so npm takes it
    "highest-in-range",  # the highest satisfying version, after preferences
    "override",  # an npm `overrides` entry replaced the requested spec
    "dedupe",  # an already-placed copy satisfied the range
    "workspace",  # a workspace folder of this project
    "link",  # a file: folder
    "remote",  # a tarball URL
    "git",  # a git repository at a commit
]

# Why a candidate version lost.
Verdict = Literal[
    "chosen",
    "outside-range",
    "prerelease",
    "deprecated",
    "engines",
    "os-cpu",
    "dist-tag-preferred",
    "lockfile-pin-kept",
    "override",
    "peer-conflict",
    "lower",  # satisfied everything, but a higher version did too
]


@record
@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class Requirement(Record):
    """One dependent asking for the package."""

    spec: str  # the range/tag/alias as written by the dependent
    kind: DepKind
    path: tuple[str, ...]  # dependent path, outermost first: ("my-app", "express@4.21.2")
    override: str | None = None  # the overriding spec, when an override applied


@record
@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class Candidate(Record):
    version: str
    verdict: Verdict
    detail: str = ""  # e.g. "engines: node >=22 (running 20.20.2)"


@record
@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class Placement(Record):
    location: str  # install path, e.g. node_modules/a/node_modules/b
    hoisted: bool
    reason: str  # "hoisted to the root" or "nested: node_modules/b is b@2.0.0, required by x"
    blocker: str | None = None  # the location of the copy that forced nesting


@record
@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class Metadata(Record):
    """How the packument was obtained for this decision."""

    cache_status: str  # hit | stale | revalidated | updated | miss
    elapsed_ms: float
    retries: int = 0


@record
@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class Decision(Record):
    name: str
    version: str
    rule: Rule
    requirements: tuple[Requirement, ...]
    candidates: tuple[Candidate, ...]  # the considered versions, newest first (bounded)
    placement: Placement | None = None
    metadata: Metadata | None = None
