"""weir.core.npm.packument: lenient, lazy decoding of real-world packument shapes."""

from __future__ import annotations

import orjson
import pytest
from weir.core.npm.packument import Dist, PackumentError, decode_packument, decode_version

DIST = {"tarball": "https://r.example/a/-/a-1.0.0.tgz", "integrity": "sha512-abc", "shasum": "deadbeef"}


def packument(**versions: dict) -> bytes:
    return orjson.dumps(
        {
            "name": "@s/a",
            "dist-tags": {"latest": "1.0.0", "bad": 3},
            "modified": "2024-01-01T00:00:00.000Z",
            "readme": "x" * 1000,
            "versions": versions,
        }
    )


def test_fields_are_read_and_renamed() -> None:
    doc = packument(
        **{
            "1.0.0": {
                "name": "@s/a",
                "version": "1.0.0",
                "dependencies": {"b": "^1"},
                "optionalDependencies": {"c": "2"},
                "peerDependencies": {"react": ">=18"},
                "peerDependenciesMeta": {"react": {"optional": True}},
                "bundleDependencies": ["b"],
                "bin": {"a": "bin/a.js"},
                "directories": {"bin": "./bin"},
                "engines": {"node": ">=18"},
                "os": ["linux"],
                "cpu": ["x64", "arm64"],
                "libc": ["glibc"],
                "deprecated": "use b",
                "hasInstallScript": True,
                "license": "MIT",
                "funding": {"url": "https://f.example"},
                "dist": DIST,
            }
        }
    )
    p = decode_packument(doc)
    assert (p.name, p.dist_tags, p.modified) == ("@s/a", {"latest": "1.0.0"}, "2024-01-01T00:00:00.000Z")
    m = p.versions["1.0.0"]
    assert m.dependencies == {"b": "^1"} and m.optional_dependencies == {"c": "2"}
    assert m.peer_dependencies == {"react": ">=18"} and m.peer_dependencies_meta == {"react": {"optional": True}}
    assert m.bundle_dependencies == ("b",) and m.bin == {"a": "bin/a.js"} and m.directories_bin == "./bin"
    assert (m.os, m.cpu, m.libc) == (("linux",), ("x64", "arm64"), ("glibc",))
    assert m.deprecated == "use b" and m.has_install_script and m.license == "MIT"
    assert m.funding == {"url": "https://f.example"}
    assert m.dist == Dist(DIST["tarball"], "sha512-abc", "deadbeef")


def test_junk_in_old_versions_is_normalized_not_fatal() -> None:
    p = decode_packument(
        packument(
            **{
                "0.1.0": {"engines": "node >= 0.4", "dependencies": ["b", "@s/c@1.x"], "bin": 7, "os": "linux", "dist": DIST},
                "0.2.0": {"engines": ["node"], "license": {"type": "BSD"}, "bundledDependencies": True, "dist": DIST},
                "0.3.0": {"bin": "./cli.js", "scripts": {"postinstall": "node x"}, "deprecated": "", "dist": DIST},
            }
        )
    )
    old = p.versions["0.1.0"]
    assert old.engines == {} and old.dependencies == {"b": "*", "@s/c": "1.x"} and old.bin == {} and old.os == ("linux",)
    second = p.versions["0.2.0"]
    assert second.engines == {} and second.license == "BSD" and second.bundle_dependencies is True
    third = p.versions["0.3.0"]
    assert third.bin == {"a": "./cli.js"}  # a string bin is named after the bare package name
    assert third.has_install_script and third.deprecated is None


def test_engines_and_workspaces_are_kept_as_published_for_the_lockfile() -> None:
    # npm 11 copies these into the lockfile entry untouched (concat-stream@1.6.2, qs@6.0.0,
    # pkijs@3.4.3); the engines check still reads only an object's string entries.
    p = decode_packument(
        packument(
            **{
                "1.6.2": {"engines": ["node >= 0.8"], "dist": DIST},
                "6.0.0": {"engines": ">=4.0.0", "dist": DIST},
                "3.4.3": {"engines": {"node": ">=16.0.0", "npm": 7}, "workspaces": ["website"], "dist": DIST},
                "4.0.0": {"engines": {}, "workspaces": {"packages": ["a/*"]}, "dist": DIST},
                "5.0.0": {"engines": "", "workspaces": [], "dist": DIST},
            }
        )
    )
    listed, string, mapped, objects, empty = (p.versions[v] for v in ("1.6.2", "6.0.0", "3.4.3", "4.0.0", "5.0.0"))
    assert (listed.published_engines, listed.engines, listed.workspaces) == (["node >= 0.8"], {}, None)
    assert (string.published_engines, string.engines) == (">=4.0.0", {})
    assert mapped.published_engines == {"node": ">=16.0.0", "npm": 7} and mapped.engines == {"node": ">=16.0.0"}
    assert mapped.workspaces == ["website"]
    assert (objects.published_engines, objects.workspaces) == (None, {"packages": ["a/*"]})
    assert (empty.published_engines, empty.workspaces) == (None, None)  # npm writes nothing for empty values


def test_a_version_without_a_tarball_is_left_out_with_a_reason() -> None:
    p = decode_packument(packument(**{"1.0.0": {"dist": DIST}, "0.0.1": {"dist": {"shasum": "x"}}, "0.0.2": "junk"}))
    assert p.versions.get("0.0.1") is None and p.versions.get("0.0.2") is None
    assert p.unusable == {"0.0.1": "no dist.tarball", "0.0.2": p.unusable["0.0.2"]}
    assert "not a JSON object" in p.unusable["0.0.2"]
    assert list(p.versions) == ["1.0.0"]
    with pytest.raises(KeyError):
        p.versions["0.0.1"]


def test_versions_decode_only_when_used() -> None:
    p = decode_packument(packument(**{"1.0.0": {"dist": DIST}, "2.0.0": {"dist": DIST}}))
    assert sorted(p.versions) == ["1.0.0", "2.0.0"] and len(p.versions) == 2
    assert p.versions["2.0.0"] is p.versions["2.0.0"]  # decoded once, then kept


@pytest.mark.parametrize("body", [b"<html>oops</html>", b"[1, 2]", b'{"name": "a", "versions": {', b""])
def test_a_body_that_is_no_packument_is_an_error(body: bytes) -> None:
    with pytest.raises(PackumentError):
        decode_packument(body)


def test_version_document() -> None:
    m = decode_version(orjson.dumps({"name": "a", "version": "1.0.0", "dist": DIST, "readme": "..."}))
    assert (m.name, m.version, m.dist.tarball) == ("a", "1.0.0", DIST["tarball"])
    with pytest.raises(PackumentError, match="cannot be installed"):
        decode_version(orjson.dumps({"name": "a", "version": "1.0.0"}))
