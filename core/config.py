"""Configuration from .npmrc files, ``npm_config_*`` variables and flags, as npm reads it.

People already keep registry and auth settings in .npmrc; weir reads the same
files with the same meaning so it works where npm works.

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
4. Credentials are only ever sent where they were configured for: a
   ``//host[:port]/path/:_authToken`` (or ``:_auth``, ``:username`` with
   ``:_password``) applies to URLs on that host, on that port (443 and no port
   are the same for https, 80 and no port for http), under that path. A
   top-level ``_authToken``/``_auth``/``username``/``_password`` is an error,
   as in npm 9+, because it would be sent to any host.
5. Secrets never reach a repr or a log line unredacted: ``repr(config)``
   hides them, and ``Config.redact`` scrubs any text before it is shown.
6. A value weir cannot use (``fetch-retries=lots``, ``omit=tests``, a
   registry that is not http(s)) is an ``InputError`` naming the key and
   where it was set.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

from weir.core.errors import InputError
from weir.core.names import split_scope

DEFAULT_REGISTRY = "https://registry.npmjs.org/"
OMIT_TYPES = frozenset({"dev", "optional", "peer"})
AUTH_FIELDS = ("_authToken", "_auth", "username", "_password")
# npm lowercases npm_config_* names, so npm_config__authToken arrives as _authtoken.
_UNSCOPED_AUTH = {name.lower(): name for name in AUTH_FIELDS}

Value = str | bool | list[str]

_ENV_VAR = re.compile(r"(?<!\\)(\\*)\$\{([^${}?]+)(\?)?\}")
_INI_LINE = re.compile(r"^\[([^\]]*)\]\s*$|^([^=]+)(=(.*))?$")
_URL_CREDENTIALS = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@]+@")
_DEFAULT_PORTS = {"https": 443, "http": 80}

_BOOLEAN_KEYS = {
    "strict-ssl": True,
    "prefer-offline": False,
    "prefer-online": False,
    "offline": False,
    "ignore-scripts": False,
    "legacy-peer-deps": False,
    "save-exact": False,
    "omit-lockfile-registry-resolved": False,
}
_INTEGER_KEYS = {
    "fetch-retries": 2,
    "fetch-retry-mintimeout": 10_000,
    "fetch-retry-maxtimeout": 60_000,
    "fetch-timeout": 300_000,
    "maxsockets": 16,
    "weir-manifest-max-age": 300,
}
_CONSUMED_KEYS = frozenset(
    {*_BOOLEAN_KEYS, *_INTEGER_KEYS, "registry", "cafile", "ca", "cache", "omit", "include",
     "production", "save-prefix", "userconfig", "globalconfig"}
)  # fmt: skip


class ConfigError(InputError):
    code = "ECONFIG"


@dataclass(frozen=True, slots=True, repr=False)
class Credential:
    """Auth configured for one ``//host[:port]/path/`` prefix."""

    host: str
    port: int | None
    path: str  # always ends with "/"
    token: str | None
    auth: str | None
    username: str | None
    password: str | None  # decoded from the base64 ``_password``
    source: str

    def headers(self) -> dict[str, str] | None:
        """The Authorization header this credential yields, or None if incomplete."""
        if self.token:
            return {"Authorization": f"Bearer {self.token}"}
        if self.username and self.password is not None:
            pair = f"{self.username}:{self.password}".encode()
            return {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}
        if self.auth:
            return {"Authorization": f"Basic {self.auth}"}
        return None

    def secrets(self) -> list[str]:
        found = [s for s in (self.token, self.auth, self.password) if s]
        if self.password:
            found.append(base64.b64encode(self.password.encode()).decode())
        headers = self.headers()
        if headers:
            found.append(headers["Authorization"].split(" ", 1)[1])
        return found

    def matches(self, scheme: str, host: str, port: int | None, directory: str) -> bool:
        if host != self.host or not directory.startswith(self.path):
            return False
        if port == self.port:
            return True
        default = _DEFAULT_PORTS.get(scheme)
        return (
            default is not None
            and port in (None, default)
            and self.port in (None, default)
        )

    def __repr__(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return (
            f"Credential(//{self.host}{port}{self.path}, ***, source={self.source!r})"
        )


@dataclass(frozen=True, slots=True, repr=False)
class Config:
    registry: str = DEFAULT_REGISTRY
    scoped_registries: Mapping[str, str] = field(default_factory=dict)
    strict_ssl: bool = True
    cafile: Path | None = None
    ca: tuple[str, ...] = ()
    fetch_retries: int = 2
    fetch_retry_mintimeout: int = 10_000  # ms
    fetch_retry_maxtimeout: int = 60_000  # ms
    fetch_timeout: int = 300_000  # ms
    maxsockets: int = 16
    cache: Path = Path.home() / ".cache" / "weir"
    prefer_offline: bool = False
    prefer_online: bool = False
    offline: bool = False
    ignore_scripts: bool = False
    omit: frozenset[str] = frozenset()
    legacy_peer_deps: bool = False
    save_exact: bool = False
    save_prefix: str = "^"
    omit_lockfile_registry_resolved: bool = False  # lockfiles written without registry `resolved` URLs
    manifest_max_age: int = 300  # seconds a cached packument counts as fresh
    credentials: tuple[Credential, ...] = ()
    extra: Mapping[str, Value] = field(default_factory=dict)

    def registry_for(self, name: str) -> str:
        """The registry serving ``name``: its scope's ``@scope:registry`` or the default."""
        scope, _ = split_scope(name)
        if scope is not None and scope in self.scoped_registries:
            return self.scoped_registries[scope]
        return self.registry

    def auth_for(self, url: str) -> dict[str, str]:
        """Headers to send with a request to ``url``: the credential with the
        longest matching path prefix on the same host and port, or none."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        directory = parts.path[: parts.path.rfind("/") + 1] or "/"
        best: tuple[int, dict[str, str]] | None = None
        for credential in self.credentials:
            if not credential.matches(scheme, host, parts.port, directory):
                continue
            headers = credential.headers()
            if headers is not None and (best is None or len(credential.path) > best[0]):
                best = (len(credential.path), headers)
        return dict(best[1]) if best is not None else {}

    def redact(self, text: str) -> str:
        """``text`` with every configured secret and any URL userinfo replaced by ``***``."""
        secrets = sorted(
            {s for c in self.credentials for s in c.secrets()}, key=len, reverse=True
        )
        for secret in secrets:
            text = text.replace(secret, "***")
        return _URL_CREDENTIALS.sub(r"\1***@", text)

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self))
        return self.redact(f"Config({shown})")


def load_config(
    project_dir: Path,
    *,
    cli: Mapping[str, str | bool | Sequence[str]] | None = None,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
    global_rc: Path | None = None,
) -> Config:
    """Read every layer and build the typed ``Config``.

    ``cli`` maps npm's key names (``fetch-retries``, ``omit``) to flag values;
    a repeated flag is a list. ``env``, ``home`` and ``global_rc`` default to
    the process's own so tests can pass their own.
    """
    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    reader = _Reader(env, home, project_dir)
    cli_layer = reader.expand({k: _cli_value(v) for k, v in (cli or {}).items()})
    env_layer = reader.expand(_env_layer(env))
    user_rc = (
        _path_setting("userconfig", cli_layer, env_layer, reader) or home / ".npmrc"
    )
    global_path = (
        _path_setting("globalconfig", cli_layer, env_layer, reader)
        or global_rc
        or _default_global_rc(env)
    )
    project_rc = project_dir / ".npmrc"
    layers: list[tuple[str, dict[str, Value]]] = []
    if global_path is not None:
        layers.append((f"global config {global_path}", reader.read_rc(global_path)))
    layers.append((f"user config {user_rc}", reader.read_rc(user_rc)))
    if _same_file(project_rc, user_rc):
        layers.append((f"project config {project_rc}", {}))
    else:
        layers.append((f"project config {project_rc}", reader.read_rc(project_rc)))
    layers.append(("environment (npm_config_*)", env_layer))
    layers.append(("command line", cli_layer))
    return _build(layers, env, home, reader)


def _build(
    layers: list[tuple[str, dict[str, Value]]],
    env: Mapping[str, str],
    home: Path,
    reader: _Reader,
) -> Config:
    merged: dict[str, Value] = {}
    where: dict[str, str] = {}
    for source, layer in layers:
        for key in layer:
            if key.lower() in _UNSCOPED_AUTH:
                raise _unscoped_auth(_UNSCOPED_AUTH[key.lower()], source)
        merged.update(layer)
        where.update(dict.fromkeys(layer, source))
    typed = _Typed(merged, where, reader)
    registry = typed.registry("registry") or DEFAULT_REGISTRY
    scoped = {
        key.split(":", 1)[0]: typed.registry(key) or DEFAULT_REGISTRY
        for key in merged
        if _is_scoped_registry(key)
    }
    xdg = env.get("XDG_CACHE_HOME")
    default_cache = Path(xdg) / "weir" if xdg else home / ".cache" / "weir"
    credentials, nerf_extra = _credentials(merged, where)
    extra = {
        key: value
        for key, value in merged.items()
        if key not in _CONSUMED_KEYS
        and not key.startswith("//")
        and not _is_scoped_registry(key)
    }
    return Config(
        registry=registry,
        scoped_registries=scoped,
        strict_ssl=typed.boolean("strict-ssl"),
        cafile=typed.path("cafile"),
        ca=typed.strings("ca"),
        fetch_retries=typed.integer("fetch-retries"),
        fetch_retry_mintimeout=typed.integer("fetch-retry-mintimeout"),
        fetch_retry_maxtimeout=typed.integer("fetch-retry-maxtimeout"),
        fetch_timeout=typed.integer("fetch-timeout"),
        maxsockets=typed.integer("maxsockets"),
        cache=typed.path("cache") or default_cache,
        prefer_offline=typed.boolean("prefer-offline"),
        prefer_online=typed.boolean("prefer-online"),
        offline=typed.boolean("offline"),
        ignore_scripts=typed.boolean("ignore-scripts"),
        omit=typed.omit(env.get("NODE_ENV") == "production"),
        legacy_peer_deps=typed.boolean("legacy-peer-deps"),
        save_exact=typed.boolean("save-exact"),
        save_prefix=typed.string("save-prefix", "^"),
        omit_lockfile_registry_resolved=typed.boolean("omit-lockfile-registry-resolved"),
        manifest_max_age=typed.integer("weir-manifest-max-age"),
        credentials=credentials,
        extra={**extra, **nerf_extra},
    )


def _is_scoped_registry(key: str) -> bool:
    return key.startswith("@") and key.endswith(":registry")


def _credentials(
    merged: Mapping[str, Value], where: Mapping[str, str]
) -> tuple[tuple[Credential, ...], dict[str, Value]]:
    """Group ``//prefix/:field`` keys by prefix into Credentials.

    ``//`` keys that are not credentials (``:always-auth``, ``:certfile``) go
    to ``extra`` untouched.
    """
    grouped: dict[str, dict[str, str]] = {}
    sources: dict[str, str] = {}
    extra: dict[str, Value] = {}
    for key, value in merged.items():
        if not key.startswith("//"):
            continue
        prefix, _, name = key.rpartition(":")
        if name not in AUTH_FIELDS:
            extra[key] = value
            continue
        if not isinstance(value, str):
            raise ConfigError(
                f"{key} must be a string (set in {where[key]})",
                hint=f"write it as {key}=<value>",
            )
        grouped.setdefault(prefix, {})[name] = value
        sources[prefix] = where[key]
    credentials = [
        _credential(prefix, values, sources[prefix])
        for prefix, values in grouped.items()
    ]
    return tuple(credentials), extra


def _credential(prefix: str, values: Mapping[str, str], source: str) -> Credential:
    parts = urlsplit("https:" + prefix)
    try:
        port = parts.port
    except ValueError:
        raise ConfigError(f"bad port in {prefix} (set in {source})") from None
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    password = values.get("_password")
    if password is not None:
        try:
            password = base64.b64decode(password, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise ConfigError(
                f"{prefix}:_password is not base64 (set in {source})",
                hint="store the password base64-encoded, as npm does",
            ) from None
    return Credential(
        host=(parts.hostname or "").lower(),
        port=port,
        path=path,
        token=values.get("_authToken"),
        auth=values.get("_auth"),
        username=values.get("username"),
        password=password,
        source=source,
    )


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

    __slots__ = ("base", "env", "home")

    def __init__(self, env: Mapping[str, str], home: Path, base: Path) -> None:
        self.env = env
        self.home = home
        self.base = base

    def read_rc(self, path: Path) -> dict[str, Value]:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(f"cannot read {path}: {error}") from error
        return self.expand(parse_ini(text))

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
    """npm's .npmrc dialect (see rule 2). Keys under ``[section]`` come back
    as ``section.key`` so they can never be mistaken for settings."""
    result: dict[str, Value] = {}
    section = ""
    for line in re.split(r"[\r\n]+", text):
        if not line.strip() or line.lstrip()[0] in ";#":
            continue
        match = _INI_LINE.match(line)
        if match is None:
            continue
        if match.group(1) is not None:
            section = _unquote(match.group(1)) + "."
            continue
        key = _unquote(match.group(2))
        value: Value = _unquote(match.group(4)) if match.group(3) else True
        if value in ("true", "false"):
            value = value == "true"
        elif value == "null":
            continue
        is_array = key.endswith("[]") and len(key) > 2
        key = section + (key[:-2] if is_array else key)
        if is_array:
            previous = result.get(key)
            items = previous if isinstance(previous, list) else []
            items.append(value if isinstance(value, str) else str(value).lower())
            result[key] = items
        else:
            result[key] = value
    return result


def _unquote(raw: str) -> str:
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        if value[0] == "'":
            return value[1:-1]
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
    node = shutil.which("node", path=env.get("PATH", ""))
    if node is None:
        return None
    return Path(node).resolve().parent.parent / "etc" / "npmrc"


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


class _Typed:
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
        value = self.merged.get(key, _BOOLEAN_KEYS.get(key, False))
        if isinstance(value, bool):
            return value
        if value in ("", "true"):
            return True
        if value == "false":
            return False
        raise self.fail(key, "true or false")

    def integer(self, key: str) -> int:
        value = self.merged.get(key, _INTEGER_KEYS[key])
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
