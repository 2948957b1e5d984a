"""Record ids given more than once in a run, tracked in 12 bytes a row and the ids compressed, so that large inputs
stay small."""

from __future__ import annotations

import bisect
import unicodedata
from array import array
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine.arrowpool import compressed


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
    column-wise: the prefix once, then the keys of each length as a matrix of their bytes, one numpy step per byte
    position (equal hashes are told apart by the ids themselves)."""
    offsets, data = _buffers(keys)
    starts, lengths = offsets[:-1].astype(np.int64), np.diff(offsets).astype(np.int64)
    start = OFFSET
    with np.errstate(over="ignore"):
        for byte in prefix.encode("utf-8"):
            start = (start ^ np.uint64(byte)) * PRIME
    hashes = np.full(len(keys), start, dtype=np.uint64)
    if not len(keys):
        return hashes.view(np.int64)
    counts = np.bincount(lengths)
    with np.errstate(over="ignore"):
        for length in np.flatnonzero(counts).tolist():
            if not length:
                continue
            if counts[length] == len(keys):  # (all one length)
                rows, matrix = slice(None), data[offsets[0]:offsets[-1]].reshape(len(keys), length)
            else:
                rows = np.flatnonzero(lengths == length)
                matrix = data[starts[rows][:, None] + np.arange(length)]
            found = hashes[rows]
            for position in range(length):
                found = (found ^ matrix[:, position]) * PRIME
            hashes[rows] = found
    return hashes.view(np.int64)


def _buffers(texts) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, bytes) of a pyarrow string array: text n is bytes[offsets[n]:offsets[n + 1]]."""
    texts = texts.cast(pa.string()) if texts.type != pa.string() else texts
    _, offsets, data = texts.buffers()
    offsets = np.frombuffer(offsets, dtype=np.int32)[texts.offset:texts.offset + len(texts) + 1]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, dtype=np.uint8)
    return offsets, data


def _printable_ascii(texts) -> bool:
    """Whether every byte of the texts is printable ASCII other than the space (! to ~), read off their data buffer."""
    offsets, data = _buffers(texts)
    return bool((np.subtract(data[offsets[0]:offsets[-1]], 0x21, dtype=np.uint8) <= 0x7E - 0x21).all())


class _Ids:
    """Texts kept in order, compressed (zstd) a block of about BLOCK bytes at a time, read back by their number."""

    BLOCK = 1 << 20

    def __init__(self):
        self._blocks: list = []  # (compressed texts, compressed int32 offsets, sizes)
        self._firsts = array("q")  # each block's first text
        self._count = 0  # texts in closed blocks
        self._open, self._open_offsets = bytearray(), array("i", [0])
        self._unpacked: dict = {}  # block -> (texts, offsets), the last few read

    def extend(self, data: bytes, offsets: np.ndarray) -> None:
        """Texts given as their bytes one after another and the offsets of each text's end (offsets[0] = 0)."""
        base = len(self._open)
        self._open += data
        self._open_offsets.frombytes((offsets[1:].astype(np.int64) + base).astype(np.int32).tobytes())
        if len(self._open) >= self.BLOCK:
            self._close()

    def _close(self) -> None:
        count = len(self._open_offsets) - 1
        if not count:
            return
        texts, offsets = bytes(self._open), self._open_offsets.tobytes()
        self._blocks.append((compressed(texts), compressed(offsets), (len(texts), len(offsets))))
        self._firsts.append(self._count)
        self._count += count
        self._open, self._open_offsets = bytearray(), array("i", [0])

    def __getitem__(self, n: int) -> str:
        if n >= self._count:
            texts, offsets, n = self._open, self._open_offsets, n - self._count
        else:
            block = bisect.bisect_right(self._firsts, n) - 1
            texts, offsets = self._block(block)
            n -= self._firsts[block]
        return bytes(texts[offsets[n]:offsets[n + 1]]).decode("utf-8")

    def _block(self, block: int) -> tuple:
        found = self._unpacked.get(block)
        if found is None:
            if len(self._unpacked) >= 4:
                self._unpacked.clear()
            texts, offsets, (text_size, offset_size) = self._blocks[block]
            found = self._unpacked[block] = (
                pa.decompress(texts, decompressed_size=text_size, codec="zstd", asbytes=True),
                np.frombuffer(pa.decompress(offsets, decompressed_size=offset_size, codec="zstd", asbytes=True),
                              dtype=np.int32))
        return found


class Duplicates:
    """Sees every record once; `found` lists each id seen again, with where it was first and where again."""

    def __init__(self):
        self._hashes = array("q")
        self._rows = array("i")  # (a row number fits in 32 bits)
        self._ids = _Ids()
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
        keys = pc.ascii_lower(ids)
        if not _printable_ascii(ids):
            plain = pc.match_substring_regex(ids, "^[!-~]*$").to_numpy(zero_copy_only=False)
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
        self._ids.extend(data[offsets[0]:offsets[-1]].tobytes(), offsets.astype(np.int64) - offsets[0])
        self._found = None

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
        groups = []
        for start in starts:
            end = start + 1
            while end < len(order) and ordered[end] == ordered[start]:
                end += 1
            groups.append([int(i) for i in order[start:end]])
        ids = {n: self._ids[n] for n in sorted({n for group in groups for n in group})}  # (read block by block)
        for group in groups:
            first_by_key: dict = {}
            for n in group:  # equal hashes: compare the keys themselves
                key = _key(self._kind(n), ids[n])
                if key in first_by_key:
                    repeats.append((n, {"kind": self._kind(n), "id": ids[n],
                                        "first": self._place(first_by_key[key]), "again": self._place(n)}))
                else:
                    first_by_key[key] = n
        self._found = [entry for _, entry in sorted(repeats, key=lambda item: item[0])]
        return self._found
