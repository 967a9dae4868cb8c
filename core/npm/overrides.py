"""npm ``overrides``: replacing the spec of a dependency, anywhere or under a path.

Rules this module holds (npm's meaning, so a package.json behaves the same):

1. ``{"foo": "1.0.0"}`` replaces every edge to ``foo`` in the tree.
2. ``{"foo@^2": "2.1.0"}`` applies only to edges whose spec can reach the key
   range (here: equal text, or a version/range inside it; ``*`` keys match all).
3. An object value scopes: ``{"bar": {".": "3.0.0", "baz": "1.0.0"}}`` sets
   ``bar`` to 3.0.0 and, inside ``bar``'s subtree only, ``baz`` to 1.0.0.
4. ``"$name"`` means "the spec the root package.json gives ``name``"; an
   unknown reference is an ``InputError`` (npm: EOVERRIDE).
5. The nearest scope wins: a rule under ``bar`` beats a top-level rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from weir.core.errors import InputError
from weir.core.npm.semver import parse_range, satisfies

__all__ = ["OverrideSet", "build_overrides"]


@dataclass(eq=False, slots=True)
class OverrideSet:
    """One scope of rules. ``value`` is the replacement spec for the package this
    scope is keyed by (``None`` when the scope only holds nested rules)."""

    name: str | None
    key_spec: str
    value: str | None
    parent: OverrideSet | None
    children: dict[str, OverrideSet] = field(default_factory=dict)

    def rule_for(self, name: str, spec: str) -> OverrideSet | None:
        """The nearest rule for an edge ``name@spec`` from a node in this scope."""
        scope: OverrideSet | None = self
        while scope is not None:
            for child in scope.children.values():
                if child.name == name and _key_matches(child.key_spec, spec):
                    return child
            scope = scope.parent
        return None


def _key_matches(key_spec: str, spec: str) -> bool:
    if key_spec in ("*", "") or key_spec == spec:
        return True
    if parse_range(key_spec, loose=True) is None:
        return False
    # a version (or a range whose floor is a plain version) inside the key range
    floor = spec.lstrip("^~=v>< ")
    return bool(floor) and satisfies(floor, key_spec, loose=True)


def _split_key(key: str) -> tuple[str, str]:
    at = key.find("@", 1)
    return (key[:at], key[at + 1 :]) if at > 0 else (key, "*")


def _resolve_ref(value: str, root_deps: Mapping[str, str]) -> str:
    if not value.startswith("$"):
        return value
    ref = value[1:]
    if ref not in root_deps:
        raise InputError(
            f"override {value!r} refers to {ref}, which is not a dependency of the root package",
            package=ref,
            hint=f"add {ref} to dependencies, or write the version instead of {value}",
            code="EOVERRIDE",
        )
    return root_deps[ref]


def _fill(scope: OverrideSet, rules: Mapping[str, Any], root_deps: Mapping[str, str]) -> None:
    for key, rule in rules.items():
        if key == ".":
            continue
        name, key_spec = _split_key(key)
        if isinstance(rule, str):
            child = OverrideSet(name, key_spec, _resolve_ref(rule, root_deps), scope)
        elif isinstance(rule, Mapping):
            dot = rule.get(".")
            value = _resolve_ref(dot, root_deps) if isinstance(dot, str) else None
            child = OverrideSet(name, key_spec, value, scope)
            _fill(child, rule, root_deps)
        else:
            raise InputError(
                f"override for {key!r} must be a string or an object",
                package=name,
                hint='write overrides as {"name": "version"} or {"name": {".": "version", ...}}',
                code="EOVERRIDE",
            )
        scope.children[key] = child


def build_overrides(overrides: Mapping[str, Any], root_deps: Mapping[str, str]) -> OverrideSet | None:
    """The root scope for a package.json ``overrides`` object (None if empty)."""
    if not overrides:
        return None
    root = OverrideSet(None, "*", None, None)
    _fill(root, overrides, root_deps)
    return root
