"""The README's Python examples run as written (the project's rule: "The README's examples run")."""
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run(tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "the README has no Python example"
    for i, code in enumerate(blocks):
        script = tmp_path / f"readme_{i}.py"
        script.write_text(code, encoding="utf-8")
        done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, f"README example {i} failed:\n{code}\n{done.stderr}"
        if "DOE^JANE" in code:  # the taste: the edit was written and read back
            assert "(0010,0010) PN [DOE^JANE]" in done.stdout, done.stdout
