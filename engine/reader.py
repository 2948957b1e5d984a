"""Read raw tables from CSV (any common encoding and delimiter, in chunks), XLSX (sheets, merged cells, hidden columns) and JSON."""

from __future__ import annotations

import codecs
import csv
import itertools
import json
import re
import warnings
from decimal import Decimal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pandas as pd

from engine.errors import InputError, os_problem
from engine.lang import tr

HEAD_ROWS = 15  # rows scanned for the header (title rows above it are skipped)
CHUNK_ROWS = 50_000
MAX_JSON_BYTES = 64 << 20
MAX_JSON_DEPTH = 20
MAX_XLSX_BYTES = 200 << 20
SNIFF_BYTES = 256 << 10
EXTRA_COLUMNS = 8  # room for rows a little wider than the first 256 KiB showed
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


# What the CSV parser (pandas) and Python's json module say, as a person reads it in Chinese (a message not listed
# keeps the library's words).
CSV_PROBLEMS = ((re.compile(r"EOF inside string starting at row (\d+)"), lambda m: f"从第{int(m[1]) + 1}行开始的引号没有闭合"),
                (re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)"),
                 lambda m: f"第{m[2]}行有 {m[3]} 个单元格，应为 {m[1]} 个"))
JSON_PROBLEMS = {"Expecting value": "此处应有一个值", "Expecting property name enclosed in double quotes": "此处应有用双引号括起的键名",
                 "Expecting ':' delimiter": "此处应有冒号", "Expecting ',' delimiter": "此处应有逗号",
                 "Unterminated string starting at": "字符串没有结束", "Invalid control character at": "有不允许的控制字符",
                 "Invalid \\escape": "有无效的转义符", "Invalid \\uXXXX escape": "有无效的 \\uXXXX 转义符",
                 "Extra data": "数据结束后还有多余的内容"}


def _csv_problem(exc: Exception) -> str:
    detail = _reason(exc).replace('Error tokenizing data. C error: ', '')
    for pattern, chinese in CSV_PROBLEMS:
        found = pattern.search(detail)
        if found:
            return tr(chinese(found), detail)
    return detail


def _json_problem(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        problem = next((zh for en, zh in JSON_PROBLEMS.items() if exc.msg.startswith(en)), exc.msg)
        return tr(f"第{exc.lineno}行第{exc.colno}列：{problem}", _reason(exc))
    return _reason(exc)


# ---------------------------------------------------------------- CSV

def sniff_encoding(blocks, path: str) -> str:
    """UTF-8 (with or without BOM) when every byte decodes as UTF-8, else GB18030 (Excel's 'CSV' on Chinese Windows).

    `blocks` is a callable giving the file's bytes block by block: the whole file is checked, not a prefix."""
    failures = []
    for encoding in ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        offset = 0
        try:
            for block in blocks():
                decoder.decode(block, final=False)
                offset += len(block)
            decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError as exc:
            name = encoding.replace('-sig', '').upper()
            failures.append(tr(f"按 {name} 在第 {offset + exc.start} 字节出错", f"{name} fails at byte {offset + exc.start}"))
    raise InputError(tr("无法识别文字编码（" + "；".join(failures) + "）", "cannot decode the text (" + "; ".join(failures) + ")"),
                     file=path, fix=tr("在 Excel 中另存为“CSV UTF-8”或 GBK 编码的 CSV",
                                       "save the file from Excel as 'CSV UTF-8' or as CSV in GBK"))


def _file_blocks(path: Path):
    def blocks():
        with path.open("rb") as handle:
            yield from iter(lambda: handle.read(1 << 20), b"")
    return blocks


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
        raise InputError(tr(f"无法读取文件（{os_problem(exc)}）",
                            f"cannot read file ({os_problem(exc)})"), file=shown) from None
    if not prefix.strip():
        raise InputError(tr("文件是空的", "the file is empty"), file=shown, fix=tr("重新导出表格", "export the table again"))
    encoding = sniff_encoding(_file_blocks(path), shown)
    text = prefix.decode(encoding, errors="ignore")
    delimiter = sniff_delimiter(text)
    # Name the columns: pandas would otherwise take the width of the first line (a one-cell title) for the table's.
    whole = len(prefix) < SNIFF_BYTES
    lines = text.splitlines() if whole else text.splitlines()[:-1]  # the last line of a prefix may be cut
    widest = max((len(row) for row in csv.reader(lines or [""], delimiter=delimiter)), default=1)
    if not whole:  # the prefix may not hold a whole row (a title cell of megabytes): count the first rows themselves
        widest = max(widest, _first_rows_width(path, encoding, delimiter))
    names = list(range(widest + EXTRA_COLUMNS))

    def chunks() -> Iterator[pd.DataFrame]:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", pd.errors.ParserWarning)  # never drop cells of a too-wide row
                reader = pd.read_csv(path, header=None, names=names, index_col=False, dtype=str,
                                     keep_default_na=False, sep=delimiter, encoding=encoding, skip_blank_lines=False,
                                     chunksize=CHUNK_ROWS, engine="c", on_bad_lines="error")
                for chunk in reader:
                    yield chunk
        except pd.errors.ParserWarning:
            raise InputError(tr(f"有一行超过 {len(names)} 个单元格，比表格其余部分宽",
                                f"a row has more than {len(names)} cells, wider than the rest of the table"),
                             file=shown,
                             fix=tr("删去多出的单元格（常见原因：值里有未加引号的逗号）",
                                    "remove the stray cells (often an unquoted comma inside a value)")) from None
        except UnicodeDecodeError as exc:
            name = encoding.replace('-sig', '').upper()
            raise InputError(tr(f"第 {exc.start} 字节附近有不是 {name} 文字的字节",
                                f"bytes that are not {encoding} text near byte {exc.start}"), file=shown,
                             fix=tr("整个文件用同一种编码保存（CSV UTF-8）",
                                    "save the whole file in one encoding (CSV UTF-8)")) from None
        except (pd.errors.ParserError, ValueError, csv.Error) as exc:
            detail = _csv_problem(exc)
            raise InputError(tr(f"不是可读的 CSV 表格（{detail}）", f"not a readable CSV table ({detail})"), file=shown,
                             fix=tr("检查每行的列数是否相同、引号是否成对",
                                    "check that every row has the same number of columns and quotes are "
                                    "closed")) from None
        except pd.errors.EmptyDataError:
            return

    head = _head_of(chunks, shown)
    notes = []
    if encoding != "utf-8-sig":
        notes.append(tr("按 GB18030/GBK 编码读取（不是 UTF-8）", "read as GB18030/GBK text (not UTF-8)"))
    if delimiter != ",":
        shown_delimiter = 'TAB' if delimiter == chr(9) else repr(delimiter)
        notes.append(tr(f"列以 {shown_delimiter} 分隔", f"columns separated by {shown_delimiter}"))
    return RawTable("", head, chunks, notes=notes)


def _first_rows_width(path: Path, encoding: str, delimiter: str, rows: int = HEAD_ROWS * 4) -> int:
    """The widest of a CSV file's first rows, however long their cells."""
    limit = csv.field_size_limit()
    csv.field_size_limit(1 << 30)
    try:
        with path.open(encoding=encoding, newline="", errors="replace") as handle:
            return max((len(row) for row in itertools.islice(csv.reader(handle, delimiter=delimiter), rows)),
                       default=1)
    except csv.Error:
        return 1
    finally:
        csv.field_size_limit(limit)


def _head_of(chunks, shown: str) -> pd.DataFrame:
    for chunk in chunks():
        return chunk.head(HEAD_ROWS)
    raise InputError(tr("文件中没有数据行", "the file has no rows"), file=shown)


# ---------------------------------------------------------------- XLSX

NOT_DATA_SHEETS = {"填表说明", "说明", "选项", "instructions", "readme"}


def _fill_merges(rows: list, merges, vertical_only: bool):
    """Give every cell of a merged range the value of its top-left cell (data rows: only ranges in one column,
    such as a unit name merged over its boilers; header rows: every range)."""
    for merged in merges:
        if (vertical_only and merged.min_col != merged.max_col) or merged.min_row > len(rows):
            continue
        value = rows[merged.min_row - 1][merged.min_col - 1]
        for r in range(merged.min_row - 1, min(merged.max_row, len(rows))):
            for c in range(merged.min_col - 1, merged.max_col):
                rows[r][c] = value


def read_xlsx(path: Path, shown: str) -> list[RawTable]:
    import openpyxl  # imported here: only XLSX input needs it

    if path.stat().st_size > MAX_XLSX_BYTES:
        raise InputError(f"XLSX file larger than {MAX_XLSX_BYTES >> 20} MiB", file=shown,
                         fix="save large tables as CSV, which is read in chunks")
    try:
        formulas = openpyxl.load_workbook(path, data_only=False)
        values = openpyxl.load_workbook(path, data_only=True)
    except Exception as exc:  # openpyxl raises many unrelated types for a broken workbook
        raise InputError(f"not a readable XLSX workbook ({type(exc).__name__}: {_reason(exc)})", file=shown,
                         fix="open it in Excel and save it again as .xlsx") from None
    tables, skipped = [], []
    for sheet, formula_sheet in zip(values.worksheets, formulas.worksheets):
        if sheet.title.strip().lower() in NOT_DATA_SHEETS or sheet.sheet_state != "visible":
            skipped.append(sheet.title)
            continue
        rows = [[_xlsx_value(cell, f_cell) for cell, f_cell in zip(row, f_row)]
                for row, f_row in zip(sheet.iter_rows(), formula_sheet.iter_rows())]
        if not rows:
            continue
        width = max(len(r) for r in rows)
        rows = [r + [None] * (width - len(r)) for r in rows]
        head = [list(r) for r in rows[:HEAD_ROWS + 2]]
        _fill_merges(head, sheet.merged_cells.ranges, vertical_only=False)
        _fill_merges(rows, sheet.merged_cells.ranges, vertical_only=True)
        hidden = set()
        for letter, dimension in sheet.column_dimensions.items():
            if dimension.hidden:
                start = openpyxl.utils.column_index_from_string(letter) - 1
                end = max(start, (dimension.max or 0) - 1)
                hidden.update(range(start, end + 1))
        frame = pd.DataFrame(rows, dtype=object)
        notes = []
        if any(isinstance(v, Unsaved) for r in rows for v in r):
            notes.append("formula cells without a saved result were read as unreadable values")
        tables.append(RawTable(sheet.title, pd.DataFrame(head, dtype=object), lambda frame=frame: iter([frame]),
                               hidden=hidden, notes=notes))
    if not tables:
        raise InputError("the workbook has no sheet with rows" + (f" (skipped: {', '.join(skipped)})" if skipped else ""),
                         file=shown)
    if skipped:
        tables[0].notes.append("sheet(s) skipped as instructions, lists or hidden: " + ", ".join(skipped))
    return tables


class Unsaved(str):
    """A formula cell whose result was never saved (the file was written by a program, not Excel)."""


def _xlsx_value(cell, formula_cell=None):
    """A cell's value; a number shown as a percentage (Excel stores 85.3% as 0.853) is given back as '85.3%'."""
    value = cell.value
    if value is None and formula_cell is not None and formula_cell.data_type == "f":
        return Unsaved(str(formula_cell.value)[:100])
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
        raise InputError(tr(f"JSON 文件超过 {MAX_JSON_BYTES >> 20} MiB",
                            f"JSON file larger than {MAX_JSON_BYTES >> 20} MiB"),
                         file=shown, fix=tr("拆分文件，或把记录存成 CSV（分块读取）",
                                            "split it, or give the records as CSV (read in chunks)"))
    data = path.read_bytes()
    if not data.strip():
        raise InputError(tr("文件是空的", "the file is empty"), file=shown)
    try:
        # Numbers as written (Decimal: 79.99999999999999999 is not 80.0); a repeated key is kept as a conflict.
        parsed = json.loads(data.decode(sniff_encoding(lambda: iter([data]), shown)), parse_float=Decimal,
                            parse_int=_json_int, object_pairs_hook=_json_object)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(tr(f"不是有效的 JSON（{_json_problem(exc)}）", f"not valid JSON ({_json_problem(exc)})"),
                         file=shown) from None
    except RecursionError:
        raise _too_deep(shown) from None
    if _depth(parsed) > MAX_JSON_DEPTH:
        raise _too_deep(shown)
    if isinstance(parsed, dict) and isinstance(parsed.get("records"), list):
        parsed = parsed["records"]
    if not isinstance(parsed, list):
        raise InputError(tr("JSON 应是记录的列表，或 {\"records\": [...]}",
                            "JSON must be a list of records or {\"records\": [...]}"),
                         file=shown)
    headers: list[str] = []
    for item in parsed:
        if isinstance(item, dict):
            headers.extend(str(k) for k in item if str(k) not in headers)
    rows = [list(headers)]
    for item in parsed:
        if isinstance(item, dict) and any(not (v is None or isinstance(v, str) and not v.strip()) for v in item.values()):
            values = {str(k): v for k, v in item.items()}
            rows.append([_json_cell(values.get(h)) for h in headers])
        else:  # not an object, or an object without a value: counted and rejected, never skipped as blank
            text = json.dumps(item, ensure_ascii=False, default=str)[:200]
            rows.append([NotARecord(text) if not isinstance(item, dict) else EmptyRecord(text)]
                        + [None] * max(0, len(headers) - 1))
    width = max(len(r) for r in rows) or 1
    frame = pd.DataFrame([r + [None] * (width - len(r)) for r in rows], dtype=object)
    return RawTable("", frame.head(HEAD_ROWS), lambda: iter([frame]))


def _too_deep(shown: str) -> InputError:
    return InputError(tr(f"JSON 嵌套超过 {MAX_JSON_DEPTH} 层", f"JSON nested more than {MAX_JSON_DEPTH} levels"), file=shown,
                      fix=tr("给出扁平记录的列表：[{\"字段\": 值, …}, …]",
                             "give a list of flat records: [{\"field\": value, …}, …]"))


MAX_JSON_DIGITS = 30  # an integer longer than this is no measurement (and Python refuses over 4,300 digits)


def _json_int(text: str):
    return int(text) if len(text.lstrip("-")) <= MAX_JSON_DIGITS else Decimal(text)


def _json_object(pairs: list) -> dict:
    """A JSON object; a key given twice with different values keeps both, as a Conflict the reader rejects."""
    out: dict = {}
    for key, value in pairs:
        if key in out and out[key] != value:
            earlier = out[key].values if isinstance(out[key], Conflict) else (out[key],)
            values = " / ".join(_json_text(v) for v in (*earlier, value))
            out[key] = Conflict(tr(f"出现 {len(earlier) + 1} 次，值各不相同：{values}",
                                   f"given {len(earlier) + 1} times with different values: {values}"),
                                (*earlier, value))
        else:
            out[key] = value
    return out


def _json_text(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)[:60]


class Conflict(str):
    """A value given twice, differently (a repeated JSON key, or two columns of one field that disagree): rejected
    with both values named."""

    def __new__(cls, text: str, values: tuple = ()):
        made = super().__new__(cls, text)
        made.values = values
        return made


class EmptyRecord(str):
    """A JSON object with no value in it ({} or every value null): its row is rejected."""


class NotARecord(str):
    """A JSON list item that is not an object: its row is rejected."""


class Nested(str):
    """A JSON value that is an object or a list, not a cell value: rejected as unreadable."""


def _json_cell(value):
    if isinstance(value, (dict, list)):
        return Nested(json.dumps(value, ensure_ascii=False, default=str)[:200])
    return value


def read_tables(path: Path, shown: str) -> list[RawTable]:
    """Every table in a file; InputError when the file cannot be read at all."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InputError(tr("文件不存在", "file not found") if not path.exists() else tr("不是文件", "not a file"), file=shown)
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx(path, shown)
    if suffix == ".json":
        return [read_json(path, shown)]
    if suffix in (".csv", ".txt", ".tsv"):
        return [read_csv(path, shown)]
    raise InputError(tr(f"不支持的文件类型“{suffix or '（无扩展名）'}”", f"unsupported file type '{suffix or '(none)'}'"),
                     file=shown, fix=tr("请给出 .csv、.xlsx 或 .json 文件", "give .csv, .xlsx or .json files"))


def sha256_of(path: Path) -> str:
    import hashlib
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

