"""package-lock.json v3: the tree as npm writes it, and the currency between stages.

The resolver produces a ``Lockfile``; ``dumps_lockfile`` serializes it; the
linker diffs it against ``node_modules/.package-lock.json`` and materializes
it; ``weir ci`` reads it from disk. One shape for all of them, keyed by
install path exactly as npm keys ``packages`` (``""`` is the root,
``node_modules/a/node_modules/b`` a nested copy).

Rules this module holds:

1. Byte-compatible output. npm serializes with json-stringify-nice: in every
   object, scalars and arrays come before objects; within each group the
   preferred keys (name, version, lockfileVersion, resolved, integrity,
   requires, packages, dependencies) come first in that order, the rest in
   ICU ``localeCompare(…, 'en')`` order; a trailing newline.
   ``dumps_lockfile(loads_lockfile(b)) == b`` for npm's own files. The indent
   and line break of package-lock.json and the hidden lockfile are the root
   package.json's (``JsonStyle``: 4 spaces, tabs, CRLF survive), whatever the
   previous lockfile used; a one-line package.json gets two spaces and ``\n``.
2. ``LockEntry.raw`` is the entry exactly as npm wrote it (or as the resolver
   built it with npm's key names); the typed fields are views of it for the
   stages that read them. Writing uses ``raw``, so fields weir does not model
   survive a round trip.
3. Writes are atomic (temp file in the same folder, fsync, rename) and never
   go through a symlink: a lockfile that is a symlink is refused.
4. Every version npm 11 reads is read: v3, v2 (its ``packages``; the legacy
   ``dependencies`` section is derived, never read) and v1 (npm 6: the nested
   ``dependencies`` tree, migrated by ``lockfile_legacy``). ``lockfile_version``
   says which one was read; a v2 lockfile is written back as v2, with the
   legacy section npm writes, and v1 is upgraded to v3, as npm 11 does.
5. A lockfile from a pull request is untrusted input: every ``packages`` key
   is ``""`` or a relative path of plain segments (no ``..``, ``.``, empty
   segment, backslash, NUL or leading ``/``), each folder after a
   ``node_modules/`` is a valid package name, and an entry's ``name`` is a
   valid package name. Anything else is refused on reading, before a stage
   can join the key onto the project folder.
6. ``omit-lockfile-registry-resolved`` (npm's setting) leaves ``resolved`` out of
   every entry whose dependents all ask for it by a registry spec (a version,
   range, tag or ``npm:`` alias), exactly the entries npm leaves it out of;
   the installer then finds each such tarball on the configured registry.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from weir.core.atomic import write_atomic
from weir.core.errors import InputError
from weir.core.npm.names import is_valid_name
from weir.core.npm.package_json import JsonStyle
from weir.core.tree.paths import name_of


@dataclass(frozen=True, slots=True, kw_only=True)
class LockEntry:
    """One ``packages[path]`` entry."""

    path: str  # "" for the root, else "node_modules/..." or a workspace folder
    name: str  # the real package name (for an alias, the target's name)
    version: str | None = None
    resolved: str | None = None
    integrity: str | None = None
    link: bool = False  # a symlink to a workspace / file: folder; `resolved` is the target
    dev: bool = False
    optional: bool = False
    dev_optional: bool = False
    peer: bool = False
    in_bundle: bool = False
    has_install_script: bool = False
    dependencies: dict[str, str] = field(default_factory=dict)
    optional_dependencies: dict[str, str] = field(default_factory=dict)
    peer_dependencies: dict[str, str] = field(default_factory=dict)
    bin: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Lockfile:
    name: str | None
    version: str | None
    lockfile_version: int = 3  # as read (1, 2 or 3); the installer decides what it writes (rule 4)
    packages: dict[str, LockEntry] = field(default_factory=dict)


# -- npm's key order ------------------------------------------------------------------

PREFERRED_KEYS = (
    "name",
    "version",
    "lockfileVersion",
    "resolved",
    "integrity",
    "requires",
    "packages",
    "dependencies",
)
_PREF_INDEX = {k: i for i, k in enumerate(PREFERRED_KEYS)}

# ICU root collation (what `localeCompare(x, 'en')` uses) orders ASCII punctuation
# and symbols before digits, digits before letters, in this sequence:
_PUNCT_ORDER = "_-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$"
_PRIMARY: dict[str, int] = {}
for _i, _ch in enumerate(" \t\n" + _PUNCT_ORDER):
    _PRIMARY[_ch] = _i
for _i, _ch in enumerate("0123456789"):
    _PRIMARY[_ch] = 100 + _i
for _i, _ch in enumerate("abcdefghijklmnopqrstuvwxyz"):
    _PRIMARY[_ch] = 200 + _i


@functools.lru_cache(maxsize=65536)
def collation_key(text: str) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """A sort key that orders strings as ICU's root collation does for npm's keys.

    Three levels, as ICU compares them: base characters first, then accents,
    then case (lower before upper). Characters outside ASCII fall back to
    their decomposed base letter, or after every letter by code point.
    """
    primary: list[int] = []
    secondary: list[int] = []
    tertiary: list[int] = []
    for ch in text:
        base = ch
        accent = 0
        if ord(ch) > 127:
            decomposed = unicodedata.normalize("NFD", ch)
            base = decomposed[0]
            accent = 1 if len(decomposed) > 1 else 0
        lower = base.lower()
        weight = _PRIMARY.get(lower)
        if weight is None:
            weight = 1000 + ord(lower)
        primary.append(weight)
        secondary.append(accent)
        tertiary.append(1 if base != lower else 0)
    return tuple(primary), tuple(secondary), tuple(tertiary)


def _nice_key(item: tuple[str, Any]) -> tuple[int, int, Any]:
    key, value = item
    is_obj = 1 if isinstance(value, dict) else 0
    pref = _PREF_INDEX.get(key)
    if pref is not None:
        return is_obj, 0, pref
    return is_obj, 1, collation_key(key)


def nice_order(value: Any) -> Any:
    """Reorder every object the way json-stringify-nice does for npm's lockfiles."""
    if isinstance(value, dict):
        return {k: nice_order(v) for k, v in sorted(value.items(), key=_nice_key)}
    if isinstance(value, list):
        return [nice_order(v) for v in value]
    return value


# -- entries --------------------------------------------------------------------------


def _str_map(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items() if isinstance(v, str)}
    return {}


def entry_from_json(path: str, raw: dict[str, Any]) -> LockEntry:
    """A typed view over one ``packages`` entry as npm wrote it."""
    name = raw.get("name") if isinstance(raw.get("name"), str) else None
    if name is None:
        name = name_of(path) if path else ""
    bin_field = raw.get("bin")
    return LockEntry(
        path=path,
        name=name,
        version=raw.get("version") if isinstance(raw.get("version"), str) else None,
        resolved=raw.get("resolved") if isinstance(raw.get("resolved"), str) else None,
        integrity=raw.get("integrity") if isinstance(raw.get("integrity"), str) else None,
        link=raw.get("link") is True,
        dev=raw.get("dev") is True,
        optional=raw.get("optional") is True,
        dev_optional=raw.get("devOptional") is True,
        peer=raw.get("peer") is True,
        in_bundle=raw.get("inBundle") is True,
        has_install_script=raw.get("hasInstallScript") is True,
        dependencies=_str_map(raw.get("dependencies")),
        optional_dependencies=_str_map(raw.get("optionalDependencies")),
        peer_dependencies=_str_map(raw.get("peerDependencies")),
        bin=_str_map(bin_field),
        raw=raw,
    )


def lockfile_to_json(
    lock: Lockfile, *, include_root: bool = True, omit_resolved: Collection[str] | None = None
) -> dict[str, Any]:
    """The document npm writes: v3 has ``packages`` only; v2 adds the legacy ``dependencies``
    section. ``omit_resolved`` (npm's omit-lockfile-registry-resolved, see ``registry_resolved``)
    names the entries written without ``resolved``; the legacy section then has none at all."""
    packages = {path: entry.raw for path, entry in lock.packages.items() if include_root or path}
    if omit_resolved:
        for path in omit_resolved:
            if path in packages:
                packages[path] = {k: v for k, v in packages[path].items() if k != "resolved"}
    doc: dict[str, Any] = {}
    if lock.name is not None:
        doc["name"] = lock.name
    if lock.version is not None:
        doc["version"] = lock.version
    doc["lockfileVersion"] = lock.lockfile_version
    doc["requires"] = True
    doc["packages"] = packages
    if lock.lockfile_version == 2 and include_root:
        from weir.core.tree.lockfile_legacy import legacy_dependencies

        legacy = legacy_dependencies(packages, omit_resolved=omit_resolved is not None)
        if legacy:
            doc["dependencies"] = legacy
    return doc


def dumps_lockfile(
    lock: Lockfile,
    *,
    include_root: bool = True,
    omit_resolved: Collection[str] | None = None,
    style: JsonStyle = JsonStyle(),
) -> bytes:
    """The lockfile exactly as npm would write it, laid out in the root package.json's ``style``."""
    doc = nice_order(lockfile_to_json(lock, include_root=include_root, omit_resolved=omit_resolved))
    return restyle(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n", style)


def restyle(text: bytes, style: JsonStyle) -> bytes:
    """Two-space JSON re-laid out with ``style``'s indent and line break (rule 1): npm takes
    them from package.json, and an empty indent or line break (a one-line package.json)
    means its defaults. A JSON string never holds a raw line break, so each line's leading
    spaces are indentation only."""
    indent, newline = style.indent or "  ", style.newline or "\n"
    if indent == "  " and newline == "\n":
        return text
    unit, lines = indent.encode(), text.split(b"\n")
    out = [unit * ((len(line) - len(line.lstrip(b" "))) // 2) + line.lstrip(b" ") for line in lines]
    return newline.encode().join(out)


def registry_resolved(lock: Lockfile) -> frozenset[str]:
    """The entries npm writes without ``resolved`` under ``omit-lockfile-registry-resolved``
    (rule 6): every dependent asks for them by a registry spec. Only paths, so the writers
    strip the key as they serialize instead of copying 1,000 entries."""
    from weir.core.tree.lockfile_legacy import edges_in, is_registry_spec

    edges = edges_in({path: entry.raw for path, entry in lock.packages.items()})
    return frozenset(
        path
        for path, entry in lock.packages.items()
        if entry.resolved is not None
        and not entry.link
        and (wanted_by := edges.get(path))
        and all(is_registry_spec(spec) for _, _, spec in wanted_by)
    )


def loads_lockfile(data: bytes, *, source: str = "package-lock.json") -> Lockfile:
    """Parse npm's lockfile v1, v2 or v3 (rule 4). Raises InputError for anything else."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InputError(
            f"{source} is not valid JSON ({exc})",
            hint=f"restore {source} from version control, or delete it and run `weir install`",
            code="EJSONPARSE",
        ) from None
    if not isinstance(doc, dict):
        raise InputError(f"{source} is not a JSON object", code="EJSONPARSE")
    version = doc.get("lockfileVersion")
    if (version == 1 or (version is None and "dependencies" in doc)) and not isinstance(doc.get("packages"), dict):
        from weir.core.tree.lockfile_legacy import packages_from_v1

        doc = {**doc, "packages": packages_from_v1(doc, source=source)}
        version = 1
    if version not in (1, 2, 3) or not isinstance(doc.get("packages"), dict):
        raise InputError(
            f"{source} has lockfileVersion {version!r}, which this weir does not know",
            hint="it may come from a newer npm; regenerate it with `weir install`",
            code="ELOCKFILEVERSION",
        )
    packages: dict[str, LockEntry] = {}
    for path, raw in doc["packages"].items():
        if not isinstance(raw, dict):
            raise InputError(f"{source}: packages[{path!r}] is not an object", code="EJSONPARSE")
        entry = entry_from_json(path, raw)
        problem = _key_problem(path)
        if problem is None and "node_modules/" in path and not is_valid_name(entry.name):
            problem = f"its name {entry.name!r} is not a valid package name"
        if problem is not None:
            raise InputError(
                f"{source}: packages[{path!r}] is refused: {problem}",
                package=entry.name or path,
                hint=f"this lockfile was not written by npm or weir; restore {source} from a trusted commit, "
                "or delete it and run `weir install`",
                code="ELOCKFILE",
            )
        packages[path] = entry
    return Lockfile(
        name=doc.get("name") if isinstance(doc.get("name"), str) else None,
        version=doc.get("version") if isinstance(doc.get("version"), str) else None,
        lockfile_version=version,
        packages=packages,
    )


def _key_problem(path: str) -> str | None:
    """Why a ``packages`` key could name a folder outside the project (rule 5), or None."""
    if not path:
        return None
    if "\\" in path or "\0" in path:
        return "the path holds a backslash or NUL"
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        return "the path is absolute"
    segments = path.split("/")
    if any(s in ("", ".", "..") for s in segments):
        return "the path has an empty, '.' or '..' segment"
    i = 0
    while i < len(segments):
        if segments[i] != "node_modules":
            i += 1
            continue
        scoped = i + 1 < len(segments) and segments[i + 1].startswith("@")
        name = "/".join(segments[i + 1 : i + 3 if scoped else i + 2])
        if not is_valid_name(name):
            return f"{name!r} after node_modules/ is not a valid package name"
        i += 1 + name.count("/") + 1
    return None


def read_lockfile(project: Path) -> Lockfile | None:
    """The project's package-lock.json, or None when there is none."""
    path = project / "package-lock.json"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return loads_lockfile(data, source=str(path))


def write_lockfile(
    project: Path, lock: Lockfile, *, omit_resolved: Collection[str] | None = None, style: JsonStyle = JsonStyle()
) -> bool:
    """Write package-lock.json atomically in the root package.json's ``style``; returns False
    when the bytes were already there."""
    return write_atomic(project / "package-lock.json", dumps_lockfile(lock, omit_resolved=omit_resolved, style=style))
