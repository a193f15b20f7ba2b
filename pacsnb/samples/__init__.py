"""Synthetic, PHI-free DICOM studies for notebooks, tests and benchmarks.

Every sample is made from the DICOM standard's IODs with realistic attributes and pixels
(numpy only): CT and MR series with true geometry through 3-D phantoms, CR chest
radiographs projected through the body phantom, and RGB ultrasound with colour Doppler.
Patients are invented from neutral syllables (``"KEVZOTWEP^DRUFEN"``, Patient ID
``"PNB"`` + digits) and everything derives from integer seeds: the same seed gives
byte-identical files on every run and machine.

============================  ===================================================
:func:`make_ct_series`        CT Image Storage series (``iter_ct_series`` streams it)
:func:`make_mr_series`        MR Image Storage series (``iter_mr_series``)
:func:`make_cr_image`         CR Image Storage chest X-ray (PA or lateral)
:func:`make_us_image`         Ultrasound (Multi-frame) Image Storage, RGB
:func:`make_patient`          a synthetic patient (dict of Patient attributes)
:func:`make_study`            a study of one modality with several series
:func:`make_cohort`           patients x studies x series
:func:`write_cohort`          files on disk, ``PatientID/StudyUID/SeriesUID/00001.dcm``
:func:`write_sample_file`     one small file, for examples and doctests
============================  ===================================================

Examples
--------
>>> import pacsnb
>>> from pacsnb.samples import make_ct_series, make_patient, write_sample_file
>>> ct = make_ct_series(n_slices=5, rows=32, columns=32, seed=3)
>>> ct[0].PatientID, ct[0].Modality, len(ct)
('PNB0000003', 'CT', 5)
>>> make_patient(3)["PatientName"] == ct[0].PatientName
True
>>> pacsnb.read(write_sample_file("/tmp/pacsnb-doc-samples.dcm")).Modality
'CT'
"""
from pacsnb.samples.cohort import LAYOUTS, MODALITIES, make_cohort, make_study, write_cohort, write_sample_file
from pacsnb.samples.cr import make_cr_image
from pacsnb.samples.ct import iter_ct_series, make_ct_series
from pacsnb.samples.identity import is_synthetic_name, make_patient, make_study_info
from pacsnb.samples.mr import iter_mr_series, make_mr_series
from pacsnb.samples.us import make_us_image

__all__ = ["make_ct_series", "iter_ct_series", "make_mr_series", "iter_mr_series", "make_cr_image",
           "make_us_image", "make_patient", "make_study_info", "make_study", "make_cohort", "write_cohort",
           "write_sample_file", "is_synthetic_name", "MODALITIES", "LAYOUTS"]
