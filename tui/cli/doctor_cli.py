"""``weir doctor [--package NAME] [--json]``: probe each configured registry, report, judge.

Rules this module holds:

1. The report is plain text, one section per registry, in a fixed order
   (DNS, TCP connect, TLS, HTTP, packument, first byte, abbreviated, caching,
   compression, tarball, parallel, between, verdict) so two reports can be
   compared line by line. Under each measured line, its verdict says what it
   means for an install; the closing ``verdict`` repeats the problems (warn,
   BAD). ``--json`` gives the same records as JSON.
2. It never shows a secret: every URL and error in a ``ProbeResult`` was
   redacted by the probe, and the whole text passes ``config.redact`` once more.
3. Exit codes (README's table): 0 when every probe completed, whatever the
   verdicts; 4 (EXIT_RESOLVE) when a registry has no package of the probed
   name (404); 5 (EXIT_NETWORK) when a registry could not be reached or
   refused or failed the packument or tarball, which wins over 4.
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
from weir.core.registry.doctor import (
    DEFAULT_PACKAGE,
    ProbeResult,
    Transfer,
    human_size,
    probe_all,
)
from weir.core.errors import EXIT_NETWORK, EXIT_OK, EXIT_RESOLVE

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
    failed = [r for r in results if r.failed]
    for r in failed:
        sys.stderr.write(config.redact(f"weir: doctor: {_failure(r)}\n"))
    return max((exit_code(r) for r in failed), default=EXIT_OK)


def exit_code(result: ProbeResult) -> int:
    """Rule 3: what a failed probe exits with."""
    if result.reachable and result.full is not None and result.full.status == 404:
        return EXIT_RESOLVE
    return EXIT_NETWORK


def _failure(r: ProbeResult) -> str:
    if not r.reachable:
        return f"could not reach {r.registry}"
    status = r.full.status if r.full is not None else None
    if status == 404:
        return f"{r.registry} has no package {r.package} (404); pass --package NAME with a package it serves"
    if status != 200:
        return f"{r.registry} answered {status} for {r.package}"
    return f"{r.registry} could not serve the latest tarball of {r.package}"


def _as_json(result: ProbeResult) -> dict[str, object]:
    return {**dataclasses.asdict(result), "reachable": result.reachable, "failed": result.failed}


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
    said = {v.topic: [w for w in r.verdicts if w.topic == v.topic] for v in r.verdicts}

    def row(text: str, topic: str | None = None) -> None:
        lines.append(text)
        lines.extend(f"    {_MARKS[v.level]} {v.text}" for v in said.pop(topic, []) if topic is not None)

    c = r.connection
    if c is not None:
        row(f"  DNS          {_ms(c.dns_ms)}  ({c.address})", "dns")
        row(f"  TCP connect  {_ms(c.connect_ms)}", "connect")
        row("  TLS          " + (f"{_ms(c.tls_ms)}, ALPN {c.alpn or 'none offered back'}" if c.tls_ms is not None
                                  else "none (http)"), "tls")
    if r.full is not None and r.abbreviated is not None:
        a = r.abbreviated
        row(f"  HTTP         {a.http_version}", "http")
        row(f"  packument    {r.package} (full): {_transfer(r.full)}", "packument")
        if r.full.status == 200:
            row(f"  first byte   {_ms(a.first_byte_ms)} (abbreviated packument: request sent to headers back)",
                "first-byte")
            row(f"  abbreviated  {a.content_type or 'no Content-Type'}: {_transfer(a)}", "abbreviated")
            validators = ", ".join(n for n, sent in (("ETag", r.etag), ("Last-Modified", r.last_modified)) if sent)
            answer = ("no validator to send back" if r.conditional_status is None
                      else f"conditional request answered {r.conditional_status}")
            max_age = f" (max-age {r.max_age} s)" if r.max_age is not None else ""
            control = (f'Cache-Control "{r.cache_control}"{max_age}' if r.cache_control is not None
                       else "no Cache-Control")
            row(f"  caching      {validators or 'no ETag, no Last-Modified'}; {control}; {answer}", "caching")
            row(f"  compression  {a.content_encoding or 'none'}", "compression")
            row("  tarball      " + (f"{r.tarball.url}: {_transfer(r.tarball)}" if r.tarball else "none found"),
                "tarball")
    if r.parallel is not None:
        p = r.parallel
        row(f"  parallel     {p.requests} packuments at once {_ms(p.parallel_ms)}, one at a time {_ms(p.serial_ms)}",
            "parallel")
    if "between" in said:
        seen = [f"address {c.address}"] if c is not None else []
        seen.append(f"proxy {r.proxy}" if r.proxy is not None else "no proxy variable")
        seen += list(r.relay_headers) or ["no relay headers"]
        row(f"  between      {'; '.join(seen)}", "between")
    problems = [v for v in r.verdicts if v.level != "ok"]
    lines.append("  verdict")
    if problems:
        lines += [f"    {_MARKS[v.level]} {v.text}" for v in problems]
    else:
        lines.append(f"    {_MARKS['ok']} nothing measured here slows installs down")
    return "\n".join(lines) + "\n"
