"""The engine of ``weir outdated``: which installed dependencies have newer versions, as npm 11 says.

Rules this module holds (npm's ``outdated`` command):

1. The edges looked at: the project's own dependencies by default; with ``all``, every
   installed package's too; with names, every edge into an installed package of that name.
2. For each edge: ``current`` is the version it resolves to in node_modules (node's lookup),
   ``wanted`` the version its range picks from the registry now, ``latest`` what ``*`` picks
   (the ``latest`` dist-tag). It is listed when nothing is installed, or current ≠ wanted, or
   wanted ≠ latest.
3. Skipped as npm skips them: specs that are no registry spec (folders, URLs, git), a missing
   dependency that is not a plain ``dependencies`` one, packages of an omitted kind, and
   packages the registry does not have (E404) or has no matching version of (ETARGET).
4. Metadata is revalidated (npm's preferOnline), never taken stale from the cache.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from weir.core import events as ev
from weir.core.config import Config
from weir.core.errors import InputError, ResolveError
from weir.core.tree.paths import name_of, resolve_location
from weir.core.npm.package_json import npm_name_order
from weir.core.npm.spec import parse_spec
from weir.core.why import dependency_specs

if TYPE_CHECKING:
    from weir.core.registry.connect import OnFirstJob

_TYPES = {"optional": "optionalDependencies", "peer": "peerDependencies", "peerOptional": "peerDependencies", "dev": "devDependencies"}


@dataclass(frozen=True, slots=True)
class Outdated:
    """One row of ``npm outdated``: a dependency edge whose installed version is not the newest."""

    name: str
    current: str | None  # None when nothing is installed (npm's MISSING)
    wanted: str
    latest: str
    location: str | None  # install path ("node_modules/a"), None when missing
    dependent: str  # the name of the package (or project folder) that depends on it
    dependent_location: str  # its install path; "" for the project
    type: str  # dependencies | devDependencies | optionalDependencies | peerDependencies


@dataclass(frozen=True, slots=True)
class _Edge:
    source: str  # install path of the dependent
    name: str
    spec: str
    kind: str


async def find_outdated(
    project: Path,
    root_raw: Mapping[str, Any],
    installed: Mapping[str, Mapping[str, Any]],
    config: Config,
    *,
    names: Collection[str] = (),
    every: bool = False,
    omit: Collection[str] = (),
    reporter: ev.Reporter | None = None,
) -> list[Outdated]:
    """The outdated rows for ``installed`` (install path → package fields), sorted as npm sorts them."""
    from weir.core.registry.connect import open_registry

    reporter = reporter or ev.Reporter()
    packages: dict[str, Mapping[str, Any]] = {"": root_raw, **{p: e for p, e in installed.items() if p}}
    edges = _edges(packages, names, every)
    registry = open_registry(replace(config, prefer_online=True, prefer_offline=False), reporter)
    rows: list[Outdated] = []
    try:
        async with anyio.create_task_group() as tg:
            for n, edge in enumerate(edges):
                tg.start_soon(_check, project.name, packages, edge, registry, n + 1, set(omit), rows)
    finally:
        await registry.transport.aclose()
    return sorted(rows, key=lambda r: (npm_name_order(r.name), npm_name_order(r.dependent)))


def _edges(packages: Mapping[str, Mapping[str, Any]], names: Collection[str], every: bool) -> list[_Edge]:
    """Rule 1, in install-path order (the order does not show: rows are sorted)."""
    if names:
        wanted = set(names)
        out = []
        for source, raw in packages.items():
            for name, (spec, kind) in dependency_specs(source, raw).items():
                target = resolve_location(packages, source, name)
                if target is not None and name_of(target) in wanted:
                    out.append(_Edge(source, name, spec, kind))
        return out
    sources = packages if every else {"": packages[""]}
    return [_Edge(source, name, spec, kind) for source, raw in sources.items() for name, (spec, kind) in dependency_specs(source, raw).items()]


async def _check(
    project_name: str,
    packages: Mapping[str, Mapping[str, Any]],
    edge: _Edge,
    registry: OnFirstJob,
    job_id: int,
    omit: set[str],
    rows: list[Outdated],
) -> None:
    """Rules 2-3 for one edge; appends its row when it is outdated."""
    from weir.core.resolve.pick import pick_version
    from weir.core.registry.registry import Full

    target = resolve_location(packages, edge.source, edge.name)
    node = packages.get(target) if target is not None else None
    kind = _TYPES.get(edge.kind, "dependencies")
    if node is not None and any(node.get(flag) for flag in omit):
        return
    if node is None and kind != "dependencies":
        return
    try:
        spec = parse_spec(edge.name, edge.spec)
    except InputError:
        return
    inner = spec.subspec if spec.kind == "alias" and spec.subspec is not None else spec
    if inner.kind not in ("version", "range", "tag") or inner.name is None:
        return
    try:
        done = await registry.execute(Full(inner.name), job_id=job_id)
        wanted = pick_version(done.manifest, inner.kind, inner.fetch_spec).version
        latest = pick_version(done.manifest, "range", "*").version
    except ResolveError as exc:
        if exc.code in ("E404", "ETARGET"):
            return
        raise
    current = node.get("version") if node is not None else None
    if current is not None and current == wanted and wanted == latest:
        return
    rows.append(
        Outdated(
            name=edge.spec.replace("npm", edge.name, 1) if spec.kind == "alias" else edge.name,
            current=current,
            wanted=wanted,
            latest=latest,
            location=target,
            dependent=name_of(edge.source) if edge.source else project_name,
            dependent_location=edge.source,
            type=kind,
        )
    )
