"""Where a recorded registry snapshot lives, and what a fixture needs from it.

Rules:
- A snapshot is a folder (default ``bench/.mirror/``) with ``packuments/`` (one
  whole document per package, as the public registry served it, gzipped, file
  name = the URL-encoded package name) and ``tarballs/`` (each tarball at its
  registry URL path, e.g. ``tarballs/@babel/core/-/core-7.26.0.tgz``).
- Names and tarballs come from the fixture lockfiles; nothing else decides them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

BENCH = Path(__file__).resolve().parent
FIXTURES = BENCH / "fixtures"
DEFAULT_SNAPSHOT = BENCH / ".mirror"
PUBLIC_REGISTRY = "https://registry.npmjs.org/"


@dataclass(frozen=True, slots=True)
class LockedPackage:
    name: str
    resolved: str  # tarball URL as the lockfile has it


def locked_packages(lockfile: Path) -> list[LockedPackage]:
    """Every registry package a v2/v3 package-lock.json pins (links and the root skipped)."""
    doc = json.loads(lockfile.read_text())
    found: dict[str, LockedPackage] = {}
    for key, entry in doc.get("packages", {}).items():
        resolved = entry.get("resolved")
        if not key or entry.get("link") or not resolved:
            continue
        name = entry.get("name") or key.rsplit("node_modules/", 1)[-1]
        found[resolved] = LockedPackage(name, resolved)
    return sorted(found.values(), key=lambda p: (p.name, p.resolved))


def packument_file(snapshot: Path, name: str) -> Path:
    return snapshot / "packuments" / (quote(name, safe="@") + ".json.gz")


def tarball_path(url: str) -> str:
    """The registry-relative path of a tarball URL (``@s/n/-/n-1.0.0.tgz``)."""
    return urlsplit(url).path.lstrip("/")


def tarball_file(snapshot: Path, url: str) -> Path:
    return snapshot / "tarballs" / tarball_path(url)
