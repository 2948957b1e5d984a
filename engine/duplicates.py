"""Record ids given more than once in a run, tracked in 4 bytes a row (a hash) and the ids compressed, so that large
inputs stay small."""

from __future__ import annotations

import unicodedata
from array import array
from collections.abc import Iterator, Sequence
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


def _folded(hashes: np.ndarray) -> np.ndarray:
    """64-bit hashes folded to 32 (the high half xor the low), as int32: what a record keeps. Among 1M distinct ids
    about 116 pairs share a folded hash, 11,600 among 10M; each such pair is told apart by its ids (Duplicates.found),
    which costs a read of their blocks, against 4 bytes a row saved."""
    wide = np.asarray(hashes).astype(np.int64, copy=False).view(np.uint64)
    return (wide ^ (wide >> np.uint64(32))).astype(np.uint32).view(np.int32)


def _buffers(texts) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, bytes) of a pyarrow string array: text n is bytes[offsets[n]:offsets[n + 1]]."""
    texts = texts.cast(pa.string()) if texts.type != pa.string() else texts
    _, offsets, data = texts.buffers()
    offsets = np.frombuffer(offsets, dtype=np.int32)[texts.offset:texts.offset + len(texts) + 1]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, dtype=np.uint8)
    return offsets, data


def _keys_of(ids):
    """Each id's id_key, as a pyarrow string array, column-wise: an id of printable ASCII without spaces is its own
    key in lower case; any other goes through id_key."""
    keys = pc.ascii_lower(ids)
    if _printable_ascii(ids):
        return keys
    plain = pc.match_substring_regex(ids, "^[!-~]*$").to_numpy(zero_copy_only=False)
    keys = keys.to_pylist()
    texts = ids.to_pylist()
    for n in np.flatnonzero(~plain):
        keys[n] = id_key(texts[n])
    return pa.array(keys, pa.string())


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
        return self.take(np.array([n]))[0].as_py()

    def take(self, numbers: np.ndarray):
        """The texts of these numbers (ascending), as a pyarrow string array, a block at a time."""
        if not len(numbers):
            return pa.array([], pa.string())
        parts = []
        blocks = np.searchsorted(np.frombuffer(self._firsts, dtype=np.int64), numbers, side="right") - 1 \
            if len(self._firsts) else np.full(len(numbers), -1)
        blocks[numbers >= self._count] = len(self._blocks)  # (the open block)
        bounds = np.flatnonzero(np.r_[True, blocks[1:] != blocks[:-1], True])
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            block = int(blocks[a])
            if block == len(self._blocks):
                texts, first = bytes(self._open), self._count
                offsets = np.frombuffer(self._open_offsets, dtype=np.int32)
            else:
                (texts, offsets), first = self._block(block), self._firsts[block]
            whole = pa.StringArray.from_buffers(len(offsets) - 1, pa.py_buffer(offsets), pa.py_buffer(texts))
            parts.append(whole.take(pa.array(numbers[a:b] - first)))
        return pa.concat_arrays(parts)

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

    SLICE = 1 << 16  # hashes compared with the repeated ones at a time

    def __init__(self):
        self._hashes = array("i")  # each record's hash, folded to 32 bits (_folded)
        self._ids = _Ids()
        self._starts = array("q")  # each see_many call: its first record, its file, its kind and its rows
        self._segment_files: list[str] = []
        self._segment_kinds: list[str] = []
        self._segment_rows: list = []  # the first row where the rows are consecutive (most calls), else them all
        self._found: RepeatedIds | None = None

    def see(self, record) -> None:
        self.see_many(record.kind, [record.id], record.source.file, [record.source.row])

    def see_many(self, kind: str, ids, file: str, rows) -> None:
        """Records of one kind from one file, by shown id (a list, or a pyarrow string array) and row, column-wise:
        an id of printable ASCII without spaces is its own key in lower case; any other goes through id_key."""
        if not len(ids):
            return
        if not isinstance(ids, pa.Array):
            ids = pa.array([str(i) for i in ids], pa.string())
        elif ids.type != pa.string():  # (pandas' text columns are large_string)
            ids = ids.cast(pa.string())
        hashes = _hash_keys(_keys_of(ids), kind + "\x1f")
        self._starts.append(len(self._hashes))
        self._segment_files.append(file)
        self._segment_kinds.append(kind)
        self._hashes.frombytes(_folded(hashes).tobytes())
        rows = np.asarray(rows, dtype=np.int64)
        consecutive = len(rows) == 1 or bool((np.diff(rows) == 1).all())
        self._segment_rows.append(int(rows[0]) if consecutive else rows.astype(np.int32))
        offsets, data = _buffers(ids)
        self._ids.extend(data[offsets[0]:offsets[-1]].tobytes(), offsets.astype(np.int64) - offsets[0])
        self._found = None

    def _repeated_positions(self) -> np.ndarray:
        """The records (ascending) whose hash another record has too. One sorted copy of the hashes (4 bytes a row)
        finds the repeated hashes; the records with one are then found a slice at a time."""
        hashes = np.frombuffer(self._hashes, dtype=np.int32) if len(self._hashes) else np.zeros(0, dtype=np.int32)
        ordered = np.sort(hashes)
        repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
        del ordered
        if not len(repeated):
            return np.zeros(0, dtype=np.int64)
        found = []
        for start in range(0, len(hashes), self.SLICE):
            part = hashes[start:start + self.SLICE]
            at = np.minimum(np.searchsorted(repeated, part), len(repeated) - 1)
            found.append(np.flatnonzero(repeated[at] == part) + start)
        return np.concatenate(found)

    def _rows_of(self, segments: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """The row of each record (by its segment and number)."""
        firsts = np.array([r if isinstance(r, int) else 0 for r in self._segment_rows], dtype=np.int64)
        at = positions - np.frombuffer(self._starts, dtype=np.int64)[segments]
        rows = firsts[segments] + at
        for segment in np.unique(segments).tolist():
            given = self._segment_rows[segment]
            if not isinstance(given, int):
                mine = segments == segment
                rows[mine] = given[at[mine]]
        return rows

    @property
    def found(self) -> "RepeatedIds":
        """[{kind, id, first: [file, row], again: [file, row]}, …] in the order the repeats were read (a RepeatedIds).
        The records whose hash is repeated are told apart by their identities (kind and id_key), column-wise."""
        if self._found is not None:
            return self._found
        positions = self._repeated_positions()
        if not len(positions):
            self._found = RepeatedIds.none()
            return self._found
        ids = self._ids.take(positions)
        segments = (np.searchsorted(np.frombuffer(self._starts, dtype=np.int64), positions, side="right") - 1
                    ).astype(np.int32)
        kind_names = sorted(set(self._segment_kinds))
        kinds = np.array([kind_names.index(k) for k in self._segment_kinds], dtype=np.int32)[segments]
        keys = _keys_of(ids).dictionary_encode()
        identity = kinds * np.int64(len(keys.dictionary)) + keys.indices.to_numpy(zero_copy_only=False)
        del keys  # (each step's arrays let go as soon as they are used: at 1M candidates, 8 MB each)
        _, first_of, inverse = np.unique(identity, return_index=True, return_inverse=True)
        del identity
        first = first_of[inverse.reshape(-1)]  # (the candidate that first had each one's identity)
        del first_of, inverse
        again = np.flatnonzero(first != np.arange(len(positions)))
        first = first[again]
        rows = self._rows_of(segments, positions)
        del positions
        self._found = RepeatedIds(kind_names, kinds[again], ids.take(pa.array(again)), self._segment_files,
                                  segments[first], rows[first], segments[again], rows[again])
        return self._found


class RepeatedIds(Sequence):
    """The ids seen again, kept as columns (a run with many repeats holds a few numbers a repeat, not a dict); each
    read as {kind, id, first: [file, row], again: [file, row]}, in the order the repeats were read."""

    CHUNK = 10_000  # repeats made into dicts at a time when iterated

    def __init__(self, kind_names: list, kinds, ids, files: list, first_files, first_rows, again_files, again_rows):
        self._kind_names, self._files = kind_names, files
        self._kinds, self._ids = kinds, ids
        self._first_files, self._first_rows = first_files, first_rows
        self._again_files, self._again_rows = again_files, again_rows

    @classmethod
    def none(cls) -> "RepeatedIds":
        empty = np.zeros(0, dtype=np.int64)
        return cls([], empty, pa.array([], pa.string()), [], empty, empty, empty, empty)

    def __len__(self) -> int:
        return len(self._kinds)

    def _entries(self, start: int, end: int) -> list:
        kinds, files = self._kind_names, self._files
        return [{"kind": kinds[kind], "id": text, "first": [files[first_file], first_row],
                 "again": [files[again_file], again_row]}
                for kind, text, first_file, first_row, again_file, again_row in zip(
                    self._kinds[start:end].tolist(), self._ids.slice(start, end - start).to_pylist(),
                    self._first_files[start:end].tolist(), self._first_rows[start:end].tolist(),
                    self._again_files[start:end].tolist(), self._again_rows[start:end].tolist())]

    def column_chunks(self, size: int) -> Iterator[tuple]:
        """The repeats, `size` at a time, as columns: kind names, their codes, ids (a pyarrow string array), file
        names, the first place's file codes and rows, the repeat's file codes and rows (numpy arrays)."""
        for start in range(0, len(self), size):
            end = start + size
            yield (self._kind_names, self._kinds[start:end], self._ids.slice(start, size), self._files,
                   self._first_files[start:end], self._first_rows[start:end], self._again_files[start:end],
                   self._again_rows[start:end])

    def __getitem__(self, n):
        if isinstance(n, slice):
            start, end, step = n.indices(len(self))
            return self._entries(start, end) if step == 1 else [self[i] for i in range(start, end, step)]
        if n < 0:
            n += len(self)
        if not 0 <= n < len(self):
            raise IndexError(n)
        return self._entries(n, n + 1)[0]

    def __iter__(self) -> Iterator[dict]:
        for start in range(0, len(self), self.CHUNK):
            yield from self._entries(start, min(start + self.CHUNK, len(self)))

    def __eq__(self, other) -> bool:
        if isinstance(other, (list, tuple, RepeatedIds)):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None

    def __repr__(self) -> str:
        return f"RepeatedIds({list(self)!r})" if len(self) <= 10 else f"RepeatedIds(<{len(self)} repeats>)"
