"""The DICOM data model: tags, VRs, the data dictionary, UIDs, values, character sets
and :class:`Dataset`. Knows nothing about files or sockets."""
from pacsnb.dicom.dataset import DataElement, Dataset, PrivateBlock, Sequence, register_dataset_property
from pacsnb.dicom.convert import MultiValue
from pacsnb.dicom.tag import Tag, as_tag
from pacsnb.dicom.uid import UID, generate_uid
from pacsnb.dicom.vr import VR

__all__ = ["DataElement", "Dataset", "PrivateBlock", "Sequence", "MultiValue", "Tag", "as_tag", "UID",
           "generate_uid", "VR", "register_dataset_property"]
