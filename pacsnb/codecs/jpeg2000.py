"""JPEG 2000 and HTJ2K decoding through the optional extra ``pacsnb[jpeg2000]``.

pacsnb writes its own codecs for the syntaxes DICOM files use most (RLE, JPEG lossless,
JPEG-LS, JPEG baseline). JPEG 2000 (ISO 15444-1) and High-Throughput JPEG 2000 (ISO
15444-15) are decoded instead by `imagecodecs <https://pypi.org/project/imagecodecs/>`_,
a general-purpose image codec library (OpenJPEG inside), installed with::

    pip install "pacsnb[jpeg2000]"

When it is installed, the codecs for these syntaxes are registered (decode only; pacsnb
does not write JPEG 2000) and :func:`pacsnb.pixel_array` reads such files; when it is
not, :func:`pacsnb.codecs.get_codec` raises a :class:`~pacsnb.errors.CodecError` that
names the extra to install.

=======================================================  ========================
Transfer syntax                                          UID
=======================================================  ========================
JPEG 2000 Image Compression (Lossless Only)              1.2.840.10008.1.2.4.90
JPEG 2000 Image Compression                              1.2.840.10008.1.2.4.91
High-Throughput JPEG 2000 (Lossless Only)                1.2.840.10008.1.2.4.201
High-Throughput JPEG 2000 with RPCL Options (Lossless)   1.2.840.10008.1.2.4.202
High-Throughput JPEG 2000 Image Compression              1.2.840.10008.1.2.4.203
=======================================================  ========================

The decoded array has the frame's shape and the dtype of the data set's Bits Allocated
and Pixel Representation. Colour frames coded with the reversible or irreversible
component transform (Photometric Interpretation YBR_RCT / YBR_ICT) come out as RGB, as
PS3.5 8.2.4 says the transform is part of the codestream.

Examples
--------
>>> from pacsnb.codecs import jpeg2000
>>> jpeg2000.JPEG2000_SYNTAXES[0]
'1.2.840.10008.1.2.4.90'
>>> isinstance(jpeg2000.available(), bool)
True
"""
from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np

from pacsnb.codecs.rle import FrameParams
from pacsnb.errors import CodecError

__all__ = ["JPEG2000_SYNTAXES", "EXTRA", "available", "decode_frame"]

#: The transfer syntaxes decoded here (when the extra is installed).
JPEG2000_SYNTAXES = (
    "1.2.840.10008.1.2.4.90",
    "1.2.840.10008.1.2.4.91",
    "1.2.840.10008.1.2.4.201",
    "1.2.840.10008.1.2.4.202",
    "1.2.840.10008.1.2.4.203",
)

#: The optional extra that brings the decoder in.
EXTRA = "jpeg2000"

_INSTALL = f'pip install "pacsnb[{EXTRA}]" (it installs imagecodecs)'


def available() -> bool:
    """Whether the JPEG 2000 decoder (the ``imagecodecs`` package) is installed.

    It is looked up without importing it, so asking costs nothing.

    Examples
    --------
    >>> available() in (True, False)
    True
    """
    return importlib.util.find_spec("imagecodecs") is not None


def _imagecodecs(frame: int | None):
    try:
        import imagecodecs
    except ImportError as exc:
        where = "" if frame is None else f" (frame {frame})"
        raise CodecError(f"JPEG 2000 decoding needs the optional extra pacsnb[{EXTRA}]{where}: {_INSTALL}") from exc
    return imagecodecs


def _as_bytes(data: Any) -> bytes:
    if isinstance(data, np.ndarray):
        return data.tobytes()
    return bytes(data)


def decode_frame(data: Any, params: Any = None, *, frame: int | None = None, out: np.ndarray | None = None,
                 **kwargs: Any) -> np.ndarray:
    """Decode one JPEG 2000 or HTJ2K frame.

    Parameters
    ----------
    data
        The frame's codestream (bytes-like or a uint8 array), as given by
        :func:`pacsnb.io.encaps.get_frame`; a JP2 file wrapper is accepted too.
    params
        A :class:`~pacsnb.codecs.FrameParams` or anything ``FrameParams.of`` takes (such as
        ``pacsnb.pixels.PixelFormat`` or a Dataset); keyword arguments override it. When
        neither is given, the codestream decides the shape and dtype.
    frame
        The frame's number, for error messages.
    out
        A writeable array of the frame's shape and dtype to decode into.

    Returns
    -------
    numpy.ndarray
        ``(rows, columns)`` or ``(rows, columns, samples)``; the dtype of ``params``'s
        Bits Allocated and Pixel Representation (a codestream whose signedness differs
        from the data set's is reinterpreted, as the data set's attributes rule).

    Raises
    ------
    CodecError
        When the extra is not installed (the message says what to install), when the
        codestream is corrupt or truncated, or when the frame does not have the size the
        data set says.

    Examples
    --------
    >>> import numpy as np
    >>> from pacsnb.codecs import jpeg2000
    >>> if jpeg2000.available():
    ...     import imagecodecs
    ...     img = np.arange(64, dtype=np.uint16).reshape(8, 8) * 100
    ...     data = imagecodecs.jpeg2k_encode(img, level=0)   # lossless
    ...     same = bool((decode_frame(data, rows=8, columns=8, bits_allocated=16) == img).all())
    ... else:
    ...     same = True
    >>> same
    True
    """
    codecs = _imagecodecs(frame)
    where = "" if frame is None else f" of frame {frame}"
    raw = _as_bytes(data)
    try:
        arr = codecs.jpeg2k_decode(raw)
    except Exception as first:  # noqa: BLE001 - imagecodecs raises its own error types
        htj2k = getattr(codecs, "htj2k_decode", None)
        try:
            if htj2k is None:
                raise first
            arr = htj2k(raw)
        except Exception as exc:  # noqa: BLE001
            raise CodecError(f"the JPEG 2000 codestream{where} cannot be decoded ({len(raw)} bytes): {first}; "
                             "it is corrupt or truncated") from exc
    arr = np.asarray(arr)
    if params is None and not kwargs:
        return arr if out is None else _into(out, arr, where)
    p = FrameParams.of(params, **kwargs)
    shape = (p.rows, p.columns) if p.samples == 1 else (p.rows, p.columns, p.samples)
    if arr.shape != shape:
        if arr.size == int(np.prod(shape)) and p.samples > 1 and arr.ndim == 3 and arr.shape[0] == p.samples:
            arr = np.moveaxis(arr, 0, -1)  # component-first output
        else:
            raise CodecError(f"the JPEG 2000 codestream{where} decodes to shape {arr.shape}, but the data set "
                             f"says {shape} (Rows, Columns, Samples per Pixel)")
    dtype = np.dtype(f"{'i' if p.pixel_representation else 'u'}{max(1, p.bits_allocated // 8)}")
    if arr.dtype.itemsize > dtype.itemsize:
        raise CodecError(f"the JPEG 2000 codestream{where} has {arr.dtype.itemsize * 8}-bit samples, more than "
                         f"the data set's Bits Allocated {p.bits_allocated}")
    if arr.dtype != dtype:
        # same size, other signedness: reinterpret the bits (the data set's Pixel
        # Representation rules; the high-bit fix of pacsnb.pixels then sign-extends);
        # smaller samples are widened
        arr = arr.view(dtype) if arr.dtype.itemsize == dtype.itemsize else arr.astype(dtype)
    arr = np.ascontiguousarray(arr)
    return arr if out is None else _into(out, arr, where)


def _into(out: np.ndarray, arr: np.ndarray, where: str) -> np.ndarray:
    if out.shape != arr.shape:
        raise CodecError(f"the JPEG 2000 frame{where} has shape {arr.shape}, the output array {out.shape}")
    out[...] = arr
    return out
