"""Find a table's header (title rows above it skipped, two header rows read as one, a row of units under it), its
record kind and how each column becomes a field (HeaderPlan)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd

from engine.errors import InputError
from engine.lang import tr
from engine.normalise import is_missing, quoted
from engine.reader import RawTable
from engine.schemas import Schema, normalise_header, split_unit
from engine.units import UNITS, UnitProblem, factor, is_known_unit, looks_like_unit, unit_of_cell

MAX_HEADER_CHARS = 100  # a header cell is a few words; a longer cell is a title or a note


@dataclass(frozen=True)
class Column:
    """How one input column becomes a field: position, field, and the factor converting its unit."""

    position: int
    field: str
    header: str
    factor: Decimal | None = None
    problem: str = ""  # set when the column cannot be used (unit that cannot be converted): every value rejected
    twin: bool = False  # a second visible column of a field already mapped: read with it, a disagreement rejected


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


_ID_KINDS: dict = {}


def _id_kinds(schemas: list) -> dict:
    """Header text (normalised) -> the kinds among `schemas` whose id field it names, built once per list of schema
    objects."""
    key = tuple(id(schema) for schema in schemas)
    found = _ID_KINDS.get(key)
    if found is not None and all(a is b for a, b in zip(found[0], schemas)):
        return found[1]
    kinds: dict = {}
    for schema in schemas:
        for text, name in _alias_index(schema).items():
            if name == schema.id_field:
                kinds.setdefault(text, set()).add(schema.kind)
    if len(_ID_KINDS) > 64:
        _ID_KINDS.clear()
    _ID_KINDS[key] = (list(schemas), kinds)
    return kinds


def _match_header(text: str, index: dict) -> tuple[str | None, str]:
    plain, stem, unit, cuts = _header_keys(text)
    exact = index.get(plain)
    if exact:
        return exact, ""
    if unit:
        return index.get(stem), unit
    for head, tail in cuts:  # a unit written after the name: 热效率%, 热效率/%, 灰分 %
        if head in index:
            return index[head], tail
    return None, ""


# A cell that names a known unit is at most this long: the longest spelling, m^2 for m2, brackets and 单位：
_LONGEST_UNIT_CELL = max(len(spelling) for spelling in UNITS) + 1 + 2 + 3
# ... and ends with the last character of a spelling (in any case; ² also as 2) or a closing bracket
_UNIT_ENDINGS = {c for spelling in UNITS for c in (spelling[-1], spelling[-1].upper(), spelling[-1].lower())} | \
    set(")]）】2")


@functools.lru_cache(maxsize=1 << 14)
def _header_keys(text: str) -> tuple[str, str, str, tuple]:
    """What matching a header against any schema needs, worked out once per text: the text normalised; the stem and
    the unit of a bracketed unit; else each (name, unit) split of the text whose end is a known unit, the
    shortest unit first."""
    plain = normalise_header(text)
    stem, unit = split_unit(text)
    if unit:
        return plain, normalise_header(stem), unit, ()
    if not plain or plain[-1] not in _UNIT_ENDINGS:  # (every split's unit ends where the text ends)
        return plain, "", "", ()
    first = max(1, len(plain) - _LONGEST_UNIT_CELL)
    cuts = tuple((plain[:cut].rstrip("/"), plain[cut:]) for cut in range(len(plain) - 1, first - 1, -1)
                 if is_known_unit(plain[cut:]))
    return plain, "", "", cuts


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
    cells: dict = field(default_factory=dict, compare=False, repr=False)  # column position -> columnread._TableCells


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
    id_kinds = _id_kinds(candidates)
    best, tie = None, False
    for row, height, headers in _candidates(table.head):
        texts = _header_texts(headers, table.hidden)
        named = set()  # the kinds whose id column one of these headers may name (the others cannot be this table)
        for _, text, _ in texts:
            plain, stem, _, cuts = _header_keys(text)
            for key in (plain, stem, *(head for head, _ in cuts)):
                named |= id_kinds.get(key, set())
        for schema in candidates:
            if schema.kind not in named:
                continue
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
    if not table.records_only and first_data < len(table.head) and \
            _is_unit_row(list(table.head.iloc[first_data]), mapping, schema):
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
