"""Transcoding: the same data set in another transfer syntax (like dcmconv, dcmcrle, dcmdrle,
dcmcjpeg and dcmdjpeg).

:func:`transcode` gives a new :class:`~pacsnb.dicom.Dataset` whose pixel data suits the
transfer syntax asked for:

- native to compressed: each frame is encoded by the codec of :mod:`pacsnb.codecs` and the
  frames are set as encapsulated Pixel Data;
- compressed to native: the frames are decoded and written as native Pixel Data (OB for
  8-bit data, OW otherwise), colour interleaved by pixel (Planar Configuration 0, as
  dcmdrle writes it);
- compressed to another compressed syntax: through native values;
- uncompressed to uncompressed (implicit/explicit little endian, explicit big endian,
  deflated): only the Transfer Syntax UID of the file meta changes; :func:`pacsnb.write`
  writes the bytes.

Lossless targets leave Lossy Image Compression (0028,2110) as it is. JPEG Baseline and
Extended (``1.2.840.10008.1.2.4.50`` / ``.51``) are lossy: encoding to them sets Lossy
Image Compression to ``01``, appends the compression ratio and ``ISO_10918_1`` to Lossy
Image Compression Ratio and Method (PS3.3 C.7.6.1.1.5), gives the result a new SOP
Instance UID (as dcmcjpeg does by default; ``new_uid=False`` keeps it), and sets the
Photometric Interpretation of the coded colour space (RGB becomes ``YBR_FULL_422``, or
``YBR_FULL`` with ``subsampling="444"``; see :func:`pacsnb.codecs.jpeg_baseline.colour_plan`).
Decoding JPEG frames whose chroma was subsampled gives full-size YCbCr, written natively as
``YBR_FULL``.
What cannot be done (a syntax without an encoder or decoder) is a
:class:`~pacsnb.errors.CodecError` that says so.

Examples
--------
>>> import numpy as np
>>> from pacsnb.samples import make_us_image
>>> from pacsnb.pixels import pixel_array
>>> ds = make_us_image(rows=16, columns=24, n_frames=2)
>>> rle = transcode(ds, "1.2.840.10008.1.2.5")
>>> rle.file_meta.TransferSyntaxUID.name, rle.NumberOfFrames
('RLE Lossless', '2')
>>> back = transcode(rle, "1.2.840.10008.1.2.1")
>>> back["PixelData"].VR, np.array_equal(pixel_array(back), pixel_array(ds))
('OB', True)
"""
from __future__ import annotations

from typing import Any

import numpy as np

from pacsnb.codecs import FrameParams, can_decode, can_encode, get_codec, registered_codecs
from pacsnb.codecs.jpeg_baseline import colour_plan
from pacsnb.dicom import DataElement, Dataset, UID
from pacsnb.dicom.uid import generate_uid
from pacsnb.errors import CodecError, DictionaryError
from pacsnb.io.encaps import set_encapsulated_pixel_data
from pacsnb.pixels.array import pixel_array, pixel_format

__all__ = ["transcode", "UNCOMPRESSED"]

_IMPLICIT_LE = "1.2.840.10008.1.2"
_EXPLICIT_LE = "1.2.840.10008.1.2.1"
_DEFLATED = "1.2.840.10008.1.2.1.99"
_EXPLICIT_BE = "1.2.840.10008.1.2.2"
#: The uncompressed transfer syntaxes pacsnb writes (the writer does their bytes).
UNCOMPRESSED = (_IMPLICIT_LE, _EXPLICIT_LE, _DEFLATED, _EXPLICIT_BE)
_JPEG_LOSSLESS = ("1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70", "1.2.840.10008.1.2.4.80")
_JPEG_LOSSY = ("1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51")
_PIXEL_DATA = 0x7FE00010
_OFFSET_TABLES = (0x7FE00001, 0x7FE00002)


def _named(uid: UID) -> str:
    return f"{uid.name} ({uid})" if uid.name else str(uid)


def _target(transfer_syntax: Any) -> UID:
    uid = UID(str(transfer_syntax))
    if not uid.is_transfer_syntax:
        raise CodecError(f"{str(transfer_syntax)!r} is not a transfer syntax UID")
    return uid


def _is_encapsulated(ds: Dataset, ts: UID | None) -> bool:
    if _PIXEL_DATA in ds:
        return bool(ds[_PIXEL_DATA].is_undefined_length)
    try:
        return bool(ts is not None and ts.is_transfer_syntax and ts.is_encapsulated)
    except DictionaryError:
        return False


def _with_meta(ds: Dataset, ts: str) -> Dataset:
    if ds.file_meta is None:
        ds.file_meta = Dataset()
    ds.file_meta.TransferSyntaxUID = ts
    return ds


def _to_native(ds: Dataset, new: Dataset) -> None:
    """Decode ``ds``'s encapsulated Pixel Data onto ``new`` as native Pixel Data."""
    src = UID(str(ds.transfer_syntax))
    if not can_decode(src):
        raise CodecError(f"cannot decode {_named(src)} yet: pacsnb has no decoder for it")
    fmt = pixel_format(ds)
    arr = pixel_array(ds)
    data = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes()
    if len(data) & 1:
        data += b"\x00"
    for tag in _OFFSET_TABLES:
        if tag in new:
            del new[tag]
    new.add(DataElement(_PIXEL_DATA, "OB" if fmt.bits_allocated <= 8 else "OW", data))
    if fmt.samples > 1:
        new.PlanarConfiguration = 0  # the codecs give colour-by-pixel frames (dcmdrle does the same)
    if fmt.subsampled:
        new.PhotometricInterpretation = "YBR_FULL"  # decoded chroma is full size (JPEG 4:2:2 / 4:2:0)


def _encode(ds: Dataset, new: Dataset, target: UID, options: dict[str, Any]) -> None:
    """Encode every frame of ``ds`` (native or decodable) onto ``new`` in ``target``."""
    fmt = pixel_format(ds)
    if fmt.tag != _PIXEL_DATA:
        raise CodecError(f"cannot encode float pixel data in {_named(target)}: only Pixel Data (7FE0,0010) "
                         "can be compressed")
    if fmt.bits_allocated not in (8, 16, 32):
        raise CodecError(f"cannot encode {fmt.bits_allocated}-bit pixel data (Bits Allocated) in {_named(target)}")
    if _is_encapsulated(ds, UID(str(ds.transfer_syntax))):
        src = UID(str(ds.transfer_syntax))
        if not can_decode(src):
            raise CodecError(f"cannot decode {_named(src)} yet, so it cannot be transcoded to {_named(target)}")
    codec = get_codec(target)
    params = FrameParams(rows=fmt.rows, columns=fmt.columns, samples=fmt.samples,
                         bits_allocated=fmt.bits_allocated, pixel_representation=int(fmt.signed),
                         planar_configuration=0)
    opts = dict(options)
    lossy = str(target) in _JPEG_LOSSY
    new_uid = bool(opts.pop("new_uid", True))
    if str(target) in _JPEG_LOSSLESS:
        opts.setdefault("bits_stored", fmt.bits_stored)
    if lossy:
        photometric = _jpeg_lossy_options(fmt, target, opts)
    frames = [codec.encode_frame(np.ascontiguousarray(pixel_array(ds, frame=i)), params, frame=i, **opts)
              for i in range(fmt.frames)]
    set_encapsulated_pixel_data(new, frames, str(target))
    if fmt.samples > 1:
        new.PlanarConfiguration = 0  # the codecs were given colour-by-pixel frames
    if fmt.subsampled:
        new.PhotometricInterpretation = "YBR_FULL"  # pixel_array expanded the 4:2:2 chroma
    if lossy:
        _mark_lossy(ds, new, fmt, frames, photometric, int(opts["bits_stored"]), new_uid)


def _jpeg_lossy_options(fmt, target: UID, opts: dict[str, Any]) -> str:
    """Fill in the JPEG Baseline / Extended encoder's options; the Photometric
    Interpretation of the result."""
    if fmt.signed:
        raise CodecError(f"cannot encode signed pixel data (Pixel Representation 1) in {_named(target)}: lossy "
                         "JPEG codes unsigned samples (use a lossless syntax, such as JPEG Lossless)")
    if str(target) == _JPEG_LOSSY[0] and (fmt.bits_allocated != 8 or fmt.bits_stored > 8):
        raise CodecError(f"cannot encode {fmt.bits_stored}-bit pixel data (Bits Stored) in {_named(target)}, "
                         "which holds 8-bit samples; use JPEG Extended (1.2.840.10008.1.2.4.51) for up to 12 bits")
    if fmt.bits_stored > 12 or fmt.bits_allocated not in (8, 16):
        raise CodecError(f"cannot encode {fmt.bits_stored}-bit pixel data (Bits Stored) in {_named(target)}: "
                         "lossy JPEG holds 8 or 12-bit samples (use a lossless syntax)")
    precision = 8 if fmt.bits_stored <= 8 else 12
    opts["bits_stored"] = precision
    photometric = fmt.photometric
    if fmt.samples == 3:
        sub = opts.get("subsampling")
        if sub is None and fmt.columns % 2 and fmt.photometric != "YBR_FULL_422":
            sub = "444"  # pixel_array reads YBR_FULL_422 frames of even width only
        photometric, opts["subsampling"] = colour_plan(fmt.photometric, 3, sub)
        opts["photometric"] = fmt.photometric
    return photometric


def _mark_lossy(ds: Dataset, new: Dataset, fmt, frames: list[bytes], photometric: str, precision: int,
                new_uid: bool) -> None:
    """Lossy Image Compression, its ratio and method (PS3.3 C.7.6.1.1.5), the coded
    Photometric Interpretation and sample precision, and a new SOP Instance UID."""
    raw = fmt.frames * fmt.rows * fmt.columns * fmt.samples * (fmt.bits_allocated // 8)
    ratio = raw / max(1, sum(len(f) for f in frames))
    old_ratio = [str(v) for v in _values(ds.get("LossyImageCompressionRatio"))]
    old_method = [str(v) for v in _values(ds.get("LossyImageCompressionMethod"))]
    new.LossyImageCompression = "01"
    new.LossyImageCompressionRatio = old_ratio + [f"{ratio:.4g}"[:16]]
    new.LossyImageCompressionMethod = old_method + ["ISO_10918_1"]
    if fmt.samples == 3:
        new.PhotometricInterpretation = photometric
    if fmt.bits_stored != precision:
        new.BitsStored, new.HighBit = precision, precision - 1  # lossy values may use every coded bit
    if new_uid and "SOPInstanceUID" in ds:
        uid = generate_uid()
        new.SOPInstanceUID = uid
        if new.file_meta is not None and "MediaStorageSOPInstanceUID" in new.file_meta:
            new.file_meta.MediaStorageSOPInstanceUID = uid


def _values(v: Any) -> list:
    if v is None or v == "":
        return []
    if isinstance(v, (str, bytes)) or not hasattr(v, "__iter__"):
        return [v]
    return list(v)


def transcode(ds: Dataset, transfer_syntax: Any, **options: Any) -> Dataset:
    """A copy of ``ds`` in another transfer syntax, pixel data decoded or encoded as needed.

    Parameters
    ----------
    ds
        The data set (its own transfer syntax is ``ds.transfer_syntax``, explicit VR little
        endian when it has none). It is not changed.
    transfer_syntax
        The transfer syntax UID wanted: an uncompressed one (implicit or explicit VR little
        endian, explicit VR big endian, deflated) or one :func:`pacsnb.codecs.can_encode`
        accepts (RLE Lossless, JPEG Lossless Process 14 and its SV1 form, JPEG Baseline
        and Extended, JPEG-LS Lossless).
    **options
        Passed to the codec's ``encode_frame`` (for JPEG Lossless: ``predictor=`` 1 .. 7,
        ``restart_interval=``; for JPEG Baseline / Extended: ``quality=`` 1 .. 100,
        ``subsampling=`` ``"444"``/``"422"``/``"420"``, ``restart_interval=``, and
        ``new_uid=False`` to keep the SOP Instance UID).

    Returns
    -------
    Dataset
        A new data set whose ``file_meta.TransferSyntaxUID`` is ``transfer_syntax``; write
        it with :func:`pacsnb.write`. Colour pixel data that was decoded or encoded has
        Planar Configuration 0. Lossy Image Compression is left as it is, except for JPEG
        Baseline / Extended targets (see the module's description).

    Raises
    ------
    CodecError
        When ``transfer_syntax`` is not a transfer syntax, or a syntax pacsnb cannot encode
        (or the source one it cannot decode), or pixel data a codec cannot hold (1-bit,
        float); the message says which.
    InvalidDicomError
        When the pixel data attributes are missing or inconsistent.

    Examples
    --------
    >>> import numpy as np
    >>> from pacsnb.samples import make_ct_series
    >>> from pacsnb.pixels import pixel_array
    >>> ct = make_ct_series(n_slices=1, rows=16, columns=16)[0]
    >>> jl = transcode(ct, "1.2.840.10008.1.2.4.70")
    >>> jl.file_meta.TransferSyntaxUID.name
    'JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])'
    >>> np.array_equal(pixel_array(transcode(jl, "1.2.840.10008.1.2")), pixel_array(ct))
    True
    >>> from pacsnb.samples import make_us_image
    >>> us = make_us_image(rows=16, columns=24)
    >>> jpg = transcode(us, "1.2.840.10008.1.2.4.50", quality=90)
    >>> jpg.PhotometricInterpretation, jpg.LossyImageCompression, jpg.LossyImageCompressionMethod
    ('YBR_FULL_422', '01', 'ISO_10918_1')
    >>> jpg.SOPInstanceUID != us.SOPInstanceUID
    True
    >>> transcode(ct, "1.2.840.10008.1.2.4.90")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pacsnb.errors.CodecError: cannot encode JPEG 2000 Image Compression (Lossless Only) (1.2.840.10008.1.2.4.90)...
    """
    target = _target(transfer_syntax)
    src_ts = UID(str(ds.transfer_syntax or _EXPLICIT_LE))
    encapsulated = _is_encapsulated(ds, src_ts)
    has_pixels = _PIXEL_DATA in ds
    if target.is_encapsulated:
        if not can_encode(target):
            able = ", ".join(sorted(UID(u).name or u for u, c in registered_codecs().items() if c.can_encode))
            raise CodecError(f"cannot encode {_named(target)} yet: pacsnb has no encoder for it; choose one "
                             f"it encodes ({able}) or an uncompressed syntax")
    elif str(target) not in UNCOMPRESSED:
        raise CodecError(f"cannot write {_named(target)}")
    new = ds.copy()
    if has_pixels and encapsulated and str(src_ts) == str(target):
        return _with_meta(new, str(target))  # already there: keep the frames as they are
    if target.is_encapsulated:
        if has_pixels:
            _encode(ds, new, target, options)
    elif has_pixels and encapsulated:
        _to_native(ds, new)
    return _with_meta(new, str(target))
