"""Integrity: SRI strings and npm shasums, parsed, compared and checked while streaming.

Rules this module holds (DESIGN.md rule 5):

1. There is no "skip the check". Empty input, input that does not parse, and
   input naming only algorithms weir does not trust (md5, sha3, ...) are all
   an ``IntegrityError``; the caller never gets an Integrity that passes
   everything.
2. Known algorithms, strongest first: sha512, sha384, sha256, sha1. Unknown
   algorithms in an SRI string are ignored (as the SRI spec says), but a
   token naming a *known* algorithm with a malformed digest is an error: it
   is a damaged lockfile, not an unknown future algorithm.
3. Options after ``?`` in a token are accepted and dropped; npm never relies
   on them.
4. ``pick`` merges the lockfile's integrity with the packument's
   (``dist.integrity`` + ``dist.shasum``). If both name an algorithm and
   their digests for it share nothing, the registry changed the bytes under
   the lockfile: that is an error *before* anything is downloaded.
5. Checked algorithms: the strongest one present, plus the lockfile's
   strongest when the packument offers something stronger than an old
   (sha1-only) lockfile, so the lockfile's pin is always honoured. For each
   checked algorithm any listed digest may match (SRI's any-match rule).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass

from weir.core.errors import IntegrityError

ALGORITHMS: tuple[str, ...] = ("sha512", "sha384", "sha256", "sha1")  # strongest first
_DIGEST_SIZE = {"sha512": 64, "sha384": 48, "sha256": 32, "sha1": 20}

MISMATCH_HINT = (
    "the registry served different bytes than the lockfile records; if you trust the new bytes, "
    "remove the entry from package-lock.json and run weir install; otherwise report it"
)


@dataclass(frozen=True, slots=True)
class Hash:
    algorithm: str
    digest: bytes

    @property
    def hex(self) -> str:
        return self.digest.hex()

    def __str__(self) -> str:
        return f"{self.algorithm}-{base64.b64encode(self.digest).decode('ascii')}"


@dataclass(frozen=True, slots=True)
class Integrity:
    """A set of acceptable hashes and the algorithms that must be checked."""

    hashes: tuple[Hash, ...]
    checked: tuple[str, ...]  # algorithms to compute and verify, strongest first

    @classmethod
    def parse(cls, sri: str | None, shasum: str | None = None) -> Integrity:
        """Parse an SRI string and/or an npm hex ``shasum``; raise IntegrityError if nothing usable."""
        hashes: list[Hash] = []
        if sri is not None and sri.strip():
            hashes.extend(_parse_sri(sri))
        if shasum is not None and shasum.strip():
            hashes.append(_parse_shasum(shasum))
        if not hashes:
            if (sri or "").strip() or (shasum or "").strip():
                raise IntegrityError(
                    f"no supported hash algorithm in integrity {(sri or shasum)!r}",
                    hint="weir checks sha512, sha384, sha256 or sha1; republish or refresh the lockfile entry",
                )
            raise IntegrityError(
                "no integrity to check the tarball against",
                hint="remove the entry from package-lock.json and run weir install to record it",
            )
        unique = tuple(dict.fromkeys(hashes))
        return cls(unique, (_strongest(unique),))

    @property
    def algorithm(self) -> str:
        """The strongest checked algorithm: the one the content store keys entries by."""
        return self.checked[0]

    def digests(self, algorithm: str) -> tuple[Hash, ...]:
        return tuple(h for h in self.hashes if h.algorithm == algorithm)

    def hasher(self) -> Hasher:
        return Hasher(self.checked)

    def match(self, actual: Mapping[str, bytes]) -> Hash | None:
        """The matching hash of the strongest algorithm, or None if any checked algorithm fails."""
        found: Hash | None = None
        for alg in self.checked:
            wanted = {h.digest for h in self.digests(alg)}
            if actual.get(alg) not in wanted:
                return None
            if found is None:
                found = Hash(alg, actual[alg])
        return found

    def verify(self, actual: Mapping[str, bytes], *, package: str, version: str, url: str) -> Hash:
        """Return the matching hash, or raise IntegrityError naming expected and actual."""
        hit = self.match(actual)
        if hit is not None:
            return hit
        expected = " ".join(str(h) for alg in self.checked for h in self.digests(alg))
        got = " ".join(str(Hash(alg, actual[alg])) for alg in self.checked if alg in actual)
        raise IntegrityError(
            f"integrity check failed for {package}@{version} from {url}: expected {expected}, got {got}",
            package=package,
            spec=version,
            hint=MISMATCH_HINT,
        )

    def __str__(self) -> str:
        return " ".join(str(h) for h in self.hashes)


class Hasher:
    """Feeds every chunk to one hash object per checked algorithm; used by the download sink."""

    __slots__ = ("_hashes",)

    def __init__(self, algorithms: tuple[str, ...]) -> None:
        import hashlib  # here, not at the top: only a download hashes, a warm install does not

        self._hashes = {alg: hashlib.new(alg) for alg in algorithms}

    def update(self, chunk: bytes) -> None:
        for h in self._hashes.values():
            h.update(chunk)

    def digests(self) -> dict[str, bytes]:
        return {alg: h.digest() for alg, h in self._hashes.items()}


def pick(
    lockfile_integrity: str | None,
    packument_integrity: str | None,
    shasum: str | None,
    *,
    package: str = "",
    version: str = "",
) -> Integrity:
    """Merge lockfile and packument integrity (rules 4 and 5); raise before any download on conflict."""
    has_packument = bool((packument_integrity or "").strip() or (shasum or "").strip())
    try:
        locked = Integrity.parse(lockfile_integrity) if (lockfile_integrity or "").strip() else None
        published = Integrity.parse(packument_integrity, shasum) if has_packument else None
    except IntegrityError as error:  # parse knows the string, not whose it is
        if error.package is None and package:
            error.package, error.spec = package, version or None
        raise
    if locked is None and published is None:
        raise IntegrityError(
            f"no integrity recorded for {package}@{version}",
            package=package or None,
            spec=version or None,
            hint="the lockfile and the registry give no hash; weir will not install unchecked bytes",
        )
    if locked is None or published is None:
        return locked or published  # type: ignore[return-value]
    for alg in ALGORITHMS:
        ours, theirs = locked.digests(alg), published.digests(alg)
        if ours and theirs and not {h.digest for h in ours} & {h.digest for h in theirs}:
            raise IntegrityError(
                f"{package}@{version}: package-lock.json records {' '.join(map(str, ours))} "
                f"but the registry now publishes {' '.join(map(str, theirs))}",
                package=package or None,
                spec=version or None,
                hint=MISMATCH_HINT,
            )
    merged = tuple(dict.fromkeys(locked.hashes + published.hashes))
    checked: tuple[str, ...] = (_strongest(merged),)
    if locked.algorithm not in checked:
        checked += (locked.algorithm,)
    return Integrity(merged, checked)


def _strongest(hashes: tuple[Hash, ...] | list[Hash]) -> str:
    present = {h.algorithm for h in hashes}
    return next(alg for alg in ALGORITHMS if alg in present)


def _parse_sri(sri: str) -> list[Hash]:
    out: list[Hash] = []
    for token in sri.split():
        alg, sep, rest = token.partition("-")
        alg = alg.lower()
        if not sep or alg not in _DIGEST_SIZE:
            continue  # unknown algorithm (md5, sha3-...) or not SRI at all: ignored, rule 2
        b64 = rest.split("?", 1)[0]
        try:
            digest = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            digest = b""
        if len(digest) != _DIGEST_SIZE[alg]:
            raise IntegrityError(
                f"malformed {alg} digest in integrity {token!r}",
                hint="the lockfile entry is damaged: remove it from package-lock.json and run weir install",
            )
        out.append(Hash(alg, digest))
    return out


def _parse_shasum(shasum: str) -> Hash:
    text = shasum.strip().lower()
    try:
        digest = bytes.fromhex(text)
    except ValueError:
        digest = b""
    if len(digest) != 20:
        raise IntegrityError(
            f"malformed shasum {shasum!r} (expected 40 hex digits)",
            hint="the registry's dist.shasum is damaged; report it to the registry",
        )
    return Hash("sha1", digest)
