"""Hostile names, lockfile keys and bins through the real `weir` command (SECURITY.md, "Names and bins").

A name becomes a folder under node_modules and a lockfile key becomes a path
joined onto the project, so every trick here aims at writing outside
node_modules. Each case ends in a refusal naming the package (exit 3 for a
hostile lockfile, 6 for registry metadata that lies) or in a contained
install with the trick dropped. One registry and one base install are shared
by the module; each test works on its own copy.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hardening_helpers import (
    BASE,
    Sandbox,
    State,
    assert_failed,
    base_template,
    cache_problems,
    events,
    from_template,
    with_dep,
)
from loopback import LoopbackRegistry, TarEntry, build_tgz

EVIL = "weir-evil"  # what every escaping path aims to create


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LoopbackRegistry, Path]]:
    with LoopbackRegistry() as registry:
        registry.add("evil-alias", "1.0.0", dependencies={"x": "npm:@x/../../../.git/hooks@1.0.0"})
        registry.add("foo", "1.0.0", files={"index.js": "module.exports = 'lower';\n"})
        registry.add("FOO", "1.0.0", files={"index.js": "module.exports = 'upper';\n"})
        registry.add("first", "1.0.0", bin={"same": "a.js"})
        registry.add("second", "1.0.0", bin={"same": "b.js"}, dependencies={"first": "2.0.0"})
        registry.add("first", "2.0.0", bin={"same": "nested.js"})
        registry.add_tarball_bytes(
            "bins",
            "1.0.0",
            build_tgz(
                [
                    TarEntry("package/package.json", data=json.dumps({"name": "bins", "version": "1.0.0"})),
                    TarEntry("package/cli.js", data="#!/usr/bin/env node\nconsole.log('ok')\n", mode=0o644),
                ]
            ),
            manifest={
                "bin": {
                    f"../../{EVIL}": "cli.js",
                    "abs": "/etc/passwd",
                    "up": f"../../{EVIL}",
                    "gone": "missing.js",
                    "ok": "cli.js",
                }
            },
        )
        yield registry, base_template(registry, tmp_path_factory.mktemp("names-template"))


@pytest.fixture
def box(shared: tuple[LoopbackRegistry, Path], tmp_path: Path) -> Sandbox:
    registry, template = shared
    return from_template(template, tmp_path, registry)


def assert_nothing_escaped(box: Sandbox) -> None:
    assert not list(box.root.rglob(f"*{EVIL}*")), "an escaping name was created"
    assert not os.path.lexists(box.root / ".git") and not os.path.lexists(box.project / ".git")
    box.assert_outside_untouched()
    assert not cache_problems(box.cache)


def node(project: Path, code: str) -> str:
    out = subprocess.run(["node", "-e", code], cwd=project, capture_output=True, text=True, timeout=30, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


# -- names from the registry --------------------------------------------------------------


def test_transitive_alias_with_path_tricks_is_dropped_and_contained(box: Sandbox) -> None:
    with_dep(box, "evil-alias")
    out = box.weir("install", "--reporter", "ndjson")
    assert out.returncode == 0, out.stderr
    warned = [e for e in events(out.stdout) if e["type"] == "Warned" and e["code"] == "invalid-spec"]
    assert any("evil-alias" in w["message"] and "../../../.git/hooks" in w["message"] for w in warned), warned
    assert not os.path.lexists(box.project / "node_modules/x")
    assert (box.project / "node_modules/evil-alias/index.js").is_file()
    assert (box.project / "node_modules/.package-lock.json").is_file()
    assert_nothing_escaped(box)


def _version_named(registry: LoopbackRegistry, real: str, name: str) -> Callable[[], None]:
    """Serve ``foo-lies`` as ``real``'s versions, each calling itself ``name``."""

    def install() -> None:
        catalog = registry._catalog
        published = catalog.packument(real, abbreviated=False)
        assert published is not None
        for v in published["versions"].values():
            v["name"] = name
        original = catalog.packument

        def packument(asked: str, *, abbreviated: bool) -> dict[str, Any] | None:
            if asked != "foo-lies":
                return original(asked, abbreviated=abbreviated)
            return {**published, "name": "foo-lies"}

        catalog.packument = packument  # type: ignore[method-assign]
        catalog.modified = lambda asked: 1  # type: ignore[method-assign]

    return install


@pytest.mark.parametrize("claimed", ["bar", f"../../{EVIL}", "@x/../../.git"], ids=["other", "dotdot", "scoped-dotdot"])
def test_metadata_naming_another_package_is_refused(shared: tuple[LoopbackRegistry, Path], tmp_path: Path, claimed: str) -> None:
    registry, template = shared
    box = from_template(template, tmp_path, registry)
    with LoopbackRegistry() as lying:
        lying.add("bar", "1.0.0")
        _version_named(lying, "bar", claimed)()
        box.registry = lying
        before = with_dep(box, "foo-lies")
        out = box.weir("install")
    assert_failed(out, 6, "foo-lies", "names another package")
    assert State.of(box.project) == before
    assert_nothing_escaped(box)


# -- a hostile package-lock.json for `weir ci` -----------------------------------------------


def _lock_with(box: Sandbox, edit: Callable[[dict[str, Any]], None]) -> None:
    lock = json.loads((box.project / "package-lock.json").read_text())
    edit(lock)
    (box.project / "package-lock.json").write_text(json.dumps(lock, indent=2) + "\n")


def _extra_key(key: str) -> Callable[[dict[str, Any]], None]:
    def edit(lock: dict[str, Any]) -> None:
        lock["packages"][key] = dict(lock["packages"]["node_modules/base"], name="base")

    return edit


def _resolved(url: str) -> Callable[[dict[str, Any]], None]:
    def edit(lock: dict[str, Any]) -> None:
        lock["packages"]["node_modules/base"]["resolved"] = url

    return edit


HOSTILE_LOCKS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "key-dotdot": (_extra_key(f"node_modules/../../{EVIL}"), "'..'"),
    "key-nested-dotdot": (_extra_key(f"node_modules/a/../../../{EVIL}"), "'..'"),
    "key-absolute": (_extra_key(f"/tmp/node_modules/{EVIL}"), "absolute"),
    "key-backslash": (_extra_key(f"node_modules\\..\\..\\{EVIL}"), "backslash"),
    "key-not-a-package": (_extra_key("node_modules/.bin"), "not a valid package name"),
    "entry-name-dotdot": (lambda lock: lock["packages"]["node_modules/base"].update(name=f"../../{EVIL}"), "not a valid package name"),
    "resolved-file-outside": (_resolved("file:../canary/keep.txt"), "outside the project"),
    "resolved-file-absolute": (_resolved("file:///etc/passwd"), "outside the project"),
    "resolved-ftp": (_resolved("ftp://127.0.0.1/base-1.0.0.tgz"), "neither an http(s) URL"),
}


@pytest.mark.parametrize("case", list(HOSTILE_LOCKS))
def test_hostile_lockfile_is_refused_by_ci(box: Sandbox, case: str) -> None:
    edit, words = HOSTILE_LOCKS[case]
    _lock_with(box, edit)
    before = State.of(box.project)
    box.mark_outside()
    out = box.weir("ci")
    assert_failed(out, 3, "ELOCKFILE", "base")
    assert words in out.stderr
    assert State.of(box.project) == before
    assert_nothing_escaped(box)


# -- bins -----------------------------------------------------------------------------------


def test_hostile_bins_are_dropped_and_the_rest_linked(box: Sandbox) -> None:
    passwd = os.stat("/etc/passwd")
    with_dep(box, "bins")
    out = box.weir("install", "--reporter", "ndjson")
    assert out.returncode == 0, out.stderr
    bin_dir = box.project / "node_modules/.bin"
    assert sorted(os.listdir(bin_dir)) == ["base", "ok"]
    assert os.readlink(bin_dir / "ok") == "../bins/cli.js"
    assert os.stat(bin_dir / "ok").st_mode & stat.S_IXUSR
    missing = [e for e in events(out.stdout) if e["type"] == "Warned" and e["code"] == "bin-missing"]
    assert any(e["package"] == "bins" and "missing.js" in e["message"] for e in missing), missing
    after = os.stat("/etc/passwd")
    assert (after.st_mode, after.st_mtime_ns) == (passwd.st_mode, passwd.st_mtime_ns)  # never chmod-ed
    assert_nothing_escaped(box)


def test_hostile_bins_in_a_lockfile_are_dropped_with_warnings(box: Sandbox) -> None:
    bins = {f"../../{EVIL}": "cli.js", "abs": "/etc/passwd", "up": f"../../../{EVIL}", "base": "cli.js"}
    _lock_with(box, lambda lock: lock["packages"]["node_modules/base"].update(bin=bins))
    box.mark_outside()
    out = box.weir("ci", "--reporter", "ndjson")
    assert out.returncode == 0, out.stderr
    dropped = [e for e in events(out.stdout) if e["type"] == "Warned" and e["code"] == "bin-dropped"]
    assert len(dropped) == 3 and all(e["package"] == "base" for e in dropped), dropped
    assert sorted(os.listdir(box.project / "node_modules/.bin")) == ["base"]
    assert_nothing_escaped(box)


def test_two_packages_claiming_one_bin_first_by_path_wins(box: Sandbox) -> None:
    box.write_project(dict(BASE, dependencies={"second": "1.0.0", "first": "1.0.0"}))
    box.mark_outside()
    conflicts = []
    for _ in range(2):  # and a second run keeps it: nothing is overwritten by the loser
        out = box.weir("install", "--reporter", "ndjson")
        assert out.returncode == 0, out.stderr
        conflicts += [e for e in events(out.stdout) if e["type"] == "Warned" and e["code"] == "bin-conflict"]
        assert os.readlink(box.project / "node_modules/.bin/same") == "../first/a.js"
        nested = box.project / "node_modules/second/node_modules/.bin/same"
        assert os.readlink(nested) == "../first/nested.js"  # its own nested first@2 within its folder
        (box.project / "node_modules/.package-lock.json").unlink()  # make the second run re-link
    assert [e["package"] for e in conflicts] == ["second", "second"], conflicts
    assert_nothing_escaped(box)


def test_names_differing_only_in_case_both_install(box: Sandbox) -> None:
    box.write_project(dict(BASE, dependencies={"foo": "1.0.0", "FOO": "1.0.0"}))
    box.mark_outside()
    out = box.weir("install")
    assert out.returncode == 0, out.stderr
    assert node(box.project, "console.log(require('foo'), require('FOO'))") == "lower upper"
    lock = json.loads((box.project / "package-lock.json").read_text())
    assert {"node_modules/foo", "node_modules/FOO"} <= set(lock["packages"])
    box.write_project(dict(BASE, dependencies={"foo": "1.0.0"}))  # dropping FOO must not touch foo
    kept = State.of(box.project).node_modules["foo/index.js"]
    out = box.weir("install")
    assert out.returncode == 0, out.stderr
    assert not os.path.lexists(box.project / "node_modules/FOO")
    assert State.of(box.project).node_modules["foo/index.js"] == kept
    assert_nothing_escaped(box)
