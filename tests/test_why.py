"""`weir why` end to end: a real install against the loopback registry, then questions about it.

The graph has two copies of c (c@2.0.0 hoisted for a, c@1.1.0 nested under b
because the root's copy does not satisfy b's ^1.0.0) and rejected candidates
of every common kind: a deprecated 1.2.0, a prerelease 1.3.0-beta.1, an
engines-incompatible 2.1.0 and an out-of-range 3.0.0.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from loopback import LoopbackRegistry
from test_install_e2e import weir


@pytest.fixture
def installed(registry: LoopbackRegistry, project: Callable[..., Path], cache_dir: Path) -> Path:
    registry.add("a", "1.0.0", dependencies={"b": "^1.0.0", "c": "^2.0.0"})
    registry.add("b", "1.0.0", dependencies={"c": "^1.0.0"})
    registry.add("c", "1.0.0")
    registry.add("c", "1.1.0")
    registry.add("c", "1.2.0", deprecated="use c@1.1.0")
    registry.add("c", "1.3.0-beta.1")
    registry.add("c", "2.0.0")
    registry.add("c", "2.1.0", engines={"node": ">=999"})
    registry.add("c", "3.0.0")
    app = project({"name": "app", "version": "1.0.0", "dependencies": {"a": "^1.0.0"}})
    out = weir(app, cache_dir, registry, "install")
    assert out.returncode == 0, out.stderr
    return app


def why(app: Path, cache: Path, registry: LoopbackRegistry, *args: str) -> tuple[int, str, str]:
    before = len(registry.requests)
    out = weir(app, cache, registry, "why", *args)
    assert len(registry.requests) == before, "weir why must never touch the registry"
    return out.returncode, out.stdout, out.stderr


def section(text: str, header: str) -> str:
    """The block of `weir why` output that starts with ``header``."""
    start = text.index(header)
    end = text.find("\n\n", start)
    return text[start : end if end != -1 else None]


def test_why_explains_both_copies_from_recorded_decisions(installed: Path, cache_dir: Path, registry: LoopbackRegistry) -> None:
    assert (installed / "node_modules/.weir/decisions.json").is_file()
    code, out, err = why(installed, cache_dir, registry, "c")
    assert code == 0, err
    nested = section(out, "c@1.1.0 (node_modules/b/node_modules/c)")
    assert "app > b@1.0.0 asks for c@^1.0.0" in nested
    assert "highest-in-range" in nested
    assert "placement: nested: node_modules/c is c@2.0.0" in nested
    assert "that copy is required by app > a@1.0.0 asks for c@^2.0.0" in nested
    assert "1.2.0: inside the range, lost: deprecated (use c@1.1.0)" in nested
    assert "1.0.0 (1 version inside the range): lower than 1.1.0" in nested
    assert "2.0.0: a newer major, excluded by b's ^1.0.0" in nested
    assert "1.3.0-beta.1" not in nested  # a prerelease the range does not name is counted, not listed
    assert "packument: miss" in nested or "packument: hit" in nested
    hoisted = section(out, "c@2.0.0 (node_modules/c)")
    assert "app > a@1.0.0 asks for c@^2.0.0" in hoisted
    assert "placement: hoisted: hoisted to the root" in hoisted
    assert "2.1.0: inside the range, lost: its engines field rejects this node" in hoisted
    assert "3.0.0: a newer major, excluded by a's ^2.0.0" in hoisted
    assert "answered from package-lock.json" not in out


def test_why_not_names_the_excluding_requirements(installed: Path, cache_dir: Path, registry: LoopbackRegistry) -> None:
    code, out, err = why(installed, cache_dir, registry, "c@3")
    assert code == 0, err
    assert "c@3 is not installed" in out
    assert "node_modules/c (c@2.0.0): c@3.0.0 is excluded by:\n    app > a@1.0.0 asks for c@^2.0.0" in out
    assert "node_modules/b/node_modules/c (c@1.1.0): c@3.0.0 is excluded by:\n    app > b@1.0.0 asks for c@^1.0.0" in out


def test_why_not_an_allowed_version_names_the_preference(installed: Path, cache_dir: Path, registry: LoopbackRegistry) -> None:
    code, out, _ = why(installed, cache_dir, registry, "c@1.2.0")
    assert code == 0
    assert "every requirement allows c@1.2.0, but it lost: deprecated (use c@1.1.0)" in out
    # the hoisted copy's range excludes 1.2.0 outright
    assert "node_modules/c (c@2.0.0): c@1.2.0 is excluded by:" in out


def test_why_with_an_installed_version_shows_only_that_copy(installed: Path, cache_dir: Path, registry: LoopbackRegistry) -> None:
    code, out, _ = why(installed, cache_dir, registry, "c@^2")
    assert code == 0
    assert "c@2.0.0 (node_modules/c)" in out
    assert "node_modules/b/node_modules/c" not in out


def test_why_json_has_every_field(installed: Path, cache_dir: Path, registry: LoopbackRegistry) -> None:
    code, out, _ = why(installed, cache_dir, registry, "c", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["source"] == "recorded"
    by_location = {c["location"]: c for c in doc["copies"]}
    nested = by_location["node_modules/b/node_modules/c"]
    decision = nested["decision"]
    assert decision["version"] == "1.1.0"
    assert decision["rule"] == "highest-in-range"
    assert decision["requirements"] == [{"spec": "^1.0.0", "kind": "prod", "path": ["app", "b@1.0.0"], "override": None}]
    assert decision["placement"]["blocker"] == "node_modules/c"
    assert decision["metadata"]["cache_status"] in ("miss", "hit")
    verdicts = {c["version"]: c["verdict"] for c in decision["candidates"]}
    assert verdicts["1.2.0"] == "deprecated" and verdicts["1.1.0"] == "chosen"
    assert nested["blocker_requirements"][0]["path"] == ["app", "a@1.0.0"]
    assert by_location["node_modules/c"]["decision"]["placement"]["hoisted"] is True

    code, out, _ = why(installed, cache_dir, registry, "c@3", "--json")
    doc = json.loads(out)
    assert doc["copies"] == []
    excluded = {w["location"]: w["excluded_by"][0]["spec"] for w in doc["why_not"]}
    assert excluded == {"node_modules/c": "^2.0.0", "node_modules/b/node_modules/c": "^1.0.0"}


def test_lockfile_fallback_without_recorded_decisions(installed: Path, cache_dir: Path, registry: LoopbackRegistry) -> None:
    (installed / "node_modules/.weir/decisions.json").unlink()
    code, out, err = why(installed, cache_dir, registry, "c")
    assert code == 0, err
    assert "answered from package-lock.json" in out
    nested = section(out, "c@1.1.0 (node_modules/b/node_modules/c)")
    assert "app > b@1.0.0 asks for c@^1.0.0" in nested
    assert "chosen by: lockfile" in nested
    assert "placement: nested: node_modules/c is c@2.0.0" in nested
    # the cached packument lets the verdicts be recomputed offline
    assert "1.2.0: inside the range, lost: deprecated" in nested
    assert "app > a@1.0.0 asks for c@^2.0.0" in section(out, "c@2.0.0 (node_modules/c)")
    code, out, _ = why(installed, cache_dir, registry, "c@3")
    assert "c@3.0.0 is excluded by:\n    app > a@1.0.0 asks for c@^2.0.0" in out


def test_a_stale_decisions_file_is_not_trusted(installed: Path, cache_dir: Path, registry: LoopbackRegistry) -> None:
    lock = json.loads((installed / "package-lock.json").read_text())
    lock["packages"]["node_modules/b/node_modules/c"]["version"] = "1.0.0"  # as if npm had changed it
    (installed / "package-lock.json").write_text(json.dumps(lock, indent=2))
    code, out, _ = why(installed, cache_dir, registry, "c")
    assert code == 0
    assert "c@1.0.0 (node_modules/b/node_modules/c)" in out
    assert "answered from package-lock.json" in out


def test_lockfile_only_records_decisions_in_the_cache(installed: Path, cache_dir: Path, registry: LoopbackRegistry) -> None:
    import shutil

    shutil.rmtree(installed / "node_modules")
    (installed / "package-lock.json").unlink()
    assert weir(installed, cache_dir, registry, "install", "--lockfile-only").returncode == 0
    assert not (installed / "node_modules").exists()
    code, out, _ = why(installed, cache_dir, registry, "c", "--json")
    assert code == 0
    assert json.loads(out)["source"] == "recorded"


@pytest.mark.parametrize("lockfile_only", [True, False], ids=["lockfile-only", "install"])
@pytest.mark.parametrize("layout", ["omit-resolved", "four-space-indent"])
def test_decisions_explain_the_lockfile_as_written(
    installed: Path, cache_dir: Path, registry: LoopbackRegistry, layout: str, lockfile_only: bool
) -> None:
    """The decision log is keyed to package-lock.json's bytes on disk: a lockfile written without
    ``resolved`` (omit-lockfile-registry-resolved) or in package.json's own indent is still
    explained from the recorded decisions, not from the lockfile alone."""
    import shutil

    shutil.rmtree(installed / "node_modules")
    (installed / "package-lock.json").unlink()
    if layout == "omit-resolved":
        (installed / ".npmrc").write_text("omit-lockfile-registry-resolved=true\n")
    else:
        pkg = json.loads((installed / "package.json").read_text())
        (installed / "package.json").write_text(json.dumps(pkg, indent=4) + "\n")
    args = ("install", "--lockfile-only") if lockfile_only else ("install",)
    out = weir(installed, cache_dir, registry, *args)
    assert out.returncode == 0, out.stderr
    written = (installed / "package-lock.json").read_text()
    assert ('"resolved"' not in written) if layout == "omit-resolved" else written.startswith('{\n    "name"')
    code, text, err = why(installed, cache_dir, registry, "c", "--json")
    assert code == 0, err
    assert json.loads(text)["source"] == "recorded"


def test_unknown_name_exits_4_like_a_resolution_error(installed: Path, cache_dir: Path, registry: LoopbackRegistry) -> None:
    code, out, err = why(installed, cache_dir, registry, "nope")
    assert code == 4
    assert "No dependencies found matching nope" in err
    assert out == ""


# -- issue 18: types in npm's words, the saved range, candidates that carry information ---------


@pytest.fixture
def dev_only(registry: LoopbackRegistry, project: Callable[..., Path], cache_dir: Path) -> Path:
    """The issue's first project: one dev dependency (odd) whose prod dependency (num) is therefore dev;
    opt (optional) asks for the same num, so npm marks it devOptional instead; num has 12 releases
    outside odd's ^6.0.0, one of them newer."""
    for major in range(1, 6):
        for minor in range(2):
            registry.add("num", f"{major}.{minor}.0")
    registry.add("num", "6.0.0")
    registry.add("num", "7.0.0")
    registry.add("num", "7.1.0")
    registry.add("odd", "3.0.1", dependencies={"num": "^6.0.0"})
    registry.add("lone", "1.0.0")
    app = project({"name": "s2", "version": "1.0.0", "devDependencies": {"odd": "^3.0.1", "lone": "^1.0.0"}})
    out = weir(app, cache_dir, registry, "install")
    assert out.returncode == 0, out.stderr
    return app


def test_a_dev_dependency_s_dependency_is_dev_and_each_edge_has_its_type(
    dev_only: Path, cache_dir: Path, registry: LoopbackRegistry
) -> None:
    code, out, err = why(dev_only, cache_dir, registry, "num")
    assert code == 0, err
    assert out.startswith("num@6.0.0 dev (node_modules/num)\n")
    # npm: `num@"^6.0.0" from odd@3.0.1` (a prod edge, no type) <- `dev odd@"^3.0.1" from the root project`
    assert "    s2 > dev odd@3.0.1 asks for num@^6.0.0\n" in out
    assert "(prod)" not in out
    code, out, _ = why(dev_only, cache_dir, registry, "lone")
    assert "lone@1.0.0 dev (node_modules/lone)" in out
    assert "    s2 asks for dev lone@^1.0.0\n" in out
    doc = json.loads(why(dev_only, cache_dir, registry, "num", "--json")[1])
    (copy,) = doc["copies"]
    assert copy["flags"] == ["dev"]
    assert [(e["requirement"]["kind"], e["hops"]) for e in copy["edges"]] == [("prod", ["dev"])]


def test_an_optional_and_a_dev_path_make_a_package_dev_optional(
    registry: LoopbackRegistry, project: Callable[..., Path], cache_dir: Path
) -> None:
    registry.add("num", "6.0.0")
    registry.add("odd", "3.0.1", dependencies={"num": "^6.0.0"})
    registry.add("opt", "1.0.0", dependencies={"num": "^6.0.0"})
    app = project({"name": "s2", "devDependencies": {"odd": "^3.0.1"}, "optionalDependencies": {"opt": "^1.0.0"}})
    assert weir(app, cache_dir, registry, "install").returncode == 0
    code, out, _ = why(app, cache_dir, registry, "num")
    assert out.startswith("num@6.0.0 devOptional (node_modules/num)\n")
    assert "s2 > dev odd@3.0.1 asks for num@^6.0.0" in out
    assert "s2 > optional opt@1.0.0 asks for num@^6.0.0" in out
    code, out, _ = why(app, cache_dir, registry, "opt")
    assert out.startswith("opt@1.0.0 optional (node_modules/opt)\n")
    assert "s2 asks for optional opt@^1.0.0" in out


def test_candidates_show_the_nearest_newer_excluded_version_and_count_the_rest(
    dev_only: Path, cache_dir: Path, registry: LoopbackRegistry
) -> None:
    code, out, _ = why(dev_only, cache_dir, registry, "num")
    candidates = out[out.index("  candidates:\n"):]
    assert "    7.0.0: a newer major, excluded by odd's ^6.0.0\n" in candidates
    assert "7.1.0:" not in candidates and "5.1.0:" not in candidates and "outside the range (not in" not in out
    assert "    11 more: outside the range or prereleases (--json lists every verdict)\n" in candidates
    doc = json.loads(why(dev_only, cache_dir, registry, "num", "--json")[1])
    (copy,) = doc["copies"]
    verdicts = {c["version"]: c["verdict"] for c in copy["decision"]["candidates"]}
    assert verdicts["6.0.0"] == "chosen" and verdicts["7.1.0"] == verdicts["1.0.0"] == "outside-range"
    assert len(verdicts) == 13
    assert copy["shortlist"]["nearest_newer"] == {
        "version": "7.0.0", "step": "major",
        "excluded_by": [{"spec": "^6.0.0", "kind": "prod", "path": ["s2", "odd@3.0.1"], "override": None}],
    }
    assert copy["shortlist"]["folded"] == 11


def test_why_shows_the_range_add_saved_and_the_tag_as_history(
    registry: LoopbackRegistry, project: Callable[..., Path], cache_dir: Path
) -> None:
    registry.add("ms", "2.1.2")
    registry.add("ms", "2.1.3")
    registry.add("ms", "3.0.0-canary.1")
    registry.tag("ms", "latest", "2.1.3")
    app = project({"name": "s2", "version": "1.0.0"})
    out = weir(app, cache_dir, registry, "add", "-D", "ms")
    assert out.returncode == 0, out.stderr
    assert json.loads((app / "package.json").read_text())["devDependencies"] == {"ms": "^2.1.3"}
    code, out, _ = why(app, cache_dir, registry, "ms")
    assert code == 0
    assert out.startswith("ms@2.1.3 dev (node_modules/ms)\n")
    assert "    s2 asks for dev ms@^2.1.3\n" in out
    assert "asks for dev ms@latest" not in out
    assert "  chosen by: the saved range: the project asks for ^2.1.3 now, which 2.1.3 satisfies\n" in out
    assert ("  history: picked when s2 asked for ms@latest (rule dist-tag: the tag pointed to 2.1.3); "
            "it has saved ^2.1.3 since\n") in out
    doc = json.loads(why(app, cache_dir, registry, "ms", "--json")[1])
    (copy,) = doc["copies"]
    assert copy["history"] == [{"path": ["s2"], "then": "latest", "now": "^2.1.3"}]
    assert copy["edges"][0]["requirement"]["spec"] == "^2.1.3"
    assert copy["decision"]["rule"] == "dist-tag"  # the record itself is history, kept as it was
    code, out, _ = why(app, cache_dir, registry, "ms@3")  # why not: judged by what is asked now, not the tag
    assert "ms@3 is excluded by:\n    s2 asks for dev ms@^2.1.3\n" in out


@pytest.mark.network
@pytest.mark.parametrize(
    ("package_json", "asked"),
    [
        ({"devDependencies": {"is-odd": "^3.0.1"}}, "is-number"),
        ({"devDependencies": {"is-odd": "^3.0.1"}, "optionalDependencies": {"is-even": "^1.0.0"}}, "is-number"),
        ({"optionalDependencies": {"is-odd": "^3.0.1"}}, "is-number"),
    ],
)
def test_flags_and_edge_types_are_npm_s(
    package_json: dict[str, object], asked: str, project: Callable[..., Path], tmp_path: Path
) -> None:
    """The issue's project and its optional variants against the public registry: `npm explain --json`
    on weir's tree gives the same flags and the same edge types."""
    import subprocess
    import sys

    app = project({"name": "s2", "version": "1.0.0", **package_json})
    cache = tmp_path / "cache"
    run = [sys.executable, "-m", "weir.tui.cli.main", "--cache", str(cache), "-C", str(app)]
    assert subprocess.run([*run[:3], "install", *run[3:], "--reporter", "plain"], capture_output=True,
                          timeout=300).returncode == 0
    ours = json.loads(subprocess.run([*run[:3], "why", asked, "--json", *run[3:]], capture_output=True, text=True,
                                     timeout=120).stdout)
    npm = json.loads(subprocess.run(["npm", "explain", asked, "--json"], cwd=app, capture_output=True, text=True,
                                    timeout=120).stdout)
    for copy, node in zip(ours["copies"], npm, strict=True):
        assert copy["location"] == node["location"]
        npm_flags = [f for f in ("dev", "optional", "devOptional", "peer") if node.get(f)]
        assert [f for f in copy["flags"] if f in ("dev", "optional", "devOptional", "peer")] == npm_flags
        npm_edges = sorted((e["from"].get("name", "s2"), e["type"]) for e in node["dependents"])
        our_edges = sorted((e["requirement"]["path"][-1].rpartition("@")[0] or e["requirement"]["path"][-1],
                            e["requirement"]["kind"]) for e in copy["edges"])
        assert our_edges == npm_edges


def test_why_tui_shows_the_same_answer_as_the_text(dev_only: Path, cache_dir: Path, registry: LoopbackRegistry) -> None:
    """`weir why --tui` renders core's answer: flags and edge types from the lockfile, the shortlist."""
    import asyncio

    from textual.widgets import Static
    from weir.core.config import load_config
    from weir.core.why import explain
    from weir.tui.app.why_screen import why_app

    answer = explain(dev_only, load_config(dev_only, cli={"registry": registry.url, "cache": str(cache_dir)}), "num")
    app = why_app(answer.copies)

    async def shown() -> str:
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.pause()
            app.open_why("num@6.0.0")
            await pilot.pause()
            return str(app.screen.query_one("#detail", Static).content)

    detail = asyncio.run(shown())
    assert detail.splitlines() == why(dev_only, cache_dir, registry, "num")[1].splitlines()
