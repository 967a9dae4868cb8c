"""Microseconds per call of weir.core.npm.semver next to npm's semver, and their ratio.

    python bench/semver_micro.py

npm's side runs inside node (timed there with process.hrtime), using the same install
the differential tests use (tests/.node-cache/semver; installed on first use). weir
caches parsed versions and ranges, as the resolver relies on; the "cold" row calls the
parser behind the cache, to show what a first sight of a version costs.
"""

from __future__ import annotations

import sys
import timeit
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from semver_oracle import NodeSemver, ensure_installed
from weir.core.npm import semver

VERSION = "1.2.3-beta.4+build.5"
RANGE = ">=1.2.0 <1.3.0 || ^2.3.0-rc.1"
VERSIONS = [
    f"{major}.{minor}.{patch}" + ("-rc.1" if patch == 9 else "")
    for major in range(5)
    for minor in range(10)
    for patch in range(10)
]
MAX_RANGE = "^2.3.0"


def per_call_us(fn: Callable[[], object], number: int) -> float:
    timer = timeit.Timer(fn)
    return min(timer.repeat(repeat=5, number=number)) / number * 1e6


def main() -> None:
    node = NodeSemver(ensure_installed())
    try:
        cases = [
            (
                "parse",
                {"fn": "parse", "version": VERSION},
                200_000,
                lambda: semver.parse(VERSION),
            ),
            (
                "parse (cold, uncached)",
                {"fn": "parse", "version": VERSION},
                50_000,
                lambda: semver._parse_cached.__wrapped__(VERSION, False),
            ),
            (
                "satisfies",
                {"fn": "satisfies", "version": "2.4.1", "range": RANGE},
                100_000,
                lambda: semver.satisfies("2.4.1", RANGE),
            ),
            (
                "max_satisfying, 500 versions",
                {"fn": "maxSatisfying", "versions": VERSIONS, "range": MAX_RANGE},
                300,
                lambda: semver.max_satisfying(VERSIONS, MAX_RANGE),
            ),
        ]
        assert semver.max_satisfying(VERSIONS, MAX_RANGE) == node.ask(
            "maxSatisfying", versions=VERSIONS, range=MAX_RANGE
        )
        print(
            f"npm semver {node.ask('version')} on node vs weir.core.npm.semver, µs per call"
        )
        print(f"{'operation':<32}{'weir':>10}{'npm':>10}{'weir/npm':>10}")
        for name, question, number, fn in cases:
            ours = per_call_us(fn, number)
            theirs = node.ask("bench", n=number, **question)
            print(f"{name:<32}{ours:>10.2f}{theirs:>10.2f}{ours / theirs:>10.2f}")
    finally:
        node.close()


if __name__ == "__main__":
    main()
