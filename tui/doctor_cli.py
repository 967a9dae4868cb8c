"""``weir doctor [--package NAME] [--json]``: probe each configured registry, report, judge.

Rules this module holds:

1. The report is plain text, one section per registry, in a fixed order
   (connection, DNS, TCP connect, TLS, HTTP, packument, abbreviated, caching,
   compression, tarball, parallel, verdict) so two reports can be compared
   line by line; ``--json`` gives the same records as JSON.
2. It never shows a secret: every URL and error in a ``ProbeResult`` was
   redacted by the probe, and the whole text passes ``config.redact`` once more.
3. Exit 0 when every registry answered (whatever the verdicts), 5
   (EXIT_NETWORK) when one could not be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path

import orjson
from weir.core.config import load_config
from weir.core.doctor import (
    DEFAULT_PACKAGE,
    ProbeResult,
    Transfer,
    human_size,
    probe_all,
)
from weir.core.errors import EXIT_NETWORK, EXIT_OK

_MARKS = {"ok": "ok  ", "warn": "warn", "bad": "BAD "}


def run(args: argparse.Namespace, project: Path) -> int:
    cli = {"registry": args.registry} if getattr(args, "registry", None) else {}
    config = load_config(project, cli=cli)
    results = asyncio.run(probe_all(config, package=args.package or DEFAULT_PACKAGE))
    if args.json:
        text = orjson.dumps([_as_json(r) for r in results], option=orjson.OPT_INDENT_2).decode() + "\n"
    else:
        text = report(results)
    sys.stdout.write(config.redact(text))
    unreachable = [r.registry for r in results if not r.reachable]
    if unreachable:
        sys.stderr.write(config.redact(f"weir: doctor: could not reach {', '.join(unreachable)}\n"))
        return EXIT_NETWORK
    return EXIT_OK


def _as_json(result: ProbeResult) -> dict[str, object]:
    return {**dataclasses.asdict(result), "reachable": result.reachable}


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def _transfer(t: Transfer) -> str:
    wire = f", {human_size(t.wire_bytes)} on the wire ({t.content_encoding})" if t.content_encoding else ""
    return (f"{t.status} {t.http_version}, first byte {_ms(t.first_byte_ms)}, body {_ms(t.body_ms)}, "
            f"{human_size(t.size)}{wire}")


def report(results: Sequence[ProbeResult]) -> str:
    """The plain-text report of rule 1."""
    return "\n".join(_section(r) for r in results)


def _section(r: ProbeResult) -> str:
    scopes = ", ".join(s or "default" for s in r.scopes)
    lines = [f"registry {r.registry} ({scopes})"]
    row = lines.append
    c = r.connection
    if c is not None:
        row(f"  DNS          {_ms(c.dns_ms)}  ({c.address})")
        row(f"  TCP connect  {_ms(c.connect_ms)}")
        row("  TLS          " + (f"{_ms(c.tls_ms)}, ALPN {c.alpn or 'none offered back'}" if c.tls_ms is not None
                                  else "none (http)"))
    if r.full is not None and r.abbreviated is not None:
        row(f"  HTTP         {r.abbreviated.http_version}")
        row(f"  packument    {r.package} (full): {_transfer(r.full)}")
        a = r.abbreviated
        row(f"  abbreviated  {a.content_type or 'no Content-Type'}: {_transfer(a)}")
        validators = ", ".join(n for n, sent in (("ETag", r.etag), ("Last-Modified", r.last_modified)) if sent)
        answer = ("no validator to send back" if r.conditional_status is None
                  else f"conditional request answered {r.conditional_status}")
        max_age = f" (max-age {r.max_age} s)" if r.max_age is not None else ""
        control = f'Cache-Control "{r.cache_control}"{max_age}' if r.cache_control is not None else "no Cache-Control"
        row(f"  caching      {validators or 'no ETag, no Last-Modified'}; {control}; {answer}")
        row(f"  compression  {a.content_encoding or 'none'}")
        row("  tarball      " + (f"{r.tarball.url}: {_transfer(r.tarball)}" if r.tarball else "none found"))
    if r.parallel is not None:
        p = r.parallel
        row(f"  parallel     {p.requests} packuments at once {_ms(p.parallel_ms)}, one at a time {_ms(p.serial_ms)}")
    row("  verdict")
    lines += [f"    {_MARKS[v.level]} {v.text}" for v in r.verdicts]
    return "\n".join(lines) + "\n"
