import sys
from pathlib import Path

# let tests import their sibling helper modules (tests/io/oracle.py, ...)
for sub in ("io", "codecs"):
    p = str(Path(__file__).parent / sub)
    if p not in sys.path:
        sys.path.insert(0, p)

# CI runs the property-based tests on a fixed sequence of examples (HYPOTHESIS_PROFILE=ci, set
# by .ci/run), so that a landing is reproducible; a run on a developer's machine draws new
# examples each time and finds what the fixed ones miss (a failure prints how to replay it).
try:
    import os as _os

    from hypothesis import settings as _hyp_settings

    _hyp_settings.register_profile("ci", derandomize=True, print_blob=True)
    if _os.environ.get("HYPOTHESIS_PROFILE"):
        _hyp_settings.load_profile(_os.environ["HYPOTHESIS_PROFILE"])
except ImportError:  # pragma: no cover - hypothesis is in the test extra
    pass
