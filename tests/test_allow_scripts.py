"""npm's install-script policy (``allowScripts``) end to end, through the real CLI and a loopback registry.

Dependencies' install scripts run only when ``allowScripts`` (or bun's
``trustedDependencies``) allows them; the identity of a registry package is the
name and version in its ``resolved`` URL. ``weir approve-scripts`` and ``weir
install-scripts`` write the field as npm 11.19.1 does: the parity tests run npm
on a twin project and compare the package.json it leaves.
"""

from __future__ import annotations

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
from weir.core.tree.lockfile import LockEntry
from weir.core.linker.script_policy import read_policy

MARK = 'touch "$INIT_CWD/ran-$npm_package_name"'


def weir(project: Path, cache: Path, registry: LoopbackRegistry, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")}
    env.update(CI="true", npm_config_userconfig=os.devnull)  # not this machine's ~/.npmrc
    cmd = [sys.executable, "-m", "weir.tui.cli.main", *args, "--registry", registry.url, "--cache", str(cache), "-C", str(project)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)


def ran(project: Path) -> list[str]:
    return sorted(p.name.removeprefix("ran-") for p in project.glob("ran-*"))


def allow_scripts(project: Path) -> Any:
    return json.loads((project / "package.json").read_text()).get("allowScripts")


@pytest.fixture
def scripted(registry: LoopbackRegistry) -> LoopbackRegistry:
    """native@1.0.0 and 1.0.1 and other@2.0.0 run a postinstall; plain@1.0.0 has none."""
    registry.add("native", "1.0.0", scripts={"postinstall": MARK})
    registry.add("native", "1.0.1", scripts={"postinstall": MARK})
    registry.add("other", "2.0.0", scripts={"install": MARK})
    registry.add("plain", "1.0.0")
    return registry


def app(project: Callable[..., Path], deps: dict[str, str], **fields: Any) -> Path:
    return project({"name": "app", "version": "1.0.0", "dependencies": deps, **fields}, npmrc=fields.pop("npmrc", None))


def test_unreviewed_scripts_are_blocked_and_the_list_names_the_approve_command(
    scripted: LoopbackRegistry, project: Callable[..., Path], cache_dir: Path
) -> None:
    root = app(project, {"native": "1.0.0", "other": "2.0.0", "plain": "1.0.0"})
    out = weir(root, cache_dir, scripted, "install")
    assert out.returncode == 0, out.stderr
    assert ran(root) == []
    lines = out.stderr.splitlines()
    at = lines.index("2 packages have install scripts that did not run (not in allowScripts):")
    assert lines[at + 1 : at + 4] == [
        "  native@1.0.0 (postinstall)",
        "  other@2.0.0 (install)",
        "review them, then run `weir approve-scripts native other` to allow (or `weir install-scripts deny NAME`)",
    ]


def test_approve_scripts_pins_the_installed_version_and_the_next_install_runs_it(
    scripted: LoopbackRegistry, project: Callable[..., Path], cache_dir: Path
) -> None:
    root = app(project, {"native": "1.0.0", "other": "2.0.0"})
    assert weir(root, cache_dir, scripted, "install").returncode == 0
    out = weir(root, cache_dir, scripted, "approve-scripts", "native")
    assert out.returncode == 0, out.stderr
    assert out.stdout == "Approved native:\n  added native@1.0.0\n"
    assert allow_scripts(root) == {"native@1.0.0": True}
    shutil.rmtree(root / "node_modules")
    again = weir(root, cache_dir, scripted, "install")
    assert again.returncode == 0, again.stderr
    assert ran(root) == ["native"]
    assert "weir approve-scripts other" in again.stderr


def test_a_pin_does_not_allow_another_version(
    scripted: LoopbackRegistry, project: Callable[..., Path], cache_dir: Path
) -> None:
    root = app(project, {"native": "1.0.1"}, allowScripts={"native@1.0.0": True})
    out = weir(root, cache_dir, scripted, "install")
    assert out.returncode == 0, out.stderr
    assert ran(root) == []
    assert "  native@1.0.1 (postinstall)" in out.stderr.splitlines()


def test_a_deny_wins_over_trusted_dependencies_and_is_not_listed(
    scripted: LoopbackRegistry, project: Callable[..., Path], cache_dir: Path
) -> None:
    root = app(
        project, {"native": "1.0.0", "other": "2.0.0"},
        allowScripts={"native": False}, trustedDependencies=["native", "other"],
    )
    out = weir(root, cache_dir, scripted, "install")
    assert out.returncode == 0, out.stderr
    assert ran(root) == ["other"]  # trustedDependencies still allows what allowScripts does not mention
    assert "did not run" not in out.stderr


def test_an_alias_is_its_real_package(
    registry: LoopbackRegistry, project: Callable[..., Path], cache_dir: Path
) -> None:
    """``"trusted": "npm:evil@1.0.0"`` is evil: an entry for the alias name allows nothing."""
    registry.add("evil", "1.0.0", scripts={"postinstall": MARK})
    registry.add("trusted", "1.0.0", scripts={"postinstall": MARK})
    root = app(project, {"trusted": "npm:evil@1.0.0"}, allowScripts={"trusted": True})
    out = weir(root, cache_dir, registry, "install")
    assert out.returncode == 0, out.stderr
    assert ran(root) == []
    assert "  evil@1.0.0 (postinstall)" in out.stderr.splitlines()

    approved = app(project, {"trusted": "npm:evil@1.0.0"}, allowScripts={"evil@1.0.0": True})
    out = weir(approved, cache_dir, registry, "install")
    assert out.returncode == 0, out.stderr
    assert ran(approved) == ["evil"]


def test_identity_is_the_resolved_url_not_the_name_the_entry_claims() -> None:
    """A lockfile entry (or tarball) calling itself "trusted" at evil's URL is evil."""
    forged = LockEntry(path="node_modules/trusted", name="trusted", version="1.0.0",
                       resolved="https://registry.example/evil/-/evil-1.0.0.tgz")  # fmt: skip
    policy = read_policy({"allowScripts": {"trusted": True, "trusted@1.0.0": True}}, {})
    assert policy.verdict(forged) is None
    assert read_policy({"allowScripts": {"evil@1.0.0": True}}, {}).verdict(forged) is True
    scoped = LockEntry(path="node_modules/@s/x", name="@s/x", version="2.0.0",
                       resolved="https://r.example/artifactory/api/npm/npm/@s/x/-/x-2.0.0.tgz")  # fmt: skip
    assert read_policy({"allowScripts": {"@s/x@2.0.0": True}}, {}).verdict(scoped) is True
    git = LockEntry(path="node_modules/x", name="x", version="1.0.0", resolved="git+ssh://git@github.com/a/x.git#abc")
    assert read_policy({"allowScripts": {"x": True}}, {}).verdict(git) is None  # a registry key never matches git
    assert read_policy({"allowScripts": {"git+ssh://git@github.com/a/x.git#abc": True}}, {}).verdict(git) is True
    unpinned = LockEntry(path="node_modules/x", name="x", version="1.0.0")  # omit-lockfile-registry-resolved
    assert read_policy({"allowScripts": {"x@1.0.0": True}}, {}).verdict(unpinned) is None
    assert read_policy({"allowScripts": {"x@1.0.0": False, "x": True}}, {}).verdict(unpinned) is False


def test_strict_allow_scripts_fails_before_any_script_runs(
    scripted: LoopbackRegistry, project: Callable[..., Path], cache_dir: Path
) -> None:
    root = app(project, {"native": "1.0.0", "other": "2.0.0"}, allowScripts={"other": True}, npmrc="strict-allow-scripts=true\n")
    out = weir(root, cache_dir, scripted, "install")
    assert out.returncode == 8, out.stderr
    assert "ESTRICTALLOWSCRIPTS" in out.stderr and "native@1.0.0 (postinstall: " in out.stderr
    assert "weir approve-scripts native" in out.stderr
    assert ran(root) == []


def test_npmrc_allow_scripts_and_the_dangerous_escape_hatch(
    scripted: LoopbackRegistry, project: Callable[..., Path], cache_dir: Path
) -> None:
    root = app(project, {"native": "1.0.0", "other": "2.0.0"}, npmrc="allow-scripts=native\n")
    assert weir(root, cache_dir, scripted, "install").returncode == 0
    assert ran(root) == ["native"]
    everything = app(
        project, {"native": "1.0.0", "other": "2.0.0"}, allowScripts={"native": False},
        npmrc="dangerously-allow-all-scripts=true\n",
    )
    assert weir(everything, cache_dir, scripted, "install").returncode == 0
    assert ran(everything) == ["native", "other"]


def test_range_keys_are_ignored_with_a_warning(
    scripted: LoopbackRegistry, project: Callable[..., Path], cache_dir: Path
) -> None:
    root = app(project, {"native": "1.0.0"}, allowScripts={"native@^1.0.0": True})
    out = weir(root, cache_dir, scripted, "install")
    assert ran(root) == []
    assert 'ignoring "native@^1.0.0": semver ranges' in out.stderr


def test_install_scripts_ls_deny_approve_all_and_prune(
    scripted: LoopbackRegistry, project: Callable[..., Path], cache_dir: Path
) -> None:
    root = app(project, {"native": "1.0.0", "other": "2.0.0", "plain": "1.0.0"}, allowScripts={"gone": True, "plain": True})
    assert weir(root, cache_dir, scripted, "install", "--ignore-scripts").returncode == 0
    ls = weir(root, cache_dir, scripted, "install-scripts", "ls")
    assert ls.stdout.splitlines()[:3] == [
        "2 packages have install scripts not yet covered by allowScripts:",
        f"  native@1.0.0 (postinstall: {MARK})",
        f"  other@2.0.0 (install: {MARK})",
    ]
    pending = weir(root, cache_dir, scripted, "approve-scripts", "--allow-scripts-pending")
    assert pending.stdout == ls.stdout and allow_scripts(root) == {"gone": True, "plain": True}
    assert weir(root, cache_dir, scripted, "install-scripts", "deny", "other").returncode == 0
    out = weir(root, cache_dir, scripted, "approve-scripts", "--all")
    assert out.stdout == "Approved native:\n  added native@1.0.0\n"
    assert allow_scripts(root) == {"gone": True, "plain": True, "other": False, "native@1.0.0": True}
    refused = weir(root, cache_dir, scripted, "approve-scripts", "other")
    assert "other is denied; remove the entry from allowScripts to approve other." in refused.stderr
    dry = weir(root, cache_dir, scripted, "install-scripts", "prune", "--dry-run")
    assert dry.stdout == (
        "Would remove 2 unused allowScripts entries:\n  gone (package not installed)\n  plain (no install scripts)\n"
    )
    assert weir(root, cache_dir, scripted, "install-scripts", "prune").returncode == 0
    assert allow_scripts(root) == {"other": False, "native@1.0.0": True}
    missing = weir(root, cache_dir, scripted, "approve-scripts", "nope")
    assert missing.returncode == 3 and "No installed packages match: nope" in missing.stderr


def test_no_pin_writes_a_name_and_replaces_pins(
    scripted: LoopbackRegistry, project: Callable[..., Path], cache_dir: Path
) -> None:
    root = app(project, {"native": "1.0.0"}, allowScripts={"native@0.9.0": True})
    assert weir(root, cache_dir, scripted, "install", "--ignore-scripts").returncode == 0
    out = weir(root, cache_dir, scripted, "approve-scripts", "--no-allow-scripts-pin", "native")
    assert out.returncode == 0, out.stderr
    assert allow_scripts(root) == {"native": True}


# -- npm 11.19.1 on the same project ------------------------------------------------------


def npm(project: Path, cache: Path, registry: LoopbackRegistry, *args: str) -> subprocess.CompletedProcess[str]:
    """npm with a private userconfig (the machine's sets omit-lockfile-registry-resolved)."""
    env = {k: v for k, v in os.environ.items() if not k.lower().startswith("npm_config_")}
    userconfig = cache.parent / "npmrc-empty"
    userconfig.write_text("")
    cmd = ["npm", *args, "--registry", registry.url, "--cache", str(cache), "--userconfig", str(userconfig),
           "--no-audit", "--no-fund", "--ignore-scripts"]  # fmt: skip
    return subprocess.run(cmd, cwd=project, capture_output=True, text=True, env=env, timeout=120)


def twins(project: Callable[..., Path], manifest: dict[str, Any]) -> tuple[Path, Path]:
    return project(manifest), project(manifest)


@pytest.mark.parametrize(
    ("existing", "commands"),
    [
        ({}, [["approve-scripts", "native"]]),
        ({"native@0.9.0": True, "other": True}, [["approve-scripts", "--all"]]),
        ({"plain": True, "gone": False}, [["install-scripts", "deny", "other"], ["approve-scripts", "--all"]]),
        ({"other@2.0.0": True, "native": True}, [["install-scripts", "deny", "other"], ["install-scripts", "prune"]]),
        ({}, [["approve-scripts", "--no-allow-scripts-pin", "native", "other"]]),
    ],
    ids=["pin", "all-replaces-stale-pin-and-name", "deny-then-all", "deny-then-prune", "no-pin"],
)
def test_package_json_matches_what_npm_writes(
    scripted: LoopbackRegistry, project: Callable[..., Path], cache_dir: Path, tmp_path: Path,
    existing: dict[str, bool], commands: list[list[str]],
) -> None:
    manifest: dict[str, Any] = {"name": "app", "version": "1.0.0", "dependencies": {"native": "1.0.0", "other": "2.0.0", "plain": "1.0.0"}}
    if existing:
        manifest["allowScripts"] = existing
    by_npm, by_weir = twins(project, manifest)
    installed = npm(by_npm, tmp_path / "npm-cache", scripted, "install")
    assert installed.returncode == 0, installed.stderr
    assert weir(by_weir, cache_dir, scripted, "install", "--ignore-scripts").returncode == 0
    for command in commands:
        n = npm(by_npm, tmp_path / "npm-cache", scripted, *command)
        assert n.returncode == 0, n.stderr
        w = weir(by_weir, cache_dir, scripted, *command)
        assert w.returncode == 0, w.stderr
    assert (by_weir / "package.json").read_text() == (by_npm / "package.json").read_text()
