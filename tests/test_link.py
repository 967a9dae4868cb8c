from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from linkkit import Store, tree
from weir.core.errors import FilesystemError
from weir.core.events import Linked, Recorder, Removed
from weir.core.tree.hidden_lockfile import (
    HIDDEN_LOCKFILE,
    read_hidden_lockfile,
    write_hidden_lockfile,
)
from weir.core.linker import execute_link, modes, plan_link
from weir.core.tree.lockfile import entry_from_json


def nested(store: Store):
    return tree(
        store.package(
            "node_modules/a", "a", "1.0.0", {"index.js": "a1", "lib/deep/x.js": "x"}
        ),
        store.package(
            "node_modules/a/node_modules/b",
            "b",
            "2.0.0",
            {"cli.js": "#!/bin/sh\n"},
            executable=("cli.js",),
        ),
        store.package("node_modules/@s/c", "@s/c", "3.0.0", listed=False),
        store.package("node_modules/b", "b", "1.0.0"),
    )


def install(project: Path, desired, sources, mode="hardlink", copy_paths=frozenset()):
    rec = Recorder()
    plan = plan_link(project, desired, read_hidden_lockfile(project))
    result = execute_link(plan, sources, mode=mode, reporter=rec, copy_paths=copy_paths)
    write_hidden_lockfile(project, desired)
    return plan, result, rec


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            if p.name == ".package-lock.json":
                continue
            st = p.lstat()
            out[str(p.relative_to(root))] = (st.st_ino, st.st_mtime_ns)
    return out


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "cache")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    p = tmp_path / "app"
    p.mkdir()
    return p


@pytest.mark.parametrize("mode", ["hardlink", "copy", "auto"])
def test_fresh_nested_tree(store: Store, project: Path, mode: str) -> None:
    desired, sources = nested(store)
    _, result, rec = install(project, desired, sources, mode)
    nm = project / "node_modules"
    assert (nm / "a/index.js").read_text() == "a1"
    assert (nm / "a/lib/deep/x.js").read_text() == "x"
    assert (nm / "a/node_modules/b/cli.js").stat().st_mode & 0o111
    assert not (nm / "a/index.js").stat().st_mode & 0o111
    assert (nm / "@s/c/index.js").read_text() == "// @s/c@3.0.0\n"
    assert (nm / "b/package.json").exists()
    shared = (nm / "a/index.js").stat().st_ino == (
        sources["node_modules/a"].dir / "index.js"
    ).stat().st_ino
    used = {ev.mode for ev in rec.of(Linked)}
    assert used == {result.mode}
    if mode == "hardlink":
        assert shared and result.mode == "hardlink"
    elif mode == "copy":
        assert not shared and result.mode == "copy"
    else:
        assert result.mode in (
            "clone",
            "hardlink",
        )  # this filesystem has no reflink: hardlink
        assert shared == (result.mode == "hardlink")
    assert [ev.location for ev in rec.of(Linked)] == sorted(p for p in desired if p)
    assert (project / HIDDEN_LOCKFILE).exists()


def test_copy_mode_edits_stay_in_the_project(store: Store, project: Path) -> None:
    desired, sources = nested(store)
    install(project, desired, sources, "copy")
    (project / "node_modules/a/index.js").write_text("patched")
    assert (sources["node_modules/a"].dir / "index.js").read_text() == "a1"


def test_second_run_touches_nothing(store: Store, project: Path) -> None:
    desired, sources = nested(store)
    install(project, desired, sources)
    before = snapshot(project / "node_modules")
    plan, result, rec = install(project, desired, sources)
    assert not plan.touches_disk and result.linked == () and rec.events == []
    assert len(plan.keep) == 4
    assert snapshot(project / "node_modules") == before


def test_version_change_replaces_only_that_package(store: Store, project: Path) -> None:
    desired, sources = nested(store)
    install(project, desired, sources)
    before = snapshot(project / "node_modules")
    entry, source = store.package("node_modules/@s/c", "@s/c", "3.1.0")
    desired[entry.path], sources[entry.path] = entry, source
    plan, _, _ = install(project, desired, sources)
    assert (
        plan.replace == ("node_modules/@s/c",) and plan.add == () and plan.remove == ()
    )
    assert '"3.1.0"' in (project / "node_modules/@s/c/package.json").read_text()
    after = snapshot(project / "node_modules")
    unchanged = [k for k in before if not k.startswith("@s")]
    assert all(after[k] == before[k] for k in unchanged)
    assert not list((project / "node_modules").glob(".weir-tmp-*"))


def test_replacing_a_parent_brings_back_its_nested_packages(
    store: Store, project: Path
) -> None:
    desired, sources = nested(store)
    install(project, desired, sources)
    entry, source = store.package("node_modules/a", "a", "1.1.0")
    desired[entry.path], sources[entry.path] = entry, source
    plan, _, _ = install(project, desired, sources)
    assert plan.replace == ("node_modules/a",)
    assert plan.add == ("node_modules/a/node_modules/b",)
    assert (project / "node_modules/a/node_modules/b/cli.js").exists()


def test_extraneous_folders_are_removed(store: Store, project: Path) -> None:
    desired, sources = nested(store)
    install(project, desired, sources)
    stray = project / "node_modules/stray"
    stray.mkdir()
    (stray / "package.json").write_text('{"name":"stray","version":"1.0.0"}')
    (project / "node_modules/@x/y").mkdir(parents=True)
    (project / "node_modules/notes.txt").write_text("not a package")
    plan, _, rec = install(project, desired, sources)
    assert plan.remove == ("node_modules/@x/y", "node_modules/stray")
    assert [ev.location for ev in rec.of(Removed)] == list(plan.remove)
    assert not stray.exists() and not (project / "node_modules/@x").exists()
    assert (project / "node_modules/notes.txt").exists()
    del desired["node_modules/@s/c"]
    plan, _, _ = install(project, desired, sources)
    assert (
        plan.remove == ("node_modules/@s/c",)
        and not (project / "node_modules/@s").exists()
    )


def test_interrupted_link_is_repaired_next_run(
    store: Store, project: Path, monkeypatch
) -> None:
    desired, sources = nested(store)
    install(project, desired, sources)
    entry, source = store.package("node_modules/b", "b", "1.5.0")
    desired[entry.path], sources[entry.path] = entry, source
    entry, source = store.package("node_modules/a", "a", "1.2.0")
    desired[entry.path], sources[entry.path] = entry, source
    real = modes.place_tree
    calls = []

    def dying(src, dst, files, mode):
        calls.append(dst)
        if len(calls) == 3:  # a and a/node_modules/b are done; die while building b
            raise KeyboardInterrupt
        return real(src, dst, files, mode)

    monkeypatch.setattr("weir.core.linker.execute.place_tree", dying)
    with pytest.raises(KeyboardInterrupt):
        install(project, desired, sources)
    monkeypatch.undo()
    # A SIGKILL would also leave the temp folder behind.
    (project / "node_modules/.weir-tmp-leftover").mkdir()
    assert not (project / HIDDEN_LOCKFILE).exists()
    assert read_hidden_lockfile(project) is None
    plan, _, _ = install(project, desired, sources)
    assert plan.stale == ("node_modules/.weir-tmp-leftover",)
    assert plan.replace == ("node_modules/b",)  # a@1.2.0 was already in place: kept
    assert '"1.5.0"' in (project / "node_modules/b/package.json").read_text()
    assert not list((project / "node_modules").glob(".weir-tmp-*"))
    assert read_hidden_lockfile(project) is not None


def test_without_hidden_lockfile_packages_with_install_scripts_are_rebuilt(
    store: Store, project: Path
) -> None:
    plain = store.package("node_modules/plain", "plain", "1.0.0")
    built = store.package(
        "node_modules/built", "built", "1.0.0", lock={"hasInstallScript": True}
    )
    desired, sources = tree(plain, built)
    install(project, desired, sources)
    (project / HIDDEN_LOCKFILE).unlink()
    plan = plan_link(project, desired, read_hidden_lockfile(project))
    assert plan.keep == ("node_modules/plain",) and plan.replace == (
        "node_modules/built",
    )


def test_hidden_lockfile_distrusted_when_tree_changed_behind_its_back(
    store: Store, project: Path
) -> None:
    desired, sources = nested(store)
    install(project, desired, sources)
    assert set(read_hidden_lockfile(project) or {}) == set(desired) - {""}
    (project / "node_modules/other").mkdir()
    assert read_hidden_lockfile(project) is None


def test_symlinked_node_modules_is_refused(
    store: Store, project: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (project / "node_modules").symlink_to(elsewhere)
    desired, _ = nested(store)
    with pytest.raises(FilesystemError, match="symlink"):
        plan_link(project, desired, None)
    assert list(elsewhere.iterdir()) == []
    assert read_hidden_lockfile(project) is None


def test_symlinked_nested_node_modules_is_not_written_through(
    store: Store, project: Path, tmp_path: Path
) -> None:
    a = store.package("node_modules/a", "a", "1.0.0")
    desired, sources = tree(a)
    install(project, desired, sources)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (project / "node_modules/a/node_modules").symlink_to(elsewhere)
    desired, sources = tree(
        a, store.package("node_modules/a/node_modules/b", "b", "1.0.0")
    )
    with pytest.raises(FilesystemError, match="symlink"):
        install(project, desired, sources)
    assert list(elsewhere.iterdir()) == []


def test_package_folder_that_is_a_symlink_is_replaced_not_followed(
    store: Store, project: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("mine")
    (project / "node_modules").mkdir()
    (project / "node_modules/a").symlink_to(elsewhere)
    desired, sources = tree(store.package("node_modules/a", "a", "1.0.0"))
    plan, _, _ = install(project, desired, sources)
    assert plan.replace == ("node_modules/a",)
    assert not (project / "node_modules/a").is_symlink()
    assert (elsewhere / "keep.txt").read_text() == "mine" and len(
        list(elsewhere.iterdir())
    ) == 1


def test_copy_paths_get_their_own_files(store: Store, project: Path) -> None:
    desired, sources = nested(store)
    _, _, rec = install(
        project, desired, sources, "hardlink", copy_paths={"node_modules/b"}
    )
    modes_by_path = {ev.location: ev.mode for ev in rec.of(Linked)}
    assert (
        modes_by_path["node_modules/b"] == "copy"
        and modes_by_path["node_modules/a"] == "hardlink"
    )
    src = sources["node_modules/b"].dir / "index.js"
    assert (project / "node_modules/b/index.js").stat().st_ino != src.stat().st_ino


def test_link_entries_become_relative_symlinks(store: Store, project: Path) -> None:
    (project / "packages/foo").mkdir(parents=True)
    (project / "packages/foo/package.json").write_text(
        '{"name":"foo","version":"0.1.0"}'
    )
    ws = entry_from_json("packages/foo", {"name": "foo", "version": "0.1.0"})
    link = entry_from_json(
        "node_modules/foo", {"resolved": "packages/foo", "link": True}
    )
    desired, sources = tree(extra=(ws, link))
    _, _, rec = install(project, desired, sources)
    assert os.readlink(project / "node_modules/foo") == "../packages/foo"
    assert (project / "node_modules/foo/package.json").exists()
    assert [ev.mode for ev in rec.of(Linked)] == ["symlink"]
    plan = plan_link(project, desired, read_hidden_lockfile(project))
    assert plan.keep == ("node_modules/foo",) and not plan.touches_disk


def test_exdev_falls_back_to_copy(store: Store, project: Path, monkeypatch) -> None:
    def cross_device(src, dst, **kw):
        raise OSError(errno.EXDEV, "Invalid cross-device link", src)

    monkeypatch.setattr(os, "link", cross_device)
    desired, sources = nested(store)
    _, _, rec = install(project, desired, sources, "hardlink")
    assert {ev.mode for ev in rec.of(Linked)} == {"copy"}
    src = sources["node_modules/a"].dir / "index.js"
    assert (project / "node_modules/a/index.js").read_text() == "a1"
    assert (project / "node_modules/a/index.js").stat().st_ino != src.stat().st_ino


def test_auto_probe_without_shared_device_copies(
    store: Store, project: Path, monkeypatch
) -> None:
    def cross_device(src, dst, **kw):
        raise OSError(errno.EXDEV, "Invalid cross-device link", src)

    monkeypatch.setattr(os, "link", cross_device)
    desired, sources = nested(store)
    _, result, _ = install(project, desired, sources, "auto")
    assert result.mode in ("clone", "copy")


def test_hidden_lockfile_without_resolved_is_trusted_by_integrity(store: Store, project: Path) -> None:
    # npm configured with omit-lockfile-registry-resolved writes no "resolved" in
    # node_modules/.package-lock.json; a tree it installed is still up to date for weir.
    desired, sources = nested(store)
    install(project, desired, sources)
    hidden = project / HIDDEN_LOCKFILE
    doc = json.loads(hidden.read_text())
    for entry in doc["packages"].values():
        entry.pop("resolved", None)
    hidden.write_text(json.dumps(doc))
    plan = plan_link(project, desired, read_hidden_lockfile(project))
    assert plan.add == plan.replace == plan.remove == ()
    assert set(plan.keep) == set(desired) - {""}
