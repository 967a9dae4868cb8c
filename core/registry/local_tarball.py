"""A ``file:`` tarball dependency (``"x": "file:./vendor/x-1.0.0.tgz"``) read as a registry version.

npm installs a packed tarball from disk like a registry package: its manifest
is the tarball's own package.json, its lockfile entry records
``resolved: "file:<path relative to the project>"`` and the tarball's sha512
integrity, and it is extracted (not linked). Rules this module holds:

1. The manifest is the first ``package.json`` one folder deep (npm strips the
   tarball's top folder, whatever it is called: ``package/`` for ``npm pack``).
2. The integrity is the sha512 of the file's bytes, so the installer can
   verify the same bytes it extracts.
3. The manifest goes through the registry's version decoder, so a tarball's
   package.json is read with the same leniency and fields as a packument.
4. Only the manifest is read here; nothing is extracted.
5. At install time a lockfile's ``resolved: "file:<path>"`` is read only
   from inside the project (``local_tarball_path``): a path that leaves the
   project folder, or a symlink whose target does, is refused before any
   byte is read, so a lockfile cannot make weir read an arbitrary local file.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tarfile
from pathlib import Path

import orjson

from weir.core.errors import InputError
from weir.core.npm.packument import PackumentError, VersionManifest, decode_version

__all__ = ["local_tarball_path", "read_local_tarball", "resolved_file_url", "tarball_package_json"]

_MANIFEST_MAX = 4 * 1024 * 1024


def resolved_file_url(tarball: Path, project_dir: Path) -> str:
    """npm's ``resolved`` for a local tarball: ``file:`` and the path from the project root."""
    rel = os.path.relpath(tarball, project_dir).replace(os.sep, "/")
    return f"file:{rel}"


def local_tarball_path(project_dir: Path, resolved: str, *, package: str, version: str) -> Path:
    """The file a lockfile's ``resolved: "file:<path>"`` names, refused if it is not in the project (rule 5).

    The file need not exist yet: the content store may already hold its
    bytes under the locked integrity (npm installs from its cache then too).
    """
    root = project_dir.resolve()
    written = resolved.removeprefix("file:")
    lexical = Path(os.path.normpath(root / written))
    if not lexical.is_relative_to(root):
        raise InputError(
            f"{package}@{version} resolves to {resolved!r}, which is outside the project {root}",
            package=package,
            spec=version,
            hint="keep the tarball inside the project (e.g. vendor/) and depend on it as `file:./vendor/<name>.tgz`",
            code="ELOCKFILE",
        )
    real = lexical.resolve()
    if not real.is_relative_to(root):
        raise InputError(
            f"{package}@{version} resolves to {resolved!r}, a symlink to {real}, which is outside the project {root}",
            package=package,
            spec=version,
            hint=f"replace the link {lexical} with the tarball itself",
            code="ELOCKFILE",
        )
    return real


def read_local_tarball(tarball: Path, project_dir: Path, *, spec: str) -> VersionManifest:
    """The manifest of the tarball at ``tarball``, with ``dist`` pointing at it."""
    try:
        data = tarball.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the tarball {spec}: {exc.strerror}", spec=spec, code="ENOENT") from None
    doc = tarball_package_json(data, spec)
    doc["dist"] = {
        "tarball": resolved_file_url(tarball, project_dir),
        "integrity": "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode(),
    }
    try:
        return decode_version(orjson.dumps(doc))
    except PackumentError as exc:
        raise InputError(f"the package.json in {spec} is not usable: {exc}", spec=spec, code="EJSONPARSE") from None


def tarball_package_json(data: bytes, spec: str) -> dict[str, object]:
    """The package.json one folder deep in a package tarball (rule 1), as a dict."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tf:
            for member in tf:
                parts = member.name.replace("\\", "/").lstrip("./").split("/")
                if member.isfile() and len(parts) == 2 and parts[1] == "package.json" and member.size <= _MANIFEST_MAX:
                    f = tf.extractfile(member)
                    if f is None:
                        break
                    doc = orjson.loads(f.read().removeprefix(b"\xef\xbb\xbf"))
                    if isinstance(doc, dict):
                        return doc
                    break
    except (tarfile.TarError, OSError, EOFError, orjson.JSONDecodeError) as exc:
        raise InputError(f"{spec} is not a readable package tarball: {exc}", spec=spec, code="ETARGET") from None
    raise InputError(f"{spec} has no package.json in its top folder", spec=spec, code="ETARGET")
