"""Reading and writing DICOM data sets: Part 10 files, every uncompressed transfer syntax
and deflate, encapsulated pixel data framing, the numba element scanner."""
from pacsnb.io.reader import read, read_bytes
from pacsnb.io.writer import encode_dataset, encode_file, write
from pacsnb.io import encaps

__all__ = ["read", "read_bytes", "write", "encode_dataset", "encode_file"]
