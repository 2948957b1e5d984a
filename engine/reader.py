"""Read raw tables from CSV (any common encoding and delimiter, in chunks), XLSX (sheets, merged cells, hidden columns) and JSON."""

from __future__ import annotations

import codecs
import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pandas as pd

from engine.errors import InputError

HEAD_ROWS = 15  # rows scanned for the header (title rows above it are skipped)
CHUNK_ROWS = 50_000
MAX_JSON_BYTES = 64 << 20
MAX_JSON_DEPTH = 20
MAX_XLSX_BYTES = 200 << 20
SNIFF_BYTES = 256 << 10
ENCODINGS = ("utf-8-sig", "gb18030")
DELIMITERS = ",\t;"


@dataclass
class RawTable:
    """One table of an input file: its first rows for header detection, and all its rows in chunks."""

    name: str  # sheet name ("" for CSV and JSON)
    head: pd.DataFrame
    chunks: object  # callable returning an iterator of DataFrames whose index is the 0-based row number
    hidden: set = field(default_factory=set)  # hidden column positions (XLSX)
    notes: list = field(default_factory=list)  # what the reader did that a user should know


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__


# ---------------------------------------------------------------- CSV

def sniff_encoding(prefix: bytes, path: str) -> str:
    """UTF-8 (with or without BOM) when the bytes decode as UTF-8, else GB18030 (Excel's 'CSV' on Chinese Windows)."""
    for encoding in ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            decoder.decode(prefix, final=False)  # a character cut at the end of the prefix is not an error
            return encoding
        except UnicodeDecodeError:
            continue
    raise InputError("cannot decode the text (tried UTF-8 and GB18030/GBK)", file=path,
                     fix="save the file from Excel as 'CSV UTF-8' or as CSV in GBK")


def sniff_delimiter(text: str) -> str:
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        counts = {d: sum(line.count(d) for line in lines) for d in DELIMITERS}
        return max(counts, key=counts.get) if max(counts.values()) else ","


def read_csv(path: Path, shown: str) -> RawTable:
    try:
        with path.open("rb") as handle:
            prefix = handle.read(SNIFF_BYTES)
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror})", file=shown) from None
    if not prefix.strip():
        raise InputError("the file is empty", file=shown, fix="export the table again")
    encoding = sniff_encoding(prefix, shown)
    text = prefix.decode(encoding, errors="ignore")
    delimiter = sniff_delimiter(text)

    def chunks() -> Iterator[pd.DataFrame]:
        try:
            reader = pd.read_csv(path, header=None, dtype=str, keep_default_na=False, sep=delimiter,
                                 encoding=encoding, skip_blank_lines=False, chunksize=CHUNK_ROWS,
                                 engine="python" if len(delimiter) != 1 else "c", on_bad_lines="error")
            for chunk in reader:
                yield chunk
        except UnicodeDecodeError as exc:
            raise InputError(f"bytes that are not {encoding} text near byte {exc.start}", file=shown,
                             fix="save the whole file in one encoding (CSV UTF-8)") from None
        except (pd.errors.ParserError, ValueError, csv.Error) as exc:
            raise InputError(f"not a readable CSV table ({_reason(exc)})", file=shown,
                             fix="check that every row has the same number of columns and quotes are closed") from None
        except pd.errors.EmptyDataError:
            return

    head = _head_of(chunks, shown)
    notes = []
    if encoding != "utf-8-sig":
        notes.append("read as GB18030/GBK text (not UTF-8)")
    if delimiter != ",":
        notes.append(f"columns separated by {'TAB' if delimiter == chr(9) else repr(delimiter)}")
    return RawTable("", head, chunks, notes=notes)


def _head_of(chunks, shown: str) -> pd.DataFrame:
    for chunk in chunks():
        return chunk.head(HEAD_ROWS)
    raise InputError("the file has no rows", file=shown)


# ---------------------------------------------------------------- XLSX

def read_xlsx(path: Path, shown: str) -> list[RawTable]:
    import openpyxl  # imported here: only XLSX input needs it

    if path.stat().st_size > MAX_XLSX_BYTES:
        raise InputError(f"XLSX file larger than {MAX_XLSX_BYTES >> 20} MiB", file=shown,
                         fix="save large tables as CSV, which is read in chunks")
    try:
        workbook = openpyxl.load_workbook(path, data_only=True)
    except Exception as exc:  # openpyxl raises many unrelated types for a broken workbook
        raise InputError(f"not a readable XLSX workbook ({type(exc).__name__}: {_reason(exc)})", file=shown,
                         fix="open it in Excel and save it again as .xlsx") from None
    tables = []
    for sheet in workbook.worksheets:
        rows = [[_xlsx_value(cell) for cell in row] for row in sheet.iter_rows()]
        if not rows:
            continue
        width = max(len(r) for r in rows)
        rows = [r + [None] * (width - len(r)) for r in rows]
        notes = []
        for merged in sheet.merged_cells.ranges:  # a merged header cell names every column it spans
            value = rows[merged.min_row - 1][merged.min_col - 1]
            if merged.min_row <= HEAD_ROWS + 2:
                for r in range(merged.min_row - 1, merged.max_row):
                    for c in range(merged.min_col - 1, merged.max_col):
                        rows[r][c] = value
        hidden = set()
        for letter, dimension in sheet.column_dimensions.items():
            if dimension.hidden:
                start = openpyxl.utils.column_index_from_string(letter) - 1
                end = max(start, (dimension.max or 0) - 1)
                hidden.update(range(start, end + 1))
        frame = pd.DataFrame(rows, dtype=object)
        tables.append(RawTable(sheet.title, frame.head(HEAD_ROWS + 2), lambda frame=frame: iter([frame]),
                               hidden=hidden, notes=notes))
    if not tables:
        raise InputError("the workbook has no rows", file=shown)
    return tables


def _xlsx_value(cell):
    """A cell's value; a number shown as a percentage (Excel stores 85.3% as 0.853) is given back as '85.3%'."""
    value = cell.value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and "%" in str(cell.number_format or ""):
        return f"{round(value * 100, 10):g}%"
    return value


# ---------------------------------------------------------------- JSON

def _depth(value) -> int:
    stack, deepest = [(value, 0)], 0
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


def read_json(path: Path, shown: str) -> RawTable:
    size = path.stat().st_size
    if size > MAX_JSON_BYTES:
        raise InputError(f"JSON file larger than {MAX_JSON_BYTES >> 20} MiB", file=shown,
                         fix="split it, or give the records as CSV (read in chunks)")
    data = path.read_bytes()
    if not data.strip():
        raise InputError("the file is empty", file=shown)
    try:
        parsed = json.loads(data.decode(sniff_encoding(data, shown)))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid JSON ({_reason(exc)})", file=shown) from None
    except RecursionError:
        raise InputError(f"JSON nested more than {MAX_JSON_DEPTH} levels", file=shown,
                         fix="give a list of flat records: [{\"field\": value, …}, …]") from None
    if _depth(parsed) > MAX_JSON_DEPTH:
        raise InputError(f"JSON nested more than {MAX_JSON_DEPTH} levels", file=shown,
                         fix="give a list of flat records: [{\"field\": value, …}, …]")
    if isinstance(parsed, dict) and isinstance(parsed.get("records"), list):
        parsed = parsed["records"]
    if not isinstance(parsed, list):
        raise InputError("JSON must be a list of records or {\"records\": [...]}", file=shown)
    headers: list[str] = []
    for item in parsed:
        if isinstance(item, dict):
            headers.extend(str(k) for k in item if str(k) not in headers)
    rows = [list(headers)]
    for item in parsed:
        if isinstance(item, dict):
            values = {str(k): v for k, v in item.items()}
            rows.append([_json_cell(values.get(h)) for h in headers])
        else:
            rows.append([json.dumps(item, ensure_ascii=False)[:200]] + [None] * max(0, len(headers) - 1))
    frame = pd.DataFrame(rows, dtype=object)
    return RawTable("", frame.head(HEAD_ROWS), lambda: iter([frame]))


def _json_cell(value):
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)[:200]  # not a scalar: will be rejected as unreadable
    return value


def read_tables(path: Path, shown: str) -> list[RawTable]:
    """Every table in a file; InputError when the file cannot be read at all."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InputError("file not found" if not path.exists() else "not a file", file=shown)
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx(path, shown)
    if suffix == ".json":
        return [read_json(path, shown)]
    if suffix in (".csv", ".txt", ".tsv"):
        return [read_csv(path, shown)]
    raise InputError(f"unsupported file type '{suffix or '(none)'}'", file=shown, fix="give .csv, .xlsx or .json files")


def sha256_of(path: Path) -> str:
    import hashlib
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

