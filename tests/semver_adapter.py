"""Adapter exposing weir.core.npm.semver to the npm-semver conformance kit.

    python /work/shared/semver/check.py tests/semver_adapter.py --strict

The kit is development data, not a test dependency; this file only translates its
positional-flag interface into weir's keyword flags.
"""

from __future__ import annotations

from weir.core.npm import semver


def parse(version, loose):
    return semver.parse(version, loose=loose)


def valid(version, loose):
    return semver.valid(version, loose=loose)


def parts(version, loose):
    v = semver.parse(version, loose=loose)
    return (
        None
        if v is None
        else (v.major, v.minor, v.patch, list(v.prerelease), list(v.build))
    )


def compare(a, b, loose):
    return semver.compare(a, b, loose=loose)


def compare_build(a, b, loose):
    return semver.compare_build(a, b, loose=loose)


def satisfies(version, range_, loose, include_prerelease):
    return semver.satisfies(
        version, range_, loose=loose, include_prerelease=include_prerelease
    )


def valid_range(range_, loose, include_prerelease):
    return semver.valid_range(
        range_, loose=loose, include_prerelease=include_prerelease
    )


def max_satisfying(versions, range_, loose, include_prerelease):
    return semver.max_satisfying(
        versions, range_, loose=loose, include_prerelease=include_prerelease
    )


def min_satisfying(versions, range_, loose, include_prerelease):
    return semver.min_satisfying(
        versions, range_, loose=loose, include_prerelease=include_prerelease
    )


def intersects(range_a, range_b, loose, include_prerelease):
    return semver.intersects(
        range_a, range_b, loose=loose, include_prerelease=include_prerelease
    )
