"""weir.core.npm.semver: npm's semver rules, one table per rule.

Every expectation here is what npm's semver 7.8 answers (checked against it while the
table was written); the differential test covers the space between these points.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from weir.core.npm import semver
from weir.core.npm.semver import Range, Version

# --- parsing ------------------------------------------------------------------------

VALID = [
    # (input, loose, normalized)
    ("1.2.3", False, "1.2.3"),
    ("0.0.0", False, "0.0.0"),
    ("v1.2.3", False, "1.2.3"),
    ("  1.2.3  ", False, "1.2.3"),
    ("\n1.2.3\t", False, "1.2.3"),
    ("1.2.3\u00a0", False, "1.2.3"),
    ("\ufeff1.2.3", False, "1.2.3"),
    ("1.2.3-alpha", False, "1.2.3-alpha"),
    ("1.2.3-alpha.1", False, "1.2.3-alpha.1"),
    ("1.2.3-0a", False, "1.2.3-0a"),
    ("1.2.3-beta.-1", False, "1.2.3-beta.-1"),
    ("1.2.3--", False, "1.2.3--"),
    ("1.2.3+build", False, "1.2.3"),
    ("1.2.3-rc.1+build.5", False, "1.2.3-rc.1"),
    ("1.0.0+001", False, "1.0.0"),
    ("9007199254740991.0.0", False, "9007199254740991.0.0"),
    ("=1.2.3", True, "1.2.3"),
    ("=v1.2.3", True, "1.2.3"),
    ("v=1.2.3", True, "1.2.3"),
    ("==1.2.3", True, "1.2.3"),
    ("= 1.2.3", True, "1.2.3"),
    ("01.02.03", True, "1.2.3"),
    ("1.2.3beta", True, "1.2.3-beta"),
    ("1.2.3-0123", True, "1.2.3-123"),
    ("1.2.3-", True, "1.2.3--"),
    ("4.2.0foo", True, "4.2.0-foo"),
    ("1.2.3-01.02", True, "1.2.3-1.2"),
]

INVALID = [
    # (input, loose)
    ("", False),
    ("1", False),
    ("1.2", False),
    ("1.2", True),
    ("1.2.3.4", False),
    ("01.2.3", False),
    ("1.02.3", False),
    ("1.2.3-0123", False),
    ("1.2.3-", False),
    ("1.2.3+", False),
    ("1.2.3-a..b", False),
    ("1.2.3-a_b", False),
    ("V1.2.3", False),
    ("=1.2.3", False),
    ("=v1.2.3", False),
    ("1.2.3beta", False),
    ("1.2.3 foo", False),
    ("1.2.3 foo", True),
    ("x.2.3", False),
    ("1.2.x", True),
    ("9007199254740992.0.0", False),
    ("0.0.9007199254740992", True),
    ("90071992547409910.0.0", False),
    ("1.2.3-" + "a" * 251, False),
    ("1" * 300 + ".0.0", True),
    (" " * 300 + "1.2.3", False),
    ("1.2.3\x85", False),  # NEL is Python whitespace, not JavaScript's
    ("١.٢.٣", False),  # Arabic-Indic digits are not digits to npm
]


@pytest.mark.parametrize(("text", "loose", "normalized"), VALID)
def test_valid_versions_normalize_like_npm(
    text: str, loose: bool, normalized: str
) -> None:
    assert semver.valid(text, loose=loose) == normalized
    v = semver.parse(text, loose=loose)
    assert v is not None and str(v) == normalized


@pytest.mark.parametrize(("text", "loose"), INVALID)
def test_invalid_versions_are_rejected(text: str, loose: bool) -> None:
    assert semver.parse(text, loose=loose) is None
    assert semver.valid(text, loose=loose) is None


@pytest.mark.parametrize(
    ("text", "loose", "parts"),
    [
        ("1.2.3-alpha.1.0a+b.01", False, (1, 2, 3, ("alpha", 1, "0a"), ("b", "01"))),
        ("1.2.3-9007199254740990", False, (1, 2, 3, (9007199254740990,), ())),
        ("1.2.3-9007199254740991", False, (1, 2, 3, ("9007199254740991",), ())),
        ("v01.2.3-00", True, (1, 2, 3, (0,), ())),
    ],
)
def test_version_fields_hold_numbers_and_strings_as_npm_does(
    text: str, loose: bool, parts: tuple
) -> None:
    v = semver.parse(text, loose=loose)
    assert v is not None
    assert (v.major, v.minor, v.patch, v.prerelease, v.build) == parts


def test_version_is_frozen_and_build_does_not_change_equality() -> None:
    v = Version(1, 2, 3, ("rc", 1), ("sha",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.major = 2  # type: ignore[misc]
    assert v == Version(1, 2, 3, ("rc", 1), ("other",))
    assert hash(v) == hash(Version(1, 2, 3, ("rc", 1)))
    assert str(v) == "1.2.3-rc.1"
    assert semver.parse("1.2.3-rc.1+sha") == v
    assert semver.parse("1.2.3") is semver.parse("1.2.3")  # cached


# --- comparison ---------------------------------------------------------------------

# semver.org's precedence example, plus npm's numeric-vs-alphanumeric rules
ASCENDING = [
    "0.0.0-0",
    "0.0.0",
    "0.0.1",
    "0.1.0",
    "1.0.0-0",
    "1.0.0-1",
    "1.0.0-2",
    "1.0.0-10",
    "1.0.0-9007199254740990",
    "1.0.0--",
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "1.0.1",
    "1.1.0",
    "2.0.0",
    "10.0.0",
    "9007199254740991.0.0",
]


@pytest.mark.parametrize("i", range(len(ASCENDING) - 1))
def test_precedence_follows_npm(i: int) -> None:
    a, b = ASCENDING[i], ASCENDING[i + 1]
    assert semver.compare(a, b) == -1
    assert semver.compare(b, a) == 1
    assert semver.compare(a, a) == 0
    assert semver.parse(a) < semver.parse(b)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("a", "b", "loose", "expect"),
    [
        ("1.2.3+a", "1.2.3+b", False, 0),
        ("v1.2.3", "1.2.3", False, 0),
        ("=1.2.3", "1.2.3", True, 0),
        ("1.2.3-01", "1.2.3-1", True, 0),
        ("1.2.3beta", "1.2.3-beta", True, 0),
        # digit identifiers past 2**53 compare as JavaScript doubles and stop there
        ("1.0.0-9007199254740993.a", "1.0.0-9007199254740992.b", False, 0),
        ("1.0.0-9007199254740995", "1.0.0-9007199254740993", False, 1),
        ("1.0.0-9007199254740991", "1.0.0-9007199254740990", False, 1),
    ],
)
def test_compare_edge_cases(a: str, b: str, loose: bool, expect: int) -> None:
    assert semver.compare(a, b, loose=loose) == expect


@pytest.mark.parametrize(
    ("a", "b", "expect"),
    [
        ("1.0.0+1", "1.0.0", 1),
        ("1.0.0+a", "1.0.0+b", -1),
        ("1.0.0+2", "1.0.0+10", -1),
        ("1.0.0+01.a", "1.0.0+1.b", 0),
        ("1.0.0-alpha+z", "1.0.0+a", -1),
        ("1.0.0+x", "1.0.0+x", 0),
    ],
)
def test_compare_build_breaks_ties_on_build(a: str, b: str, expect: int) -> None:
    assert semver.compare_build(a, b) == expect


def test_sort_versions_orders_and_drops_invalid() -> None:
    got = semver.sort_versions(
        ["1.10.0", "junk", "1.2.0", "1.2.0-rc.1", "v0.9.0", "1.2"]
    )
    assert got == ["v0.9.0", "1.2.0-rc.1", "1.2.0", "1.10.0"]


# --- ranges: satisfies --------------------------------------------------------------

INCLUDE = [
    # (range, version, loose, include_prerelease)
    ("1.2.3", "1.2.3", False, False),
    ("=1.2.3", "1.2.3", False, False),
    ("v1.2.3", "1.2.3", False, False),
    ("=v1.2.3", "1.2.3", True, False),
    ("1.2.3", "1.2.3+build", False, False),
    (">1.2.3", "1.2.4", False, False),
    (">=1.2.3", "1.2.3", False, False),
    ("<1.2.3", "1.2.2", False, False),
    ("<=1.2.3", "1.2.3", False, False),
    ("> 1.2.3", "1.2.4", False, False),
    (">= 1.2.3 <  2", "1.9.9", False, False),
    (">=1.0.0 <2.0.0", "1.5.0", False, False),
    ("~1.2.3", "1.2.9", False, False),
    ("~1.2", "1.2.0", False, False),
    ("~1", "1.9.9", False, False),
    ("~>1.2.3", "1.2.5", False, False),
    ("~> 1.2.3", "1.2.5", False, False),
    ("~ 1.2.3", "1.2.5", False, False),
    ("~0.0.1", "0.0.9", False, False),
    ("~1.2.3-beta.2", "1.2.3-beta.4", False, False),
    ("^1.2.3", "1.9.9", False, False),
    ("^ 1.2.3", "1.9.9", False, False),
    ("^0.1.2", "0.1.9", False, False),
    ("^0.0.3", "0.0.3", False, False),
    ("^1.2", "1.4.0", False, False),
    ("^0.x", "0.9.0", False, False),
    ("^1.2.3-beta.2", "1.2.3-beta.4", False, False),
    ("^0.0.1-beta", "0.0.1-beta.1", False, False),
    ("1.x", "1.9.9", False, False),
    ("1.X", "1.0.0", False, False),
    ("1.2.*", "1.2.7", False, False),
    ("1.*.*", "1.3.0", False, False),
    ("*", "1.2.3", False, False),
    ("x", "0.0.0", False, False),
    ("", "1.0.0", False, False),
    (">1.x", "2.0.0", False, False),
    ("<=1.2.x", "1.2.9", False, False),
    ("<1.x", "0.9.0", False, False),
    (">=1.x", "1.0.0", False, False),
    ("1.2.3 - 2.3.4", "2.3.4", False, False),
    ("1.2 - 2.3", "2.3.9", False, False),
    ("1 - 2", "2.9.9", False, False),
    ("1.2.3+asdf - 2.4.3+asdf", "2.4.3", False, False),
    ("1.2.3 - *", "9.9.9", False, False),
    ("1.0.0 || 2.0.0", "2.0.0", False, False),
    ("<1.0.0||>=2.0.0", "2.1.0", False, False),
    ("1.2.3 ||", "9.0.0", False, False),
    ("1.2.3 1.2.3", "1.2.3", False, False),
    (">=0.0.0", "0.0.0", False, False),
    (">=1.2.3", "1.2.3+build", False, False),
    ("1.2.3+build", "1.2.3", False, False),
    (">=01.02.03", "1.2.3", True, False),
    ("~v0.5.4-pre", "0.5.4", True, False),
    ("^1.2.3", "1.3.0-beta", False, True),
    ("*", "1.0.0-rc.1", False, True),
    ("1.x", "1.1.0-0", False, True),
    ("~1.2", "1.2.0-0", False, True),
    ("^1.2", "1.2.0-0", False, True),
    ("1.0.0 - 2.0.0", "2.0.0", False, True),
    (">=1.2.3-beta <1.2.4", "1.2.3-beta.9", False, False),
    ("\t^1.2.3\n", "1.3.0", False, False),
]

EXCLUDE = [
    ("1.2.3", "1.2.4", False, False),
    (">1.2.3", "1.2.3", False, False),
    ("<1.2.3", "1.2.3", False, False),
    ("<=1.2.3", "1.2.4", False, False),
    (">=1.2.3", "1.2.3-rc.1", False, False),
    ("~1.2.3", "1.3.0", False, False),
    ("~1.2.3", "1.2.2", False, False),
    ("~1", "2.0.0", False, False),
    ("~0.0.1", "0.1.0", False, False),
    ("^1.2.3", "2.0.0", False, False),
    ("^1.2.3", "2.0.0-0", False, False),
    ("^0.1.2", "0.2.0", False, False),
    ("^0.0.3", "0.0.4", False, False),
    ("^1.2.3-beta.2", "1.2.4-beta.4", False, False),
    ("^1.2.3-beta.4", "1.2.3-beta.2", False, False),
    ("1.x", "2.0.0", False, False),
    ("1.2.*", "1.3.0", False, False),
    (">1.x", "1.9.9", False, False),
    ("<1.x", "1.0.0", False, False),
    ("<=1.2.x", "1.3.0", False, False),
    ("*", "1.0.0-rc.1", False, False),
    ("", "1.0.0-rc.1", False, False),
    ("1.x", "1.1.0-0", False, False),
    (">*", "1.0.0", False, False),
    ("<*", "1.0.0", False, False),
    ("1.2.3 - 2.3.4", "2.3.5", False, False),
    ("1.2 - 2.3", "2.4.0", False, False),
    ("1.0.0 - 2.0.0", "2.0.1-0", False, True),
    ("1.0.0 - 2.0.0", "2.0.0-0", False, False),
    ("1.0.0 || 2.0.0", "1.5.0", False, False),
    ("==1.2.3", "1.2.3", False, False),  # not a strict comparator: the range is invalid
    ("1.2.3 garbage", "1.2.3", False, False),
    ("1.x.5", "1.0.5", False, False),
    ("x.1", "1.1.0", False, False),
    (">=1.2.3 <1.2.3", "1.2.3", False, False),
    ("^1.2.3", "1.2.3-beta", False, True),
    ("~1.2.3", "1.2.3-beta", False, True),
    ("<1.2.3", "1.2.3-beta", False, False),
    (">=1.2.3", "not a version", False, False),
    ("1.2.3", "1.2.3.4", False, False),
    ("^9007199254740991.0.0", "9007199254740991.0.0", False, False),
]


@pytest.mark.parametrize(("rng", "version", "loose", "ip"), INCLUDE)
def test_range_includes(rng: str, version: str, loose: bool, ip: bool) -> None:
    assert semver.satisfies(version, rng, loose=loose, include_prerelease=ip) is True
    r = semver.parse_range(rng, loose=loose, include_prerelease=ip)
    v = semver.parse(version, loose=loose)
    assert r is not None and v is not None and r.test(v)


@pytest.mark.parametrize(("rng", "version", "loose", "ip"), EXCLUDE)
def test_range_excludes(rng: str, version: str, loose: bool, ip: bool) -> None:
    assert semver.satisfies(version, rng, loose=loose, include_prerelease=ip) is False


@pytest.mark.parametrize(
    ("rng", "version", "without", "with_"),
    [
        # a prerelease passes only a set with a prerelease on the same major.minor.patch
        (">=1.2.3-alpha", "1.2.3-beta", True, True),
        (">=1.2.3-alpha", "1.2.4-beta", False, True),
        (">=1.2.3-alpha <1.3.0", "1.2.9-rc", False, True),
        ("^1.2.3-alpha", "1.2.3-rc.1", True, True),
        ("^1.2.3", "1.2.4-rc.1", False, True),
        ("~2.0.0-0", "2.0.0-1", True, True),
        ("1.0.0 - 2.0.0-rc", "2.0.0-beta", True, True),
        ("<2.0.0", "2.0.0-rc.1", False, True),
        ("<2.0.0-rc.2", "2.0.0-rc.1", True, True),
        ("1.2.3-alpha || 1.2.4", "1.2.3-alpha", True, True),
        (">1.2.3-alpha || >=2", "2.0.0-beta", False, True),
        ("*", "0.0.1-0", False, True),
    ],
)
def test_prerelease_rule_with_and_without_include_prerelease(
    rng: str, version: str, without: bool, with_: bool
) -> None:
    assert semver.satisfies(version, rng) is without
    assert semver.satisfies(version, rng, include_prerelease=True) is with_


# --- ranges: canonical form -----------------------------------------------------------

CANONICAL = [
    # (range, loose, include_prerelease, npm's validRange)
    ("1.0.0 - 2.0.0", False, False, ">=1.0.0 <=2.0.0"),
    ("1.0.0 - 2.0.0", False, True, ">=1.0.0-0 <2.0.1-0"),
    ("1 - 2", False, False, ">=1.0.0 <3.0.0-0"),
    ("1.2 - 3.4", False, False, ">=1.2.0 <3.5.0-0"),
    ("1.2.3 - 3.4.5-rc", False, False, ">=1.2.3 <=3.4.5-rc"),
    ("1.0.0", False, False, "1.0.0"),
    ("=1.0.0", False, False, "1.0.0"),
    ("v1.0.0", False, False, "1.0.0"),
    (">=*", False, False, "*"),
    ("", False, False, "*"),
    ("*", False, False, "*"),
    ("x", False, False, "*"),
    ("||", False, False, "*"),
    (">=0.0.0", False, False, "*"),
    (">=0.0.0-0", False, True, "*"),
    (">*", False, False, "<0.0.0-0"),
    ("<x", False, False, "<0.0.0-0"),
    (">= 1.0.0", False, False, ">=1.0.0"),
    (">=  1.0.0", False, False, ">=1.0.0"),
    ("<\t1.0.0", False, False, "<1.0.0"),
    (">1.0.0 <2", False, False, ">1.0.0 <2.0.0-0"),
    ("~1.2.3", False, False, ">=1.2.3 <1.3.0-0"),
    ("~1.2", False, False, ">=1.2.0 <1.3.0-0"),
    ("~1", False, False, ">=1.0.0 <2.0.0-0"),
    ("~1.2", False, True, ">=1.2.0-0 <1.3.0-0"),
    ("~> 1.2.3", False, False, ">=1.2.3 <1.3.0-0"),
    ("~1.2.3-beta", False, False, ">=1.2.3-beta <1.3.0-0"),
    ("^1.2.3", False, False, ">=1.2.3 <2.0.0-0"),
    ("^0.2.3", False, False, ">=0.2.3 <0.3.0-0"),
    ("^0.0.3", False, False, ">=0.0.3 <0.0.4-0"),
    ("^0.0", False, False, "<0.1.0-0"),  # >=0.0.0 is dropped as "any"
    ("^1.2", False, True, ">=1.2.0-0 <2.0.0-0"),
    ("^0.0.1-beta", False, False, ">=0.0.1-beta <0.0.2-0"),
    ("^*", False, False, "*"),
    ("1.x", False, False, ">=1.0.0 <2.0.0-0"),
    ("1.2.x", False, True, ">=1.2.0-0 <1.3.0-0"),
    (">1.2", False, False, ">=1.3.0"),
    ("<=1.2", False, False, "<1.3.0-0"),
    ("<1.2", False, False, "<1.2.0-0"),
    (">=1.2", False, True, ">=1.2.0-0"),
    ("1.2.3 >1.2.3 1.2.3", False, False, "1.2.3 >1.2.3"),
    ("* 1.2.3", False, False, "1.2.3"),
    ("1.2.3 || *", False, False, "*"),
    ("<0.0.0-0 || 1.2.3", False, False, "1.2.3"),
    ("1.2.3 <0.0.0-0 >1", False, False, "<0.0.0-0"),
    ("1.2.3+build", False, False, "1.2.3"),
    ("1.x+build", False, False, ">=1.0.0 <2.0.0-0"),
    ("^1.2.3+build", False, False, ">=1.2.3 <2.0.0-0"),
    ("1.0.0 || 2.0.0", False, False, "1.0.0||2.0.0"),
    ("  1.0.0   ||  2.0.0  ", False, False, "1.0.0||2.0.0"),
    ("~v0.5.4-pre", True, False, ">=0.5.4-pre <0.6.0-0"),
    ("=0.7.x", True, False, ">=0.7.0 <0.8.0-0"),
    (">=01.02.03", True, False, ">=1.2.3"),
    ("1.2.3 foo 4.5.6", True, False, "1.2.3 4.5.6"),
    ("foo", True, False, None),
    ("foo", False, False, None),
    ("1.2.3 foo", False, False, None),
    (">=1.2.3 garbage <2", False, False, None),
    (">", False, False, None),
    ("1.x.5", False, False, None),
    ("x.1", False, False, None),
    (">=01.2.3", False, False, None),
    ("~9007199254740991", False, False, None),
    ("1.2.3 - ", False, False, None),
]


@pytest.mark.parametrize(("rng", "loose", "ip", "expect"), CANONICAL)
def test_valid_range_gives_npm_canonical_form(
    rng: str, loose: bool, ip: bool, expect: str | None
) -> None:
    assert semver.valid_range(rng, loose=loose, include_prerelease=ip) == expect


def test_parse_range_is_cached_and_keeps_comparators_as_op_version_tuples() -> None:
    r = semver.parse_range("^1.2.3 || 2.x")
    assert r is semver.parse_range("^1.2.3 || 2.x")
    assert r is not semver.parse_range("^1.2.3 || 2.x", include_prerelease=True)
    assert isinstance(r, Range)
    assert r.sets == (
        ((">=", Version(1, 2, 3)), ("<", Version(2, 0, 0, (0,)))),
        ((">=", Version(2, 0, 0)), ("<", Version(3, 0, 0, (0,)))),
    )
    assert str(r) == ">=1.2.3 <2.0.0-0||>=2.0.0 <3.0.0-0"
    assert semver.parse_range("*").sets == ((("", None),),)  # type: ignore[union-attr]


# --- max / min satisfying -------------------------------------------------------------

MANY = [
    "1.0.0",
    "1.2.0",
    "1.2.3",
    "1.3.0-beta.1",
    "1.3.0",
    "2.0.0-rc.1",
    "2.0.0",
    "2.1.0",
    "junk",
]


@pytest.mark.parametrize(
    ("rng", "ip", "best", "least"),
    [
        ("^1.2.0", False, "1.3.0", "1.2.0"),
        ("~1.2.0", False, "1.2.3", "1.2.0"),
        ("*", False, "2.1.0", "1.0.0"),
        ("^2.0.0-rc.0", False, "2.1.0", "2.0.0-rc.1"),
        ("^1.3.0-0", False, "1.3.0", "1.3.0-beta.1"),
        (">=2.0.0-0", True, "2.1.0", "2.0.0-rc.1"),
        ("3.x", False, None, None),
        ("not a range", False, None, None),
    ],
)
def test_max_and_min_satisfying(
    rng: str, ip: bool, best: str | None, least: str | None
) -> None:
    assert semver.max_satisfying(MANY, rng, include_prerelease=ip) == best
    assert semver.min_satisfying(MANY, rng, include_prerelease=ip) == least


def test_max_satisfying_keeps_the_first_of_equal_versions_and_returns_the_input_string() -> (
    None
):
    assert semver.max_satisfying(["1.2.3+a", "v1.2.3", "1.2.3+b"], "1.x") == "1.2.3+a"
    assert semver.max_satisfying(["=1.2.3", "1.2.2"], "^1", loose=True) == "=1.2.3"
    assert semver.max_satisfying([], "*") is None


# --- intersects -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "ip", "a_b", "b_a"),
    [
        ("^1.2.0", "~1.3.0", False, True, True),
        ("^1.2.0", "^2.0.0", False, False, False),
        ("1.x", "1.2.3", False, True, True),
        ("<1.0.0 >2.0.0", ">0.0.0", False, False, False),
        (">=1.0.0 <1.5.0", ">=1.5.0", False, False, False),
        (">=1.0.0 <=1.5.0", ">=1.5.0", False, True, True),
        # npm's Comparator.intersects is not symmetric for a bare version vs "any"
        ("*", "1.0.0-beta", False, True, False),
        ("*", "1.0.0-beta", True, True, True),
        ("1.3.0 || <1.0.0 >2.0.0", "1.3.0 || <1.0.0 >2.0.0", False, True, True),
        ("<0.0.0-0", "*", False, True, True),
        ("<0.0.0-0", ">=1.0.0", False, False, False),
        ("", "", False, True, True),
        ("~1.2.3", "junk", False, False, False),  # npm throws here
    ],
)
def test_intersects(a: str, b: str, ip: bool, a_b: bool, b_a: bool) -> None:
    assert semver.intersects(a, b, include_prerelease=ip) is a_b
    assert semver.intersects(b, a, include_prerelease=ip) is b_a


# --- invalid input never raises, hostile input stays linear ---------------------------

STRANGE = [
    None,
    False,
    0,
    1.5,
    float("nan"),
    ["1.2.3"],
    {"v": 1},
    re.compile("1.2.3"),
    b"1.2.3",
    object(),
]


@pytest.mark.parametrize("thing", STRANGE, ids=repr)
def test_non_strings_are_invalid_everywhere(thing: object) -> None:
    assert semver.parse(thing) is None
    assert semver.valid(thing, loose=True) is None
    assert semver.compare(thing, "1.2.3") is None
    assert semver.compare_build("1.2.3", thing) is None
    assert semver.satisfies(thing, "*") is False
    assert semver.satisfies("1.2.3", thing) is False
    assert semver.valid_range(thing) is None
    assert semver.parse_range(thing) is None
    assert semver.intersects(thing, "*") is False
    assert semver.max_satisfying(["1.2.3"], thing) is None


@pytest.mark.parametrize(
    "junk",
    [
        "||||",
        "- - -",
        "^~>=<",
        "1.2.3 - - 4",
        ">=v",
        "~>",
        "x.x.x.x",
        "1.2.3-+",
        "\x00",
        "😀 1.2.3",
        "<<1",
        ">=>=1",
    ],
)
def test_junk_never_raises(junk: str) -> None:
    for loose in (False, True):
        semver.valid_range(junk, loose=loose)
        semver.satisfies("1.2.3", junk, loose=loose)
        semver.satisfies(junk, "*", loose=loose)
        semver.intersects(junk, junk, loose=loose)
        semver.compare(junk, junk, loose=loose)


def test_half_a_million_spaces_collapse() -> None:
    rng = "1.2.3 " + " " * 500_000 + " <1.3.0"
    assert semver.valid_range(rng) == "1.2.3 <1.3.0"
    assert semver.satisfies("1.2.3", rng) is True
    assert semver.max_satisfying(["1.2.3"], rng) == "1.2.3"


def test_half_a_million_zeros_are_an_invalid_comparator() -> None:
    rng = "1.2.3 " + "0" * 500_000 + " <1.3.0"
    assert semver.valid_range(rng) is None
    assert semver.satisfies("1.2.3", rng) is False


@pytest.mark.parametrize(
    "unit",
    [
        "v",
        "=",
        "> ",
        "~ ",
        "||",
        "1.",
        "1 - 2 ",
        "1.2.3-a.",
        "9" * 300 + ".",
        "+a.",
        "0a",
    ],
)
def test_hostile_ranges_finish(unit: str) -> None:
    rng = unit * (100_000 // len(unit))
    for loose in (False, True):
        got = semver.valid_range(rng, loose=loose)
        assert got is None or isinstance(got, str)
        assert semver.satisfies("1.2.3", rng, loose=loose) in (True, False)


def test_long_hostile_versions_are_rejected() -> None:
    assert semver.parse(" " * 500_000 + "1.2.3" + " " * 500_000) is None
    assert semver.parse("1.2.3-" + "a." * 300_000 + "a") is None
    assert semver.parse("1" * 500_000 + ".0.0", loose=True) is None
    assert (
        semver.satisfies("1.2.3-" + "0" * 500_000, "*", include_prerelease=True)
        is False
    )


@pytest.mark.parametrize(
    ("sub", "dom", "want"),
    [  # answers of npm's semver 7.8.5 subset(sub, dom, {loose: true})
        ("^4.18.1", "^4", True),
        ("^2.4.2", ">=1 <3", True),
        ("^4.17.20", ">=3 <4.17.21", False),
        ("^4.17.23", "~4.17.0", False),
        ("~4.17.23", "~4.17.0", True),
        ("4.17.20", ">=3 <4.17.21", True),
        ("^1.2.3", "*", True),
        ("^1.2.3-beta.1", "^1.2.0", False),
        ("^1.2.3-beta.1", ">=1.2.3-alpha <2", True),
        ("1.2.3", "1.2.3 || 2", True),
        (">2 <1", "1.0.0", True),
        ("^1.0.0", "not a range", False),
    ],
)
def test_subset(sub: str, dom: str, want: bool) -> None:
    assert semver.subset(sub, dom, loose=True) is want
