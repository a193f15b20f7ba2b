"""The DICOM network, layer 2: upper layer protocol (PS3.8), association negotiation (PS3.7).

This package is sans-IO at its core: :mod:`pacsnb.net.pdu` encodes and decodes PDUs,
:mod:`pacsnb.net.statemachine` is the PS3.8 state machine that turns bytes and primitives
into bytes to send and events for the user, and :mod:`pacsnb.net.negotiation` builds and
answers presentation context proposals, :mod:`pacsnb.net.dimse` encodes, fragments and
reassembles DIMSE messages. None of them touches a socket.

On top, a thin asyncio layer (:mod:`pacsnb.net.transport`) runs every association on
pacsnb's own service loop (:mod:`pacsnb.net.loop`): :func:`connect` gives an SCU
:class:`Association` (``echo()``, ``store()``), :class:`Server` serves C-ECHO, C-STORE,
C-FIND and the N-services with handlers, and :mod:`pacsnb.net.sync` is the synchronous
facade for scripts.

Examples
--------
>>> import pacsnb.net as net
>>> rq = net.build_request("STORESCP", "PACSNB",
...                        net.propose([("1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.1.2.4.50")]))
>>> [(pc.context_id, pc.transfer_syntaxes) for pc in rq.presentation_contexts]
[(1, ('1.2.840.10008.1.2.4.50',))]
>>> answer = net.negotiate(rq, net.AcceptancePolicy(ae_title="STORESCP"))
>>> [(c.context_id, c.result.name, c.transfer_syntax) for c in answer.contexts]
[(1, 'TRANSFER_SYNTAXES_NOT_SUPPORTED', None)]
"""
from pacsnb.errors import AssociationAborted, AssociationRejected, DimseError, NetworkError
from pacsnb.net._errors import LocalProtocolError, PDUError
from pacsnb.net.items import (DICOM_APPLICATION_CONTEXT, AsyncOperationsWindow, ContextResult,
                              ItemType, PresentationContextAC, PresentationContextRQ, RoleSelection,
                              SOPClassCommonExtendedNegotiation, SOPClassExtendedNegotiation,
                              UnknownSubItem, UserIdentityAC, UserIdentityRQ, UserIdentityType,
                              UserInformation)
from pacsnb.net.pdu import (ABSOLUTE_MAX_PDATA_LENGTH, DEFAULT_MAXIMUM_LENGTH,
                            MAX_ASSOCIATION_PDU_LENGTH, PDU, PDV, Abort, AbortReason, AbortSource,
                            AssociateAC, AssociateRJ, AssociateRQ, PDataTF, PDUReader, PDUType,
                            RejectReason, RejectResult, RejectSource, ReleaseRP, ReleaseRQ,
                            decode_pdu, fragment)
from pacsnb.net.statemachine import (ACTIONS, TRANSITIONS, AbortIndication, AssociateAccepted,
                                     AssociateIndication, AssociateRejected, CloseTransport,
                                     ConnectTransport, DataIndication, Event, Indication, Output,
                                     ProviderAbortIndication, ReleaseConfirmation,
                                     ReleaseIndication, SendPDU, StartTimer, State, StateMachine,
                                     StopTimer)
from pacsnb.net.negotiation import (AcceptancePolicy, Negotiated, NegotiatedContext,
                                    build_request, find_context, negotiate, negotiated_contexts,
                                    propose)
from pacsnb.net.dimse import (CommandField, Message, MessageAssembler, Priority, Status,
                              StatusCategory, decode_command, message_to_pdus, status_category)
from pacsnb.net.scu import Association, connect
from pacsnb.net.scp import AssociationInfo, Server, ServiceRequest, inline
from pacsnb.net.retrieve import NResult, RetrieveResult, explain_status
from pacsnb.net.memory import MemoryQR
from pacsnb.net.tls import TLSConfig

__all__ = [
    # SCU and SCP (on pacsnb's service loop)
    "connect", "Association", "Server", "ServiceRequest", "AssociationInfo", "inline",
    # errors
    "NetworkError", "AssociationRejected", "AssociationAborted", "DimseError", "PDUError",
    "LocalProtocolError",
    # items
    "DICOM_APPLICATION_CONTEXT", "ItemType", "ContextResult", "UserIdentityType",
    "PresentationContextRQ", "PresentationContextAC", "AsyncOperationsWindow", "RoleSelection",
    "SOPClassExtendedNegotiation", "SOPClassCommonExtendedNegotiation", "UserIdentityRQ",
    "UserIdentityAC", "UnknownSubItem", "UserInformation",
    # PDUs
    "PDUType", "AbortSource", "AbortReason", "RejectResult", "RejectSource", "RejectReason",
    "AssociateRQ", "AssociateAC", "AssociateRJ", "PDV", "PDataTF", "ReleaseRQ", "ReleaseRP",
    "Abort", "PDU", "decode_pdu", "PDUReader", "fragment", "DEFAULT_MAXIMUM_LENGTH",
    "MAX_ASSOCIATION_PDU_LENGTH", "ABSOLUTE_MAX_PDATA_LENGTH",
    # state machine
    "State", "Event", "TRANSITIONS", "ACTIONS", "StateMachine", "Output", "SendPDU",
    "ConnectTransport", "CloseTransport", "StartTimer", "StopTimer", "Indication",
    "AssociateIndication", "AssociateAccepted", "AssociateRejected", "DataIndication",
    "ReleaseIndication", "ReleaseConfirmation", "AbortIndication", "ProviderAbortIndication",
    # negotiation
    "propose", "build_request", "AcceptancePolicy", "negotiate", "Negotiated",
    "NegotiatedContext", "negotiated_contexts", "find_context",
    # DIMSE
    "CommandField", "Priority", "Status", "StatusCategory", "status_category", "decode_command",
    "Message", "MessageAssembler", "message_to_pdus",
    # retrieve and N-services
    "RetrieveResult", "NResult", "explain_status", "MemoryQR", "TLSConfig",
]
