"""The resolver's queue: packument fetches in flight, their results, and the two lanes.

Rules this module holds (DESIGN rules 1 and 2):

1. One ``ManifestQueue`` per resolve owns the in-flight map keyed by ``Full(name)``
   and the run-local results: a packument is asked of the (stateless) registry at
   most once per run, and every waiter gets the same answer, failure included.
2. Two lanes: a packument the loop needs now (demand) starts before any it will
   probably need (prefetch); a prefetch the loop then waits on is promoted.
3. At most ``MAX_IN_FLIGHT`` fetches run at once; the rest wait in their lane.
4. Fetch-ahead: once a node is placed, the packuments its own dependencies name
   are prefetched in name order (never an optional peer's, which is not installed
   for it), so the network runs ahead of placement.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Protocol

import anyio

from weir.core import events as ev
from weir.core.errors import WeirError
from weir.core.registry.registry import Full, ManifestDone
from weir.core.resolve.placement import Edge, Node
from weir.core.tree.lockfile import collation_key

if TYPE_CHECKING:
    import anyio.abc

__all__ = ["MAX_IN_FLIGHT", "ManifestQueue", "RegistryLike", "registry_name"]

MAX_IN_FLIGHT = 64


class RegistryLike(Protocol):
    async def execute(self, job: Full, *, job_id: int) -> ManifestDone: ...


class ManifestQueue:
    """The in-flight map, the run-local results and the two lanes (rules 1-3)."""

    def __init__(self, registry: RegistryLike, reporter: ev.Reporter, tg: anyio.abc.TaskGroup, job_ids: ev.JobIds) -> None:
        self.registry = registry
        self.reporter = reporter
        self.tg = tg
        self.done: dict[str, ManifestDone | WeirError] = {}
        self.ready: dict[str, anyio.Event] = {}
        self.lane: dict[str, ev.Lane] = {}
        self.job_ids: dict[str, int] = {}
        self.demand: deque[str] = deque()
        self.prefetch: deque[str] = deque()
        self.running = 0
        self.ids = job_ids  # the run's allocator: a manifest job never shares an id with a tarball job

    def want(self, name: str, lane: ev.Lane) -> None:
        if name in self.ready:
            if lane == "demand" and self.lane.get(name) == "prefetch":
                self.lane[name] = "demand"
                self.reporter.event(ev.JobPromoted(job_id=self.job_ids[name], package=name))
                if name in self.prefetch:
                    self.prefetch.remove(name)
                    self.demand.append(name)
            return
        self.ready[name] = anyio.Event()
        self.lane[name] = lane
        job_id = self.job_ids[name] = self.ids.next()
        self.reporter.event(ev.JobQueued(job_id=job_id, kind="manifest", package=name, lane=lane))
        (self.demand if lane == "demand" else self.prefetch).append(name)
        self._pump()

    def prefetch_deps(self, node: Node) -> None:
        """Rule 4. Only once placed: a peer candidate that placement drops (an older copy
        already satisfies its dependents) would otherwise fetch the whole dependency set
        of a version nobody installs."""
        for name in sorted(node.edges_out, key=collation_key):
            edge = node.edges_out[name]
            real = registry_name(edge)
            if real is not None and edge.type != "peerOptional":
                self.want(real, "prefetch")

    def _pump(self) -> None:
        while self.running < MAX_IN_FLIGHT and (self.demand or self.prefetch):
            name = self.demand.popleft() if self.demand else self.prefetch.popleft()
            self.running += 1
            self.tg.start_soon(self._run, name)
        if self.demand or self.prefetch:
            self.reporter.event(ev.QueueDepth(demand=len(self.demand), prefetch=len(self.prefetch), in_flight=self.running))

    async def _run(self, name: str) -> None:
        job_id = self.job_ids[name]
        self.reporter.event(ev.JobStarted(job_id=job_id, kind="manifest", package=name))
        try:
            self.done[name] = await self.registry.execute(Full(name), job_id=job_id)
        except WeirError as exc:
            self.done[name] = exc
        finally:
            self.running -= 1
            self.ready[name].set()
            self._pump()

    async def get(self, name: str) -> ManifestDone:
        self.want(name, "demand")
        await self.ready[name].wait()
        result = self.done[name]
        if isinstance(result, WeirError):
            raise result
        return result


def registry_name(edge: Edge) -> str | None:
    """The package whose packument ``edge`` needs, or None when it names no registry package."""
    spec = edge.spec
    if spec.kind == "alias" and spec.subspec is not None:
        return spec.subspec.name
    if spec.kind in ("version", "range", "tag"):
        return spec.name
    return None
