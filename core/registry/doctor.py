"""Probe each configured registry and say, in words, what slows it down.

Installs are slow for reasons a user cannot see: a far-away DNS server, a TLS
handshake through an inspecting proxy, a registry that thinks for a second
before its first byte, a proxy that strips ETag so nothing ever revalidates.
This module measures each of those parts separately, the way they had to be
measured by hand, and turns the numbers into verdicts.

Rules this module holds:

1. Nothing is printed here: ``probe_all`` returns frozen ``ProbeResult``
   records (measurements plus a tuple of ``Verdict``); the CLI and the TUI
   render them.
2. Each registry is probed once, however many scopes point at it. DNS
   (``getaddrinfo``), TCP connect and the TLS handshake (with the TLS context
   installs use, offering ALPN ``h2`` and ``http/1.1``) are timed on a socket
   of their own; the HTTP requests go through the client installs use
   (``weir.core.registry.http.Http``: its connection pool and ``maxsockets``,
   TLS and CA settings, Accept header, redirects and credentials), one attempt
   each, no retries, so what is measured is the registry, not weir's backoff.
   Timings and wire sizes are read from the RequestFinished events it emits.
3. Credentials are ``Http``'s: ``config.auth_for(url)`` for the URL asked
   for, so a redirect to another host carries none. Every URL and error text
   in a result has passed through ``config.redact``.
4. No step waits longer than ``STEP_TIMEOUT_S``: a doctor that hangs on the
   thing it is diagnosing is no help.
5. Every measured part gets a verdict in words, tagged with the part's
   ``Topic``, saying what the number means for an install.
6. Missing headers are blamed on whoever removes them. What sits between
   weir and the registry leaves traces: a proxy variable that applies to the
   URL, relay headers (``Via``, ``X-Cache``...), a well-known registry's name
   resolving to an address off the public internet, or that registry
   answering without the headers it always sends. With any of them, the
   verdict names the intermediary and its fix (let ETag, Last-Modified,
   Cache-Control and Accept through, or prefer-offline); without, the
   registry.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import socket
import ssl
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal
from urllib.parse import urlsplit

import orjson
from weir.core import events as ev
from weir.core.config import Config
from weir.core.errors import NetworkError
from weir.core.npm.names import escape_for_url
from weir.core.registry.http import Http, tls_context
from weir.core.registry.registry import ABBREVIATED, max_age

__all__ = [
    "DEFAULT_PACKAGE",
    "Connection",
    "Parallel",
    "ProbeResult",
    "Transfer",
    "Topic",
    "Verdict",
    "human_size",
    "judge",
    "probe_all",
    "probe_registry",
]

DEFAULT_PACKAGE = "is-number"  # small, on npmjs forever, and every mirror has it
PARALLEL = 16
STEP_TIMEOUT_S = 30.0
CORGI = "application/vnd.npm.install-v1+json"
FULL_ACCEPT = "application/json"

# Thresholds for the verdicts, in milliseconds.
SLOW_DNS_MS = 200.0
SLOW_CONNECT_MS = 300.0
SLOW_TLS_MS = 400.0
SLOW_FIRST_BYTE_MS = 500.0
PARALLEL_MATTERS_MS = 50.0  # below this mean request time, parallelism cannot show
PARALLEL_HELPS = 2.0  # at least this speed-up from N at once means concurrency pays

# Registries known to send ETag, Last-Modified and Cache-Control on every packument and to
# honour the abbreviated Accept header; without them, something on the way removed them (rule 6).
KNOWN_REGISTRIES = frozenset({"registry.npmjs.org", "registry.yarnpkg.com"})
# Headers that relays (forward proxies, caches) add to answers they pass on.
RELAY_HEADERS = ("via", "x-cache", "x-cache-status", "x-cache-lookup", "x-proxy-cache", "x-squid-error",
                 "proxy-connection", "x-forwarded-for")

Level = Literal["ok", "warn", "bad"]
Topic = Literal["reach", "dns", "connect", "tls", "http", "packument", "first-byte", "abbreviated", "caching",
                "compression", "tarball", "parallel", "between"]


@dataclass(frozen=True, slots=True)
class Verdict:
    level: Level
    text: str
    topic: Topic = "reach"  # the measured part it judges (rule 5)


@dataclass(frozen=True, slots=True)
class Connection:
    """DNS, TCP and TLS, each timed on a socket opened for this alone."""

    address: str  # ip:port actually connected to
    dns_ms: float
    connect_ms: float
    tls_ms: float | None  # None for http://
    alpn: str | None  # the protocol the server chose from ("h2", "http/1.1"), None without TLS or ALPN


@dataclass(frozen=True, slots=True)
class Transfer:
    """One GET: its status, timings and sizes."""

    url: str  # redacted
    status: int
    http_version: str
    first_byte_ms: float  # request sent -> response headers, connection setup excluded
    body_ms: float
    wire_bytes: int  # as received (compressed, when it was)
    size: int  # decoded
    content_type: str
    content_encoding: str


@dataclass(frozen=True, slots=True)
class Parallel:
    requests: int
    serial_ms: float  # the requests one after another
    parallel_ms: float  # the same number at once


@dataclass(frozen=True, slots=True)
class ProbeResult:
    registry: str  # redacted URL
    scopes: tuple[str, ...]  # "" for the default registry, else "@scope"
    package: str
    error: str | None = None  # why the registry could not be reached; None when it answered
    connection: Connection | None = None
    full: Transfer | None = None
    abbreviated: Transfer | None = None
    etag: bool = False
    last_modified: bool = False
    cache_control: str | None = None
    max_age: int | None = None
    conditional_status: int | None = None  # answer to a request with the validator it gave; None: no validator
    tarball: Transfer | None = None
    parallel: Parallel | None = None
    proxy: str | None = None  # the proxy a variable (HTTPS_PROXY, ...) sends this registry's requests to, redacted
    relay_headers: tuple[str, ...] = ()  # "Via: 1.1 squid", as the packument answer carried them
    verdicts: tuple[Verdict, ...] = ()

    @property
    def reachable(self) -> bool:
        return self.error is None

    @property
    def failed(self) -> bool:
        """The probe could not be completed: unreachable, or the packument or tarball was refused."""
        if self.error is not None or self.full is None:
            return True
        return self.full.status != 200 or self.tarball is None or self.tarball.status != 200


class _Unreachable(Exception):
    pass


async def probe_all(config: Config, *, package: str = DEFAULT_PACKAGE, parallel: int = PARALLEL) -> tuple[ProbeResult, ...]:
    """Probe the default registry and every ``@scope:registry``, one after another
    (probed together they would slow each other and blur the numbers)."""
    scopes: dict[str, list[str]] = {config.registry: [""]}
    for scope, url in sorted(config.scoped_registries.items()):
        scopes.setdefault(url, []).append(scope)
    results = []
    for url, names in scopes.items():
        results.append(await probe_registry(config, url, scopes=tuple(names), package=package, parallel=parallel))
    return tuple(results)


async def probe_registry(
    config: Config,
    url: str,
    *,
    scopes: tuple[str, ...] = ("",),
    package: str = DEFAULT_PACKAGE,
    parallel: int = PARALLEL,
) -> ProbeResult:
    shown = config.redact(url)
    proxy = _proxy_for(url)
    base = ProbeResult(registry=shown, scopes=scopes, package=package,
                       proxy=config.redact(proxy) if proxy is not None else None)
    try:
        connection = await _connect(config, url)
    except _Unreachable as exc:
        return _judged(base, error=config.redact(str(exc)))
    packument_url = url.rstrip("/") + "/" + escape_for_url(package)
    get = _Getter(config)
    try:
        return await _measured(get, base, connection, packument_url, parallel)
    except (NetworkError, OSError) as exc:
        return _judged(base, error=config.redact(_describe(exc, url)), connection=connection)
    finally:
        await get.http.aclose()


async def _measured(get: _Getter, base: ProbeResult, connection: Connection, packument_url: str, parallel: int) -> ProbeResult:
    """The HTTP measurements, in an order where each one's answer enables the next."""
    full, full_body, _ = await get(packument_url, {"accept": FULL_ACCEPT})
    if full.status != 200:  # nothing further can be measured on a refused package
        return _judged(base, connection=connection, full=full)
    abbreviated, _, headers = await get(packument_url, {"accept": ABBREVIATED})
    conditional = _conditional(headers)
    conditional_status = None
    if conditional:
        answer, _, _ = await get(packument_url, {"accept": ABBREVIATED, **conditional})
        conditional_status = answer.status
    tarball = None
    tarball_url = _latest_tarball(full_body)
    if tarball_url is not None:
        tarball, _, _ = await get(tarball_url, {})
    timing = await _parallel(get, packument_url, parallel)
    cache_control = headers.get("cache-control")
    seconds = max_age(cache_control)
    return _judged(
        base,
        connection=connection,
        full=full,
        abbreviated=abbreviated,
        etag="etag" in headers,
        last_modified="last-modified" in headers,
        cache_control=cache_control,
        max_age=int(seconds) if seconds is not None else None,
        conditional_status=conditional_status,
        tarball=tarball,
        parallel=timing,
        relay_headers=tuple(f"{_header_name(k)}: {headers[k]}" for k in RELAY_HEADERS if k in headers),
    )


def _proxy_for(url: str) -> str | None:
    """The proxy the environment sends ``url`` to, as httpx reads it (``*_PROXY``, ``NO_PROXY``)."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parts.scheme.lower()) or proxies.get("all")
    if proxy is None or urllib.request.proxy_bypass_environment(parts.hostname or "", proxies):
        return None
    return proxy


def _header_name(lower: str) -> str:
    return "-".join(part.capitalize() if part != "x" else "X" for part in lower.split("-"))


# -- measuring -----------------------------------------------------------------------------


async def _connect(config: Config, url: str) -> Connection:
    parts = urlsplit(url)
    https = parts.scheme.lower() == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if https else 80)
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), STEP_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        raise _Unreachable(f"cannot resolve {host}: {exc}") from None
    resolved = time.perf_counter()
    ip = str(infos[0][4][0])
    address = f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), STEP_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        reason = "connection refused" if isinstance(exc, ConnectionRefusedError) else str(exc) or type(exc).__name__
        raise _Unreachable(f"cannot connect to {host} ({address}): {reason}") from None
    connected = time.perf_counter()
    tls_ms = alpn = None
    try:
        if https:
            context = tls_context(config)
            context.set_alpn_protocols(["h2", "http/1.1"])
            try:
                await asyncio.wait_for(writer.start_tls(context, server_hostname=host), STEP_TIMEOUT_S)
            except (OSError, TimeoutError, ssl.SSLError) as exc:
                raise _Unreachable(f"TLS handshake with {host} failed: {exc}") from None
            tls_ms = (time.perf_counter() - connected) * 1000
            tls = writer.get_extra_info("ssl_object")
            alpn = tls.selected_alpn_protocol() if tls is not None else None
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (OSError, ssl.SSLError):
            pass
    return Connection(
        address=address,
        dns_ms=(resolved - started) * 1000,
        connect_ms=(connected - resolved) * 1000,
        tls_ms=tls_ms,
        alpn=alpn,
    )


class _Finished(ev.Reporter):
    """The last RequestFinished of each job: the final hop's timings and wire bytes."""

    def __init__(self) -> None:
        self.by_job: dict[int, ev.RequestFinished] = {}

    def event(self, e: ev.Event) -> None:
        if isinstance(e, ev.RequestFinished) and e.job_id is not None:
            self.by_job[e.job_id] = e


class _Getter:
    """One GET through the installs' client, one attempt, each with a job id of its own (rule 2)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.finished = _Finished()
        probe = replace(config, fetch_retries=0, fetch_timeout=int(STEP_TIMEOUT_S * 1000), offline=False)
        self.http = Http(probe, self.finished)
        self._ids = itertools.count(1)

    async def __call__(self, url: str, headers: Mapping[str, str]) -> tuple[Transfer, bytes, dict[str, str]]:
        job_id = next(self._ids)
        try:
            response = await self.http.get(url, headers=headers, job_id=job_id)
        except NetworkError:
            answered = self.finished.by_job.get(job_id)
            if answered is None or answered.status is None:
                raise
            # a status installs would retry (408, 429, 5xx), given once: it is the registry's answer
            return self._transfer(answered, answered.url, 0, {}), b"", {}
        transfer = self._transfer(self.finished.by_job[job_id], self.config.redact(response.url), len(response.body),
                                  response.headers)
        return transfer, response.body, response.headers

    @staticmethod
    def _transfer(answered: ev.RequestFinished, url: str, size: int, headers: Mapping[str, str]) -> Transfer:
        return Transfer(
            url=url,
            status=answered.status or 0,
            http_version=answered.http_version,
            first_byte_ms=answered.first_byte_ms,
            body_ms=answered.body_ms,
            wire_bytes=answered.bytes,
            size=size,
            content_type=headers.get("content-type", ""),
            content_encoding=headers.get("content-encoding", ""),
        )


def _conditional(headers: Mapping[str, str]) -> dict[str, str]:
    """The validator the registry gave, as a client would send it back."""
    if "etag" in headers:
        return {"if-none-match": headers["etag"]}
    if "last-modified" in headers:
        return {"if-modified-since": headers["last-modified"]}
    return {}


def _latest_tarball(body: bytes) -> str | None:
    try:
        document = orjson.loads(body)
        latest = document["dist-tags"]["latest"]
        tarball = document["versions"][latest]["dist"]["tarball"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    return tarball if isinstance(tarball, str) else None


async def _parallel(get: _Getter, url: str, n: int) -> Parallel:
    headers = {"accept": ABBREVIATED}
    started = time.perf_counter()
    for _ in range(n):
        await get(url, headers)
    serial = time.perf_counter() - started
    started = time.perf_counter()
    await asyncio.gather(*(get(url, headers) for _ in range(n)))
    return Parallel(requests=n, serial_ms=serial * 1000, parallel_ms=(time.perf_counter() - started) * 1000)


def _describe(exc: BaseException, url: str) -> str:
    """The failure in words: Http's own message (it names the host and the reason), else the OS error's."""
    if isinstance(exc, NetworkError):
        return exc.message
    host = urlsplit(url).hostname
    return f"{host}: {type(exc).__name__}: {exc}" if str(exc) else f"{host}: {type(exc).__name__}"


# -- judging ---------------------------------------------------------------------------------


def _judged(base: ProbeResult, **measured: Any) -> ProbeResult:
    return judge(replace(base, **measured))


def judge(result: ProbeResult) -> ProbeResult:
    """The result with its verdicts (rule 5): a pure function of the measurements."""
    return replace(result, verdicts=tuple(_verdicts(result)))


def human_size(n: float) -> str:
    if n < 1000:
        return f"{n:.0f} B"
    if n < 1_000_000:
        return f"{n / 1000:.1f} kB"
    return f"{n / 1_000_000:.1f} MB"


def _verdicts(r: ProbeResult) -> list[Verdict]:
    if r.error is not None:
        return [Verdict("bad", f"{r.registry} could not be reached: {r.error}", "reach")]
    c = r.connection
    assert c is not None and r.full is not None
    out = [*_connection_verdicts(r, c), _http_verdict(r.full.http_version, c)]
    if r.full.status != 200 or r.abbreviated is None:
        return [*out, _refused(r, r.full.status)]
    size = human_size(r.abbreviated.size)
    out.append(Verdict("ok", f"{r.package} is served: the whole document is {human_size(r.full.size)}", "packument"))
    first_byte = r.abbreviated.first_byte_ms
    if first_byte >= SLOW_FIRST_BYTE_MS:
        out.append(Verdict("bad", f"first byte takes {first_byte:.0f} ms at {r.registry}: the registry is slow, "
                                  f"not your network (connect took {c.connect_ms:.0f} ms); every packument an "
                                  "install lacks waits this long", "first-byte"))
    else:
        out.append(Verdict("ok", f"first byte in {first_byte:.0f} ms: the registry answers without delay",
                           "first-byte"))
    between = _intermediary(r)
    stripped = _stripped(r)
    honoured = CORGI in r.abbreviated.content_type and r.abbreviated.size < r.full.size
    if honoured:
        out.append(Verdict("ok", f"abbreviated documents honoured ({size} instead of {human_size(r.full.size)})",
                           "abbreviated"))
    elif between:
        out.append(Verdict("bad", f"abbreviated documents do not arrive: packuments come whole ({r.package} "
                                  f"{human_size(r.full.size)}), the Accept header is lost on the way "
                                  "(see between)", "abbreviated"))
    else:
        out.append(Verdict("bad", f"abbreviated documents are ignored: packuments arrive whole ({r.package} "
                                  f"{human_size(r.full.size)})", "abbreviated"))
    out += _caching_verdicts(r, size, blamed_between=bool(between))
    if "gzip" in r.abbreviated.content_encoding.lower():
        out.append(Verdict("ok", "packuments are compressed (gzip)", "compression"))
    else:
        out.append(Verdict("warn", f"packuments arrive uncompressed ({size} on the wire that gzip would shrink "
                                   "several times)", "compression"))
    if r.tarball is None or r.tarball.status != 200:
        status = f"answered {r.tarball.status}" if r.tarball else "has no dist.tarball"
        out.append(Verdict("bad", f"the latest tarball of {r.package} {status}: installs of it would fail",
                           "tarball"))
    else:
        out.append(Verdict("ok", f"the latest tarball arrives in {r.tarball.first_byte_ms + r.tarball.body_ms:.0f} ms",
                           "tarball"))
    if r.parallel is not None and r.parallel.requests > 1:
        out.append(_parallel_verdict(r.parallel))
    out.append(_between_verdict(r, between, stripped, honoured))
    return out


def _connection_verdicts(r: ProbeResult, c: Connection) -> list[Verdict]:
    out: list[Verdict] = []
    if c.dns_ms >= SLOW_DNS_MS:
        out.append(Verdict("warn", f"DNS takes {c.dns_ms:.0f} ms: your resolver is slow, not the registry", "dns"))
    else:
        out.append(Verdict("ok", f"DNS in {c.dns_ms:.0f} ms: not what slows installs", "dns"))
    if c.connect_ms >= SLOW_CONNECT_MS:
        out.append(Verdict("warn", f"TCP connect takes {c.connect_ms:.0f} ms: the network path to {r.registry} "
                                   "is slow or far", "connect"))
    else:
        out.append(Verdict("ok", f"TCP connect in {c.connect_ms:.0f} ms: the path to the registry is short",
                           "connect"))
    if c.tls_ms is None:
        out.append(Verdict("ok", "plain http: no handshake to pay, and nothing protects the documents in transit",
                           "tls"))
    elif c.tls_ms >= SLOW_TLS_MS:
        out.append(Verdict("warn", f"TLS handshake {c.tls_ms:.0f} ms (TCP connect {c.connect_ms:.0f} ms): "
                                   "an inspecting proxy or a far TLS endpoint", "tls"))
    else:
        out.append(Verdict("ok", f"TLS handshake in {c.tls_ms:.0f} ms, paid once per connection", "tls"))
    return out


def _http_verdict(version: str, c: Connection) -> Verdict:
    if version.upper().startswith("HTTP/2"):
        return Verdict("ok", "HTTP/2: one connection carries every concurrent request", "http")
    if c.tls_ms is None:
        return Verdict("ok", f"{version} (plain http offers no HTTP/2): each request in flight needs a connection "
                             "of its own, up to maxsockets at once", "http")
    if c.alpn == "h2":
        return Verdict("ok", f"{version}, as weir speaks it (the server offers HTTP/2): each request in flight has a "
                             "connection of its own, up to maxsockets kept open", "http")
    return Verdict("warn", f"{version} only: the server, or a proxy ending TLS on the way, refused HTTP/2 (ALPN "
                           f"{c.alpn or 'none'}), so each request in flight needs a connection of its own, up to "
                           "maxsockets at once", "http")


def _refused(r: ProbeResult, status: int) -> Verdict:
    if status == 404:
        text = (f"{r.registry} answered 404 for {r.package}: it has no package of that name; try --package NAME "
                "with a package this registry serves")
    elif status in (401, 403):
        text = (f"{r.registry} refused {r.package} ({status}): check this registry's token "
                "(//host/:_authToken) in .npmrc")
    else:
        text = f"{r.registry} answered {status} for {r.package}: installs from it would fail"
    return Verdict("bad", text, "packument")


def _stripped(r: ProbeResult) -> tuple[str, ...]:
    """The caching headers that did not arrive."""
    missing = (("ETag", r.etag), ("Last-Modified", r.last_modified), ("Cache-Control", r.cache_control is not None))
    return tuple(name for name, sent in missing if not sent)


def _caching_verdicts(r: ProbeResult, size: str, *, blamed_between: bool) -> list[Verdict]:
    cost = f"so every warm install re-downloads all metadata ({r.package} alone: {size})"
    if r.conditional_status == 304:
        out = [Verdict("ok", "revalidates (304): warm installs download no metadata", "caching")]
    elif r.conditional_status is None and blamed_between:
        out = [Verdict("bad", f"metadata never revalidates: no ETag or Last-Modified arrives (removed on the way, "
                              f"see between), {cost}", "caching")]
    elif r.conditional_status is None:
        out = [Verdict("bad", f"this registry never revalidates: it sends no ETag or Last-Modified, {cost}; "
                              "use --prefer-offline", "caching")]
    else:
        out = [Verdict("bad", f"this registry never revalidates: it answers {r.conditional_status} to its own "
                              f"validator, {cost}; use --prefer-offline", "caching")]
    if r.cache_control is None:
        out.append(Verdict("warn", "no Cache-Control: nothing says how long metadata stays fresh", "caching"))
    return out


def _parallel_verdict(p: Parallel) -> Verdict:
    mean = p.serial_ms / p.requests
    speedup = p.serial_ms / p.parallel_ms if p.parallel_ms > 0 else float("inf")
    measured = f"{p.requests} at once {p.parallel_ms:.0f} ms, one at a time {p.serial_ms:.0f} ms"
    if mean < PARALLEL_MATTERS_MS:
        slower = ", at once was even slower (opening connections costs more than it saves)" if speedup < 1 else ""
        return Verdict("ok", f"a request takes {mean:.0f} ms, too quick for concurrency to matter ({measured}"
                             f"{slower}): an install here waits on its own work, not on the connection", "parallel")
    if speedup >= PARALLEL_HELPS:
        return Verdict("ok", f"concurrency helps {speedup:.1f}× ({measured}): an install's parallel fetches "
                             "hide the registry's latency", "parallel")
    return Verdict("warn", f"concurrency barely helps ({measured}, {speedup:.1f}×): the connection is limited "
                           "(one HTTP/1.1 connection at a time, or a proxy that serialises requests), so an "
                           "install's fetches queue; raise maxsockets, or prefer-offline to skip metadata requests",
                   "parallel")


def _intermediary(r: ProbeResult) -> tuple[str, ...]:
    """Traces of something between weir and the registry (rule 6), in words; empty when none shows."""
    host = urlsplit(r.registry).hostname or ""
    found: list[str] = []
    if r.proxy is not None:
        found.append(f"a proxy variable sends these requests to {r.proxy}")
    found += [f"the answers carry {h}" for h in r.relay_headers]
    known = host.lower() in KNOWN_REGISTRIES
    if known and r.connection is not None:
        ip = r.connection.address.rpartition(":")[0].strip("[]")
        if not _global(ip):
            found.append(f"{host} resolved to {ip}, an address off the public internet, so a local proxy or "
                         "mirror answers in its place")
    if known and (not r.etag or r.cache_control is None):
        found.append(f"{host} itself always sends ETag, Last-Modified and Cache-Control")
    return tuple(found)


def _between_verdict(r: ProbeResult, between: tuple[str, ...], stripped: tuple[str, ...], honoured: bool) -> Verdict:
    lost = [*stripped, *(() if honoured else ("the abbreviated Accept header",))]
    if not between:
        return Verdict("ok", "nothing between weir and the registry shows itself (no proxy variable, no relay "
                             "headers)", "between")
    if not lost:
        return Verdict("ok", f"a relay sits on the way ({'; '.join(between)}) and passes the caching headers "
                             "through", "between")
    removed = ", ".join(lost[:-1]) + (" and " if len(lost) > 1 else "") + lost[-1]
    return Verdict("bad", f"something between you and the registry removes {removed}: {'; '.join(between)}. "
                          "Fix: configure that proxy to pass ETag, Last-Modified, Cache-Control and Accept "
                          "through, or set prefer-offline=true in .npmrc (--prefer-offline) so installs use the "
                          "cached metadata without asking", "between")


def _global(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_global
    except ValueError:
        return True
