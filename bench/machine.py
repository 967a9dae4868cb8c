"""What the numbers were measured on: cores, memory, filesystem, reflink support."""

from __future__ import annotations

import os
import platform
import subprocess
import tempfile
from pathlib import Path
from typing import Any


def reflink_supported(folder: Path) -> bool:
    """Whether ``cp --reflink=always`` works in ``folder`` (clone-capable filesystem)."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        source = Path(tmp) / "a"
        source.write_bytes(b"x" * 4096)
        done = subprocess.run(["cp", "--reflink=always", str(source), str(Path(tmp) / "b")],
                              check=False, capture_output=True)
        return done.returncode == 0


def describe(folder: Path) -> dict[str, Any]:
    df = subprocess.run(["df", "-T", str(folder)], check=False, capture_output=True, text=True).stdout
    fstype = df.splitlines()[-1].split()[1] if df.strip() else "?"
    memory_kb = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal:")), 0)
    info = {
        "cores": os.cpu_count(),
        "memory_gib": round(memory_kb / 2**20, 1),
        "kernel": platform.release(),
        "filesystem": fstype,
        "reflink": reflink_supported(folder),
        "python": platform.python_version(),
        "node": subprocess.run(["node", "--version"], check=False, capture_output=True, text=True).stdout.strip(),
    }
    info["summary"] = (f"{info['cores']} cores, {info['memory_gib']} GiB, Linux {info['kernel']}, "
                       f"{fstype} ({'reflink' if info['reflink'] else 'no reflink'}), "
                       f"node {info['node']}")
    return info
