"""Findings of a run kept compressed in memory, segment by segment, and read back in input order."""

from __future__ import annotations

import copyreg
import io
import pickle
import zlib
from collections.abc import Sequence
from dataclasses import fields, is_dataclass
from typing import Iterable, Iterator


def _as_call(kind: type):
    """A reducer pickling a dataclass as its class and field values (rebuilt by calling the class): several times
    faster to load than the generic state of a frozen slotted dataclass."""
    names = tuple(f.name for f in fields(kind))

    def reduce(value):
        return kind, tuple([getattr(value, name) for name in names])
    return reduce


def _dispatch_table(findings: list) -> dict:
    """copyreg's table plus _as_call for the dataclasses a finding is made of (found from the first finding)."""
    table = dict(copyreg.dispatch_table)
    stack = list(findings[:1])
    while stack:
        value = stack.pop()
        if is_dataclass(value) and not isinstance(value, type) and type(value) not in table:
            table[type(value)] = _as_call(type(value))
            stack.extend(getattr(value, f.name) for f in fields(value))
        elif isinstance(value, (tuple, list)):
            stack.extend(value)
    return table


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
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.dispatch_table = _dispatch_table(findings)
        pickler.dump(findings)
        blob = zlib.compress(buffer.getvalue(), 6)
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
