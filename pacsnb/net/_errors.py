"""Errors of the upper layer protocol core (defined in :mod:`pacsnb.errors` with the rest of
the hierarchy; re-exported here and from :mod:`pacsnb.net`).

Both derive from :class:`pacsnb.errors.NetworkError`, so ``except NetworkError`` (or
``except PacsnbError``) catches them.

Examples
--------
>>> from pacsnb.net import PDUError
>>> err = PDUError("item 0x30 of length 80 runs past the end of its item", offset=78,
...                pdu_type=0x01)
>>> str(err)
'A-ASSOCIATE-RQ PDU, at byte 78: item 0x30 of length 80 runs past the end of its item'
>>> err.reason  # the A-ABORT reason/diag the state machine sends (invalid-PDU-parameter value)
6
"""
from __future__ import annotations

from pacsnb.errors import LocalProtocolError, PDUError, _pdu_name

__all__ = ["PDUError", "LocalProtocolError"]



def pdu_name(pdu_type: int) -> str:
    """The PS3.8 name of a PDU type (``'PDU type 0x09'`` for an unknown one)."""
    return _pdu_name(pdu_type)
