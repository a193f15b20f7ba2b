"""The layering rule of ARCHITECTURE.md, and "no DICOM library at run time", as tests.

A module may import modules of its own layer or of lower layers, never of a higher one;
nothing under pacsnb/ imports pydicom, pynetdicom, gdcm or other DICOM libraries (they are
test oracles and benchmark peers only). The check reads every import statement of every
module, including imports inside functions.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pacsnb"

LAYERS = {
    "errors": 0, "dicom": 0, "_version": 0,
    "io": 1, "codecs": 1,
    "net": 2, "pixels": 2, "deid": 2,
    "archive": 3, "cohort": 3,
    "services": 4, "formats": 4, "viz": 4, "samples": 4,
    "cli": 5, "__init__": 5, "__main__": 5, "demo": 5,
}
FORBIDDEN = {"pydicom", "pynetdicom", "gdcm", "pylibjpeg", "highdicom", "dicomweb_client", "SimpleITK",
             "itk", "dcmtk", "deid", "dicognito"}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield path, parts


def _imports(path: Path, parts: list[str]):
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = parts if is_pkg else parts[:-1]
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                if node.module:
                    yield node.lineno, ".".join(base + [node.module])
                else:
                    for a in node.names:
                        yield node.lineno, ".".join(base + [a.name])
            else:
                yield node.lineno, node.module or ""


def _part(dotted: str) -> str | None:
    bits = dotted.split(".")
    if bits[0] != "pacsnb":
        return None
    return bits[1] if len(bits) > 1 else "__init__"


def test_every_module_belongs_to_a_layer():
    unknown = sorted({parts[1] if len(parts) > 1 else "__init__" for _, parts in _modules()} - set(LAYERS))
    assert not unknown, f"top-level parts of pacsnb/ missing from the layer table: {unknown}"


def test_lower_layers_never_import_higher_ones():
    problems = []
    for path, parts in _modules():
        own = parts[1] if len(parts) > 1 else "__init__"
        for line, target in _imports(path, parts):
            other = _part(target)
            if other is None or other not in LAYERS or own not in LAYERS:
                continue
            if LAYERS[other] > LAYERS[own]:
                problems.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {own} (layer {LAYERS[own]}) "
                                f"imports {target} (layer {LAYERS[other]})")
    assert not problems, "\n".join(problems)


def test_no_dicom_library_at_run_time():
    problems = []
    for path, parts in _modules():
        for line, target in _imports(path, parts):
            if target.split(".")[0] in FORBIDDEN:
                problems.append(f"{path.relative_to(PACKAGE.parent)}:{line}: imports {target}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("bad, expected", [
    ("from pacsnb.io import read\n", "imports pacsnb.io"),
])
def test_checker_catches_a_violation(tmp_path, bad, expected):
    # the checker itself must be able to fail: a dicom/ module importing io is caught
    fake = tmp_path / "pacsnb" / "dicom"
    fake.mkdir(parents=True)
    (fake / "bad.py").write_text(bad)
    parts = ["pacsnb", "dicom", "bad"]
    found = [(line, t) for line, t in _imports(fake / "bad.py", parts) if _part(t) == "io"]
    assert found and LAYERS["io"] > LAYERS["dicom"]
