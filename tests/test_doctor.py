"""`weir doctor` against the loopback registry: verdicts in words, exit codes, no secrets,
and the Network screen's `d` panel."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from loopback import LoopbackRegistry
from textual.widgets import Static
from weir.core.config import load_config
from weir.core.registry.doctor import Connection, Parallel, ProbeResult, Transfer, judge, probe_all
from weir.core.errors import EXIT_NETWORK, EXIT_OK, EXIT_RESOLVE
from weir.tui.app.app import WeirApp
from weir.tui.cli.main import main
from weir.tui.app.replay import load_trace
from weir.tui.app.screens.network_doctor import DoctorScreen
from weir.tui.app.screenshots import model_until

TRACE = Path(__file__).parent / "fixtures" / "traces" / "install.ndjson"
TOKEN = "npm_doctorSecretToken1234567890"
SECTIONS = ("DNS", "TCP connect", "TLS", "HTTP", "packument", "first byte", "abbreviated", "caching",
            "compression", "tarball", "parallel", "between", "verdict")
MEASURED = SECTIONS[:-1]


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No developer ~/.npmrc or npm_config_* variable may steer the probe."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PREFIX", str(home))
    for name in [n for n in os.environ if n.lower().startswith("npm_config_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def served(registry: LoopbackRegistry) -> LoopbackRegistry:
    registry.add("is-number", "7.0.0")
    return registry


def doctor(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["doctor", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def verdicts_under(out: str, section: str) -> list[str]:
    """The verdict lines printed under one measured line of the report."""
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(f"  {section}"))
    below = []
    for line in lines[at + 1:]:
        if not line.startswith("    "):
            break
        below.append(line.strip())
    return below


def test_a_well_behaved_registry_revalidates_and_honours_abbreviated_documents(
    served: LoopbackRegistry, project: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = project({"name": "app"})
    code, out, _ = doctor(capsys, "-C", str(root), "--registry", served.url)
    assert code == EXIT_OK
    assert "revalidates (304)" in out
    assert "abbreviated documents honoured" in out
    assert "BAD" not in out
    for section in SECTIONS:
        assert f"  {section}" in out, section
    for section in MEASURED:  # every measured line says what it means
        assert verdicts_under(out, section), section
    assert "nothing measured here slows installs down" in out
    assert any(r.headers.get("if-none-match") for r in served.packument_requests("is-number"))


def test_a_stripping_proxy_is_told_to_use_prefer_offline(
    served: LoopbackRegistry, project: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    served.cache_control = None
    served.send_etag = False
    served.send_last_modified = False
    code, out, _ = doctor(capsys, "-C", str(project({"name": "app"})), "--registry", served.url)
    assert code == EXIT_OK
    verdict = next(line for line in out.splitlines() if "never revalidates" in line)
    assert "--prefer-offline" in verdict
    assert "no Cache-Control" in out
    assert "revalidates (304)" not in out


def test_headers_stripped_behind_a_proxy_blame_the_proxy_not_the_registry(
    served: LoopbackRegistry, project: Callable[..., Path], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The issue's machines: a proxy strips ETag, Last-Modified, Cache-Control and ignores Accept."""
    served.cache_control = None
    served.send_etag = False
    served.send_last_modified = False
    served.abbreviated = False
    served.extra_headers = {"Via": "1.1 corp-squid"}
    monkeypatch.setenv("HTTP_PROXY", served.url)  # the loopback is its own forward proxy
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    code, out, _ = doctor(capsys, "-C", str(project({"name": "app"})), "--registry", served.url)
    assert code == EXIT_OK
    assert served.count(lambda r: r.target.startswith("/is-number")) > 0
    between = verdicts_under(out, "between")
    assert len(between) == 1 and between[0].startswith(
        "BAD  something between you and the registry removes ETag, Last-Modified, Cache-Control and the "
        "abbreviated Accept header: a proxy variable sends these requests to http://127.0.0.1:"
    )
    assert "the answers carry Via: 1.1 corp-squid" in between[0]
    assert "configure that proxy to pass ETag, Last-Modified, Cache-Control and Accept through" in between[0]
    assert "prefer-offline" in between[0]
    assert "this registry never revalidates" not in out and "abbreviated documents are ignored" not in out
    assert verdicts_under(out, "caching")[0].startswith("BAD  metadata never revalidates: no ETag or Last-Modified "
                                                        "arrives (removed on the way, see between)")


def test_npmjs_without_its_headers_at_a_private_address_is_a_middlebox() -> None:
    """registry.npmjs.org always sends ETag and Cache-Control: their absence, and its name resolving off the
    public internet, say that something answers in its place."""
    transfer = Transfer(url="https://registry.npmjs.org/is-number", status=200, http_version="HTTP/2",
                        first_byte_ms=7.0, body_ms=1.0, wire_bytes=19_537, size=19_537,
                        content_type="application/json", content_encoding="")
    result = judge(ProbeResult(
        registry="https://registry.npmjs.org/", scopes=("",), package="is-number",
        connection=Connection(address="203.0.113.80:443", dns_ms=5.0, connect_ms=2.0, tls_ms=80.0, alpn="h2"),
        full=transfer, abbreviated=transfer, tarball=transfer,
    ))
    texts = {v.topic: v for v in result.verdicts}
    between = texts["between"]
    assert between.level == "bad"
    assert "registry.npmjs.org resolved to 203.0.113.80, an address off the public internet" in between.text
    assert "registry.npmjs.org itself always sends ETag, Last-Modified and Cache-Control" in between.text
    assert any("never revalidates: no ETag or Last-Modified arrives (removed on the way" in v.text
               for v in result.verdicts if v.topic == "caching")
    assert not any("this registry never revalidates" in v.text for v in result.verdicts)
    # the same answers from a registry nothing is known about, at a public address: the registry is blamed
    plain = judge(ProbeResult(
        registry="https://npm.example.com/", scopes=("",), package="is-number",
        connection=Connection(address="93.184.216.34:443", dns_ms=5.0, connect_ms=2.0, tls_ms=80.0, alpn="h2"),
        full=transfer, abbreviated=transfer, tarball=transfer,
    ))
    assert any(v.text.startswith("this registry never revalidates") for v in plain.verdicts)
    assert next(v for v in plain.verdicts if v.topic == "between").level == "ok"


def test_http_1_1_only_behind_tls_is_a_warning_that_says_what_it_costs() -> None:
    transfer = Transfer(url="https://npm.example.com/x", status=200, http_version="HTTP/1.1", first_byte_ms=7.0,
                        body_ms=1.0, wire_bytes=1000, size=4000, content_type="application/json",
                        content_encoding="gzip")
    result = judge(ProbeResult(
        registry="https://npm.example.com/", scopes=("",), package="x",
        connection=Connection(address="93.184.216.34:443", dns_ms=5.0, connect_ms=2.0, tls_ms=80.0,
                              alpn="http/1.1"),
        full=transfer, abbreviated=transfer, tarball=transfer, etag=True, conditional_status=304,
    ))
    http = next(v for v in result.verdicts if v.topic == "http")
    assert http.level == "warn"
    assert http.text.startswith("HTTP/1.1 only: the server, or a proxy ending TLS on the way, refused HTTP/2")
    assert "each request in flight needs a connection of its own" in http.text


def test_the_loopback_s_http_1_1_says_what_it_means(
    served: LoopbackRegistry, project: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = doctor(capsys, "-C", str(project({"name": "app"})), "--registry", served.url)
    assert verdicts_under(out, "HTTP") == [
        "ok   HTTP/1.1 (plain http offers no HTTP/2): each request in flight needs a connection of its own, "
        "up to maxsockets at once"
    ]


def test_a_registry_that_ignores_abbreviated_requests_is_named(
    served: LoopbackRegistry, project: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    served.abbreviated = False
    code, out, _ = doctor(capsys, "-C", str(project({"name": "app"})), "--registry", served.url)
    assert code == EXIT_OK
    (line,) = verdicts_under(out, "abbreviated")
    assert line.startswith("BAD  abbreviated documents are ignored: packuments arrive whole")
    assert verdicts_under(out, "between")[0].startswith("ok   nothing between weir and the registry shows itself")


def test_a_connection_that_serialises_requests_is_called_limited(
    served: LoopbackRegistry, project: Callable[..., Path]
) -> None:
    served.serial = True
    served.fault("/is-number", "delay", seconds=0.06, times=None)
    config = load_config(project({"name": "app"}), cli={"registry": served.url})
    (result,) = asyncio.run(probe_all(config, parallel=4))
    (parallel,) = [v for v in result.verdicts if v.topic == "parallel"]
    assert parallel.level == "warn"
    assert parallel.text.startswith("concurrency barely helps (4 at once ")
    assert "the connection is limited" in parallel.text


def test_parallel_fetches_that_pay_off_say_so(served: LoopbackRegistry, project: Callable[..., Path]) -> None:
    served.fault("/is-number", "delay", seconds=0.06, times=None)
    config = load_config(project({"name": "app"}), cli={"registry": served.url})
    (result,) = asyncio.run(probe_all(config, parallel=4))
    (parallel,) = [v for v in result.verdicts if v.topic == "parallel"]
    assert parallel.level == "ok" and parallel.text.startswith("concurrency helps ")


def test_an_unknown_package_fails_the_probe_with_exit_4(
    served: LoopbackRegistry, project: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = doctor(capsys, "-C", str(project({"name": "app"})), "--registry", served.url,
                            "--package", "no-such-pkg")
    assert code == EXIT_RESOLVE
    assert f"BAD  {served.url}/ answered 404 for no-such-pkg: it has no package of that name" in out
    assert f"{served.url}/ has no package no-such-pkg (404); pass --package NAME" in err
    assert served.count(lambda r: r.target == "/no-such-pkg") == 1  # nothing more is probed on a refused package


def test_a_refused_packument_exits_5(
    served: LoopbackRegistry, project: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    served.fault("/is-number", "status", status=503)
    code, out, err = doctor(capsys, "-C", str(project({"name": "app"})), "--registry", served.url)
    assert code == EXIT_NETWORK
    assert "answered 503 for is-number" in out and "answered 503 for is-number" in err


def test_a_slow_first_byte_is_blamed_on_the_registry_it_names(
    served: LoopbackRegistry, project: Callable[..., Path]
) -> None:
    served.fault("/is-number", "delay", seconds=0.6, times=None)
    config = load_config(project({"name": "app"}), cli={"registry": served.url})
    (result,) = asyncio.run(probe_all(config, parallel=2))
    slow = [v for v in result.verdicts if v.text.startswith("first byte takes")]
    assert len(slow) == 1 and slow[0].level == "bad"
    assert f"{served.url}/" in slow[0].text
    assert "the registry is slow, not your network" in slow[0].text


def test_an_unreachable_registry_exits_5_with_a_clear_message(
    project: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed when the block ends: nothing listens there
    url = f"http://127.0.0.1:{port}/"
    code, out, err = doctor(capsys, "-C", str(project({"name": "app"})), "--registry", url)
    assert code == EXIT_NETWORK
    assert f"{url} could not be reached" in out
    assert "connection refused" in out
    assert f"could not reach {url}" in err


@pytest.mark.parametrize("as_json", [False, True])
def test_tokens_never_appear_and_every_scoped_registry_is_probed(
    as_json: bool,
    served: LoopbackRegistry,
    registry2: LoopbackRegistry,
    project: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    registry2.add("is-number", "7.0.0")
    served.require_auth(TOKEN)
    npmrc = (f"registry={served.url}/\n//127.0.0.1:{served.port}/:_authToken={TOKEN}\n"
             f"@corp:registry={registry2.url}/\n")
    root = project({"name": "app"}, npmrc=npmrc)
    code, out, err = doctor(capsys, "-C", str(root), *(["--json"] if as_json else []))
    assert code == EXIT_OK  # the token was sent: without it the loopback answers 401
    assert TOKEN not in out and TOKEN not in err
    if as_json:
        results = json.loads(out)
        assert [(r["registry"], r["scopes"]) for r in results] == [
            (f"{served.url}/", [""]), (f"{registry2.url}/", ["@corp"]),
        ]
        assert all(r["reachable"] and r["conditional_status"] == 304 for r in results)
    else:
        assert f"registry {served.url}/ (default)" in out
        assert f"registry {registry2.url}/ (@corp)" in out
    assert registry2.count(lambda r: "authorization" in r.headers) == 0


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # Textual runs on asyncio
async def test_d_on_the_network_screen_shows_the_doctor_report(
    anyio_backend: str, served: LoopbackRegistry, project: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project({"name": "app"}, npmrc=f"registry={served.url}/\n"))
    app = WeirApp(model_until(load_trace(TRACE)), mode="network")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, DoctorScreen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        report = str(app.screen.query_one("#report", Static).content)
        assert f"registry {served.url}/ (default)" in report
        assert "revalidates (304)" in report
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, DoctorScreen)


@pytest.mark.network
def test_the_public_registry_report_has_every_section(
    project: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = doctor(capsys, "-C", str(project({"name": "app"})))
    assert code == EXIT_OK
    assert "registry https://registry.npmjs.org/ (default)" in out
    for section in SECTIONS:
        assert f"  {section}" in out, section
    assert "is-number-" in out and ".tgz" in out
    # registry.npmjs.org sends ETag and Cache-Control and honours abbreviated requests: when they are
    # missing (as behind this project's machines' mirror), the report blames what sits between, never npmjs
    assert "this registry never revalidates" not in out and "abbreviated documents are ignored" not in out
    for section in MEASURED:
        assert verdicts_under(out, section), section
