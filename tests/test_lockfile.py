"""package-lock.json v3: npm's own files round-trip byte for byte, and bad input is refused clearly."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest

from weir.core.errors import FilesystemError, InputError
from weir.core.tree.lockfile import (
    LockEntry,
    Lockfile,
    collation_key,
    dumps_lockfile,
    loads_lockfile,
    read_lockfile,
    write_lockfile,
)

FIXTURES = Path(__file__).resolve().parent.parent / "bench" / "fixtures"


@pytest.mark.parametrize("fixture", ["small", "medium", "large"])
def test_npm_lockfiles_round_trip_byte_for_byte(fixture: str) -> None:
    data = (FIXTURES / fixture / "package-lock.json").read_bytes()
    lock = loads_lockfile(data)
    assert dumps_lockfile(lock) == data


def test_entries_expose_npm_fields() -> None:
    lock = loads_lockfile((FIXTURES / "medium" / "package-lock.json").read_bytes())
    root = lock.packages[""]
    assert root.name == "fixture-medium"
    code_frame = lock.packages["node_modules/@babel/code-frame"]
    assert code_frame.name == "@babel/code-frame"
    assert code_frame.dev and not code_frame.optional
    assert code_frame.integrity and code_frame.integrity.startswith("sha512-")
    assert "js-tokens" in code_frame.dependencies
    optional_platform = [e for e in lock.packages.values() if e.optional and e.raw.get("os")]
    assert optional_platform, "the medium fixture has platform-specific optional packages (esbuild/rollup)"


def test_writer_orders_keys_as_npm_does() -> None:
    entry = {
        "dependencies": {"zeta": "^1.0.0", "Alpha": "1", "alpha": "2", "@scope/x": "3", "a-b": "4", "a_b": "5"},
        "license": "MIT",
        "bin": {"x": "cli.js"},
        "dev": True,
        "integrity": "sha512-AAAA",
        "resolved": "https://r/x.tgz",
        "cpu": ["x64"],
        "version": "1.0.0",
    }
    lock = Lockfile(
        name="app",
        version="1.0.0",
        packages={
            "": LockEntry(path="", name="app", raw={"name": "app", "version": "1.0.0"}),
            "node_modules/x": LockEntry(path="node_modules/x", name="x", raw=entry),
        },
    )
    doc = json.loads(dumps_lockfile(lock))
    assert list(doc) == ["name", "version", "lockfileVersion", "requires", "packages"]
    written = doc["packages"]["node_modules/x"]
    # scalars and arrays before objects; in each group the preferred keys first, then ICU order
    assert list(written) == ["version", "resolved", "integrity", "cpu", "dev", "license", "dependencies", "bin"]
    assert list(written["dependencies"]) == ["@scope/x", "a_b", "a-b", "alpha", "Alpha", "zeta"]
    assert dumps_lockfile(lock).endswith(b"}\n")


def test_collation_matches_node_locale_compare(tmp_path: Path) -> None:
    """Sort thousands of package-like names with node's localeCompare and with ours."""
    rng = random.Random(7)
    alphabet = "abcXYZ019-._@/~"
    names = sorted({"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8))) for _ in range(3000)})
    script = "const a=JSON.parse(require('fs').readFileSync(0,'utf8'));a.sort((x,y)=>x.localeCompare(y,'en'));process.stdout.write(JSON.stringify(a))"
    out = subprocess.run(["node", "-e", script], input=json.dumps(names), capture_output=True, text=True, check=True)
    node_order = json.loads(out.stdout)
    ours = sorted(names, key=collation_key)
    # ICU breaks full ties by code point; names here are distinct, so the orders must agree.
    assert ours == node_order


def test_lockfile_v1_is_read_and_its_paths_are_checked() -> None:
    """npm 6's tree is read (tests/test_lockfile_variants.py), under the same path rules as v3."""
    v1 = json.dumps({"name": "a", "lockfileVersion": 1, "dependencies": {"x": {"version": "1.0.0"}}}).encode()
    assert loads_lockfile(v1).packages["node_modules/x"].version == "1.0.0"
    hostile = json.dumps({"lockfileVersion": 1, "dependencies": {"..": {"version": "1.0.0"}}}).encode()
    with pytest.raises(InputError, match="refused"):
        loads_lockfile(hostile)


def test_newer_lockfile_version_is_refused() -> None:
    with pytest.raises(InputError, match="lockfileVersion 4"):
        loads_lockfile(json.dumps({"lockfileVersion": 4, "packages": {}}).encode())


def test_malformed_lockfile_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "package-lock.json").write_text('{"lockfileVersion": 3, "packages": {')
    with pytest.raises(InputError) as err:
        read_lockfile(tmp_path)
    assert "package-lock.json is not valid JSON" in str(err.value)


def test_write_is_atomic_and_skips_identical_bytes(tmp_path: Path) -> None:
    lock = loads_lockfile((FIXTURES / "small" / "package-lock.json").read_bytes())
    assert write_lockfile(tmp_path, lock) is True
    first = (tmp_path / "package-lock.json").stat()
    assert write_lockfile(tmp_path, lock) is False  # nothing changed: the file is not rewritten
    assert (tmp_path / "package-lock.json").stat().st_mtime_ns == first.st_mtime_ns
    assert [p.name for p in tmp_path.iterdir()] == ["package-lock.json"]  # no temp files left


def test_symlinked_lockfile_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.json"
    outside.write_text("{}")
    project = tmp_path / "project"
    project.mkdir()
    (project / "package-lock.json").symlink_to(outside)
    lock = Lockfile(name="p", version="1.0.0", packages={"": LockEntry(path="", name="p", raw={"name": "p"})})
    with pytest.raises(FilesystemError, match="symlink"):
        write_lockfile(project, lock)
    assert outside.read_text() == "{}"
