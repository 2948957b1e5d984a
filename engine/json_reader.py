"""Read a JSON file of records: numbers as written, a key given twice with different values kept as a conflict,
an item that is not a record (or holds no value) marked so that its row is rejected."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pandas as pd

from engine.errors import InputError
from engine.lang import tr
from engine.nesting import deeper_than
from engine.reader import HEAD_ROWS, RawTable, _reason, sniff_encoding

MAX_JSON_BYTES = 64 << 20
MAX_JSON_DEPTH = 20

# What Python's json module says, as a person reads it in Chinese (a message not listed keeps the library's words).
JSON_PROBLEMS = {"Expecting value": "此处应有一个值", "Expecting property name enclosed in double quotes": "此处应有用双引号括起的键名",
                 "Expecting ':' delimiter": "此处应有冒号", "Expecting ',' delimiter": "此处应有逗号",
                 "Unterminated string starting at": "字符串没有结束", "Invalid control character at": "有不允许的控制字符",
                 "Invalid \\escape": "有无效的转义符", "Invalid \\uXXXX escape": "有无效的 \\uXXXX 转义符",
                 "Extra data": "数据结束后还有多余的内容"}


def _json_problem(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        problem = next((zh for en, zh in JSON_PROBLEMS.items() if exc.msg.startswith(en)), exc.msg)
        return tr(f"第{exc.lineno}行第{exc.colno}列：{problem}", _reason(exc))
    return _reason(exc)


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
    if deeper_than(parsed, MAX_JSON_DEPTH):
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
    return RawTable("", frame.head(HEAD_ROWS), lambda: iter([frame]), records_only=True)


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
