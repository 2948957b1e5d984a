"""Vectorised reading: a chunk of raw text cells to a RecordBatch of typed columns, with exactly the values and the
rejections (same reasons, same order) that records.rows_to_records gives row by row.

Each column is factorised; a value is parsed once per distinct spelling by the same function the row reader uses
(normalise.parse_value via records._cell_value), so a million rows of a few thousand distinct values cost a few
thousand parses and some array indexing. Free text (ids, names) is stripped column-wise."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.batch import FieldColumn, RecordBatch, batch_of_records
from engine.findings import Rejection
from engine.normalise import MISSING_TOKENS, ValueProblem, is_missing
from engine.records import (NOTE_PREFIXES, TOTAL_WORDS, _cell_value, _marks, _note_row, beyond_header, make_record,
                            marks_only as marks_only_reason, note_row, rows_to_records, without_id)
from engine.schemas import normalise_header


SMALL_CHUNK = 64  # rows: a smaller chunk is read row by row (pandas' per-column cost outweighs the rows)
SHORT = 8  # a missing-value mark, a total word (合计) or a note prefix is shorter than this once stripped


class _Cells:
    """One raw column of the chunk, factorised: codes into its distinct cells (-1: no cell).

    Flags over distinct cells are computed column-wise on their stripped text; the per-value function (the same the
    row reader calls) runs only on the short ones, the only cells it can flag."""

    def __init__(self, values: pd.Series):
        self.codes, uniques = pd.factorize(values, use_na_sentinel=True)
        self.uniques = np.asarray(uniques, dtype=object).tolist()
        text = pd.Series(self.uniques, dtype=object)
        self.stripped = text.str.strip()
        self.short = np.flatnonzero((self.stripped.str.len() < SHORT).to_numpy(dtype=bool))
        self._missing = None

    def per_unique(self, function, dtype=object) -> np.ndarray:
        return np.array([function(u) for u in self.uniques], dtype=dtype)

    def _short_flags(self, function) -> np.ndarray:
        flags = np.zeros(len(self.uniques), dtype=bool)
        for n in self.short:
            flags[n] = function(self.uniques[n])
        return flags

    def missing(self) -> np.ndarray:
        if self._missing is None:  # is_missing: empty, or a short 'no data' mark
            table = np.append(self._short_flags(is_missing), True)
            self._missing = table[self.codes]
        return self._missing

    def blank(self) -> np.ndarray:
        """Cells with no text at all (a row of only these is skipped, not counted)."""
        table = np.append((self.stripped == "").to_numpy(dtype=bool, na_value=True), True)
        return table[self.codes]

    def note_flags(self) -> np.ndarray:
        """Cells that may make a row a note (注：…) or a total (合计): the row reader decides those rows."""
        flags = self.stripped.str.lower().str.startswith(NOTE_PREFIXES).to_numpy(dtype=bool, na_value=False).copy()
        flags |= self._short_flags(_note_flag)
        return np.append(flags, False)[self.codes]


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


def _note_flag(text) -> bool:
    text = str(text).strip()
    return bool(text) and (text.lower().startswith(NOTE_PREFIXES) or normalise_header(text) in TOTAL_WORDS)


def _text_column(cells: _Cells) -> tuple[list, list]:
    """A free-text field (type string): values and problems per distinct cell, as parse_value gives them."""
    values = cells.stripped.tolist()
    for n in cells.short:
        if is_missing(cells.uniques[n]):
            values[n] = None
    return values, [None] * len(values)


def _typed_column(cells: _Cells, column, spec, regions, fraction) -> tuple[list, list]:
    values, problems = [], []
    for raw in cells.uniques:
        try:
            values.append(_cell_value(raw, column, spec, regions, fraction))
            problems.append(None)
        except ValueProblem as exc:
            values.append(None)
            problems.append(None if is_missing(raw) else str(exc))
    return values, problems


def chunk_to_batch(frame: pd.DataFrame, plan, regions, path: str, report, fractions: dict):
    """(RecordBatch, rejections) for the data rows of one chunk (frame index = 0-based row in the file)."""
    schema = plan.schema
    data = frame.loc[frame.index >= plan.first_data_row]
    if len(data) < SMALL_CHUNK or not _plain_text(data) or any(c.twin for c in plan.columns):
        # (a few rows cost less one by one than in columns; twin columns are compared row by row)
        records, rejected = rows_to_records(frame, plan, regions, path, report, fractions)
        batch = batch_of_records(schema.kind, records, schema.fields)
        batch.rows = np.array([r.source.row for r in records], dtype=np.int64)
        batch.file = path
        return batch, rejected
    size = len(data)
    row_numbers = np.asarray(data.index, dtype=np.int64) + 1
    cells = [_Cells(data.iloc[:, p]) for p in range(data.shape[1])]
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
        text = _note_row(list(data.iloc[position]), plan)
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
        else:
            values, problems = _typed_column(raw, column, spec, regions, fractions.get(column.position))
        columns[column.field] = (raw, values, problems)

    id_field = schema.id_field
    id_ok = np.zeros(size, dtype=bool)
    if id_field in columns:
        raw, values, _ = columns[id_field]
        id_ok = np.append(np.array([v is not None for v in values], dtype=bool), False)[raw.codes]
    keep = candidates & id_ok

    # Rejections in the order the row reader gives them: by row; in a row, its values (column order), then the row.
    rejected: list = []
    flagged = marks_only | beyond | note | (candidates & ~id_ok)
    value_problem_rows = np.zeros(size, dtype=bool)
    problem_masks = {}
    for name, (raw, values, problems) in columns.items():
        if any(p is not None for p in problems):
            mask = np.append(np.array([p is not None for p in problems], dtype=bool), False)[raw.codes] & candidates
            problem_masks[name] = mask
            value_problem_rows |= mask
    for position in np.flatnonzero(flagged | value_problem_rows):
        row = int(row_numbers[position])
        if marks_only[position]:
            rejected.append(Rejection(file=path, row=row, column="", value=_marks(list(data.iloc[position])),
                                      reason=marks_only_reason()))
            continue
        if beyond[position]:
            filled = [str(c) for c in data.iloc[position, plan.width:] if not is_missing(c)]
            rejected.append(Rejection(file=path, row=row, column="", value=",".join(filled)[:80],
                                      reason=beyond_header(len(filled))))
            continue
        if note[position]:
            rejected.append(Rejection(file=path, row=row, column="", value=notes[position][:80], reason=note_row()))
            continue
        id_problem = None
        for column in plan.columns:
            if column.field in problem_masks and problem_masks[column.field][position]:
                raw, _, problems = columns[column.field]
                code = raw.codes[position]
                reason = problems[code]
                if column.field == id_field:
                    id_problem = reason
                rejected.append(Rejection(file=path, row=row, column=schema.fields[column.field].label,
                                          value=str(raw.uniques[code])[:200], reason=reason, scope="value"))
        if not id_ok[position]:
            id_spec = schema.fields[id_field]
            rejected.append(Rejection(file=path, row=row, column=id_spec.label, value="",
                                      reason=without_id(id_problem, id_spec)))
    report.rejected += int((marks_only | beyond | note | (candidates & ~id_ok)).sum())
    report.evaluated += int(keep.sum())

    kept = np.flatnonzero(keep)
    field_columns, problems = {}, {}
    for name, (raw, values, value_problems) in columns.items():
        codes = raw.codes[kept]
        known = np.array([v is not None for v in values], dtype=bool)
        codes = np.where((codes >= 0) & np.append(known, False)[codes], codes, -1)
        field_columns[name] = FieldColumn(codes, values)
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
    return batch, rejected


__all__ = ["chunk_to_batch", "MISSING_TOKENS"]
