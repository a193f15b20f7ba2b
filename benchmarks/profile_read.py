"""Where pacsnb's time goes in benchmark (a): header-only read plus 25 keywords.

Uses the files of ``bench_read.py`` (generated there if missing) and prints

1. a stage breakdown, each stage timed on its own over all files (best of 3):
   open+read of the bytes, ``pacsnb.read(stop_before_pixels=True)``, then the keyword
   extraction on top, and the same with ``specific_tags`` and with ``ds.get``;
2. a micro-breakdown of one ``read`` (meta, data set, the numba scan itself, the row
   dictionary) and of one element access (element creation, value decoding by VR);
3. the top functions of a cProfile run of the extraction, by own time.

Figures on a loaded machine are noisy; compare stages within one run.

Usage::

    python benchmarks/profile_read.py [--files N] [--top N]
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
import timeit
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import numpy as np  # noqa: E402

import bench_read as B  # noqa: E402
import pacsnb  # noqa: E402


def best_of(fn, paths, repeats=3) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for p in paths:
            fn(p)
        best = min(best, time.perf_counter() - t0)
    return best / len(paths) * 1e6


def micro(stmt: str, g: dict, number: int = 5000) -> float:
    return min(timeit.repeat(stmt, globals=g, number=number, repeat=5)) / number * 1e6


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--work", default=str(HERE / "_work"))
    args = ap.parse_args(argv)
    paths = B.small_files(Path(args.work), args.files, 64)
    B.warm_os_cache(paths)
    for p in paths[:50]:
        B.extract_pacsnb(p)

    def raw(p):
        with open(p, "rb") as f:
            f.read()

    def spec(p):
        ds = pacsnb.read(p, stop_before_pixels=True, specific_tags=B.KEYWORDS)
        return {kw: B.plain(getattr(ds, kw, None)) for kw in B.KEYWORDS}

    def via_get(p):
        ds = pacsnb.read(p, stop_before_pixels=True)
        return {kw: B.plain(ds.get(kw)) for kw in B.KEYWORDS}

    def values_only(p):
        ds = pacsnb.read(p, stop_before_pixels=True)
        return [getattr(ds, kw, None) for kw in B.KEYWORDS]

    print(f"1. stages, us per file over {len(paths)} files (best of 3)")
    stages = [
        ("open + read the bytes", raw),
        ("pacsnb.read(stop_before_pixels=True)", lambda p: pacsnb.read(p, stop_before_pixels=True)),
        ("  + 25 keywords by getattr (no conversion)", values_only),
        ("  + 25 keywords + plain() (benchmark a)", B.extract_pacsnb),
        ("  same, read with specific_tags=the 25", spec),
        ("  same, by ds.get(keyword)", via_get),
        ("pydicom: dcmread + 25 keywords + plain()", B.extract_pydicom),
    ]
    for label, fn in stages:
        print(f"   {label:48s} {best_of(fn, paths):8.1f} us")

    from pacsnb.io import _kernels as K
    from pacsnb.io import reader as R

    f = paths[0]
    b = open(f, "rb").read()
    arr = np.frombuffer(b, np.uint8)
    meta, pos, _ = R._read_meta(b, arr, 132, len(arr), f)
    ts = str(meta.TransferSyntaxUID)
    g = dict(R=R, K=K, np=np, b=b, arr=arr, f=f, pos=pos, end=len(arr), ts=ts, pacsnb=pacsnb)
    src = R._scan(arr, pos, len(arr), False, True, 0x7FE00010, 0, f)
    g["tab"] = src.tab[: src.n]
    g["idx"] = np.flatnonzero(g["tab"][:, K.COL_DEPTH] == 0)
    g["warn"] = np.zeros(2, np.int64)
    g["buf"] = np.empty_like(src.tab)
    print(f"\n2a. one read of {f} ({len(b)} bytes, {src.n} elements), us")
    for label, stmt in [
        ("pacsnb.read(f, stop_before_pixels=True)", "pacsnb.read(f, stop_before_pixels=True)"),
        ("  _read_source (open, fstat, read)", "R._read_source(f)"),
        ("  _read_meta (File Meta Information)", "R._read_meta(b, arr, 132, end, f)"),
        ("  _read_dataset (data set)", "R._read_dataset(b, arr, f, pos, end, ts, stop_before_pixels=True)"),
        ("    of which the numba scan call", "K.scan(arr, pos, end, False, True, 0x7FE00010, 0, 0, 256, warn, buf)"),
        ("    of which flatnonzero(depth == 0)", "np.flatnonzero(tab[:, K.COL_DEPTH] == 0)"),
        ("    of which dict(zip(tab[idx, TAG].tolist(), ...))",
         "dict(zip(tab[idx, K.COL_TAG].tolist(), idx.tolist()))"),
        ("    (alternative: one tolist + comprehension)",
         "{r[0]: i for i, r in enumerate(tab.tolist()) if r[6] == 0}"),
    ]:
        print(f"   {label:52s} {micro(stmt, g):8.2f}")

    ds = pacsnb.read(f, stop_before_pixels=True)
    from pacsnb.dicom.convert import decode_value

    g.update(ds=ds, decode_value=decode_value, src=ds._src)
    print("\n2b. one keyword, us")
    print(f"   {'element creation (DataSource.element)':52s} "
          f"{micro('src.element(ds._dict[0x00100020], ds)', g, 20000):8.2f}")
    print(f"   {'ds.PatientID once decoded (__getattr__ path)':52s} {micro('ds.PatientID', g, 20000):8.2f}")
    print(f"   {'ds.get(0x00100020) once decoded':52s} {micro('ds.get(0x00100020)', g, 20000):8.2f}")
    for kw in ("PatientID", "PatientName", "InstitutionName", "StudyInstanceUID", "StudyDate", "Rows",
               "InstanceNumber", "SliceThickness", "PixelSpacing", "ImageOrientationPatient"):
        e = ds[kw]
        g["e"] = e
        cs = ds._charsets()
        g["cs"] = cs
        print(f"   decode_value {e.VR} {kw:37s} "
              f"{micro('decode_value(e.VR, e.raw, True, cs)', g, 20000):8.2f}")

    print(f"\n3. cProfile of the extraction over {len(paths)} files, top {args.top} by own time")
    pr = cProfile.Profile()
    pr.enable()
    for p in paths:
        B.extract_pacsnb(p)
    pr.disable()
    out = io.StringIO()
    st = pstats.Stats(pr, stream=out)
    st.sort_stats("tottime").print_stats(args.top)
    text = out.getvalue().replace(str(HERE.parent) + "/", "")
    print(text[text.index("ncalls") - 3:] if "ncalls" in text else text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
