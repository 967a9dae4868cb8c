"""weir through a real private registry: Verdaccio 6 with htpasswd auth and no uplink.

Marked ``network``: installing Verdaccio (once per run, into tests/.node-cache)
needs the public npm registry. Everything else talks to 127.0.0.1 only. The
packages are published with the real ``npm publish`` and a token from the
registry's adduser API; ``@private/*`` is readable only with a token.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from loopback import LoopbackRegistry

pytestmark = pytest.mark.network

PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def token(verdaccio: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A user's token, and the packages the tests install, published once."""
    token = str(verdaccio.add_user("alice", PASSWORD))
    work = tmp_path_factory.mktemp("publish")
    verdaccio.publish(token, work / "util", {"name": "@private/util", "version": "1.0.0", "main": "index.js"})
    for version in ("1.0.0", "1.1.0"):
        verdaccio.publish(token, work / f"lib-{version}", {
            "name": "@private/lib", "version": version, "main": "index.js",
            "dependencies": {"@private/util": "1.0.0"},
        })  # fmt: skip
    verdaccio.publish(token, work / "pub", {"name": "pub", "version": "1.0.0", "main": "index.js"})
    return token


def weir(project: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")}
    env.update(CI="true", npm_config_userconfig=os.devnull)  # the project's .npmrc only, not ~/.npmrc
    cmd = [sys.executable, "-m", "weir.tui.cli.main", *args, "--cache", str(cache), "-C", str(project)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)


def require(project: Path, name: str) -> str:
    out = subprocess.run(["node", "-e", f"process.stdout.write(String(require({name!r})))"], cwd=project,
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stderr
    return out.stdout


def lock_packages(project: Path) -> dict[str, Any]:
    return json.loads((project / "package-lock.json").read_text())["packages"]


def test_scoped_registry_and_token_from_the_project_npmrc(
    verdaccio: Any, token: str, registry: LoopbackRegistry, project: Callable[..., Path], cache_dir: Path
) -> None:
    """@private comes from Verdaccio with the token; the rest from the default registry, which never sees it."""
    registry.add("other", "1.0.0")
    npmrc = f"registry={registry.url}/\n@private:registry={verdaccio.url}\n" + verdaccio.npmrc_line(token)
    root = project({"name": "app", "version": "1.0.0", "dependencies": {"@private/lib": "^1.0.0", "other": "1.0.0"}}, npmrc=npmrc)
    out = weir(root, cache_dir, "install")
    assert out.returncode == 0, out.stderr
    assert require(root, "@private/lib") == "@private/lib@1.1.0"
    packages = lock_packages(root)
    assert packages["node_modules/@private/lib"]["resolved"] == f"{verdaccio.url}@private/lib/-/lib-1.1.0.tgz"
    assert packages["node_modules/@private/util"]["resolved"] == f"{verdaccio.url}@private/util/-/util-1.0.0.tgz"
    assert packages["node_modules/other"]["resolved"].startswith(registry.url)
    assert registry.requests and not any("authorization" in {k.lower() for k in r.headers} for r in registry.requests)

    manifest = json.loads((root / "package.json").read_text())
    anonymous = project(manifest, npmrc=f"registry={registry.url}/\n@private:registry={verdaccio.url}\n")
    refused = weir(anonymous, cache_dir.parent / "cold-cache", "install")
    assert refused.returncode == 5, refused.stderr
    assert "@private/lib" in refused.stderr and "401" in refused.stderr
    assert token not in refused.stderr


def test_prefer_online_revalidates_with_verdaccios_etag(
    verdaccio: Any, token: str, project: Callable[..., Path], cache_dir: Path
) -> None:
    """Verdaccio sends a strong ETag on packuments and answers If-None-Match with 304: weir revalidates."""
    npmrc = f"registry={verdaccio.url}\n" + verdaccio.npmrc_line(token)
    root = project({"name": "app", "version": "1.0.0", "dependencies": {"@private/lib": "1.1.0", "pub": "1.0.0"}}, npmrc=npmrc)
    assert weir(root, cache_dir, "install").returncode == 0
    shutil.rmtree(root / "node_modules")
    (root / "package-lock.json").unlink()
    out = weir(root, cache_dir, "install", "--prefer-online", "--reporter", "ndjson")
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    answers = {
        e["url"].removeprefix(verdaccio.url): e["status"]
        for e in events
        if e.get("type") == "RequestFinished" and not e["url"].endswith(".tgz")
    }
    assert answers == {"@private%2flib": 304, "@private%2futil": 304, "pub": 304}
    statuses = {e["package"]: e["cache_status"] for e in events if e.get("type") == "JobFinished" and e["kind"] == "manifest"}
    assert statuses == {"@private/lib": "revalidated", "@private/util": "revalidated", "pub": "revalidated"}


def test_doctor_against_verdaccio(verdaccio: Any, token: str, project: Callable[..., Path], cache_dir: Path) -> None:
    npmrc = f"registry={verdaccio.url}\n" + verdaccio.npmrc_line(token)
    root = project({"name": "app", "version": "1.0.0"}, npmrc=npmrc)
    out = weir(root, cache_dir, "doctor", "--package", "@private/lib", "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    (probe,) = json.loads(out.stdout)
    assert probe["registry"] == verdaccio.url and probe["reachable"] and not probe["failed"]
    assert probe["full"]["status"] == 200 and probe["tarball"]["status"] == 200
    assert probe["etag"] is True and probe["conditional_status"] == 304
    assert token not in out.stdout
    text = weir(root, cache_dir, "doctor", "--package", "@private/lib")
    assert text.returncode == 0 and verdaccio.url.rstrip("/") in text.stdout


def test_npm_ci_accepts_weirs_lockfile_resolved_at_verdaccio(
    verdaccio: Any, token: str, project: Callable[..., Path], cache_dir: Path, tmp_path: Path
) -> None:
    npmrc = f"registry={verdaccio.url}\n" + verdaccio.npmrc_line(token)
    manifest = {"name": "app", "version": "1.0.0", "dependencies": {"@private/lib": "^1.0.0", "pub": "^1.0.0"}}
    by_weir = project(manifest, npmrc=npmrc)
    assert weir(by_weir, cache_dir, "install", "--lockfile-only").returncode == 0
    for path, entry in lock_packages(by_weir).items():
        assert not path or entry["resolved"].startswith(verdaccio.url), path
    by_npm = project(manifest, npmrc=npmrc)
    shutil.copy(by_weir / "package-lock.json", by_npm / "package-lock.json")
    userconfig = tmp_path / "empty-npmrc"
    userconfig.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")}
    out = subprocess.run(
        ["npm", "ci", "--userconfig", str(userconfig), "--cache", str(tmp_path / "npm-cache"), "--no-audit", "--no-fund"],
        cwd=by_npm, capture_output=True, text=True, env=env, timeout=180,
    )
    assert out.returncode == 0, out.stderr
    assert require(by_npm, "@private/lib") == "@private/lib@1.1.0"
    assert (by_npm / "package-lock.json").read_bytes() == (by_weir / "package-lock.json").read_bytes()
