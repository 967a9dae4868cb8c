"""Install the peer installers into ``bench/.peers/`` with npm, pinned; never globally.

Rules:
- Pins live here only (PINS). npm itself is the machine's; its version is
  recorded with the others.
- A peer runs from its native binary when its npm package ships one, so no
  Node start-up is added to its time; else from ``node_modules/.bin``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from .snapshot import BENCH

PEERS = BENCH / ".peers"
PINS = {"bun": "1.4.4", "pnpm": "10", "utoo": "1.1.9"}
# Native binaries inside the peers' packages, tried before the .bin shim.
NATIVE = {
    "bun": ["node_modules/bun/bin/bun.exe", "node_modules/@oven/bun-linux-x64/bin/bun"],
    "utoo": ["node_modules/@utoo/utoo-linux-x64/bin/utoo"],
}
BIN = {"bun": "bun", "pnpm": "pnpm", "utoo": "ut"}


def _installed_version(package: str) -> str | None:
    manifest = PEERS / "node_modules" / package / "package.json"
    if not manifest.is_file():
        return None
    return json.loads(manifest.read_text())["version"]


def _pin_met(package: str, pin: str) -> bool:
    version = _installed_version(package)
    return version is not None and (version == pin or version.split(".")[0] == pin)


def ensure_peers() -> None:
    """npm-install the pinned peers into bench/.peers unless they already are."""
    if all(_pin_met(p, pin) for p, pin in PINS.items()):
        return
    PEERS.mkdir(parents=True, exist_ok=True)
    (PEERS / "package.json").write_text('{"private": true}\n')
    specs = [f"{p}@{pin}" for p, pin in PINS.items()]
    print(f"peers: npm install {' '.join(specs)} into {PEERS}", flush=True)
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--save-exact", *specs],
                   cwd=PEERS, check=True)


def peer_binary(package: str) -> Path:
    for relative in NATIVE.get(package, []):
        candidate = PEERS / relative
        if candidate.is_file() and candidate.read_bytes()[:4] == b"\x7fELF":
            return candidate
    return PEERS / "node_modules" / ".bin" / BIN[package]


def npm_version() -> str:
    return subprocess.run(["npm", "--version"], capture_output=True, text=True,
                          check=True).stdout.strip()


def npm_binary() -> str:
    found = shutil.which("npm")
    if found is None:
        raise FileNotFoundError("npm is not on PATH: the benchmark needs the machine's npm")
    return found


def peer_version(package: str) -> str | None:
    return _installed_version(package)
