"""CI must run the interop tests, not skip them: `.ci/run` installs dcmtk and sets
PACSNB_REQUIRE_DCMTK=1, and then a missing dcmtk is a failure, not a skip."""
import os
import shutil

import pytest


@pytest.mark.skipif(os.environ.get("PACSNB_REQUIRE_DCMTK") != "1",
                    reason="only CI (.ci/run) requires dcmtk; elsewhere its tests skip when it is absent")
@pytest.mark.parametrize("tool", ["dcmdump", "dcmconv", "dump2dcm", "dcmcrle", "dcmdrle", "storescp", "echoscu"])
def test_dcmtk_tools_are_installed(tool):
    assert shutil.which(tool), f"{tool} not found: .ci/run should have installed dcmtk (apt-get install -y dcmtk)"
