"""core/ is the engine: it must never pull in the UI stack."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import weir.core


def test_core_never_imports_textual_rich_or_tui() -> None:
    modules = sorted(m.name for m in pkgutil.walk_packages(weir.core.__path__, "weir.core."))
    assert len(modules) >= 5
    probe = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich') or m.startswith('weir.tui'))\n"
        "print(' '.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"weir.core imported: {out.stdout.strip()}"
