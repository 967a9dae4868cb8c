"""weir.core.npm.semver against npm's own semver 7.8, on thousands of generated inputs.

The hand-written table in test_semver.py pins the rules we know about; this file finds
the ones we do not, by asking node. Inputs come from a grammar of realistic pieces
(small and huge numbers, x/X/*, prerelease and build identifiers, every operator,
hyphens, ``||``, odd whitespace, loose spellings) so that most cases are near a range's
bounds, where implementations disagree. Hypothesis runs derandomized: CI sees the same
cases every time.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from semver_oracle import NodeSemver, OracleUnavailable, ensure_installed, options
from weir.core.npm import semver

pytestmark = pytest.mark.network


@pytest.fixture(scope="session")
def node() -> Iterator[NodeSemver]:
    try:
        cache_dir = ensure_installed()
    except OracleUnavailable as e:  # a network test: no oracle is a failure, not a skip
        pytest.fail(f"npm's semver could not be installed as the oracle: {e}")
    oracle = NodeSemver(cache_dir)
    assert oracle.ask("version").startswith("7.8."), (
        "the oracle must be npm's semver 7.8.x"
    )
    yield oracle
    oracle.close()


def _settings(n: int) -> settings:
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.function_scoped_fixture,
        ],
    )


# --- the grammar --------------------------------------------------------------------

number = st.one_of(
    st.sampled_from(["0", "1", "2", "3"]),
    st.sampled_from(
        [
            "00",
            "01",
            "10",
            "999",
            "9007199254740991",
            "9007199254740992",
            "123456789012345678901",
        ]
    ),
)
x_char = st.sampled_from(["x", "X", "*"])
part = st.one_of(number, number, number, x_char)
pre_id = st.sampled_from(
    [
        "alpha",
        "beta",
        "rc",
        "0",
        "1",
        "2",
        "01",
        "-",
        "a-b",
        "0a",
        "beta-1",
        "9007199254740993",
    ]
)
prerelease = st.lists(pre_id, min_size=1, max_size=3).map(".".join)
build = st.lists(
    st.sampled_from(["build", "001", "sha", "1", "x"]), min_size=1, max_size=2
).map(".".join)
pre_sep = st.sampled_from(["-", "-", "-", ""])  # "" is loose-only: 1.2.3beta


@st.composite
def version_text(draw: st.DrawFn, parts_min: int = 3) -> str:
    """A version-ish string: usually valid, sometimes partial, loose or junk."""
    n = draw(st.integers(parts_min, 3))
    pieces = [draw(number if parts_min == 3 else part) for _ in range(n)]
    text = ".".join(pieces)
    if n == 3 and draw(st.booleans()):
        text += draw(pre_sep) + draw(prerelease)
    if n == 3 and draw(st.integers(0, 4)) == 0:
        text += "+" + draw(build)
    prefix = draw(st.sampled_from([""] * 8 + ["v", "=", "=v", "v=", " ", "V"]))
    suffix = draw(st.sampled_from([""] * 12 + [" ", ".4", "-", "+", "x"]))
    return prefix + text + suffix


versions = version_text()
ws = st.sampled_from(["", "", " ", "  ", "\t", " \n "])
operator = st.sampled_from(
    ["", "", "=", "<", ">", "<=", ">=", "~", "~>", "^", "v", "=v", ">=v", "< ="]
)


@st.composite
def simple(draw: st.DrawFn) -> str:
    op = draw(operator)
    gap = draw(st.sampled_from(["", "", "", " "]))
    return op + gap + draw(version_text(parts_min=1))


@st.composite
def hyphen(draw: st.DrawFn) -> str:
    sep = draw(st.sampled_from([" - ", " - ", "  -  ", " -", "-"]))
    return draw(version_text(parts_min=1)) + sep + draw(version_text(parts_min=1))


@st.composite
def comparator_set(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 5)) == 0:
        return draw(hyphen())
    items = draw(st.lists(simple(), min_size=1, max_size=3))
    return " ".join(items) if draw(st.integers(0, 3)) else draw(ws).join(items)


@st.composite
def range_text(draw: st.DrawFn) -> str:
    sets = draw(st.lists(comparator_set(), min_size=1, max_size=3))
    text = "".join(
        s + (draw(ws) + "||" + draw(ws) if i < len(sets) - 1 else "")
        for i, s in enumerate(sets)
    )
    return (
        draw(st.sampled_from(["", "", " "]))
        + text
        + draw(st.sampled_from(["", "", " "]))
    )


ranges = st.one_of(
    range_text(), range_text(), range_text(), st.sampled_from(["", "*", "x", "||", " "])
)
flags = st.tuples(st.booleans(), st.booleans())


# --- the checks ---------------------------------------------------------------------


@_settings(2000)
@given(v=versions, r=ranges, f=flags)
def test_satisfies_valid_and_valid_range_agree_with_npm(
    node: NodeSemver, v: str, r: str, f: tuple[bool, bool]
) -> None:
    loose, ip = f
    opts = options(loose, ip)
    want = node.ask_many(
        [
            {"op": "satisfies", "version": v, "range": r, "options": opts},
            {"op": "valid", "version": v, "options": opts},
            {"op": "validRange", "range": r, "options": opts},
        ]
    )
    got = [
        semver.satisfies(v, r, loose=loose, include_prerelease=ip),
        semver.valid(v, loose=loose),
        semver.valid_range(r, loose=loose, include_prerelease=ip),
    ]
    assert got == want, (
        f"satisfies/valid/validRange({v!r}, {r!r}, loose={loose}, includePrerelease={ip})"
    )


@_settings(800)
@given(a=versions, b=versions, loose=st.booleans())
def test_compare_agrees_with_npm(node: NodeSemver, a: str, b: str, loose: bool) -> None:
    want = node.ask("compare", a=a, b=b, options=options(loose))
    got = semver.compare(a, b, loose=loose)
    if isinstance(want, dict):  # npm throws on an invalid version; weir answers None
        assert got is None, f"compare({a!r}, {b!r}, loose={loose}): npm threw {want}"
    else:
        assert got == want, f"compare({a!r}, {b!r}, loose={loose})"


@_settings(600)
@given(vs=st.lists(versions, min_size=0, max_size=12), r=ranges, r2=ranges, f=flags)
def test_max_min_satisfying_and_intersects_agree_with_npm(
    node: NodeSemver, vs: list[str], r: str, r2: str, f: tuple[bool, bool]
) -> None:
    loose, ip = f
    opts = options(loose, ip)
    want = node.ask_many(
        [
            {"op": "maxSatisfying", "versions": vs, "range": r, "options": opts},
            {"op": "minSatisfying", "versions": vs, "range": r, "options": opts},
            {"op": "intersects", "a": r, "b": r2, "options": opts},
        ]
    )
    if isinstance(want[2], dict):  # npm throws on an invalid range; weir answers False
        want[2] = False
    got = [
        semver.max_satisfying(vs, r, loose=loose, include_prerelease=ip),
        semver.min_satisfying(vs, r, loose=loose, include_prerelease=ip),
        semver.intersects(r, r2, loose=loose, include_prerelease=ip),
    ]
    assert got == want, (
        f"max/minSatisfying({vs!r}, {r!r}) / intersects({r!r}, {r2!r}), loose={loose}, includePrerelease={ip}"
    )


@_settings(600)
@given(sub=st.one_of(ranges, st.builds("{}{}".format, st.sampled_from(["^", "~", ""]), versions)), dom=ranges, f=flags)
def test_subset_agrees_with_npm(node: NodeSemver, sub: str, dom: str, f: tuple[bool, bool]) -> None:
    """`weir add` saves ^version only when npm's subset says it is inside the range typed."""
    loose, ip = f
    want = node.ask("subset", a=sub, b=dom, options=options(loose, ip))
    if isinstance(want, dict):  # npm throws on an invalid range; weir answers False
        want = False
    assert semver.subset(sub, dom, loose=loose, include_prerelease=ip) == want, (
        f"subset({sub!r}, {dom!r}), loose={loose}, includePrerelease={ip}"
    )


@_settings(600)
@given(
    r=st.text(alphabet="0123.-+ xX*<>=~^|vab\t", max_size=30),
    v=st.sampled_from(
        ["1.2.3", "0.0.0", "1.0.0-0", "2.0.0", "1.2.3-a", "0.1.0", "3.0.0-b.1"]
    ),
    f=flags,
)
def test_character_soup_agrees_with_npm(
    node: NodeSemver, r: str, v: str, f: tuple[bool, bool]
) -> None:
    """Unstructured input: where a hand-written scanner and npm's regexes could part ways."""
    loose, ip = f
    opts = options(loose, ip)
    want = node.ask_many(
        [
            {"op": "validRange", "range": r, "options": opts},
            {"op": "satisfies", "version": v, "range": r, "options": opts},
            {"op": "valid", "version": r, "options": opts},
        ]
    )
    got = [
        semver.valid_range(r, loose=loose, include_prerelease=ip),
        semver.satisfies(v, r, loose=loose, include_prerelease=ip),
        semver.valid(r, loose=loose),
    ]
    assert got == want, (
        f"validRange/satisfies/valid on {r!r}, loose={loose}, includePrerelease={ip}"
    )
