"""The ``.dicom`` accessor of pandas DataFrames: the DICOM hierarchy of a scanned table.

Importing :mod:`pacsnb.cohort` (or :mod:`pacsnb`) registers it. On a table with one row
per instance (what :func:`pacsnb.cohort.scan` gives), ``df.dicom.patients()``,
``df.dicom.studies()`` and ``df.dicom.series()`` give one row per patient, study or series:
the entity's identifying attributes (first non-missing value), counts of studies, series
and instances, the modalities (a sorted tuple), the date span and the bytes on disk.

Examples
--------
>>> import pacsnb.cohort
>>> from pacsnb.samples import make_cohort, write_cohort
>>> _ = write_cohort("/tmp/pacsnb-doc-acc", make_cohort(n_patients=2, series_per_study=2, slices=2, rows=16,
...                  columns=16), progress=False)
>>> df = pacsnb.cohort.scan("/tmp/pacsnb-doc-acc", progress=False)
>>> df.dicom.patients()[["n_studies", "n_series", "n_instances"]].values.tolist()
[[1, 2, 4], [1, 2, 4]]
"""
from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

__all__ = ["DicomFrameAccessor"]

# the columns each level reports when the table has them (first non-missing value per entity)
_PATIENT_COLS = ("PatientName", "PatientBirthDate", "PatientSex")
_STUDY_COLS = ("PatientID", "PatientName", "StudyDate", "StudyTime", "StudyID", "AccessionNumber",
               "StudyDescription")
_SERIES_COLS = ("PatientID", "StudyInstanceUID", "Modality", "SeriesNumber", "SeriesDescription", "SeriesDate",
                "SeriesTime", "BodyPartExamined", "FrameOfReferenceUID", "Rows", "Columns", "PixelSpacing",
                "SliceThickness", "sop_class_name")


@pd.api.extensions.register_dataframe_accessor("dicom")
class DicomFrameAccessor:
    """Hierarchy views of a table with one row per DICOM instance (``df.dicom``).

    Parameters
    ----------
    df
        The table (pandas gives it when ``df.dicom`` is used).

    Examples
    --------
    >>> import pandas as pd
    >>> import pacsnb.cohort
    >>> df = pd.DataFrame({"PatientID": ["P1", "P1", "P2"], "StudyInstanceUID": ["1.1", "1.1", "1.2"],
    ...                    "SeriesInstanceUID": ["1.1.1", "1.1.2", "1.2.1"], "Modality": ["CT", "SR", "MR"],
    ...                    "file_size": [10, 20, 30]})
    >>> p = df.dicom.patients()
    >>> int(p.loc["P1", "n_series"]), p.loc["P1", "modalities"], int(p.loc["P1", "size_bytes"])
    (2, ('CT', 'SR'), 30)
    >>> p.loc["P2", "modalities"]
    ('MR',)
    """

    def __init__(self, df: pd.DataFrame) -> None:
        self._df = df

    def _check(self, key: str) -> None:
        if key not in self._df.columns:
            raise ValueError(f"df.dicom needs a {key!r} column: scan with the default columns or include "
                             f"{key!r} in columns=")

    def _summary(self, key: str, firsts: Sequence[str], counts: Sequence[tuple[str, str]], date_cols: Sequence[str]
                 ) -> pd.DataFrame:
        self._check(key)
        df = self._df
        g = df.groupby(key, dropna=False, sort=True)
        parts: dict[str, pd.Series] = {}
        have = [c for c in firsts if c in df.columns and c != key]
        if have:
            first = g[have].first()
            for c in have:
                parts[c] = first[c]
        for name, col in counts:
            if col in df.columns:
                parts[name] = g[col].nunique()
        parts["n_instances"] = g.size()
        if "Modality" in df.columns:
            u = g["Modality"].unique()  # (agg would turn tuples into arrays)
            parts["modalities"] = pd.Series([_sorted_tuple(v) for v in u.tolist()], index=u.index, dtype=object)
        for c in date_cols:
            if c in df.columns:
                parts["first_date"] = g[c].min()
                parts["last_date"] = g[c].max()
                break
        if "file_size" in df.columns:
            parts["size_bytes"] = g["file_size"].sum()
        out = pd.DataFrame(parts)
        out.index.name = key
        return out

    def patients(self) -> pd.DataFrame:
        """One row per patient (``PatientID``).

        Returns
        -------
        pandas.DataFrame
            Indexed by PatientID: PatientName, PatientBirthDate and PatientSex when the
            table has them, ``n_studies``, ``n_series``, ``n_instances``, ``modalities``,
            ``first_date``/``last_date`` (the span of StudyDate) and ``size_bytes``.

        Raises
        ------
        ValueError
            When the table has no PatientID column.

        Examples
        --------
        >>> import pandas as pd
        >>> import pacsnb.cohort
        >>> df = pd.DataFrame({"PatientID": ["P1", "P1"], "StudyInstanceUID": ["1.1", "1.2"],
        ...                    "StudyDate": pd.to_datetime(["2024-01-02", "2023-05-06"])})
        >>> p = df.dicom.patients()
        >>> int(p.n_studies.iloc[0]), str(p.first_date.iloc[0].date()), str(p.last_date.iloc[0].date())
        (2, '2023-05-06', '2024-01-02')
        """
        return self._summary("PatientID", _PATIENT_COLS,
                             [("n_studies", "StudyInstanceUID"), ("n_series", "SeriesInstanceUID")],
                             ("StudyDate", "SeriesDate", "ContentDate", "AcquisitionDate"))

    def studies(self) -> pd.DataFrame:
        """One row per study (``StudyInstanceUID``).

        Returns
        -------
        pandas.DataFrame
            Indexed by StudyInstanceUID: the patient and study attributes the table has
            (PatientID, PatientName, StudyDate, StudyTime, StudyID, AccessionNumber,
            StudyDescription), ``n_series``, ``n_instances``, ``modalities``,
            ``first_date``/``last_date`` (the span of SeriesDate, else StudyDate) and
            ``size_bytes``.

        Raises
        ------
        ValueError
            When the table has no StudyInstanceUID column.

        Examples
        --------
        >>> import pandas as pd
        >>> import pacsnb.cohort
        >>> df = pd.DataFrame({"StudyInstanceUID": ["1.1", "1.1"], "SeriesInstanceUID": ["1.1.1", "1.1.2"],
        ...                    "Modality": ["MR", "MR"]})
        >>> df.dicom.studies()[["n_series", "n_instances", "modalities"]].values.tolist()
        [[2, 2, ('MR',)]]
        """
        return self._summary("StudyInstanceUID", _STUDY_COLS, [("n_series", "SeriesInstanceUID")],
                             ("SeriesDate", "StudyDate", "ContentDate", "AcquisitionDate"))

    def series(self) -> pd.DataFrame:
        """One row per series (``SeriesInstanceUID``).

        Returns
        -------
        pandas.DataFrame
            Indexed by SeriesInstanceUID: the patient, study and series attributes the
            table has (PatientID, StudyInstanceUID, Modality, SeriesNumber, SeriesDescription,
            image size and spacing, ...), ``n_instances``, ``modalities``,
            ``first_date``/``last_date`` (the span of ContentDate, else AcquisitionDate,
            SeriesDate or StudyDate) and ``size_bytes``.

        Raises
        ------
        ValueError
            When the table has no SeriesInstanceUID column.

        Examples
        --------
        >>> import pandas as pd
        >>> import pacsnb.cohort
        >>> df = pd.DataFrame({"SeriesInstanceUID": ["1.1.1", "1.1.1", "1.1.2"], "file_size": [5, 5, 7]})
        >>> df.dicom.series()[["n_instances", "size_bytes"]].values.tolist()
        [[2, 10], [1, 7]]
        """
        return self._summary("SeriesInstanceUID", _SERIES_COLS, [],
                             ("ContentDate", "AcquisitionDate", "SeriesDate", "StudyDate"))


def _sorted_tuple(values) -> tuple:
    return tuple(sorted({str(v) for v in values if not pd.isna(v)}))
