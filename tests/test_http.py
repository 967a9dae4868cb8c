"""weir.core.registry.http against the loopback registry: retries, redirects, credentials, streaming, timings."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from loopback import LoopbackRegistry
from weir.core import events as ev
from weir.core.config import Config, Credential
from weir.core.errors import NetworkError
from weir.core.registry.http import Http, redirect_target

pytestmark = pytest.mark.anyio


def make_config(*, tokens: dict[str, str] | None = None, **settings: Any) -> Config:
    """A Config with tiny retry waits; ``tokens`` maps a base URL to its bearer token."""
    credentials = tuple(
        Credential(
            host=urlsplit(url).hostname or "",
            port=urlsplit(url).port,
            path="/",
            token=token,
            auth=None,
            username=None,
            password=None,
            source="test",
        )
        for url, token in (tokens or {}).items()
    )
    defaults: dict[str, Any] = {
        "fetch_retry_mintimeout": 1,
        "fetch_retry_maxtimeout": 5,
        "fetch_timeout": 5000,
        "maxsockets": 4,
        "cache": Path("/nonexistent"),
    }
    return Config(credentials=credentials, **{**defaults, **settings})


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def recorder() -> ev.Recorder:
    return ev.Recorder()


@pytest.fixture
async def http(recorder: ev.Recorder) -> Iterator[Http]:
    client = Http(make_config(), recorder)
    yield client
    await client.aclose()


class ListSink:
    def __init__(self, made: list[ListSink]) -> None:
        self.chunks: list[bytes] = []
        self.aborted = False
        made.append(self)

    def write(self, chunk: bytes) -> None:
        self.chunks.append(chunk)

    def abort(self) -> None:
        self.aborted = True

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)


async def test_get_returns_body_and_timings(registry: LoopbackRegistry, http: Http, recorder: ev.Recorder) -> None:
    registry.add("left-pad", "1.0.0")
    response = await http.get(registry.packument_url("left-pad"), headers={"accept": "application/json"}, job_id=7)
    assert response.status == 200
    assert b'"left-pad"' in response.body
    assert response.headers["content-type"] == "application/json"
    assert "etag" in response.headers
    started, finished = recorder.of(ev.RequestStarted), recorder.of(ev.RequestFinished)
    assert [(s.job_id, s.attempt) for s in started] == [(7, 1)]
    [done] = finished
    assert done.status == 200 and done.http_version == "HTTP/1.1" and done.error is None
    assert done.bytes > 0 and done.connect_ms > 0 and done.first_byte_ms > 0


async def test_404_and_304_are_answers_not_errors(registry: LoopbackRegistry, http: Http) -> None:
    registry.add("a", "1.0.0")
    assert (await http.get(registry.packument_url("missing"))).status == 404
    first = await http.get(registry.packument_url("a"))
    again = await http.get(registry.packument_url("a"), headers={"if-none-match": first.headers["etag"]})
    assert again.status == 304 and again.body == b""


async def test_500_then_success_is_retried(registry: LoopbackRegistry, http: Http, recorder: ev.Recorder) -> None:
    registry.add("a", "1.0.0")
    registry.fault("/a", "status", status=500, times=2)
    response = await http.get(registry.packument_url("a"))
    assert response.status == 200
    assert [r.attempt for r in recorder.of(ev.RequestRetried)] == [1, 2]
    assert [f.status for f in recorder.of(ev.RequestFinished)] == [500, 500, 200]
    assert len(registry.packument_requests("a")) == 3


async def test_500_forever_raises_one_network_error(registry: LoopbackRegistry, http: Http) -> None:
    registry.add("a", "1.0.0")
    registry.fault("/a", "status", status=503, times=None)
    with pytest.raises(NetworkError) as caught:
        await http.get(registry.packument_url("a"))
    message = str(caught.value)
    assert "3 attempt(s)" in message and "503" in message and "127.0.0.1" in message
    assert "--offline" in message
    assert len(registry.packument_requests("a")) == 3


@pytest.mark.parametrize("status", [401, 403, 404])
async def test_client_errors_are_not_retried(registry: LoopbackRegistry, http: Http, status: int) -> None:
    registry.add("a", "1.0.0")
    registry.fault("/a", "status", status=status, times=None)
    assert (await http.get(registry.packument_url("a"))).status == status
    assert len(registry.packument_requests("a")) == 1


async def test_429_waits_for_retry_after(registry: LoopbackRegistry, http: Http, recorder: ev.Recorder) -> None:
    registry.add("a", "1.0.0")
    registry.fault("/a", "status", status=429, retry_after=1)
    assert (await http.get(registry.packument_url("a"))).status == 200
    [retried] = recorder.of(ev.RequestRetried)
    assert retried.delay == 1.0 and "429" in retried.reason


async def test_truncated_body_is_retried(registry: LoopbackRegistry, http: Http, recorder: ev.Recorder) -> None:
    registry.add("a", "1.0.0")
    registry.fault("/a", "truncate")
    response = await http.get(registry.packument_url("a"), headers={"accept-encoding": "identity"})
    assert response.status == 200 and response.body.endswith(b"}")
    assert len(recorder.of(ev.RequestRetried)) == 1


async def test_connection_reset_is_retried(registry: LoopbackRegistry, http: Http) -> None:
    registry.add("a", "1.0.0")
    registry.fault("/a", "reset")
    assert (await http.get(registry.packument_url("a"))).status == 200


async def test_auth_goes_only_to_its_own_host(registry: LoopbackRegistry, registry2: LoopbackRegistry) -> None:
    registry.add("a", "1.0.0")
    registry2.add("b", "1.0.0")
    registry.require_auth("s3cret")
    client = Http(make_config(tokens={registry.url: "s3cret"}), ev.Reporter())
    try:
        assert (await client.get(registry.packument_url("a"))).status == 200
        assert (await client.get(registry2.packument_url("b"))).status == 200
    finally:
        await client.aclose()
    assert registry.packument_requests("a")[0].headers["authorization"] == "Bearer s3cret"
    assert "authorization" not in registry2.packument_requests("b")[0].headers


async def test_redirect_to_another_host_drops_authorization(
    registry: LoopbackRegistry, registry2: LoopbackRegistry
) -> None:
    registry2.add("a", "1.0.0")
    registry.fault("/a", "redirect", to=registry2.url)
    client = Http(make_config(tokens={registry.url: "s3cret"}), ev.Reporter())
    try:
        response = await client.get(registry.packument_url("a"), headers={"authorization": "Bearer caller"})
    finally:
        await client.aclose()
    assert response.status == 200 and response.url.startswith(registry2.url)
    assert registry.requests[0].headers["authorization"] == "Bearer s3cret"
    assert "authorization" not in registry2.packument_requests("a")[0].headers


async def test_redirect_loop_is_bounded(registry: LoopbackRegistry, http: Http) -> None:
    registry.fault("/a", "redirect", to=registry.url, times=None)
    with pytest.raises(NetworkError, match="more than 10 redirects"):
        await http.get(registry.packument_url("a"))
    assert len(registry.requests) == 11


def test_https_to_http_redirect_with_credentials_is_refused() -> None:
    with pytest.raises(NetworkError, match="https to http"):
        redirect_target("https://reg.example/a", "http://reg.example/a", carries_auth=True)
    assert redirect_target("https://reg.example/a", "http://reg.example/a", carries_auth=False) == "http://reg.example/a"
    assert redirect_target("https://reg.example/a/b", "/c", carries_auth=True) == "https://reg.example/c"


async def test_download_streams_into_a_sink(registry: LoopbackRegistry, http: Http, recorder: ev.Recorder) -> None:
    published = registry.add("a", "1.0.0")
    made: list[ListSink] = []
    count = await http.download(published.tarball_url, job_id=3, sink_factory=lambda: ListSink(made))
    [sink] = made
    assert sink.data == published.tarball and count == len(published.tarball) and not sink.aborted
    progress = recorder.of(ev.RequestProgress)
    assert progress[-1].bytes == len(published.tarball) and progress[-1].total == len(published.tarball)


async def test_download_short_body_gets_a_fresh_sink(registry: LoopbackRegistry, http: Http) -> None:
    published = registry.add("a", "1.0.0")
    registry.fault(lambda r: r.kind == "tarball", "truncate")
    made: list[ListSink] = []
    await http.download(published.tarball_url, sink_factory=lambda: ListSink(made))
    assert [s.aborted for s in made] == [True, False]
    assert made[1].data == published.tarball


async def test_download_never_passes_more_than_content_length(registry: LoopbackRegistry, http: Http) -> None:
    published = registry.add("a", "1.0.0")
    registry.fault(lambda r: r.kind == "tarball", "overlong")
    made: list[ListSink] = []
    await http.download(published.tarball_url, sink_factory=lambda: ListSink(made))
    # Extra bytes are rejected (then retried) when they arrive with the body; when they
    # arrive after it, the transport never reads them. Either way no sink gets them.
    assert [s.aborted for s in made] in ([False], [True, False])
    assert made[-1].data == published.tarball


async def test_download_of_a_missing_tarball_fails(registry: LoopbackRegistry, http: Http) -> None:
    made: list[ListSink] = []
    with pytest.raises(NetworkError, match="404"):
        await http.download(f"{registry.url}/a/-/a-1.0.0.tgz", sink_factory=lambda: ListSink(made))
    assert [s.aborted for s in made] == [True]


async def test_download_decodes_an_extra_gzip_layer(registry: LoopbackRegistry, http: Http) -> None:
    published = registry.add("a", "1.0.0")
    registry.fault(lambda r: r.kind == "tarball", "gzip_tarball")
    made: list[ListSink] = []
    await http.download(published.tarball_url, sink_factory=lambda: ListSink(made))
    assert made[0].data == published.tarball
    assert gzip.decompress(made[0].data)  # still the .tgz itself


async def test_urls_in_events_are_redacted(registry: LoopbackRegistry, recorder: ev.Recorder) -> None:
    client = Http(make_config(tokens={"http://nowhere.invalid": "tok123"}), recorder)
    try:
        await client.get(f"{registry.url}/a?token=tok123")
    finally:
        await client.aclose()
    assert all("tok123" not in e.url for e in recorder.of(ev.RequestStarted) + recorder.of(ev.RequestFinished))


async def test_gzip_trailer_arriving_alone_is_not_a_short_body(http: Http, recorder: ev.Recorder) -> None:
    """The last 8 bytes of a gzip body (its trailer) decode to nothing: a body whose
    trailer came in a packet of its own was once counted short and retried."""
    import socket
    import threading
    import time as _time

    document = b'{"name": "x", "versions": {}}' * 50
    body = gzip.compress(document)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            conn.sendall(head.encode() + body[:-8])
            _time.sleep(0.1)
            conn.sendall(body[-8:])

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    try:
        response = await http.get(f"http://127.0.0.1:{port}/x")
    finally:
        server.join(5)
        listener.close()
    assert response.status == 200
    assert response.body == document
    assert not recorder.of(ev.RequestRetried)
