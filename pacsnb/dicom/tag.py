"""DICOM tags: ``(gggg,eeee)`` element identifiers.

A :class:`Tag` is an ``int`` (``0xGGGGEEEE``) with readable accessors. Every API that
takes a tag also takes a keyword (``"PatientName"``), a string (``"0010,0010"``,
``"(0010,0010)"``, ``"00100010"``) or a ``(group, element)`` tuple; :func:`as_tag` does
the conversion.

Examples
--------
>>> from pacsnb.dicom.tag import Tag, as_tag
>>> t = Tag("PatientName")
>>> t, t.group, t.element, t.keyword
((0010,0010), 16, 16, 'PatientName')
>>> as_tag("(0028,0010)") == 0x00280010
True
>>> Tag(0x00091010).is_private
True
"""
from __future__ import annotations

from typing import Union

from pacsnb.errors import DictionaryError

__all__ = ["Tag", "TagLike", "as_tag", "ITEM", "ITEM_DELIMITER", "SEQUENCE_DELIMITER", "PIXEL_DATA"]

ITEM = 0xFFFEE000
ITEM_DELIMITER = 0xFFFEE00D
SEQUENCE_DELIMITER = 0xFFFEE0DD
PIXEL_DATA = 0x7FE00010

TagLike = Union[int, str, tuple]

_HEX = set("0123456789abcdefABCDEF")


def _parse_str(text: str) -> int | None:
    s = text.strip()
    if s.startswith("(") and s.endswith(")"):
        s = s[1:-1]
    if "," in s:
        g, _, e = s.partition(",")
        g, e = g.strip(), e.strip()
        if g.lower().startswith("0x"):
            g = g[2:]
        if e.lower().startswith("0x"):
            e = e[2:]
        if 1 <= len(g) <= 4 and 1 <= len(e) <= 4 and set(g) <= _HEX and set(e) <= _HEX:
            return (int(g, 16) << 16) | int(e, 16)
        return None
    if s.lower().startswith("0x"):
        s = s[2:]
    if len(s) == 8 and set(s) <= _HEX:
        return int(s, 16)
    return None


def as_tag(key: TagLike) -> int:
    """Convert a keyword, tag string, ``(group, element)`` tuple or int to an int tag.

    Parameters
    ----------
    key
        ``"PatientName"``, ``"0010,0010"``, ``"(0010,0010)"``, ``"00100010"``,
        ``(0x0010, 0x0010)`` or ``0x00100010``.

    Returns
    -------
    int
        The tag as ``0xGGGGEEEE``.

    Raises
    ------
    DictionaryError
        For an unknown keyword or a malformed string.

    Examples
    --------
    >>> hex(as_tag("SOPInstanceUID"))
    '0x80018'
    """
    if type(key) is int or isinstance(key, int):
        k = int(key)
        if 0 <= k <= 0xFFFFFFFF:
            return k
        raise DictionaryError(f"tag {key!r} is out of range: a tag is 0x00000000..0xFFFFFFFF")
    if isinstance(key, str):
        from pacsnb.dicom.dictionary import tag_for_keyword

        t = tag_for_keyword(key)
        if t is not None:
            return t
        t = _parse_str(key)
        if t is not None:
            return t
        raise DictionaryError(
            f"{key!r} is neither a DICOM keyword nor a tag like '0010,0010': "
            "check the spelling (keywords are CamelCase, e.g. 'PatientName')")
    if isinstance(key, tuple) and len(key) == 2:
        g, e = key
        if 0 <= g <= 0xFFFF and 0 <= e <= 0xFFFF:
            return (int(g) << 16) | int(e)
    raise DictionaryError(f"cannot make a DICOM tag from {key!r}")


class Tag(int):
    """A DICOM tag, an ``int`` subclass printed as ``(gggg,eeee)``.

    Parameters
    ----------
    value
        Anything :func:`as_tag` takes (keyword, tag string, ``(group, element)`` tuple or
        int), or the group number when ``element`` is given.
    element
        The element number, to build a tag from ``Tag(group, element)``.

    Raises
    ------
    DictionaryError
        For an unknown keyword, a malformed string or an out-of-range number.

    Examples
    --------
    >>> Tag(0x0010, 0x0020)
    (0010,0020)
    >>> Tag("0008,0060").keyword
    'Modality'
    >>> Tag("Rows") == 0x00280010, Tag((0x0028, 0x0010)) == Tag("(0028,0010)")
    (True, True)
    """

    __slots__ = ()

    def __new__(cls, value: TagLike, element: int | None = None) -> "Tag":
        """Make a tag from anything :func:`as_tag` takes, or from ``(group, element)``."""
        if element is not None:
            return super().__new__(cls, as_tag((value, element)))
        return super().__new__(cls, as_tag(value))

    @property
    def group(self) -> int:
        """The group number ``gggg`` (the high 16 bits).

        Examples
        --------
        >>> hex(Tag("PixelData").group)
        '0x7fe0'
        """
        return int(self) >> 16

    @property
    def element(self) -> int:
        """The element number ``eeee`` (the low 16 bits).

        Examples
        --------
        >>> hex(Tag("PixelData").element)
        '0x10'
        """
        return int(self) & 0xFFFF

    @property
    def is_private(self) -> bool:
        """Odd group number (and not one of the reserved groups 1, 3, 5, 7, FFFF)."""
        g = int(self) >> 16
        return bool(g & 1) and g not in (1, 3, 5, 7, 0xFFFF)

    @property
    def is_private_creator(self) -> bool:
        """A private tag ``(gggg,0010)`` to ``(gggg,00FF)``, which reserves a block (PS3.5 7.8.1).

        Examples
        --------
        >>> Tag(0x00190010).is_private_creator, Tag(0x00191001).is_private_creator
        (True, False)
        """
        return self.is_private and 0x0010 <= (int(self) & 0xFFFF) <= 0x00FF

    @property
    def is_group_length(self) -> bool:
        """Element number 0000: a group length ``(gggg,0000)``.

        Examples
        --------
        >>> Tag(0x00020000).is_group_length, Tag(0x00020010).is_group_length
        (True, False)
        """
        return (int(self) & 0xFFFF) == 0

    @property
    def keyword(self) -> str:
        """The data dictionary keyword, ``''`` for a private or unknown tag.

        Examples
        --------
        >>> Tag(0x00100010).keyword, Tag(0x00091001).keyword
        ('PatientName', '')
        """
        from pacsnb.dicom.dictionary import keyword_for_tag

        return keyword_for_tag(int(self))

    def __str__(self) -> str:
        """``(GGGG,EEEE)`` in upper-case hexadecimal (also the ``repr``)."""
        v = int(self)
        return f"({v >> 16:04X},{v & 0xFFFF:04X})"

    __repr__ = __str__

    def json_key(self) -> str:
        """The ``GGGGEEEE`` form used by DICOM JSON (PS3.18 F.2).

        Returns
        -------
        str
            Eight upper-case hexadecimal digits.

        Examples
        --------
        >>> Tag("PixelData").json_key()
        '7FE00010'
        """
        return f"{int(self):08X}"


def tag_str(tag: int) -> str:
    """``(gggg,eeee)`` for an int tag (no object created).

    Parameters
    ----------
    tag
        The tag as an int ``0xGGGGEEEE``.

    Returns
    -------
    str
        The tag as :class:`Tag` prints it, without making a :class:`Tag`.

    Examples
    --------
    >>> tag_str(0x7FE00010)
    '(7FE0,0010)'
    """
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"
