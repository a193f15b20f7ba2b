"""Analytic 3-D phantoms sampled on real DICOM image planes.

A phantom is a list of :class:`Shape` (ellipsoids and elliptic cylinders) painted in
order: a later shape overwrites an earlier one where they overlap. Each shape carries a
*tissue label*; a modality turns labels into pixel values with a lookup table (Hounsfield
units for CT, T1/T2/PD-weighted intensities for MR, attenuation for projection X-ray).

Shapes are defined in *normalised* patient coordinates: ``u = (p - center) / scale``
where ``p`` is a point in the DICOM patient coordinate system (millimetres, x towards the
patient's left, y towards the back, z towards the head), ``center`` is where the phantom
sits and ``scale`` the millimetres of one normalised unit. The phantoms fit in
``[-1, 1]`` in x and y; body cylinders run further along z.

Sampling is exact on whatever grid a series uses (any orientation), so the slices of one
series, or of two series sharing a frame of reference, are consistent in 3-D. For speed,
:class:`PlaneStack` precomputes, for each shape, the quadratic form over the pixel grid
once per stack of parallel planes; each slice then costs two multiply-adds per pixel of
the shape's bounding box.

Examples
--------
>>> import numpy as np
>>> from pacsnb.samples.phantom import PlaneStack, HU, Tissue
>>> stack = PlaneStack("sphere", origin=(-10, -10, 0), row_dir=(1, 0, 0), col_dir=(0, 1, 0),
...                    rows=21, columns=21, spacing=(1.0, 1.0), step=1.0, center=(0, 0, 0),
...                    scale=10.0)
>>> labels = stack.labels(0)
>>> labels.shape, bool(labels[10, 10] == Tissue.SOFT), bool(labels[0, 0] == Tissue.AIR)
((21, 21), True, True)
>>> int(HU[labels[10, 10]])
40
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from pacsnb.errors import PacsnbError

__all__ = ["Tissue", "Shape", "PHANTOMS", "HU", "MR_WEIGHTINGS", "mr_intensities", "PlaneStack",
           "phantom_shapes", "attenuation_per_mm"]


class Tissue(IntEnum):
    """Tissue labels of the phantoms (the value of a label map).

    A label indexes the lookup tables: :data:`HU`, :func:`mr_intensities` and
    :func:`attenuation_per_mm`.

    Examples
    --------
    >>> Tissue.BONE.name, int(Tissue.BONE), Tissue(7).name
    ('BONE', 9, 'LUNG')
    >>> float(HU[Tissue.LUNG]), float(HU[Tissue.SOFT])
    (-800.0, 40.0)
    """

    AIR = 0
    FAT = 1
    SOFT = 2
    FLUID = 3
    BLOOD = 4
    LIVER = 5
    LESION = 6
    LUNG = 7
    MARROW = 8
    BONE = 9


#: Hounsfield units of each tissue label (index with a label map).
HU = np.array([-1000.0, -100.0, 40.0, 5.0, 50.0, 60.0, 75.0, -800.0, 250.0, 700.0], dtype=np.float32)

#: Relative MR signal of each tissue for three classic weightings (arbitrary units, 0..4095).
MR_WEIGHTINGS: dict[str, np.ndarray] = {
    #                  air  fat   soft fluid blood liver lesion lung marrow bone
    "T1": np.array([0.0, 1500, 820, 260, 520, 930, 640, 40, 1100, 60], dtype=np.float32),
    "T2": np.array([0.0, 950, 480, 1900, 300, 380, 1250, 30, 760, 40], dtype=np.float32),
    "PD": np.array([0.0, 1250, 930, 1350, 820, 860, 1020, 80, 1050, 80], dtype=np.float32),
}

#: Linear attenuation of water for a diagnostic X-ray beam, per millimetre.
_MU_WATER_PER_MM = 0.02


def mr_intensities(weighting: str) -> np.ndarray:
    """The MR signal lookup table (one value per :class:`Tissue`) for ``"T1"``, ``"T2"`` or ``"PD"``.

    Parameters
    ----------
    weighting
        ``"T1"``, ``"T2"`` or ``"PD"`` (case-insensitive).

    Returns
    -------
    numpy.ndarray
        float32, indexed by :class:`Tissue` (arbitrary units, 0..4095). The array of
        :data:`MR_WEIGHTINGS` itself: do not change it.

    Raises
    ------
    PacsnbError
        For another weighting.

    Examples
    --------
    >>> float(mr_intensities("T2")[Tissue.FLUID]) > float(mr_intensities("T1")[Tissue.FLUID])
    True
    """
    try:
        return MR_WEIGHTINGS[weighting.upper()]
    except KeyError:
        raise PacsnbError(f"unknown MR weighting {weighting!r}: use one of {sorted(MR_WEIGHTINGS)}") from None


def attenuation_per_mm() -> np.ndarray:
    """Linear attenuation (per mm) of each :class:`Tissue`, from its Hounsfield units.

    Returns
    -------
    numpy.ndarray
        float32, indexed by :class:`Tissue`: ``0.02 * (1 + HU / 1000)``, at least 0.

    Examples
    --------
    >>> mu = attenuation_per_mm()
    >>> float(mu[Tissue.AIR]), round(float(mu[Tissue.FLUID]), 4)
    (0.0, 0.0201)
    """
    return np.maximum(_MU_WATER_PER_MM * (1.0 + HU / 1000.0), 0.0).astype(np.float32)


@dataclass(frozen=True, slots=True)
class Shape:
    """One shape of a phantom, in normalised coordinates.

    Attributes
    ----------
    kind
        ``"ellipsoid"`` or ``"cylinder"`` (an elliptic cylinder along z, ``axes[2]`` being
        its half length).
    center
        Centre ``(x, y, z)``.
    axes
        Semi-axes ``(a, b, c)``.
    angle
        Rotation about z, degrees.
    tissue
        The :class:`Tissue` painted inside.

    Examples
    --------
    >>> nodule = Shape("ellipsoid", (0.0, 0.0, 0.0), (0.5, 0.5, 0.5), 0.0, Tissue.LESION)
    >>> stack = PlaneStack([nodule], origin=(-10, -10, 0), row_dir=(1, 0, 0), col_dir=(0, 1, 0),
    ...                    rows=5, columns=5, spacing=(5.0, 5.0), step=1.0, center=(0, 0, 0), scale=10.0)
    >>> stack.labels(0)
    array([[0, 0, 0, 0, 0],
           [0, 0, 6, 0, 0],
           [0, 6, 6, 6, 0],
           [0, 0, 6, 0, 0],
           [0, 0, 0, 0, 0]], dtype=uint8)
    """

    kind: str
    center: tuple[float, float, float]
    axes: tuple[float, float, float]
    angle: float
    tissue: Tissue

    @property
    def bounding_radius(self) -> float:
        """The radius of a sphere about ``center`` that holds the shape (normalised units).

        Examples
        --------
        >>> Shape("ellipsoid", (0.0, 0.0, 0.0), (0.2, 0.5, 0.3), 0.0, Tissue.SOFT).bounding_radius
        0.5
        """
        a, b, c = self.axes
        if self.kind == "cylinder":
            return math.hypot(max(a, b), c)
        return max(a, b, c)


def _e(center, axes, tissue, angle=0.0) -> Shape:
    return Shape("ellipsoid", tuple(map(float, center)), tuple(map(float, axes)), float(angle), tissue)


def _c(center, axes, tissue, angle=0.0) -> Shape:
    return Shape("cylinder", tuple(map(float, center)), tuple(map(float, axes)), float(angle), tissue)


T = Tissue

#: A head in the spirit of the Shepp-Logan phantom: scalp, skull, brain, two tilted
#: ventricles and a few small lesions at different heights (y runs towards the back).
_HEAD = (
    _e((0, 0, 0), (0.72, 0.95, 0.93), T.FAT),
    _e((0, 0, 0), (0.69, 0.92, 0.90), T.BONE),
    _e((0, 0.015, 0), (0.655, 0.87, 0.86), T.SOFT),
    _e((0.22, 0.0, 0.12), (0.11, 0.31, 0.22), T.FLUID, -18),
    _e((-0.22, 0.0, 0.12), (0.16, 0.41, 0.28), T.FLUID, 18),
    _e((0, -0.35, 0.25), (0.21, 0.25, 0.41), T.LESION),
    _e((0, -0.1, -0.05), (0.046, 0.046, 0.046), T.LESION),
    _e((0, 0.1, -0.05), (0.046, 0.046, 0.046), T.BLOOD),
    _e((-0.08, 0.605, -0.1), (0.046, 0.023, 0.05), T.LESION),
    _e((0, 0.606, -0.1), (0.023, 0.023, 0.02), T.LESION),
    _e((0.06, 0.605, -0.1), (0.023, 0.046, 0.02), T.BLOOD),
    _e((0, -0.6, -0.55), (0.25, 0.2, 0.3), T.FLUID),  # a sinus, low in the head
)

#: A torso: fat and muscle walls, lungs, heart, aorta, liver, spine and a lung nodule.
_BODY = (
    _c((0, 0, 0), (0.95, 0.68, 2.6), T.FAT),
    _c((0, 0, 0), (0.88, 0.61, 2.6), T.SOFT),
    _e((-0.42, 0.02, 0.45), (0.34, 0.46, 0.78), T.LUNG),
    _e((0.42, 0.02, 0.45), (0.33, 0.46, 0.74), T.LUNG),
    _e((0.1, -0.12, 0.22), (0.335, 0.335, 0.355), T.FAT, -25),  # pericardial fat
    _e((0.1, -0.12, 0.22), (0.3, 0.3, 0.32), T.SOFT, -25),
    _e((0.1, -0.12, 0.24), (0.17, 0.17, 0.2), T.BLOOD, -25),
    _c((-0.05, 0.24, 0.35), (0.075, 0.075, 0.9), T.BLOOD),
    _e((-0.38, -0.02, -0.45), (0.52, 0.5, 0.42), T.LIVER, 10),
    _e((-0.25, 0.05, -0.42), (0.07, 0.07, 0.07), T.LESION),
    _e((0.45, 0.25, -0.55), (0.14, 0.22, 0.3), T.SOFT, 20),  # left kidney
    _e((-0.45, 0.25, -0.65), (0.14, 0.22, 0.3), T.SOFT, -20),  # right kidney
    _c((0, 0.45, 0), (0.14, 0.12, 2.6), T.BONE),
    _c((0, 0.45, 0), (0.105, 0.09, 2.6), T.MARROW),
    _c((0, 0.6, 0), (0.045, 0.04, 2.6), T.FLUID),
    _c((0, -0.555, 0.5), (0.09, 0.035, 0.5), T.BONE),
    _e((0.5, -0.12, 0.6), (0.06, 0.06, 0.06), T.SOFT),  # a lung nodule
) + tuple(
    # ribs: short oval bars in the chest wall at four heights
    _c((0.835 * math.cos(math.radians(a)), 0.565 * math.sin(math.radians(a)), z), (0.04, 0.022, 0.055),
       T.BONE, a + 90)
    for z in (0.05, 0.3, 0.55, 0.8) for a in (-145, -115, -65, -35, 35, 65, 115, 145)
)

#: A sphere of soft tissue in air: the simplest test object.
_SPHERE = (_e((0, 0, 0), (0.8, 0.8, 0.8), T.SOFT),)

PHANTOMS: dict[str, tuple[Shape, ...]] = {"shepp_logan": _HEAD, "head": _HEAD, "body": _BODY, "sphere": _SPHERE}


def phantom_shapes(phantom: str | Sequence[Shape]) -> tuple[Shape, ...]:
    """The shapes of a named phantom (``"shepp_logan"``, ``"body"``, ``"sphere"``), or ``phantom`` itself.

    Parameters
    ----------
    phantom
        A name of :data:`PHANTOMS` (``"head"`` is ``"shepp_logan"``), or a sequence of
        :class:`Shape`.

    Returns
    -------
    tuple of Shape
        In painting order.

    Raises
    ------
    PacsnbError
        For an unknown name, or a sequence holding something else than shapes.

    Examples
    --------
    >>> len(phantom_shapes("sphere"))
    1
    """
    if isinstance(phantom, str):
        try:
            return PHANTOMS[phantom]
        except KeyError:
            raise PacsnbError(f"unknown phantom {phantom!r}: use one of {sorted(PHANTOMS)}") from None
    shapes = tuple(phantom)
    if not all(isinstance(s, Shape) for s in shapes):
        raise PacsnbError("a phantom is a name or a sequence of pacsnb.samples.phantom.Shape")
    return shapes


def _rotation_z(deg: float) -> np.ndarray:
    t = math.radians(deg)
    c, s = math.cos(t), math.sin(t)
    # rows: the shape's local axes expressed in phantom coordinates
    return np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])


class _Form:
    """The quadratic form of one shape over the pixel grid of a plane stack (internal)."""

    __slots__ = ("shape", "qa", "qb", "qc", "z0", "zt", "fixed_box", "fixed_mask", "empty")

    def __init__(self, shape, qa, qb, qc, z0, zt) -> None:
        self.shape, self.qa, self.qb, self.qc, self.z0, self.zt = shape, qa, qb, qc, z0, zt
        self.fixed_box = None
        self.fixed_mask = None
        self.empty = False


def _affine(c0: float, ci: float, cj: float, ii: np.ndarray, jj: np.ndarray):
    """``c0 + i ci + j cj`` over the grid, as a float when it does not vary."""
    if abs(ci) < 1e-12 and abs(cj) < 1e-12:
        return float(c0)
    return c0 + ii * ci + jj * cj


def _sq(x):
    return x * x


def _times(x, c: float):
    if abs(c) < 1e-12:
        return 0.0
    return x * c


def _f32(x, rows: int, columns: int):
    """A float stays a float; an array becomes a full float32 grid."""
    if isinstance(x, (float, int)):
        return float(x)
    return np.ascontiguousarray(np.broadcast_to(x, (rows, columns)), dtype=np.float32)


def _grid(x, rows: int, columns: int) -> np.ndarray:
    return np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype=np.float32), (rows, columns)))


class PlaneStack:
    """A stack of parallel image planes through a phantom, sampled on their pixel grids.

    Parameters
    ----------
    phantom
        A phantom name or a sequence of :class:`Shape`.
    origin
        Patient coordinates (mm) of the centre of the first pixel of plane 0.
    row_dir, col_dir
        Unit vectors along a row (to increasing column index) and down a column (to
        increasing row index): the two halves of Image Orientation (Patient).
    rows, columns
        Grid size.
    spacing
        Pixel Spacing: ``(between rows, between columns)`` in mm.
    step
        Distance in mm from one plane to the next, along ``row_dir x col_dir``.
    center
        Patient coordinates of the phantom centre.
    scale
        Millimetres per normalised phantom unit.

    Raises
    ------
    PacsnbError
        For an unknown phantom or a scale that is not positive.

    Examples
    --------
    >>> stack = PlaneStack("body", origin=(-175, -175, 0), row_dir=(1, 0, 0), col_dir=(0, 1, 0),
    ...                    rows=8, columns=8, spacing=(50.0, 50.0), step=10.0, center=(0, 0, 0),
    ...                    scale=175.0)
    >>> labels = stack.labels(0)
    >>> labels.shape, labels.dtype
    ((8, 8), dtype('uint8'))
    >>> import numpy as np
    >>> [Tissue(v).name for v in np.unique(labels)]
    ['AIR', 'FAT', 'SOFT', 'LUNG']
    """

    def __init__(self, phantom: str | Sequence[Shape], origin: Sequence[float], row_dir: Sequence[float],
                 col_dir: Sequence[float], rows: int, columns: int, spacing: Sequence[float], step: float,
                 center: Sequence[float], scale: float) -> None:
        self.shapes = phantom_shapes(phantom)
        r = np.asarray(row_dir, dtype=np.float64)
        c = np.asarray(col_dir, dtype=np.float64)
        n = np.cross(r, c)
        self.rows, self.columns = int(rows), int(columns)
        s = float(scale)
        if s <= 0:
            raise PacsnbError(f"phantom scale must be positive, got {scale}")
        o = (np.asarray(origin, dtype=np.float64) - np.asarray(center, dtype=np.float64)) / s
        self._o = o
        self._a = r * float(spacing[1]) / s  # one column step, normalised
        self._b = c * float(spacing[0]) / s  # one row step
        self._t = n * float(step) / s  # one plane step
        self._n = n / np.linalg.norm(n)
        self._na, self._nb = float(np.linalg.norm(self._a)), float(np.linalg.norm(self._b))
        self._forms: list[_Form] = []
        ii = np.arange(self.rows, dtype=np.float64)[:, None]
        jj = np.arange(self.columns, dtype=np.float64)[None, :]
        for shape in self.shapes:
            rot = _rotation_z(shape.angle)
            inv = 1.0 / np.asarray(shape.axes)
            m = rot * inv[:, None]  # local = m @ (u - center)
            l0 = m @ (o - np.asarray(shape.center))
            la, lb, lt = m @ self._a, m @ self._b, m @ self._t
            # local coordinates of pixel (i, j) of plane k: l0 + i lb + j la + k lt
            comps = [_affine(l0[d], lb[d], la[d], ii, jj) for d in range(3)]
            radial = 2 if shape.kind == "cylinder" else 3
            # |L_radial|^2 = qa(i, j) + k qb(i, j) + k^2 qc
            qa = sum(_sq(comps[d]) for d in range(radial))
            qb = sum(_times(comps[d], 2.0 * lt[d]) for d in range(radial))
            qc = float(sum(lt[d] ** 2 for d in range(radial)))
            f = _Form(shape, _grid(qa, self.rows, self.columns), _f32(qb, self.rows, self.columns), qc,
                      None if radial == 3 else _f32(comps[2], self.rows, self.columns), float(lt[2]))
            if isinstance(f.qb, float) and f.qb == 0.0 and f.qc == 0.0:
                # the cross-section does not change from plane to plane (e.g. a cylinder
                # along the slice normal): keep its mask and tight bounding box
                mask = f.qa <= 1.0
                rows_any, cols_any = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
                if rows_any.size:
                    f.fixed_box = (slice(int(rows_any[0]), int(rows_any[-1]) + 1),
                                   slice(int(cols_any[0]), int(cols_any[-1]) + 1))
                    f.fixed_mask = np.ascontiguousarray(mask[f.fixed_box])
                else:
                    f.empty = True
            self._forms.append(f)

    def _bbox(self, shape: Shape, k: float) -> tuple[slice, slice] | None:
        ok = self._o + k * self._t
        rel = np.asarray(shape.center) - ok
        d = float(rel @ self._n)
        big_r = shape.bounding_radius
        if abs(d) >= big_r:
            return None
        rad = math.sqrt(big_r * big_r - d * d)
        nb, na = self._nb, self._na
        i0 = float(rel @ self._b) / (nb * nb)
        j0 = float(rel @ self._a) / (na * na)
        ri, rj = rad / nb, rad / na
        lo_i, hi_i = max(0, math.floor(i0 - ri)), min(self.rows, math.ceil(i0 + ri) + 1)
        lo_j, hi_j = max(0, math.floor(j0 - rj)), min(self.columns, math.ceil(j0 + rj) + 1)
        if lo_i >= hi_i or lo_j >= hi_j:
            return None
        return slice(lo_i, hi_i), slice(lo_j, hi_j)

    def labels(self, k: float) -> np.ndarray:
        """The tissue label map (``uint8``, rows x columns) of plane ``k`` (may be fractional).

        Parameters
        ----------
        k
            The plane number: plane ``k`` is ``k * step`` mm from plane 0 along the normal.

        Returns
        -------
        numpy.ndarray
            ``uint8`` of shape ``(rows, columns)``: the :class:`Tissue` at each pixel centre
            (``AIR`` outside every shape).

        Examples
        --------
        >>> stack = PlaneStack("sphere", origin=(-8, -8, 0), row_dir=(1, 0, 0), col_dir=(0, 1, 0),
        ...                    rows=3, columns=3, spacing=(8.0, 8.0), step=1.0, center=(0, 0, 0),
        ...                    scale=10.0)
        >>> stack.labels(0).tolist(), int(stack.labels(9).max())
        ([[0, 2, 0], [2, 2, 2], [0, 2, 0]], 0)
        """
        out = np.zeros((self.rows, self.columns), dtype=np.uint8)
        k = float(k)
        for f in self._forms:
            if f.empty:
                continue
            value = np.uint8(f.shape.tissue)
            if f.fixed_mask is not None:
                box = f.fixed_box
                if isinstance(f.z0, float):
                    if abs(f.z0 + f.zt * k) > 1.0:
                        continue
                    np.copyto(out[box], value, where=f.fixed_mask)
                else:
                    inside = f.fixed_mask & (np.abs(f.z0[box] + np.float32(f.zt * k)) <= 1.0)
                    np.copyto(out[box], value, where=inside)
                continue
            box = self._bbox(f.shape, k)
            if box is None:
                continue
            limit = 1.0 - f.qc * k * k
            if isinstance(f.qb, float):
                inside = f.qa[box] <= np.float32(limit - f.qb * k)
            else:
                inside = f.qa[box] + np.float32(k) * f.qb[box] <= np.float32(limit)
            if f.z0 is not None:
                if isinstance(f.z0, float):
                    if abs(f.z0 + f.zt * k) > 1.0:
                        continue
                else:
                    inside &= np.abs(f.z0[box] + np.float32(f.zt * k)) <= 1.0
            np.copyto(out[box], value, where=inside)
        return out

    def normalised_grid(self, k: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Normalised phantom coordinates ``(x, y, z)`` of every pixel of plane ``k``.

        Parameters
        ----------
        k
            The plane number (may be fractional).

        Returns
        -------
        tuple of numpy.ndarray
            Three float32 grids (broadcastable to ``(rows, columns)``): the pixel centres
            in the phantom's normalised coordinates.

        Examples
        --------
        >>> stack = PlaneStack("sphere", origin=(-10, -10, 0), row_dir=(1, 0, 0), col_dir=(0, 1, 0),
        ...                    rows=3, columns=3, spacing=(10.0, 10.0), step=1.0, center=(0, 0, 0),
        ...                    scale=10.0)
        >>> x, y, z = stack.normalised_grid(0)
        >>> x[0].tolist(), y[:, 0].tolist()
        ([-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0])
        """
        ii = np.arange(self.rows, dtype=np.float32)[:, None]
        jj = np.arange(self.columns, dtype=np.float32)[None, :]
        o = self._o + k * self._t
        return tuple(np.float32(o[d]) + ii * np.float32(self._b[d]) + jj * np.float32(self._a[d])
                     for d in range(3))  # type: ignore[return-value]
