"""YBR_PARTIAL_422 / YBR_PARTIAL_420 (PS3.3 C.7.6.3.1.2): limited-range YCbCr as JPEG and
MPEG decoders give it, against the standard's forward equations and the ITU-R BT.601
inverse that every video decoder uses."""
from __future__ import annotations

import numpy as np
import pytest

from pacsnb.errors import TransformError
from pacsnb.pixels.transforms import convert_color_space

RNG = np.random.default_rng(7)


def _bt601(ybr: np.ndarray) -> np.ndarray:
    y, cb, cr = (ybr[..., i].astype(float) for i in range(3))
    r = 1.164 * (y - 16) + 1.596 * (cr - 128)
    g = 1.164 * (y - 16) - 0.392 * (cb - 128) - 0.813 * (cr - 128)
    b = 1.164 * (y - 16) + 2.017 * (cb - 128)
    return np.clip(np.stack([r, g, b], -1), 0, 255)


@pytest.mark.parametrize("space", ["YBR_PARTIAL_422", "YBR_PARTIAL_420"])
def test_to_rgb_matches_bt601(space):
    ybr = np.stack([RNG.integers(16, 236, (9, 8)), RNG.integers(16, 241, (9, 8)),
                    RNG.integers(16, 241, (9, 8))], -1).astype(np.uint8)
    rgb = convert_color_space(ybr, space, "RGB")
    assert rgb.dtype == np.uint8 and rgb.shape == ybr.shape
    assert np.abs(rgb.astype(float) - _bt601(ybr)).max() <= 1.5  # BT.601's rounded coefficients


def test_forward_equations_and_limited_range():
    rgb = np.array([[[0, 0, 0], [0, 0, 0]], [[255, 255, 255], [255, 255, 255]]], np.uint8)
    ybr = convert_color_space(rgb, "RGB", "YBR_PARTIAL_422")
    assert ybr[0, 0].tolist() == [16, 128, 128] and ybr[1, 0].tolist() == [235, 128, 128]
    full = RNG.integers(0, 256, (5, 6, 3)).astype(np.uint8)
    p = convert_color_space(full, "RGB", "YBR_PARTIAL_422")
    assert p[..., 0].min() >= 16 and p[..., 0].max() <= 235 and p[..., 1:].min() >= 16 and p[..., 1:].max() <= 240
    # each horizontal pair shares its chroma, as the 422 sampling stores it
    assert np.array_equal(p[:, 0::2, 1:], p[:, 1::2, 1:])
    # round trip: as close as the subsampling allows (the same error as through YBR_FULL_422)
    via_full = convert_color_space(convert_color_space(full, "RGB", "YBR_FULL_422"), "YBR_FULL_422", "RGB")
    back = convert_color_space(p, "YBR_PARTIAL_422", "RGB")
    assert np.abs(back.astype(int) - via_full.astype(int)).max() <= 3


def test_sixteen_bit_scales_the_offsets():
    ybr16 = np.array([[16 << 8, 128 << 8, 128 << 8], [235 << 8, 128 << 8, 128 << 8]], np.uint16)
    black, white = convert_color_space(ybr16, "YBR_PARTIAL_422", "RGB", bits=16)[:, 0].tolist()
    assert black == 0 and abs(white - (255 << 8)) <= 2  # white of 8-bit limited range, shifted


def test_refusals():
    with pytest.raises(TransformError, match="YBR_PARTIAL_420 is not offered"):
        convert_color_space(np.zeros((2, 2, 3), np.uint8), "RGB", "YBR_PARTIAL_420")
    with pytest.raises(TransformError, match="even number of columns"):
        convert_color_space(np.zeros((2, 3, 3), np.uint8), "RGB", "YBR_PARTIAL_422")
