"""Codecs: compressed pixel data, frame by frame, behind a registry keyed by transfer syntax.

:func:`get_codec` gives the :class:`Codec` of a transfer syntax UID, whose
``decode_frame(data, params)`` and ``encode_frame(array, params)`` work on one frame at a
time (``params``: rows, columns, samples, bits allocated, pixel representation, planar
configuration; see :class:`FrameParams`). :func:`can_decode` and :func:`can_encode` say
what is there; for syntaxes pacsnb does not handle, :func:`get_codec` raises a
:class:`~pacsnb.errors.CodecError` naming what to install.

Implemented here, from the standards (PS3.5, ITU-T T.81, ITU-T T.87), as numba kernels:

- RLE Lossless (:mod:`pacsnb.codecs.rle`): decode and encode, 8/16/32 bits, up to 15 segments;
- JPEG Lossless Process 14 and SV1 (:mod:`pacsnb.codecs.jpeg_lossless`): decode and encode;
- JPEG Baseline and Extended (:mod:`pacsnb.codecs.jpeg_baseline`): decode, and encode with a quality;
- JPEG-LS Lossless and Near-Lossless (:mod:`pacsnb.codecs.jpegls`): decode; encode lossless.

JPEG 2000 and HTJ2K are decoded through the optional extra ``pacsnb[jpeg2000]``
(:mod:`pacsnb.codecs.jpeg2000`).

Examples
--------
>>> import numpy as np
>>> import pacsnb.codecs as codecs
>>> codecs.can_decode(codecs.RLE_LOSSLESS)
True
>>> img = np.array([[0, 0, 0, 0], [1, 2, 3, 4]], np.uint8)
>>> params = codecs.FrameParams(rows=2, columns=4, bits_allocated=8)
>>> data = codecs.get_codec(codecs.RLE_LOSSLESS).encode_frame(img, params)
>>> codecs.get_codec(codecs.RLE_LOSSLESS).decode_frame(data, params, frame=0)
array([[0, 0, 0, 0],
       [1, 2, 3, 4]], dtype=uint8)
"""
from pacsnb.codecs.rle import RLE_LOSSLESS, FrameParams
from pacsnb.codecs.registry import (Codec, can_decode, can_encode, get_codec, missing_codec_hint,
                                    register_codec, registered_codecs)
from pacsnb.codecs import jpeg_lossless as _jl
for _uid, _enc in ((_jl.JPEG_LOSSLESS_P14, _jl.encode_frame), (_jl.JPEG_LOSSLESS_SV1, _jl.encode_frame_sv1)):
    register_codec(Codec(_uid, decoder=_jl.decode_frame, encoder=_enc, source="pacsnb.codecs.jpeg_lossless (numba)"))
from pacsnb.codecs import jpeg2000 as _j2k
if _j2k.available():  # the optional extra pacsnb[jpeg2000]; without it get_codec names the extra
    for _uid in _j2k.JPEG2000_SYNTAXES:
        register_codec(Codec(_uid, decoder=_j2k.decode_frame, source="imagecodecs (pacsnb[jpeg2000])"))

__all__ = ["Codec", "FrameParams", "get_codec", "can_decode", "can_encode", "register_codec",
           "registered_codecs", "missing_codec_hint", "RLE_LOSSLESS"]
