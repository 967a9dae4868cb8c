"""Interruption and hostile filesystems through `weir install` (SECURITY.md, "Atomicity").

A run held in a phase by a loopback delay/stall is interrupted when its
ndjson stream says the phase started; the previous state must be intact and
the next run must complete. Filesystem faults use real tmpfs mounts (the
tests run as root in the sandbox): ENOSPC on a 2 MiB tmpfs, EXDEV with the
cache on another filesystem, EROFS for an unwritable cache.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from hardening_helpers import (
    BASE,
    Sandbox,
    State,
    assert_failed,
    cache_problems,
    publish_base,
    with_dep,
)
from loopback import LoopbackRegistry


@pytest.fixture
def box(registry: LoopbackRegistry, tmp_path: Path) -> Sandbox:
    publish_base(registry)
    registry.add("slow", "1.0.0")
    b = Sandbox(tmp_path, registry)
    b.install_base()
    return b


def _wait_for_phase(proc: subprocess.Popen[bytes], phase: str) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        event = json.loads(line)
        if event["type"] == "PhaseStarted" and event["phase"] == phase:
            return
    raise AssertionError(f"weir ended before phase {phase}: {proc.stderr.read() if proc.stderr else ''}")


HOLD = {
    "resolve": lambda r: r.kind == "packument" and r.package == "slow",
    "fetch": lambda r: r.kind == "tarball" and r.package == "slow",
}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
@pytest.mark.parametrize("phase", list(HOLD))
def test_interrupted_install_keeps_the_old_state_and_the_next_run_repairs(
    registry: LoopbackRegistry, box: Sandbox, phase: str, sig: signal.Signals
) -> None:
    before = with_dep(box, "slow")
    registry.fault(HOLD[phase], "stall", seconds=20)
    proc = box.popen("install")
    _wait_for_phase(proc, phase)
    if phase == "fetch":
        while not registry.tarball_requests("slow"):
            pass
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    if sig == signal.SIGINT:
        assert proc.returncode == 130, err
        assert b"package-lock.json is unchanged" in err
    else:
        assert proc.returncode == -signal.SIGKILL
    assert State.of(box.project) == before
    box.assert_outside_untouched()
    out = box.weir("install")
    assert out.returncode == 0, out.stderr
    assert (box.project / "node_modules/slow/index.js").is_file()
    assert not cache_problems(box.cache)


def test_ctrl_c_during_the_final_writes_lets_them_finish(
    registry: LoopbackRegistry, box: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Ctrl-C that lands once the final writes began (here: as the run's last event is
    reported) cannot undo them: the install completes instead of reporting itself interrupted
    beside a lockfile it already wrote; the caller's own SIGINT handler is back afterwards."""
    from weir.core import events as ev
    from weir.core.install import InstallOptions, install

    monkeypatch.setenv("HOME", str(box.home))
    before = with_dep(box, "slow")

    class CtrlCAtTheEnd(ev.Reporter):
        def event(self, e: ev.Event) -> None:
            if isinstance(e, ev.RunFinished):
                os.kill(os.getpid(), signal.SIGINT)

    handler = signal.getsignal(signal.SIGINT)
    options = InstallOptions(project=box.project, cli_config={"registry": registry.url, "cache": str(box.cache)})
    try:
        anyio.run(install, options, CtrlCAtTheEnd())
    except KeyboardInterrupt:
        pytest.fail("a Ctrl-C during the final writes reported the install interrupted")
    assert signal.getsignal(signal.SIGINT) is handler
    after = State.of(box.project)
    assert after.lockfile != before.lockfile and b'"node_modules/slow"' in (after.lockfile or b"")
    assert (box.project / "node_modules/.package-lock.json").is_file(), "the hidden lockfile says: complete"


def test_ctrl_c_after_the_install_finished_is_not_an_interruption(box: Sandbox) -> None:
    """Once RunFinished is out, the rest is the process winding down (worker pools, exit): a
    Ctrl-C there exits 0, without the "package-lock.json is unchanged" line that would be false."""
    with_dep(box, "slow")
    proc = box.popen("install")
    assert proc.stdout is not None
    for line in proc.stdout:
        if json.loads(line)["type"] == "RunFinished":
            proc.send_signal(signal.SIGINT)
            break
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert b"interrupted" not in err
    assert b'"node_modules/slow"' in (box.project / "package-lock.json").read_bytes()


def test_lockfile_symlink_is_not_written_through(box: Sandbox) -> None:
    lock = box.project / "package-lock.json"
    outside = box.canary / "lock.json"
    outside.write_bytes(lock.read_bytes())
    lock.unlink()
    lock.symlink_to(outside)
    with_dep(box, "slow")
    before = State.of(box.project)
    requests = len(box.registry.requests)
    out = box.weir("install")
    assert_failed(out, 9, "package-lock.json", "symlink")
    assert lock.is_symlink()
    assert State.of(box.project) == before, "refused before any work: node_modules untouched"
    assert len(box.registry.requests) == requests, "refused before touching the network"
    box.assert_outside_untouched()


def test_two_installers_share_one_cache(registry: LoopbackRegistry, box: Sandbox, tmp_path: Path) -> None:
    other = Sandbox(tmp_path / "second", registry)
    other.cache = box.cache
    for b in (box, other):
        b.write_project(dict(BASE, dependencies={"base": "1.0.0", "slow": "1.0.0"}))
    registry.delay_jitter(seed=1, max_seconds=0.05)
    procs = [b.popen("install") for b in (box, other)]
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    for b in (box, other):
        assert (b.project / "node_modules/slow/index.js").is_file()
    assert not cache_problems(box.cache)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_disk_full_cache_is_a_clear_error(registry: LoopbackRegistry, box: Sandbox, tmpfs: Path) -> None:
    registry.add("big", "1.0.0", files={"blob.bin": os.urandom(3 << 20)})
    box.cache = tmpfs / "cache"
    before = with_dep(box, "big")
    out = box.weir("install")
    assert_failed(out, 9, "big")
    assert "space" in out.stderr.lower()
    assert State.of(box.project) == before
    box.assert_outside_untouched()
    assert not cache_problems(box.cache)


def test_read_only_cache_is_a_clear_error(box: Sandbox, tmpfs: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    box.cache = tmpfs
    before = with_dep(box, "slow")
    out = box.weir("install")
    assert_failed(out, 9)
    assert str(tmpfs) in out.stderr
    assert State.of(box.project) == before
    box.assert_outside_untouched()


def test_cache_on_another_filesystem_falls_back_to_copy(box: Sandbox, tmpfs: Path) -> None:
    box.cache = tmpfs / "cache"
    with_dep(box, "slow")
    out = box.weir("install")
    assert out.returncode == 0, out.stderr
    assert (box.project / "node_modules/slow/index.js").stat().st_nlink == 1  # a copy, not a cross-device link
    box.assert_outside_untouched()
    assert not cache_problems(box.cache)


# -- interrupted in the link phase and just before the lockfile writes ---------------------------

WIDE_FILES = {f"lib/f{i:04d}.js": f"module.exports = {i};\n" for i in range(2000)}
POSTINSTALL = {"postinstall": "node -e \"setTimeout(() => {}, 3000)\""}


def _assert_old_or_complete(project: Path, before: State) -> None:
    """Either nothing changed, or the hidden lockfile is absent (incomplete) or records the new tree."""
    if State.of(project) == before:
        return
    hidden = project / "node_modules/.package-lock.json"
    if hidden.exists():
        assert "node_modules/wide" in json.loads(hidden.read_text())["packages"], "a stale hidden lockfile claims completeness"


def _assert_repaired(box: Sandbox) -> None:
    out = box.weir("install")
    assert out.returncode == 0, out.stderr
    assert not list(box.project.rglob(".weir-tmp-*")), "temp entries survived the repair run"
    for code in ("require('wide/lib/f1999.js')", "require('base')"):
        run = subprocess.run(["node", "-e", code], cwd=box.project, capture_output=True, text=True, timeout=30, check=False)
        assert run.returncode == 0, run.stderr
    ls = subprocess.run(["npm", "ls", "--all"], cwd=box.project, capture_output=True, text=True, timeout=60, check=False)
    assert ls.returncode == 0, ls.stdout + ls.stderr
    assert not cache_problems(box.cache)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
@pytest.mark.parametrize("phase", ["link", "scripts"])
def test_interrupted_link_or_final_writes_leave_old_or_complete_state_and_the_next_run_repairs(
    registry: LoopbackRegistry, box: Sandbox, phase: str, sig: signal.Signals
) -> None:
    registry.add("wide", "1.0.0", files={"index.js": "module.exports = 'wide';\n", **WIDE_FILES})
    pkg = dict(BASE, dependencies=dict(BASE["dependencies"], wide="1.0.0"))
    if phase == "scripts":
        pkg["scripts"] = POSTINSTALL  # holds the run after link and bins, just before the writes
    box.write_project(pkg)
    before = State.of(box.project)
    box.mark_outside()
    proc = box.popen("install")
    _wait_for_phase(proc, phase)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    if sig == signal.SIGINT:
        assert proc.returncode in (0, 130), err  # 0 only if it finished before the signal landed
    else:
        assert proc.returncode == -signal.SIGKILL
    _assert_old_or_complete(box.project, before)
    if proc.returncode != 0:
        assert (box.project / "package-lock.json").read_bytes() == before.lockfile  # the lockfile is written last
    box.assert_outside_untouched()
    _assert_repaired(box)


def test_ctrl_c_to_the_whole_process_group_during_extraction(registry: LoopbackRegistry, box: Sandbox) -> None:
    """A terminal's Ctrl-C reaches every process of the group, extraction workers included:
    weir still exits 130 with one clear line (no traceback), and the next run repairs."""
    many = {f"lib/f{i}.js": f"module.exports = {i};\n" for i in range(1500)}
    many["index.js"] = "module.exports = 'heavy';\n"
    for n in range(4):
        registry.add(f"heavy{n}", "1.0.0", files=many)
    box.write_project(dict(BASE, dependencies=dict(BASE["dependencies"], **{f"heavy{n}": "1.0.0" for n in range(4)})))
    box.mark_outside()
    before = State.of(box.project)
    proc = box.popen("install", new_session=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        event = json.loads(line)
        if event["type"] == "JobStarted" and event["kind"] == "extract":
            break
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert b"package-lock.json is unchanged" in err
    assert b"Traceback" not in err
    assert State.of(box.project) == before
    box.assert_outside_untouched()
    out = box.weir("install")
    assert out.returncode == 0, out.stderr
    assert (box.project / "node_modules/heavy3/lib/f1499.js").is_file()
    assert not cache_problems(box.cache)
