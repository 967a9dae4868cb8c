"""Version choice as npm-pick-manifest makes it."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from weir.core.errors import ResolveError
from weir.core.npm.packument import Packument, decode_packument
from weir.core.resolve.pick import pick_version

NODE = "20.11.0"


def packument(versions: dict[str, dict[str, Any]], tags: dict[str, str]) -> Packument:
    doc = {
        "name": "p",
        "dist-tags": tags,
        "versions": {v: {"name": "p", "version": v, "dist": {"tarball": f"https://x/p-{v}.tgz"}, **m} for v, m in versions.items()},
    }
    return decode_packument(orjson.dumps(doc))


def test_latest_wins_when_it_satisfies_even_if_higher_exists() -> None:
    p = packument({"1.0.0": {}, "1.2.0": {}, "1.5.0": {}}, {"latest": "1.2.0"})
    pick = pick_version(p, "range", "^1.0.0", node=NODE)
    assert (pick.version, pick.rule) == ("1.2.0", "latest-in-range")


def test_highest_in_range_when_latest_is_outside() -> None:
    p = packument({"1.0.0": {}, "1.4.0": {}, "2.0.0": {}}, {"latest": "2.0.0"})
    pick = pick_version(p, "range", "^1", node=NODE)
    assert (pick.version, pick.rule) == ("1.4.0", "highest-in-range")
    assert {c.version: c.verdict for c in pick.candidates} == {"2.0.0": "outside-range", "1.4.0": "chosen", "1.0.0": "lower"}


def test_deprecated_and_engine_incompatible_versions_are_avoided() -> None:
    p = packument(
        {"1.0.0": {}, "1.1.0": {"engines": {"node": ">=22"}}, "1.2.0": {"deprecated": "broken"}},
        {"latest": "1.2.0"},
    )
    pick = pick_version(p, "range", "^1", node=NODE)
    assert pick.version == "1.0.0"
    verdicts = {c.version: c.verdict for c in pick.candidates}
    assert verdicts["1.2.0"] == "deprecated" and verdicts["1.1.0"] == "engines"


def test_all_deprecated_still_picks_the_highest() -> None:
    p = packument({"1.0.0": {"deprecated": "x"}, "1.1.0": {"deprecated": "y"}}, {"latest": "1.1.0"})
    assert pick_version(p, "range", "^1", node=NODE).version == "1.1.0"


def test_prereleases_only_when_the_range_names_one() -> None:
    p = packument({"1.0.0": {}, "1.1.0-beta.1": {}, "2.0.0-rc.1": {}}, {"latest": "1.0.0", "next": "2.0.0-rc.1"})
    assert pick_version(p, "range", "^1.0.0", node=NODE).version == "1.0.0"
    assert pick_version(p, "range", ">=1.1.0-beta.0 <1.2.0", node=NODE).version == "1.1.0-beta.1"
    assert pick_version(p, "tag", "next", node=NODE).version == "2.0.0-rc.1"


def test_star_takes_a_prerelease_latest() -> None:
    p = packument({"1.0.0": {}, "2.0.0-rc.1": {}}, {"latest": "2.0.0-rc.1"})
    assert pick_version(p, "range", "*", node=NODE).version == "2.0.0-rc.1"


def test_exact_version() -> None:
    p = packument({"1.0.0": {}, "1.1.0": {}}, {"latest": "1.1.0"})
    assert pick_version(p, "version", "1.0.0", node=NODE).rule == "exact"


def test_etarget_lists_nearest_and_names_the_dependent() -> None:
    p = packument({"1.0.0": {}, "1.1.0": {}}, {"latest": "1.1.0"})
    with pytest.raises(ResolveError) as info:
        pick_version(p, "range", "^3", path=("app", "a@1.0.0"), node=NODE)
    text = str(info.value)
    assert info.value.code == "ETARGET" and "1.1.0, 1.0.0" in text and "app > a@1.0.0" in text
    with pytest.raises(ResolveError):
        pick_version(p, "tag", "nope", node=NODE)


def test_candidates_are_bounded_for_huge_packuments() -> None:
    p = packument({f"1.{i}.0": {} for i in range(5000)}, {"latest": "1.4999.0"})
    pick = pick_version(p, "range", "<1.2500.0", node=NODE)
    assert pick.version == "1.2499.0" and len(pick.candidates) <= 20
