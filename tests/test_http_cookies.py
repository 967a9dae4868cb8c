"""A registry's Set-Cookie is not sent back: npm's fetch keeps no cookies, and neither does weir."""

from __future__ import annotations

import socket
import threading

import pytest
from test_http import make_config
from weir.core import events as ev
from weir.core.registry.http import Http

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_cookie_set_by_the_registry_is_not_sent_back() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    requests: list[bytes] = []

    def serve() -> None:
        for _ in range(2):
            conn, _ = listener.accept()
            with conn:
                requests.append(conn.recv(65536))
                body = b"{}"
                head = (
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    "Set-Cookie: session=abc123; Path=/\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
                )
                conn.sendall(head.encode() + body)

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    http = Http(make_config(), ev.Recorder())
    try:
        first = await http.get(f"http://127.0.0.1:{port}/a")
        second = await http.get(f"http://127.0.0.1:{port}/b")
    finally:
        await http.aclose()
        server.join(5)
        listener.close()
    assert (first.status, second.status) == (200, 200)
    assert len(requests) == 2
    assert b"session=abc123" not in requests[1].lower()
    assert b"\r\ncookie:" not in requests[1].lower()
