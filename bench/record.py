"""``python -m bench record``: fetch the fixtures' packuments and tarballs once.

Rules:
- Packuments are recorded whole (``Accept: application/json``), never filtered:
  a resolve without a lockfile (phase p1) may pick versions outside the
  fixture lockfile, and the mirror derives abbreviated documents itself.
- The names are those of the fixture lockfiles plus those of a fresh
  ``npm install --package-lock-only`` of each fixture's package.json, so p1
  finds what today's resolution asks for. Tarballs: the fixture lockfiles' only.
- Every file is written to a temp name and renamed, and a file already there
  is kept: an interrupted recording resumes.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

import aiohttp

from .snapshot import (
    FIXTURES,
    PUBLIC_REGISTRY,
    LockedPackage,
    locked_packages,
    packument_file,
    tarball_file,
)

CONCURRENCY = 16


def fresh_lock_packages(fixture: str) -> list[LockedPackage]:
    """What npm resolves for the fixture's package.json today (public registry)."""
    with tempfile.TemporaryDirectory(prefix="weir-bench-record-") as tmp:
        project = Path(tmp) / "project"
        project.mkdir()
        shutil.copy(FIXTURES / fixture / "package.json", project / "package.json")
        subprocess.run(
            ["npm", "install", "--package-lock-only", "--ignore-scripts", "--no-audit",
             "--no-fund", "--cache", str(Path(tmp) / "cache"), "--registry", PUBLIC_REGISTRY],
            cwd=project, check=True, stdout=subprocess.DEVNULL,
        )
        return locked_packages(project / "package-lock.json")


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


async def _fetch_all(jobs: list[tuple[str, Path, bool]]) -> list[str]:
    """Fetch (url, destination, gzip-it) jobs; return the failures."""
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
                except (aiohttp.ClientError, TimeoutError) as exc:
                    failures.append(f"{url}: {exc}")
                    continue
                _write_atomic(dest, gzip.compress(body, 6) if compress else body)

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return failures


def record(fixtures: list[str], snapshot: Path) -> int:
    names: set[str] = set()
    tarballs: set[str] = set()
    for fixture in fixtures:
        locked = locked_packages(FIXTURES / fixture / "package-lock.json")
        names.update(p.name for p in locked)
        tarballs.update(p.resolved for p in locked)
        names.update(p.name for p in fresh_lock_packages(fixture))
    jobs = [
        (PUBLIC_REGISTRY + quote(name, safe="@"), packument_file(snapshot, name), True)
        for name in sorted(names)
    ] + [(url, tarball_file(snapshot, url), False) for url in sorted(tarballs)]
    todo = [job for job in jobs if not job[1].exists()]
    print(f"record: {len(names)} packuments, {len(tarballs)} tarballs; "
          f"{len(todo)} to fetch into {snapshot}")
    failures = asyncio.run(_fetch_all(todo))
    for failure in failures:
        print(f"record: FAILED {failure}", file=sys.stderr)
    (snapshot / "fixtures.json").write_text(json.dumps(sorted(
        set(fixtures) | set(_recorded_fixtures(snapshot)))))
    return 1 if failures else 0


def _recorded_fixtures(snapshot: Path) -> list[str]:
    index = snapshot / "fixtures.json"
    return json.loads(index.read_text()) if index.exists() else []
