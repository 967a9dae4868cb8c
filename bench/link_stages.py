"""Warm-link (p4) stage timings, in process: where a `weir install` with a warm cache spends its time.

    python bench/link_stages.py --cache CACHE [--fixture medium] [--rounds 5]

Needs a cache that already holds the fixture's tarballs (run one `weir install
--cache CACHE` of the fixture first). Each round copies the fixture into a
fresh temp project and runs the link-side stages the installer runs for a
warm install with no node_modules, timing each with wall and CPU clocks:
reading the lockfile, the store lookups, planning, linking, bins and the
hidden lockfile. Prints the median of each over the rounds. Interpreter
start-up and imports are not included (`python -X importtime` shows those).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from weir.core.linker.bins import link_bins
from weir.core.config import load_config
from weir.core.store.content_store import ContentStore
from weir.core.tree.hidden_lockfile import read_hidden_lockfile, write_hidden_lockfile
from weir.core.install_fetch import tarball_url
from weir.core.npm.integrity import pick
from weir.core.linker import LinkSource, execute_link, plan_link
from weir.core.tree.lockfile import read_lockfile
from weir.core.tree.paths import in_node_modules
from weir.core.tree.selection import installed_paths, shipped_in_tarballs

FIXTURES = Path(__file__).parent / "fixtures"
_T = TypeVar("_T")


def one_round(fixture: Path, cache: Path, registry: str) -> dict[str, tuple[float, float]]:
    times: dict[str, tuple[float, float]] = {}

    def timed(label: str, fn: Callable[[], _T]) -> _T:
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        times[label] = (time.perf_counter() - w, time.process_time() - c)
        return out

    with tempfile.TemporaryDirectory(dir=cache.parent) as tmp:
        project = Path(tmp)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(fixture / name, project / name)
        config = load_config(project, cli={"registry": registry, "cache": str(cache)})
        lock = timed("read lockfile", lambda: read_lockfile(project))
        assert lock is not None
        raw = {p: e.raw for p, e in lock.packages.items()}
        wanted = installed_paths(raw, config.omit)
        install_set = {p: lock.packages[p] for p in wanted}
        store = ContentStore(config.cache)

        def lookups() -> dict[str, LinkSource]:
            sources: dict[str, LinkSource] = {}
            shipped = shipped_in_tarballs({p for p, e in install_set.items() if e.in_bundle})
            for p in wanted:
                e = install_set[p]
                if not in_node_modules(p) or e.link or p in shipped:
                    continue
                integrity = pick(e.integrity, None, None, package=e.name, version=e.version or "")
                tarball_url(e.resolved or "", e.name, config)
                found = store.lookup(integrity, e.name, e.version or "")
                assert found is not None, f"{p} not in the cache: run one install with --cache {cache} first"
                sources[p] = LinkSource(dir=found.path, files=tuple((f.path, f.executable) for f in found.files))
            return sources

        sources = timed("store lookups", lookups)
        current = timed("read hidden lockfile", lambda: read_hidden_lockfile(project))
        plan = timed("plan", lambda: plan_link(project, install_set, current))
        timed("link", lambda: execute_link(plan, sources))
        timed("bins", lambda: link_bins(project, install_set))
        timed("hidden lockfile", lambda: write_hidden_lockfile(project, install_set))
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", required=True, type=Path)
    ap.add_argument("--fixture", default="medium")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--registry", default="http://127.0.0.1:4873/")
    args = ap.parse_args()
    rounds = [one_round(FIXTURES / args.fixture, args.cache.resolve(), args.registry) for _ in range(args.rounds)]
    print(f"{'stage':<22} {'wall ms':>9} {'cpu ms':>9}   (median of {args.rounds})")
    total_w = total_c = 0.0
    for label in rounds[0]:
        w = statistics.median(r[label][0] for r in rounds) * 1000
        c = statistics.median(r[label][1] for r in rounds) * 1000
        total_w, total_c = total_w + w, total_c + c
        print(f"{label:<22} {w:9.1f} {c:9.1f}")
    print(f"{'total':<22} {total_w:9.1f} {total_c:9.1f}")


if __name__ == "__main__":
    main()
