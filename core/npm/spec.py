"""What a dependency spec asks for: a version, a range, a tag, an alias, a URL, a path.

The same text means the same thing here as in npm (npm-package-arg), because
users copy specs between npm and weir. Rules this module holds:

1. A spec is classified in this order: ``workspace:``; a local path or
   ``file:``; ``npm:`` alias; git (hosted shortcuts such as ``github:u/r`` and
   ``u/r``, ``git:``/``git+...:`` URLs, ``user@host:path``, repository pages on
   github.com/gitlab.com/bitbucket.org); ``http(s)`` tarball URL; anything else
   with a slash or a tarball suffix is a path; then the registry: an exact
   version, a range (loose parsing, so ``""`` and ``*`` are ranges), or a tag.
2. A registry spec without a name is an error; a tag must be URL-safe; any
   other ``scheme:`` is an unsupported protocol.
3. An alias (``npm:real@range``) points at a registry spec, never at another
   alias, a URL or a path.
4. ``file:`` and path specs are resolved against ``where`` (the directory of
   the package.json that holds them), and ``~/`` against the home directory.
5. Git specs are recognised here and taken apart by ``weir.core.resolve.git``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from weir.core.errors import InputError
from weir.core.npm.names import is_valid_name, validate_name
from weir.core.npm.semver import valid, valid_range

SpecKind = Literal[
    "version", "range", "tag", "alias", "remote", "file", "workspace", "git"
]

REGISTRY_KINDS = frozenset({"version", "range", "tag"})

_TARBALL_SUFFIX = re.compile(r"\.(?:tgz|tar\.gz|tar)$", re.IGNORECASE)
_LOCAL_PATH = re.compile(r"^(?:\.|~/|/|[a-zA-Z]:)")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_SCP_LIKE = re.compile(r"^[^@]+@[^:.]+\.[^:]+:.+$")
_HOSTED_SHORTCUT = re.compile(r"^(?:github|gitlab|bitbucket|gist):", re.IGNORECASE)
_GIT_SCHEME = re.compile(r"^git(?:\+[a-z]+)?:", re.IGNORECASE)
_HTTP = re.compile(r"^https?://", re.IGNORECASE)
_HOSTED_HOSTS = frozenset(
    {"github.com", "www.github.com", "gitlab.com", "bitbucket.org"}
)
_URL_SAFE = re.compile(r"[A-Za-z0-9\-_.!~*'()]+")


class InvalidSpecError(InputError):
    code = "EINVALIDSPEC"


@dataclass(frozen=True, slots=True)
class Spec:
    """One parsed dependency spec.

    ``raw`` is the spec as written (``""`` for a bare CLI name). ``fetch_spec``
    is what to look up: the normalized version, the range (``*`` for an empty
    one), the tag, the URL, the absolute path, the workspace range, or for an
    alias the ``real@range`` text, whose parse is ``subspec``.
    """

    kind: SpecKind
    name: str | None
    raw: str
    fetch_spec: str
    subspec: Spec | None = None

    @property
    def is_tarball(self) -> bool:
        """A ``file`` spec naming a packed tarball rather than a directory."""
        return self.kind == "file" and bool(_TARBALL_SUFFIX.search(self.fetch_spec))


def parse_spec(name: str, raw: str, *, where: Path | None = None) -> Spec:
    """Parse the value of a package.json dependency entry ``name: raw``."""
    validate_name(name)
    return _resolve(name, raw, where)


def parse_arg(arg: str) -> Spec:
    """Parse a command-line argument: ``lodash``, ``lodash@^4``, ``@s/p@latest``,
    ``alias@npm:real@1``, ``./dir``, ``github:u/r``, a tarball URL...

    A bare name asks for the ``latest`` tag; ``name@`` asks for any version.
    Paths resolve against the current directory.
    """
    arg = arg.strip()
    name_end = arg.find("@", 1)
    name_part = arg[:name_end] if name_end > 0 else arg
    if _SCHEME.match(arg) or _SCP_LIKE.match(arg):
        return _resolve(None, arg, None)
    if not name_part.startswith("@") and (
        "/" in name_part or _TARBALL_SUFFIX.search(name_part)
    ):
        return _resolve(None, arg, None)
    if name_end > 0:
        validate_name(name_part)
        return _resolve(name_part, arg[name_end + 1 :], None)
    validate_name(arg)
    return Spec("tag", arg, "", "latest")


def _resolve(name: str | None, raw: str, where: Path | None) -> Spec:
    text = raw.strip()
    lowered = text.lower()
    if lowered.startswith("workspace:"):
        return _workspace(name, raw, text[len("workspace:") :])
    if lowered.startswith("file:") or _LOCAL_PATH.match(text):
        return _file(name, raw, text, where)
    if lowered.startswith("npm:"):
        return _alias(name, raw, text[len("npm:") :])
    if _is_git(text):
        return Spec("git", name, raw, text)
    if _HTTP.match(text):
        return Spec("remote", name, raw, text)
    if _SCHEME.match(text):
        raise InvalidSpecError(
            f"unsupported URL type {text.split(':', 1)[0]!r}",
            package=name,
            spec=raw,
            hint="use a version range, a tag, an http(s) tarball URL or a file: path",
            code="EUNSUPPORTEDPROTOCOL",
        )
    if "/" in text or _TARBALL_SUFFIX.search(text):
        return _file(name, raw, text, where)
    return _registry(name, raw, text)


def _registry(name: str | None, raw: str, text: str) -> Spec:
    if name is None:
        raise InvalidSpecError(
            f"{raw!r} is neither a package name nor a path or URL",
            spec=raw,
            hint="write it as name@range, ./path or a URL",
        )
    version = valid(text, loose=True)
    if version is not None:
        return Spec("version", name, raw, version)
    if valid_range(text, loose=True) is not None:
        return Spec("range", name, raw, text or "*")
    if not _URL_SAFE.fullmatch(text):
        raise InvalidSpecError(
            f"invalid tag name {text!r}: tags may only contain URL-safe characters",
            package=name,
            spec=raw,
            hint="use a semver range such as ^1.2.0 or a dist-tag such as latest",
            code="EINVALIDTAGNAME",
        )
    return Spec("tag", name, raw, text)


def _alias(name: str | None, raw: str, target: str) -> Spec:
    name_end = target.find("@", 1)
    real = target[:name_end] if name_end > 0 else target
    if not is_valid_name(real):
        raise InvalidSpecError(
            f"alias target {target!r} does not start with a package name",
            package=name,
            spec=raw,
            hint="write aliases as npm:real-name@range",
        )
    if name_end > 0:
        sub = _resolve(real, target[name_end + 1 :], None)
    else:
        sub = Spec("tag", real, "", "latest")
    if sub.kind not in REGISTRY_KINDS:
        raise InvalidSpecError(
            "an npm: alias must point at a registry version, range or tag",
            package=name or real,
            spec=raw,
            hint="write aliases as npm:real-name@range",
        )
    return Spec("alias", name or real, raw, target, sub)


def _workspace(name: str | None, raw: str, rest: str) -> Spec:
    rest = rest.strip()
    if rest not in ("*", "^", "~") and valid_range(rest, loose=True) is None:
        raise InvalidSpecError(
            f"invalid workspace spec {raw!r}",
            package=name,
            spec=raw,
            hint="use workspace:*, workspace:^, workspace:~ or workspace:<range>",
        )
    return Spec("workspace", name, raw, rest or "*")


def _file(name: str | None, raw: str, text: str, where: Path | None) -> Spec:
    target = text.replace("\\", "/")
    if target.lower().startswith("file:"):
        target = target[len("file:") :]
        target = target.removeprefix("//")  # file:///abs and file://rel
    if target.startswith("~/"):
        target = str(Path.home() / target[2:])
    base = where if where is not None else Path.cwd()
    return Spec("file", name, raw, os.path.normpath(os.path.join(base, target)))


def _is_git(text: str) -> bool:
    if _HOSTED_SHORTCUT.match(text) or _GIT_SCHEME.match(text) or _SCP_LIKE.match(text):
        return True
    if _HTTP.match(text):
        return _is_hosted_repo_page(text)
    return _is_github_shorthand(text)


def _is_hosted_repo_page(url: str) -> bool:
    """``https://github.com/u/r`` (optionally ``.git``, ``/tree/x``) is a git repository,
    while ``https://github.com/u/r/archive/x.tar.gz`` is a tarball."""
    parts = urlsplit(url)
    if (parts.hostname or "").lower() not in _HOSTED_HOSTS:
        return False
    segments = [s for s in parts.path.split("/") if s]
    return len(segments) == 2 or (len(segments) >= 3 and segments[2] == "tree")


def _is_github_shorthand(text: str) -> bool:
    """``user/repo`` or ``user/repo#ref``: one slash before any ``#``, no spaces,
    ``@`` or ``:`` before it, not starting with a dot, not ending with a slash."""
    head, _, _ref = text.partition("#")
    if not head or head.startswith(".") or head.endswith("/"):
        return False
    if any(c in head for c in " \t@:"):
        return False
    return head.count("/") == 1 and not head.startswith("/")
