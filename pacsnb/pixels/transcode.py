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

Only lossless codecs exist so far, so Lossy Image Compression (0028,2110) is left as it is.
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

from pacsnb.codecs import FrameParams, can_decode, can_encode, get_codec
from pacsnb.dicom import DataElement, Dataset, UID
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
_JPEG_LOSSLESS = ("1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70")
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
    if str(target) in _JPEG_LOSSLESS:
        opts.setdefault("bits_stored", fmt.bits_stored)
    frames = [codec.encode_frame(np.ascontiguousarray(pixel_array(ds, frame=i)), params, frame=i, **opts)
              for i in range(fmt.frames)]
    set_encapsulated_pixel_data(new, frames, str(target))
    if fmt.samples > 1:
        new.PlanarConfiguration = 0  # the codecs were given colour-by-pixel frames
    if fmt.subsampled:
        new.PhotometricInterpretation = "YBR_FULL"  # pixel_array expanded the 4:2:2 chroma


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
        accepts (RLE Lossless, JPEG Lossless Process 14 and its SV1 form).
    **options
        Passed to the codec's ``encode_frame`` (for JPEG Lossless: ``predictor=`` 1 .. 7,
        ``restart_interval=``).

    Returns
    -------
    Dataset
        A new data set whose ``file_meta.TransferSyntaxUID`` is ``transfer_syntax``; write
        it with :func:`pacsnb.write`. Colour pixel data that was decoded or encoded has
        Planar Configuration 0. Lossy Image Compression is left as it is (every codec here
        is lossless).

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
    >>> transcode(ct, "1.2.840.10008.1.2.4.80")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pacsnb.errors.CodecError: cannot encode JPEG-LS Lossless Image Compression (1.2.840.10008.1.2.4.80) yet...
    """
    target = _target(transfer_syntax)
    src_ts = UID(str(ds.transfer_syntax or _EXPLICIT_LE))
    encapsulated = _is_encapsulated(ds, src_ts)
    has_pixels = _PIXEL_DATA in ds
    if target.is_encapsulated:
        if not can_encode(target):
            raise CodecError(f"cannot encode {_named(target)} yet: pacsnb has no encoder for it "
                             f"(it encodes RLE Lossless and JPEG Lossless)")
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
