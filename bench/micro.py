"""``python -m bench micro``: run whichever hot-path micro-benchmarks exist.

Rules: the scripts belong to other engineers; this only runs them (each with
the same Python, from the repository root, bounded in time) and files their
output, exit code and duration under bench/results/.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from .snapshot import BENCH

SCRIPTS = ("semver_micro.py", "packument_decode.py", "extract_micro.py", "link_micro.py")
TIMEOUT = 900


def run_micro(results: Path, date: str, folder: Path = BENCH) -> tuple[Path, Path]:
    """Run each script of SCRIPTS found in ``folder``; write ``<date>-micro.{md,json}``."""
    entries = []
    for script in SCRIPTS:
        path = folder / script
        if not path.is_file():
            continue
        print(f"micro: {script}", flush=True)
        start = time.perf_counter()
        try:
            done = subprocess.run([sys.executable, str(path)], check=False, cwd=folder.parent, capture_output=True,
                                  text=True, timeout=TIMEOUT)
            code, output = done.returncode, done.stdout + done.stderr
        except subprocess.TimeoutExpired as exc:
            code, output = -9, f"{exc.stdout or ''}\n(timed out after {TIMEOUT} s)"
        entries.append({"script": script, "exit_code": code,
                        "seconds": round(time.perf_counter() - start, 2), "output": output})
    results.mkdir(parents=True, exist_ok=True)
    md, js = results / f"{date}-micro.md", results / f"{date}-micro.json"
    js.write_text(json.dumps({"date": date, "scripts": entries}, indent=2) + "\n")
    lines = [f"# weir micro-benchmarks, {date}", ""]
    if not entries:
        lines.append("No micro-benchmark scripts found in bench/.")
    for entry in entries:
        status = "ok" if entry["exit_code"] == 0 else f"FAILED (exit {entry['exit_code']})"
        lines += [f"## {entry['script']}: {status}, {entry['seconds']} s", "", "```",
                  entry["output"].rstrip(), "```", ""]
    md.write_text("\n".join(lines) + "\n")
    return md, js
