"""``python -m bench mirror``: a recorded snapshot served on 127.0.0.1 like npmjs.

Rules:
- ``GET /{name}`` (``/@scope%2fname`` or ``/@scope/name``) answers the whole
  recorded packument, or an abbreviated one when Accept asks for
  ``application/vnd.npm.install-v1+json``; ``GET /{path}/-/{file}.tgz`` the
  tarball; anything else a JSON 404 (and the path is logged, so a benchmark
  that needed an unrecorded package says so).
- Tarball URLs inside documents point at this server (the Host the client
  used), so every tool downloads from the mirror too.
- Documents carry a strong ETag of their exact body, ``Cache-Control:
  public, max-age=300``, Last-Modified from ``time.modified``; If-None-Match
  gives a 304 without a body. Documents are gzipped when the client accepts
  gzip; tarballs never are (they already are).
- Bodies are built once per (package, form, host) and kept in memory,
  gzipped ahead: the mirror must not be what the benchmark measures.
- With ``--log-requests`` every request is one stderr line (``mirror: GET
  <status> <accept> <path>``): what a tool asks for in a phase that should
  need nothing, such as a no-op, shows there.
"""

from __future__ import annotations

import asyncio
import email.utils
import gzip
import hashlib
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import orjson
from aiohttp import web

from .snapshot import PUBLIC_REGISTRY, packument_file

CORGI = "application/vnd.npm.install-v1+json"
DOC_CACHE_CONTROL = "public, max-age=300"
TARBALL_CACHE_CONTROL = "public, immutable, max-age=31557600"
# What npm's registry keeps in each version of an abbreviated packument.
ABBREVIATED_VERSION_FIELDS = (
    "name", "version", "deprecated", "dependencies", "optionalDependencies",
    "devDependencies", "bundleDependencies", "peerDependencies", "peerDependenciesMeta",
    "acceptDependencies", "bin", "directories", "dist", "engines", "_hasShrinkwrap",
    "hasInstallScript", "cpu", "os", "libc", "funding",
)
INSTALL_SCRIPTS = ("preinstall", "install", "postinstall")


def modified(doc: dict) -> str | None:
    """``time.modified``, or the latest publish time when the document lacks it."""
    times = doc.get("time") or {}
    stamps = [v for k, v in times.items() if isinstance(v, str) and k != "created"]
    return times.get("modified") or max(stamps, default=None)


def abbreviate(doc: dict) -> dict:
    """The install form of a whole packument, as npmjs derives it."""
    versions = {}
    for version, manifest in doc.get("versions", {}).items():
        short = {k: manifest[k] for k in ABBREVIATED_VERSION_FIELDS if k in manifest}
        scripts = manifest.get("scripts") or {}
        if "hasInstallScript" not in short and any(s in scripts for s in INSTALL_SCRIPTS):
            short["hasInstallScript"] = True
        versions[version] = short
    return {
        "name": doc.get("name"),
        "modified": modified(doc),
        "dist-tags": doc.get("dist-tags", {}),
        "versions": versions,
    }


def rehost(doc: dict, base: str) -> dict:
    """Point every version's tarball URL at ``base`` (in place; returns doc)."""
    for manifest in doc.get("versions", {}).values():
        dist = manifest.get("dist")
        if isinstance(dist, dict) and isinstance(dist.get("tarball"), str):
            tarball = dist["tarball"]
            if tarball.startswith(PUBLIC_REGISTRY):
                dist["tarball"] = base + tarball[len(PUBLIC_REGISTRY):]
    return doc


@dataclass(frozen=True, slots=True)
class Body:
    plain: bytes
    gzipped: bytes
    etag: str
    last_modified: str | None


def _body(payload: bytes, modified: str | None) -> Body:
    last_modified = None
    if modified:
        stamp = datetime.fromisoformat(modified)
        last_modified = email.utils.format_datetime(stamp, usegmt=True)
    return Body(
        plain=payload,
        gzipped=gzip.compress(payload, 6),
        etag='"' + hashlib.sha1(payload).hexdigest() + '"',
        last_modified=last_modified,
    )


class Mirror:
    """The snapshot with its built bodies; one per server process."""

    def __init__(self, snapshot: Path) -> None:
        self.snapshot = snapshot
        self.bodies: dict[tuple[str, bool, str], Body] = {}
        self.tarballs: dict[str, bytes] = {}
        self.misses: list[str] = []

    def document(self, name: str, abbreviated: bool, base: str) -> Body | None:
        key = (name, abbreviated, base)
        body = self.bodies.get(key)
        if body is None:
            path = packument_file(self.snapshot, name)
            if not path.is_file():
                return None
            doc = rehost(orjson.loads(gzip.decompress(path.read_bytes())), base)
            body = _body(orjson.dumps(abbreviate(doc) if abbreviated else doc), modified(doc))
            self.bodies[key] = body
        return body

    def tarball(self, path: str) -> bytes | None:
        data = self.tarballs.get(path)
        if data is None:
            file = (self.snapshot / "tarballs" / path).resolve()
            if not file.is_relative_to(self.snapshot.resolve() / "tarballs") or not file.is_file():
                return None
            data = self.tarballs[path] = file.read_bytes()
        return data

    def warm(self, base: str) -> int:
        """Build every abbreviated body for ``base`` ahead of the first request."""
        count = 0
        for file in sorted((self.snapshot / "packuments").glob("*.json.gz")):
            name = unquote(file.name[: -len(".json.gz")])
            if self.document(name, True, base) is not None:
                count += 1
        return count


def _not_found(mirror: Mirror, path: str) -> web.Response:
    mirror.misses.append(path)
    print(f"mirror: 404 {path}", file=sys.stderr, flush=True)
    return web.json_response({"error": "Not found"}, status=404)


@web.middleware
async def _log_request(request: web.Request, handler: Any) -> web.StreamResponse:
    response = await handler(request)
    accept = request.headers.get("Accept", "-").replace(" ", "")
    print(f"mirror: {request.method} {response.status} {accept} {request.raw_path}",
          file=sys.stderr, flush=True)
    return response


def make_app(mirror: Mirror, log_requests: bool = False) -> web.Application:
    async def handle(request: web.Request) -> web.StreamResponse:
        path = unquote(request.raw_path.split("?", 1)[0]).lstrip("/")
        if "/-/" in path:
            data = mirror.tarball(path)
            if data is None:
                return _not_found(mirror, path)
            etag = '"' + hashlib.sha1(path.encode()).hexdigest() + '"'
            headers = {"ETag": etag, "Cache-Control": TARBALL_CACHE_CONTROL}
            if request.headers.get("If-None-Match") == etag:
                return web.Response(status=304, headers=headers)
            return web.Response(body=data, headers=headers, content_type="application/octet-stream")
        abbreviated = CORGI in request.headers.get("Accept", "")
        base = f"{request.scheme}://{request.host}/"
        body = mirror.document(path, abbreviated, base)
        if body is None:
            return _not_found(mirror, path)
        headers = {
            "ETag": body.etag,
            "Cache-Control": DOC_CACHE_CONTROL,
            "Vary": "Accept, Accept-Encoding",
        }
        if body.last_modified:
            headers["Last-Modified"] = body.last_modified
        if body.etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)
        content_type = CORGI if abbreviated else "application/json"
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            headers["Content-Encoding"] = "gzip"
            return web.Response(body=body.gzipped, headers=headers, content_type=content_type)
        return web.Response(body=body.plain, headers=headers, content_type=content_type)

    app = web.Application(middlewares=[_log_request] if log_requests else [])
    app.router.add_route("GET", "/{tail:.*}", handle)
    return app


async def serve(snapshot: Path, port: int, log_requests: bool = False) -> None:
    """Serve until killed; print ``mirror: listening on http://127.0.0.1:PORT/`` when ready."""
    mirror = Mirror(snapshot)
    runner = web.AppRunner(make_app(mirror, log_requests), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024)
    await site.start()
    bound = runner.addresses[0][1]
    base = f"http://127.0.0.1:{bound}/"
    count = mirror.warm(base)
    print(f"mirror: {count} packuments ready", file=sys.stderr, flush=True)
    print(f"mirror: listening on {base}", flush=True)
    await asyncio.Event().wait()
