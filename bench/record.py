"""``python -m bench record``: fetch the fixtures' packuments and tarballs once.

Rules:
- Packuments are recorded whole (``Accept: application/json``), never filtered:
  a resolve without a lockfile (phase p1) may pick versions outside the
  fixture lockfile, and the mirror derives abbreviated documents itself.
- The names and tarballs are those of the fixture lockfiles plus those of
  each tool's own fresh resolution of the fixture's package.json (npm,
  pnpm, bun and utoo in their lockfile-only modes, against the public
  registry; weir resolves as npm does): p0 installs and p1 resolves from
  nothing, and bun or pnpm pick other versions than npm's lockfile. A tool
  whose fresh resolution fails is reported and skipped.
- Then the packuments of every name the recorded versions list in
  ``peerDependencies``, and of those peers' own peers (at their latest
  version), until no new name comes: bun asks for optional peers' documents
  too (13 per medium resolve, jsdom's peer canvas among them), and a mirror
  answering 404 where npmjs answers 200 is not the registry the tools see.
- Every file is written to a temp name and renamed, and a file already there
  is kept: an interrupted recording resumes.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote, urlsplit

import aiohttp

from . import peers
from .snapshot import (
    FIXTURES,
    PUBLIC_REGISTRY,
    LockedPackage,
    locked_packages,
    packument_file,
    tarball_file,
)
from .tools import ALL, Context, Tool

CONCURRENCY = 16


FRESH_TOOLS = ("npm", "pnpm", "bun", "utoo")
FRESH_TIMEOUT = 1800
# bun.lock is JSON with trailing commas; a package entry opens with "name@version".
BUN_ENTRY = re.compile(r'^\s*"[^"]+": \["((?:@[^/"]+/)?[^@"]+)@([^"@]+)",', re.MULTILINE)
# pnpm-lock.yaml v9: one "  name@version:" key per package under "packages:".
PNPM_ENTRY = re.compile(r"^  '?((?:@[^/\s']+/)?[^@\s']+)@([^'():\s]+)'?:$")


def registry_tarball(name: str, version: str) -> str:
    """The public registry's tarball URL for name@version (``@s/n/-/n-1.0.0.tgz``)."""
    return f"{PUBLIC_REGISTRY}{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz"


def bun_lock_packages(text: str) -> list[LockedPackage]:
    return [LockedPackage(name, registry_tarball(name, version))
            for name, version in BUN_ENTRY.findall(text)]


def pnpm_lock_packages(text: str) -> list[LockedPackage]:
    found: list[LockedPackage] = []
    section = ""
    for line in text.splitlines():
        if line and not line.startswith(" "):
            section = line
        elif section == "packages:" and (match := PNPM_ENTRY.match(line)):
            found.append(LockedPackage(match[1], registry_tarball(match[1], match[2])))
    return found


def lock_packages(lockfile: Path) -> list[LockedPackage]:
    """Registry packages in any of the tools' lockfiles."""
    if lockfile.name == "bun.lock":
        return bun_lock_packages(lockfile.read_text())
    if lockfile.name == "pnpm-lock.yaml":
        return pnpm_lock_packages(lockfile.read_text())
    return locked_packages(lockfile)


def fresh_lock_packages(fixture: str, tool: Tool) -> list[LockedPackage]:
    """What ``tool`` resolves for the fixture's package.json today (public registry)."""
    with tempfile.TemporaryDirectory(prefix="weir-bench-record-") as tmp:
        project = Path(tmp) / "project"
        project.mkdir()
        shutil.copy(FIXTURES / fixture / "package.json", project / "package.json")
        ctx = Context(PUBLIC_REGISTRY, Path(tmp) / "cache", Path(tmp) / "home")
        ctx.home.mkdir()
        try:
            done = subprocess.run(tool.resolve(ctx), cwd=project, env=tool.env(ctx),
                                  capture_output=True, timeout=FRESH_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            print(f"record: {tool.name} did not resolve {fixture} within {FRESH_TIMEOUT} s; "
                  "its p0/p1 may miss files", file=sys.stderr)
            return []
        lockfile = project / tool.lockfile
        if done.returncode != 0 or not lockfile.is_file():
            print(f"record: {tool.name} could not resolve {fixture} (exit {done.returncode}); "
                  f"its p0/p1 may miss files: {done.stderr.decode(errors='replace')[-300:]}",
                  file=sys.stderr)
            return []
        return lock_packages(lockfile)


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


async def _fetch_all(jobs: list[tuple[str, Path, bool]], missing_ok: bool = False) -> list[str]:
    """Fetch (url, destination, gzip-it) jobs; return the failures.

    With ``missing_ok`` a 404 is no failure: a peer nobody published is
    missing from npmjs too, and the mirror's 404 is then npmjs's answer.
    """
    failures: list[str] = []
    queue: asyncio.Queue[tuple[str, Path, bool]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def worker() -> None:
            while not queue.empty():
                url, dest, compress = queue.get_nowait()
                headers = {"Accept": "application/json"} if compress else {}
                try:
                    async with session.get(url, headers=headers) as response:
                        response.raise_for_status()
                        body = await response.read()
                except aiohttp.ClientResponseError as exc:
                    if missing_ok and exc.status == 404:
                        print(f"record: npmjs has no {url} either; the mirror will answer 404 too")
                    else:
                        failures.append(f"{url}: {exc}")
                    continue
                except (aiohttp.ClientError, TimeoutError) as exc:
                    failures.append(f"{url}: {exc}")
                    continue
                _write_atomic(dest, gzip.compress(body, 6) if compress else body)

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return failures


def record(fixtures: list[str], snapshot: Path) -> int:
    peers.ensure_peers()
    names: set[str] = set()
    tarballs: set[str] = set()
    for fixture in fixtures:
        locked = locked_packages(FIXTURES / fixture / "package-lock.json")
        for tool in FRESH_TOOLS:
            fresh = fresh_lock_packages(fixture, ALL[tool])
            print(f"record: {fixture}: {tool}'s fresh resolution has {len(fresh)} packages",
                  flush=True)
            locked += fresh
        names.update(p.name for p in locked)
        tarballs.update(p.resolved for p in locked)
    jobs = [_packument_job(snapshot, name) for name in sorted(names)] + [
        (url, tarball_file(snapshot, url), False) for url in sorted(tarballs)]
    todo = [job for job in jobs if not job[1].exists()]
    print(f"record: {len(names)} packuments, {len(tarballs)} tarballs; "
          f"{len(todo)} to fetch into {snapshot}", flush=True)
    failures = asyncio.run(_fetch_all(todo))
    failures += _record_peers(snapshot, names, tarballs)
    for failure in failures:
        print(f"record: FAILED {failure}", file=sys.stderr)
    (snapshot / "fixtures.json").write_text(json.dumps(sorted(
        set(fixtures) | set(_recorded_fixtures(snapshot)))))
    return 1 if failures else 0


def record_misses(log: Path, snapshot: Path) -> int:
    """Fetch from npmjs what the mirror answered 404 for in ``log`` (a harness run's).

    bun's full install picks versions its own lockfile-only resolution does
    not (on medium, vite 7.3.8 for vitest's peer when the mirror answers
    fast): no lockfile predicts them, so a run against the mirror does.
    Paths npmjs serves no file for (``utoo/latest``, a version endpoint) stay
    404s.
    """
    misses = sorted({line.split("404 ", 1)[1] for line in log.read_text().splitlines()
                     if line.startswith("mirror: 404 ")})
    jobs = [(PUBLIC_REGISTRY + path, snapshot / "tarballs" / path, False) if "/-/" in path
            else _packument_job(snapshot, path)
            for path in misses if "/-/" in path or _is_package_name(path)]
    print(f"record: {len(misses)} paths the mirror lacked in {log}; {len(jobs)} to fetch", flush=True)
    failures = asyncio.run(_fetch_all(jobs, missing_ok=True))
    for failure in failures:
        print(f"record: FAILED {failure}", file=sys.stderr)
    return 1 if failures else 0


def _is_package_name(path: str) -> bool:
    return path.count("/") == (1 if path.startswith("@") else 0)


def _packument_job(snapshot: Path, name: str) -> tuple[str, Path, bool]:
    return PUBLIC_REGISTRY + quote(name, safe="@"), packument_file(snapshot, name), True


def tarball_version(name: str, url: str) -> str:
    """The version in a registry tarball URL (``.../-/core-7.26.0.tgz`` of @babel/core)."""
    file = urlsplit(url).path.rsplit("/", 1)[-1]
    return file[len(name.rsplit("/", 1)[-1]) + 1: -len(".tgz")]


def peer_names(snapshot: Path, versions: dict[str, set[str]]) -> set[str]:
    """Names in the peerDependencies of name -> versions ("latest": the dist-tag's)."""
    found: set[str] = set()
    for name, wanted in versions.items():
        file = packument_file(snapshot, name)
        if not file.is_file():
            continue
        doc = json.loads(gzip.decompress(file.read_bytes()))
        for version in wanted:
            version = doc.get("dist-tags", {}).get(version, version)
            found.update((doc.get("versions", {}).get(version) or {}).get("peerDependencies") or {})
    return found


def _record_peers(snapshot: Path, names: set[str], tarballs: set[str]) -> list[str]:
    """Fetch the packuments of peers (and their peers) no lockfile installs; the failures."""
    versions: dict[str, set[str]] = {}
    for url in tarballs:
        name = urlsplit(url).path.lstrip("/").split("/-/", 1)[0]
        versions.setdefault(name, set()).add(tarball_version(name, url))
    known, failures = set(names), []
    while new := sorted(peer_names(snapshot, versions) - known):
        todo = [_packument_job(snapshot, name) for name in new
                if not packument_file(snapshot, name).exists()]
        print(f"record: {len(new)} peer-only packuments; {len(todo)} to fetch", flush=True)
        failures += asyncio.run(_fetch_all(todo, missing_ok=True))
        known.update(new)
        versions = {name: {"latest"} for name in new}
    return failures


def _recorded_fixtures(snapshot: Path) -> list[str]:
    index = snapshot / "fixtures.json"
    return json.loads(index.read_text()) if index.exists() else []
