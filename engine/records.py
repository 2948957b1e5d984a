"""Map raw tables to typed records: each row's cells converted as the table's header plan says (engine.headers), every
row accounted for (evaluated or rejected with the reason); a file streamed in chunks or loaded whole."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pandas as pd

from engine.csv_reader import ArrowChunk
from engine.errors import InputError
from engine.findings import Rejection, Source
from engine.headers import Column, HeaderPlan, detect
from engine.json_reader import Conflict, EmptyRecord, Nested, NotARecord
from engine.lang import tr
from engine.normalise import (Regions, ValueProblem, plain_number, quoted, checked_number, is_blank, is_missing, parse_value,
                              read_number)
from engine.reader import read_tables, sha256_of
from engine.schemas import Schema, kind_named, normalise_header
from engine.xlsx_reader import Unsaved

NOTE_PREFIXES = ("注", "说明", "备注", "填表说明", "资料来源", "数据来源", "note")
TOTAL_WORDS = {"合计", "总计", "小计", "全省合计", "total"}


@dataclass
class Record:
    """One input row as typed field values, with where it came from and whom it concerns."""

    kind: str
    id: str
    values: dict
    source: Source
    name: str = ""
    region: str = ""  # the official name, for display
    region_key: str = ""  # the key of the parameter tables (e.g. 兰州)
    recipient: str = ""
    problems: dict = field(default_factory=dict)  # field -> why its value could not be read


@dataclass
class TableReport:
    """The accounting of one table (a CSV, a JSON file or one XLSX sheet): rows read = evaluated + rejected."""

    path: str
    kind: str
    sha256: str
    rows: int = 0
    evaluated: int = 0
    rejected: int = 0
    unknown_columns: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    def manifest_entry(self) -> dict:
        return {"path": self.path, "kind": self.kind, "sha256": self.sha256, "rows": self.rows,
                "evaluated": self.evaluated, "rejected": self.rejected, "unknown_columns": self.unknown_columns,
                "notes": self.notes}


@dataclass
class LoadedFile:
    """Everything read from one file at once (for small inputs, rule examples and tests)."""

    tables: list
    records: list
    rejected: list

    @property
    def kind(self) -> str:
        return self.tables[0].kind

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


# ---------------------------------------------------------------- rows to records

def _note_row(cells: list, plan: HeaderPlan) -> str:
    """The text of a note (注：…) or total (合计) row under a table, or '' for a real record."""
    filled = [str(c).strip() for c in cells if not is_missing(c) and str(c).strip()]
    if len(filled) == 1 and filled[0].lower().startswith(NOTE_PREFIXES):
        return filled[0]
    first = filled[0] if filled else ""
    id_column = next(c for c in plan.columns if c.field == plan.schema.id_field)
    id_cell = str(cells[id_column.position]).strip() if id_column.position < len(cells) else ""
    if normalise_header(first) in TOTAL_WORDS or normalise_header(id_cell) in TOTAL_WORDS:
        return first
    return ""


def shown_recipient(schema: Schema, values: dict, regions: Regions) -> str:
    """Who a finding about the row is addressed to, read from recipient_field(schema) only."""
    value = values.get(recipient_field(schema))
    if schema.recipient_field == "region_government":
        return regions.governments.get(value, str(value or ""))
    return str(value or "")


def _fraction_columns(plan: HeaderPlan, frame: pd.DataFrame) -> dict:
    """Percent columns given as fractions (0.853 for 85.3%), decided once per table from its first chunk: position ->
    'convert' (two or more values, every one ≤ 1: fractions, converted), 'mixed' (some ≤ 1 among percentages) or
    'percent' (a later value ≤ 1 is ambiguous), or 'alone' (a single value ≤ 1: 1 may be 100% or 1%). Values ≤ 1
    are rejected in a column not converted: ecocheck does not guess."""
    decided = {}
    arrow = isinstance(frame, ArrowChunk)
    frame = frame.rows_from(plan.first_data_row) if arrow else frame.loc[frame.index >= plan.first_data_row]
    for column in plan.columns:
        spec = plan.schema.fields[column.field]
        if spec.unit != "%" or not spec.fractions or column.factor is not None or \
                column.position >= (frame.width if arrow else frame.shape[1]):
            continue
        numbers = []
        for cell, count in (_counted_cells(frame.column(column.position)) if arrow else
                            ((cell, 1) for cell in frame.iloc[:, column.position])):
            if is_missing(cell) or "%" in str(cell) or "％" in str(cell):
                continue
            try:
                numbers.extend([float(str(cell).replace(",", ""))] * count)
            except ValueError:
                continue
        nonzero = [n for n in numbers if n != 0]
        fractions = [n for n in nonzero if 0 < n <= 1]
        if len(fractions) >= 2 and len(fractions) == len(nonzero):
            decided[column.position] = "convert"
        elif fractions and len(fractions) == len(nonzero):
            decided[column.position] = "alone"
        elif fractions:
            decided[column.position] = "mixed"  # fractions among percentages: those values are rejected
        else:
            decided[column.position] = "percent"  # percentages: a later value ≤ 1 is ambiguous and rejected
    return decided


def _counted_cells(column) -> list:
    """(text, times) of each distinct cell of a pyarrow dictionary-encoded text column."""
    import numpy as np

    codes = column.indices.to_numpy(zero_copy_only=False)
    counts = np.bincount(codes, minlength=len(column.dictionary))
    return [(text, int(n)) for text, n in zip(column.dictionary.to_pylist(), counts) if n]


def _cell_value(raw, column: Column, spec, regions: Regions, fraction: str | None):
    if column.problem:
        raise ValueProblem(column.problem)
    if spec.type not in ("number", "integer") or is_missing(raw) or isinstance(raw, (Unsaved, Nested, Conflict)):
        return parse_value(raw, spec, regions)
    text = "" if raw is None else str(raw)
    explicit_percent = "%" in text or "％" in text
    number = read_number(raw, spec)
    converted = False
    if fraction == "convert" and not explicit_percent:
        if number > 1:
            raise ValueProblem(tr(f"“{quoted(raw)}”是百分数，而本列其余的值是小数（0.853 表示 85.3%）；整列请用同一种写法",
                                  f"'{quoted(raw)}' is a percentage while the rest of this column holds fractions "
                                  f"(0.853 for 85.3%); write the column one way"))
        number, converted = number * 100, True
    elif fraction == "alone" and not explicit_percent and 0 < number <= 1:
        raise ValueProblem(tr(f"“{quoted(raw)}”可能是小数（即 {plain_number(number * 100)}%），也可能是百分数（即 "
                              f"{plain_number(number)}%）；请加 % 号写明",
                              f"'{quoted(raw)}' may be a fraction ({plain_number(number * 100)}%) or a percentage "
                              f"({plain_number(number)}%); write it with a % sign"))
    elif fraction in ("mixed", "percent") and not explicit_percent and 0 < number <= 1:
        raise ValueProblem(tr(f"“{quoted(raw)}”像是小数，而本列其他值是百分数；请写成百分数（如 "
                              f"{plain_number(number * 100)}）",
                              f"'{quoted(raw)}' looks like a fraction while other values in this column are "
                              f"percentages; write it as a percentage (e.g. {plain_number(number * 100)})"))
    if column.factor is not None:
        number, converted = number * column.factor, True
    return checked_number(number, spec, raw, converted)


def _shown(value, spec) -> str:
    """A value as part of a shown id: an enum by its first Chinese spelling, not its key."""
    if spec.type == "enum" and spec.values.get(str(value)):
        return str(spec.values[str(value)][0])
    return str(value)


# The reasons a whole row is rejected (both readers give them: engine.columnread uses these too).

def json_item_reason(item) -> str:
    if isinstance(item, NotARecord):
        return tr("不是 JSON 对象：一条记录应写成 {\"表头\": 值, …}", "not a JSON object: a record is {\"header\": value, …}")
    return tr("JSON 对象中没有任何值：无可检查", "a JSON object with no values: nothing to check")


def marks_only() -> str:
    return tr("该行只有“无数据”标记（无、— 等），无可检查；请删去该行或填上数据",
              "the row holds only 'no data' marks (无, —, …): nothing to check; delete the row or fill it in")


def beyond_header(filled: int) -> str:
    return tr(f"该行在最后一个表头右边还有 {filled} 个填了值的单元格，各值可能错位（值里有未加引号的逗号？）：请改正该行",
              f"the row has {filled} filled cell(s) right of the last header; its values may be shifted (an unquoted "
              f"comma?): fix the row")


def note_row() -> str:
    return tr("说明行或合计行，不是一条记录", "a note or total row, not a record")


def without_id(problem: str | None, id_spec) -> str:
    """A row without a readable id: why (the id cell's problem, or that it is empty) and what to do."""
    if not problem:
        problem = tr(f"{id_spec.label}（{id_spec.name}）为空", f"{id_spec.label} ({id_spec.name}) is empty")
    return tr(f"{problem}：没有编号的记录无法在发现事项中指明；请填写{id_spec.label}",
              f"{problem}: a record without its id cannot be named in a finding; fill in {id_spec.label}")



def _marks(cells) -> str:
    return ",".join(str(c).strip() for c in cells if not is_blank(c))[:80]


def rows_to_records(frame: pd.DataFrame, plan: HeaderPlan, regions: Regions, path: str, report: TableReport,
                    fractions: dict) -> tuple[list, list]:
    """Records and rejections for the data rows of one chunk (frame index = 0-based row in the file)."""
    if isinstance(frame, ArrowChunk):
        frame = frame.frame()
    schema = plan.schema
    id_spec = schema.fields[schema.id_field]
    records, rejected = [], []
    width = frame.shape[1]
    for index, cells in zip(frame.index, frame.itertuples(index=False, name=None)):
        if index < plan.first_data_row:
            continue
        if all(is_blank(c) for c in cells):
            continue
        report.rows += 1
        row_number = int(index) + 1
        if isinstance(cells[0], (NotARecord, EmptyRecord)):
            report.rejected += 1
            rejected.append(Rejection(file=path, row=row_number, column="", value=str(cells[0])[:80],
                                      reason=json_item_reason(cells[0])))
            continue
        if all(is_missing(c) for c in cells):
            report.rejected += 1
            rejected.append(Rejection(file=path, row=row_number, column="", value=_marks(cells), reason=marks_only()))
            continue
        beyond = [str(c) for c in cells[plan.width:] if not is_missing(c)] if plan.width else []
        if beyond:
            report.rejected += 1
            rejected.append(Rejection(file=path, row=row_number, column="", value=",".join(beyond)[:80],
                                      reason=beyond_header(len(beyond))))
            continue
        note = _note_row(list(cells), plan)
        if note:
            report.rejected += 1
            rejected.append(Rejection(file=path, row=row_number, column="", value=note[:80], reason=note_row()))
            continue
        values, problems, given, conflicts = {}, {}, {}, set()
        for column in plan.columns:
            raw = cells[column.position] if column.position < width else None
            spec = schema.fields[column.field]
            try:
                value = _cell_value(raw, column, spec, regions, fractions.get(column.position))
            except ValueProblem as exc:
                if is_missing(raw):
                    continue
                problems[column.field] = str(exc)
                rejected.append(Rejection(file=path, row=row_number, column=spec.label, value=str(raw)[:200],
                                          reason=str(exc), scope="value"))
                continue
            if value is None or column.field in conflicts:
                continue
            if column.field in values and values[column.field] != value:  # a twin column disagrees
                first = next(c for c in plan.columns if c.field == column.field and c.position in given)
                earlier, later = given[first.position], str(raw).strip()
                reason = tr(f"{spec.label}的两列不一致：第{first.position + 1}列（{first.header}）为“{earlier}”，"
                            f"第{column.position + 1}列（{column.header}）为“{later}”；请只保留一列",
                            f"two columns of {spec.label} disagree: column {first.position + 1} ({first.header}) = "
                            f"{earlier}, column {column.position + 1} ({column.header}) = {later}; keep one column")
                conflicts.add(column.field)
                problems[column.field] = reason
                del values[column.field]
                rejected.append(Rejection(file=path, row=row_number, column=spec.label,
                                          value=f"{given[first.position]} / {str(raw).strip()}"[:200], reason=reason,
                                          scope="value"))
                continue
            values.setdefault(column.field, value)
            given[column.position] = str(raw).strip()
        for name in problems:  # a field with an unreadable cell in any of its columns has no value
            values.pop(name, None)
        record_id = values.get(schema.id_field)
        if record_id is None:
            report.rejected += 1
            rejected.append(Rejection(file=path, row=row_number, column=id_spec.label, value="",
                                      reason=without_id(problems.get(schema.id_field), id_spec)))
            continue
        records.append(make_record(schema, values, problems, path, row_number, regions))
        report.evaluated += 1
    return records, rejected


def make_record(schema: Schema, values: dict, problems: dict, path: str, row_number: int, regions: Regions) -> Record:
    """The Record of one accepted row: its shown id, name, region and recipient (both readers build them here)."""
    shown_id, name, region, region_key, recipient = identity(schema, values, regions)
    return Record(kind=schema.kind, id=shown_id, values=values, source=Source(file=path, row=row_number),
                  name=name, region=region, region_key=region_key, recipient=recipient, problems=problems)


def identity_fields(schema: Schema) -> set:
    """The fields `identity` reads."""
    named = (schema.id_field, schema.region_field, schema.name_field, schema.recipient_field, *schema.id_extra)
    return {name for name in named if name in schema.fields}


def identity(schema: Schema, values: dict, regions: Regions) -> tuple[str, str, str, str, str]:
    """(shown id, name, region as shown, region key, recipient) of a row's values."""
    region = values.get(schema.region_field, "")
    return (shown_id(schema, values), shown_name(schema, values, regions), shown_region(schema, values, regions),
            str(region), shown_recipient(schema, values, regions))


def shown_id(schema: Schema, values: dict) -> str:
    """The id as shown: the id field's value, then the id_extra fields' values, joined by "/"."""
    return "/".join([str(values[schema.id_field])] + [_shown(values[f], schema.fields[f]) for f in schema.id_extra
                                                      if f in values])


def shown_name(schema: Schema, values: dict, regions: Regions) -> str:
    """The name as shown (a region by its official name), read from schema.name_field only."""
    name = values.get(schema.name_field, "")
    if schema.fields[schema.name_field].type == "region":
        name = regions.official.get(name, name)
    return str(name)


def shown_region(schema: Schema, values: dict, regions: Regions) -> str:
    """The region by its official name, read from schema.region_field only."""
    region = values.get(schema.region_field, "")
    return regions.official.get(region, str(region))


def recipient_field(schema: Schema) -> str:
    """The one field the recipient is read from (the region's for its government)."""
    return schema.region_field if schema.recipient_field == "region_government" else schema.recipient_field


# ---------------------------------------------------------------- files

def stream_file(path: Path, schemas: dict, regions: Regions, kind: str | None = None,
                sheet: str | None = None) -> Iterator[tuple[TableReport, list, list]]:
    """(table report, records, rejections) chunk by chunk, for every table of a file that matches a kind.

    The records of a chunk are a RecordBatch (columns, read column-wise by engine.columnread; a Record is built
    only when asked for).

    Raises InputError when the file cannot be read at all, or no table in it is a known kind."""
    from engine import columnread  # (it builds on this module)

    path = Path(path)
    shown = str(path)
    if kind is not None:
        kind = kind_named(schemas, kind)
    with ThreadPoolExecutor(max_workers=1) as pool:  # (the file's SHA-256 on another core while its text is read)
        digest_of = pool.submit(sha256_of, path)
        try:
            tables = read_tables(path, shown)
        except BaseException:
            digest_of.cancel()
            raise
    if sheet is not None:
        chosen = [t for t in tables if t.name == sheet]
        if not chosen:
            raise InputError(tr(f"没有名为“{sheet}”的工作表", f"no sheet named '{sheet}'"), file=shown,
                             fix=tr("这个文件的工作表：" + "、".join(t.name for t in tables),
                                    "sheets: " + ", ".join(t.name for t in tables)))
        tables = chosen
    digest = digest_of.result()
    plans, errors, skipped = [], [], []
    for table in tables:
        where = f"{shown}[{table.name}]" if table.name and len(tables) > 1 else shown
        try:
            plans.append((table, where, detect(table, schemas, kind, where)))
        except InputError as exc:
            errors.append(exc)
            skipped.append(table.name)
    if not plans:
        raise errors[0]
    for n, (table, where, plan) in enumerate(plans):
        report = TableReport(where, plan.schema.kind, digest, unknown_columns=plan.unknown,
                             notes=table.notes + plan.notes)
        if n == 0 and skipped:
            report.notes.append(tr("跳过了不符合任何记录类型的工作表：" + "、".join(skipped),
                                   "sheet(s) not matching any record kind skipped: " + ", ".join(skipped)))
        fractions = None
        chunks = table.data_chunks(plan.first_data_row) if table.data_chunks is not None else table.chunks()
        for chunk in chunks:
            if fractions is None:
                fractions = _fraction_columns(plan, chunk)
                for position, decision in fractions.items():
                    if decision == "convert":  # (fraction-looking values among percentages are rejected one by one)
                        label = plan.schema.fields[next(c.field for c in plan.columns if c.position == position)].label
                        report.notes.append(tr(f"{label}：各值都不大于 1，按小数读取并换算为 %",
                                               f"{label}: every value ≤ 1, read as fractions and converted to %"))
            records, rejected = columnread.chunk_to_batch(chunk, plan, regions, where, report, fractions)
            yield report, records, rejected


def load_file(path: Path, schemas: dict, regions: Regions, kind: str | None = None,
              sheet: str | None = None) -> LoadedFile:
    """Read a whole file at once."""
    tables, records, rejected = [], [], []
    for report, chunk_records, chunk_rejected in stream_file(path, schemas, regions, kind, sheet):
        if not any(report is t for t in tables):
            tables.append(report)
        records.extend(chunk_records)
        rejected.extend(chunk_rejected)
    return LoadedFile(tables, records, rejected)
