from __future__ import annotations
import sys
def main(argv=None) -> int:
    from weir.core import __version__
    print(__version__)
    return 0
