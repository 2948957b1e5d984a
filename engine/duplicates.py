"""Record ids given more than once in a run, tracked in about 30 bytes a row so that large inputs stay small."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from array import array

import numpy as np


def _key(kind: str, record_id: str) -> str:
    """The identity of a record: its kind and its id without width or spacing differences (ＧＬ－１ is GL-1)."""
    return kind + "\x1f" + re.sub(r"\s+", "", unicodedata.normalize("NFKC", record_id)).lower()


class Duplicates:
    """Sees every record once; `found` lists each id seen again, with where it was first and where again."""

    def __init__(self):
        self._hashes = array("q")
        self._rows = array("l")
        self._files = array("l")
        self._offsets = array("q", [0])
        self._ids = bytearray()
        self._file_names: list[str] = []
        self._file_index: dict[str, int] = {}
        self._kinds: list[str] = []
        self._kind_of = array("h")
        self._kind_index: dict[str, int] = {}
        self._found: list | None = None

    def see(self, record) -> None:
        key = _key(record.kind, record.id)
        digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
        self._hashes.append(int.from_bytes(digest, "little", signed=True))
        file_number = self._file_index.setdefault(record.source.file, len(self._file_names))
        if file_number == len(self._file_names):
            self._file_names.append(record.source.file)
        kind_number = self._kind_index.setdefault(record.kind, len(self._kinds))
        if kind_number == len(self._kinds):
            self._kinds.append(record.kind)
        self._files.append(file_number)
        self._rows.append(record.source.row)
        self._kind_of.append(kind_number)
        self._ids += record.id.encode("utf-8")
        self._offsets.append(len(self._ids))
        self._found = None

    def _id(self, n: int) -> str:
        return self._ids[self._offsets[n]:self._offsets[n + 1]].decode("utf-8")

    def _place(self, n: int) -> list:
        return [self._file_names[self._files[n]], self._rows[n]]

    @property
    def found(self) -> list:
        """[{kind, id, first: [file, row], again: [file, row]}, …] in the order the repeats were read."""
        if self._found is not None:
            return self._found
        hashes = np.frombuffer(self._hashes, dtype=np.int64) if len(self._hashes) else np.zeros(0, dtype=np.int64)
        order = np.argsort(hashes, kind="stable")
        ordered = hashes[order]
        repeats = []
        start = 0
        while start < len(order):
            end = start + 1
            while end < len(order) and ordered[end] == ordered[start]:
                end += 1
            if end - start > 1:
                first_by_key: dict = {}
                for n in (int(i) for i in order[start:end]):  # equal hashes: compare the keys themselves
                    key = _key(self._kinds[self._kind_of[n]], self._id(n))
                    if key in first_by_key:
                        first = first_by_key[key]
                        repeats.append((n, {"kind": self._kinds[self._kind_of[n]], "id": self._id(n),
                                            "first": self._place(first), "again": self._place(n)}))
                    else:
                        first_by_key[key] = n
            start = end
        self._found = [entry for _, entry in sorted(repeats, key=lambda item: item[0])]
        return self._found
