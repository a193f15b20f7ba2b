"""The geometry of a stack of slices: order, spacing, gaps, tilt and the affine.

Everything here follows the Image Plane module (PS3.3 C.7.6.2): Image Orientation
(Patient) gives the direction cosines of the first row and the first column, Image
Position (Patient) the centre of the first transmitted pixel, Pixel Spacing the distance
between the centres of adjacent rows, then adjacent columns, all in the patient
coordinate system (LPS, millimetres). The slice normal is ``row x column``; slices are
ordered by the projection of their position on the normal, never by file name or
Instance Number.

:func:`analyze_stack` checks that a set of positions makes a regular stack and says what is
wrong when it does not (slices at the same place, missing slices, uneven spacing, gantry
tilt); :func:`affine_matrix` builds the 4x4 matrix of PS3.3 C.7.6.2.1.1 extended to three
dimensions.

Examples
--------
>>> import numpy as np
>>> from pacsnb.cohort.geometry import analyze_stack
>>> iop = [1, 0, 0, 0, 1, 0]
>>> pos = [[0, 0, 5.0], [0, 0, 0.0], [0, 0, 2.5]]          # given out of order
>>> g = analyze_stack(pos, iop)
>>> g.order.tolist(), g.z.tolist(), g.spacing, g.warnings
([1, 2, 0], [0.0, 2.5, 5.0], 2.5, [])
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pacsnb.errors import GeometryError

__all__ = ["GeometryWarning", "StackGeometry", "as_floats", "direction_cosines", "analyze_stack",
           "affine_matrix", "orientation_label"]

#: Relative tolerance on the spacing between slices (1 % of the nominal spacing) ...
REL_TOL = 0.01
#: ... and the absolute one, in millimetres, below which positions count as equal.
ABS_TOL = 1e-3
#: A stack whose slice-to-slice step leans more than this (degrees) from the normal is tilted.
TILT_TOL_DEG = 0.01


class GeometryWarning(UserWarning):
    """A volume was made, but its geometry is not a regular stack: missing slices, uneven
    spacing or gantry tilt. The details are also in the DataArray's ``.attrs``.

    Examples
    --------
    >>> issubclass(GeometryWarning, UserWarning)
    True
    """


def as_floats(value: Any, n: int | None = None, *, what: str = "value") -> list[float] | None:
    """A DICOM multi-value (list, tuple, array or ``"a\\\\b"`` text) as a list of floats.

    Parameters
    ----------
    value
        The value as a data set, a DataFrame cell or the user gives it; ``None``, NaN and
        empty text give ``None``.
    n
        The number of values expected (checked when given).
    what
        The attribute's name, for the error message.

    Returns
    -------
    list of float or None

    Raises
    ------
    GeometryError
        When the values are not numbers or not ``n`` of them.

    Examples
    --------
    >>> as_floats("0.5\\\\0.7"), as_floats(("1", "2", "3"), 3), as_floats(None)
    ([0.5, 0.7], [1.0, 2.0, 3.0], None)
    """
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        parts: Sequence[Any] = text.split("\\")
    elif isinstance(value, (int, float, np.number)):
        parts = [value]
    else:
        parts = list(np.asarray(value, dtype=object).ravel())
    try:
        out = [float(p) for p in parts]
    except (TypeError, ValueError):
        raise GeometryError(f"{what} has the value {value!r}, which is not a list of numbers") from None
    if n is not None and len(out) != n:
        raise GeometryError(f"{what} needs {n} values, got {len(out)}: {value!r}")
    if not all(math.isfinite(v) for v in out):
        raise GeometryError(f"{what} has a value that is not finite: {value!r}")
    return out


def direction_cosines(orientation: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The unit row direction, column direction and slice normal of Image Orientation (Patient).

    Parameters
    ----------
    orientation
        Six direction cosines: the first row's direction, then the first column's.

    Returns
    -------
    tuple of numpy.ndarray
        ``(row, column, normal)``, each of 3 floats, normalised; ``normal = row x column``.

    Raises
    ------
    GeometryError
        When there are not six numbers, a direction is zero, or the two directions are not
        orthogonal (more than 0.1 degree off).

    Examples
    --------
    >>> r, c, n = direction_cosines([1, 0, 0, 0, 1, 0])
    >>> n.tolist()
    [0.0, 0.0, 1.0]
    >>> direction_cosines([0, 1, 0, 0, 0, -1])[2].tolist()     # sagittal
    [-1.0, 0.0, 0.0]
    """
    v = as_floats(orientation, 6, what="Image Orientation (Patient) (0020,0037)")
    if v is None:
        raise GeometryError("Image Orientation (Patient) (0020,0037) is missing: the images cannot be "
                            "placed in space")
    r, c = np.array(v[:3]), np.array(v[3:])
    nr, nc = float(np.linalg.norm(r)), float(np.linalg.norm(c))
    if nr < 1e-6 or nc < 1e-6:
        raise GeometryError(f"Image Orientation (Patient) {v} has a zero direction")
    r, c = r / nr, c / nc
    if abs(float(r @ c)) > math.sin(math.radians(0.1)):
        raise GeometryError(f"Image Orientation (Patient) {v}: the row and column directions are not "
                            "orthogonal")
    n = np.cross(r, c)
    return r, c, n / np.linalg.norm(n)


def orientation_label(orientation: Any) -> str:
    """``"axial"``, ``"coronal"``, ``"sagittal"`` or ``"oblique"`` from the slice normal.

    Parameters
    ----------
    orientation
        Image Orientation (Patient).

    Returns
    -------
    str
        The plane whose normal is within 1 degree of the slice normal, else ``"oblique"``.

    Examples
    --------
    >>> orientation_label([1, 0, 0, 0, 0, -1]), orientation_label([1, 0, 0, 0, 0.8, -0.6])
    ('coronal', 'oblique')
    """
    n = direction_cosines(orientation)[2]
    axis = int(np.argmax(np.abs(n)))
    if abs(n[axis]) < math.cos(math.radians(1.0)):
        return "oblique"
    return ("sagittal", "coronal", "axial")[axis]


@dataclass(frozen=True)
class StackGeometry:
    """What :func:`analyze_stack` found about a stack of slices.

    Attributes
    ----------
    order
        Indices of the input positions sorted along the normal (ascending).
    z
        Position of each sorted slice along the normal, mm (the ``z`` coordinate).
    positions
        Image Position (Patient) of each sorted slice, shape ``(n, 3)``.
    row, column, normal
        Unit direction cosines.
    spacing
        The nominal distance between slices along the normal, mm (the median step; 0 for
        one slice).
    step
        The vector from one slice's position to the next for the nominal spacing (along
        the normal unless the stack is tilted), mm.
    missing
        Positions along the normal where a slice of a regular stack is missing.
    uneven
        The steps differ by more than the tolerance and not by whole slices.
    tilt
        Angle between the step and the normal, degrees (gantry tilt or shear).
    warnings
        One sentence per problem found (empty for a regular stack).

    Examples
    --------
    >>> g = analyze_stack([[0, 0, 0], [0, 0, 2], [0, 0, 6]], [1, 0, 0, 0, 1, 0])
    >>> g.spacing, g.missing, g.uneven
    (2.0, [4.0], False)
    """

    order: np.ndarray
    z: np.ndarray
    positions: np.ndarray
    row: np.ndarray
    column: np.ndarray
    normal: np.ndarray
    spacing: float
    step: np.ndarray
    missing: list[float] = field(default_factory=list)
    uneven: bool = False
    tilt: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def regular(self) -> bool:
        """No missing slice, even spacing and no tilt."""
        return not self.missing and not self.uneven and self.tilt == 0.0


def _tol(spacing: float) -> float:
    return max(ABS_TOL, REL_TOL * abs(spacing))


def _nominal_spacing(diffs: np.ndarray) -> float:
    """The spacing of the regular stack the steps come from: the smallest step when every
    step is a whole multiple of it and most steps are that one (missing slices), else the
    median step."""
    smallest = float(diffs.min())
    base = diffs[np.abs(diffs - smallest) <= _tol(smallest)]
    s0 = float(np.median(base))
    k = np.rint(diffs / s0)
    whole = bool(np.all(np.abs(diffs - k * s0) <= _tol(s0) * k))
    if whole and base.size >= diffs.size - base.size:
        return s0
    return float(np.median(diffs))


def analyze_stack(positions: Any, orientation: Any) -> StackGeometry:
    """Sort slices along their normal and check that they make a regular stack.

    Parameters
    ----------
    positions
        Image Position (Patient) of each slice, shape ``(n, 3)``, in any order.
    orientation
        The common Image Orientation (Patient).

    Returns
    -------
    StackGeometry
        The order, positions along the normal, nominal spacing and step, and the problems
        found: missing slices (a step that is a whole multiple of the nominal spacing),
        uneven spacing (any other difference of more than 1 % of the spacing) and tilt (a
        step that is not along the normal, as with a tilted CT gantry).

    Raises
    ------
    GeometryError
        When two slices are at the same position (within 0.001 mm), or positions are
        missing or malformed.

    Examples
    --------
    >>> g = analyze_stack([[0, 0, 0], [0, 1, 2], [0, 2, 4]], [1, 0, 0, 0, 1, 0])
    >>> round(g.tilt, 2), g.step.tolist()
    (26.57, [0.0, 1.0, 2.0])
    >>> g.warnings[0][:26]
    'the slices are tilted 26.6'
    """
    row, col, normal = direction_cosines(orientation)
    pos = np.asarray(positions, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[1] != 3 or pos.shape[0] == 0:
        raise GeometryError(f"expected Image Position (Patient) of each slice, shape (n, 3); got {pos.shape}")
    if not np.isfinite(pos).all():
        raise GeometryError("an Image Position (Patient) is not finite")
    d = pos @ normal
    order = np.argsort(d, kind="stable")
    d, pos = d[order], pos[order]
    n = len(d)
    warnings: list[str] = []
    if n == 1:
        return StackGeometry(order, d, pos, row, col, normal, 0.0, normal.copy())
    diffs = np.diff(d)
    same = np.flatnonzero(diffs <= ABS_TOL)
    if same.size:
        at = ", ".join(f"{d[i]:.3f}" for i in same[:5]) + (" ..." if same.size > 5 else "")
        raise GeometryError(f"{same.size} pair(s) of slices share a position along the normal "
                            f"(at {at} mm): these images are not one stack (several phases, echoes or "
                            "acquisitions?); select one set, e.g. by AcquisitionNumber, TemporalPositionIdentifier "
                            "or EchoNumbers")
    spacing = _nominal_spacing(diffs)
    tol = _tol(spacing)
    missing: list[float] = []
    uneven = False
    for i, s in enumerate(diffs):
        if abs(s - spacing) <= tol:
            continue
        k = int(round(s / spacing))
        if k >= 2 and abs(s - k * spacing) <= tol * k:
            missing.extend(float(d[i] + j * spacing) for j in range(1, k))
        else:
            uneven = True
    if missing:
        shown = ", ".join(f"{m:.2f}" for m in missing[:6]) + (" ..." if len(missing) > 6 else "")
        warnings.append(f"{len(missing)} slice(s) missing: a regular stack with spacing {spacing:g} mm would have "
                        f"slices at {shown} mm along the normal")
    if uneven:
        warnings.append(f"the spacing between slices is uneven: steps from {diffs.min():g} to {diffs.max():g} mm "
                        f"(nominal {spacing:g} mm); the z coordinate holds the true positions")
    # the step vector: a least-squares line through the positions, per unit of distance along
    # the normal, scaled to the nominal spacing
    dz = d - d.mean()
    slope = (dz[:, None] * (pos - pos.mean(axis=0))).sum(axis=0) / float((dz * dz).sum())
    step = slope * spacing
    along = float(slope @ normal)
    across = float(np.linalg.norm(slope - along * normal))
    tilt = math.degrees(math.atan2(across, along))
    if tilt <= TILT_TOL_DEG:
        tilt = 0.0
        step = normal * spacing
    else:
        warnings.append(f"the slices are tilted {tilt:.1f} degrees from their normal (gantry tilt or shear): each "
                        f"slice is shifted {across * spacing:.3f} mm in its plane from the previous one; the affine "
                        "in .attrs['affine'] includes the shear")
    line = pos.mean(axis=0) + dz[:, None] * slope
    off = float(np.abs(pos - line).max())
    if off > tol:
        warnings.append(f"the slice positions are not on one line (up to {off:.3f} mm off): the volume is not a "
                        "regular grid")
    return StackGeometry(order, d, pos, row, col, normal, spacing, step, missing, uneven, tilt, warnings)


def affine_matrix(orientation: Any, pixel_spacing: Any, origin: Any, step: Any = None) -> np.ndarray:
    """The 4x4 matrix mapping voxel indices ``(x, y, z, 1)`` to patient coordinates (LPS, mm).

    PS3.3 C.7.6.2.1.1 gives the in-plane part: column index ``x`` moves along the row
    direction by the column spacing (Pixel Spacing[1]), row index ``y`` along the column
    direction by the row spacing (Pixel Spacing[0]); the third column is the step from one
    slice to the next.

    Parameters
    ----------
    orientation
        Image Orientation (Patient).
    pixel_spacing
        Pixel Spacing: ``(row spacing, column spacing)``.
    origin
        Image Position (Patient) of the first slice.
    step
        The vector from one slice to the next (default: the normal, 1 mm).

    Returns
    -------
    numpy.ndarray
        ``float64``, shape ``(4, 4)``.

    Examples
    --------
    >>> A = affine_matrix([1, 0, 0, 0, 1, 0], [0.5, 0.7], [-10, -20, 30], [0, 0, 2.5])
    >>> (A @ [2, 1, 4, 1]).tolist()
    [-8.6, -19.5, 40.0, 1.0]
    """
    row, col, normal = direction_cosines(orientation)
    ps = as_floats(pixel_spacing, 2, what="Pixel Spacing (0028,0030)")
    if ps is None:
        raise GeometryError("Pixel Spacing (0028,0030) is missing")
    o = as_floats(origin, 3, what="Image Position (Patient) (0020,0032)")
    if o is None:
        raise GeometryError("Image Position (Patient) (0020,0032) is missing")
    s = normal if step is None else np.asarray(as_floats(step, 3, what="step"))
    A = np.eye(4)
    A[:3, 0] = row * ps[1]
    A[:3, 1] = col * ps[0]
    A[:3, 2] = s
    A[:3, 3] = o
    return A
