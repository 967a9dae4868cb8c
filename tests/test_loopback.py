"""The loopback registry behaves like registry.npmjs.org, and its faults are visible
to a real HTTP client. Everything else in weir is tested against it."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import socket
import tarfile
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from loopback import (
    ABBREVIATED_FIELDS,
    CORGI,
    LoopbackRegistry,
    TarEntry,
    build_tgz,
    sha1_hex,
    sha512_integrity,
)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as client:
        yield client


def members(tgz: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as archive:
        return {member.name: member for member in archive.getmembers()}


def read_member(tgz: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as archive:
        extracted = archive.extractfile(name)
        assert extracted is not None
        return extracted.read()


# --- documents -----------------------------------------------------------------


def test_full_packument_carries_time_readme_and_whole_version_documents(
    registry, client
):
    registry.add(
        "foo",
        "1.0.0",
        dependencies={"bar": "^1.0.0"},
        scripts={"test": "true"},
        license="MIT",
    )
    registry.add(
        "foo", "1.1.0", extra_manifest={"description": "a foo", "main": "index.js"}
    )

    response = client.get(f"{registry.url}/foo")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    doc = response.json()
    assert doc["name"] == doc["_id"] == "foo"
    assert doc["dist-tags"] == {"latest": "1.1.0"}
    assert list(doc["versions"]) == ["1.0.0", "1.1.0"]
    assert set(doc["time"]) == {"created", "modified", "1.0.0", "1.1.0"}
    assert doc["time"]["1.0.0"] < doc["time"]["1.1.0"] == doc["time"]["modified"]
    assert doc["readme"] and doc["description"] == "a foo"
    first = doc["versions"]["1.0.0"]
    assert first["scripts"] == {"test": "true"} and first["license"] == "MIT"
    assert first["dependencies"] == {"bar": "^1.0.0"}
    assert first["dist"]["tarball"] == f"{registry.url}/foo/-/foo-1.0.0.tgz"


def test_abbreviated_packument_keeps_only_install_fields(registry, client):
    registry.add(
        "foo",
        "1.0.0",
        dependencies={"bar": "^1.0.0"},
        peer_dependencies={"react": ">=18"},
        peer_dependencies_meta={"react": {"optional": True}},
        optional_dependencies={"fsevents": "^2.0.0"},
        dev_dependencies={"jest": "^29"},
        bundle_dependencies=["bar"],
        bin={"foo": "cli.js"},
        scripts={"postinstall": "node setup.js", "test": "jest"},
        deprecated="use baz",
        engines={"node": ">=18"},
        os=["linux"],
        cpu=["x64"],
        license="MIT",
        extra_manifest={
            "funding": "https://example.invalid/fund",
            "homepage": "https://example.invalid",
        },
    )
    registry.add("foo", "1.1.0", scripts={"test": "jest"})

    response = client.get(
        f"{registry.url}/foo",
        headers={"Accept": f"{CORGI}; q=1.0, application/json; q=0.8, */*"},
    )

    assert response.headers["content-type"] == CORGI
    doc = response.json()
    assert set(doc) == {"name", "modified", "dist-tags", "versions"}
    old, new = doc["versions"]["1.0.0"], doc["versions"]["1.1.0"]
    assert set(old) <= set(ABBREVIATED_FIELDS)
    assert old["hasInstallScript"] is True and "scripts" not in old
    assert "hasInstallScript" not in new
    assert old["deprecated"] == "use baz"
    assert old["peerDependenciesMeta"] == {"react": {"optional": True}}
    assert (old["os"], old["cpu"], old["engines"]) == (
        ["linux"],
        ["x64"],
        {"node": ">=18"},
    )
    assert old["bin"] == {"foo": "cli.js"} and old["bundleDependencies"] == ["bar"]
    assert old["funding"] == "https://example.invalid/fund"
    assert "homepage" not in old and "license" not in old
    assert set(old["dist"]) >= {"integrity", "shasum", "tarball"}


def test_scoped_package_answers_to_both_encodings_and_has_npm_tarball_url(
    registry, client
):
    published = registry.add("@scope/pkg", "2.0.0-beta.1")

    encoded = client.get(f"{registry.url}/@scope%2fpkg")
    plain = client.get(f"{registry.url}/@scope/pkg")

    assert encoded.status_code == plain.status_code == 200
    assert encoded.json() == plain.json()
    assert published.tarball_url == f"{registry.url}/@scope/pkg/-/pkg-2.0.0-beta.1.tgz"
    assert client.get(published.tarball_url).content == published.tarball
    assert (
        client.get(f"{registry.url}/@scope%2fpkg/2.0.0-beta.1").json()["name"]
        == "@scope/pkg"
    )


def test_version_document_by_version_and_by_dist_tag(registry, client):
    registry.add("foo", "1.0.0")
    registry.add("foo", "2.0.0-rc.1")
    registry.tag("foo", "next", "2.0.0-rc.1")

    assert client.get(f"{registry.url}/foo/1.0.0").json()["version"] == "1.0.0"
    assert client.get(f"{registry.url}/foo/latest").json()["version"] == "1.0.0"
    tagged = client.get(f"{registry.url}/foo/next").json()
    assert tagged["version"] == "2.0.0-rc.1" and tagged["_id"] == "foo@2.0.0-rc.1"


def test_latest_is_the_highest_stable_version_unless_tagged(registry, client):
    for version in ("1.0.0", "1.10.0", "1.9.0", "2.0.0-beta.2", "2.0.0-beta.10"):
        registry.add("foo", version)
    assert client.get(f"{registry.url}/foo").json()["dist-tags"] == {"latest": "1.10.0"}

    registry.tag("foo", "beta", "2.0.0-beta.10")
    registry.tag("foo", "latest", "1.9.0")
    assert client.get(f"{registry.url}/foo").json()["dist-tags"] == {
        "latest": "1.9.0",
        "beta": "2.0.0-beta.10",
    }

    registry.add("only-pre", "1.0.0-alpha.1")
    registry.add("only-pre", "1.0.0-alpha.2")
    assert client.get(f"{registry.url}/only-pre").json()["dist-tags"] == {
        "latest": "1.0.0-alpha.2"
    }


def test_head_answers_headers_without_body(registry, client):
    registry.add("foo", "1.0.0")
    full = client.get(f"{registry.url}/foo", headers={"Accept-Encoding": "identity"})
    head = client.head(f"{registry.url}/foo", headers={"Accept-Encoding": "identity"})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(full.content))
    assert head.headers["etag"] == full.headers["etag"]


# --- caching -------------------------------------------------------------------


def test_if_none_match_round_trip_gives_304_without_body(registry, client):
    registry.add("foo", "1.0.0")
    first = client.get(f"{registry.url}/foo")
    etag = first.headers["etag"]
    assert (
        etag.startswith('"') and first.headers["cache-control"] == "public, max-age=300"
    )

    again = client.get(f"{registry.url}/foo", headers={"If-None-Match": etag})

    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert registry.packument_requests("foo")[-1].headers["if-none-match"] == etag


def test_if_modified_since_gives_304_until_the_package_changes(registry, client):
    registry.add("foo", "1.0.0")
    stamp = client.get(f"{registry.url}/foo").headers["last-modified"]

    assert (
        client.get(
            f"{registry.url}/foo", headers={"If-Modified-Since": stamp}
        ).status_code
        == 304
    )
    registry.add("foo", "1.0.1")
    changed = client.get(f"{registry.url}/foo", headers={"If-Modified-Since": stamp})
    assert changed.status_code == 200 and "1.0.1" in changed.json()["versions"]


def test_content_change_gives_a_new_etag_and_a_200(registry, client):
    registry.add("foo", "1.0.0")
    full = client.get(f"{registry.url}/foo")
    corgi = client.get(f"{registry.url}/foo", headers={"Accept": CORGI})
    assert full.headers["etag"] != corgi.headers["etag"]
    assert client.get(f"{registry.url}/foo").headers["etag"] == full.headers["etag"]

    registry.add("foo", "1.1.0")
    updated = client.get(
        f"{registry.url}/foo", headers={"If-None-Match": full.headers["etag"]}
    )

    assert updated.status_code == 200
    assert updated.headers["etag"] != full.headers["etag"]
    assert set(updated.json()["versions"]) == {"1.0.0", "1.1.0"}


def test_a_stripping_proxy_sends_no_cache_control_or_etag_and_ignores_validators(
    registry, client
):
    registry.add("foo", "1.0.0")
    etag = client.get(f"{registry.url}/foo").headers["etag"]
    registry.cache_control = None
    registry.send_etag = False

    response = client.get(f"{registry.url}/foo", headers={"If-None-Match": etag})

    assert response.status_code == 200
    assert "cache-control" not in response.headers and "etag" not in response.headers
    assert "last-modified" in response.headers


def test_packuments_are_gzipped_only_when_accepted(registry, client):
    registry.add("foo", "1.0.0")
    with client.stream(
        "GET", f"{registry.url}/foo", headers={"Accept-Encoding": "gzip"}
    ) as response:
        raw = b"".join(response.iter_raw())
    assert response.headers["content-encoding"] == "gzip"
    assert json.loads(gzip.decompress(raw))["name"] == "foo"

    plain = client.get(f"{registry.url}/foo", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.json()["name"] == "foo"


# --- tarballs ------------------------------------------------------------------


def test_tarball_matches_advertised_integrity_and_extracts_under_package(
    registry, client
):
    registry.add(
        "foo",
        "1.0.0",
        bin={"foo": "cli.js"},
        files={"index.js": "module.exports = 'foo'", "lib/a.js": "1"},
    )
    dist = client.get(f"{registry.url}/foo").json()["versions"]["1.0.0"]["dist"]

    response = client.get(dist["tarball"])

    assert response.headers["content-type"] == "application/octet-stream"
    assert int(response.headers["content-length"]) == len(response.content)
    assert sha512_integrity(response.content) == dist["integrity"]
    assert hashlib.sha1(response.content).hexdigest() == dist["shasum"]
    names = members(response.content)
    assert sorted(names) == [
        "package/cli.js",
        "package/index.js",
        "package/lib/a.js",
        "package/package.json",
    ]
    manifest = json.loads(read_member(response.content, "package/package.json"))
    assert manifest == {"name": "foo", "version": "1.0.0", "bin": {"foo": "cli.js"}}
    assert read_member(response.content, "package/cli.js").startswith(
        b"#!/usr/bin/env node"
    )


def test_tarballs_are_deterministic_and_a_given_package_json_wins(registry, registry2):
    one = registry.add("foo", "1.0.0", dependencies={"x": "1"})
    two = registry2.add("foo", "1.0.0", dependencies={"x": "1"})
    assert one.tarball == two.tarball and one.integrity == two.integrity

    lying = registry.add(
        "foo",
        "1.0.1",
        files={"package.json": '{"name":"foo","scripts":{"install":"evil"}}'},
    )
    assert (
        read_member(lying.tarball, "package/package.json")
        == b'{"name":"foo","scripts":{"install":"evil"}}'
    )
    assert "scripts" not in lying.document


def test_hostile_tarball_bytes_are_served_with_their_own_integrity(registry, client):
    evil = build_tgz([TarEntry("package/../../escape.txt", data="x")])
    published = registry.add_tarball_bytes(
        "evil", "1.0.0", evil, manifest={"dependencies": {}}
    )
    lied = registry.add_tarball_bytes(
        "evil",
        "1.0.1",
        b"not a tarball",
        manifest={"dist": {"integrity": "sha512-AAAA"}},
    )

    versions = client.get(f"{registry.url}/evil").json()["versions"]

    assert (
        versions["1.0.0"]["dist"]["integrity"]
        == sha512_integrity(evil)
        == published.integrity
    )
    assert versions["1.0.0"]["dist"]["shasum"] == sha1_hex(evil)
    assert client.get(published.tarball_url).content == evil
    assert versions["1.0.1"]["dist"]["integrity"] == "sha512-AAAA"
    assert client.get(lied.tarball_url).content == b"not a tarball"


def test_tar_builder_writes_hostile_entries_verbatim():
    tgz = build_tgz(
        [
            TarEntry("package/ok.js", data="ok", mode=0o755),
            TarEntry("package/dir", type="dir"),
            TarEntry("package/up", type="symlink", linkname="../../etc/passwd"),
            TarEntry("package/hard", type="hardlink", linkname="/etc/shadow"),
            TarEntry("package/tty", type="chardev", devmajor=5, devminor=0),
            TarEntry("package/pipe", type="fifo"),
            TarEntry(
                "package/innocent.js", data="pax", pax={"path": "../pax-escape.js"}
            ),
            TarEntry("package/short.js", data="gnu", gnu_longname="/abs/gnu-escape.js"),
        ]
    )
    found = members(tgz)
    assert found["package/ok.js"].mode == 0o755 and found["package/ok.js"].size == 2
    assert found["package/dir"].isdir()
    assert (
        found["package/up"].issym()
        and found["package/up"].linkname == "../../etc/passwd"
    )
    assert (
        found["package/hard"].islnk()
        and found["package/hard"].linkname == "/etc/shadow"
    )
    assert found["package/tty"].ischr() and found["package/pipe"].isfifo()
    assert "../pax-escape.js" in found and "/abs/gnu-escape.js" in found
    assert read_member(tgz, "../pax-escape.js") == b"pax"
    assert build_tgz([TarEntry("a", data="1")]) == build_tgz([TarEntry("a", data="1")])


# --- not found, unpublished, auth ---------------------------------------------


def test_unknown_packages_versions_and_tarballs_are_json_404s(registry, client):
    registry.add("foo", "1.0.0")
    for path in (
        "/nope",
        "/foo/9.9.9",
        "/foo/nosuchtag",
        "/foo/-/foo-9.9.9.tgz",
        "/@scope%2fnope",
        "/a/b/c/d",
    ):
        response = client.get(registry.url + path)
        assert response.status_code == 404, path
        assert response.json() == {"error": "Not found"}


def test_unpublished_package_is_404_or_npm_tombstone(registry, client):
    gone = registry.add("gone", "1.0.0")
    registry.unpublish("gone")
    assert client.get(f"{registry.url}/gone").status_code == 404

    stone = registry.add("stone", "1.0.0")
    registry.unpublish("stone", tombstone=True)
    response = client.get(f"{registry.url}/stone", headers={"Accept": CORGI})
    assert response.status_code == 200
    doc = response.json()
    assert "versions" not in doc and doc["time"]["unpublished"]["versions"] == ["1.0.0"]
    assert client.get(stone.tarball_url).status_code == 404
    assert client.get(gone.tarball_url).status_code == 404


def test_auth_required_means_bearer_token_or_401(registry, client):
    registry.add("private", "1.0.0")
    registry.require_auth("s3cret")

    assert client.get(f"{registry.url}/private").status_code == 401
    assert (
        client.get(
            f"{registry.url}/private", headers={"Authorization": "Bearer wrong"}
        ).status_code
        == 401
    )
    assert (
        client.get(
            f"{registry.url}/private", headers={"Authorization": "Bearer s3cret"}
        ).status_code
        == 200
    )


# --- faults --------------------------------------------------------------------


def test_status_fault_with_retry_after_hits_only_the_next_request(registry, client):
    registry.add("foo", "1.0.0")
    fault = registry.fault("/foo", "status", status=503, retry_after=2)

    failed = client.get(f"{registry.url}/foo")

    assert failed.status_code == 503 and failed.headers["retry-after"] == "2"
    assert client.get(f"{registry.url}/foo").status_code == 200
    assert fault.hits == 1
    assert [(r.status, r.fault) for r in registry.requests] == [
        (503, "status"),
        (200, None),
    ]


def test_status_fault_304_has_no_body_and_keeps_the_connection_usable(registry, client):
    registry.add("foo", "1.0.0")
    registry.fault("/foo", "status", status=304)

    assert client.get(f"{registry.url}/foo").status_code == 304
    assert client.get(f"{registry.url}/foo").json()["name"] == "foo"


def test_predicate_faults_can_fire_forever(registry, client):
    registry.add("foo", "1.0.0")
    registry.fault(lambda r: r.kind == "tarball", "status", status=429, times=None)
    tarball = client.get(f"{registry.url}/foo").json()["versions"]["1.0.0"]["dist"][
        "tarball"
    ]
    assert [client.get(tarball).status_code for _ in range(3)] == [429, 429, 429]


def test_delay_fault_outlasts_a_short_client_timeout(registry):
    registry.add("foo", "1.0.0")
    registry.fault("/foo", "delay", seconds=30)
    with httpx.Client(timeout=0.2) as client, pytest.raises(httpx.ReadTimeout):
        client.get(f"{registry.url}/foo")


def test_stall_fault_sends_headers_then_nothing(registry):
    registry.add("foo", "1.0.0")
    registry.fault("/foo", "stall")
    with (
        httpx.Client(timeout=0.2) as client,
        client.stream("GET", f"{registry.url}/foo") as response,
    ):
        assert response.status_code == 200
        with pytest.raises(httpx.ReadTimeout):
            response.read()


def test_reset_before_headers_and_mid_body(registry, client):
    published = registry.add("foo", "1.0.0", files={"big.js": "x" * 50_000})
    registry.fault("/foo", "reset")
    with pytest.raises(httpx.TransportError):
        client.get(f"{registry.url}/foo")
    assert registry.requests[-1].status is None

    registry.fault(lambda r: r.kind == "tarball", "reset", during_body=True)
    with client.stream("GET", published.tarball_url) as response:
        assert response.status_code == 200
        with pytest.raises(httpx.TransportError):
            response.read()


def test_truncate_fault_closes_before_content_length(registry, client):
    registry.add("foo", "1.0.0")
    registry.fault("/foo", "truncate")
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(f"{registry.url}/foo")


def test_overlong_fault_sends_bytes_past_content_length(registry):
    registry.add("foo", "1.0.0")
    registry.fault("/foo", "overlong")
    with socket.create_connection(("127.0.0.1", registry.port), timeout=5) as sock:
        sock.sendall(b"GET /foo HTTP/1.1\r\nHost: x\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    length = int(
        next(
            line
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        ).split(b":")[1]
    )
    assert len(body) > length
    assert json.loads(body[:length])["name"] == "foo"


def test_html_and_corrupt_json_faults_break_parsing_not_http(registry, client):
    registry.add("foo", "1.0.0")
    registry.fault("/foo", "html")
    registry.fault("/foo", "corrupt_json")

    portal = client.get(f"{registry.url}/foo")
    assert portal.status_code == 200 and portal.headers["content-type"].startswith(
        "text/html"
    )
    corrupt = client.get(f"{registry.url}/foo")
    assert (
        corrupt.status_code == 200
        and corrupt.headers["content-type"] == "application/json"
    )
    with pytest.raises(json.JSONDecodeError):
        corrupt.json()
    assert client.get(f"{registry.url}/foo").json()["name"] == "foo"


def test_wrong_integrity_fault_serves_a_valid_but_different_tarball(registry, client):
    published = registry.add("foo", "1.0.0")
    registry.fault(lambda r: r.kind == "tarball", "wrong_integrity")

    served = client.get(published.tarball_url).content

    assert sha512_integrity(served) != published.integrity
    assert "package/TAMPERED" in members(served)
    assert client.get(published.tarball_url).content == published.tarball


def test_gzip_tarball_fault_adds_a_content_encoding_layer(registry, client):
    published = registry.add("foo", "1.0.0")
    registry.fault(lambda r: r.kind == "tarball", "gzip_tarball", times=2)

    with client.stream("GET", published.tarball_url) as response:
        raw = b"".join(response.iter_raw())
    assert response.headers["content-encoding"] == "gzip"
    assert gzip.decompress(raw) == published.tarball
    assert (
        client.get(published.tarball_url).content == published.tarball
    )  # httpx undoes the layer


def test_redirect_fault_sends_the_client_to_another_registry(
    registry, registry2, client
):
    registry.add("foo", "1.0.0")
    registry2.add("foo", "2.0.0")
    registry.fault("/foo", "redirect", to=registry2.url, status=301)

    moved = client.get(f"{registry.url}/foo")
    assert (
        moved.status_code == 301 and moved.headers["location"] == f"{registry2.url}/foo"
    )

    registry.fault("/foo", "redirect", to=registry2.url)
    followed = client.get(
        f"{registry.url}/foo",
        headers={"Authorization": "Bearer t"},
        follow_redirects=True,
    )
    assert list(followed.json()["versions"]) == ["2.0.0"]
    assert registry.requests[-1].headers["authorization"] == "Bearer t"
    assert "authorization" not in registry2.requests[-1].headers


def test_fault_options_are_checked_when_registered(registry):
    with pytest.raises(ValueError, match="status="):
        registry.fault("/foo", "status")
    with pytest.raises(ValueError, match="unknown fault kind"):
        registry.fault("/foo", "explode")  # type: ignore[arg-type]


def test_delay_jitter_still_answers_every_request(registry, client):
    for name in "abcd":
        registry.add(name, "1.0.0")
    registry.delay_jitter(seed=7, max_seconds=0.05)
    with ThreadPoolExecutor(4) as pool:
        statuses = list(
            pool.map(lambda n: client.get(f"{registry.url}/{n}").status_code, "abcd")
        )
    assert statuses == [200] * 4
    assert sorted(r.package for r in registry.requests) == list("abcd")


# --- request log, concurrency, lifecycle ---------------------------------------


def test_request_log_records_what_was_asked_and_answered(small_graph, client):
    registry = small_graph
    client.get(f"{registry.url}/a", headers={"Accept": CORGI, "X-Trace": "1"})
    client.get(registry.packument_url("@scope/pkg"))
    client.get(f"{registry.url}/c/-/c-2.0.0.tgz")
    client.get(f"{registry.url}/c/-/c-1.0.0.tgz")

    first = registry.requests[0]
    assert (first.method, first.path, first.status, first.kind, first.package) == (
        "GET",
        "/a",
        200,
        "packument",
        "a",
    )
    assert first.headers["accept"] == CORGI and first.headers["x-trace"] == "1"
    assert (
        registry.requests[1].target == "/@scope%2fpkg"
        and registry.requests[1].path == "/@scope/pkg"
    )
    assert len(registry.packument_requests("@scope/pkg")) == 1
    assert [r.path for r in registry.tarball_requests("c")] == [
        "/c/-/c-2.0.0.tgz",
        "/c/-/c-1.0.0.tgz",
    ]
    assert (
        registry.count("/a") == 1 and registry.count(lambda r: r.kind == "tarball") == 2
    )
    assert [r.when for r in registry.requests] == sorted(
        r.when for r in registry.requests
    )


def test_many_concurrent_keep_alive_connections(small_graph):
    registry = small_graph
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    with (
        httpx.Client(timeout=5.0, limits=limits) as client,
        ThreadPoolExecutor(32) as pool,
    ):
        paths = ["/a", "/b", "/c", "/tool", "/@scope%2fpkg"] * 40
        statuses = list(
            pool.map(lambda p: client.get(registry.url + p).status_code, paths)
        )
    assert statuses == [200] * len(paths)
    assert len(registry.requests) == len(paths)


def test_stop_drops_keep_alive_connections(client):
    registry = LoopbackRegistry().start()
    registry.add("foo", "1.0.0")
    assert client.get(f"{registry.url}/foo").status_code == 200
    registry.stop()
    with pytest.raises(httpx.TransportError):
        client.get(f"{registry.url}/foo")


def test_stop_releases_a_stalled_request():
    registry = LoopbackRegistry().start()
    registry.add("foo", "1.0.0")
    registry.fault("/foo", "stall")
    outcome: list[BaseException | int] = []

    def fetch() -> None:
        try:
            with httpx.Client(timeout=30) as client:
                outcome.append(client.get(f"{registry.url}/foo").status_code)
        except httpx.TransportError as error:
            outcome.append(error)

    thread = threading.Thread(target=fetch)
    thread.start()
    while not registry.requests:
        threading.Event().wait(0.01)
    registry.stop()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert isinstance(outcome[0], httpx.RemoteProtocolError)


def test_project_fixture_writes_package_json_and_npmrc(project, cache_dir: Path):
    root = project(
        {"name": "app", "dependencies": {"a": "^1.0.0"}},
        npmrc="registry=http://127.0.0.1:1/\n",
    )
    other = project({"name": "other"})
    assert json.loads((root / "package.json").read_text())["dependencies"] == {
        "a": "^1.0.0"
    }
    assert (root / ".npmrc").read_text() == "registry=http://127.0.0.1:1/\n"
    assert other != root and not (other / ".npmrc").exists()
    assert cache_dir.is_dir() and not any(cache_dir.iterdir())


def test_small_graph_needs_nesting_for_c(small_graph, client):
    a = client.get(f"{small_graph.url}/a/latest").json()
    b = client.get(f"{small_graph.url}/b/latest").json()
    c = client.get(f"{small_graph.url}/c").json()
    assert a["dependencies"]["c"] == "^2.0.0" and b["dependencies"]["c"] == "^1.0.0"
    assert c["dist-tags"]["latest"] == "2.0.0"
    assert client.get(f"{small_graph.url}/tool/1.0.0").json()["bin"] == {
        "tool": "cli.js"
    }
