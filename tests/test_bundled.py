"""Bundled dependencies in package-lock.json: weir writes npm's ``inBundle`` entries.

npm records every package a dependency ships in its tarball (its
bundleDependencies and what they need) as ``packages`` entries with
``"inBundle": true``, read from the shipped package.json files. These tests
publish bundlers with a deliberately awkward shipped tree on the loopback
registry, install them with npm 11 itself and with weir, and require the two
lockfiles (and hidden lockfiles) to be the same bytes; then check that weir
keeps them stable, that npm accepts weir's, and that the linker still treats
the bundled folders as the bundler's own files. One network test does the same
with a real published bundler.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from loopback import LoopbackRegistry

HIDDEN = "node_modules/.package-lock.json"
BUNDLER = "node_modules/bundler"


def run_weir(project: Path, cache: Path, registry: str, *args: str) -> subprocess.CompletedProcess[str]:
    """weir with the suite's empty user config (conftest), as npm gets its own below."""
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_") or k == "npm_config_userconfig"}
    env["CI"] = "true"
    cmd = [sys.executable, "-m", "weir.tui.cli.main", *args, "--registry", registry, "--cache", str(cache), "-C", str(project)]
    out = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    return out


def run_npm(project: Path, cache: Path, registry: str, *args: str) -> subprocess.CompletedProcess[str]:
    """npm 11 with a user config of its own: this machine's ~/.npmrc must not change what it writes."""
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")}
    env["CI"] = "true"
    userconfig = project.parent / f"{project.name}.npmrc"
    userconfig.touch()
    cmd = ["npm", *args, "--ignore-scripts", "--no-audit", "--no-fund", "--userconfig", str(userconfig),
           "--cache", str(cache), "--registry", registry]
    out = subprocess.run(cmd, check=False, cwd=project, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    return out


def publish_bundlers(registry: LoopbackRegistry, *, folder_without_package_json: bool = True) -> None:
    """``bundler`` ships a tree with every case npm's reader distinguishes; ``devbundler`` shows
    flags flowing from a dev bundler into its bundle.

    A shipped folder without a package.json is no package to npm's install, but npm's
    --package-lock-only records it as ``{"extraneous": true}``; weir does not copy that.
    """
    pkg = json.dumps
    stray = {"node_modules/notapackage/index.js": ""} if folder_without_package_json else {}
    registry.add(
        "bundler",
        "1.0.0",
        dependencies={"dep": "^1.0.0", "@s/scoped": "^2.0.0", "aliased": "npm:real-name@^1.0.0", "outside": "^1.0.0"},
        bundle_dependencies=["dep", "@s/scoped", "aliased", "unused"],
        files=stray | {
            "index.js": "module.exports = require('dep');",
            # old npm left _-fields in bundled package.json files; a string funding, a license
            # object, a string bin, a dependency listed twice, a non-string script
            "node_modules/dep/package.json": pkg({
                "name": "dep", "version": "1.2.0", "license": {"type": "MIT", "url": "x"},
                "bin": "./cli.js", "engines": {"node": ">=8"}, "funding": "https://example.com/fund",
                "dependencies": {"meta": "^1.0.0", "opt": "^1.0.0"}, "optionalDependencies": {"opt": "^1.0.0"},
                "scripts": {"postinstall": "node cli.js", "test": 5}, "deprecated": "use dep2",
                "_integrity": "sha512-AAAA", "_resolved": "https://registry.example/dep-1.2.0.tgz", "_from": "dep@^1.0.0",
            }),
            "node_modules/dep/index.js": "module.exports = 'bundled dep';",
            "node_modules/dep/cli.js": "#!/usr/bin/env node\n",
            # nested inside a bundled package: bundled too; an array engines is kept as written
            "node_modules/dep/node_modules/deep/package.json": pkg({"name": "deep", "version": "0.1.0", "engines": ["node >= 0.4"], "license": ""}),
            # not listed, but a bundled package needs it: bundled
            "node_modules/meta/package.json": pkg({"name": "meta", "version": "1.0.0", "directories": {"bin": "./bin"}}),
            "node_modules/meta/bin/meta-tool": "#!/usr/bin/env node\n",
            # reached only through an optional edge: optional under a production bundler
            "node_modules/opt/package.json": pkg({"name": "opt", "version": "1.0.0", "os": ["linux", "darwin", "win32"]}),
            # scoped, with its own bundle (bundledDependencies: true)
            "node_modules/@s/scoped/package.json": pkg({"name": "@s/scoped", "version": "2.0.0", "bundledDependencies": True, "dependencies": {"inner": "1"}}),
            "node_modules/@s/scoped/node_modules/inner/package.json": pkg({"name": "inner", "version": "1.0.0", "bin": {"inner": "i.js"}}),
            "node_modules/@s/scoped/node_modules/inner/i.js": "",
            # a folder whose package has another name
            "node_modules/aliased/package.json": pkg({"name": "real-name", "version": "1.0.0"}),
            # listed, shipped, but nothing depends on it: extraneous
            "node_modules/unused/package.json": pkg({"name": "unused", "version": "3.0.0"}),
        },
    )
    registry.add("outside", "1.0.0")
    registry.add(
        "devbundler",
        "1.0.0",
        dependencies={"x": "^1.0.0"},
        bundle_dependencies=["x"],
        files={
            "index.js": "",
            "node_modules/x/package.json": pkg({"name": "x", "version": "1.0.0", "optionalDependencies": {"y": "*"}, "peerDependencies": {"z": "*"}}),
            "node_modules/y/package.json": pkg({"name": "y", "version": "1.0.0"}),
            "node_modules/z/package.json": pkg({"name": "z", "version": "1.0.0"}),
        },
    )


APP = {"name": "app", "version": "1.0.0", "dependencies": {"bundler": "^1.0.0"}, "devDependencies": {"devbundler": "^1.0.0"}}


def lock_packages(project: Path, name: str = "package-lock.json") -> dict[str, Any]:
    return json.loads((project / name).read_text())["packages"]


def assert_same_file(ours: Path, npms: Path) -> None:
    a, b = ours.read_text(), npms.read_text()
    assert a == b, "".join(difflib.unified_diff(b.splitlines(True), a.splitlines(True), "npm", "weir"))


def require(project: Path, name: str) -> str:
    out = subprocess.run(["node", "-e", f"process.stdout.write(String(require({name!r})))"], check=False, cwd=project,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def in_bundle(packages: dict[str, Any]) -> list[str]:
    return sorted(p for p, e in packages.items() if e.get("inBundle"))


SHIPPED = [
    f"{BUNDLER}/node_modules/@s/scoped",
    f"{BUNDLER}/node_modules/@s/scoped/node_modules/inner",
    f"{BUNDLER}/node_modules/aliased",
    f"{BUNDLER}/node_modules/dep",
    f"{BUNDLER}/node_modules/dep/node_modules/deep",
    f"{BUNDLER}/node_modules/meta",
    f"{BUNDLER}/node_modules/opt",
    f"{BUNDLER}/node_modules/unused",
    "node_modules/devbundler/node_modules/x",
    "node_modules/devbundler/node_modules/y",
    "node_modules/devbundler/node_modules/z",
]


def test_install_writes_the_lockfile_npm_writes(project: Callable[..., Path], tmp_path: Path, registry: LoopbackRegistry) -> None:
    publish_bundlers(registry)
    npm_app, weir_app = project(APP), project(APP)
    run_npm(npm_app, tmp_path / "npm-cache", registry.url, "install")
    run_weir(weir_app, tmp_path / "weir-cache", registry.url, "install")
    assert_same_file(weir_app / "package-lock.json", npm_app / "package-lock.json")
    assert lock_packages(weir_app, HIDDEN) == lock_packages(npm_app, HIDDEN)
    packages = lock_packages(weir_app)
    assert in_bundle(packages) == SHIPPED
    dep = packages[f"{BUNDLER}/node_modules/dep"]
    assert dep == {
        "version": "1.2.0", "deprecated": "use dep2", "hasInstallScript": True, "inBundle": True, "license": "MIT",
        "dependencies": {"meta": "^1.0.0"}, "optionalDependencies": {"opt": "^1.0.0"}, "bin": {"dep": "cli.js"},
        "engines": {"node": ">=8"}, "funding": {"url": "https://example.com/fund"},
    }, "no resolved or integrity: the bundler's tarball pins these bytes"
    assert packages[f"{BUNDLER}/node_modules/opt"]["optional"] is True
    assert packages[f"{BUNDLER}/node_modules/unused"]["extraneous"] is True
    assert packages[f"{BUNDLER}/node_modules/aliased"]["name"] == "real-name"
    assert {f for f in ("dev", "optional", "peer") if packages["node_modules/devbundler/node_modules/z"].get(f)} == {"dev", "peer"}
    assert f"{BUNDLER}/node_modules/notapackage" not in packages
    assert require(weir_app, "bundler") == "bundled dep"


def test_lockfile_stays_byte_identical_and_a_second_install_is_a_noop(project: Callable[..., Path], tmp_path: Path, registry: LoopbackRegistry) -> None:
    publish_bundlers(registry)
    app, cache = project(APP), tmp_path / "weir-cache"
    run_weir(app, cache, registry.url, "install")
    lock, hidden = (app / "package-lock.json").read_bytes(), (app / HIDDEN).read_bytes()
    second = run_weir(app, cache, registry.url, "install")
    assert "up to date" in second.stderr
    assert (app / "package-lock.json").read_bytes() == lock and (app / HIDDEN).read_bytes() == hidden
    shutil.rmtree(app / "node_modules")  # from the lockfile, into an empty node_modules
    run_weir(app, cache, registry.url, "install")
    assert (app / "package-lock.json").read_bytes() == lock and (app / HIDDEN).read_bytes() == hidden
    registry.add("extra", "1.0.0")  # a resolve seeded from the lockfile, then an install: all kept, as npm keeps them
    run_weir(app, cache, registry.url, "install", "extra")
    after = lock_packages(app)
    before = json.loads(lock)["packages"]
    assert {p: e for p, e in after.items() if p not in ("", "node_modules/extra")} == {p: e for p, e in before.items() if p}
    assert require(app, "bundler") == "bundled dep"


def test_npm_accepts_weirs_lockfile(project: Callable[..., Path], tmp_path: Path, registry: LoopbackRegistry) -> None:
    publish_bundlers(registry)
    app = project(APP)
    run_weir(app, tmp_path / "weir-cache", registry.url, "install")
    lock = (app / "package-lock.json").read_bytes()
    shutil.rmtree(app / "node_modules")
    run_npm(app, tmp_path / "npm-cache", registry.url, "ci")
    assert require(app, "bundler") == "bundled dep"
    run_npm(app, tmp_path / "npm-cache", registry.url, "install")  # npm's own install rewrites nothing
    assert (app / "package-lock.json").read_bytes() == lock


def test_weir_ci_installs_npms_lockfile_and_never_rewrites_it(project: Callable[..., Path], tmp_path: Path, registry: LoopbackRegistry) -> None:
    publish_bundlers(registry)
    npm_app, app = project(APP), project(APP)
    run_npm(npm_app, tmp_path / "npm-cache", registry.url, "install")
    lock = (npm_app / "package-lock.json").read_bytes()
    (app / "package-lock.json").write_bytes(lock)
    run_weir(app, tmp_path / "weir-cache", registry.url, "ci")
    assert (app / "package-lock.json").read_bytes() == lock
    assert lock_packages(app, HIDDEN) == lock_packages(npm_app, HIDDEN)
    assert require(app, "bundler") == "bundled dep"

    # A lockfile without the bundled entries (an older weir wrote it): ci leaves it as it is and
    # records the bundle in the hidden lockfile; the next install adds the entries, as npm's does.
    stripped = json.loads(lock)
    stripped["packages"] = {p: e for p, e in stripped["packages"].items() if not e.get("inBundle")}
    (app / "package-lock.json").write_text(json.dumps(stripped, indent=2) + "\n")
    before = (app / "package-lock.json").read_bytes()
    run_weir(app, tmp_path / "weir-cache", registry.url, "ci")
    assert (app / "package-lock.json").read_bytes() == before
    assert in_bundle(lock_packages(app, HIDDEN)) == SHIPPED
    run_weir(app, tmp_path / "weir-cache", registry.url, "install")
    assert (app / "package-lock.json").read_bytes() == lock


def test_package_lock_only_records_bundles_as_npm_does(project: Callable[..., Path], tmp_path: Path, registry: LoopbackRegistry) -> None:
    """npm's --package-lock-only downloads a bundler's tarball to record what it ships whenever its lockfile lacks that."""
    publish_bundlers(registry, folder_without_package_json=False)
    npm_app, app = project(APP), project(APP)
    run_npm(npm_app, tmp_path / "npm-cache", registry.url, "install", "--package-lock-only")
    run_weir(app, tmp_path / "weir-cache", registry.url, "install", "--package-lock-only")
    assert_same_file(app / "package-lock.json", npm_app / "package-lock.json")
    assert in_bundle(lock_packages(app)) == SHIPPED
    assert not (app / "node_modules").exists()
    registry.add("extra", "1.0.0")  # a resolve seeded from the lockfile prunes the extraneous ones, as npm's does
    run_npm(npm_app, tmp_path / "npm-cache", registry.url, "install", "--package-lock-only", "extra")
    run_weir(app, tmp_path / "weir-cache", registry.url, "install", "--package-lock-only", "extra")
    assert_same_file(app / "package-lock.json", npm_app / "package-lock.json")

    # A lockfile that lacks the bundled entries gets them when the bundler can be fetched, and is
    # left as it is when npm wrote it without `resolved` (omit-lockfile-registry-resolved).
    full = json.loads((app / "package-lock.json").read_text())
    stripped = {p: e for p, e in full["packages"].items() if not e.get("inBundle")}
    unresolved = {p: {k: v for k, v in e.items() if k != "resolved"} for p, e in stripped.items()}
    for packages, expected in ((stripped, in_bundle(full["packages"])), (unresolved, [])):
        for folder in (app, npm_app):
            (folder / "package-lock.json").write_text(json.dumps(full | {"packages": packages}, indent=2) + "\n")
        run_npm(npm_app, tmp_path / "npm-cache", registry.url, "install", "--package-lock-only")
        run_weir(app, tmp_path / "weir-cache", registry.url, "install", "--package-lock-only")
        assert_same_file(app / "package-lock.json", npm_app / "package-lock.json")
        assert in_bundle(lock_packages(app)) == expected


def test_a_new_bundler_version_replaces_what_the_old_one_shipped(project: Callable[..., Path], tmp_path: Path, registry: LoopbackRegistry) -> None:
    def publish(version: str, shipped: dict[str, str]) -> None:
        files = {"index.js": "module.exports = require('dep');"}
        for name, dep_version in shipped.items():
            files[f"node_modules/{name}/package.json"] = json.dumps({"name": name, "version": dep_version})
            files[f"node_modules/{name}/index.js"] = f"module.exports = {dep_version!r};"
        registry.add("bundler", version, dependencies={n: "*" for n in shipped}, bundle_dependencies=sorted(shipped), files=files)

    publish("1.0.0", {"dep": "1.0.0", "gone": "1.0.0"})
    publish("2.0.0", {"dep": "2.0.0"})
    app, cache = project({"name": "app", "version": "1.0.0", "dependencies": {"bundler": "1.0.0"}}), tmp_path / "weir-cache"
    run_weir(app, cache, registry.url, "install")
    assert in_bundle(lock_packages(app)) == [f"{BUNDLER}/node_modules/dep", f"{BUNDLER}/node_modules/gone"]
    run_weir(app, cache, registry.url, "install", "bundler@2.0.0")
    packages = lock_packages(app)
    assert in_bundle(packages) == [f"{BUNDLER}/node_modules/dep"]
    assert packages[f"{BUNDLER}/node_modules/dep"]["version"] == "2.0.0"
    assert in_bundle(lock_packages(app, HIDDEN)) == [f"{BUNDLER}/node_modules/dep"]
    assert require(app, "bundler") == "2.0.0"
    assert not (app / BUNDLER / "node_modules/gone").exists()


REAL_BUNDLER = "@aws-cdk/cloud-assembly-schema@55.6.0"  # 1.6 MB unpacked; bundles jsonschema and semver (with a bin)


@pytest.mark.network
def test_real_bundler_same_packages_as_npm(project: Callable[..., Path], tmp_path: Path) -> None:
    name, _, version = REAL_BUNDLER.rpartition("@")
    npm_app = project({"name": "app", "version": "1.0.0", "devDependencies": {name: version}})
    app = project({"name": "app", "version": "1.0.0", "devDependencies": {name: version}})
    registry = "https://registry.npmjs.org/"
    run_npm(npm_app, tmp_path / "npm-cache", registry, "install")
    run_weir(app, tmp_path / "weir-cache", registry, "install")
    npm_packages, packages = lock_packages(npm_app), lock_packages(app)
    assert in_bundle(packages), f"{REAL_BUNDLER} no longer ships a bundle"
    assert sorted(packages) == sorted(npm_packages)
    assert {p: e for p, e in packages.items() if e != npm_packages[p]} == {}


ROOT_BUNDLER = {
    "name": "app", "version": "1.0.0", "bundleDependencies": ["carrier"],
    "dependencies": {"carrier": "^1.0.0", "tiny": "2.0.0"},
}


def publish_root_bundle(registry: LoopbackRegistry) -> None:
    """carrier (bundled by the project itself) needs tiny@1, nested under it, and hoisted@1,
    hoisted beside it; the project needs tiny@2."""
    registry.add("carrier", "1.0.0", dependencies={"tiny": "^1.0.0", "hoisted": "^1.0.0"}, bin={"carrier": "cli.js"},
                 files={"index.js": "module.exports = require('tiny') + ' ' + require('hoisted');", "cli.js": ""})
    for version in ("1.0.0", "2.0.0"):
        registry.add("tiny", version, files={"index.js": f"module.exports = 'tiny {version}';"})
    registry.add("hoisted", "1.0.0", files={"index.js": "module.exports = 'hoisted';"})


def test_the_projects_own_bundle_is_installed_from_the_registry_and_kept_as_npm_does(
    project: Callable[..., Path], tmp_path: Path, registry: LoopbackRegistry
) -> None:
    publish_root_bundle(registry)
    npm_app, app, cache = project(ROOT_BUNDLER), project(ROOT_BUNDLER), tmp_path / "weir-cache"
    run_npm(npm_app, tmp_path / "npm-cache", registry.url, "install")
    run_weir(app, cache, registry.url, "install")
    assert_same_file(app / "package-lock.json", npm_app / "package-lock.json")
    assert_same_file(app / HIDDEN, npm_app / HIDDEN)
    packages = lock_packages(app)
    assert packages[""]["bundleDependencies"] == ["carrier"]
    assert in_bundle(packages) == ["node_modules/carrier", "node_modules/carrier/node_modules/tiny", "node_modules/hoisted"]
    assert packages["node_modules/carrier"]["integrity"], "the project's bundle is fetched, so npm keeps its integrity"
    assert require(app, "carrier") == "tiny 1.0.0 hoisted"
    assert (app / "node_modules/.bin/carrier").is_symlink()

    # weir ci installs npm's lockfile (it skipped every inBundle entry before), and the next
    # install keeps the lockfile as it is.
    lock = (npm_app / "package-lock.json").read_bytes()
    shutil.rmtree(app / "node_modules")
    (app / "package-lock.json").write_bytes(lock)
    run_weir(app, cache, registry.url, "ci")
    assert require(app, "carrier") == "tiny 1.0.0 hoisted"
    assert_same_file(app / HIDDEN, npm_app / HIDDEN)
    run_weir(app, cache, registry.url, "install")
    assert (app / "package-lock.json").read_bytes() == lock
    registry.add("extra", "1.0.0")  # a resolve seeded from the lockfile keeps the root's bundle too
    run_weir(app, cache, registry.url, "install", "extra")
    after = lock_packages(app)
    assert after[""]["bundleDependencies"] == ["carrier"]
    assert in_bundle(after) == in_bundle(packages)


COLLIDING = {"name": "app", "version": "1.0.0", "dependencies": {"carrier": "1.0.0", "mid": "2.0.0", "shipped": "3.0.0"}}


def publish_colliding_bundle(registry: LoopbackRegistry) -> None:
    """carrier ships inner and inner's shipped@1 in its node_modules, and needs mid@1 from the
    registry; mid@1 (nested under carrier: the project has mid@2) needs shipped@2, which cannot
    go where carrier ships shipped@1 (tap@16 and ansi-styles, in npm's own repository)."""
    pkg = json.dumps
    registry.add("carrier", "1.0.0", dependencies={"inner": "^1.0.0", "mid": "^1.0.0"}, bundle_dependencies=["inner"], files={
        "index.js": "module.exports = require('inner') + ' ' + require('mid');",
        "node_modules/inner/package.json": pkg({"name": "inner", "version": "1.0.0", "dependencies": {"shipped": "^1.0.0"}}),
        "node_modules/inner/index.js": "module.exports = 'inner+' + require('shipped');",
        "node_modules/shipped/package.json": pkg({"name": "shipped", "version": "1.0.0"}),
        "node_modules/shipped/index.js": "module.exports = 'shipped 1.0.0';",
    })
    registry.add("mid", "1.0.0", dependencies={"shipped": "^2.0.0"}, files={"index.js": "module.exports = 'mid+' + require('shipped');"})
    registry.add("mid", "2.0.0")
    for version in ("2.0.0", "3.0.0"):
        registry.add("shipped", version, files={"index.js": f"module.exports = 'shipped {version}';"})


def test_a_bundle_keeps_its_paths_and_the_registry_packages_go_deeper(
    project: Callable[..., Path], tmp_path: Path, registry: LoopbackRegistry
) -> None:
    publish_colliding_bundle(registry)
    npm_app, app, cache = project(COLLIDING), project(COLLIDING), tmp_path / "weir-cache"
    run_npm(npm_app, tmp_path / "npm-cache", registry.url, "install", "--package-lock-only")
    run_weir(app, cache, registry.url, "install", "--package-lock-only")
    assert_same_file(app / "package-lock.json", npm_app / "package-lock.json")
    packages = lock_packages(app)
    assert packages["node_modules/carrier/node_modules/shipped"] == {"version": "1.0.0", "inBundle": True}
    assert packages["node_modules/carrier/node_modules/mid/node_modules/shipped"]["version"] == "2.0.0"

    # An install writes the same tree. (npm's install, unlike its --package-lock-only, places
    # shipped@2 first and then lets the unpacked bundle overwrite it, so mid gets shipped@1.)
    (app / "package-lock.json").unlink()
    run_weir(app, cache, registry.url, "install")
    assert_same_file(app / "package-lock.json", npm_app / "package-lock.json")
    assert require(app, "carrier") == "inner+shipped 1.0.0 mid+shipped 2.0.0"
    assert sorted(lock_packages(app, HIDDEN)) == sorted(p for p in lock_packages(app) if p)


# tap@16 ships chalk@2's ansi-styles@3.2.1, wrap-ansi@6 and glob@7 in its own node_modules; with newer
# ones at the top, its cliui@7 (not bundled) needs wrap-ansi@7 and ansi-styles@4 beside the bundle.
TAP = {"name": "app", "version": "1.0.0", "dependencies": {
    "tap": "16.3.10", "ansi-styles": "6.2.3", "cliui": "8.0.1", "wrap-ansi": "8.1.0", "glob": "10.5.0",
    "minipass": "7.1.3", "signal-exit": "4.1.0",
}}


@pytest.mark.network
def test_tap_bundle_keeps_its_versions_as_npm_package_lock_only(project: Callable[..., Path], tmp_path: Path) -> None:
    registry = "https://registry.npmjs.org/"
    npm_app, app = project(TAP), project(TAP)
    run_npm(npm_app, tmp_path / "npm-cache", registry, "install", "--package-lock-only")
    run_weir(app, tmp_path / "weir-cache", registry, "install", "--package-lock-only")
    assert_same_file(app / "package-lock.json", npm_app / "package-lock.json")
    packages = lock_packages(app)
    assert packages["node_modules/tap/node_modules/ansi-styles"]["version"] == "3.2.1"
    assert packages["node_modules/tap/node_modules/ansi-styles"]["inBundle"] is True
    assert packages["node_modules/tap/node_modules/cliui/node_modules/ansi-styles"]["version"].startswith("4.")


# npm's own repository bundles its dependencies this way (193 inBundle entries under its root).
OWN_BUNDLE = {"name": "app", "version": "1.0.0", "bundleDependencies": ["debug", "semver"],
              "dependencies": {"debug": "4.4.3", "ms": "2.0.0", "semver": "7.6.3"}}


@pytest.mark.network
def test_real_projects_own_bundle_as_npm(project: Callable[..., Path], tmp_path: Path) -> None:
    registry = "https://registry.npmjs.org/"
    npm_app, app = project(OWN_BUNDLE), project(OWN_BUNDLE)
    run_npm(npm_app, tmp_path / "npm-cache", registry, "install")
    run_weir(app, tmp_path / "weir-cache", registry, "install")
    assert_same_file(app / "package-lock.json", npm_app / "package-lock.json")
    assert_same_file(app / HIDDEN, npm_app / HIDDEN)
    assert "node_modules/debug/node_modules/ms" in in_bundle(lock_packages(app))
    shutil.rmtree(app / "node_modules")
    (app / "package-lock.json").write_bytes((npm_app / "package-lock.json").read_bytes())
    run_weir(app, tmp_path / "weir-cache", registry, "ci")
    loaded = subprocess.run(["node", "-e", "process.stdout.write(require('semver').valid('1.2.3'))"], cwd=app,
                            capture_output=True, text=True, check=False, timeout=60)
    assert loaded.stdout == "1.2.3", loaded.stderr
    assert_same_file(app / HIDDEN, npm_app / HIDDEN)


def test_a_package_a_prod_bundler_also_ships_is_dev_at_the_top_when_only_dev_needs_it(
        project: Callable[..., Path], tmp_path: Path, registry: LoopbackRegistry) -> None:
    """semantic-release's case: the production ``npm`` bundles @gar/promise-retry, iconv-lite, …;
    a dev tool needs its own top-level copies. npm's edges from the bundler end in its bundle,
    so the top-level copies are dev (and not devOptional through an optional bundler)."""
    pkg = json.dumps
    registry.add("shipper", "1.0.0", dependencies={"retry": "^1.0.0", "iconv": "^1.0.0"}, bundle_dependencies=["retry", "iconv"],
                 files={"index.js": "",
                        "node_modules/retry/package.json": pkg({"name": "retry", "version": "1.0.0"}),
                        "node_modules/iconv/package.json": pkg({"name": "iconv", "version": "1.0.0"})})
    registry.add("retry", "1.1.0")
    registry.add("iconv", "1.1.0")
    registry.add("devtool", "1.0.0", dependencies={"retry": "^1.0.0", "iconv": "^1.0.0"})
    registry.add("optional-user", "1.0.0", dependencies={"shipper": "^1.0.0"})
    app_json = {"name": "app", "version": "1.0.0", "dependencies": {"shipper": "^1.0.0"},
                "optionalDependencies": {"optional-user": "^1.0.0"}, "devDependencies": {"devtool": "^1.0.0"}}
    npm_app, app = project(app_json), project(app_json)
    run_npm(npm_app, tmp_path / "npm-cache", registry.url, "install", "--package-lock-only")
    run_weir(app, tmp_path / "weir-cache", registry.url, "install", "--package-lock-only")
    assert_same_file(app / "package-lock.json", npm_app / "package-lock.json")
    packages = lock_packages(app)
    assert packages["node_modules/retry"].get("dev") and packages["node_modules/iconv"].get("dev")
    assert packages["node_modules/shipper/node_modules/retry"].get("inBundle")


def test_every_job_of_an_install_has_its_own_id(project: Callable[..., Path], tmp_path: Path, registry: LoopbackRegistry) -> None:
    """The live view keeps one row per job id. A bundle in the way makes the install resolve twice
    and fetch twice (the bundler first, then the tree): every manifest and tarball job of the run
    still gets an id no other job has, so no row stands for two jobs."""
    publish_colliding_bundle(registry)
    app = project(COLLIDING)
    out = run_weir(app, tmp_path / "cache", registry.url, "install", "--reporter", "ndjson")
    events = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    queued = [(e["job_id"], e["kind"], e["package"]) for e in events if e["type"] == "JobQueued"]
    ids = [job_id for job_id, _, _ in queued]
    assert len(ids) == len(set(ids)), sorted(q for q in queued if ids.count(q[0]) > 1)
    assert {kind for _, kind, _ in queued} == {"manifest", "tarball"}
    owner: dict[int, str] = {}  # a tarball job's extraction keeps its id; nothing else may share it
    for e in events:
        if e["type"] in ("JobQueued", "JobStarted", "JobFinished"):
            name = e["package"].rpartition("@")[0] if e["kind"] != "manifest" else e["package"]
            assert owner.setdefault(e["job_id"], name) == name, (e["job_id"], owner[e["job_id"]], e)
    assert require(app, "carrier") == "inner+shipped 1.0.0 mid+shipped 2.0.0"
