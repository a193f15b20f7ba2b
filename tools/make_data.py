#!/usr/bin/env python3
"""Regenerate the small example files in ``data/`` with :mod:`pacsnb.samples`.

Everything is synthetic and PHI-free, and the generators are seeded: running this script
again gives byte-identical files (``--check`` verifies that without writing).

Run from the repository root::

    python tools/make_data.py            # (re)write data/
    python tools/make_data.py --check    # exit 1 if data/ differs from what would be written
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pacsnb  # noqa: E402
from pacsnb.io.writer import encode_file  # noqa: E402
from pacsnb.samples import make_cr_image, make_ct_series, make_mr_series, make_us_image  # noqa: E402

DATA = ROOT / "data"
MAX_TOTAL_BYTES = 2_000_000

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
DEFLATED_LE = "1.2.840.10008.1.2.1.99"


def build() -> dict[str, tuple[bytes, str]]:
    """Relative path -> (file bytes, one-line description)."""
    files: dict[str, tuple[bytes, str]] = {}

    ct = make_ct_series(n_slices=5, rows=64, columns=64, seed=0)
    for ds in ct:
        files[f"ct_small/{int(ds.InstanceNumber):05d}.dcm"] = (
            encode_file(ds, EXPLICIT_LE),
            "CT Image, 5 slices of 64x64 (head phantom), 2.5 mm apart, explicit VR little endian")

    one = make_ct_series(n_slices=1, rows=64, columns=64, seed=1, phantom="body")[0]
    for name, ts in (("ct_implicit_le", IMPLICIT_LE), ("ct_explicit_le", EXPLICIT_LE),
                     ("ct_explicit_be", EXPLICIT_BE), ("ct_deflated", DEFLATED_LE)):
        files[f"{name}.dcm"] = (encode_file(one, ts),
                                f"one 64x64 CT slice (body phantom) in {pacsnb.UID(ts).name}; "
                                "the same instance in every ct_<syntax>.dcm")

    signed = make_ct_series(n_slices=1, rows=64, columns=64, seed=2, phantom="body", dtype="int16")[0]
    files["ct_int16.dcm"] = (encode_file(signed, EXPLICIT_LE),
                             "CT slice with signed pixels (Pixel Representation 1) and Pixel Padding "
                             "Value -2000 outside the reconstruction circle")

    utf8 = make_ct_series(n_slices=1, rows=32, columns=32, seed=3, charset="ISO_IR 192")[0]
    files["ct_utf8.dcm"] = (encode_file(utf8, EXPLICIT_LE),
                            "32x32 CT slice with Specific Character Set ISO_IR 192 (UTF-8 text)")

    mr = make_mr_series(n_slices=1, rows=64, columns=64, seed=4, weighting="T2")[0]
    files["mr_small.dcm"] = (encode_file(mr, EXPLICIT_LE), "MR Image, one 64x64 T2-weighted slice of the head phantom")

    cr = make_cr_image(rows=256, columns=256, seed=5, monochrome1=True)
    files["cr.dcm"] = (encode_file(cr, EXPLICIT_LE),
                       "CR Image, 256x256 PA chest radiograph, MONOCHROME1, 12 bits stored")

    us = make_us_image(rows=240, columns=320, seed=6)
    files["us_rgb.dcm"] = (encode_file(us, EXPLICIT_LE),
                           "Ultrasound Image, 240x320 RGB (Planar Configuration 0) with colour Doppler")

    cine = make_us_image(rows=120, columns=160, n_frames=4, seed=7)
    files["us_multiframe.dcm"] = (encode_file(cine, EXPLICIT_LE),
                                  "Ultrasound Multi-frame Image, 4 RGB frames of 120x160, Frame Time 40 ms")
    return files


def readme(files: dict[str, tuple[bytes, str]]) -> bytes:
    lines = [
        "# Example DICOM files",
        "",
        "Synthetic and PHI-free: made by `tools/make_data.py` with `pacsnb.samples` (fixed seeds, so",
        "regenerating gives identical bytes). Do not edit them by hand; change the script and rerun it.",
        "",
        "| file | bytes | content |",
        "|---|---:|---|",
    ]
    seen_dirs = set()
    for name, (data, what) in files.items():
        if "/" in name:
            folder = name.split("/")[0] + "/"
            if folder in seen_dirs:
                continue
            seen_dirs.add(folder)
            size = sum(len(d) for n, (d, _) in files.items() if n.startswith(folder))
            lines.append(f"| `{folder}` | {size} | {what} |")
        else:
            lines.append(f"| `{name}` | {len(data)} | {what} |")
    lines.append("")
    return "\n".join(lines).encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with data/ instead of writing")
    args = parser.parse_args(argv)
    files = build()
    files_readme = readme(files)
    total = sum(len(d) for d, _ in files.values()) + len(files_readme)
    if total > MAX_TOTAL_BYTES:
        print(f"data/ would be {total} bytes, over the {MAX_TOTAL_BYTES} budget", file=sys.stderr)
        return 1
    everything = {name: data for name, (data, _) in files.items()}
    everything["README.md"] = files_readme
    if args.check:
        stale = [n for n, d in everything.items()
                 if not (DATA / n).exists() or (DATA / n).read_bytes() != d]
        for n in stale:
            print(f"data/{n} differs from what tools/make_data.py makes", file=sys.stderr)
        return 1 if stale else 0
    for name, data in everything.items():
        path = DATA / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    print(f"wrote {len(everything)} files, {total} bytes, under {DATA}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
