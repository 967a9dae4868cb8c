"""What the loopback registry remembers about each request it answered.

Rules this module keeps:
- Header names are lower-cased; repeated headers are joined with ", ".
- ``path`` is the request path without its query, percent-decoded, so the
  scoped packument reads ``/@scope/pkg`` whether the client sent ``%2f`` or ``/``;
  ``target`` keeps the raw request-target as sent.
- A record is immutable; fault predicates see it before the answer exists
  (``status`` None), the log holds the final one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote

RouteKind = Literal["packument", "version", "tarball", "other"]


@dataclass(frozen=True, slots=True)
class Route:
    """Which registry endpoint a path names. ``arg`` is the version-or-tag of a
    version document, or the file name of a tarball."""

    kind: RouteKind
    package: str | None = None
    arg: str | None = None


def parse_route(path: str) -> Route:
    parts = [part for part in path.split("/") if part]
    if not parts:
        return Route("other")
    if parts[0].startswith("@"):
        if len(parts) < 2:
            return Route("other")
        name, rest = f"{parts[0]}/{parts[1]}", parts[2:]
    else:
        name, rest = parts[0], parts[1:]
    if not rest:
        return Route("packument", name)
    if len(rest) == 1:
        return Route("version", name, rest[0])
    if len(rest) == 2 and rest[0] == "-":
        return Route("tarball", name, rest[1])
    return Route("other")


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request: when it arrived (``time.monotonic()``), what was asked, what
    status went out (None when the connection was reset before any), and which
    fault, if any, shaped the answer."""

    method: str
    target: str
    path: str
    headers: Mapping[str, str]
    when: float
    status: int | None = None
    fault: str | None = None

    @classmethod
    def incoming(
        cls, method: str, target: str, headers: Mapping[str, str], when: float
    ) -> RequestRecord:
        return cls(method, target, unquote(target.partition("?")[0]), headers, when)

    @property
    def route(self) -> Route:
        return parse_route(self.path)

    @property
    def kind(self) -> RouteKind:
        return self.route.kind

    @property
    def package(self) -> str | None:
        return self.route.package
