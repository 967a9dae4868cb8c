"""Shared fixtures. The loopback registry fixtures come first; add others below them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from loopback import LoopbackRegistry, add_small_graph

# --- loopback registry -------------------------------------------------------


def _serve() -> Iterator[LoopbackRegistry]:
    with LoopbackRegistry() as registry:
        yield registry
    assert not registry.errors, "the loopback registry itself failed:\n" + "\n".join(
        registry.errors
    )


@pytest.fixture
def registry() -> Iterator[LoopbackRegistry]:
    """A started, empty loopback registry, fresh for each test."""
    yield from _serve()


@pytest.fixture
def registry2() -> Iterator[LoopbackRegistry]:
    """A second, independent registry on another port (cross-host auth and redirects)."""
    yield from _serve()


@pytest.fixture
def small_graph(registry: LoopbackRegistry) -> LoopbackRegistry:
    """``registry`` holding the packages described in loopback.graphs.add_small_graph."""
    return add_small_graph(registry)


# --- projects and caches -------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Callable[..., Path]:
    """Make a fresh project directory holding exactly the given package.json (and
    .npmrc): ``project({"name": "app", "dependencies": {...}}, npmrc="...")``."""
    made = 0

    def make(package_json: dict[str, Any], *, npmrc: str | None = None) -> Path:
        nonlocal made
        made += 1
        root = tmp_path / f"project{made}"
        root.mkdir()
        (root / "package.json").write_text(json.dumps(package_json, indent=2) + "\n")
        if npmrc is not None:
            (root / ".npmrc").write_text(npmrc)
        return root

    return make


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    """An empty cache directory for ``--cache``."""
    path = tmp_path / "cache"
    path.mkdir()
    return path


# --- the developer's own npm configuration -------------------------------------------


@pytest.fixture(autouse=True, scope="session")
def no_user_npmrc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """weir (and npm) in every test read an empty user config instead of ~/.npmrc: a developer's
    ``omit-lockfile-registry-resolved=true`` or registry there must not change what a test sees.
    A test that wants a user config passes its own (``npm_config_userconfig``, ``--userconfig``)."""
    import os

    empty = tmp_path_factory.mktemp("userconfig") / "npmrc"
    empty.touch()
    before = os.environ.get("npm_config_userconfig")
    os.environ["npm_config_userconfig"] = str(empty)
    yield
    if before is None:
        os.environ.pop("npm_config_userconfig", None)
    else:
        os.environ["npm_config_userconfig"] = before


# --- a real private registry (Verdaccio; tests marked network) ------------------------


@pytest.fixture(scope="session")
def verdaccio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A running Verdaccio 6 on 127.0.0.1 (installed into tests/.node-cache once), stopped at the end."""
    from verdaccio import Verdaccio, install_verdaccio

    with Verdaccio(install_verdaccio(), tmp_path_factory.mktemp("verdaccio")) as server:
        yield server
