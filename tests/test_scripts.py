from __future__ import annotations

import json
from pathlib import Path

import pytest
from linkkit import Store, tree
from weir.core.linker.bins import link_bins
from weir.core.errors import ScriptError
from weir.core.events import LogLine, Recorder, ScriptRan, ScriptsBlocked, Warned
from weir.core.linker import execute_link, plan_link
from weir.core.linker.script_policy import read_policy
from weir.core.linker.scripts import NODE_GYP_REBUILD, build_order, run_scripts, script_paths

LOG = 'echo "$npm_package_name $npm_lifecycle_event" >> "$INIT_CWD/log"'


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "cache")


def make_project(tmp_path: Path, manifest: dict) -> Path:
    project = tmp_path / "app"
    project.mkdir()
    (project / "package.json").write_text(
        json.dumps({"name": "app", "version": "1.0.0", **manifest})
    )
    return project


def install(project: Path, desired, sources, **kw):
    rec = Recorder()
    policy = read_policy(json.loads((project / "package.json").read_text()), {})
    plan = plan_link(project, desired, None)
    copies = script_paths(desired, plan.changes, policy)
    result = execute_link(
        plan, sources, mode="hardlink", reporter=rec, copy_paths=copies
    )
    link_bins(project, desired, reporter=rec)
    return run_scripts(project, desired, result.linked, reporter=rec, **kw), rec


def scripted(store: Store, path: str, name: str, scripts: dict, **kw):
    lock = {"hasInstallScript": True, **kw.pop("lock", {})}
    return store.package(
        path,
        name,
        "1.0.0",
        kw.pop("files", None),
        manifest={"scripts": scripts},
        lock=lock,
        **kw,
    )


def log_of(project: Path) -> list[str]:
    path = project / "log"
    return path.read_text().splitlines() if path.exists() else []


def test_root_scripts_run_with_npm_env_and_path(store: Store, tmp_path: Path) -> None:
    project = make_project(
        tmp_path,
        {
            "scripts": {
                "preinstall": LOG,
                "postinstall": 'hello > out.txt; echo "$npm_package_version $npm_lifecycle_script" >> out.txt',
                "prepare": LOG,
                "test": LOG,
            }
        },
    )
    hello = store.package(
        "node_modules/hello",
        "hello",
        "1.0.0",
        {"hello.sh": "#!/bin/sh\necho from-bin\n"},
        executable=("hello.sh",),
        lock={"bin": {"hello": "hello.sh"}},
    )
    result, rec = install(project, *tree(hello))
    assert log_of(project) == ["app preinstall", "app prepare"]
    out = (project / "out.txt").read_text().splitlines()
    assert out[0] == "from-bin" and out[1].startswith("1.0.0 hello > out.txt")
    assert result.ran == (("", "preinstall"), ("", "postinstall"), ("", "prepare"))
    assert [(e.event, e.exit_code) for e in rec.of(ScriptRan)] == [
        ("preinstall", 0),
        ("postinstall", 0),
        ("prepare", 0),
    ]


def test_untrusted_dependency_is_blocked(store: Store, tmp_path: Path) -> None:
    project = make_project(tmp_path, {})
    result, rec = install(
        project, *tree(scripted(store, "node_modules/dep", "dep", {"postinstall": LOG}))
    )
    assert log_of(project) == []
    assert [(b.package, b.events) for b in rec.of(ScriptsBlocked)] == [
        ("dep@1.0.0", ("postinstall",))
    ]
    assert [b.path for b in result.blocked] == ["node_modules/dep"]


def test_trusted_dependencies_run_deps_first_in_private_copies(
    store: Store, tmp_path: Path
) -> None:
    project = make_project(
        tmp_path, {"trustedDependencies": ["a", "b", "c"], "scripts": {"install": LOG}}
    )
    events = {"preinstall": LOG, "postinstall": LOG + " && echo changed > index.js"}
    a = scripted(
        store, "node_modules/a", "a", events, lock={"dependencies": {"b": "^1"}}
    )
    b = scripted(
        store, "node_modules/b", "b", events, lock={"dependencies": {"c": "^1"}}
    )
    c = scripted(store, "node_modules/a/node_modules/c", "c", events)
    desired, sources = tree(a, b, c)
    install(project, desired, sources)
    assert log_of(project) == [
        "c preinstall",
        "c postinstall",
        "b preinstall",
        "b postinstall",
        "a preinstall",
        "a postinstall",
        "app install",
    ]
    assert (sources["node_modules/b"].dir / "index.js").read_text() != "changed\n"
    assert (project / "node_modules/b/index.js").read_text() == "changed\n"
    (project / "log").unlink()
    install_again(project, desired, sources)
    assert log_of(project) == [
        "app install"
    ]  # nothing relinked: dependencies' scripts do not rerun


def install_again(project: Path, desired, sources):
    from weir.core.tree.hidden_lockfile import read_hidden_lockfile, write_hidden_lockfile

    write_hidden_lockfile(project, desired)
    plan = plan_link(project, desired, read_hidden_lockfile(project))
    result = execute_link(plan, sources, mode="hardlink")
    return run_scripts(project, desired, result.linked), None


def test_trust_is_only_for_registry_packages(store: Store, tmp_path: Path) -> None:
    project = make_project(tmp_path, {"trustedDependencies": ["dep"]})
    git = scripted(
        store,
        "node_modules/dep",
        "dep",
        {"install": LOG},
        lock={"resolved": "git+ssh://git@github.com/x/dep.git#abc"},
    )
    result, _ = install(project, *tree(git))
    assert log_of(project) == [] and [b.name for b in result.blocked] == ["dep"]


def test_failing_script_fails_the_install(store: Store, tmp_path: Path) -> None:
    project = make_project(tmp_path, {"trustedDependencies": ["bad"]})
    bad = scripted(
        store,
        "node_modules/bad",
        "bad",
        {"install": "echo compiling; echo 'gyp ERR! oops' >&2; exit 3"},
    )
    with pytest.raises(ScriptError) as info:
        install(project, *tree(bad))
    text = str(info.value)
    assert (
        "bad@1.0.0 install" in text
        and "exit code 3" in text
        and "gyp ERR! oops" in text
    )
    assert info.value.exit_code == 8


def test_failing_optional_dependency_only_warns(store: Store, tmp_path: Path) -> None:
    project = make_project(
        tmp_path, {"trustedDependencies": ["fsevents"], "scripts": {"postinstall": LOG}}
    )
    opt = scripted(
        store,
        "node_modules/fsevents",
        "fsevents",
        {"install": "exit 1", "postinstall": LOG},
        lock={"optional": True},
    )
    result, rec = install(project, *tree(opt))
    assert result.failed_optional == ("node_modules/fsevents",)
    assert [w.code for w in rec.of(Warned)] == ["optional-script-failed"]
    assert log_of(project) == ["app postinstall"]


def test_binding_gyp_means_an_implicit_rebuild(store: Store, tmp_path: Path) -> None:
    project = make_project(tmp_path, {})
    native = store.package(
        "node_modules/native", "native", "1.0.0", {"binding.gyp": "{}", "index.js": ""}
    )
    result, rec = install(project, *tree(native))
    assert result.blocked[0].scripts == (("install", NODE_GYP_REBUILD),)
    assert rec.of(ScriptsBlocked)[0].events == ("install",)


def test_ignore_scripts_runs_and_blocks_nothing(store: Store, tmp_path: Path) -> None:
    project = make_project(
        tmp_path, {"trustedDependencies": ["dep"], "scripts": {"preinstall": LOG}}
    )
    dep = scripted(store, "node_modules/dep", "dep", {"install": LOG})
    other = scripted(store, "node_modules/other", "other", {"install": LOG})
    result, rec = install(project, *tree(dep, other), ignore_scripts=True)
    assert log_of(project) == [] and result.blocked == () and result.ran == ()
    assert not rec.of(ScriptsBlocked) and not rec.of(ScriptRan)


def test_output_is_reported_as_log_lines(store: Store, tmp_path: Path) -> None:
    project = make_project(tmp_path, {"scripts": {"install": "echo one; echo two >&2"}})
    _, rec = install(project, {"": tree()[0][""]}, {})
    assert [e.message for e in rec.of(LogLine)] == [
        "app install: one",
        "app install: two",
    ]


def test_build_order_breaks_cycles_deterministically(store: Store) -> None:
    x = store.package("node_modules/x", "x", "1.0.0", lock={"dependencies": {"y": "1"}})
    y = store.package("node_modules/y", "y", "1.0.0", lock={"dependencies": {"x": "1"}})
    z = store.package("node_modules/z", "z", "1.0.0", lock={"dependencies": {"x": "1"}})
    desired, _ = tree(z, y, x)
    assert build_order(desired) == [
        "node_modules/x",
        "node_modules/y",
        "node_modules/z",
    ]
