"""Record ids given more than once in a run, tracked in about 30 bytes a row so that large inputs stay small."""

from __future__ import annotations

import re
import unicodedata
from array import array

import numpy as np
import pandas as pd


def _key(kind: str, record_id: str) -> str:
    """The identity of a record: its kind and its id without width or spacing differences (ＧＬ－１ is GL-1) and
    without invisible characters (a zero-width space or a control character does not make another boiler)."""
    text = unicodedata.normalize("NFKC", record_id)
    if not text.isprintable():
        text = "".join(c for c in text if unicodedata.category(c) not in ("Cf", "Cc"))
    return kind + "\x1f" + re.sub(r"\s+", "", text).lower()


_SPACE = re.compile(r"\s")


def _hash_keys(keys: np.ndarray) -> np.ndarray:
    """64-bit hashes of identity keys, column-wise (equal hashes are told apart by the ids themselves)."""
    return pd.util.hash_array(keys, categorize=False).view(np.int64)


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
        self.see_many(record.kind, [record.id], record.source.file, [record.source.row])

    def see_many(self, kind: str, ids: list, file: str, rows) -> None:
        """Records of one kind from one file, by shown id and row, hashed column-wise."""
        if not len(ids):
            return
        prefix = kind + "\x1f"
        keys = np.array([prefix + (i.lower() if i.isascii() and i.isprintable() and not _SPACE.search(i) else _key("", i)[1:])
                         for i in ids], dtype=object)
        hashes = _hash_keys(keys)
        self._hashes.frombytes(hashes.astype(np.int64).tobytes())
        file_number = self._file_index.setdefault(file, len(self._file_names))
        if file_number == len(self._file_names):
            self._file_names.append(file)
        kind_number = self._kind_index.setdefault(kind, len(self._kinds))
        if kind_number == len(self._kinds):
            self._kinds.append(kind)
        self._files.frombytes(np.full(len(ids), file_number, dtype=self._files.itemsize == 8 and np.int64
                                      or np.int32).tobytes())
        self._rows.frombytes(np.asarray(rows, dtype=np.int64 if self._rows.itemsize == 8 else np.int32).tobytes())
        self._kind_of.frombytes(np.full(len(ids), kind_number, dtype=np.int16).tobytes())
        encoded = [i.encode("utf-8") for i in ids]
        lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))
        self._offsets.frombytes((np.cumsum(lengths) + self._offsets[-1]).astype(np.int64).tobytes())
        self._ids += b"".join(encoded)
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
        same = np.flatnonzero(ordered[1:] == ordered[:-1])  # positions where a hash repeats the one before it
        starts = np.unique(np.concatenate([same[np.r_[True, same[1:] != same[:-1] + 1]]])) if len(same) else []
        for start in starts:
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
        self._found = [entry for _, entry in sorted(repeats, key=lambda item: item[0])]
        return self._found
