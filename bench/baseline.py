"""``--baseline <git-ref>``: weir as it was at another commit, benchmarked beside today's.

Rules:
- The ref is resolved to a commit in this repository; that commit's tree
  (``git archive``, so uncommitted work and other worktrees never leak in)
  is installed, not editable, into its own venv under
  ``bench/.work/baseline-<sha>/`` with pip, so its bytecode is compiled as a
  wheel install compiles it.
- A build is reused only when its ``ready`` marker exists (written last); a
  half-built folder is wiped and built again.
- It runs as the tool ``weir@<short-sha>``, interleaved with the others, so a
  speed claim shows its before and after from one run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from . import measure
from .snapshot import BENCH
from .tools import Tool, weir_tool

REPO = BENCH.parent


class BaselineError(RuntimeError):
    pass


def resolve_ref(ref: str) -> str:
    """The full commit sha ``ref`` names in this repository."""
    done = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
                          cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BaselineError(f"--baseline {ref}: not a commit in {REPO} "
                            "(give a branch, tag or sha that `git rev-parse` knows)")
    return done.stdout.strip()


def _run(cmd: list[str], what: str, **kwargs: object) -> None:
    done = subprocess.run(cmd, capture_output=True, check=False, **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).decode(errors="replace")[-800:]
        raise BaselineError(f"{what} failed (exit {done.returncode}): {tail}")


def build(ref: str, work: Path) -> Tool:
    """Install weir at ``ref`` into ``work/baseline-<sha>/venv`` (once) and describe it as a tool."""
    sha = resolve_ref(ref)
    root = work / f"baseline-{sha}"
    binary = root / "venv" / "bin" / "weir"
    if not (root / "ready").is_file():
        measure.remove(root)
        (root / "src").mkdir(parents=True)
        print(f"bench: building weir at {ref} ({sha[:12]}) into {root}", flush=True)
        archive = subprocess.Popen(["git", "archive", "--format=tar", sha], cwd=REPO,
                                   stdout=subprocess.PIPE)
        _run(["tar", "-x", "-C", str(root / "src")], f"unpacking {sha[:12]}", stdin=archive.stdout)
        if archive.wait() != 0:
            raise BaselineError(f"git archive {sha[:12]} failed")
        _run([sys.executable, "-m", "venv", str(root / "venv")], "creating the baseline venv")
        _run([str(root / "venv" / "bin" / "python"), "-m", "pip", "install", "--quiet",
              "--disable-pip-version-check", str(root / "src")], f"pip install of weir at {sha[:12]}")
        (root / "ready").write_text(sha + "\n")
    return weir_tool(f"weir@{sha[:7]}", str(binary))
