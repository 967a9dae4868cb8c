"""npm's install-script policy: ``allowScripts`` in package.json, as npm 12 enforces it.

Rules this module holds (npm 11.19.1's ``script-allowed.js`` and
``allow-scripts-writer.js`` are the reference):

1. Sources, first that has entries wins: the root package.json's
   ``allowScripts`` (``"name": true|false``, ``"name@1.2.3": true``,
   ``"name@1.0.0 || 1.0.1": true``), else npm's ``allow-scripts`` config
   (``.npmrc`` / ``npm_config_allow_scripts``, a comma-separated name list).
   bun's ``trustedDependencies`` is a second source: a name listed there is
   allowed when ``allowScripts`` says nothing about the package.
2. A registry package's identity is the name and version in its lockfile
   ``resolved`` URL (``…/<name>/-/<bare>-<version>.tgz``), never the tarball's
   own package.json: a tarball can claim any name. An alias
   (``"x": "npm:real@1"``) is therefore ``real``; a key naming the alias, or an
   ``npm:`` key, matches nothing. With no ``resolved`` (npm's
   ``omit-lockfile-registry-resolved``) the name comes from the lockfile entry
   and the version is unknown: a pinned allow never matches, a pinned deny does.
3. A non-registry package (git, remote tarball, ``file:``) matches only a key
   equal to its ``resolved``. Registry-style keys never match it.
4. Keys with semver ranges (``^1``, ``~1``, ``>=1``) or dist-tags are ignored
   with a warning: only exact versions joined by ``||`` or the bare name.
5. A deny (``false``) that matches wins over any allow. No match is
   "unreviewed". Bundled packages are never allowed.
6. The writer (``approve``/``deny``/``prune``) edits ``allowScripts`` as npm's
   does: approve pins ``name@version`` of every installed copy by default,
   replacing stale single-version pins and a name-only allow; an existing deny
   is never overridden; deny writes name-only ``false`` and drops the
   package's allows; prune drops keys that match nothing installed, or only
   packages without install scripts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from weir.core.npm import semver
from weir.core.tree.lockfile import LockEntry

SOURCE_PREFIXES = ("file:", "git+", "git:", "github:", "gitlab:", "bitbucket:", "http://", "https://")


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a package is for the policy (rule 2); ``version`` None when the lockfile cannot say."""

    name: str
    version: str | None


@dataclass(frozen=True, slots=True)
class Rule:
    key: str
    allow: bool
    name: str | None  # registry rules: the package name; None for a source rule
    versions: tuple[str, ...] | None  # exact versions; None = every version (name-only)


@dataclass(frozen=True, slots=True)
class Policy:
    rules: tuple[Rule, ...] = ()
    trusted: frozenset[str] = frozenset()  # bun's trustedDependencies
    source: str | None = None  # "package.json", ".npmrc" or None
    warnings: tuple[str, ...] = ()
    allow_all: bool = False  # npm's dangerously-allow-all-scripts
    strict: bool = False  # npm's strict-allow-scripts

    def verdict(self, entry: LockEntry) -> bool | None:
        """True allowed, False denied, None unreviewed (rule 5)."""
        if self.allow_all:
            return True
        if entry.in_bundle or entry.link:
            return None
        matched = [r for r in self.rules if rule_matches(r, entry, fail_closed=not r.allow)]
        if any(not r.allow for r in matched):
            return False
        if matched:
            return True
        identity = registry_identity(entry)
        if identity is not None and identity.name in self.trusted:
            return True
        return None


def read_policy(raw_package_json: Mapping[str, Any], config_extra: Mapping[str, object]) -> Policy:
    """The policy an install in this project obeys (rule 1)."""
    warnings: list[str] = []
    allow = raw_package_json.get("allowScripts")
    rules: tuple[Rule, ...] = ()
    source: str | None = None
    if isinstance(allow, dict) and allow:
        rules = parse_rules(allow, "package.json", warnings)
        source = "package.json"
    if not rules:
        names = _names(config_extra.get("allow-scripts"))
        if names:
            rules = parse_rules(dict.fromkeys(names, True), ".npmrc", warnings)
            source = ".npmrc"
    trusted = raw_package_json.get("trustedDependencies") or ()
    return Policy(
        rules=rules,
        trusted=frozenset(t for t in trusted if isinstance(t, str)),
        source=source,
        warnings=tuple(warnings),
        allow_all=_flag(config_extra.get("dangerously-allow-all-scripts")),
        strict=_flag(config_extra.get("strict-allow-scripts")),
    )


def parse_rules(allow: Mapping[str, object], where: str, warnings: list[str]) -> tuple[Rule, ...]:
    """The usable keys of an ``allowScripts`` map (rule 4); the others become warnings."""
    rules = []
    for key, value in allow.items():
        if not isinstance(value, bool):
            warnings.append(f'{where}: ignoring "{key}": its value must be true or false')
            continue
        rule = parse_key(key, value)
        if isinstance(rule, str):
            warnings.append(f'{where}: ignoring "{key}": {rule}')
        elif rule is not None:
            rules.append(rule)
    return tuple(rules)


def parse_key(key: str, allow: bool) -> Rule | str | None:
    """A Rule, a reason the key is refused, or None for a key that matches nothing (an alias)."""
    if key.startswith(SOURCE_PREFIXES) or key.startswith(("/", "./", "../")):
        return Rule(key, allow, None, None)
    name, spec = split_key(key)
    if not name:
        return "not a package name"
    if spec.startswith("npm:"):
        return None  # npm: aliases as keys match nothing; name the real package
    spec = spec.strip()
    if spec in ("", "*"):
        return Rule(key, allow, name, None)
    versions = tuple(p.strip() for p in spec.split("||"))
    if all(semver.valid(v) == v for v in versions):
        return Rule(key, allow, name, versions)
    if any(c in spec for c in "^~<>=*") or spec[:1].isdigit():
        return 'semver ranges (^, ~, >=, <) are not allowed; use exact versions joined by "||"'
    return 'dist-tags are not allowed; use exact versions joined by "||", or the bare name'


def split_key(key: str) -> tuple[str, str]:
    """``name@spec`` into its name and spec (the spec empty when absent)."""
    at = key.find("@", 1)
    return (key, "") if at == -1 else (key[:at], key[at + 1 :])


def registry_identity(entry: LockEntry) -> Identity | None:
    """Rule 2: the name and version a registry package's ``resolved`` URL names."""
    if entry.link or not entry.version:
        return None
    if not entry.resolved:
        return Identity(entry.name, None)
    return identity_from_url(entry.resolved)


def identity_from_url(url: str) -> Identity | None:
    """``…/<name>/-/<bare>-<version>.tgz`` (any path prefix, scoped or not) as an Identity."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return None
    path = unquote(parts.path)
    head, sep, file = path.rpartition("/-/")
    if not sep or not file.endswith(".tgz"):
        return None
    segments = head.split("/")
    if len(segments) < 2 or not segments[-1]:
        return None
    name = segments[-1]
    if len(segments) >= 3 and segments[-2].startswith("@"):
        name = f"{segments[-2]}/{segments[-1]}"
    bare = name.rpartition("/")[2]
    if not file.startswith(f"{bare}-"):
        return None
    version = file[len(bare) + 1 : -len(".tgz")]
    return Identity(name, version) if semver.valid(version) else None


def rule_matches(rule: Rule, entry: LockEntry, *, fail_closed: bool = False) -> bool:
    """Whether ``rule`` speaks about ``entry`` (rules 2-3); an unknown version matches only a deny."""
    if rule.name is None:
        return bool(entry.resolved) and rule.key in (entry.resolved, f"file:{entry.resolved}")
    identity = registry_identity(entry)
    if identity is None or identity.name != rule.name:
        return False
    if rule.versions is None:
        return True
    if identity.version is None:
        return fail_closed
    return identity.version in rule.versions


def targets(rule: Rule, entry: LockEntry) -> bool:
    """Whether ``rule`` is about ``entry``'s package at all, whatever the version (the writer's test)."""
    if rule.name is None:
        return rule_matches(rule, entry)
    identity = registry_identity(entry)
    return identity is not None and identity.name == rule.name


def display(entry: LockEntry) -> str:
    """``name@version`` as users see it: the trusted identity, else the lockfile's."""
    identity = registry_identity(entry)
    name = identity.name if identity else entry.name
    version = (identity.version if identity else None) or entry.version
    return f"{name}@{version}" if version else name


def name_key(entry: LockEntry) -> str | None:
    """The name-only key for ``entry``: its registry name, or its ``resolved`` for other sources."""
    identity = registry_identity(entry)
    if identity is not None:
        return identity.name
    return entry.resolved or None


# -- the writer (rule 6) --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    key: str
    change: str  # added, removed-stale, replaced-by-pin, removed-pinned-allow


@dataclass(frozen=True, slots=True)
class Edit:
    allow_scripts: dict[str, bool]
    changes: tuple[Change, ...]
    warning: str | None = None


def approve(existing: Mapping[str, bool], entries: Sequence[LockEntry], *, pin: bool = True) -> Edit:
    """Allow every installed copy in ``entries`` (one package), as npm's approve writes it."""
    allow = dict(existing)
    name = name_key(entries[0])
    changes: list[Change] = []
    for key, value in existing.items():
        rule = parse_key(key, value)
        if value is False and isinstance(rule, Rule) and any(targets(rule, e) for e in entries):
            if rule.versions is None:
                warning = f"{key} is denied; remove the entry from allowScripts to approve {name}."
            else:
                warning = (
                    f"{key} is a versioned deny; run `weir install-scripts deny {name}` to widen it to every "
                    f"version of {name}, or remove the entry to approve {name}."
                )
            return Edit(allow, (), warning)
    pinned = [_pin_key(e) for e in entries]
    if not pin or name is None or any(k is None for k in pinned):
        _drop_pins(allow, entries, name, changes)
        if name is not None and allow.get(name) is not True:
            allow[name] = True
            changes.append(Change(name, "added"))
        warning = None
        if pin and changes and name is not None:
            warning = (
                f'{name}: approved by name (all versions) because its package-lock.json entry has no "resolved" URL, '
                "so weir can't pin a version. Run `weir install` with omit-lockfile-registry-resolved=false to pin."
            )
        return Edit(allow, tuple(changes), warning)
    installed = {k for k in pinned if k}
    for key in list(allow):
        if allow[key] is True and key not in installed and _single_pin_of(key, entries):
            del allow[key]
            changes.append(Change(key, "removed-stale"))
    for key in sorted(installed, key=pinned.index):
        if allow.get(key) is not True:
            allow[key] = True
            changes.append(Change(key, "added"))
    if name not in installed and allow.get(name) is True:
        del allow[name]
        changes.append(Change(name, "replaced-by-pin"))
    return Edit(allow, tuple(changes))


def deny(existing: Mapping[str, bool], entries: Sequence[LockEntry]) -> Edit:
    """A name-only ``false`` for the package; its other keys go (npm's deny)."""
    allow = dict(existing)
    name = name_key(entries[0])
    changes: list[Change] = []
    if name is None:
        return Edit(allow, ())
    for key, value in existing.items():
        rule = parse_key(key, value)
        if key != name and isinstance(rule, Rule) and targets(rule, entries[0]):
            del allow[key]
            changes.append(Change(key, "removed-pinned-allow"))
    if allow.get(name) is not False:
        allow[name] = False
        changes.append(Change(name, "added"))
    return Edit(allow, tuple(changes))


def prune(existing: Mapping[str, bool], installed: Iterable[tuple[LockEntry, bool]]) -> tuple[dict[str, bool], list[tuple[str, str]]]:
    """Keys still useful, and the removed ones with why: ``not-installed`` or ``no-scripts``."""
    candidates = list(installed)
    kept: dict[str, bool] = {}
    removed: list[tuple[str, str]] = []
    for key, value in existing.items():
        rule = parse_key(key, bool(value))
        if not isinstance(rule, Rule):
            kept[key] = value  # what it cannot read, prune leaves alone (as npm)
            continue
        hits = [has for entry, has in candidates if rule_matches(rule, entry)]
        if not hits:
            removed.append((key, "not-installed"))
        elif not any(hits):
            removed.append((key, "no-scripts"))
        else:
            kept[key] = value
    return kept, removed


def _pin_key(entry: LockEntry) -> str | None:
    identity = registry_identity(entry)
    if identity is not None:
        return f"{identity.name}@{identity.version}" if identity.version else None
    return entry.resolved or None


def _single_pin_of(key: str, entries: Sequence[LockEntry]) -> bool:
    rule = parse_key(key, True)
    return isinstance(rule, Rule) and rule.versions is not None and len(rule.versions) == 1 and targets(rule, entries[0])


def _drop_pins(allow: dict[str, bool], entries: Sequence[LockEntry], name: str | None, changes: list[Change]) -> None:
    for key in list(allow):
        if key != name and allow[key] is True and _single_pin_of(key, entries):
            del allow[key]
            changes.append(Change(key, "removed-pinned-allow"))


def _names(value: object) -> list[str]:
    items = value if isinstance(value, list) else [value] if isinstance(value, str) else []
    return [n.strip() for item in items for n in str(item).split(",") if n.strip()]


def _flag(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")
