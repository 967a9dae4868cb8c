"""CPU time of the resolver's version picks on a real fixture, without the network.

    python bench/pick_micro.py PROJECT_DIR --registry URL --cache DIR [--rounds 9]

Why: a warm resolve of the medium fixture spent a third of its CPU in
``pick_version`` (sorting every version of every packument, per pick). This
replays the exact picks one lockfile-only install makes, so a change to
pick/semver/packument can be judged on numbers that the shared, busy machine
does not blur. One install runs first (in this process, writing no lockfile
into PROJECT_DIR's copy: it runs in a temp copy) to record the picks and to
warm the cache; each round then decodes every stored packument afresh (as a
new run would, semver's caches emptied) and replays the picks on them. Decode and pick are timed apart, in CPU time;
the minimum is the number to compare on a busy machine.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from weir.core.resolve import pick as pick_module
from weir.core.npm import semver
from weir.core.resolve import resolver
from weir.core.registry.manifest_store import ManifestStore
from weir.core.npm.packument import Packument, decode_packument


def record(project: Path, registry: str, cache: str) -> list[tuple[str, str, str]]:
    """The (name, kind, wanted) of every pick one lockfile-only install makes."""
    from weir.tui.cli.main import main

    calls: list[tuple[str, str, str]] = []
    original = resolver.pick_version

    def recording(packument: Packument, kind: str, wanted: str, **kw: object) -> pick_module.Pick:
        calls.append((packument.name, kind, wanted))
        return original(packument, kind, wanted, **kw)  # type: ignore[arg-type]

    resolver.pick_version = recording  # type: ignore[assignment]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copy(project / "package.json", tmp)
            code = main(["install", "--lockfile-only", "--registry", registry, "--cache", cache, "--reporter", "plain", "--prefix", tmp])
            if code != 0:
                raise SystemExit(f"the recording install failed ({code})")
    finally:
        resolver.pick_version = original
    return calls


def one_round(store: ManifestStore, registry: str, calls: list[tuple[str, str, str]]) -> tuple[float, float]:
    bodies = {name: store._read(registry, name) for name, _, _ in calls}
    semver._parse_cached.cache_clear()  # a new run starts with nothing parsed
    semver._parse_range_cached.cache_clear()
    started = time.process_time()
    packuments = {name: decode_packument(entry.body) for name, entry in bodies.items() if entry is not None}
    decoded = time.process_time()
    node = pick_module.node_version()
    for name, kind, wanted in calls:
        try:
            pick_module.pick_version(packuments[name], kind, wanted, node=node)
        except Exception:  # an ETARGET the install also met (an optional dependency)
            pass
    picked = time.process_time()
    return decoded - started, picked - decoded


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("project", type=Path)
    parser.add_argument("--registry", required=True)
    parser.add_argument("--cache", required=True)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    calls = record(args.project, args.registry, args.cache)
    store = ManifestStore(Path(args.cache))
    registry = args.registry
    rounds = [one_round(store, registry, calls) for _ in range(args.rounds)]
    print(f"{len(calls)} picks over {len({c[0] for c in calls})} packuments")
    for label, index in (("decode", 0), ("pick", 1)):
        times = [r[index] * 1000 for r in rounds]
        print(f"{label:7} min {min(times):.1f} ms, median {statistics.median(times):.1f} ms (CPU, over {len(times)} rounds)")


if __name__ == "__main__":
    main()
