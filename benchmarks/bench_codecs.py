"""Codec benchmark: pacsnb's RLE Lossless, JPEG Lossless SV1 and JPEG Baseline against the installed peers,
in one run.

Frames:

- ``ct``: 512x512 16-bit CT slices from :mod:`pacsnb.samples` (Shepp-Logan phantom with
  noise), the pixels outside the circular field of view set to the padding value 0, as
  CT scanners store them;
- ``rgb``: 8-bit RGB ultrasound frames (480x640) from :mod:`pacsnb.samples`.

Peers, each used if installed and printed as ``not installed`` otherwise:

- ``pydicom``: pydicom's own RLE handler (``RLELosslessDecoder`` / ``RLELosslessEncoder``
  with the ``"pydicom"`` plug-in), pure Python;
- ``pylibjpeg-rle``: the Rust RLE codec (``rle.rle.decode_frame``, the lowest-level call,
  which returns colour-by-plane bytes without interleaving; ``rle.utils.encode_pixel_data``);
- ``gdcm``: python-gdcm through pydicom's ``"gdcm"`` encoding plug-in (pydicom offers no
  gdcm RLE decoder).

JPEG Lossless SV1 (``jpeg_ct``, the same CT frames, pacsnb's SV1 codestreams) against:

- ``pylibjpeg-libjpeg``: ``libjpeg.decode`` called directly (decode only);
- ``gdcm``: decoding through pydicom's ``"gdcm"`` decoding plug-in, encoding with
  ``gdcm.ImageChangeTransferSyntax`` to JPEG Lossless Process 14 SV1.

JPEG Baseline (lossy, quality 90; ``baseline_ct8``: the CT frames shifted to 8 bits,
``baseline_rgb``: the RGB frames coded as YCbCr 4:2:2) against ``pylibjpeg-libjpeg``
(decode only), ``gdcm`` (decoding through pydicom's plug-in, encoding with
``ImageChangeTransferSyntax``) and ``pillow`` (libjpeg-turbo); a decoder is checked within
1 grey level of ours on our codestreams, an encoder by decoding its output with ours
(PSNR above 30 dB).

JPEG-LS Lossless (``jls_ct``, ``jls_rgb``: the CT and RGB frames, pacsnb's codestreams)
against ``charls`` (CharLS 2 through imagecodecs, decode and encode), ``gdcm`` (CharLS 1
inside; decoding through pydicom's plug-in, encoding with ``ImageChangeTransferSyntax``)
and ``pylibjpeg-libjpeg`` (decode only); the ratio against gdcm alone is printed too.

Figures are MB/s of decoded (native) pixel data, 1 MB = 10^6 bytes, for decoding (from
pacsnb's codestreams, the same bytes for every decoder) and encoding. Before timing, every
decoder's output is checked equal to the original pixels, and every encoder's output is
decoded by pacsnb and checked equal too. Each implementation runs ``--repeats`` passes over
all frames (slow ones stop once ``--budget`` seconds are spent) and its best pass counts;
implementations alternate within each repeat. Our ratio is against the fastest peer
installed. Wall-clock figures are for reading, not for gating CI.

Usage::

    python benchmarks/bench_codecs.py                   # full run
    python benchmarks/bench_codecs.py --quick           # 2 small frames per set: smoke run
    python benchmarks/bench_codecs.py --json out.json   # also write the figures as JSON
    python benchmarks/bench_codecs.py --only baseline --size 512   # JPEG Baseline only, 512x512 frames
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

from pacsnb.codecs import FrameParams, get_codec  # noqa: E402
from pacsnb.samples import make_ct_series, make_us_image  # noqa: E402

RLE = "1.2.840.10008.1.2.5"
OURS = "pacsnb"
PEERS = ("pylibjpeg-rle", "pydicom", "gdcm")


# -- frames ---------------------------------------------------------------------------------------
def ct_frames(n: int, size: int) -> list[np.ndarray]:
    frames = []
    yy, xx = np.mgrid[:size, :size]
    c = (size - 1) / 2
    outside = (yy - c) ** 2 + (xx - c) ** 2 > (size / 2) ** 2
    for ds in make_ct_series(n, size, size):
        a = np.array(ds.pixel_array, dtype=np.uint16)
        a[outside] = 0
        frames.append(a)
    return frames


def rgb_frames(n: int, rows: int, cols: int) -> list[np.ndarray]:
    ds = make_us_image(rows=rows, columns=cols, n_frames=n)
    arr = np.asarray(ds.pixel_array)
    return [np.ascontiguousarray(f) for f in (arr if n > 1 else [arr])]


# -- implementations ------------------------------------------------------------------------------
def ours(p: FrameParams) -> tuple[Callable, Callable]:
    codec = get_codec(RLE)
    return (lambda data: codec.decode_frame(data, p)), (lambda arr: codec.encode_frame(arr, p))


def pylibjpeg_rle(p: FrameParams):
    try:
        from rle.rle import decode_frame
        from rle.utils import encode_pixel_data
    except ImportError:
        return None
    npix = p.rows * p.columns

    def dec(data):
        return np.frombuffer(decode_frame(data, npix, p.bits_allocated, "<"), np.uint8)

    def enc(arr):
        return encode_pixel_data(arr.tobytes(), rows=p.rows, columns=p.columns, samples_per_pixel=p.samples,
                                 bits_allocated=p.bits_allocated, byteorder="<")
    return dec, enc


def _pydicom_kwargs(p: FrameParams) -> dict:
    return dict(rows=p.rows, columns=p.columns, samples_per_pixel=p.samples, bits_allocated=p.bits_allocated,
                bits_stored=p.bits_allocated, pixel_representation=p.pixel_representation, number_of_frames=1,
                photometric_interpretation="RGB" if p.samples == 3 else "MONOCHROME2", planar_configuration=0)


def pydicom_own(p: FrameParams):
    try:
        from pydicom.encaps import encapsulate
        from pydicom.pixels.decoders import RLELosslessDecoder
        from pydicom.pixels.encoders import RLELosslessEncoder
    except ImportError:
        return None
    kw = _pydicom_kwargs(p)

    def dec(data):
        arr, _ = RLELosslessDecoder.as_array(encapsulate([data]), decoding_plugin="pydicom", **kw)
        return arr

    def enc(arr):
        return RLELosslessEncoder.encode(arr, encoding_plugin="pydicom", **kw)
    return dec, enc


def gdcm_via_pydicom(p: FrameParams):
    try:
        import gdcm  # noqa: F401
        from pydicom.pixels.encoders import RLELosslessEncoder
    except ImportError:
        return None
    if "gdcm" not in RLELosslessEncoder.available_plugins:
        return None
    kw = _pydicom_kwargs(p)

    def enc(arr):
        return RLELosslessEncoder.encode(arr, encoding_plugin="gdcm", **kw)
    return None, enc


IMPLEMENTATIONS = {OURS: ours, "pylibjpeg-rle": pylibjpeg_rle, "pydicom": pydicom_own, "gdcm": gdcm_via_pydicom}


# -- JPEG lossless (SV1) --------------------------------------------------------------------------
JPEG_SV1 = "1.2.840.10008.1.2.4.70"
JPEG_PEERS = ("pylibjpeg-libjpeg", "gdcm")


def ours_jpeg(p: FrameParams) -> tuple[Callable, Callable]:
    codec = get_codec(JPEG_SV1)
    return (lambda data: codec.decode_frame(data, p)), (lambda arr: codec.encode_frame(arr, p))


def libjpeg_peer(p: FrameParams):
    """pylibjpeg-libjpeg (Thomas Richter's libjpeg), called directly: decode only."""
    try:
        from libjpeg import decode
    except ImportError:
        return None
    return (lambda data: decode(data)), None


def _gdcm_encoder(gdcm, p: FrameParams, syntax, bits: int, signed: int) -> Callable:
    """An encoder of frames with ``p``'s size and samples to the gdcm transfer syntax
    ``syntax`` (a ``gdcm.TransferSyntax`` constant), through ``gdcm.ImageChangeTransferSyntax``
    on an image of ``bits``-bit samples."""

    def enc(arr):
        writer = gdcm.ImageWriter()  # owns the image (a free-standing gdcm.Image aborts on release)
        image = writer.GetImage()
        image.SetNumberOfDimensions(2)
        image.SetDimensions((p.columns, p.rows, 1))
        pi = "RGB" if p.samples == 3 else "MONOCHROME2"
        image.SetPhotometricInterpretation(gdcm.PhotometricInterpretation(gdcm.PhotometricInterpretation.GetPIType(pi)))
        image.SetTransferSyntax(gdcm.TransferSyntax(gdcm.TransferSyntax.ImplicitVRLittleEndian))
        image.SetPixelFormat(gdcm.PixelFormat(p.samples, bits, bits, bits - 1, signed))
        elem = gdcm.DataElement(gdcm.Tag(0x7FE0, 0x0010))
        elem.SetByteStringValue(arr.tobytes())
        image.SetDataElement(elem)
        conv = gdcm.ImageChangeTransferSyntax()
        conv.SetTransferSyntax(gdcm.TransferSyntax(syntax))
        conv.SetInput(image)
        if not conv.Change():
            raise RuntimeError("gdcm could not encode")
        frag = conv.GetOutput().GetDataElement().GetSequenceOfFragments().GetFragment(0)
        data = frag.GetByteValue().GetBuffer().encode("utf-8", "surrogateescape")
        del writer
        return data
    return enc


def gdcm_jpeg(p: FrameParams):
    """gdcm: decoding through pydicom's ``"gdcm"`` plug-in, encoding with
    ``gdcm.ImageChangeTransferSyntax`` to JPEG Lossless Process 14 SV1."""
    try:
        import gdcm
        from pydicom.encaps import encapsulate
        from pydicom.pixels.decoders import JPEGLosslessSV1Decoder
    except ImportError:
        return None
    if "gdcm" not in JPEGLosslessSV1Decoder.available_plugins:
        return None
    kw = _pydicom_kwargs(p)

    def dec(data):
        arr, _ = JPEGLosslessSV1Decoder.as_array(encapsulate([data]), decoding_plugin="gdcm", **kw)
        return arr

    enc = _gdcm_encoder(gdcm, p, gdcm.TransferSyntax.JPEGLosslessProcess14_1, p.bits_allocated,
                        p.pixel_representation)
    return dec, enc


JPEG_IMPLEMENTATIONS = {OURS: ours_jpeg, "pylibjpeg-libjpeg": libjpeg_peer, "gdcm": gdcm_jpeg}


# -- JPEG Baseline (lossy, 8-bit) ---------------------------------------------------------------
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
BASELINE_PEERS = ("pylibjpeg-libjpeg", "gdcm", "pillow")
BASELINE_QUALITY = 90


def _baseline_pi(p: FrameParams) -> str:
    return "YBR_FULL_422" if p.samples == 3 else "MONOCHROME2"


def ours_baseline(p: FrameParams) -> tuple[Callable, Callable]:
    """pacsnb: RGB frames are converted to YCbCr and coded 4:2:2; decoding gives YCbCr."""
    codec = get_codec(JPEG_BASELINE)
    return ((lambda data: codec.decode_frame(data, p)),
            (lambda arr: codec.encode_frame(arr, p, quality=BASELINE_QUALITY, photometric="RGB")))


def libjpeg_baseline(p: FrameParams):
    """pylibjpeg-libjpeg, decode only, no colour transform (YCbCr out, like ours)."""
    try:
        from libjpeg import decode
    except ImportError:
        return None
    return (lambda data: decode(data)), None


def gdcm_baseline(p: FrameParams):
    """gdcm: decoding through pydicom's ``"gdcm"`` plug-in (no colour conversion asked),
    encoding with ``gdcm.ImageChangeTransferSyntax`` to JPEG Baseline."""
    try:
        import gdcm
        from pydicom.encaps import encapsulate
        from pydicom.pixels.decoders import JPEGBaseline8BitDecoder
    except ImportError:
        return None
    if "gdcm" not in JPEGBaseline8BitDecoder.available_plugins:
        return None
    kw = _pydicom_kwargs(p)
    kw["photometric_interpretation"] = _baseline_pi(p)

    def dec(data):
        arr, _ = JPEGBaseline8BitDecoder.as_array(encapsulate([data]), decoding_plugin="gdcm", as_rgb=False, **kw)
        return arr

    enc = _gdcm_encoder(gdcm, p, gdcm.TransferSyntax.JPEGBaselineProcess1, 8, 0)
    return dec, enc


def pillow_baseline(p: FrameParams):
    """Pillow (libjpeg-turbo): decoding to YCbCr (``draft``), encoding RGB 4:2:2 at the same quality."""
    try:
        import io
        from PIL import Image
    except ImportError:
        return None

    def dec(data):
        im = Image.open(io.BytesIO(data))
        if p.samples == 3:
            im.draft("YCbCr", im.size)
        return np.asarray(im)

    def enc(arr):
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, "JPEG", quality=BASELINE_QUALITY, subsampling=1)
        return buf.getvalue()
    return dec, enc


BASELINE_IMPLEMENTATIONS = {OURS: ours_baseline, "pylibjpeg-libjpeg": libjpeg_baseline, "gdcm": gdcm_baseline,
                            "pillow": pillow_baseline}


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def bench_baseline_set(name: str, label: str, frames: list[np.ndarray], repeats: int, budget: float) -> dict:
    """Like :func:`bench_set`, for a lossy codec: a decoder counts when it gives our decoder's
    pixels within 1 grey level (from our codestreams), an encoder when our decoder reads its
    output back with a PSNR above 30 dB against the original (compared in RGB for colour)."""
    from pacsnb.pixels import convert_color_space
    first = frames[0]
    p = FrameParams(rows=first.shape[0], columns=first.shape[1], samples=first.shape[2] if first.ndim == 3 else 1,
                    bits_allocated=8)
    nbytes = sum(f.nbytes for f in frames)
    impls = {k: make(p) for k, make in BASELINE_IMPLEMENTATIONS.items()}
    our_dec, our_enc = impls[OURS]
    t0 = time.perf_counter()
    encoded = [our_enc(f) for f in frames]
    first_call = time.perf_counter() - t0
    decoded = [our_dec(e) for e in encoded]
    ratio_in = nbytes / sum(len(e) for e in encoded)

    def as_rgb(a):
        return convert_color_space(a, "YBR_FULL", "RGB") if p.samples == 3 else a

    psnr = min(_psnr(as_rgb(d), f) for d, f in zip(decoded, frames))
    print(f"\n{label}: {len(frames)} frame(s) of {first.shape} {first.dtype}, {nbytes / 1e6:.1f} MB, quality "
          f"{BASELINE_QUALITY}, compression {ratio_in:.2f}:1, PSNR {psnr:.1f} dB (pacsnb's codestreams)")
    result: dict = {"frames": len(frames), "shape": list(first.shape), "bytes": nbytes, "compression": ratio_in,
                    "psnr_db": psnr, "first_call_s": first_call}
    for op in ("decode", "encode"):
        fns: dict[str, Callable] = {}
        status: dict[str, str] = {}
        for k, impl in impls.items():
            fn = None if impl is None else (impl[0] if op == "decode" else impl[1])
            if fn is None:
                status[k] = "not installed" if impl is None else f"no JPEG baseline {op}r"
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    if op == "decode":
                        # within 1 grey level; for subsampled colour libjpeg's upsampling filter differs
                        # from IJG's (and ours) at some edges, so there the mean difference must be < 0.5
                        diffs = [np.abs(np.asarray(fn(e)).astype(int) - d) if np.asarray(fn(e)).shape == d.shape
                                 else None for e, d in zip(encoded, decoded)]
                        ok = all(x is not None and (int(x.max()) <= 1 or (p.samples == 3 and float(x.mean()) < 0.5))
                                 for x in diffs)
                    else:
                        ok = all(_psnr(as_rgb(our_dec(fn(f))), f) > 30 for f in frames)
                except Exception as exc:  # a peer that fails is reported, not timed
                    status[k] = f"FAILED ({type(exc).__name__})"
                    continue
            if not ok:
                status[k] = "WRONG OUTPUT (not timed)"
                continue
            fns[k] = fn
        items = encoded if op == "decode" else frames
        best = {k: float("inf") for k in fns}
        spent = {k: 0.0 for k in fns}
        order = list(fns)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for r in range(repeats):
                for k in (order if r % 2 == 0 else order[::-1]):
                    if r and spent[k] > budget:
                        continue
                    t = _pass(fns[k], items)
                    spent[k] += t
                    best[k] = min(best[k], t)
        mbs = {k: nbytes / best[k] / 1e6 for k in fns}
        peers = {k: v for k, v in mbs.items() if k != OURS}
        fastest = max(peers, key=peers.get) if peers else None
        print(f"  {op}")
        for k in (OURS,) + BASELINE_PEERS:
            shown = f"{mbs[k]:8.0f} MB/s" if k in mbs else f"    {status.get(k, 'n/a')}"
            print(f"    {k:<18}{shown}")
        entry: dict = {"mb_per_s": mbs, "status": status, "fastest_peer": fastest}
        if fastest is not None and OURS in mbs:
            entry["ratio"] = mbs[OURS] / mbs[fastest]
            print(f"    ratio          {entry['ratio']:.2f}x  (pacsnb / fastest peer, {fastest})")
        else:
            print("    ratio          n/a (no peer installed)")
        result[op] = entry
    return result


# -- JPEG-LS lossless ------------------------------------------------------------------------------
JPEG_LS = "1.2.840.10008.1.2.4.80"
JLS_PEERS = ("charls", "gdcm", "pylibjpeg-libjpeg")


def ours_jls(p: FrameParams) -> tuple[Callable, Callable]:
    codec = get_codec(JPEG_LS)
    return (lambda data: codec.decode_frame(data, p)), (lambda arr: codec.encode_frame(arr, p))


def charls_jls(p: FrameParams):
    """CharLS 2 through imagecodecs (``jpegls_decode`` / ``jpegls_encode``)."""
    try:
        import imagecodecs
        if not imagecodecs.JPEGLS.available:
            return None
    except (ImportError, AttributeError):
        return None
    return (lambda data: imagecodecs.jpegls_decode(data)), (lambda arr: imagecodecs.jpegls_encode(arr))


def gdcm_jls(p: FrameParams):
    """gdcm (CharLS 1 inside): decoding through pydicom's ``"gdcm"`` plug-in, encoding with
    ``gdcm.ImageChangeTransferSyntax`` to JPEG-LS Lossless."""
    try:
        import gdcm
        from pydicom.encaps import encapsulate
        from pydicom.pixels.decoders import JPEGLSLosslessDecoder
    except ImportError:
        return None
    if "gdcm" not in JPEGLSLosslessDecoder.available_plugins:
        return None
    kw = _pydicom_kwargs(p)

    def dec(data):
        arr, _ = JPEGLSLosslessDecoder.as_array(encapsulate([data]), decoding_plugin="gdcm", **kw)
        return arr

    enc = _gdcm_encoder(gdcm, p, gdcm.TransferSyntax.JPEGLSLossless, p.bits_allocated,
                        p.pixel_representation)
    return dec, enc


JLS_IMPLEMENTATIONS = {OURS: ours_jls, "charls": charls_jls, "gdcm": gdcm_jls, "pylibjpeg-libjpeg": libjpeg_peer}


def bench_jpegls(n: int, ct_size: int, rgb_shape: tuple[int, int], repeats: int, budget: float) -> dict:
    """JPEG-LS lossless on the CT and RGB frames: ours against CharLS (imagecodecs), gdcm and
    pylibjpeg-libjpeg; the ratio is also given against gdcm alone (the goal)."""
    print(f"\n== JPEG-LS Lossless ({JPEG_LS})")
    figures = {
        "jls_ct": bench_set("jls_ct", f"JPEG-LS lossless, {ct_size}x{ct_size} 16-bit CT", ct_frames(n, ct_size),
                            repeats, budget, JLS_IMPLEMENTATIONS, JLS_PEERS, "JPEG-LS"),
        "jls_rgb": bench_set("jls_rgb", f"JPEG-LS lossless, {rgb_shape[0]}x{rgb_shape[1]} 8-bit RGB",
                             rgb_frames(n, *rgb_shape), repeats, budget, JLS_IMPLEMENTATIONS, JLS_PEERS, "JPEG-LS"),
    }
    for key, entry in figures.items():
        for op in ("decode", "encode"):
            mbs = entry[op]["mb_per_s"]
            if OURS in mbs and "gdcm" in mbs:
                entry[op]["ratio_gdcm"] = mbs[OURS] / mbs["gdcm"]
                print(f"  {key} {op}: ratio against gdcm {entry[op]['ratio_gdcm']:.2f}x")
    return figures


# -- timing ---------------------------------------------------------------------------------------
def _pass(fn: Callable, items: list) -> float:
    t0 = time.perf_counter()
    for x in items:
        fn(x)
    return time.perf_counter() - t0


def _same_pixels(got, ref: np.ndarray, p: FrameParams) -> bool:
    got = np.asarray(got)
    if got.dtype == np.uint8 and ref.dtype != np.uint8 or (got.ndim == 1 and ref.ndim > 1):
        # pylibjpeg-rle: little endian bytes, colour-by-plane
        vals = got.view(ref.dtype.newbyteorder("<"))
        if p.samples > 1:
            vals = vals.reshape(p.samples, p.rows, p.columns).transpose(1, 2, 0)
        got = vals.reshape(ref.shape)
    return got.shape == ref.shape and np.array_equal(got.astype(ref.dtype), ref)


def bench_set(name: str, label: str, frames: list[np.ndarray], repeats: int, budget: float,
              makers: dict | None = None, peer_names: tuple[str, ...] = PEERS, what: str = "RLE") -> dict:
    first = frames[0]
    p = FrameParams(rows=first.shape[0], columns=first.shape[1], samples=first.shape[2] if first.ndim == 3 else 1,
                    bits_allocated=first.dtype.itemsize * 8)
    nbytes = sum(f.nbytes for f in frames)
    impls = {k: make(p) for k, make in (makers or IMPLEMENTATIONS).items()}
    our_dec, our_enc = impls[OURS]
    t0 = time.perf_counter()
    encoded = [our_enc(f) for f in frames]   # the first call loads (or compiles) the kernels
    first_call = time.perf_counter() - t0
    ratio_in = nbytes / sum(len(e) for e in encoded)

    print(f"\n{label}: {len(frames)} frame(s) of {first.shape} {first.dtype}, {nbytes / 1e6:.1f} MB, "
          f"compression {ratio_in:.2f}:1 (pacsnb's codestreams)")
    result: dict = {"frames": len(frames), "shape": list(first.shape), "dtype": str(first.dtype),
                    "bytes": nbytes, "compression": ratio_in, "first_call_s": first_call}
    for op in ("decode", "encode"):
        fns: dict[str, Callable] = {}
        status: dict[str, str] = {}
        for k, impl in impls.items():
            if impl is None:
                status[k] = "not installed"
                continue
            fn = impl[0] if op == "decode" else impl[1]
            if fn is None:
                status[k] = f"no {what} {op}r"
                continue
            # verify before timing
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if op == "decode":
                    ok = all(_same_pixels(fn(e), f, p) for e, f in zip(encoded, frames))
                else:
                    ok = all(np.array_equal(our_dec(fn(f)), f) for f in frames)
            if not ok:
                status[k] = "WRONG OUTPUT (not timed)"
                continue
            fns[k] = fn
        items = encoded if op == "decode" else frames
        best = {k: float("inf") for k in fns}
        spent = {k: 0.0 for k in fns}
        order = list(fns)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for r in range(repeats):
                for k in (order if r % 2 == 0 else order[::-1]):
                    if r and spent[k] > budget:
                        continue
                    t = _pass(fns[k], items)
                    spent[k] += t
                    best[k] = min(best[k], t)
        mbs = {k: nbytes / best[k] / 1e6 for k in fns}
        peers = {k: v for k, v in mbs.items() if k != OURS}
        fastest = max(peers, key=peers.get) if peers else None
        print(f"  {op}")
        for k in (OURS,) + peer_names:
            shown = f"{mbs[k]:8.0f} MB/s" if k in mbs else f"    {status.get(k, 'n/a')}"
            print(f"    {k:<18}{shown}")
        entry: dict = {"mb_per_s": mbs, "status": status, "fastest_peer": fastest}
        if fastest is not None and OURS in mbs:
            entry["ratio"] = mbs[OURS] / mbs[fastest]
            print(f"    ratio          {entry['ratio']:.2f}x  (pacsnb / fastest peer, {fastest})")
        else:
            print("    ratio          n/a (no peer installed)")
        result[op] = entry
    return result


def bench_baseline(n: int, ct_size: int, rgb_shape: tuple[int, int], repeats: int, budget: float) -> dict:
    """The JPEG Baseline section: 8-bit grey (the CT frames shifted to 8 bits) and RGB coded 4:2:2."""
    print(f"\n== JPEG Baseline ({JPEG_BASELINE}), lossy: decoders checked within 1 grey level of pacsnb's, "
          "encoders by PSNR > 30 dB")
    ct8 = [(f >> 4).clip(0, 255).astype(np.uint8) for f in ct_frames(n, ct_size)]
    return {"baseline_ct8": bench_baseline_set("baseline_ct8", f"JPEG baseline, {ct_size}x{ct_size} 8-bit grey",
                                               ct8, repeats, budget),
            "baseline_rgb": bench_baseline_set("baseline_rgb", f"JPEG baseline, {rgb_shape[0]}x{rgb_shape[1]} "
                                               "8-bit RGB (4:2:2)", rgb_frames(n, *rgb_shape), repeats, budget)}


SECTIONS = ("rle", "jpeg-lossless", "baseline", "jpeg-ls")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="2 small frames per set (smoke run)")
    ap.add_argument("--frames", type=int, default=8, help="frames per set (default 8)")
    ap.add_argument("--repeats", type=int, default=7, help="timed passes per implementation (default 7)")
    ap.add_argument("--budget", type=float, default=3.0,
                    help="seconds after which a slow implementation stops repeating (default 3)")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    ap.add_argument("--only", choices=SECTIONS, action="append",
                    help="run only this section (repeatable; default: all)")
    ap.add_argument("--size", type=int, help="SIZE x SIZE grey and RGB frames (default 512x512 grey, 480x640 RGB; "
                    "with --quick 64x64 and 48x64)")
    args = ap.parse_args(argv)
    only = set(args.only or SECTIONS)
    if args.quick:
        n, ct_size, rgb_shape = 2, 64, (48, 64)
        args.repeats = min(args.repeats, 2)
    else:
        n, ct_size, rgb_shape = args.frames, 512, (480, 640)
    if args.size:
        ct_size, rgb_shape = args.size, (args.size, args.size)
    print(f"pacsnb codec benchmark: RLE Lossless ({RLE}); Python {platform.python_version()}, "
          f"{platform.machine()}, numpy {np.__version__}")
    figures = {}
    if "rle" in only:
        figures["ct"] = bench_set("ct", f"{ct_size}x{ct_size} 16-bit CT", ct_frames(n, ct_size), args.repeats,
                                  args.budget)
        figures["rgb"] = bench_set("rgb", f"{rgb_shape[0]}x{rgb_shape[1]} 8-bit RGB", rgb_frames(n, *rgb_shape),
                                   args.repeats, args.budget)
    if "jpeg-lossless" in only:
        print(f"\n== JPEG Lossless SV1 ({JPEG_SV1})")
        figures["jpeg_ct"] = bench_set("jpeg_ct", f"JPEG lossless SV1, {ct_size}x{ct_size} 16-bit CT",
                                       ct_frames(n, ct_size), args.repeats, args.budget, JPEG_IMPLEMENTATIONS,
                                       JPEG_PEERS, "JPEG lossless")
    if "baseline" in only:
        figures.update(bench_baseline(n, ct_size, rgb_shape, args.repeats, args.budget))
    if "jpeg-ls" in only:
        figures.update(bench_jpegls(n, ct_size, rgb_shape, args.repeats, args.budget))
    print("\nverified: every timed decoder and encoder gave the original pixels (lossless) or passed the "
          "lossy checks")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
