"""Map raw tables to typed records: find the header, map it to a kind's fields, convert units, account for every row."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import pandas as pd

from engine.errors import InputError
from engine.findings import Rejection, Source
from engine.lang import tr
from engine.normalise import (Regions, ValueProblem, plain_number, quoted, checked_number, is_blank, is_missing, parse_value,
                              read_number)
from engine.reader import (ArrowChunk, Conflict, EmptyRecord, Nested, NotARecord, RawTable, Unsaved, read_tables,
                           sha256_of)
from engine.schemas import Schema, kind_named, normalise_header, split_unit
from engine.units import UnitProblem, factor, is_known_unit, looks_like_unit, unit_of_cell

NOTE_PREFIXES = ("注", "说明", "备注", "填表说明", "资料来源", "数据来源", "note")
TOTAL_WORDS = {"合计", "总计", "小计", "全省合计", "total"}
MAX_HEADER_CHARS = 100  # a header cell is a few words; a longer cell is a title or a note


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


@dataclass(frozen=True)
class Column:
    """How one input column becomes a field: position, field, and the factor converting its unit."""

    position: int
    field: str
    header: str
    factor: Decimal | None = None
    problem: str = ""  # set when the column cannot be used (unit that cannot be converted): every value rejected
    twin: bool = False  # a second visible column of a field already mapped: read with it, a disagreement rejected


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


# ---------------------------------------------------------------- headers

_ALIAS_INDEXES: dict = {}


def _alias_index(schema: Schema) -> dict[str, str]:
    """Every header spelling (normalised) of a schema -> its field, built once per schema object."""
    found = _ALIAS_INDEXES.get(id(schema))
    if found is not None and found[0] is schema:
        return found[1]
    index = _build_alias_index(schema)
    _ALIAS_INDEXES[id(schema)] = (schema, index)
    return index


def _build_alias_index(schema: Schema) -> dict[str, str]:
    index = {}
    for name, spec in schema.fields.items():
        for alias in (name, spec.label) + spec.aliases:
            index[normalise_header(alias)] = name
            index[normalise_header(split_unit(alias)[0])] = name
    return index


_HEADER_FIELDS: dict = {}  # (id of an alias index, header text) -> _header_field's answer
MAX_REMEMBERED_HEADERS = 50_000


def _header_field(text: str, index: dict) -> tuple[str | None, str]:
    """The field a header names and the unit written in its brackets ('' when none, or when the brackets are
    part of the name, like 灰分（Ad）); remembered, as detection asks about the same cells many times."""
    key = (id(index), text)
    found = _HEADER_FIELDS.get(key)
    if found is None:
        if len(_HEADER_FIELDS) > MAX_REMEMBERED_HEADERS:
            _HEADER_FIELDS.clear()
        found = _HEADER_FIELDS[key] = _match_header(text, index)
    return found


def _match_header(text: str, index: dict) -> tuple[str | None, str]:
    exact = index.get(normalise_header(text))
    if exact:
        return exact, ""
    stem, unit = split_unit(text)
    if unit:
        return index.get(normalise_header(stem)), unit
    plain = normalise_header(text)
    for cut in range(len(plain) - 1, 0, -1):  # a unit written after the name: 热效率%, 热效率/%, 灰分 %
        head, tail = plain[:cut].rstrip("/"), plain[cut:]
        if head in index and is_known_unit(tail):
            return index[head], tail
    return None, ""


def _header_texts(headers: list, hidden: set) -> list:
    """(position, text) of the filled header cells, visible columns first (they win over hidden ones)."""
    order = sorted(range(len(headers)), key=lambda p: (p in hidden, p))
    texts = [(p, str(headers[p])) for p in order if not is_missing(headers[p])]
    return [(p, text, re.sub(r"\s+", " ", quoted(text) if len(text) > MAX_HEADER_CHARS else text).strip())
            for p, text in texts]


def map_headers(headers: list, schema: Schema, hidden: set = frozenset(), texts: list | None = None
                ) -> tuple[dict, list, dict]:
    """Column position -> field for the headers a schema knows; the unknown headers; the units in the headers.
    (`texts`: _header_texts of the headers, when the caller has them.)"""
    index = _alias_index(schema)
    mapping, unknown, units = {}, [], {}
    for position, text, shown in texts if texts is not None else _header_texts(headers, hidden):
        if len(text) > MAX_HEADER_CHARS:  # a title or a note, not a header (and matching it would cost its square)
            if position not in hidden:
                unknown.append(shown)
            continue
        name, unit = _header_field(text, index)
        if name and name not in mapping.values():
            mapping[position] = name
            if unit:
                units[position] = unit
        elif position not in hidden:
            unknown.append(shown)
    return dict(sorted(mapping.items())), unknown, units


def twins_of(headers: list, mapping: dict, schema: Schema, hidden: set = frozenset()) -> dict:
    """Visible columns not mapped because an earlier visible column already holds their field (热效率 twice):
    position -> (field, unit in the header)."""
    index = _alias_index(schema)
    twins = {}
    for position, header in enumerate(headers):
        if position in mapping or position in hidden or is_missing(header) or len(str(header)) > MAX_HEADER_CHARS:
            continue
        name, unit = _header_field(str(header), index)
        primary = next((p for p, f in mapping.items() if f == name), None)
        if name and primary is not None and primary not in hidden:
            twins[position] = (name, unit)
    return twins


def _combined(parent: list, child: list) -> list:
    """Two header rows read as one (a merged parent cell over its sub-headers)."""
    out = []
    for top, below in zip(parent, child):
        top_text = "" if is_missing(top) else str(top).strip()
        below_text = "" if is_missing(below) else str(below).strip()
        out.append(top_text if not below_text or below_text == top_text else
                   below_text if not top_text else f"{top_text}{below_text}")
    return out


@dataclass
class HeaderPlan:
    """Where the data starts and how each column maps."""

    schema: Schema
    first_data_row: int
    columns: list
    unknown: list
    notes: list
    width: int = 0  # columns of the header (0: unknown); a data row with cells beyond it is refused
    parsed: dict = field(default_factory=dict, compare=False, repr=False)  # column position -> {cell: (value,
    # problem)}: the table's distinct cells read once for all its chunks (engine.columnread)


def _lower_or_upper(parent: list, child: list) -> list:
    """Two header rows read as one where each column takes its lower cell, or the upper one when the lower is empty."""
    return [top if is_missing(below) or not str(below).strip() else below for top, below in zip(parent, child)]


def _candidates(head: pd.DataFrame):
    lines = [list(line) for line in head.itertuples(index=False, name=None)]
    rows = len(lines)
    for r in range(rows):
        yield r, 1, lines[r]
        if r + 1 < rows:
            parent, child = lines[r], lines[r + 1]
            yield r, 2, _combined(parent, child)
            yield r, 2, _lower_or_upper(parent, child)


def _evidence(headers: list, mapping: dict, schema: Schema) -> bool:
    """Enough to call a table this kind: two of its fields, or its id column under the id's own label (锅炉编号),
    not just a generic alias of it (名称, 编号)."""
    if len(mapping) >= 2:
        return True
    position = next(iter(mapping))
    id_spec = schema.fields[schema.id_field]
    return normalise_header(split_unit(str(headers[position]))[0]) == normalise_header(id_spec.label)


def detect(table: RawTable, schemas: dict, kind: str | None, path: str) -> HeaderPlan:
    """Find the header row (title rows above it skipped), its kind and its columns."""
    candidates = [schemas[kind]] if kind else list(schemas.values())
    best, tie = None, False
    for row, height, headers in _candidates(table.head):
        texts = _header_texts(headers, table.hidden)
        for schema in candidates:
            mapping, unknown, units = map_headers(headers, schema, table.hidden, texts)
            if schema.id_field not in mapping.values() or (kind is None and not _evidence(headers, mapping, schema)):
                continue
            score = (len(mapping), -height)
            if best is None or score > best[0]:
                best, tie = (score, row, height, schema, mapping, unknown, units, headers), False
            elif score == best[0] and schema.kind != best[3].kind:
                tie = True
    if best is None or tie:
        first = next((list(table.head.iloc[r]) for r in range(len(table.head))
                      if any(not is_missing(c) for c in table.head.iloc[r])), [])
        cells = [quoted(h) for h in first[:12] if not is_missing(h)]
        seen = tr("、".join(cells) or "（空）", ", ".join(cells) or "(empty)")
        if kind:
            spec = schemas[kind].fields[schemas[kind].id_field]
            kind_zh = schemas[kind].title.get("zh") or kind
            raise InputError(tr(f"没有“{spec.label}”（{spec.name}）列，而每条{kind_zh}记录都需要它；第一行为：{seen}",
                                f"no column for {spec.label} ({spec.name}), which every {kind} record needs; "
                                f"first row reads: {seen}"), file=path,
                             fix=tr(f"增加一列，表头写“{spec.label}”，或检查 --kind",
                                    f"add a column headed {spec.label}, or check --kind"))
        known = tr("；".join(f"{s.title.get('zh') or s.kind}（{s.kind}，需要“{s.fields[s.id_field].label}”列）"
                            for s in schemas.values()),
                   "; ".join(f"{s.kind} ({s.title.get('zh', '')}, needs a {s.fields[s.id_field].label} column)"
                             for s in schemas.values()))
        problem = (tr("同样符合不止一种记录类型", "matches more than one record kind equally") if tie else
                   tr("不是 ecocheck 认识的记录类型", "is not a record kind ecocheck knows"))
        raise InputError(tr(f"这张表{problem}；第一行为：{seen}。已知的记录类型：{known}",
                            f"this table {problem}; first row reads: {seen}. Known kinds: {known}"), file=path,
                         fix=tr("用 --kind 指定记录类型，或使用 `ecocheck template 类型` 写出的表头",
                                "give --kind KIND, or use the headers of `ecocheck template KIND`"))
    _, row, height, schema, mapping, unknown, units, headers = best
    first_data = row + height
    notes = []
    if row:
        rows = f"{row + 1}" + (f"–{row + height}" if height > 1 else "")
        notes.append(tr(f"表头在第{rows}行；上面的 {row} 行作为标题跳过",
                        f"header found on row {rows}; the {row} row(s) above it skipped as titles"))
    elif height > 1:
        notes.append(tr("表头取自第1–2行（合并的标题下有分项标题）",
                        "header read from rows 1–2 (a merged heading over sub-headings)"))
    if first_data < len(table.head) and _is_unit_row(list(table.head.iloc[first_data]), mapping, schema):
        for position, cell in enumerate(table.head.iloc[first_data]):
            if position in mapping and position not in units and not is_missing(cell):
                units[position] = unit_of_cell(cell)
        notes.append(tr(f"第{first_data + 1}行读作各列的单位", f"row {first_data + 1} read as the units of the columns"))
        first_data += 1
    twins = twins_of(headers, mapping, schema, table.hidden)
    for position, (name, unit) in twins.items():
        mapping_text = re.sub(r"\s+", " ", str(headers[position])).strip()
        if mapping_text in unknown:
            unknown.remove(mapping_text)
        if unit:
            units[position] = unit
        label = schema.fields[name].label
        notes.append(tr(f"{label}：有不止一列；合并读取，两列不一致的行拒收",
                        f"{label}: given in more than one column; read together, a row where they disagree is "
                        f"rejected"))
    hidden_used = [p for p in mapping if p in table.hidden]
    if hidden_used:
        notes.append(tr("读取了隐藏的列：" + "、".join(schema.fields[mapping[p]].label for p in hidden_used),
                        "hidden column(s) read: " + ", ".join(mapping[p] for p in hidden_used)))
    columns = []
    every = sorted([(p, name, False) for p, name in mapping.items()] + [(p, t[0], True) for p, t in twins.items()])
    for position, name, twin in every:
        spec = schema.fields[name]
        header = str(headers[position])
        try:
            ratio = factor(units.get(position, ""), spec.unit) if spec.type in ("number", "integer") else None
            problem = ""
        except UnitProblem as exc:
            ratio, problem = None, tr(f"{exc}；该列的值不予采用", f"{exc}; the column's values are set aside")
        if ratio is not None:
            notes.append(tr(f"{spec.label}：由 {units[position]} 换算为 {spec.unit}（×{ratio.normalize():f}）",
                            f"{spec.label}: converted from {units[position]} to {spec.unit} (×{ratio.normalize():f})"))
        columns.append(Column(position, name, header.strip(), ratio, problem, twin))
    width = max((p + 1 for p, h in enumerate(headers) if not is_missing(h)), default=0)
    return HeaderPlan(schema, first_data, columns, unknown, notes, width)


def _is_unit_row(cells: list, mapping: dict, schema: Schema) -> bool:
    """A row under the header that gives units: no id, every filled cell unit-like, one of them a known unit or
    the unit its field is in."""
    filled = {p: c for p, c in enumerate(cells) if not is_missing(c)}
    id_position = next((p for p, name in mapping.items() if name == schema.id_field), None)
    if not filled or id_position in filled or not all(looks_like_unit(c) for c in filled.values()):
        return False
    return any(is_known_unit(c) or (p in mapping and normalise_header(unit_of_cell(c)) ==
                                    normalise_header(schema.fields[mapping[p]].unit))
               for p, c in filled.items())


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


def _recipient(schema: Schema, values: dict, regions: Regions) -> str:
    if schema.recipient_field == "region_government":
        region = values.get(schema.region_field)
        return regions.governments.get(region, str(region or ""))
    return str(values.get(schema.recipient_field) or "")


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
    record_id = values[schema.id_field]
    region = values.get(schema.region_field, "")
    name = values.get(schema.name_field, "")
    if schema.fields[schema.name_field].type == "region":
        name = regions.official.get(name, name)
    shown_id = "/".join([str(record_id)] + [_shown(values[f], schema.fields[f]) for f in schema.id_extra
                                            if f in values])
    return (shown_id, str(name), regions.official.get(region, str(region)), str(region),
            _recipient(schema, values, regions))


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
    tables = read_tables(path, shown)
    if sheet is not None:
        chosen = [t for t in tables if t.name == sheet]
        if not chosen:
            raise InputError(tr(f"没有名为“{sheet}”的工作表", f"no sheet named '{sheet}'"), file=shown,
                             fix=tr("这个文件的工作表：" + "、".join(t.name for t in tables),
                                    "sheets: " + ", ".join(t.name for t in tables)))
        tables = chosen
    digest = sha256_of(path)
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
