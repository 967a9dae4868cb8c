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
from weir.core.doctor import probe_all
from weir.core.errors import EXIT_NETWORK, EXIT_OK
from weir.tui.app import WeirApp
from weir.tui.cli import main
from weir.tui.replay import load_trace
from weir.tui.screens.network_doctor import DoctorScreen
from weir.tui.screenshots import model_until

TRACE = Path(__file__).parent / "fixtures" / "traces" / "install.ndjson"
TOKEN = "npm_doctorSecretToken1234567890"
SECTIONS = ("DNS", "TCP connect", "TLS", "HTTP", "packument", "abbreviated", "caching", "compression",
            "tarball", "parallel", "verdict")


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
