"""Pixel transform benchmark: pacsnb's numba kernels against numpy expressions and pydicom.

The volume is a 300 x 512 x 512 ``int16`` CT (stored values, Rescale Intercept -1024,
Slope 1): a body ellipse of soft tissue with bone and air inside, Gaussian noise, and
padding (-2000) outside the field of view, as scanners store them.

Operations, each ours against its peers on the same input, outputs checked equal (within
float32 tolerance) before timing:

- ``rescale``: stored values -> modality values. Ours: :func:`pacsnb.pixels.apply_modality_lut`
  (float32, one fused pass). Peers: the numpy expression in float32
  (``arr * np.float32(s) + np.float32(b)``), the plain one (``arr * s + b`` with Python
  floats, which numpy computes in float64, as pydicom does) and ``pydicom.pixels.apply_modality_lut``.
- ``window``: modality values (float32) -> LINEAR window c=40 w=400 to [0, 255]. Ours:
  :func:`pacsnb.pixels.apply_windowing`. Peers: the numpy expression
  ``np.clip((x - (c - .5)) / (w - 1) + .5, 0, 1) * 255`` and ``pydicom.pixels.apply_windowing``
  (float64).
- ``rescale (out=)``: the rescale into a buffer allocated once (``out=``), against numpy's
  ufuncs with ``out=``: without the page faults of a fresh 300 MB output, which bound
  every fresh-output figure above.
- ``rescale+window``: stored values -> window in one pass (``apply_windowing(..., rescale=True)``)
  against the numpy float32 rescale followed by the numpy window.

MB/s are of stored pixel data (voxels x 2 bytes, 1 MB = 10^6 bytes) for every operation,
so figures compare across rows. Best of ``--repeats`` runs; pydicom runs once per repeat on
``--pydicom-slices`` slices (it is slow and memory hungry) and its figure is scaled per
byte. Ratios are ours / peer (above 1: we are faster). Not a test: never gate on it.

Usage::

    python benchmarks/bench_transforms.py                 # 300 x 512 x 512
    python benchmarks/bench_transforms.py --quick         # 8 slices: smoke run
    python benchmarks/bench_transforms.py --json out.json
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

SLOPE, INTERCEPT = 1.0, -1024.0
CENTER, WIDTH = 40.0, 400.0


def make_volume(slices: int, size: int = 512, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[-1:1:size * 1j, -1:1:size * 1j]
    body = (x / 0.85) ** 2 + (y / 0.65) ** 2 <= 1
    bone = ((x - 0.3) ** 2 + y ** 2 <= 0.02) | ((x + 0.3) ** 2 + y ** 2 <= 0.02)
    lung = ((x / 0.3) ** 2 + ((y - 0.1) / 0.4) ** 2 <= 1) & ~bone
    base = np.where(body, 1064.0, 24.0)  # stored = HU + 1024: soft tissue 40 HU, air -1000 HU
    base[lung] = 224.0
    base[bone] = 2224.0
    fov = x ** 2 + y ** 2 <= 1
    vol = np.empty((slices, size, size), np.int16)
    for i in range(slices):
        noisy = base + rng.normal(0, 15, base.shape)
        vol[i] = np.where(fov, noisy, -2000).astype(np.int16)
    return vol


def best(fn: Callable[[], object], repeats: int) -> float:
    t = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        t = min(t, time.perf_counter() - t0)
    return t


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--slices", type=int, default=300)
    ap.add_argument("--quick", action="store_true", help="8 slices, 1 repeat")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--pydicom-slices", type=int, default=30)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    if args.quick:
        args.slices, args.repeats, args.pydicom_slices = 8, 1, 4

    t0 = time.perf_counter()
    from pacsnb.pixels import apply_modality_lut, apply_windowing
    tiny = np.zeros(4, np.int16)
    apply_windowing(apply_modality_lut(tiny, None, slope=SLOPE, intercept=INTERCEPT), None, center=CENTER,
                    width=WIDTH, output_range=(0, 255))
    apply_windowing(tiny, {"RescaleSlope": SLOPE, "RescaleIntercept": INTERCEPT}, center=CENTER, width=WIDTH,
                    output_range=(0, 255), rescale=True)
    first_call = time.perf_counter() - t0

    vol = make_volume(args.slices)
    mb = vol.nbytes / 1e6
    print(f"pacsnb pixel transforms: {vol.shape} {vol.dtype} ({mb:.0f} MB stored), "
          f"{platform.processor() or platform.machine()}, python {platform.python_version()}, "
          f"numpy {np.__version__}")
    print(f"first calls (import + numba compile or cache load): {first_call:.2f} s")

    try:
        import pydicom
        from pydicom.pixels import apply_modality_lut as pd_modality
        from pydicom.pixels import apply_windowing as pd_windowing
        pd_ds = pydicom.Dataset()
        pd_ds.RescaleSlope, pd_ds.RescaleIntercept = SLOPE, INTERCEPT
        pd_ds.WindowCenter, pd_ds.WindowWidth = CENTER, WIDTH
        pd_ds.PhotometricInterpretation = "MONOCHROME2"
        pd_ds.BitsStored, pd_ds.PixelRepresentation = 8, 0  # output range 0..255 (then rescaled by pydicom)
        pd_version = pydicom.__version__
    except ImportError:
        pd_ds = None
        pd_version = None
    params = {"RescaleSlope": SLOPE, "RescaleIntercept": INTERCEPT, "WindowCenter": CENTER, "WindowWidth": WIDTH}
    # pydicom's default output range moves with the rescale; use the same range for everyone
    lo, hi = 0.0 * SLOPE + INTERCEPT, 255.0 * SLOPE + INTERCEPT

    def np_rescale32(a):
        return a * np.float32(SLOPE) + np.float32(INTERCEPT)

    def np_rescale64(a):
        return a * SLOPE + INTERCEPT  # int16 * Python float: float64 in numpy

    def np_window(x):
        y = (x - np.float32(CENTER - 0.5)) / np.float32(WIDTH - 1) + np.float32(0.5)
        np.clip(y, 0, 1, out=y)
        y *= np.float32(hi - lo)
        y += np.float32(lo)
        return y

    hu = apply_modality_lut(vol, params)
    # correctness first
    np.testing.assert_array_equal(hu, np_rescale32(vol))
    ours_w = apply_windowing(hu, params, output_range=(lo, hi))
    np.testing.assert_allclose(ours_w, np_window(hu), atol=1e-3 * (hi - lo))
    np.testing.assert_allclose(apply_windowing(vol, params, output_range=(lo, hi), rescale=True), ours_w,
                               atol=1e-3)
    sub = vol[: args.pydicom_slices]
    if pd_ds is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            np.testing.assert_allclose(apply_modality_lut(sub, params), pd_modality(sub, pd_ds), atol=1e-3)
            np.testing.assert_allclose(apply_windowing(hu[: len(sub)], params, output_range=(lo, hi)),
                                       pd_windowing(pd_modality(sub, pd_ds), pd_ds), atol=1e-3 * (hi - lo))
    print("outputs verified equal (float32 tolerance) before timing")

    r = args.repeats
    rows: dict[str, dict[str, float]] = {}

    def record(op, name, seconds, nbytes=vol.nbytes):
        rows.setdefault(op, {})[name] = nbytes / 1e6 / seconds

    record("rescale", "pacsnb", best(lambda: apply_modality_lut(vol, params), r))
    record("rescale", "numpy float32", best(lambda: np_rescale32(vol), r))
    record("rescale", "numpy float64", best(lambda: np_rescale64(vol), r))
    buf = np.empty(vol.shape, np.float32)
    tmp = np.empty(vol.shape, np.float32)

    def np_rescale_out(a):
        np.multiply(a, np.float32(SLOPE), out=tmp)
        np.add(tmp, np.float32(INTERCEPT), out=tmp)
        return tmp

    record("rescale (out=)", "pacsnb", best(lambda: apply_modality_lut(vol, params, out=buf), r))
    record("rescale (out=)", "numpy float32 ufuncs", best(lambda: np_rescale_out(vol), r))
    record("window", "pacsnb", best(lambda: apply_windowing(hu, params, output_range=(lo, hi)), r))
    record("window", "numpy", best(lambda: np_window(hu), r))
    record("rescale+window", "pacsnb", best(lambda: apply_windowing(vol, params, output_range=(lo, hi),
                                                                    rescale=True), r))
    record("rescale+window", "numpy", best(lambda: np_window(np_rescale32(vol)), r))
    if pd_ds is not None:
        hu_sub64 = pd_modality(sub, pd_ds)
        record("rescale", f"pydicom {pd_version}", best(lambda: pd_modality(sub, pd_ds), r), sub.nbytes)
        record("window", f"pydicom {pd_version}", best(lambda: pd_windowing(hu_sub64, pd_ds), r), sub.nbytes)
        record("rescale+window", f"pydicom {pd_version}",
               best(lambda: pd_windowing(pd_modality(sub, pd_ds), pd_ds), r), sub.nbytes)

    figures: dict = {"shape": list(vol.shape), "first_call_s": first_call, "ops": {}}
    for op, named in rows.items():
        ours = named["pacsnb"]
        print(f"\n{op}")
        print(f"  {'pacsnb':<22}{ours:>9.0f} MB/s")
        ops = figures["ops"][op] = {"pacsnb_mb_s": ours, "peers": {}}
        for name, v in named.items():
            if name == "pacsnb":
                continue
            print(f"  {name:<22}{v:>9.0f} MB/s   ratio {ours / v:.2f}x")
            ops["peers"][name] = {"mb_s": v, "ratio": ours / v}
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    main()
