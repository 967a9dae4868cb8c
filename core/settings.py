"""npm's configuration layers, read and merged but not yet typed: the light half of config.

``weir install`` asks "is this a no-op?" before importing anything heavy, and
the answer depends on configuration (``omit`` in an .npmrc, ``npm_config_omit``,
NODE_ENV). This module reads it exactly as a full install does, with the
standard library alone (no dataclasses, no json unless a value is quoted), so
both paths decide from the same settings. ``weir.core.config`` builds the typed
``Config`` from the same ``Settings``.

Rules this module holds:

1. Layers, highest first: command line, ``npm_config_*`` environment
   variables, the project ``.npmrc``, the user ``.npmrc`` (``~/.npmrc`` or the
   ``userconfig`` key, e.g. ``$NPM_CONFIG_USERCONFIG``), the global ``npmrc``
   (``$PREFIX/etc/npmrc``), defaults. A key set in a higher layer replaces the
   whole value below it, arrays included.
2. The .npmrc syntax is npm's ini dialect: ``;``/``#`` comments (also after an
   unquoted value), ``key=value``, a bare ``key`` meaning true, quoted values
   (double quotes are JSON strings), ``key[]=v`` building an array, and
   ``[section]`` headers whose keys npm never reads as settings.
3. ``${VAR}`` in keys and values is replaced from the environment; an unset
   variable stays literally ``${VAR}``; ``${VAR?}`` becomes empty when unset;
   ``\\${VAR}`` is a literal ``${VAR}`` (npm 11's rules).
4. A top-level ``_authToken``/``_auth``/``username``/``_password`` is an
   error, as in npm 9+, because it would be sent to any host.
5. A value weir cannot use (``fetch-retries=lots``, ``omit=tests``, a
   registry that is not http(s)) is a ``ConfigError`` (an ``InputError``)
   naming the key and where it was set.
6. A line npm would not use is not an error, as it is not to npm: a key npm
   does not know (a garbage line reads as one, ``[section]`` headers too) and
   a key npm deprecates are ``Settings.warnings`` naming the file and the
   line, and the install goes on. npm 11 prints "Unknown project config" for
   the first and a replacement for the second. Unlike npm's, the warning
   never echoes a run of 20 or more token characters (``***``): a token
   pasted without its ``key=`` would otherwise land in a CI log. npm's
   ``proxy``, ``https-proxy`` and ``noproxy`` warn too: weir takes proxies
   from ``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY`` only, and a proxy setting
   silently dropped would look like a registry that does not answer.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from weir.core.errors import InputError
from weir.core.npm.npmrc_keys import DEPRECATED, NERF_DART_FIELDS, NPM_KEYS, QUIET_KEYS

DEFAULT_REGISTRY = "https://registry.npmjs.org/"

OMIT_TYPES = frozenset({"dev", "optional", "peer"})
AUTH_FIELDS = ("_authToken", "_auth", "username", "_password")
# npm lowercases npm_config_* names, so npm_config__authToken arrives as _authtoken.
_UNSCOPED_AUTH = {name.lower(): name for name in AUTH_FIELDS}

Value = str | bool | list[str]

_ENV_VAR = re.compile(r"(?<!\\)(\\*)\$\{([^${}?]+)(\?)?\}")
_INI_LINE = re.compile(r"^\[([^\]]*)\]\s*$|^([^=]+)(=(.*))?$")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# A token pasted on a line of its own, or before a space instead of "=", reads as a key; a
# warning shows such runs (no config name has one: its words are joined by hyphens) as ***.
_LONG_RUN = re.compile(r"[A-Za-z0-9+/=_]{20,}")
# The keys whose value is a credential, in any casing, scoped (``//host/:_authToken``) or not.
_SECRET_KEY = re.compile(r"(_authtoken|_auth|_password|password|token)\s*$", re.IGNORECASE)

BOOLEAN_DEFAULTS = {
    "strict-ssl": True,
    "prefer-offline": False,
    "prefer-online": False,
    "offline": False,
    "ignore-scripts": False,
    "legacy-peer-deps": False,
    "save-exact": False,
    "omit-lockfile-registry-resolved": False,
}
INTEGER_DEFAULTS = {
    "fetch-retries": 2,
    "fetch-retry-mintimeout": 10_000,
    "fetch-retry-maxtimeout": 60_000,
    "fetch-timeout": 300_000,
    "maxsockets": 16,
    "weir-manifest-max-age": 300,
}


class ConfigError(InputError):
    code = "ECONFIG"


class Settings:
    """Every layer merged (rule 1): each key's value and where it was set, and the warnings.

    The no-op path stops here: importing and building the typed ``Config`` too
    would add about 4 ms to each no-op run; reading these settings takes 0.3 ms.
    """

    __slots__ = ("env", "merged", "reader", "warnings", "where")

    def __init__(self, merged: dict[str, Value], where: dict[str, str], reader: _Reader, env: Mapping[str, str]) -> None:
        self.merged = merged
        self.where = where
        self.reader = reader
        self.env = env
        self.warnings = tuple(reader.warnings)

    def typed(self) -> Typed:
        return Typed(self.merged, self.where, self.reader)

    def omit(self) -> frozenset[str]:
        """The dependency types left out of node_modules (npm's rule, NODE_ENV included)."""
        return self.typed().omit(self.env.get("NODE_ENV") == "production")


def read_settings(
    project_dir: Path,
    *,
    cli: Mapping[str, str | bool | Sequence[str]] | None = None,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
    global_rc: Path | None = None,
) -> Settings:
    """Read and merge every layer.

    ``cli`` maps npm's key names (``fetch-retries``, ``omit``) to flag values;
    a repeated flag is a list. ``env``, ``home`` and ``global_rc`` default to
    the process's own so tests can pass their own.
    """
    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    reader = _Reader(env, home, project_dir)
    cli_layer = reader.expand({k: _cli_value(v) for k, v in (cli or {}).items()})
    env_layer = reader.expand(_env_layer(env))
    user_rc = _path_setting("userconfig", cli_layer, env_layer, reader) or home / ".npmrc"
    global_path = _path_setting("globalconfig", cli_layer, env_layer, reader) or global_rc or _default_global_rc(env)
    project_rc = project_dir / ".npmrc"
    layers: list[tuple[str, dict[str, Value]]] = []
    if global_path is not None:
        layers.append((f"global config {global_path}", reader.read_rc(global_path, "global")))
    layers.append((f"user config {user_rc}", reader.read_rc(user_rc, "user")))
    if _same_file(project_rc, user_rc):
        layers.append((f"project config {project_rc}", {}))
    else:
        layers.append((f"project config {project_rc}", reader.read_rc(project_rc, "project")))
    layers.append(("environment (npm_config_*)", env_layer))
    layers.append(("command line", cli_layer))
    merged: dict[str, Value] = {}
    where: dict[str, str] = {}
    for source, layer in layers:
        for key in layer:
            if key.lower() in _UNSCOPED_AUTH:
                raise _unscoped_auth(_UNSCOPED_AUTH[key.lower()], source)
        merged.update(layer)
        where.update(dict.fromkeys(layer, source))
    return Settings(merged, where, reader, env)


def in_ci(env: Mapping[str, str] | None = None) -> bool:
    """True on a CI machine (``CI`` set to anything but empty, ``0`` or ``false``): there
    weir prints plain lines instead of the live view, whatever the terminal claims."""
    env = os.environ if env is None else env
    return env.get("CI", "").lower() not in ("", "0", "false")


def raw_secrets(project_dir: Path, *, env: Mapping[str, str] | None = None, home: Path | None = None) -> set[str]:
    """Every credential value written in the rc files and ``npm_config_*`` variables,
    found line by line without reading them as settings.

    What shows text when the settings cannot be read (a broken .npmrc) redacts
    with these, so a token beside the bad line is hidden all the same (fail closed).
    """
    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    reader = _Reader(env, home, project_dir)
    env_layer = _env_layer(env)
    pairs = [(key, value) for key, value in env_layer.items() if isinstance(value, str)]
    user_rc = _path_setting("userconfig", {}, env_layer, reader) or home / ".npmrc"
    global_rc = _path_setting("globalconfig", {}, env_layer, reader) or _default_global_rc(env)
    for path in (project_dir / ".npmrc", user_rc, global_rc):
        try:
            text = path.read_text(encoding="utf-8", errors="replace") if path is not None else ""
        except OSError:
            continue
        for line in _LINE_BREAK.split(text):
            key, sep, value = line.partition("=")
            if sep:
                pairs.append((key.strip(), value.strip()))
    found: set[str] = set()
    for key, value in pairs:
        if _SECRET_KEY.search(key) is None:
            continue
        encoded = key.lower().endswith(("_auth", "_password"))
        for raw in (value, _unquote(value), reader.replace(_unquote(value))):
            found.update(_secret_forms(raw) if encoded else (raw,))
    return {s for s in found if len(s) >= 4}  # a shorter "secret" would garble the text it hides in


def _secret_forms(value: str) -> list[str]:
    """``value`` and what it stands for once decoded: ``_password`` and ``_auth`` are base64."""
    import base64  # only a broken .npmrc with such a line needs it

    forms = [value]
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except ValueError:
        return forms
    forms.append(decoded)
    forms.extend(decoded.split(":", 1))
    return forms


def _unscoped_auth(key: str, source: str) -> ConfigError:
    nerf = "//" + DEFAULT_REGISTRY.split("://", 1)[1]
    return ConfigError(
        f"`{key}` must be scoped to a registry (found in {source})",
        hint=f"rename it to `{nerf}:{key}` (or your registry's //host/path/) so it is "
        "only sent to that registry",
        code="ERR_INVALID_AUTH",
    )


class _Reader:
    """Reads rc files and expands ``${VAR}`` and paths, as npm does."""

    __slots__ = ("base", "env", "home", "warnings")

    def __init__(self, env: Mapping[str, str], home: Path, base: Path) -> None:
        self.env = env
        self.home = home
        self.base = base
        self.warnings: list[str] = []

    def read_rc(self, path: Path, where: str) -> dict[str, Value]:
        """One rc file's settings; lines npm would warn about go to ``warnings`` (rule 6)."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(f"cannot read {path}: {error}") from error
        settings, written = _parse_ini(text)
        for line, key, is_section in written:
            problem = _unusable_key(key, where, is_section=is_section)
            if problem is not None:
                self.warnings.append(f"{path}:{line}: {problem}")
        return self.expand(settings)

    def expand(self, layer: Mapping[str, Value]) -> dict[str, Value]:
        expanded: dict[str, Value] = {}
        for key, value in layer.items():
            if isinstance(value, str):
                value = self.replace(value)
            elif isinstance(value, list):
                value = [self.replace(item) for item in value]
            expanded[self.replace(key)] = value
        return expanded

    def replace(self, text: str) -> str:
        def substitute(match: re.Match[str]) -> str:
            escapes, name, optional = match.group(1), match.group(2), match.group(3)
            if len(escapes) % 2:
                return match.group(0)[(len(escapes) + 1) // 2 :]
            fallback = "" if optional else "${" + name + "}"
            return escapes[len(escapes) // 2 :] + self.env.get(name, fallback)

        return _ENV_VAR.sub(substitute, text)

    def path(self, text: str) -> Path:
        if text.startswith("~/"):
            return self.home / text[2:]
        return self.base / text


def parse_ini(text: str) -> dict[str, Value]:
    """npm's .npmrc dialect (rule 2). Keys under ``[section]`` come back
    as ``section.key`` so they can never be mistaken for settings."""
    return _parse_ini(text)[0]


# npm's proxy settings, and the environment variables weir takes proxies from instead
_PROXY_KEYS = {"proxy": "HTTP_PROXY", "https-proxy": "HTTPS_PROXY", "noproxy": "NO_PROXY"}


def _unusable_key(key: str, where: str, *, is_section: bool) -> str | None:
    """Why npm would warn about a top-level key (or ``[section]`` header) read from a
    ``where`` ("project", "user", "global") file, or None."""
    if key not in NPM_KEYS:
        key = _LONG_RUN.sub("***", key)
    if is_section:
        return f'unknown {where} config "{key}" (a [{key}] section); ignored, as npm ignores it'
    if key in DEPRECATED:
        return f'config "{key}" is deprecated in npm: {DEPRECATED[key]}'
    if key in _PROXY_KEYS:
        return f'config "{key}" is not read by weir; set {_PROXY_KEYS[key]} in the environment, which weir honours'
    if key in NPM_KEYS or key in QUIET_KEYS:
        return None
    if ":" not in key:
        return f'unknown {where} config "{key}"; ignored, as npm ignores it'
    base = key.rsplit(":", 1)[1]
    if base in NPM_KEYS or base in NERF_DART_FIELDS:
        return None
    return f'unknown {where} config "{base}" ({key}); ignored, as npm ignores it'


def _parse_ini(text: str) -> tuple[dict[str, Value], list[tuple[int, str, bool]]]:
    """The settings, and for rule 6 each top-level key as written (before ``${VAR}``
    expansion, as npm checks it) and each section name, with its line number."""
    result: dict[str, Value] = {}
    written: list[tuple[int, str, bool]] = []
    section = ""
    for number, line in enumerate(_LINE_BREAK.split(text), start=1):
        if not line.strip() or line.lstrip()[0] in ";#":
            continue
        match = _INI_LINE.match(line)
        if match is None:
            continue
        if match.group(1) is not None:
            section = _unquote(match.group(1)) + "."
            written.append((number, section[:-1], True))
            continue
        key = _unquote(match.group(2))
        is_array = key.endswith("[]") and len(key) > 2
        if is_array:
            key = key[:-2]
        if not section:
            written.append((number, key, False))
        key = section + key
        value: Value = _unquote(match.group(4)) if match.group(3) else True
        if value in ("true", "false"):
            value = value == "true"
        elif value == "null":
            continue
        if is_array:
            previous = result.get(key)
            items = previous if isinstance(previous, list) else []
            items.append(value if isinstance(value, str) else str(value).lower())
            result[key] = items
        else:
            result[key] = value
    return result, written


def _unquote(raw: str) -> str:
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        if value[0] == "'":
            return value[1:-1]
        import json  # only a double-quoted value needs it

        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        return decoded if isinstance(decoded, str) else value
    # An unquoted value ends at the first unescaped ; or #; \; \# and \\ are literal.
    out: list[str] = []
    escaped = False
    for char in value:
        if escaped:
            out.append(char if char in "\\;#" else "\\" + char)
            escaped = False
        elif char in ";#":
            break
        elif char == "\\":
            escaped = True
        else:
            out.append(char)
    if escaped:
        out.append("\\")
    return "".join(out).strip()


def _env_layer(env: Mapping[str, str]) -> dict[str, Value]:
    """``npm_config_fetch_retries=5`` -> ``fetch-retries``; ``//`` keys keep their case."""
    layer: dict[str, Value] = {}
    for name, value in env.items():
        if not name.lower().startswith("npm_config_") or value == "":
            continue
        key = name[len("npm_config_") :]
        if not key.startswith("//"):
            key = (key[:1] + key[1:].replace("_", "-")).lower()
        layer[key] = value
    return layer


def _cli_value(value: str | bool | Sequence[str]) -> Value:
    if isinstance(value, (str, bool)):
        return value
    return list(value)


def _path_setting(
    key: str, cli: Mapping[str, Value], env: Mapping[str, Value], reader: _Reader
) -> Path | None:
    for layer in (cli, env):
        value = layer.get(key)
        if isinstance(value, str) and value:
            return reader.path(value)
    return None


def _default_global_rc(env: Mapping[str, str]) -> Path | None:
    """``$PREFIX/etc/npmrc``; without PREFIX, npm's prefix is the folder above node's bin/."""
    prefix = env.get("PREFIX")
    if prefix:
        return Path(prefix) / "etc" / "npmrc"
    for folder in env.get("PATH", "").split(os.pathsep):
        node = os.path.join(folder or ".", "node")
        if os.path.isfile(node) and os.access(node, os.X_OK):  # shutil.which's test, without its imports
            return Path(node).resolve().parent.parent / "etc" / "npmrc"
    return None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


class Typed:
    """Typed reads of the merged layers; errors name the key and where it was set."""

    __slots__ = ("merged", "reader", "where")

    def __init__(
        self, merged: Mapping[str, Value], where: Mapping[str, str], reader: _Reader
    ) -> None:
        self.merged = merged
        self.where = where
        self.reader = reader

    def fail(self, key: str, wanted: str) -> ConfigError:
        return ConfigError(
            f"config {key}={self.merged[key]!r} is not {wanted} (set in {self.where[key]})",
            hint=f"fix or remove {key} there",
        )

    def boolean(self, key: str) -> bool:
        value = self.merged.get(key, BOOLEAN_DEFAULTS.get(key, False))
        if isinstance(value, bool):
            return value
        if value in ("", "true"):
            return True
        if value == "false":
            return False
        raise self.fail(key, "true or false")

    def integer(self, key: str) -> int:
        value = self.merged.get(key, INTEGER_DEFAULTS[key])
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"\s*[0-9]+\s*", value):
            return int(value)
        raise self.fail(key, "a whole number of 0 or more")

    def string(self, key: str, default: str) -> str:
        value = self.merged.get(key, default)
        if not isinstance(value, str):
            raise self.fail(key, "a string")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.merged.get(key, [])
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list):
            return tuple(value)
        raise self.fail(key, "a string or a list")

    def path(self, key: str) -> Path | None:
        value = self.merged.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise self.fail(key, "a path")
        return self.reader.path(value)

    def registry(self, key: str) -> str | None:
        value = self.merged.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not re.match(
            r"^https?://[^/]", value, re.IGNORECASE
        ):
            raise self.fail(key, "an http(s) URL")
        return value if value.endswith("/") else value + "/"

    def omit(self, node_env_production: bool) -> frozenset[str]:
        """npm's rule: ``omit`` (default ``dev`` under NODE_ENV=production),
        plus ``dev`` when ``production`` is true, minus ``include``."""
        omit = set(self.strings("omit")) if "omit" in self.merged else set()
        if "omit" not in self.merged and node_env_production:
            omit.add("dev")
        include = set(self.strings("include"))
        if "production" in self.merged:
            if self.boolean("production"):
                omit.add("dev")
            else:
                include.add("dev")
        for key, kinds in (("omit", omit), ("include", include)):
            unknown = kinds - OMIT_TYPES
            if unknown:
                raise self.fail(key, "dev, optional or peer")
        return frozenset(omit - include)
