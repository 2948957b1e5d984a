"""Findings of a run kept compressed in memory (zstd), segment by segment, and read back in input order."""

from __future__ import annotations

import copyreg
import io
import pickle
import re

import orjson
from collections.abc import Sequence
from dataclasses import fields, is_dataclass
from typing import Iterable, Iterator

import pyarrow as pa

from engine.arrowpool import compressed
from engine.findings import Check, Citation, Finding, Source, Subject


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


SEPARATOR = ",\n"  # between the JSON texts of a segment: what the JSON output writes between two findings


def _texts(data: bytes) -> list:
    """The JSON texts of a segment kept as JSON (joined by SEPARATOR), as views of `data`. A finding's text is an object
    written with two-space indents: it starts with "{" and every line inside it with a space (a string never holds a
    raw line break), so SEPARATOR followed by "{" is found only between two texts."""
    view = memoryview(data)
    between = [found.start() for found in _BETWEEN.finditer(data)]
    starts = [0] + [at + len(SEPARATOR) for at in between]
    return [view[start:end] for start, end in zip(starts, between + [len(data)])]


_BETWEEN = re.compile(re.escape(SEPARATOR.encode()) + rb"\{")


def finding_of(data: dict):
    """The Finding a JSON object (report_writers._finding_json) was written from."""
    from engine.rules import Quoted

    return Finding(
        rule_id=data["rule_id"], title=data["title"], status=data["status"], severity=data["severity"],
        subject=Subject(**data["subject"]), source=Source(**data["source"]), citation=Citation(**data["citation"]),
        message=data["message"], checks=tuple(Check(**c) for c in data["checks"]), missing=tuple(data["missing"]),
        required_actions=tuple(Quoted(**q) for q in data["required_actions"]),
        consequences=tuple(Quoted(**q) for q in data["consequences"]), acting=tuple(data["acting"]),
        letter=data["letter"], interpretation=data["interpretation"],
        derived_from=tuple(tuple(d) for d in data["derived_from"]), measures=tuple(data["measures"]),
        lapsed=tuple(data["lapsed"]), force=data["force"], binds=data["binds"], period=data["period"],
        same_duty=tuple(data["same_duty"]))


class _Packed:
    """Bytes compressed with zstd (pyarrow's codec: about 1.6 µs and 50 bytes a finding, where zlib took 10 µs and
    140 bytes), kept in pyarrow's pool (arrowpool.compressed), with the length needed to unpack them."""

    __slots__ = ("blob", "size")

    def __init__(self, data):
        """`data`: bytes, or a pyarrow Buffer."""
        self.blob, self.size = compressed(data), len(data)

    def __len__(self) -> int:
        return len(self.blob)

    def unpack(self) -> bytes:
        return pa.decompress(self.blob, decompressed_size=self.size, codec="zstd", asbytes=True)


class Headline:
    """The fields of a finding's JSON the run store and the terminal table read, as attributes (f.rule_id,
    f.subject.id, f.source.row, f.citation.article …)."""

    __slots__ = ("rule_id", "status", "message", "period", "subject", "source", "_citation")

    def __init__(self, data: dict):
        self.rule_id, self.status, self.message, self.period = (data["rule_id"], data["status"], data["message"],
                                                                data["period"])
        self.subject, self.source = Subject(**data["subject"]), Source(**data["source"])
        self._citation = data["citation"]  # (a Citation made only when read: the run store does not)

    @property
    def citation(self):
        """The Citation, one per distinct citation for the whole process (Citations are immutable)."""
        key = tuple(self._citation.items())
        found = _CITATIONS.get(key)
        if found is None:
            found = _CITATIONS[key] = Citation(**self._citation)
        return found


_CITATIONS: dict = {}  # (a rule set holds a few hundred citations)


class FindingView:
    """A finding's JSON object read through attributes as the Finding it was written from reads (f.subject.id,
    f.checks[0].gap, f.citation.article): for a writer that reads many findings, without rebuilding each Finding.
    A list comes back as a tuple, an object as a FindingView."""

    __slots__ = ("_data",)

    def __init__(self, data: dict):
        self._data = data

    def __getattr__(self, name: str):
        try:
            value = self._data[name]
        except KeyError:
            raise AttributeError(name) from None
        if type(value) is dict:
            return FindingView(value)
        if type(value) is list:
            return tuple(FindingView(v) if type(v) is dict else v for v in value)
        return value


class FindingStore(Sequence):
    """A read-only list of findings stored compressed (about a twentieth of their size as objects): as compressed
    pickles, or (`add_json`) as the compressed JSON text the JSON output writes, read back as Findings.

    Each `add` is one segment; iteration yields segments in the order of their sort keys, so findings come out
    by (input table, row) whatever order they were evaluated in."""

    def __init__(self, findings: Iterable = ()):
        self._segments: list = []  # (sort key, number, count, compressed pickle or JSON, is JSON, CSV lines or None)
        self._count = 0
        self._statuses: dict = {}
        self._cache: list | None = None
        findings = list(findings)
        if findings:
            self.add(findings, (0,))

    def _append(self, key: tuple, findings: list, blob: bytes, is_json: bool) -> None:
        self._segments.append((key, len(self._segments), len(findings), blob, is_json, None))
        self._count += len(findings)
        for finding in findings:
            self._statuses[finding.status] = self._statuses.get(finding.status, 0) + 1
        self._cache = None

    def add(self, findings: list, key: tuple) -> None:
        if not findings:
            return
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.dispatch_table = _dispatch_table(findings)
        pickler.dump(findings)
        self._append(key, findings, _Packed(buffer.getvalue()), False)

    def add_json(self, found, key: tuple) -> None:
        """A segment kept as its JSON text (batchfindings.BatchFindings): what the JSON output writes, written by it
        without a Finding being rebuilt. Each sample (the first finding of each rule and status, built from its
        Record) is checked: its text must be what findings.finding_json_bytes gives and read back to the same
        Finding, and its CSV line (where the segment has them) what report_writers.csv_row writes; a segment that
        fails is built again from its Records and kept as pickles instead."""
        from engine.findings import finding_json_bytes
        from engine.report_writers import csv_row

        if not len(found):
            return
        for _, finding, text, line in found.samples:
            if text != finding_json_bytes(finding) or finding_of(orjson.loads(text)) != finding or \
                    (found.csv is not None and line != csv_row(finding)):
                self.add(found.rebuild(), key)
                return
        lines = None if found.csv is None else _Packed(found.csv)
        self._segments.append((key, len(self._segments), len(found), _Packed(found.joined), True, lines))
        self._count += len(found)
        for status, count in found.statuses.items():
            self._statuses[status] = self._statuses.get(status, 0) + count
        self._cache = None

    def _ordered(self):
        return sorted(self._segments, key=lambda s: (s[0], s[1]))

    def __len__(self) -> int:
        return self._count

    def _each(self, make) -> Iterator:
        """Each finding in order: make(its JSON object) in a segment kept as JSON, the Finding itself in a segment
        kept as pickles."""
        for _, _, _, blob, is_json, _ in self._ordered():
            if is_json:
                for text in _texts(blob.unpack()):
                    yield make(orjson.loads(text))
            else:
                yield from pickle.loads(blob.unpack())

    def __iter__(self) -> Iterator:
        return self._each(finding_of)

    def headlines(self) -> Iterator:
        """Each finding's rule, status, message, period, subject, source and citation, without the rest of the Finding
        being rebuilt from its text (what the run store records and the table shows: several times faster than
        iterating)."""
        return self._each(Headline)

    def views(self) -> Iterator:
        """Each finding in order: a FindingView of its JSON object, or the Finding itself in a segment kept as
        pickles."""
        return self._each(FindingView)

    def csv_segments(self) -> Iterator:
        """Each segment in order: its CSV lines as UTF-8 bytes where it was kept with them, else its findings, each as
        the dict its JSON text reads to (not rebuilt as a Finding) or, in a segment kept as pickles, the Finding."""
        for _, _, _, blob, is_json, lines in self._ordered():
            if lines is not None:
                yield lines.unpack()
            elif is_json:
                yield [orjson.loads(text) for text in _texts(blob.unpack())]
            else:
                yield pickle.loads(blob.unpack())

    def json_blocks(self) -> Iterator[bytes]:
        """The findings' JSON as UTF-8 bytes, a segment at a time, each segment's texts joined by SEPARATOR (",\n")."""
        from engine.findings import finding_json_bytes

        for _, _, _, blob, is_json, _ in self._ordered():
            if is_json:
                yield blob.unpack()
            else:
                yield SEPARATOR.encode().join(finding_json_bytes(f) for f in pickle.loads(blob.unpack()))

    def statuses(self) -> dict:
        """Status -> number of findings, without reading them back."""
        return dict(self._statuses)

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
        return sum(len(s[3]) + (0 if s[5] is None else len(s[5])) for s in self._segments)
