"""PHI-free synthetic identities: patients, studies and the UIDs of a sample cohort.

Everything is derived from integer seeds through SHA-256, never from the clock or from
Python's salted ``hash``: the same seed gives the same names, dates and UIDs on every
machine and every run.

Names are made of neutral syllables that do not form real names (``"VEXOR^TIKAM"``); patient IDs
are ``"PNB"`` followed by the seed's digits.

Examples
--------
>>> from pacsnb.samples.identity import make_patient, make_study_info
>>> p = make_patient(7)
>>> p["PatientID"], p["PatientSex"] in ("F", "M", "O")
('PNB0000007', True)
>>> p == make_patient(7), p["PatientName"] != make_patient(8)["PatientName"]
(True, True)
>>> s = make_study_info(7, p, modality="CT")
>>> s["StudyInstanceUID"].startswith("2.25."), len(s["StudyDate"])
(True, 8)
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import math
import re
from typing import Any

import numpy as np

from pacsnb.dicom.uid import UID, generate_uid
from pacsnb.errors import PacsnbError

__all__ = ["make_patient", "make_study_info", "synthetic_name", "derive_seed", "rng_for", "sample_uid",
           "SYLLABLES", "NAME_PATTERN", "is_synthetic_name", "format_ds", "format_tm"]

#: The syllables synthetic names are made of. They avoid common name fragments.
SYLLABLES = ("ZAR", "QUO", "VEX", "TIK", "MOR", "PLU", "XAN", "DRU", "KEV", "YUL", "FEN",
             "GLO", "BRI", "NUX", "SOV", "WEP", "ZOT", "KAM", "VOR", "EXO", "ULM", "TAV")

#: A regular expression every synthetic person name matches (family^given, syllables only).
NAME_PATTERN = re.compile(r"^(?:%s){2,3}\^(?:%s){2,3}$" % ("|".join(SYLLABLES), "|".join(SYLLABLES)))

_NAMESPACE = "pacsnb.samples"


def derive_seed(*keys: object) -> int:
    """A 63-bit integer derived from ``keys`` (stable across runs and machines).

    Parameters
    ----------
    *keys
        Anything with a stable ``str()`` (strings, integers, UIDs).

    Returns
    -------
    int
        From the SHA-256 of the keys' text: equal keys give equal seeds.

    Examples
    --------
    >>> derive_seed("patient", 1) == derive_seed("patient", 1) != derive_seed("patient", 2)
    True
    """
    text = "/".join(str(k) for k in (_NAMESPACE,) + keys)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") >> 1


def rng_for(*keys: object) -> np.random.Generator:
    """A numpy random generator seeded from ``keys`` (see :func:`derive_seed`).

    Parameters
    ----------
    *keys
        As for :func:`derive_seed`.

    Returns
    -------
    numpy.random.Generator

    Examples
    --------
    >>> float(rng_for("x", 1).random()) == float(rng_for("x", 1).random())
    True
    """
    return np.random.default_rng(derive_seed(*keys))


def sample_uid(*keys: object) -> UID:
    """A deterministic ``2.25`` UID for a sample entity named by ``keys``.

    Parameters
    ----------
    *keys
        What the UID identifies (``"study", seed``, ...): equal keys give equal UIDs.

    Returns
    -------
    UID

    Examples
    --------
    >>> sample_uid("study", 1) == sample_uid("study", 1)
    True
    """
    return generate_uid(entropy="/".join(str(k) for k in (_NAMESPACE,) + keys))


def synthetic_name(rng: np.random.Generator) -> str:
    """A person name ``FAMILY^GIVEN`` made of 2 or 3 neutral syllables each.

    Parameters
    ----------
    rng
        The random generator the syllables are drawn from.

    Returns
    -------
    str
        A name that matches :data:`NAME_PATTERN`.

    Examples
    --------
    >>> from pacsnb.samples.identity import NAME_PATTERN, rng_for
    >>> bool(NAME_PATTERN.match(synthetic_name(rng_for("doc"))))
    True
    """
    def word() -> str:
        n = int(rng.integers(2, 4))
        return "".join(SYLLABLES[int(i)] for i in rng.integers(0, len(SYLLABLES), n))

    return f"{word()}^{word()}"


def is_synthetic_name(name: object) -> bool:
    """True if ``name`` (a PN value) is a name :func:`synthetic_name` could have made.

    Parameters
    ----------
    name
        A Person Name value (anything with a ``str()``).

    Returns
    -------
    bool

    Examples
    --------
    >>> is_synthetic_name("ZARQUO^VEXTIK"), is_synthetic_name("DOE^JOHN")
    (True, False)
    """
    return bool(NAME_PATTERN.match(str(name)))


def format_ds(x: float, decimals: int = 6) -> str:
    """A Decimal String of at most 16 characters, without useless zeros.

    Parameters
    ----------
    x
        A number.
    decimals
        The most decimals to keep; fewer are used when the text would pass 16 characters.

    Returns
    -------
    str

    Raises
    ------
    PacsnbError
        When even the integer part does not fit in 16 characters.

    Examples
    --------
    >>> format_ds(-22.050000000001), format_ds(40), format_ds(1 / 3)
    ('-22.05', '40', '0.333333')
    """
    if not math.isfinite(float(x)):
        raise PacsnbError(f"a DS value must be a finite number, not {x!r}")
    for d in range(decimals, -1, -1):
        s = f"{float(x):.{d}f}"
        if "." in s:
            s = s.rstrip("0").rstrip(".")
        if s == "-0":
            s = "0"
        if len(s) <= 16:
            return s
    raise PacsnbError(f"{x!r} does not fit a 16-character decimal string")


def format_tm(seconds: float) -> str:
    """A TM value ``HHMMSS.FFFFFF`` (fraction only when needed) for seconds after midnight.

    Parameters
    ----------
    seconds
        Seconds after midnight (taken modulo one day), rounded to the microsecond.

    Returns
    -------
    str

    Examples
    --------
    >>> format_tm(3600 * 14 + 65.25), format_tm(30)
    ('140105.25', '000030')
    """
    seconds = float(seconds) % 86400.0
    whole = int(seconds)
    frac = round(seconds - whole, 6)
    if frac >= 1.0:
        whole, frac = whole + 1, 0.0
    h, rem = divmod(whole, 3600)
    m, s = divmod(rem, 60)
    text = f"{h:02d}{m:02d}{s:02d}"
    if frac > 0:
        text += ("%.6f" % frac)[1:].rstrip("0")
    return text


def _da(d: _dt.date) -> str:
    return d.strftime("%Y%m%d")


def make_patient(seed: int = 0) -> dict[str, Any]:
    """A synthetic, PHI-free patient: Patient module attributes by keyword.

    Parameters
    ----------
    seed
        A non-negative integer; equal seeds give equal patients.

    Returns
    -------
    dict
        ``PatientName`` (syllables, see :data:`NAME_PATTERN`), ``PatientID``
        (``"PNB"`` + the seed's digits), ``IssuerOfPatientID``, ``PatientBirthDate``
        (1940-2004), ``PatientSex``, ``PatientSize`` (m), ``PatientWeight`` (kg), and
        ``seed``.

    Raises
    ------
    PacsnbError
        For a negative seed.

    Examples
    --------
    >>> p = make_patient(0)
    >>> sorted(p)  # doctest: +NORMALIZE_WHITESPACE
    ['IssuerOfPatientID', 'PatientBirthDate', 'PatientID', 'PatientName', 'PatientSex',
     'PatientSize', 'PatientWeight', 'seed']
    >>> p["PatientID"], is_synthetic_name(p["PatientName"])
    ('PNB0000000', True)
    """
    seed = int(seed)
    if seed < 0:
        raise PacsnbError(f"seeds are non-negative integers, got {seed}")
    rng = rng_for("patient", seed)
    name = synthetic_name(rng)
    sex = ("F", "M", "O")[int(rng.choice(3, p=[0.49, 0.49, 0.02]))]
    birth = _dt.date(1940, 1, 1) + _dt.timedelta(days=int(rng.integers(0, 65 * 365)))
    height = float(rng.normal(1.64 if sex == "F" else 1.77, 0.07))
    bmi = float(rng.uniform(19.0, 31.0))
    return {
        "PatientName": name,
        "PatientID": f"PNB{seed:07d}",
        "IssuerOfPatientID": "PACSNB SAMPLES",
        "PatientBirthDate": _da(birth),
        "PatientSex": sex,
        "PatientSize": round(height, 2),
        "PatientWeight": round(bmi * height * height, 1),
        "seed": seed,
    }


#: Default body part per modality, and study descriptions per (modality, body part).
DEFAULT_BODY_PARTS = {"CT": "HEAD", "MR": "HEAD", "CR": "CHEST", "US": "ABDOMEN"}
_DESCRIPTIONS = {("CT", "HEAD"): "CT Head", ("CT", "CHEST"): "CT Chest/Abdomen", ("MR", "HEAD"): "MR Brain",
                 ("MR", "CHEST"): "MR Thorax/Abdomen", ("CR", "CHEST"): "XR Chest 2 views",
                 ("US", "ABDOMEN"): "US Abdomen"}


def make_study_info(seed: int = 0, patient: dict[str, Any] | None = None, *, modality: str = "CT",
                    index: int = 0, body_part: str | None = None) -> dict[str, Any]:
    """The study-level attributes of a synthetic study (General Study, Patient Study).

    Parameters
    ----------
    seed
        The study seed.
    patient
        The patient (from :func:`make_patient`); default ``make_patient(seed)``.
    modality
        Used for the description and the default body part.
    index
        Number of the study for this patient (0, 1, ...): later studies are later in time.
    body_part
        Body Part Examined (``"HEAD"``, ``"CHEST"``, ``"ABDOMEN"``, ...); default by
        modality (head for CT and MR, chest for CR, abdomen for US). Used for the
        description too.

    Returns
    -------
    dict
        ``StudyInstanceUID``, ``StudyDate``, ``StudyTime``, ``AccessionNumber``,
        ``StudyID``, ``StudyDescription``, ``ReferringPhysicianName``, ``PatientAge``,
        ``FrameOfReferenceUID`` (shared by the study's series), ``BodyPartExamined``,
        and ``patient`` (the patient dict) and ``seed``.

    Examples
    --------
    >>> s = make_study_info(3, modality="MR")
    >>> s["StudyDescription"], s["PatientAge"][-1]
    ('MR Brain', 'Y')
    >>> make_study_info(3, modality="CT", body_part="CHEST")["StudyDescription"]
    'CT Chest/Abdomen'
    """
    patient = make_patient(seed) if patient is None else patient
    pid = patient["PatientID"]
    rng = rng_for("study", pid, seed, modality, index)
    birth = _dt.datetime.strptime(patient["PatientBirthDate"], "%Y%m%d").date()
    date = _dt.date(2015, 1, 1) + _dt.timedelta(days=int(rng.integers(0, 3650)))
    if date <= birth:
        date = birth + _dt.timedelta(days=30 + int(rng.integers(0, 365)))
    date += _dt.timedelta(days=200 * int(index))
    start = float(rng.integers(7 * 3600, 18 * 3600))
    age_years = date.year - birth.year - ((date.month, date.day) < (birth.month, birth.day))
    if body_part is None:
        body_part = DEFAULT_BODY_PARTS.get(modality, "")
    description = _DESCRIPTIONS.get((modality, body_part), f"{modality} {body_part.title()}".strip())
    uid = sample_uid("study", pid, seed, modality, index)
    number = derive_seed("accession", uid) % 10**8
    return {
        "StudyInstanceUID": uid,
        "StudyDate": _da(date),
        "StudyTime": format_tm(start),
        "AccessionNumber": f"ACC{number:08d}",
        "StudyID": f"S{number % 10**6:06d}",
        "StudyDescription": description,
        "ReferringPhysicianName": synthetic_name(rng),
        "PatientAge": f"{max(age_years, 0):03d}Y",
        "FrameOfReferenceUID": sample_uid("frame-of-reference", uid),
        "BodyPartExamined": body_part,
        "patient": patient,
        "seed": int(seed),
        "_start_seconds": start,
    }
