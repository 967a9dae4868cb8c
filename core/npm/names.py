"""Package names: which ones weir accepts, and how they appear in URLs.

A package name becomes a directory under ``node_modules`` and a path segment
of a registry URL, so it is checked here before either is built.

Rules this module holds (npm's "valid for old packages", so existing names
with capital letters or ``~'!()*`` still install):

1. A name is 1 to 214 characters, with no leading or trailing whitespace.
2. It does not start with ``.`` or ``_``, and is not ``node_modules`` or
   ``favicon.ico`` (in any letter case).
3. It is either ``bare`` or ``@scope/bare``: exactly one ``/``, and only in a
   scoped name. Scope and bare part are non-empty, neither starts with ``.``,
   and both consist of URL-safe characters only (what ``encodeURIComponent``
   leaves alone). Together these rule out ``..``, ``.``, ``a/b``, ``../x``,
   backslashes and ``@x/../..``: no name can step outside its directory.
"""

from __future__ import annotations

import re

from weir.core.errors import InputError

MAX_NAME_LENGTH = 214

# The characters encodeURIComponent leaves as they are.
_URL_SAFE = re.compile(r"[A-Za-z0-9\-_.!~*'()]+")
_RESERVED = frozenset({"node_modules", "favicon.ico"})


class InvalidNameError(InputError):
    code = "EINVALIDPACKAGENAME"


def validate_name(name: str) -> None:
    """Raise ``InvalidNameError`` saying which rule ``name`` breaks."""
    problem = _problem(name)
    if problem is not None:
        raise InvalidNameError(
            f"invalid package name {name!r}: {problem}",
            package=name,
            hint="check the spelling in package.json or on the command line",
        )


def is_valid_name(name: str) -> bool:
    return _problem(name) is None


def split_scope(name: str) -> tuple[str | None, str]:
    """``"@types/node"`` -> ``("@types", "node")``; ``"lodash"`` -> ``(None, "lodash")``."""
    if name.startswith("@") and "/" in name:
        scope, bare = name.split("/", 1)
        return scope, bare
    return None, name


def escape_for_url(name: str) -> str:
    """The name as a registry URL path segment: ``@scope%2fname``, as npm requests it.

    The ``@`` stays literal and the slash is encoded, so a scoped packument is
    one path segment (registries route on that).
    """
    validate_name(name)
    return name.replace("/", "%2f")


def _problem(name: str) -> str | None:
    if not isinstance(name, str):
        return "name must be a string"
    if not name:
        return "name must not be empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"name must not be longer than {MAX_NAME_LENGTH} characters"
    if name.strip() != name:
        return "name must not start or end with whitespace"
    if name.startswith("."):
        return "name must not start with a period"
    if name.startswith("_"):
        return "name must not start with an underscore"
    if name.lower() in _RESERVED:
        return f"{name.lower()} is a reserved name"
    scope, bare = split_scope(name)
    if scope is not None:
        scope = scope[1:]
        if not scope:
            return "scope must not be empty"
        if scope.startswith(".") or bare.startswith("."):
            return "scope and name must not start with a period"
        if not bare:
            return "name after the scope must not be empty"
    for part in (scope, bare):
        if part is not None and not _URL_SAFE.fullmatch(part):
            return "name may only contain URL-safe characters (one '/' after a scope)"
    return None
