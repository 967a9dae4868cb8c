"""Scripted misbehaviour for the loopback registry, one request at a time.

Rules this module keeps:
- A fault matches by exact path (decoded ``path`` or raw ``target``) or by a
  predicate over the incoming RequestRecord; it fires for the next ``times``
  matching requests (None: forever). At most one fault shapes a request: the
  earliest registered one that still has uses left.
- Each kind's required option is checked when the fault is registered, so a
  mistyped fault fails the test at the line that set it up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args

from .records import RequestRecord

FaultKind = Literal[
    "status",  # answer `status` (with optional Retry-After) instead of the document
    "delay",  # wait `seconds` before the status line, then answer normally
    "stall",  # send the headers, then nothing until the server stops (at most `seconds`, default 60)
    "reset",  # RST the connection; before any byte, or mid-body with during_body=True
    "truncate",  # full Content-Length, half the body, then close
    "overlong",  # more bytes than Content-Length says, then close
    "html",  # 200 text/html error page, as a captive portal or broken proxy sends
    "corrupt_json",  # the first half of the body, with a matching Content-Length
    "wrong_integrity",  # a different (valid) tarball than the one advertised
    "gzip_tarball",  # the tarball wrapped in an extra Content-Encoding: gzip layer
    "redirect",  # `status` (default 302) to `to` + the request target
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)

Match = str | Callable[[RequestRecord], bool]


@dataclass(slots=True)
class Fault:
    """A registered fault; ``hits`` counts the requests it has shaped so far."""

    match: Match
    kind: FaultKind
    times: int | None = 1
    status: int | None = None
    retry_after: int | None = None
    seconds: float | None = None
    during_body: bool = False
    to: str | None = None
    hits: int = 0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(
                f"unknown fault kind {self.kind!r}; one of {', '.join(FAULT_KINDS)}"
            )
        if self.kind == "status" and self.status is None:
            raise ValueError("a 'status' fault needs status=")
        if self.kind == "delay" and self.seconds is None:
            raise ValueError("a 'delay' fault needs seconds=")
        if self.kind == "redirect" and self.to is None:
            raise ValueError(
                "a 'redirect' fault needs to= (the base URL to send the client to)"
            )

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times

    def matches(self, record: RequestRecord) -> bool:
        return matches(self.match, record)


def matches(match: Match, record: RequestRecord) -> bool:
    """A path matches the decoded path or the raw target exactly; a predicate decides itself."""
    if callable(match):
        return match(record)
    return match in (record.path, record.target)
