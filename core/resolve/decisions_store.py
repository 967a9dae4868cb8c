"""The run's Decisions on disk, so ``weir why`` answers from what the resolver knew.

Rules this module holds (DESIGN rule 7, "why is recorded, not reconstructed"):

1. After a successful install the decisions go to
   ``node_modules/.weir/decisions.json`` (a dot folder: the linker and the
   hidden-lockfile check ignore it), written atomically after
   package-lock.json and before the hidden lockfile, which stays last.
2. ``--lockfile-only`` must not touch node_modules, so its decisions go to
   ``<cache>/decisions/<sha256 of the project path>.json``: one file per
   project, replaced by each run, so the cache does not grow with every
   lockfile a project ever had.
3. Each file carries the sha256 of the package-lock.json bytes it explains.
   A file whose hash differs from the lockfile on disk (npm installed since,
   someone edited the lockfile) is stale and never trusted: the reader
   returns None and ``weir why`` falls back to the lockfile alone.
4. Records are encoded as the trace encodes them (``weir.core.events``), so
   the file decodes back into the same frozen ``Decision`` objects. An
   unreadable or foreign file reads as None, never as an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import orjson
from weir.core.resolve.decision import Decision
from weir.core.events import _decode_record, dumps_records
from weir.core.atomic import write_atomic

__all__ = ["DECISIONS_FILE", "load_decisions", "lockfile_sha256", "save_decisions"]

DECISIONS_FILE = "node_modules/.weir/decisions.json"
FORMAT = 1


def lockfile_sha256(data: bytes) -> str:
    return _sha256(data)


def _sha256(data: bytes) -> str:
    """hashlib is imported here, not at the top: install imports this module, and an install
    that resolves nothing (the lockfile is the tree) writes no decisions, so it would pay for
    loading OpenSSL's hashes (~4 ms) for nothing."""
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _cache_path(project: Path, cache_dir: Path) -> Path:
    key = _sha256(str(project.resolve()).encode())
    return Path(cache_dir) / "decisions" / f"{key}.json"


def save_decisions(
    project: Path,
    lockfile: bytes,
    decisions: Mapping[str, Decision],
    *,
    cache_dir: Path | None = None,
) -> Path:
    """Write ``decisions`` for the package-lock.json that holds ``lockfile`` (its bytes as the
    install writes them, or would with ``--no-save``); returns the file written.

    With ``cache_dir`` (``--lockfile-only``) the file goes to the cache instead
    of node_modules (rule 2).
    """
    doc = {
        "format": FORMAT,
        "lockfile_sha256": lockfile_sha256(lockfile),
        "decisions": dict(decisions),
    }
    if cache_dir is None:
        path = project / DECISIONS_FILE
    else:
        path = _cache_path(project, cache_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, dumps_records(doc))
    return path


def load_decisions(project: Path, cache_dir: Path) -> dict[str, Decision] | None:
    """The recorded decisions that explain the package-lock.json on disk, or None (rule 3)."""
    try:
        current = lockfile_sha256((project / "package-lock.json").read_bytes())
    except OSError:
        return None
    for path in (project / DECISIONS_FILE, _cache_path(project, cache_dir)):
        found = _read(path, current)
        if found is not None:
            return found
    return None


def _read(path: Path, lockfile_hash: str) -> dict[str, Decision] | None:
    try:
        doc = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("lockfile_sha256") != lockfile_hash:
        return None
    raw = doc.get("decisions")
    if not isinstance(raw, dict):
        return None
    out: dict[str, Decision] = {}
    try:
        for location, obj in raw.items():
            decision = _decode_record(obj) if isinstance(obj, dict) and obj.get("type") == "Decision" else None
            if not isinstance(decision, Decision):
                return None
            out[location] = decision
    except (TypeError, KeyError):
        return None
    return out
