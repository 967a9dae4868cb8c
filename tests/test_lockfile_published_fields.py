"""Entry fields npm copies from the published manifest untouched: weir writes the same bytes.

The expected blocks are what npm 11.19 wrote (``npm install --package-lock-only
--omit-lockfile-registry-resolved=false``) for concat-stream@1.6.2, qs@6.0.0,
lodash@0.10.0 and pkijs@3.4.3: ``engines`` as an array, a string or an object,
and a registry package's own ``workspaces``, each in json-stringify-nice's place
(arrays and strings among the scalars, the engines object after dependencies).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fake_registry import FakeRegistry
from weir.core.config import Config
from weir.core.tree.lockfile import dumps_lockfile, loads_lockfile
from weir.core.npm.package_json import package_json_from_dict
from weir.core.resolve.resolver import resolve

pytestmark = pytest.mark.anyio

NPM = "https://registry.npmjs.org/"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def dist(name: str, version: str, integrity: str) -> dict[str, str]:
    return {"tarball": f"{NPM}{name}/-/{name}-{version}.tgz", "integrity": integrity}


CONCAT_STREAM = """\
    "node_modules/concat-stream": {
      "version": "1.6.2",
      "resolved": "https://registry.npmjs.org/concat-stream/-/concat-stream-1.6.2.tgz",
      "integrity": "sha512-27HBghJxjiZtIk3Ycvn/4kbJk/1uZuJFfuPEns6LaEvpvG1f0hTea8lilrouyo9mVc2GWdcEZ8OLoGmSADlrCw==",
      "engines": [
        "node >= 0.8"
      ],
      "license": "MIT",
      "dependencies": {
        "buffer-from": "^1.0.0",
        "inherits": "^2.0.3",
        "readable-stream": "^2.2.2",
        "typedarray": "^0.0.6"
      }
    }"""

QS = """\
    "node_modules/qs": {
      "version": "6.0.0",
      "resolved": "https://registry.npmjs.org/qs/-/qs-6.0.0.tgz",
      "integrity": "sha512-NSkqkwuet8MUAYRb3x5mSbV9uu4gQY85/aksTPi1MHzw6HVBOqUaZEIEhAtRvxgjWsOx+8HvkHOj1NSrZIyi+Q==",
      "engines": ">=4.0.0",
      "license": "BSD-3-Clause"
    }"""

LODASH = """\
    "node_modules/lodash": {
      "version": "0.10.0",
      "resolved": "https://registry.npmjs.org/lodash/-/lodash-0.10.0.tgz",
      "integrity": "sha512-v56iCcHwqxrkkFW08F6GFAEYjL/E7Exbk2HZKhaZJsogEMSqse9as4Zmx5fmci4ZCQ/UNVoFHGudYzONfGxANQ==",
      "engines": [
        "node",
        "rhino"
      ],
      "license": "MIT"
    }"""

PKIJS = """\
    "node_modules/pkijs": {
      "version": "3.4.3",
      "resolved": "https://registry.npmjs.org/pkijs/-/pkijs-3.4.3.tgz",
      "integrity": "sha512-V9kOzaItwDgqlryhXysQsAXUEKi5O7kqWUaP3dXI7MLvkPqWWMb4wVb1QAtmEDCKI+XIAINsZoNKMFF7sZb1eg==",
      "license": "BSD-3-Clause",
      "workspaces": [
        "website"
      ],
      "dependencies": {
        "@noble/hashes": "1.8.0",
        "asn1js": "^3.0.6",
        "bytestreamjs": "^2.0.1",
        "pvtsutils": "^1.3.6",
        "pvutils": "^1.1.3",
        "tslib": "^2.8.1"
      },
      "engines": {
        "node": ">=16.0.0"
      }
    }"""


def published_registry() -> FakeRegistry:
    """The four packages with their published fields (readme, scripts and the like left out)."""
    reg = FakeRegistry()
    concat_deps = {"buffer-from": "^1.0.0", "inherits": "^2.0.3", "readable-stream": "^2.2.2", "typedarray": "^0.0.6"}
    pkijs_deps = {"@noble/hashes": "1.8.0", "asn1js": "^3.0.6", "bytestreamjs": "^2.0.1", "pvtsutils": "^1.3.6",
                  "pvutils": "^1.1.3", "tslib": "^2.8.1"}
    for dep, version in {"buffer-from": "1.1.2", "inherits": "2.0.4", "readable-stream": "2.3.8",
                         "typedarray": "0.0.6", "@noble/hashes": "1.8.0", "asn1js": "3.1.0", "bytestreamjs": "2.0.1",
                         "pvtsutils": "1.3.6", "pvutils": "1.2.0", "tslib": "2.9.1"}.items():
        reg.add(dep, version)
    reg.add("concat-stream", "1.6.2", engines=["node >= 0.8"], license="MIT", dependencies=concat_deps,
            devDependencies={"tape": "^4.6.3"}, scripts={"test": "tape test/*.js"},
            dist=dist("concat-stream", "1.6.2", "sha512-27HBghJxjiZtIk3Ycvn/4kbJk/1uZuJFfuPEns6LaEvpvG1f0hTea8lilrouyo9mVc2GWdcEZ8OLoGmSADlrCw=="))
    reg.add("qs", "6.0.0", engines=">=4.0.0", license="BSD-3-Clause",
            dist=dist("qs", "6.0.0", "sha512-NSkqkwuet8MUAYRb3x5mSbV9uu4gQY85/aksTPi1MHzw6HVBOqUaZEIEhAtRvxgjWsOx+8HvkHOj1NSrZIyi+Q=="))
    reg.add("lodash", "0.10.0", engines=["node", "rhino"], license="MIT",
            dist=dist("lodash", "0.10.0", "sha512-v56iCcHwqxrkkFW08F6GFAEYjL/E7Exbk2HZKhaZJsogEMSqse9as4Zmx5fmci4ZCQ/UNVoFHGudYzONfGxANQ=="))
    reg.add("pkijs", "3.4.3", engines={"node": ">=16.0.0"}, workspaces=["website"], license="BSD-3-Clause",
            devEngines={"runtime": {"name": "node", "version": ">=24.5.0", "onFail": "warn"}},
            dependencies=pkijs_deps,
            dist=dist("pkijs", "3.4.3", "sha512-V9kOzaItwDgqlryhXysQsAXUEKi5O7kqWUaP3dXI7MLvkPqWWMb4wVb1QAtmEDCKI+XIAINsZoNKMFF7sZb1eg=="))
    return reg


def entry_block(lockfile: str, path: str) -> str:
    found = re.search(rf'^    "{re.escape(path)}": {{\n.*?^    }}', lockfile, re.DOTALL | re.MULTILINE)
    assert found, path
    return found.group(0)


async def written(reg: FakeRegistry, deps: dict[str, str], tmp_path: Path) -> str:
    root = package_json_from_dict({"name": "app", "version": "1.0.0", "dependencies": deps}, source="package.json")
    res = await resolve(root, tmp_path, registry=reg, config=Config())  # type: ignore[arg-type]
    return dumps_lockfile(res.lockfile).decode()


async def test_engines_in_any_published_shape_and_workspaces_are_written_as_npm_does(tmp_path: Path) -> None:
    text = await written(published_registry(), {"concat-stream": "1.6.2", "qs": "6.0.0", "lodash": "0.10.0",
                                                "pkijs": "3.4.3"}, tmp_path)
    assert entry_block(text, "node_modules/concat-stream") == CONCAT_STREAM
    assert entry_block(text, "node_modules/qs") == QS
    assert entry_block(text, "node_modules/lodash") == LODASH
    assert entry_block(text, "node_modules/pkijs") == PKIJS
    # and what weir wrote reads back and writes again unchanged (a later run seeded from it)
    assert dumps_lockfile(loads_lockfile(text.encode())).decode() == text


async def test_empty_engines_and_workspaces_are_left_out(tmp_path: Path) -> None:
    # npm writes neither an empty object or array nor an empty string
    reg = FakeRegistry()
    reg.add("a", "1.0.0", engines={}, workspaces=[])
    reg.add("b", "1.0.0", engines="", workspaces={})
    text = await written(reg, {"a": "1", "b": "1"}, tmp_path)
    for path in ("node_modules/a", "node_modules/b"):
        block = entry_block(text, path)
        assert '"engines"' not in block and '"workspaces"' not in block
