"""A real private registry for the suite: Verdaccio 6, installed with npm into tests/.node-cache.

``install_verdaccio`` runs ``npm install verdaccio@6`` there once (later runs
reuse it); ``Verdaccio`` starts it on 127.0.0.1 on a free port with its own
config (no uplink: it serves only what the test publishes; htpasswd auth;
``@private/*`` readable only by a logged-in user), creates users through the
registry's own adduser API (``PUT /-/user/org.couchdb.user:NAME``, which
answers a bearer token) and publishes with the real ``npm publish``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any, Self

NODE_CACHE = Path(__file__).parent / ".node-cache"
VERDACCIO_SPEC = "verdaccio@6"

CONFIG = """\
storage: {storage}
auth:
  htpasswd:
    file: {htpasswd}
    max_users: 100
uplinks: {{}}
packages:
  '@private/*':
    access: $authenticated
    publish: $authenticated
  '**':
    access: $all
    publish: $authenticated
log: {{ type: stdout, format: pretty, level: warn }}
"""


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")}


def install_verdaccio() -> Path:
    """Verdaccio's entry script, installing it into tests/.node-cache first if it is not there."""
    entry = NODE_CACHE / "node_modules" / "verdaccio" / "bin" / "verdaccio"
    if not entry.is_file():
        NODE_CACHE.mkdir(exist_ok=True)
        out = subprocess.run(
            ["npm", "install", "--prefix", str(NODE_CACHE), VERDACCIO_SPEC, "--no-save", "--no-package-lock",
             "--no-audit", "--no-fund", "--loglevel=error"],  # fmt: skip
            capture_output=True, text=True, env=clean_env(), timeout=300,
        )
        if out.returncode != 0 or not entry.is_file():
            raise RuntimeError(f"npm install {VERDACCIO_SPEC} failed:\n{out.stderr[-2000:]}")
    return entry


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Verdaccio:
    """One running Verdaccio; ``url`` ends with a slash, as npm writes registry URLs."""

    def __init__(self, entry: Path, home: Path) -> None:
        self.entry = entry
        self.home = home
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}/"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Self:
        self.home.mkdir(parents=True, exist_ok=True)
        config = self.home / "config.yaml"
        config.write_text(CONFIG.format(storage=self.home / "storage", htpasswd=self.home / "htpasswd"))
        log = (self.home / "verdaccio.log").open("wb")
        self.process = subprocess.Popen(
            ["node", str(self.entry), "--config", str(config), "--listen", self.host],
            stdout=log, stderr=subprocess.STDOUT, env=clean_env(), cwd=self.home,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"verdaccio exited: {(self.home / 'verdaccio.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "-/ping", timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("verdaccio did not answer /-/ping within 60 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def add_user(self, name: str, password: str) -> str:
        """Create ``name`` through the registry's adduser API; the bearer token it answers."""
        body = json.dumps({"name": name, "password": password, "type": "user", "roles": []}).encode()
        request = urllib.request.Request(
            f"{self.url}-/user/org.couchdb.user:{name}", data=body, method="PUT",
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return str(json.loads(answer.read())["token"])

    def npmrc_line(self, token: str) -> str:
        return f"//{self.host}/:_authToken={token}\n"

    def publish(self, token: str, folder: Path, manifest: dict[str, Any], files: dict[str, str] | None = None) -> None:
        """``npm publish`` a package made of ``manifest`` and ``files`` (default: an index.js)."""
        folder.mkdir(parents=True)
        (folder / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
        for name, text in (files or {"index.js": f"module.exports = {manifest['name'] + '@' + manifest['version']!r};\n"}).items():
            (folder / name).write_text(text)
        userconfig = folder.parent / f"{folder.name}.npmrc"
        userconfig.write_text(self.npmrc_line(token))
        out = subprocess.run(
            ["npm", "publish", "--registry", self.url, "--userconfig", str(userconfig), "--loglevel=error"],
            cwd=folder, capture_output=True, text=True, env=clean_env(), timeout=120,
        )
        if out.returncode != 0:
            raise RuntimeError(f"npm publish {manifest['name']} failed:\n{out.stderr[-2000:]}")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
