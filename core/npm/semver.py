"""npm's semver, case for case: versions, precedence, ranges, and the prerelease rule.

The resolver asks "which of these thousands of versions satisfy this range?" and the
answer must be the one npm would give, or lockfiles drift. So this module follows the
observable behaviour of npm's ``semver`` 7.8.x (the release npm 11 and 12 bundle),
including its quirks, rather than the semver.org text.

Rules this module holds:

1. Invalid input never raises. ``parse``/``valid``/``valid_range``/``parse_range`` answer
   None, ``satisfies``/``intersects`` answer False, ``compare``/``compare_build`` answer
   None. Anything that is not a ``str`` (or a ``Version``) is invalid.
2. Versions are at most 256 characters and each of major, minor and patch is at most
   ``MAX_SAFE_INTEGER`` (2**53 - 1), as in npm.
3. Work is linear in the input's length. Whitespace is collapsed before any pattern
   runs, every regex is either anchored to one whitespace-free token or has only
   bounded quantifiers (npm's own "safe" bounds, which are observable at the edges),
   and the one unanchored pass npm runs over the whole range (joining an operator to
   its version, ``> 1.2.3`` -> ``>1.2.3``) is a hand-written scanner.
4. Ranges desugar exactly as npm's do (the same string rewriting steps, in the same
   order), because the canonical string (``valid_range``) and the odd edge cases both
   depend on that order. A parsed ``Range`` keeps its comparator sets as tuples of
   ``(operator, Version)`` and tests a version with at most two key comparisons per set.
5. Precedence ignores build metadata; ``Version`` equality and hashing follow precedence.
   A prerelease version only satisfies a comparator set in which some comparator has a
   prerelease on the same major.minor.patch, unless ``include_prerelease`` is set.
6. Results are cached: ``parse`` and ``parse_range`` are memoised by (string, flags), so
   the resolver parses each packument version and each range once.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "MAX_LENGTH",
    "MAX_SAFE_INTEGER",
    "Range",
    "Version",
    "compare",
    "compare_build",
    "intersects",
    "max_satisfying",
    "min_satisfying",
    "parse",
    "parse_range",
    "satisfies",
    "sort_parsed",
    "sort_versions",
    "subset",
    "valid",
    "valid_range",
]

MAX_LENGTH = 256
MAX_SAFE_INTEGER = 2**53 - 1
_CACHE_SIZE = 1 << 16

# ECMAScript's \s and String.prototype.trim set (Python's differs: \x1c-\x1f, \x85, no \ufeff).
_WS_CHARS = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_WS = "[\\t\\n\\x0b\\x0c\\r \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff]"

# --- the grammar, with npm's safe bounds: digits {,256}, identifier chars {,250}, \s {,1}
_NUM = r"0|[1-9][0-9]{0,256}"
_NUM_LOOSE = r"[0-9]{1,256}"
_NONNUM = r"[0-9]{0,256}[a-zA-Z-][a-zA-Z0-9-]{0,250}"
_PRID = f"(?:{_NONNUM}|{_NUM})"
_PRID_LOOSE = f"(?:{_NONNUM}|{_NUM_LOOSE})"
_PRE = rf"(?:-({_PRID}(?:\.{_PRID})*))"
_PRE_LOOSE = rf"(?:-?({_PRID_LOOSE}(?:\.{_PRID_LOOSE})*))"
_BID = r"[a-zA-Z0-9-]{1,250}"
_BUILD = rf"(?:\+({_BID}(?:\.{_BID})*))"
_FULL_PLAIN = rf"v?({_NUM})\.({_NUM})\.({_NUM}){_PRE}?{_BUILD}?"
_LOOSE_PLAIN = rf"[v={_WS[1:-1]}]*({_NUM_LOOSE})\.({_NUM_LOOSE})\.({_NUM_LOOSE}){_PRE_LOOSE}?{_BUILD}?"
_GTLT = r"((?:<|>)?=?)"


def _xrange_plain(loose: bool) -> str:
    xid = f"{_NUM_LOOSE if loose else _NUM}|x|X|\\*"
    pre = _PRE_LOOSE if loose else _PRE
    return rf"[v={_WS[1:-1]}]*({xid})(?:\.({xid})(?:\.({xid})(?:{pre})?{_BUILD}?)?)?"


class _Lazy:
    """A pattern compiled on first use: compiling all of this module's patterns costs 12-20 ms,
    most of a no-op install's own work, and most commands use a few of them.

    The first attribute asked for compiles the pattern and copies its methods
    onto the instance, so every later call goes straight to the compiled
    pattern's method (no ``__getattr__`` again).
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    def __getattr__(self, name: str) -> Any:
        compiled = re.compile(self.pattern)
        for method in ("match", "fullmatch", "search", "sub", "split"):
            setattr(self, method, getattr(compiled, method))
        return getattr(compiled, name)


_VERSION_RE = (_Lazy(_FULL_PLAIN), _Lazy(_LOOSE_PLAIN))  # fullmatch
# the common case, plain ``1.2.3``: at most 15 digits each keeps it below MAX_SAFE_INTEGER
_PLAIN_RE = _Lazy(r"(0|[1-9][0-9]{0,14})\.(0|[1-9][0-9]{0,14})\.(0|[1-9][0-9]{0,14})")
_COMPARATOR_RE = (
    _Lazy(rf"{_GTLT}{_WS}?({_FULL_PLAIN})"),
    _Lazy(rf"{_GTLT}{_WS}?({_LOOSE_PLAIN})"),
)
_XRANGE_RE = tuple(
    _Lazy(rf"{_GTLT}{_WS}?{_xrange_plain(lo)}") for lo in (False, True)
)
_TILDE_RE = tuple(_Lazy(rf"~>?{_xrange_plain(lo)}") for lo in (False, True))
_CARET_RE = tuple(_Lazy(rf"\^{_xrange_plain(lo)}") for lo in (False, True))
_HYPHEN_RE = tuple(
    _Lazy(rf"{_WS}?({_xrange_plain(lo)}){_WS}-{_WS}({_xrange_plain(lo)}){_WS}?")
    for lo in (False, True)
)
_GTE0_RE = (
    _Lazy(rf"{_WS}?>={_WS}?0\.0\.0{_WS}?"),
    _Lazy(rf"{_WS}?>={_WS}?0\.0\.0-0{_WS}?"),
)
_STAR_RE = _Lazy(rf"(<|>)?=?{_WS}?\*")
_TILDE_TRIM_RE = _Lazy(rf"({_WS}?)~>?{_WS}")
_CARET_TRIM_RE = _Lazy(rf"({_WS}?)\^{_WS}")
# npm strips build metadata from a range with an unbounded pattern; it cannot backtrack.
_BUILD_STRIP_RE = _Lazy(r"\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*")
_WS_RUN_RE = _Lazy(f"{_WS}+")
_SPACES_RE = _Lazy(" +")
_DIGITS_RE = _Lazy(r"[0-9]*")
_ZEROS_RE = _Lazy(r"0*")
_PREFIX_RUN_RE = _Lazy(rf"[v={_WS[1:-1]}]*")
_CANDIDATE_RE = _Lazy(rf"[<>v=0-9xX*{_WS[1:-1]}]")
# where a version ends once the operator-joining scan has found one (LOOSEPLAIN | XRANGEPLAIN)
_LOOSE_TAIL_RE = _Lazy(
    rf"({_NUM_LOOSE})\.({_NUM_LOOSE})\.({_NUM_LOOSE}){_PRE_LOOSE}?{_BUILD}?"
)
_XRANGE_TAIL_RE = _Lazy(_xrange_plain(False)[len(f"[v={_WS[1:-1]}]*") :])
_DIGIT_STRING_RE = re.compile(r"[0-9]+")


class _Invalid(Exception):
    """Internal: a range or comparator npm would throw on."""


# ----------------------------------------------------------------------------- versions


def _id_key(ident: int | str) -> tuple[int, int | str]:
    return (0, ident) if isinstance(ident, int) else (1, ident)


@dataclass(frozen=True, slots=True, eq=False, init=False)
class Version:
    """One npm version. Ordered by npm precedence; ``str()`` is npm's normalized form.

    Numeric prerelease identifiers are ints (as in npm, only below MAX_SAFE_INTEGER);
    build identifiers are strings. Equality ignores build metadata, like npm's ``eq``.
    The constructor is written out by hand (slot setters, no ``__post_init__``): a
    resolve builds one per published version it sorts, thousands per run.
    """

    major: int
    minor: int
    patch: int
    prerelease: tuple[int | str, ...] = ()
    build: tuple[str, ...] = ()
    _text: str = field(default="", repr=False)
    _key: tuple = field(default=(), repr=False)
    # a prerelease identifier of digits too big for a number: npm then compares as doubles
    # and stops at the first pair that is numerically equal but spelled differently.
    _odd: bool = field(default=False, repr=False)

    def __init__(
        self,
        major: int,
        minor: int,
        patch: int,
        prerelease: tuple[int | str, ...] = (),
        build: tuple[str, ...] = (),
    ) -> None:
        _set_major(self, major)
        _set_minor(self, minor)
        _set_patch(self, patch)
        _set_prerelease(self, prerelease)
        _set_build(self, build)
        if prerelease:
            _set_text(self, f"{major}.{minor}.{patch}-" + ".".join(map(str, prerelease)))
            _set_key(self, (major, minor, patch, 0, tuple(map(_id_key, prerelease))))
            _set_odd(self, any(isinstance(i, str) and _DIGIT_STRING_RE.fullmatch(i) for i in prerelease))
        else:
            _set_text(self, f"{major}.{minor}.{patch}")
            _set_key(self, (major, minor, patch, 1, ()))
            _set_odd(self, False)

    def __str__(self) -> str:
        return self._text

    def _cmp(self, other: Version) -> int:
        if self._odd or other._odd:
            return _compare_exact(self, other)
        a, b = self._key, other._key
        return 0 if a == b else (-1 if a < b else 1)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._cmp(other) == 0

    def __hash__(self) -> int:
        return hash((self.major, self.minor, self.patch, bool(self.prerelease)))

    def __lt__(self, other: Version) -> bool:
        return self._cmp(other) < 0

    def __le__(self, other: Version) -> bool:
        return self._cmp(other) <= 0

    def __gt__(self, other: Version) -> bool:
        return self._cmp(other) > 0

    def __ge__(self, other: Version) -> bool:
        return self._cmp(other) >= 0


# The slots' own setters: they skip the frozen dataclass's refusing __setattr__.
_set_major = Version.major.__set__  # type: ignore[attr-defined]
_set_minor = Version.minor.__set__  # type: ignore[attr-defined]
_set_patch = Version.patch.__set__  # type: ignore[attr-defined]
_set_prerelease = Version.prerelease.__set__  # type: ignore[attr-defined]
_set_build = Version.build.__set__  # type: ignore[attr-defined]
_set_text = Version._text.__set__  # type: ignore[attr-defined]
_set_key = Version._key.__set__  # type: ignore[attr-defined]
_set_odd = Version._odd.__set__  # type: ignore[attr-defined]


_new_version = object.__new__


def _assemble(
    major: int,
    minor: int,
    patch: int,
    pre: tuple[int | str, ...],
    build: tuple[str, ...],
    text: str,
    key: tuple,
    odd: bool,
) -> Version:
    """A Version from parts the parser has already derived (what ``__init__`` would compute)."""
    v = _new_version(Version)
    _set_major(v, major)
    _set_minor(v, minor)
    _set_patch(v, patch)
    _set_prerelease(v, pre)
    _set_build(v, build)
    _set_text(v, text)
    _set_key(v, key)
    _set_odd(v, odd)
    return v


def _compare_ids(a: int | str, b: int | str) -> int:
    """npm's compareIdentifiers: digit strings compare as JS numbers (doubles)."""
    if isinstance(a, int) and isinstance(b, int):
        return 0 if a == b else (-1 if a < b else 1)
    anum = isinstance(a, int) or _DIGIT_STRING_RE.fullmatch(a) is not None
    bnum = isinstance(b, int) or _DIGIT_STRING_RE.fullmatch(b) is not None
    if anum and bnum:
        fa, fb = float(a), float(b)
        return 0 if fa == fb else (-1 if fa < fb else 1)
    if anum:
        return -1
    if bnum:
        return 1
    return 0 if a == b else (-1 if a < b else 1)  # type: ignore[operator]


def _compare_id_lists(a: tuple, b: tuple) -> int:
    for i in range(max(len(a), len(b))):
        if i >= len(b):
            return 1
        if i >= len(a):
            return -1
        x, y = a[i], b[i]
        if type(x) is type(y) and x == y:
            continue
        return _compare_ids(x, y)
    return 0


def _compare_exact(a: Version, b: Version) -> int:
    if a._text == b._text:
        return 0
    ma, mb = (a.major, a.minor, a.patch), (b.major, b.minor, b.patch)
    if ma != mb:
        return -1 if ma < mb else 1
    if a.prerelease and not b.prerelease:
        return -1
    if b.prerelease and not a.prerelease:
        return 1
    return _compare_id_lists(a.prerelease, b.prerelease)


def _js_trim(s: str) -> str:
    return s.strip(_WS_CHARS)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _parse_cached(text: str, loose: bool) -> Version | None:
    m = _PLAIN_RE.fullmatch(text)
    if m is not None:  # most published versions: valid in both modes, and already normalized
        major, minor, patch = int(m.group(1)), int(m.group(2)), int(m.group(3))
        return _assemble(major, minor, patch, (), (), text, (major, minor, patch, 1, ()), False)
    m = _VERSION_RE[loose].fullmatch(_js_trim(text))
    if m is None:
        return None
    major_s, minor_s, patch_s, pre_s, build_s = m.groups()
    major, minor, patch = int(major_s), int(minor_s), int(patch_s)
    if major > MAX_SAFE_INTEGER or minor > MAX_SAFE_INTEGER or patch > MAX_SAFE_INTEGER:
        return None
    build = tuple(build_s.split(".")) if build_s else ()
    if not pre_s:
        return _assemble(major, minor, patch, (), build, f"{major}.{minor}.{patch}", (major, minor, patch, 1, ()), False)
    # One pass over the identifiers works out what Version.__init__ would derive.
    ids: list[int | str] = []
    keys: list[tuple[int, int | str]] = []
    odd = False
    spelled_as_parsed = True  # no numeric identifier with a leading zero (loose allows "01")
    for ident in pre_s.split("."):
        if ident.isdigit() and ident.isascii():
            n = int(ident)
            if n < MAX_SAFE_INTEGER:
                ids.append(n)
                keys.append((0, n))
                if ident[0] == "0" and len(ident) > 1:
                    spelled_as_parsed = False
                continue
            odd = True  # too big for a number: kept as its digits
        ids.append(ident)
        keys.append((1, ident))
    pre_text = pre_s if spelled_as_parsed else ".".join(map(str, ids))
    pre = tuple(ids)
    return _assemble(
        major, minor, patch, pre, build, f"{major}.{minor}.{patch}-{pre_text}", (major, minor, patch, 0, tuple(keys)), odd
    )


def parse(v: object, *, loose: bool = False) -> Version | None:
    """The version ``v`` denotes, or None when npm's ``semver.parse`` rejects it."""
    if isinstance(v, Version):
        return v
    if not isinstance(v, str) or len(v) > MAX_LENGTH:
        return None
    return _parse_cached(v, loose)


def valid(v: object, *, loose: bool = False) -> str | None:
    """npm's normalized spelling of ``v`` (no ``v`` prefix, no build), or None."""
    parsed = parse(v, loose=loose)
    return None if parsed is None else parsed._text


def compare(a: object, b: object, *, loose: bool = False) -> int | None:
    """-1, 0 or 1 by npm precedence (build ignored); None if either is invalid."""
    va, vb = parse(a, loose=loose), parse(b, loose=loose)
    if va is None or vb is None:
        return None
    return va._cmp(vb)


def compare_build(a: object, b: object, *, loose: bool = False) -> int | None:
    """Like ``compare``, then build identifiers break ties (npm's ``compareBuild``)."""
    va, vb = parse(a, loose=loose), parse(b, loose=loose)
    if va is None or vb is None:
        return None
    return va._cmp(vb) or _compare_id_lists(va.build, vb.build)


def sort_versions(versions: Iterable[str], *, loose: bool = False) -> list[str]:
    """The valid strings of ``versions`` in ascending precedence (stable); invalid dropped."""
    return [v for v, _ in sort_parsed(versions, loose=loose)]


def sort_parsed(versions: Iterable[str], *, loose: bool = False) -> list[tuple[str, Version]]:
    """``sort_versions`` with each string's parsed ``Version`` beside it."""
    parsed = [
        (v, p)
        for v in versions
        if (p := _parse_cached(v, loose) if type(v) is str and len(v) <= MAX_LENGTH else parse(v, loose=loose))
        is not None
    ]
    if any(p._odd for _, p in parsed):
        parsed.sort(key=lambda vp: vp[1])  # npm's double-precision quirk needs the full comparison
    else:
        parsed.sort(key=lambda vp: vp[1]._key)  # plain tuples: no Python-level comparisons
    return parsed


# ----------------------------------------------------------------------------- ranges

# A comparator: (operator, version). operator is one of "", "<", "<=", ">", ">=";
# version None means "any" (npm's empty comparator).
Comparator = tuple[str, "Version | None"]
_NULL_VALUE = "<0.0.0-0"


def _value(comp: Comparator) -> str:
    op, ver = comp
    return "" if ver is None else op + ver._text


@dataclass(frozen=True, slots=True, eq=False)
class _CompiledSet:
    """One ``||`` alternative reduced to an interval, for the fast path of ``Range.test``."""

    low: tuple | None
    low_inclusive: bool
    high: tuple | None
    high_inclusive: bool
    # major.minor.patch of the comparators that carry a prerelease (npm's prerelease rule)
    prerelease_tuples: frozenset[tuple[int, int, int]]


def _compile_set(comps: tuple[Comparator, ...]) -> _CompiledSet | None:
    """Interval form of a set; None when exact npm comparison is needed (odd identifiers)."""
    low: tuple | None = None
    low_inc = True
    high: tuple | None = None
    high_inc = True
    pre: set[tuple[int, int, int]] = set()
    for op, ver in comps:
        if ver is None:
            continue
        if ver._odd:
            return None
        if ver.prerelease:
            pre.add((ver.major, ver.minor, ver.patch))
        k = ver._key
        if op in ("", ">=", ">"):
            inc = op != ">"
            if low is None or k > low or (k == low and not inc):
                low, low_inc = k, inc
        if op in ("", "<=", "<"):
            inc = op != "<"
            if high is None or k < high or (k == high and not inc):
                high, high_inc = k, inc
    return _CompiledSet(low, low_inc, high, high_inc, frozenset(pre))


def _comparator_test(comp: Comparator, v: Version) -> bool:
    op, ver = comp
    if ver is None:
        return True
    c = v._cmp(ver)
    if op == "":
        return c == 0
    if op == ">=":
        return c >= 0
    if op == ">":
        return c > 0
    if op == "<":
        return c < 0
    return c <= 0


class Range:
    """A parsed npm range: ``sets`` are the ``||`` alternatives, each a tuple of comparators.

    Build one with ``parse_range`` (cached); ``test`` is the hot path.
    """

    __slots__ = ("_compiled", "include_prerelease", "loose", "sets")

    def __init__(
        self,
        sets: tuple[tuple[Comparator, ...], ...],
        *,
        loose: bool,
        include_prerelease: bool,
    ) -> None:
        self.sets = sets
        self.loose = loose
        self.include_prerelease = include_prerelease
        compiled = [c for s in sets if (c := _compile_set(s)) is not None]
        self._compiled = tuple(compiled) if len(compiled) == len(sets) else None

    def __str__(self) -> str:
        """npm's canonical form (``Range.range``): '' means any version."""
        return "||".join(" ".join(_value(c) for c in s) for s in self.sets)

    def __repr__(self) -> str:
        return f"Range({str(self)!r})"

    def test(self, version: Version) -> bool:
        """Whether ``version`` satisfies this range, by npm's rules."""
        if self._compiled is not None and not version._odd:
            k = version._key
            # None: no prerelease rule applies; else the tuple a set must carry
            main = (
                (version.major, version.minor, version.patch)
                if version.prerelease and not self.include_prerelease
                else None
            )
            for cs in self._compiled:
                low, high = cs.low, cs.high
                if low is not None and not (k > low or (cs.low_inclusive and k == low)):
                    continue
                if high is not None and not (
                    k < high or (cs.high_inclusive and k == high)
                ):
                    continue
                if main is None or main in cs.prerelease_tuples:
                    return True
            return False
        return any(self._test_set_exact(s, version) for s in self.sets)

    def _test_set_exact(self, comps: tuple[Comparator, ...], version: Version) -> bool:
        if not all(_comparator_test(c, version) for c in comps):
            return False
        if version.prerelease and not self.include_prerelease:
            main = (version.major, version.minor, version.patch)
            return any(
                ver is not None
                and ver.prerelease
                and (ver.major, ver.minor, ver.patch) == main
                for _, ver in comps
            )
        return True

    def intersects(self, other: Range) -> bool:
        """Whether some version could satisfy both ranges (npm's ``Range.intersects``)."""
        return any(
            self._satisfiable(mine)
            and any(
                self._satisfiable(theirs)
                and all(self._comps_intersect(a, b) for a in mine for b in theirs)
                for theirs in other.sets
            )
            for mine in self.sets
        )

    def _satisfiable(self, comps: tuple[Comparator, ...]) -> bool:
        return all(
            self._comps_intersect(comps[j], comps[i])
            for j in range(len(comps) - 1, 0, -1)
            for i in range(j)
        )

    def _comps_intersect(self, a: Comparator, b: Comparator) -> bool:
        """npm's ``Comparator.intersects``; not symmetric, so argument order matters."""
        (aop, aver), (bop, bver) = a, b
        flags = {"loose": self.loose, "include_prerelease": self.include_prerelease}
        if aop == "":
            if aver is None:
                return True
            r = parse_range(_value(b), **flags)
            v = parse(aver._text, loose=self.loose)
            return r is not None and v is not None and r.test(v)
        if bop == "":
            if bver is None:
                return True
            r = parse_range(_value(a), **flags)
            return r is not None and r.test(bver)
        assert aver is not None and bver is not None
        av, bv = _value(a), _value(b)
        if self.include_prerelease and _NULL_VALUE in (av, bv):
            return False
        if not self.include_prerelease and (
            av.startswith("<0.0.0") or bv.startswith("<0.0.0")
        ):
            return False
        if aop[0] == bop[0]:
            return True
        if aver._text == bver._text and "=" in aop and "=" in bop:
            return True
        c = aver._cmp(bver)
        return (c < 0 and aop[0] == ">" and bop[0] == "<") or (
            c > 0 and aop[0] == "<" and bop[0] == ">"
        )


# --- desugaring, step by step as npm does it


def _is_x(ident: str | None) -> bool:
    return not ident or ident in ("x", "X", "*")


def _js_inc(digits: str) -> str:
    """``String(+digits + 1)`` in JS, up to the point where any answer is an invalid version."""
    n = int(digits) + 1
    return str(n) if n < 10**21 else "1e+21"


def _hyphen_replace(m: re.Match[str], include_prerelease: bool) -> str:
    frm, fM, fm, fp, fpr = m.group(1, 2, 3, 4, 5)
    to, tM, tm, tp, tpr = m.group(7, 8, 9, 10, 11)
    z = "-0" if include_prerelease else ""
    if _is_x(fM):
        frm = ""
    elif _is_x(fm):
        frm = f">={fM}.0.0{z}"
    elif _is_x(fp):
        frm = f">={fM}.{fm}.0{z}"
    elif fpr:
        frm = f">={frm}"
    else:
        frm = f">={frm}{z}"
    if _is_x(tM):
        to = ""
    elif _is_x(tm):
        to = f"<{_js_inc(tM)}.0.0-0"
    elif _is_x(tp):
        to = f"<{tM}.{_js_inc(tm)}.0-0"
    elif tpr:
        to = f"<={tM}.{tm}.{tp}-{tpr}"
    elif include_prerelease:
        to = f"<{tM}.{tm}.{_js_inc(tp)}-0"
    else:
        to = f"<={to}"
    return _js_trim(f"{frm} {to}")


def _trim_comparator_whitespace(s: str) -> str:
    """npm's ``> 1.2.3`` -> ``>1.2.3`` pass, as a linear scan.

    npm replaces every match of ``(\\s?)(<|>)?=?\\s?(LOOSEPLAIN|XRANGEPLAIN)`` with the match
    minus the whitespace between operator and version. A match starts at a candidate
    character, runs through a prefix of v/=/whitespace, and needs a digit, x, X or * next;
    it then covers the whole version, and the search resumes after it.
    """
    n = len(s)
    out: list[str] = []
    copy_from = 0
    i = 0
    run_start = run_end = -1  # the digit run last measured
    while i < n:
        m = _CANDIDATE_RE.search(s, i)
        if m is None:
            break
        start = i = m.start()
        if s[i] in "<>":
            i += 1
        i = _PREFIX_RUN_RE.match(s, i).end()  # type: ignore[union-attr]
        if i >= n or s[i] not in "0123456789xX*":
            continue
        if start == i and s[i].isdigit():
            if not run_start <= i < run_end:
                run_start, run_end = i, _DIGITS_RE.match(s, i).end()  # type: ignore[union-attr]
            if run_end - i > 300:
                # deep inside a long digit run: no version can reach a dot, nothing is removed,
                # and the next match starts 1 (a zero) or 257 (a strict number) digits on.
                if s[i] == "0":
                    i = max(i + 1, _ZEROS_RE.match(s, i, run_end - 300).end())  # type: ignore[union-attr]
                else:
                    i += 257
                continue
        p = start
        if s[p] in _WS_CHARS:
            p += 1
        if p < n and s[p] in "<>":
            p += 1
        if p < n and s[p] == "=":
            p += 1
        if p < n and s[p] in _WS_CHARS:
            out.append(s[copy_from:p])
            copy_from = p + 1
        tail = _LOOSE_TAIL_RE.match(s, i) or _XRANGE_TAIL_RE.match(s, i)
        i = tail.end()  # type: ignore[union-attr]
    out.append(s[copy_from:])
    return "".join(out)


def _replace_caret(comp: str, loose: bool, z: str) -> str:
    m = _CARET_RE[loose].fullmatch(comp) if comp.startswith("^") else None
    if m is None:
        return comp
    M, mi, p, pr = m.group(1, 2, 3, 4)
    if _is_x(M):
        return ""
    if _is_x(mi):
        return f">={M}.0.0{z} <{_js_inc(M)}.0.0-0"
    if _is_x(p):
        if M == "0":
            return f">={M}.{mi}.0{z} <{M}.{_js_inc(mi)}.0-0"
        return f">={M}.{mi}.0{z} <{_js_inc(M)}.0.0-0"
    low = f">={M}.{mi}.{p}-{pr}" if pr else f">={M}.{mi}.{p}"
    if M == "0":
        if mi == "0":
            return f"{low} <{M}.{mi}.{_js_inc(p)}-0"
        return f"{low} <{M}.{_js_inc(mi)}.0-0"
    return f"{low} <{_js_inc(M)}.0.0-0"


def _replace_tilde(comp: str, loose: bool, z: str) -> str:
    m = _TILDE_RE[loose].fullmatch(comp) if comp.startswith("~") else None
    if m is None:
        return comp
    M, mi, p, pr = m.group(1, 2, 3, 4)
    if _is_x(M):
        return ""
    if _is_x(mi):
        return f">={M}.0.0{z} <{_js_inc(M)}.0.0-0"
    if _is_x(p):
        return f">={M}.{mi}.0{z} <{M}.{_js_inc(mi)}.0-0"
    if pr:
        return f">={M}.{mi}.{p}-{pr} <{M}.{_js_inc(mi)}.0-0"
    return f">={M}.{mi}.{p} <{M}.{_js_inc(mi)}.0-0"


def _replace_xrange(comp: str, loose: bool, include_prerelease: bool) -> str:
    comp = _js_trim(comp)
    m = _XRANGE_RE[loose].fullmatch(comp)
    if m is None:
        return comp
    gtlt, M, mi, p = m.group(1, 2, 3, 4)
    if (_is_x(M) and not _is_x(mi)) or (_is_x(mi) and p and not _is_x(p)):
        return comp  # 1.x.5, x.1: npm leaves these to fail as comparators
    xM = _is_x(M)
    xm = xM or _is_x(mi)
    xp = xm or _is_x(p)
    if gtlt == "=" and xp:
        gtlt = ""
    pr = "-0" if include_prerelease else ""
    if xM:
        return _NULL_VALUE if gtlt in (">", "<") else "*"
    if gtlt and xp:
        major: str = M
        minor: str = "0" if xm else mi
        if gtlt == ">":
            gtlt = ">="
            if xm:
                major, minor = _js_inc(M), "0"
            else:
                minor = _js_inc(mi)
        elif gtlt == "<=":
            gtlt = "<"
            if xm:
                major = _js_inc(M)
            else:
                minor = _js_inc(mi)
        if gtlt == "<":
            pr = "-0"
        return f"{gtlt}{major}.{minor}.0{pr}"
    if xm:
        return f">={M}.0.0{pr} <{_js_inc(M)}.0.0-0"
    if xp:
        return f">={M}.{mi}.0{pr} <{M}.{_js_inc(mi)}.0-0"
    return comp


def _desugar_token(tok: str, loose: bool, include_prerelease: bool) -> str:
    """npm's parseComparator for one whitespace-free token: carets, tildes, x-ranges, stars."""
    z = "-0" if include_prerelease else ""
    s = _replace_caret(tok, loose, z)
    s = " ".join(_replace_tilde(c, loose, z) for c in _split_ws(_js_trim(s)))
    s = " ".join(_replace_xrange(c, loose, include_prerelease) for c in _split_ws(s))
    s = _js_trim(s)
    if "*" in s:
        s = _STAR_RE.sub("", s, count=1)
    return s


def _split_ws(s: str) -> list[str]:
    """JS ``s.split(/\\s+/)`` for a string whose only whitespace is spaces."""
    return _SPACES_RE.split(s) if "  " in s else s.split(" ")


def _make_comparator(tok: str, loose: bool) -> Comparator:
    if tok == "":
        return ("", None)
    m = _COMPARATOR_RE[loose].fullmatch(tok)
    if m is None:
        raise _Invalid(tok)
    op = m.group(1)
    ver = parse(m.group(2), loose=loose)
    if ver is None:
        raise _Invalid(tok)
    return ("" if op == "=" else op, ver)


def _parse_alternative(
    part: str, loose: bool, include_prerelease: bool
) -> list[Comparator]:
    """One ``||`` alternative to its comparators (npm's Range.parseRange)."""
    if "+" in part:
        part = _BUILD_STRIP_RE.sub("", part)
    if " - " in part:
        m = _HYPHEN_RE[loose].fullmatch(part)
        if m is not None:
            part = _hyphen_replace(m, include_prerelease)
    if " " in part:
        part = _trim_comparator_whitespace(part)
    if "~" in part:
        part = _TILDE_TRIM_RE.sub(r"\1~", part)
    if "^" in part:
        part = _CARET_TRIM_RE.sub(r"\1^", part)
    desugared = " ".join(
        _desugar_token(t, loose, include_prerelease) for t in part.split(" ")
    )
    gte0 = _GTE0_RE[include_prerelease]
    tokens = [
        "" if gte0.fullmatch(t := _js_trim(c)) else t for c in _split_ws(desugared)
    ]
    if loose:
        tokens = [t for t in tokens if t == "" or _COMPARATOR_RE[True].fullmatch(t)]
    comps = [_make_comparator(t, loose) for t in tokens]
    seen: dict[str, Comparator] = {}
    for c in comps:
        value = _value(c)
        if value == _NULL_VALUE:
            return [c]
        seen.setdefault(value, c)
    if len(seen) > 1:
        seen.pop("", None)
    return list(seen.values())


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _parse_range_cached(
    text: str, loose: bool, include_prerelease: bool
) -> Range | None:
    raw = _WS_RUN_RE.sub(" ", _js_trim(text))
    try:
        sets = [
            _parse_alternative(_js_trim(p), loose, include_prerelease)
            for p in raw.split("||")
        ]
    except _Invalid:
        return None
    sets = [s for s in sets if s]
    if not sets:
        return None
    if len(sets) > 1:
        first = sets[0]
        sets = [s for s in sets if _value(s[0]) != _NULL_VALUE] or [first]
        if len(sets) > 1:
            for s in sets:
                if len(s) == 1 and s[0][1] is None:
                    sets = [s]
                    break
    return Range(
        tuple(tuple(s) for s in sets),
        loose=loose,
        include_prerelease=include_prerelease,
    )


def parse_range(
    range_: object, *, loose: bool = False, include_prerelease: bool = False
) -> Range | None:
    """The parsed range, or None when npm's ``new Range`` would throw. Cached."""
    if isinstance(range_, Range):
        if range_.loose == loose and range_.include_prerelease == include_prerelease:
            return range_
        range_ = str(range_)
    if not isinstance(range_, str):
        return None
    return _parse_range_cached(range_, loose, include_prerelease)


def valid_range(
    range_: object, *, loose: bool = False, include_prerelease: bool = False
) -> str | None:
    """npm's canonical form of the range (``*`` for any version), or None if invalid."""
    r = parse_range(range_, loose=loose, include_prerelease=include_prerelease)
    return None if r is None else (str(r) or "*")


def satisfies(
    v: object, range_: object, *, loose: bool = False, include_prerelease: bool = False
) -> bool:
    """Whether version ``v`` satisfies ``range_``; False for any invalid input."""
    r = parse_range(range_, loose=loose, include_prerelease=include_prerelease)
    if r is None:
        return False
    ver = parse(v, loose=loose)
    return ver is not None and r.test(ver)


def _best_satisfying(
    versions: Iterable[str],
    range_: object,
    loose: bool,
    include_prerelease: bool,
    want: int,
) -> str | None:
    r = parse_range(range_, loose=loose, include_prerelease=include_prerelease)
    if r is None:
        return None
    best: str | None = None
    best_v: Version | None = None
    test = r.test
    for v in versions:
        # the resolver's hot loop: skip parse()'s type dispatch for plain short strings
        ver = (
            _parse_cached(v, loose)
            if type(v) is str and len(v) <= MAX_LENGTH
            else parse(v, loose=loose)
        )
        if ver is None or not test(ver):
            continue
        if best_v is None or best_v._cmp(ver) == -want:
            best, best_v = v, ver
    return best


def max_satisfying(
    versions: Iterable[str],
    range_: object,
    *,
    loose: bool = False,
    include_prerelease: bool = False,
) -> str | None:
    """The highest of ``versions`` satisfying ``range_`` (first of equals), or None."""
    return _best_satisfying(versions, range_, loose, include_prerelease, 1)


def min_satisfying(
    versions: Iterable[str],
    range_: object,
    *,
    loose: bool = False,
    include_prerelease: bool = False,
) -> str | None:
    """The lowest of ``versions`` satisfying ``range_`` (first of equals), or None."""
    return _best_satisfying(versions, range_, loose, include_prerelease, -1)


def intersects(
    r1: object, r2: object, *, loose: bool = False, include_prerelease: bool = False
) -> bool:
    """Whether some version could satisfy both ranges; False if either is invalid."""
    a = parse_range(r1, loose=loose, include_prerelease=include_prerelease)
    b = parse_range(r2, loose=loose, include_prerelease=include_prerelease)
    return a is not None and b is not None and a.intersects(b)


# ----------------------------------------------------------------------------- subset
# npm's ``subset(sub, dom)``: is every version ``sub`` allows also allowed by ``dom``?
# `weir add` needs it to save what npm saves: ``^1.2.3`` replaces the range typed on the
# command line only when it allows nothing the typed range does not. Case for case as
# node-semver's ranges/subset.js; None in ``_simple_subset`` is its "null set" answer.

_MIN_VERSION: tuple[Comparator, ...] = ((">=", Version(0, 0, 0)),)
_MIN_VERSION_PRE: tuple[Comparator, ...] = ((">=", Version(0, 0, 0, (0,))),)


def subset(
    sub: object, dom: object, *, loose: bool = False, include_prerelease: bool = False
) -> bool:
    """Whether range ``sub`` is a subset of range ``dom``; False if either is invalid."""
    if isinstance(sub, str) and sub == dom:
        return True
    a = parse_range(sub, loose=loose, include_prerelease=include_prerelease)
    b = parse_range(dom, loose=loose, include_prerelease=include_prerelease)
    if a is None or b is None:
        return False
    saw_non_null = False
    for simple_sub in a.sets:
        found = False
        for simple_dom in b.sets:
            verdict = _simple_subset(simple_sub, simple_dom, a)
            saw_non_null = saw_non_null or verdict is not None
            if verdict:
                found = True
                break
        # a null simple range is a subset of anything, unless a non-null one was seen
        if not found and saw_non_null:
            return False
    return True


def _is_any(comps: tuple[Comparator, ...]) -> bool:
    return len(comps) == 1 and comps[0][1] is None


def _simple_subset(
    sub: tuple[Comparator, ...], dom: tuple[Comparator, ...], flags: Range
) -> bool | None:
    if sub is dom:
        return True
    if _is_any(sub):
        if _is_any(dom):
            return True
        sub = _MIN_VERSION_PRE if flags.include_prerelease else _MIN_VERSION
    if _is_any(dom):
        if flags.include_prerelease:
            return True
        dom = _MIN_VERSION
    eq: dict[str, Version] = {}
    gt: Comparator | None = None
    lt: Comparator | None = None
    for comp in sub:
        op, ver = comp
        if op in (">", ">="):
            gt = _higher_gt(gt, comp)
        elif op in ("<", "<="):
            lt = _lower_lt(lt, comp)
        elif ver is not None:
            eq.setdefault(ver._text, ver)
    if len(eq) > 1:
        return None
    order: int | None = None
    if gt is not None and lt is not None:
        order = _ver(gt)._cmp(_ver(lt))
        if order > 0 or (order == 0 and (gt[0] != ">=" or lt[0] != "<=")):
            return None
    for version in eq.values():
        if gt is not None and not _satisfies_comp(version, gt, flags):
            return None
        if lt is not None and not _satisfies_comp(version, lt, flags):
            return None
        return all(_satisfies_comp(version, c, flags) for c in dom)
    need_gt_pre = _ver(gt) if gt is not None and not flags.include_prerelease and _ver(gt).prerelease else None
    need_lt_pre = _ver(lt) if lt is not None and not flags.include_prerelease and _ver(lt).prerelease else None
    if need_lt_pre is not None and lt is not None and lt[0] == "<" and need_lt_pre.prerelease == (0,):
        need_lt_pre = None  # <1.2.3-0 is the same as <1.2.3
    has_dom_gt = has_dom_lt = False
    for comp in dom:
        op, ver = comp
        has_dom_gt = has_dom_gt or op in (">", ">=")
        has_dom_lt = has_dom_lt or op in ("<", "<=")
        if gt is not None:
            if need_gt_pre is not None and _same_tuple_pre(ver, need_gt_pre):
                need_gt_pre = None
            if op in (">", ">="):
                higher = _higher_gt(gt, comp)
                if higher is comp and higher is not gt:
                    return False
            elif gt[0] == ">=" and not _comparator_test(comp, _ver(gt)):
                return False
        if lt is not None:
            if need_lt_pre is not None and _same_tuple_pre(ver, need_lt_pre):
                need_lt_pre = None
            if op in ("<", "<="):
                lower = _lower_lt(lt, comp)
                if lower is comp and lower is not lt:
                    return False
            elif lt[0] == "<=" and not _comparator_test(comp, _ver(lt)):
                return False
        if not op and (lt is not None or gt is not None) and order != 0:
            return False
    if gt is not None and has_dom_lt and lt is None and order != 0:
        return False
    if lt is not None and has_dom_gt and gt is None and order != 0:
        return False
    return need_gt_pre is None and need_lt_pre is None


def _ver(comp: Comparator) -> Version:
    assert comp[1] is not None  # only called on > >= < <= comparators, which carry a version
    return comp[1]


def _same_tuple_pre(ver: Version | None, want: Version) -> bool:
    return (
        ver is not None
        and bool(ver.prerelease)
        and (ver.major, ver.minor, ver.patch) == (want.major, want.minor, want.patch)
    )


def _satisfies_comp(version: Version, comp: Comparator, flags: Range) -> bool:
    """npm's ``satisfies(v, String(comparator))``: the comparator as a range, prerelease rule included."""
    r = parse_range(_value(comp), loose=flags.loose, include_prerelease=flags.include_prerelease)
    return r is not None and r.test(version)


def _higher_gt(a: Comparator | None, b: Comparator) -> Comparator:
    """Of two lower bounds the stricter; >=1.2.3 is lower than >1.2.3."""
    if a is None:
        return b
    c = _ver(a)._cmp(_ver(b))
    if c > 0:
        return a
    if c < 0:
        return b
    return b if b[0] == ">" and a[0] == ">=" else a


def _lower_lt(a: Comparator | None, b: Comparator) -> Comparator:
    """Of two upper bounds the stricter; <=1.2.3 is higher than <1.2.3."""
    if a is None:
        return b
    c = _ver(a)._cmp(_ver(b))
    if c < 0:
        return a
    if c > 0:
        return b
    return b if b[0] == "<" and a[0] == "<=" else a
