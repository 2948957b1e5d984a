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
from engine.findings import Check, Citation, Finding, Source, Subject, finding_json_bytes


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
    by (input table, row) whatever order they were evaluated in. Given a stream, the store also writes each segment's
    JSON there as it is added, until end_stream."""

    def __init__(self, findings: Iterable = (), stream=None, keep: bool = True):
        """`stream` (a findingstream.JsonStream): each segment added while it is open is also written there, in
        the order added (end_stream closes it); `keep=False`: a segment the stream wrote is not kept (for a run
        whose findings nothing reads again: they can no longer be iterated)."""
        self._segments: list = []  # (sort key, number, count, compressed pickle or JSON, is JSON, CSV lines or None)
        self._count = 0
        self._statuses: dict = {}
        self._cache: list | None = None
        self._added = 0  # segments added, kept or not: their numbers
        self._stream, self._keep = stream, keep
        self._streamed = 0  # the segments numbered below this were written by the stream
        self._last_streamed: tuple | None = None  # the sort key of the last of them
        self._dropped = 0  # findings written by the stream and not kept
        findings = list(findings)
        if findings:
            self.add(findings, (0,))

    def end_stream(self) -> None:
        """No segment from now on goes to the stream: they are kept and written after what it wrote (a table whose
        records are evaluated at the end of the run comes before the tables read after it)."""
        self._stream = None

    def _to_stream(self, key: tuple, json_text, csv_text) -> bool:
        """Write a segment's text to the stream while it is open: its JSON texts (`json_text()`) or CSV lines
        (`csv_text()`) as the stream's form is; False if it is not open. The stream writes in the order added, so a
        segment must not sort before one it has written."""
        if self._stream is None:
            return False
        if self._last_streamed is not None and key < self._last_streamed:
            raise RuntimeError(f"findings {key} would come before those written to the output already "
                               f"({self._last_streamed}): end_stream should have been called")
        self._stream.write(csv_text() if self._stream.form == "csv" else json_text())
        self._last_streamed, self._streamed = key, self._added + 1
        return True

    def _counted(self, count: int, statuses: dict, streamed: bool) -> bool:
        """Count a segment's findings and number it; whether it is to be kept."""
        self._added += 1
        self._count += count
        for status, n in statuses.items():
            self._statuses[status] = self._statuses.get(status, 0) + n
        self._cache = None
        if streamed and not self._keep:
            self._dropped += count
            return False
        return True

    def add(self, findings: list, key: tuple) -> None:
        if not findings:
            return
        from engine.report_writers import csv_lines_of

        streamed = self._to_stream(key, lambda: SEPARATOR.encode().join(finding_json_bytes(f) for f in findings),
                                   lambda: csv_lines_of(findings))
        statuses: dict = {}
        for finding in findings:
            statuses[finding.status] = statuses.get(finding.status, 0) + 1
        number = self._added
        if not self._counted(len(findings), statuses, streamed):
            return
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.dispatch_table = _dispatch_table(findings)
        pickler.dump(findings)
        self._segments.append((key, number, len(findings), _Packed(buffer.getvalue()), False, None))

    def add_json(self, found, key: tuple) -> None:
        """A segment kept as its JSON text (batchfindings.BatchFindings): what the JSON output writes, written by it
        without a Finding being rebuilt. Each sample (the first finding of each rule and status, built from its
        Record) is checked: its text must be what findings.finding_json_bytes gives and read back to the same
        Finding, and its CSV line (where the segment has them) what report_writers.csv_row writes; a segment that
        fails is built again from its Records and kept as pickles instead."""
        from engine.report_writers import csv_lines_of, csv_row

        if not len(found):
            return
        for _, finding, text, line in found.samples:
            if text != finding_json_bytes(finding) or finding_of(orjson.loads(text)) != finding or \
                    (found.csv is not None and line != csv_row(finding)):
                self.add(found.rebuild(), key)
                return
        streamed = self._to_stream(key, lambda: found.joined, lambda: found.csv if found.csv is not None else
                                   csv_lines_of(orjson.loads(text) for text in _texts(bytes(found.joined))))
        number = self._added
        if not self._counted(len(found), found.statuses, streamed):
            return
        lines = None if found.csv is None else _Packed(found.csv)
        self._segments.append((key, number, len(found), _Packed(found.joined), True, lines))

    def _ordered(self, unwritten: bool = False):
        """The segments kept, in order; `unwritten`: only those the stream did not write."""
        if self._dropped and not unwritten:
            raise RuntimeError(f"{self._dropped} findings were written to the output as they were found and not kept")
        return sorted((s for s in self._segments if not (unwritten and s[1] < self._streamed)),
                      key=lambda s: (s[0], s[1]))

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

    def csv_segments(self, unwritten: bool = False) -> Iterator:
        """Each segment in order: its CSV lines as UTF-8 bytes where it was kept with them, else its findings, each as
        the dict its JSON text reads to (not rebuilt as a Finding) or, in a segment kept as pickles, the Finding;
        `unwritten`: only those the stream did not write."""
        for _, _, _, blob, is_json, lines in self._ordered(unwritten):
            if lines is not None:
                yield lines.unpack()
            elif is_json:
                yield [orjson.loads(text) for text in _texts(blob.unpack())]
            else:
                yield pickle.loads(blob.unpack())

    def json_blocks(self, unwritten: bool = False) -> Iterator[bytes]:
        """The findings' JSON as UTF-8 bytes, a segment at a time, each segment's texts joined by SEPARATOR (",\n");
        `unwritten`: only those the stream did not write (what the JSON output has left to write after them)."""
        for _, _, _, blob, is_json, _ in self._ordered(unwritten):
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
