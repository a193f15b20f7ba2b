"""RLE Lossless (1.2.840.10008.1.2.5, PS3.5 Annex G and A.4.2): decode and encode frames.

Each frame is one RLE codestream: a 64-byte header of 16 little endian UL (the number of
segments, then the offset of each segment from the start of the frame, 0 for unused ones),
then one segment per byte of each sample (G.2): sample 0's most significant byte first,
down to its least significant byte, then sample 1's, ... . 8-bit RGB has three segments,
16-bit monochrome two, 32-bit RGB twelve; at most 15 are allowed. A segment is a
PackBits-like run stream (see :mod:`pacsnb.codecs._kernels`), each row encoded on its own,
padded to an even length.

:func:`decode_frame` gives a ``(rows, columns)`` or ``(rows, columns, samples)`` array of
stored values (unsigned or signed after Pixel Representation, native byte order,
C-contiguous); :func:`encode_frame` gives the codestream of one frame, ready for
:func:`pacsnb.io.encaps.set_encapsulated_pixel_data`.

What is accepted as found in the wild: segments of odd length (unpadded), any padding or
trailing bytes after a segment has produced its pixels, a last run that overshoots the
frame (cut), no-op ``-128`` headers, a first segment offset other than 64, junk in the
unused offset slots, frames with a padding byte after the last segment; and, with
``segment_order="<"``, files written least significant byte first (dcmtk's
``+br``, pydicom's ``rle_segment_order``). Everything else is a
:class:`~pacsnb.errors.CodecError` that names the frame (when known), the segment and the
byte offset.

Examples
--------
>>> import numpy as np
>>> from pacsnb.codecs import rle
>>> ct = np.array([[-1024, -1024, -1024, 40], [7, 7, 7, 7]], dtype=np.int16)
>>> data = rle.encode_frame(ct, rows=2, columns=4, bits_allocated=16, pixel_representation=1)
>>> len(data), data[:4], data[4:8]   # 2 segments; the first starts after the header
(76, b'\\x02\\x00\\x00\\x00', b'@\\x00\\x00\\x00')
>>> rle.decode_frame(data, rows=2, columns=4, bits_allocated=16, pixel_representation=1)
array([[-1024, -1024, -1024,    40],
       [    7,     7,     7,     7]], dtype=int16)
>>> rle.decode_frame(data[:70], rows=2, columns=4, bits_allocated=16, pixel_representation=1, frame=3)
Traceback (most recent call last):
...
pacsnb.errors.CodecError: RLE Lossless frame 3: the header gives segment 2 the offset 70, past the end of the frame's 70 bytes (truncated?)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from pacsnb.codecs import _kernels as K
from pacsnb.codecs._common import codestream_array, frame_output
from pacsnb.errors import CodecError

__all__ = ["FrameParams", "decode_frame", "encode_frame", "parse_header", "RLE_LOSSLESS", "MAX_SEGMENTS"]

#: The transfer syntax UID of RLE Lossless.
RLE_LOSSLESS = "1.2.840.10008.1.2.5"
#: The RLE header has room for 15 segment offsets (G.5).
MAX_SEGMENTS = 15

_UNSIGNED = {1: np.dtype(np.uint8), 2: np.dtype(np.uint16), 4: np.dtype(np.uint32)}
_DTYPES = {(pr, b): np.dtype(("i" if pr else "u") + str(b)) for pr in (0, 1) for b in (1, 2, 4)}

# attribute names accepted for each parameter, in order of preference: ours, then those of
# pacsnb.pixels.PixelFormat, then DICOM keywords
_ALIASES = {
    "rows": ("rows", "Rows"),
    "columns": ("columns", "Columns"),
    "samples": ("samples", "samples_per_pixel", "SamplesPerPixel"),
    "bits_allocated": ("bits_allocated", "BitsAllocated"),
    "pixel_representation": ("pixel_representation", "signed", "PixelRepresentation"),
    "planar_configuration": ("planar_configuration", "planar", "PlanarConfiguration"),
}
_DEFAULTS = {"samples": 1, "pixel_representation": 0, "planar_configuration": 0}


@dataclass(frozen=True, slots=True)
class FrameParams:
    """What a codec needs to know about a frame: its size and the layout of its values.

    Parameters
    ----------
    rows, columns
        The frame's size.
    samples
        Samples per pixel (1 for grey, 3 for colour).
    bits_allocated
        Bits per sample (8, 16 or 32 for RLE).
    pixel_representation
        0 for unsigned, 1 for signed (two's complement) values.
    planar_configuration
        How native frame bytes are laid out: 0 colour-by-pixel (R G B R G B ...), 1
        colour-by-plane (R R ... G G ... B B ...). Decoded arrays are always
        ``(rows, columns, samples)``.

    Examples
    --------
    >>> FrameParams.of(None, rows=2, columns=3, bits_allocated=8).dtype
    dtype('uint8')
    >>> p = FrameParams.of({"Rows": 4, "Columns": 4, "SamplesPerPixel": 3, "BitsAllocated": 16})
    >>> p.shape, p.dtype.str[1:], p.frame_bytes
    ((4, 4, 3), 'u2', 96)
    """

    rows: int
    columns: int
    samples: int = 1
    bits_allocated: int = 8
    pixel_representation: int = 0
    planar_configuration: int = 0

    @classmethod
    def of(cls, params: Any = None, **kwargs: Any) -> "FrameParams":
        """Build from another object: a ``FrameParams``, a mapping, or anything with the
        attributes (ours, ``pacsnb.pixels.PixelFormat``'s ``samples``/``signed``/
        ``planar``, or DICOM keywords such as a :class:`~pacsnb.dicom.Dataset`'s);
        keyword arguments override."""
        if isinstance(params, FrameParams) and not kwargs:
            return params
        values: dict[str, Any] = {}
        for name, aliases in _ALIASES.items():
            if name in kwargs and kwargs[name] is not None:
                values[name] = kwargs.pop(name)
                continue
            kwargs.pop(name, None)
            for a in aliases:
                if params is None:
                    break
                if isinstance(params, Mapping):
                    if a in params and params[a] is not None:
                        values[name] = params[a]
                        break
                else:
                    v = getattr(params, a, None)
                    if v is not None:
                        values[name] = v
                        break
        if kwargs:
            raise TypeError(f"unknown frame parameter(s): {', '.join(sorted(kwargs))}")
        for name in ("rows", "columns", "bits_allocated"):
            if name not in values:
                raise CodecError(f"the frame parameters lack {name}")
        for name, default in _DEFAULTS.items():
            values.setdefault(name, default)
        try:
            ints = {k: int(v) for k, v in values.items()}
        except (TypeError, ValueError):
            raise CodecError(f"frame parameters must be integers, got {values}") from None
        return cls(**ints)

    @property
    def bytes_per_sample(self) -> int:
        """Bytes per sample: Bits Allocated // 8 (1, 2 or 4)."""
        return self.bits_allocated // 8

    @property
    def dtype(self) -> np.dtype:
        """The (native byte order) dtype of the stored values."""
        return np.dtype(("i" if self.pixel_representation else "u") + str(max(1, self.bits_allocated // 8)))

    @property
    def shape(self) -> tuple[int, ...]:
        """``(rows, columns)`` or ``(rows, columns, samples)``."""
        if self.samples == 1:
            return (self.rows, self.columns)
        return (self.rows, self.columns, self.samples)

    @property
    def frame_bytes(self) -> int:
        """Bytes of one native frame."""
        return self.rows * self.columns * self.samples * (self.bits_allocated // 8)


def _where(frame: int | None) -> str:
    return "RLE Lossless frame" + ("" if frame is None else f" {frame}")


def _check_params(p: FrameParams, frame: int | None) -> None:
    if p.rows <= 0 or p.columns <= 0:
        raise CodecError(f"{_where(frame)}: Rows x Columns is {p.rows} x {p.columns}; a frame needs at least "
                         "one pixel")
    if p.bits_allocated not in (8, 16, 32):
        raise CodecError(f"{_where(frame)}: Bits Allocated {p.bits_allocated} is not supported; RLE Lossless "
                         "in pacsnb handles 8, 16 and 32 bits")
    if p.samples < 1:
        raise CodecError(f"{_where(frame)}: Samples per Pixel is {p.samples}")
    nseg = p.samples * p.bytes_per_sample
    if nseg > MAX_SEGMENTS:
        raise CodecError(f"{_where(frame)}: {p.samples} samples of {p.bits_allocated} bits need {nseg} RLE "
                         f"segments; the RLE header allows at most {MAX_SEGMENTS} (PS3.5 G.5)")
    if p.pixel_representation not in (0, 1):
        raise CodecError(f"{_where(frame)}: Pixel Representation is {p.pixel_representation}; it must be 0 or 1")
    if p.planar_configuration not in (0, 1):
        raise CodecError(f"{_where(frame)}: Planar Configuration is {p.planar_configuration}; it must be 0 or 1")


def parse_header(data: Any, *, frame: int | None = None) -> list[int]:
    """The segment offsets of an RLE frame's header, checked against the frame's length.

    Returns
    -------
    list of int
        One offset per segment, in segment order.

    Raises
    ------
    CodecError
        A frame shorter than the header, 0 or more than 15 segments, an offset inside the
        header or past the frame's end, offsets that do not increase.

    Examples
    --------
    >>> hdr = (2).to_bytes(4, "little") + (64).to_bytes(4, "little") + (70).to_bytes(4, "little")
    >>> parse_header(hdr + bytes(52) + bytes(10))
    [64, 70]
    """
    src = codestream_array(data, _where(frame))
    return _parse(src, frame)


def _status_error(status: np.ndarray, src: np.ndarray, p: FrameParams | None, frame: int | None) -> CodecError:
    """The CodecError for a kernel's status (see :data:`pacsnb.codecs._kernels.DECODE_STATUS`)."""
    code, seg, pos, extra = (int(x) for x in status[:4])
    n = len(src)
    nseg = p.samples * p.bytes_per_sample if p is not None else 0
    npix = p.rows * p.columns if p is not None else 0
    text = K.DECODE_STATUS[code].format(
        n=n, seg=seg + 1, seg_prev=seg, pos=pos, produced=extra, expected=npix, count=extra, prev=extra,
        samples=p.samples if p else 0, bits=p.bits_allocated if p else 0, nseg=nseg)
    if code in K.SEGMENT_STATUS:
        starts, ends = np.zeros(15, np.int64), np.zeros(15, np.int64)
        K.read_header(src, starts, ends, np.zeros(4, np.int64))
        text = f"segment {seg + 1} of {nseg} (bytes {int(starts[seg])}-{int(ends[seg])} of {n}): {text}"
    return CodecError(f"{_where(frame)}: {text}")


def _parse(src: np.ndarray, frame: int | None) -> list[int]:
    starts, ends = np.zeros(15, np.int64), np.zeros(15, np.int64)
    status = np.zeros(4, np.int64)
    nseg = K.read_header(src, starts, ends, status)
    if status[0]:
        raise _status_error(status, src, None, frame)
    return starts[:nseg].tolist()


def decode_frame(data: Any, params: Any = None, *, frame: int | None = None, out: np.ndarray | None = None,
                 segment_order: str = ">", **kwargs: Any) -> np.ndarray:
    """Decode one RLE Lossless frame.

    Parameters
    ----------
    data
        The frame's codestream (bytes-like or a uint8 array), as given by
        :func:`pacsnb.io.encaps.get_frame`; a trailing padding byte is fine.
    params
        A :class:`FrameParams` or anything :meth:`FrameParams.of` takes (such as
        ``pacsnb.pixels.PixelFormat``); keyword arguments (``rows=``, ``columns=``,
        ``samples=``, ``bits_allocated=``, ``pixel_representation=``,
        ``planar_configuration=``) override it.
    frame
        The frame's number, for error messages.
    out
        A C-contiguous array of the frame's shape and dtype to decode into (for example
        one frame of a preallocated multi-frame array).
    segment_order
        ``">"`` (the standard: most significant byte first) or ``"<"`` (least significant
        byte first, as some old writers did).

    Returns
    -------
    numpy.ndarray
        ``(rows, columns)`` for one sample per pixel, else ``(rows, columns, samples)``,
        C-contiguous, of the dtype that Bits Allocated and Pixel Representation give, in
        native byte order (``out`` when given). Planar Configuration does not change it:
        RLE stores samples in separate segments whatever its value.

    Raises
    ------
    CodecError
        Naming the frame, the segment and the byte offset: a truncated or corrupt
        codestream, a segment count that does not match Samples per Pixel x Bits Allocated,
        a segment that decodes to too few bytes or whose runs overflow the frame.

    Examples
    --------
    >>> import numpy as np
    >>> from pacsnb.codecs.rle import encode_frame, decode_frame
    >>> rgb = np.zeros((2, 3, 3), np.uint8); rgb[..., 0] = 255; rgb[1, 2] = (1, 2, 3)
    >>> data = encode_frame(rgb, rows=2, columns=3, samples=3, bits_allocated=8)
    >>> decode_frame(data, rows=2, columns=3, samples=3, bits_allocated=8)[1]
    array([[255,   0,   0],
           [255,   0,   0],
           [  1,   2,   3]], dtype=uint8)
    """
    p = FrameParams.of(params, **kwargs)
    _check_params(p, frame)
    if segment_order not in (">", "<"):
        raise ValueError(f"segment_order must be '>' or '<', not {segment_order!r}")
    src = codestream_array(data, _where(frame))
    bps = p.bits_allocated >> 3
    nseg = p.samples * bps
    shape = p.shape
    dtype = _DTYPES[p.pixel_representation, bps]
    out = frame_output(out, shape, dtype)
    npix = p.rows * p.columns
    flat = out.reshape(-1).view(_UNSIGNED[bps])
    # one plane per segment; grey 8-bit decodes straight into the output
    planes = flat if nseg == 1 else np.empty(nseg * npix, np.uint8)
    if len(planes) != nseg * npix or len(flat) != npix * p.samples:  # the kernels rely on these sizes
        raise CodecError(f"{_where(frame)}: internal error: output buffers of the wrong size")
    status = np.zeros(4, np.int64)
    K.decode_frame(src, nseg, npix, planes, status)
    if status[0]:
        raise _status_error(status, src, p, frame)
    if bps == 1:
        if nseg > 1:
            K.join_planes_8(planes, flat, p.samples, npix)
    elif bps == 2:
        K.join_planes_16(planes, flat, p.samples, npix, segment_order == ">")
    else:
        K.join_planes_32(planes, flat, p.samples, npix, segment_order == ">")
    return out


def _encode_values(arr: Any, p: FrameParams, frame: int | None) -> tuple[np.ndarray, bool]:
    """The frame's values as a flat unsigned array in native byte order (no copy when the
    input allows it), and whether they are colour-by-plane."""
    bps = p.bytes_per_sample
    unsigned = _UNSIGNED[bps]
    if isinstance(arr, np.ndarray) and (arr.dtype != np.uint8 or bps == 1):
        a = arr.view(np.uint8) if arr.dtype == np.bool_ else arr
        if a.dtype.kind not in "ui" or a.dtype.itemsize != bps:
            raise CodecError(f"{_where(frame)}: cannot encode a {a.dtype} array as {p.bits_allocated}-bit samples")
        planar = False
        if a.shape != p.shape:
            if a.ndim == 3 and p.samples > 1 and a.shape == (p.samples, p.rows, p.columns):
                planar = True  # colour planes first
            else:
                raise CodecError(f"{_where(frame)}: the array's shape {a.shape} does not match the frame's "
                                 f"{p.shape}")
        elif a.ndim == 3 and not a.flags.c_contiguous and np.moveaxis(a, -1, 0).flags.c_contiguous:
            a, planar = np.moveaxis(a, -1, 0), True  # a transposed view of planes: use the planes
        if not a.dtype.isnative:
            a = a.astype(a.dtype.newbyteorder("="))
        a = np.ascontiguousarray(a)
        return a.reshape(-1).view(unsigned), planar
    # bytes-like (or a uint8 array for multi-byte samples): native little endian frame bytes,
    # laid out as Planar Configuration says
    src = codestream_array(arr, _where(frame))
    if len(src) < p.frame_bytes:
        raise CodecError(f"{_where(frame)}: {len(src)} bytes of pixel data, but Rows x Columns x Samples x "
                         f"Bits Allocated / 8 = {p.frame_bytes}")
    src = src[:p.frame_bytes]
    if not src.flags.aligned or src.ctypes.data % bps:
        src = src.copy()
    values = src.view(unsigned.newbyteorder("<"))
    if not values.dtype.isnative:
        values = values.astype(unsigned)
    return values, p.planar_configuration == 1 and p.samples > 1


def encode_frame(array: Any, params: Any = None, *, frame: int | None = None, **kwargs: Any) -> bytes:
    """Encode one frame as RLE Lossless.

    Parameters
    ----------
    array
        The frame: an integer array of shape ``(rows, columns)`` or ``(rows, columns,
        samples)`` (also ``(samples, rows, columns)`` for colour; a shape that reads both
        ways, 3 x 3 with 3 samples, is taken as ``(rows, columns, samples)``), whose dtype has
        Bits Allocated / 8 bytes (any byte order, signed or not); or the frame's native
        little endian bytes, colour-by-pixel or colour-by-plane as ``planar_configuration``
        says.
    params
        A :class:`FrameParams` or anything :meth:`FrameParams.of` takes; keyword arguments
        override it.
    frame
        The frame's number, for error messages.

    Returns
    -------
    bytes
        The RLE codestream: header and segments (each of even length), one fragment's
        worth. Every row is encoded on its own; runs of three or more equal bytes are
        replicate runs (PS3.5 G.3.1).

    Raises
    ------
    CodecError
        Parameters RLE cannot encode (more than 15 segments, Bits Allocated other than 8,
        16, 32) or an array that does not match them.

    Examples
    --------
    >>> import numpy as np
    >>> data = encode_frame(np.full((1, 8), 7, np.uint8), rows=1, columns=8, bits_allocated=8)
    >>> data[64:]   # one replicate run: -7 (249) then the value
    b'\\xf9\\x07'
    """
    p = FrameParams.of(params, **kwargs)
    _check_params(p, frame)
    values, planar = _encode_values(array, p, frame)
    bps = p.bytes_per_sample
    nseg = p.samples * bps
    npix = p.rows * p.columns
    if nseg == 1:
        planes = values  # 8-bit grey: the frame is the one plane
    else:
        planes = np.empty(nseg * npix, np.uint8)
        K.split_planes(values, planes, p.samples, bps, npix, planar)
    if len(values) != npix * p.samples or len(planes) != nseg * npix:  # the kernels rely on these sizes
        raise CodecError(f"{_where(frame)}: internal error: input buffers of the wrong size")
    # a first guess that fits most frames; the kernel says when it does not
    cap = K.HEADER_SIZE + nseg * (npix + p.rows * (p.columns // 64 + 4) + 2)
    out = np.empty(cap, np.uint8)
    n = K.encode_planes(planes, nseg, p.rows, p.columns, out)
    if n < 0:
        out = np.empty(K.encoded_size_bound(p.rows, p.columns, nseg), np.uint8)
        n = K.encode_planes(planes, nseg, p.rows, p.columns, out)
        if n < 0:  # cannot happen: the bound is the worst case
            raise CodecError(f"{_where(frame)}: internal error: the encoder ran out of room")
    return out[:n].tobytes()
