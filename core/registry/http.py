"""One HTTP layer for packuments and tarballs.

Rules this module holds:

1. Transport: httpx's API over aiohttp (``httpx_aiohttp.AiohttpTransport``),
   HTTP/1.1 with keep-alive. Measured on the medium fixture (249 packuments,
   72 MB, bench/packument_decode.py --transports): 0.45 s against 1.1 s for
   httpx over h2, which is CPU-bound in its pure-Python HTTP/2 stack.
2. At most ``config.maxsockets`` requests per host run at once; the time a
   request waits for its turn is reported as ``queued_ms``.
3. Credentials come from ``config.auth_for(url)`` for the URL first asked
   for, else from the URL's own ``user:pass@`` (sent as Basic auth, never in
   the URL). They are never sent to another host: a redirect to another host
   drops them (and any caller-given Authorization), and a redirect from
   https to http while carrying them is refused. Redirects are followed here,
   at most ``MAX_REDIRECTS``. No cookie is kept or sent (npm's fetch keeps none).
4. Retried, with exponential backoff and jitter between
   ``fetch_retry_mintimeout`` and ``fetch_retry_maxtimeout`` (ms), at most
   ``fetch_retries`` times: connection errors, timeouts, 408, 429 (waiting
   at least its Retry-After, capped at ``RETRY_AFTER_CAP`` s), 5xx, and a
   body shorter or longer than its Content-Length (no sink ever receives
   more bytes than the Content-Length promised). Never 401, 403, 404 or other 4xx.
   A refused connection is answered at once by a host where nothing listens,
   so its retries wait at most ``REFUSED_BACKOFF_CAP`` s: a registry that is
   restarting is back by then, a wrong URL fails in about a second instead
   of npm's default backoff of tens of seconds. Its error says ECONNREFUSED
   and names the host, not aiohttp's "ConnectTimeout … ssl:default".
5. Every attempt emits RequestStarted and RequestFinished (with its timings:
   queued, connect, first byte, body); every retry emits RequestRetried.
   aiohttp opens TCP and TLS in one step, so ``connect_ms`` includes the TLS
   handshake and ``tls_ms`` stays 0. URLs in events and errors pass through
   ``config.redact``.
"""

from __future__ import annotations

import base64
import contextvars
import email.utils
import functools
import itertools
import random
import ssl
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING
from urllib.parse import unquote_to_bytes, urlsplit

import aiohttp
import anyio
import httpx
from httpx_aiohttp import AiohttpTransport
from weir.core import events as ev
from weir.core.errors import NetworkError, ResolveError
from weir.core.registry.transport import Response, Sink

if TYPE_CHECKING:
    from weir.core.config import Config

__all__ = ["MAX_REDIRECTS", "Http", "Response", "Sink", "redirect_target", "tls_context"]

MAX_REDIRECTS = 10
RETRY_AFTER_CAP = 60.0
REFUSED_BACKOFF_CAP = 0.5  # seconds, rule 4
PROGRESS_INTERVAL = 0.1  # seconds between RequestProgress events of one download
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_HINT = "check the registry URL and your network (`weir doctor` probes every configured registry), or try --offline to use the cache"
_REFUSED_HINT = (
    "nothing accepts connections there: check the registry URL (--registry, `registry` in .npmrc) and that the "
    "registry is running; `weir doctor` probes every configured registry"
)


class _Retry(Exception):
    """This attempt failed in a way worth another try; ``delay`` is a floor (Retry-After).

    ``refused``: the host refused the connection (rule 4: retried quickly).
    """

    def __init__(self, reason: str, delay: float = 0.0, *, refused: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay
        self.refused = refused


def _transport_failure(exc: Exception, host: str) -> _Retry:
    """What went wrong below HTTP, in words (the transport names every connect failure ConnectTimeout)."""
    cause = exc.__cause__ if isinstance(exc.__cause__, aiohttp.ClientConnectorError) else exc
    if isinstance(cause, aiohttp.ClientConnectorError):
        os_error = cause.os_error
        if isinstance(os_error, ConnectionRefusedError):
            return _Retry(f"connection refused by {host}", refused=True)
        if isinstance(cause, aiohttp.ClientConnectorDNSError):
            return _Retry(f"cannot resolve the host name {cause.host} ({os_error.strerror or os_error})")
        return _Retry(f"cannot connect to {host}: {os_error.strerror or os_error}")
    return _Retry(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


@dataclass(slots=True)
class _Timing:
    """Filled by aiohttp's trace hooks (found through a context variable) and by ``_attempt``."""

    connect_start: float = 0.0
    connect_ms: float = 0.0


_timing: contextvars.ContextVar[_Timing | None] = contextvars.ContextVar("weir_http_timing", default=None)


async def _on_connect_start(_s: aiohttp.ClientSession, _c: SimpleNamespace, _p: object) -> None:
    timing = _timing.get()
    if timing is not None:
        timing.connect_start = time.perf_counter()


async def _on_connect_end(_s: aiohttp.ClientSession, _c: SimpleNamespace, _p: object) -> None:
    timing = _timing.get()
    if timing is not None and timing.connect_start:
        timing.connect_ms = (time.perf_counter() - timing.connect_start) * 1000


def redirect_target(current: str, location: str, *, carries_auth: bool) -> str:
    """The absolute URL a redirect points to; refuses https→http while carrying credentials."""
    target = httpx.URL(current).join(location)
    if target.scheme not in ("http", "https"):
        raise NetworkError(f"redirect from {current} to a non-HTTP URL {target}", hint=_HINT)
    if carries_auth and httpx.URL(current).scheme == "https" and target.scheme == "http":
        raise NetworkError(
            f"refusing to follow a redirect from https to http ({target.host}) with credentials",
            hint="the registry or a proxy downgraded the connection; check the registry URL",
        )
    return str(target)


def _split_userinfo(url: str) -> tuple[str, dict[str, str]]:
    """The URL without ``user:pass@`` and those credentials as Basic auth (npm uses them so).

    The transport refuses a URL with credentials next to an Authorization
    header, and a URL with credentials would carry them past rule 3, so
    they never stay in the URL that is sent.
    """
    if "@" not in urlsplit(url).netloc:
        return url, {}
    parsed = httpx.URL(url)
    if not parsed.userinfo:
        return url, {}
    pair = base64.b64encode(unquote_to_bytes(parsed.userinfo)).decode("ascii")
    return str(parsed.copy_with(userinfo=b"")), {"authorization": f"Basic {pair}"}


def _retry_after(value: str | None) -> float:
    if not value:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return 0.0
        seconds = when.timestamp() - time.time()
    return max(0.0, min(seconds, RETRY_AFTER_CAP))


def _host(url: str) -> str:
    """host[:port]: two registries on one machine are two hosts for credentials and limits.

    Asked several times per request; httpx's URL parser runs once per scheme and authority.
    """
    parts = urlsplit(url)
    return _authority_host(parts.scheme, parts.netloc)


@functools.lru_cache(maxsize=256)
def _authority_host(scheme: str, authority: str) -> str:
    return httpx.URL(f"{scheme}://{authority}/").netloc.decode("ascii")



def _headers(response: httpx.Response) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in response.headers.multi_items():
        key = key.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def _content_length(headers: Mapping[str, str]) -> int | None:
    value = headers.get("content-length")
    return int(value) if value is not None and value.isdigit() else None


def _ssl_context(config: Config) -> ssl.SSLContext | bool:
    """False skips verification (strict-ssl=false); True is aiohttp's own verified default
    context (built once when aiohttp is imported, so a plain config costs nothing here);
    a custom CA gets a context of its own."""
    if not config.strict_ssl:
        return False
    if not config.cafile and not _cadata(config):
        return True
    return tls_context(config)


def tls_context(config: Config) -> ssl.SSLContext:
    """A fresh TLS client context with the settings every request uses: the configured CA
    (``cafile``, ``ca``) or the system's, no verification with strict-ssl=false. ``weir
    doctor`` times its handshake on one, so it measures the TLS installs negotiate."""
    context = ssl.create_default_context(cafile=config.cafile or None, cadata=_cadata(config) or None)
    if not config.strict_ssl:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _cadata(config: Config) -> str:
    ca = config.ca
    return "\n".join(ca) if isinstance(ca, (list, tuple)) else ca


@dataclass(slots=True)
class _Exchange:
    """One attempt's bookkeeping, turned into a RequestFinished at its end."""

    request_id: int
    job_id: int | None
    url: str  # redacted
    host: str
    attempt: int
    started: float = field(default_factory=time.perf_counter)
    queued_ms: float = 0.0
    first_byte_ms: float = 0.0
    body_ms: float = 0.0
    bytes: int = 0
    status: int | None = None
    http_version: str = ""


def _proxied() -> bool:
    """Whether HTTPS_PROXY / HTTP_PROXY / ALL_PROXY name a proxy: then aiohttp routes each request
    as those variables and NO_PROXY say, as npm does (a corporate proxy is often the only way
    out); .npmrc's proxy keys are not read (settings rule 6). Only then: aiohttp's trust_env
    also looks up ~/.netrc for every request in a worker thread, +0.7 s of CPU on the large
    fixture's resolve (13,000 context switches) for nothing when no proxy is set."""
    found = urllib.request.getproxies_environment()
    return any(found.get(scheme) for scheme in ("http", "https", "all"))


class Http:
    """The HTTP client every registry and tarball request goes through (a ``Transport``)."""

    def __init__(self, config: Config, reporter: ev.Reporter) -> None:
        self.config = config
        self.reporter = reporter
        self._limits: dict[str, anyio.Semaphore] = {}
        self._ids = itertools.count(1)
        timeout = config.fetch_timeout / 1000 if config.fetch_timeout else None
        # The transport's own SSL context serves only a session it builds itself; ours comes
        # from _session. An empty client context (verifies, trusts no CA: fails closed) spares
        # building a certifi one that nothing uses (~20 ms).
        self._transport = AiohttpTransport(client=self._session, verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
        # The client builds requests (default headers, timeouts); they are sent on the
        # transport itself, see _exchange.
        self._client = httpx.AsyncClient(transport=self._transport, timeout=httpx.Timeout(timeout), follow_redirects=False)

    def _session(self) -> aiohttp.ClientSession:
        """Built on first use, inside the event loop (aiohttp needs a running loop)."""
        trace = aiohttp.TraceConfig()
        trace.on_connection_create_start.append(_on_connect_start)
        trace.on_connection_create_end.append(_on_connect_end)
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=self.config.maxsockets, ssl=_ssl_context(self.config))
        return aiohttp.ClientSession(
            connector=connector, trace_configs=[trace], cookie_jar=aiohttp.DummyCookieJar(), trust_env=_proxied()
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(self, url: str, *, headers: Mapping[str, str] | None = None, job_id: int | None = None) -> Response:
        """GET with retries; any final status is returned (304, 404, 401 included)
        except retryable ones, which raise NetworkError once attempts run out."""
        chunks: list[bytes] = []

        def reset() -> Callable[[bytes], None]:
            chunks.clear()
            return chunks.append

        response, retries = await self._with_retries(url, headers or {}, job_id, reset, progress=False)
        return Response(
            status=response.status_code,
            headers=_headers(response),
            body=b"".join(chunks),
            http_version=response.http_version,
            url=str(response.url),
            retries=retries,
        )

    async def download(self, url: str, *, job_id: int | None = None, sink_factory: Callable[[], Sink]) -> int:
        """Stream a body into a fresh sink per attempt; returns the bytes written.

        A status other than 200 raises NetworkError (after retries where they apply).
        With ``offline`` nothing is sent: the caller asked for a tarball the cache lacks.
        """
        if self.config.offline:
            raise ResolveError(
                f"{self.config.redact(url)} is not in the cache and --offline forbids fetching it",
                hint="run once online or drop --offline",
                code="ENOTCACHED",
            )
        sinks: list[Sink] = []
        written = [0]

        def reset() -> Callable[[bytes], None]:
            if sinks:
                sinks.pop().abort()
            sink = sink_factory()
            sinks.append(sink)
            written[0] = 0

            def write(chunk: bytes) -> None:
                sink.write(chunk)
                written[0] += len(chunk)

            return write

        try:
            response, _ = await self._with_retries(url, {}, job_id, reset, progress=True)
        except BaseException:
            if sinks:
                sinks.pop().abort()
            raise
        if response.status_code != 200:
            sinks.pop().abort()
            raise NetworkError(
                f"GET {self.config.redact(url)} answered {response.status_code}",
                hint="check the registry and your credentials for it" if response.status_code in (401, 403) else _HINT,
            )
        return written[0]

    # -- the retry loop -------------------------------------------------------------------

    async def _with_retries(
        self,
        url: str,
        headers: Mapping[str, str],
        job_id: int | None,
        reset: Callable[[], Callable[[bytes], None]],
        *,
        progress: bool,
    ) -> tuple[httpx.Response, int]:
        """The final response and how many attempts failed before it."""
        request_id = next(self._ids)
        attempts = self.config.fetch_retries + 1
        last = _Retry("")
        for attempt in range(1, attempts + 1):
            try:
                return await self._follow(url, headers, request_id, job_id, attempt, reset(), progress), attempt - 1
            except _Retry as exc:
                last = exc
                if attempt == attempts:
                    break
                backoff = self._backoff(attempt)
                delay = max(min(backoff, REFUSED_BACKOFF_CAP) if exc.refused else backoff, exc.delay)
                self.reporter.event(
                    ev.RequestRetried(
                        request_id=request_id,
                        url=self.config.redact(url),
                        host=_host(url),
                        attempt=attempt,
                        reason=exc.reason,
                        delay=delay,
                    )
                )
                await anyio.sleep(delay)
        host = _host(url)
        tries = f"{attempts} attempt(s)"
        if last.refused:
            raise NetworkError(
                f"{last.reason}: GET {self.config.redact(url)} failed after {tries}", hint=_REFUSED_HINT, code="ECONNREFUSED"
            )
        raise NetworkError(
            f"{host}: GET {self.config.redact(url)} failed after {tries}: {self.config.redact(last.reason)}",
            hint=_HINT,
        )

    def _backoff(self, attempt: int) -> float:
        low = self.config.fetch_retry_mintimeout / 1000
        high = self.config.fetch_retry_maxtimeout / 1000
        ceiling = min(high, low * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)

    async def _follow(
        self,
        url: str,
        extra: Mapping[str, str],
        request_id: int,
        job_id: int | None,
        attempt: int,
        write: Callable[[bytes], None],
        progress: bool,
    ) -> httpx.Response:
        """One attempt: the request and its redirects, with credentials kept to their host."""
        url, from_url = _split_userinfo(url)
        origin = _host(url)
        auth = {k.lower(): v for k, v in (self.config.auth_for(url) or from_url).items()}
        caller = {k.lower(): v for k, v in extra.items()}
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            same_host = _host(current) == origin
            headers = {**caller, **auth} if same_host else {k: v for k, v in caller.items() if k != "authorization"}
            response = await self._exchange(current, headers, request_id, job_id, attempt, write, progress)
            location = response.headers.get("location")
            if response.status_code not in _REDIRECTS or not location:
                return response
            carries = same_host and "authorization" in {**caller, **auth}
            current = redirect_target(current, location, carries_auth=carries)
        raise NetworkError(f"more than {MAX_REDIRECTS} redirects from {self.config.redact(url)}", hint=_HINT)

    async def _exchange(
        self,
        url: str,
        headers: Mapping[str, str],
        request_id: int,
        job_id: int | None,
        attempt: int,
        write: Callable[[bytes], None],
        progress: bool,
    ) -> httpx.Response:
        """One HTTP request/response; the body goes to ``write`` (redirect bodies are dropped)."""
        host = _host(url)
        x = _Exchange(request_id, job_id, self.config.redact(url), host, attempt)
        self.reporter.event(
            ev.RequestStarted(request_id=request_id, job_id=job_id, method="GET", url=x.url, host=host, attempt=attempt)
        )
        limit = self._limits.get(host)
        if limit is None:
            limit = self._limits[host] = anyio.Semaphore(self.config.maxsockets)
        timing = _Timing()
        token = _timing.set(timing)
        error: str | None = None
        try:
            async with limit:
                sent = time.perf_counter()
                x.queued_ms = (sent - x.started) * 1000
                request = self._client.build_request("GET", url, headers=headers)
                # Straight to the transport: the client's send adds only what weir does not
                # use (auth flow, redirects, event hooks, a cookie jar that parsed every
                # response), a fifth of a cold resolve's HTTP CPU.
                response = await self._transport.handle_async_request(request)
                response.request = request
                headers_at = time.perf_counter()
                x.first_byte_ms = (headers_at - sent) * 1000 - timing.connect_ms
                x.status, x.http_version = response.status_code, response.http_version
                try:
                    await self._read_body(response, x, write, progress)
                finally:
                    await response.aclose()
                    x.body_ms = (time.perf_counter() - headers_at) * 1000
            return self._judge(response, x)
        except _Retry as exc:
            error = exc.reason
            raise
        except (httpx.TransportError, aiohttp.ClientError) as exc:  # the latter: ones the transport leaves unmapped
            failure = _transport_failure(exc, host)
            error = failure.reason
            raise failure from None
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            _timing.reset(token)
            self.reporter.event(
                ev.RequestFinished(
                    request_id=request_id,
                    job_id=job_id,
                    url=x.url,
                    host=host,
                    status=x.status,
                    attempt=attempt,
                    http_version=x.http_version,
                    queued_ms=x.queued_ms,
                    connect_ms=timing.connect_ms,
                    first_byte_ms=x.first_byte_ms,
                    body_ms=x.body_ms,
                    bytes=x.bytes,
                    error=self.config.redact(error) if error else None,
                )
            )

    async def _read_body(
        self, response: httpx.Response, x: _Exchange, write: Callable[[bytes], None], progress: bool
    ) -> None:
        status = response.status_code
        if status in _REDIRECTS or status == 408 or status == 429 or status >= 500:
            return  # not a body anyone reads; the connection is released by aclose
        total = _content_length(response.headers)
        last_report = 0.0
        if progress:
            self.reporter.event(ev.RequestProgress(request_id=x.request_id, state="receiving", bytes=0, total=total))
        async for chunk in response.aiter_bytes():
            if total is not None and response.num_bytes_downloaded > total:
                raise _Retry(f"body ran past its Content-Length of {total} bytes")
            write(chunk)
            x.bytes = response.num_bytes_downloaded
            now = time.perf_counter()
            if progress and now - last_report >= PROGRESS_INTERVAL:
                last_report = now
                self.reporter.event(
                    ev.RequestProgress(request_id=x.request_id, state="receiving", bytes=x.bytes, total=total)
                )
        # The last raw bytes (a gzip trailer) decode to nothing, so no chunk carried their count.
        x.bytes = response.num_bytes_downloaded
        if progress:
            self.reporter.event(ev.RequestProgress(request_id=x.request_id, state="receiving", bytes=x.bytes, total=total))
        if total is not None and x.bytes < total:
            raise _Retry(f"body ended after {x.bytes} of {total} bytes")

    def _judge(self, response: httpx.Response, x: _Exchange) -> httpx.Response:
        status = response.status_code
        if status == 429:
            raise _Retry("429 Too Many Requests", _retry_after(response.headers.get("retry-after")))
        if status == 408 or status >= 500:
            raise _Retry(f"{status} {response.reason_phrase}".strip())
        return response
