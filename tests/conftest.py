import sys
from pathlib import Path

# let tests import their sibling helper modules (tests/io/oracle.py, ...)
for sub in ("io", "codecs"):
    p = str(Path(__file__).parent / sub)
    if p not in sys.path:
        sys.path.insert(0, p)
