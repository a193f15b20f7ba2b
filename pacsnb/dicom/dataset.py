"""The DICOM data model: :class:`DataElement`, :class:`Dataset` and :class:`Sequence`.

A :class:`Dataset` is an ordered mapping from tag to :class:`DataElement`. Elements read
from a file stay undecoded until touched: the io layer gives the dataset a *source* (an
object with ``element(row, dataset)``), and the dataset keeps row numbers in place of
elements until they are asked for.

Examples
--------
>>> from pacsnb.dicom import Dataset
>>> ds = Dataset()
>>> ds.PatientName = "DOE^JANE"
>>> ds.Rows = 512
>>> ds["0010,0010"].value.family_name, ds[0x00280010].VR, ds.Rows
('DOE', 'US', 512)
>>> "PatientName" in ds, len(ds)
(True, 2)
>>> print(ds)
(0010,0010) PN [DOE^JANE]                                   #   8, 1 PatientName
(0028,0010) US 512                                          #   2, 1 Rows
"""
from __future__ import annotations

import html
import weakref
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from pacsnb.dicom import dictionary as _dict
from pacsnb.dicom.charset import normalize_charsets
from pacsnb.dicom.convert import MultiValue, coerce_value, decode_text, decode_value, value_multiplicity
from pacsnb.dicom.tag import Tag, TagLike, as_tag, tag_str
from pacsnb.dicom.vr import ALL_VRS, BULK_VRS, CHARSET_VRS, TEXT_VRS
from pacsnb.errors import DicomValueError, DictionaryError, PacsnbError

__all__ = ["DataElement", "Dataset", "Sequence", "PrivateBlock", "register_dataset_property"]

log = logging.getLogger(__name__)

_UNSET = object()


class DataElement:
    """One element: tag, VR and value (decoded from its bytes on first access).

    Parameters
    ----------
    tag
        Tag, keyword or tag string.
    VR
        Two-letter value representation (``"PN"``, ``"US"``, ``"SQ"``, ...).
    value
        The value; converted to the type pacsnb uses for that VR.
    raw, little, charsets
        For readers: the undecoded value bytes, their byte order and the Specific
        Character Set in force; the value is then decoded on first access.
    undefined_length
        The element was (or is to be) encoded with undefined length: encapsulated Pixel
        Data (whose value is then the item stream, as bytes) or a sequence.

    Raises
    ------
    DicomValueError
        For an unknown VR, or a value the VR cannot hold.

    Examples
    --------
    >>> e = DataElement("Rows", "US", 256)
    >>> e.tag, e.VR, e.value, e.keyword
    ((0028,0010), 'US', 256, 'Rows')
    """

    __slots__ = ("tag", "VR", "_value", "_raw", "_little", "_cs", "_parent", "_seq_loader",
                 "is_undefined_length", "__weakref__")

    def __init__(self, tag: TagLike, VR: str, value: Any = None, *, raw=None, little: bool = True,
                 charsets: tuple[str, ...] | None = None, undefined_length: bool = False) -> None:
        self.tag = Tag(tag) if type(tag) is not Tag else tag
        if VR not in ALL_VRS:
            raise DicomValueError(f"{VR!r} is not a DICOM VR (PS3.5 6.2): use one of {', '.join(sorted(ALL_VRS))}")
        self.VR = str(VR)  # a plain str, also when given as pacsnb.dicom.VR.PN
        self._raw = raw
        self._little = little
        self._cs = charsets
        self._parent = None
        self._seq_loader = None
        self.is_undefined_length = undefined_length
        if raw is not None:
            self._value = _UNSET
        elif undefined_length and VR in ("OB", "OW"):
            # encapsulated pixel data: the item stream, kept as bytes as the reader gives it
            self._value = value.tobytes() if isinstance(value, np.ndarray) else bytes(value or b"")
        else:
            self._value = _coerce(VR, value)

    @property
    def value(self) -> Any:
        """The decoded value (see :mod:`pacsnb.dicom.convert` for the type of each VR)."""
        v = self._value
        if v is not _UNSET:
            return v
        vr = self.VR
        if vr in TEXT_VRS:
            v = decode_text(vr, self._raw, self._cs if vr in CHARSET_VRS else None)
            if type(v) is MultiValue:
                v._owner = weakref.ref(self)  # an in-place change must drop the raw bytes
        elif self._seq_loader is not None:
            v = self._seq_loader()
            self._seq_loader = None
            v._parent = self._parent
        elif vr == "SQ":
            v = Sequence()
            v._parent = self._parent
        else:
            v = decode_value(vr, self._raw, self._little, None)
        self._value = v
        return v

    @value.setter
    def value(self, value: Any) -> None:
        self._value = _coerce(self.VR, value)
        if isinstance(self._value, Sequence):
            self._value._parent = self._parent
            for item in self._value:  # items inherit the data set's character set
                if item._parent is None:
                    item.__dict__["_parent"] = self._parent
        self._raw = None
        self._seq_loader = None

    @property
    def raw(self):
        """The value bytes as read, or ``None`` once the value was set or for a new element."""
        return self._raw

    @property
    def keyword(self) -> str:
        """The data dictionary keyword of the tag, ``''`` for private and unknown tags.

        Examples
        --------
        >>> DataElement(0x00100010, "PN", "DOE^JANE").keyword
        'PatientName'
        >>> DataElement(0x00091001, "LO", "x").keyword
        ''
        """
        if self.tag.is_private:
            return ""
        return _dict.keyword_for_tag(self.tag)

    @property
    def name(self) -> str:
        """The PS3.6 name of the tag, ``"Private tag data"`` or ``"Unknown"`` if it has none.

        Private creators are named ``"Private Creator"``.

        Examples
        --------
        >>> DataElement("PatientName", "PN", "DOE^JANE").name
        "Patient's Name"
        >>> DataElement(0x00090010, "LO", "ACME 1.0").name, DataElement(0x00091001, "LO", "x").name
        ('Private Creator', 'Private tag data')
        """
        if self.tag.is_private_creator:
            return "Private Creator"
        e = _dict.lookup(self.tag)
        if e is not None and not self.tag.is_private:
            return e.name
        return "Private tag data" if self.tag.is_private else "Unknown"

    @property
    def VM(self) -> int:
        """Value multiplicity of the current value (0 when empty)."""
        return value_multiplicity(self.VR, self.value)

    @property
    def is_empty(self) -> bool:
        """True if the element has no value (VM 0).

        Examples
        --------
        >>> DataElement("PatientName", "PN", "").is_empty, DataElement("Rows", "US", 0).is_empty
        (True, False)
        """
        return self.VM == 0

    @property
    def is_retired(self) -> bool:
        """True if PS3.6 marks the element retired (``False`` for unknown and private tags).

        Examples
        --------
        >>> DataElement(0x00080040, "US", 1).is_retired, DataElement("Rows", "US", 1).is_retired
        (True, False)
        """
        e = _dict.lookup(self.tag)
        return bool(e and e.retired)

    def __eq__(self, other: object) -> bool:
        """Same tag and equal values (and the same VR, except among OB, OW and UN bytes)."""
        if not isinstance(other, DataElement):
            return NotImplemented
        if self.tag != other.tag:
            return False
        if self.VR in _BYTES_VRS and other.VR in _BYTES_VRS:
            # OB/OW/UN hold bytes; the numpy view (uint8 or uint16) depends on how they were read
            return _as_bytes(self.value) == _as_bytes(other.value)
        return self.VR == other.VR and _values_equal(self.value, other.value)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        """The element as one line of a dcmdump-like listing."""
        return _element_line(self, 0)

    def _copy(self) -> "DataElement":
        if self._seq_loader is not None:
            self.value  # noqa: B018 - load the items, so that the copy gets copies of them
        e = DataElement.__new__(DataElement)
        e.tag, e.VR, e._raw, e._little, e._cs = self.tag, self.VR, self._raw, self._little, self._cs
        e._parent, e._seq_loader, e.is_undefined_length = None, None, self.is_undefined_length
        v = self._value
        if isinstance(v, Sequence):
            v = v.copy()
        elif isinstance(v, MultiValue):
            v = MultiValue(v)
        elif isinstance(v, np.ndarray):
            v = v.copy() if v.flags.writeable else v
        e._value = v
        return e


_new_element = object.__new__
_new_tag = int.__new__


def lazy_element(tag: int, vr: str, raw, little: bool, charsets: tuple[str, ...] | None,
                 undefined: bool = False) -> DataElement:
    """An element whose value decodes from ``raw`` on first access (for readers).

    The one way elements read from bytes are made, kept lean because it runs for every
    element touched: no validation (the reader has checked the VR and the length).

    Parameters
    ----------
    tag
        The tag as an int ``0xGGGGEEEE``.
    vr
        The two-letter VR (not checked).
    raw
        The value bytes (``bytes`` or a ``memoryview`` slice of the source).
    little
        Byte order of binary values.
    charsets
        The Specific Character Set terms in force, for the VRs it applies to (else ``None``).
    undefined
        The element was encoded with undefined length.

    Returns
    -------
    DataElement

    Examples
    --------
    >>> e = lazy_element(0x00100010, "PN", b"DOE^JANE", True, None)
    >>> e.value.given_name
    'JANE'
    """
    e = _new_element(DataElement)
    e.tag = _new_tag(Tag, tag)
    e.VR = vr
    e._raw = raw
    e._little = little
    e._cs = charsets
    e._parent = None
    e._seq_loader = None
    e.is_undefined_length = undefined
    e._value = _UNSET
    return e


_BYTES_VRS = frozenset({"OB", "OW", "UN"})


def _as_bytes(v: Any) -> bytes:
    if v is None:
        return b""
    if isinstance(v, np.ndarray):
        return np.ascontiguousarray(v).tobytes()
    return bytes(v)


def _coerce(vr: str, value: Any) -> Any:
    if vr == "SQ":
        if value is None:
            return Sequence()
        if isinstance(value, Sequence):
            return value
        return Sequence(value)
    return coerce_value(vr, value)


def _values_equal(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        try:
            return np.array_equal(np.asarray(a), np.asarray(b))
        except Exception:  # noqa: BLE001 - different shapes or types: not equal
            return False
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001
        return False


class Sequence(list):
    """The items of an SQ element: a ``list`` of :class:`Dataset`.

    Parameters
    ----------
    items
        The item data sets.

    Raises
    ------
    TypeError
        When an item is not a :class:`Dataset` (here and when items are added later).

    Examples
    --------
    >>> item = Dataset(); item.CodeValue = "113100"
    >>> seq = Sequence([item])
    >>> seq[0].CodeValue, len(seq)
    ('113100', 1)
    """

    def __init__(self, items: Iterable["Dataset"] = ()) -> None:
        super().__init__()
        self._parent = None
        for it in items:
            self.append(it)

    def _check(self, item):
        if not isinstance(item, Dataset):
            raise TypeError(f"a Sequence holds Dataset items, not {type(item).__name__}")
        if self._parent is not None and item._parent is None:
            item._parent = self._parent
        return item

    def append(self, item: "Dataset") -> None:
        """Append an item (a :class:`Dataset`; anything else raises ``TypeError``).

        Parameters
        ----------
        item
            The data set to append; it inherits the Specific Character Set of the data
            set holding the sequence.

        Raises
        ------
        TypeError
            When ``item`` is not a :class:`Dataset`.

        Examples
        --------
        >>> seq = Sequence()
        >>> seq.append(Dataset())
        >>> len(seq)
        1
        >>> seq.append("not a data set")
        Traceback (most recent call last):
        ...
        TypeError: a Sequence holds Dataset items, not str
        """
        super().append(self._check(item))

    def insert(self, i: int, item: "Dataset") -> None:
        """Insert an item before index ``i`` (a :class:`Dataset`, else ``TypeError``).

        Parameters
        ----------
        i
            The index to insert before.
        item
            The data set to insert.

        Raises
        ------
        TypeError
            When ``item`` is not a :class:`Dataset`.
        """
        super().insert(i, self._check(item))

    def extend(self, items: Iterable["Dataset"]) -> None:
        """Append several items (each a :class:`Dataset`, else ``TypeError``).

        Parameters
        ----------
        items
            The data sets to append.

        Raises
        ------
        TypeError
            When an item is not a :class:`Dataset`.
        """
        for it in items:
            self.append(it)

    def __setitem__(self, i, item) -> None:
        """Replace an item (or a slice of items) with data sets."""
        if isinstance(i, slice):
            super().__setitem__(i, [self._check(x) for x in item])
        else:
            super().__setitem__(i, self._check(item))

    def copy(self) -> "Sequence":
        """A deep copy: a new sequence of copies of the items.

        Returns
        -------
        Sequence

        Examples
        --------
        >>> item = Dataset(); item.CodeValue = "113100"
        >>> seq = Sequence([item])
        >>> other = seq.copy()
        >>> other[0] == seq[0], other[0] is seq[0]
        (True, False)
        """
        return Sequence(ds.copy() for ds in self)

    def __repr__(self) -> str:
        """``<Sequence of n items>``."""
        return f"<Sequence of {len(self)} item{'s' if len(self) != 1 else ''}>"


_DATASET_PROPERTIES: dict[str, Callable[["Dataset"], Any]] = {}


def register_dataset_property(name: str, getter: Callable[["Dataset"], Any]) -> None:
    """Let a higher layer add a computed attribute to every Dataset (e.g. ``pixel_array``).

    The data model cannot import the pixel layer; the pixel layer registers itself here.

    Parameters
    ----------
    name
        The attribute name (lower case, so that it cannot clash with a DICOM keyword).
    getter
        Called with the data set on each access; its result is the attribute's value.

    Examples
    --------
    >>> register_dataset_property("n_elements", lambda ds: len(ds))
    >>> Dataset().n_elements
    0
    """
    _DATASET_PROPERTIES[name] = getter


_INTERNAL = frozenset({"_dict", "_src", "_parent", "_cs_cache", "file_meta", "preamble", "filename",
                       "read_transfer_syntax", "is_little_endian", "is_implicit_VR", "read_warnings",
                       "_buffer"})


class Dataset:
    """An ordered mapping of tag to :class:`DataElement`, with attribute access by keyword.

    ``ds.PatientName`` gives the value; ``ds["PatientName"]``, ``ds["0010,0010"]`` and
    ``ds[0x00100010]`` give the element. Setting ``ds.Keyword = value`` creates or updates
    an element with the dictionary VR. Files read by :func:`pacsnb.read` also carry
    ``file_meta`` (group 0002), ``preamble``, ``filename`` and ``read_transfer_syntax``.

    Parameters
    ----------
    elements
        Initial content: :class:`DataElement` objects, or a dict ``{keyword or tag: value}``
        (values get the dictionary VR).

    Examples
    --------
    >>> ds = Dataset()
    >>> ds.Modality = "CT"
    >>> ds.ImagePositionPatient = [0, 0, -10.5]
    >>> ds.ImagePositionPatient
    ['0', '0', '-10.5']
    >>> [float(v) for v in ds.ImagePositionPatient]
    [0.0, 0.0, -10.5]
    >>> del ds.Modality
    >>> "Modality" in ds
    False
    """

    def __init__(self, elements: Iterable[DataElement] | dict | None = None) -> None:
        object.__setattr__(self, "_dict", {})
        object.__setattr__(self, "_src", None)
        object.__setattr__(self, "_parent", None)
        object.__setattr__(self, "_cs_cache", None)
        object.__setattr__(self, "file_meta", None)
        object.__setattr__(self, "preamble", None)
        object.__setattr__(self, "filename", None)
        object.__setattr__(self, "read_transfer_syntax", None)
        object.__setattr__(self, "is_little_endian", None)
        object.__setattr__(self, "is_implicit_VR", None)
        object.__setattr__(self, "read_warnings", [])
        if elements:
            if isinstance(elements, dict):
                for k, v in elements.items():
                    self[k] = v
            else:
                for e in elements:
                    self.add(e)

    # -- lazy machinery ------------------------------------------------------------------
    @classmethod
    def _from_source(cls, src: Any, rows: dict[int, int], parent: "Dataset | None" = None) -> "Dataset":
        ds = cls.__new__(cls)
        d = ds.__dict__
        d["_dict"] = rows
        d["_src"] = src
        d["_parent"] = parent
        d["_cs_cache"] = None
        d["file_meta"] = None
        d["preamble"] = None
        d["filename"] = None
        d["read_transfer_syntax"] = None
        d["is_little_endian"] = None
        d["is_implicit_VR"] = None
        d["read_warnings"] = []
        return ds

    def _get_elem(self, tag: int) -> DataElement:
        e = self._dict[tag]
        if type(e) is int:
            e = self._src.element(e, self)  # sequences know their parent; others need not
            self._dict[tag] = e
        return e

    def _charsets(self) -> tuple[str, ...]:
        """The Specific Character Set in force: this data set's own, else its parent's."""
        cs = self._cs_cache
        if cs is None:
            if 0x00080005 in self._dict:
                cs = normalize_charsets(self._get_elem(0x00080005).value)
            elif self._parent is not None:
                return self._parent._charsets()  # not cached: the parent's may change
            else:
                cs = ()
            self.__dict__["_cs_cache"] = cs
        return cs

    # -- mapping ---------------------------------------------------------------------------
    def __getitem__(self, key: TagLike) -> DataElement:
        """The element of ``key`` (keyword, tag string, tuple or int); ``KeyError`` if absent."""
        tag = key if (type(key) is int and 0 <= key <= 0xFFFFFFFF) else as_tag(key)
        try:
            return self._get_elem(tag)
        except KeyError:
            raise KeyError(f"{tag_str(tag)} {_dict.keyword_for_tag(tag) or ''} is not in the data set".rstrip()) from None

    def __setitem__(self, key: TagLike, value: Any) -> None:
        """Set the value of ``key`` (dictionary VR for a new element), or add a :class:`DataElement`."""
        tag = as_tag(key)
        if isinstance(value, DataElement):
            if value.tag != tag:
                raise ValueError(f"element tag {value.tag} does not match the key {tag_str(tag)}")
            self.add(value)
            return
        if tag == 0x00080005:
            self._decode_text_before_charset_change()
        if tag in self._dict:
            e = self._get_elem(tag)
            e.value = value
        else:
            self.add(DataElement(tag, self._vr_for_new(tag), value))
        if tag == 0x00080005:
            self._reset_charsets()

    def _vr_for_new(self, tag: int) -> str:
        if (tag >> 16) & 1 and (tag & 0xFFFF) > 0xFF:
            creator_tag = (tag & 0xFFFF0000) | ((tag >> 8) & 0xFF)
            if creator_tag in self._dict:
                entry = _dict.lookup_private(str(self._get_elem(creator_tag).value), tag)
                if entry is not None:
                    return entry.vr
            raise DictionaryError(
                f"no VR known for private element {tag_str(tag)}: use ds.add_new(tag, VR, value) "
                "or ds.private_block(...).add_new(offset, VR, value)")
        entry = _dict.lookup(tag)
        if entry is None:
            raise DictionaryError(f"{tag_str(tag)} is not in the data dictionary: use ds.add_new(tag, VR, value)")
        if "SS" in entry.vrs and "US" in entry.vrs:
            # US or SS (e.g. Smallest Image Pixel Value): signed when Pixel Representation is 1
            # here or in an enclosing data set (PS3.5 Annex C.2)
            d: Dataset | None = self
            while d is not None:
                if 0x00280103 in d._dict:
                    return "SS" if d.get(0x00280103) == 1 else "US"
                d = d._parent
        return entry.vr

    def _reset_charsets(self) -> None:
        self.__dict__["_cs_cache"] = None

    def _decode_text_before_charset_change(self) -> None:
        # Text read from a file is decoded lazily with the character set in force; decode
        # it now, before (0008,0005) changes, so that it keeps its meaning (and the writer
        # re-encodes it in the new character set).
        def force(d: "Dataset", e: DataElement) -> None:
            if e.VR in CHARSET_VRS and e._value is _UNSET:
                e.value  # noqa: B018 - decode now

        self.walk(force)

    def __delitem__(self, key: TagLike) -> None:
        """Remove the element of ``key``; ``KeyError`` if absent."""
        tag = as_tag(key)
        if tag == 0x00080005 and tag in self._dict:
            self._decode_text_before_charset_change()
        try:
            del self._dict[tag]
        except KeyError:
            raise KeyError(f"{tag_str(tag)} is not in the data set") from None
        if tag == 0x00080005:
            self._reset_charsets()

    def __contains__(self, key: object) -> bool:
        """Whether the data set has an element for ``key`` (``False`` for an unknown keyword)."""
        if type(key) is int:
            return key in self._dict
        try:
            return as_tag(key) in self._dict  # type: ignore[arg-type]
        except (DictionaryError, TypeError):
            return False

    def __len__(self) -> int:
        """The number of top-level elements."""
        return len(self._dict)

    def __iter__(self) -> Iterator[DataElement]:
        """Iterate over the elements in tag order."""
        for tag in sorted(self._dict):
            yield self._get_elem(tag)

    def keys(self) -> list[Tag]:
        """The tags, in order.

        Returns
        -------
        list of Tag

        Examples
        --------
        >>> ds = Dataset({"Rows": 2, "PatientID": "P1"})
        >>> ds.keys()
        [(0010,0020), (0028,0010)]
        """
        return [Tag(t) for t in sorted(self._dict)]

    def values(self) -> list[DataElement]:
        """The elements, in tag order (a list, like ``list(ds)``).

        Returns
        -------
        list of DataElement

        Examples
        --------
        >>> ds = Dataset({"Rows": 2, "PatientID": "P1"})
        >>> [e.keyword for e in ds.values()]
        ['PatientID', 'Rows']
        """
        return list(self)

    def items(self) -> list[tuple[Tag, DataElement]]:
        """``(tag, element)`` pairs, in tag order.

        Returns
        -------
        list of (Tag, DataElement)

        Examples
        --------
        >>> ds = Dataset({"Rows": 2, "PatientID": "P1"})
        >>> [(tag, e.value) for tag, e in ds.items()]
        [((0010,0020), 'P1'), ((0028,0010), 2)]
        """
        return [(e.tag, e) for e in self]

    def elements(self) -> Iterator[DataElement]:
        """Same as iterating: the elements in tag order.

        Returns
        -------
        Iterator of DataElement

        Examples
        --------
        >>> [e.keyword for e in Dataset({"Rows": 2, "PatientID": "P1"}).elements()]
        ['PatientID', 'Rows']
        """
        return iter(self)

    def add(self, element: DataElement) -> None:
        """Add (or replace) an element.

        Parameters
        ----------
        element
            The element; it replaces any element with the same tag.

        Examples
        --------
        >>> ds = Dataset()
        >>> ds.add(DataElement("Modality", "CS", "CT"))
        >>> ds.Modality
        'CT'
        """
        v = element._value
        if element.VR == "SQ":
            element._parent = self  # its items inherit this data set's character set
        if isinstance(v, Sequence):
            v._parent = self
            for it in v:
                it.__dict__["_parent"] = self
        if element.tag == 0x00080005:
            self._decode_text_before_charset_change()
        self._dict[int(element.tag)] = element
        if element.tag == 0x00080005:
            self._reset_charsets()

    def add_new(self, tag: TagLike, VR: str, value: Any) -> DataElement:
        """Create an element with an explicit VR (for private or unknown tags).

        Parameters
        ----------
        tag
            Tag, keyword or tag string.
        VR
            The two-letter VR.
        value
            The value (converted to the type of the VR).

        Returns
        -------
        DataElement
            The new element, now in the data set (replacing any with the same tag).

        Raises
        ------
        DicomValueError
            For an unknown VR or a value the VR cannot hold.

        Examples
        --------
        >>> ds = Dataset()
        >>> ds.add_new(0x00091001, "LO", "hello").value
        'hello'
        """
        e = DataElement(tag, VR, value)
        self.add(e)
        return e

    def get(self, key: TagLike, default: Any = None) -> Any:
        """The value of ``key`` (keyword, tag string or int), or ``default`` if absent.

        Parameters
        ----------
        key
            Keyword, tag string, ``(group, element)`` tuple or int.
        default
            Returned when there is no such element (or ``key`` is not a tag at all).

        Returns
        -------
        object
            The element's value (not the element: use ``ds[key]`` for that).

        Examples
        --------
        >>> Dataset().get("PatientName", "unknown")
        'unknown'
        """
        if type(key) is str:
            tag = _dict.tag_for_keyword(key)
            if tag is None:
                try:
                    tag = as_tag(key)
                except DictionaryError:
                    return default
        elif type(key) is int:
            tag = key
        else:
            try:
                tag = as_tag(key)
            except DictionaryError:
                return default
        if tag not in self._dict:
            return default
        return self._get_elem(tag).value

    def pop(self, key: TagLike, *default: Any) -> DataElement:
        """Remove the element of ``key`` and return it (``dict.pop`` semantics).

        Parameters
        ----------
        key
            Keyword, tag string, ``(group, element)`` tuple or int.
        *default
            Optional: returned instead of raising when the element is absent.

        Returns
        -------
        DataElement
            The removed element (or ``default``).

        Raises
        ------
        KeyError
            When the element is absent and no default is given.

        Examples
        --------
        >>> ds = Dataset({"PatientID": "P1", "Rows": 4})
        >>> ds.pop("Rows").value, "Rows" in ds
        (4, False)
        >>> ds.pop("Rows", None) is None
        True
        """
        tag = as_tag(key)
        if tag not in self._dict:
            if default:
                return default[0]
            raise KeyError(tag_str(tag))
        e = self._get_elem(tag)
        del self[tag]
        return e

    def setdefault(self, key: TagLike, default: Any = None) -> DataElement:
        """The element of ``key``, first created with value ``default`` if absent.

        Parameters
        ----------
        key
            Keyword, tag string, ``(group, element)`` tuple or int.
        default
            The value of a new element (with the dictionary VR).

        Returns
        -------
        DataElement
            The existing or new element (unlike ``dict.setdefault``, not its value).

        Examples
        --------
        >>> ds = Dataset()
        >>> ds.setdefault("Modality", "CT").value
        'CT'
        >>> ds.setdefault("Modality", "MR").value
        'CT'
        """
        tag = as_tag(key)
        if tag not in self._dict:
            self[tag] = default
        return self._get_elem(tag)

    def update(self, other: "Dataset | dict") -> None:
        """Add or replace elements from another data set (copied) or a dict of values.

        Parameters
        ----------
        other
            A :class:`Dataset` (its elements are copied in), or ``{keyword or tag: value}``.

        Examples
        --------
        >>> ds = Dataset({"PatientID": "P1"})
        >>> ds.update({"PatientID": "P2", "Rows": 4})
        >>> ds.update(Dataset({"Columns": 8}))
        >>> ds.PatientID, ds.Rows, ds.Columns
        ('P2', 4, 8)
        """
        if isinstance(other, Dataset):
            for e in other:
                self.add(e._copy())
        else:
            for k, v in other.items():
                self[k] = v

    def clear(self) -> None:
        """Remove every element (``file_meta`` and the other file attributes stay).

        Examples
        --------
        >>> ds = Dataset({"PatientID": "P1", "Rows": 4})
        >>> ds.clear()
        >>> len(ds)
        0
        """
        self._dict.clear()
        self._reset_charsets()

    # -- attribute access by keyword -------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        """The value of the element of a keyword (``ds.PatientName``), or a registered property."""
        if name[:1].isupper():
            tag = _dict.tag_for_keyword(name)
            if tag is not None:
                # install a property for this keyword on the class: the next access to it,
                # on any data set, skips this fallback
                _install_keyword_property(name, tag)
                if tag in self._dict:
                    return self._get_elem(tag).value
                raise AttributeError(f"this data set has no {name} {tag_str(tag)} element")
        getter = _DATASET_PROPERTIES.get(name)
        if getter is not None:
            return getter(self)
        raise AttributeError(f"'Dataset' object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        """Set an element by keyword (``ds.Rows = 512``); a capitalised non-keyword raises."""
        if name[:1].isupper():
            tag = _dict.tag_for_keyword(name)
            if tag is not None:
                self[tag] = value
                return
            raise AttributeError(
                f"{name!r} is not a DICOM keyword; element attributes must be keywords of the "
                "data dictionary (e.g. PatientName); use ds.add_new(tag, VR, value) for others")
        if name in _INTERNAL:
            self.__dict__[name] = value
            return
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        """Remove an element by keyword (``del ds.Modality``)."""
        if name[:1].isupper():
            tag = _dict.tag_for_keyword(name)
            if tag is not None:
                if tag in self._dict:
                    del self[tag]
                    return
                raise AttributeError(f"this data set has no {name} element")
        object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        """The attributes, plus the keywords of the elements present (for tab completion)."""
        kws = [_dict.keyword_for_tag(t) for t in self._dict]
        return sorted(set(super().__dir__()) | {k for k in kws if k})

    # -- private blocks ----------------------------------------------------------------------------
    def private_block(self, group: int, creator: str, create: bool = False) -> "PrivateBlock":
        """The block of private elements reserved by ``creator`` in an odd ``group``.

        Parameters
        ----------
        group
            An odd group number other than 1, 3, 5, 7 and FFFF.
        creator
            The Private Creator value (trailing spaces are ignored).
        create
            Reserve a new block (add a Private Creator element in the first free slot
            ``(gggg,0010)`` to ``(gggg,00FF)``) when ``creator`` has none in ``group``.

        Returns
        -------
        PrivateBlock
            The block; ``block[0x01]`` is the element ``(gggg,BB01)``.

        Raises
        ------
        ValueError
            For a group that is not a private group.
        KeyError
            When ``creator`` has no block in ``group`` and ``create`` is false.
        PacsnbError
            When ``create`` is true but all 240 blocks of the group are taken.

        Examples
        --------
        >>> ds = Dataset()
        >>> block = ds.private_block(0x0009, "ACME 1.0", create=True)
        >>> _ = block.add_new(0x01, "LO", "secret")
        >>> hex(block.tag(0x01)), ds[0x00091001].value
        ('0x91001', 'secret')
        """
        if not group & 1 or group in (1, 3, 5, 7, 0xFFFF):
            raise ValueError(f"private blocks live in odd groups other than 1, 3, 5, 7 (got {group:04X})")
        want = creator.rstrip(" ")
        free = None
        for byte in range(0x10, 0x100):
            t = (group << 16) | byte
            if t in self._dict:
                if str(self._get_elem(t).value).rstrip(" ") == want:
                    return PrivateBlock(self, group, byte, want)
            elif free is None:
                free = byte
        if not create:
            raise KeyError(f"no private creator {creator!r} in group {group:04X}")
        if free is None:
            raise PacsnbError(f"group {group:04X} has no free private block left")
        self.add(DataElement((group << 16) | free, "LO", creator))
        return PrivateBlock(self, group, free, want)

    def private_creators(self, group: int) -> list[str]:
        """The private creator strings present in ``group``.

        Parameters
        ----------
        group
            An odd group number.

        Returns
        -------
        list of str
            The values of ``(gggg,0010)`` to ``(gggg,00FF)``, in tag order.

        Examples
        --------
        >>> ds = Dataset()
        >>> _ = ds.private_block(0x0009, "ACME 1.0", create=True)
        >>> _ = ds.private_block(0x0009, "OTHER", create=True)
        >>> ds.private_creators(0x0009)
        ['ACME 1.0', 'OTHER']
        """
        return [str(self._get_elem(t).value) for t in sorted(self._dict)
                if t >> 16 == group and 0x10 <= (t & 0xFFFF) <= 0xFF]

    def private_creator_of(self, tag: int) -> str | None:
        """The creator of the private block holding ``tag``, if it is in this data set.

        Parameters
        ----------
        tag
            A private element tag ``0xGGGGBBEE`` (as an int).

        Returns
        -------
        str or None
            The Private Creator value of ``(gggg,00BB)`` without trailing spaces; ``None``
            for a tag that is not a private data element or whose creator is absent.

        Examples
        --------
        >>> ds = Dataset()
        >>> _ = ds.private_block(0x0009, "ACME 1.0", create=True).add_new(0x01, "LO", "x")
        >>> ds.private_creator_of(0x00091001), ds.private_creator_of(0x00100010)
        ('ACME 1.0', None)
        """
        if not (tag >> 16) & 1 or (tag & 0xFFFF) <= 0xFF:
            return None
        ct = (tag & 0xFFFF0000) | ((tag >> 8) & 0xFF)
        if ct in self._dict:
            v = self._get_elem(ct).value
            return str(v).rstrip(" ") if v is not None else None
        return None

    def remove_private_tags(self) -> None:
        """Delete every element of an odd group (private creators included), recursively.

        Examples
        --------
        >>> ds = Dataset({"PatientID": "P1"})
        >>> _ = ds.add_new(0x00091001, "LO", "private")
        >>> ds.remove_private_tags()
        >>> [e.keyword for e in ds]
        ['PatientID']
        """
        for t in list(self._dict):
            if (t >> 16) & 1 and (t >> 16) not in (1, 3, 5, 7, 0xFFFF):
                del self._dict[t]
            else:
                e = self._dict[t]
                if type(e) is int:
                    e = self._get_elem(t)
                if e.VR == "SQ":
                    for item in e.value:
                        item.remove_private_tags()

    # -- whole-dataset helpers ---------------------------------------------------------------------
    def walk(self, callback: Callable[["Dataset", DataElement], None], recursive: bool = True) -> None:
        """Call ``callback(dataset, element)`` for every element, nested ones too.

        Parameters
        ----------
        callback
            Called with the data set holding the element (the item, for nested elements)
            and the element, in tag order, depth first. It may delete the element.
        recursive
            Also visit the elements of sequence items.

        Examples
        --------
        >>> ds = Dataset(); ds.PatientID = "1"
        >>> seen = []
        >>> ds.walk(lambda d, e: seen.append(e.keyword))
        >>> seen
        ['PatientID']
        """
        for tag in sorted(self._dict):
            if tag not in self._dict:
                continue
            e = self._get_elem(tag)
            callback(self, e)
            if recursive and e.VR == "SQ" and tag in self._dict:
                for item in e.value:
                    item.walk(callback, recursive)

    def iterall(self) -> Iterator[DataElement]:
        """Every element, depth first, nested sequence items included.

        Yields
        ------
        DataElement
            Each element in tag order; a sequence is followed by the elements of its items.

        Examples
        --------
        >>> item = Dataset({"CodeValue": "113100"})
        >>> ds = Dataset({"PatientID": "P1"})
        >>> ds.ProcedureCodeSequence = [item]
        >>> [e.keyword for e in ds.iterall()]
        ['ProcedureCodeSequence', 'CodeValue', 'PatientID']
        """
        for e in self:
            yield e
            if e.VR == "SQ":
                for item in e.value:
                    yield from item.iterall()

    def copy(self) -> "Dataset":
        """A deep copy (value bytes already read are shared, not duplicated).

        ``copy.copy`` and ``copy.deepcopy`` give the same.

        Returns
        -------
        Dataset
            A new data set with copies of the elements, sequence items and file meta.

        Examples
        --------
        >>> ds = Dataset({"PatientID": "P1"})
        >>> other = ds.copy()
        >>> other.PatientID = "P2"
        >>> ds.PatientID, other.PatientID
        ('P1', 'P2')
        """
        new = Dataset()
        for tag, e in self._dict.items():
            if type(e) is int:
                e = self._get_elem(tag)
            new.add(e._copy())
        for attr in ("preamble", "filename", "read_transfer_syntax", "is_little_endian", "is_implicit_VR"):
            new.__dict__[attr] = self.__dict__.get(attr)
        new.__dict__["read_warnings"] = list(self.read_warnings)
        if self.file_meta is not None:
            new.__dict__["file_meta"] = self.file_meta.copy()
        new.__dict__["_parent"] = self._parent
        return new

    __copy__ = copy

    def __deepcopy__(self, memo: dict) -> "Dataset":
        """``copy.deepcopy(ds)``: the same as :meth:`copy`."""
        return self.copy()

    def __eq__(self, other: object) -> bool:
        """The same tags with equal elements (file meta and file attributes are not compared)."""
        if not isinstance(other, Dataset):
            return NotImplemented
        if set(self._dict) != set(other._dict):
            return False
        return all(self[t] == other[t] for t in self._dict)

    __hash__ = None  # type: ignore[assignment]

    def group_dataset(self, group: int) -> "Dataset":
        """A new data set with the elements of one group.

        Parameters
        ----------
        group
            The group number (``0x0028`` for the Image Pixel attributes, ...).

        Returns
        -------
        Dataset
            Copies of the group's elements.

        Examples
        --------
        >>> ds = Dataset({"PatientID": "P1", "Rows": 4, "Columns": 8})
        >>> [e.keyword for e in ds.group_dataset(0x0028)]
        ['Rows', 'Columns']
        """
        return Dataset(self[t]._copy() for t in sorted(self._dict) if t >> 16 == group)

    def to_series(self, *, nested: bool = False):
        """The elements as a ``pandas.Series`` indexed by keyword (tag string when unknown).

        Sequences are shown as ``"<n items>"`` unless ``nested`` is true, in which case
        their items appear as ``Keyword[i].Inner`` rows. Bulk data shows its size.

        Parameters
        ----------
        nested
            Expand sequence items into rows of their own.

        Returns
        -------
        pandas.Series
            Values (``object`` dtype) named ``"value"``, indexed by ``"keyword"``;
            multi-valued elements are tuples.

        Examples
        --------
        >>> ds = Dataset(); ds.PatientID = "P1"; ds.Rows = 4
        >>> ds.to_series().to_dict()
        {'PatientID': 'P1', 'Rows': 4}
        """
        import pandas as pd

        index, values = [], []

        def add(d: "Dataset", prefix: str) -> None:
            for e in d:
                key = prefix + (e.keyword or str(e.tag))
                if e.VR == "SQ":
                    if nested:
                        for i, item in enumerate(e.value):
                            add(item, f"{key}[{i}].")
                        continue
                    val: Any = f"<{len(e.value)} items>"
                elif isinstance(e.value, np.ndarray) and e.VR in ("OB", "OW", "OF", "OD", "OL", "OV"):
                    val = f"<{e.value.nbytes} bytes>"
                elif isinstance(e.value, bytes):
                    val = f"<{len(e.value)} bytes>"
                elif isinstance(e.value, np.ndarray):
                    val = tuple(e.value.tolist())
                elif isinstance(e.value, MultiValue):
                    val = tuple(e.value)
                else:
                    val = e.value
                index.append(key)
                values.append(val)

        add(self, "")
        return pd.Series(values, index=pd.Index(index, name="keyword"), dtype=object, name="value")

    # -- display ---------------------------------------------------------------------------------------
    def __repr__(self) -> str:
        """A dcmdump-like listing, one element a line (``<empty Dataset>`` when empty)."""
        return "\n".join(self._dump_lines(0)) if self._dict else "<empty Dataset>"

    __str__ = __repr__

    def _dump_lines(self, indent: int) -> list[str]:
        lines = []
        cs = self._charsets()
        for e in self:
            lines.append(_element_line(e, indent, cs))
            if e.VR == "SQ":
                for i, item in enumerate(e.value):
                    pad = "  " * (indent + 1)
                    lines.append(f"{pad}(FFFE,E000) na (Item #{i + 1}, {len(item)} elements)")
                    lines.extend(item._dump_lines(indent + 2))
        return lines

    def _repr_html_(self) -> str:
        return _html_table(self, 0)

    # -- file attributes ---------------------------------------------------------------------------------
    @property
    def transfer_syntax(self) -> str | None:
        """The Transfer Syntax UID of the file meta, or the one the data set was read in.

        ``None`` for a data set made in memory.

        Examples
        --------
        >>> from pacsnb.io import read_bytes
        >>> ds = read_bytes(b"\\x10\\x00\\x20\\x00\\x02\\x00\\x00\\x00P1", transfer_syntax="1.2.840.10008.1.2")
        >>> ds.transfer_syntax.name, Dataset().transfer_syntax is None
        ('Implicit VR Little Endian', True)
        """
        if self.file_meta is not None and 0x00020010 in self.file_meta:
            return self.file_meta.TransferSyntaxUID
        return self.read_transfer_syntax


def _install_keyword_property(name: str, tag: int) -> None:
    if name in Dataset.__dict__:
        return

    def fget(self: Dataset) -> Any:
        d = self._dict
        e = d.get(tag)
        if e is None:
            raise AttributeError(f"this data set has no {name} {tag_str(tag)} element")
        if type(e) is int:
            e = d[tag] = self._src.element(e, self)
        v = e._value
        return e.value if v is _UNSET else v

    fget.__doc__ = f"The value of {name} {tag_str(tag)} (attribute access by keyword)."
    # setting and deleting go through Dataset.__setattr__/__delattr__, which handle keywords
    setattr(Dataset, name, property(fget))


class PrivateBlock:
    """The elements ``(gggg,BBxx)`` reserved by one private creator (PS3.5 7.8.1).

    Obtained from :meth:`Dataset.private_block`; ``block[0x01]`` is the element
    ``(gggg,BB01)``. ``offset in block``, ``del block[offset]`` and iteration (the
    elements of the block present in the data set) work as expected.

    Parameters
    ----------
    ds
        The data set holding the block.
    group
        The odd group number ``gggg``.
    byte
        The block byte ``BB``: the element number of the Private Creator ``(gggg,00BB)``.
    creator
        The Private Creator value.

    Examples
    --------
    >>> ds = Dataset()
    >>> block = ds.private_block(0x0029, "ACME 1.0", create=True)
    >>> block
    <PrivateBlock 'ACME 1.0' at (0029,10xx)>
    >>> _ = block.add_new(0x20, "DS", "1.5")
    >>> block[0x20].value, 0x20 in block, [str(e.tag) for e in block]
    ('1.5', True, ['(0029,1020)'])
    """

    def __init__(self, ds: Dataset, group: int, byte: int, creator: str) -> None:
        self.dataset, self.group, self.byte, self.creator = ds, group, byte, creator

    def tag(self, offset: int) -> int:
        """The tag ``(gggg,BBoo)`` of the element at ``offset`` in this block.

        Parameters
        ----------
        offset
            The low byte of the element number, 0x00 to 0xFF.

        Returns
        -------
        int
            The tag as ``0xGGGGBBOO``.

        Raises
        ------
        ValueError
            When ``offset`` is not in 0x00..0xFF.

        Examples
        --------
        >>> block = Dataset().private_block(0x0029, "ACME 1.0", create=True)
        >>> hex(block.tag(0x20))
        '0x291020'
        """
        if not 0 <= offset <= 0xFF:
            raise ValueError(f"private element offset must be 0x00..0xFF, got {offset:#x}")
        return (self.group << 16) | (self.byte << 8) | offset

    def __getitem__(self, offset: int) -> DataElement:
        """The element at ``offset`` in this block; ``KeyError`` if absent."""
        return self.dataset[self.tag(offset)]

    def __contains__(self, offset: int) -> bool:
        """Whether the data set has the element at ``offset`` in this block."""
        return self.tag(offset) in self.dataset

    def __delitem__(self, offset: int) -> None:
        """Remove the element at ``offset`` in this block; ``KeyError`` if absent."""
        del self.dataset[self.tag(offset)]

    def add_new(self, offset: int, VR: str, value: Any) -> DataElement:
        """Add (or replace) the element at ``offset`` in this block, with an explicit VR.

        Parameters
        ----------
        offset
            The low byte of the element number, 0x00 to 0xFF.
        VR
            The two-letter VR.
        value
            The value.

        Returns
        -------
        DataElement
            The new element, now in the data set.

        Raises
        ------
        ValueError
            When ``offset`` is not in 0x00..0xFF.
        DicomValueError
            For an unknown VR or a value the VR cannot hold.

        Examples
        --------
        >>> ds = Dataset()
        >>> block = ds.private_block(0x0029, "ACME 1.0", create=True)
        >>> e = block.add_new(0x01, "US", 7)
        >>> e.tag, ds[0x00291001].value
        ((0029,1001), 7)
        """
        return self.dataset.add_new(self.tag(offset), VR, value)

    def __iter__(self) -> Iterator[DataElement]:
        """The elements of this block present in the data set, in tag order."""
        lo, hi = self.tag(0), self.tag(0xFF)
        for e in self.dataset:
            if lo <= e.tag <= hi:
                yield e

    def __repr__(self) -> str:
        """``<PrivateBlock 'creator' at (gggg,BBxx)>``."""
        return f"<PrivateBlock {self.creator!r} at ({self.group:04X},{self.byte:02X}xx)>"


# -- display helpers ----------------------------------------------------------------------------
def _short_value(e: DataElement, limit: int = 64) -> str:
    v = e.value
    vr = e.VR
    if vr == "SQ":
        return f"(Sequence with {len(v)} item{'s' if len(v) != 1 else ''})"
    if v is None or (isinstance(v, (str, bytes, list)) and len(v) == 0) or (
            isinstance(v, np.ndarray) and v.size == 0):
        return "(no value available)"
    if isinstance(v, np.ndarray):
        if vr in BULK_VRS:
            if v.size > 8:
                return f"({v.dtype.name} array of {v.size} values, {v.nbytes} bytes)"
            if vr in ("OB", "OW", "OL", "OV"):
                width = 2 * v.dtype.itemsize
                return "\\".join(f"{int(x):0{width}x}" for x in v.tolist())
        s = "\\".join(str(x) for x in v.tolist()[:16]) + ("..." if v.size > 16 else "")
        return s
    if isinstance(v, bytes):
        if len(v) > 16:
            return f"({len(v)} bytes)"
        return "\\".join(f"{b:02x}" for b in v)
    if vr in TEXT_VRS:
        if isinstance(v, list):
            s = "\\".join(str(x) for x in v)
        else:
            s = str(v)
        if vr == "UI" and not isinstance(v, list):
            name = getattr(v, "keyword", "") or ""
            if name:
                return "=" + name
        s = s.replace("\r", "\\r").replace("\n", "\\n")
        if len(s) > limit:
            s = s[: limit - 3] + "..."
        return f"[{s}]"
    if isinstance(v, list):
        return "\\".join(str(x) for x in v)
    return str(v)


def _length_of(e: DataElement, charsets: tuple[str, ...] | None) -> int:
    raw = e._raw
    if raw is not None:
        return len(raw)
    if e.VR == "SQ":
        return -1
    try:
        from pacsnb.dicom.convert import encode_value

        return len(encode_value(e.VR, e.value, True, charsets if e.VR in CHARSET_VRS else None))
    except Exception:  # noqa: BLE001 - display only: a value the charset cannot encode
        return -1


def _element_line(e: DataElement, indent: int, charsets: tuple[str, ...] | None = None) -> str:
    pad = "  " * indent
    head = f"{pad}{e.tag} {e.VR} {_short_value(e)}"
    length = "u/l" if (e.is_undefined_length or e.VR == "SQ") else f"{_length_of(e, charsets):3d}"
    kw = e.keyword or ("PrivateCreator" if e.tag.is_private_creator else e.name)
    return f"{head:<59} # {length}, {e.VM} {kw}"


def _html_table(ds: Dataset, depth: int) -> str:
    rows = []
    for e in ds:
        kw = html.escape(e.keyword or e.name)
        if e.VR == "SQ":
            inner = "".join(
                f"<details><summary>Item {i + 1}</summary>{_html_table(item, depth + 1)}</details>"
                for i, item in enumerate(e.value))
            val = f"{len(e.value)} item(s){inner}"
        else:
            val = html.escape(_short_value(e, 120))
        rows.append(f"<tr><td><code>{e.tag}</code></td><td>{e.VR}</td><td>{kw}</td>"
                    f"<td style='text-align:left'>{val}</td></tr>")
    head = "<tr><th>Tag</th><th>VR</th><th>Keyword</th><th>Value</th></tr>"
    return f"<table class='pacsnb-dataset'>{head}{''.join(rows)}</table>"
