"""JPEG Baseline (.50) and Extended (.51), T.81 Annex F: pacsnb.codecs.jpeg_baseline against
pylibjpeg-libjpeg, Pillow (IJG libjpeg), pydicom and bad input.

1. Every JPEG baseline / extended file among pydicom's test files decodes within 1 grey
   level of pylibjpeg-libjpeg (raw components, no colour transform; the max abs
   difference is checked per file). ``JPEG-lossy.dcm`` (a scan with Se = 0, which
   libjpeg refuses) is checked against ``dcmdjpeg`` in the dcmtk section below.
   Colour: YBR files converted with ``convert_color_space`` match pydicom's RGB.
2. Round trips (hypothesis): sizes not multiple of 8, 1 and 3 components, 4:4:4 / 4:2:2 /
   4:2:0, restart intervals, qualities, 8 and 12 bits: our decoder within 1 of libjpeg
   (grey, 4:4:4) or Pillow (subsampled; libjpeg upsamples differently, see below), and
   close to the original.
3. Multi-scan (non-interleaved) frames with Huffman tables redefined between scans.
4. Bad input: truncation at every byte, unsupported processes, misplaced markers,
   undefined tables, mismatched parameters, a hypothesis fuzz of mutated codestreams
   (only CodecError, right shape), and the corpus in ``corpus/jpeg_baseline/``.
5. The registry, ``pixel_array`` frame by frame.
"""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pacsnb
from pacsnb.codecs import FrameParams, can_decode, can_encode, get_codec
from pacsnb.codecs import jpeg_baseline as jb
from pacsnb.errors import CodecError
from pacsnb.pixels import convert_color_space, pixel_array
import peers  # noqa: E402 (tests/ is on sys.path: the project's dcmtk skip marker)

BASELINE = "1.2.840.10008.1.2.4.50"
EXTENDED = "1.2.840.10008.1.2.4.51"
TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
CORPUS = Path(__file__).parent / "corpus" / "jpeg_baseline"
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

try:
    import libjpeg  # pylibjpeg-libjpeg
    HAVE_LIBJPEG = True
except ImportError:
    HAVE_LIBJPEG = False
needs_libjpeg = pytest.mark.skipif(not HAVE_LIBJPEG, reason="pylibjpeg-libjpeg is not installed: no second JPEG "
                                   "decoder to compare with (pip install pylibjpeg-libjpeg)")
try:
    from PIL import Image
    HAVE_PIL = True
except ImportError:
    HAVE_PIL = False
needs_pil = pytest.mark.skipif(not HAVE_PIL, reason="Pillow is not installed: no IJG decoder to compare "
                               "subsampled frames with (pip install pillow)")
DCMTK = shutil.which("dcmdjpeg") is not None
needs_dcmtk = peers.needs_dcmtk("dcmdjpeg")


def _jpeg_files() -> list[Path]:
    found = []
    for path in sorted(TEST_FILES.glob("*.dcm")):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = pydicom.dcmread(path, stop_before_pixels=True)
            if str(ds.file_meta.TransferSyntaxUID) in (BASELINE, EXTENDED):
                found.append(path)
        except Exception:
            continue
    return found


JPEG_FILES = _jpeg_files()
LIBJPEG_REFUSES = {"JPEG-lossy.dcm"}  # Se = 0 in its scan header: libjpeg stops, dcmdjpeg and we decode


def _frames(path: Path) -> tuple[pydicom.Dataset, list[bytes]]:
    from pydicom.encaps import generate_frames
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path)
    n = int(ds.get("NumberOfFrames", 1) or 1)
    return ds, [bytes(f) for f in generate_frames(ds.PixelData, number_of_frames=n)]


def _rgb(rows: int, cols: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:rows, 0:cols]
    smooth = np.stack([x * 200 // max(1, cols) + 20, y * 200 // max(1, rows) + 30, (x + y) * 3 % 200 + 20], -1)
    return np.clip(smooth + rng.integers(-6, 7, smooth.shape), 0, 255).astype(np.uint8)


def _pil_ycbcr(data: bytes) -> np.ndarray:
    im = Image.open(io.BytesIO(data))
    im.draft("YCbCr", im.size)
    return np.asarray(im)


# -- 1. pydicom's test files ----------------------------------------------------------------------
def test_the_test_files_are_there():
    names = {p.name for p in JPEG_FILES}
    assert {"JPGExtended.dcm", "SC_rgb_jpeg_dcmtk.dcm", "examples_ybr_color.dcm", "SC_rgb_dcmtk_+eb+cy+np.dcm"} <= names


@needs_libjpeg
@pytest.mark.parametrize("path", [p for p in JPEG_FILES if p.name not in LIBJPEG_REFUSES], ids=lambda p: p.name)
def test_pydicom_files_match_libjpeg(path):
    pds, frames = _frames(path)
    ours = pixel_array(pacsnb.read(path))
    ref = np.stack([libjpeg.decode(f) for f in frames])
    if len(frames) == 1:
        ref = ref[0]
    assert ours.shape == ref.shape
    diff = int(np.abs(ours.astype(np.int64) - ref.astype(np.int64)).max())
    assert diff <= 1, f"{path.name}: max abs difference {diff} from libjpeg"


@needs_dcmtk
def test_jpeg_lossy_file_matches_dcmdjpeg(tmp_path):
    path = TEST_FILES / "JPEG-lossy.dcm"
    out = tmp_path / "d.dcm"
    subprocess.run(["dcmdjpeg", str(path), str(out)], check=True, capture_output=True, timeout=60)
    theirs = pixel_array(pacsnb.read(out))
    ours = pixel_array(pacsnb.read(path))
    assert ours.dtype == np.uint16 and ours.shape == (1024, 256)
    assert int(np.abs(ours.astype(int) - theirs).max()) <= 1


@pytest.mark.parametrize("name", ["SC_rgb_jpeg_dcmtk.dcm", "SC_rgb_dcmtk_+eb+cy+s2.dcm", "SC_rgb_dcmtk_+eb+cy+np.dcm",
                                  "SC_rgb_jpeg_lossy_gdcm.dcm"])
def test_ybr_files_are_ycbcr_as_pydicom_converts_them(name):
    """Our arrays are the stored YCbCr (like pixel_array on native data); converted to RGB they
    are pydicom's default (RGB) array within rounding."""
    path = TEST_FILES / name
    ds = pacsnb.read(path)
    assert str(ds.PhotometricInterpretation).startswith("YBR_FULL")
    ours = pixel_array(ds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pds = pydicom.dcmread(path)
        try:
            theirs = pds.pixel_array
        except Exception as exc:  # no pydicom JPEG plugin able to decode
            pytest.skip(f"pydicom cannot decode {name} here ({exc}); libjpeg comparison above still runs")
    rgb = convert_color_space(ours, "YBR_FULL", "RGB")
    assert int(np.abs(rgb.astype(int) - theirs).max()) <= 3


# -- 2. round trips -------------------------------------------------------------------------------
@needs_libjpeg
@FAST
@given(rows=st.integers(1, 40), cols=st.integers(1, 40), quality=st.integers(1, 100),
       rst=st.sampled_from([0, 1, 3, 7]), seed=st.integers(0, 5))
def test_grey_round_trip_matches_libjpeg(rows, cols, quality, rst, seed):
    img = _rgb(rows, cols, seed)[..., 1]
    data = jb.encode_frame(img, rows=rows, columns=cols, bits_allocated=8, quality=quality, restart_interval=rst)
    ours = jb.decode_frame(data, rows=rows, columns=cols, bits_allocated=8)
    ref = libjpeg.decode(data).reshape(rows, cols)
    assert ours.shape == (rows, cols) and ours.dtype == np.uint8
    assert int(np.abs(ours.astype(int) - ref).max()) <= 1
    if quality >= 90:
        assert float(np.abs(ours.astype(int) - img).mean()) < 4


@needs_libjpeg
@needs_pil
@FAST
@given(rows=st.integers(1, 35), cols=st.integers(1, 35), sub=st.sampled_from(["444", "422", "420"]),
       quality=st.integers(20, 100), rst=st.sampled_from([0, 2]), seed=st.integers(0, 5))
def test_colour_round_trip(rows, cols, sub, quality, rst, seed):
    rgb = _rgb(rows, cols, seed)
    data = jb.encode_frame(rgb, rows=rows, columns=cols, samples=3, bits_allocated=8, quality=quality,
                           subsampling=sub, restart_interval=rst)
    assert jb.read_header(data).sampling[0] == {"444": (1, 1), "422": (2, 1), "420": (2, 2)}[sub]
    ours = jb.decode_frame(data, rows=rows, columns=cols, samples=3, bits_allocated=8)
    assert ours.shape == (rows, cols, 3)
    # IJG (Pillow) upsamples like we do; libjpeg's 4:2:2 filter differs at some edges
    assert int(np.abs(ours.astype(int) - _pil_ycbcr(data)).max()) <= 1
    if sub == "444":
        assert int(np.abs(ours.astype(int) - libjpeg.decode(data).reshape(rows, cols, 3)).max()) <= 1
    if quality >= 90 and sub == "444":
        back = convert_color_space(ours, "YBR_FULL", "RGB")
        assert float(np.abs(back.astype(int) - rgb).mean()) < 4


@needs_libjpeg
@FAST
@given(rows=st.integers(1, 30), cols=st.integers(1, 30), quality=st.integers(50, 100), rst=st.sampled_from([0, 4]))
def test_12_bit_extended_round_trip(rows, cols, quality, rst):
    y, x = np.mgrid[0:rows, 0:cols]
    img = ((x * 97 + y * 61) % 4096).astype(np.uint16)
    data = jb.encode_frame_extended(img, rows=rows, columns=cols, bits_allocated=16, bits_stored=12, quality=quality,
                                    restart_interval=rst)
    h = jb.read_header(data)
    assert (h.process, h.precision) == ("extended", 12)
    ours = jb.decode_frame(data, rows=rows, columns=cols, bits_allocated=16)
    assert ours.dtype == np.uint16 and int(ours.max()) <= 4095
    # saw-tooth images at 12 bits: libjpeg's integer IDCT is up to 2 of 4095 from our double precision one
    # (the pydicom file and dcmtk's frames agree within 1)
    assert int(np.abs(ours.astype(int) - libjpeg.decode(data).reshape(rows, cols)).max()) <= 2


def test_quality_orders_size_and_error():
    img = _rgb(64, 64)[..., 0]
    sizes, errors = [], []
    for q in (10, 50, 90, 100):
        data = jb.encode_frame(img, rows=64, columns=64, bits_allocated=8, quality=q)
        sizes.append(len(data))
        errors.append(float(np.abs(jb.decode_frame(data).astype(int) - img).mean()))
    assert sizes == sorted(sizes) and errors == sorted(errors, reverse=True)
    assert errors[-1] < 1.0


def test_quant_tables_are_annex_k_scaled():
    lum, chrom = jb.quant_tables(50)
    assert lum.reshape(8, 8)[7, 7] == 99 and chrom.reshape(8, 8)[0, 0] == 17
    lum10, _ = jb.quant_tables(10)
    assert lum10[0] == (16 * 500 + 50) // 100
    lum75, _ = jb.quant_tables(75)
    assert lum75[0] == 8
    with pytest.raises(CodecError):
        jb.quant_tables(101)


def _dct_matrix() -> np.ndarray:
    """C[x, u] = c(u) / 2 cos((2x + 1) u pi / 16) (T.81 A.3.3): F = C^T f C, f = C F C^T."""
    x, u = np.meshgrid(np.arange(8), np.arange(8), indexing="ij")
    return np.where(u == 0, np.sqrt(0.5), 1.0) / 2 * np.cos((2 * x + 1) * u * np.pi / 16)


def test_factored_idct_is_the_a33_transform():
    """The factored (AAN) inverse DCT with the scale folded into dequantisation gives the
    A.3.3 definition's samples, rounded: exact on almost all samples, never off by more than 1."""
    from pacsnb.codecs import _jpeg_dct_kernels as K
    rng = np.random.default_rng(7)
    c = _dct_matrix()
    qt = rng.integers(1, 40, (1, 64))
    qf = K.dequant_table(qt)[0]
    ws = np.zeros((8, 8))
    differ = 0
    for trial in range(300):
        zz = np.zeros(64, np.int64)
        nz = rng.integers(1, 64)
        zz[:nz] = rng.integers(-30, 31, nz) * (rng.random(nz) < 0.5)
        zz[0] = rng.integers(-60, 60)
        nat = np.zeros(64)
        nat[K.ZIGZAG] = zz * qt[0]
        exact = c @ nat.reshape(8, 8) @ c.T + 128
        want = np.clip(np.floor(exact + 0.5), 0, 255)
        coef = np.zeros(64)
        coef[K.ZIGZAG] = zz * qf
        coef[0] += 128.5
        plane = np.zeros(64, np.uint8)
        K._idct_put(coef.reshape(8, 8), plane, 0, 8, 255, ws)
        d = np.abs(plane.reshape(8, 8).astype(int) - want)
        assert int(d.max()) <= 1, trial
        differ += int((d > 0).sum())
    assert differ <= 300 * 64 // 1000  # rounding ties only (at most 0.1 % of samples)


def test_factored_fdct_is_the_a33_transform():
    """The encoder's factored forward DCT with quantisation folded in gives the quantised A.3.3
    coefficients: quality 100 (all tables 1) codes a block's DCT, rounded, in zig-zag order."""
    from pacsnb.codecs import _jpeg_dct_kernels as K
    rng = np.random.default_rng(3)
    c = _dct_matrix()
    img = rng.integers(0, 256, (16, 24)).astype(np.uint8)
    one = np.ones((2, 64))
    blocks = np.zeros((6, 64), np.int16)
    nzk = np.zeros((6, 64), np.uint8)
    nnz = np.zeros(6, np.int64)
    hist = np.zeros((2, 17), np.int64), np.zeros((2, 256), np.int64)
    ones = np.ones(1, np.int64)
    n = K.forward_frame(img.reshape(-1), 16, 24, 1, False, ones, ones, 1, 1, 3, 2, K.quant_reciprocals(one),
                        np.zeros(1, np.int64), 8, 0, blocks, nzk, nnz, *hist)
    assert n == 6
    for b in range(6):
        by, bx = divmod(b, 3)
        f = img[by * 8:by * 8 + 8, bx * 8:bx * 8 + 8].astype(float) - 128
        exact = (c.T @ f @ c).reshape(64)[K.ZIGZAG]
        want = np.sign(exact) * np.floor(np.abs(exact) + 0.5)
        assert int(np.abs(blocks[b] - want).max()) <= 1
        assert np.mean(blocks[b] != want) < 0.05  # off only where the exact value is a rounding tie
        assert sorted(nzk[b, :nnz[b]]) == [k for k in range(1, 64) if blocks[b, k] != 0]
    assert int(hist[0][0].sum()) == 6  # one DC symbol per block


def test_assemble_replicates_non_integer_sampling_ratios():
    """Sampling factors that do not divide the largest (3 and 4, 2 and 3) are upsampled by
    replication, reading only inside each component's plane."""
    from pacsnb.codecs import _jpeg_dct_kernels as K
    rng = np.random.default_rng(5)
    for hs, vs, rows, cols in (((4, 3, 1), (3, 2, 1), 17, 34), ((3, 1, 2), (2, 3, 1), 23, 9), ((1, 4), (4, 1), 5, 31)):
        hs, vs = np.array(hs, np.int64), np.array(vs, np.int64)
        nf, hmax, vmax = len(hs), int(hs.max()), int(vs.max())
        mcux, mcuy = -(-cols // (8 * hmax)), -(-rows // (8 * vmax))
        cw = np.array([-(-cols * h // hmax) for h in hs], np.int64)
        ch = np.array([-(-rows * v // vmax) for v in vs], np.int64)
        pstride = mcux * hs * 8
        sizes = pstride * mcuy * vs * 8
        poff = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
        planes = rng.integers(0, 256, int(sizes.sum())).astype(np.uint8)
        out = np.zeros(rows * cols * nf, np.uint16)
        K.assemble(planes, poff, pstride, cw, ch, hs, vs, hmax, vmax, rows, cols, nf, out)
        got = out.reshape(rows, cols, nf)
        for c in range(nf):
            plane = planes[poff[c]:poff[c] + sizes[c]].reshape(-1, pstride[c])
            if hmax % hs[c] or vmax % vs[c]:
                want = plane[(np.arange(rows) * vs[c]) // vmax][:, (np.arange(cols) * hs[c]) // hmax]
                assert np.array_equal(got[..., c], want), (hs, vs, c)
            elif hs[c] == hmax and vs[c] == vmax:
                assert np.array_equal(got[..., c], plane[:rows, :cols])


def test_decoding_in_place_matches_decoding_through_planes():
    """A grey frame whose size is a multiple of 8 decodes straight into the output array;
    16-bit output (planes then copied) and ``out=`` give the same samples."""
    img = _rgb(32, 40)[..., 1]
    data = jb.encode_frame(img, rows=32, columns=40, bits_allocated=8, quality=80)
    direct = jb.decode_frame(data, rows=32, columns=40, bits_allocated=8)
    wide = jb.decode_frame(data, rows=32, columns=40, bits_allocated=16)
    assert wide.dtype == np.uint16 and np.array_equal(direct, wide)
    out = np.full((32, 40), 7, np.uint8)
    assert jb.decode_frame(data, rows=32, columns=40, bits_allocated=8, out=out) is out
    assert np.array_equal(out, direct)
    assert float(np.abs(direct.astype(int) - img).mean()) < 3


def test_header_cache_gives_the_same_frames_and_errors():
    """Codestreams that start with the same bytes as one decoded before reuse its parsed
    header; the frames and the errors are those of a fresh parse, and a changed byte in the
    header is not taken from the cache."""
    img = _rgb(24, 32)
    kw = dict(rows=24, columns=32, samples=3, bits_allocated=8)
    data = jb.encode_frame(img, quality=85, restart_interval=2, **kw)
    jb._HEADERS.clear()
    fresh = jb.decode_frame(data, **kw)
    assert jb._cached_header(memoryview(data)) is not None
    assert np.array_equal(jb.decode_frame(data, **kw), fresh)  # from the cache
    sos = data.index(b"\xff\xda")
    dqt = data.index(b"\xff\xdb") + 5  # the first quantisation value
    changed = data[:dqt] + bytes([data[dqt] + 1]) + data[dqt + 1:]
    assert jb._cached_header(memoryview(changed)) is None
    assert not np.array_equal(jb.decode_frame(changed, **kw), fresh)
    corrupt = data[:sos + 20] + b"\xff\xd5" + data[sos + 22:]
    assert jb._cached_header(memoryview(corrupt)) is not None
    with pytest.raises(CodecError) as cached:
        jb.decode_frame(corrupt, **kw)
    jb._HEADERS.clear()
    with pytest.raises(CodecError) as parsed:
        jb.decode_frame(corrupt, **kw)
    assert str(cached.value) == str(parsed.value)
    with pytest.raises(CodecError, match="Rows x Columns"):  # the parameters are still checked
        jb.decode_frame(data, **{**kw, "rows": 25})


# -- 3. multi-scan frames -------------------------------------------------------------------------
def _segments(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, segment with marker and length) of a codestream we wrote; SOS carries its data."""
    out, pos = [], 2
    while pos < len(data):
        m = data[pos + 1]
        if m == 0xD9:
            break
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        end = pos + 2 + length
        if m == 0xDA:
            end = data.index(b"\xff\xd9", end)
        out.append((m, data[pos:end]))
        pos = end
    return out


def _multi_scan(planes: list[np.ndarray], hv: list[tuple[int, int]]) -> bytes:
    """A frame whose components come one per scan (non-interleaved), each scan with its own
    DQT/DHT (tables 0 redefined between scans): each plane encoded alone, then spliced."""
    rows, cols = planes[0].shape
    head = bytearray(b"\xff\xd8")
    scans = bytearray()
    for c, plane in enumerate(planes):
        data = jb.encode_frame(plane, rows=plane.shape[0], columns=plane.shape[1], bits_allocated=8, quality=85)
        for m, seg in _segments(data):
            if m == 0xDB:
                seg = seg[:4] + bytes([c]) + seg[5:]  # table c
                head += seg if c == 0 else b""
                scans += seg if c > 0 else b""
            elif m == 0xC4:
                scans += seg
            elif m == 0xDA:
                scans += seg[:5] + bytes([c + 1]) + seg[6:]
    sof = b"\xff\xc0" + (8 + 3 * len(planes)).to_bytes(2, "big") + b"\x08" + rows.to_bytes(2, "big")
    sof += cols.to_bytes(2, "big") + bytes([len(planes)])
    for c, (h, v) in enumerate(hv):
        sof += bytes([c + 1, (h << 4) | v, c])
    return bytes(head + sof + scans + b"\xff\xd9")


@needs_pil
@pytest.mark.parametrize("sub", ["444", "422", "420"])
def test_non_interleaved_scans_with_redefined_tables(sub):
    rows, cols = 29, 43
    ybr = convert_color_space(_rgb(rows, cols), "RGB", "YBR_FULL")
    fx, fy = {"444": (1, 1), "422": (2, 1), "420": (2, 2)}[sub]
    cw, ch = -(-cols // fx), -(-rows // fy)
    planes = [np.ascontiguousarray(ybr[..., 0])] + [np.ascontiguousarray(ybr[::fy, ::fx, c][:ch, :cw]) for c in (1, 2)]
    data = _multi_scan(planes, [(fx, fy), (1, 1), (1, 1)])
    ours = jb.decode_frame(data, rows=rows, columns=cols, samples=3, bits_allocated=8)
    assert int(np.abs(ours.astype(int) - _pil_ycbcr(data)).max()) <= 1
    assert float(np.abs(ours[..., 0].astype(int) - ybr[..., 0]).mean()) < 3


# -- 4. bad input ---------------------------------------------------------------------------------
def _small() -> tuple[bytes, dict]:
    rgb = _rgb(21, 37)  # 2 x 3 MCUs of 16 x 16, restart markers RST0 .. RST4
    data = jb.encode_frame(rgb, rows=21, columns=37, samples=3, bits_allocated=8, subsampling="420",
                           restart_interval=1)
    return data, dict(rows=21, columns=37, samples=3, bits_allocated=8)


def test_truncation_at_every_byte_is_a_codec_error():
    data, p = _small()
    for n in range(len(data) - 2):  # without EOI or more is missing
        with pytest.raises(CodecError, match="JPEG frame 7"):
            jb.decode_frame(data[:n], p, frame=7)
    jb.decode_frame(data[:-2], p)  # only EOI missing: every component decoded, tolerated


@pytest.mark.parametrize("sof,words", [(0xC2, "progressive"), (0xC3, "lossless"), (0xC9, "arithmetic"),
                                       (0xC5, "differential")])
def test_unsupported_processes_say_so(sof, words):
    data, p = _small()
    i = data.index(b"\xff\xc0")
    bad = data[:i + 1] + bytes([sof]) + data[i + 2:]
    with pytest.raises(CodecError, match=f"SOF{sof - 0xC0} .*{words}.*not supported"):
        jb.decode_frame(bad, p, frame=0)


def test_progressive_scan_header_is_refused():
    data, p = _small()
    i = data.index(b"\xff\xda")
    n = data[i + 4]
    j = i + 5 + 2 * n  # Ss
    bad = data[:j] + b"\x01" + data[j + 1:]
    with pytest.raises(CodecError, match="progressive scan"):
        jb.decode_frame(bad, p)


@pytest.mark.parametrize("mutate,match", [
    (lambda d: d[:2] + b"\xff\xd0" + d[2:], "RST0 at byte 2 is in the wrong place"),
    (lambda d: b"\x00" + d, "does not start with SOI"),
    (lambda d: d.replace(b"\xff\xc4", b"\xff\xfe", 1), "DC Huffman table 0, which no DHT"),
    (lambda d: d.replace(b"\xff\xdb", b"\xff\xfe", 1), "quantisation table 0, which no DQT"),
    (lambda d: d.replace(b"\xff\xc0", b"\xff\xfe", 1), "before the frame header"),
    (lambda d: d[:d.index(b"\xff\xda")] + b"\xff\xcc\x00\x04\x00\x00" + d[d.index(b"\xff\xda"):], "arithmetic"),
    (lambda d: d.replace(b"\xff\xd1", b"\xff\xd3", 1), "found RST3 .* where RST1 was due"),
    (lambda d: d.replace(b"\xff\xdd\x00\x04\x00\x01", b"\xff\xdd\x00\x04\x00\x02"), "ends at byte .* \\(marker RST0\\) inside MCU 1"),
])
def test_corrupt_structures(mutate, match):
    data, p = _small()
    with pytest.raises(CodecError, match=match):
        jb.decode_frame(mutate(data), p, frame=3)


@pytest.mark.parametrize("override,match", [(dict(rows=12), "21 x 37 .* Rows x Columns are 12 x 37"),
                                            (dict(samples=1), "3 component"),
                                            (dict(bits_allocated=32), "Bits Allocated 32")])
def test_parameters_that_do_not_fit(override, match):
    data, p = _small()
    with pytest.raises(CodecError, match=match):
        jb.decode_frame(data, {**p, **override}, frame=1)


def test_a_corrupt_huffman_code_names_the_mcu():
    data, p = _small()
    start = data.index(b"\xff\xda") + 14
    bad = bytearray(data)
    bad[start:start + 8] = b"\xff\x00" * 4  # all-ones bits: no code of the tables
    with pytest.raises(CodecError, match=r"JPEG frame 0: .*MCU 0"):
        jb.decode_frame(bytes(bad), p, frame=0)


def test_encoder_rejects_what_it_cannot_code():
    with pytest.raises(CodecError, match="JPEG Baseline holds 8-bit samples; Bits Allocated is 16"):
        jb.encode_frame(np.full((8, 8), 300, np.uint16), rows=8, columns=8, bits_allocated=16)
    with pytest.raises(CodecError, match="do not fit 12-bit"):
        jb.encode_frame_extended(np.full((8, 8), 5000, np.uint16), rows=8, columns=8, bits_allocated=16,
                                 bits_stored=12)
    with pytest.raises(CodecError, match="do not fit"):
        jb.encode_frame(np.full((8, 8), -1, np.int8), rows=8, columns=8, bits_allocated=8, pixel_representation=1)
    with pytest.raises(CodecError, match="shape"):
        jb.encode_frame(np.zeros((8, 9), np.uint8), rows=8, columns=8, bits_allocated=8)
    with pytest.raises(CodecError, match="Photometric Interpretation PALETTE COLOR"):
        jb.encode_frame(np.zeros((8, 8, 3), np.uint8), rows=8, columns=8, samples=3, bits_allocated=8,
                        photometric="PALETTE COLOR")


def _fuzz_check(data: bytes, p: dict) -> None:
    try:
        out = jb.decode_frame(data, p, frame=5)
    except CodecError as exc:
        assert "JPEG frame 5" in str(exc)
        return
    assert out.shape == (p["rows"], p["columns"]) + ((p["samples"],) if p.get("samples", 1) > 1 else ())


@FAST
@given(st.data())
def test_fuzz_mutated_codestreams(data):
    seed, p = _small()
    b = bytearray(seed)
    for _ in range(data.draw(st.integers(1, 6))):
        op = data.draw(st.integers(0, 3))
        i = data.draw(st.integers(0, len(b) - 1))
        if op == 0:
            b[i] = data.draw(st.integers(0, 255))
        elif op == 1:
            del b[i:i + data.draw(st.integers(1, 16))]
        elif op == 2:
            b[i:i] = data.draw(st.binary(min_size=1, max_size=6))
        else:
            b[i] ^= 1 << data.draw(st.integers(0, 7))
        if not b:
            break
    _fuzz_check(bytes(b), p)


def _corpus() -> list[Path]:
    return sorted(CORPUS.glob("*.jpg"))


def test_the_corpus_is_there():
    assert len(_corpus()) >= 5


@pytest.mark.parametrize("path", _corpus(), ids=lambda p: p.name)
def test_corpus(path):
    """Inputs that once were (or could be) trouble: each must give a CodecError or a frame of the
    right shape (parameters in the file name: rows x columns x samples)."""
    rows, cols, samples = (int(x) for x in path.stem.split("-")[-1].split("x"))
    _fuzz_check(path.read_bytes(), dict(rows=rows, columns=cols, samples=samples, bits_allocated=8))


# -- 5. registry and pixel_array ------------------------------------------------------------------
def test_registry():
    assert can_decode(BASELINE) and can_encode(BASELINE) and can_decode(EXTENDED) and can_encode(EXTENDED)
    assert get_codec(BASELINE).source == "pacsnb.codecs.jpeg_baseline (numba)"
    img = _rgb(9, 11)[..., 2]
    data = get_codec(BASELINE).encode_frame(img, FrameParams(rows=9, columns=11), quality=100)
    assert int(np.abs(get_codec(EXTENDED).decode_frame(data, FrameParams(rows=9, columns=11)).astype(int)
                      - img).max()) <= 3


def test_pixel_array_decodes_one_frame_only(tmp_path):
    from pacsnb.io.encaps import set_encapsulated_pixel_data
    from codec_helpers import image_ds
    frames = np.stack([_rgb(16, 24, s) for s in range(3)])
    ds = image_ds(frames, 8, 8, False, 3)
    ds.PhotometricInterpretation = "YBR_FULL_422"
    good = [jb.encode_frame(f, rows=16, columns=24, samples=3, bits_allocated=8) for f in frames]
    set_encapsulated_pixel_data(ds, [good[0], b"\xff\xd8garbage", good[2]], BASELINE)
    assert pixel_array(ds, frame=2).shape == (16, 24, 3)
    with pytest.raises(CodecError, match="frame 1"):
        pixel_array(ds, frame=1)
    with pytest.raises(CodecError, match="frame 1"):
        pixel_array(ds)


def test_rgb_labelled_jfif_data_is_converted_to_rgb():
    rgb = _rgb(16, 16)
    data = jb.encode_frame(rgb, rows=16, columns=16, samples=3, bits_allocated=8, quality=100, subsampling="444")
    jfif = data[:2] + b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + data[2:]
    p = dict(rows=16, columns=16, samples=3, bits_allocated=8)
    assert jb.read_header(jfif).colour == "JFIF"
    as_rgb = jb.decode_frame(jfif, p, photometric="RGB")
    assert int(np.abs(as_rgb.astype(int) - rgb).max()) <= 3
    raw = jb.decode_frame(jfif, p, photometric="RGB", colour="raw")
    assert np.array_equal(raw, jb.decode_frame(data, p, photometric="YBR_FULL"))


# -- the benchmark's JPEG baseline rows -----------------------------------------------------------
def test_benchmark_prints_baseline_rows(tmp_path):
    import json
    import re
    import sys
    bench = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_codecs.py"
    out = tmp_path / "figures.json"
    run = subprocess.run([sys.executable, str(bench), "--quick", "--only", "baseline", "--repeats", "1",
                          "--json", str(out)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    text = run.stdout[run.stdout.index("== JPEG Baseline"):]
    text = text[: text.find("\n== ", 3)] if "\n== " in text[3:] else text  # this section only
    assert "WRONG" not in text
    for op in ("decode", "encode"):
        assert len(re.findall(rf"{op}\n\s+pacsnb\s+\d+ MB/s", text)) == 2, text
    assert len(re.findall(r"ratio\s+\d+\.\d+x", text)) == 4, text
    figures = json.loads(out.read_text())
    for part in ("baseline_ct8", "baseline_rgb"):
        for op in ("decode", "encode"):
            f = figures[part][op]
            assert f["mb_per_s"]["pacsnb"] > 0
            assert abs(f["ratio"] - f["mb_per_s"]["pacsnb"] / f["mb_per_s"][f["fastest_peer"]]) < 1e-9
