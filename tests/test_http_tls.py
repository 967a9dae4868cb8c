"""The system CAs load when the first https URL is asked for, not when weir.core.http is imported.

Each check runs in a fresh interpreter: the deferral happens at aiohttp's import, once per process.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

_PROBE = textwrap.dedent(
    """
    import socket
    from pathlib import Path

    import anyio

    from weir.core import events as ev
    from weir.core.config import Config
    from weir.core.errors import NetworkError
    from weir.core.http import Http
    from aiohttp import connector

    def cas() -> int:
        return connector._SSL_CONTEXT_VERIFIED.cert_store_stats()["x509_ca"]

    with socket.socket() as s:  # a loopback port nobody listens on: the request fails fast
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def main(url: str) -> None:
        http = Http(Config(cache=Path("/nonexistent"), fetch_retries=0, fetch_timeout=2000), ev.Reporter())
        try:
            await http.get(url)
        except NetworkError:
            pass
        finally:
            await http.aclose()

    print(cas())
    anyio.run(main, f"http://127.0.0.1:{port}/x")
    print(cas())
    anyio.run(main, f"HTTPS://127.0.0.1:{port}/x")
    print(cas())
    """
)


def test_cas_load_on_the_first_https_request_only() -> None:
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    before, after_http, after_https = (int(n) for n in out.stdout.split())
    assert before == after_http == 0  # an http:// registry never parses the CA bundle
    assert after_https > 0  # an https one verifies against the system's CAs, as before
