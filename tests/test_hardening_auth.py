"""Credentials through `weir install`, end to end (SECURITY.md, "Auth and config").

A token goes only to the host (and port and path) it was configured for, and
never appears in anything weir prints or records: stderr, the ndjson stream,
the --trace file, error messages.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hardening_helpers import (
    Sandbox,
    State,
    assert_failed,
    cache_problems,
    publish_base,
)
from loopback import LoopbackRegistry

TOKEN = "s3cr3t-T0KEN-hardening-0123456789"


def _box(registry: LoopbackRegistry, tmp_path: Path, npmrc: str, deps: dict[str, str] | None = None) -> Sandbox:
    box = Sandbox(tmp_path, registry)
    box.write_project({"name": "app", "version": "1.0.0", "dependencies": deps or {"base": "1.0.0"}}, npmrc)
    box.mark_outside()
    return box


def _no_secret(box: Sandbox, *texts: str, secret: str = TOKEN) -> None:
    for text in texts:
        assert secret not in text
    for p in box.root.rglob("*"):
        if p.is_file() and p.name != ".npmrc":
            assert secret.encode() not in p.read_bytes(), f"{secret} written to {p}"


def test_token_from_env_var_is_used(registry: LoopbackRegistry, tmp_path: Path) -> None:
    publish_base(registry)
    registry.require_auth(TOKEN)
    box = _box(registry, tmp_path, f"//127.0.0.1:{registry.port}/:_authToken=${{NPM_TOKEN}}\n")
    trace = tmp_path / "project/trace.ndjson"
    out = box.weir("install", "--reporter", "ndjson", "--trace", str(trace), env={"NPM_TOKEN": TOKEN})
    assert out.returncode == 0, out.stderr
    assert all(r.headers.get("authorization") == f"Bearer {TOKEN}" for r in registry.requests)
    _no_secret(box, out.stdout, out.stderr, trace.read_text())
    box.assert_outside_untouched()


def test_unset_token_var_fails_clearly_and_is_not_retried(registry: LoopbackRegistry, tmp_path: Path) -> None:
    publish_base(registry)
    registry.require_auth(TOKEN)
    box = _box(registry, tmp_path, f"//127.0.0.1:{registry.port}/:_authToken=${{NPM_TOKEN}}\n")
    out = box.weir("install")
    assert_failed(out, 5, "base", "401")
    assert len(registry.requests) == 1
    assert not (box.project / "package-lock.json").exists() and not (box.project / "node_modules").exists()
    box.assert_outside_untouched()
    assert not cache_problems(box.cache)


def test_token_never_reaches_a_tarball_on_another_host(
    registry: LoopbackRegistry, registry2: LoopbackRegistry, tmp_path: Path
) -> None:
    registry2.add("base", "1.0.0", bin={"base": "cli.js"})  # same bytes, same integrity
    registry.add("base", "1.0.0", bin={"base": "cli.js"}, extra_manifest={"dist": {"tarball": f"{registry2.url}/base/-/base-1.0.0.tgz"}})
    registry.require_auth(TOKEN)
    npmrc = f"//127.0.0.1:{registry.port}/:_authToken={TOKEN}\n@scope:registry={registry.url}/\n"
    box = _box(registry, tmp_path, npmrc)
    trace = tmp_path / "project/trace.ndjson"
    out = box.weir("install", "--reporter", "ndjson", "--trace", str(trace))
    assert out.returncode == 0, out.stderr
    (tarball,) = registry2.requests
    assert "authorization" not in tarball.headers
    _no_secret(box, out.stdout, out.stderr, trace.read_text())


def test_path_specific_token_stays_under_its_path(registry: LoopbackRegistry, tmp_path: Path) -> None:
    publish_base(registry)
    box = _box(registry, tmp_path, f"//127.0.0.1:{registry.port}/private/:_authToken={TOKEN}\n")
    out = box.weir("install")
    assert out.returncode == 0, out.stderr
    assert registry.requests and not any("authorization" in r.headers for r in registry.requests)


def test_redirect_to_another_host_drops_authorization(
    registry: LoopbackRegistry, registry2: LoopbackRegistry, tmp_path: Path
) -> None:
    publish_base(registry)
    publish_base(registry2)
    registry.fault(lambda r: r.kind == "tarball", "redirect", to=registry2.url, times=None)
    box = _box(registry, tmp_path, f"//127.0.0.1:{registry.port}/:_authToken={TOKEN}\n")
    out = box.weir("install")
    assert out.returncode == 0, out.stderr
    assert registry.requests[0].headers.get("authorization") == f"Bearer {TOKEN}"
    assert registry2.requests and not any("authorization" in r.headers for r in registry2.requests)


def test_secrets_are_redacted_in_errors_events_and_traces(registry: LoopbackRegistry, tmp_path: Path) -> None:
    """A failing run with a token and with URL credentials: no output carries either secret."""
    publish_base(registry)
    registry.require_auth("some-other-token")
    box = _box(registry, tmp_path, f"//127.0.0.1:{registry.port}/:_authToken={TOKEN}\n")
    before = State.of(box.project)
    trace = tmp_path / "project/trace.ndjson"
    url = f"http://user:{TOKEN}-url@127.0.0.1:{registry.port}/"
    for reporter in ("plain", "ndjson"):
        out = box.weir("install", "--reporter", reporter, "--trace", str(trace), "--registry", url, registry=False)
        assert_failed(out, 5, "base")
        _no_secret(box, out.stdout, out.stderr, trace.read_text())
        _no_secret(box, out.stdout, out.stderr, trace.read_text(), secret=f"{TOKEN}-url")
    assert State.of(box.project) == before
    box.assert_outside_untouched()


def test_url_credentials_go_as_basic_auth_not_in_the_url(registry: LoopbackRegistry, tmp_path: Path) -> None:
    publish_base(registry)
    box = _box(registry, tmp_path, "")
    out = box.weir("install", "--registry", f"http://user:{TOKEN}@127.0.0.1:{registry.port}/", registry=False)
    assert out.returncode == 0, out.stderr
    packument = registry.requests[0]
    assert packument.headers["authorization"].startswith("Basic ") and TOKEN not in packument.target
    _no_secret(box, out.stdout, out.stderr)


@pytest.mark.parametrize("command", [("install",), ("install", "--reporter", "ndjson"), ("ci",), ("why", "base"), ("outdated",)])
def test_a_broken_npmrc_still_hides_the_token_written_in_it(registry: LoopbackRegistry, tmp_path: Path, command: tuple[str, ...]) -> None:
    """The .npmrc cannot be loaded (a token pasted as the registry), so the error quotes the
    bad line; the token it carries is hidden all the same, as is every credential in the file."""
    box = _box(registry, tmp_path, f"//reg.example/:_authToken={TOKEN}\nregistry=//reg.example/:_authToken={TOKEN}\n")
    out = box.weir(*command, registry=False)
    assert_failed(out, 3, "registry", ".npmrc")
    assert "_authToken=***" in out.stderr
    _no_secret(box, out.stdout, out.stderr)
    box.assert_outside_untouched()
