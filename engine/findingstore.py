"""Findings of a run kept compressed in memory, segment by segment, and read back in input order."""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Sequence
from typing import Iterable, Iterator


class FindingStore(Sequence):
    """A read-only list of findings stored as zlib-compressed pickles (about a tenth of their size as objects).

    Each `add` is one segment; iteration yields segments in the order of their sort keys, so findings come out
    by (input table, row) whatever order they were evaluated in."""

    def __init__(self, findings: Iterable = ()):
        self._segments: list = []  # (sort key, count, compressed pickle)
        self._count = 0
        self._cache: list | None = None
        findings = list(findings)
        if findings:
            self.add(findings, (0,))

    def add(self, findings: list, key: tuple) -> None:
        if not findings:
            return
        blob = zlib.compress(pickle.dumps(findings, protocol=pickle.HIGHEST_PROTOCOL), 6)
        self._segments.append((key, len(self._segments), len(findings), blob))
        self._count += len(findings)
        self._cache = None

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator:
        for _, _, _, blob in sorted(self._segments, key=lambda s: (s[0], s[1])):
            yield from pickle.loads(zlib.decompress(blob))

    def __getitem__(self, index):
        if self._cache is None:  # random access is for small runs and tests: it unpacks everything once
            self._cache = list(self)
        return self._cache[index]

    def __eq__(self, other) -> bool:
        return list(self) == list(other)

    def __repr__(self) -> str:
        return f"FindingStore({self._count} findings in {len(self._segments)} segments)"

    @property
    def stored_bytes(self) -> int:
        return sum(len(s[3]) for s in self._segments)
