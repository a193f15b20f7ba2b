"""Large arrays are split across threads: the result must be the same, value for value, as
the one-thread kernel's, at every chunk boundary included."""
from __future__ import annotations

import numpy as np

from pacsnb.pixels import _kernels as K
from pacsnb.pixels import transforms as T


def test_split_rescale_and_window_equal_one_pass(monkeypatch):
    rng = np.random.default_rng(1)
    vol = rng.integers(-1024, 3000, size=(5, 333, 317), dtype=np.int16)  # odd sizes: uneven chunks
    monkeypatch.setattr(T, "PARALLEL_MIN", 1000)
    monkeypatch.setattr(T, "_threads", lambda: 3)
    params = {"RescaleSlope": 0.5, "RescaleIntercept": -1024, "WindowCenter": 40, "WindowWidth": 400}
    hu = T.apply_modality_lut(vol, params)
    ref = np.empty(vol.size, np.float32)
    K.rescale(vol.reshape(-1), 0.5, -1024.0, ref)
    assert np.array_equal(hu.reshape(-1), ref)
    w = T.apply_windowing(hu, params)
    fused = T.apply_windowing(vol, params, rescale=True)
    monkeypatch.setattr(T, "_threads", lambda: 1)
    assert np.array_equal(T.apply_windowing(hu, params), w)
    assert np.array_equal(T.apply_windowing(vol, params, rescale=True), fused)
