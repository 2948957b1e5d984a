"""The (kind, id) of every record a run read, for the run store (which tells a fixed case from one not checked): kept
as the lines the store writes, a batch's ids column-wise, and made unique and packed once at the end."""

from __future__ import annotations

import re
import zlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SEPARATOR = "\x1f"  # between kind and id in a line


def line(kind: str, record_id: str) -> str:
    """A pair as a line of the store's list: kind, US, the id with a backslash or line break escaped."""
    if "\\" in record_id or "\n" in record_id:
        record_id = record_id.replace("\\", "\\\\").replace("\n", "\\n")
    return f"{kind}{SEPARATOR}{record_id}"


def pack(lines) -> bytes:
    """Lines as the store keeps them: one a line, compressed."""
    return zlib.compress("\n".join(lines).encode("utf-8"), 1)


def pairs(blob: bytes) -> list:
    """[kind, id] of every line `pack` wrote."""
    found = []
    for text in zlib.decompress(blob).decode("utf-8").split("\n"):
        if text:
            kind, _, record_id = text.partition(SEPARATOR)
            if "\\" in record_id:
                record_id = re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], record_id)
            found.append([kind, record_id])
    return found


class SubjectsRead:
    """(kind, id as shown) of every record read, each pair once. A batch's ids are turned into the store's lines by
    pyarrow and kept as an array (about 25 bytes a record, where a set of Python pairs took about 150 and packing it
    as much again); `packed()` gives the store's compressed list, iteration the pairs."""

    def __init__(self):
        self._lines: list = []  # binary arrays of lines, each ending in \n
        self._unique = None

    def add_ids(self, kind: str, ids: pa.Array) -> None:
        """The ids (text, none missing) of records of one kind."""
        escaped = pc.replace_substring(pc.replace_substring(ids.cast(pa.string()), "\\", "\\\\"), "\n", "\\n")
        self._lines.append(pc.binary_join_element_wise(kind + SEPARATOR, escaped, "\n", "").cast(pa.binary()))
        self._unique = None

    def add(self, pairs_read) -> None:
        """(kind, id) pairs one by one (records not read column-wise)."""
        lines = [line(kind, str(record_id)) + "\n" for kind, record_id in pairs_read]
        if lines:
            self._lines.append(pa.array(lines, pa.binary()))
            self._unique = None

    def _lines_once(self) -> pa.Array:
        if self._unique is None:
            self._unique = pc.unique(pa.chunked_array(self._lines, pa.binary())) if self._lines else \
                pa.array([], pa.binary())
            self._lines = [self._unique]
        return self._unique

    def packed(self) -> bytes:
        """The store's compressed list of the lines (as `pack` writes them), each pair once, in the order first read."""
        found = self._lines_once()
        if not len(found):
            return pack([])
        _, offsets, data = found.buffers()
        offsets = np.frombuffer(offsets, dtype=np.int32)[found.offset:found.offset + len(found) + 1]
        text = data.slice(int(offsets[0]), int(offsets[-1] - offsets[0]) - 1)  # (without the last line's \n)
        return zlib.compress(memoryview(text), 1)

    def __len__(self) -> int:
        return len(self._lines_once())

    def __iter__(self):
        return iter([tuple(pair) for pair in pairs(self.packed())])


__all__ = ["SubjectsRead", "line", "pack", "pairs"]
