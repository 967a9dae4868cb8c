"""Packument decoding that does not build what it never reads.

Rules this module holds:

1. Only the fields the resolver, the lockfile and the linker read are decoded
   (see ``VersionManifest``); a full packument's readme, maintainers, scripts
   and times are skipped by the decoder without being built as Python objects.
2. Versions are decoded lazily. ``decode_packument`` scans the document once
   and keeps each version as its raw JSON bytes; ``Packument.versions[v]``
   decodes that one version on first use and remembers it. A resolve reads a
   handful of versions out of hundreds (measured in bench/packument_decode.py).
3. Lenient like npm: old versions hold junk (``engines`` as a string or list,
   ``dependencies`` as an array, a numeric ``bin``). A bad field of one
   version is normalized or dropped; it never fails the packument. Fields
   npm copies into a lockfile entry untouched (``engines``, ``workspaces``)
   are also kept exactly as published, beside any normalized view. A version
   without ``dist.tarball`` cannot be installed: it is left out of
   ``Packument.versions`` and its reason is kept in ``Packument.unusable``.
4. A body that is not a JSON object raises ``PackumentError``; the registry
   turns it into an error naming the URL.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

__all__ = [
    "Dist",
    "Packument",
    "PackumentError",
    "VersionManifest",
    "decode_packument",
    "decode_version",
]


class PackumentError(ValueError):
    """The body is not a packument (not JSON, or not a JSON object)."""


@dataclass(frozen=True, slots=True)
class Dist:
    tarball: str
    integrity: str | None
    shasum: str | None


@dataclass(frozen=True, slots=True)
class VersionManifest:
    name: str
    version: str
    dependencies: dict[str, str]
    optional_dependencies: dict[str, str]
    peer_dependencies: dict[str, str]
    peer_dependencies_meta: dict[str, dict[str, Any]]
    bundle_dependencies: tuple[str, ...] | bool
    bin: dict[str, str]
    directories_bin: str | None
    engines: dict[str, str]  # what the engines check reads: only an object's string entries
    os: tuple[str, ...]
    cpu: tuple[str, ...]
    libc: tuple[str, ...]
    deprecated: str | None
    has_install_script: bool
    license: str | None
    funding: Any
    dist: Dist
    # As published, for the lockfile entry (npm copies them untouched: concat-stream@1.6.2's
    # ``["node >= 0.8"]``, qs@6.0.0's ``">=4.0.0"``, pkijs's ``["website"]``); None when npm
    # writes nothing (absent, false, empty).
    published_engines: Any = None
    workspaces: Any = None


# -- the wire shapes: every field that may hold junk is ``Any`` and normalized below ----


class _WireVersion(msgspec.Struct, rename="camel"):
    name: Any = None
    version: Any = None
    dependencies: Any = None
    optional_dependencies: Any = None
    peer_dependencies: Any = None
    peer_dependencies_meta: Any = None
    bundle_dependencies: Any = None
    bundled_dependencies: Any = None
    bin: Any = None
    directories: Any = None
    engines: Any = None
    os: Any = None
    cpu: Any = None
    libc: Any = None
    deprecated: Any = None
    has_install_script: Any = None
    scripts: Any = None
    license: Any = None
    funding: Any = None
    dist: Any = None
    workspaces: Any = None


class _WirePackument(msgspec.Struct):
    name: Any = None
    versions: dict[str, msgspec.Raw] = {}
    modified: Any = None
    time: dict[str, Any] = {}
    dist_tags: dict[str, Any] = msgspec.field(default_factory=dict, name="dist-tags")


class _WireDist(msgspec.Struct):
    """Just enough of a version to know whether it can be installed (rule 3)."""

    dist: Any = None


_packument_decoder = msgspec.json.Decoder(_WirePackument)
_version_decoder = msgspec.json.Decoder(_WireVersion)
_dist_decoder = msgspec.json.Decoder(_WireDist)
_INSTALL_SCRIPTS = ("preinstall", "install", "postinstall")


class _Unusable(Exception):
    """A version that cannot be installed; the message is the reason."""


def _str_map(value: Any) -> dict[str, str]:
    """A name→string map; entries with non-string keys or values are dropped."""
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}
    return {}


def _dep_map(value: Any) -> dict[str, str]:
    """Dependencies; an old array form (``["a", "b@1"]``) becomes ``{"a": "*", "b": "1"}``."""
    if isinstance(value, list):
        out: dict[str, str] = {}
        for item in value:
            if not isinstance(item, str) or not item.strip():
                continue
            item = item.strip()
            at = item.find("@", 1)  # a scope's leading @ is part of the name
            name, spec = (item[:at], item[at + 1 :]) if at > 0 else (item, "")
            out[name] = spec or "*"
        return out
    return _str_map(value)


def _str_tuple(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(v for v in value if isinstance(v, str))
    return ()


def _bin(value: Any, name: str) -> dict[str, str]:
    """npm's rule: a string bin is one command named after the package, scope dropped."""
    if isinstance(value, str):
        return {name.rsplit("/", 1)[-1]: value} if value else {}
    return _str_map(value)


def _license(value: Any) -> str | None:
    """SPDX string; the old ``{"type": ...}`` and list-of-those forms become a string."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        return value["type"]
    if isinstance(value, list):
        types = [_license(v) for v in value]
        kept = [t for t in types if t]
        return " OR ".join(kept) if kept else None
    return None


def _published(value: Any) -> Any:
    """A field as npm records it in a lockfile entry: as published, unless false or empty."""
    return value or None


def _bundle(w: _WireVersion) -> tuple[str, ...] | bool:
    value = w.bundle_dependencies if w.bundle_dependencies is not None else w.bundled_dependencies
    if isinstance(value, bool):
        return value
    return _str_tuple(value) if isinstance(value, list) else ()


def _has_tarball(dist: Any) -> bool:
    return isinstance(dist, dict) and isinstance(dist.get("tarball"), str) and bool(dist["tarball"])


def _build(w: _WireVersion, name: str, version: str) -> VersionManifest:
    dist = w.dist
    if not _has_tarball(dist):
        raise _Unusable("no dist.tarball")
    integrity = dist.get("integrity")
    shasum = dist.get("shasum")
    has_install = w.has_install_script is True or (
        isinstance(w.scripts, dict) and any(isinstance(w.scripts.get(s), str) for s in _INSTALL_SCRIPTS)
    )
    directories = w.directories
    directories_bin = directories.get("bin") if isinstance(directories, dict) else None
    meta = w.peer_dependencies_meta
    return VersionManifest(
        name=w.name if isinstance(w.name, str) and w.name else name,
        version=version,
        dependencies=_dep_map(w.dependencies),
        optional_dependencies=_dep_map(w.optional_dependencies),
        peer_dependencies=_dep_map(w.peer_dependencies),
        peer_dependencies_meta=(
            {k: v for k, v in meta.items() if isinstance(k, str) and isinstance(v, dict)}
            if isinstance(meta, dict)
            else {}
        ),
        bundle_dependencies=_bundle(w),
        bin=_bin(w.bin, name),
        directories_bin=directories_bin if isinstance(directories_bin, str) else None,
        engines=_str_map(w.engines),
        os=_str_tuple(w.os),
        cpu=_str_tuple(w.cpu),
        libc=_str_tuple(w.libc),
        deprecated=w.deprecated if isinstance(w.deprecated, str) and w.deprecated else None,
        has_install_script=has_install,
        license=_license(w.license),
        funding=w.funding,
        dist=Dist(
            tarball=dist["tarball"],
            integrity=integrity if isinstance(integrity, str) and integrity else None,
            shasum=shasum if isinstance(shasum, str) and shasum else None,
        ),
        published_engines=_published(w.engines),
        workspaces=_published(w.workspaces),
    )


def _decode_wire_version(raw: bytes | msgspec.Raw) -> _WireVersion:
    try:
        return _version_decoder.decode(raw)
    except msgspec.ValidationError as exc:  # the version is not an object
        raise _Unusable(f"not a JSON object ({exc})") from None


class _LazyVersions(Mapping[str, VersionManifest]):
    """version → manifest, decoding each version's raw bytes on first access.

    Listing keys never decodes, so a resolver can sort every published
    version and decode only the ones it considers. A listed version may prove
    unusable when decoded: ``get`` then returns None (``[]`` raises KeyError),
    the key leaves the listing and ``unusable`` says why.
    """

    __slots__ = ("_done", "_name", "_raw", "unusable")

    def __init__(self, name: str, raw: dict[str, msgspec.Raw]) -> None:
        self._name = name
        self._raw = raw
        self._done: dict[str, VersionManifest] = {}
        self.unusable: dict[str, str] = {}

    def __getitem__(self, version: str) -> VersionManifest:
        manifest = self._done.get(version)
        if manifest is not None:
            return manifest
        raw = self._raw.pop(version, None)
        if raw is None:
            raise KeyError(version)
        try:
            manifest = _build(_decode_wire_version(raw), self._name, version)
        except _Unusable as exc:
            self.unusable[version] = str(exc)
            raise KeyError(version) from None
        self._done[version] = manifest
        return manifest

    def usable(self, version: str) -> bool:
        """Whether ``version`` is listed and installable, reading only its ``dist``.

        A resolve weighs ~20 neighbours of each pick only to say why they lost;
        the ones outside the range need no more than this (a full decode costs
        several times as much). An unusable version goes through ``get``, so it
        leaves the listing with its reason just as a decode would have it.
        """
        if version in self._done:
            return True
        raw = self._raw.get(version)
        if raw is None:
            return False
        try:
            if _has_tarball(_dist_decoder.decode(raw).dist):
                return True
        except msgspec.ValidationError:  # not an object: get records why
            pass
        return self.get(version) is not None

    def __contains__(self, version: object) -> bool:
        return version in self._done or version in self._raw

    def __iter__(self) -> Iterator[str]:
        return iter([*self._done, *self._raw])

    def __len__(self) -> int:
        return len(self._done) + len(self._raw)


@dataclass(frozen=True, slots=True)
class Packument:
    name: str
    dist_tags: dict[str, str]
    versions: Mapping[str, VersionManifest]
    modified: str | None
    unpublished: str | None = None  # when the package was unpublished (npm's tombstone: time.unpublished)
    # What a reader derives from this run-local packument and keeps for its next use
    # (pick: the versions parsed and sorted), so a package picked N times is sorted once.
    derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def usable(self, version: str) -> bool:
        """Whether ``version`` is listed and installable, decoding no more than that takes."""
        versions = self.versions
        if isinstance(versions, _LazyVersions):
            return versions.usable(version)
        return version in versions

    @property
    def unusable(self) -> dict[str, str]:
        """version → why it cannot be installed (only versions decoded so far)."""
        return getattr(self.versions, "unusable", {})


def decode_packument(body: bytes) -> Packument:
    """Scan a packument (abbreviated or full); versions decode on first use."""
    try:
        wire = _packument_decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise PackumentError(f"not a packument: {exc}") from None
    except msgspec.DecodeError as exc:
        raise PackumentError(f"not JSON: {exc}") from None
    name = wire.name if isinstance(wire.name, str) else ""
    modified = wire.modified if isinstance(wire.modified, str) else wire.time.get("modified")
    return Packument(
        name=name,
        dist_tags=_str_map(wire.dist_tags),
        versions=_LazyVersions(name, dict(wire.versions)),
        modified=modified if isinstance(modified, str) else None,
        unpublished=_unpublished(wire.time),
    )


def _unpublished(time: dict[str, Any]) -> str | None:
    """npm's tombstone ``{"time": {"unpublished": {"time": ...}}}``: when it happened, or None."""
    mark = time.get("unpublished")
    if not mark:
        return None
    when = mark.get("time") if isinstance(mark, dict) else None
    return when if isinstance(when, str) else "an unknown time"


def decode_version(body: bytes) -> VersionManifest:
    """One version document (``GET /<name>/<version>``)."""
    try:
        wire = _decode_wire_version(body)
    except msgspec.DecodeError as exc:
        raise PackumentError(f"not JSON: {exc}") from None
    except _Unusable as exc:
        raise PackumentError(f"not a version document: {exc}") from None
    name = wire.name if isinstance(wire.name, str) else ""
    version = wire.version if isinstance(wire.version, str) else ""
    try:
        return _build(wire, name, version)
    except _Unusable as exc:
        raise PackumentError(f"{name}@{version} cannot be installed: {exc}") from None
