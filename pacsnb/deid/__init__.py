"""De-identification: the PS3.15 confidentiality profiles, consistent across a cohort.

- :class:`Anonymizer`: built once from a profile, options and a secret key; applied per
  data set (``anonymizer(ds)``), it is the transform an archive calls on ingest or retrieval.
- :func:`anonymize`: data sets, files, a folder or a scan DataFrame in, the anonymized data
  sets (or new files under ``out=``) and the key table out.
- :func:`verify`: lists anything left that the profile removes or changes, and any original
  identifier found in the output bytes.
- :data:`PRESETS` and :data:`OPTIONS`: the named presets and the options of PS3.15 E.3;
  the attribute table is Table E.1-1 (``pacsnb.deid.profile``), generated from the standard.
- :class:`KeyMap`, :func:`save_key_table`, :func:`load_key_table`, :func:`reidentify`:
  keyed UIDs, pseudonyms and date shifts, and the key table (plain or encrypted) that reverses them.

Examples
--------
>>> import pacsnb.deid as deid
>>> from pacsnb.samples import make_ct_series
>>> series = make_ct_series(n_slices=2, rows=8, columns=8)
>>> anon, key = deid.anonymize(series, profile="gdpr_pseudonymization", key="cohort secret", progress=False)
>>> anon[0].PatientIdentityRemoved, anon[0].LongitudinalTemporalInformationModified
('YES', 'MODIFIED')
>>> len(deid.verify(anon, anonymizer=deid.Anonymizer("gdpr_pseudonymization"), originals=series))
0
>>> deid.reidentify(anon[0], key).StudyInstanceUID == series[0].StudyInstanceUID
True
"""
from pacsnb.deid.anonymizer import Anonymizer
from pacsnb.deid.api import anonymize
from pacsnb.deid.mapping import KeyMap, load_key_table, save_key_table
from pacsnb.deid.profile import OPTIONS, PRESETS
from pacsnb.deid.reidentify import reidentify
from pacsnb.deid.verify import verify

__all__ = ["Anonymizer", "anonymize", "verify", "reidentify", "KeyMap", "OPTIONS", "PRESETS",
           "load_key_table", "save_key_table"]
