"""Native (uncompressed) Pixel Data to numpy arrays (PS3.5 section 8, PS3.3 C.7.6.3).

:func:`pixel_array` turns the value of Pixel Data (7FE0,0010), Float Pixel Data
(7FE0,0008) or Double Float Pixel Data (7FE0,0009) into an array of *stored values*: no
Modality LUT, no VOI LUT, no colour conversion (those are later steps of this package).

The array is a zero-copy view of the element's bytes whenever the bytes can be used as
they are (little endian, Bits Stored equal to Bits Allocated or no stray high bits,
no bit unpacking): such a view is **read-only**; call ``.copy()`` for a writable array.
A copy is made only to unpack 1-bit data, to mask or sign-extend values with unused high
bits, to swap big endian bytes, and to expand YBR_FULL_422 chroma.

Shapes: ``(rows, columns)`` for one sample per pixel, ``(rows, columns, samples)`` for
colour (whatever the Planar Configuration), with a leading ``frames`` axis when Number of
Frames is more than 1. ``frame=i`` returns frame ``i`` alone, reading only its bytes.

Encapsulated (compressed) Pixel Data in a transfer syntax that
:func:`pacsnb.codecs.can_decode` accepts (RLE Lossless) is decoded frame by frame through
the codec registry: ``frame=i`` reads and decodes frame ``i`` only. Other compressed
syntaxes raise :class:`~pacsnb.errors.CodecError`.

Examples
--------
>>> import numpy as np
>>> from pacsnb.dicom import Dataset
>>> from pacsnb.pixels import pixel_array
>>> ds = Dataset()
>>> ds.Rows, ds.Columns, ds.SamplesPerPixel = 2, 3, 1
>>> ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 1
>>> ds.PixelData = np.array([0, 1, 2047, 0x0800, 0x0FFF, 0xF00F], "<u2").tobytes()
>>> pixel_array(ds)
array([[    0,     1,  2047],
       [-2048,    -1,    15]], dtype=int16)
>>> ds.NumberOfFrames = 1
>>> pixel_array(ds, frame=0).shape
(2, 3)
"""
from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

import numpy as np

from pacsnb.codecs import can_decode, get_codec, missing_codec_hint
from pacsnb.codecs.registry import Codec
from pacsnb.dicom.dataset import DataElement, Dataset
from pacsnb.dicom.uid import UID
from pacsnb.errors import CodecError, DicomValueError, FrameIndexError, InvalidDicomError, NoPixelDataError
from pacsnb.io.encaps import get_frame, iter_frames

__all__ = ["pixel_array", "PixelFormat", "pixel_format", "NoPixelDataError", "FrameIndexError",
           "PIXEL_DATA_TAGS"]

log = logging.getLogger(__name__)

PIXEL_DATA = 0x7FE00010
FLOAT_PIXEL_DATA = 0x7FE00008
DOUBLE_FLOAT_PIXEL_DATA = 0x7FE00009
#: The elements that can hold the pixels of an image, in the order they are looked for.
PIXEL_DATA_TAGS = (PIXEL_DATA, FLOAT_PIXEL_DATA, DOUBLE_FLOAT_PIXEL_DATA)
_PIXEL_NAMES = {PIXEL_DATA: "Pixel Data (7FE0,0010)", FLOAT_PIXEL_DATA: "Float Pixel Data (7FE0,0008)",
                DOUBLE_FLOAT_PIXEL_DATA: "Double Float Pixel Data (7FE0,0009)"}

_HOST_LITTLE = sys.byteorder == "little"
_SUBSAMPLED_422 = ("YBR_FULL_422", "YBR_PARTIAL_422")


@dataclass(frozen=True, slots=True)
class PixelFormat:
    """What the Image Pixel module says about the layout of native pixel data.

    ``frame_bits`` is the size of one frame in bits (frames of 1-bit data need not start
    on a byte boundary); ``dtype`` is the (native byte order) type of the stored values.
    Made by :func:`pixel_format`, which checks the attributes.

    Attributes
    ----------
    tag
        The pixel data element: Pixel Data, Float Pixel Data or Double Float Pixel Data.
    rows, columns, samples, planar, bits_allocated, bits_stored
        Rows, Columns, Samples per Pixel, Planar Configuration, Bits Allocated and Bits
        Stored.
    signed
        Pixel Representation is 1.
    frames
        Number of Frames (1 when absent).
    photometric
        Photometric Interpretation (``''`` when absent).
    dtype
        The numpy dtype of the stored values.

    Examples
    --------
    >>> from pacsnb.dicom import Dataset
    >>> ds = Dataset({"Rows": 2, "Columns": 3, "BitsAllocated": 16, "BitsStored": 12,
    ...               "PixelRepresentation": 1, "NumberOfFrames": 4})
    >>> ds.PixelData = bytes(48)
    >>> fmt = pixel_format(ds)
    >>> fmt.frames, fmt.frame_shape, fmt.dtype, fmt.frame_bits
    (4, (2, 3), dtype('int16'), 96)
    """

    tag: int
    rows: int
    columns: int
    samples: int
    planar: int
    bits_allocated: int
    bits_stored: int
    signed: bool
    frames: int
    photometric: str
    dtype: np.dtype

    @property
    def subsampled(self) -> bool:
        """YBR_FULL_422 / YBR_PARTIAL_422: two luminance values share one chroma pair."""
        return self.samples == 3 and self.photometric in _SUBSAMPLED_422

    @property
    def values_per_frame(self) -> int:
        """Stored values in one frame: rows x columns x samples (two thirds of it for 4:2:2)."""
        n = self.rows * self.columns * self.samples
        return n * 2 // 3 if self.subsampled else n

    @property
    def frame_bits(self) -> int:
        """The size of one frame in bits."""
        return self.values_per_frame * self.bits_allocated

    @property
    def frame_shape(self) -> tuple[int, ...]:
        """The array shape of one frame: ``(rows, columns)`` or ``(rows, columns, samples)``."""
        if self.samples == 1:
            return (self.rows, self.columns)
        return (self.rows, self.columns, self.samples)


def _root(ds: Dataset) -> Dataset:
    d = ds
    while d.__dict__.get("_parent") is not None:
        d = d.__dict__["_parent"]
    return d


def _where(ds: Dataset) -> str | None:
    return _root(ds).__dict__.get("filename")


def _int_attr(ds: Dataset, keyword: str, default: int | None = None, *, tag_name: str = "") -> int:
    v = ds.get(keyword, None)
    if v is None or (isinstance(v, str) and v.strip() == ""):
        if default is None:
            raise InvalidDicomError(
                f"{keyword} {tag_name} is missing or empty; native pixel data cannot be laid out without it",
                path=_where(ds))
        return default
    try:
        if isinstance(v, (list, tuple, np.ndarray)):
            raise TypeError("multi-valued")
        return int(v)
    except (TypeError, ValueError):
        raise InvalidDicomError(f"{keyword} {tag_name} has the value {v!r}, which is not an integer",
                                path=_where(ds)) from None


def _pixel_tag(ds: Dataset) -> int:
    """The tag of the pixel data element, without building the element."""
    for tag in PIXEL_DATA_TAGS:
        if tag in ds:
            return tag
    raise NoPixelDataError("the data set has no Pixel Data (7FE0,0010), Float Pixel Data (7FE0,0008) or "
                           "Double Float Pixel Data (7FE0,0009) (was it read with stop_before_pixels=True?)",
                           path=_where(ds))


def _transfer_syntax(ds: Dataset) -> str | None:
    ts = _root(ds).transfer_syntax
    return None if ts is None else str(ts)


def _check_native(ds: Dataset, elem: DataElement) -> None:
    if int(elem.tag) != PIXEL_DATA:
        return  # Float and Double Float Pixel Data are always native (PS3.5 A.4)
    ts = _transfer_syntax(ds)
    uid = UID(ts) if ts else None
    encapsulated = elem.is_undefined_length
    if not encapsulated and uid is not None and uid.is_transfer_syntax:
        encapsulated = uid.is_encapsulated
    if encapsulated:
        if uid is not None:
            named = f"{uid.name} ({ts})" if uid.name else ts
        else:
            named = "an unknown transfer syntax"
        raise CodecError(
            f"{_where(ds) + ': ' if _where(ds) else ''}Pixel Data is encapsulated (compressed) in {named}; "
            "pacsnb.pixels reads native (uncompressed) Pixel Data and the syntaxes pacsnb.codecs decodes; "
            "convert the file to one of those with another tool, or register a plug-in decoder with "
            "pacsnb.codecs.register_codec"
            + (f"; {missing_codec_hint(ts)}" if uid is not None and uid.is_encapsulated else ""))


def _codec_for(ds: Dataset, tag: int) -> Codec | None:
    """The codec that decodes this encapsulated Pixel Data, or ``None`` (native data, or a
    syntax without a codec: :func:`_check_native` then says which)."""
    if tag != PIXEL_DATA:
        return None
    ts = _transfer_syntax(ds)
    if not ts:
        return None
    uid = UID(ts)
    if not (uid.is_transfer_syntax and uid.is_encapsulated and can_decode(ts)):
        return None
    return get_codec(ts)


def _decode_encapsulated(ds: Dataset, fmt: PixelFormat, codec: Codec, frame: int | None) -> np.ndarray:
    """Decode frame ``frame`` (or all) of encapsulated Pixel Data, one frame at a time.

    Problems of the item stream (found by ``pacsnb.io.encaps``) and of the codestream both
    come out as :class:`CodecError` naming the frame."""
    where = _where(ds)

    def failed(exc: Exception, i: int | None) -> CodecError:
        text = str(exc)
        if where and text.startswith(f"{where}: "):
            text = text[len(where) + 2:]
        if i is None:
            text = f"{codec.name}: {text}"
        elif not isinstance(exc, CodecError):
            text = f"{codec.name} frame {i}: {text}"
        return CodecError(f"{where}: {text}" if where else text)

    n = fmt.frames
    if frame is not None:
        i = _frame_index(frame, n)
        try:
            return _fix_high_bits(codec.decode_frame(get_frame(ds, i), fmt, frame=i), fmt)
        except (InvalidDicomError, DicomValueError, IndexError, CodecError) as exc:
            raise failed(exc, i) from exc
    out = np.empty((n,) + fmt.frame_shape, fmt.dtype)
    done = 0
    try:
        for data in iter_frames(ds):
            if done == n:
                raise CodecError(f"the pixel data holds more frames than Number of Frames ({n})")
            codec.decode_frame(data, fmt, frame=done, out=out[done])
            done += 1
    except (InvalidDicomError, DicomValueError, CodecError) as exc:
        raise failed(exc, None if done == n else done) from exc
    if done != n:
        raise failed(CodecError(f"the pixel data holds {done} frame(s), Number of Frames says {n}"), None)
    arr = _fix_high_bits(out, fmt)
    return arr[0] if n == 1 else arr


def _frame_index(frame: object, n: int) -> int:
    """``frame`` as an index in ``0 .. n - 1`` (negative counts from the end)."""
    try:
        i = int(frame)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise TypeError(f"frame must be an integer or None, not {type(frame).__name__}") from None
    if i < 0:
        i += n
    if not 0 <= i < n:
        raise FrameIndexError(f"frame {frame} is out of range: the data set has {n} "
                              f"frame{'s' if n != 1 else ''} (0 .. {n - 1})")
    return i


def pixel_format(ds: Dataset) -> PixelFormat:
    """Read and check the Image Pixel attributes that lay out native pixel data.

    Parameters
    ----------
    ds
        A data set with Pixel Data, Float Pixel Data or Double Float Pixel Data.

    Returns
    -------
    PixelFormat

    Raises
    ------
    NoPixelDataError
        When there is no pixel data element.
    InvalidDicomError
        When a required attribute is missing or has an impossible value.

    Examples
    --------
    >>> from pacsnb.dicom import Dataset
    >>> ds = Dataset()
    >>> ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = 4, 4, 3, "RGB"
    >>> ds.BitsAllocated, ds.BitsStored, ds.PixelRepresentation = 8, 8, 0
    >>> ds.PixelData = bytes(48)
    >>> f = pixel_format(ds)
    >>> f.frame_shape, f.dtype, f.frame_bits
    ((4, 4, 3), dtype('uint8'), 384)
    """
    tag = _pixel_tag(ds)
    where = _where(ds)
    rows = _int_attr(ds, "Rows", tag_name="(0028,0010)")
    columns = _int_attr(ds, "Columns", tag_name="(0028,0011)")
    if tag == PIXEL_DATA:
        ba = _int_attr(ds, "BitsAllocated", tag_name="(0028,0100)")
        samples = _int_attr(ds, "SamplesPerPixel", 1, tag_name="(0028,0002)")
        pr = _int_attr(ds, "PixelRepresentation", 0, tag_name="(0028,0103)")
        bs = _int_attr(ds, "BitsStored", ba, tag_name="(0028,0101)")
    else:
        expected = 32 if tag == FLOAT_PIXEL_DATA else 64
        ba = _int_attr(ds, "BitsAllocated", expected, tag_name="(0028,0100)")
        if ba != expected:
            raise InvalidDicomError(f"{_PIXEL_NAMES[tag]} needs Bits Allocated {expected}, the data set says {ba}",
                                    path=where)
        samples = _int_attr(ds, "SamplesPerPixel", 1, tag_name="(0028,0002)")
        pr, bs = 0, ba
    planar = _int_attr(ds, "PlanarConfiguration", 0, tag_name="(0028,0006)") if samples > 1 else 0
    frames = _int_attr(ds, "NumberOfFrames", 1, tag_name="(0028,0008)")
    photometric = str(ds.get("PhotometricInterpretation", "") or "").strip()
    if rows <= 0 or columns <= 0:
        raise InvalidDicomError(f"Rows x Columns is {rows} x {columns}: an image needs at least one pixel",
                                path=where)
    if samples not in (1, 3, 4):
        raise InvalidDicomError(f"Samples per Pixel is {samples}; native pixel data has 1, 3 or 4", path=where)
    if planar not in (0, 1):
        raise InvalidDicomError(f"Planar Configuration is {planar}; it must be 0 (interleaved) or 1 (planes)",
                                path=where)
    if frames < 0:
        raise InvalidDicomError(f"Number of Frames is {frames}", path=where)
    if frames == 0:
        log.warning("%s: Number of Frames is 0; reading one frame", where or "<dataset>")
        frames = 1
    if ba not in (1, 8, 16, 32, 64):
        raise InvalidDicomError(
            f"Bits Allocated {ba} is not supported for native pixel data (it must be 1, 8, 16, 32 or 64)",
            path=where)
    if not 1 <= bs <= ba:
        raise InvalidDicomError(f"Bits Stored {bs} must be between 1 and Bits Allocated ({ba})", path=where)
    if pr not in (0, 1):
        raise InvalidDicomError(f"Pixel Representation is {pr}; it must be 0 (unsigned) or 1 (signed)",
                                path=where)
    if tag == FLOAT_PIXEL_DATA:
        dtype = np.dtype(np.float32)
    elif tag == DOUBLE_FLOAT_PIXEL_DATA:
        dtype = np.dtype(np.float64)
    elif ba == 1:
        dtype = np.dtype(np.uint8)
    else:
        dtype = np.dtype(("i" if pr else "u") + str(ba // 8))
    fmt = PixelFormat(tag, rows, columns, samples, planar, ba, bs, bool(pr), frames, photometric, dtype)
    if fmt.subsampled:
        if columns % 2:
            raise InvalidDicomError(f"{photometric} needs an even number of Columns, got {columns}", path=where)
        if planar != 0:
            raise InvalidDicomError(f"{photometric} needs Planar Configuration 0, got {planar}", path=where)
        if ba == 1:
            raise InvalidDicomError(f"{photometric} with Bits Allocated 1 is not possible", path=where)
    return fmt


def _buffer_of(elem: DataElement) -> tuple[object, bool]:
    """The element's bytes and whether they are little endian, without copying."""
    raw = elem.raw
    if raw is not None:
        return raw, bool(getattr(elem, "_little", True))
    v = elem.value
    if v is None:
        return b"", True
    if isinstance(v, (bytes, bytearray, memoryview)):
        return v, True
    a = np.asarray(v)
    if a.dtype.kind not in "uifb":
        raise InvalidDicomError(f"Pixel Data holds a {a.dtype} array; expected bytes or a numeric array")
    a = np.ascontiguousarray(a)
    if a.dtype.byteorder == ">" or (a.dtype.byteorder == "=" and not _HOST_LITTLE):
        return a.astype(a.dtype.newbyteorder("<")).view(np.uint8).reshape(-1), True
    return a.view(np.uint8).reshape(-1), True


def _read_values(buf, little: bool, vr: str, fmt: PixelFormat, start_bit: int, nvalues: int) -> np.ndarray:
    """``nvalues`` stored values starting at bit ``start_bit`` of ``buf``, in native order."""
    mv = memoryview(buf).cast("B")
    if fmt.bits_allocated == 1:
        first = start_bit >> 3
        shift = start_bit & 7
        nbytes = (shift + nvalues + 7) >> 3
        chunk = _bytes_range(mv, first, first + nbytes, little, vr)
        bits = np.unpackbits(np.frombuffer(chunk, np.uint8), bitorder="little")
        return bits[shift:shift + nvalues]
    size = fmt.bits_allocated >> 3
    first = start_bit >> 3
    if size == 1:
        chunk = _bytes_range(mv, first, first + nvalues, little, vr)
        return np.frombuffer(chunk, fmt.dtype, count=nvalues)
    dt = fmt.dtype.newbyteorder("<" if little else ">")
    out = np.frombuffer(mv, dt, count=nvalues, offset=first)
    if not dt.isnative:
        out = out.astype(fmt.dtype)  # big endian data: one copy to native order
    return out


def _bytes_range(mv, a: int, b: int, little: bool, vr: str):
    """Bytes ``a:b`` of 8- or 1-bit data; big endian OW stores them swapped in 16-bit words."""
    if little or vr != "OW":
        return mv[a:b]
    wa, wb = a & ~1, (b + 1) & ~1
    chunk = mv[wa:wb]
    if len(chunk) & 1:  # an odd-length OW value (malformed): pad the last word
        chunk = bytes(chunk) + b"\x00"
    words = np.frombuffer(chunk, ">u2")
    swapped = words.astype("<u2").view(np.uint8)  # PS3.5 8.1.1: 8-bit samples in big endian OW
    return swapped[a - wa:b - wa]


def _fix_high_bits(arr: np.ndarray, fmt: PixelFormat) -> np.ndarray:
    """Clear unused high bits (unsigned) or sign-extend from Bits Stored (signed)."""
    ba, bs = fmt.bits_allocated, fmt.bits_stored
    if bs >= ba or ba == 1 or fmt.dtype.kind == "f" or arr.size == 0:
        return arr
    if fmt.signed:
        lo, hi = -(1 << (bs - 1)), (1 << (bs - 1)) - 1
        if arr.min() >= lo and arr.max() <= hi:
            return arr  # already sign-extended: keep the zero-copy view
        shift = ba - bs
        out = np.left_shift(arr, shift)
        np.right_shift(out, shift, out=out)  # arithmetic shift on a signed dtype
        return out
    mask = (1 << bs) - 1
    if arr.max() <= mask:
        return arr
    return np.bitwise_and(arr, arr.dtype.type(mask))


def _expand_422(arr: np.ndarray, fmt: PixelFormat, frames: int) -> np.ndarray:
    """Y0 Y1 Cb Cr per pixel pair (PS3.3 C.7.6.3.1.2) to Y Cb Cr per pixel."""
    q = arr.reshape(frames, fmt.rows, fmt.columns // 2, 4)
    out = np.empty((frames, fmt.rows, fmt.columns, 3), arr.dtype)
    out[:, :, 0::2, 0] = q[..., 0]
    out[:, :, 1::2, 0] = q[..., 1]
    out[:, :, 0::2, 1] = q[..., 2]
    out[:, :, 1::2, 1] = q[..., 2]
    out[:, :, 0::2, 2] = q[..., 3]
    out[:, :, 1::2, 2] = q[..., 3]
    return out


def _shape(arr: np.ndarray, fmt: PixelFormat, frames: int) -> np.ndarray:
    if fmt.subsampled:
        arr = _expand_422(arr, fmt, frames)
    elif fmt.samples == 1:
        arr = arr.reshape(frames, fmt.rows, fmt.columns)
    elif fmt.planar == 0:
        arr = arr.reshape(frames, fmt.rows, fmt.columns, fmt.samples)
    else:  # colour-by-plane: a zero-copy transposed view
        arr = arr.reshape(frames, fmt.samples, fmt.rows, fmt.columns).transpose(0, 2, 3, 1)
    return arr


def pixel_array(ds: Dataset, frame: int | None = None) -> np.ndarray:
    """The stored pixel values of native (uncompressed) pixel data as a numpy array.

    Encapsulated pixel data in a syntax :func:`pacsnb.codecs.can_decode` accepts (RLE
    Lossless) is decoded through the codec registry, one frame at a time; ``frame=i``
    decodes frame ``i`` only.

    Parameters
    ----------
    ds
        A data set with Pixel Data, Float Pixel Data or Double Float Pixel Data and the
        Image Pixel module attributes (Rows, Columns, Bits Allocated, ...).
    frame
        ``None`` for every frame; an index (negative counts from the end) for one frame,
        read from its own bytes only.

    Returns
    -------
    numpy.ndarray
        ``(rows, columns)``, ``(rows, columns, samples)``, or with a leading frames axis
        when Number of Frames is more than 1 and ``frame`` is ``None``. The dtype follows
        Bits Allocated and Pixel Representation (``uint8`` for 1-bit data, ``float32`` /
        ``float64`` for float pixel data), in native byte order. Zero-copy views are
        read-only (``ds.pixel_array`` gives a writable copy instead).

    Raises
    ------
    CodecError
        When Pixel Data is encapsulated (compressed) in a syntax pacsnb cannot decode (the
        message names the transfer syntax and what to install), or a frame of it is corrupt
        (the message names the frame and the problem).
    NoPixelDataError
        When there is no pixel data (an ``AttributeError`` and an ``InvalidDicomError``).
    InvalidDicomError
        When attributes are missing or the value is shorter than Rows x Columns x ... needs.
    FrameIndexError
        When ``frame`` is out of range.
    TypeError
        When ``frame`` is not an integer (or ``None``).

    Examples
    --------
    >>> import numpy as np
    >>> from pacsnb.dicom import Dataset
    >>> ds = Dataset()
    >>> ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.BitsAllocated, ds.PixelRepresentation = 2, 5, 1, 1, 0
    >>> ds.NumberOfFrames = 2
    >>> ds.PixelData = bytes([0b10100011, 0b11111000, 0b00001111])
    >>> pixel_array(ds, frame=1)
    array([[0, 1, 1, 1, 1],
           [1, 1, 1, 1, 1]], dtype=uint8)
    >>> pixel_array(ds).shape
    (2, 2, 5)
    """
    fmt = pixel_format(ds)
    codec = _codec_for(ds, fmt.tag)
    if codec is not None:
        return _decode_encapsulated(ds, fmt, codec, frame)
    elem = ds[fmt.tag]
    _check_native(ds, elem)
    buf, little = _buffer_of(elem)
    have_bits = memoryview(buf).nbytes * 8
    frame_bits = fmt.frame_bits
    if frame is None:
        first, count = 0, fmt.frames
    else:
        first, count = _frame_index(frame, fmt.frames), 1
    need_bits = (first + count) * frame_bits
    if need_bits > have_bits:
        need, have = (fmt.frames * frame_bits + 7) // 8, have_bits // 8
        shape = " x ".join(str(x) for x in (fmt.frames, fmt.rows, fmt.columns, fmt.samples))
        what = f"frame {first} lies" if frame is not None else "the pixels lie"
        raise InvalidDicomError(
            f"{_PIXEL_NAMES[fmt.tag]} has {have} bytes but {what} beyond them: Number of Frames x Rows x "
            f"Columns x Samples per Pixel = {shape} at {fmt.bits_allocated} bits allocated"
            f"{' (4:2:2 subsampled)' if fmt.subsampled else ''} needs {need} bytes",
            path=_where(ds), tag=fmt.tag)
    if frame is None:
        extra = have_bits // 8 - (need_bits + 7) // 8
        if extra > 1:
            log.warning("%s: %s has %d bytes more than the %d frame(s) of %d x %d need; ignoring them",
                        _where(ds) or "<dataset>", _PIXEL_NAMES[fmt.tag], extra, fmt.frames, fmt.rows,
                        fmt.columns)
    arr = _read_values(buf, little, elem.VR, fmt, first * frame_bits, count * fmt.values_per_frame)
    arr = _fix_high_bits(arr, fmt)
    arr = _shape(arr, fmt, count)
    if count == 1:
        return arr[0]
    return arr
