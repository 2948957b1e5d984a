"""Read CSV / XLSX / JSON records with pandas, map headers to fields, normalise values, account for every row."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from engine.errors import InputError, UsageError
from engine.findings import Rejection, Source
from engine.normalise import Regions, ValueProblem, is_missing, parse_value
from engine.schemas import Schema, normalise_header, split_unit

HEADER_SCAN_ROWS = 15
MAX_JSON_BYTES = 64 << 20
MAX_JSON_DEPTH = 20
ENCODINGS = ("utf-8-sig", "gb18030")


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
class LoadedFile:
    """What came out of one input file: records, rejected rows and the accounting."""

    path: str
    kind: str
    sha256: str
    rows: int
    records: list
    rejected: list
    unknown_columns: list = field(default_factory=list)

    def manifest_entry(self) -> dict:
        return {"path": self.path, "kind": self.kind, "sha256": self.sha256, "rows": self.rows,
                "evaluated": len(self.records), "rejected": sum(1 for r in self.rejected if r.scope == "row"),
                "unknown_columns": self.unknown_columns}


# ---------------------------------------------------------------- reading raw tables

def _decode(data: bytes, path: str) -> str:
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError("cannot decode the text (tried UTF-8 and GB18030)", file=path,
                     fix="save the file as CSV UTF-8 or GBK from Excel")


def _read_csv(data: bytes, path: str) -> pd.DataFrame:
    text = _decode(data, path)
    try:
        return pd.read_csv(io.StringIO(text), header=None, dtype=str, keep_default_na=False,
                           sep=None, engine="python", skip_blank_lines=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, UnicodeError) as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise InputError(f"not a readable CSV table ({reason})", file=path,
                         fix="check that every row has the same number of columns and quotes are closed") from None


def _read_xlsx(data: bytes, path: str) -> list[tuple[str, pd.DataFrame]]:
    try:
        sheets = pd.read_excel(io.BytesIO(data), sheet_name=None, header=None, dtype=object, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many unrelated types for a broken workbook
        raise InputError(f"not a readable XLSX workbook ({type(exc).__name__}: {exc})", file=path,
                         fix="open it in Excel and save it again as .xlsx") from None
    return list(sheets.items())


def _depth(value, level=0) -> int:
    stack = [(value, level)]
    deepest = 0
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def _read_json(data: bytes, path: str) -> pd.DataFrame:
    if len(data) > MAX_JSON_BYTES:
        raise InputError(f"JSON file is larger than {MAX_JSON_BYTES >> 20} MiB", file=path,
                         fix="split it, or give the records as CSV")
    try:
        parsed = json.loads(_decode(data, path))
    except (json.JSONDecodeError, RecursionError) as exc:
        raise InputError(f"not valid JSON ({exc})", file=path) from None
    if _depth(parsed) > MAX_JSON_DEPTH:
        raise InputError(f"JSON nested more than {MAX_JSON_DEPTH} levels", file=path,
                         fix="give a list of flat records: [{\"field\": value, …}, …]")
    if isinstance(parsed, dict) and isinstance(parsed.get("records"), list):
        parsed = parsed["records"]
    if not isinstance(parsed, list):
        raise InputError("JSON must be a list of records or {\"records\": [...]}", file=path)
    headers: list[str] = []
    for item in parsed:
        if isinstance(item, dict):
            headers.extend(k for k in item if k not in headers)
    rows = [[str(h) for h in headers]]
    for item in parsed:
        if isinstance(item, dict):
            rows.append([item.get(h) for h in headers])
        else:
            rows.append([json.dumps(item, ensure_ascii=False)] + [None] * (len(headers) - 1))
    return pd.DataFrame(rows, dtype=object)


# ---------------------------------------------------------------- headers

def _alias_index(schema: Schema) -> dict[str, str]:
    index = {}
    for name, spec in schema.fields.items():
        for alias in (name, spec.label) + spec.aliases:
            index[normalise_header(alias)] = name
            index[normalise_header(split_unit(alias)[0])] = name
    return index


def map_headers(headers: list, schema: Schema) -> tuple[dict[int, str], list[str]]:
    """Column position -> field name for the headers a schema knows; and the headers it does not know."""
    index = _alias_index(schema)
    mapping, unknown = {}, []
    for position, header in enumerate(headers):
        if is_missing(header):
            continue
        text = str(header)
        name = index.get(normalise_header(text)) or index.get(normalise_header(split_unit(text)[0]))
        if name and name not in mapping.values():
            mapping[position] = name
        else:
            unknown.append(text.strip())
    return mapping, unknown


def _find_header(frame: pd.DataFrame, schemas: dict, kind: str | None):
    """The header row, its kind and its column mapping: the row among the first few that maps best."""
    candidates = [schemas[kind]] if kind else list(schemas.values())
    best = None
    for row in range(min(HEADER_SCAN_ROWS, len(frame))):
        headers = list(frame.iloc[row])
        for schema in candidates:
            mapping, unknown = map_headers(headers, schema)
            if schema.id_field not in mapping.values():
                continue
            score = len(mapping)
            if best is None or score > best[0]:
                best = (score, row, schema, mapping, unknown)
            elif score == best[0] and schema.kind != best[2].kind and row == best[1]:
                best = (score, row, None, mapping, unknown)
    return best


def detect(frame: pd.DataFrame, schemas: dict, kind: str | None, path: str):
    best = _find_header(frame, schemas, kind)
    if best is None or best[2] is None:
        seen = ", ".join(str(h) for h in list(frame.iloc[0])[:12]) if len(frame) else "(empty file)"
        if kind:
            spec = schemas[kind].fields[schemas[kind].id_field]
            raise InputError(f"no column for {spec.label} ({spec.name}), which every {kind} record needs; "
                             f"first row reads: {seen}", file=path,
                             fix=f"add a column headed {spec.label}, or check --kind")
        known = "; ".join(f"{s.kind} ({s.title.get('zh', '')}, needs a {s.fields[s.id_field].label} column)"
                          for s in schemas.values())
        problem = "matches more than one record kind equally" if best else "is not a record kind ecocheck knows"
        raise InputError(f"this table {problem}; first row reads: {seen}. Known kinds: {known}", file=path,
                         fix="give --kind KIND, or use the headers of `ecocheck template KIND`")
    _, row, schema, mapping, unknown = best
    return row, schema, mapping, unknown


# ---------------------------------------------------------------- rows to records

NOTE_PREFIXES = ("注", "说明", "备注", "填表说明", "note")
TOTAL_WORDS = {"合计", "总计", "小计", "全省合计", "total"}


def _note_row(cells: list, mapping: dict, schema: Schema) -> str:
    """The text of a note (注：…) or total (合计) row under a table, or '' for a real record."""
    filled = [str(c).strip() for c in cells if not is_missing(c) and str(c).strip()]
    if len(filled) == 1 and filled[0].lower().startswith(NOTE_PREFIXES):
        return filled[0]
    id_position = next((p for p, n in mapping.items() if n == schema.id_field), None)
    first = filled[0] if filled else ""
    id_cell = str(cells[id_position]).strip() if id_position is not None and id_position < len(cells) else ""
    if normalise_header(first) in TOTAL_WORDS or normalise_header(id_cell) in TOTAL_WORDS:
        return first
    return ""


def _recipient(schema: Schema, values: dict, regions: Regions) -> str:
    if schema.recipient_field == "region_government":
        region = values.get(schema.region_field)
        return regions.governments.get(region, str(region or ""))
    return str(values.get(schema.recipient_field) or "")


def to_records(frame: pd.DataFrame, header_row: int, schema: Schema, mapping: dict, regions: Regions,
               path: str, row_offset: int = 0) -> tuple[list, list, int]:
    """Records and rejections for the rows below the header; and how many rows were read."""
    records, rejected, read = [], [], 0
    id_spec = schema.fields[schema.id_field]
    for index in range(header_row + 1, len(frame)):
        cells = list(frame.iloc[index])
        if all(is_missing(c) or str(c).strip() == "" for c in cells):
            continue
        read += 1
        row_number = index + 1 + row_offset
        note = _note_row(cells, mapping, schema)
        if note:
            rejected.append(Rejection(file=path, row=row_number, column="", value=note[:60],
                                      reason="说明行或合计行，不是一条记录 (a note or total row, not a record)"))
            continue
        values, problems = {}, {}
        for position, name in mapping.items():
            raw = cells[position] if position < len(cells) else None
            spec = schema.fields[name]
            try:
                value = parse_value(raw, spec, regions)
            except ValueProblem as exc:
                problems[name] = str(exc)
                rejected.append(Rejection(file=path, row=row_number, column=spec.label, value=str(raw),
                                          reason=str(exc), scope="value"))
                continue
            if value is not None:
                values[name] = value
        record_id = values.get(schema.id_field)
        if record_id is None:
            reason = problems.get(schema.id_field) or f"{id_spec.label} ({id_spec.name}) is empty"
            rejected.append(Rejection(file=path, row=row_number, column=id_spec.label, value="",
                                      reason=f"{reason}: a record without its id cannot be named in a finding; "
                                             f"fill in {id_spec.label}"))
            continue
        region = values.get(schema.region_field, "")
        name = values.get(schema.name_field, "")
        if schema.fields[schema.name_field].type == "region":
            name = regions.official.get(name, name)
        shown_id = "/".join([str(record_id)] + [str(values[f]) for f in schema.id_extra if f in values])
        records.append(Record(kind=schema.kind, id=shown_id, values=values,
                              source=Source(file=path, row=row_number), name=str(name),
                              region=regions.official.get(region, str(region)), region_key=str(region),
                              recipient=_recipient(schema, values, regions), problems=problems))
    return records, rejected, read


def load_file(path: Path, schemas: dict, regions: Regions, kind: str | None = None) -> LoadedFile:
    """Read one file; raise InputError when it cannot be read at all."""
    path = Path(path)
    shown = str(path)
    if kind is not None and kind not in schemas:
        raise UsageError(f"unknown kind '{kind}'", fix="kinds: " + ", ".join(schemas))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror})", file=shown) from None
    digest = hashlib.sha256(data).hexdigest()
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        frames = _read_xlsx(data, shown)
    elif suffix == ".json":
        frames = [("", _read_json(data, shown))]
    elif suffix in (".csv", ".txt", ".tsv"):
        frames = [("", _read_csv(data, shown))]
    else:
        raise InputError(f"unsupported file type '{suffix or '(none)'}'", file=shown,
                         fix="give .csv, .xlsx or .json files")
    loaded = None
    errors = []
    for sheet, frame in frames:
        where = f"{shown}[{sheet}]" if sheet and len(frames) > 1 else shown
        try:
            header_row, schema, mapping, unknown = detect(frame, schemas, kind, where)
        except InputError as exc:
            errors.append(exc)
            continue
        records, rejected, read = to_records(frame, header_row, schema, mapping, regions, where)
        if loaded is None:
            loaded = LoadedFile(shown, schema.kind, digest, 0, [], [], [])
        elif loaded.kind != schema.kind:
            raise InputError(f"sheets hold different record kinds ({loaded.kind}, {schema.kind})", file=shown,
                             fix="put each kind in its own file")
        loaded.rows += read
        loaded.records.extend(records)
        loaded.rejected.extend(rejected)
        loaded.unknown_columns.extend(u for u in unknown if u not in loaded.unknown_columns)
    if loaded is None:
        raise errors[0]
    return loaded
