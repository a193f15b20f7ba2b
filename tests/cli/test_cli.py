"""The ``pacsnb`` command line: ``pacsnb dump``, ``pacsnb info`` and ``pacsnb --version``.

Every test runs the real command in a subprocess (``python -m pacsnb``) with a timeout,
on copies of pydicom's test files in a temporary folder.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pydicom
import pytest

import pacsnb

REPO = Path(__file__).resolve().parents[2]
TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
TIMEOUT = 60

# an element line of the dump: (gggg,eeee) VR value ... # length, VM keyword
ELEMENT = re.compile(r"^ *\(([0-9A-Fa-f]{4}),([0-9A-Fa-f]{4})\) ([A-Za-z]{2}) (.*?) *# *(\d+|u/l), *(\d+) (.*)$")


def run(*args: str, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pacsnb", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO, errors="replace")


def element_lines(text: str, indent: bool = False) -> list[tuple[str, str, str]]:
    """(tag 'GGGGEEEE', VR, value) of the top-level element lines (all lines if ``indent``)."""
    out = []
    for line in text.splitlines():
        m = ELEMENT.match(line)
        if m and (indent or not line.startswith(" ")):
            out.append(((m[1] + m[2]).upper(), m[3], m[4]))
    return out


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """top/: a_ct.dcm, b_mr.dcm, sub/c_plan.dcm, sub/deeper/d_struct.dcm."""
    top = tmp_path_factory.mktemp("cli")
    shutil.copy(TEST_FILES / "CT_small.dcm", top / "a_ct.dcm")
    shutil.copy(TEST_FILES / "MR_small.dcm", top / "b_mr.dcm")
    (top / "sub" / "deeper").mkdir(parents=True)
    shutil.copy(TEST_FILES / "rtplan.dcm", top / "sub" / "c_plan.dcm")
    shutil.copy(TEST_FILES / "rtstruct.dcm", top / "sub" / "deeper" / "d_struct.dcm")
    return top


@pytest.fixture(scope="module")
def with_junk(tmp_path_factory) -> Path:
    """A folder whose first file (in sorted order) is not DICOM, followed by two DICOM files."""
    d = tmp_path_factory.mktemp("junk")
    (d / "0_notes.dcm").write_text("this is not a DICOM file, just some text\n" * 20)
    shutil.copy(TEST_FILES / "CT_small.dcm", d / "1_ct.dcm")
    shutil.copy(TEST_FILES / "MR_small.dcm", d / "2_mr.dcm")
    return d


def headers(stdout: str) -> list[str]:
    """The '# path' lines printed before each file when several are dumped."""
    return [line[2:].strip() for line in stdout.splitlines()
            if line.startswith("# ") and not line.startswith(("# Dicom-", "# Used"))]


def commands(tree: Path, junk: Path) -> dict[str, tuple]:
    """Every command the tests look at, by name (run once, concurrently)."""
    ct = tree / "a_ct.dcm"
    return {
        "dump_ct": ("dump", ct),
        "dump_ct_no_pixels": ("dump", "--no-pixels", ct),
        "dump_folder": ("dump", tree),
        "dump_folder_r": ("dump", "--recursive", tree),
        "dump_tags": ("dump", "--tags", "PatientName", "--tags", "0020,000D", "--tags", "PerformedProcedureStepID", ct),
        "dump_tags_folder": ("dump", "-k", "PatientID", "--tags", "(0008,0060)", tree),
        "dump_bad_tag": ("dump", "--tags", "PatientNam", ct),
        "dump_junk": ("dump", junk),
        "dump_named": ("dump", junk / "0_notes.dcm", junk / "missing.dcm", junk / "1_ct.dcm"),
        "dump_no_args": ("dump",),
        "no_args": (),
        "info_r": ("info", "-r", tree),
        "info_junk": ("info", junk),
        "info_versions": ("info",),
        "version": ("--version",),
    }


@pytest.fixture(scope="module")
def results(tree, with_junk) -> dict[str, subprocess.CompletedProcess]:
    cmds = commands(tree, with_junk)
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(run, *args) for name, args in cmds.items()}
        return {name: f.result() for name, f in futures.items()}


# -- dump -------------------------------------------------------------------------------------------
def test_dump_file(tree, results):
    path = tree / "a_ct.dcm"
    r = results["dump_ct"]
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "# Dicom-File-Format" in out
    assert "# Dicom-Meta-Information-Header" in out
    assert "# Dicom-Data-Set" in out
    lines = element_lines(out)
    tags = [t for t, _, _ in lines]
    assert "00020010" in tags  # meta is shown
    assert ("00100010", "PN", "[CompressedSamples^CT1]") in lines
    assert ("00280010", "US", "128") in lines
    assert "7FE00010" in tags
    # the data set part lists exactly the elements pacsnb reads, in order
    ds = pacsnb.read(path)
    data_tags = [t for t in tags if not t.startswith("0002")]
    assert data_tags == [f"{int(t):08X}" for t in ds.keys()]
    # nested items are indented
    nested = [x for x in element_lines(out, indent=True) if x not in lines]
    assert ("00100020", "LO", "[ABCD1234]") in nested
    assert r.stderr.strip() == ""


def test_dump_matches_pydicom_values(tree, results):
    r = results["dump_ct"]
    lines = {t: (vr, v) for t, vr, v in element_lines(r.stdout)}
    theirs = pydicom.dcmread(tree / "a_ct.dcm")
    for kw in ("PatientName", "PatientID", "StudyInstanceUID", "SeriesInstanceUID", "Modality", "Manufacturer",
               "ImageType", "StudyDate"):
        elem = theirs[kw]
        vr, value = lines[f"{int(elem.tag):08X}"]
        assert vr == elem.VR
        want = "\\".join(elem.value) if elem.VM > 1 else str(elem.value)
        assert value == f"[{want}]"
    assert lines["00280010"] == ("US", str(theirs.Rows))
    assert lines["00280100"] == ("US", str(theirs.BitsAllocated))


def test_dump_folder_not_recursive(tree, results):
    r = results["dump_folder"]
    assert r.returncode == 0, r.stderr
    assert headers(r.stdout) == [str(tree / "a_ct.dcm"), str(tree / "b_mr.dcm")]
    assert "CompressedSamples^CT1" in r.stdout and "CompressedSamples^MR1" in r.stdout
    assert "RTPLAN" not in r.stdout


def test_dump_folder_recursive(tree, results):
    r = results["dump_folder_r"]
    assert r.returncode == 0, r.stderr
    assert headers(r.stdout) == [str(tree / "a_ct.dcm"), str(tree / "b_mr.dcm"), str(tree / "sub" / "c_plan.dcm"),
                                 str(tree / "sub" / "deeper" / "d_struct.dcm")]
    assert r.stdout.count("# Dicom-File-Format") == 4
    assert "RTPLAN" in r.stdout and "RTSTRUCT" in r.stdout


def test_dump_no_pixels(results):
    full, short = results["dump_ct"], results["dump_ct_no_pixels"]
    assert short.returncode == 0, short.stderr
    full_tags = [t for t, _, _ in element_lines(full.stdout)]
    short_tags = [t for t, _, _ in element_lines(short.stdout)]
    assert "7FE00010" in full_tags
    assert "7FE00010" not in short_tags
    assert all(t < "7FE00010" for t in short_tags)
    assert short_tags == [t for t in full_tags if t < "7FE00010"]


def test_dump_tags(tree, results):
    r = results["dump_tags"]
    assert r.returncode == 0, r.stderr
    lines = element_lines(r.stdout)
    theirs = pydicom.dcmread(tree / "a_ct.dcm")
    # PerformedProcedureStepID is not in the file: nothing is printed for it
    assert lines == [("00100010", "PN", f"[{theirs.PatientName}]"),
                     ("0020000D", "UI", f"[{theirs.StudyInstanceUID}]")]
    assert "Dicom-Data-Set" not in r.stdout


def test_dump_tags_several_files(tree, results):
    r = results["dump_tags_folder"]
    assert r.returncode == 0, r.stderr
    assert headers(r.stdout) == [str(tree / "a_ct.dcm"), str(tree / "b_mr.dcm")]
    # one line per requested tag, in the order asked
    assert element_lines(r.stdout) == [("00100020", "LO", "[1CT1]"), ("00080060", "CS", "[CT]"),
                                       ("00100020", "LO", "[4MR1]"), ("00080060", "CS", "[MR]")]


def test_dump_bad_tag_is_a_clean_error(results):
    """A misspelt --tags keyword gives an error message and a non-zero status, not a traceback."""
    r = results["dump_bad_tag"]
    assert r.returncode != 0
    assert "Traceback" not in r.stderr, r.stderr
    assert "PatientNam" in r.stderr


def test_dump_non_dicom_file_continues(with_junk, results):
    r = results["dump_junk"]
    assert r.returncode == 1
    junk = str(with_junk / "0_notes.dcm")
    errors = [line for line in r.stderr.splitlines() if line.startswith("E:")]
    assert len(errors) == 1, r.stderr
    assert junk in errors[0]
    assert "Traceback" not in r.stderr
    # the two DICOM files after it are still dumped
    assert headers(r.stdout) == [str(with_junk / "1_ct.dcm"), str(with_junk / "2_mr.dcm")]
    assert "CompressedSamples^CT1" in r.stdout and "CompressedSamples^MR1" in r.stdout


def test_dump_error_names_the_file_once(with_junk, results):
    """'E: <file>: <what>' as dcmtk prints it, without the file name repeated inside the message."""
    junk = str(with_junk / "0_notes.dcm")
    error = [line for line in results["dump_junk"].stderr.splitlines() if line.startswith("E:")][0]
    assert error.startswith(f"E: {junk}: ")
    assert error.count(junk) == 1, error


def test_dump_non_dicom_and_missing_files_named_explicitly(with_junk, results):
    r = results["dump_named"]
    assert r.returncode == 1
    errors = [line for line in r.stderr.splitlines() if line.startswith("E:")]
    assert len(errors) == 2, r.stderr
    assert str(with_junk / "0_notes.dcm") in errors[0]
    assert str(with_junk / "missing.dcm") in errors[1]
    assert "CompressedSamples^CT1" in r.stdout


def test_usage_errors(results):
    r = results["dump_no_args"]
    assert r.returncode == 2
    assert "usage" in r.stderr.lower()
    r = results["no_args"]
    assert r.returncode == 2
    assert "dump" in r.stdout and "info" in r.stdout


# -- info -------------------------------------------------------------------------------------------
def test_info_one_line_per_file(tree, results):
    r = results["info_r"]
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    files = [tree / "a_ct.dcm", tree / "b_mr.dcm", tree / "sub" / "c_plan.dcm", tree / "sub" / "deeper" / "d_struct.dcm"]
    assert len(lines) == len(files)
    fields = [line.split("\t") for line in lines]
    assert len({len(f) for f in fields}) == 1 and len(fields[0]) >= 6
    assert [f[0] for f in fields] == [str(p) for p in files]
    ct = fields[0]
    assert "1CT1" in ct and "CT" in ct and "20040119" in ct
    assert "128x128" in ct
    assert "CT Image Storage" in ct
    assert "Explicit VR Little Endian" in ct
    assert f"{(tree / 'a_ct.dcm').stat().st_size} B" in ct
    mr = fields[1]
    assert "4MR1" in mr and "MR" in mr and "64x64" in mr
    plan = fields[2]
    assert "RTPLAN" in plan and "Implicit VR Little Endian" in plan


def test_info_non_dicom(with_junk, results):
    r = results["info_junk"]
    assert r.returncode == 1
    errors = [line for line in r.stderr.splitlines() if line.startswith("E:")]
    assert len(errors) == 1 and str(with_junk / "0_notes.dcm") in errors[0]
    assert [line.split("\t")[0] for line in r.stdout.splitlines()] == [str(with_junk / "1_ct.dcm"),
                                                                      str(with_junk / "2_mr.dcm")]


def test_info_without_paths_prints_versions(results):
    r = results["info_versions"]
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"pacsnb {pacsnb.__version__}")
    assert "numpy" in r.stdout


# -- version ----------------------------------------------------------------------------------------
def test_version(results):
    r = results["version"]
    assert r.returncode == 0
    assert r.stdout.strip() == f"pacsnb {pacsnb.__version__}"
    assert re.fullmatch(r"pacsnb \d+\.\d+\S*", r.stdout.strip())
