"""Vectorised reading: a chunk of raw text cells to a RecordBatch of typed columns, with exactly the values and the
rejections (same reasons, same order) that records.rows_to_records gives row by row.

Each column is factorised; a value is parsed once per distinct spelling by the same function the row reader uses
(normalise.parse_value via records._cell_value), so a million rows of a few thousand distinct values cost a few
thousand parses and some array indexing. Free text (ids, names) is stripped column-wise."""

from __future__ import annotations

import functools
import itertools
import operator
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from engine.batch import FieldColumn, RecordBatch, batch_of_records
from engine.findings import Rejection
from engine.csv_reader import ArrowChunk, many_cells
from engine.normalise import MISSING_TOKENS, ValueProblem, is_missing
from engine.records import (NOTE_PREFIXES, TOTAL_WORDS, _cell_value, _marks, _note_row, beyond_header, make_record,
                            marks_only as marks_only_reason, note_row, rows_to_records, without_id)
from engine.schemas import normalise_header


SMALL_CHUNK = 64  # rows: a smaller chunk is read row by row (pandas' per-column cost outweighs the rows)
SHORT = 8  # a missing-value mark, a total word (合计) or a note prefix is shorter than this once stripped


class _Distinct:
    """Distinct raw cells of one column (a pyarrow text array, no null) and what the reader makes of each: computed
    column-wise (pyarrow compute) on their stripped text, each only when asked for; the per-value function (the same
    the row reader calls) runs only on the short ones, the only cells it can flag."""

    def __init__(self, arrow):
        self.arrow = arrow
        self.stripped_arrow = pc.utf8_trim_whitespace(arrow)  # (str.strip: the same characters, tested)
        self.lengths = pc.utf8_length(self.stripped_arrow).to_numpy(zero_copy_only=False)
        self.short = np.flatnonzero(self.lengths < SHORT)
        self._uniques = self._stripped = self._missing_flags = self._note_flags = None
        self.texts = self.typed = None  # (values, problems) as _text_column and _typed_column give them
        self.shown = None  # (values, forms) of the batches' FieldColumns while no cell is added (_field_column)

    def __len__(self) -> int:
        return len(self.arrow)

    @property
    def uniques(self) -> list:
        """The distinct cells as read."""
        if self._uniques is None:
            self._uniques = self.arrow.to_pylist()
        return self._uniques

    @property
    def stripped(self) -> list:
        if self._stripped is None:
            self._stripped = self.stripped_arrow.to_pylist()
        return self._stripped

    def unique(self, code: int) -> str:
        return self._uniques[code] if self._uniques is not None else self.arrow[int(code)].as_py()

    def _short_flags(self, function) -> np.ndarray:
        """`function` of each short distinct cell without an ASCII digit (False for the others): is_missing and
        _total_word, which no cell holding a digit can satisfy (no missing mark or total word has one)."""
        flags = np.zeros(len(self.arrow), dtype=bool)
        if len(self.short):
            short = pa.array(self.short)
            digits = pc.match_substring_regex(self.stripped_arrow.take(short), "[0-9]")
            candidates = self.short[~digits.to_numpy(zero_copy_only=False)]
            if len(candidates):
                texts = self.arrow.take(pa.array(candidates)).to_pylist()
                flags[candidates] = [bool(function(text)) for text in texts]
        return flags

    def missing_flags(self) -> np.ndarray:
        """is_missing of each distinct cell: empty, or a short 'no data' mark."""
        if self._missing_flags is None:
            self._missing_flags = self._short_flags(is_missing)
        return self._missing_flags

    def note_flags(self) -> np.ndarray:
        """Cells that may make a row a note (注：…) or a total (合计): the row reader decides those rows."""
        if self._note_flags is None:
            self._note_flags = _starts_lower(self.stripped_arrow, NOTE_PREFIXES) | self._short_flags(_total_word)
        return self._note_flags

    def extended(self, more: "_Distinct") -> "_Distinct":
        """These cells, then `more` (other cells), with what was computed for these computed for `more` too (the
        values of texts and typed are the caller's: _text_column, _typed_column)."""
        out = _Distinct.__new__(_Distinct)
        out.arrow = pa.concat_arrays([self.arrow, more.arrow])
        out.stripped_arrow = pa.concat_arrays([self.stripped_arrow, more.stripped_arrow])
        out.lengths = np.concatenate([self.lengths, more.lengths])
        out.short = np.concatenate([self.short, more.short + len(self)])
        out._uniques = None if self._uniques is None else self._uniques + more.uniques
        out._stripped = None if self._stripped is None else self._stripped + more.stripped
        out._missing_flags = (None if self._missing_flags is None else
                              np.concatenate([self._missing_flags, more.missing_flags()]))
        out._note_flags = None if self._note_flags is None else np.concatenate([self._note_flags, more.note_flags()])
        out.texts, out.typed = self.texts, self.typed  # (lists only appended to)
        out.shown = None
        return out


def _distinct_cells(column) -> tuple[np.ndarray, object]:
    """(codes, distinct cells) of a pyarrow text array, dictionary-encoded or not: codes[i] is row i's cell, -1 none."""
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column)
    codes = column.indices.to_numpy(zero_copy_only=False)
    if column.indices.null_count:
        codes = np.where(column.indices.is_valid().to_numpy(zero_copy_only=False), codes, -1)
    dictionary = column.dictionary
    if dictionary.type != pa.string():  # (pandas' text columns are large_string: the cells kept are all one type)
        dictionary = dictionary.cast(pa.string())
    return codes.astype(np.int64), dictionary


def _own_codes(column) -> np.ndarray:
    """Each row's cell its own (row n: code n), -1 where the row has none (null)."""
    codes = np.arange(len(column), dtype=np.int64)
    if column.null_count:
        codes[~column.is_valid().to_numpy(zero_copy_only=False)] = -1
    return codes


def _plain_cells(column):
    """A text array as the cells of _own_codes: a string array without null (a null, which no code points at, as an
    empty text)."""
    if column.type != pa.string():  # (pandas' text columns are large_string)
        column = column.cast(pa.string())
    return pc.fill_null(column, "") if column.null_count else column


class _Cells:
    """One raw column of the chunk: `codes` into its distinct cells (-1: no cell), those of the chunk or of the
    whole table (_TableCells)."""

    def __init__(self, codes: np.ndarray, distinct: _Distinct):
        self.codes, self.distinct = codes, distinct

    @classmethod
    def of_chunk(cls, column) -> "_Cells":
        """The chunk's own distinct cells (`column`: a pyarrow text array, dictionary-encoded or not). A column not
        dictionary-encoded is one of many distinct cells (csv_reader.many_cells: pyarrow parses it as plain text) or
        one another reader gave: each row is a cell of its own, not hashed to find the ones repeated (what is read of
        a cell is read of it alone, so a repeated cell is read the same each time)."""
        if not pa.types.is_dictionary(column.type):
            return cls(_own_codes(column), _Distinct(_plain_cells(column)))
        codes, dictionary = _distinct_cells(column)
        used = np.zeros(len(dictionary), dtype=bool)
        used[codes[codes >= 0]] = True
        if not used.all():  # a slice of a larger block: keep only the cells this chunk holds
            dictionary = dictionary.filter(pa.array(used))
            remap = np.cumsum(used) - 1
            codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1)
        return cls(codes, _Distinct(dictionary))

    arrow = property(lambda self: self.distinct.arrow)
    stripped_arrow = property(lambda self: self.distinct.stripped_arrow)
    short = property(lambda self: self.distinct.short)
    uniques = property(lambda self: self.distinct.uniques)
    stripped = property(lambda self: self.distinct.stripped)

    def unique(self, code: int) -> str:
        return self.distinct.unique(code)

    def missing_flags(self) -> np.ndarray:
        return self.distinct.missing_flags()

    def missing(self) -> np.ndarray:
        return np.append(self.distinct.missing_flags(), True)[self.codes]

    def blank(self) -> np.ndarray:
        """Cells with no text at all (a row of only these is skipped, not counted)."""
        return np.append(self.distinct.lengths == 0, True)[self.codes]

    def note_flags(self) -> np.ndarray:
        return np.append(self.distinct.note_flags(), False)[self.codes]


class _TableCells:
    """A column's distinct cells over a whole table, kept from chunk to chunk, so that a column of few distinct
    values (regions, dates, units, percentages) has each cell stripped, flagged and parsed once per table, not once
    per chunk. A column of many (ids, names) is read chunk by chunk: its first chunk holds many distinct cells
    (csv_reader.many_cells), or a later one adds that many, or the table's reach LIMIT."""

    LIMIT = 20_000

    def __init__(self):
        self.distinct: _Distinct | None = None
        self.off = False  # read chunk by chunk from now on

    def cells(self, column) -> _Cells:
        if self.off:
            return _Cells.of_chunk(column)
        codes, dictionary = _distinct_cells(column)
        if self.distinct is None:
            if many_cells(len(dictionary), len(codes)):
                self.off = True
                return _Cells.of_chunk(column)
            self.distinct = _Distinct(dictionary)
            return _Cells(codes, self.distinct)
        where = pc.fill_null(pc.index_in(dictionary, value_set=self.distinct.arrow), -1).to_numpy(zero_copy_only=False)
        new = where < 0
        if new.any():
            count = int(new.sum())
            if len(self.distinct) + count > self.LIMIT or many_cells(count, len(codes)):
                self.off, self.distinct = True, None
                return _Cells.of_chunk(column)
            where = where.astype(np.int64)  # (int32 from pyarrow)
            where[new] = np.arange(len(self.distinct), len(self.distinct) + count)
            self.distinct = self.distinct.extended(_Distinct(dictionary.filter(pa.array(new))))
        return _Cells(np.append(where, -1).astype(np.int64)[codes], self.distinct)


def _starts_lower(texts, prefixes) -> np.ndarray:
    """text.lower().startswith(prefixes) for each text, column-wise, in one regular expression. An ASCII prefix is
    matched case-insensitively (RE2's case folding: no character but İ, K and ſ folds to an ASCII letter, and those
    fold to i, k and s, which are not in the prefixes); a caseless prefix (Chinese) as it is. The expression is run
    only on the texts whose first byte is one a prefix can begin with (ids and names mostly have none)."""
    pattern = _prefix_pattern(tuple(prefixes))
    if texts.type != pa.string() or texts.null_count:
        return pc.match_substring_regex(texts, pattern).to_numpy(zero_copy_only=False)
    _, offsets, data = texts.buffers()
    offsets = np.frombuffer(offsets, dtype=np.int32)[texts.offset:texts.offset + len(texts) + 1]
    starts, filled = offsets[:-1], offsets[1:] > offsets[:-1]
    first = np.zeros(len(texts), dtype=np.uint8)
    if data is not None:
        first[filled] = np.frombuffer(data, dtype=np.uint8)[starts[filled]]
    candidates = np.flatnonzero(filled & np.isin(first, _lead_bytes(tuple(prefixes))))
    found = np.zeros(len(texts), dtype=bool)
    if len(candidates):
        found[candidates] = pc.match_substring_regex(texts.take(pa.array(candidates)), pattern).to_numpy(
            zero_copy_only=False)
    return found


@functools.lru_cache(maxsize=8)
def _lead_bytes(prefixes: tuple) -> np.ndarray:
    """The first UTF-8 bytes a text matching _prefix_pattern can have: of each prefix's first character, and for an
    ASCII prefix of its other case too."""
    leads = set()
    for prefix in prefixes:
        for character in {prefix[0], prefix[0].lower(), prefix[0].upper()} if prefix.isascii() else {prefix[0]}:
            leads.add(character.encode("utf-8")[0])
    return np.array(sorted(leads), dtype=np.uint8)


@functools.lru_cache(maxsize=8)
def _prefix_pattern(prefixes: tuple) -> str:
    alternatives = []
    for prefix in prefixes:
        if prefix.isascii():
            assert not set(prefix.lower()) & set("iks"), prefix
            alternatives.append(f"(?i:{re.escape(prefix)})")
        else:
            assert prefix.lower() == prefix.upper() == prefix, prefix
            alternatives.append(re.escape(prefix))
    return "^(?:" + "|".join(alternatives) + ")"


def _arrow_text(column: pd.Series):
    """A text column of a DataFrame (str or NaN cells) as a pyarrow array, or None when it cannot be one (text that is
    not valid Unicode, such as a lone surrogate from a JSON escape): such a chunk is read row by row."""
    values = column.array
    try:
        if hasattr(values, "__arrow_array__") and pd.api.types.is_string_dtype(column.dtype):
            array = pa.array(values)
            return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
        return pa.array(column.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    except (pa.ArrowException, UnicodeError, TypeError, ValueError):
        return None


def _plain_text(frame: pd.DataFrame) -> bool:
    """Whether every cell is text or empty (CSV); other readers' cells (numbers, unsaved formulas, nested JSON,
    non-records) take the row-by-row path."""
    for position in range(frame.shape[1]):
        column = frame.iloc[:, position]
        if column.dtype != object and not pd.api.types.is_string_dtype(column.dtype):
            return False
        for value in pd.unique(column.dropna()) if column.dtype == object else ():
            if type(value) is not str:
                return False
    return True


def _total_word(text) -> bool:
    """A cell that is a total word (合计); with the note prefixes (_starts_lower) what may make a row a note."""
    text = str(text).strip()
    return bool(text) and normalise_header(text) in TOTAL_WORDS


assert not any(c.isdigit() for word in (*MISSING_TOKENS, *TOTAL_WORDS) for c in word)  # (_Cells._short_flags)


def _text_column(cells: _Cells) -> tuple[list, list]:
    """A free-text field (type string): values and problems per distinct cell, as parse_value gives them (read once
    per cell: the lists are kept with the cells and only appended to)."""
    distinct = cells.distinct
    values, problems = distinct.texts or ([], [])
    start = len(values)
    if start < len(distinct):
        more = distinct.stripped[start:]
        flags = distinct.missing_flags()
        for n in distinct.short[distinct.short >= start]:
            if flags[n]:
                more[n - start] = None
        values.extend(more)
        problems.extend([None] * len(more))
        distinct.texts = (values, problems)
    return values, problems


PARSED_CELLS = 100_000  # distinct cells of a column kept read for the table's later chunks (dates, numbers, names)


def _typed_column(cells: _Cells, column, spec, regions, fraction, parsed: dict) -> tuple[list, list]:
    """Values and problems per distinct cell, as parse_value gives them (read once per cell: the lists are kept with
    the cells and only appended to); `parsed` keeps them for the next chunks of the table (the fraction decision, the
    column and its unit are the table's) where its cells are not kept (_TableCells)."""
    distinct = cells.distinct
    values, problems = distinct.typed or ([], [])
    start = len(values)
    if start < len(distinct):
        uniques = distinct.uniques[start:] if start else distinct.uniques
        found = list(map(parsed.get, uniques))  # (the cells read in earlier chunks: no Python step each)
        if None in found:
            for n, (raw, known) in enumerate(zip(uniques, found)):
                if known is None:
                    try:
                        known = (_cell_value(raw, column, spec, regions, fraction), None)
                    except ValueProblem as exc:
                        known = (None, None if is_missing(raw) else str(exc))
                    if len(parsed) < PARSED_CELLS:
                        parsed[raw] = known
                    found[n] = known
        values.extend(known[0] for known in found)
        problems.extend(known[1] for known in found)
        distinct.typed = (values, problems)
    return values, problems


def _text_columns(data) -> list | None:
    """The chunk's columns as pyarrow text arrays, or None when its cells are not all text (the row-by-row path)."""
    if isinstance(data, ArrowChunk):
        return [data.column(p) for p in range(data.width)]
    if not _plain_text(data):
        return None
    columns = [_arrow_text(data.iloc[:, p]) for p in range(data.shape[1])]
    return None if any(c is None for c in columns) else columns


def _given(values: list) -> np.ndarray:
    """Which of the values are not None (map over operator.is_not: no Python step per value)."""
    return np.array(list(map(operator.is_not, values, itertools.repeat(None))), dtype=bool)


def _field_column(cells: _Cells, codes: np.ndarray, values: list, text) -> FieldColumn:
    """A batch's column: its values a copy of the cells' (their lists grow as later chunks add cells), the copy and
    the forms made of it (FieldColumn.representation) shared by the batches read while no cell is added."""
    distinct = cells.distinct
    if distinct.shown is None or len(distinct.shown[0]) != len(values):
        distinct.shown = (list(values), {})
    shown, forms = distinct.shown
    return FieldColumn(codes, shown, text, forms)


def chunk_to_batch(frame, plan, regions, path: str, report, fractions: dict):
    """(RecordBatch, rejections) for the data rows of one chunk: a DataFrame (index = 0-based row in the file) or
    the ArrowChunk of pyarrow's CSV reader."""
    schema = plan.schema
    arrow = isinstance(frame, ArrowChunk)
    data = frame.rows_from(plan.first_data_row) if arrow else frame.loc[frame.index >= plan.first_data_row]
    columns = None
    if len(data) >= SMALL_CHUNK and not any(c.twin for c in plan.columns):
        columns = _text_columns(data)
    if columns is None:
        # (a few rows cost less one by one than in columns; twin columns are compared row by row; cells that are
        # not all text come from XLSX or JSON)
        records, rejected = rows_to_records(frame, plan, regions, path, report, fractions)
        batch = batch_of_records(schema.kind, records, schema.fields)
        batch.rows = np.array([r.source.row for r in records], dtype=np.int64)
        batch.file = path
        return batch, rejected
    size = len(data)
    row_numbers = np.asarray(data.index, dtype=np.int64) + 1
    cells = [plan.cells.setdefault(p, _TableCells()).cells(c) for p, c in enumerate(columns)]
    row_of = data.row if arrow else (lambda position: list(data.iloc[position]))
    missing = np.ones(size, dtype=bool)
    blank = np.ones(size, dtype=bool)
    for c in cells:
        missing &= c.missing()
        blank &= c.blank()
    nonempty = ~missing
    marks_only = missing & ~blank  # only 'no data' marks (无, —): counted and rejected, as the row reader does
    report.rows += int((~blank).sum())

    beyond = np.zeros(size, dtype=bool)
    if plan.width:
        for c in cells[plan.width:]:
            beyond |= ~c.missing()
    beyond &= nonempty
    note_candidates = np.zeros(size, dtype=bool)
    for c in cells:
        note_candidates |= c.note_flags()
    note_candidates &= nonempty & ~beyond
    notes = {}
    for position in np.flatnonzero(note_candidates):
        text = _note_row(row_of(position), plan)
        if text:
            notes[int(position)] = text
    note = np.zeros(size, dtype=bool)
    note[list(notes)] = True

    candidates = nonempty & ~beyond & ~note
    columns = {}
    for column in plan.columns:
        spec = schema.fields[column.field]
        raw = cells[column.position] if column.position < len(cells) else None
        if raw is None:
            continue
        if spec.type == "string" and not column.problem:
            values, problems = _text_column(raw)
            known = ~raw.missing_flags()  # (_text_column's None: the missing marks)
        else:
            values, problems = _typed_column(raw, column, spec, regions, fractions.get(column.position),
                                             plan.parsed.setdefault(column.position, {}))
            known = _given(values)
        columns[column.field] = (raw, values, problems, known)

    id_field = schema.id_field
    id_ok = np.zeros(size, dtype=bool)
    if id_field in columns:
        raw, _, _, known = columns[id_field]
        id_ok = np.append(known, False)[raw.codes]
    keep = candidates & id_ok

    # Rejections in the order the row reader gives them: by row; in a row, its values (column order), then the row.
    rejected: list = []
    flagged = marks_only | beyond | note | (candidates & ~id_ok)
    value_problem_rows = np.zeros(size, dtype=bool)
    problem_masks = {}
    for name, (raw, _, problems, _) in columns.items():
        if problems.count(None) != len(problems):
            mask = np.append(_given(problems), False)[raw.codes] & candidates
            problem_masks[name] = mask
            value_problem_rows |= mask
    for position in np.flatnonzero(flagged | value_problem_rows):
        row = int(row_numbers[position])
        if marks_only[position]:
            rejected.append(Rejection(file=path, row=row, column="", value=_marks(row_of(position)),
                                      reason=marks_only_reason()))
            continue
        if beyond[position]:
            filled = [str(c) for c in row_of(position)[plan.width:] if not is_missing(c)]
            rejected.append(Rejection(file=path, row=row, column="", value=",".join(filled)[:80],
                                      reason=beyond_header(len(filled))))
            continue
        if note[position]:
            rejected.append(Rejection(file=path, row=row, column="", value=notes[position][:80], reason=note_row()))
            continue
        id_problem = None
        for column in plan.columns:
            if column.field in problem_masks and problem_masks[column.field][position]:
                raw, _, problems, _ = columns[column.field]
                code = raw.codes[position]
                reason = problems[code]
                if column.field == id_field:
                    id_problem = reason
                rejected.append(Rejection(file=path, row=row, column=schema.fields[column.field].label,
                                          value=str(raw.unique(code))[:200], reason=reason, scope="value"))
        if not id_ok[position]:
            id_spec = schema.fields[id_field]
            rejected.append(Rejection(file=path, row=row, column=id_spec.label, value="",
                                      reason=without_id(id_problem, id_spec)))
    report.rejected += int((marks_only | beyond | note | (candidates & ~id_ok)).sum())
    report.evaluated += int(keep.sum())

    kept = np.flatnonzero(keep)
    field_columns, problems = {}, {}
    spec_types = {c.field: "string" for c in plan.columns
                  if schema.fields[c.field].type == "string" and not c.problem}
    for name, (raw, values, value_problems, known) in columns.items():
        codes = raw.codes[kept]
        codes = np.where((codes >= 0) & np.append(known, False)[codes], codes, -1)
        text = raw.stripped_arrow if spec_types.get(name) == "string" else None  # (ids: duplicates read them)
        field_columns[name] = _field_column(raw, codes, values, text)
        if name in problem_masks:
            rows = np.flatnonzero(problem_masks[name][kept])
            problems[name] = {int(p): value_problems[raw.codes[kept[p]]] for p in rows}
    rows_kept = row_numbers[kept]

    def record(position: int):
        values = {name: c.uniques[c.codes[position]] for name, c in field_columns.items() if c.codes[position] >= 0}
        row_problems = {name: found[position] for name, found in problems.items() if position in found}
        return make_record(schema, values, row_problems, path, int(rows_kept[position]), regions)

    batch = RecordBatch(schema.kind, field_columns, len(kept), record, problems)
    batch.rows = rows_kept
    batch.file = path
    batch.regions = regions  # (findings are built from the columns: batchfindings.build_batch)
    return batch, rejected


__all__ = ["chunk_to_batch", "MISSING_TOKENS"]
