"""Tests of pacsnb.dicom.uid: the PS3.6 Annex A registry (pydicom as the oracle),
transfer syntax properties, validity (PS3.5 9.1) and UID generation (PS3.5 B.2)."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pacsnb.dicom import uid as U
from pacsnb.dicom.uid import UID, all_uids, generate_uid, uid_for_keyword, uid_info, uid_types
from pacsnb.errors import DicomValueError, DictionaryError

pydicom_uid = pytest.importorskip("pydicom.uid")
UID_dictionary = pytest.importorskip("pydicom._uid_dict").UID_dictionary

STANDARD_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "standard"

# Transfer syntax properties where we follow PS3.5 and pydicom 3.0.2 differs:
# uid -> {property: (ours, pydicom's)}.
TS_DISAGREEMENTS: dict[str, dict[str, tuple[bool, bool]]] = {
    # Papyrus 3 Implicit VR Little Endian (retired): as its name says, a native Implicit
    # VR Little Endian data set; pydicom treats every unknown TS as explicit/compressed.
    "1.2.840.10008.1.20": {"is_implicit_vr": (True, False), "is_encapsulated": (False, True)},
    # JPIP Referenced (Deflate) and JPIP HTJ2K Referenced (Deflate): Pixel Data "shall not
    # be present" (a Pixel Data Provider URL instead), so nothing is encapsulated; the
    # Deflate variants deflate the whole data set like 1.2.840.10008.1.2.1.99.
    "1.2.840.10008.1.2.4.94": {"is_encapsulated": (False, True)},
    "1.2.840.10008.1.2.4.95": {"is_encapsulated": (False, True), "is_deflated": (True, False)},
    "1.2.840.10008.1.2.4.204": {"is_encapsulated": (False, True)},
    "1.2.840.10008.1.2.4.205": {"is_encapsulated": (False, True), "is_deflated": (True, False)},
    # DICOM-RTV (SMPTE ST 2110): the video/audio travels as an RTP flow, not as Pixel Data.
    "1.2.840.10008.1.2.7.1": {"is_encapsulated": (False, True)},
    "1.2.840.10008.1.2.7.2": {"is_encapsulated": (False, True)},
    "1.2.840.10008.1.2.7.3": {"is_encapsulated": (False, True)},
    # Retired RFC 2557 MIME and XML encodings: not binary data sets, nothing encapsulated.
    "1.2.840.10008.1.2.6.1": {"is_encapsulated": (False, True)},
    "1.2.840.10008.1.2.6.2": {"is_encapsulated": (False, True)},
}
TS_PROPS = {"is_implicit_vr": "is_implicit_VR", "is_little_endian": "is_little_endian",
            "is_deflated": "is_deflated", "is_encapsulated": "is_encapsulated"}


def _run_isolated(code: str) -> None:
    """Run ``code`` in a fresh interpreter where ``pacsnb`` and ``pacsnb.dicom`` are bare
    namespaces, so only the module under test (and pacsnb.errors) is imported."""
    import pacsnb.dicom
    pkg_dir = str(Path(pacsnb.dicom.__file__).resolve().parent)
    prelude = (
        "import sys, types\n"
        f"p = types.ModuleType('pacsnb'); p.__path__ = [{str(Path(pkg_dir).parent)!r}]\n"
        f"d = types.ModuleType('pacsnb.dicom'); d.__path__ = [{pkg_dir!r}]\n"
        "sys.modules['pacsnb'] = p; sys.modules['pacsnb.dicom'] = d\n"
    )
    subprocess.run([sys.executable, "-c", prelude + code], check=True)


def test_every_pydicom_uid_is_registered() -> None:
    for value, (name, typ, _info, retired, keyword) in UID_dictionary.items():
        u = UID(value)
        assert (u.name, u.type, u.keyword, u.is_retired) == (name, typ, keyword, bool(retired)), value
        assert u.is_transfer_syntax == (typ == "Transfer Syntax")
        info = uid_info(value)
        assert info is not None and info["name"] == name and info["type"] == typ
    # plus the transfer syntaxes of PS3.6 newer than pydicom 3.0.2's table
    newer = {"1.2.840.10008.1.2.8.1", "1.2.840.10008.1.2.4.110", "1.2.840.10008.1.2.4.111",
             "1.2.840.10008.1.2.4.112"}
    assert set(all_uids()) == set(UID_dictionary) | newer


def test_newer_transfer_syntaxes() -> None:
    """PS3.6 Table A-1 entries pydicom 3.0.2 lacks: JPEG XL, Deflated Image Frame Compression."""
    assert UID("1.2.840.10008.1.2.4.110").name == "JPEG XL Lossless"
    assert UID("1.2.840.10008.1.2.4.112").is_encapsulated
    dfc = UID("1.2.840.10008.1.2.8.1")
    assert dfc.name == "Deflated Image Frame Compression"
    # its frames are deflated, not its data set (PS3.5 A.4.13)
    assert dfc.is_encapsulated and not dfc.is_deflated and not dfc.is_implicit_vr


def test_registry_figures() -> None:
    types = uid_types()
    assert types["SOP Class"] > 250 and types["Transfer Syntax"] >= 50
    for t in ("Well-known SOP Instance", "Meta SOP Class", "Application Context Name",
              "Coding Scheme", "LDAP OID", "Synchronization Frame of Reference",
              "Mapping Resource", "Service Class", "Well-known frame of reference"):
        assert types[t] >= 1, t
    assert sum(types.values()) == len(all_uids())


def test_sop_classes_of_the_standard_table() -> None:
    path = STANDARD_DIR / "sops.json"
    if not path.exists():
        pytest.skip("the shared standard tables are not available")
    sops = json.loads(path.read_text(encoding="utf-8"))
    assert len(sops) > 150
    for s in sops:
        u = UID(s["id"])
        assert u.type == "SOP Class", s["id"]
        # PS3.4 and PS3.6 differ on one name (Macular Grid Thickness and Volume Report
        # [Storage]); the registry keeps PS3.6's, which starts with PS3.4's.
        assert u.name.startswith(s["name"]), s["id"]
        assert uid_info(s["id"])["iod"] == s["ciod"]


def test_transfer_syntax_properties_against_pydicom() -> None:
    ts_list = [u for u in all_uids("Transfer Syntax") if str(u) in UID_dictionary]
    assert len(ts_list) == sum(1 for v in UID_dictionary.values() if v[1] == "Transfer Syntax")
    for u in ts_list:
        theirs = pydicom_uid.UID(str(u))
        known = TS_DISAGREEMENTS.get(str(u), {})
        for ours_name, their_name in TS_PROPS.items():
            ours = getattr(u, ours_name)
            pyd = getattr(theirs, their_name)
            if ours_name in known:
                assert (ours, pyd) == known[ours_name], (str(u), ours_name)
            else:
                assert ours == pyd, (str(u), u.name, ours_name)


@pytest.mark.parametrize("value, implicit, little, deflated, encapsulated", [
    ("1.2.840.10008.1.2", True, True, False, False),
    ("1.2.840.10008.1.2.1", False, True, False, False),
    ("1.2.840.10008.1.2.2", False, False, False, False),
    ("1.2.840.10008.1.2.1.99", False, True, True, False),
    ("1.2.840.10008.1.2.1.98", False, True, False, True),
    ("1.2.840.10008.1.2.5", False, True, False, True),
    ("1.2.840.10008.1.2.4.50", False, True, False, True),
    ("1.2.840.10008.1.2.4.203", False, True, False, True),
    ("1.2.840.10008.1.2.4.100", False, True, False, True),
])
def test_transfer_syntax_flags(value: str, implicit: bool, little: bool, deflated: bool,
                               encapsulated: bool) -> None:
    u = UID(value)
    assert u.is_transfer_syntax
    assert (u.is_implicit_vr, u.is_little_endian, u.is_deflated, u.is_encapsulated) == (
        implicit, little, deflated, encapsulated)
    info = uid_info(value)
    assert (info["implicit_vr"], info["little_endian"], info["deflated"],
            info["encapsulated"]) == (implicit, little, deflated, encapsulated)


@pytest.mark.parametrize("value", ["1.2.840.10008.1.1", "1.2.840.10008.5.1.4.1.1.2",
                                   "1.2.840.10008.3.1.1.1", "1.2.3.4", ""])
def test_not_a_transfer_syntax(value: str) -> None:
    u = UID(value)
    assert u.is_transfer_syntax is False
    for prop in TS_PROPS:
        with pytest.raises(DictionaryError, match="not a transfer syntax"):
            getattr(u, prop)


def test_unknown_uid() -> None:
    u = UID("1.2.3.4.5")
    assert (u.name, u.keyword, u.type, u.is_retired) == ("", "", "", False)
    assert uid_info(u) is None


def test_uid_is_a_str() -> None:
    u = UID("1.2.840.10008.1.2")
    assert isinstance(u, str) and u == "1.2.840.10008.1.2"
    assert {"1.2.840.10008.1.2": 1}[u] == 1 and hash(u) == hash("1.2.840.10008.1.2")
    assert str(u) == "1.2.840.10008.1.2" and type(str(u)) is str


@pytest.mark.parametrize("name", [
    "ImplicitVRLittleEndian", "ExplicitVRLittleEndian", "ExplicitVRBigEndian",
    "DeflatedExplicitVRLittleEndian", "EncapsulatedUncompressedExplicitVRLittleEndian",
    "RLELossless", "JPEGBaseline8Bit", "JPEGExtended12Bit", "JPEGLossless",
    "JPEGLosslessSV1", "JPEGLSLossless", "JPEGLSNearLossless", "JPEG2000Lossless",
    "JPEG2000", "HTJ2KLossless", "HTJ2KLosslessRPCL", "HTJ2K",
])
def test_transfer_syntax_constants(name: str) -> None:
    ours = getattr(U, name)
    registry = {v[4]: k for k, v in UID_dictionary.items() if v[4]}
    assert isinstance(ours, UID) and ours == registry[name]
    assert ours.keyword == name and ours.is_transfer_syntax


def test_other_constants() -> None:
    assert U.VerificationSOPClass == "1.2.840.10008.1.1"
    assert U.VerificationSOPClass.keyword == "Verification" == U.Verification.keyword
    assert len(U.UNCOMPRESSED_TRANSFER_SYNTAXES) == 4
    for u in U.UNCOMPRESSED_TRANSFER_SYNTAXES:
        assert u.is_transfer_syntax and not u.is_encapsulated
    assert set(U.UNCOMPRESSED_TRANSFER_SYNTAXES) == set(pydicom_uid.UncompressedTransferSyntaxes)


def test_every_keyword_is_a_module_attribute() -> None:
    n = 0
    for value, (_n, _t, _i, _r, keyword) in UID_dictionary.items():
        if not keyword:
            continue
        attr = getattr(U, keyword)
        assert isinstance(attr, UID) and attr == value
        assert uid_for_keyword(keyword) == value
        n += 1
    assert n > 400
    assert U.CTImageStorage == pydicom_uid.CTImageStorage
    assert "CTImageStorage" in dir(U)
    with pytest.raises(AttributeError):
        U.NoSuchUIDKeyword  # noqa: B018
    assert not hasattr(U, "_no_such_private")


def test_uid_for_keyword_errors() -> None:
    with pytest.raises(DictionaryError, match="CTImageStorage"):
        uid_for_keyword("CTImageStorag")
    with pytest.raises(DictionaryError):
        uid_for_keyword("")


def test_all_uids_by_type() -> None:
    sops = all_uids("SOP Class")
    assert all(u.type == "SOP Class" for u in sops) and isinstance(sops[0], UID)
    assert len(all_uids("LDAP OID")) == sum(1 for v in UID_dictionary.values()
                                              if v[1] == "LDAP OID")
    with pytest.raises(DictionaryError, match="known types"):
        all_uids("SOP class")  # wrong case
    parts = [[int(p) for p in u.split(".")] for u in all_uids()]
    assert parts == sorted(parts)


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom warns on invalid UIDs
@pytest.mark.parametrize("value, valid", [
    ("1.2.3", True), ("0", True), ("0.0.0", True), ("1.2.840.10008.1.2.4.50", True),
    ("2.25." + "9" * 59, True),                       # exactly 64 characters
    ("2.25." + "9" * 60, False),                      # 65 characters
    ("1.02.3", False), ("01.2", False), ("1..2", False), (".1.2", False), ("1.2.", False),
    ("", False), ("1.2.a", False), ("1.2.3 ", False), ("1.2.3\x00", False), ("1,2", False),
    ("-1.2", False), ("1.2.٣", False),
])
def test_is_valid(value: str, valid: bool) -> None:
    assert UID(value).is_valid is valid
    if value.isascii() and value == value.strip(" \x00"):  # pydicom strips padding
        assert pydicom_uid.UID(value).is_valid is valid


def test_generate_uid_random() -> None:
    seen = set()
    for _ in range(1000):
        u = generate_uid()
        assert isinstance(u, UID) and u.is_valid and u.startswith("2.25.") and len(u) <= 64
        as_uuid = uuid.UUID(int=int(u[5:]))
        assert as_uuid.version == 4 and as_uuid.variant == uuid.RFC_4122
        seen.add(u)
    assert len(seen) == 1000


def test_generate_uid_deterministic() -> None:
    a = generate_uid(entropy="1.2.826.0.1.3680043.2.1125.1")
    assert a == generate_uid(entropy=b"1.2.826.0.1.3680043.2.1125.1")
    assert a == generate_uid(entropy=bytearray(b"1.2.826.0.1.3680043.2.1125.1"))
    assert a != generate_uid(entropy="1.2.826.0.1.3680043.2.1125.2")
    raw = bytearray(hashlib.sha256(b"1.2.826.0.1.3680043.2.1125.1").digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x80
    raw[8] = (raw[8] & 0x3F) | 0x80
    assert a == "2.25." + str(int.from_bytes(raw, "big"))
    as_uuid = uuid.UUID(int=int(a[5:]))
    assert as_uuid.version == 8 and as_uuid.variant == uuid.RFC_4122
    assert generate_uid(entropy="é") == generate_uid(entropy="é".encode())
    with pytest.raises(DicomValueError):
        generate_uid(entropy=42)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=200), st.text(max_size=100)))
def test_generate_uid_always_valid(entropy: bytes | str) -> None:
    u = generate_uid(entropy=entropy)
    assert u.is_valid and len(u) <= 64 and u == generate_uid(entropy=entropy)


def test_implementation_identity() -> None:
    assert U.PACSNB_ROOT == "2.25."
    impl = U.PACSNB_IMPLEMENTATION_CLASS_UID
    assert isinstance(impl, UID) and impl.is_valid and impl.startswith(U.PACSNB_ROOT)
    assert uuid.UUID(int=int(impl[5:])).version == 4
    name = U.PACSNB_IMPLEMENTATION_VERSION_NAME
    assert name.startswith("PACSNB_") and 8 <= len(name) <= 16
    from pacsnb.dicom.uid import PACSNB_IMPLEMENTATION_VERSION_NAME
    assert PACSNB_IMPLEMENTATION_VERSION_NAME == name


def test_import_does_not_load_the_registry() -> None:
    _run_isolated("import pacsnb.dicom.uid as u; assert not u._loaded; "
                  "x = u.ImplicitVRLittleEndian; assert not u._loaded; "
                  "assert x.is_implicit_vr; assert u._loaded")
