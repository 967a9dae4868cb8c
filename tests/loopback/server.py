"""A real HTTP/1.1 npm registry on 127.0.0.1, for tests.

Rules this module keeps:
- It answers like registry.npmjs.org: ``GET /{name}`` (``/@scope%2fname`` or
  ``/@scope/name``) gives the full packument, or the abbreviated one when the
  Accept header asks for ``application/vnd.npm.install-v1+json``;
  ``GET /{name}/{version-or-tag}`` one version document;
  ``GET /{name}/-/{bare}-{version}.tgz`` the tarball; anything unknown a 404
  ``{"error":"Not found"}``.
- Documents carry a strong ETag (hash of the exact body, so the form and every
  content change show), Last-Modified from the package's logical clock, and
  ``Cache-Control`` as configured; If-None-Match (or, without it,
  If-Modified-Since) gives a 304 with no body. Documents are gzipped when the
  client accepts gzip; tarballs never are (they already are gzip).
- Every request is logged, including ones a fault broke; the log entry is
  written when the status is decided, before the body goes out.
- Stopping the server closes every connection, including keep-alive ones and
  stalled ones, so no test waits on another test's socket.
- It is also a forward proxy for itself: a request in absolute form
  (``GET http://127.0.0.1:PORT/name``, as clients send to ``HTTP_PROXY``) is
  served as its path, so a test can route a client "through a proxy".
- A bug in this server is not swallowed: it answers 500 and lands in
  ``errors``, which the pytest fixture checks at teardown.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import socket
import struct
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import MappingProxyType
from typing import Any, Self
from urllib.parse import urlsplit

from .catalog import EPOCH, Catalog, PublishedVersion
from .faults import Fault, FaultKind, Match, matches
from .records import RequestRecord
from .tarballs import gzip_bytes, package_tarball

CORGI = "application/vnd.npm.install-v1+json"
BODILESS_STATUSES = (
    204,
    304,
)  # HTTP forbids a body; sending one would poison keep-alive
STALL_SECONDS = 60.0  # longest a stall holds a connection when the test forgets to stop
TARBALL_CACHE_CONTROL = "public, immutable, max-age=31557600"
HTML_ERROR_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n"
    b"<body><h1>Bad Gateway</h1><p>The upstream registry did not answer.</p></body></html>\n"
)


@dataclass(frozen=True, slots=True)
class _Response:
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    compressible: bool = False


def _json(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def _error(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> _Response:
    return _Response(
        status,
        {"Content-Type": "application/json", **(headers or {})},
        _json({"error": message}),
    )


NOT_FOUND = _error(404, "Not found")


def _gzipped(response: _Response) -> _Response:
    return replace(
        response,
        headers={**response.headers, "Content-Encoding": "gzip"},
        body=gzip_bytes(response.body),
    )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _http_date(tick: int) -> str:
    return email.utils.format_datetime(EPOCH + timedelta(seconds=tick), usegmt=True)


def _accepts(header: str | None, token: str) -> bool:
    """Whether a comma list of media types or codings names ``token`` with q > 0."""
    for item in (header or "").split(","):
        value, *params = (part.strip() for part in item.split(";"))
        if value.lower() == token:
            return not any(
                p.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000")
                for p in params
            )
    return False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, registry: LoopbackRegistry) -> None:
        self.registry = registry
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up (timeouts, resets we provoked) is normal here.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def do_GET(self) -> None:
        self.server.registry._serve(self)

    def do_HEAD(self) -> None:
        self.server.registry._serve(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def write_head(
        self, response: _Response, *, length: int | None, close: bool = False
    ) -> None:
        reason = _phrase(response.status)
        lines = [
            f"HTTP/1.1 {response.status} {reason}",
            f"Date: {email.utils.formatdate(usegmt=True)}",
        ]
        lines += [f"{name}: {value}" for name, value in response.headers.items()]
        if length is not None:
            lines.append(f"Content-Length: {length}")
        if close:
            lines.append("Connection: close")
            self.close_connection = True
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def reset(self) -> None:
        """Close with an RST rather than a FIN: SO_LINGER with a zero timeout."""
        self.connection.setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
        )
        self.connection.close()
        self.close_connection = True


class LoopbackRegistry:
    """A started-on-demand npm registry on an OS-chosen port; see the module rules.

    Content: ``add``, ``add_tarball_bytes``, ``tag``, ``unpublish``.
    Behaviour: ``require_auth``, ``fault``, ``delay_jitter``, and the attributes
    ``cache_control`` (None: no Cache-Control header at all), ``send_etag`` and
    ``send_last_modified`` (False: neither sent nor honoured), ``abbreviated``
    (False: the abbreviated Accept is ignored and whole documents are sent),
    ``extra_headers`` (added to every document and tarball, e.g. a relay's ``Via``) and
    ``serial`` (True: one request answered at a time, as a proxy with a single
    upstream connection does), which may be changed at any time.
    Observation: ``requests``, ``count``, ``packument_requests``,
    ``tarball_requests``, ``errors``.
    """

    def __init__(self, *, cache_control: str | None = "public, max-age=300") -> None:
        self.cache_control = cache_control
        self.send_etag = True
        self.send_last_modified = True
        self.abbreviated = True
        self.extra_headers: dict[str, str] = {}
        self.serial = False
        self._one_at_a_time = threading.Lock()
        self.errors: list[str] = []
        self._server = _Server(self)
        self.port: int = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.RLock()  # fault predicates may read the log
        self._catalog = Catalog(self.url)
        self._faults: list[Fault] = []
        self._log: list[RequestRecord] = []
        self._token: str | None = None
        self._jitter: tuple[int, float] | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._accept_loop, name=f"loopback {self.url}", daemon=True
        )
        self._thread.start()
        return self

    def _accept_loop(self) -> None:
        """serve_forever without its poll interval: stop() wakes accept() by
        connecting, so a fixture teardown costs no sleep."""
        while True:
            try:
                connection, address = self._server.get_request()
            except OSError:
                return
            if self._stopping.is_set():
                connection.close()
                return
            self._server.process_request(connection, address)

    def stop(self) -> None:
        """Stop serving and drop every open connection (stalls and delays end now)."""
        self._stopping.set()
        if self._thread is not None:
            with socket.create_connection(("127.0.0.1", self.port)):
                pass
            self._thread.join()
        self._server.server_close()
        with self._server.connections_lock:
            for connection in list(self._server.connections):
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # content

    def add(
        self,
        name: str,
        version: str,
        *,
        dependencies: Mapping[str, str] | None = None,
        optional_dependencies: Mapping[str, str] | None = None,
        dev_dependencies: Mapping[str, str] | None = None,
        peer_dependencies: Mapping[str, str] | None = None,
        peer_dependencies_meta: Mapping[str, Mapping[str, Any]] | None = None,
        bundle_dependencies: list[str] | None = None,
        bin: str | Mapping[str, str] | None = None,
        scripts: Mapping[str, str] | None = None,
        deprecated: str | None = None,
        engines: Mapping[str, str] | None = None,
        os: list[str] | None = None,
        cpu: list[str] | None = None,
        license: str | None = None,
        files: Mapping[str, bytes | str] | None = None,
        extra_manifest: Mapping[str, Any] | None = None,
    ) -> PublishedVersion:
        """Publish ``name@version`` with a real, deterministic tarball.

        The tarball holds ``files`` (default: an index.js naming the version),
        a ``#!/usr/bin/env node`` stub for each bin target ``files`` lacks, and a
        package.json generated from the manifest unless ``files`` has one (so a
        test can make the tarball disagree with the registry). ``extra_manifest``
        fields go into both; its ``dist`` only updates the registry's ``dist``.
        Adding an existing version replaces it.
        """
        fields = {
            "name": name,
            "version": version,
            "license": license,
            "bin": bin,
            "scripts": scripts,
            "dependencies": dependencies,
            "optionalDependencies": optional_dependencies,
            "devDependencies": dev_dependencies,
            "peerDependencies": peer_dependencies,
            "peerDependenciesMeta": peer_dependencies_meta,
            "bundleDependencies": bundle_dependencies,
            "engines": engines,
            "os": os,
            "cpu": cpu,
            "deprecated": deprecated,
        }
        manifest = {key: value for key, value in fields.items() if value is not None}
        manifest.update(extra_manifest or {})
        contents = (
            dict(files)
            if files is not None
            else {"index.js": f"module.exports = {f'{name}@{version}'!r};\n"}
        )
        bins = (
            {name.rpartition("/")[2]: bin} if isinstance(bin, str) else dict(bin or {})
        )
        for target in bins.values():
            contents.setdefault(
                target.removeprefix("./"),
                f"#!/usr/bin/env node\nconsole.log({name!r});\n",
            )
        if "package.json" not in contents:
            package_json = {
                key: value
                for key, value in manifest.items()
                if key not in ("dist", "deprecated")
            }
            contents["package.json"] = json.dumps(package_json, indent=2) + "\n"
        with self._lock:
            return self._catalog.publish(manifest, package_tarball(contents), contents)

    def add_tarball_bytes(
        self,
        name: str,
        version: str,
        tarball: bytes,
        *,
        manifest: Mapping[str, Any] | None = None,
    ) -> PublishedVersion:
        """Publish arbitrary (hostile) bytes as ``name@version``. ``dist`` is computed
        over these bytes; ``manifest["dist"]`` overrides any of it."""
        with self._lock:
            return self._catalog.publish(
                {"name": name, "version": version, **(manifest or {})}, tarball, None
            )

    def tag(self, name: str, tag: str, version: str) -> None:
        """Point a dist-tag (``latest`` included) at an added version."""
        with self._lock:
            self._catalog.tag(name, tag, version)

    def unpublish(self, name: str, *, tombstone: bool = False) -> None:
        """Remove a package: 404 everywhere, or with ``tombstone`` npm's 200
        ``{"time": {"unpublished": ...}}`` packument (tarballs still 404)."""
        with self._lock:
            self._catalog.unpublish(name, tombstone=tombstone)

    # behaviour

    def require_auth(self, token: str) -> None:
        """From now on every request needs ``Authorization: Bearer <token>`` (else 401)."""
        self._token = token

    def fault(
        self,
        match: Match,
        kind: FaultKind,
        *,
        times: int | None = 1,
        status: int | None = None,
        retry_after: int | None = None,
        seconds: float | None = None,
        during_body: bool = False,
        to: str | None = None,
    ) -> Fault:
        """Misbehave on the next ``times`` requests matching ``match``; see faults.py."""
        fault = Fault(match, kind, times, status, retry_after, seconds, during_body, to)
        with self._lock:
            self._faults.append(fault)
        return fault

    def delay_jitter(self, seed: int, max_seconds: float) -> None:
        """Delay every response by a pseudo-random time in [0, max_seconds) derived
        from the seed and the request line, so completion order is shuffled the
        same way on every run, whatever order the requests arrive in."""
        self._jitter = (seed, max_seconds)

    # observation

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._log)

    def count(self, match: Match) -> int:
        return sum(1 for record in self.requests if matches(match, record))

    def packument_requests(self, name: str) -> list[RequestRecord]:
        return [r for r in self.requests if r.kind == "packument" and r.package == name]

    def tarball_requests(self, name: str) -> list[RequestRecord]:
        return [r for r in self.requests if r.kind == "tarball" and r.package == name]

    def packument_url(self, name: str) -> str:
        """The URL npm clients use: scope slash encoded as ``%2f``."""
        return f"{self.url}/{name.replace('/', '%2f')}"

    # serving

    def _serve(self, handler: _Handler) -> None:
        headers: dict[str, str] = {}
        for key, value in handler.headers.items():
            key = key.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        target = handler.path
        if target.startswith(("http://", "https://")):  # absolute form: we are the proxy (module rules)
            parts = urlsplit(target)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
        record = RequestRecord.incoming(
            handler.command, target, MappingProxyType(headers), time.monotonic()
        )
        try:
            if self.serial:
                with self._one_at_a_time:
                    self._respond(handler, record)
            else:
                self._respond(handler, record)
        except OSError:
            handler.close_connection = True
        except Exception:  # noqa: BLE001 - a server bug must reach the test, via errors
            self.errors.append(traceback.format_exc())
            response = _error(500, "loopback registry bug")
            handler.write_head(response, length=len(response.body), close=True)
            handler.wfile.write(response.body)

    def _take_fault(self, record: RequestRecord) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if not fault.exhausted and fault.matches(record):
                    fault.hits += 1
                    return fault
        return None

    def _record(
        self, record: RequestRecord, status: int | None, fault: FaultKind | None
    ) -> None:
        with self._lock:
            self._log.append(replace(record, status=status, fault=fault))

    def _jitter_for(self, record: RequestRecord) -> float:
        if self._jitter is None:
            return 0.0
        seed, max_seconds = self._jitter
        digest = hashlib.sha256(
            f"{seed} {record.method} {record.target}".encode()
        ).digest()
        return max_seconds * int.from_bytes(digest[:8], "big") / 2**64

    def _respond(self, handler: _Handler, record: RequestRecord) -> None:
        fault = self._take_fault(record)
        kind = fault.kind if fault else None
        wait = self._jitter_for(record)
        if fault and kind == "delay" and fault.seconds:
            wait += fault.seconds
        if wait and self._stopping.wait(wait):
            handler.close_connection = True
            return
        if fault and kind == "reset" and not fault.during_body:
            self._record(record, None, kind)
            handler.reset()
            return

        response = self._fault_response(fault, record) if fault else None
        if response is None:
            response = self._answer(record)
        if fault and kind == "corrupt_json":
            response = replace(response, body=response.body[: len(response.body) // 2])
        if (
            response.compressible
            and response.body
            and _accepts(record.headers.get("accept-encoding"), "gzip")
        ):
            response = _gzipped(response)
        if kind == "gzip_tarball":
            response = _gzipped(response)

        self._record(record, response.status, kind)
        body = response.body if record.method != "HEAD" else b""
        length = None if response.status in BODILESS_STATUSES else len(response.body)
        if kind == "stall":
            handler.write_head(response, length=length, close=True)
            self._stopping.wait(
                fault.seconds if fault and fault.seconds is not None else STALL_SECONDS
            )
        elif kind in ("truncate", "reset"):
            handler.write_head(response, length=length, close=True)
            handler.wfile.write(body[: len(body) // 2])
            if kind == "reset":
                handler.reset()
        elif kind == "overlong":
            handler.write_head(response, length=length, close=True)
            handler.wfile.write(body + b"\n<!-- bytes past Content-Length -->\n")
        else:
            handler.write_head(response, length=length)
            handler.wfile.write(body)

    def _fault_response(self, fault: Fault, record: RequestRecord) -> _Response | None:
        """The replacement answer for faults that replace it; None for the rest."""
        if fault.kind == "status":
            assert fault.status is not None
            extra = (
                {"Retry-After": str(fault.retry_after)}
                if fault.retry_after is not None
                else {}
            )
            if fault.status in BODILESS_STATUSES:
                return _Response(fault.status, extra)
            return _error(fault.status, _phrase(fault.status) or "error", extra)
        if fault.kind == "redirect":
            assert fault.to is not None
            return _Response(
                fault.status or 302, {"Location": fault.to.rstrip("/") + record.target}
            )
        if fault.kind == "html":
            return _Response(
                200, {"Content-Type": "text/html; charset=utf-8"}, HTML_ERROR_PAGE
            )
        if fault.kind == "wrong_integrity":
            route = record.route
            with self._lock:
                published = (
                    self._catalog.tarball(route.package or "", route.arg or "")
                    if route.kind == "tarball"
                    else None
                )
            if published is None:
                raise AssertionError(
                    f"wrong_integrity fault matched {record.path}, which is no tarball here"
                )
            return _Response(
                200, {"Content-Type": "application/octet-stream"}, _tampered(published)
            )
        return None

    def _answer(self, record: RequestRecord) -> _Response:
        if (
            self._token is not None
            and record.headers.get("authorization") != f"Bearer {self._token}"
        ):
            return _error(
                401, "Unauthorized", {"WWW-Authenticate": 'Bearer realm="loopback"'}
            )
        route = record.route
        name = route.package or ""
        with self._lock:
            if route.kind == "packument":
                abbreviated = self.abbreviated and _accepts(record.headers.get("accept"), CORGI)
                document = self._catalog.packument(name, abbreviated=abbreviated)
                modified = self._catalog.modified(name)
                if document is None or modified is None:
                    return NOT_FOUND
                content_type = CORGI if abbreviated else "application/json"
                return self._cacheable(
                    record,
                    _Response(
                        200, {"Content-Type": content_type}, _json(document), True
                    ),
                    modified,
                )
            if route.kind == "version":
                published = self._catalog.version_document(name, route.arg or "")
                modified = self._catalog.modified(name)
                if published is None or modified is None:
                    return NOT_FOUND
                body = _json(published.document)
                return self._cacheable(
                    record,
                    _Response(200, {"Content-Type": "application/json"}, body, True),
                    modified,
                )
            if route.kind == "tarball":
                published = self._catalog.tarball(name, route.arg or "")
                if published is None:
                    return NOT_FOUND
                response = _Response(
                    200, {"Content-Type": "application/octet-stream"}, published.tarball
                )
                return self._cacheable(record, response, published.published)
        return NOT_FOUND

    def _cacheable(
        self, record: RequestRecord, response: _Response, modified: int
    ) -> _Response:
        """Add the validators and caching headers; turn a satisfied conditional into a 304."""
        headers: dict[str, str] = {}
        if self.cache_control is not None:
            headers["Cache-Control"] = (
                self.cache_control if response.compressible else TARBALL_CACHE_CONTROL
            )
        etag = f'"{hashlib.sha256(response.body).hexdigest()[:40]}"'
        if self.send_etag:
            headers["ETag"] = etag
        if self.send_last_modified:
            headers["Last-Modified"] = _http_date(modified)
        if response.compressible:
            headers["Vary"] = "Accept, Accept-Encoding"
        headers.update(self.extra_headers)
        if_none_match = record.headers.get("if-none-match")
        if_modified_since = record.headers.get("if-modified-since")
        not_modified = False
        if if_none_match is not None:
            tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
            not_modified = self.send_etag and (etag in tags or "*" in tags)
        elif if_modified_since is not None and self.send_last_modified:
            not_modified = _not_modified_since(if_modified_since, modified)
        if not_modified:
            return _Response(304, headers)
        return replace(response, headers={**response.headers, **headers})


def _not_modified_since(header: str, modified: int) -> bool:
    try:
        since = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    return since.tzinfo is not None and EPOCH + timedelta(seconds=modified) <= since


def _tampered(published: PublishedVersion) -> bytes:
    """Different bytes for the same tarball URL: for built packages a valid tarball
    with one extra file, for raw ones the raw bytes plus one."""
    if published.files is None:
        return published.tarball + b"\0"
    return package_tarball(
        {**published.files, "TAMPERED": "served instead of the published tarball\n"}
    )
