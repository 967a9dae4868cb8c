"""npm's own ``semver`` behind a JSON-lines pipe, for differential tests and the benchmark.

One long-lived ``node`` process answers one JSON line per question, so thousands of
generated cases cost one process start. Not a test module: the differential test and
``bench/semver_micro.py`` import it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

SEMVER_SPEC = "semver@7.8"
CACHE_DIR = Path(__file__).resolve().parent / ".node-cache" / "semver"

# Reads {"op": ..., ...} lines, writes one JSON answer per line ({"error": msg} if semver threw).
# "bench" times `n` calls of one function inside node with process.hrtime and answers
# microseconds per call, so the pipe is not part of what is measured.
_SCRIPT = r"""
'use strict'
const semver = require(require('path').join(process.env.WEIR_SEMVER_DIR, 'node_modules', 'semver'))
const o = q => q.options || {}
const ops = {
  version: () => require(process.env.WEIR_SEMVER_DIR + '/node_modules/semver/package.json').version,
  satisfies: q => semver.satisfies(q.version, q.range, o(q)),
  valid: q => semver.valid(q.version, o(q)),
  validRange: q => semver.validRange(q.range, o(q)),
  compare: q => semver.compare(q.a, q.b, o(q)),
  compareBuild: q => semver.compareBuild(q.a, q.b, o(q)),
  maxSatisfying: q => semver.maxSatisfying(q.versions, q.range, o(q)),
  minSatisfying: q => semver.minSatisfying(q.versions, q.range, o(q)),
  intersects: q => semver.intersects(q.a, q.b, o(q)),
  subset: q => semver.subset(q.a, q.b, o(q)),
  bench: q => {
    const call = {
      parse: () => semver.parse(q.version),
      satisfies: () => semver.satisfies(q.version, q.range),
      maxSatisfying: () => semver.maxSatisfying(q.versions, q.range),
    }[q.fn]
    for (let i = 0; i < Math.min(q.n, 1000); i++) call()
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < q.n; i++) call()
    return Number(process.hrtime.bigint() - t0) / 1000 / q.n
  },
}
require('readline').createInterface({ input: process.stdin }).on('line', line => {
  let ans
  try {
    const q = JSON.parse(line)
    ans = ops[q.op](q)
    if (ans === undefined) ans = null
  } catch (e) {
    ans = { error: String(e && e.message) }
  }
  process.stdout.write(JSON.stringify(ans) + '\n')
})
"""


class OracleUnavailable(RuntimeError):
    """node or npm is not installed here."""


def ensure_installed(cache_dir: Path = CACHE_DIR) -> Path:
    """Install npm's semver 7.8 under ``cache_dir`` unless it is already there."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise OracleUnavailable("node and npm are needed for the semver oracle")
    manifest = cache_dir / "node_modules" / "semver" / "package.json"
    if not manifest.exists():
        subprocess.run(
            [
                "npm",
                "install",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(cache_dir),
                SEMVER_SPEC,
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return cache_dir


class NodeSemver:
    """A running node process answering semver questions in order."""

    def __init__(self, cache_dir: Path = CACHE_DIR) -> None:
        env = dict(os.environ, WEIR_SEMVER_DIR=str(cache_dir))
        self._proc = subprocess.Popen(
            ["node", "-e", _SCRIPT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            env=env,
            bufsize=1,
        )

    def ask_many(self, questions: list[dict[str, Any]]) -> list[Any]:
        """Send all questions, then read one answer per question."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write("".join(json.dumps(q) + "\n" for q in questions))
        self._proc.stdin.flush()
        return [json.loads(self._proc.stdout.readline()) for _ in questions]

    def ask(self, op: str, **fields: Any) -> Any:
        return self.ask_many([{"op": op, **fields}])[0]

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait(timeout=10)


def options(loose: bool, include_prerelease: bool = False) -> dict[str, bool]:
    return {"loose": loose, "includePrerelease": include_prerelease}
