"""Reading package.json into a typed record, as npm reads it.

Rules this module holds:

1. Malformed JSON is an ``InputError`` pointing at ``file:line:column``, so
   the user can jump straight to the mistake.
2. Fields weir acts on are type-checked and an error names the field:
   dependency maps must map names to string specs, scripts must be strings,
   list fields must hold strings. Fields weir does not act on stay in ``raw``.
3. Shapes npm accepts in several forms are normalized once, here:
   ``workspaces`` (array or ``{packages: [...]}``), ``bundleDependencies`` /
   ``bundledDependencies`` (``true`` meaning every dependency), ``os``/``cpu``/
   ``libc`` (string or array), ``bin`` (string, object, or
   ``directories.bin``).
4. A bin entry may never name a file outside its package or a link outside
   ``node_modules/.bin``: bad names and escaping or absolute targets are
   dropped with a warning rather than failing the install, because they come
   from published packages the user does not control.
5. Dependency maps are kept exactly as written; the resolver decides what an
   entry in both ``dependencies`` and ``optionalDependencies`` means (npm:
   optional wins).
6. What ``weir add``/``weir remove`` save is what npm saves (``saved_spec``,
   ``tidy_dependency_fields``): an added registry package is saved as
   save-prefix + the version chosen (``^4.18.1`` for ``lodash``,
   ``lodash@latest``, ``lodash@4.18.1``, ``lodash@^4``), unless the range typed
   allows less than that would (``~4.17.0`` stays ``~4.17.0``); ``--save-exact``
   makes the prefix empty; an alias keeps its ``npm:real@`` head. Each dependency
   object is then sorted by name in npm's order (JavaScript's ``localeCompare``:
   ``a_b`` before ``a-b`` before ``a1``, ``express`` before ``JSONStream``), and
   one left empty is removed.
7. package.json is written back in its own style (``JsonStyle``), as npm's
   json-parse-even-better-errors detects it: the line break and indent after
   the opening brace (CRLF and tabs survive), a one-line file stays one line,
   and ``{}`` gets npm's two spaces. A byte-order mark is dropped, as npm drops it.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from weir.core.errors import FilesystemError, InputError
from weir.core.npm.fields import DEPENDENCY_FIELDS
from weir.core.npm.names import split_scope

if TYPE_CHECKING:
    from weir.core.npm.spec import Spec


# npm's patterns (json-parse-even-better-errors): the first line break and indent, or an empty object.
_FORMAT = re.compile(r"^\s*[{\[]((?:\r?\n)+)([\s\t]*)")
_EMPTY = re.compile(r"^(?:\{\}|\[\])((?:\r?\n)+)?\Z")
# The printable ASCII in the order of localeCompare(a, b, "en") (ICU's root collation), letters
# case-folded: what npm's orderDeps sorts dependency names by.
_COLLATION = "_-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789abcdefghijklmnopqrstuvwxyz"
_PRIMARY = {c: i for i, c in enumerate(_COLLATION)}


class PackageJsonError(InputError):
    code = "EJSONPARSE"


@dataclass(frozen=True, slots=True)
class PackageJson:
    """One package.json. ``raw`` is the whole parsed document."""

    path: Path | None
    name: str | None
    version: str | None
    dependencies: dict[str, str]
    dev_dependencies: dict[str, str]
    optional_dependencies: dict[str, str]
    peer_dependencies: dict[str, str]
    peer_dependencies_meta: dict[str, dict[str, Any]]
    overrides: dict[str, Any]
    workspaces: tuple[str, ...]
    bundle_dependencies: tuple[str, ...]
    engines: dict[str, str]
    os: tuple[str, ...]
    cpu: tuple[str, ...]
    libc: tuple[str, ...]
    bin: dict[str, str]
    bin_warnings: tuple[str, ...]
    scripts: dict[str, str]
    trusted_dependencies: tuple[str, ...]
    raw: dict[str, Any]


def read_package_json(path: Path) -> PackageJson:
    """Read and check ``path``; ``directories.bin`` is expanded from its folder."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(
            f"no package.json at {path}",
            hint="run weir in a folder with a package.json, or create one with npm init",
            code="ENOENT",
        ) from None
    except OSError as error:
        raise FilesystemError(
            f"cannot read {path}: {error.strerror}", code="EFS"
        ) from error
    raw = _parse(data, str(path))
    return package_json_from_dict(raw, source=str(path), pkg_dir=path.parent, path=path)


def package_json_from_dict(
    raw: Any, *, source: str, pkg_dir: Path | None = None, path: Path | None = None
) -> PackageJson:
    """Check and normalize an already-parsed manifest (a file, a packument version).

    ``source`` names it in errors; ``pkg_dir`` lets ``directories.bin`` be listed.
    """
    if not isinstance(raw, dict):
        raise PackageJsonError(f"{source}: the top level must be a JSON object")
    fields = _Fields(raw, source)
    name = fields.optional_str("name")
    dependencies = fields.string_map("dependencies")
    bins, bin_warnings = normalize_bin(
        name, raw.get("bin"), raw.get("directories"), pkg_dir
    )
    return PackageJson(
        path=path,
        name=name,
        version=fields.optional_str("version"),
        dependencies=dependencies,
        dev_dependencies=fields.string_map("devDependencies"),
        optional_dependencies=fields.string_map("optionalDependencies"),
        peer_dependencies=fields.string_map("peerDependencies"),
        peer_dependencies_meta=fields.object_map("peerDependenciesMeta"),
        overrides=fields.object("overrides"),
        workspaces=fields.workspaces(),
        bundle_dependencies=fields.bundle_dependencies(dependencies),
        # Old packages wrote engines as an array of strings; npm ignores that form.
        engines=fields.string_map("engines")
        if isinstance(raw.get("engines"), dict)
        else {},
        os=fields.string_list("os", allow_single=True),
        cpu=fields.string_list("cpu", allow_single=True),
        libc=fields.string_list("libc", allow_single=True),
        bin=bins,
        bin_warnings=tuple(bin_warnings),
        scripts=fields.string_map("scripts"),
        trusted_dependencies=fields.string_list("trustedDependencies"),
        raw=raw,
    )


def normalize_bin(
    name: str | None,
    bin_field: Any,
    directories_field: Any,
    pkg_dir: Path | None = None,
) -> tuple[dict[str, str], list[str]]:
    """npm's bin normalization: returns ``({link name: target inside the package}, warnings)``.

    A string ``bin`` is linked under the package's bare name (scope stripped).
    Without ``bin``, ``directories.bin`` lists every file in that folder
    (recursively, skipping dotfiles and symlinks) when ``pkg_dir`` is known.
    Targets come back normalized and relative, e.g. ``bin/cli.js``.
    """
    warnings: list[str] = []
    if bin_field is None:
        entries = _bins_from_directory(directories_field, pkg_dir, warnings)
    elif isinstance(bin_field, str):
        if not name:
            return {}, ["bin is a string but the package has no name; no bin linked"]
        entries = {split_scope(name)[1]: bin_field}
    elif isinstance(bin_field, dict):
        entries = bin_field
    else:
        return {}, [
            f"bin must be a string or an object, not {_json_type(bin_field)}; ignored"
        ]
    bins: dict[str, str] = {}
    for link, target in entries.items():
        link_name = _bin_name(link)
        if link_name is None:
            warnings.append(f"bin name {link!r} is not a plain file name; skipped")
            continue
        if not isinstance(target, str):
            warnings.append(f"bin {link!r} target must be a string; skipped")
            continue
        clean = _inside_package(target)
        if clean is None:
            warnings.append(
                f"bin {link!r} target {target!r} points outside the package; skipped"
            )
            continue
        bins[link_name] = clean
    return bins, warnings


def _bin_name(link: str) -> str | None:
    scope, bare = split_scope(link)
    if scope is not None and len(scope) == 1:
        return None
    if not bare or bare in (".", "..") or any(c in bare for c in "/\\:\0"):
        return None
    return bare


def _inside_package(target: str) -> str | None:
    """``target`` as a normalized relative path, or None if absolute or escaping."""
    posix = target.replace("\\", "/")
    if (
        not posix
        or posix.startswith("/")
        or (len(posix) > 1 and posix[1] == ":")
        or "\0" in posix
    ):
        return None
    clean = posixpath.normpath(posix)
    if clean in (".", "..") or clean.startswith("../"):
        return None
    return clean


def _bins_from_directory(
    directories: Any, pkg_dir: Path | None, warnings: list[str]
) -> dict[str, str]:
    if not isinstance(directories, dict) or pkg_dir is None:
        return {}
    bin_dir = directories.get("bin")
    if not isinstance(bin_dir, str):
        return {}
    clean = _inside_package(bin_dir)
    if clean is None:
        warnings.append(
            f"directories.bin {bin_dir!r} points outside the package; ignored"
        )
        return {}
    root = pkg_dir / clean
    found: dict[str, str] = {}
    for current, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel_dir = Path(current).relative_to(root).as_posix()
        for file in sorted(files):
            if file.startswith(".") or os.path.islink(os.path.join(current, file)):
                continue
            found[file] = posixpath.normpath(posixpath.join(clean, rel_dir, file))
    return found


def _parse(data: bytes, source: str) -> Any:
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        line, column, message = error.lineno, error.colno, error.msg
    # orjson found the problem; the json module words it the way people know.
    try:
        json.loads(data)
    except json.JSONDecodeError as error:
        line, column, message = error.lineno, error.colno, error.msg
    except UnicodeDecodeError:
        message = "file is not valid UTF-8"
    raise PackageJsonError(
        f"{source}:{line}:{column}: {message}",
        hint="fix the JSON syntax at that position",
    )


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if value is None:
        return "null"
    return "an object"


class _Fields:
    """Typed access to a manifest's fields, raising errors that name the field."""

    __slots__ = ("raw", "source")

    def __init__(self, raw: dict[str, Any], source: str) -> None:
        self.raw = raw
        self.source = source

    def fail(self, field: str, wanted: str, value: Any) -> PackageJsonError:
        return PackageJsonError(
            f"{self.source}: {field} must be {wanted}, not {_json_type(value)}",
            hint=f"fix {field} in {self.source}",
            code="EINVALIDPACKAGEJSON",
        )

    def optional_str(self, key: str) -> str | None:
        value = self.raw.get(key)
        if value is not None and not isinstance(value, str):
            raise self.fail(f'"{key}"', "a string", value)
        return value

    def object(self, key: str) -> dict[str, Any]:
        value = self.raw.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(f'"{key}"', "an object", value)
        return value

    def string_map(self, key: str) -> dict[str, str]:
        value = self.object(key)
        for entry, spec in value.items():
            if not isinstance(spec, str):
                raise self.fail(f'"{key}"["{entry}"]', "a string", spec)
        return value

    def object_map(self, key: str) -> dict[str, dict[str, Any]]:
        value = self.object(key)
        for entry, meta in value.items():
            if not isinstance(meta, dict):
                raise self.fail(f'"{key}"["{entry}"]', "an object", meta)
        return value

    def string_list(self, key: str, *, allow_single: bool = False) -> tuple[str, ...]:
        value = self.raw.get(key, [])
        if allow_single and isinstance(value, str):
            return (value,)
        return self._strings(f'"{key}"', value)

    def workspaces(self) -> tuple[str, ...]:
        value = self.raw.get("workspaces", [])
        if isinstance(value, dict):
            return self._strings('"workspaces"."packages"', value.get("packages", []))
        return self._strings('"workspaces"', value)

    def bundle_dependencies(self, dependencies: dict[str, str]) -> tuple[str, ...]:
        key = (
            "bundleDependencies"
            if "bundleDependencies" in self.raw
            else "bundledDependencies"
        )
        value = self.raw.get(key, False)
        if value is True:
            return tuple(dependencies)
        if value is False:
            return ()
        return self._strings(f'"{key}"', value)

    def _strings(self, field: str, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(field, "an array of strings", value)
        for item in value:
            if not isinstance(item, str):
                raise self.fail(field, "an array of strings", item)
        return tuple(value)


def saved_spec(spec: Spec, version: str, save_prefix: str) -> str | None:
    """What npm saves in package.json for ``spec`` typed on the command line once ``version``
    is chosen (rule 6); None for a spec that is saved as typed (paths, URLs, git).

    ``save_prefix`` is already empty under save-exact, as npm flattens the two options.
    """
    from weir.core.npm.semver import subset  # only `weir add` needs it

    target = spec.subspec if spec.kind == "alias" and spec.subspec is not None else spec
    if target.kind not in ("version", "range", "tag"):
        return None
    prefixed = save_prefix + version
    typed = target.raw
    if target.kind == "range" and typed not in ("", "*") and not subset(prefixed, typed, loose=True):
        prefixed = typed
    return f"npm:{target.name}@{prefixed}" if target is not spec else prefixed


def npm_name_order(name: str) -> tuple[tuple[int, ...], tuple[bool, ...]]:
    """A sort key giving ``localeCompare(…, "en")``'s order for the ASCII package names are
    made of: punctuation, then digits, then letters regardless of case, then lower case first
    on a tie. Anything else sorts after, by code point."""
    primary = tuple(_PRIMARY.get(c, len(_COLLATION) + ord(c)) for c in name.lower())
    return primary, tuple(c.isupper() for c in name)


def tidy_dependency_fields(raw: dict[str, Any]) -> dict[str, Any]:
    """package.json as npm writes it back after an add or a remove (rule 6): each dependency
    object sorted by name, an empty one dropped, every other field where it was."""
    tidy = dict(raw)
    for field in DEPENDENCY_FIELDS:
        value = tidy.get(field)
        if not isinstance(value, dict):
            continue
        if value:
            tidy[field] = dict(sorted(value.items(), key=lambda item: npm_name_order(item[0])))
        else:
            del tidy[field]
    return tidy


@dataclass(frozen=True, slots=True)
class JsonStyle:
    """How a JSON file is laid out, so a rewrite changes only what changed (rule 7)."""

    indent: str = "  "
    newline: str = "\n"

    @classmethod
    def of(cls, text: str) -> JsonStyle:
        empty = _EMPTY.match(text)
        if empty is not None:
            return cls("  ", empty.group(1) or "\n")
        found = _FORMAT.match(text)
        if found is None:
            return cls("", "")
        return cls(found.group(2), found.group(1))

    def dumps(self, value: Any) -> str:
        """``value`` as npm's package.json writer prints it in this style."""
        if self.indent:
            text = json.dumps(value, indent=self.indent, ensure_ascii=False)
        else:
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        return (text + "\n").replace("\n", self.newline)
