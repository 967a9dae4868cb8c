"""Configuration from .npmrc files, ``npm_config_*`` variables and flags, as npm reads it.

People already keep registry and auth settings in .npmrc; weir reads the same
files with the same meaning so it works where npm works.

The layers are read and merged by ``weir.core.settings`` (its rules: layer
order, the ini dialect, ``${VAR}``, bad values, warnings for lines npm would
not use); this module types them. Rules this module holds:

1. Credentials are only ever sent where they were configured for: a
   ``//host[:port]/path/:_authToken`` (or ``:_auth``, ``:username`` with
   ``:_password``) applies to URLs on that host, on that port (443 and no port
   are the same for https, 80 and no port for http), under that path.
2. Secrets never reach a repr or a log line unredacted: ``repr(config)``
   hides them, and ``Config.redact`` scrubs any text before it is shown.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

from weir.core.npm.names import split_scope
from weir.core.settings import (
    AUTH_FIELDS,
    BOOLEAN_DEFAULTS,
    DEFAULT_REGISTRY,
    INTEGER_DEFAULTS,
    ConfigError,
    Settings,
    Value,
    raw_secrets,
    read_settings,
)

_URL_CREDENTIALS = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@]+@")
_DEFAULT_PORTS = {"https": 443, "http": 80}

_CONSUMED_KEYS = frozenset(
    {*BOOLEAN_DEFAULTS, *INTEGER_DEFAULTS, "registry", "cafile", "ca", "cache", "omit", "include",
     "production", "save-prefix", "userconfig", "globalconfig"}
)  # fmt: skip


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
    warnings: tuple[str, ...] = ()  # "<file>:<line>: ..." for lines npm would warn about (settings rule 6)

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
        return _redact(text, secrets)

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self))
        return self.redact(f"Config({shown})")


def redactor(project_dir: Path) -> Callable[[str], str]:
    """What hides this project's credentials in any text weir shows.

    ``Config.redact`` when the configuration loads; when it cannot (the broken
    .npmrc an error is about, say), it fails closed: every credential value
    found in the raw rc lines and ``npm_config_*`` variables is hidden, and
    URL userinfo too.
    """
    try:
        return load_config(project_dir).redact
    except Exception:  # noqa: BLE001 - whatever broke the configuration, the text is still shown
        secrets = sorted(raw_secrets(project_dir), key=len, reverse=True)
    return lambda text: _redact(text, secrets)


def _redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return _URL_CREDENTIALS.sub(r"\1***@", text)


def load_config(
    project_dir: Path,
    *,
    cli: Mapping[str, str | bool | Sequence[str]] | None = None,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
    global_rc: Path | None = None,
) -> Config:
    """Read every layer (``read_settings``, same arguments) and build the typed ``Config``."""
    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    return _build(read_settings(project_dir, cli=cli, env=env, home=home, global_rc=global_rc), home)


def _build(settings: Settings, home: Path) -> Config:
    merged, where, env = settings.merged, settings.where, settings.env
    typed = settings.typed()
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
        omit=settings.omit(),
        legacy_peer_deps=typed.boolean("legacy-peer-deps"),
        save_exact=typed.boolean("save-exact"),
        save_prefix=typed.string("save-prefix", "^"),
        omit_lockfile_registry_resolved=typed.boolean("omit-lockfile-registry-resolved"),
        manifest_max_age=typed.integer("weir-manifest-max-age"),
        credentials=credentials,
        extra={**extra, **nerf_extra},
        warnings=settings.warnings,
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


