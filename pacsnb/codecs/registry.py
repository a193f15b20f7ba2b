"""The codec registry: for each transfer syntax UID, whether pacsnb can decode and encode
its frames, and with what.

A :class:`Codec` works frame by frame: ``decode_frame(data, params)`` turns the bytes of
one frame (as :func:`pacsnb.io.encaps.get_frame` gives them) into an array, and
``encode_frame(array, params)`` turns one frame's array into bytes, where ``params`` is a
:class:`~pacsnb.codecs.rle.FrameParams` or any object with ``rows``, ``columns``,
``samples``, ``bits_allocated``, ``pixel_representation``, ``planar_configuration`` (or
the names ``pacsnb.pixels.PixelFormat`` uses). Decoding one frame of a 2,000-frame file
decodes that frame only.

Only codecs that exist are registered. For a compressed syntax pacsnb does not handle,
:func:`get_codec` raises a :class:`~pacsnb.errors.CodecError` that says so and, where a
plug-in package can do it, which extra to install.

=====================  ======================  ========  ========
Transfer syntax        UID                     decode    encode
=====================  ======================  ========  ========
RLE Lossless           1.2.840.10008.1.2.5     numba     numba
JPEG Lossless P14      1.2.840.10008.1.2.4.57  numba     numba
JPEG Lossless SV1      1.2.840.10008.1.2.4.70  numba     numba
JPEG Baseline          1.2.840.10008.1.2.4.50  numba     numba
JPEG Extended          1.2.840.10008.1.2.4.51  numba     numba
JPEG-LS Lossless       1.2.840.10008.1.2.4.80  numba     numba
JPEG-LS Near-Lossless  1.2.840.10008.1.2.4.81  numba
=====================  ======================  ========  ========

Examples
--------
>>> import numpy as np
>>> from pacsnb.codecs import can_decode, can_encode, get_codec
>>> can_decode("1.2.840.10008.1.2.5"), can_encode("1.2.840.10008.1.2.5")
(True, True)
>>> codec = get_codec("1.2.840.10008.1.2.5")
>>> codec
Codec('1.2.840.10008.1.2.5' RLE Lossless: decode, encode with pacsnb.codecs.rle (numba))
>>> frame = np.arange(12, dtype=np.uint16).reshape(3, 4)
>>> data = codec.encode_frame(frame, dict(rows=3, columns=4, bits_allocated=16))
>>> codec.decode_frame(data, dict(rows=3, columns=4, bits_allocated=16))[2]
array([ 8,  9, 10, 11], dtype=uint16)
>>> can_decode("1.2.840.10008.1.2.4.110")
False
>>> get_codec("1.2.840.10008.1.2.4.110")
Traceback (most recent call last):
...
pacsnb.errors.CodecError: pacsnb cannot decode JPEG XL Lossless (1.2.840.10008.1.2.4.110): pacsnb has no codec for it yet

JPEG 2000 and HTJ2K are decoded by the optional extra ``pacsnb[jpeg2000]``; without it,
:func:`get_codec` says to install it (see :mod:`pacsnb.codecs.jpeg2000`).
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pacsnb.codecs import rle
from pacsnb.dicom.uid import UID
from pacsnb.errors import CodecError

__all__ = ["Codec", "register_codec", "get_codec", "can_decode", "can_encode", "registered_codecs",
           "missing_codec_hint"]

DecodeFn = Callable[..., np.ndarray]
EncodeFn = Callable[..., bytes]


@dataclass(frozen=True)
class Codec:
    """What pacsnb does with one transfer syntax.

    Parameters
    ----------
    transfer_syntax
        The transfer syntax UID.
    decoder
        ``decoder(data, params, *, frame=None, out=None, **options) -> numpy.ndarray``, or
        ``None``: decodes one frame's bytes (into ``out``, a C-contiguous array of the
        frame's shape and dtype, when given) and raises ``CodecError`` naming ``frame``.
    encoder
        ``encoder(array, params, *, frame=None, **options) -> bytes``, or ``None``.
    source
        What does the work (for messages and listings), e.g. ``"pacsnb.codecs.rle (numba)"``.

    Examples
    --------
    >>> c = Codec("1.2.840.10008.1.2.5", decoder=rle.decode_frame, source="test")
    >>> c.can_decode, c.can_encode, c.name
    (True, False, 'RLE Lossless')
    """

    transfer_syntax: str
    decoder: DecodeFn | None = field(default=None, repr=False)
    encoder: EncodeFn | None = field(default=None, repr=False)
    source: str = ""

    @property
    def name(self) -> str:
        """The transfer syntax's name in the UID registry."""
        return UID(self.transfer_syntax).name or self.transfer_syntax

    @property
    def can_decode(self) -> bool:
        """Whether this codec has a decoder."""
        return self.decoder is not None

    @property
    def can_encode(self) -> bool:
        """Whether this codec has an encoder."""
        return self.encoder is not None

    def decode_frame(self, data: Any, params: Any = None, *, frame: int | None = None, **options: Any) -> np.ndarray:
        """Decode one frame (see :func:`pacsnb.codecs.rle.decode_frame` for the parameters).

        Raises
        ------
        CodecError
            When this codec cannot decode, or the frame is bad (naming ``frame``).
        """
        if self.decoder is None:
            raise CodecError(f"pacsnb can encode but not decode {self.name} ({self.transfer_syntax})")
        return self.decoder(data, params, frame=frame, **options)

    def encode_frame(self, array: Any, params: Any = None, *, frame: int | None = None, **options: Any) -> bytes:
        """Encode one frame (see :func:`pacsnb.codecs.rle.encode_frame` for the parameters).

        Raises
        ------
        CodecError
            When this codec cannot encode, or the array does not fit ``params``.
        """
        if self.encoder is None:
            raise CodecError(f"pacsnb can decode but not encode {self.name} ({self.transfer_syntax})")
        return self.encoder(array, params, frame=frame, **options)

    def __repr__(self) -> str:
        can = ", ".join(w for w, ok in (("decode", self.can_decode), ("encode", self.can_encode)) if ok) or "nothing"
        return f"Codec({self.transfer_syntax!r} {self.name}: {can} with {self.source or '?'})"


_lock = threading.Lock()
_codecs: dict[str, Codec] = {}

# compressed syntaxes pacsnb decodes through an optional extra (registered by pacsnb.codecs when
# the extra is installed), and the extra that brings the plug-in
_JPEG_2000 = ("jpeg2000", "imagecodecs")
_PLUGIN_HINTS: dict[str, tuple[str, str]] = {
    "1.2.840.10008.1.2.4.90": _JPEG_2000,
    "1.2.840.10008.1.2.4.91": _JPEG_2000,
    "1.2.840.10008.1.2.4.201": _JPEG_2000,
    "1.2.840.10008.1.2.4.202": _JPEG_2000,
    "1.2.840.10008.1.2.4.203": _JPEG_2000,
}


def register_codec(codec: Codec, *, replace: bool = False) -> None:
    """Register ``codec`` for its transfer syntax (for plug-ins).

    Raises
    ------
    ValueError
        When a codec is already registered for the syntax and ``replace`` is false.

    Examples
    --------
    >>> register_codec(get_codec("1.2.840.10008.1.2.5"), replace=True)
    """
    uid = str(codec.transfer_syntax)
    with _lock:
        if uid in _codecs and not replace and _codecs[uid] is not codec:
            raise ValueError(f"a codec is already registered for {uid}: {_codecs[uid]!r} (pass replace=True)")
        _codecs[uid] = codec


def registered_codecs() -> dict[str, Codec]:
    """The registered codecs by transfer syntax UID.

    Examples
    --------
    >>> {"1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70"} <= set(registered_codecs())
    True
    """
    with _lock:
        return dict(_codecs)


def _ts_key(transfer_syntax: Any) -> str:
    return str(transfer_syntax or "").strip().rstrip("\x00").strip()


def missing_codec_hint(transfer_syntax: Any, what: str = "decode") -> str:
    """The message for a syntax pacsnb has no codec for: what is missing and what to install.

    Examples
    --------
    >>> missing_codec_hint("1.2.840.10008.1.2.4.100")
    'pacsnb cannot decode MPEG2 Main Profile / Main Level (1.2.840.10008.1.2.4.100): pacsnb has no codec for it yet'
    """
    uid = _ts_key(transfer_syntax)
    u = UID(uid) if uid else None
    named = f"{u.name} ({uid})" if u is not None and u.name else (uid or "an unknown transfer syntax")
    head = f"pacsnb cannot {what} {named}"
    if uid in _PLUGIN_HINTS:
        extra, package = _PLUGIN_HINTS[uid]
        return (f"{head}: its decoder is the optional extra pacsnb[{extra}], which is not installed; "
                f'install it with: pip install "pacsnb[{extra}]" (it brings {package})')
    if u is not None and u.is_transfer_syntax and not u.is_encapsulated:
        return f"{head}: it is not a compressed syntax; its pixel data is native (read it with pacsnb.pixels)"
    if u is None or not u.is_transfer_syntax:
        return f"{head}: not a transfer syntax UID pacsnb knows"
    return f"{head}: pacsnb has no codec for it yet"


def get_codec(transfer_syntax: Any) -> Codec:
    """The codec registered for ``transfer_syntax``.

    Raises
    ------
    CodecError
        When none is: the message names the syntax and, where one exists, the extra to
        install (see :func:`missing_codec_hint`).

    Examples
    --------
    >>> get_codec("1.2.840.10008.1.2.5").source
    'pacsnb.codecs.rle (numba)'
    """
    uid = _ts_key(transfer_syntax)
    with _lock:
        codec = _codecs.get(uid)
    if codec is None:
        raise CodecError(missing_codec_hint(uid))
    return codec


def can_decode(transfer_syntax: Any) -> bool:
    """Whether pacsnb can decode frames of ``transfer_syntax`` (a UID).

    Examples
    --------
    >>> can_decode("1.2.840.10008.1.2.4.80"), can_decode("1.2.840.10008.1.2.4.100")
    (True, False)
    """
    with _lock:
        codec = _codecs.get(_ts_key(transfer_syntax))
    return codec is not None and codec.can_decode


def can_encode(transfer_syntax: Any) -> bool:
    """Whether pacsnb can encode frames in ``transfer_syntax`` (a UID).

    Examples
    --------
    >>> can_encode("1.2.840.10008.1.2.5"), can_encode("1.2.840.10008.1.2.4.90")
    (True, False)
    """
    with _lock:
        codec = _codecs.get(_ts_key(transfer_syntax))
    return codec is not None and codec.can_encode


register_codec(Codec(rle.RLE_LOSSLESS, decoder=rle.decode_frame, encoder=rle.encode_frame,
                     source="pacsnb.codecs.rle (numba)"))

from pacsnb.codecs import jpeg_baseline as _jb  # noqa: E402  (after the registry exists)
register_codec(Codec(_jb.JPEG_BASELINE, decoder=_jb.decode_frame, encoder=_jb.encode_frame,
                     source="pacsnb.codecs.jpeg_baseline (numba)"))
register_codec(Codec(_jb.JPEG_EXTENDED, decoder=_jb.decode_frame, encoder=_jb.encode_frame_extended,
                     source="pacsnb.codecs.jpeg_baseline (numba)"))

from pacsnb.codecs import jpegls as _jls  # noqa: E402  (after the registry exists)
register_codec(Codec(_jls.JPEG_LS_LOSSLESS, decoder=_jls.decode_frame, encoder=_jls.encode_frame,
                     source="pacsnb.codecs.jpegls (numba)"))
register_codec(Codec(_jls.JPEG_LS_NEAR_LOSSLESS, decoder=_jls.decode_frame, source="pacsnb.codecs.jpegls (numba)"))
