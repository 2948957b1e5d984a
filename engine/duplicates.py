"""Record ids given more than once in a run, tracked in about 20 bytes a row and the id itself, so that large inputs
stay small."""

from __future__ import annotations

import bisect
import unicodedata
from array import array
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


@lru_cache(maxsize=1 << 16)
def id_key(text) -> str:
    """A record id without width, spacing or case differences (ＧＬ－１ is gl-1) and without invisible characters (a
    zero-width space or a control character does not make another boiler); the run store's identity uses it too."""
    text = str(text or "")
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    if not text.isprintable():
        text = "".join(c for c in text if unicodedata.category(c) not in ("Cf", "Cc"))
    return "".join(text.split()).lower()


def _key(kind: str, record_id: str) -> str:
    """The identity of a record: its kind and its id_key."""
    return kind + "\x1f" + id_key(record_id)


PRIME = np.uint64(0x100000001B3)  # FNV-1a, 64 bits
OFFSET = np.uint64(0xCBF29CE484222325)


def _hash_keys(keys, prefix: str = "") -> np.ndarray:
    """64-bit hashes (FNV-1a over the UTF-8 bytes) of prefix + each identity key, the keys a pyarrow string array,
    column-wise: the prefix once, then one numpy step per byte position over the keys still that long (equal hashes
    are told apart by the ids themselves)."""
    offsets, data = _buffers(keys)
    starts, lengths = offsets[:-1].astype(np.int64), np.diff(offsets).astype(np.int64)
    start = OFFSET
    with np.errstate(over="ignore"):
        for byte in prefix.encode("utf-8"):
            start = (start ^ np.uint64(byte)) * PRIME
    hashes = np.full(len(keys), start, dtype=np.uint64)
    index = np.flatnonzero(lengths > 0)
    position, left = starts[index], lengths[index]
    with np.errstate(over="ignore"):
        while len(index):
            hashes[index] = (hashes[index] ^ data[position]) * PRIME
            position, left = position + 1, left - 1
            more = left > 0
            if not more.all():
                index, position, left = index[more], position[more], left[more]
    return hashes.view(np.int64)


def _buffers(texts) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, bytes) of a pyarrow string array: text n is bytes[offsets[n]:offsets[n + 1]]."""
    texts = texts.cast(pa.string()) if texts.type != pa.string() else texts
    _, offsets, data = texts.buffers()
    offsets = np.frombuffer(offsets, dtype=np.int32)[texts.offset:texts.offset + len(texts) + 1]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, dtype=np.uint8)
    return offsets, data


class Duplicates:
    """Sees every record once; `found` lists each id seen again, with where it was first and where again."""

    def __init__(self):
        self._hashes = array("q")
        self._rows = array("i")  # (a row number fits in 32 bits)
        self._offsets = array("q", [0])
        self._ids = bytearray()
        self._starts = array("q")  # each see_many call: its first record, its file and its kind (not per record)
        self._segment_files: list[str] = []
        self._segment_kinds: list[str] = []
        self._found: list | None = None

    def see(self, record) -> None:
        self.see_many(record.kind, [record.id], record.source.file, [record.source.row])

    def see_many(self, kind: str, ids, file: str, rows) -> None:
        """Records of one kind from one file, by shown id (a list, or a pyarrow string array) and row, column-wise:
        an id of printable ASCII without spaces is its own key in lower case; any other goes through _key."""
        if not len(ids):
            return
        if not isinstance(ids, pa.Array):
            ids = pa.array([str(i) for i in ids], pa.string())
        elif ids.type != pa.string():  # (pandas' text columns are large_string)
            ids = ids.cast(pa.string())
        plain = pc.match_substring_regex(ids, "^[!-~]*$").to_numpy(zero_copy_only=False)
        keys = pc.ascii_lower(ids)
        if not plain.all():
            keys = keys.to_pylist()
            texts = ids.to_pylist()
            for n in np.flatnonzero(~plain):
                keys[n] = _key("", texts[n])[1:]
            keys = pa.array(keys, pa.string())
        hashes = _hash_keys(keys, kind + "\x1f")
        self._starts.append(len(self._hashes))
        self._segment_files.append(file)
        self._segment_kinds.append(kind)
        self._hashes.frombytes(hashes.astype(np.int64).tobytes())
        self._rows.frombytes(np.asarray(rows, dtype=np.int32).tobytes())
        offsets, data = _buffers(ids)
        self._offsets.frombytes((offsets[1:].astype(np.int64) - offsets[0] + self._offsets[-1]).tobytes())
        self._ids += data[offsets[0]:offsets[-1]].tobytes()
        self._found = None

    def _id(self, n: int) -> str:
        return self._ids[self._offsets[n]:self._offsets[n + 1]].decode("utf-8")

    def _segment(self, n: int) -> int:
        return bisect.bisect_right(self._starts, n) - 1

    def _kind(self, n: int) -> str:
        return self._segment_kinds[self._segment(n)]

    def _place(self, n: int) -> list:
        return [self._segment_files[self._segment(n)], self._rows[n]]

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
                    key = _key(self._kind(n), self._id(n))
                    if key in first_by_key:
                        first = first_by_key[key]
                        repeats.append((n, {"kind": self._kind(n), "id": self._id(n),
                                            "first": self._place(first), "again": self._place(n)}))
                    else:
                        first_by_key[key] = n
        self._found = [entry for _, entry in sorted(repeats, key=lambda item: item[0])]
        return self._found
