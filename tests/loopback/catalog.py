"""The declarative package set behind the loopback registry, and its documents.

Rules this module keeps:
- Documents are shaped like registry.npmjs.org's: the full packument (``time``,
  ``readme``, every version document whole) and the abbreviated "corgi" form
  (``name``, ``modified``, ``dist-tags``, and per version only the install
  fields listed in ABBREVIATED_FIELDS).
- Time is a logical clock: every change (add, tag, unpublish) moves it one
  second on from a fixed epoch. Documents are therefore byte-stable across
  runs, and any change gives a later ``modified`` (so Last-Modified moves too).
- ``latest`` follows npm publish: the highest non-prerelease version unless a
  test tagged ``latest`` explicitly.
- Not thread-safe by itself; the server holds one lock around every call.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .tarballs import sha1_hex, sha512_integrity

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)

# The corgi allow-list: npm's registry docs (package-metadata.md) plus the fields
# the live registry adds for installers (peerDependenciesMeta, hasInstallScript,
# deprecated, os, cpu, funding). `license` is not in the documented list.
ABBREVIATED_FIELDS = (
    "name",
    "version",
    "deprecated",
    "dependencies",
    "optionalDependencies",
    "devDependencies",
    "bundleDependencies",
    "peerDependencies",
    "peerDependenciesMeta",
    "bin",
    "directories",
    "dist",
    "engines",
    "_hasShrinkwrap",
    "hasInstallScript",
    "cpu",
    "os",
    "funding",
)
INSTALL_SCRIPTS = ("preinstall", "install", "postinstall")

Json = dict[str, Any]


def version_key(version: str) -> tuple[Any, ...]:
    """Semver precedence (build metadata ignored) as a sortable key."""
    core = version.partition("+")[0]
    release, dash, pre = core.partition("-")
    numbers = tuple(int(part) for part in release.split("."))
    if not dash:
        return (numbers, 1, ())
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (numbers, 0, ids)


def iso(tick: int) -> str:
    """The logical clock tick as npm writes times: ``2024-01-01T00:00:07.000Z``."""
    return (EPOCH + timedelta(seconds=tick)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass(frozen=True, slots=True)
class PublishedVersion:
    """One version as the registry holds it: its version document and tarball bytes.

    ``files`` is None for versions added from raw tarball bytes.
    """

    name: str
    version: str
    document: Mapping[str, Any]
    tarball: bytes
    files: Mapping[str, bytes | str] | None
    published: int

    @property
    def dist(self) -> Mapping[str, Any]:
        return self.document["dist"]

    @property
    def integrity(self) -> str:
        return self.dist["integrity"]

    @property
    def shasum(self) -> str:
        return self.dist["shasum"]

    @property
    def tarball_url(self) -> str:
        return self.dist["tarball"]

    @property
    def filename(self) -> str:
        return tarball_filename(self.name, self.version)


def tarball_filename(name: str, version: str) -> str:
    """npm's tarball file name: the bare name (scope dropped), version, .tgz."""
    return f"{name.rpartition('/')[2]}-{version}.tgz"


@dataclass(slots=True)
class _Package:
    created: int
    modified: int
    versions: dict[str, PublishedVersion] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    unpublished: int | None = None
    tombstone: bool = False

    def dist_tags(self) -> dict[str, str]:
        """``latest`` first, then the other tags by name."""
        latest = self.tags.get("latest")
        if latest is None:
            stable = [v for v in self.versions if "-" not in v.partition("+")[0]]
            latest = max(stable or self.versions, key=version_key)
        return {
            "latest": latest,
            **{t: v for t, v in sorted(self.tags.items()) if t != "latest"},
        }


class Catalog:
    """Packages, versions and dist-tags, rendered on demand as registry documents."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._clock = 0
        self._packages: dict[str, _Package] = {}

    def _tick(self, name: str) -> _Package:
        self._clock += 1
        package = self._packages.get(name)
        if package is None or package.unpublished is not None:
            package = self._packages[name] = _Package(
                created=self._clock, modified=self._clock
            )
        package.modified = self._clock
        return package

    def publish(
        self,
        manifest: Mapping[str, Any],
        tarball: bytes,
        files: Mapping[str, bytes | str] | None,
    ) -> PublishedVersion:
        """Store a version: ``manifest`` becomes its document, ``dist`` is computed over
        ``tarball`` and then updated by any ``manifest["dist"]`` (to lie on purpose)."""
        name, version = manifest["name"], manifest["version"]
        document: Json = {
            key: copy.deepcopy(value)
            for key, value in manifest.items()
            if key != "dist"
        }
        document["_id"] = f"{name}@{version}"
        scripts = document.get("scripts") or {}
        if any(hook in scripts for hook in INSTALL_SCRIPTS):
            document["hasInstallScript"] = True
        if files is not None:
            document["_hasShrinkwrap"] = "npm-shrinkwrap.json" in files
        dist: Json = {
            "integrity": sha512_integrity(tarball),
            "shasum": sha1_hex(tarball),
            "tarball": f"{self.base_url}/{name}/-/{tarball_filename(name, version)}",
        }
        if files is not None:
            dist["fileCount"] = len(files)
            dist["unpackedSize"] = sum(
                len(f.encode() if isinstance(f, str) else f) for f in files.values()
            )
        dist.update(manifest.get("dist") or {})
        document["dist"] = dist
        package = self._tick(name)
        published = PublishedVersion(
            name, version, document, tarball, files, self._clock
        )
        package.versions[version] = published
        return published

    def tag(self, name: str, tag: str, version: str) -> None:
        if version not in self._live(name).versions:
            raise KeyError(f"{name}@{version} was never added")
        self._tick(name).tags[tag] = version

    def unpublish(self, name: str, *, tombstone: bool) -> None:
        self._live(name)
        package = self._tick(name)
        package.unpublished = self._clock
        package.tombstone = tombstone

    def _live(self, name: str) -> _Package:
        package = self._packages.get(name)
        if package is None or package.unpublished is not None:
            raise KeyError(name)
        return package

    def modified(self, name: str) -> int | None:
        package = self._packages.get(name)
        if package is None or (
            package.unpublished is not None and not package.tombstone
        ):
            return None
        return package.modified

    def packument(self, name: str, *, abbreviated: bool) -> Json | None:
        package = self._packages.get(name)
        if package is None:
            return None
        if package.unpublished is not None:
            return self._tombstone(name, package) if package.tombstone else None
        tags = package.dist_tags()
        if abbreviated:
            return {
                "name": name,
                "modified": iso(package.modified),
                "dist-tags": tags,
                "versions": {
                    v: {k: p.document[k] for k in ABBREVIATED_FIELDS if k in p.document}
                    for v, p in package.versions.items()
                },
            }
        latest = package.versions[tags["latest"]].document
        time = {"created": iso(package.created), "modified": iso(package.modified)}
        time.update((v, iso(p.published)) for v, p in package.versions.items())
        full: Json = {
            "_id": name,
            "name": name,
            "dist-tags": tags,
            "versions": {v: p.document for v, p in package.versions.items()},
            "time": time,
            "maintainers": [{"name": "loopback", "email": "loopback@example.invalid"}],
        }
        full.update(
            {
                k: latest[k]
                for k in ("description", "license", "repository")
                if k in latest
            }
        )
        full["readme"] = f"# {name}\n\nServed by the weir loopback registry.\n"
        full["readmeFilename"] = "README.md"
        return full

    def _tombstone(self, name: str, package: _Package) -> Json:
        assert package.unpublished is not None
        return {
            "_id": name,
            "name": name,
            "time": {
                "created": iso(package.created),
                "modified": iso(package.modified),
                "unpublished": {
                    "time": iso(package.unpublished),
                    "versions": list(package.versions),
                },
            },
        }

    def version_document(self, name: str, spec: str) -> PublishedVersion | None:
        """``GET /{name}/{version-or-tag}``: an exact version, else a dist-tag."""
        try:
            package = self._live(name)
        except KeyError:
            return None
        version = spec if spec in package.versions else package.dist_tags().get(spec)
        return package.versions.get(version) if version else None

    def tarball(self, name: str, filename: str) -> PublishedVersion | None:
        try:
            package = self._live(name)
        except KeyError:
            return None
        return next(
            (p for p in package.versions.values() if p.filename == filename), None
        )
